// The bandwidth plan of a transport (rtp/bandwidth_plan.hpp): named cases of an estimate
// and consumers over time, with the layers each consumer is told, the pacing rate and the
// probe; and the keyframe ceiling as a table.
#include "rtp/bandwidth_plan.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <utility>
#include <vector>

using namespace chorus::rtp;

namespace {

// Three spatial layers of three temporal layers, cumulative: index s * 3 + t.
const std::vector<uint32_t> ladder = {100'000, 150'000, 200'000,   300'000,  450'000,
                                      600'000, 1'000'000, 1'500'000, 2'000'000};

plan_consumer video(std::vector<uint32_t> bps = ladder) {
  plan_consumer c;
  c.demand.layered = true;
  c.demand.max_spatial = 2;
  c.demand.max_temporal = 2;
  c.demand.peak_bps = bps;
  c.demand.known_bps = bps;
  c.demand.bps = std::move(bps);
  c.demand.can_probe = true;
  return c;
}

plan_consumer audio(uint32_t bps) {
  plan_consumer c;
  c.demand.bps = {bps};
  return c;
}

send_bwe_stats estimate(uint64_t target_bps) {
  send_bwe_stats b;
  b.feedbacks = 1;
  b.target_bps = target_bps;
  return b;
}

using layers = std::pair<int, int>;
layers of(const plan_consumer& c) { return {c.spatial, c.temporal}; }

} // namespace

TEST_CASE("bandwidth plan: without an estimate nothing is capped or paced") {
  bandwidth_plan plan;
  std::vector<plan_consumer> cs = {video(), audio(40'000)};
  auto& out = plan.plan(cs, send_bwe_stats{}, 0);
  CHECK_FALSE(out.estimated);
  CHECK(out.pacing_bps == 0);
  CHECK(out.budget_bps == 0);
  CHECK(out.desired_bps == 2'000'000 + 40'000);
  CHECK(out.told == std::vector<std::size_t>{0}); // the audio consumer has no layers
  CHECK(of(cs[0]) == layers{127, 127});
  CHECK(bandwidth_plan::pacing_alone(send_bwe_stats{}) == 0);
  CHECK(bandwidth_plan::pacing_alone(estimate(500'000)) == 1'000'000);
}

TEST_CASE("bandwidth plan: layers within the estimate less 15 %, never dark") {
  struct row {
    const char* name;
    uint64_t target_bps;
    layers want;
  };
  const row rows[] = {
    {"plenty: the preference", 10'000'000, {2, 2}},
    {"400 kbps: 340 kbps to share", 400'000, {1, 0}},
    {"250 kbps: 212 kbps to share", 250'000, {0, 2}},
    {"below the lowest layer: the lowest all the same", 50'000, {0, 0}},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    bandwidth_plan plan;
    std::vector<plan_consumer> cs = {video()};
    auto& out = plan.plan(cs, estimate(r.target_bps), 0);
    CHECK(out.estimated);
    CHECK(out.budget_bps == r.target_bps - r.target_bps * 15 / 100);
    CHECK(out.told == std::vector<std::size_t>{0});
    CHECK(of(cs[0]) == r.want);
  }
}

TEST_CASE("bandwidth plan: audio is a fixed cost, served first") {
  bandwidth_plan plan;
  std::vector<plan_consumer> cs = {audio(100'000), video()};
  auto& out = plan.plan(cs, estimate(500'000), 0); // 425 kbps, 325 after the audio
  CHECK(of(cs[1]) == layers{1, 0});
  CHECK(out.forwarded_bps == 100'000 + 300'000);
  CHECK(out.pacing_bps == 2 * 500'000); // the estimate is above what is forwarded
}

TEST_CASE("bandwidth plan: up only by a fifth's margin at the peak rates") {
  bandwidth_plan plan;
  std::vector<plan_consumer> cs = {video()};
  plan.plan(cs, estimate(400'000), 0);
  REQUIRE(of(cs[0]) == layers{1, 0});
  // 1.3 Mbps: 1.105 Mbps would pay for (2, 0) on average, but a fifth less (884 kbps) pays
  // for (1, 2) only: it goes there.
  auto& out = plan.plan(cs, estimate(1'300'000), 10'000);
  CHECK(out.told == std::vector<std::size_t>{0});
  CHECK(of(cs[0]) == layers{1, 2});
  // The peak of (2, 0) higher than its average: 10 Mbps pays for it.
  cs[0].demand.peak_bps[6] = 1'400'000;
  plan.plan(cs, estimate(10'000'000), 20'000);
  CHECK(of(cs[0]) == layers{2, 2});
}

TEST_CASE("bandwidth plan: no way up soon after going down, nor on a troubled link") {
  bandwidth_plan plan;
  std::vector<plan_consumer> cs = {video()};
  plan.plan(cs, estimate(10'000'000), 0);
  REQUIRE(of(cs[0]) == layers{2, 2});
  plan.plan(cs, estimate(400'000), 1'000); // down at once
  CHECK(of(cs[0]) == layers{1, 0});
  CHECK(cs[0].lowered_ms == 1'000);
  plan.plan(cs, estimate(10'000'000), 1'000 + bandwidth_plan::upgrade_hold_ms - 1);
  CHECK(of(cs[0]) == layers{1, 0});
  CHECK(cs[0].wanted == 2); // told what it would take, all the same
  auto troubled = estimate(10'000'000);
  troubled.usage = bwe_usage::overusing;
  plan.plan(cs, troubled, 1'000 + bandwidth_plan::upgrade_hold_ms);
  CHECK(of(cs[0]) == layers{1, 0});
  troubled.usage = bwe_usage::normal;
  troubled.last_loss = 0.05;
  plan.plan(cs, troubled, 1'000 + bandwidth_plan::upgrade_hold_ms);
  CHECK(of(cs[0]) == layers{1, 0});
  plan.plan(cs, estimate(10'000'000), 1'000 + bandwidth_plan::upgrade_hold_ms);
  CHECK(of(cs[0]) == layers{2, 2});
}

TEST_CASE("bandwidth plan: pacing follows what is forwarded, a probe what is wanted") {
  bandwidth_plan plan;
  std::vector<plan_consumer> cs = {video()};
  auto& out = plan.plan(cs, estimate(50'000), 0); // the lowest layer, above the estimate
  CHECK(out.forwarded_bps == 100'000);
  CHECK(out.pacing_bps == 2 * 100'000);
  CHECK(out.probe_bps == 2'000'000 + 500'000); // a quarter more than wanted
  auto& enough = plan.plan(cs, estimate(10'000'000), 1);
  CHECK(enough.probe_bps == 0);
  cs[0].demand.active = false; // paused: wants nothing, forwards nothing
  auto& paused = plan.plan(cs, estimate(10'000'000), 2);
  CHECK(paused.desired_bps == 0);
  CHECK(paused.forwarded_bps == 0);
}

TEST_CASE("bandwidth plan: a switch up must pass its keyframe within the window") {
  consumer_demand d;
  d.max_spatial = 2;
  d.keyframe_bytes = {5'000, 30'000, 90'000}; // layer 0's is never judged
  struct row {
    const char* name;
    uint64_t target_bps;
    int8_t current;
    int8_t want;
  };
  // At 1 Mbps, 300 ms carry 37 500 bytes.
  const row rows[] = {
    {"both keyframes fit", 3'000'000, 0, 2},
    {"layer 2's does not", 1'000'000, 0, 1},
    {"neither above layer 0", 500'000, 0, 0},
    {"the current layer stays allowed", 500'000, 2, 2},
    {"uncapped is no current layer", 500'000, 127, 0},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    CHECK(keyframe_ceiling(d, r.current, r.target_bps) == r.want);
  }
  d.keyframe_bytes = {5'000}; // not known yet: allowed
  CHECK(keyframe_ceiling(d, 0, 100'000) == 2);
}

TEST_CASE("bandwidth plan: the keyframe ceiling is judged at a lower probe capacity") {
  bandwidth_plan plan;
  std::vector<plan_consumer> cs = {video()};
  cs[0].demand.keyframe_bytes = {5'000, 30'000, 90'000};
  auto b = estimate(10'000'000);
  b.probe_capacity_bps = 1'000'000; // the last probe ran into 1 Mbps
  plan.plan(cs, b, 0);
  CHECK(of(cs[0]) == layers{1, 2});
}
