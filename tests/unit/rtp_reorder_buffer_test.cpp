// reorder_buffer: the recorder's sequence-order stage in front of its VP9 depacketizer.
// Each packet's bytes are its sequence number, so what comes out names itself.
#include "rtp/reorder_buffer.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using chorus::rtp::reorder_buffer;

namespace {

struct harness {
  reorder_buffer buf;
  std::vector<uint16_t> out;
  harness(std::size_t capacity = 64, int64_t wait = 100) : buf(capacity, wait) {}
  void push(uint16_t seq, int64_t now = 0) {
    const uint8_t bytes[2] = {uint8_t(seq >> 8), uint8_t(seq)};
    buf.push(seq, bytes, now, [this](std::span<const uint8_t> p) { out.push_back(uint16_t((p[0] << 8) | p[1])); });
  }
  void expire(int64_t now, bool all = false) {
    buf.expire(now, [this](std::span<const uint8_t> p) { out.push_back(uint16_t((p[0] << 8) | p[1])); }, all);
  }
};

struct step {
  char op;      // 'p': push seq at t; 'e': expire at t; 'a': expire everything
  uint16_t seq; // for 'p'
  int64_t t;
};

struct table_case {
  const char* name;
  std::size_t capacity;
  std::vector<step> steps;
  std::vector<uint16_t> out;
  uint64_t lost, late, reordered, duplicates;
  std::size_t waiting;
};

} // namespace

TEST_CASE("reorder_buffer: table") {
  const std::vector<table_case> cases = {
    {"in order: each packet at once", 64, {{'p', 1, 0}, {'p', 2, 0}, {'p', 3, 0}}, {1, 2, 3}, 0, 0, 0, 0, 0},
    {"a repair fills the gap: the packets behind it follow it", 64,
     {{'p', 1, 0}, {'p', 2, 0}, {'p', 4, 5}, {'p', 5, 10}, {'p', 3, 40}}, {1, 2, 3, 4, 5}, 0, 0, 1, 0, 0},
    {"a gap held while the packets behind it wait less than max_wait", 64,
     {{'p', 1, 0}, {'p', 3, 0}, {'e', 0, 99}}, {1}, 0, 0, 0, 0, 1},
    {"a gap given up when the oldest packet behind it waited max_wait; its packet comes late", 64,
     {{'p', 1, 0}, {'p', 3, 0}, {'p', 4, 50}, {'e', 0, 100}, {'p', 2, 120}}, {1, 3, 4}, 1, 1, 0, 0, 0},
    {"two gaps: the second waits its own time", 64,
     {{'p', 1, 0}, {'p', 3, 0}, {'p', 5, 80}, {'e', 0, 100}, {'e', 0, 179}, {'e', 0, 180}}, {1, 3, 5}, 2, 0, 0, 0, 0},
    {"across the wrap of the sequence numbers", 64,
     {{'p', 65534, 0}, {'p', 65535, 0}, {'p', 1, 0}, {'p', 0, 1}}, {65534, 65535, 0, 1}, 0, 0, 1, 0, 0},
    {"a repeat of a waiting packet and of a handed-on one", 64,
     {{'p', 1, 0}, {'p', 3, 0}, {'p', 3, 1}, {'p', 1, 2}, {'p', 2, 3}}, {1, 2, 3}, 0, 1, 1, 1, 0},
    {"beyond the buffer's reach with nothing waiting: the jump is lost", 8,
     {{'p', 1, 0}, {'p', 20, 0}}, {1, 20}, 18, 0, 0, 0, 0},
    {"beyond the buffer's reach with packets waiting: the gap is given up to make room", 8,
     {{'p', 1, 0}, {'p', 3, 0}, {'p', 12, 0}}, {1, 3, 12}, 1 + 8, 0, 0, 0, 0},
    {"the end: everything waiting is handed on", 64,
     {{'p', 1, 0}, {'p', 4, 0}, {'p', 6, 0}, {'a', 0, 1}}, {1, 4, 6}, 3, 0, 0, 0, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    harness h(c.capacity);
    for (const auto& s : c.steps) {
      if (s.op == 'p')
        h.push(s.seq, s.t);
      else
        h.expire(s.t, s.op == 'a');
    }
    CHECK(h.out == c.out);
    CHECK(h.buf.stats().lost == c.lost);
    CHECK(h.buf.stats().late == c.late);
    CHECK(h.buf.stats().reordered == c.reordered);
    CHECK(h.buf.stats().duplicates == c.duplicates);
    CHECK(h.buf.waiting() == c.waiting);
  }
}

TEST_CASE("reorder_buffer: a sender that started over is followed after a run of late packets") {
  harness h;
  h.push(1000);
  for (uint16_t s = 10; s < 10 + 64; ++s)
    h.push(s); // all before 1001: late
  CHECK(h.out == std::vector<uint16_t>{1000});
  CHECK(h.buf.stats().late == 64);
  h.push(74); // the 65th in a row: the stream is taken to start over here
  h.push(75);
  CHECK(h.out == std::vector<uint16_t>{1000, 74, 75});
}

TEST_CASE("reorder_buffer: a long stream with every 20th packet repaired 5 packets late loses nothing") {
  harness h(64, 200);
  std::vector<uint16_t> expected;
  int64_t t = 0;
  std::vector<uint16_t> held;
  for (uint32_t i = 0; i < 70000; ++i) { // wraps the sequence numbers
    const auto seq = uint16_t(i + 60000);
    expected.push_back(seq);
    t += 1;
    if (i % 20 == 7) {
      held.push_back(seq);
      continue;
    }
    h.push(seq, t);
    if (i % 20 == 12) { // five later: the repair
      for (auto s : held)
        h.push(s, t);
      held.clear();
    }
    h.expire(t);
  }
  CHECK(h.out == expected);
  CHECK(h.buf.stats().lost == 0);
  CHECK(h.buf.stats().reordered == 3500);
}

TEST_CASE("reorder_buffer: repairs that come after their gap was given up are late, not a restart") {
  harness h(256, 100);
  h.push(1, 0);
  for (uint16_t s = 102; s < 112; ++s)
    h.push(s, 0); // 2..101 lost in a burst: held
  CHECK(h.out.size() == 1);
  h.expire(100);  // given up
  for (uint16_t s = 2; s < 102; ++s)
    h.push(s, 150); // the burst's repairs, 100 late in a row, all within the buffer's reach
  h.push(112, 160);
  CHECK(h.buf.stats().late == 100);
  CHECK(h.out.back() == 112);
  CHECK(h.out.size() == 12); // 1, 102..111, 112: nothing thrown away, no restart
}
