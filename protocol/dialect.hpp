// A signaling dialect: how typed requests, replies and events of protocol/messages.hpp
// look on one kind of connection. The session actor holds one and never sees JSON.
#pragma once

#include "protocol/errors.hpp"
#include "protocol/messages.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

// What a decoded message asks of the session.
enum class decode_kind : uint8_t {
  request, // `req` is a request to execute (ok is true exactly for this kind)
  error,   // answer `error` with encode_error(meta, error)
  control, // a protocol-level packet the dialect handled itself (Socket.IO CONNECT,
           // DISCONNECT): send `immediate`, honour `disconnect`, nothing to execute
  dropped, // an unusable message that gets no error answer (no way to address one);
           // `error` says what was wrong, for logs and counters. `immediate` may still
           // carry a protocol answer (a Socket.IO CONNECT_ERROR).
};

struct decode_result {
  bool ok = false;
  request req;      // valid when ok
  error_info error; // valid when !ok
  // When !ok: what the error reply must echo (the type if it could be read, the
  // requestId if it could be read).
  request_meta meta;
  // Added for dialects with a protocol layer of their own (Socket.IO); the JSON dialect
  // only ever yields `request` (ok) and `error` (!ok), with no immediate texts.
  decode_kind kind = decode_kind::error;
  // Texts to send back right away, in order, before anything else (Socket.IO: the
  // CONNECT answer `0{"sid":...}`, or a CONNECT_ERROR).
  std::vector<std::string> immediate;
  // Socket.IO CONNECT: what the client's `auth` object says about its room and name
  // (empty fields when it says nothing). Set only with a successful CONNECT.
  bool has_connection_hints = false;
  connection_hints hints;
  // The client asked to end the session (Socket.IO DISCONNECT of the main namespace):
  // after sending `immediate`, close the connection.
  bool disconnect = false;
};

class dialect {
public:
  virtual ~dialect() = default;
  virtual std::string_view name() const noexcept = 0;
  // Decodes one complete text message from the client. Never throws.
  virtual decode_result decode(std::string_view text) = 0;
  // The encoders return the text to send. An empty text means "send nothing": the
  // Socket.IO dialect cannot answer a request that carried no ack id (seed 004's
  // resume-consumer is emitted without a callback), so its reply and error are "".
  virtual std::string encode_reply(const request_meta& meta, const reply_body& reply) = 0;
  virtual std::string encode_error(const request_meta& meta, const error_info& err) = 0;
  virtual std::string encode_event(const event_body& ev) = 0;
  // What to send before the server closes the session (Socket.IO: a DISCONNECT packet
  // `1`); "" when the dialect has nothing to say (JSON: the WebSocket close code speaks).
  virtual std::string encode_disconnect() { return {}; }
  // Instead of the `immediate` answer to a CONNECT (decode_kind::control with connection
  // hints), when the session refuses it (auth: no token, a bad one, a room it does not
  // cover): Socket.IO's CONNECT_ERROR. "" for dialects without such a step.
  virtual std::string encode_connect_refusal(const error_info&) { return {}; }

  // The seed 004 frontend's shapes for this connection (user ids, names, host flags in the
  // join ack, the consume ack and the events; docs/protocol.md, "The seed 004 frontend's
  // extended events"). The session turns them on once the connection identified itself
  // with a user id (set-user-id, or userId in the join); other clients keep seed 004's.
  void set_frontend_shapes(bool on) noexcept { frontend_ = on; }
  bool frontend_shapes() const noexcept { return frontend_; }

protected:
  bool frontend_ = false;
};

// Seed 001's plain WebSocket JSON dialect: `{ "type": ..., "data": ..., "requestId"? }`.
// Seed 004's request names are accepted too (see docs/protocol.md for the reply names).
std::unique_ptr<dialect> make_json_dialect();

// The Socket.IO v4 dialect (socket.io-protocol revision 5) of seeds 004 and 000, for one
// connection (it is stateful: events count only after the client's CONNECT). It reads and
// writes Socket.IO packet texts: the Engine.IO layer (net/) hands over each message's
// payload without its "4" prefix and prefixes what the encoders return.
// `socket_id` is the id the CONNECT answer `0{"sid":...}` announces; the session uses the
// same id as the peer id, so the caller chooses it (socketio::make_socket_id() in
// protocol/socketio_packet.hpp makes a random one). An empty id is replaced by a random
// one. Only the main namespace "/" is served. See docs/protocol.md, "Socket.IO dialect".
std::unique_ptr<dialect> make_socketio_dialect(std::string socket_id);

} // namespace chorus::protocol
