// TURN messages (net/turn_message.hpp) and credentials (net/turn_credentials.hpp): the
// RFC 5769 long-term sample checked with the key long_term_key() makes, the TURN
// attributes read back from built messages, ChannelData and the stream split at every
// length, the REST password against one made by the openssl command line.
#include "net/turn_credentials.hpp"
#include "net/turn_message.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

// RFC 5769 §2.4: a Binding request with long-term authentication (USERNAME, NONCE, REALM,
// MESSAGE-INTEGRITY; no FINGERPRINT), byte for byte.
const std::vector<uint8_t> rfc5769_long_term{
  0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, // Binding request, length 96, cookie
  0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, // transaction id
  0x29, 0xda, 0x41, 0x2e,                         //
  0x00, 0x06, 0x00, 0x12,                         // USERNAME, 18 bytes (six katakana)
  0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, //
  0xaa, 0xe3, 0x83, 0x83, 0xe3, 0x82, 0xaf, 0xe3, //
  0x82, 0xb9, 0x00, 0x00,                         //
  0x00, 0x15, 0x00, 0x1c,                         // NONCE, 28 bytes
  0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, //   "f//499k954d6OL34oL9FSTvy64sA"
  0x35, 0x34, 0x64, 0x36, 0x4f, 0x4c, 0x33, 0x34, //
  0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79, //
  0x36, 0x34, 0x73, 0x41,                         //
  0x00, 0x14, 0x00, 0x0b,                         // REALM, 11 bytes
  0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, //   "example.org"
  0x6f, 0x72, 0x67, 0x00,                         //
  0x00, 0x08, 0x00, 0x14,                         // MESSAGE-INTEGRITY
  0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, //
  0x02, 0xb8, 0xe0, 0x71, 0x2e, 0x85, 0xc9, 0xa2, //
  0x8c, 0xa8, 0x96, 0x66,                         //
};
const std::string rfc5769_username = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
const std::string rfc5769_password = "TheMatrIX"; // the RFC's password after SASLprep

stun::transaction_id tid_of(uint8_t seed) {
  stun::transaction_id t{};
  for (std::size_t i = 0; i < t.size(); ++i)
    t[i] = uint8_t(seed + i);
  return t;
}

std::vector<uint8_t> bytes_of(std::string_view s) { return {s.begin(), s.end()}; }

} // namespace

TEST_CASE("RFC 5769 2.4: realm, nonce and the long-term key check the sample") {
  auto r = turn::parse(rfc5769_long_term);
  REQUIRE(r.ok());
  CHECK(r.msg.stun.username == rfc5769_username);
  CHECK(r.msg.stun.realm == "example.org");
  CHECK(r.msg.stun.nonce == "f//499k954d6OL34oL9FSTvy64sA");
  const std::string key = long_term_key(rfc5769_username, "example.org", rfc5769_password);
  CHECK(key.size() == 16);
  CHECK(stun::verify_integrity(rfc5769_long_term, r.msg.stun, key));
  CHECK_FALSE(stun::verify_integrity(rfc5769_long_term, r.msg.stun,
                                     long_term_key(rfc5769_username, "example.org", "TheMatrix")));
}

TEST_CASE("long_term_key is MD5(username:realm:password)") {
  // md5sum of "user:example.org:pass"
  const std::vector<uint8_t> expected{0xab, 0xca, 0x35, 0x35, 0x6f, 0x4b, 0x00, 0xfb,
                                      0xc3, 0x3e, 0x2d, 0x8c, 0x2c, 0x43, 0xb9, 0xd6};
  const std::string key = long_term_key("user", "example.org", "pass");
  CHECK(std::vector<uint8_t>(key.begin(), key.end()) == expected);
}

TEST_CASE("TURN REST credentials") {
  SUBCASE("the password is base64(HMAC-SHA1(secret, username)), as openssl makes it") {
    // printf '1700000000:peer-1' | openssl dgst -sha1 -hmac north -binary | base64
    CHECK(turn_password("north", "1700000000:peer-1") == "izFBtBN0tC8mfzbn9GsbjcqtfUw=");
    CHECK(turn_password("south", "1700000000:peer-1") != "izFBtBN0tC8mfzbn9GsbjcqtfUw=");
  }
  SUBCASE("made for an id, expiring ttl seconds later") {
    auto c = make_turn_credential("north", "peer-1", 1'699'999'400, 600);
    CHECK(c.username == "1700000000:peer-1");
    CHECK(c.expires_s == 1'700'000'000);
    CHECK(c.password == "izFBtBN0tC8mfzbn9GsbjcqtfUw=");
  }
  struct expiry_case {
    const char* name;
    const char* username;
    std::optional<int64_t> expiry;
  };
  const expiry_case cases[] = {
    {"expiry and id", "1700000000:peer-1", 1'700'000'000},
    {"expiry alone", "1700000000", 1'700'000'000},
    {"an id with colons", "5:a:b", 5},
    {"no number", "peer-1", std::nullopt},
    {"empty", "", std::nullopt},
    {"empty expiry", ":peer", std::nullopt},
    {"sign", "-5:peer", std::nullopt},
    {"trailing letters", "17x:peer", std::nullopt},
    {"too large", "99999999999999999999:peer", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK(turn_username_expiry(c.username) == c.expiry);
  }
}

TEST_CASE("TURN attributes read back from a built request") {
  const auto peer4 = transport_address::v4(192, 0, 2, 15, 40000);
  const auto peer6 = *transport_address::from_string("2001:db8::7", 443);
  const std::vector<uint8_t> payload{1, 2, 3, 4, 5};
  stun::builder b{stun::message_class::request, turn::method_channel_bind, tid_of(3)};
  b.add_uint32(turn::attr::channel_number, uint32_t(0x4001) << 16)
    .add_uint32(turn::attr::lifetime, 1200)
    .add_xor_address(turn::attr::xor_peer_address, peer4)
    .add_xor_address(turn::attr::xor_peer_address, peer6)
    .add_uint32(turn::attr::requested_transport, uint32_t(turn::protocol_udp) << 24)
    .add_uint32(turn::attr::requested_address_family, uint32_t(turn::family_code_ipv6) << 24)
    .add_raw(turn::attr::dont_fragment, {})
    .add_raw(turn::attr::data, payload)
    .add_raw(0x7777, payload) // comprehension-required, known to nobody
    .add_fingerprint();
  const auto bytes = b.bytes();
  auto r = turn::parse(bytes);
  REQUIRE(r.ok());
  CHECK(r.msg.stun.method == turn::method_channel_bind);
  CHECK(r.msg.channel == 0x4001);
  CHECK(r.msg.lifetime == 1200u);
  REQUIRE(r.msg.peers.size() == 2);
  CHECK(r.msg.peers[0] == peer4);
  CHECK(r.msg.peers[1] == peer6);
  CHECK(r.msg.requested_transport == turn::protocol_udp);
  CHECK(r.msg.requested_family == turn::family_code_ipv6);
  CHECK(r.msg.dont_fragment);
  CHECK_FALSE(r.msg.even_port);
  const auto data = r.msg.data(bytes);
  CHECK(std::vector<uint8_t>(data.begin(), data.end()) == payload);
  CHECK(r.msg.unknown_required == std::vector<uint16_t>{0x7777}); // TURN's own are understood
  CHECK(r.msg.stun.unknown_required.size() > 1);
}

TEST_CASE("TURN attributes with malformed values fail the parse") {
  struct bad_case {
    const char* name;
    uint16_t type;
    std::vector<uint8_t> value;
  };
  const bad_case cases[] = {
    {"channel number of 2 bytes", turn::attr::channel_number, {0x40, 0x01}},
    {"lifetime of 8 bytes", turn::attr::lifetime, std::vector<uint8_t>(8, 0)},
    {"peer address of family 3", turn::attr::xor_peer_address, {0, 3, 0, 0, 1, 2, 3, 4}},
    {"peer address too short", turn::attr::xor_peer_address, {0, 1, 0, 0, 1, 2}},
    {"requested transport of 1 byte", turn::attr::requested_transport, {17}},
    {"even port of 4 bytes", turn::attr::even_port, {0x80, 0, 0, 0}},
    {"dont fragment with a value", turn::attr::dont_fragment, {1, 0, 0, 0}},
    {"reservation token of 4 bytes", turn::attr::reservation_token, {1, 2, 3, 4}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    stun::builder b{stun::message_class::request, turn::method_allocate, tid_of(1)};
    b.add_raw(c.type, c.value);
    CHECK(turn::parse(b.bytes()).error == stun::parse_error::bad_attribute);
  }
  SUBCASE("more peers than a CreatePermission may name") {
    stun::builder b{stun::message_class::request, turn::method_create_permission, tid_of(1)};
    for (std::size_t i = 0; i <= turn::max_peer_addresses; ++i)
      b.add_xor_address(turn::attr::xor_peer_address, transport_address::v4(10, 0, 0, 1, uint16_t(i)));
    CHECK(turn::parse(b.bytes()).error == stun::parse_error::bad_attribute);
  }
}

TEST_CASE("ChannelData") {
  const std::vector<uint8_t> payload{0x80, 0x60, 0x01, 0x02, 0x03};
  SUBCASE("unpadded over UDP, padded over TCP, both parse") {
    std::vector<uint8_t> udp, tcp;
    turn::append_channel_data(udp, 0x4000, payload, false);
    turn::append_channel_data(tcp, 0x4FFF, payload, true);
    CHECK(udp == std::vector<uint8_t>{0x40, 0x00, 0x00, 0x05, 0x80, 0x60, 0x01, 0x02, 0x03});
    CHECK(tcp.size() == 12);
    for (const auto* m : {&udp, &tcp}) {
      auto cd = turn::parse_channel_data(*m);
      REQUIRE(cd);
      CHECK(std::vector<uint8_t>(cd->payload.begin(), cd->payload.end()) == payload);
    }
    CHECK(turn::parse_channel_data(tcp)->channel == 0x4FFF);
  }
  struct bad_case {
    const char* name;
    std::vector<uint8_t> bytes;
  };
  const bad_case cases[] = {
    {"header only, length past the end", {0x40, 0x00, 0x00, 0x01}},
    {"more than 3 bytes after the payload", {0x40, 0x00, 0x00, 0x00, 1, 2, 3, 4}},
    {"first byte 0x50 (outside 64..79)", {0x50, 0x00, 0x00, 0x00}},
    {"first byte 0x3F", {0x3F, 0x00, 0x00, 0x00}},
    {"three bytes", {0x40, 0x00, 0x00}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK_FALSE(turn::parse_channel_data(c.bytes));
  }
}

TEST_CASE("stream_frame_size cuts a TCP stream of STUN and ChannelData at every length") {
  stun::builder b{stun::message_class::request, turn::method_refresh, tid_of(9)};
  b.add_uint32(turn::attr::lifetime, 0).add_fingerprint();
  std::vector<uint8_t> stream = b.bytes();
  const std::size_t first = stream.size();
  turn::append_channel_data(stream, 0x4002, bytes_of("hello"), true); // 4 + 8
  const std::size_t second = stream.size() - first;
  CHECK(second == 12);
  for (std::size_t n = 0; n < first; ++n) {
    auto size = turn::stream_frame_size(std::span(stream).first(n));
    REQUIRE(size);
    CHECK((*size == 0 || *size == first));
    if (n >= 8)
      CHECK(*size == first);
  }
  CHECK(turn::stream_frame_size(stream) == first);
  CHECK(turn::stream_frame_size(std::span(stream).subspan(first)) == second);
  CHECK(turn::stream_frame_size(std::span(stream).subspan(first, 3)) == 0u);

  struct broken_case {
    const char* name;
    std::vector<uint8_t> bytes;
  };
  const broken_case cases[] = {
    {"an HTTP request", bytes_of("PUT / HTTP/1.1\r\n")},
    {"a TLS record", {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01}},
    {"STUN without the cookie", {0x00, 0x01, 0x00, 0x00, 1, 2, 3, 4}},
    {"STUN with a length not a multiple of 4", {0x00, 0x01, 0x00, 0x03, 0x21, 0x12, 0xa4, 0x42}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    CHECK_FALSE(turn::stream_frame_size(c.bytes));
  }
  // "GET " is ChannelData-shaped (0x47 in 64..79): a listener that takes HTTP and TURN on
  // one port tells them apart by the first byte of the connection (STUN's is 0 or 1), not
  // with this function.
  CHECK(turn::stream_frame_size(bytes_of("GET / HTTP/1.1\r\n")) == 4u + 0x5420);
}

TEST_CASE("a Data indication carries the peer and the payload") {
  const auto peer = transport_address::v4(203, 0, 113, 9, 50000);
  const auto bytes = turn::data_indication(peer, bytes_of("media"));
  auto r = turn::parse(bytes);
  REQUIRE(r.ok());
  CHECK(r.msg.stun.cls == stun::message_class::indication);
  CHECK(r.msg.stun.method == turn::method_data);
  REQUIRE(r.msg.peers.size() == 1);
  CHECK(r.msg.peers[0] == peer);
  const auto d = r.msg.data(bytes);
  CHECK(std::string(d.begin(), d.end()) == "media");
}
