// chorus-bench: a load generator for SFUs speaking Chorus's seed 001 JSON dialect. It
// simulates participants with the project's client side (real signaling, ICE, DTLS and SRTP
// over UDP), sends synthetic Opus-like audio and VP8-like video, receives like a browser
// (receiver reports, NACK, PLI), and reports delivered packets and bitrate, loss, one-way
// latency, and with --server-pid the server's CPU and memory. See docs/performance.md.
//
//   chorus-bench --url ws://127.0.0.1:8080 --scenario class --subscribers 20 --duration-s 10
//                [--server-pid PID] [--json FILE] [--threads T] ...   (--help for all)
//
// Exit status: 0 when every participant was set up and media was delivered (and the server,
// with --server-pid, is still running), 1 otherwise, 2 for bad usage.
#include "bench/load/options.hpp"
#include "bench/load/report.hpp"
#include "bench/load/runner.hpp"
#include "net/media_io_socket.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

using namespace chorus::bench;

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  chorus::net::sock::raise_fd_limit(); // a socket and a connection per participant and more
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
  const bench_result result = run_bench(*options);
  const figures f = compute_figures(result);
  print_table(result, f, stdout);
  if (!options->json_file.empty()) {
    const std::string json = to_json(result, f);
    std::FILE* out = std::fopen(options->json_file.c_str(), "w");
    if (!out || std::fwrite(json.data(), 1, json.size(), out) != json.size() || std::fclose(out) != 0) {
      std::fprintf(stderr, "chorus-bench: cannot write %s: %s\n", options->json_file.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  return result.ok() ? 0 : 1;
}
