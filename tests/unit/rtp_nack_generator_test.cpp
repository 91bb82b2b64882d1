// NACK generator: loss detection across the wrap, retry timing with a simulated clock,
// limits, keyframe and RTX handling.
#include "rtp/nack_generator.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace chorus::rtp;

namespace {

using seqs = std::vector<uint16_t>;

seqs feed(nack_generator& g, uint16_t seq, int64_t now, bool key = false,
          packet_origin origin = packet_origin::media) {
  seqs out;
  g.on_packet(seq, now, key, origin, out);
  return out;
}

seqs tick(nack_generator& g, int64_t now) {
  seqs out;
  g.tick(now, out);
  return out;
}

} // namespace

TEST_CASE("nack_generator: detects losses across the 65535 -> 0 wrap") {
  struct row {
    const char* name;
    std::vector<uint16_t> arrivals;
    seqs last_nack; // what the last arrival asks for
    size_t missing;
  };
  const row rows[] = {
    {"in order across the wrap", {65534, 65535, 0, 1}, {}, 0},
    {"loss of 65535 and 0", {65533, 65534, 1}, {65535, 0}, 2},
    {"loss of 0 only", {65535, 1}, {0}, 1},
    {"late packet fills the hole", {65534, 1, 0}, {}, 1},
    {"duplicate asks nothing", {10, 11, 11}, {}, 0},
    {"first packet alone", {500}, {}, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    nack_generator g;
    seqs last;
    for (auto s : r.arrivals) last = feed(g, s, 0);
    CHECK(last == r.last_nack);
    CHECK(g.missing_count() == r.missing);
  }
}

TEST_CASE("nack_generator: retries spaced by the RTT, at most max_retries times") {
  nack_config cfg;
  cfg.max_retries = 3;
  cfg.max_age_ms = 10'000;
  nack_generator g(cfg);
  feed(g, 100, 0);
  CHECK(feed(g, 102, 0) == seqs{101}); // request 1
  CHECK(tick(g, 50).empty());          // RTT (default 100 ms) not elapsed
  CHECK(tick(g, 99).empty());
  CHECK(tick(g, 100) == seqs{101});    // request 2
  g.set_rtt(40);
  CHECK(tick(g, 120).empty());
  CHECK(tick(g, 140) == seqs{101});    // request 3 (new RTT)
  CHECK(tick(g, 170).empty());
  CHECK(g.missing_count() == 1);
  CHECK(tick(g, 180).empty());         // given up after the last request's RTT
  CHECK(g.missing_count() == 0);
  CHECK(g.counters().requested == 3);
  CHECK(g.counters().abandoned == 1);
}

TEST_CASE("nack_generator: RTX or late arrival removes the entry") {
  nack_generator g;
  feed(g, 65534, 0);
  CHECK(feed(g, 2, 10) == seqs{65535, 0, 1});
  CHECK(feed(g, 0, 20, false, packet_origin::rtx).empty());
  CHECK(g.missing_count() == 2);
  CHECK(feed(g, 65535, 30).empty()); // late media packet
  CHECK(g.missing_count() == 1);
  CHECK(tick(g, 110) == seqs{1});
  CHECK(g.counters().recovered == 2);
  // An RTX packet never advances the highest number (no gap created).
  CHECK(feed(g, 50, 120, false, packet_origin::rtx).empty());
  CHECK(feed(g, 3, 130) == seqs{});
  CHECK(g.missing_count() == 1);
}

TEST_CASE("nack_generator: a keyframe clears older losses") {
  nack_generator g;
  feed(g, 10, 0);
  CHECK(feed(g, 13, 0) == seqs{11, 12});
  CHECK(feed(g, 20, 0, true).empty()); // keyframe: 11, 12 and the gap 14..19 do not matter
  CHECK(g.missing_count() == 0);
  CHECK(feed(g, 22, 0) == seqs{21});   // later losses are still asked for
  // A keyframe across the wrap.
  nack_generator w;
  feed(w, 65530, 0);
  CHECK(feed(w, 65533, 0).size() == 2);
  CHECK(feed(w, 3, 0, true).empty());
  CHECK(w.missing_count() == 0);
}

TEST_CASE("nack_generator: entries expire after max age") {
  nack_config cfg;
  cfg.max_age_ms = 500;
  cfg.max_retries = 100;
  nack_generator g(cfg);
  feed(g, 1, 0);
  CHECK(feed(g, 3, 0) == seqs{2});
  int64_t now = 0;
  int sent = 1;
  while (now < 1000) {
    now += 10;
    sent += int(tick(g, now).size());
  }
  CHECK(g.missing_count() == 0);
  CHECK(sent == 5); // at 0, 100, 200, 300, 400; at 500 the entry has reached max age
}

TEST_CASE("nack_generator: the list is bounded by max_entries") {
  nack_config cfg;
  cfg.max_entries = 1000;
  nack_generator g(cfg);
  feed(g, 0, 0);
  const auto burst = feed(g, 5001, 0); // 5000 lost: only the newest 1000 are kept
  CHECK(burst.size() == 1000);
  CHECK(burst.front() == 4001);
  CHECK(burst.back() == 5000);
  CHECK(g.missing_count() == 1000);
  const auto more = feed(g, 5012, 1); // 10 more: the oldest 10 are dropped
  CHECK(more.size() == 10);
  CHECK(g.missing_count() == 1000);
  CHECK(g.counters().abandoned == 4000 + 10);
  const auto retry = tick(g, 100);
  CHECK(retry.front() == 4011);
}
