// Internal to protocol/: reading the fields requests share (labels, ids, kind, direction,
// appData, the kinds a moderator names), each with its own limits and error text, for the
// request parsers (protocol/request_parser.cpp). Uses RapidJSON: include only from
// protocol/*.cpp.
#pragma once

#include "protocol/json_reader.hpp"
#include "protocol/messages.hpp"
#include "protocol/request_parser.hpp"
#include "protocol/rtp_json.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace chorus::protocol::fields {

using json::issue;
using json::object_reader;

// A printable label: roomId, name.
void read_label(object_reader& r, std::string_view key, std::string& out, bool required,
                std::size_t max);

void read_room(object_reader& r, std::string& out);

void read_id(object_reader& r, std::string_view key, std::string& out, bool required);

void read_kind(object_reader& r, rtp::media_kind& out);

void read_direction(object_reader& r, transport_direction& out, bool required);

// appData: any object, kept as compact JSON. `share: true` or `source: "screen"` in it
// (the seed 004 frontend's screen share) sets `is_screen_share`.
void read_app_data(object_reader& r, std::string& out, bool& is_screen_share,
                   std::string& source_out, issue& err);

void read_user_id(object_reader& r, std::string& out, bool required);

// "audio", "video" or "screen" as a publish_kinds bit; 0 for anything else.
uint8_t publish_kind_bit(std::string_view s) noexcept;

// `kind` (one of audio, video, screen) or `kinds` (a list of them). Neither: `all_by_default`
// decides (every kind) or the request fails.
void read_publish_kinds(object_reader& r, issue& err, uint8_t& out, bool all_by_default);

void read_reason(object_reader& r, std::string& out);

// Runs one of rtp_json's parsers on a member; its message already names the path.
template <class T, class Parse>
bool read_nested(object_reader& r, std::string_view key, bool required, T& out, issue& err,
                 Parse parse) {
  const rapidjson::Value* v = r.member(key, required);
  if (v == nullptr)
    return false;
  auto parsed = parse(*v, r.path(key));
  if (!parsed) {
    err.fail(parsed.error());
    return false;
  }
  out = std::move(*parsed);
  return true;
}

} // namespace chorus::protocol::fields
