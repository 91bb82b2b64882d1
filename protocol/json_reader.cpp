#include "protocol/json_reader.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cmath>

namespace chorus::protocol::json {

namespace {

constexpr std::size_t max_key_shown = 64;

std::string limits_text(std::size_t min, std::size_t max) {
  if (min == 0)
    return "at most " + std::to_string(max) + " bytes";
  if (min == max)
    return std::to_string(min) + " bytes";
  return std::to_string(min) + "-" + std::to_string(max) + " bytes";
}

std::string range_text(int64_t min, int64_t max) {
  return std::to_string(min) + "-" + std::to_string(max);
}

bool integral_double(double d, int64_t min, int64_t max, int64_t& out) {
  if (!std::isfinite(d) || std::trunc(d) != d)
    return false;
  if (d < static_cast<double>(min) || d > static_cast<double>(max))
    return false;
  out = static_cast<int64_t>(d);
  return true;
}

// Nesting depth of a JSON text, counting brackets outside strings. Stops early once
// the limit is crossed. Syntax errors are left to the parser.
bool within_depth(std::string_view text, int limit) noexcept {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit)
        return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

} // namespace

void issue::fail(std::string text, bool is_missing) {
  if (failed)
    return;
  failed = true;
  missing = is_missing;
  message = std::move(text);
}

std::string join(std::string_view parent, std::string_view key) {
  std::string shown(key.substr(0, max_key_shown));
  if (key.size() > max_key_shown)
    shown += "...";
  if (parent.empty())
    return shown;
  std::string out(parent);
  out += '.';
  out += shown;
  return out;
}

std::string join(std::string_view parent, std::size_t index) {
  std::string out(parent);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

bool read_text(const rapidjson::Value& v, const std::string& path, std::size_t min,
               std::size_t max, std::string& out, issue& err) {
  if (err.failed)
    return false;
  if (!v.IsString() || v.GetStringLength() < min || v.GetStringLength() > max) {
    err.fail(path + " must be a string of " + limits_text(min, max));
    return false;
  }
  out.assign(v.GetString(), v.GetStringLength());
  return true;
}

bool read_int(const rapidjson::Value& v, const std::string& path, int64_t min, int64_t max,
              int64_t& out, issue& err) {
  if (err.failed)
    return false;
  int64_t tmp = 0;
  bool ok = false;
  if (v.IsInt64()) {
    tmp = v.GetInt64();
    ok = tmp >= min && tmp <= max;
  } else if (v.IsDouble()) {
    ok = integral_double(v.GetDouble(), min, max, tmp);
  }
  if (!ok) {
    err.fail(path + " must be an integer " + range_text(min, max));
    return false;
  }
  out = tmp;
  return true;
}

bool read_number(const rapidjson::Value& v, const std::string& path, double min, double max,
                 double& out, issue& err) {
  if (err.failed)
    return false;
  const double d = v.IsNumber() ? v.GetDouble() : std::nan("");
  if (!std::isfinite(d) || d < min || d > max) {
    err.fail(path + " must be a number from " + number_text(rapidjson::Value(min)) + " to " +
             number_text(rapidjson::Value(max)));
    return false;
  }
  out = d;
  return true;
}

bool read_bool(const rapidjson::Value& v, const std::string& path, bool& out, issue& err) {
  if (err.failed)
    return false;
  if (!v.IsBool()) {
    err.fail(path + " must be a boolean");
    return false;
  }
  out = v.GetBool();
  return true;
}

bool check_object(const rapidjson::Value& v, const std::string& path, issue& err) {
  if (err.failed)
    return false;
  if (!v.IsObject()) {
    err.fail(path + " must be an object");
    return false;
  }
  return true;
}

bool check_array(const rapidjson::Value& v, const std::string& path, issue& err) {
  if (err.failed)
    return false;
  if (!v.IsArray() || v.Size() > max_entries) {
    err.fail(path + " must be an array of at most " + std::to_string(max_entries) +
             " entries");
    return false;
  }
  return true;
}

object_reader::object_reader(const rapidjson::Value& obj, std::string path, issue& err)
  : obj_(obj), path_(std::move(path)), err_(err) {}

const rapidjson::Value* object_reader::member(std::string_view key, bool required) {
  if (err_.failed)
    return nullptr;
  if (obj_.IsObject()) {
    for (auto it = obj_.MemberBegin(); it != obj_.MemberEnd(); ++it) {
      std::string_view name(it->name.GetString(), it->name.GetStringLength());
      if (name == key && !it->value.IsNull())
        return &it->value;
    }
  }
  if (required)
    err_.fail(path(key) + " is required", true);
  return nullptr;
}

bool object_reader::text(std::string_view key, std::string& out, bool required,
                         std::size_t min, std::size_t max) {
  const auto* v = member(key, required);
  return v != nullptr && read_text(*v, path(key), min, max, out, err_);
}

bool object_reader::boolean(std::string_view key, bool& out, bool required) {
  const auto* v = member(key, required);
  return v != nullptr && read_bool(*v, path(key), out, err_);
}

bool object_reader::number(std::string_view key, double& out, bool required, double min,
                           double max) {
  const auto* v = member(key, required);
  return v != nullptr && read_number(*v, path(key), min, max, out, err_);
}

bool object_reader::fail(std::string_view key, std::string_view what) {
  std::string text = path(key);
  text += ' ';
  text += what;
  err_.fail(std::move(text));
  return false;
}

std::string parse_text(std::string_view text, rapidjson::Document& doc) {
  if (!within_depth(text, max_depth))
    return "nesting deeper than " + std::to_string(max_depth) + " levels";
  constexpr unsigned flags = rapidjson::kParseIterativeFlag |
                             rapidjson::kParseValidateEncodingFlag;
  doc.Parse<flags>(text.data(), text.size());
  if (doc.HasParseError())
    return std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " (offset " +
           std::to_string(doc.GetErrorOffset()) + ")";
  return {};
}

std::string compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

std::string number_text(const rapidjson::Value& v) {
  if (v.IsInt64())
    return std::to_string(v.GetInt64());
  if (v.IsUint64())
    return std::to_string(v.GetUint64());
  char buf[32];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, v.GetDouble());
  return ec == std::errc{} ? std::string(buf, ptr) : std::string("0");
}

} // namespace chorus::protocol::json
