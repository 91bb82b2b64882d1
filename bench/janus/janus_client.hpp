// The Janus API (https://janus.conf.meetecho.com/docs/rest.html, "WebSockets interface")
// over one WebSocket (subprotocol "janus-protocol"), and the VideoRoom requests the bench
// needs (Janus 1.x multistream API): a publisher joins and configures with an SDP offer, a
// subscriber joins with streams:[{feed}] and starts with an SDP answer; trickle.
//
// Threading: one I/O thread per connection runs Beast; the caller's thread sends requests
// and waits (bounded) for their replies. A keepalive goes out every keepalive_interval_ms
// once a session exists (Janus drops sessions after session_timeout, 60 s by default).
// Messages without a waiter (webrtcup, media, hangup, slowlink, detached, timeout, ...) are
// queued for poll_events(). Thread-safe: any thread may call any method.
#pragma once

#include "common/result.hpp"

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::janus {

// One message from Janus, parsed.
struct janus_message {
  std::string text;       // as received
  std::string janus;      // the "janus" field: "success", "event", "ack", "error", "webrtcup", ...
  std::string transaction;
  uint64_t session_id = 0; // "session_id", when present
  uint64_t sender = 0;     // "sender" (the handle), when present
  std::shared_ptr<rapidjson::Document> doc;

  // plugindata.data (VideoRoom replies), or null.
  const rapidjson::Value* plugin_data() const;
  // jsep.type / jsep.sdp, empty when absent.
  std::string jsep_type() const;
  std::string jsep_sdp() const;
  // "error" replies: error.reason; plugin errors: plugindata.data.error; else empty.
  std::string error_text() const;
};

struct jsep {
  std::string type; // "offer" / "answer"
  std::string sdp;
};

class janus_connection {
public:
  // Connects (TCP + WebSocket handshake with subprotocol janus-protocol) within timeout_ms.
  static result<std::unique_ptr<janus_connection>> connect(std::string_view url,
                                                           uint64_t timeout_ms = 5000);
  ~janus_connection(); // closes the WebSocket (bounded) and joins the I/O thread

  janus_connection(const janus_connection&) = delete;
  janus_connection& operator=(const janus_connection&) = delete;

  // Sends `request_json` (a JSON object text without "transaction": one is added) and waits
  // up to timeout_ms for the reply carrying that transaction, skipping "ack"s when
  // `skip_ack` (asynchronous plugin requests answer ack first, then an "event").
  // Janus "error" replies and plugin errors become failures.
  result<janus_message> request(std::string_view request_json, uint64_t timeout_ms,
                                bool skip_ack = false);
  // Sends without waiting (the reply, if any, goes to poll_events()).
  bool send(std::string_view request_json);

  // Messages no request waited for, in arrival order (removed from the queue). Waits up to
  // timeout_ms for the first one when the queue is empty.
  std::vector<janus_message> poll_events(uint64_t timeout_ms = 0);

  // Starts the keepalive for this session (every interval_ms).
  void keep_alive(uint64_t session_id, uint64_t interval_ms = 25000);

  bool closed() const;
  std::string close_reason() const;

  struct impl;

private:
  explicit janus_connection(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// Escapes a string for a JSON string literal (quotes included).
std::string json_quote(std::string_view s);

// A Janus session with the VideoRoom plugin, one connection.
class janus_session {
public:
  static result<std::unique_ptr<janus_session>> create(std::string_view url,
                                                       uint64_t timeout_ms = 5000);
  ~janus_session(); // destroys the session on Janus (bounded) unless destroy() did, then closes

  // "destroy": Janus removes the session and hangs up and detaches every handle of it (the
  // VideoRoom drops their publishers and subscribers) before it answers.
  result<bool> destroy(uint64_t timeout_ms);

  uint64_t id() const noexcept { return session_id_; }
  janus_connection& connection() noexcept { return *conn_; }

  // "attach" janus.plugin.videoroom: the handle id.
  result<uint64_t> attach_videoroom(uint64_t timeout_ms = 5000);
  void detach(uint64_t handle, uint64_t timeout_ms = 2000);

  // A plugin "message" with `body_json` (and a JSEP), waiting for its "event" (or the
  // synchronous "success") reply.
  result<janus_message> message(uint64_t handle, std::string_view body_json,
                                const std::optional<jsep>& j = std::nullopt,
                                uint64_t timeout_ms = 10000);

  // Trickle one candidate ("candidate:..." as in SDP, without "a=") for an m-line, or the
  // end of candidates.
  bool trickle(uint64_t handle, std::string_view candidate, std::string_view mid,
               int mline_index);
  bool trickle_completed(uint64_t handle);

  // ---- VideoRoom -------------------------------------------------------------------------
  // join as publisher: our publisher id in the room.
  result<uint64_t> join_publisher(uint64_t handle, uint64_t room, std::string_view display);
  // configure {audio, video} with the offer: Janus's answer SDP.
  result<std::string> configure_publisher(uint64_t handle, const std::string& offer_sdp,
                                          bool audio = true, bool video = true);
  // join as subscriber of one feed (all its streams): Janus's offer SDP.
  result<std::string> join_subscriber(uint64_t handle, uint64_t room, uint64_t feed);
  // start with our answer.
  result<bool> start_subscriber(uint64_t handle, const std::string& answer_sdp);
  // Create a room (synchronous "create" request); succeeds when it already exists.
  result<bool> ensure_room(uint64_t handle, uint64_t room, int publishers = 1000);

private:
  janus_session(std::unique_ptr<janus_connection> conn, uint64_t id)
      : conn_(std::move(conn)), session_id_(id) {}
  std::string envelope(std::string_view janus, uint64_t handle) const;

  std::unique_ptr<janus_connection> conn_;
  uint64_t session_id_ = 0;
  bool destroyed_ = false;
};

} // namespace chorus::janus
