// STUN building (RFC 5389, RFC 8445 §7.2.2, §7.3.1): byte-exact XOR-MAPPED-ADDRESS against
// RFC 5769, build-then-parse round trips of the ICE messages, and the address helpers.
#include "net/stun.hpp"

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

std::span<const uint8_t> bytes_of(const std::vector<uint8_t>& v) {
  return {v.data(), v.size()};
}

const stun::transaction_id rfc5769_tid{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                                       0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

stun::message parse_ok(const std::vector<uint8_t>& bytes) {
  auto r = stun::parse(bytes_of(bytes));
  REQUIRE_MESSAGE(r.ok(), stun::to_string(r.error));
  return r.msg;
}

} // namespace

TEST_CASE("XOR-MAPPED-ADDRESS is built byte for byte as in RFC 5769 2.2 and 2.3") {
  struct tcase {
    const char* name;
    transport_address address;
    std::vector<uint8_t> attribute; // the vector's attribute, header included
  };
  const std::vector<tcase> cases{
    {"IPv4 192.0.2.1:32853", transport_address::v4(192, 0, 2, 1, 32853),
     {0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}},
    {"IPv6 [2001:db8:1234:5678:11:2233:4455:6677]:32853",
     *transport_address::from_string("2001:db8:1234:5678:11:2233:4455:6677", 32853),
     {0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3,
      0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    stun::builder b{stun::message_class::success_response, stun::method_binding, rfc5769_tid};
    b.add_xor_mapped_address(c.address);
    const auto& bytes = b.bytes();
    REQUIRE(bytes.size() == stun::header_size + c.attribute.size());
    CHECK(std::vector<uint8_t>(bytes.begin() + stun::header_size, bytes.end()) == c.attribute);
    CHECK(parse_ok(bytes).xor_mapped_address == c.address);
  }
}

TEST_CASE("binding request round trip table") {
  struct tcase {
    const char* name;
    bool controlling;
    bool use_candidate;
  };
  const std::vector<tcase> cases{
    {"controlling, nominating", true, true},
    {"controlling, not nominating", true, false},
    {"controlled (USE-CANDIDATE never sent)", false, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    stun::binding_request_params p;
    p.tid = stun::random_transaction_id();
    p.username = "serverUfrag:clientUfrag";
    p.key = "server-password-0123456789";
    p.priority = 0x6EFFFFFF;
    p.controlling = c.controlling;
    p.tie_breaker = 0x0102030405060708ull;
    p.use_candidate = c.use_candidate;
    const auto bytes = stun::binding_request(p);
    CHECK(bytes.size() % 4 == 0);
    CHECK(stun::is_stun(bytes_of(bytes)));
    const auto m = parse_ok(bytes);
    CHECK(m.cls == stun::message_class::request);
    CHECK(m.method == stun::method_binding);
    CHECK(m.tid == p.tid);
    CHECK(m.username == p.username);
    CHECK(m.priority == p.priority);
    if (c.controlling) {
      CHECK(m.ice_controlling == p.tie_breaker);
      CHECK_FALSE(m.ice_controlled);
    } else {
      CHECK(m.ice_controlled == p.tie_breaker);
      CHECK_FALSE(m.ice_controlling);
    }
    CHECK(m.use_candidate == (c.controlling && c.use_candidate));
    CHECK(m.has_fingerprint);
    CHECK(stun::verify_integrity(bytes_of(bytes), m, p.key));
    CHECK_FALSE(stun::verify_integrity(bytes_of(bytes), m, "other"));
  }
}

TEST_CASE("binding success round trip table") {
  struct tcase {
    const char* name;
    transport_address mapped;
  };
  const std::vector<tcase> cases{
    {"IPv4", transport_address::v4(10, 1, 2, 3, 50000)},
    {"IPv4 port 0", transport_address::v4(127, 0, 0, 1, 0)},
    {"IPv6", *transport_address::from_string("fe80::1:2", 65535)},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto tid = stun::random_transaction_id();
    const auto bytes = stun::binding_success(tid, c.mapped, "pw");
    const auto m = parse_ok(bytes);
    CHECK(m.cls == stun::message_class::success_response);
    CHECK(m.tid == tid);
    CHECK(m.xor_mapped_address == c.mapped);
    CHECK(m.has_fingerprint);
    CHECK(stun::verify_integrity(bytes_of(bytes), m, "pw"));
  }
}

TEST_CASE("binding error round trip table") {
  struct tcase {
    const char* name;
    uint16_t code;
    const char* key;
    const char* reason;
    const char* expected_reason;
    bool integrity;
  };
  const std::vector<tcase> cases{
    {"400 without integrity", 400, "", "", "Bad Request", false},
    {"401 without integrity", 401, "", "", "Unauthorized", false},
    {"487 with integrity", 487, "pw", "", "Role Conflict", true},
    {"420 with integrity", 420, "pw", "", "Unknown Attribute", true},
    {"custom reason", 401, "", "Go away", "Go away", false},
  };
  const std::vector<uint16_t> unknown{0x7FFE, 0x0031};
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto tid = stun::random_transaction_id();
    const auto bytes = stun::binding_error(tid, c.code, c.key, c.reason, unknown);
    const auto m = parse_ok(bytes);
    CHECK(m.cls == stun::message_class::error_response);
    CHECK(m.tid == tid);
    REQUIRE(m.error_code);
    CHECK(m.error_code->code == c.code);
    CHECK(m.error_code->reason == c.expected_reason);
    CHECK(m.has_fingerprint);
    CHECK(m.integrity_offset.has_value() == c.integrity);
    if (c.integrity)
      CHECK(stun::verify_integrity(bytes_of(bytes), m, c.key));
    if (c.code == stun::error_unknown_attribute)
      CHECK(m.unknown_attributes == unknown);
    else
      CHECK(m.unknown_attributes.empty());
  }
}

TEST_CASE("builder clips USERNAME and reason phrase to their RFC limits") {
  const std::string long_name(600, 'u');
  const std::string long_reason(900, 'r');
  stun::builder b{stun::message_class::error_response, stun::method_binding, rfc5769_tid};
  b.add_username(long_name).add_error_code(500, long_reason).add_fingerprint();
  const auto m = parse_ok(b.bytes());
  CHECK(m.username->size() == stun::max_username_size);
  CHECK(m.error_code->reason.size() == stun::max_reason_size);
}

TEST_CASE("builder leaves out an attribute that would overflow the 16-bit length") {
  stun::builder b{stun::message_class::request, stun::method_binding, rfc5769_tid};
  const std::vector<uint8_t> big(0xFFF0, 0xAB);
  b.add_raw(0x8030, big).add_raw(0x8031, big).add_fingerprint();
  const auto m = parse_ok(b.bytes());
  CHECK(b.bytes().size() == stun::header_size + 4 + big.size() + 8);
  CHECK(m.has_fingerprint);
}

TEST_CASE("transport_address helpers") {
  const auto v4 = transport_address::v4(192, 0, 2, 1, 3478);
  CHECK(v4.to_string() == "192.0.2.1:3478");
  CHECK(v4.ip_string() == "192.0.2.1");
  CHECK(transport_address::from_string("192.0.2.1", 3478) == v4);

  const auto v6 = transport_address::from_string("::1", 443);
  REQUIRE(v6);
  CHECK(v6->family == ip_family::ipv6);
  CHECK(v6->to_string() == "[::1]:443");

  CHECK_FALSE(transport_address::from_string("", 1));
  CHECK_FALSE(transport_address::from_string("300.1.1.1", 1));
  CHECK_FALSE(transport_address::from_string("[::1]", 1));
  CHECK(transport_address{}.to_string() == "none");

  for (const auto& a : {v4, *v6}) {
    CAPTURE(a.to_string());
    sockaddr_storage ss{};
    const auto len = a.to_sockaddr(ss);
    CHECK(len == (a.family == ip_family::ipv4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    CHECK(transport_address::from_sockaddr(ss) == a);
  }
  sockaddr_storage none{};
  CHECK(transport_address{}.to_sockaddr(none) == 0);
  CHECK_FALSE(transport_address::from_sockaddr(none));
}

TEST_CASE("random transaction ids differ") {
  std::set<stun::transaction_id> seen;
  for (int i = 0; i < 100; ++i)
    seen.insert(stun::random_transaction_id());
  CHECK(seen.size() == 100);
}
