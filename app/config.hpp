// Chorus configuration: embedded defaults, an optional JSON file (conf/chorus.json
// documents every option), and command-line flags, applied in that order. Every
// invalid value fails with a message that names the option.
#pragma once

#include "common/result.hpp"
#include "net/rate_limiter.hpp"
#include "protocol/jwt.hpp"
#include "protocol/permissions.hpp"
#include "rtp/capabilities.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::app {

struct signaling_config {
  // Threads running the HTTP/WebSocket edge (net/http_server.hpp); 0: one per four CPUs the
  // process may run on, at least one (a join costs the edge about a fifth of what it costs
  // the whole process: docs/performance.md, "Join storm").
  uint32_t threads = 0;
  uint32_t max_message_bytes = 65536;
  uint32_t max_queued_bytes = 1 << 20;
  uint32_t idle_timeout_ms = 30000;
  uint32_t handshake_timeout_ms = 10000;
  // A WebSocket message begun must be complete within this (0: unbounded).
  uint32_t message_timeout_ms = 20000;
  uint32_t max_connections = 4096;
  uint32_t max_requests_in_flight = 32;
  // Engine.IO (Socket.IO's transport, at /socket.io/).
  uint32_t ping_interval_ms = 25000;
  uint32_t ping_timeout_ms = 20000;
  uint32_t max_payload_bytes = 1000000; // largest long-polling POST body
  // Origins (SCHEME://HOST[:PORT], or "*" for any) whose pages may connect: WebSocket
  // upgrades and Engine.IO requests with another Origin are refused (403), and the CORS
  // headers of the polling answers follow the same list. Empty: the server's own origin
  // and pages on localhost, 127.0.0.1 and [::1]. (The old key corsOrigins is an alias.)
  std::vector<std::string> allowed_origins;
  // Open connections from one remote address (0: unlimited); more are refused (429).
  uint32_t max_connections_per_ip = 1000;
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

struct limits_config {
  uint32_t max_rooms = 1000;
  uint32_t max_peers_per_room = 500;
  uint32_t max_publishers_per_room = 0; // participants with producers; 0: no limit
};

// The live class (classroom.*).
struct classroom_config {
  // The audio-levels event's interval (0: off; else 100 .. 60000).
  uint32_t audio_levels_interval_ms = 500;
};

struct rtc_config {
  uint16_t single_port = 0;                 // 0: a port per transport from the range
  uint32_t ice_consent_timeout_ms = 30000;   // no valid check -> disconnected
  uint32_t ice_disconnected_timeout_ms = 30000; // disconnected -> transport closed
  uint32_t dtls_handshake_timeout_ms = 30000;
  // ICE-TCP: a media connection must send its first binding request within this.
  uint32_t tcp_bind_timeout_ms = 10000;
  // Error answers (400/401/420/487) to STUN requests, per transport per second (0: no
  // bound); requests beyond are dropped, counted.
  uint32_t stun_error_rate = 50;
  std::string dtls_certificate_file; // PEM; empty: generate one at start
  std::string dtls_private_key_file;
  uint32_t drop_rtp_percent = 0; // fault injection for tests: received RTP dropped (0..50)
  // Single-port mode: consumers' datagrams leave together, one sendmmsg for many
  // (net/send_outbox.hpp); off: one send call per consumer per batch.
  bool batch_sends = true;
  // With batch_sends: a consumer's run of equal-size datagrams to one receiver leaves as
  // one segmented message (UDP GSO); off: one message per datagram.
  bool udp_segmentation = true;
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
};

// Data channels (docs/operations.md, "Data channels"): SCTP over DTLS.
struct sctp_config {
  uint32_t max_message_size = 262'144; // sctp.maxMessageSize: larger messages are refused
  uint32_t max_streams = 1024;         // sctp.maxStreams: SCTP streams per direction at most
  uint32_t send_buffer_size = 1'048'576; // sctp.sendBufferSize: per transport, then drops
};

// The actor scheduler (docs/design/scheduler-wakeups.md, "Why not CAF's schedulers"). "lean" (actors/scheduler.hpp):
// one job queue, idle workers sleep, and a worker is woken only when there is work for
// two; "sharing": CAF's work sharing, one job queue behind a mutex and condition variable
// with a wake-up per job; "stealing": CAF's default work stealing, whose idle workers
// poll (spin, then sleep 50 us at a time) for work.
struct scheduler_config {
  std::string policy = "lean";
  uint32_t threads = 0; // 0: max(2, the CPUs this process may run on)
  // Who runs the actors' timers under the lean scheduler (actors/scheduler.hpp): "thread",
  // Chorus's clock thread, woken only by a timer due before it would wake anyway; "io", the
  // media I/O thread between its waits for packets (measured no better: the timers fall
  // due between packets, so they wake it instead); "caf", CAF's clock (a wake-up for every
  // timer set and every timer due), for comparison. The other policies use CAF's clock.
  std::string timers = "thread";
};

// Several Chorus nodes in one cluster (docs/operations.md, "Cluster"). Off unless listen or
// peers is set; then a secret (at least 16 bytes) is required.
struct cluster_config {
  std::string node_id;            // "": hostname:signaling port
  std::string listen;             // HOST:PORT of this node's cluster actor ("" : none)
  std::vector<std::string> peers; // HOST:PORT of nodes to join
  std::string secret;             // the shared secret (or read from secret_file)
  std::string secret_file;
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_timeout_ms = 5000; // silent this long: the node counts as lost
  // TLS between nodes (CAF's OpenSSL module): all three PEM files, or none (plain BASP).
  std::string cert_file;
  std::string key_file;
  std::string ca_file;

  // Plain BASP to or from an address other than loopback. Off by default: CAF 0.17.6 trusts
  // what a BASP peer sends (docs/operations.md, "Cluster"), so without TLS's mutual
  // verification anyone who reaches the cluster port could end the process.
  bool insecure = false;

  bool tls() const { return !cert_file.empty(); }

  bool enabled() const { return !listen.empty() || !peers.empty(); }
};

// Who may connect and what peers may do (docs/operations.md, "Tokens and roles").
struct auth_config {
  std::string mode = "none"; // "none": peers name themselves; "jwt": a signed token is required
  // "HS256", "RS256", "ES256", or "": HS256 with a secret, RS256 or ES256 after the public
  // key's type (RSA or EC P-256).
  std::string algorithm;
  std::string hs256_secret;      // at least 32 bytes
  std::string hs256_secret_file; // or the secret from the first line of this file
  std::string public_key_file;   // RS256/ES256: PEM public key (or certificate)
  std::string issuer;            // "": iss not checked
  std::string audience;          // "": aud not checked
  uint32_t leeway_seconds = 30;  // clock skew allowed on exp/nbf/iat (0 .. 3600)
  // The role of peers without one: every peer in mode none ("": every
  // permission), tokens without role and permissions claims in mode jwt ("": viewer).
  std::string default_role;
  protocol::role_table roles = protocol::role_table::defaults();

  bool jwt() const { return mode == "jwt"; }

  // A peer's permissions: in mode none from default_role (claims ignored, may be null); in
  // mode jwt from the token (its permissions claim, else its role, else default_role, else
  // viewer). nullopt: the role is unknown (refuse the peer).
  std::optional<protocol::permission_set>
  permissions_for(const protocol::token_claims* claims) const;
};

// The verifier of mode jwt: reads the secret or public key file and checks the key. Fails
// with a message naming the option (also run by validate() in mode jwt).
result<protocol::jwt_verifier> make_jwt_verifier(const auth_config& auth);

// A secret file's first line, without a trailing CR or spaces; fails naming the path.
result<std::string> read_secret_file(const std::string& path);

// The class record (docs/operations.md, "Class record"): rooms, attendance, chat, polls and
// moderation written to one SQLite file (path) or to a PostgreSQL server (url: one record for
// all the nodes of a cluster). Off while both are empty; both given is an error.
struct storage_config {
  std::string path;                 // the SQLite file, created with its schema on first use
  uint32_t flush_interval_ms = 200; // events wait at most this long before they are written
  std::string url;                  // PostgreSQL: postgresql://USER@HOST:PORT/DB or "host=..."

  bool enabled() const { return !path.empty() || !url.empty(); }
};

// The operator's view (docs/design/operator-view.md).
// admin.*: the admin API on its own address, off while listen is empty; every request
// carries "Authorization: Bearer " + the first line of token_file.
struct admin_config {
  std::string listen;     // HOST:PORT ("" : off)
  std::string token_file; // required when listen is set; the token is at least 16 bytes
};

// webhooks.*: signed POSTs of room and participant events to every url (http:// or
// https://, whose certificate is verified against ca_file, else the system's CAs).
struct webhooks_config {
  std::vector<std::string> urls; // empty: off
  std::string ca_file;           // PEM CA certificates for https receivers ("" : system's)
  std::string key;               // HMAC-SHA256 key (or the first line of key_file)
  std::string key_file;
  uint32_t queue_size = 1000;    // events waiting per url; older ones are dropped beyond
  uint32_t max_attempts = 5;     // per event and url (backoff 0.5 s, 1 s, 2 s, ...)
  uint32_t timeout_ms = 5000;    // per attempt (connect, send, answer)

  bool enabled() const { return !urls.empty(); }
};

// drain.*: SIGTERM (or POST /drain) refuses new rooms and joins and waits up to timeout_ms
// for the rooms to end; 0: SIGTERM stops at once (rooms are closed).
struct drain_config {
  uint32_t timeout_ms = 0;
};

// metrics.*: per-room series in GET /metrics (one label value per room: cardinality).
struct metrics_config {
  bool per_room = false;
};

// Recording in the server (docs/operations.md, "Recording"): an ffmpeg child per recorded
// producer writes under `directory`; off (start-recording refused) while it is empty.
struct recording_config {
  std::string directory;
  bool auto_start = false;          // record every room from its first producer
  std::string ffmpeg = "ffmpeg";    // the binary (PATH lookup when it has no '/')
  uint32_t min_free_mb = 100;       // below this much free space: disk-full reported
  uint32_t max_restart_backoff_ms = 10000; // a crashed ffmpeg: restarts back off up to this
};

struct config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string log_level = "info";
  std::string log_format = "text"; // text | json
  admin_config admin;
  webhooks_config webhooks;
  drain_config drain;
  metrics_config metrics;
  std::string rtc_ip = "127.0.0.1";
  std::string announced_ip; // empty: announce rtc_ip
  uint16_t rtc_min_port = 40000;
  uint16_t rtc_max_port = 49999;
  rtc_config rtc;
  sctp_config sctp;
  signaling_config signaling;
  limits_config limits;
  classroom_config classroom;
  scheduler_config scheduler;
  cluster_config cluster;
  auth_config auth;
  storage_config storage;
  recording_config recording;
  std::vector<rtp::media_codec_config> media_codecs = rtp::default_media_codecs();
};

// Applies a JSON configuration document on top of `base` (the options: app/options.hpp).
result<config> apply_config_json(std::string_view json, config base);

// The dotted keys a JSON configuration document sets, comments left out (for the check that
// conf/chorus.json lists every option).
std::vector<std::string> config_json_keys(std::string_view json);

// help: --help's text; help_markdown: the options table of docs/operations.md.
enum class cli_action { run, help, help_markdown };

struct cli_result {
  cli_action action = cli_action::run;
  config cfg;
};

// Parses argv: `--config FILE` is loaded first, then the other flags override it.
result<cli_result> parse_command_line(int argc, const char* const* argv);

std::string usage();

// Cross-option checks (also run after the file and after the flags).
result<config> validate(config cfg);

} // namespace chorus::app
