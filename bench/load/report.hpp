// The figures of a bench run, as a readable table (stdout) and as JSON (--json).
#pragma once

#include "bench/load/runner.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

struct figures {
  double window_s = 0;
  // delivered to all receivers in the window (RTX included)
  uint64_t delivered_packets = 0;
  double delivered_pps = 0;
  double delivered_mbps = 0;
  double video_pps = 0, audio_pps = 0;
  // sent by the publishers
  double sent_pps = 0;
  double sent_kbps = 0;
  // loss from sequence numbers: (expected - distinct received) / expected
  uint64_t expected = 0, received = 0;
  double loss_percent = 0;
  // one-way latency (ms)
  uint64_t latency_samples = 0;
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0, latency_mean_ms = 0;
  // A subset of the samples, alone.
  struct latency_subset {
    uint64_t samples = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0;
  };
  // the audio packets alone (a video keyframe's fan-out must not hold them up)
  latency_subset audio_latency;
  // video keyframes' packets alone (all of a keyframe reaches the last receiver only after
  // the whole fan-out: with frames at once they are the tail of the one-way latency)
  latency_subset keyframe_latency;
  // server (--server-pid)
  std::optional<double> server_cpu_s, server_cpu_percent, server_us_per_packet;
  std::optional<uint64_t> server_rss_kib, server_rss_delta_kib;
  std::optional<double> server_kib_per_consumer;
  // (RSS at the end of the window - RSS once every transport was open, before any consume)
  // / consumers: the consumers and what media made grow, without participants and transports.
  std::optional<double> server_kib_per_consumer_alone;
  // the floor (--floor or --floor-us): us per forwarded packet, for the delivered mix
  std::optional<double> floor_us, floor_video_us, floor_audio_us;
  std::optional<uint32_t> floor_fanout;
  std::optional<double> cpu_per_packet_ratio_to_floor;
  // generator
  std::optional<double> client_cpu_percent;
};

figures compute_figures(const bench_result& r);

// --scenario storm: quantiles (nearest rank) of each setup stage, in ms from the storm's
// start, over the subscribers that reached it.
struct stage_quantiles {
  uint32_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};
struct storm_figures {
  uint32_t subscribers = 0, concurrency = 0;
  uint32_t with_media = 0;          // first audio and video arrived
  uint32_t within_3s = 0;           // ... within 3 s of the storm's start
  double seconds = 0;               // start -> the last subscriber's first media (or the bound)
  double joins_per_s = 0;           // with_media / seconds
  stage_quantiles connected, transport, consumed, first_audio, first_video, first_media;
  std::optional<double> server_cpu_s, server_cpu_ms_per_join, server_cpu_percent;
  // The media the server forwarded during the storm to those already receiving (their
  // receiving time from their first media to the storm's end, at the packet rate per
  // subscriber of the measured window), priced at the window's CPU per delivered packet,
  // taken out: what the joins themselves cost (an estimate).
  std::optional<double> media_packets_estimate, setup_cpu_ms_per_join;
  std::optional<double> client_cpu_percent; // the generator, over the storm
};
std::optional<storm_figures> compute_storm(const bench_result& r, const figures& f);

// A cluster run's figures per --url node (empty for one node).
struct node_figure {
  std::string url;
  std::optional<double> relay_in_pps, relay_out_pps; // packets its relays got / handed out
  std::optional<double> cpu_percent;                 // --node-pids
  std::optional<double> us_per_relayed_out;          // CPU / relayed packets handed out
  std::optional<double> us_per_link_packet;          // publisher's node: CPU / packets sent over links
};
std::vector<node_figure> node_figures(const bench_result& r);

void print_table(const bench_result& r, const figures& f, std::FILE* out);
// The whole result as a JSON document.
std::string to_json(const bench_result& r, const figures& f);

// Writes `text` to `path` (replacing it); false with `error` ("cannot write PATH: why").
// Every report of the bench's tools (the JSON reports, the ramp's data and gnuplot files).
bool write_file(const std::string& path, const std::string& text, std::string& error);

} // namespace chorus::bench
