// Small ASCII text helpers: case folding and case-insensitive comparison of the names
// (mimeTypes, parameter names) that RTP capabilities and parameters carry. ASCII only and
// locale-independent: only 'A'..'Z' are folded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

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

}  // namespace chorus::text
