// Internal to protocol/: reading untrusted JSON with bounds, and error messages that name
// the offending path ("rtpParameters.codecs[0].payloadType must be an integer 0-127").
// Uses RapidJSON: include only from protocol/*.cpp.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::protocol::json {

// Bounds on every untrusted value.
inline constexpr std::size_t max_entries = 64;  // array entries, object members
inline constexpr std::size_t max_text = 256;    // bytes of a string value
inline constexpr int max_depth = 32;            // nesting of objects and arrays

// The first problem found while reading; later reads are skipped once it is set.
struct issue {
  bool failed = false;
  bool missing = false; // a required member was absent (or null)
  std::string message;

  void fail(std::string text, bool is_missing = false);
};

// "parent.key" / "parent[3]"; an empty parent yields just the key. Long keys are cut.
std::string join(std::string_view parent, std::string_view key);
std::string join(std::string_view parent, std::size_t index);

// Value checks: on failure they record "<path> must be ..." in `err` and return false.
bool read_text(const rapidjson::Value& v, const std::string& path, std::size_t min,
               std::size_t max, std::string& out, issue& err);
bool read_int(const rapidjson::Value& v, const std::string& path, int64_t min, int64_t max,
              int64_t& out, issue& err);
bool read_number(const rapidjson::Value& v, const std::string& path, double min, double max,
                 double& out, issue& err);
bool read_bool(const rapidjson::Value& v, const std::string& path, bool& out, issue& err);
bool check_object(const rapidjson::Value& v, const std::string& path, issue& err);
// An array of at most max_entries entries.
bool check_array(const rapidjson::Value& v, const std::string& path, issue& err);

// Reads the members of one object. Absent and null members are "absent". Once `err` is
// set, every call returns false without touching its output, so a parser can read all
// fields in a row and check `ok()` once.
class object_reader {
public:
  object_reader(const rapidjson::Value& obj, std::string path, issue& err);

  bool ok() const noexcept { return !err_.failed; }
  const std::string& path() const noexcept { return path_; }
  std::string path(std::string_view key) const { return join(path_, key); }

  // The member's value, or nullptr when absent (recording "is required" if required).
  const rapidjson::Value* member(std::string_view key, bool required);

  bool text(std::string_view key, std::string& out, bool required, std::size_t min = 0,
            std::size_t max = max_text);
  bool boolean(std::string_view key, bool& out, bool required);
  bool number(std::string_view key, double& out, bool required, double min, double max);

  template <class Int>
  bool integer(std::string_view key, Int& out, bool required, int64_t min, int64_t max) {
    const auto* v = member(key, required);
    int64_t tmp = 0;
    if (v == nullptr || !read_int(*v, path(key), min, max, tmp, err_))
      return false;
    out = static_cast<Int>(tmp);
    return true;
  }

  // Records "<path.key> <what>" and returns false.
  bool fail(std::string_view key, std::string_view what);

private:
  const rapidjson::Value& obj_;
  std::string path_;
  issue& err_;
};

// Parses a complete text into `doc`: nesting deeper than max_depth and invalid UTF-8
// are rejected before or while parsing. Returns "" on success, else what is wrong.
std::string parse_text(std::string_view text, rapidjson::Document& doc);

// Compact JSON of a value.
std::string compact(const rapidjson::Value& v);

// Shortest decimal text of a JSON number (integers without a fraction).
std::string number_text(const rapidjson::Value& v);

} // namespace chorus::protocol::json
