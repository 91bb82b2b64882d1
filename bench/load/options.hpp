// chorus-bench's command line.
#pragma once

#include "rtp/srtp_session.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::bench {

enum class scenario { class_, meeting, rooms };
const char* to_string(scenario s) noexcept;

// "ws://A,ws://B": each URL (trailing slashes removed), in order.
std::vector<std::string> split_urls(const std::string& urls);

struct bench_options {
  std::string url;                      // ws://HOST:PORT (the /socket path is added)
  // The server's signaling: "chorus" (the seed 001 dialect) or "janus" (Janus VideoRoom over
  // the Janus WebSocket API, bench/janus/janus_bench.hpp; class only).
  std::string target = "chorus";
  std::string local_ip = "10.77.0.1";   // janus: the generator's address (the host veth end)
  uint64_t janus_room = 1234;           // janus: the VideoRoom room
  scenario kind = scenario::class_;
  uint32_t subscribers = 10;            // class
  uint32_t participants = 4;            // meeting, rooms (per room)
  uint32_t rooms = 2;                   // rooms
  double duration_s = 10;               // the measured window
  double warmup_s = 2;                  // media before the window opens
  uint32_t video_kbps = 1000;
  // --simulcast: every video publisher sends three encodings by SSRC (media.hpp
  // simulcast_ladder: 150 : 400 : 1200 with the top one at --video-kbps, L1T3 each);
  // receivers take the top one, except --simulcast-low percent of them (spread evenly),
  // which ask for spatial layer 0 with set-consumer-preferred-layers.
  bool simulcast = false;
  uint32_t simulcast_low_percent = 0;
  // Publishers pace their video at this multiple of its bitrate, as browsers do (2.5 in
  // Chromium); 0 (default): each frame leaves at once (media.hpp, packet_pacer).
  double pace_factor = 0;
  double keyframe_interval_s = 3;
  uint32_t audio_bytes = 100;           // RTP payload of an audio packet
  uint32_t threads = 1;                 // client threads
  bool threads_set = false;
  // --scenario storm: a class whose subscribers all connect, join, open their transports
  // and consume at once (one client thread each, up to --threads, default 100; the
  // publisher on a thread of its own, publishing before the storm starts). Reports the
  // time from the first connect to each subscriber's first audio and video packet.
  bool storm = false;
  // The role a class's subscribers join with (`role` in the socket URL; the server must run
  // with auth.mode none): e.g. viewer, so that a large class has an audience. "": none.
  std::string subscriber_role;
  // The class's activity in the measured window (class and storm): the publisher sends
  // this many chat messages a second (at most 5, the server's rate per participant), and
  // with `poll` opens a poll at the window's start that every subscriber answers
  // (bench/load/class_activity.hpp).
  double chat_per_s = 0;
  bool poll = false;
  // Receivers that decrypt their media and measure latency: 1 in this many (1: all). The
  // others count packets, loss and NACKs from the clear RTP header and decrypt only RTX.
  uint32_t decrypt_sample = 1;
  // Client threads poll their sockets without sleeping (the floor's drain does): the
  // server's sends then never pay for waking a sleeping receiver.
  bool busy_poll = false;
  // Receivers take a segmented message whole (UDP_GRO) and cut it into its datagrams
  // themselves: on loopback the kernel's receive side runs on the sender's core, so
  // without it the server's CPU includes cutting and queueing for the generator.
  bool receiver_gro = false;
  std::optional<int> server_pid;
  // Cluster runs (several --url): the nodes' PIDs in --url order (their CPU in the window),
  // and whether a class's subscribers avoid the publisher's node (all media then crosses a
  // link: the relay cost on both ends).
  std::vector<int> node_pids;
  bool remote_subscribers = false;
  std::string json_file;
  double setup_timeout_s = 300;         // all participants connected and consuming
  std::string run_id;                   // room and peer name prefix (random when empty)
  bool verbose = false;

  // The floor (bench/load/floor.hpp): --floor measures it before the scenario (on
  // --server-cpu), --floor-us gives it; reports then show CPU per packet / floor.
  bool floor = false;
  std::optional<double> floor_us;
  std::optional<int> server_cpu;
  double floor_duration_s = 1;
  rtp::srtp_profile profile = rtp::srtp_profile::aead_aes_256_gcm;

  // ramp (class only): K more subscribers per step up to M (0: no ramp).
  uint32_t ramp_step = 0;
  uint32_t ramp_max = 0;
  double ramp_max_loss_percent = 1;
  double ramp_max_p99_ms = 50;
  std::string plot_prefix; // PREFIX.dat, PREFIX.gp (and PREFIX.svg with gnuplot)

  // Derived counts.
  uint32_t room_count() const noexcept;
  uint32_t participants_per_room() const noexcept; // class: 1 + subscribers
  uint32_t total_participants() const noexcept { return room_count() * participants_per_room(); }
  // Whether receiver i (subscriber i of a class, participant i overall otherwise) prefers
  // the lowest simulcast encoding: --simulcast-low percent of them, spread evenly.
  bool prefers_low_layer(uint32_t i) const noexcept;
};

extern const char* const bench_usage;

// Parses argv; on error returns nullopt and sets `error`. `help` is set for --help.
std::optional<bench_options> parse_bench_options(int argc, char** argv, std::string& error,
                                                 bool& help);

} // namespace chorus::bench
