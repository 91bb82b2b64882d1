// DTLS engine: a client and a server handshaking in memory on a simulated clock.
#include "net/dtls_engine.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

using bytes = std::vector<uint8_t>;

constexpr int64_t t0 = 1'790'000'000;

std::shared_ptr<const dtls_certificate> make_certificate() {
  auto c = dtls_certificate::generate(t0);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? std::string() : c.error()));
  return std::make_shared<const dtls_certificate>(std::move(*c));
}

// Generated once: EC keys are cheap, but there is no reason to make many.
const std::shared_ptr<const dtls_certificate>& client_certificate() {
  static const auto c = make_certificate();
  return c;
}
const std::shared_ptr<const dtls_certificate>& server_certificate() {
  static const auto c = make_certificate();
  return c;
}

std::shared_ptr<const dtls_context> make_context(const std::shared_ptr<const dtls_certificate>& cert,
                                                 const std::string& profiles = {}) {
  dtls_context_options o;
  if (!profiles.empty())
    o.srtp_profiles = profiles;
  auto ctx = dtls_context::create(cert, o);
  REQUIRE_MESSAGE(ctx.ok(), (ctx.ok() ? std::string() : ctx.error()));
  return *ctx;
}

dtls_engine make_engine(std::shared_ptr<const dtls_context> ctx, dtls_role role,
                        dtls_engine_options o = {}) {
  auto e = dtls_engine::create(std::move(ctx), role, o);
  REQUIRE_MESSAGE(e.ok(), (e.ok() ? std::string() : e.error()));
  return std::move(*e);
}

enum class side { client, server };

struct setup {
  std::string client_profiles;
  std::string server_profiles;
  dtls_engine_options client_options;
  dtls_engine_options server_options;
  std::optional<dtls_fingerprint> client_expects; // what the client is told about the server
  std::optional<dtls_fingerprint> server_expects;
  bool use_defaults_for_fingerprints = true;
};

// Two engines joined by a lossy in-memory wire. `drop(post, datagram)` sees each
// datagram with the number of the output it came in (1 = ClientHello, 2 = server's
// first flight, 3 = client's second flight, 4 = server's final flight, ...).
struct harness {
  std::optional<dtls_engine> client;
  std::optional<dtls_engine> server;
  std::deque<std::pair<side, bytes>> wire; // destination, datagram
  std::function<bool(size_t post, size_t index)> drop;
  size_t posts = 0;
  size_t largest_datagram = 0;
  std::vector<bytes> app_at_client, app_at_server;
  std::vector<bytes> seen; // every datagram either side sent
  uint64_t now = 0;

  explicit harness(setup s = {}) {
    client.emplace(make_engine(make_context(client_certificate(), s.client_profiles),
                               dtls_role::client, s.client_options));
    server.emplace(make_engine(make_context(server_certificate(), s.server_profiles),
                               dtls_role::server, s.server_options));
    if (s.use_defaults_for_fingerprints) {
      s.client_expects = s.client_expects.value_or(server_certificate()->fingerprints()[0]);
      s.server_expects = s.server_expects.value_or(client_certificate()->fingerprints()[0]);
    }
    if (s.client_expects)
      CHECK(client->set_remote_fingerprint(*s.client_expects));
    if (s.server_expects)
      CHECK(server->set_remote_fingerprint(*s.server_expects));
  }

  dtls_engine& engine(side s) { return s == side::client ? *client : *server; }

  void post(side from, dtls_output out) {
    auto& app = from == side::client ? app_at_client : app_at_server;
    for (auto& a : out.application_data)
      app.push_back(std::move(a));
    if (out.datagrams.empty())
      return;
    ++posts;
    const side to = from == side::client ? side::server : side::client;
    for (size_t i = 0; i < out.datagrams.size(); ++i) {
      largest_datagram = std::max(largest_datagram, out.datagrams[i].size());
      seen.push_back(out.datagrams[i]);
      if (!drop || !drop(posts, i))
        wire.emplace_back(to, std::move(out.datagrams[i]));
    }
  }

  void pump() {
    for (int guard = 0; !wire.empty() && guard < 1000; ++guard) {
      auto [to, d] = std::move(wire.front());
      wire.pop_front();
      post(to, engine(to).handle(d, now));
    }
  }

  bool connecting() const {
    return client->state() == dtls_state::connecting || server->state() == dtls_state::connecting;
  }

  // Starts both, then delivers and runs timers until neither is connecting.
  void run(uint64_t limit_ms = 60'000) {
    post(side::server, server->start(now));
    post(side::client, client->start(now));
    pump();
    while (connecting()) {
      std::optional<uint64_t> t;
      for (auto* e : {&*client, &*server})
        if (auto n = e->next_timeout_ms())
          t = t ? std::min(*t, *n) : *n;
      if (!t || *t > limit_ms)
        break;
      now = std::max(now, *t);
      post(side::client, client->on_timer(now));
      post(side::server, server->on_timer(now));
      pump();
    }
  }

  bool both_connected() const {
    return client->state() == dtls_state::connected && server->state() == dtls_state::connected;
  }
};

void check_keys_cross(const dtls_engine& client, const dtls_engine& server,
                      dtls_srtp_profile expected) {
  REQUIRE(client.srtp_keys());
  REQUIRE(server.srtp_keys());
  const auto& c = *client.srtp_keys();
  const auto& s = *server.srtp_keys();
  CHECK(c.profile == expected);
  CHECK(s.profile == expected);
  const auto len = key_lengths(expected);
  CHECK(c.local_key.size() == len.key);
  CHECK(c.local_salt.size() == len.salt);
  CHECK(c.local_key == s.remote_key);
  CHECK(c.local_salt == s.remote_salt);
  CHECK(c.remote_key == s.local_key);
  CHECK(c.remote_salt == s.local_salt);
  CHECK(c.local_key != c.remote_key);
  CHECK(c.local_key != bytes(len.key, 0));
}

bytes record(uint8_t type, uint16_t epoch, bytes body, uint16_t version = 0xfefd) {
  bytes r{type, static_cast<uint8_t>(version >> 8), static_cast<uint8_t>(version),
          static_cast<uint8_t>(epoch >> 8), static_cast<uint8_t>(epoch), 0, 0, 0, 0, 0, 7,
          static_cast<uint8_t>(body.size() >> 8), static_cast<uint8_t>(body.size())};
  r.insert(r.end(), body.begin(), body.end());
  return r;
}

} // namespace

TEST_CASE("is_well_formed_dtls: whole DTLS records only") {
  auto join = [](std::initializer_list<bytes> parts) {
    bytes out;
    for (auto& p : parts)
      out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  const bytes hello = record(22, 0, bytes(40, 0x01));
  struct tcase {
    const char* name;
    bytes datagram;
    bool ok;
  };
  const tcase cases[] = {
    {"one handshake record (DTLS 1.2)", hello, true},
    {"DTLS 1.0 version 0xFEFF", record(22, 0, bytes(5, 1), 0xfeff), true},
    {"alert, change cipher spec, application data", record(21, 1, bytes(2, 0)), true},
    {"two records in one datagram", join({record(20, 0, bytes(1, 1)), record(22, 1, bytes(9, 2))}),
     true},
    {"an empty record", record(23, 1, {}), true},
    {"empty datagram", {}, false},
    {"shorter than a header", bytes(hello.begin(), hello.begin() + 12), false},
    {"content type 24 (heartbeat)", record(24, 0, bytes(3, 0)), false},
    {"content type 63", record(63, 0, bytes(3, 0)), false},
    {"TLS version 0x0303", record(22, 0, bytes(3, 0), 0x0303), false},
    {"length beyond the datagram", bytes(hello.begin(), hello.end() - 1), false},
    {"trailing bytes after the last record", join({hello, bytes{0x16, 0xfe}}), false},
    {"random bytes with a DTLS first byte", bytes{0x2a, 0x91, 0x07, 0x33, 0xc4, 0x00, 0x10, 0x5e,
                                                  0x8b, 0x19, 0x77, 0x01, 0xfe, 0x42},
     false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(is_well_formed_dtls(c.datagram) == c.ok);
  }
}

TEST_CASE("is_well_formed_dtls: every datagram of a real handshake is well formed") {
  harness h;
  h.run();
  REQUIRE(h.both_connected());
  REQUIRE_FALSE(h.seen.empty());
  for (const auto& d : h.seen)
    CHECK(is_well_formed_dtls(d));
}

TEST_CASE("dtls handshake: client and server connect in memory with matching keys") {
  harness h;
  h.run();
  REQUIRE(h.both_connected());
  check_keys_cross(*h.client, *h.server, dtls_srtp_profile::aead_aes_256_gcm);
  CHECK(h.now == 0); // no timer was needed
  CHECK(h.largest_datagram <= 1200);
  CHECK(h.client->counters().retransmissions == 0);
  CHECK(h.server->counters().retransmissions == 0);
  CHECK(h.client->counters().malformed_in == 0);
  CHECK_FALSE(h.client->next_timeout_ms());
  CHECK_FALSE(h.server->next_timeout_ms());
  CHECK(h.client->error() == dtls_error::none);
  CHECK(h.client->role() == dtls_role::client);
  CHECK(h.server->counters().datagrams_in == h.client->counters().datagrams_out);
}

TEST_CASE("dtls handshake: SRTP profile negotiation table") {
  const std::string only_80 = "SRTP_AES128_CM_SHA1_80";
  const std::string only_32 = "SRTP_AES128_CM_SHA1_32";
  const std::string only_gcm128 = "SRTP_AEAD_AES_128_GCM";
  const std::string only_gcm256 = "SRTP_AEAD_AES_256_GCM";
  struct tcase {
    const char* name;
    std::string client;
    std::string server;
    dtls_srtp_profile expected; // none: both fail
  };
  const tcase cases[] = {
    {"defaults prefer AEAD_AES_256_GCM", "", "", dtls_srtp_profile::aead_aes_256_gcm},
    {"client offers only AES128_CM_SHA1_80", only_80, "", dtls_srtp_profile::aes128_cm_sha1_80},
    {"client offers only AES128_CM_SHA1_32", only_32, "", dtls_srtp_profile::aes128_cm_sha1_32},
    {"client offers only AEAD_AES_128_GCM", only_gcm128, "", dtls_srtp_profile::aead_aes_128_gcm},
    {"client offers only AEAD_AES_256_GCM", only_gcm256, "", dtls_srtp_profile::aead_aes_256_gcm},
    {"server accepts only AES128_CM_SHA1_80", "", only_80, dtls_srtp_profile::aes128_cm_sha1_80},
    {"server accepts only AES128_CM_SHA1_32", "", only_32, dtls_srtp_profile::aes128_cm_sha1_32},
    {"server accepts only AEAD_AES_128_GCM", "", only_gcm128, dtls_srtp_profile::aead_aes_128_gcm},
    {"server preference wins", "", only_80 + ":" + only_gcm256,
     dtls_srtp_profile::aes128_cm_sha1_80},
    {"no common profile", only_32, only_gcm256, dtls_srtp_profile::none},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    setup s;
    s.client_profiles = c.client;
    s.server_profiles = c.server;
    harness h{s};
    h.run();
    if (c.expected == dtls_srtp_profile::none) {
      CHECK(h.client->state() == dtls_state::failed);
      CHECK(h.server->state() == dtls_state::failed);
      CHECK(h.client->error() == dtls_error::no_srtp_profile);
      CHECK(h.server->error() == dtls_error::no_srtp_profile);
      CHECK_FALSE(h.client->srtp_keys());
      CHECK_FALSE(h.server->srtp_keys());
      continue;
    }
    REQUIRE(h.both_connected());
    check_keys_cross(*h.client, *h.server, c.expected);
  }
}

TEST_CASE("dtls handshake: remote fingerprint table") {
  const auto other = make_certificate(); // a certificate nobody uses
  const auto client_fp = [](const char* alg) { return *client_certificate()->fingerprint(alg); };
  const auto server_fp = [](const char* alg) { return *server_certificate()->fingerprint(alg); };
  auto lower = server_fp("sha-256");
  for (auto& ch : lower.value)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));

  struct tcase {
    const char* name;
    std::optional<dtls_fingerprint> client_expects;
    std::optional<dtls_fingerprint> server_expects;
    dtls_error client_error; // none: connected
    dtls_error server_error;
  };
  const dtls_error ok = dtls_error::none;
  const tcase cases[] = {
    {"sha-1", server_fp("sha-1"), client_fp("sha-1"), ok, ok},
    {"sha-256", server_fp("sha-256"), client_fp("sha-256"), ok, ok},
    {"sha-384", server_fp("sha-384"), client_fp("sha-384"), ok, ok},
    {"sha-512", server_fp("sha-512"), client_fp("sha-512"), ok, ok},
    {"lower-case hex from the peer", lower, client_fp("sha-256"), ok, ok},
    {"server checks a wrong fingerprint", server_fp("sha-256"), other->fingerprints()[0],
     dtls_error::handshake_failed, dtls_error::fingerprint_mismatch},
    {"client checks a wrong fingerprint", other->fingerprints()[0], client_fp("sha-256"),
     dtls_error::fingerprint_mismatch, dtls_error::handshake_failed},
    {"server knows no fingerprint", server_fp("sha-256"), std::nullopt,
     dtls_error::handshake_failed, dtls_error::no_remote_fingerprint},
    {"client knows no fingerprint", std::nullopt, client_fp("sha-256"),
     dtls_error::no_remote_fingerprint, dtls_error::handshake_failed},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    setup s;
    s.use_defaults_for_fingerprints = false;
    s.client_expects = c.client_expects;
    s.server_expects = c.server_expects;
    harness h{s};
    h.run();
    for (auto side : {std::pair{&*h.client, c.client_error},
                      std::pair{&*h.server, c.server_error}}) {
      // (not a structured binding: clang 14 cannot capture one in CAPTURE's lambda)
      auto* e = side.first;
      const auto expected = side.second;
      CAPTURE(to_string(e->role()));
      CHECK(to_string(e->error()) == to_string(expected));
      if (expected == ok) {
        CHECK(e->state() == dtls_state::connected);
      } else {
        CHECK(e->state() == dtls_state::failed);
        CHECK_FALSE(e->srtp_keys()); // no key leaves a failed engine
      }
    }
  }

  auto e = make_engine(make_context(client_certificate()), dtls_role::client);
  CHECK_FALSE(e.set_remote_fingerprint({"md5", "AA:BB"}));
  CHECK_FALSE(e.set_remote_fingerprint({"sha-256", ""}));
}

TEST_CASE("dtls handshake: lost flights are retransmitted on the caller's clock") {
  struct tcase {
    const char* name;
    size_t mtu;
    std::function<bool(size_t post, size_t index)> drop;
    uint64_t connected_at;
    uint64_t client_retransmissions;
    uint64_t server_retransmissions;
  };
  const tcase cases[] = {
    {"ClientHello lost", 1200, [](size_t p, size_t) { return p == 1; }, 1000, 1, 0},
    {"ClientHello lost twice", 1200, [](size_t p, size_t) { return p <= 2; }, 3000, 2, 0},
    // Both flights left at t=0, so both timers fire at 1000 and both sides resend.
    {"server's first flight lost", 1200, [](size_t p, size_t) { return p == 2; }, 1000, 1, 1},
    {"client's second flight lost", 1200, [](size_t p, size_t) { return p == 3; }, 1000, 1, 1},
    // The server is done; the client repeats its flight and the server answers again.
    {"server's final flight lost", 1200, [](size_t p, size_t) { return p == 4; }, 1000, 1, 1},
    {"one datagram of a split flight lost", 400,
     [](size_t p, size_t i) { return p == 3 && i == 1; }, 1000, 1, 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    setup s;
    s.client_options.mtu = c.mtu;
    s.server_options.mtu = c.mtu;
    harness h{s};
    h.drop = c.drop;
    h.run();
    REQUIRE(h.both_connected());
    CHECK(h.now == c.connected_at);
    CHECK(h.largest_datagram <= c.mtu);
    CHECK(h.client->counters().retransmissions == c.client_retransmissions);
    CHECK(h.server->counters().retransmissions == c.server_retransmissions);
    check_keys_cross(*h.client, *h.server, dtls_srtp_profile::aead_aes_256_gcm);
  }
}

TEST_CASE("dtls handshake: small MTU splits flights into datagrams within the MTU") {
  setup s;
  s.client_options.mtu = 300;
  s.server_options.mtu = 300;
  harness h{s};
  h.run();
  REQUIRE(h.both_connected());
  CHECK(h.largest_datagram <= 300);
  MESSAGE("datagrams out: client " << h.client->counters().datagrams_out << " server "
                                    << h.server->counters().datagrams_out);
  CHECK(h.client->counters().datagrams_out >= 3); // ClientHello, then a split flight
  CHECK(h.server->counters().datagrams_out >= 3);
}

TEST_CASE("dtls handshake: timeout with backoff when the peer never answers") {
  auto client = make_engine(make_context(client_certificate()), dtls_role::client);
  CHECK(client.set_remote_fingerprint(server_certificate()->fingerprints()[0]));
  auto out = client.start(0);
  CHECK(out.state_changed);
  CHECK(out.state == dtls_state::connecting);
  REQUIRE(out.datagrams.size() == 1); // ClientHello
  const bytes hello = out.datagrams[0];

  // Retransmissions at 1, 3, 7, 15, 23 s (1 s doubling, capped at 8 s); failed at 30 s.
  const uint64_t expected[] = {1000, 3000, 7000, 15000, 23000, 30000};
  for (uint64_t t : expected) {
    CAPTURE(t);
    REQUIRE(client.next_timeout_ms() == t);
    auto early = client.on_timer(t - 1);
    CHECK(early.datagrams.empty());
    auto o = client.on_timer(t);
    if (t < 30000) {
      REQUIRE(o.datagrams.size() == 1);
      CHECK(o.datagrams[0] == hello); // the flight again, byte for byte
    } else {
      CHECK(o.datagrams.empty());
      CHECK(o.state_changed);
    }
  }
  CHECK(client.state() == dtls_state::failed);
  CHECK(client.error() == dtls_error::handshake_timeout);
  CHECK(client.counters().retransmissions == 5);
  CHECK_FALSE(client.next_timeout_ms());

  // A server that never hears a ClientHello, with a shorter configured timeout.
  dtls_engine_options o;
  o.handshake_timeout_ms = 5000;
  auto server = make_engine(make_context(server_certificate()), dtls_role::server, o);
  CHECK(server.start(100).datagrams.empty());
  CHECK(server.next_timeout_ms() == 5100);
  CHECK(server.on_timer(5099).state == dtls_state::connecting);
  CHECK(server.on_timer(5100).state == dtls_state::failed);
  CHECK(server.error() == dtls_error::handshake_timeout);
  // Late datagrams are counted, not processed.
  CHECK(server.handle(hello, 6000).datagrams.empty());
  CHECK(server.counters().dropped_in_state == 1);

  // A ClientHello before start() starts a server: it answers, its timers run from then.
  auto eager = make_engine(make_context(server_certificate()), dtls_role::server);
  CHECK(eager.set_remote_fingerprint(client_certificate()->fingerprints()[0]));
  auto answer = eager.handle(hello, 200);
  CHECK(answer.state_changed);
  CHECK(answer.state == dtls_state::connecting);
  CHECK_FALSE(answer.datagrams.empty());
  CHECK(eager.next_timeout_ms() == 1200); // its flight is retransmitted after 1 s
}

TEST_CASE("dtls close_notify closes the other side") {
  for (side closer : {side::client, side::server}) {
    CAPTURE(closer == side::client ? "client closes" : "server closes");
    harness h;
    h.run();
    REQUIRE(h.both_connected());
    const side other = closer == side::client ? side::server : side::client;
    auto out = h.engine(closer).close(h.now);
    CHECK(out.state == dtls_state::closed);
    CHECK(out.state_changed);
    REQUIRE(out.datagrams.size() == 1);
    auto in = h.engine(other).handle(out.datagrams[0], h.now);
    CHECK(in.state == dtls_state::closed);
    CHECK(in.state_changed);
    // The answering close_notify reaches an engine that is already closed.
    for (auto& d : in.datagrams)
      h.engine(closer).handle(d, h.now);
    CHECK(h.engine(closer).counters().dropped_in_state == in.datagrams.size());
    CHECK(h.engine(closer).close(h.now).datagrams.empty()); // idempotent
  }

  auto fresh = make_engine(make_context(client_certificate()), dtls_role::client);
  auto o = fresh.close(0);
  CHECK(o.state == dtls_state::closed);
  CHECK(o.datagrams.empty());
  CHECK(fresh.start(0).state == dtls_state::closed); // no restart
}

TEST_CASE("dtls application data hook") {
  harness h;
  dtls_output early = h.client->send_application_data(bytes{1, 2, 3}, 0);
  CHECK(early.refused == dtls_error::not_connected);
  CHECK(h.client->max_application_data() == 0);
  h.run();
  REQUIRE(h.both_connected());

  const size_t max = h.client->max_application_data();
  CHECK(max > 1000);
  CHECK(max < 1200);
  const bytes hello{'h', 'e', 'l', 'l', 'o'};
  h.post(side::client, h.client->send_application_data(hello, 0));
  h.post(side::server, h.server->send_application_data(bytes(max, 0x42), 0));
  CHECK(h.largest_datagram <= 1200);
  h.pump();
  REQUIRE(h.app_at_server.size() == 1);
  CHECK(h.app_at_server[0] == hello);
  REQUIRE(h.app_at_client.size() == 1);
  CHECK(h.app_at_client[0] == bytes(max, 0x42));

  auto big = h.client->send_application_data(bytes(max + 1, 0), 0);
  CHECK(big.refused == dtls_error::message_too_large);
  CHECK(big.datagrams.empty());
  CHECK(h.client->counters().application_out == 1);
  CHECK(h.client->counters().application_refused == 2);
  CHECK(h.server->counters().application_in == 1);
  CHECK(h.client->state() == dtls_state::connected);
}

TEST_CASE("dtls garbage datagrams are counted and dropped, the handshake survives") {
  bytes noise(100);
  uint32_t x = 12345;
  for (auto& b : noise) {
    x = x * 1103515245u + 12345u;
    b = static_cast<uint8_t>(x >> 16);
  }
  noise[0] = 22;
  auto ccs = record(20, 0, {1});
  auto truncated = ccs;
  truncated.insert(truncated.end(), {22, 0xfe, 0xfd, 0, 0});
  struct tcase {
    const char* name;
    bytes datagram;
  };
  const tcase cases[] = {
    {"empty datagram", {}},
    {"one byte", {22}},
    {"noise with a handshake first byte", noise},
    {"header announces more than the datagram holds",
     {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00}},
    {"TLS version instead of DTLS", record(22, 0, bytes(20, 1), 0x0303)},
    {"heartbeat content type", record(24, 0, {1, 0, 1})},
    {"empty handshake record", record(22, 0, {})},
    // msg_type 1, length 4, seq 0, fragment_offset 2, fragment_length 4: past the end
    {"handshake fragment past its message",
     record(22, 0, {1, 0, 0, 4, 0, 0, 0, 0, 2, 0, 0, 4, 9, 9, 9, 9})},
    {"handshake header cut short", record(22, 0, {1, 0, 0, 4, 0, 0})},
    {"plaintext application data", record(23, 0, {1, 2, 3})},
    {"good record, then a truncated one", truncated},
  };

  harness h;
  auto feed_all = [&](dtls_state expected_state) {
    for (const auto& c : cases) {
      CAPTURE(c.name);
      const auto before = h.server->counters().malformed_in;
      auto out = h.server->handle(c.datagram, h.now);
      CHECK(h.server->counters().malformed_in == before + 1);
      CHECK(out.datagrams.empty());
      CHECK_FALSE(out.state_changed);
      CHECK(out.state == expected_state);
    }
  };
  feed_all(dtls_state::new_); // before anything: not even started by garbage

  h.post(side::client, h.client->start(0));
  REQUIRE(h.wire.size() == 1);
  auto [to, hello] = std::move(h.wire.front());
  h.wire.pop_front();
  h.post(side::server, h.server->handle(hello, 0));
  feed_all(dtls_state::connecting); // mid-handshake
  h.pump();
  REQUIRE(h.both_connected());
  feed_all(dtls_state::connected);
  CHECK(h.server->counters().malformed_in == 3 * std::size(cases));

  // Well-formed but forged: an epoch-1 record that does not authenticate is discarded.
  auto forged = h.server->handle(record(23, 1, bytes(48, 0x5a)), h.now);
  CHECK(forged.application_data.empty());
  CHECK(forged.state == dtls_state::connected);
  check_keys_cross(*h.client, *h.server, dtls_srtp_profile::aead_aes_256_gcm);
}

TEST_CASE("dtls demultiplexing and construction limits") {
  struct tcase {
    const char* name;
    bytes datagram;
    bool dtls;
  };
  const tcase cases[] = {
    {"empty", {}, false},       {"STUN (0x00)", {0x00, 0x01}, false},
    {"first DTLS (20)", {20}, true}, {"last DTLS (63)", {63}, true},
    {"TURN channel (64)", {64}, false}, {"RTP (0x80)", {0x80, 96}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(is_dtls_datagram(c.datagram) == c.dtls);
  }

  auto ctx = make_context(server_certificate());
  CHECK_FALSE(dtls_engine::create(ctx, dtls_role::auto_).ok());
  CHECK_FALSE(dtls_engine::create(nullptr, dtls_role::server).ok());
  dtls_engine_options tiny;
  tiny.mtu = 100;
  CHECK_FALSE(dtls_engine::create(ctx, dtls_role::server, tiny).ok());
  dtls_engine_options forever;
  forever.handshake_timeout_ms = 3'600'000;
  CHECK_FALSE(dtls_engine::create(ctx, dtls_role::server, forever).ok());
  CHECK_FALSE(dtls_context::create(nullptr).ok());
  CHECK_FALSE(dtls_context::create(server_certificate(), {"SRTP_NOT_A_PROFILE"}).ok());
  CHECK(to_string(dtls_srtp_profile::aead_aes_128_gcm) == "SRTP_AEAD_AES_128_GCM");
  CHECK(to_string(dtls_state::new_) == "new");
}
