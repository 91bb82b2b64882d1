// chorus-bench soak: churn against one server for a given time, then the check that it
// returns to idle.
//
// Participants (the bench's WebRTC clients: ICE, DTLS, SRTP, synthetic audio and video) are
// kept at --participants across --rooms rooms. Each joins a room, publishes audio and video
// (--publish-percent of them), opens its receive transport and consumes what the room
// has, keeps its media flowing for a random lifetime, then ends in one of four ways, in
// turn at random:
//   leave    DTLS close_notify and the WebSocket closing handshake;
//   cut      gone without a word: the sockets close, no close_notify, no close frame;
//   switch   leaves, and the same peer id joins another room at once;
//   replace  the same peer id connects again to the same room (a reconnect after a
//            network change), the server replaces the old connection, which is then cut.
// A new participant takes each one's place. Every --report-every-s seconds a row: the
// server's RSS (VmRSS) and open descriptors (/proc, with --server-pid), its /healthz counts
// (rooms, peers, sessions, transports, producers, consumers, actors), and the churn so far.
// First a warm-up churn of --warmup-s, wound down the same way: the idle reference is the
// server after it has served (first-use allocations, thread caches and pools made), read
// once every count is back at its cold value. After --duration-s the measured churn stops:
// the remaining participants leave (half of them cut); then, within --settle-s, every count
// must be back at its idle value exactly, and RSS within --rss-slack-mib of idle RSS. Exit 0
// when it is, 1 when not, 2 on bad usage.
#pragma once

#include "bench/load/proc_sampler.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

struct soak_options {
  std::string url = "ws://127.0.0.1:8080";
  std::optional<int> server_pid;
  double duration_s = 120;
  double report_every_s = 60;
  uint32_t rooms = 3;
  uint32_t participants = 12;
  double min_life_s = 2, max_life_s = 8;
  uint32_t publish_percent = 40;
  uint32_t video_kbps = 300;
  double settle_s = 30;
  double warmup_s = 20;
  uint32_t rss_slack_mib = 4;
  uint64_t seed = 1;
  std::string json_file;
  bool verbose = false;
};

extern const char* const soak_usage;
std::optional<soak_options> parse_soak_options(int argc, char** argv, std::string& error,
                                               bool& help);

// What /healthz counts (-1: absent or unreadable).
struct server_counts {
  int64_t rooms = -1, peers = -1, sessions = -1, transports = -1, producers = -1,
          consumers = -1, data_producers = -1, data_consumers = -1, actors = -1;
};
// Parses /healthz's body (exposed for the unit test).
server_counts parse_server_counts(const std::string& body);

struct soak_sample {
  double t_s = 0;                  // since the churn started
  std::optional<proc_sample> proc; // the server (with --server-pid)
  int64_t fds = -1;                // the server's open descriptors (with --server-pid)
  server_counts counts;
  uint32_t live = 0;               // participants connected now
  uint64_t joins = 0, leaves = 0, cuts = 0, switches = 0, replaces = 0, failures = 0;
  uint64_t rx_packets = 0, tx_packets = 0; // media so far (all participants, also the gone)
};

struct soak_result {
  soak_options options;
  soak_sample cold;                // before anything
  soak_sample idle;                // after the warm-up's return to idle: the reference
  std::vector<soak_sample> rows;   // every --report-every-s
  soak_sample end;                 // when the churn stopped
  soak_sample after;               // once idle again (or at --settle-s)
  double settle_s = -1;            // how long the return took (-1: it did not)
  std::vector<std::string> differences; // what did not return to idle
  std::vector<std::string> errors;      // the first setup failures
  bool ok() const noexcept { return settle_s >= 0 && differences.empty(); }
};

soak_result run_soak(const soak_options& o);
void print_soak(const soak_result& r, std::FILE* out);
std::string soak_to_json(const soak_result& r);
// chorus-bench soak ...: parses, runs, prints, writes --json; the exit code.
int soak_main(int argc, char** argv);

} // namespace chorus::bench
