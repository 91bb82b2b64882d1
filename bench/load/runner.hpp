// One bench run: builds the participants of the scenario, spreads them over client threads,
// sets them up (publishers first, then subscribers), starts the media, waits the warm-up,
// measures a window and tears everything down. The figures come from counter snapshots
// taken by every thread when the window opens and closes, and from /proc readings of the
// server process at the same two instants.
#pragma once

#include "bench/load/class_activity.hpp"
#include "bench/load/floor.hpp"
#include "bench/load/options.hpp"
#include "bench/load/participant.hpp"
#include "bench/load/node_sampler.hpp"
#include "bench/load/proc_sampler.hpp"
#include "bench/load/receiver.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

struct bench_result {
  bench_options options;
  std::string run_id;

  // setup
  uint32_t participants = 0, publishers = 0, subscribers = 0;
  uint32_t failed = 0;                  // participants whose setup failed
  uint32_t sampled = 0;                 // receivers that decrypt (--decrypt-sample)
  uint32_t low_layer_receivers = 0;     // --simulcast-low: receivers asking for layer 0
  std::vector<std::string> errors;      // the first few failures, "peer: stage: why"
  uint64_t consumers = 0;               // consumers created (server side)
  uint64_t expected_consumers = 0;
  uint64_t consumed_by_id = 0;          // producer ids from new-producer events
  uint64_t consumed_oldest = 0;         // consume without producerId (seed 001)
  double setup_s = 0;
  bool setup_timed_out = false;

  // --scenario storm: every subscriber's setup instants (mono_us), the storm's start (the
  // subscribers released) and end (the last one with audio and video, or the deadline), and
  // the server's readings at those two instants.
  std::vector<setup_marks> storm_marks;
  uint64_t storm_start_us = 0, storm_end_us = 0;
  uint32_t storm_with_media = 0;          // subscribers that got audio and video
  std::optional<proc_sample> server_storm_start, server_storm_end;
  std::optional<proc_sample> client_storm_start, client_storm_end; // the generator

  // the measured window
  double window_s = 0;
  totals delta;                         // counters over the window, all threads
  latency_histogram latency;            // one-way latencies inside the window
  latency_histogram audio_latency;      // ... of the audio packets alone
  latency_histogram keyframe_latency;   // ... of video keyframes' packets (also in latency)
  class_activity_figures class_activity; // --chat-per-s, --poll

  // server (--server-pid) and generator readings
  std::optional<proc_sample> server_before; // before anything connected
  std::optional<proc_sample> server_transports; // every transport open, no consumer yet
  std::optional<proc_sample> server_setup;  // after setup
  std::optional<proc_sample> server_start;  // window open
  std::optional<proc_sample> server_end;    // window closed
  // Cluster runs: each --url node at the window's edges (bench/load/node_sampler.hpp).
  std::vector<node_sample> nodes_start, nodes_end;
  bool server_alive_after = true;           // the process still existed at the end
  std::optional<proc_sample> client_start, client_end;

  // --simulcast: the server's view of a top receiver and of a layer-0 one (after the window).
  std::vector<server_view> server_views;

  // --floor: measured before the scenario (bench_main), at the scenario's fan-out.
  std::optional<floor_result> floor;

  bool ok() const noexcept;                 // everything set up and media delivered
};

bench_result run_bench(const bench_options& options);

// Receivers of each published packet in the scenario (class: subscribers; meeting and
// rooms: participants - 1): the fan-out of the floor measured with --floor.
uint32_t scenario_fanout(const bench_options& options) noexcept;

} // namespace chorus::bench
