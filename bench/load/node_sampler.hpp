// Cluster runs (several --url): what each node did in the measured window. The relay
// counters come from the node's /healthz ("relays": packets received from other nodes and
// handed to local consumers), the CPU from /proc when --node-pids names the processes.
// The packets a node's relays received are what crossed the link into it: with one
// publisher (class), the per-link rate.
#pragma once

#include "bench/load/proc_sampler.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

struct relay_counters {
  uint64_t packets_in = 0;
  uint64_t packets_out = 0;
  int64_t active = 0;
};

struct node_sample {
  std::optional<proc_sample> cpu;
  std::optional<relay_counters> relays;
};

// GET http://HOST:PORT/healthz for a ws://HOST:PORT URL, bounded by `timeout_ms`: the body,
// nullopt when it cannot be read (or the status is not 200).
std::optional<std::string> fetch_healthz(const std::string& ws_url, int timeout_ms = 2000);

// GET http://HOST:PORT/healthz for a ws://HOST:PORT URL, bounded by `timeout_ms`; nullopt
// when it cannot be read or has no "relays" object (a single node).
std::optional<relay_counters> fetch_relays(const std::string& ws_url, int timeout_ms = 2000);

// Parses /healthz's JSON body (exposed for the unit test).
std::optional<relay_counters> parse_relays(const std::string& body);

std::vector<node_sample> sample_nodes(const std::vector<std::string>& ws_urls,
                                      const std::vector<int>& pids);

} // namespace chorus::bench
