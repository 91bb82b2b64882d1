// Internal to protocol/: the small pieces the JSON writers of replies, events and the class's
// items share. Uses RapidJSON: include only from protocol/*.cpp.
#pragma once

#include "protocol/reply_json.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol::json {

inline void key(json_writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

inline void member(json_writer& w, std::string_view k, std::string_view s) {
  key(w, k);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

inline void write_string_array(json_writer& w, const std::vector<std::string>& items) {
  w.StartArray();
  for (const auto& s : items)
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  w.EndArray();
}

} // namespace chorus::protocol::json
