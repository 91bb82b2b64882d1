// Layer selection for simulcast and SVC consumers: where the forwarded layers may change.
#include "rtp/layer_selector.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <initializer_list>

using namespace chorus::rtp;

namespace {

constexpr auto F = layer_verdict::forward;
constexpr auto D = layer_verdict::drop;
constexpr auto O = layer_verdict::other;

struct step {
  const char* name;
  int8_t target_spatial; // set before the packet (-2: leave as is)
  int8_t target_temporal;
  layer_packet packet;   // spatial, temporal, keyframe, sync, frame_start
  layer_verdict verdict;
  bool switched;
  int8_t current_spatial;
  int8_t current_temporal;
};

template <std::size_t N>
void run(layer_selector& sel, const step (&steps)[N]) {
  for (const auto& s : steps) {
    CAPTURE(s.name);
    if (s.target_spatial != -2)
      sel.set_target(s.target_spatial, s.target_temporal);
    const auto d = sel.on_packet(s.packet);
    CHECK(d.verdict == s.verdict);
    CHECK(d.switched_stream == s.switched);
    CHECK(int(sel.current_spatial()) == int(s.current_spatial));
    CHECK(int(sel.current_temporal()) == int(s.current_temporal));
  }
}

} // namespace

TEST_CASE("layer selector: simulcast start, up and down on keyframes") {
  layer_selector sel(true);
  const step steps[] = {
    {"nothing before a keyframe", 2, 2, {2, 0, false, false, true}, O, false, -1, -1},
    {"a delta of encoding 0 is not a start", -2, 0, {0, 0, false, true, true}, O, false, -1, -1},
    {"start on encoding 0's keyframe (below the target)", -2, 0, {0, 0, true, true, true}, F, true, 0, 2},
    {"encoding 0 goes on", -2, 0, {0, 1, false, false, true}, F, false, 0, 2},
    {"encoding 1 keyframe: not the target, up is only to the target", -2, 0, {1, 0, true, true, true}, O, false, 0, 2},
    {"encoding 2 delta: other", -2, 0, {2, 0, false, true, true}, O, false, 0, 2},
    {"encoding 2 keyframe: the target", -2, 0, {2, 0, true, true, true}, F, true, 2, 2},
    {"encoding 0 now other", -2, 0, {0, 0, false, true, true}, O, false, 2, 2},
    {"target down to 0: encoding 1's keyframe is not a stop on the way", 0, 2, {1, 0, true, true, true}, O, false, 2, 2},
    {"encoding 2 goes on until then", -2, 0, {2, 0, false, true, true}, F, false, 2, 2},
    {"encoding 0 keyframe: the target", -2, 0, {0, 0, true, true, true}, F, true, 0, 2},
    {"encoding 2 now other", -2, 0, {2, 0, false, true, true}, O, false, 0, 2},
  };
  run(sel, steps);
  CHECK_FALSE(sel.wants_keyframe());
  sel.set_target(1, 2);
  CHECK(sel.wants_keyframe());
}

TEST_CASE("layer selector: temporal layers within a simulcast stream") {
  layer_selector sel(true);
  const step steps[] = {
    {"start at target T0 only", 0, 0, {0, 0, true, true, true}, F, true, 0, 0},
    {"T2 dropped", -2, 0, {0, 2, false, false, true}, D, false, 0, 0},
    {"T1 dropped", -2, 0, {0, 1, false, true, true}, D, false, 0, 0},
    {"target T2; T2 frame without sync: still dropped", 0, 2, {0, 2, false, false, true}, D, false, 0, 0},
    {"T1 sync frame: up to T1", -2, 0, {0, 1, false, true, true}, F, false, 0, 1},
    {"T1 continuation packet", -2, 0, {0, 1, false, false, false}, F, false, 0, 1},
    {"T2 without sync mid-frame: dropped", -2, 0, {0, 2, false, false, false}, D, false, 0, 1},
    {"T2 sync frame start: up to T2", -2, 0, {0, 2, false, true, true}, F, false, 0, 2},
    {"target T0: down at the next frame start (a T1 frame)", 0, 0, {0, 1, false, false, true}, D, false, 0, 0},
    {"T0 goes on", -2, 0, {0, 0, false, true, true}, F, false, 0, 0},
    {"target T2: a keyframe takes it at once", 0, 2, {0, 0, true, true, true}, F, false, 0, 2},
  };
  run(sel, steps);
}

TEST_CASE("layer selector: simulcast target none and reset") {
  layer_selector sel(true);
  const step steps[] = {
    {"start", 1, 1, {1, 0, true, true, true}, F, true, 1, 1},
    {"no layer allocated: the stream's packets are dropped", -1, 0, {1, 0, false, true, true}, D, false, 1, 1},
    {"and no keyframe starts another", -2, 0, {0, 0, true, true, true}, O, false, 1, 1},
  };
  run(sel, steps);
  CHECK_FALSE(sel.wants_keyframe());
  sel.reset();
  sel.set_target(1, 1);
  CHECK(sel.wants_keyframe());
  const step again[] = {
    {"after reset: waits for a keyframe", -2, 0, {1, 0, false, true, true}, O, false, -1, -1},
    {"keyframe restarts", -2, 0, {1, 0, true, true, true}, F, true, 1, 1},
  };
  run(sel, again);
}

TEST_CASE("layer selector: SVC spatial layers in one stream") {
  layer_selector sel(false);
  const step steps[] = {
    {"waits for a keyframe; layers dropped meanwhile", 1, 1, {0, 0, false, true, true}, D, false, -1, -1},
    {"keyframe starts at the target", -2, 0, {0, 0, true, true, true}, F, false, 1, 1},
    {"S1 of the keyframe", -2, 0, {1, 0, false, false, true}, F, false, 1, 1},
    {"S2 dropped", -2, 0, {2, 0, false, false, true}, D, false, 1, 1},
    {"T2 dropped", -2, 0, {0, 2, false, true, true}, D, false, 1, 1},
    {"target S2: a delta picture does not take it", 2, 1, {0, 1, false, true, true}, F, false, 1, 1},
    {"S2 of that picture still dropped", -2, 0, {2, 1, false, false, true}, D, false, 1, 1},
    {"keyframe: up to S2", -2, 0, {0, 0, true, true, true}, F, false, 2, 1},
    {"S2 now forwarded", -2, 0, {2, 0, false, false, true}, F, false, 2, 1},
    {"target S0: down at the next picture start", 0, 1, {0, 1, false, true, true}, F, false, 0, 1},
    {"S1 dropped", -2, 0, {1, 1, false, false, true}, D, false, 0, 1},
  };
  run(sel, steps);
}

TEST_CASE("layer selector: one stream with temporal layers only (L1T3) never says other") {
  layer_selector sel(false);
  const step steps[] = {
    {"waits for a keyframe: the packet's number is closed, not other", 0, 2, {0, 0, false, true, true}, D, false, -1, -1},
    {"keyframe starts", -2, 0, {0, 0, true, true, true}, F, false, 0, 2},
    {"a bogus spatial id in one stream: dropped, not other", -2, 0, {1, 0, false, true, true}, D, false, 0, 2},
    {"T2 forwarded", -2, 0, {0, 2, false, false, true}, F, false, 0, 2},
    {"target T0: down at a frame start", 0, 0, {0, 1, false, false, true}, D, false, 0, 0},
  };
  run(sel, steps);
}

TEST_CASE("layer selector: ids out of range are never forwarded") {
  layer_selector simulcast(true), one(false);
  simulcast.set_target(3, 2);
  one.set_target(0, 2);
  for (const layer_packet p : {layer_packet{4, 0, true, true, true}, layer_packet{200, 0, true, true, true},
                               layer_packet{0, 3, true, true, true}, layer_packet{0, 255, true, true, true}}) {
    CAPTURE(int(p.spatial));
    CAPTURE(int(p.temporal));
    CHECK(simulcast.on_packet(p).verdict == O);
    CHECK(one.on_packet(p).verdict == D);
    CHECK(simulcast.current_spatial() == -1);
    CHECK(one.current_spatial() == -1);
  }
}

TEST_CASE("layer selector: temporal switching by the Dependency Descriptor's indications") {
  // libwebrtc's L1T3: T0 frames are switching points for every layer (mask 0b111), T1
  // frames for T2 only (0b100), T2 frames for none; no frame is marked with `sync`.
  layer_selector sel(true);
  const step steps[] = {
    {"start on the keyframe at the target T0", 0, 0, {0, 0, true, true, true, 0b111}, F, true, 0, 0},
    {"T2: dropped", -2, 0, {0, 2, false, false, true, 0}, D, false, 0, 0},
    {"target T2; a T1 frame allows T2", 0, 2, {0, 1, false, false, true, 0b100}, F, false, 0, 2},
    {"T2 after it: forwarded", -2, 0, {0, 2, false, false, true, 0}, F, false, 0, 2},
    {"down to T0 at the next frame start", 0, 0, {0, 2, false, false, true, 0}, D, false, 0, 0},
    {"target T1: a T1 frame does not allow T1", 0, 1, {0, 1, false, false, true, 0b100}, D, false, 0, 0},
    {"a T2 frame allows nothing", -2, 0, {0, 2, false, false, true, 0}, D, false, 0, 0},
    {"a T0 frame allows T1 (the target, not above)", -2, 0, {0, 0, false, false, true, 0b111}, F, false, 0, 1},
    {"T1 forwarded, T2 not", -2, 0, {0, 1, false, false, true, 0b100}, F, false, 0, 1},
    {"T2 dropped", -2, 0, {0, 2, false, false, true, 0}, D, false, 0, 1},
    {"a middle packet never switches", 0, 2, {0, 0, false, false, false, 0b111}, F, false, 0, 1},
  };
  run(sel, steps);
}
