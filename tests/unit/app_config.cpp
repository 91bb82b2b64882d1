// Configuration: defaults, the documented conf/chorus.json, flags, and failures that
// name the offending option.
#include "app/config.hpp"
#include "app/options.hpp"
#include "protocol/jwt_sign.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <set>
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
  static test::temp_dir dir; // the suite's, removed when it ends
  return dir.file_with(text, ".json");
}

// Every option shows the same value in both (the option table's own view of a value).
void check_same_options(const app::config& a, const app::config& b) {
  for (const auto& o : app::options()) {
    if (!o.show) // a flag that acts (--config), not a value
      continue;
    CAPTURE(o.key);
    CAPTURE(o.flag);
    CHECK(o.show(a) == o.show(b));
  }
}

} // namespace

TEST_CASE("no arguments: the embedded defaults") {
  auto r = parse({});
  REQUIRE(r.ok());
  CHECK(r->action == app::cli_action::run);
  CHECK(r->cfg.edge.host == "127.0.0.1");
  CHECK(r->cfg.edge.port == 8080);
  CHECK(r->cfg.media_io.min_port == 40000);
  CHECK(r->cfg.media_io.max_port == 49999);
  CHECK(r->cfg.media_codecs.size() == 7);
}

TEST_CASE("conf/chorus.json documents exactly the embedded defaults") {
  auto text = read_file(std::string{CHORUS_SOURCE_DIR} + "/conf/chorus.json");
  REQUIRE(!text.empty());
  auto cfg = app::apply_config_json(text, app::config{});
  REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.error()));
  check_same_options(*cfg, app::config{});
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
                  "--default-room", "lobby", "--scheduler", "stealing", "--batch-sends", "off",
                  "--udp-segmentation", "off", "--scheduler-threads", "3",
                  "--scheduler-timers", "io", "--gcm", "openssl", "--io-threads", "4"});
  REQUIRE(r.ok());
  CHECK(r->cfg.rtc.io_threads == 4);
  CHECK(app::config{}.rtc.io_threads == 0); // one per usable CPU
  CHECK(r->cfg.rtc.gcm == "openssl");
  CHECK(app::config{}.rtc.gcm == "native");
  CHECK(r->cfg.scheduler.timers == "io");
  CHECK(app::config{}.scheduler.timers == "thread");
  CHECK(r->cfg.scheduler.policy == "stealing");
  CHECK(r->cfg.scheduler.threads == 3);
  CHECK_FALSE(r->cfg.media_io.batch_sends);
  CHECK(app::config{}.media_io.batch_sends);
  CHECK_FALSE(r->cfg.media_io.udp_segmentation);
  CHECK(app::config{}.media_io.udp_segmentation);
  CHECK(app::config{}.scheduler.policy == "lean");
  CHECK(r->cfg.signaling.default_room == "lobby");
  CHECK(app::config{}.signaling.default_room == "default");
  CHECK(r->cfg.edge.host == "0.0.0.0");
  CHECK(r->cfg.edge.port == 9000);
  CHECK(r->cfg.media_io.listen_ip == "::1");
  CHECK(r->cfg.announced_ip == "203.0.113.7");
  CHECK(r->cfg.media_io.min_port == 20000);
  CHECK(r->cfg.media_io.max_port == 20100);
  CHECK(r->cfg.log_level == "debug");
  CHECK(r->cfg.rtc.single_port == 40443);
  CHECK(r->cfg.rtc.drop_rtp_percent == 5);
  CHECK(app::config{}.rtc.drop_rtp_percent == 0); // fault injection is off by default
}

TEST_CASE("cluster flags and keys") {
  auto r = parse({"--node-id", "node-a", "--cluster-listen", "127.0.0.1:0", "--cluster-peers",
                  "10.0.0.2:7000,node-c.example:7000,,[::1]:7001", "--cluster-secret",
                  "0123456789abcdef", "--cluster-heartbeat-timeout-ms", "1500",
                  "--cluster-insecure"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->cfg.cluster.enabled());
  CHECK(r->cfg.cluster.node_id == "node-a");
  CHECK(r->cfg.cluster.listen == "127.0.0.1:0");
  CHECK(r->cfg.cluster.peers ==
        std::vector<std::string>{"10.0.0.2:7000", "node-c.example:7000", "[::1]:7001"});
  CHECK(r->cfg.cluster.heartbeat_timeout_ms == 1500);
  CHECK(r->cfg.cluster.insecure);
  CHECK_FALSE(app::config{}.cluster.enabled());
  CHECK_FALSE(app::config{}.cluster.insecure);
  auto file = app::apply_config_json(
    R"({"cluster": {"peers": ["127.0.0.1:7000"], "secretFile": "/run/secrets/chorus"}})",
    app::config{});
  REQUIRE(file.ok());
  CHECK(file->cluster.secret_file == "/run/secrets/chorus");
  CHECK(app::validate(*file).ok());
}

// CAF 0.17.6's BASP trusts its peers (a message it cannot read can end the process), so
// plain links are for loopback; between hosts TLS or an explicit cluster.insecure.
TEST_CASE("cluster links off loopback need TLS or cluster.insecure") {
  const std::vector<std::string> secret{"--cluster-secret", "0123456789abcdef"};
  const std::vector<std::string> tls{"--cluster-cert", "/x/a.pem", "--cluster-key", "/x/a.key",
                                     "--cluster-ca", "/x/ca.pem"};
  struct row {
    const char* name;
    std::vector<std::string> args;
    bool ok;
  };
  const row rows[] = {
    {"listen and peers on 127.0.0.1", {"--cluster-listen", "127.0.0.1:7001", "--cluster-peers", "127.0.0.1:7000"}, true},
    {"listen elsewhere in 127/8", {"--cluster-listen", "127.3.2.1:7001"}, true},
    {"peer on ::1", {"--cluster-peers", "[::1]:7000"}, true},
    {"peer named localhost", {"--cluster-peers", "localhost:7000"}, true},
    {"listen on a LAN address", {"--cluster-listen", "10.0.0.1:7001"}, false},
    {"listen on an IPv6 address", {"--cluster-listen", "[fd00::1]:7001"}, false},
    {"a peer on a LAN address", {"--cluster-listen", "127.0.0.1:7001", "--cluster-peers", "127.0.0.1:7000,10.0.0.2:7000"}, false},
    {"a peer by host name", {"--cluster-peers", "node-b.example:7000"}, false},
    {"128.0.0.1 is not loopback", {"--cluster-listen", "128.0.0.1:7001"}, false},
    {"a LAN address with insecure", {"--cluster-listen", "10.0.0.1:7001", "--cluster-insecure"}, true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    auto args = r.args;
    args.insert(args.end(), secret.begin(), secret.end());
    auto plain = parse(args);
    CHECK(plain.ok() == r.ok);
    if (!plain.ok())
      CHECK(plain.error().find("--cluster-cert") != std::string::npos);
    args.insert(args.end(), tls.begin(), tls.end()); // with TLS every row is allowed
    auto with_tls = parse(args);
    CHECK_MESSAGE(with_tls.ok(), (with_tls.ok() ? "" : with_tls.error()));
  }
  auto file = app::apply_config_json(
    R"({"cluster": {"listen": "10.0.0.1:7001", "secret": "0123456789abcdef", "insecure": true}})",
    app::config{});
  REQUIRE(file.ok());
  CHECK(file->cluster.insecure);
  CHECK(app::validate(*file).ok());
  auto strict = app::apply_config_json(
    R"({"cluster": {"listen": "10.0.0.1:7001", "secret": "0123456789abcdef"}})", app::config{});
  CHECK_FALSE(strict.ok());
  CHECK_FALSE(app::apply_config_json(R"({"cluster": {"insecure": "yes"}})", app::config{}).ok());
}

TEST_CASE("storage: the class record's file, flush interval") {
  CHECK_FALSE(app::config{}.storage.enabled()); // off by default
  CHECK(app::config{}.storage.flush_interval_ms == 200);
  auto r = parse({"--storage-path", "/var/lib/chorus/record.db"});
  REQUIRE(r.ok());
  CHECK(r->cfg.storage.enabled());
  CHECK(r->cfg.storage.path == "/var/lib/chorus/record.db");
  auto file = app::apply_config_json(
    R"({"storage": {"path": "class.db", "flushIntervalMs": 50}})", app::config{});
  REQUIRE(file.ok());
  CHECK(file->storage.path == "class.db");
  CHECK(file->storage.flush_interval_ms == 50);
  // The flag overrides the file.
  auto path = tempfile_with(R"({"storage": {"path": "a.db"}})");
  auto both = parse({"--config", path, "--storage-path", "b.db"});
  std::remove(path.c_str());
  REQUIRE(both.ok());
  CHECK(both->cfg.storage.path == "b.db");
  CHECK(app::usage().find("--storage-path") != std::string::npos);

}

TEST_CASE("storage.url: PostgreSQL instead of the file; not both; a url libpq cannot parse is refused") {
  auto r = parse({"--storage-url", "postgresql://chorus@127.0.0.1:5432/record"});
  REQUIRE(r.ok());
  CHECK(r->cfg.storage.enabled());
  CHECK(r->cfg.storage.url == "postgresql://chorus@127.0.0.1:5432/record");
  CHECK(r->cfg.storage.path.empty());
  // A libpq connection string works too; so does the url in the file.
  auto kv = parse({"--storage-url", "host=/run/postgresql dbname=record user=chorus"});
  REQUIRE(kv.ok());
  CHECK(kv->cfg.storage.url == "host=/run/postgresql dbname=record user=chorus");
  auto file = app::apply_config_json(
    R"({"storage": {"url": "postgres://db.internal/chorus?sslmode=require", "flushIntervalMs": 100}})",
    app::config{});
  REQUIRE(file.ok());
  CHECK(file->storage.url == "postgres://db.internal/chorus?sslmode=require");
  CHECK(file->storage.enabled());
  CHECK(app::validate(*file).ok());
  // The flag overrides the file's url.
  auto path = tempfile_with(R"({"storage": {"url": "postgresql://a/one"}})");
  auto over = parse({"--config", path, "--storage-url", "postgresql://b/two"});
  std::remove(path.c_str());
  REQUIRE(over.ok());
  CHECK(over->cfg.storage.url == "postgresql://b/two");
  CHECK(app::usage().find("--storage-url") != std::string::npos);

  // Both stores named: refused, naming the keys.
  auto both = parse({"--storage-path", "record.db", "--storage-url", "postgresql://db/chorus"});
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().find("storage.url") != std::string::npos);
  CHECK(both.error().find("storage.path") != std::string::npos);
  auto both_file = app::apply_config_json(
    R"({"storage": {"path": "record.db", "url": "postgresql://db/chorus"}})", app::config{});
  REQUIRE_FALSE(both_file.ok());
  CHECK(both_file.error().find("not both") != std::string::npos);

  // Typos that libpq cannot parse are refused at start (an unreachable server is not: the
  // node starts and reports it, docs/operations.md).
  for (const char* bad : {"postgresql://db:notaport/chorus", "postgresql://db/chorus?nosuchoption=1",
                          "host=db dbname", "postgresql://[::1/chorus", "mysql://db/chorus"}) {
    CAPTURE(bad);
    auto p = parse({"--storage-url", bad});
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().find("storage.url") != std::string::npos);
  }
}

TEST_CASE("listen accepts a bracketed IPv6 address and port 0") {
  auto r = parse({"--listen", "[::1]:0"});
  REQUIRE(r.ok());
  CHECK(r->cfg.edge.host == "::1");
  CHECK(r->cfg.edge.port == 0);
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
    {"batch sends not on or off", {"--batch-sends", "yes"}, "--batch-sends"},
    {"udp segmentation not on or off", {"--udp-segmentation", "1"}, "--udp-segmentation"},
    {"io threads over 64", {"--io-threads", "65"}, "--io-threads"},
    {"io threads not a number", {"--io-threads", "all"}, "--io-threads"},
    {"gcm neither native nor openssl", {"--gcm", "nss"}, "--gcm"},
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
    {"scheduler timers unknown", {"--scheduler-timers", "clock"}, "--scheduler-timers"},
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
    {"storage path without value", {"--storage-path"}, "--storage-path"},
    {"storage path empty", {"--storage-path", ""}, "--storage-path"},
    {"storage url without value", {"--storage-url"}, "--storage-url"},
    {"storage url empty", {"--storage-url", ""}, "--storage-url"},
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
    {"storage not an object", R"({"storage": "record.db"})", "storage"},
    {"storage unknown key", R"({"storage": {"file": "record.db"}})", "storage.file"},
    {"storage path not a string", R"({"storage": {"path": 1}})", "storage.path"},
    {"storage url not a string", R"({"storage": {"url": 5432}})", "storage.url"},
    {"storage flush interval too short", R"({"storage": {"flushIntervalMs": 1}})",
     "storage.flushIntervalMs"},
    {"storage flush interval too long", R"({"storage": {"flushIntervalMs": 600000}})",
     "storage.flushIntervalMs"},
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
    {"batchSends not a boolean", R"({"rtc": {"batchSends": 1}})", "rtc.batchSends"},
    {"udpSegmentation not a boolean", R"({"rtc": {"udpSegmentation": "on"}})", "rtc.udpSegmentation"},
    {"ioThreads over 64", R"({"rtc": {"ioThreads": 100}})", "rtc.ioThreads"},
    {"gcm not a known implementation", R"({"rtc": {"gcm": "fast"}})", "rtc.gcm"},
    {"gcm not a string", R"({"rtc": {"gcm": true}})", "rtc.gcm"},
    {"scheduler threads negative", R"({"scheduler": {"threads": -1}})", "scheduler.threads"},
    {"scheduler not object", R"({"scheduler": 1})", "scheduler"},
    {"scheduler timers unknown", R"({"scheduler": {"timers": "clock"}})", "scheduler.timers"},
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
  auto r = app::apply_config_json(R"({"signaling": {"maxQueuedBytes": 65536}, "limits": {"maxPeersPerRoom": 3, "maxPublishersPerRoom": 2}})",
                                  app::config{});
  REQUIRE(r.ok());
  CHECK(r->edge.max_queued_bytes == 65536);
  CHECK(r->limits.max_peers_per_room == 3);
  CHECK(r->limits.max_publishers_per_room == 2);
  CHECK(r->limits.max_rooms == 1000);
  CHECK(r->edge.max_message_bytes == 65536);
  CHECK(r->edge.port == 8080);
}

TEST_CASE("classroom.chatMaxBytes") {
  CHECK(app::config{}.classroom.chat_max_bytes == 2000);
  auto r = app::apply_config_json(R"({"classroom": {"chatMaxBytes": 500}})", app::config{});
  REQUIRE(r.ok());
  CHECK(r->classroom.chat_max_bytes == 500);
  for (auto json : {R"({"classroom": {"chatMaxBytes": 0}})",
                    R"({"classroom": {"chatMaxBytes": 65537}})",
                    R"({"classroom": {"chatMaxBytes": "500"}})"}) {
    CAPTURE(json);
    auto bad = app::apply_config_json(json, app::config{});
    REQUIRE_FALSE(bad.ok());
    CHECK_MESSAGE(bad.error().find("classroom.chatMaxBytes") != std::string::npos, bad.error());
  }
}

TEST_CASE("classroom.audioLevelsIntervalMs") {
  CHECK(app::config{}.classroom.audio_levels_interval_ms == 500);
  auto r = app::apply_config_json(R"({"classroom": {"audioLevelsIntervalMs": 250}})", app::config{});
  REQUIRE(r.ok());
  CHECK(r->classroom.audio_levels_interval_ms == 250);
  auto off = app::apply_config_json(R"({"classroom": {"audioLevelsIntervalMs": 0}})", app::config{});
  REQUIRE(off.ok());
  CHECK(off->classroom.audio_levels_interval_ms == 0);
  for (auto json : {R"({"classroom": {"audioLevelsIntervalMs": 50}})",
                    R"({"classroom": {"audioLevelsIntervalMs": 60001}})",
                    R"({"classroom": {"audioLevelsIntervalMs": -1}})",
                    R"({"classroom": {"audioLevelsIntervalMs": "500"}})",
                    R"({"classroom": {"audioLevelInterval": 500}})", R"({"classroom": 3})"}) {
    CAPTURE(json);
    auto bad = app::apply_config_json(json, app::config{});
    REQUIRE_FALSE(bad.ok());
    CHECK_MESSAGE(bad.error().find("classroom") != std::string::npos, bad.error());
  }
}

TEST_CASE("Engine.IO, origin and TLS options") {
  app::config d;
  CHECK(d.edge.engineio.ping_interval_ms == 25000);
  CHECK(d.edge.engineio.ping_timeout_ms == 20000);
  CHECK(d.edge.engineio.max_payload == 1000000);
  CHECK(d.edge.allowed_origins.empty()); // the own origin and local pages
  CHECK(d.edge.max_connections_per_ip == 1000);
  CHECK(d.signaling.tls_certificate_file.empty());
  CHECK(d.signaling.tls_private_key_file.empty());

  auto r = app::apply_config_json(
    R"({"signaling": {"pingIntervalMs": 300, "pingTimeoutMs": 200, "maxPayloadBytes": 4096,
        "allowedOrigins": ["https://a.example", "http://127.0.0.1:5173", "http://[::1]:3000"],
        "maxConnectionsPerIp": 3,
        "tlsCertificateFile": "/etc/chorus/cert.pem", "tlsPrivateKeyFile": "/etc/chorus/key.pem"}})",
    app::config{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->edge.engineio.ping_interval_ms == 300);
  CHECK(r->edge.engineio.ping_timeout_ms == 200);
  CHECK(r->edge.engineio.max_payload == 4096);
  CHECK(r->edge.allowed_origins ==
        std::vector<std::string>{"https://a.example", "http://127.0.0.1:5173", "http://[::1]:3000"});
  CHECK(r->edge.max_connections_per_ip == 3);
  CHECK(r->signaling.tls_certificate_file == "/etc/chorus/cert.pem");
  CHECK(r->signaling.tls_private_key_file == "/etc/chorus/key.pem");

  // corsOrigins, the old name, still works and fills the same list.
  auto old = app::apply_config_json(R"({"signaling": {"corsOrigins": ["*"]}})", app::config{});
  REQUIRE_MESSAGE(old.ok(), (old.ok() ? "" : old.error()));
  CHECK(old->edge.allowed_origins == std::vector<std::string>{"*"});

  auto empty = app::apply_config_json(R"({"signaling": {"allowedOrigins": [], "maxConnectionsPerIp": 0}})",
                                      app::config{});
  REQUIRE(empty.ok());
  CHECK(empty->edge.allowed_origins.empty()); // back to the default
  CHECK(empty->edge.max_connections_per_ip == 0); // unlimited

  auto flags = parse({"--tls-cert", "c.pem", "--tls-key", "k.pem", "--allowed-origins",
                      "https://a.example,http://localhost:5173", "--max-connections-per-ip", "7"});
  REQUIRE_MESSAGE(flags.ok(), (flags.ok() ? "" : flags.error()));
  CHECK(flags->cfg.signaling.tls_certificate_file == "c.pem");
  CHECK(flags->cfg.signaling.tls_private_key_file == "k.pem");
  CHECK(flags->cfg.edge.allowed_origins ==
        std::vector<std::string>{"https://a.example", "http://localhost:5173"});
  CHECK(flags->cfg.edge.max_connections_per_ip == 7);
  auto star = parse({"--allowed-origins", "*", "--max-connections-per-ip", "0"});
  REQUIRE(star.ok());
  CHECK(star->cfg.edge.allowed_origins == std::vector<std::string>{"*"});
  CHECK(star->cfg.edge.max_connections_per_ip == 0);
  // A flag overrides the file's list.
  auto file = tempfile_with(R"({"signaling": {"allowedOrigins": ["https://b.example"]}})");
  auto over = parse({"--config", file, "--allowed-origins", "https://c.example"});
  REQUIRE_MESSAGE(over.ok(), (over.ok() ? "" : over.error()));
  CHECK(over->cfg.edge.allowed_origins == std::vector<std::string>{"https://c.example"});
  CHECK(app::usage().find("--tls-cert") != std::string::npos);
  CHECK(app::usage().find("--tls-key") != std::string::npos);
  CHECK(app::usage().find("--allowed-origins") != std::string::npos);
  CHECK(app::usage().find("--max-connections-per-ip") != std::string::npos);
}

// ---- auth and request limits ----

namespace {

std::string jwt_fixture(const std::string& name) {
  return std::string{CHORUS_SOURCE_DIR} + "/tests/fixtures/jwt/" + name;
}

} // namespace

TEST_CASE("auth: the defaults keep today's behaviour") {
  app::config d;
  CHECK(d.auth.mode == "none");
  CHECK_FALSE(d.auth.jwt());
  CHECK(d.auth.leeway_seconds == 30);
  CHECK(d.auth.roles == protocol::role_table::defaults());
  CHECK(d.auth.permissions_for(nullptr) == protocol::permission_set::all());
  CHECK(d.signaling.request_rate == 200);
  CHECK(d.signaling.request_burst == 1000);
  auto rl = d.signaling.rate_limit();
  CHECK(rl.rate_per_s == 200);
  CHECK(rl.burst == 1000);
  CHECK(rl.close_after == 1000);
  CHECK(rl.window == std::chrono::milliseconds{10000});
}

TEST_CASE("auth: mode jwt with an HS256 secret file") {
  auto r = parse({"--auth-mode", "jwt", "--auth-hs256-secret-file", jwt_fixture("hs256_secret.txt"),
                  "--auth-issuer", "https://school.example", "--auth-audience", "chorus"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  auto& a = r->cfg.auth;
  CHECK(a.jwt());
  CHECK(a.hs256_secret_file == jwt_fixture("hs256_secret.txt"));
  CHECK(a.issuer == "https://school.example");
  CHECK(a.audience == "chorus");
  auto v = app::make_jwt_verifier(a);
  REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error()));
  CHECK(v->algorithm() == protocol::jwt_algorithm::hs256);
  CHECK(v->config().issuer == "https://school.example");
  CHECK(v->config().leeway_s == 30);
  // The secret is the file's first line: a token signed with it verifies.
  auto secret = app::read_secret_file(jwt_fixture("hs256_secret.txt"));
  REQUIRE(secret.ok());
  CHECK(secret->size() == 64);
  auto signer = protocol::jwt_signer::make(protocol::jwt_algorithm::hs256, *secret);
  REQUIRE(signer.ok());
  protocol::token_spec spec;
  spec.sub = "alice";
  spec.rooms = {"r1", "*"};
  spec.exp = 1'900'000'000;
  spec.iss = "https://school.example";
  spec.aud = "chorus";
  auto token = signer->sign(protocol::token_payload_json(spec));
  REQUIRE(token.ok());
  CHECK(v->verify(*token, 1'800'000'000).ok());
}

TEST_CASE("turn: flags, the secret file, and what is refused") {
  auto r = parse({"--turn", "--turn-udp-port", "3479", "--turn-host", "turn.school.example",
                  "--turn-ice-transport-policy", "relay", "--turn-relay-rate-limit-kbps", "4000"});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->cfg.turn.enabled);
  CHECK(r->cfg.turn.udp_port == 3479);
  CHECK(r->cfg.turn.host == "turn.school.example");
  CHECK(r->cfg.turn.ice_transport_policy == "relay");
  CHECK(r->cfg.turn.relay_rate_kbps == 4000);
  CHECK(r->cfg.turn.secret.empty()); // a random one is made at start

  auto external = parse({"--turn-external-urls", "turn:coturn.example:3478,turns:coturn.example:443",
                         "--turn-secret-file", jwt_fixture("hs256_secret.txt")});
  REQUIRE_MESSAGE(external.ok(), (external.ok() ? "" : external.error()));
  CHECK(external->cfg.turn.external_urls.size() == 2);
  CHECK(external->cfg.turn.secret.size() == 64); // the file's first line

  struct bad_case {
    const char* name;
    std::vector<std::string> args;
    const char* option;
  };
  const bad_case cases[] = {
    {"external URLs without the secret", {"--turn-external-urls", "turn:coturn.example"},
     "turn.externalUrls"},
    {"not a TURN URL", {"--turn-external-urls", "https://coturn.example"}, "--turn-external-urls"},
    {"a policy that is neither", {"--turn-ice-transport-policy", "none"},
     "--turn-ice-transport-policy"},
    {"an unreadable secret file", {"--turn-secret-file", "/nonexistent/secret"},
     "turn.secretFile"},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    auto bad = parse(c.args);
    REQUIRE_FALSE(bad.ok());
    CHECK_MESSAGE(bad.error().find(c.option) != std::string::npos, bad.error());
  }
}

TEST_CASE("auth: RS256 and ES256 follow the public key unless named") {
  auto rs = parse({"--auth-mode", "jwt", "--auth-public-key-file", jwt_fixture("rs256_public.pem")});
  REQUIRE_MESSAGE(rs.ok(), (rs.ok() ? "" : rs.error()));
  CHECK(app::make_jwt_verifier(rs->cfg.auth)->algorithm() == protocol::jwt_algorithm::rs256);
  auto es = app::apply_config_json(
    R"({"auth": {"mode": "jwt", "publicKeyFile": ")" + jwt_fixture("es256_public.pem") +
      R"(", "leewaySeconds": 5}})",
    app::config{});
  REQUIRE_MESSAGE(es.ok(), (es.ok() ? "" : es.error()));
  auto v = app::make_jwt_verifier(es->auth);
  REQUIRE(v.ok());
  CHECK(v->algorithm() == protocol::jwt_algorithm::es256);
  CHECK(v->config().leeway_s == 5);
  auto named = parse({"--auth-mode", "jwt", "--auth-algorithm", "ES256", "--auth-public-key-file",
                      jwt_fixture("es256_public.pem")});
  CHECK(named.ok());
  // An inline secret (no file) works too.
  auto inline_secret = app::apply_config_json(
    R"({"auth": {"mode": "jwt", "hs256Secret": "0123456789abcdef0123456789abcdef"}})",
    app::config{});
  CHECK(inline_secret.ok());
  // Mode none ignores the key options entirely (nothing is read).
  auto none = parse({"--auth-public-key-file", "/nonexistent.pem"});
  CHECK(none.ok());
}

TEST_CASE("auth: roles from the configuration") {
  auto r = app::apply_config_json(
    R"({"auth": {"defaultRole": "student",
                 "roles": {"student": ["subscribe", "chat", "publish-audio"],
                           "assistant": ["subscribe", "chat", "moderate"]}}})",
    app::config{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  using enum protocol::permission;
  auto& roles = r->auth.roles;
  CHECK(*roles.find("student") == protocol::permission_set{subscribe, chat, publish_audio});
  CHECK(*roles.find("assistant") == protocol::permission_set{subscribe, chat, moderate});
  CHECK(*roles.find("teacher") == protocol::permission_set::all()); // untouched defaults stay
  // Mode none: every peer has the default role.
  CHECK(r->auth.permissions_for(nullptr) == protocol::permission_set{subscribe, chat, publish_audio});
  auto flag = parse({"--auth-default-role", "viewer"});
  REQUIRE(flag.ok());
  CHECK(flag->cfg.auth.permissions_for(nullptr) == protocol::permission_set{subscribe});
}

TEST_CASE("auth: a peer's permissions in mode jwt") {
  app::auth_config a;
  a.mode = "jwt";
  using enum protocol::permission;
  protocol::token_claims c;
  c.sub = "s";
  c.role = "teacher";
  CHECK(a.permissions_for(&c) == protocol::permission_set::all());
  c.role = "student";
  CHECK(a.permissions_for(&c) == protocol::permission_set{subscribe, chat});
  c.permissions = protocol::permission_set{publish_audio, subscribe};
  CHECK(a.permissions_for(&c) == protocol::permission_set{publish_audio, subscribe});
  c.permissions.reset();
  c.role = "janitor";
  CHECK_FALSE(a.permissions_for(&c).has_value());
  c.role.clear();
  CHECK(a.permissions_for(&c) == protocol::permission_set{subscribe}); // viewer
  a.default_role = "student";
  CHECK(a.permissions_for(&c) == protocol::permission_set{subscribe, chat});
  CHECK_FALSE(a.permissions_for(nullptr).has_value()); // mode jwt needs claims
}

TEST_CASE("request rate limit: keys and flags") {
  auto r = app::apply_config_json(
    R"({"signaling": {"requestRate": 5, "requestBurst": 7, "requestRefusalsToClose": 0,
                      "requestRefusalWindowMs": 500}})",
    app::config{});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error()));
  CHECK(r->signaling.request_rate == 5);
  CHECK(r->signaling.request_burst == 7);
  CHECK(r->signaling.rate_limit().close_after == 0);
  CHECK(r->signaling.rate_limit().window == std::chrono::milliseconds{500});
  auto f = parse({"--request-rate", "0", "--request-burst", "3"});
  REQUIRE(f.ok());
  CHECK(f->cfg.signaling.request_rate == 0);
  CHECK(f->cfg.signaling.request_burst == 3);
  CHECK(app::usage().find("--request-rate") != std::string::npos);
  CHECK(app::usage().find("--auth-mode") != std::string::npos);
}

TEST_CASE("auth and rate limit: invalid values fail naming the option") {
  struct tcase {
    const char* name;
    std::vector<std::string> args;
    const char* expected;
  };
  std::vector<tcase> flags{
    {"mode unknown", {"--auth-mode", "oauth"}, "--auth-mode"},
    {"mode jwt without a key", {"--auth-mode", "jwt"}, "--auth-mode"},
    {"secret file missing",
     {"--auth-mode", "jwt", "--auth-hs256-secret-file", "/nonexistent/secret"},
     "--auth-hs256-secret-file"},
    {"secret file empty value", {"--auth-hs256-secret-file", ""}, "--auth-hs256-secret-file"},
    {"secret too short in its file",
     {"--auth-mode", "jwt", "--auth-hs256-secret-file", jwt_fixture("short_secret.txt")},
     "--auth-hs256-secret-file"},
    {"public key missing", {"--auth-mode", "jwt", "--auth-public-key-file", "/nonexistent.pem"},
     "--auth-public-key-file"},
    {"public key not a key",
     {"--auth-mode", "jwt", "--auth-public-key-file", jwt_fixture("hs256_secret.txt")},
     "--auth-public-key-file"},
    {"public key too small",
     {"--auth-mode", "jwt", "--auth-public-key-file", jwt_fixture("rsa1024_public.pem")},
     "--auth-public-key-file"},
    {"private key as the public key",
     {"--auth-mode", "jwt", "--auth-public-key-file", jwt_fixture("rs256_private.pem")},
     "--auth-public-key-file"},
    {"algorithm unknown", {"--auth-algorithm", "PS256"}, "--auth-algorithm"},
    {"algorithm against the key",
     {"--auth-mode", "jwt", "--auth-algorithm", "ES256", "--auth-public-key-file",
      jwt_fixture("rs256_public.pem")},
     "--auth-public-key-file"},
    {"HS256 with a public key",
     {"--auth-mode", "jwt", "--auth-algorithm", "HS256", "--auth-public-key-file",
      jwt_fixture("rs256_public.pem")},
     "--auth-algorithm"},
    {"RS256 with a secret",
     {"--auth-mode", "jwt", "--auth-algorithm", "RS256", "--auth-hs256-secret-file",
      jwt_fixture("hs256_secret.txt")},
     "--auth-algorithm"},
    {"secret and public key",
     {"--auth-mode", "jwt", "--auth-hs256-secret-file", jwt_fixture("hs256_secret.txt"),
      "--auth-public-key-file", jwt_fixture("rs256_public.pem")},
     "--auth-public-key-file"},
    {"issuer empty", {"--auth-issuer", ""}, "--auth-issuer"},
    {"audience missing", {"--auth-audience"}, "--auth-audience"},
    {"default role unknown", {"--auth-default-role", "janitor"}, "--auth-default-role"},
    {"request rate not a number", {"--request-rate", "fast"}, "--request-rate"},
    {"request burst zero", {"--request-burst", "0"}, "--request-burst"},
  };
  for (auto& c : flags) {
    std::string name = c.name;
    CAPTURE(name);
    auto r = parse(c.args);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(c.expected) != std::string::npos, r.error());
  }
  struct jcase {
    const char* name;
    const char* json;
    const char* expected;
  };
  std::vector<jcase> docs{
    {"auth not an object", R"({"auth": true})", "auth"},
    {"unknown auth key", R"({"auth": {"secret": "x"}})", "auth.secret"},
    {"mode not a string", R"({"auth": {"mode": 1}})", "auth.mode"},
    {"inline secret too short", R"({"auth": {"mode": "jwt", "hs256Secret": "short"}})",
     "auth.hs256Secret"},
    {"secret and secret file",
     R"({"auth": {"mode": "jwt", "hs256Secret": "0123456789abcdef0123456789abcdef", "hs256SecretFile": "/x"}})",
     "auth.hs256Secret"},
    {"leeway too large", R"({"auth": {"leewaySeconds": 7200}})", "auth.leewaySeconds"},
    {"roles not an object", R"({"auth": {"roles": ["teacher"]}})", "auth.roles"},
    {"role not an array", R"({"auth": {"roles": {"student": "chat"}}})", "auth.roles.student"},
    {"unknown permission", R"({"auth": {"roles": {"student": ["chat", "fly"]}}})",
     "auth.roles.student"},
    {"permission not a string", R"({"auth": {"roles": {"student": [1]}}})", "auth.roles.student"},
    {"role name empty", R"({"auth": {"roles": {"": ["chat"]}}})", "auth.roles"},
    {"default role unknown", R"({"auth": {"defaultRole": "janitor"}})", "auth.defaultRole"},
    {"request rate negative", R"({"signaling": {"requestRate": -1}})", "signaling.requestRate"},
    {"request burst zero", R"({"signaling": {"requestBurst": 0}})", "signaling.requestBurst"},
    {"refusal window too short", R"({"signaling": {"requestRefusalWindowMs": 10}})",
     "signaling.requestRefusalWindowMs"},
  };
  for (auto& c : docs) {
    std::string name = c.name;
    CAPTURE(name);
    auto r = app::apply_config_json(c.json, app::config{});
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(c.expected) != std::string::npos, r.error());
  }
}

TEST_CASE("sctp: data channel limits from the configuration, and their refusals") {
  auto ok = app::apply_config_json(
    R"({"sctp":{"maxMessageSize":65536,"maxStreams":64,"sendBufferSize":131072}})", app::config{});
  REQUIRE(ok.ok());
  CHECK(ok->sctp.max_message_size == 65536);
  CHECK(ok->sctp.max_streams == 64);
  CHECK(ok->sctp.send_buffer_size == 131072);
  CHECK(app::config{}.sctp.max_message_size == 262144);
  struct bad {
    const char* name;
    const char* json;
    const char* mention;
  };
  for (auto& b : {bad{"message size below 1024", R"({"sctp":{"maxMessageSize":10}})", "sctp.maxMessageSize"},
                  bad{"no streams", R"({"sctp":{"maxStreams":0}})", "sctp.maxStreams"},
                  bad{"send buffer below the message size",
                      R"({"sctp":{"maxMessageSize":262144,"sendBufferSize":65536}})", "sctp.sendBufferSize"},
                  bad{"unknown key", R"({"sctp":{"maxMsg":1}})", "sctp.maxMsg"},
                  bad{"not an object", R"({"sctp":5})", "sctp"}}) {
    CAPTURE(b.name);
    auto r = app::apply_config_json(b.json, app::config{});
    REQUIRE(!r.ok());
    CHECK(r.error().find(b.mention) != std::string::npos);
  }
}

// ---- the option table (app/options.hpp): every option declared once ----

namespace {

std::string section_json(std::string_view key, std::string_view value) {
  auto dot = key.find('.');
  if (dot == std::string_view::npos)
    return "{\"" + std::string(key) + "\": " + std::string(value) + "}";
  return "{\"" + std::string(key.substr(0, dot)) + "\": {\"" + std::string(key.substr(dot + 1)) +
         "\": " + std::string(value) + "}}";
}

} // namespace

TEST_CASE("conf/chorus.json lists every option of the table, each with its default") {
  auto text = read_file(std::string{CHORUS_SOURCE_DIR} + "/conf/chorus.json");
  auto keys = app::config_json_keys(text);
  std::set<std::string> in_file(keys.begin(), keys.end());
  CHECK(in_file.size() == keys.size()); // no key twice
  std::set<std::string> in_table;
  for (auto& o : app::options())
    if (!o.key.empty() && !o.unlisted)
      in_table.insert(std::string(o.key));
  for (auto& k : in_table)
    CHECK_MESSAGE(in_file.count(k) == 1, "conf/chorus.json lacks ", k);
  for (auto& k : in_file)
    CHECK_MESSAGE(in_table.count(k) == 1, "conf/chorus.json has ", k, ", which no option has");
  auto cfg = app::apply_config_json(text, app::config{});
  REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.error()));
  const app::config defaults;
  for (auto& o : app::options()) {
    CAPTURE(o.key);
    CHECK(o.show(*cfg) == o.show(defaults));
  }
}

TEST_CASE("docs/operations.md holds the options table as chorus --help-markdown prints it") {
  auto doc = read_file(std::string{CHORUS_SOURCE_DIR} + "/docs/operations.md");
  CHECK_MESSAGE(doc.find(app::options_markdown()) != std::string::npos,
                "regenerate it: chorus --help-markdown");
  auto help = parse({"--help-markdown"});
  REQUIRE(help.ok());
  CHECK(help->action == app::cli_action::help_markdown);
}

TEST_CASE("every option: keys and flags unique, a wrong value named, a flag in --help") {
  std::set<std::string_view> keys, flags;
  const auto text = app::usage();
  for (auto& o : app::options()) {
    CAPTURE(o.key);
    CHECK(!o.help.empty());
    CHECK(o.show != nullptr);
    if (!o.key.empty()) {
      CHECK(keys.insert(o.key).second);
      CHECK(app::find_option_by_key(o.key) == &o);
      // An array is the wrong type for every option but the lists; a number for those.
      const bool list = o.show(app::config{}).starts_with("[") || o.key == "mediaCodecs";
      auto r = app::apply_config_json(section_json(o.key, list ? "7" : "[1]"), app::config{});
      REQUIRE_FALSE(r.ok());
      CHECK_MESSAGE(r.error().find(std::string(o.key)) != std::string::npos, r.error());
    }
    if (!o.flag.empty()) {
      CHECK(flags.insert(o.flag).second);
      CHECK(app::find_option_by_flag(o.flag) == &o);
      CHECK_MESSAGE(text.find(std::string(o.flag) + (o.arg.empty() ? "" : " ")) != std::string::npos,
                    "--help lacks ", o.flag);
      if (!o.arg.empty()) { // a flag without its value
        auto r = parse({std::string(o.flag)});
        REQUIRE_FALSE(r.ok());
        CHECK_MESSAGE(r.error().find(std::string(o.flag) + ": expects") != std::string::npos,
                      r.error());
      }
    }
  }
  auto unknown = app::apply_config_json(R"({"rtc": {"ioThread": 2}})", app::config{});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error() == "rtc.ioThread: unknown option");
  auto flag = parse({"--io-thread", "2"});
  REQUIRE_FALSE(flag.ok());
  CHECK(flag.error() == "--io-thread: unknown option (see --help)");
}
