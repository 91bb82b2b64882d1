// Webhooks: the event a room reports, its JSON body, the body's
// signature, the receiver's url and the retry schedule. Pure: the sender is
// app/webhooks.hpp.
//
// A delivery is an HTTP POST with
//   Content-Type: application/json
//   X-Chorus-Event: <event>            e.g. participant-joined
//   X-Chorus-Delivery: <id>            the same for every attempt of one event
//   X-Chorus-Signature: sha256=<hex>   HMAC-SHA256 of the exact body bytes with webhooks.key
// and the body (docs/operations.md, "Webhooks"):
//   {"event":"participant-joined","id":"...","createdAt":<Unix ms>,"node":"...",
//    "room":{"id":"...","participants":2},
//    "participant":{"peerId":"...","userId":"...","name":"...","role":"..."}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::protocol {

struct webhook_event {
  // room-started | room-finished | participant-joined | participant-left |
  // recording-finished | live-stream-started | live-stream-stopped | live-stream-failed
  std::string type;
  std::string room_id;
  std::string node_id;
  int64_t at_ms = 0; // Unix ms
  // participant-*: who
  std::string peer_id;
  std::string user_id;
  std::string name;
  std::string role;
  // room-finished: how long it was open; participant-left: how long the participant was in;
  // recording-finished: the recording's length. -1: not given.
  int64_t duration_ms = -1;
  int64_t participants = -1; // participant-*: participants in the room after it; -1: not given
  std::string reason;        // participant-left: left | kicked | blocked | room-closed
  // recording-finished
  std::string recording_id;
  std::string file;
  int64_t bytes = -1;
  // live-stream-started | live-stream-stopped | live-stream-failed: the stream, its target
  // (rtmp | hls), where it goes (the URL without its key, or the playlist's path), why it
  // stopped or failed, and what it cost.
  std::string live_stream_id;
  std::string target;
  std::string where;
  int64_t cpu_ms = -1; // live-stream-stopped: the composers' CPU time in all; -1: not given
};

// The body of one delivery (compact JSON; `delivery_id` is its id).
std::string webhook_json(const webhook_event& ev, std::string_view delivery_id);

// "sha256=" + the lower-case hex HMAC-SHA256 of `body` with `key`.
std::string webhook_signature(std::string_view key, std::string_view body);

// http://HOST[:PORT][/PATH] or https://...: host (an IP, [v6] without brackets, or a
// name), port (80 or 443 by default) and the request target ("/" by default). nullopt: not
// such a url.
struct http_url {
  bool tls = false;
  std::string host;
  uint16_t port = 80;
  std::string target = "/";
};
std::optional<http_url> parse_http_url(std::string_view url);

// The wait before attempt `attempt` (2, 3, ...): 500 ms, doubled each time, at most 30 s.
uint32_t webhook_backoff_ms(uint32_t attempt);

} // namespace chorus::protocol
