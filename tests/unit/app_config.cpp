// Configuration: defaults, the documented conf/chorus.json, flags, and failures that
// name the offending option.
#include "app/config.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace chorus;

namespace {

result<app::cli_result> parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"chorus"};
  for (auto& a : args)
    argv.push_back(a.c_str());
  return app::parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A configuration file with `text`, under the build's temporary directory.
std::string tempfile_with(const std::string& text) {
  static int n = 0;
  std::string path = "/tmp/chorus_app_config_test_" + std::to_string(::getpid()) + "_" +
                     std::to_string(n++) + ".json";
  std::ofstream{path} << text;
  return path;
}

bool same(const app::config& a, const app::config& b) {
  return a.listen_host == b.listen_host && a.listen_port == b.listen_port &&
         a.log_level == b.log_level && a.rtc_ip == b.rtc_ip &&
         a.announced_ip == b.announced_ip && a.rtc_min_port == b.rtc_min_port &&
         a.rtc_max_port == b.rtc_max_port && a.rtc.single_port == b.rtc.single_port &&
         a.rtc.ice_consent_timeout_ms == b.rtc.ice_consent_timeout_ms &&
         a.rtc.ice_disconnected_timeout_ms == b.rtc.ice_disconnected_timeout_ms &&
         a.rtc.dtls_handshake_timeout_ms == b.rtc.dtls_handshake_timeout_ms &&
         a.rtc.dtls_certificate_file == b.rtc.dtls_certificate_file &&
         a.rtc.drop_rtp_percent == b.rtc.drop_rtp_percent &&
         a.signaling.max_message_bytes == b.signaling.max_message_bytes &&
         a.signaling.max_queued_bytes == b.signaling.max_queued_bytes &&
         a.signaling.idle_timeout_ms == b.signaling.idle_timeout_ms &&
         a.signaling.handshake_timeout_ms == b.signaling.handshake_timeout_ms &&
         a.signaling.max_connections == b.signaling.max_connections &&
         a.signaling.max_requests_in_flight == b.signaling.max_requests_in_flight &&
         a.signaling.ping_interval_ms == b.signaling.ping_interval_ms &&
         a.signaling.ping_timeout_ms == b.signaling.ping_timeout_ms &&
         a.signaling.max_payload_bytes == b.signaling.max_payload_bytes &&
         a.signaling.allowed_origins == b.signaling.allowed_origins &&
         a.signaling.max_connections_per_ip == b.signaling.max_connections_per_ip &&
         a.signaling.default_room == b.signaling.default_room &&
         a.scheduler.policy == b.scheduler.policy &&
         a.cluster.node_id == b.cluster.node_id && a.cluster.listen == b.cluster.listen &&
         a.cluster.peers == b.cluster.peers && a.cluster.secret == b.cluster.secret &&
         a.cluster.secret_file == b.cluster.secret_file &&
         a.cluster.heartbeat_interval_ms == b.cluster.heartbeat_interval_ms &&
         a.cluster.heartbeat_timeout_ms == b.cluster.heartbeat_timeout_ms &&
         a.cluster.cert_file == b.cluster.cert_file && a.cluster.key_file == b.cluster.key_file &&
         a.cluster.ca_file == b.cluster.ca_file &&
         a.scheduler.threads == b.scheduler.threads &&
         a.signaling.tls_certificate_file == b.signaling.tls_certificate_file &&
         a.signaling.tls_private_key_file == b.signaling.tls_private_key_file &&
         a.limits.max_rooms == b.limits.max_rooms &&
         a.limits.max_peers_per_room == b.limits.max_peers_per_room &&
         a.media_codecs.size() == b.media_codecs.size();
}

} // namespace

TEST_CASE("no arguments: the embedded defaults") {
  auto r = parse({});
  REQUIRE(r.ok());
  CHECK(r->action == app::cli_action::run);
  CHECK(r->cfg.listen_host == "127.0.0.1");
  CHECK(r->cfg.listen_port == 8080);
  CHECK(r->cfg.rtc_min_port == 40000);
  CHECK(r->cfg.rtc_max_port == 49999);
  CHECK(r->cfg.media_codecs.size() == 5);
}

TEST_CASE("conf/chorus.json documents exactly the embedded defaults") {
  auto text = read_file(std::string{CHORUS_SOURCE_DIR} + "/conf/chorus.json");
  REQUIRE(!text.empty());
  auto cfg = app::apply_config_json(text, app::config{});
  REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.error()));
  CHECK(same(*cfg, app::config{}));
  for (size_t i = 0; i < cfg->media_codecs.size(); ++i) {
    CAPTURE(i);
    CHECK(cfg->media_codecs[i].mime_type == app::config{}.media_codecs[i].mime_type);
    CHECK(cfg->media_codecs[i].parameters == app::config{}.media_codecs[i].parameters);
  }
}

TEST_CASE("flags override the defaults") {
  auto r = parse({"--listen", "0.0.0.0:9000", "--rtc-ip", "::1", "--announced-ip",
                  "203.0.113.7", "--rtc-ports", "20000-20100", "--log-level", "debug",
                  "--rtc-single-port", "40443", "--drop-rtp-percent", "5",
                  "--default-room", "lobby", "--scheduler", "stealing",
                  "--scheduler-threads", "3"});
  REQUIRE(r.ok());
  CHECK(r->cfg.scheduler.policy == "stealing");
  CHECK(r->cfg.scheduler.threads == 3);
  CHECK(app::config{}.scheduler.policy == "sharing");
  CHECK(r->cfg.signaling.default_room == "lobby");
  CHECK(app::config{}.signaling.default_room == "default");
  CHECK(r->cfg.listen_host == "0.0.0.0");
  CHECK(r->cfg.listen_port == 9000);
  CHECK(r->cfg.rtc_ip == "::1");
  CHECK(r->cfg.announced_ip == "203.0.113.7");
  CHECK(r->cfg.rtc_min_port == 20000);
  CHECK(r->cfg.rtc_max_port == 20100);
  CHECK(r->cfg.log_level == "debug");
  CHECK(r->cfg.rtc.single_port == 40443);
  CHECK(r->cfg.rtc.drop_rtp_percent == 5);
  CHECK(app::config{}.rtc.drop_rtp_percent == 0); // fault injection is off by default
}

TEST_CASE("cluster flags and keys") {
  auto r = parse({"--node-id", "node-a", "--cluster-listen", "127.0.0.1:0", "--cluster-peers",
                  "10.0.0.2:7000,node-c.example:7000,,[::1]:7001", "--cluster-secret",
                  "0123456789abcdef", "--cluster-heartbeat-timeout-ms", "1500"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->cfg.cluster.enabled());
  CHECK(r->cfg.cluster.node_id == "node-a");
  CHECK(r->cfg.cluster.listen == "127.0.0.1:0");
  CHECK(r->cfg.cluster.peers ==
        std::vector<std::string>{"10.0.0.2:7000", "node-c.example:7000", "[::1]:7001"});
  CHECK(r->cfg.cluster.heartbeat_timeout_ms == 1500);
  CHECK_FALSE(app::config{}.cluster.enabled());
  auto file = app::apply_config_json(
    R"({"cluster": {"peers": ["127.0.0.1:7000"], "secretFile": "/run/secrets/chorus"}})",
    app::config{});
  REQUIRE(file.ok());
  CHECK(file->cluster.secret_file == "/run/secrets/chorus");
  CHECK(app::validate(*file).ok());
}

TEST_CASE("listen accepts a bracketed IPv6 address and port 0") {
  auto r = parse({"--listen", "[::1]:0"});
  REQUIRE(r.ok());
  CHECK(r->cfg.listen_host == "::1");
  CHECK(r->cfg.listen_port == 0);
}

TEST_CASE("--help") {
  auto r = parse({"--listen", "bogus", "--help"});
  REQUIRE(r.ok());
  CHECK(r->action == app::cli_action::help);
  CHECK(app::usage().find("--rtc-ports") != std::string::npos);
}

TEST_CASE("invalid flags fail naming the flag") {
  struct tcase {
    const char* name;
    std::vector<std::string> args;
    const char* expected;
  };
  std::vector<tcase> cases{
    {"listen without port", {"--listen", "127.0.0.1"}, "--listen"},
    {"listen with host name", {"--listen", "localhost:80"}, "--listen"},
    {"listen port too large", {"--listen", "127.0.0.1:70000"}, "--listen"},
    {"listen missing value", {"--listen"}, "--listen"},
    {"rtc-ip not an address", {"--rtc-ip", "1.2.3"}, "--rtc-ip"},
    {"rtc-ports reversed", {"--rtc-ports", "50000-40000"}, "--rtc-ports"},
    {"rtc-ports privileged", {"--rtc-ports", "80-90"}, "--rtc-ports"},
    {"rtc-ports not a range", {"--rtc-ports", "40000"}, "--rtc-ports"},
    {"rtc-ports beyond 65535", {"--rtc-ports", "40000-70000"}, "--rtc-ports"},
    {"single port privileged", {"--rtc-single-port", "443"}, "--rtc-single-port"},
    {"single port not a number", {"--rtc-single-port", "x"}, "--rtc-single-port"},
    {"log level unknown", {"--log-level", "loud"}, "--log-level"},
    {"drop percent above 50", {"--drop-rtp-percent", "51"}, "--drop-rtp-percent"},
    {"drop percent not a number", {"--drop-rtp-percent", "5%"}, "--drop-rtp-percent"},
    {"unknown flag", {"--frobnicate"}, "--frobnicate"},
    {"default room empty", {"--default-room", ""}, "--default-room"},
    {"scheduler unknown", {"--scheduler", "fifo"}, "--scheduler"},
    {"cluster without a secret", {"--cluster-listen", "127.0.0.1:0"}, "cluster.secret"},
    {"cluster secret too short", {"--cluster-peers", "127.0.0.1:7000", "--cluster-secret", "short"},
     "cluster.secret"},
    {"cluster listen on a wildcard address",
     {"--cluster-listen", "0.0.0.0:7000", "--cluster-secret", "0123456789abcdef"}, "--cluster-listen"},
    {"cluster listen on a host name",
     {"--cluster-listen", "node:7000", "--cluster-secret", "0123456789abcdef"}, "--cluster-listen"},
    {"cluster peer without a port",
     {"--cluster-peers", "127.0.0.1", "--cluster-secret", "0123456789abcdef"}, "--cluster-peers"},
    {"cluster heartbeat timeout too short", {"--cluster-heartbeat-timeout-ms", "10"},
     "--cluster-heartbeat-timeout-ms"},
    {"node id empty", {"--node-id", ""}, "--node-id"},
    {"cluster cert without key and ca", {"--cluster-cert", "/x/a.pem"}, "--cluster-cert"},
    {"cluster ca empty", {"--cluster-ca", ""}, "--cluster-ca"},
    {"scheduler threads too many", {"--scheduler-threads", "65"}, "--scheduler-threads"},
    {"default room too long", {"--default-room", std::string(129, 'r')}, "--default-room"},
    {"default room with a control character", {"--default-room", "a\tb"}, "--default-room"},
    {"tls cert without key", {"--tls-cert", "/x/cert.pem"}, "--tls-key"},
    {"tls key without cert", {"--tls-key", "/x/key.pem"}, "--tls-cert"},
    {"tls cert without value", {"--tls-cert"}, "--tls-cert"},
    {"tls key empty", {"--tls-key", ""}, "--tls-key"},
    {"allowed origins with a path", {"--allowed-origins", "https://a.example/app"},
     "--allowed-origins"},
    {"allowed origins, one without scheme", {"--allowed-origins", "https://a.example,b.example"},
     "--allowed-origins"},
    {"allowed origins without value", {"--allowed-origins"}, "--allowed-origins"},
    {"max connections per ip not a number", {"--max-connections-per-ip", "many"},
     "--max-connections-per-ip"},
    {"max connections per ip negative", {"--max-connections-per-ip", "-1"},
     "--max-connections-per-ip"},
    {"max connections per ip too large", {"--max-connections-per-ip", "1000001"},
     "--max-connections-per-ip"},
    {"config missing file", {"--config", "/nonexistent/chorus.json"}, "--config"},
    {"config without value", {"--config"}, "--config"},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    auto r = parse(c.args);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(c.expected) != std::string::npos, r.error());
  }
}

TEST_CASE("invalid configuration documents fail naming the option") {
  struct tcase {
    const char* name;
    const char* json;
    const char* expected;
  };
  std::vector<tcase> cases{
    {"not JSON", "{", "JSON"},
    {"not an object", "[]", "JSON"},
    {"unknown top-level key", R"({"bogus": 1})", "bogus"},
    {"unknown nested key", R"({"signaling": {"maxMessageByte": 1}})", "signaling.maxMessageByte"},
    {"negative size", R"({"signaling": {"maxMessageBytes": -1}})", "signaling.maxMessageBytes"},
    {"size too small", R"({"signaling": {"maxMessageBytes": 10}})", "signaling.maxMessageBytes"},
    {"size as string", R"({"signaling": {"maxQueuedBytes": "1M"}})", "signaling.maxQueuedBytes"},
    {"fractional timeout", R"({"signaling": {"idleTimeoutMs": 1.5}})", "signaling.idleTimeoutMs"},
    {"zero rooms", R"({"limits": {"maxRooms": 0}})", "limits.maxRooms"},
    {"limits not object", R"({"limits": 3})", "limits"},
    {"bad listen", R"({"listen": "nowhere"})", "listen"},
    {"bad log level", R"({"logLevel": "chatty"})", "logLevel"},
    {"bad rtc ip", R"({"rtc": {"ip": "300.1.1.1"}})", "rtc.ip"},
    {"bad port range", R"({"rtc": {"ports": "9-8"}})", "rtc.ports"},
    {"privileged single port", R"({"rtc": {"singlePort": 80}})", "rtc.singlePort"},
    {"wildcard without announced ip", R"({"rtc": {"ip": "0.0.0.0"}})", "rtc.announcedIp"},
    {"certificate without key", R"({"rtc": {"dtlsCertificateFile": "/x.pem"}})", "rtc.dtlsCertificateFile"},
    {"consent timeout too short", R"({"rtc": {"iceConsentTimeoutMs": 5}})", "rtc.iceConsentTimeoutMs"},
    {"unsupported codec", R"({"mediaCodecs": [{"kind": "video", "mimeType": "video/H265", "clockRate": 90000}]})", "mediaCodecs"},
    {"empty codec list", R"({"mediaCodecs": []})", "mediaCodecs"},
    {"empty default room", R"({"signaling": {"defaultRoom": ""}})", "signaling.defaultRoom"},
    {"unknown scheduler policy", R"({"scheduler": {"policy": "fifo"}})", "scheduler.policy"},
    {"scheduler threads negative", R"({"scheduler": {"threads": -1}})", "scheduler.threads"},
    {"scheduler not object", R"({"scheduler": 1})", "scheduler"},
    {"cluster peers not an array", R"({"cluster": {"peers": "a:1"}})", "cluster.peers"},
    {"cluster unknown key", R"({"cluster": {"seeds": []}})", "cluster.seeds"},
    {"cluster timeout within the interval",
     R"({"cluster": {"heartbeatIntervalMs": 2000, "heartbeatTimeoutMs": 1000}})",
     "cluster.heartbeatTimeoutMs"},
    {"default room not a string", R"({"signaling": {"defaultRoom": 3}})", "signaling.defaultRoom"},
    {"codecs not array", R"({"mediaCodecs": {}})", "mediaCodecs"},
    {"ping interval too short", R"({"signaling": {"pingIntervalMs": 10}})", "signaling.pingIntervalMs"},
    {"ping timeout a string", R"({"signaling": {"pingTimeoutMs": "20s"}})", "signaling.pingTimeoutMs"},
    {"max payload too small", R"({"signaling": {"maxPayloadBytes": 10}})", "signaling.maxPayloadBytes"},
    {"cors origins not an array", R"({"signaling": {"corsOrigins": "*"}})", "signaling.corsOrigins"},
    {"cors origin not a string", R"({"signaling": {"corsOrigins": [1]}})", "signaling.corsOrigins"},
    {"cors origin with a path", R"({"signaling": {"corsOrigins": ["https://a.example/app"]}})", "signaling.corsOrigins"},
    {"cors origin without scheme", R"({"signaling": {"corsOrigins": ["a.example"]}})", "signaling.corsOrigins"},
    {"cors origin with a bad port", R"({"signaling": {"corsOrigins": ["https://a.example:0"]}})", "signaling.corsOrigins"},
    {"allowed origins not an array", R"({"signaling": {"allowedOrigins": "*"}})", "signaling.allowedOrigins"},
    {"allowed origin not a string", R"({"signaling": {"allowedOrigins": [null]}})", "signaling.allowedOrigins"},
    {"allowed origin with a query", R"({"signaling": {"allowedOrigins": ["https://a.example?x"]}})", "signaling.allowedOrigins"},
    {"allowed origin with a port out of range", R"({"signaling": {"allowedOrigins": ["http://a.example:65536"]}})", "signaling.allowedOrigins"},
    {"allowed origins and corsOrigins both", R"({"signaling": {"allowedOrigins": [], "corsOrigins": []}})", "signaling.corsOrigins"},
    {"max connections per ip negative", R"({"signaling": {"maxConnectionsPerIp": -1}})", "signaling.maxConnectionsPerIp"},
    {"max connections per ip too large", R"({"signaling": {"maxConnectionsPerIp": 1000001}})", "signaling.maxConnectionsPerIp"},
    {"tls certificate without key", R"({"signaling": {"tlsCertificateFile": "/x.pem"}})", "signaling.tlsPrivateKeyFile"},
    {"tls key not a string", R"({"signaling": {"tlsPrivateKeyFile": 5}})", "signaling.tlsPrivateKeyFile"},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    auto r = app::apply_config_json(c.json, app::config{});
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(c.expected) != std::string::npos, r.error());
  }
}

TEST_CASE("a configuration document overrides only what it names") {
  auto r = app::apply_config_json(R"({"signaling": {"maxQueuedBytes": 65536}, "limits": {"maxPeersPerRoom": 3}})",
                                  app::config{});
  REQUIRE(r.ok());
  CHECK(r->signaling.max_queued_bytes == 65536);
  CHECK(r->limits.max_peers_per_room == 3);
  CHECK(r->signaling.max_message_bytes == 65536);
  CHECK(r->listen_port == 8080);
}

TEST_CASE("Engine.IO, origin and TLS options") {
  app::config d;
  CHECK(d.signaling.ping_interval_ms == 25000);
  CHECK(d.signaling.ping_timeout_ms == 20000);
  CHECK(d.signaling.max_payload_bytes == 1000000);
  CHECK(d.signaling.allowed_origins.empty()); // the own origin and local pages
  CHECK(d.signaling.max_connections_per_ip == 1000);
  CHECK(d.signaling.tls_certificate_file.empty());
  CHECK(d.signaling.tls_private_key_file.empty());

  auto r = app::apply_config_json(
    R"({"signaling": {"pingIntervalMs": 300, "pingTimeoutMs": 200, "maxPayloadBytes": 4096,
        "allowedOrigins": ["https://a.example", "http://127.0.0.1:5173", "http://[::1]:3000"],
        "maxConnectionsPerIp": 3,
        "tlsCertificateFile": "/etc/chorus/cert.pem", "tlsPrivateKeyFile": "/etc/chorus/key.pem"}})",
    app::config{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->signaling.ping_interval_ms == 300);
  CHECK(r->signaling.ping_timeout_ms == 200);
  CHECK(r->signaling.max_payload_bytes == 4096);
  CHECK(r->signaling.allowed_origins ==
        std::vector<std::string>{"https://a.example", "http://127.0.0.1:5173", "http://[::1]:3000"});
  CHECK(r->signaling.max_connections_per_ip == 3);
  CHECK(r->signaling.tls_certificate_file == "/etc/chorus/cert.pem");
  CHECK(r->signaling.tls_private_key_file == "/etc/chorus/key.pem");

  // corsOrigins, the old name, still works and fills the same list.
  auto old = app::apply_config_json(R"({"signaling": {"corsOrigins": ["*"]}})", app::config{});
  REQUIRE_MESSAGE(old.ok(), (old.ok() ? "" : old.error()));
  CHECK(old->signaling.allowed_origins == std::vector<std::string>{"*"});

  auto empty = app::apply_config_json(R"({"signaling": {"allowedOrigins": [], "maxConnectionsPerIp": 0}})",
                                      app::config{});
  REQUIRE(empty.ok());
  CHECK(empty->signaling.allowed_origins.empty()); // back to the default
  CHECK(empty->signaling.max_connections_per_ip == 0); // unlimited

  auto flags = parse({"--tls-cert", "c.pem", "--tls-key", "k.pem", "--allowed-origins",
                      "https://a.example,http://localhost:5173", "--max-connections-per-ip", "7"});
  REQUIRE_MESSAGE(flags.ok(), (flags.ok() ? "" : flags.error()));
  CHECK(flags->cfg.signaling.tls_certificate_file == "c.pem");
  CHECK(flags->cfg.signaling.tls_private_key_file == "k.pem");
  CHECK(flags->cfg.signaling.allowed_origins ==
        std::vector<std::string>{"https://a.example", "http://localhost:5173"});
  CHECK(flags->cfg.signaling.max_connections_per_ip == 7);
  auto star = parse({"--allowed-origins", "*", "--max-connections-per-ip", "0"});
  REQUIRE(star.ok());
  CHECK(star->cfg.signaling.allowed_origins == std::vector<std::string>{"*"});
  CHECK(star->cfg.signaling.max_connections_per_ip == 0);
  // A flag overrides the file's list.
  auto file = tempfile_with(R"({"signaling": {"allowedOrigins": ["https://b.example"]}})");
  auto over = parse({"--config", file, "--allowed-origins", "https://c.example"});
  REQUIRE_MESSAGE(over.ok(), (over.ok() ? "" : over.error()));
  CHECK(over->cfg.signaling.allowed_origins == std::vector<std::string>{"https://c.example"});
  CHECK(app::usage().find("--tls-cert") != std::string::npos);
  CHECK(app::usage().find("--tls-key") != std::string::npos);
  CHECK(app::usage().find("--allowed-origins") != std::string::npos);
  CHECK(app::usage().find("--max-connections-per-ip") != std::string::npos);
}
