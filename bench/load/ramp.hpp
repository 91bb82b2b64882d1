// The ramp (class scenario): runs the class with K, 2K, 3K, ... subscribers (--ramp-step K)
// until a step loses more than 1 % of its packets, has a p99 one-way latency above 50 ms,
// fails to set up, or M subscribers (--ramp-max) were measured. Each step is a run of its own
// against the same server (fresh setup, warm-up, a measured window of --duration-s,
// teardown); with --floor the floor is measured before each step at its fan-out. The last
// good step is the capacity. Output: the table of every step, JSON with all steps (--json),
// and a gnuplot data file and script (and an SVG when gnuplot is installed).
//
// The ramp does not know the server's signaling: each step is run by the step_runner it is
// given (bench_main passes run_bench for Chorus, run_janus_bench for --target janus).
#pragma once

#include "bench/load/options.hpp"
#include "bench/load/report.hpp"
#include "bench/load/runner.hpp"

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

struct ramp_step {
  uint32_t subscribers = 0;
  bench_result result;
  figures f;
  bool good = false;
  std::string verdict; // "good" or why the ramp stopped here
};

struct ramp_result {
  bench_options options;
  std::vector<ramp_step> steps;
  std::optional<uint32_t> capacity; // subscribers of the last good step
  std::string stop_reason;
  machine_info machine;             // at the end
  std::string date;

  bool ok() const noexcept { return !steps.empty() && capacity.has_value(); }
};

// Runs one step: the options are the ramp's with --subscribers set to the step's count, no
// ramp, no --json and a run id of its own.
using step_runner = std::function<bench_result(const bench_options&)>;

ramp_result run_ramp(const bench_options& o, const step_runner& run_step, std::FILE* out);
void print_ramp_summary(const ramp_result& r, std::FILE* out);
std::string ramp_to_json(const ramp_result& r);
// PREFIX.dat and PREFIX.gp; PREFIX.svg when gnuplot is on PATH. Returns false with `error`
// when a file cannot be written (a missing gnuplot is not an error: `svg` stays empty).
bool write_ramp_plot(const ramp_result& r, const std::string& prefix, std::string& svg,
                     std::string& error);

} // namespace chorus::bench
