// chorus-bench: a load generator for SFUs speaking Chorus's seed 001 JSON dialect. It
// simulates participants with the project's client side (real signaling, ICE, DTLS and SRTP
// over UDP), sends synthetic Opus-like audio and VP8-like video, receives like a browser
// (receiver reports, NACK, PLI), and reports delivered packets and bitrate, loss, one-way
// latency, and with --server-pid the server's CPU and memory. See docs/performance.md.
//
//   chorus-bench --url ws://127.0.0.1:8080 --scenario class --subscribers 20 --duration-s 10
//                [--server-pid PID] [--json FILE] [--threads T] ...   (--help for all)
//   chorus-bench floor [--profile P] [--fanout 1,10,100] [--json FILE]  (the floor)
//   chorus-bench soak [--duration-s S] [--server-pid PID] ...  (churn, then back to idle:
//       bench/load/soak.hpp)
//   ... --floor --server-cpu C    (the floor measured first; reports the ratio to it)
//   ... --scenario class --ramp-step K --ramp-max M [--plot PREFIX]   (the ramp)
//   ... --target janus --url ws://10.77.0.2:8188 --scenario class ...  (Janus VideoRoom,
//       bench/janus/janus_bench.hpp, also with the ramp; bench/janus/compare.sh runs both
//       side by side)
//   --gcm native|openssl, with any of these: the generator's and the floor's SRTP AES-GCM,
//       as the server's flag of that name (default native)
//
// Exit status: 0 when every participant was set up and media was delivered (and the server,
// with --server-pid, is still running), 1 otherwise, 2 for bad usage.
#include "bench/janus/janus_bench.hpp"
#include "bench/load/floor.hpp"
#include "bench/load/soak.hpp"
#include "bench/load/options.hpp"
#include "bench/load/ramp.hpp"
#include "bench/load/report.hpp"
#include "bench/load/runner.hpp"
#include "net/media_io_socket.hpp"
#include "rtp/srtp_gcm.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

using namespace chorus::bench;

namespace {

bool write_text(const std::string& path, const std::string& text) {
  std::string error;
  if (write_file(path, text, error))
    return true;
  std::fprintf(stderr, "chorus-bench: %s\n", error.c_str());
  return false;
}

int floor_main(int argc, char** argv) {
  std::string error;
  bool help = false;
  auto options = parse_floor_options(argc, argv, error, help);
  if (help) {
    std::fputs(floor_usage, stdout);
    return 0;
  }
  if (!options) {
    std::fprintf(stderr, "chorus-bench floor: %s\n%s", error.c_str(), floor_usage);
    return 2;
  }
  const floor_result r = run_floor(*options);
  print_floor_table(r, stdout);
  if (!options->json_file.empty() && !write_text(options->json_file, floor_to_json(r)))
    return 1;
  return r.ok() ? 0 : 1;
}

// The runner of one scenario run against the server --target names.
step_runner runner_for(const bench_options& o) {
  if (o.target == "janus")
    return run_janus_bench;
  return run_bench;
}

int ramp_main(const bench_options& o) {
  const ramp_result r = run_ramp(o, runner_for(o), stdout);
  print_ramp_summary(r, stdout);
  bool written = true;
  if (!o.json_file.empty())
    written = write_text(o.json_file, ramp_to_json(r));
  std::string prefix = o.plot_prefix;
  if (prefix.empty()) {
    prefix = o.json_file.empty() ? "chorus-ramp" : o.json_file;
    if (prefix.size() > 5 && prefix.compare(prefix.size() - 5, 5, ".json") == 0)
      prefix.resize(prefix.size() - 5);
  }
  std::string svg, error;
  if (!write_ramp_plot(r, prefix, svg, error)) {
    std::fprintf(stderr, "chorus-bench: %s\n", error.c_str());
    written = false;
  } else {
    std::printf("  plot: %s.dat, %s.gp%s%s%s\n", prefix.c_str(), prefix.c_str(),
                svg.empty() ? "" : ", ", svg.c_str(),
                svg.empty() ? (error.empty() ? " (no gnuplot: no SVG)" : (" (" + error + ")").c_str()) : "");
  }
  return r.ok() && written ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  chorus::net::sock::raise_fd_limit(); // a socket and a connection per participant and more
  // --gcm, wherever it is: taken out before the mode's own options are parsed.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--gcm") != 0)
      continue;
    const char* v = i + 1 < argc ? argv[i + 1] : "";
    if (std::strcmp(v, "native") != 0 && std::strcmp(v, "openssl") != 0) {
      std::fprintf(stderr, "chorus-bench: --gcm expects native or openssl\n");
      return 2;
    }
    chorus::rtp::set_gcm_impl(std::strcmp(v, "openssl") == 0 ? chorus::rtp::gcm_impl::openssl
                                                               : chorus::rtp::gcm_impl::native);
    for (int j = i; j + 2 <= argc; ++j)
      argv[j] = argv[j + 2];
    argc -= 2;
    --i;
  }
  if (argc >= 2 && std::strcmp(argv[1], "floor") == 0)
    return floor_main(argc, argv);
  if (argc >= 2 && std::strcmp(argv[1], "soak") == 0)
    return chorus::bench::soak_main(argc, argv);
  std::string error;
  bool help = false;
  auto options = parse_bench_options(argc, argv, error, help);
  if (help) {
    std::fputs(bench_usage, stdout);
    return 0;
  }
  if (!options) {
    std::fprintf(stderr, "chorus-bench: %s\n%s", error.c_str(), bench_usage);
    return 2;
  }
  if (options->ramp_step > 0)
    return ramp_main(*options);
  std::optional<floor_result> floor;
  if (options->floor)
    floor = run_scenario_floor(options->profile, scenario_fanout(*options), 1200, 100,
                               options->floor_duration_s, options->server_cpu,
                               options->receiver_gro);
  bench_result result = runner_for(*options)(*options);
  result.floor = std::move(floor);
  const figures f = compute_figures(result);
  print_table(result, f, stdout);
  if (!options->json_file.empty() && !write_text(options->json_file, to_json(result, f)))
    return 1;
  return result.ok() ? 0 : 1;
}
