// ICE-lite server (RFC 8445 §7.3 as a lite agent, RFC 7675 consent): responses and error
// codes per request, tuple selection by USE-CANDIDATE, take-over by a newer nominated
// tuple, consent expiry to disconnected and closed, ICE restart, counters.
#include "net/ice_server.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

constexpr const char* server_ufrag = "srvU";
constexpr const char* server_password = "server-password-0123456";

std::span<const uint8_t> bytes_of(const std::vector<uint8_t>& v) {
  return {v.data(), v.size()};
}

ice_server_config server_config() {
  ice_server_config c;
  c.local_ufrag = server_ufrag;
  c.local_password = server_password;
  c.consent_timeout_ms = 30000;
  c.disconnected_timeout_ms = 10000;
  return c;
}

ice_tuple udp(uint8_t last, uint16_t port) {
  return {ice_protocol::udp, transport_address::v4(198, 51, 100, last, port), 0};
}

// What a browser sends to an ICE-lite server, with switches to break it.
struct check {
  std::string username = std::string{server_ufrag} + ":cliU";
  std::string key = server_password;
  bool with_username = true;
  bool with_priority = true;
  bool with_integrity = true;
  bool with_fingerprint = true;
  bool controlled = false; // send ICE-CONTROLLED instead of ICE-CONTROLLING
  bool use_candidate = false;
  uint16_t extra_attribute = 0; // added before MESSAGE-INTEGRITY when non-zero
  stun::message_class cls = stun::message_class::request;

  std::vector<uint8_t> bytes(const stun::transaction_id& tid) const {
    stun::builder b{cls, stun::method_binding, tid};
    if (with_username)
      b.add_username(username);
    if (with_priority)
      b.add_priority(0x6EFFFFFF);
    if (controlled)
      b.add_ice_controlled(42);
    else
      b.add_ice_controlling(42);
    if (use_candidate)
      b.add_use_candidate();
    if (extra_attribute != 0)
      b.add_raw(extra_attribute, {});
    if (with_integrity)
      b.add_message_integrity(key);
    if (with_fingerprint)
      b.add_fingerprint();
    return std::move(b).finish();
  }
  std::vector<uint8_t> bytes() const { return bytes(stun::random_transaction_id()); }
};

check nominating() {
  check c;
  c.use_candidate = true;
  return c;
}

std::vector<ice_event_kind> kinds(const std::vector<ice_event>& events) {
  std::vector<ice_event_kind> out;
  for (const auto& e : events)
    out.push_back(e.kind);
  return out;
}

} // namespace

TEST_CASE("ice_server: request table (response, error code, integrity, counters)") {
  struct tcase {
    const char* name;
    check request;
    ice_verdict verdict;
    uint16_t error_code;  // 0: success response
    bool integrity;       // the response carries MESSAGE-INTEGRITY
  };
  auto with = [](auto change) {
    check c;
    change(c);
    return c;
  };
  const std::vector<tcase> cases{
    {"valid check", check{}, ice_verdict::success, 0, true},
    {"valid check without FINGERPRINT", with([](check& c) { c.with_fingerprint = false; }),
     ice_verdict::success, 0, true},
    {"valid nominating check", nominating(), ice_verdict::success, 0, true},
    {"wrong local ufrag", with([](check& c) { c.username = "other:cliU"; }),
     ice_verdict::unauthorized, 401, false},
    {"USERNAME without colon", with([](check& c) { c.username = "srvUcliU"; }),
     ice_verdict::unauthorized, 401, false},
    {"empty remote ufrag", with([](check& c) { c.username = "srvU:"; }),
     ice_verdict::unauthorized, 401, false},
    {"bad integrity (wrong password)", with([](check& c) { c.key = "wrong-password"; }),
     ice_verdict::unauthorized, 401, false},
    {"missing MESSAGE-INTEGRITY", with([](check& c) { c.with_integrity = false; }),
     ice_verdict::bad_request, 400, false},
    {"missing USERNAME", with([](check& c) { c.with_username = false; }),
     ice_verdict::bad_request, 400, false},
    {"missing PRIORITY", with([](check& c) { c.with_priority = false; }),
     ice_verdict::bad_request, 400, false},
    {"ICE-CONTROLLED: role conflict", with([](check& c) { c.controlled = true; }),
     ice_verdict::role_conflict, 487, true},
    {"unknown comprehension-required attribute",
     with([](check& c) { c.extra_attribute = 0x7ABC; }), ice_verdict::unknown_attribute, 420,
     true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ice_server server{server_config()};
    const auto source = udp(7, 40000);
    const auto tid = stun::random_transaction_id();
    const auto d = server.handle(bytes_of(c.request.bytes(tid)), source, 1000);
    CHECK(d.verdict == c.verdict);
    REQUIRE_FALSE(d.response.empty());
    auto r = stun::parse(bytes_of(d.response));
    REQUIRE(r.ok());
    CHECK(r.msg.tid == tid);
    CHECK(r.msg.has_fingerprint);
    CHECK(r.msg.integrity_offset.has_value() == c.integrity);
    if (c.integrity)
      CHECK(stun::verify_integrity(bytes_of(d.response), r.msg, server_password));
    const auto& n = server.counters();
    CHECK(n.requests == 1);
    CHECK(n.responses == 1);
    if (c.error_code == 0) {
      CHECK(r.msg.cls == stun::message_class::success_response);
      CHECK(r.msg.xor_mapped_address == source.remote);
      CHECK(n.valid == 1);
      CHECK(server.state() != ice_state::new_);
    } else {
      CHECK(r.msg.cls == stun::message_class::error_response);
      REQUIRE(r.msg.error_code);
      CHECK(r.msg.error_code->code == c.error_code);
      if (c.error_code == 420)
        CHECK(r.msg.unknown_attributes == std::vector<uint16_t>{0x7ABC});
      CHECK(n.valid == 0);
      CHECK(n.errors_400 == (c.error_code == 400 ? 1u : 0u));
      CHECK(n.errors_401 == (c.error_code == 401 ? 1u : 0u));
      CHECK(n.errors_420 == (c.error_code == 420 ? 1u : 0u));
      CHECK(n.errors_487 == (c.error_code == 487 ? 1u : 0u));
      CHECK(server.state() == ice_state::new_);
      CHECK(d.events.empty());
    }
  }
}

TEST_CASE("ice_server: dropped datagrams table (no response, counted)") {
  struct tcase {
    const char* name;
    std::vector<uint8_t> bytes;
    ice_verdict verdict;
  };
  auto with_bad_fingerprint = check{}.bytes();
  with_bad_fingerprint.back() ^= 0xFF;
  check indication;
  indication.cls = stun::message_class::indication;
  check response;
  response.cls = stun::message_class::success_response;
  auto truncated = check{}.bytes();
  truncated.resize(truncated.size() - 4);

  const std::vector<tcase> cases{
    {"empty", {}, ice_verdict::dropped_malformed},
    {"RTP packet", {0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8},
     ice_verdict::dropped_malformed},
    {"DTLS record", {0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 1, 2, 3, 4, 5, 6, 7},
     ice_verdict::dropped_malformed},
    {"garbage", std::vector<uint8_t>(64, 0x00), ice_verdict::dropped_malformed},
    {"corrupted FINGERPRINT", with_bad_fingerprint, ice_verdict::dropped_malformed},
    {"truncated check", truncated, ice_verdict::dropped_malformed},
    {"binding indication", indication.bytes(), ice_verdict::dropped_unexpected},
    {"binding success response", response.bytes(), ice_verdict::dropped_unexpected},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ice_server server{server_config()};
    const auto d = server.handle(bytes_of(c.bytes), udp(7, 40000), 1000);
    CHECK(d.verdict == c.verdict);
    CHECK(d.response.empty());
    CHECK(d.events.empty());
    const auto& n = server.counters();
    CHECK(n.requests == 0);
    CHECK(n.responses == 0);
    CHECK(n.dropped_malformed == (c.verdict == ice_verdict::dropped_malformed ? 1u : 0u));
    CHECK(n.dropped_unexpected == (c.verdict == ice_verdict::dropped_unexpected ? 1u : 0u));
  }
}

TEST_CASE("ice_server: the remote ufrag is learned from the first valid check, or given") {
  SUBCASE("learned") {
    ice_server server{server_config()};
    CHECK(server.handle(bytes_of(check{}.bytes()), udp(1, 1), 0).verdict ==
          ice_verdict::success);
    CHECK(server.remote_ufrag() == "cliU");
    check other;
    other.username = "srvU:evil";
    CHECK(server.handle(bytes_of(other.bytes()), udp(1, 1), 0).verdict ==
          ice_verdict::unauthorized);
  }
  SUBCASE("given") {
    auto config = server_config();
    config.remote_ufrag = "known";
    ice_server server{config};
    CHECK(server.handle(bytes_of(check{}.bytes()), udp(1, 1), 0).verdict ==
          ice_verdict::unauthorized);
    check right;
    right.username = "srvU:known";
    CHECK(server.handle(bytes_of(right.bytes()), udp(1, 1), 0).verdict == ice_verdict::success);
  }
}

TEST_CASE("ice_server: first check selects its tuple, USE-CANDIDATE completes") {
  ice_server server{server_config()};
  const auto t1 = udp(1, 5000);
  auto d = server.handle(bytes_of(check{}.bytes()), t1, 100);
  CHECK(kinds(d.events) == std::vector{ice_event_kind::tuple_validated,
                                       ice_event_kind::selected_tuple_changed,
                                       ice_event_kind::state_changed});
  CHECK(d.events[1].tuple == t1);
  CHECK(d.events[2].state == ice_state::connected);
  CHECK(server.state() == ice_state::connected);
  CHECK(server.selected_tuple() == t1);

  d = server.handle(bytes_of(nominating().bytes()), t1, 200);
  CHECK(kinds(d.events) == std::vector{ice_event_kind::state_changed});
  CHECK(server.state() == ice_state::completed);

  // A repeated check changes nothing.
  d = server.handle(bytes_of(nominating().bytes()), t1, 300);
  CHECK(d.events.empty());
}

TEST_CASE("ice_server: a first check with USE-CANDIDATE goes straight to completed") {
  ice_server server{server_config()};
  const auto d = server.handle(bytes_of(nominating().bytes()), udp(1, 5000), 0);
  CHECK(server.state() == ice_state::completed);
  CHECK(d.events.back().kind == ice_event_kind::state_changed);
  CHECK(d.events.back().state == ice_state::completed);
}

TEST_CASE("ice_server: a newer nominated tuple takes over (network change)") {
  ice_server server{server_config()};
  const auto wifi = udp(1, 5000);
  const auto lte = udp(2, 6000);
  server.handle(bytes_of(nominating().bytes()), wifi, 0);
  REQUIRE(server.selected_tuple() == wifi);

  // A plain check from the new path validates it but does not select it.
  auto d = server.handle(bytes_of(check{}.bytes()), lte, 1000);
  CHECK(kinds(d.events) == std::vector{ice_event_kind::tuple_validated});
  CHECK(server.selected_tuple() == wifi);
  CHECK(server.tuple_count() == 2);

  d = server.handle(bytes_of(nominating().bytes()), lte, 2000);
  CHECK(kinds(d.events) == std::vector{ice_event_kind::selected_tuple_changed});
  CHECK(d.events[0].tuple == lte);
  CHECK(server.selected_tuple() == lte);
  CHECK(server.state() == ice_state::completed);
}

TEST_CASE("ice_server: media on another validated tuple moves the selection there") {
  // Firefox nominates its UDP pair, then its TCP pair, and sends DTLS on the UDP one.
  ice_server server{server_config()};
  const auto over_udp = udp(1, 5000);
  const ice_tuple over_tcp{ice_protocol::tcp, transport_address::v4(198, 51, 100, 1, 5001), 7};
  server.handle(bytes_of(nominating().bytes()), over_udp, 0);
  server.handle(bytes_of(nominating().bytes()), over_tcp, 10);
  REQUIRE(server.selected_tuple() == over_tcp);

  auto events = server.use_tuple(over_udp);
  CHECK(kinds(events) == std::vector{ice_event_kind::selected_tuple_changed});
  CHECK(server.selected_tuple() == over_udp);
  CHECK(server.state() == ice_state::completed);
  CHECK(server.use_tuple(over_udp).empty()); // already selected

  // A tuple that never passed a check changes nothing.
  CHECK(server.use_tuple(udp(9, 9999)).empty());
  CHECK(server.selected_tuple() == over_udp);
}

TEST_CASE("ice_server: media before any valid check selects nothing") {
  ice_server server{server_config()};
  CHECK(server.use_tuple(udp(1, 5000)).empty());
  CHECK(!server.selected_tuple());
  CHECK(server.state() == ice_state::new_);
}

TEST_CASE("ice_server: TCP tuples differ by connection id") {
  ice_server server{server_config()};
  const auto address = transport_address::v4(203, 0, 113, 5, 443);
  const ice_tuple c1{ice_protocol::tcp, address, 11};
  const ice_tuple c2{ice_protocol::tcp, address, 12};
  server.handle(bytes_of(nominating().bytes()), c1, 0);
  const auto d = server.handle(bytes_of(nominating().bytes()), c2, 10);
  CHECK(server.tuple_count() == 2);
  CHECK(server.selected_tuple() == c2);
  CHECK(kinds(d.events) ==
        std::vector{ice_event_kind::tuple_validated, ice_event_kind::selected_tuple_changed});

  // The socket layer reports the selected connection closed: the other one takes over.
  const auto events = server.remove_tuple(c2, 20);
  CHECK(kinds(events) ==
        std::vector{ice_event_kind::tuple_removed, ice_event_kind::selected_tuple_changed});
  CHECK(server.selected_tuple() == c1);
  CHECK(server.state() == ice_state::completed);
}

TEST_CASE("ice_server: consent expiry -> disconnected, then closed after the timeout") {
  ice_server server{server_config()}; // consent 30 s, disconnected 10 s
  const auto t1 = udp(1, 5000);
  server.handle(bytes_of(nominating().bytes()), t1, 1000);
  CHECK(server.next_deadline_ms() == 31000u);

  CHECK(server.tick(30999).empty());
  CHECK(server.state() == ice_state::completed);

  auto events = server.tick(31000);
  CHECK(kinds(events) == std::vector{ice_event_kind::tuple_removed,
                                     ice_event_kind::selected_tuple_changed,
                                     ice_event_kind::state_changed});
  CHECK_FALSE(events[1].tuple);
  CHECK(events[2].state == ice_state::disconnected);
  CHECK(server.state() == ice_state::disconnected);
  CHECK_FALSE(server.selected_tuple());
  CHECK(server.next_deadline_ms() == 41000u);

  CHECK(server.tick(40999).empty());
  events = server.tick(41000);
  CHECK(kinds(events) == std::vector{ice_event_kind::state_changed});
  CHECK(events[0].state == ice_state::closed);
  CHECK(server.state() == ice_state::closed);
  CHECK_FALSE(server.next_deadline_ms());

  // Closed is terminal.
  const auto d = server.handle(bytes_of(nominating().bytes()), t1, 42000);
  CHECK(d.verdict == ice_verdict::dropped_closed);
  CHECK(d.response.empty());
  CHECK(server.tick(100000).empty());
}

TEST_CASE("ice_server: consent checks every 5 s keep the transport alive") {
  ice_server server{server_config()};
  const auto t1 = udp(1, 5000);
  for (uint64_t now = 0; now <= 120000; now += 5000) {
    server.handle(bytes_of(nominating().bytes()), t1, now);
    CHECK(server.tick(now + 4999).empty());
  }
  CHECK(server.state() == ice_state::completed);
}

TEST_CASE("ice_server: a late tick still dates disconnection from the consent expiry") {
  ice_server server{server_config()};
  server.handle(bytes_of(nominating().bytes()), udp(1, 5000), 0);
  const auto events = server.tick(45000); // expired at 30000, closes at 40000
  CHECK(server.state() == ice_state::closed);
  CHECK(events.back().state == ice_state::closed);
}

TEST_CASE("ice_server: a valid check while disconnected reconnects") {
  ice_server server{server_config()};
  server.handle(bytes_of(nominating().bytes()), udp(1, 5000), 0);
  server.tick(30000);
  REQUIRE(server.state() == ice_state::disconnected);
  const auto t2 = udp(2, 6000);
  server.handle(bytes_of(check{}.bytes()), t2, 35000);
  CHECK(server.state() == ice_state::connected);
  CHECK(server.selected_tuple() == t2);
  server.handle(bytes_of(nominating().bytes()), t2, 36000);
  CHECK(server.state() == ice_state::completed);
  CHECK(server.tick(50000).empty()); // the old deadline is gone
}

TEST_CASE("ice_server: when the selected tuple dies, a live tuple takes over") {
  ice_server server{server_config()};
  const auto t1 = udp(1, 5000);
  const auto t2 = udp(2, 6000);
  server.handle(bytes_of(nominating().bytes()), t1, 0);
  server.handle(bytes_of(check{}.bytes()), t2, 20000); // validated, not nominated

  auto events = server.tick(30000);
  CHECK(kinds(events) == std::vector{ice_event_kind::tuple_removed,
                                     ice_event_kind::selected_tuple_changed,
                                     ice_event_kind::state_changed});
  CHECK(events[0].tuple == t1);
  CHECK(server.selected_tuple() == t2);
  CHECK(server.state() == ice_state::connected); // t2 was never nominated

  events = server.tick(50000);
  CHECK(server.state() == ice_state::disconnected);
  CHECK(server.tuple_count() == 0);
}

TEST_CASE("ice_server: the tuple bound evicts the least recently checked unselected tuple") {
  auto config = server_config();
  config.max_tuples = 2;
  ice_server server{config};
  const auto t1 = udp(1, 1);
  const auto t2 = udp(2, 2);
  const auto t3 = udp(3, 3);
  server.handle(bytes_of(nominating().bytes()), t1, 0);
  server.handle(bytes_of(check{}.bytes()), t2, 10);
  const auto d = server.handle(bytes_of(check{}.bytes()), t3, 20);
  CHECK(kinds(d.events) ==
        std::vector{ice_event_kind::tuple_removed, ice_event_kind::tuple_validated});
  CHECK(d.events[0].tuple == t2);
  CHECK(server.tuple_count() == 2);
  CHECK(server.selected_tuple() == t1);
}

TEST_CASE("ice_server: restart changes credentials, the old ones get 401") {
  ice_server server{server_config()};
  const auto t1 = udp(1, 5000);
  REQUIRE(server.handle(bytes_of(nominating().bytes()), t1, 0).verdict == ice_verdict::success);

  server.restart("newU", "new-password-abcdefghij");
  CHECK(server.remote_ufrag().empty());
  CHECK(server.state() == ice_state::completed); // media keeps flowing meanwhile
  CHECK(server.selected_tuple() == t1);

  auto d = server.handle(bytes_of(nominating().bytes()), t1, 1000);
  CHECK(d.verdict == ice_verdict::unauthorized);

  check fresh = nominating();
  fresh.username = "newU:cli2";
  fresh.key = "new-password-abcdefghij";
  d = server.handle(bytes_of(fresh.bytes()), t1, 2000);
  CHECK(d.verdict == ice_verdict::success);
  CHECK(server.remote_ufrag() == "cli2");
  auto r = stun::parse(bytes_of(d.response));
  REQUIRE(r.ok());
  CHECK(stun::verify_integrity(bytes_of(d.response), r.msg, "new-password-abcdefghij"));
}

TEST_CASE("ice_server: close() is terminal") {
  ice_server server{server_config()};
  server.handle(bytes_of(nominating().bytes()), udp(1, 1), 0);
  const auto events = server.close();
  CHECK(kinds(events) == std::vector{ice_event_kind::state_changed});
  CHECK(server.state() == ice_state::closed);
  CHECK_FALSE(server.selected_tuple());
  CHECK(server.close().empty());
  CHECK(server.handle(bytes_of(check{}.bytes()), udp(1, 1), 1).verdict ==
        ice_verdict::dropped_closed);
  CHECK(server.counters().dropped_unexpected == 1);
}

TEST_CASE("ice_server: under garbage and corrupted checks only authentic ones validate") {
  std::mt19937 rng{8445}; // fixed seed
  ice_server server{server_config()};
  const auto source = udp(9, 9000);
  const auto valid = nominating().bytes();
  // Bytes after MESSAGE-INTEGRITY are not authenticated: a corrupted FINGERPRINT header
  // turns into an ignored attribute (RFC 5389 §15.4) and the check stays valid.
  const std::size_t integrity_end = *stun::parse(bytes_of(valid)).msg.integrity_offset +
                                    stun::attribute_header_size + stun::integrity_size;
  uint64_t answered = 0;
  uint64_t authentic = 0;
  for (int i = 0; i < 4000; ++i) {
    std::vector<uint8_t> datagram;
    if (i % 2 == 0) {
      datagram.resize(rng() % 120);
      for (auto& b : datagram)
        b = uint8_t(rng());
      if (datagram.size() >= 8 && i % 4 == 0) { // make it look like STUN
        datagram[0] = uint8_t(rng() % 4);
        datagram[4] = 0x21, datagram[5] = 0x12, datagram[6] = 0xa4, datagram[7] = 0x42;
      }
    } else {
      datagram = valid;
      datagram[rng() % datagram.size()] ^= uint8_t(1 + rng() % 255);
    }
    const bool covered_intact =
      datagram.size() >= integrity_end &&
      std::equal(valid.begin(), valid.begin() + std::ptrdiff_t(integrity_end), datagram.begin());
    const auto d = server.handle(bytes_of(datagram), source, 0);
    CAPTURE(i);
    CHECK((d.verdict != ice_verdict::success || covered_intact));
    answered += d.response.empty() ? 0 : 1;
    authentic += d.verdict == ice_verdict::success ? 1 : 0;
    if (d.verdict == ice_verdict::success)
      server.remove_tuple(source, 0); // back to no tuple, for the final check below
  }
  const auto& n = server.counters();
  CHECK(n.valid == authentic);
  CHECK(n.responses == answered);
  CHECK(n.dropped_malformed + n.dropped_unexpected + n.requests == 4000);

  CHECK(server.handle(bytes_of(nominating().bytes()), source, 5000).verdict ==
        ice_verdict::success);
  CHECK(server.selected_tuple() == source);
}

TEST_CASE("ice_server: state and verdict names") {
  CHECK(to_string(ice_state::new_) == "new");
  CHECK(to_string(ice_state::connected) == "connected");
  CHECK(to_string(ice_state::completed) == "completed");
  CHECK(to_string(ice_state::disconnected) == "disconnected");
  CHECK(to_string(ice_state::closed) == "closed");
  CHECK(to_string(ice_verdict::role_conflict) == "role-conflict");
}

TEST_CASE("ice_server: error answers are bounded per second, a valid check always answered") {
  auto cfg = server_config();
  cfg.max_error_responses_per_s = 10;
  ice_server server{cfg};
  check wrong;
  wrong.key = "not-the-password-at-all";
  const auto t = udp(9, 9000);
  int answered = 0;
  for (int i = 0; i < 25; ++i) { // a burst at one instant: a second's worth answered
    auto d = server.handle(bytes_of(wrong.bytes()), t, 1000);
    CHECK(d.verdict == ice_verdict::unauthorized);
    answered += d.response.empty() ? 0 : 1;
  }
  CHECK(answered == 10);
  CHECK(server.counters().errors_401 == 25);
  CHECK(server.counters().errors_unanswered == 15);
  // The budget does not touch valid checks.
  CHECK(server.handle(bytes_of(nominating().bytes()), udp(1, 1), 1000).response.size() > 0);
  // Refilled at the rate: 100 ms later, one more answer.
  CHECK(server.handle(bytes_of(wrong.bytes()), t, 1100).response.size() > 0);
  CHECK(server.handle(bytes_of(wrong.bytes()), t, 1100).response.empty());

  cfg.max_error_responses_per_s = 0; // no bound
  ice_server open{cfg};
  for (int i = 0; i < 100; ++i)
    CHECK(open.handle(bytes_of(wrong.bytes()), t, 0).response.size() > 0);
  CHECK(open.counters().errors_unanswered == 0);
}
