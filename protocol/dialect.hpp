// A signaling dialect: how typed requests, replies and events of protocol/messages.hpp
// look on one kind of connection. The session actor holds one and never sees JSON.
#pragma once

#include "protocol/errors.hpp"
#include "protocol/messages.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace chorus::protocol {

struct decode_result {
  bool ok = false;
  request req;      // valid when ok
  error_info error; // valid when !ok
  // When !ok: what the error reply must echo (the type if it could be read, the
  // requestId if it could be read).
  request_meta meta;
};

class dialect {
public:
  virtual ~dialect() = default;
  virtual std::string_view name() const noexcept = 0;
  // Decodes one complete text message from the client.
  virtual decode_result decode(std::string_view text) = 0;
  virtual std::string encode_reply(const request_meta& meta, const reply_body& reply) = 0;
  virtual std::string encode_error(const request_meta& meta, const error_info& err) = 0;
  virtual std::string encode_event(const event_body& ev) = 0;
};

// Seed 001's plain WebSocket JSON dialect: `{ "type": ..., "data": ..., "requestId"? }`.
// Seed 004's request names are accepted too (see docs/protocol.md for the reply names).
std::unique_ptr<dialect> make_json_dialect();

} // namespace chorus::protocol
