// Chorus configuration: embedded defaults, an optional JSON file (conf/chorus.json
// documents every option), and command-line flags, applied in that order. Every
// invalid value fails with a message that names the option.
#pragma once

#include "common/result.hpp"
#include "rtp/capabilities.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::app {

struct signaling_config {
  uint32_t max_message_bytes = 65536;
  uint32_t max_queued_bytes = 1 << 20;
  uint32_t idle_timeout_ms = 30000;
  uint32_t handshake_timeout_ms = 10000;
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
};

struct limits_config {
  uint32_t max_rooms = 1000;
  uint32_t max_peers_per_room = 500;
};

struct rtc_config {
  uint16_t single_port = 0;                 // 0: a port per transport from the range
  uint32_t ice_consent_timeout_ms = 30000;   // no valid check -> disconnected
  uint32_t ice_disconnected_timeout_ms = 30000; // disconnected -> transport closed
  uint32_t dtls_handshake_timeout_ms = 30000;
  std::string dtls_certificate_file; // PEM; empty: generate one at start
  std::string dtls_private_key_file;
  uint32_t drop_rtp_percent = 0; // fault injection for tests: received RTP dropped (0..50)
};

// CAF's scheduler (docs/performance.md, "Scheduler"). "sharing": one job queue behind a
// mutex and condition variable, idle workers sleep; "stealing": CAF's default work
// stealing, whose idle workers poll (spin, then sleep 50 us at a time) for work.
struct scheduler_config {
  std::string policy = "sharing";
  uint32_t threads = 0; // 0: max(2, the CPUs this process may run on)
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

  bool tls() const { return !cert_file.empty(); }

  bool enabled() const { return !listen.empty() || !peers.empty(); }
};

struct config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 8080;
  std::string log_level = "info";
  std::string rtc_ip = "127.0.0.1";
  std::string announced_ip; // empty: announce rtc_ip
  uint16_t rtc_min_port = 40000;
  uint16_t rtc_max_port = 49999;
  rtc_config rtc;
  signaling_config signaling;
  limits_config limits;
  scheduler_config scheduler;
  cluster_config cluster;
  std::vector<rtp::media_codec_config> media_codecs = rtp::default_media_codecs();
};

// Applies a JSON configuration document on top of `base`.
result<config> apply_config_json(std::string_view json, config base);

enum class cli_action { run, help };

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
