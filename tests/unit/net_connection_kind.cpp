// What a connection to the signaling port carries, by its first bytes (net/connection_kind).
#include "net/connection_kind.hpp"

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using chorus::net::classify_connection;
using chorus::net::connection_kind;

namespace {

std::vector<uint8_t> text(std::string_view s) { return {s.begin(), s.end()}; }

// RFC 5769 section 2.1, the sample request's header: a binding request of 88 bytes of
// attributes.
const std::vector<uint8_t> rfc5769_request_head = {0x00, 0x01, 0x00, 0x58, 0x21, 0x12,
                                                   0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01};

std::vector<uint8_t> framed(std::vector<uint8_t> stun, uint16_t frame_length) {
  stun.insert(stun.begin(), {uint8_t(frame_length >> 8), uint8_t(frame_length)});
  return stun;
}

} // namespace

TEST_CASE("connection kind table") {
  struct tcase {
    const char* name;
    std::vector<uint8_t> head;
    connection_kind expected;
  };
  auto allocate = rfc5769_request_head;
  allocate[1] = 0x03; // TURN Allocate request (RFC 8656), the first thing a TURN client sends
  auto indication = rfc5769_request_head;
  indication[1] = 0x16; // Send indication: class bits 01
  auto response = rfc5769_request_head;
  response[0] = 0x01; // binding success response: class bits 10
  auto odd_length = rfc5769_request_head;
  odd_length[3] = 0x57;
  auto framed_allocate = framed(allocate, 108);
  const auto framed_request = framed(rfc5769_request_head, 108);
  const std::vector<tcase> cases{
    {"nothing yet", {}, connection_kind::undecided},
    {"GET request line", text("GET /socket?auth=a HTTP/1.1\r\n"), connection_kind::http},
    {"one letter", text("P"), connection_kind::http},
    {"OPTIONS", text("OPTIONS * HTTP/1.1\r\n"), connection_kind::http},
    {"TLS 1.2 ClientHello record", {0x16, 0x03, 0x01, 0x02, 0x00, 0x01}, connection_kind::tls},
    {"TLS record, first byte only", {0x16}, connection_kind::undecided},
    {"0x16 without version 3", {0x16, 0x02, 0x00}, connection_kind::other},
    {"TURN Allocate", allocate, connection_kind::turn},
    {"STUN binding request (RFC 5769)", rfc5769_request_head, connection_kind::turn},
    {"STUN header short of the cookie", {rfc5769_request_head.begin(), rfc5769_request_head.begin() + 7},
     connection_kind::undecided},
    {"STUN indication", indication, connection_kind::other},
    {"STUN response", response, connection_kind::other},
    {"STUN length not a multiple of 4", odd_length, connection_kind::other},
    {"RFC 4571 frame of the RFC 5769 request", framed(rfc5769_request_head, 108),
     connection_kind::ice_tcp},
    {"framed request, 9 bytes", {framed_request.begin(), framed_request.begin() + 9},
     connection_kind::undecided},
    {"frame length disagrees with STUN's", framed(rfc5769_request_head, 100), connection_kind::other},
    {"framed Allocate (not a binding request)", framed_allocate, connection_kind::other},
    {"ChannelData", {0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4}, connection_kind::other},
    {"zeros", std::vector<uint8_t>(16, 0), connection_kind::other},
    {"lower-case method", text("get / HTTP/1.1"), connection_kind::other},
    {"SSH banner", text("SSH-2.0-OpenSSH"), connection_kind::http},
  };
  for (const auto& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    CHECK(classify_connection(c.head) == c.expected);
  }
}

TEST_CASE("connection kind: ten bytes always decide") {
  // Every head of ten bytes whose first byte could begin STUN or a frame is decided.
  for (unsigned b0 = 0; b0 < 256; ++b0)
    for (unsigned b1 : {0u, 1u, 3u, 0x6cu, 0xffu}) {
      std::vector<uint8_t> head(chorus::net::connection_kind_head_bytes, 0);
      head[0] = uint8_t(b0);
      head[1] = uint8_t(b1);
      CHECK(classify_connection(head) != connection_kind::undecided);
    }
}
