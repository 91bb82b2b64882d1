// Command lines of the bench's tools (chorus-bench, chorus-bench floor, chorus-probe):
// "--flag value" pairs and switches, with the same errors everywhere.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace chorus::client {

// The whole of `s` as an unsigned integer.
template <class T>
bool parse_uint(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}
inline bool parse_u32(std::string_view s, uint32_t& out) { return parse_uint(s, out); }
inline bool parse_u64(std::string_view s, uint64_t& out) { return parse_uint(s, out); }

// The whole of `s` as a finite number.
inline bool parse_double(std::string_view s, double& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size() && std::isfinite(out);
}

// Walks argv[first..argc). With `help` set, --help or -h ends the walk (*help = true, false
// returned). on_switch(flag) returns true for a flag without a value it took; a flag of
// `value_flags` takes the next argument, for which on_value(flag, value) returns false when
// it is invalid. False with `error` on "unknown flag F", "F needs a value",
// "invalid value for F: V"; true when every argument was taken.
template <class OnSwitch, class OnValue>
bool parse_flags(int argc, char** argv, int first, std::span<const std::string_view> value_flags,
                 OnSwitch&& on_switch, OnValue&& on_value, std::string& error,
                 bool* help = nullptr) {
  for (int i = first; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (help && (flag == "--help" || flag == "-h")) {
      *help = true;
      return false;
    }
    if (on_switch(flag))
      continue;
    if (std::find(value_flags.begin(), value_flags.end(), flag) == value_flags.end()) {
      error = "unknown flag " + std::string(flag);
      return false;
    }
    if (i + 1 >= argc) {
      error = std::string(flag) + " needs a value";
      return false;
    }
    const std::string_view v = argv[++i];
    if (!on_value(flag, v)) {
      error = "invalid value for " + std::string(flag) + ": " + std::string(v);
      return false;
    }
  }
  return true;
}

} // namespace chorus::client
