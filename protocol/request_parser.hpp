// Internal to protocol/: the requests of the command set by wire name, and the parsing
// and validation of a request's `data` object. Shared by every dialect: the JSON dialect
// reads `{type, data}`, the Socket.IO dialect reads `[event, data]`; both hand the name
// and the object here. Uses RapidJSON: include only from protocol/*.cpp.
#pragma once

#include "protocol/errors.hpp"
#include "protocol/messages.hpp"

#include <rapidjson/document.h>

#include <string_view>

namespace chorus::protocol {

// Bounds on the request fields (docs/protocol.md, "Field limits").
inline constexpr std::size_t max_room_id_bytes = 128;
inline constexpr std::size_t max_name_bytes = 128;
inline constexpr std::size_t max_entity_id_bytes = 64; // transportId, producerId, consumerId
inline constexpr std::size_t max_user_id_bytes = 128;
inline constexpr std::size_t max_image_url_bytes = 2048;
inline constexpr std::size_t max_role_bytes = 64;
inline constexpr std::size_t max_source_bytes = 64; // appData.source as announced
inline constexpr std::size_t max_data_label_bytes = 1024; // produce-data label, protocol
inline constexpr std::size_t max_reason_bytes = 512;
inline constexpr std::size_t max_chat_text_bytes = 16384; // the most chat.maxTextBytes allows
inline constexpr std::size_t max_emoji_bytes = 32;
inline constexpr std::size_t max_reply_to_bytes = 4096;
inline constexpr std::size_t max_token_bytes = 8192; // auth.* tokens (a JWT)
inline constexpr int64_t max_block_seconds = 366 * 24 * 3600;

struct request_parse_result {
  bool ok = false;
  request_body body;                             // valid when ok
  request_style style = request_style::seed001;  // valid when the name is known
  error_info error;                              // valid when !ok
};

// Whether `data` has the shape request `type` takes: absent, an object, or (set-user-id
// only) a bare string. The dialects answer anything else with invalid-message.
bool acceptable_data(std::string_view type, const rapidjson::Value* data) noexcept;

// Whether `type` names a request, under any of its accepted names.
bool is_request_type(std::string_view type) noexcept;

// Parses and validates the `data` of a request named `type`; `data` is nullptr when the
// message carried none (a request without required fields accepts that). Errors:
// unknown-type, missing-field (a required member of data), invalid-field (a member
// present with a wrong type or value, including anything nested in it).
request_parse_result parse_request(std::string_view type, const rapidjson::Value* data);

// Reads what a connection's handshake says about its room and its participant (the
// Socket.IO CONNECT packet's `auth` object): `roomId` (or `channelId`), `name`, `token`
// and `role`, each optional, printable and bounded like the request fields; other members
// are ignored.
// Returns false with `error` set when one of them is present with a wrong type or value.
bool parse_connection_hints(const rapidjson::Value& obj, connection_hints& out,
                            error_info& error);

} // namespace chorus::protocol
