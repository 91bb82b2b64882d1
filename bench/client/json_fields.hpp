// Key-value writers over a rapidjson Writer or PrettyWriter: the one way the bench's JSON
// reports (bench/load/report.cpp, floor.cpp, ramp.cpp, bench/probe_main.cpp) write a field.
#pragma once

#include <rapidjson/rapidjson.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace chorus::client {

template <class Writer>
class json_fields {
public:
  explicit json_fields(Writer& w) noexcept : w_(w) {}

  void key(const char* k) { w_.Key(k); }
  void str(const char* k, std::string_view v) {
    w_.Key(k);
    w_.String(v.data(), rapidjson::SizeType(v.size()));
  }
  void u64(const char* k, uint64_t v) {
    w_.Key(k);
    w_.Uint64(v);
  }
  void boolean(const char* k, bool v) {
    w_.Key(k);
    w_.Bool(v);
  }
  // A number; NaN and infinity as null (rapidjson refuses them: the document would be cut).
  void num(const char* k, double v) {
    w_.Key(k);
    if (std::isfinite(v))
      w_.Double(v);
    else
      w_.Null();
  }
  // A number; NaN and infinity as 0.
  void num_or_zero(const char* k, double v) {
    w_.Key(k);
    w_.Double(std::isfinite(v) ? v : 0);
  }
  // An optional figure as a number (whatever its type), null when absent or not finite.
  template <class T>
  void opt(const char* k, const std::optional<T>& v) {
    w_.Key(k);
    if (v && std::isfinite(double(*v)))
      w_.Double(double(*v));
    else
      w_.Null();
  }
  // An optional integer as an integer, null when absent.
  template <class T>
  void opt_int(const char* k, const std::optional<T>& v) {
    w_.Key(k);
    if (v)
      w_.Int64(int64_t(*v));
    else
      w_.Null();
  }
  // A JSON object already written, null when empty.
  void raw_object(const char* k, std::string_view json) {
    w_.Key(k);
    if (json.empty())
      w_.Null();
    else
      w_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  }

private:
  Writer& w_;
};

} // namespace chorus::client
