#include "app/config.hpp"

#include "common/log.hpp"
#include "common/text.hpp"
#include "net/http_admission.hpp"
#include "protocol/rtp_json.hpp"
#include "protocol/webhook.hpp"
#include "store/record_store.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace chorus::app {

namespace {

bool valid_ip(const std::string& ip) {
  unsigned char buf[16];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

bool parse_u32(std::string_view text, uint32_t& out) {
  if (text.empty())
    return false;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && p == text.data() + text.size();
}

// "MIN-MAX"
bool parse_port_range(std::string_view text, uint16_t& lo, uint16_t& hi) {
  auto dash = text.find('-');
  if (dash == std::string_view::npos)
    return false;
  uint32_t a = 0, b = 0;
  if (!parse_u32(text.substr(0, dash), a) || !parse_u32(text.substr(dash + 1), b))
    return false;
  if (a < 1024 || b > 65535 || a > b)
    return false;
  lo = static_cast<uint16_t>(a);
  hi = static_cast<uint16_t>(b);
  return true;
}

// "HOST:PORT" or "[V6]:PORT" with an IP address.
bool parse_host_port(std::string_view text, std::string& host, uint16_t& port) {
  std::string h;
  uint16_t p = 0;
  if (!text::split_host_port(text, h, p) || !valid_ip(h))
    return false;
  host = std::move(h);
  port = p;
  return true;
}

// A cluster peer: HOST:PORT where HOST is an IP address or a host name.
bool valid_peer_address(std::string_view text) {
  std::string host;
  uint16_t port = 0;
  if (text.size() > 260 || !text::split_host_port(text, host, port) || port == 0)
    return false;
  for (unsigned char c : host)
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == ',')
      return false;
  return true;
}

// 127.0.0.0/8, ::1 or "localhost": an address only this host reaches.
bool loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1")
    return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

// The first entry of an origin list that is not valid, as a message ("" when all are).
std::string invalid_origin(const std::vector<std::string>& origins) {
  for (auto& o : origins)
    if (!net::valid_allowed_origin(o))
      return "'" + o + "' is neither \"*\" nor an origin like https://host:port";
  return {};
}

failure fail(std::string_view option, std::string_view what) {
  std::string msg{option};
  msg += ": ";
  msg += what;
  return failure{std::move(msg)};
}

// Reads a positive integer member; `name` is the dotted path for messages.
std::string read_uint(const rapidjson::Value& obj, const char* key, const std::string& name,
                      uint32_t min, uint32_t max, uint32_t& out) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd())
    return {};
  if (!it->value.IsUint64() || it->value.GetUint64() < min || it->value.GetUint64() > max) {
    std::ostringstream os;
    os << name << ": must be an integer from " << min << " to " << max;
    return os.str();
  }
  out = static_cast<uint32_t>(it->value.GetUint64());
  return {};
}

std::string check_keys(const rapidjson::Value& obj, const std::string& prefix,
                       std::initializer_list<std::string_view> allowed) {
  for (auto& m : obj.GetObject()) {
    std::string_view k{m.name.GetString(), m.name.GetStringLength()};
    bool ok = k.starts_with("//"); // "//key": a comment, as in conf/chorus.json
    for (auto a : allowed)
      ok = ok || a == k;
    if (!ok)
      return prefix + std::string{k} + ": unknown option";
  }
  return {};
}

std::string read_string(const rapidjson::Value& obj, const char* key, const std::string& name,
                        std::string& out) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd())
    return {};
  if (!it->value.IsString())
    return name + ": must be a string";
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return {};
}

std::string read_bool(const rapidjson::Value& obj, const char* key, const std::string& name,
                      bool& out) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd())
    return {};
  if (!it->value.IsBool())
    return name + ": must be true or false";
  out = it->value.GetBool();
  return {};
}

// ---- auth (issue 15) ----

std::string read_role_table(const rapidjson::Value& obj, protocol::role_table& roles) {
  if (!obj.IsObject())
    return "auth.roles: must be an object of role -> [permission, ...]";
  for (auto& m : obj.GetObject()) {
    std::string role{m.name.GetString(), m.name.GetStringLength()};
    if (role.starts_with("//"))
      continue;
    std::string name = "auth.roles." + role.substr(0, 64);
    if (!text::valid_label(role, 64))
      return name + ": a role name is 1 to 64 printable bytes";
    if (!m.value.IsArray())
      return name + ": must be an array of permission names";
    std::vector<std::string> names;
    for (auto& v : m.value.GetArray()) {
      if (!v.IsString())
        return name + ": must be an array of permission names";
      names.emplace_back(v.GetString(), v.GetStringLength());
    }
    auto set = protocol::parse_permissions(names);
    if (!set)
      return name + ": " + set.error();
    roles.set(std::move(role), *set);
  }
  return {};
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
  if (!valid_ip(cfg.listen_host))
    return fail("listen", "host must be an IPv4 or IPv6 address");
  if (cfg.log_format != "text" && cfg.log_format != "json")
    return fail("logFormat (--log-format)", "must be text or json");
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
  if (!valid_ip(cfg.rtc_ip))
    return fail("rtc.ip", "must be an IPv4 or IPv6 address");
  if (!cfg.announced_ip.empty() && cfg.announced_ip.size() > 253)
    return fail("rtc.announcedIp", "too long");
  if (cfg.rtc_min_port < 1024 || cfg.rtc_min_port > cfg.rtc_max_port)
    return fail("rtc.ports", "must be MIN-MAX with 1024 <= MIN <= MAX <= 65535");
  if ((cfg.rtc_ip == "0.0.0.0" || cfg.rtc_ip == "::") && cfg.announced_ip.empty())
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

// The operator's view (issue 21): logFormat, admin.*, webhooks.*, drain.*, metrics.*.
std::string apply_operations_json(const rapidjson::Value& doc, config& cfg) {
  if (auto e = read_string(doc, "logFormat", "logFormat", cfg.log_format); !e.empty())
    return e;
  auto object = [&](const char* key, std::initializer_list<std::string_view> keys,
                    const rapidjson::Value*& out) -> std::string {
    out = nullptr;
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd())
      return {};
    if (!it->value.IsObject())
      return std::string{key} + ": must be an object";
    out = &it->value;
    return check_keys(it->value, std::string{key} + ".", keys);
  };
  const rapidjson::Value* v = nullptr;
  if (auto e = object("admin", {"listen", "tokenFile"}, v); !e.empty())
    return e;
  if (v)
    for (auto e : {read_string(*v, "listen", "admin.listen", cfg.admin.listen),
                   read_string(*v, "tokenFile", "admin.tokenFile", cfg.admin.token_file)})
      if (!e.empty())
        return e;
  if (auto e = object("webhooks", {"urls", "key", "keyFile", "caFile", "queueSize", "maxAttempts", "timeoutMs"}, v);
      !e.empty())
    return e;
  if (v) {
    auto& w = cfg.webhooks;
    for (auto e : {read_string(*v, "key", "webhooks.key", w.key),
                   read_string(*v, "keyFile", "webhooks.keyFile", w.key_file),
                   read_string(*v, "caFile", "webhooks.caFile", w.ca_file),
                   read_uint(*v, "queueSize", "webhooks.queueSize", 1, 1000000, w.queue_size),
                   read_uint(*v, "maxAttempts", "webhooks.maxAttempts", 1, 100, w.max_attempts),
                   read_uint(*v, "timeoutMs", "webhooks.timeoutMs", 100, 120000, w.timeout_ms)})
      if (!e.empty())
        return e;
    if (auto u = v->FindMember("urls"); u != v->MemberEnd()) {
      if (!u->value.IsArray())
        return "webhooks.urls: must be an array of \"http(s)://HOST:PORT/PATH\"";
      w.urls.clear();
      for (auto& x : u->value.GetArray()) {
        if (!x.IsString())
          return "webhooks.urls: must be an array of \"http://HOST:PORT/PATH\"";
        w.urls.emplace_back(x.GetString(), x.GetStringLength());
      }
    }
  }
  if (auto e = object("drain", {"timeoutMs"}, v); !e.empty())
    return e;
  if (v)
    if (auto e = read_uint(*v, "timeoutMs", "drain.timeoutMs", 0, 86400000, cfg.drain.timeout_ms);
        !e.empty())
      return e;
  if (auto e = object("metrics", {"perRoom"}, v); !e.empty())
    return e;
  if (v)
    if (auto it = v->FindMember("perRoom"); it != v->MemberEnd()) {
      if (!it->value.IsBool())
        return "metrics.perRoom: must be true or false";
      cfg.metrics.per_room = it->value.GetBool();
    }
  return {};
}

} // namespace

result<config> apply_config_json(std::string_view json, config cfg) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseStopWhenDoneFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject())
    return failure{"configuration is not a JSON object"};
  if (auto e = check_keys(doc, "", {"listen", "logLevel", "rtc", "signaling", "limits",
                                    "classroom", "scheduler", "cluster", "mediaCodecs",
                                    "auth", "storage", "logFormat", "admin", "webhooks",
                                    "drain", "metrics", "sctp", "recording"});
      !e.empty())
    return failure{e};
  if (auto it = doc.FindMember("sctp"); it != doc.MemberEnd()) {
    auto& sc = it->value;
    if (!sc.IsObject())
      return fail("sctp", "must be an object");
    if (auto e = check_keys(sc, "sctp.", {"maxMessageSize", "maxStreams", "sendBufferSize"});
        !e.empty())
      return failure{e};
    for (auto e : {read_uint(sc, "maxMessageSize", "sctp.maxMessageSize", 1024, 16777216,
                             cfg.sctp.max_message_size),
                   read_uint(sc, "maxStreams", "sctp.maxStreams", 1, 65535, cfg.sctp.max_streams),
                   read_uint(sc, "sendBufferSize", "sctp.sendBufferSize", 65536, 268435456,
                             cfg.sctp.send_buffer_size)})
      if (!e.empty())
        return failure{e};
    if (cfg.sctp.send_buffer_size < cfg.sctp.max_message_size)
      return fail("sctp.sendBufferSize", "must be at least sctp.maxMessageSize");
  }
  std::string listen;
  if (auto e = read_string(doc, "listen", "listen", listen); !e.empty())
    return failure{e};
  if (!listen.empty() && !parse_host_port(listen, cfg.listen_host, cfg.listen_port))
    return fail("listen", "must be HOST:PORT with an IP address");
  if (auto e = read_string(doc, "logLevel", "logLevel", cfg.log_level); !e.empty())
    return failure{e};
  if (auto it = doc.FindMember("cluster"); it != doc.MemberEnd()) {
    auto& c = it->value;
    if (!c.IsObject())
      return fail("cluster", "must be an object");
    if (auto e = check_keys(c, "cluster.",
                            {"nodeId", "listen", "peers", "secret", "secretFile",
                             "heartbeatIntervalMs", "heartbeatTimeoutMs", "certFile", "keyFile",
                             "caFile", "insecure"});
        !e.empty())
      return failure{e};
    auto& cc = cfg.cluster;
    for (auto e : {read_string(c, "nodeId", "cluster.nodeId", cc.node_id),
                   read_string(c, "listen", "cluster.listen", cc.listen),
                   read_string(c, "secret", "cluster.secret", cc.secret),
                   read_string(c, "secretFile", "cluster.secretFile", cc.secret_file),
                   read_string(c, "certFile", "cluster.certFile", cc.cert_file),
                   read_string(c, "keyFile", "cluster.keyFile", cc.key_file),
                   read_string(c, "caFile", "cluster.caFile", cc.ca_file),
                   read_bool(c, "insecure", "cluster.insecure", cc.insecure),
                   read_uint(c, "heartbeatIntervalMs", "cluster.heartbeatIntervalMs", 50, 60000,
                             cc.heartbeat_interval_ms),
                   read_uint(c, "heartbeatTimeoutMs", "cluster.heartbeatTimeoutMs", 200, 600000,
                             cc.heartbeat_timeout_ms)})
      if (!e.empty())
        return failure{e};
    if (auto p = c.FindMember("peers"); p != c.MemberEnd()) {
      if (!p->value.IsArray())
        return fail("cluster.peers", "must be an array of \"HOST:PORT\"");
      cc.peers.clear();
      for (auto& v : p->value.GetArray()) {
        if (!v.IsString())
          return fail("cluster.peers", "must be an array of \"HOST:PORT\"");
        cc.peers.emplace_back(v.GetString(), v.GetStringLength());
      }
    }
  }
  if (auto it = doc.FindMember("auth"); it != doc.MemberEnd()) {
    auto& a = it->value;
    if (!a.IsObject())
      return fail("auth", "must be an object");
    if (auto e = check_keys(a, "auth.",
                            {"mode", "algorithm", "hs256Secret", "hs256SecretFile",
                             "publicKeyFile", "issuer", "audience", "leewaySeconds",
                             "defaultRole", "roles"});
        !e.empty())
      return failure{e};
    auto& ac = cfg.auth;
    for (auto e : {read_string(a, "mode", "auth.mode", ac.mode),
                   read_string(a, "algorithm", "auth.algorithm", ac.algorithm),
                   read_string(a, "hs256Secret", "auth.hs256Secret", ac.hs256_secret),
                   read_string(a, "hs256SecretFile", "auth.hs256SecretFile", ac.hs256_secret_file),
                   read_string(a, "publicKeyFile", "auth.publicKeyFile", ac.public_key_file),
                   read_string(a, "issuer", "auth.issuer", ac.issuer),
                   read_string(a, "audience", "auth.audience", ac.audience),
                   read_uint(a, "leewaySeconds", "auth.leewaySeconds", 0, 3600, ac.leeway_seconds),
                   read_string(a, "defaultRole", "auth.defaultRole", ac.default_role)})
      if (!e.empty())
        return failure{e};
    if (auto r = a.FindMember("roles"); r != a.MemberEnd())
      if (auto e = read_role_table(r->value, ac.roles); !e.empty())
        return failure{e};
  }
  if (auto e = apply_operations_json(doc, cfg); !e.empty())
    return failure{e};
  if (auto it = doc.FindMember("storage"); it != doc.MemberEnd()) {
    auto& st = it->value;
    if (!st.IsObject())
      return fail("storage", "must be an object");
    if (auto e = check_keys(st, "storage.", {"path", "flushIntervalMs", "url"}); !e.empty())
      return failure{e};
    for (auto e : {read_string(st, "path", "storage.path", cfg.storage.path),
                   read_uint(st, "flushIntervalMs", "storage.flushIntervalMs", 10, 60000,
                             cfg.storage.flush_interval_ms),
                   read_string(st, "url", "storage.url", cfg.storage.url)})
      if (!e.empty())
        return failure{e};
  }
  if (auto it = doc.FindMember("recording"); it != doc.MemberEnd()) {
    auto& rc = it->value;
    if (!rc.IsObject())
      return fail("recording", "must be an object");
    if (auto e = check_keys(rc, "recording.", {"directory", "autoStart", "ffmpeg", "minFreeMb",
                                                "maxRestartBackoffMs"});
        !e.empty())
      return failure{e};
    auto& r = cfg.recording;
    for (auto e : {read_string(rc, "directory", "recording.directory", r.directory),
                   read_string(rc, "ffmpeg", "recording.ffmpeg", r.ffmpeg),
                   read_uint(rc, "minFreeMb", "recording.minFreeMb", 0, 10000000, r.min_free_mb),
                   read_uint(rc, "maxRestartBackoffMs", "recording.maxRestartBackoffMs", 100,
                             600000, r.max_restart_backoff_ms)})
      if (!e.empty())
        return failure{e};
    if (auto a = rc.FindMember("autoStart"); a != rc.MemberEnd()) {
      if (!a->value.IsBool())
        return fail("recording.autoStart", "must be true or false");
      r.auto_start = a->value.GetBool();
    }
    if (r.ffmpeg.empty())
      return fail("recording.ffmpeg", "must name the ffmpeg binary");
  }
  if (auto it = doc.FindMember("scheduler"); it != doc.MemberEnd()) {
    auto& sch = it->value;
    if (!sch.IsObject())
      return fail("scheduler", "must be an object");
    if (auto e = check_keys(sch, "scheduler.", {"policy", "threads", "timers"}); !e.empty())
      return failure{e};
    for (auto e : {read_string(sch, "policy", "scheduler.policy", cfg.scheduler.policy),
                   read_string(sch, "timers", "scheduler.timers", cfg.scheduler.timers),
                   read_uint(sch, "threads", "scheduler.threads", 0, 64, cfg.scheduler.threads)})
      if (!e.empty())
        return failure{e};
  }
  if (auto it = doc.FindMember("rtc"); it != doc.MemberEnd()) {
    auto& rtc = it->value;
    if (!rtc.IsObject())
      return fail("rtc", "must be an object");
    if (auto e = check_keys(rtc, "rtc.",
                            {"ip", "announcedIp", "ports", "singlePort", "iceConsentTimeoutMs",
                             "iceDisconnectedTimeoutMs", "dtlsHandshakeTimeoutMs",
                             "tcpBindTimeoutMs", "stunErrorRate", "dtlsCertificateFile",
                             "dtlsPrivateKeyFile", "dropRtpPercent", "batchSends",
                             "udpSegmentation", "gcm", "faultInjection", "ioThreads"});
        !e.empty())
      return failure{e};
    uint32_t single = cfg.rtc.single_port;
    for (auto e : {read_uint(rtc, "singlePort", "rtc.singlePort", 0, 65535, single),
                   read_uint(rtc, "iceConsentTimeoutMs", "rtc.iceConsentTimeoutMs", 1000,
                             3600000, cfg.rtc.ice_consent_timeout_ms),
                   read_uint(rtc, "iceDisconnectedTimeoutMs", "rtc.iceDisconnectedTimeoutMs", 0,
                             3600000, cfg.rtc.ice_disconnected_timeout_ms),
                   read_uint(rtc, "dtlsHandshakeTimeoutMs", "rtc.dtlsHandshakeTimeoutMs", 1000,
                             600000, cfg.rtc.dtls_handshake_timeout_ms),
                   read_uint(rtc, "tcpBindTimeoutMs", "rtc.tcpBindTimeoutMs", 100, 600000,
                             cfg.rtc.tcp_bind_timeout_ms),
                   read_uint(rtc, "stunErrorRate", "rtc.stunErrorRate", 0, 1000000,
                             cfg.rtc.stun_error_rate),
                   read_string(rtc, "dtlsCertificateFile", "rtc.dtlsCertificateFile",
                               cfg.rtc.dtls_certificate_file),
                   read_string(rtc, "dtlsPrivateKeyFile", "rtc.dtlsPrivateKeyFile",
                               cfg.rtc.dtls_private_key_file),
                   read_uint(rtc, "dropRtpPercent", "rtc.dropRtpPercent", 0, 50,
                             cfg.rtc.drop_rtp_percent),
                   read_uint(rtc, "ioThreads", "rtc.ioThreads", 0, 64, cfg.rtc.io_threads)})
      if (!e.empty())
        return failure{e};
    cfg.rtc.single_port = static_cast<uint16_t>(single);
    if (auto b = rtc.FindMember("batchSends"); b != rtc.MemberEnd()) {
      if (!b->value.IsBool())
        return fail("rtc.batchSends", "must be true or false");
      cfg.rtc.batch_sends = b->value.GetBool();
    }
    if (auto b = rtc.FindMember("udpSegmentation"); b != rtc.MemberEnd()) {
      if (!b->value.IsBool())
        return fail("rtc.udpSegmentation", "must be true or false");
      cfg.rtc.udp_segmentation = b->value.GetBool();
    }
    if (auto e = read_string(rtc, "gcm", "rtc.gcm", cfg.rtc.gcm); !e.empty())
      return failure{e};
    if (auto b = rtc.FindMember("faultInjection"); b != rtc.MemberEnd()) {
      if (!b->value.IsBool())
        return fail("rtc.faultInjection", "must be true or false");
      cfg.rtc.fault_injection = b->value.GetBool();
    }
    if (auto e = read_string(rtc, "ip", "rtc.ip", cfg.rtc_ip); !e.empty())
      return failure{e};
    if (auto e = read_string(rtc, "announcedIp", "rtc.announcedIp", cfg.announced_ip);
        !e.empty())
      return failure{e};
    std::string ports;
    if (auto e = read_string(rtc, "ports", "rtc.ports", ports); !e.empty())
      return failure{e};
    if (!ports.empty() && !parse_port_range(ports, cfg.rtc_min_port, cfg.rtc_max_port))
      return fail("rtc.ports", "must be MIN-MAX with 1024 <= MIN <= MAX <= 65535");
  }
  if (auto it = doc.FindMember("signaling"); it != doc.MemberEnd()) {
    auto& s = it->value;
    if (!s.IsObject())
      return fail("signaling", "must be an object");
    if (auto e = check_keys(s, "signaling.",
                            {"maxMessageBytes", "maxQueuedBytes", "idleTimeoutMs",
                             "handshakeTimeoutMs", "messageTimeoutMs", "maxConnections",
                             "maxRequestsInFlight",
                             "pingIntervalMs", "pingTimeoutMs", "maxPayloadBytes",
                             "allowedOrigins", "corsOrigins", "maxConnectionsPerIp",
                             "tlsCertificateFile", "tlsPrivateKeyFile", "defaultRoom",
                             "requestRate", "requestBurst", "requestRefusalsToClose",
                             "requestRefusalWindowMs"});
        !e.empty())
      return failure{e};
    auto& sc = cfg.signaling;
    for (auto e : {read_uint(s, "maxMessageBytes", "signaling.maxMessageBytes", 1024,
                             16 << 20, sc.max_message_bytes),
                   read_uint(s, "maxQueuedBytes", "signaling.maxQueuedBytes", 4096, 1u << 30,
                             sc.max_queued_bytes),
                   read_uint(s, "idleTimeoutMs", "signaling.idleTimeoutMs", 100, 3600000,
                             sc.idle_timeout_ms),
                   read_uint(s, "handshakeTimeoutMs", "signaling.handshakeTimeoutMs", 100,
                             600000, sc.handshake_timeout_ms),
                   read_uint(s, "messageTimeoutMs", "signaling.messageTimeoutMs", 0, 600000,
                             sc.message_timeout_ms),
                   read_uint(s, "maxConnections", "signaling.maxConnections", 1, 1000000,
                             sc.max_connections),
                   read_uint(s, "maxRequestsInFlight", "signaling.maxRequestsInFlight", 1,
                             4096, sc.max_requests_in_flight),
                   read_uint(s, "maxConnectionsPerIp", "signaling.maxConnectionsPerIp", 0,
                             1000000, sc.max_connections_per_ip),
                   read_uint(s, "pingIntervalMs", "signaling.pingIntervalMs", 100, 3600000,
                             sc.ping_interval_ms),
                   read_uint(s, "pingTimeoutMs", "signaling.pingTimeoutMs", 100, 3600000,
                             sc.ping_timeout_ms),
                   read_uint(s, "maxPayloadBytes", "signaling.maxPayloadBytes", 1024, 16 << 20,
                             sc.max_payload_bytes),
                   read_string(s, "tlsCertificateFile", "signaling.tlsCertificateFile",
                               sc.tls_certificate_file),
                   read_string(s, "tlsPrivateKeyFile", "signaling.tlsPrivateKeyFile",
                               sc.tls_private_key_file),
                   read_string(s, "defaultRoom", "signaling.defaultRoom", sc.default_room)})
      if (!e.empty())
        return failure{e};
    if (sc.message_timeout_ms != 0 && sc.message_timeout_ms < 100)
      return fail("signaling.messageTimeoutMs", "must be 0 (no bound) or 100 .. 600000");
    for (auto e : {read_uint(s, "requestRate", "signaling.requestRate", 0, 1000000,
                             sc.request_rate),
                   read_uint(s, "requestBurst", "signaling.requestBurst", 1, 1000000,
                             sc.request_burst),
                   read_uint(s, "requestRefusalsToClose", "signaling.requestRefusalsToClose", 0,
                             1000000, sc.request_refusals_to_close),
                   read_uint(s, "requestRefusalWindowMs", "signaling.requestRefusalWindowMs", 100,
                             3600000, sc.request_refusal_window_ms)})
      if (!e.empty())
        return failure{e};
    // allowedOrigins, or its old name corsOrigins (not both).
    bool has_allowed = s.HasMember("allowedOrigins"), has_cors = s.HasMember("corsOrigins");
    if (has_allowed && has_cors)
      return fail("signaling.corsOrigins",
                  "is the old name of signaling.allowedOrigins: give only allowedOrigins");
    if (has_allowed || has_cors) {
      std::string name = has_allowed ? "signaling.allowedOrigins" : "signaling.corsOrigins";
      auto& list = s[has_allowed ? "allowedOrigins" : "corsOrigins"];
      if (!list.IsArray())
        return fail(name, "must be an array of origins or \"*\"");
      std::vector<std::string> origins;
      for (auto& v : list.GetArray()) {
        if (!v.IsString())
          return fail(name, "must be an array of origins or \"*\"");
        origins.emplace_back(v.GetString(), v.GetStringLength());
      }
      if (auto bad = invalid_origin(origins); !bad.empty())
        return fail(name, bad);
      sc.allowed_origins = std::move(origins);
    }
  }
  if (auto it = doc.FindMember("limits"); it != doc.MemberEnd()) {
    auto& l = it->value;
    if (!l.IsObject())
      return fail("limits", "must be an object");
    if (auto e = check_keys(l, "limits.", {"maxRooms", "maxPeersPerRoom", "maxPublishersPerRoom"});
        !e.empty())
      return failure{e};
    for (auto e : {read_uint(l, "maxRooms", "limits.maxRooms", 1, 1000000, cfg.limits.max_rooms),
                   read_uint(l, "maxPeersPerRoom", "limits.maxPeersPerRoom", 1, 100000,
                             cfg.limits.max_peers_per_room),
                   read_uint(l, "maxPublishersPerRoom", "limits.maxPublishersPerRoom", 0, 100000,
                             cfg.limits.max_publishers_per_room)})
      if (!e.empty())
        return failure{e};
  }
  if (auto it = doc.FindMember("classroom"); it != doc.MemberEnd()) {
    auto& c = it->value;
    if (!c.IsObject())
      return fail("classroom", "must be an object");
    if (auto e = check_keys(c, "classroom.", {"audioLevelsIntervalMs"}); !e.empty())
      return failure{e};
    auto& interval = cfg.classroom.audio_levels_interval_ms;
    if (auto e = read_uint(c, "audioLevelsIntervalMs", "classroom.audioLevelsIntervalMs", 0,
                           60000, interval);
        !e.empty())
      return failure{e};
    if (interval > 0 && interval < 100)
      return fail("classroom.audioLevelsIntervalMs", "must be 0 (off) or from 100 to 60000");
  }
  if (auto it = doc.FindMember("mediaCodecs"); it != doc.MemberEnd()) {
    if (!it->value.IsArray())
      return fail("mediaCodecs", "must be an array");
    cfg.media_codecs.clear();
    size_t i = 0;
    for (auto& v : it->value.GetArray()) {
      auto path = "mediaCodecs[" + std::to_string(i++) + "]";
      auto codec = protocol::parse_media_codec(v, path);
      if (!codec)
        return failure{codec.error()};
      cfg.media_codecs.push_back(std::move(*codec));
    }
  }
  return validate(std::move(cfg));
}

result<cli_result> parse_command_line(int argc, const char* const* argv) {
  cli_result out;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  // Pass 1: --help and --config (the file is the base the other flags override).
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--help" || args[i] == "-h") {
      out.action = cli_action::help;
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
    auto value = [&](std::string_view& v) {
      if (i + 1 >= args.size())
        return false;
      v = args[++i];
      return true;
    };
    std::string_view v;
    if (flag == "--config") {
      ++i;
    } else if (flag == "--listen") {
      if (!value(v) || !parse_host_port(v, out.cfg.listen_host, out.cfg.listen_port))
        return fail("--listen", "expects HOST:PORT with an IP address, e.g. 127.0.0.1:8080");
    } else if (flag == "--rtc-ip") {
      if (!value(v) || !valid_ip(std::string{v}))
        return fail("--rtc-ip", "expects an IPv4 or IPv6 address");
      out.cfg.rtc_ip = v;
    } else if (flag == "--announced-ip") {
      if (!value(v) || v.empty() || v.size() > 253)
        return fail("--announced-ip", "expects an IP address or host name");
      out.cfg.announced_ip = v;
    } else if (flag == "--rtc-ports") {
      if (!value(v) || !parse_port_range(v, out.cfg.rtc_min_port, out.cfg.rtc_max_port))
        return fail("--rtc-ports", "expects MIN-MAX with 1024 <= MIN <= MAX <= 65535");
    } else if (flag == "--rtc-single-port") {
      uint32_t port = 0;
      if (!value(v) || !parse_u32(v, port) || (port != 0 && port < 1024) || port > 65535)
        return fail("--rtc-single-port", "expects a PORT from 1024 to 65535 (0: off)");
      out.cfg.rtc.single_port = static_cast<uint16_t>(port);
    } else if (flag == "--batch-sends") {
      if (!value(v) || (v != "on" && v != "off"))
        return fail("--batch-sends", "expects on or off");
      out.cfg.rtc.batch_sends = v == "on";
    } else if (flag == "--io-threads") {
      uint32_t n = 0;
      if (!value(v) || !parse_u32(v, n) || n > 64)
        return fail("--io-threads", "expects a COUNT from 0 (one per usable CPU) to 64");
      out.cfg.rtc.io_threads = n;
    } else if (flag == "--udp-segmentation") {
      if (!value(v) || (v != "on" && v != "off"))
        return fail("--udp-segmentation", "expects on or off");
      out.cfg.rtc.udp_segmentation = v == "on";
    } else if (flag == "--gcm") {
      if (!value(v) || (v != "native" && v != "openssl"))
        return fail("--gcm", "expects native or openssl");
      out.cfg.rtc.gcm = std::string(v);
    } else if (flag == "--fault-injection") {
      out.cfg.rtc.fault_injection = true;
    } else if (flag == "--drop-rtp-percent") {
      uint32_t pct = 0;
      if (!value(v) || !parse_u32(v, pct) || pct > 50)
        return fail("--drop-rtp-percent", "expects a PERCENT from 0 to 50");
      out.cfg.rtc.drop_rtp_percent = pct;
    } else if (flag == "--tls-cert") {
      if (!value(v) || v.empty())
        return fail("--tls-cert", "expects a PEM certificate FILE");
      out.cfg.signaling.tls_certificate_file = v;
    } else if (flag == "--tls-key") {
      if (!value(v) || v.empty())
        return fail("--tls-key", "expects a PEM private key FILE");
      out.cfg.signaling.tls_private_key_file = v;
    } else if (flag == "--allowed-origins") {
      if (!value(v))
        return fail("--allowed-origins", "expects ORIGIN,ORIGIN,... or *");
      auto origins = text::split_list(v);
      if (auto bad = invalid_origin(origins); !bad.empty())
        return fail("--allowed-origins", bad);
      out.cfg.signaling.allowed_origins = std::move(origins);
    } else if (flag == "--max-connections-per-ip") {
      uint32_t n = 0;
      if (!value(v) || !parse_u32(v, n) || n > 1000000)
        return fail("--max-connections-per-ip", "expects a COUNT from 0 (unlimited) to 1000000");
      out.cfg.signaling.max_connections_per_ip = n;
    } else if (flag == "--default-room") {
      if (!value(v) || !text::valid_label(v))
        return fail("--default-room", "expects a ROOM id of 1 to 128 printable bytes");
      out.cfg.signaling.default_room = v;
    } else if (flag == "--scheduler") {
      if (!value(v) || (v != "lean" && v != "sharing" && v != "stealing"))
        return fail("--scheduler", "expects lean, sharing or stealing");
      out.cfg.scheduler.policy = v;
    } else if (flag == "--scheduler-threads") {
      uint32_t n = 0;
      if (!value(v) || !parse_u32(v, n) || n > 64)
        return fail("--scheduler-threads", "expects a COUNT from 0 (automatic) to 64");
      out.cfg.scheduler.threads = n;
    } else if (flag == "--scheduler-timers") {
      if (!value(v) || (v != "io" && v != "thread" && v != "caf"))
        return fail("--scheduler-timers", "expects io, thread or caf");
      out.cfg.scheduler.timers = v;
    } else if (flag == "--node-id") {
      if (!value(v) || !text::valid_label(v))
        return fail("--node-id", "expects a NAME of 1 to 128 printable bytes");
      out.cfg.cluster.node_id = v;
    } else if (flag == "--cluster-listen") {
      if (!value(v) || v.empty())
        return fail("--cluster-listen", "expects HOST:PORT with an IP address");
      out.cfg.cluster.listen = v;
    } else if (flag == "--cluster-peers") {
      if (!value(v))
        return fail("--cluster-peers", "expects HOST:PORT,HOST:PORT,...");
      out.cfg.cluster.peers = text::split_list(v);
    } else if (flag == "--cluster-secret") {
      if (!value(v) || v.empty())
        return fail("--cluster-secret", "expects the shared SECRET");
      out.cfg.cluster.secret = v;
    } else if (flag == "--cluster-secret-file") {
      if (!value(v) || v.empty())
        return fail("--cluster-secret-file", "expects a FILE");
      out.cfg.cluster.secret_file = v;
    } else if (flag == "--cluster-cert" || flag == "--cluster-key" || flag == "--cluster-ca") {
      if (!value(v) || v.empty())
        return fail(flag, "expects a PEM FILE");
      auto& c = out.cfg.cluster;
      (flag == "--cluster-cert" ? c.cert_file : flag == "--cluster-key" ? c.key_file : c.ca_file) = v;
    } else if (flag == "--cluster-insecure") {
      out.cfg.cluster.insecure = true;
    } else if (flag == "--cluster-heartbeat-timeout-ms") {
      uint32_t ms = 0;
      if (!value(v) || !parse_u32(v, ms) || ms < 200 || ms > 600000)
        return fail("--cluster-heartbeat-timeout-ms", "expects MS from 200 to 600000");
      out.cfg.cluster.heartbeat_timeout_ms = ms;
    } else if (flag == "--auth-mode") {
      if (!value(v) || (v != "none" && v != "jwt"))
        return fail("--auth-mode", "expects none or jwt");
      out.cfg.auth.mode = v;
    } else if (flag == "--auth-algorithm") {
      if (!value(v) || !protocol::parse_jwt_algorithm(v))
        return fail("--auth-algorithm", "expects HS256, RS256 or ES256");
      out.cfg.auth.algorithm = v;
    } else if (flag == "--auth-hs256-secret-file" || flag == "--auth-public-key-file") {
      if (!value(v) || v.empty())
        return fail(flag, "expects a FILE");
      (flag == "--auth-public-key-file" ? out.cfg.auth.public_key_file
                                        : out.cfg.auth.hs256_secret_file) = v;
    } else if (flag == "--auth-issuer" || flag == "--auth-audience") {
      if (!value(v) || v.empty())
        return fail(flag, flag == "--auth-issuer" ? "expects the ISSUER (iss)"
                                                  : "expects the AUDIENCE (aud)");
      (flag == "--auth-issuer" ? out.cfg.auth.issuer : out.cfg.auth.audience) = v;
    } else if (flag == "--auth-default-role") {
      if (!value(v) || !text::valid_label(v, 64))
        return fail("--auth-default-role", "expects a ROLE (see auth.roles)");
      out.cfg.auth.default_role = v;
    } else if (flag == "--request-rate" || flag == "--request-burst") {
      uint32_t n = 0;
      bool rate = flag == "--request-rate";
      if (!value(v) || !parse_u32(v, n) || n > 1000000 || (!rate && n == 0))
        return fail(flag, rate ? "expects requests per second from 0 (no limit) to 1000000"
                               : "expects a COUNT from 1 to 1000000");
      (rate ? out.cfg.signaling.request_rate : out.cfg.signaling.request_burst) = n;
    } else if (flag == "--storage-path") {
      if (!value(v) || v.empty())
        return fail("--storage-path", "expects the class record's SQLite FILE");
      out.cfg.storage.path = v;
    } else if (flag == "--storage-url") {
      if (!value(v) || v.empty())
        return fail("--storage-url", "expects a PostgreSQL URL (postgresql://USER@HOST:PORT/DB)");
      out.cfg.storage.url = v;
    } else if (flag == "--log-format") {
      if (!value(v) || (v != "text" && v != "json"))
        return fail("--log-format", "expects text or json");
      out.cfg.log_format = v;
    } else if (flag == "--admin-listen") {
      if (!value(v) || v.empty())
        return fail("--admin-listen", "expects HOST:PORT with an IP address");
      out.cfg.admin.listen = v;
    } else if (flag == "--admin-token-file") {
      if (!value(v) || v.empty())
        return fail("--admin-token-file", "expects a FILE");
      out.cfg.admin.token_file = v;
    } else if (flag == "--drain-timeout-ms") {
      uint32_t ms = 0;
      if (!value(v) || !parse_u32(v, ms) || ms > 86400000)
        return fail("--drain-timeout-ms", "expects MS from 0 to 86400000");
      out.cfg.drain.timeout_ms = ms;
    } else if (flag == "--log-level") {
      log::level lvl;
      if (!value(v) || !log::parse_level(v, lvl))
        return fail("--log-level", "expects one of trace, debug, info, warn, error, off");
      out.cfg.log_level = v;
    } else {
      return fail(flag, "unknown option (see --help)");
    }
  }
  auto cfg = validate(std::move(out.cfg));
  if (!cfg)
    return failure{cfg.error()};
  out.cfg = std::move(*cfg);
  return out;
}

std::string usage() {
  return R"(Usage: chorus [OPTIONS]

Chorus, a WebRTC conferencing server (SFU). Without options it runs on its embedded
default configuration (see conf/chorus.json for every option and its default).

Options:
  --config FILE          JSON configuration file, applied over the defaults
  --listen HOST:PORT     signaling HTTP/WebSocket address (default 127.0.0.1:8080;
                         port 0 picks a free port)
  --rtc-ip IP            address the media sockets listen on (default 127.0.0.1)
  --announced-ip IP      address announced in ICE candidates (default: --rtc-ip)
  --rtc-ports MIN-MAX    UDP/TCP port range for media, a port pair per transport
                         (default 40000-49999)
  --rtc-single-port PORT one UDP and one TCP port shared by all transports (default
                         0: off)
  --tls-cert FILE        PEM certificate (chain): serve HTTPS and WSS only; goes with
                         --tls-key (see scripts/make-self-signed.sh)
  --tls-key FILE         PEM private key of --tls-cert
  --allowed-origins LIST ORIGIN,... whose pages may connect (WebSocket and Engine.IO;
                         others get 403), or * for any; default: the server's own origin
                         and pages on localhost, 127.0.0.1 and [::1]
  --max-connections-per-ip N
                         open connections from one address (default 1000; 0: unlimited)
  --default-room ROOM    the room a connection joins implicitly when neither its first
                         request that needs a room nor its handshake names one
                         (default "default")
  --scheduler POLICY     actor scheduler: lean (one queue, idle workers sleep, a worker
                         is woken only when there is work for two), sharing (CAF's:
                         one queue, a wake-up per job) or stealing (CAF's work
                         stealing, idle workers poll) (default lean)
  --scheduler-threads N  scheduler worker threads; 0: max(2, usable CPUs) (default 0)
  --scheduler-timers thread|io|caf
                         who runs the actors' timers (lean scheduler): a clock thread
                         of Chorus's, the media I/O thread between its waits, or
                         CAF's clock (default thread)
  --node-id NAME         this node's name in a cluster (default: hostname:port)
  --cluster-listen HOST:PORT
                         join a cluster: where other nodes reach this one (off)
  --cluster-peers LIST   HOST:PORT,... of nodes to join (the others are learnt from them)
  --cluster-secret S     the cluster's shared secret (16 bytes at least), required in a
                         cluster; never sent (nodes prove it with HMAC-SHA256)
  --cluster-secret-file F  the secret from a file (its first line)
  --cluster-cert FILE, --cluster-key FILE, --cluster-ca FILE
                         encrypt the links between nodes with TLS (PEM; this node's
                         certificate and key, and the CA every node's certificate must be
                         signed by; scripts/make-cluster-certs.sh makes them); required
                         when the cluster or a peer is on an address other than loopback
  --cluster-insecure     plain links between hosts anyway (only on a network that nothing
                         but the cluster's members reach)
  --cluster-heartbeat-timeout-ms MS
                         a node silent this long counts as lost (default 5000)
  --auth-mode MODE       none (peers name themselves; the default) or jwt (a signed
                         token is required at connect; docs/operations.md)
  --auth-hs256-secret-file F
                         jwt: the HS256 secret, the first line of F (32 bytes at least)
  --auth-public-key-file F
                         jwt: the PEM public key (RS256: RSA; ES256: EC P-256)
  --auth-algorithm ALG   HS256, RS256 or ES256 (default: after the key)
  --auth-issuer I        jwt: the iss tokens must carry (default: not checked)
  --auth-audience A      jwt: the aud tokens must carry (default: not checked)
  --auth-default-role R  the role of peers without one (mode none: default every
                         permission; mode jwt: default viewer)
  --request-rate N       requests per second per connection (default 50; 0: no limit);
                         excess gets rate-limited, sustained excess closes the connection
  --request-burst N      requests at once per connection (default 100)
  --storage-path FILE    write the class record (rooms, attendance, chat, polls,
                         moderation) to this SQLite file, created on first use (default
                         none: no record; docs/operations.md, "Class record")
  --storage-url URL      write the class record to PostgreSQL instead (one record for
                         all the nodes of a cluster): postgresql://USER@HOST:PORT/DB or
                         a libpq connection string; schema created on first use
  --log-level LEVEL      trace, debug, info, warn, error or off (default info)
  --log-format FORMAT    text (default) or json: one JSON object per line, with the
                         room, peer, transport, producer and consumer ids as fields
  --admin-listen H:P     serve the admin API on this address (default: off)
  --admin-token-file F   the admin API's bearer token: the first line of F
  --drain-timeout-ms MS  SIGTERM refuses new rooms and joins and waits up to MS for the
                         rooms to end (default 0: stop at once)
  --batch-sends on|off   single-port mode: datagrams of many consumers leave in one
                         sendmmsg (on) or each consumer sends its own (off) (default on)
  --io-threads N         media I/O threads, each with its own sockets (single port:
                         SO_REUSEPORT); 0: one per usable CPU (default 0)
  --udp-segmentation on|off  with batched sends: a consumer's equal-size datagrams to
                         one receiver leave as one segmented message, UDP GSO (default on)
  --gcm native|openssl   SRTP's AES-GCM on the CPU's AES instructions (native, where the
                         CPU has them) or through OpenSSL's EVP interface (default native)
  --drop-rtp-percent N   fault injection for tests: drop N % (0..50) of the RTP packets
                         every transport receives, like network loss (default 0: off)
  --fault-injection      tests only: allow set-transport-egress-cap (a per-transport cap
                         on what the server sends, dropping what exceeds it) (default off)
  --help                 this text

Flags override the configuration file, which overrides the defaults.

chorus token ... mints a test token (chorus token --help).
)";
}

} // namespace chorus::app
