// The kinds of configuration option (a number in a range, a string, one of a few words, a
// switch, a list, a formatted value): each builds an app::option whose file reader, flag
// reader and display all go through one field of the configuration. app/options.cpp
// declares the table with them.
#pragma once

#include "app/config.hpp"
#include "app/option_values.hpp"
#include "app/options.hpp"
#include "app/options_json.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::app::option_kind {

// A field of the configuration. show() reads through the same accessor: it only returns
// a reference, so the const_cast there never writes.
template <class T>
using field = T& (*)(config&);
#define CHORUS_FIELD(member) [](config& c) -> auto& { return c.member; }

template <class T>
const T& read_only(field<T> at, const config& c) {
  return at(const_cast<config&>(c));
}

// An option with its names and help, nothing read or shown yet.
option blank(std::string_view key, std::string_view flag, std::string_view arg,
             std::string_view help);
// "from MIN to MAX", for errors and --help.
std::string range_text(uint64_t min, uint64_t max);

// A number as the table shows it: a duration's count, else the number itself.
template <class T>
auto count_of(const T& v) {
  if constexpr (requires { v.count(); })
    return v.count();
  else
    return v;
}

// An unsigned integer (or a duration in its unit) from min to max. `expects`: the flag's
// error after "expects " (default: its value's name and the range).
template <class T>
option uint_option(std::string_view key, std::string_view flag, std::string_view arg,
                   std::string_view help, field<T> at, uint32_t min, uint32_t max,
                   std::string expects = {}) {
  option o = blank(key, flag, arg, help);
  o.from_json = [at, min, max](const json_in& in, config& c) -> std::string {
    auto& v = in.value;
    if (!v.IsUint64() || v.GetUint64() < min || v.GetUint64() > max)
      return "must be an integer " + range_text(min, max);
    at(c) = static_cast<T>(v.GetUint64());
    return {};
  };
  if (expects.empty())
    expects = std::string(arg) + " " + range_text(min, max);
  o.expects = expects;
  o.from_flag = [at, min, max, expects](std::string_view v, config& c) -> std::string {
    uint32_t n = 0;
    if (!parse_u32(v, n) || n < min || n > max)
      return "expects " + expects;
    at(c) = static_cast<T>(n);
    return {};
  };
  o.show = [at](const config& c) { return std::to_string(count_of(read_only(at, c))); };
  return o;
}

// How the table shows a string and a list of them.
std::string quoted(const std::string& s);
std::string shown_list(const std::vector<std::string>& list);

// Checks of a string flag's value: anything, not empty, a label (common/text.hpp).
bool any_value(std::string_view);
bool not_empty(std::string_view v);
bool a_label(std::string_view v);

// A string. The file takes any string (validate() checks what needs checking); the flag's
// value must pass `ok`, else "expects " + expects.
option string_option(std::string_view key, std::string_view flag, std::string_view arg,
                     std::string_view help, field<std::string> at, bool (*ok)(std::string_view),
                     std::string expects);

// A file-only string.
option file_string(std::string_view key, std::string_view help, field<std::string> at);

// One of a few words; the flag's `arg` lists them ("lean|sharing|stealing").
option choice_option(std::string_view key, std::string_view flag, std::string_view arg,
                     std::string_view help, field<std::string> at,
                     std::vector<std::string_view> words);

// A switch: file true/false; the flag sets it (set_true), takes on|off, or there is none.
enum class bool_flag { none, set_true, on_off };
option bool_option(std::string_view key, std::string_view flag, bool_flag style,
                   std::string_view help, field<bool> at);

// A list of strings: a JSON array in the file, ITEM,ITEM,... on the flag. `check` returns
// what is wrong with a list ("" : nothing), for both.
option list_option(std::string_view key, std::string_view flag, std::string_view arg,
                   std::string_view help, field<std::vector<std::string>> at,
                   std::string json_expects, std::string flag_expects,
                   std::string (*check)(const std::vector<std::string>&));

// A value in one text format (HOST:PORT, MIN-MAX) that `parse` writes into the
// configuration; an empty string in the file leaves the default.
option formatted_option(std::string_view key, std::string_view flag, std::string_view arg,
                        std::string_view help, std::string expects,
                        bool (*parse)(std::string_view, config&),
                        std::string (*show)(const config&));

} // namespace chorus::app::option_kind
