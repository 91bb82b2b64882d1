// Internal to protocol/: the live class's items (hands, chat messages, polls) as JSON, as
// replies (room info) and events (class events) carry them. Uses RapidJSON: include only
// from protocol/*.cpp.
#pragma once

#include "protocol/reply_json.hpp"

#include <string_view>

namespace chorus::protocol {

void write_hand(json_writer& w, const hand_item& h);
// The seed 004 frontend's message object.
void write_frontend_message(json_writer& w, const chat_item& m);
// A chat message; the frontend's shape is { socketId, message } (socketId: the sender's,
// or `socket_id` when given, "system" in the history).
void write_chat(json_writer& w, const chat_item& m, bool frontend,
                std::string_view socket_id = {});
void write_poll(json_writer& w, const poll_item& p);

} // namespace chorus::protocol
