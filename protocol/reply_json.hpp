// Internal to protocol/: the JSON of replies and events, without a dialect's framing.
// The JSON dialect wraps them as `{type, data, requestId}`; the Socket.IO dialect sends
// the same data as an ack or as an event argument. Uses RapidJSON: include only from
// protocol/*.cpp.
#pragma once

#include "protocol/messages.hpp"
#include "protocol/rtp_json.hpp"

#include <string_view>

namespace chorus::protocol {

// The reply's `type`: seed 001 requests answer with their reply type ("rtp-capabilities",
// "transport-params", ...), every other request with its own wire name.
std::string_view reply_type_name(const request_meta& meta) noexcept;

// Whether the reply carries `data` (seed 001's transport-connected does not).
bool reply_has_data(request_style style, const reply_body& reply) noexcept;

// Writes the reply's `data` value: seed 001's reply objects, seed 004's response objects
// or seed 000's (the capabilities and transport parameters unwrapped, like seed 001; an
// empty reply as `{}`, like seed 004), by `style`.
// `frontend`: the connection is the seed 004 frontend (it identified with a user id), whose
// join ack, consume ack and events carry more (docs/protocol.md, "The seed 004 frontend's
// extended events").
void write_reply_data(json_writer& w, request_style style, const reply_body& reply,
                      bool frontend = false);

// `frontend`: the seed 004 frontend's names where they differ (receive-message for a chat
// message).
std::string_view event_type_name(const event_body& ev, bool frontend = false) noexcept;
void write_event_data(json_writer& w, const event_body& ev, bool frontend = false);

// Writes the participant list, or a live-class event, once in both shapes (`written`): a room
// sends one to every peer, which then only copies it into its frame.
void prepare_json(participant_list_update_event& ev);
void prepare_json(class_event& ev);

// Writes pre-rendered JSON (an empty text is written as `{}`).
void write_raw(json_writer& w, std::string_view json);

// A JSON string value of any length, and a finished buffer as text (shared by the dialects).
void write_string(json_writer& w, std::string_view s);
std::string text_of(const rapidjson::StringBuffer& buf);

} // namespace chorus::protocol
