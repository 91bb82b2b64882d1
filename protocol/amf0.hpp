// AMF0 (Adobe's Action Message Format 0): the encoding of RTMP's commands (connect,
// createStream, publish, their _result and onStatus) and of its data messages
// (@setDataFrame onMetaData). Pure: bytes in, values out, and back.
//
// Read: number, boolean, string, long string, object, null, undefined, ECMA array, strict
// array and date; an object's or array's nesting is bounded (max_amf0_depth), and so are
// the members and items of each (max_amf0_members), so that no message can make the reader
// recurse or allocate without limit. Other markers (references, XML, typed objects, the
// AMF3 switch) are an error naming the marker.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

inline constexpr std::size_t max_amf0_depth = 8;
inline constexpr std::size_t max_amf0_members = 256;

struct amf0_value {
  enum class kind : uint8_t { number, boolean, string, object, null, undefined, array };
  kind type = kind::null;
  double number = 0;     // number (and a date's milliseconds)
  bool boolean = false;
  std::string text;      // string
  // object and ECMA array: names[i] is members[i]'s; strict array: members only.
  std::vector<std::string> names;
  std::vector<amf0_value> members;

  static amf0_value of(double n);
  static amf0_value of(std::string_view s);
  static amf0_value of_bool(bool b);
  static amf0_value null_value();
  static amf0_value object(std::vector<std::string> names, std::vector<amf0_value> members);

  // An object's member by name (nullptr when absent or not an object).
  const amf0_value* member(std::string_view name) const;
  // The text of a string member ("" when absent or not a string).
  std::string text_of(std::string_view name) const;
};

// Every value of `bytes`, in order (a command: its name, transaction id, then arguments).
result<std::vector<amf0_value>> read_amf0(std::span<const uint8_t> bytes);

// Appends `v`'s encoding to `out` (an object as an object, an array as a strict array).
void write_amf0(const amf0_value& v, std::vector<uint8_t>& out);

} // namespace chorus::protocol
