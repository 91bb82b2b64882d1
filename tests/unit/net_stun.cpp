// STUN (RFC 5389) parsing and verification against the RFC 5769 test vectors, and the
// failure cases: corrupted FINGERPRINT and MESSAGE-INTEGRITY, truncation at every length,
// bad lengths, attributes running past the end, unknown comprehension-required attributes.
#include "net/stun.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

// ---- RFC 5769 test vectors (sections 2.1 to 2.3), byte for byte ------------------------
constexpr const char* rfc5769_password = "VOkJxbRl1RmTxUk/WvJxBt";

// 2.1 Sample Request (USERNAME padded with spaces, as the RFC does).
const std::vector<uint8_t> rfc5769_request{
  0x00, 0x01, 0x00, 0x58, // Binding request, length 88
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // transaction id
  0xbc, 0x34, 0xd6, 0x86, //
  0xfa, 0x87, 0xdf, 0xae, //
  0x80, 0x22, 0x00, 0x10, // SOFTWARE, 16 bytes
  0x53, 0x54, 0x55, 0x4e, // "STUN test client"
  0x20, 0x74, 0x65, 0x73, //
  0x74, 0x20, 0x63, 0x6c, //
  0x69, 0x65, 0x6e, 0x74, //
  0x00, 0x24, 0x00, 0x04, // PRIORITY
  0x6e, 0x00, 0x01, 0xff, //   0x6e0001ff
  0x80, 0x29, 0x00, 0x08, // ICE-CONTROLLED
  0x93, 0x2f, 0xf9, 0xb1, //   tie-breaker 0x932ff9b151263b36
  0x51, 0x26, 0x3b, 0x36, //
  0x00, 0x06, 0x00, 0x09, // USERNAME, 9 bytes
  0x65, 0x76, 0x74, 0x6a, //   "evtj:h6vY" + 3 bytes of padding (spaces)
  0x3a, 0x68, 0x36, 0x76, //
  0x59, 0x20, 0x20, 0x20, //
  0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY (offset 76)
  0x9a, 0xea, 0xa7, 0x0c, //
  0xbf, 0xd8, 0xcb, 0x56, //
  0x78, 0x1e, 0xf2, 0xb5, //
  0xb2, 0xd3, 0xf2, 0x49, //
  0xc1, 0xb5, 0x71, 0xa2, //
  0x80, 0x28, 0x00, 0x04, // FINGERPRINT
  0xe5, 0x7a, 0x3b, 0xcf, //
};

// 2.2 Sample IPv4 Response: XOR-MAPPED-ADDRESS 192.0.2.1:32853.
const std::vector<uint8_t> rfc5769_response_ipv4{
  0x01, 0x01, 0x00, 0x3c, // Binding success response, length 60
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // transaction id
  0xbc, 0x34, 0xd6, 0x86, //
  0xfa, 0x87, 0xdf, 0xae, //
  0x80, 0x22, 0x00, 0x0b, // SOFTWARE, 11 bytes
  0x74, 0x65, 0x73, 0x74, //   "test vector" + 1 byte of padding (space)
  0x20, 0x76, 0x65, 0x63, //
  0x74, 0x6f, 0x72, 0x20, //
  0x00, 0x20, 0x00, 0x08, // XOR-MAPPED-ADDRESS (offset 36)
  0x00, 0x01, 0xa1, 0x47, //   IPv4, port 32853 ^ 0x2112
  0xe1, 0x12, 0xa6, 0x43, //   192.0.2.1 ^ cookie
  0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY
  0x2b, 0x91, 0xf5, 0x99, //
  0xfd, 0x9e, 0x90, 0xc3, //
  0x8c, 0x74, 0x89, 0xf9, //
  0x2a, 0xf9, 0xba, 0x53, //
  0xf0, 0x6b, 0xe7, 0xd7, //
  0x80, 0x28, 0x00, 0x04, // FINGERPRINT
  0xc0, 0x7d, 0x4c, 0x96, //
};

// 2.3 Sample IPv6 Response: XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const std::vector<uint8_t> rfc5769_response_ipv6{
  0x01, 0x01, 0x00, 0x48, // Binding success response, length 72
  0x21, 0x12, 0xa4, 0x42, // magic cookie
  0xb7, 0xe7, 0xa7, 0x01, // transaction id
  0xbc, 0x34, 0xd6, 0x86, //
  0xfa, 0x87, 0xdf, 0xae, //
  0x80, 0x22, 0x00, 0x0b, // SOFTWARE, 11 bytes
  0x74, 0x65, 0x73, 0x74, //   "test vector" + padding
  0x20, 0x76, 0x65, 0x63, //
  0x74, 0x6f, 0x72, 0x20, //
  0x00, 0x20, 0x00, 0x14, // XOR-MAPPED-ADDRESS (offset 36)
  0x00, 0x02, 0xa1, 0x47, //   IPv6, port 32853 ^ 0x2112
  0x01, 0x13, 0xa9, 0xfa, //   address ^ (cookie || transaction id)
  0xa5, 0xd3, 0xf1, 0x79, //
  0xbc, 0x25, 0xf4, 0xb5, //
  0xbe, 0xd2, 0xb9, 0xd9, //
  0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY
  0xa3, 0x82, 0x95, 0x4e, //
  0x4b, 0xe6, 0x7b, 0xf1, //
  0x17, 0x84, 0xc9, 0x7c, //
  0x82, 0x92, 0xc2, 0x75, //
  0xbf, 0xe3, 0xed, 0x41, //
  0x80, 0x28, 0x00, 0x04, // FINGERPRINT
  0xc8, 0xfb, 0x0b, 0x4c, //
};

std::span<const uint8_t> bytes_of(const std::vector<uint8_t>& v) {
  return {v.data(), v.size()};
}

stun::transaction_id vector_tid() {
  return {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
}

// Recomputes the trailing FINGERPRINT after a test changed the bytes it covers, so that a
// test of MESSAGE-INTEGRITY is not stopped by the fingerprint first.
void refingerprint(std::vector<uint8_t>& m) {
  const std::size_t at = m.size() - 8;
  const uint32_t crc = stun::crc32({m.data(), at}) ^ stun::fingerprint_xor;
  m[at + 4] = uint8_t(crc >> 24);
  m[at + 5] = uint8_t(crc >> 16);
  m[at + 6] = uint8_t(crc >> 8);
  m[at + 7] = uint8_t(crc);
}

// A header (type, length as given, cookie, transaction id 1..12) followed by `body`.
std::vector<uint8_t> message_with(uint16_t type, std::vector<uint8_t> body,
                                  int length = -1) {
  const auto len = uint16_t(length < 0 ? int(body.size()) : length);
  std::vector<uint8_t> m{uint8_t(type >> 8), uint8_t(type), uint8_t(len >> 8), uint8_t(len),
                         0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

constexpr uint16_t binding_request_type = 0x0001;

} // namespace

TEST_CASE("RFC 5769 2.1 sample request: parse, integrity, fingerprint") {
  auto r = stun::parse(bytes_of(rfc5769_request));
  REQUIRE(r.ok());
  const auto& m = r.msg;
  CHECK(m.cls == stun::message_class::request);
  CHECK(m.method == stun::method_binding);
  CHECK(m.tid == vector_tid());
  REQUIRE(m.username);
  CHECK(*m.username == "evtj:h6vY"); // padding (spaces) stripped
  CHECK(m.priority == 0x6e0001ffu);
  CHECK(m.ice_controlled == 0x932ff9b151263b36ull);
  CHECK_FALSE(m.ice_controlling);
  CHECK_FALSE(m.use_candidate);
  CHECK_FALSE(m.xor_mapped_address);
  CHECK(m.unknown_required.empty()); // SOFTWARE is comprehension-optional
  CHECK(m.integrity_offset == std::size_t{76});
  CHECK(m.has_fingerprint);
  CHECK(stun::verify_integrity(bytes_of(rfc5769_request), m, rfc5769_password));
  CHECK_FALSE(stun::verify_integrity(bytes_of(rfc5769_request), m, "VOkJxbRl1RmTxUk/WvJxBu"));
  CHECK_FALSE(stun::verify_integrity(bytes_of(rfc5769_request), m, ""));
}

TEST_CASE("RFC 5769 2.2 sample IPv4 response") {
  auto r = stun::parse(bytes_of(rfc5769_response_ipv4));
  REQUIRE(r.ok());
  CHECK(r.msg.cls == stun::message_class::success_response);
  CHECK(r.msg.method == stun::method_binding);
  CHECK(r.msg.tid == vector_tid());
  REQUIRE(r.msg.xor_mapped_address);
  CHECK(*r.msg.xor_mapped_address == transport_address::v4(192, 0, 2, 1, 32853));
  CHECK(r.msg.xor_mapped_address->to_string() == "192.0.2.1:32853");
  CHECK(r.msg.has_fingerprint);
  CHECK(stun::verify_integrity(bytes_of(rfc5769_response_ipv4), r.msg, rfc5769_password));
}

TEST_CASE("RFC 5769 2.3 sample IPv6 response") {
  auto r = stun::parse(bytes_of(rfc5769_response_ipv6));
  REQUIRE(r.ok());
  CHECK(r.msg.cls == stun::message_class::success_response);
  REQUIRE(r.msg.xor_mapped_address);
  const auto expected =
    transport_address::from_string("2001:db8:1234:5678:11:2233:4455:6677", 32853);
  REQUIRE(expected);
  CHECK(*r.msg.xor_mapped_address == *expected);
  CHECK(r.msg.xor_mapped_address->to_string() ==
        "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  CHECK(r.msg.has_fingerprint);
  CHECK(stun::verify_integrity(bytes_of(rfc5769_response_ipv6), r.msg, rfc5769_password));
}

TEST_CASE("integrity failures table (fingerprint recomputed so that parsing succeeds)") {
  struct tcase {
    const char* name;
    std::size_t flip_offset; // byte XORed with 0x01; 0 = none
    const char* key;
  };
  const std::vector<tcase> cases{
    {"intact, right key (control)", 0, rfc5769_password},
    {"wrong key", 0, "wrong"},
    {"flipped transaction id byte", 9, rfc5769_password},
    {"flipped SOFTWARE byte", 25, rfc5769_password},
    {"flipped PRIORITY byte", 47, rfc5769_password},
    {"flipped USERNAME byte", 64, rfc5769_password},
    {"flipped first HMAC byte", 80, rfc5769_password},
    {"flipped last HMAC byte", 99, rfc5769_password},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto m = rfc5769_request;
    if (c.flip_offset != 0) {
      m[c.flip_offset] ^= 0x01;
      refingerprint(m);
    }
    auto r = stun::parse(bytes_of(m));
    REQUIRE(r.ok());
    const bool control = c.flip_offset == 0 && std::string{c.key} == rfc5769_password;
    CHECK(stun::verify_integrity(bytes_of(m), r.msg, c.key) == control);
  }
}

TEST_CASE("integrity: a message without MESSAGE-INTEGRITY never verifies") {
  auto m = message_with(binding_request_type, {});
  auto r = stun::parse(bytes_of(m));
  REQUIRE(r.ok());
  CHECK_FALSE(r.msg.integrity_offset);
  CHECK_FALSE(stun::verify_integrity(bytes_of(m), r.msg, rfc5769_password));
}

TEST_CASE("parse failures table") {
  struct tcase {
    const char* name;
    std::vector<uint8_t> bytes;
    stun::parse_error error;
  };
  auto corrupt = [](std::vector<uint8_t> m, std::size_t at, uint8_t x) {
    m[at] ^= x;
    return m;
  };
  auto with_trailer = rfc5769_request; // FINGERPRINT followed by a SOFTWARE attribute
  with_trailer.insert(with_trailer.end(), {0x80, 0x22, 0x00, 0x00});
  with_trailer[3] += 4;

  const std::vector<tcase> cases{
    {"empty", {}, stun::parse_error::too_short},
    {"19 bytes", std::vector<uint8_t>(rfc5769_request.begin(), rfc5769_request.begin() + 19),
     stun::parse_error::too_short},
    {"leading bits 11 (RTP-like)", corrupt(rfc5769_request, 0, 0xC0),
     stun::parse_error::not_stun},
    {"bad magic cookie", corrupt(rfc5769_request, 4, 0x01), stun::parse_error::bad_cookie},
    {"length 3: not a multiple of 4", message_with(binding_request_type, {0, 0, 0}),
     stun::parse_error::bad_length},
    {"length 8 but 4 bytes follow",
     message_with(binding_request_type, {0x80, 0x22, 0x00, 0x00}, 8),
     stun::parse_error::length_mismatch},
    {"length 0 but 4 bytes follow",
     message_with(binding_request_type, {0x80, 0x22, 0x00, 0x00}, 0),
     stun::parse_error::length_mismatch},
    {"attribute length runs past the end",
     // SOFTWARE claiming 16 bytes of value with 4 present
     message_with(binding_request_type, {0x80, 0x22, 0x00, 0x10, 'a', 'b', 'c', 'd'}),
     stun::parse_error::truncated_attribute},
    {"attribute padding runs past the end",
     // USERNAME of 5 bytes needs 8 with padding; 4 present
     message_with(binding_request_type, {0x00, 0x06, 0x00, 0x05, 'a', ':', 'b', 'c'}),
     stun::parse_error::truncated_attribute},
    {"PRIORITY of 2 bytes",
     message_with(binding_request_type, {0x00, 0x24, 0x00, 0x02, 0x01, 0x02, 0x00, 0x00}),
     stun::parse_error::bad_attribute},
    {"USE-CANDIDATE with a value",
     message_with(binding_request_type, {0x00, 0x25, 0x00, 0x04, 0, 0, 0, 0}),
     stun::parse_error::bad_attribute},
    {"ICE-CONTROLLING of 4 bytes",
     message_with(binding_request_type, {0x80, 0x2A, 0x00, 0x04, 0, 0, 0, 1}),
     stun::parse_error::bad_attribute},
    {"MESSAGE-INTEGRITY of 16 bytes",
     message_with(binding_request_type,
                  {0x00, 0x08, 0x00, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}),
     stun::parse_error::bad_attribute},
    {"XOR-MAPPED-ADDRESS family 3",
     message_with(binding_request_type,
                  {0x00, 0x20, 0x00, 0x08, 0x00, 0x03, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43}),
     stun::parse_error::bad_attribute},
    {"XOR-MAPPED-ADDRESS IPv4 family with IPv6 length",
     message_with(binding_request_type,
                  {0x00, 0x20, 0x00, 0x0C, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43, 0, 0,
                   0, 0}),
     stun::parse_error::bad_attribute},
    {"ERROR-CODE class 2",
     message_with(0x0111, {0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x02, 0x00}),
     stun::parse_error::bad_attribute},
    {"ERROR-CODE number 100",
     message_with(0x0111, {0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 100}),
     stun::parse_error::bad_attribute},
    {"FINGERPRINT of 8 bytes",
     message_with(binding_request_type, {0x80, 0x28, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0}),
     stun::parse_error::bad_attribute},
    {"FINGERPRINT not last", with_trailer, stun::parse_error::fingerprint_not_last},
    {"corrupted FINGERPRINT value", corrupt(rfc5769_request, 107, 0x01),
     stun::parse_error::bad_fingerprint},
    {"corrupted byte under FINGERPRINT", corrupt(rfc5769_response_ipv4, 30, 0x20),
     stun::parse_error::bad_fingerprint},
    {"corrupted IPv6 response", corrupt(rfc5769_response_ipv6, 45, 0x80),
     stun::parse_error::bad_fingerprint},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = stun::parse(bytes_of(c.bytes));
    CHECK(r.error == c.error);
    CHECK_FALSE(r.ok());
    CHECK(stun::to_string(r.error) != "none");
  }
}

TEST_CASE("truncated messages at every length fail without crashing") {
  const std::vector<const std::vector<uint8_t>*> vectors{
    &rfc5769_request, &rfc5769_response_ipv4, &rfc5769_response_ipv6};
  for (const auto* v : vectors) {
    for (std::size_t n = 0; n < v->size(); ++n) {
      CAPTURE(n);
      std::vector<uint8_t> cut(v->begin(), v->begin() + std::ptrdiff_t(n));
      CHECK_FALSE(stun::parse(bytes_of(cut)).ok());
      // The same cut with the header length made consistent exercises the attribute walk:
      // it must fail, or succeed without the (cut off) fingerprint.
      if (n >= stun::header_size) {
        cut[2] = uint8_t((n - stun::header_size) >> 8);
        cut[3] = uint8_t(n - stun::header_size);
        auto r = stun::parse(bytes_of(cut));
        CHECK((!r.ok() || !r.msg.has_fingerprint));
        if (r.ok())
          CHECK((n - stun::header_size) % 4 == 0);
      }
    }
  }
}

TEST_CASE("random corruption of the RFC 5769 vectors: no crash, integrity never fooled") {
  std::mt19937 rng{5769}; // fixed seed: the same cases on every run
  const std::vector<const std::vector<uint8_t>*> vectors{
    &rfc5769_request, &rfc5769_response_ipv4, &rfc5769_response_ipv6};
  int parsed = 0;
  for (int i = 0; i < 6000; ++i) {
    const auto& original = *vectors[std::size_t(i) % vectors.size()];
    const std::size_t integrity_end = *stun::parse(bytes_of(original)).msg.integrity_offset +
                                      stun::attribute_header_size + stun::integrity_size;
    auto m = original;
    const int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f)
      m[rng() % m.size()] ^= uint8_t(1 + rng() % 255);
    if (i % 2 == 0)
      refingerprint(m); // let the corruption reach the attribute walk and the HMAC
    auto r = stun::parse(bytes_of(m));
    if (!r.ok())
      continue;
    ++parsed;
    // MESSAGE-INTEGRITY verifies exactly when nothing it covers was changed.
    const bool covered_changed =
      !std::equal(m.begin(), m.begin() + std::ptrdiff_t(integrity_end), original.begin());
    CAPTURE(i);
    CHECK(stun::verify_integrity(bytes_of(m), r.msg, rfc5769_password) == !covered_changed);
  }
  CHECK(parsed > 100);
}

TEST_CASE("unknown comprehension-required attributes are reported, optional ones ignored") {
  stun::builder b{stun::message_class::request, stun::method_binding, vector_tid()};
  const std::vector<uint8_t> value{1, 2, 3};
  b.add_raw(0x7FFF, value).add_raw(0xC001, value).add_raw(0x0030, {}).add_raw(0x7FFF, value);
  b.add_fingerprint();
  auto r = stun::parse(bytes_of(b.bytes()));
  REQUIRE(r.ok());
  CHECK(r.msg.unknown_required == std::vector<uint16_t>{0x7FFF, 0x0030});
}

TEST_CASE("attributes after MESSAGE-INTEGRITY are ignored, integrity still verifies") {
  stun::builder b{stun::message_class::request, stun::method_binding, vector_tid()};
  b.add_username("a:b").add_message_integrity("pw").add_priority(7).add_raw(0x7FFF, {});
  b.add_fingerprint();
  auto r = stun::parse(bytes_of(b.bytes()));
  REQUIRE(r.ok());
  CHECK_FALSE(r.msg.priority);
  CHECK(r.msg.unknown_required.empty());
  CHECK(stun::verify_integrity(bytes_of(b.bytes()), r.msg, "pw"));
}

TEST_CASE("a repeated attribute: the first one counts") {
  stun::builder b{stun::message_class::request, stun::method_binding, vector_tid()};
  b.add_username("first:x").add_username("second:y").add_priority(1).add_priority(2);
  auto r = stun::parse(bytes_of(b.bytes()));
  REQUIRE(r.ok());
  CHECK(r.msg.username == "first:x");
  CHECK(r.msg.priority == 1u);
}

TEST_CASE("is_stun demultiplexing table (RFC 7983)") {
  struct tcase {
    const char* name;
    std::vector<uint8_t> bytes;
    bool stun;
  };
  auto prefix = [](uint8_t first) {
    auto m = rfc5769_request;
    m[0] = first;
    return m;
  };
  const std::vector<tcase> cases{
    {"RFC 5769 request", rfc5769_request, true},
    {"RFC 5769 IPv4 response", rfc5769_response_ipv4, true},
    {"first byte 3, cookie", prefix(3), true},
    {"first byte 4", prefix(4), false},
    {"DTLS handshake (22)", prefix(22), false},
    {"RTP (128)", prefix(128), false},
    {"19 bytes", std::vector<uint8_t>(rfc5769_request.begin(), rfc5769_request.begin() + 19),
     false},
    {"header only", message_with(binding_request_type, {}), true},
    {"empty", {}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(stun::is_stun(bytes_of(c.bytes)) == c.stun);
  }
  auto no_cookie = rfc5769_request;
  no_cookie[7] = 0x43;
  CHECK_FALSE(stun::is_stun(bytes_of(no_cookie)));
}

TEST_CASE("CRC-32 check value") {
  const std::string check = "123456789";
  CHECK(stun::crc32({reinterpret_cast<const uint8_t*>(check.data()), check.size()}) ==
        0xCBF43926u);
  CHECK(stun::crc32({}) == 0u);
}

TEST_CASE("message type encoding table (RFC 5389 section 6)") {
  struct tcase {
    const char* name;
    stun::message_class cls;
    uint16_t method;
    uint16_t type;
  };
  const std::vector<tcase> cases{
    {"binding request", stun::message_class::request, stun::method_binding, 0x0001},
    {"binding indication", stun::message_class::indication, stun::method_binding, 0x0011},
    {"binding success", stun::message_class::success_response, stun::method_binding, 0x0101},
    {"binding error", stun::message_class::error_response, stun::method_binding, 0x0111},
    {"allocate request (TURN)", stun::message_class::request, 0x003, 0x0003},
    {"highest method, error", stun::message_class::error_response, 0xFFF, 0x3FFF},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(stun::message_type(c.cls, c.method) == c.type);
    auto m = message_with(c.type, {});
    auto r = stun::parse(bytes_of(m));
    REQUIRE(r.ok());
    CHECK(r.msg.cls == c.cls);
    CHECK(r.msg.method == c.method);
  }
}
