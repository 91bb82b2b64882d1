// The ramp's command line (with --target janus too) and run_ramp with a step runner of its own
// (the runner is a parameter: run_bench for Chorus, run_janus_bench for Janus).
#include "bench/load/options.hpp"
#include "bench/load/ramp.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace chorus::bench;

namespace {

std::optional<bench_options> parse(std::vector<std::string> args, std::string& error) {
  args.insert(args.begin(), "chorus-bench");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  bool help = false;
  return parse_bench_options(int(argv.size()), argv.data(), error, help);
}

// A step's result as a runner would give it: `lost` of 1000 expected packets missing.
bench_result fake_result(const bench_options& o, uint64_t lost) {
  bench_result r;
  r.options = o;
  r.participants = 1 + o.subscribers;
  r.publishers = 1;
  r.subscribers = o.subscribers;
  r.window_s = 1;
  r.delta.expected = 1000;
  r.delta.unique = 1000 - lost;
  r.delta.rx_packets = r.delta.unique;
  r.delta.rx_video_packets = r.delta.unique;
  return r;
}

} // namespace

TEST_CASE("options: the ramp with --target janus is accepted; janus stays class, one thread") {
  std::string error;
  auto o = parse({"--target", "janus", "--url", "ws://10.77.0.2:8188", "--scenario", "class",
                  "--ramp-step", "5", "--ramp-max", "10", "--duration-s", "2"},
                 error);
  REQUIRE_MESSAGE(o.has_value(), error);
  CHECK(o->target == "janus");
  CHECK(o->ramp_step == 5);
  CHECK(o->ramp_max == 10);

  CHECK_FALSE(parse({"--target", "janus", "--url", "ws://10.77.0.2:8188", "--scenario",
                     "meeting"},
                    error)
                .has_value());
  CHECK(error.find("--target janus") != std::string::npos);
  CHECK_FALSE(parse({"--target", "janus", "--url", "ws://10.77.0.2:8188", "--threads", "2"},
                    error)
                .has_value());
  CHECK_FALSE(parse({"--url", "ws://127.0.0.1:1", "--scenario", "meeting", "--ramp-step", "5",
                     "--ramp-max", "10"},
                    error)
                .has_value());
  CHECK(error == "ramp is for the class scenario");
}

TEST_CASE("ramp: every step goes through the given runner; capacity and target recorded") {
  std::string error;
  auto o = parse({"--target", "janus", "--url", "ws://10.77.0.2:8188", "--ramp-step", "5",
                  "--ramp-max", "15", "--run-id", "t1"},
                 error);
  REQUIRE_MESSAGE(o.has_value(), error);
  std::vector<bench_options> seen;
  auto runner = [&](const bench_options& so) {
    seen.push_back(so);
    return fake_result(so, so.subscribers >= 10 ? 50 : 0); // 5 % loss from 10 on
  };
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  const ramp_result r = run_ramp(*o, runner, out);
  std::fclose(out);

  REQUIRE(seen.size() == 2); // 5 good, 10 lossy: the ramp stops there, 15 never runs
  CHECK(seen[0].subscribers == 5);
  CHECK(seen[1].subscribers == 10);
  for (auto& so : seen) {
    CHECK(so.target == "janus");
    CHECK(so.ramp_step == 0);
    CHECK(so.ramp_max == 0);
    CHECK(so.json_file.empty());
  }
  CHECK(seen[0].run_id == "t1-s5");
  REQUIRE(r.steps.size() == 2);
  CHECK(r.steps[0].good);
  CHECK_FALSE(r.steps[1].good);
  REQUIRE(r.capacity.has_value());
  CHECK(*r.capacity == 5);
  CHECK(r.ok());
  CHECK(r.stop_reason.find("at 10 subscribers") != std::string::npos);

  const std::string json = ramp_to_json(r);
  CHECK(json.find("\"target\": \"janus\"") != std::string::npos);
  CHECK(json.find("\"capacitySubscribers\": 5") != std::string::npos);
}
