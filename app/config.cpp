#include "app/config.hpp"

#include "app/option_values.hpp"
#include "app/options.hpp"
#include "app/options_json.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "protocol/webhook.hpp"
#include "store/record_store.hpp"

#include <fstream>
#include <optional>
#include <sstream>

namespace chorus::app {

namespace {

failure fail(std::string_view option, std::string_view what) {
  std::string msg{option};
  msg += ": ";
  msg += what;
  return failure{std::move(msg)};
}

// The auth section's own checks (mode none ignores keys and files; mode jwt loads them).
std::optional<failure> check_auth(const auth_config& a) {
  if (a.mode != "none" && a.mode != "jwt")
    return fail("auth.mode (--auth-mode)", "must be none or jwt");
  if (!a.algorithm.empty() && !protocol::parse_jwt_algorithm(a.algorithm))
    return fail("auth.algorithm (--auth-algorithm)", "must be HS256, RS256 or ES256");
  if (a.leeway_seconds > 3600)
    return fail("auth.leewaySeconds", "must be an integer from 0 to 3600");
  if (!a.default_role.empty() && a.roles.find(a.default_role) == nullptr)
    return fail("auth.defaultRole (--auth-default-role)",
                "'" + a.default_role + "' is not a role (auth.roles)");
  if (!a.jwt())
    return std::nullopt;
  auto v = make_jwt_verifier(a);
  if (!v)
    return failure{v.error()};
  return std::nullopt;
}

} // namespace

result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  if (!in || !std::getline(in, line))
    return failure{"cannot read '" + path + "'"};
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

result<protocol::jwt_verifier> make_jwt_verifier(const auth_config& a) {
  protocol::jwt_config jc;
  jc.issuer = a.issuer;
  jc.audience = a.audience;
  jc.leeway_s = a.leeway_seconds;
  bool has_secret = !a.hs256_secret.empty() || !a.hs256_secret_file.empty();
  bool has_key = !a.public_key_file.empty();
  if (!a.hs256_secret.empty() && !a.hs256_secret_file.empty())
    return fail("auth.hs256Secret", "auth.hs256Secret and auth.hs256SecretFile are exclusive");
  if (has_secret && has_key)
    return fail("auth.publicKeyFile (--auth-public-key-file)",
                "a secret (HS256) and a public key (RS256/ES256) are exclusive");
  if (!has_secret && !has_key)
    return fail("auth.mode (--auth-mode)",
                "jwt needs a key: auth.hs256SecretFile (--auth-hs256-secret-file), "
                "auth.hs256Secret or auth.publicKeyFile (--auth-public-key-file)");
  auto alg = protocol::parse_jwt_algorithm(a.algorithm);
  if (!a.algorithm.empty() && !alg)
    return fail("auth.algorithm (--auth-algorithm)", "must be HS256, RS256 or ES256");
  if (has_secret) {
    if (alg && *alg != protocol::jwt_algorithm::hs256)
      return fail("auth.algorithm (--auth-algorithm)",
                  a.algorithm + " needs auth.publicKeyFile, not a secret");
    jc.algorithm = protocol::jwt_algorithm::hs256;
    if (!a.hs256_secret.empty()) {
      jc.secret = a.hs256_secret;
    } else {
      auto secret = read_secret_file(a.hs256_secret_file);
      if (!secret)
        return fail("auth.hs256SecretFile (--auth-hs256-secret-file)", secret.error());
      jc.secret = std::move(*secret);
    }
    auto v = protocol::jwt_verifier::make(std::move(jc));
    if (!v)
      return fail(a.hs256_secret.empty() ? "auth.hs256SecretFile (--auth-hs256-secret-file)"
                                         : "auth.hs256Secret",
                  v.error());
    return v;
  }
  const char* option = "auth.publicKeyFile (--auth-public-key-file)";
  if (alg && *alg == protocol::jwt_algorithm::hs256)
    return fail("auth.algorithm (--auth-algorithm)",
                "HS256 needs a secret (auth.hs256SecretFile), not a public key");
  std::ifstream in{a.public_key_file};
  if (!in)
    return fail(option, "cannot read '" + a.public_key_file + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  jc.public_key_pem = ss.str();
  // No algorithm named: RS256 for an RSA key, ES256 for an EC key.
  auto inferred = alg ? alg : protocol::jwt_algorithm_for_key(jc.public_key_pem);
  if (!inferred)
    return fail(option, "'" + a.public_key_file + "' is not a PEM RSA or EC public key");
  jc.algorithm = *inferred;
  auto v = protocol::jwt_verifier::make(std::move(jc));
  if (!v)
    return fail(option, "'" + a.public_key_file + "': " + v.error());
  return v;
}

std::optional<protocol::permission_set>
auth_config::permissions_for(const protocol::token_claims* claims) const {
  if (jwt() && claims == nullptr)
    return std::nullopt;
  if (!jwt()) {
    if (default_role.empty())
      return protocol::permission_set::all();
    const auto* set = roles.find(default_role);
    if (set == nullptr)
      return std::nullopt;
    return *set;
  }
  std::string_view role = claims->role.empty() ? std::string_view{default_role} : claims->role;
  return protocol::resolve_permissions(role, claims->permissions, roles);
}

result<config> validate(config cfg) {
  log::level lvl;
  if (!log::parse_level(cfg.log_level, lvl))
    return fail("logLevel", "must be one of trace, debug, info, warn, error, off");
  if (!valid_ip(cfg.edge.host))
    return fail("listen", "host must be an IPv4 or IPv6 address");
  if (cfg.log_format != "text" && cfg.log_format != "json")
    return fail("logFormat (--log-format)", "must be text or json");
  if (!cfg.rtmp.listen.empty()) {
    std::string h;
    uint16_t p = 0;
    if (!parse_host_port(cfg.rtmp.listen, h, p))
      return fail("rtmp.listen (--rtmp-listen)", "must be HOST:PORT with an IP address");
  }
  if (!cfg.admin.listen.empty()) {
    std::string h;
    uint16_t p = 0;
    if (!parse_host_port(cfg.admin.listen, h, p))
      return fail("admin.listen (--admin-listen)", "must be HOST:PORT with an IP address");
    if (cfg.admin.token_file.empty())
      return fail("admin.tokenFile (--admin-token-file)",
                  "is required with admin.listen (a file whose first line is the bearer token)");
    auto token = read_secret_file(cfg.admin.token_file);
    if (!token)
      return fail("admin.tokenFile (--admin-token-file)", token.error());
    if (token->size() < 16)
      return fail("admin.tokenFile (--admin-token-file)", "the token must be at least 16 bytes");
  }
  for (auto& u : cfg.webhooks.urls)
    if (u.size() > 2000 || !protocol::parse_http_url(u))
      return fail("webhooks.urls", "'" + u + "' is not an http:// or https:// url");
  if (!cfg.webhooks.ca_file.empty() && !std::ifstream{cfg.webhooks.ca_file})
    return fail("webhooks.caFile", "cannot read '" + cfg.webhooks.ca_file + "'");
  if (cfg.webhooks.enabled()) {
    if (cfg.webhooks.key.empty() && cfg.webhooks.key_file.empty())
      return fail("webhooks.key", "webhooks.urls need webhooks.key or webhooks.keyFile (the HMAC key)");
    if (!cfg.webhooks.key.empty() && !cfg.webhooks.key_file.empty())
      return fail("webhooks.key", "give webhooks.key or webhooks.keyFile, not both");
    if (!cfg.webhooks.key_file.empty())
      if (auto k = read_secret_file(cfg.webhooks.key_file); !k)
        return fail("webhooks.keyFile", k.error());
  }
  if (cfg.sctp.send_buffer_size < cfg.sctp.max_message_size)
    return fail("sctp.sendBufferSize", "must be at least sctp.maxMessageSize");
  if (cfg.edge.message_timeout.count() != 0 && cfg.edge.message_timeout.count() < 100)
    return fail("signaling.messageTimeoutMs", "must be 0 (no bound) or 100 .. 600000");
  if (auto i = cfg.classroom.audio_levels_interval_ms; i > 0 && i < 100)
    return fail("classroom.audioLevelsIntervalMs", "must be 0 (off) or from 100 to 60000");
  if (cfg.recording.ffmpeg.empty())
    return fail("recording.ffmpeg", "must name the ffmpeg binary");
  if (!valid_ip(cfg.media_io.listen_ip))
    return fail("rtc.ip", "must be an IPv4 or IPv6 address");
  if (!cfg.announced_ip.empty() && cfg.announced_ip.size() > 253)
    return fail("rtc.announcedIp", "too long");
  if (cfg.media_io.min_port < 1024 || cfg.media_io.min_port > cfg.media_io.max_port)
    return fail("rtc.ports", "must be MIN-MAX with 1024 <= MIN <= MAX <= 65535");
  if (const auto& ip = cfg.media_io.listen_ip; (ip == "0.0.0.0" || ip == "::") &&
                                               cfg.announced_ip.empty())
    return fail("rtc.announcedIp",
                "required when rtc.ip is a wildcard address (flag --announced-ip)");
  if (cfg.rtc.single_port != 0 && cfg.rtc.single_port < 1024)
    return fail("rtc.singlePort", "must be 0 (a port per transport) or 1024 .. 65535");
  if (cfg.rtc.dtls_certificate_file.empty() != cfg.rtc.dtls_private_key_file.empty())
    return fail("rtc.dtlsCertificateFile",
                "rtc.dtlsCertificateFile and rtc.dtlsPrivateKeyFile go together");
  if (!cfg.signaling.tls_certificate_file.empty() && cfg.signaling.tls_private_key_file.empty())
    return fail("--tls-key (signaling.tlsPrivateKeyFile)",
                "required with --tls-cert (signaling.tlsCertificateFile)");
  if (cfg.signaling.tls_certificate_file.empty() && !cfg.signaling.tls_private_key_file.empty())
    return fail("--tls-cert (signaling.tlsCertificateFile)",
                "required with --tls-key (signaling.tlsPrivateKeyFile)");
  {
    auto& cc = cfg.cluster;
    std::string h;
    uint16_t p = 0;
    if (!cc.listen.empty() && !parse_host_port(cc.listen, h, p))
      return fail("cluster.listen (--cluster-listen)", "must be HOST:PORT with an IP address");
    if (!cc.listen.empty() && (h == "0.0.0.0" || h == "::"))
      return fail("cluster.listen (--cluster-listen)",
                  "must be the address other nodes reach (it is told to them), not a wildcard");
    for (auto& peer : cc.peers)
      if (!valid_peer_address(peer))
        return fail("cluster.peers (--cluster-peers)", "'" + peer + "' is not HOST:PORT");
    if (!cc.node_id.empty() && !text::valid_label(cc.node_id))
      return fail("cluster.nodeId (--node-id)", "must be 1 to 128 printable bytes");
    if (cc.heartbeat_timeout_ms <= cc.heartbeat_interval_ms)
      return fail("cluster.heartbeatTimeoutMs", "must be longer than cluster.heartbeatIntervalMs");
    if (cc.enabled() && cc.secret.empty() && cc.secret_file.empty())
      return fail("cluster.secret (--cluster-secret)",
                  "a cluster needs a shared secret (or cluster.secretFile, --cluster-secret-file)");
    if (cc.cert_file.empty() != cc.key_file.empty() || cc.cert_file.empty() != cc.ca_file.empty())
      return fail("cluster.certFile (--cluster-cert)",
                  "--cluster-cert, --cluster-key and --cluster-ca go together");
    if (cc.enabled() && !cc.tls() && !cc.insecure) {
      std::string off_host;
      if (!cc.listen.empty() && !loopback_host(h))
        off_host = cc.listen;
      for (auto& peer : cc.peers) {
        std::string ph;
        uint16_t pp = 0;
        if (off_host.empty() && text::split_host_port(peer, ph, pp) && !loopback_host(ph))
          off_host = peer;
      }
      if (!off_host.empty())
        return fail("cluster.certFile (--cluster-cert)",
                    "'" + off_host + "' is not a loopback address: links between hosts need "
                    "TLS (--cluster-cert, --cluster-key, --cluster-ca), or cluster.insecure "
                    "(--cluster-insecure) on a network only the members reach");
    }
    if (!cc.secret.empty() && cc.secret.size() < 16)
      return fail("cluster.secret (--cluster-secret)", "must be at least 16 bytes");
  }
  {
    auto& t = cfg.turn;
    if (!t.secret.empty() && !t.secret_file.empty())
      return fail("turn.secret", "turn.secret and turn.secretFile are exclusive");
    if (!t.secret_file.empty()) {
      auto secret = read_secret_file(t.secret_file);
      if (!secret)
        return fail("turn.secretFile (--turn-secret-file)", secret.error());
      t.secret = std::move(*secret);
    }
    if (!t.external_urls.empty() && t.secret.empty())
      return fail("turn.externalUrls (--turn-external-urls)",
                  "needs the TURN server's secret: turn.secretFile (--turn-secret-file)");
    if (t.ice_transport_policy != "" && t.ice_transport_policy != "all" &&
        t.ice_transport_policy != "relay")
      return fail("turn.iceTransportPolicy", "must be \"\", \"all\" or \"relay\"");
  }
  if (auto e = check_auth(cfg.auth))
    return *e;
  if (!cfg.storage.url.empty() && !cfg.storage.path.empty())
    return fail("storage.url (--storage-url)",
                "give storage.path (SQLite) or storage.url (PostgreSQL), not both");
  if (!cfg.storage.url.empty()) {
    if (auto ok = store::check_postgres_url(cfg.storage.url); !ok)
      return fail("storage.url (--storage-url)", "not a PostgreSQL url: " + ok.error());
  }
  if (cfg.storage.path.find('\0') != std::string::npos)
    return fail("storage.path (--storage-path)", "must be a file path");
  if (cfg.signaling.request_rate != 0 && cfg.signaling.request_burst == 0)
    return fail("signaling.requestBurst (--request-burst)", "must be at least 1");
  if (cfg.scheduler.policy != "lean" && cfg.scheduler.policy != "sharing" &&
      cfg.scheduler.policy != "stealing")
    return fail("scheduler.policy", "must be \"lean\", \"sharing\" or \"stealing\"");
  if (cfg.scheduler.timers != "io" && cfg.scheduler.timers != "thread" &&
      cfg.scheduler.timers != "caf")
    return fail("scheduler.timers", "must be \"io\", \"thread\" or \"caf\"");
  if (cfg.rtc.gcm != "native" && cfg.rtc.gcm != "openssl")
    return fail("rtc.gcm", "must be \"native\" or \"openssl\"");
  if (!text::valid_label(cfg.signaling.default_room))
    return fail("signaling.defaultRoom", "must be 1 to 128 printable bytes");
  if (cfg.media_codecs.empty())
    return fail("mediaCodecs", "must list at least one codec");
  auto caps = rtp::generate_router_capabilities(cfg.media_codecs);
  if (!caps)
    return fail("mediaCodecs", caps.error());
  return cfg;
}

namespace {

// An option's reader's complaint, named: "KEY: what" (a complaint about a part of the value
// starts with '.' or '[' and continues the path: "auth.roles.teacher: ...").
failure named(std::string_view name, const std::string& what) {
  if (what.starts_with('.') || what.starts_with('['))
    return failure{std::string(name) + what};
  return fail(name, what);
}

bool comment_key(std::string_view key) { return key.starts_with("//"); }

std::string_view name_of(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// Applies one member of the file: `key` is its dotted path.
std::optional<failure> apply_member(const std::string& key, const rapidjson::Value& value,
                                    config& cfg) {
  const option* o = find_option_by_key(key);
  if (o == nullptr || !o->from_json)
    return fail(key, "unknown option");
  if (auto what = o->from_json(json_in{value}, cfg); !what.empty())
    return named(key, what);
  return std::nullopt;
}

} // namespace

namespace {

// Parses a configuration document and calls visit(KEY, value) for each member that is not a
// comment, one level down inside the sections ("rtc.ioThreads"); the first failure (a visit's,
// or a section that is not an object) ends the walk.
template <class Visit>
std::optional<failure> walk_config_json(std::string_view json, Visit&& visit) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseStopWhenDoneFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return failure{"configuration is not a JSON object"};
  for (auto& m : doc.GetObject()) {
    std::string name{name_of(m.name)};
    if (comment_key(name))
      continue;
    if (!is_option_section(name)) {
      if (auto f = visit(name, m.value))
        return f;
      continue;
    }
    if (!m.value.IsObject())
      return fail(name, "must be an object");
    if (name == "signaling" && m.value.HasMember("allowedOrigins") &&
        m.value.HasMember("corsOrigins"))
      return fail("signaling.corsOrigins",
                  "is the old name of signaling.allowedOrigins: give only allowedOrigins");
    for (auto& member : m.value.GetObject())
      if (!comment_key(name_of(member.name)))
        if (auto f = visit(name + "." + std::string(name_of(member.name)), member.value))
          return f;
  }
  return std::nullopt;
}

} // namespace

result<config> apply_config_json(std::string_view json, config cfg) {
  if (auto f = walk_config_json(json, [&](const std::string& key, const rapidjson::Value& v) {
        return apply_member(key, v, cfg);
      }))
    return *f;
  return validate(std::move(cfg));
}

std::vector<std::string> config_json_keys(std::string_view json) {
  std::vector<std::string> keys;
  walk_config_json(json, [&](const std::string& key, const rapidjson::Value&) {
    keys.push_back(key);
    return std::optional<failure>{};
  });
  return keys;
}

result<cli_result> parse_command_line(int argc, const char* const* argv) {
  cli_result out;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  // Pass 1: --help and --config (the file is the base the other flags override).
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h" || args[i] == "--help-markdown") {
      out.action = args[i] == "--help-markdown" ? cli_action::help_markdown : cli_action::help;
      return out;
    }
    if (args[i] == "--config") {
      if (i + 1 >= args.size())
        return fail("--config", "expects a FILE");
      std::string path{args[i + 1]};
      std::ifstream in{path};
      if (!in)
        return fail("--config", "cannot read '" + path + "'");
      std::stringstream ss;
      ss << in.rdbuf();
      auto cfg = apply_config_json(ss.str(), out.cfg);
      if (!cfg)
        return fail("--config", "'" + path + "': " + cfg.error());
      out.cfg = std::move(*cfg);
    }
  }
  // Pass 2: the flags.
  for (size_t i = 0; i < args.size(); ++i) {
    auto flag = args[i];
    if (flag == "--config") {
      ++i;
      continue;
    }
    const option* o = find_option_by_flag(flag);
    if (o == nullptr || !o->from_flag)
      return fail(flag, "unknown option (see --help)");
    std::string_view value;
    if (!o->arg.empty()) {
      if (i + 1 >= args.size())
        return fail(flag, "expects " + o->expects);
      value = args[++i];
    }
    if (auto what = o->from_flag(value, out.cfg); !what.empty())
      return named(flag, what);
  }
  auto cfg = validate(std::move(out.cfg));
  if (!cfg)
    return failure{cfg.error()};
  out.cfg = std::move(*cfg);
  return out;
}

namespace {

// Appends `text` wrapped at 79 columns, every line indented to `indent` (the first one
// from column `at`, or on a line of its own when `at` leaves no space before the indent).
void wrap(std::string& out, std::string_view text, size_t at, size_t indent) {
  constexpr size_t width = 79;
  if (at >= indent) {
    out += '\n';
    at = 0;
  }
  out.append(indent - at, ' ');
  size_t column = indent;
  bool first = true;
  while (!text.empty()) {
    auto space = text.find(' ');
    auto word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (!first && column + 1 + word.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
      first = true;
    }
    if (!first) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    first = false;
  }
  out += '\n';
}

} // namespace

std::string usage() {
  std::string out = R"(Usage: chorus [OPTIONS]

Chorus, a WebRTC conferencing server (SFU). Without options it runs on its embedded
default configuration (conf/chorus.json lists every option of the file and its default;
docs/operations.md, "Options", every option with its flag).

Options:
  --config FILE          JSON configuration file, applied over the defaults
)";
  const config defaults;
  for (auto& o : options()) {
    if (o.flag.empty() || !o.from_flag)
      continue;
    std::string head = "  ";
    head += o.flag;
    if (!o.arg.empty())
      head.append(" ").append(o.arg);
    out += head;
    std::string help{o.help};
    help.append(" (").append(o.key);
    if (auto shown = o.show(defaults); !shown.empty() && shown != "\"\"")
      help.append("; default ").append(shown);
    help += ')';
    wrap(out, help, head.size(), 25);
  }
  out += R"(  --help                 this text
  --help-markdown        the options as the Markdown table of docs/operations.md

Flags override the configuration file, which overrides the defaults.

chorus token ... mints a test token (chorus token --help).
)";
  return out;
}

} // namespace chorus::app
