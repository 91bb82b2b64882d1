// Small ASCII text helpers: case folding and case-insensitive comparison of the names
// (mimeTypes, parameter names) that RTP capabilities and parameters carry; the label rule of
// ids and names; HOST:PORT; JSON string escaping. ASCII only and locale-independent: only
// 'A'..'Z' are folded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::text {

// 'A'..'Z' to 'a'..'z'; every other char unchanged.
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether a and b are equal ignoring ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

// s with ASCII letters lowered.
inline std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = ascii_lower(c);
  return out;
}

// Whether s ends with suffix, ignoring ASCII case.
constexpr bool iends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

// Whether s holds a control character (U+0000..U+001F, U+007F).
constexpr bool has_control_chars(std::string_view s) noexcept {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f)
      return true;
  }
  return false;
}

// Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Text that reaches other clients inside JSON must be: a browser fails a
// WebSocket text frame that is not, and with it the connection.
constexpr bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF; // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
      n = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      if (c == 0xE0)
        lo = 0xA0; // overlong
      else if (c == 0xED)
        hi = 0x9F; // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      if (c == 0xF0)
        lo = 0x90; // overlong
      else if (c == 0xF4)
        hi = 0x8F; // above U+10FFFF
    } else
      return false; // a continuation byte, C0, C1 or F5..FF
    if (s.size() - i <= n)
      return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
        return false;
    }
    i += n + 1;
  }
  return true;
}

// A label as the signaling accepts one (peer ids, room ids, names): 1 to `max` bytes of
// UTF-8, no control characters.
constexpr bool valid_label(std::string_view s, std::size_t max = 128) noexcept {
  return !s.empty() && s.size() <= max && !has_control_chars(s) && valid_utf8(s);
}

// "HOST:PORT" or "[V6]:PORT" into host (brackets removed, not checked further) and a port
// of 0..65535; false when either part is missing or the port is not a decimal number.
inline bool split_host_port(std::string_view text, std::string& host, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return false;
  uint32_t p = 0;
  for (char c : text.substr(colon + 1)) {
    if (c < '0' || c > '9' || p > 65535)
      return false;
    p = p * 10 + uint32_t(c - '0');
  }
  if (p > 65535)
    return false;
  std::string_view h = text.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  host.assign(h);
  port = static_cast<uint16_t>(p);
  return true;
}

// "A,B,C" into its non-empty parts (command-line lists).
inline std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    auto part = text.substr(0, comma);
    if (!part.empty())
      out.emplace_back(part);
    if (comma == std::string_view::npos)
      break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// Appends s to out as the inside of a JSON string: '"' and '\' escaped, control
// characters as \u00XX; everything else (UTF-8 included) as it is.
inline void json_escape(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    } else {
      out.push_back(ch);
    }
  }
}

}  // namespace chorus::text
