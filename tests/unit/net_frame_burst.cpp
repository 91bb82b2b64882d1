// The rest of a frame sent at once (net/frame_burst.hpp): when a receive's last datagram
// leaves a frame open, and how long the I/O thread may wait for its rest.
#include "net/frame_burst.hpp"

#include "net_media_io_util.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace media_io_test;

namespace {

// A receiver report (RFC 3550 §6.4.2): second byte 201, i.e. "payload type" 73 with the
// marker set, which RFC 5761 puts in the RTCP range.
const bytes receiver_report = {0x80, 0xC9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44};

const transport_address alice = transport_address::v4(127, 0, 0, 1, 5000);
const transport_address bob = transport_address::v4(127, 0, 0, 1, 5002);

constexpr int64_t t0 = 1'700'000'000'000'000'000; // CLOCK_REALTIME ns
constexpr int64_t us = 1000;

} // namespace

TEST_CASE("frame burst: when the last datagram leaves a frame open") {
  struct step {
    bytes packet;
    transport_address from;
    int64_t arrival;
  };
  struct row {
    const char* name;
    std::vector<step> steps;
    bool open;
  };
  const std::vector<row> rows = {
    {"two packets of one frame 3 us apart, no marker", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), alice, t0 + 3 * us}}, true},
    {"the second ends the frame (marker)", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900, 0x11223344, true), alice, t0 + 3 * us}}, false},
    {"one packet alone", {{rtp_bytes(10, 900), alice, t0}}, false},
    {"another frame (timestamp), as audio's every packet", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 1860), alice, t0 + 3 * us}}, false},
    {"a gap in the sequence", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(12, 900), alice, t0 + 3 * us}}, false},
    {"the sequence number wraps", {{rtp_bytes(65535, 900), alice, t0}, {rtp_bytes(0, 900), alice, t0 + 3 * us}}, true},
    {"another SSRC", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900, 0x55667788), alice, t0 + 3 * us}}, false},
    {"another source address", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), bob, t0 + 3 * us}}, false},
    {"paced: 30 us apart is still a burst", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), alice, t0 + 30 * us}}, true},
    {"paced: 31 us apart is not", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), alice, t0 + 31 * us}}, false},
    {"no receive stamp", {{rtp_bytes(10, 900), alice, 0}, {rtp_bytes(11, 900), alice, 0}}, false},
    {"stamps out of order", {{rtp_bytes(10, 900), alice, t0 + 5 * us}, {rtp_bytes(11, 900), alice, t0}}, false},
    {"an RTCP packet between changes nothing", {{rtp_bytes(10, 900), alice, t0}, {receiver_report, alice, t0 + 2 * us}, {rtp_bytes(11, 900), alice, t0 + 4 * us}}, true},
    {"an RTCP packet last keeps it open", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), alice, t0 + 2 * us}, {receiver_report, bob, t0 + 4 * us}}, true},
    {"a STUN request last keeps it open", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), alice, t0 + 2 * us}, {binding_request("srv:cli"), bob, t0 + 4 * us}}, true},
    {"another publisher's packet last closes it", {{rtp_bytes(10, 900), alice, t0}, {rtp_bytes(11, 900), alice, t0 + 2 * us}, {rtp_bytes(500, 7, 0x99), bob, t0 + 4 * us}}, false},
    {"too short for RTP", {{rtp_bytes(10, 900), alice, t0}, {bytes{0x80, 0x60, 0x00}, alice, t0 + 2 * us}}, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    frame_burst b;
    for (const auto& s : r.steps)
      b.on_datagram(s.packet, s.from, s.arrival);
    CHECK(b.open() == r.open);
  }
}

TEST_CASE("frame burst: the wait ends max_gap_ns after the last arrival") {
  frame_burst b;
  b.on_datagram(rtp_bytes(10, 900), alice, t0);
  b.on_datagram(rtp_bytes(11, 900), alice, t0 + 2 * us);
  REQUIRE(b.open());
  CHECK(b.wait_until_ns() == t0 + 32 * us);
  CHECK(b.should_wait(t0 + 5 * us));
  CHECK(b.should_wait(t0 + 31 * us));
  CHECK_FALSE(b.should_wait(t0 + 32 * us)); // due already: the rest is not coming at once
  CHECK_FALSE(b.should_wait(t0 + 500 * us));
  CHECK_FALSE(b.should_wait(t0 - 100 * us)); // a stamp from the future (clock stepped back)

  // A wait is reported; the burst is closed until a datagram opens it again.
  b.waited(t0 + 5 * us, t0 + 9 * us, true);
  CHECK(b.waits() == 1);
  CHECK(b.joined() == 1);
  CHECK_FALSE(b.open());
  CHECK_FALSE(b.should_wait(t0 + 10 * us));
  b.on_datagram(rtp_bytes(12, 900), alice, t0 + 8 * us);
  CHECK(b.open());
  CHECK(b.should_wait(t0 + 10 * us));
  b.waited(t0 + 10 * us, t0 + 38 * us, false);
  CHECK(b.waits() == 2);
  CHECK(b.joined() == 1);
}

TEST_CASE("frame burst: waits take at most a share of the time") {
  // 1/50 of the time, saved up to 100 us: a sender that keeps every burst open gets a
  // wait only as the budget allows, however often it asks.
  frame_burst b({.max_gap_ns = 30 * us, .budget_share = 50, .max_budget_ns = 100 * us});
  uint16_t seq = 0;
  int64_t now = t0;
  int64_t waited_ns = 0;
  int waits = 0, refused = 0;
  for (int i = 0; i < 1000; ++i) { // every 40 us: 40 ms in all
    b.on_datagram(rtp_bytes(seq, 900), alice, now);
    b.on_datagram(rtp_bytes(uint16_t(seq + 1), 900), alice, now + 1 * us);
    seq = uint16_t(seq + 2);
    if (b.should_wait(now + 2 * us)) {
      b.waited(now + 2 * us, now + 31 * us, false); // the whole gap, for nothing
      waited_ns += 29 * us;
      ++waits;
    } else {
      ++refused;
    }
    now += 40 * us;
  }
  // Saved 100 us to start with, plus 40 ms / 50 = 800 us: at most 900 us of waiting.
  CHECK(waited_ns <= 900 * us + 29 * us);
  CHECK(waits >= 25);
  CHECK(refused > 900);

  SUBCASE("off: max_gap_ns 0") {
    frame_burst off({.max_gap_ns = 0});
    off.on_datagram(rtp_bytes(10, 900), alice, t0);
    off.on_datagram(rtp_bytes(11, 900), alice, t0);
    CHECK_FALSE(off.open());
    CHECK_FALSE(off.should_wait(t0));
  }
}
