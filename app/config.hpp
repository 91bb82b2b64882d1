// Chorus configuration: embedded defaults, an optional JSON file (conf/chorus.json
// documents every option), and command-line flags, applied in that order. Every
// invalid value fails with a message that names the option. The sections the actors read
// are declared in actors/settings.hpp; the option table is app/options.cpp.
#pragma once

#include "actors/settings.hpp"
#include "app/webhook_options.hpp"
#include "common/result.hpp"
#include "net/http_server.hpp"
#include "net/media_io.hpp"
#include "protocol/jwt.hpp"
#include "protocol/permissions.hpp"
#include "rtp/capabilities.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::app {






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
// TURN for clients behind firewalls (docs/operations.md, "Behind firewalls"): the server
// inside Chorus (turn.enabled) or the operator's coturn (turn.externalUrls), and iceServers
// with a short-lived credential per peer in every transport reply.
struct turn_config {
  bool enabled = false;
  uint16_t udp_port = 3478;          // 0: any free port
  std::string secret;                // the TURN REST secret (coturn's static-auth-secret)
  std::string secret_file;
  std::string host;                  // in the URLs handed out (empty: the announced address)
  std::vector<std::string> external_urls;
  std::string ice_transport_policy; // "" (not sent), "all" or "relay"
  uint32_t relay_rate_kbps = 0;     // per allocation and direction; 0: no cap
  // TURN on the signaling port too: inside its TLS (turns: URLs, when it speaks TLS) and
  // over plain TCP.
  bool tls_on_signaling_port = true;
};

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
struct webhooks_config : webhook_options {
  std::string key_file; // or the key from the first line of this file

  bool enabled() const { return !urls.empty(); }
};

// drain.*: SIGTERM (or POST /drain without a timeout) refuses new rooms and joins and waits
// up to timeout_ms for the rooms to end; 0: SIGTERM stops at once (rooms are closed), POST
// /drain waits for the rooms with no deadline.
struct drain_config {
  uint32_t timeout_ms = 0;
};

// metrics.*: per-room series in GET /metrics (one label value per room: cardinality).
struct metrics_config {
  bool per_room = false;
};


struct config {
  // The HTTP/WebSocket edge (listen, signaling.*): the server's own options, filled by the
  // option table; main adds the thread count and the handlers.
  net::http_server_options edge;
  std::string log_level = "info";
  std::string log_format = "text"; // text | json
  admin_config admin;
  actors::rtmp_settings rtmp;
  webhooks_config webhooks;
  drain_config drain;
  metrics_config metrics;
  // The media sockets (rtcIp, rtcMinPort/rtcMaxPort, rtc.*): media I/O's own options;
  // main adds the single port and the thread count.
  net::media_io_options media_io;
  std::string announced_ip; // empty: announce rtcIp
  actors::rtc_settings rtc;
  actors::sctp_settings sctp;
  actors::signaling_settings signaling;
  actors::limits_settings limits;
  actors::classroom_settings classroom;
  scheduler_config scheduler;
  cluster_config cluster;
  turn_config turn;
  auth_config auth;
  storage_config storage;
  actors::recording_settings recording;
  actors::live_settings live;
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
