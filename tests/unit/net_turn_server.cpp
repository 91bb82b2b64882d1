// The TURN server's decisions (net/turn_server.hpp), driven the way a browser's TURN client
// drives it: the 401 challenge, Allocate with REST credentials, permissions and channels,
// Send and ChannelData out, Data and ChannelData back; and every refusal: credentials
// (wrong, expired, another user's), stale nonces, peers that are not Chorus's transports,
// quotas and the allocation rate, lifetimes running out.
#include "net/turn_credentials.hpp"
#include "net/turn_message.hpp"
#include "net/turn_server.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

constexpr int64_t t0_ms = 1'700'000'000'000; // Unix time in milliseconds
const std::string secret = "north";
const auto media_port = transport_address::v4(10, 0, 0, 1, 40000);    // a Chorus transport
const auto admin_port = transport_address::v4(10, 0, 0, 1, 8443);     // same IP, not one
const auto elsewhere = transport_address::v4(192, 168, 1, 20, 40000); // a third party

// A TURN server whose only allowed peer is media_port, with relays 10.0.0.1:50000 on.
struct fixture {
  std::set<std::pair<uint32_t, uint16_t>> open; // relays now open (IPv4, port)
  uint16_t next_port = 50000;
  bool capacity = true;
  turn_server server;

  explicit fixture(turn_server_config cfg = base_config())
    : server(std::move(cfg), [](const transport_address& a) { return a == media_port; },
             [this](ip_family f) -> std::optional<transport_address> {
               if (!capacity || f != ip_family::ipv4)
                 return std::nullopt;
               auto a = transport_address::v4(10, 0, 0, 1, next_port++);
               open.insert({0, a.port});
               return a;
             },
             [this](const transport_address& a) { open.erase({0, a.port}); }) {}

  static turn_server_config base_config() {
    turn_server_config c;
    c.realm = "chorus.test";
    c.secret = secret;
    c.nonce_key = "nonce-key";
    return c;
  }
};

struct client {
  turn_client self{turn_protocol::udp, transport_address::v4(198, 51, 100, 7, 61000), 0};
  turn_credential cred = make_turn_credential(secret, "peer-1", t0_ms / 1000, 3600);
  std::string realm = "chorus.test";
  std::string nonce;
  uint8_t next_tid = 1;

  stun::transaction_id tid() {
    stun::transaction_id t{};
    t.fill(next_tid++);
    return t;
  }
  std::string key() const { return long_term_key(cred.username, realm, cred.password); }

  // A request with credentials (when a nonce is known) and whatever `add` puts first.
  template <class Add>
  std::vector<uint8_t> request(uint16_t method, Add add, stun::transaction_id id = {}) {
    if (id == stun::transaction_id{})
      id = tid();
    stun::builder b{stun::message_class::request, method, id};
    add(b);
    if (!nonce.empty())
      b.add_username(cred.username).add_realm(realm).add_nonce(nonce).add_message_integrity(key());
    b.add_fingerprint();
    return std::move(b).finish();
  }
  std::vector<uint8_t> allocate(stun::transaction_id id = {}) {
    return request(turn::method_allocate, [](stun::builder& b) {
      b.add_uint32(turn::attr::requested_transport, uint32_t(turn::protocol_udp) << 24);
    }, id);
  }
  std::vector<uint8_t> permission(const transport_address& peer) {
    return request(turn::method_create_permission, [&](stun::builder& b) {
      b.add_xor_address(turn::attr::xor_peer_address, peer);
    });
  }
  std::vector<uint8_t> channel_bind(uint16_t channel, const transport_address& peer) {
    return request(turn::method_channel_bind, [&](stun::builder& b) {
      b.add_uint32(turn::attr::channel_number, uint32_t(channel) << 16)
        .add_xor_address(turn::attr::xor_peer_address, peer);
    });
  }
  std::vector<uint8_t> refresh(uint32_t lifetime) {
    return request(turn::method_refresh,
                   [&](stun::builder& b) { b.add_uint32(turn::attr::lifetime, lifetime); });
  }
  static std::vector<uint8_t> send(const transport_address& peer, std::string_view data) {
    stun::builder b{stun::message_class::indication, turn::method_send, stun::random_transaction_id()};
    b.add_xor_address(turn::attr::xor_peer_address, peer)
      .add_raw(turn::attr::data, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
    return std::move(b).finish();
  }

  // Sends `bytes`, learns the nonce of a 401 or 438, returns the parsed reply.
  turn::message exchange(turn_server& s, const std::vector<uint8_t>& bytes, int64_t now) {
    auto r = s.on_client(self, bytes, now);
    REQUIRE_FALSE(r.reply.empty());
    auto p = turn::parse(r.reply);
    REQUIRE(p.ok());
    if (p.msg.stun.nonce)
      nonce = *p.msg.stun.nonce;
    return p.msg;
  }
  // The challenge, then the Allocate: the relayed address.
  transport_address allocated(turn_server& s, int64_t now = t0_ms) {
    if (nonce.empty()) {
      auto challenge = exchange(s, allocate(), now);
      REQUIRE(challenge.stun.error_code);
      CHECK(challenge.stun.error_code->code == 401);
    }
    auto ok = exchange(s, allocate(), now);
    REQUIRE(ok.stun.cls == stun::message_class::success_response);
    REQUIRE(ok.relayed);
    return *ok.relayed;
  }
};

uint16_t code_of(const turn::message& m) { return m.stun.error_code ? m.stun.error_code->code : 0; }

std::span<const uint8_t> text(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

} // namespace

TEST_CASE("an allocation as a browser makes it: challenge, Allocate, answer checked") {
  fixture f;
  client c;
  auto challenge = c.exchange(f.server, c.allocate(), t0_ms);
  CHECK(code_of(challenge) == 401);
  CHECK(challenge.stun.realm == "chorus.test");
  CHECK_FALSE(c.nonce.empty());
  CHECK_FALSE(challenge.stun.integrity_offset); // a 401 is not signed

  const auto bytes = c.allocate();
  auto r = f.server.on_client(c.self, bytes, t0_ms);
  auto ok = turn::parse(r.reply);
  REQUIRE(ok.ok());
  CHECK(ok.msg.stun.cls == stun::message_class::success_response);
  CHECK(ok.msg.relayed == transport_address::v4(10, 0, 0, 1, 50000));
  CHECK(ok.msg.lifetime == 600u);
  CHECK(ok.msg.stun.xor_mapped_address == c.self.remote);
  CHECK(stun::verify_integrity(r.reply, ok.msg.stun, c.key()));
  CHECK(ok.msg.stun.has_fingerprint);
  CHECK(f.open.size() == 1);
  CHECK(f.server.stats().allocations == 1);
  CHECK(f.server.stats().challenges == 1);

  SUBCASE("a retransmitted Allocate gets the same answer, another one 437") {
    auto again = f.server.on_client(c.self, bytes, t0_ms + 100);
    CHECK(again.reply == r.reply);
    CHECK(code_of(c.exchange(f.server, c.allocate(), t0_ms + 200)) == 437);
    CHECK(f.open.size() == 1);
  }
  SUBCASE("the lifetime asked for is kept within the default and the maximum") {
    client d;
    d.self.remote.port = 61001;
    d.allocated(f.server); // learns its nonce
    auto refresh = [&](uint32_t s) { return c.exchange(f.server, c.refresh(s), t0_ms).lifetime; };
    CHECK(refresh(60) == 600u);
    CHECK(refresh(1800) == 1800u);
    CHECK(refresh(100000) == 3600u);
  }
}

TEST_CASE("credentials: wrong, expired, another realm, another user's allocation") {
  fixture f;
  client c;
  c.exchange(f.server, c.allocate(), t0_ms); // the nonce
  struct cred_case {
    const char* name;
    turn_credential cred;
    std::string realm;
  };
  const cred_case cases[] = {
    {"wrong password", {"1700003600:peer-1", "bm90IHRoZSBwYXNzd29yZA==", 0}, "chorus.test"},
    {"made with another secret", make_turn_credential("south", "peer-1", t0_ms / 1000, 600),
     "chorus.test"},
    {"expired a second ago", make_turn_credential(secret, "peer-1", t0_ms / 1000 - 601, 600),
     "chorus.test"},
    {"no expiry in the username", {"peer-1", turn_password(secret, "peer-1"), 0}, "chorus.test"},
    {"the largest expiry there is (no overflow)",
     {"9223372036854775807:peer-1", turn_password(secret, "9223372036854775807:peer-2"), 0},
     "chorus.test"},
    {"another realm", make_turn_credential(secret, "peer-1", t0_ms / 1000, 600), "elsewhere"},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    client bad = c;
    bad.cred = k.cred;
    bad.realm = k.realm;
    auto m = bad.exchange(f.server, bad.allocate(), t0_ms);
    CHECK(code_of(m) == 401);
    CHECK(m.stun.nonce); // a fresh challenge
  }
  CHECK(f.server.stats().refused_credentials == std::size(cases));
  CHECK(f.open.empty());

  SUBCASE("a request for the allocation with another user's credentials: 441") {
    c.allocated(f.server);
    client other = c;
    other.cred = make_turn_credential(secret, "peer-2", t0_ms / 1000, 600);
    CHECK(code_of(other.exchange(f.server, other.refresh(600), t0_ms)) == 441);
    CHECK(code_of(other.exchange(f.server, other.permission(media_port), t0_ms)) == 441);
  }
}

TEST_CASE("nonces go stale, and one made for another address is not taken") {
  fixture f;
  client c;
  c.exchange(f.server, c.allocate(), t0_ms);
  const std::string first = c.nonce;
  auto stale = c.exchange(f.server, c.allocate(), t0_ms + 601'000);
  CHECK(code_of(stale) == 438);
  CHECK(c.nonce != first);
  CHECK(c.exchange(f.server, c.allocate(), t0_ms + 601'000).stun.cls ==
        stun::message_class::success_response);

  client moved = c;
  moved.self.remote = transport_address::v4(198, 51, 100, 8, 61000);
  moved.nonce = first;
  CHECK(code_of(moved.exchange(f.server, moved.allocate(), t0_ms + 1000)) == 438);
  client forged = c;
  forged.self.remote.port = 61002;
  forged.nonce = std::string(32, 'f');
  CHECK(code_of(forged.exchange(f.server, forged.allocate(), t0_ms + 1000)) == 438);
  CHECK(f.server.stats().stale_nonces == 3);
}

TEST_CASE("Allocate requests the server does not serve") {
  struct alloc_case {
    const char* name;
    std::function<void(stun::builder&)> add;
    uint16_t code;
  };
  const alloc_case cases[] = {
    {"no REQUESTED-TRANSPORT", [](stun::builder&) {}, 400},
    {"TCP relaying (RFC 6062)",
     [](stun::builder& b) { b.add_uint32(turn::attr::requested_transport, 6u << 24); }, 442},
    {"address family 3",
     [](stun::builder& b) {
       b.add_uint32(turn::attr::requested_transport, 17u << 24)
         .add_uint32(turn::attr::requested_address_family, 3u << 24);
     },
     440},
    {"an even port", [](stun::builder& b) {
       b.add_uint32(turn::attr::requested_transport, 17u << 24)
         .add_raw(turn::attr::even_port, std::vector<uint8_t>{0x80});
     },
     420},
    {"an unknown comprehension-required attribute", [](stun::builder& b) {
       b.add_uint32(turn::attr::requested_transport, 17u << 24).add_uint32(0x7001, 1);
     },
     420},
    {"IPv6, which this server has none of", [](stun::builder& b) {
       b.add_uint32(turn::attr::requested_transport, 17u << 24)
         .add_uint32(turn::attr::requested_address_family, uint32_t(turn::family_code_ipv6) << 24);
     },
     440},
  };
  for (const auto& k : cases) {
    INFO(k.name);
    fixture f;
    client c;
    c.exchange(f.server, c.allocate(), t0_ms);
    auto m = c.exchange(f.server, c.request(turn::method_allocate, k.add), t0_ms);
    CHECK(code_of(m) == k.code);
    if (k.code == 420)
      CHECK(m.stun.unknown_attributes.size() == 1);
    CHECK(f.open.empty());
  }
}

TEST_CASE("only Chorus's own transports can be reached through a relay") {
  fixture f;
  client c;
  const auto relay = c.allocated(f.server);

  SUBCASE("permissions to another port of the server, a private address: 403, nothing sent") {
    CHECK(code_of(c.exchange(f.server, c.permission(admin_port), t0_ms)) == 403);
    CHECK(code_of(c.exchange(f.server, c.permission(elsewhere), t0_ms)) == 403);
    CHECK(code_of(c.exchange(f.server, c.channel_bind(0x4000, admin_port), t0_ms)) == 403);
    CHECK(code_of(c.exchange(f.server, c.permission(*transport_address::from_string("2001:db8::1", 40000)),
                             t0_ms)) == 443);
    CHECK(f.server.stats().refused_peer == 3);
    for (const auto& peer : {admin_port, elsewhere})
      CHECK_FALSE(f.server.on_client(c.self, client::send(peer, "x"), t0_ms).relay);
  }
  SUBCASE("a permission to the transport; Send relays to it, never to another port of its IP") {
    auto ok = c.exchange(f.server, c.permission(media_port), t0_ms);
    CHECK(ok.stun.cls == stun::message_class::success_response);
    const auto send = client::send(media_port, "stun-check"); // the payload points into it
    auto r = f.server.on_client(c.self, send, t0_ms + 10);
    REQUIRE(r.relay);
    CHECK(r.relay->relay == relay);
    CHECK(r.relay->peer == media_port);
    CHECK(std::string(r.relay->payload.begin(), r.relay->payload.end()) == "stun-check");
    // The permission is the IP's (§9); the port is checked per packet.
    CHECK_FALSE(f.server.on_client(c.self, client::send(admin_port, "x"), t0_ms + 10).relay);

    // Back from the transport: a Data indication; from another port of its IP: nothing.
    auto back = f.server.on_peer(relay, media_port, text("answer"), t0_ms + 20);
    REQUIRE(back);
    CHECK(back->to == c.self);
    auto d = turn::parse(back->bytes);
    REQUIRE(d.ok());
    CHECK(d.msg.stun.method == turn::method_data);
    CHECK(d.msg.peers.at(0) == media_port);
    CHECK_FALSE(f.server.on_peer(relay, admin_port, text("x"), t0_ms + 20));
    CHECK_FALSE(f.server.on_peer(transport_address::v4(10, 0, 0, 1, 59999), media_port, text("x"),
                                 t0_ms + 20));

    SUBCASE("the permission runs out after 300 s unless refreshed") {
      f.server.expire(t0_ms + 301'000);
      CHECK_FALSE(f.server.on_client(c.self, client::send(media_port, "x"), t0_ms + 301'000).relay);
      CHECK_FALSE(f.server.on_peer(relay, media_port, text("x"), t0_ms + 301'000));
    }
  }
  SUBCASE("Send without an allocation, from another client: dropped") {
    client other;
    other.self.remote.port = 7;
    CHECK_FALSE(f.server.on_client(other.self, client::send(media_port, "x"), t0_ms).relay);
  }
}

TEST_CASE("channels: bound, used both ways, padded on streams, rules of §11") {
  for (auto protocol : {turn_protocol::udp, turn_protocol::tls}) {
    CAPTURE(int(protocol));
    fixture f;
    client c;
    c.self.protocol = protocol;
    c.self.connection_id = protocol == turn_protocol::udp ? 0 : 42;
    const auto relay = c.allocated(f.server);
    CHECK(c.exchange(f.server, c.channel_bind(0x4001, media_port), t0_ms).stun.cls ==
          stun::message_class::success_response);

    std::vector<uint8_t> cd;
    turn::append_channel_data(cd, 0x4001, text("rtp!!"), c.self.stream());
    auto r = f.server.on_client(c.self, cd, t0_ms + 5);
    REQUIRE(r.relay);
    CHECK(r.relay->peer == media_port);
    CHECK(std::string(r.relay->payload.begin(), r.relay->payload.end()) == "rtp!!");

    auto back = f.server.on_peer(relay, media_port, text("rtcp!"), t0_ms + 6);
    REQUIRE(back);
    CHECK(back->bytes.size() == (c.self.stream() ? 12u : 9u));
    auto parsed = turn::parse_channel_data(back->bytes);
    REQUIRE(parsed);
    CHECK(parsed->channel == 0x4001);

    CHECK(code_of(c.exchange(f.server, c.channel_bind(0x3FFF, media_port), t0_ms)) == 400);
    CHECK(code_of(c.exchange(f.server, c.channel_bind(0x5000, media_port), t0_ms)) == 400);
    // the peer already has channel 0x4001
    CHECK(code_of(c.exchange(f.server, c.channel_bind(0x4002, media_port), t0_ms)) == 400);
    // the same binding again refreshes it
    CHECK(c.exchange(f.server, c.channel_bind(0x4001, media_port), t0_ms).stun.cls ==
          stun::message_class::success_response);
    std::vector<uint8_t> unbound;
    turn::append_channel_data(unbound, 0x4003, text("x"), c.self.stream());
    CHECK_FALSE(f.server.on_client(c.self, unbound, t0_ms).relay);

    c.exchange(f.server, c.refresh(1200), t0_ms + 590'000);
    f.server.expire(t0_ms + 601'000); // channel and permission gone, the allocation stays
    CHECK_FALSE(f.server.on_client(c.self, cd, t0_ms + 601'000).relay);
    CHECK(f.server.stats().allocations == 1);
  }
}

TEST_CASE("allocations end: Refresh 0, their lifetime, their connection") {
  fixture f;
  client c;
  c.allocated(f.server);
  CHECK(f.open.size() == 1);
  SUBCASE("Refresh with lifetime 0") {
    auto m = c.exchange(f.server, c.refresh(0), t0_ms + 1000);
    CHECK(m.lifetime == 0u);
    CHECK(f.open.empty());
    CHECK(code_of(c.exchange(f.server, c.refresh(600), t0_ms + 2000)) == 437);
  }
  SUBCASE("the lifetime runs out; a refresh before extends it") {
    f.server.expire(t0_ms + 599'000);
    CHECK(f.open.size() == 1);
    c.exchange(f.server, c.refresh(600), t0_ms + 599'000);
    f.server.expire(t0_ms + 601'000);
    CHECK(f.open.size() == 1);
    f.server.expire(t0_ms + 1'199'000);
    CHECK(f.open.empty());
    CHECK(f.server.stats().allocations_ended == 1);
  }
  SUBCASE("its TCP or TLS connection closes") {
    client t;
    t.self = {turn_protocol::tcp, transport_address::v4(198, 51, 100, 7, 61000), 9};
    t.allocated(f.server);
    CHECK(f.open.size() == 2);
    f.server.connection_closed(t.self);
    CHECK(f.open.size() == 1);
    f.server.connection_closed(t.self); // twice: nothing more
    CHECK(f.server.stats().allocations == 1);
  }
}

TEST_CASE("quotas: per user, per address, the rate of new allocations, capacity") {
  SUBCASE("an IPv6 client gets an IPv4 relayed address unless it asks for IPv6 (RFC 8656 7.2)") {
    fixture f;
    client c;
    c.self.remote = *transport_address::from_string("2001:db8::5", 61000);
    CHECK(c.allocated(f.server).family == ip_family::ipv4);
  }
  SUBCASE("per user") {
    auto cfg = fixture::base_config();
    cfg.max_allocations_per_user = 2;
    fixture f(cfg);
    for (uint16_t port = 1; port <= 3; ++port) {
      client c;
      c.self.remote.port = port;
      c.exchange(f.server, c.allocate(), t0_ms);
      auto m = c.exchange(f.server, c.allocate(), t0_ms);
      CHECK(code_of(m) == (port <= 2 ? 0 : 486));
    }
    client other;
    other.self.remote.port = 4;
    other.cred = make_turn_credential(secret, "peer-2", t0_ms / 1000, 600);
    CHECK(other.allocated(f.server).port != 0);
    CHECK(f.server.stats().refused_quota == 1);
  }
  SUBCASE("a flood from one address hits the rate limit, and is counted") {
    auto cfg = fixture::base_config();
    cfg.allocations_per_ip_per_s = 5;
    cfg.allocation_burst_per_ip = 5;
    cfg.max_allocations_per_user = 1000;
    fixture f(cfg);
    int refused = 0;
    for (uint16_t port = 1; port <= 50; ++port) {
      client c;
      c.self.remote.port = port;
      c.exchange(f.server, c.allocate(), t0_ms);
      refused += code_of(c.exchange(f.server, c.allocate(), t0_ms)) == 486;
    }
    CHECK(refused == 45);
    CHECK(f.server.stats().refused_rate == 45);
    CHECK(f.open.size() == 5);
    client later; // a second later, five more
    later.self.remote.port = 60;
    later.exchange(f.server, later.allocate(), t0_ms + 1000);
    CHECK(code_of(later.exchange(f.server, later.allocate(), t0_ms + 1000)) == 0);
  }
  SUBCASE("no relayed address can be opened: 508") {
    fixture f;
    f.capacity = false;
    client c;
    c.exchange(f.server, c.allocate(), t0_ms);
    CHECK(code_of(c.exchange(f.server, c.allocate(), t0_ms)) == 508);
    CHECK(f.server.stats().refused_capacity == 1);
  }
}

TEST_CASE("relayed bit rate per allocation and direction (turn.relayRateLimitKbps)") {
  auto cfg = fixture::base_config();
  cfg.relay_rate_kbps = 80; // 10 000 bytes a second, a second's worth at once
  fixture f(cfg);
  client c;
  const auto relay = c.allocated(f.server);
  REQUIRE(code_of(c.exchange(f.server, c.channel_bind(0x4000, media_port), t0_ms)) == 0);
  const std::vector<uint8_t> payload(1000, 0x80);
  std::vector<uint8_t> cd;
  turn::append_channel_data(cd, 0x4000, payload, false);
  auto relayed_at = [&](int64_t now) {
    int n = 0;
    for (int i = 0; i < 20; ++i)
      n += f.server.on_client(c.self, cd, now).relay.has_value();
    return n;
  };
  auto returned_at = [&](int64_t now) {
    int n = 0;
    for (int i = 0; i < 20; ++i)
      n += f.server.on_peer(relay, media_port, payload, now).has_value();
    return n;
  };
  CHECK(relayed_at(t0_ms) == 10);
  CHECK(returned_at(t0_ms) == 10); // the other direction has its own budget
  CHECK(relayed_at(t0_ms + 500) == 5);
  CHECK(relayed_at(t0_ms + 1500) == 10);
  CHECK(f.server.stats().rate_limited == 10 + 10 + 15 + 10);
}

TEST_CASE("error answers per address are bounded; answers to others are not") {
  auto cfg = fixture::base_config();
  cfg.error_replies_per_ip_per_s = 10;
  fixture f(cfg);
  client c;
  int answered = 0;
  for (int i = 0; i < 30; ++i) // unauthenticated: each would get a 401 with a nonce
    answered += !f.server.on_client(c.self, c.allocate(), t0_ms).reply.empty();
  CHECK(answered == 10);
  CHECK(f.server.stats().unanswered == 20);
  client other;
  other.self.remote = transport_address::v4(198, 51, 100, 99, 5000);
  CHECK_FALSE(f.server.on_client(other.self, other.allocate(), t0_ms).reply.empty());
  CHECK_FALSE(f.server.on_client(c.self, c.allocate(), t0_ms + 1000).reply.empty()); // refilled
}

TEST_CASE("error budgets are tracked for a bounded number of addresses at once") {
  auto cfg = fixture::base_config();
  cfg.max_error_budgets = 3;
  fixture f(cfg);
  auto from = [](uint8_t last) {
    client c;
    c.self.remote = transport_address::v4(203, 0, 113, last, 5000);
    return c;
  };
  for (uint8_t i = 1; i <= 3; ++i) {
    auto c = from(i);
    CHECK_FALSE(f.server.on_client(c.self, c.allocate(), t0_ms).reply.empty());
  }
  auto fourth = from(4); // a forged source among many: no answer, counted
  CHECK(f.server.on_client(fourth.self, fourth.allocate(), t0_ms).reply.empty());
  CHECK(f.server.stats().unanswered == 1);
  auto first = from(1); // a tracked one still has its budget
  CHECK_FALSE(f.server.on_client(first.self, first.allocate(), t0_ms).reply.empty());
  f.server.expire(t0_ms + 1000); // full buckets are dropped: room again
  CHECK_FALSE(f.server.on_client(fourth.self, fourth.allocate(), t0_ms + 1000).reply.empty());
}

TEST_CASE("what is not TURN") {
  fixture f;
  client c;
  SUBCASE("a Binding request is answered with the reflexive address, unauthenticated") {
    stun::builder b{stun::message_class::request, stun::method_binding, c.tid()};
    auto r = f.server.on_client(c.self, b.add_fingerprint().bytes(), t0_ms);
    auto m = turn::parse(r.reply);
    REQUIRE(m.ok());
    CHECK(m.msg.stun.cls == stun::message_class::success_response);
    CHECK(m.msg.stun.xor_mapped_address == c.self.remote);
  }
  SUBCASE("an unknown method: 400") {
    stun::builder b{stun::message_class::request, 0x00A, c.tid()};
    auto r = f.server.on_client(c.self, b.bytes(), t0_ms);
    CHECK(code_of(turn::parse(r.reply).msg) == 400);
  }
  SUBCASE("garbage, a truncated message, a response, RTP: dropped without an answer") {
    auto alloc = c.allocate();
    const std::vector<std::vector<uint8_t>> junk{
      {},
      {0x16, 0x03, 0x01},
      std::vector<uint8_t>(alloc.begin(), alloc.end() - 4),
      {0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},
      stun::binding_success(c.tid(), c.self.remote, "k"),
    };
    for (const auto& j : junk) {
      auto r = f.server.on_client(c.self, j, t0_ms);
      CHECK(r.reply.empty());
      CHECK_FALSE(r.relay);
    }
    CHECK(f.server.stats().dropped == junk.size());
  }
}
