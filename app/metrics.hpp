// GET /metrics: the node's counters in the Prometheus text exposition format (version
// 0.0.4): the gauges and counters Chorus keeps, and the process's CPU, memory and
// descriptors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::app {

struct metric {
  std::string name;   // e.g. chorus_rooms
  std::string help;   // one line
  std::string type;   // gauge | counter
  std::string labels; // "" or e.g. reason="origin" (already escaped)
  double value = 0;
  // The metric family when the sample's name is not it (a histogram's NAME_bucket, _sum,
  // _count belong to NAME); "" : the name.
  std::string family{};
};

// The exposition text: one HELP and TYPE line per family (in the order first seen; samples
// of one family must be adjacent), then its samples.
std::string prometheus_text(const std::vector<metric>& metrics);

struct process_stats {
  double cpu_seconds = 0;      // user + system
  uint64_t resident_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
};

// Read from getrusage(2), /proc/self/statm and /proc/self/fd; zeros where unavailable.
process_stats read_process_stats();

} // namespace chorus::app
