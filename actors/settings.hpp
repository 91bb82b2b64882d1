// The configuration's sections that the actors read (rtc.*, sctp.*, signaling.*, limits.*,
// classroom.*, recording.*), each field's default written here once. The option table
// (app/options.cpp) fills them from the file and the flags; the node hands them whole to
// the actors (node_context, actors/context.hpp). A new option of these sections is its
// field here and its row in the table.
#pragma once

#include "net/rate_limiter.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

// signaling.*: the HTTP/WebSocket edge and the connections' requests.
struct signaling_settings {
  // Threads running the HTTP/WebSocket edge (net/http_server.hpp); 0: one per four CPUs the
  // process may run on, at least one (a join costs the edge about a fifth of what it costs
  // the whole process: docs/performance.md, "Join storm"). The edge's other options are
  // net::http_server_options (app::config::edge).
  uint32_t threads = 0;
  uint32_t max_requests_in_flight = 32;
  // HTTPS/WSS: both PEM files, or neither (plain HTTP/WS).
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // The room of an implicit join when nothing names one (docs/protocol.md, "Joining").
  std::string default_room = "default";
  // Per-connection request rate limit (token bucket) and its abuse rule: a connection
  // refused more than request_refusals_to_close times within request_refusal_window_ms is
  // closed. request_rate 0: no limit.
  // Generous defaults: joining a meeting of 100 consumes and resumes 200+ producers at once.
  uint32_t request_rate = 200;   // requests per second, sustained
  uint32_t request_burst = 1000; // requests at once (a join sends a burst)
  uint32_t request_refusals_to_close = 1000; // 0: never close, only refuse
  uint32_t request_refusal_window_ms = 10000;

  net::rate_limit_config rate_limit() const {
    return {request_rate, request_burst, request_refusals_to_close,
            std::chrono::milliseconds{request_refusal_window_ms}};
  }
};

// limits.*: what one node takes at most.
struct limits_settings {
  uint32_t max_rooms = 1000;
  uint32_t max_peers_per_room = 500;
  uint32_t max_publishers_per_room = 0; // participants with producers; 0: no limit
  // rooms.rosterLimit: a room with more participants than this who may not publish (a
  // viewer, a student not allowed to publish) makes them its audience: counted, not listed
  // (actors/room_audience.hpp).
  uint32_t roster_limit = 100;
};

// The live class (classroom.*).
struct classroom_settings {
  // The audio-levels event's interval (0: off; else 100 .. 60000).
  uint32_t audio_levels_interval_ms = 500;
  // The longest chat message, in bytes of UTF-8; longer ones are refused.
  uint32_t chat_max_bytes = 2000;
};

// rtc.*: the media transports (ICE, DTLS, SRTP) and the media I/O threads. The media
// sockets' options are net::media_io_options (app::config::media_io).
struct rtc_settings {
  uint16_t single_port = 0;                 // 0: a port per transport from the range
  uint32_t ice_consent_timeout_ms = 30000;   // no valid check -> disconnected
  uint32_t ice_disconnected_timeout_ms = 30000; // disconnected -> transport closed
  uint32_t dtls_handshake_timeout_ms = 30000;
  // Error answers (400/401/420/487) to STUN requests, per transport per second (0: no
  // bound); requests beyond are dropped, counted.
  uint32_t stun_error_rate = 50;
  std::string dtls_certificate_file; // PEM; empty: generate one at start
  std::string dtls_private_key_file;
  uint32_t drop_rtp_percent = 0; // fault injection for tests: received RTP dropped (0..50)
  // SRTP's AES-GCM: "native" (the CPU's AES and carry-less multiply instructions, where it
  // has them; rtp/aes_gcm.hpp) or "openssl" (OpenSSL's EVP interface, for comparison).
  std::string gcm = "native";
  bool fault_injection = false; // tests: set-transport-egress-cap is allowed
  // Media I/O threads, each with its own epoll set and sockets (net/media_io.hpp); 0: one
  // per CPU the process may run on.
  uint32_t io_threads = 0;
  // With several I/O threads: a producer's fan-out too large for its own thread's lanes is
  // handed to its consumers' I/O threads, one batch per thread (actors/thread_fanout.hpp);
  // off: a message per consumer, taken by the scheduler's workers.
  bool thread_fanout = true;
  // A passive ICE-TCP candidate on the signaling port too (the edge hands such connections
  // to the media I/O by their first bytes); its port is node_context::signaling_tcp_port.
  bool tcp_on_signaling_port = true;
  // The most playout delay a receiver that loses packets is asked to hold its video for,
  // so that repairs arrive in time (rtp/playout_delay.hpp); 0: never asked.
  uint32_t playout_delay_limit_ms = 400;
};

// What every transport reply hands the client for TURN (docs/operations.md, "Behind
// firewalls"): the URLs, with a credential per peer made with the secret
// (net/turn_credentials.hpp), and the iceTransportPolicy hint.
struct turn_settings {
  std::vector<std::string> urls; // empty: no iceServers
  // The signaling port takes TURN inside its TLS: each session adds a turns: URL for the
  // host it signaled to (net/turn_url.hpp).
  bool signaling_tls = false;
  std::string host; // turn.host: the turns: URL's name (empty: the Host header's)
  std::string secret;
  std::string ice_transport_policy; // "" (none), "all" or "relay"
  // A credential outlives a school day: ICE restarts reuse the transport's credential.
  int64_t credential_ttl_s = 86400;
};

// Data channels (docs/operations.md, "Data channels"): SCTP over DTLS.
struct sctp_settings {
  uint32_t max_message_size = 262'144; // sctp.maxMessageSize: larger messages are refused
  uint32_t max_streams = 1024;         // sctp.maxStreams: SCTP streams per direction at most
  // sctp.sendBufferSize: the bytes queued toward one transport's SCTP (usrsctp's send
  // buffer, and as much again handed to the transport and not yet sent) before its data
  // consumers drop.
  uint32_t send_buffer_size = 1'048'576;
};

// Recording in the server (docs/operations.md, "Recording"): an ffmpeg child per recorded
// producer writes under `directory`; off (start-recording refused) while it is empty.
struct recording_settings {
  std::string directory;
  bool auto_start = false;          // record every room from its first producer
  std::string ffmpeg = "ffmpeg";    // the binary (PATH lookup when it has no '/')
  uint32_t min_free_mb = 100;       // below this much free space: disk-full reported
  uint32_t max_restart_backoff_ms = 10000; // a crashed ffmpeg: restarts back off up to this
};

// Live streaming of a room's stage (actors/live_streamer.hpp), off while directory is
// empty: where each room's HLS files (and the composer's SDP and log) are written, and the
// encoding.
struct live_settings {
  std::string directory;
  uint32_t video_kbps = 2500;
  uint32_t hls_list_size = 0; // 0: every segment stays listed
};

// RTMP ingest (app/rtmp_server.hpp, actors/rtmp_ingest.hpp), off while listen is empty.
struct rtmp_settings {
  std::string listen;         // HOST:PORT ("" : off)
  std::string video = "auto"; // auto | copy | transcode (protocol/rtmp_video_plan.hpp)
};

// What the node works out as it starts, and the limits no option sets.
struct node_settings {
  // This node's name in the class record and in events (cluster.nodeId, else the host name).
  std::string node_id;
  std::string announced_address; // in ICE candidates (announcedIp, else rtcIp)
  std::chrono::milliseconds request_timeout{10000};
  // The live class: chat history kept for late joiners, chat messages per participant per
  // second (and burst).
  uint32_t chat_history = 200;
  uint32_t chat_rate_per_s = 5;
  uint32_t chat_burst = 10;
  uint32_t max_transports_per_peer = 4;
  uint32_t max_producers_per_peer = 16;
  uint32_t max_consumers_per_peer = 2000;
  uint32_t keyframe_request_interval_ms = 500; // PLI/FIR toward one producer at most this often
};

} // namespace chorus::actors
