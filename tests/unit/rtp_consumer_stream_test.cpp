// The stream logic of each consumer kind (simple, simulcast, svc): what is forwarded and as
// what, the target, the demand on the producer, and keyframe requests.
#include "rtp/consumer_stream.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

constexpr auto F = forward_verdict::forward;
constexpr auto W = forward_verdict::wait_keyframe;
constexpr auto O = forward_verdict::other_layer;
constexpr auto D = forward_verdict::dropped_layer;
constexpr auto X = forward_verdict::old;

enum class act { none, restart, not_ready };

// One packet (after an optional action) and what the stream makes of it. out_seq is checked
// when forwarded; -1 skips the check.
struct step {
  const char* name;
  act action;
  uint16_t seq;
  uint32_t ts;
  layer_packet layer; // spatial, temporal, keyframe, sync, frame_start
  bool end_of_layer;
  forward_verdict verdict;
  int out_seq;
  bool switched;
  bool end_of_picture;
};

template <std::size_t N>
void run(consumer_stream& s, const step (&steps)[N], int64_t t0 = 1000) {
  int64_t now = t0;
  for (const auto& st : steps) {
    CAPTURE(st.name);
    if (st.action == act::restart)
      s.restart();
    forward_input in;
    in.seq = st.seq;
    in.timestamp = st.ts;
    in.layer = st.layer;
    in.end_of_layer = st.end_of_layer;
    const auto d = s.on_packet(in, st.action != act::not_ready, now);
    CHECK(d.verdict == st.verdict);
    if (st.verdict == F && st.out_seq >= 0)
      CHECK(int(d.seq) == st.out_seq);
    CHECK(d.switched_stream == st.switched);
    CHECK(d.end_of_picture == st.end_of_picture);
    now += 20;
  }
}

consumer_stream simple(bool video) {
  consumer_stream_config c;
  c.video = video;
  c.clock_rate = video ? 90000 : 48000;
  return consumer_stream(c);
}

consumer_stream layered(consumer_kind kind, uint8_t spatial, uint8_t temporal, bool vp8 = false) {
  consumer_stream_config c;
  c.kind = kind;
  c.video = true;
  c.spatial_layers = spatial;
  c.temporal_layers = temporal;
  c.vp8 = vp8;
  return consumer_stream(c);
}

constexpr layer_packet key{0, 0, true, true, true};
constexpr layer_packet delta{0, 0, false, false, true};

} // namespace

TEST_CASE("consumer stream, simple audio: forwarded from the first packet, continuous across restarts") {
  auto s = simple(false);
  CHECK(s.kind() == consumer_kind::simple);
  CHECK_FALSE(s.wants_keyframe());
  const step steps[] = {
    {"the first packet is the base", act::none, 5000, 960, delta, false, F, 5000, false, false},
    {"the next follows", act::none, 5001, 1920, delta, false, F, 5001, false, false},
    {"a gap on the input stays a gap", act::none, 5003, 3840, delta, false, F, 5003, false, false},
    {"a restart: the next packet is last + 1 whatever its number", act::restart, 100, 50, delta, false, F, 5004, false, false},
    {"older than the new base", act::none, 99, 10, delta, false, X, -1, false, false},
    {"on from the new base", act::none, 101, 1010, delta, false, F, 5005, false, false},
  };
  run(s, steps);
}

TEST_CASE("consumer stream, simple video: waits for a keyframe the sender can send") {
  auto s = simple(true);
  CHECK(s.wants_keyframe());
  const auto k = s.keyframe_request();
  REQUIRE(k);
  CHECK_FALSE(k->layered); // any keyframe of the producer
  const step steps[] = {
    {"a delta frame before any keyframe", act::none, 10, 0, delta, false, W, -1, false, false},
    {"a keyframe the sender cannot send yet", act::not_ready, 11, 3000, key, false, W, -1, false, false},
    {"a keyframe: the start", act::none, 12, 6000, key, false, F, 12, false, false},
    {"deltas follow", act::none, 13, 9000, delta, false, F, 13, false, false},
    {"restarted (resume): deltas wait again", act::restart, 14, 12000, delta, false, W, -1, false, false},
    {"the keyframe continues the numbers", act::none, 15, 15000, key, false, F, 14, false, false},
  };
  run(s, steps);
  CHECK_FALSE(s.wants_keyframe());
  const auto r = s.keyframe_for_receiver();
  REQUIRE(r);
  CHECK_FALSE(r->layered);
  CHECK(s.demand(false) == 0); // only simulcast has demand
}

TEST_CASE("consumer stream, simulcast: start below the target, switch up on the target's keyframe") {
  auto s = layered(consumer_kind::simulcast, 3, 3, true);
  REQUIRE(s.continuity() != nullptr);
  CHECK(int(s.selector().target_spatial()) == 2);
  CHECK(s.demand(false) == 0b111); // nothing yet: every encoding up to the target
  CHECK(s.demand(true) == 0);
  const step steps[] = {
    {"encoding 2 delta: other", act::none, 700, 0, {2, 0, false, true, true}, false, O, -1, false, false},
    {"encoding 0 keyframe the sender cannot send", act::not_ready, 100, 0, {0, 0, true, true, true}, false, W, -1, false, false},
    {"encoding 0 keyframe: the start", act::none, 101, 0, {0, 0, true, true, true}, false, F, 101, true, false},
    {"encoding 0 goes on", act::none, 102, 3000, {0, 1, false, false, true}, false, F, 102, false, false},
    {"encoding 2 keyframe: switch, the numbers go on", act::none, 703, 3000, {2, 0, true, true, true}, false, F, 103, true, false},
    {"encoding 0 is now other", act::none, 103, 6000, {0, 0, false, true, true}, false, O, -1, false, false},
    {"encoding 2 goes on", act::none, 704, 6000, {2, 2, false, false, true}, false, F, 104, false, false},
  };
  run(s, steps);
  CHECK(s.forwarded_encoding() == 2);
  CHECK(s.demand(false) == 0b100);
  const auto r = s.keyframe_for_receiver();
  REQUIRE(r);
  CHECK(r->layered);
  CHECK(int(r->spatial) == 2);
}

TEST_CASE("consumer stream, simulcast: the target follows preference, allocation and what is sent") {
  struct target_case {
    const char* name;
    int preferred_spatial, preferred_temporal;
    int8_t allocated_spatial, allocated_temporal;
    std::vector<uint32_t> bps; // three per encoding; empty: nothing reported yet
    int target_spatial, target_temporal;
  };
  const target_case cases[] = {
    {"all preferred, no allocation yet", 2, 2, 127, 127, {}, 2, 2},
    {"preference caps", 1, 0, 127, 127, {}, 1, 0},
    {"temporal preference < 0: the highest", 1, -1, 127, 127, {}, 1, 2},
    {"preference above the layers is clamped", 9, 9, 127, 127, {}, 2, 2},
    {"allocation caps", 2, 2, 1, 1, {}, 1, 1},
    {"nothing allocated", 2, 2, -1, 0, {}, -1, 0},
    {"top encoding not sent: the best one sent", 2, 2, 127, 127,
     {100, 50, 50, 300, 100, 100, 0, 0, 0}, 1, 2},
    {"encoding 1 not sent either: down to 0", 2, 2, 127, 127,
     {100, 50, 50, 0, 0, 0, 0, 0, 0}, 0, 2},
    {"a temporal layer not sent: the one below", 1, 2, 127, 127,
     {100, 50, 50, 300, 100, 0, 900, 300, 300}, 1, 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto s = layered(consumer_kind::simulcast, 3, 3);
    s.set_preferred(c.preferred_spatial, c.preferred_temporal);
    s.set_allocation(c.allocated_spatial, c.allocated_temporal, 127);
    if (!c.bps.empty())
      s.set_bitrates(c.bps);
    s.update_target();
    CHECK(int(s.selector().target_spatial()) == c.target_spatial);
    CHECK(int(s.selector().target_temporal()) == c.target_temporal);
  }
}

TEST_CASE("consumer stream, simulcast: demand asks for what it forwards, switches to, and would take back") {
  auto s = layered(consumer_kind::simulcast, 3, 3);
  // Start on encoding 1 with the target at 1.
  s.set_preferred(1, 2);
  s.update_target();
  CHECK(s.demand(false) == 0b011);
  forward_input in;
  in.layer = {1, 0, true, true, true};
  REQUIRE(s.on_packet(in, true, 0).verdict == F);
  CHECK(s.demand(false) == 0b010);
  // Encoding 0 stops; the budget would pay for up to 1: asked for again to come back.
  s.set_bitrates({0, 0, 0, 300, 100, 100, 900, 300, 300});
  s.set_allocation(1, 2, 1);
  s.update_target();
  CHECK(s.demand(false) == 0b011);
  // Only what the transport would pay for: wanted 0 asks for nothing absent above it.
  s.set_allocation(1, 2, 0);
  CHECK(s.demand(false) == 0b011);
  s.set_bitrates({100, 50, 50, 300, 100, 100, 0, 0, 0});
  s.set_allocation(1, 2, 2);
  s.set_preferred(2, 2);
  CHECK(s.demand(false) == 0b110); // forwards 1; 2 absent but wanted
  CHECK(s.known_bitrates()[6] == 900); // the last nonzero rate of an absent layer
  CHECK(s.bitrates()[6] == 0);
}

TEST_CASE("consumer stream, simulcast: a keyframe is asked for once per new spatial target") {
  auto s = layered(consumer_kind::simulcast, 3, 3);
  const auto first = s.keyframe_request();
  REQUIRE(first);
  CHECK(first->layered);
  CHECK(int(first->spatial) == 2);
  CHECK(s.wants_keyframe());
  CHECK_FALSE(s.update_target()); // the same target: already asked
  s.set_allocation(1, 2, 1);
  CHECK(s.update_target()); // a new target: ask now
  const auto second = s.keyframe_request();
  REQUIRE(second);
  CHECK(int(second->spatial) == 1);
  CHECK_FALSE(s.update_target());
  forward_input in;
  in.layer = {1, 0, true, true, true};
  REQUIRE(s.on_packet(in, true, 0).switched_stream);
  CHECK_FALSE(s.wants_keyframe()); // reached
  s.set_allocation(-1, 0, -1);
  CHECK_FALSE(s.update_target()); // nothing allocated: no keyframe to ask for
  CHECK_FALSE(s.keyframe_request());
  in.layer = {1, 0, false, false, true};
  in.seq = 1;
  CHECK(s.on_packet(in, true, 20).verdict == D); // stops at once, the stream stays ours
}

TEST_CASE("consumer stream, svc: layers above the target dropped with their numbers closed") {
  auto s = layered(consumer_kind::svc, 3, 3);
  s.set_preferred(1, 2);
  s.update_target();
  CHECK(s.demand(false) == 0); // one stream: no demand
  const step steps[] = {
    {"no keyframe yet: dropped", act::none, 1, 0, {0, 0, false, false, true}, false, D, -1, false, false},
    {"keyframe, spatial 0: the start", act::none, 2, 3000, {0, 0, true, true, true}, true, F, 2, false, false},
    {"spatial 1 of it, the top forwarded: ends the picture", act::none, 3, 3000, {1, 0, true, false, true}, true, F, 3, false, true},
    {"spatial 2: above the target", act::none, 4, 3000, {2, 0, true, false, true}, true, D, -1, false, false},
    {"the next picture: the number 4 is closed", act::none, 5, 6000, {0, 1, false, false, true}, true, F, 4, false, false},
    {"its spatial 1 without the end of the layer", act::none, 6, 6000, {1, 1, false, false, true}, false, F, 5, false, false},
    {"its end", act::none, 7, 6000, {1, 1, false, false, false}, true, F, 6, false, true},
  };
  run(s, steps);
  CHECK(s.forwarded_encoding() == 0);
  CHECK(int(s.selector().current_spatial()) == 1);
  CHECK(s.continuity() == nullptr); // not VP8
}

TEST_CASE("consumer stream, temporal layers only: the svc kind drops the layers above the target") {
  auto s = layered(consumer_kind::svc, 1, 3, true);
  REQUIRE(s.continuity() != nullptr);
  s.set_preferred(0, 1);
  s.update_target();
  const step steps[] = {
    {"keyframe", act::none, 50, 0, {0, 0, true, true, true}, false, F, 50, false, false},
    {"TL2: above the target", act::none, 51, 1500, {0, 2, false, false, true}, false, D, -1, false, false},
    {"TL1: forwarded, number 51 closed", act::none, 52, 3000, {0, 1, false, false, true}, false, F, 51, false, false},
    {"TL0", act::none, 53, 4500, {0, 0, false, false, true}, false, F, 52, false, false},
    {"restart: waits for a keyframe", act::restart, 54, 6000, {0, 0, false, false, true}, false, D, -1, false, false},
    {"keyframe: on at last + 1", act::none, 55, 7500, {0, 0, true, true, true}, false, F, 53, false, false},
  };
  run(s, steps);
}

TEST_CASE("consumer stream: kinds have names") {
  CHECK(std::string(to_string(consumer_kind::simple)) == "simple");
  CHECK(std::string(to_string(consumer_kind::simulcast)) == "simulcast");
  CHECK(std::string(to_string(consumer_kind::svc)) == "svc");
}
