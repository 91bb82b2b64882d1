// Retransmission buffer: lookup across the wrap, eviction, age bound, per-seq rate limit,
// shared packet handles.
#include "rtp/retransmission_buffer.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace chorus::rtp;

namespace {

shared_packet packet_for(uint16_t seq) {
  const uint8_t b[] = {0x80, 0x60, uint8_t(seq >> 8), uint8_t(seq), 0, 0, 0, 0, 0, 0, 0, 1};
  return make_shared_packet(b);
}

std::vector<uint16_t> resend_seqs(retransmission_buffer& rb, std::vector<uint16_t> nacked,
                                  int64_t now, int64_t rtt = 100) {
  std::vector<stored_packet> out;
  rb.on_nack(nacked, now, rtt, out);
  std::vector<uint16_t> seqs;
  for (auto& p : out) seqs.push_back(p.seq);
  return seqs;
}

} // namespace

TEST_CASE("retransmission_buffer: answers NACKs across the 65535 -> 0 wrap") {
  retransmission_buffer rb({8, 1000, 10});
  for (uint16_t s : {uint16_t(65533), uint16_t(65534), uint16_t(65535), uint16_t(0),
                     uint16_t(1)})
    rb.insert(s, 1000u + s, packet_for(s), 0);
  std::vector<stored_packet> out;
  const std::vector<uint16_t> nacked = {65535, 0, 1, 2};
  rb.on_nack(nacked, 10, 100, out);
  REQUIRE(out.size() == 3);
  CHECK(out[0].seq == 65535);
  CHECK(out[0].timestamp == 1000u + 65535u);
  CHECK((*out[0].packet)[2] == 0xff); // the stored bytes are the original packet
  CHECK(out[1].seq == 0);
  CHECK(out[2].seq == 1);
  CHECK(rb.counters().missing == 1); // 2 was never sent
}

TEST_CASE("retransmission_buffer: the ring evicts the oldest and stays bounded") {
  retransmission_buffer rb({4, 1000, 10});
  for (uint16_t s = 10; s < 20; ++s) rb.insert(s, s, packet_for(s), 0);
  CHECK(rb.capacity() == 4);
  CHECK(rb.stored() == 4);
  CHECK(resend_seqs(rb, {14, 15, 16, 17, 18, 19}, 1) == std::vector<uint16_t>{16, 17, 18, 19});
  // A late insert older than the ring is ignored; one inside it is stored.
  rb.insert(15, 15, packet_for(15), 2);
  CHECK(resend_seqs(rb, {15}, 3).empty());
}

TEST_CASE("retransmission_buffer: a jump forward clears the skipped slots") {
  retransmission_buffer rb({8, 1000, 10});
  for (uint16_t s = 0; s < 8; ++s) rb.insert(s, s, packet_for(s), 0);
  rb.insert(10, 10, packet_for(10), 1); // 8, 9 skipped (slots of 0, 1); 10 replaces 2
  CHECK(resend_seqs(rb, {0, 1, 2, 3, 8, 9, 10}, 2) == std::vector<uint16_t>{3, 10});
  // A jump of more than a lap empties everything but the new packet.
  rb.insert(1000, 1000, packet_for(1000), 3);
  CHECK(rb.stored() == 1);
}

TEST_CASE("retransmission_buffer: packets older than max age are not resent") {
  retransmission_buffer rb({512, 1000, 10});
  rb.insert(1, 1, packet_for(1), 0);
  rb.insert(2, 2, packet_for(2), 500);
  CHECK(resend_seqs(rb, {1, 2}, 1000) == std::vector<uint16_t>{1, 2});
  CHECK(resend_seqs(rb, {1, 2}, 1200) == std::vector<uint16_t>{2}); // 1 is 1200 ms old
  CHECK(rb.stored() == 1); // its slot was released
}

TEST_CASE("retransmission_buffer: the same seq is not resent within RTT/2") {
  retransmission_buffer rb({16, 10'000, 10});
  rb.insert(7, 7, packet_for(7), 0);
  CHECK(resend_seqs(rb, {7}, 100, 200) == std::vector<uint16_t>{7});
  CHECK(resend_seqs(rb, {7}, 150, 200).empty()); // 50 ms < 100 ms
  CHECK(resend_seqs(rb, {7, 7}, 199, 200).empty());
  CHECK(resend_seqs(rb, {7, 7}, 200, 200) == std::vector<uint16_t>{7}); // once per batch
  CHECK(rb.counters().rate_limited == 4);
  // Floor: with RTT ~0 the spacing is min_resend_ms.
  CHECK(resend_seqs(rb, {7}, 205, 0).empty());
  CHECK(resend_seqs(rb, {7}, 210, 0) == std::vector<uint16_t>{7});
}

TEST_CASE("retransmission_buffer: many consumers share one packet without copies") {
  const shared_packet p = packet_for(42);
  std::vector<retransmission_buffer> consumers(10, retransmission_buffer({64, 1000, 10}));
  for (uint16_t i = 0; i < consumers.size(); ++i)
    consumers[i].insert(uint16_t(1000 + i), 0, p, 0); // each consumer has its own output seq
  CHECK(p.use_count() == 11);
  std::vector<stored_packet> out;
  const std::vector<uint16_t> nacked = {1003};
  consumers[3].on_nack(nacked, 1, 100, out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].packet.get() == p.get());
  CHECK(out[0].seq == 1003);
  consumers.clear();
  out.clear();
  CHECK(p.use_count() == 1);
}

TEST_CASE("retransmission_buffer: empty buffer and long run across many wraps") {
  retransmission_buffer rb({512, 1000, 10});
  CHECK(resend_seqs(rb, {0, 1}, 0).empty());
  uint16_t s = 65000;
  for (int i = 0; i < 300'000; ++i, ++s) rb.insert(s, 0, packet_for(s), i / 100);
  const uint16_t last = uint16_t(s - 1);
  CHECK(rb.stored() == 512);
  CHECK(resend_seqs(rb, {last, uint16_t(last - 511), uint16_t(last - 512)}, 3000) ==
        std::vector<uint16_t>{last, uint16_t(last - 511)});
}

TEST_CASE("retransmission_buffer: the age and resend spacing hold across the 2^32 ms wrap") {
  // Times are kept modulo 2^32 ms in the slots: a clock crossing that boundary (about 49.7
  // days of uptime) must neither make a fresh packet look old nor an old one fresh.
  constexpr int64_t wrap = int64_t(1) << 32;
  struct row {
    const char* name;
    int64_t stored;
    int64_t nacked_at;
    bool resent;
  };
  const row rows[] = {
    {"fresh, stored before the wrap, NACKed after", wrap - 10, wrap + 5, true},
    {"fresh, both after the wrap", wrap + 3, wrap + 900, true},
    {"too old, stored before the wrap", wrap - 600, wrap + 500, false},
    {"too old, stored long before the wrap", wrap - 40000, wrap + 100, false},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    retransmission_buffer rb({8, 1000, 10});
    rb.insert(7, 70, packet_for(7), r.stored);
    CHECK(resend_seqs(rb, {7}, r.nacked_at).size() == (r.resent ? 1u : 0u));
  }
  // Resend spacing: RTT 100 ms -> 50 ms between resends of one number, across the wrap.
  retransmission_buffer rb({8, 1000, 10});
  rb.insert(9, 90, packet_for(9), wrap - 20);
  CHECK(resend_seqs(rb, {9}, wrap - 10).size() == 1);
  CHECK(resend_seqs(rb, {9}, wrap + 20).empty()); // 30 ms later
  CHECK(resend_seqs(rb, {9}, wrap + 41).size() == 1); // 51 ms later
}
