#include "bench/load/options.hpp"

#include "bench/client/cli_flags.hpp"
#include "bench/load/floor.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace chorus::bench {

const char* to_string(scenario s) noexcept {
  switch (s) {
    case scenario::class_: return "class";
    case scenario::meeting: return "meeting";
    case scenario::rooms: return "rooms";
  }
  return "class";
}

uint32_t bench_options::room_count() const noexcept {
  return kind == scenario::rooms ? rooms : 1;
}

uint32_t bench_options::participants_per_room() const noexcept {
  return kind == scenario::class_ ? 1 + subscribers : participants;
}

bool bench_options::prefers_low_layer(uint32_t i) const noexcept {
  if (!simulcast)
    return false;
  const uint64_t n = simulcast_low_percent;
  return (uint64_t(i) + 1) * n / 100 > uint64_t(i) * n / 100;
}

const char* const bench_usage =
  "usage: chorus-bench --url ws://HOST:PORT [--scenario class|meeting|rooms|storm]\n"
  "                    [--subscribers N [--subscriber-role ROLE]] [--participants N]\n"
  "                    [--chat-per-s N] [--poll]\n"
  "                    [--rooms R]\n"
  "                    [--duration-s S] [--warmup-s S] [--video-kbps K]\n"
  "                    [--keyframe-interval-s S] [--audio-bytes B] [--threads T]\n"
  "                    [--simulcast [--simulcast-low PERCENT]]\n"
  "                    [--decrypt-sample N] [--busy-poll] [--receiver-gro]\n"
  "                    [--pace-factor F] [--gcm native|openssl]\n"
  "                    [--server-pid PID] [--json FILE] [--setup-timeout-s S]\n"
  "                    [--run-id ID] [--verbose]\n"
  "                    [--node-pids PID,PID,... [--remote-subscribers]]\n"
  "                    [--target chorus|janus [--local-ip IP] [--janus-room R]]\n"
  "                    [--floor [--server-cpu C] [--floor-duration-s S] | --floor-us X]\n"
  "                    [--profile P] [--ramp-step K --ramp-max M [--plot PREFIX]]\n"
  "       chorus-bench floor [...]   (chorus-bench floor --help)\n"
  "\n"
  "  class    1 publisher (audio + video), N subscribers (--subscribers, default 10)\n"
  "  meeting  N participants, each publishing and receiving all others (--participants, 4)\n"
  "  rooms    R rooms (--rooms, default 2) of N meeting participants (--participants)\n"
  "  storm    a class (--subscribers N) whose N subscribers connect, join, open their\n"
  "           transports and consume at once, one client thread each (--threads: at most\n"
  "           this many at a time, default 100) while the publisher already sends: joins/s,\n"
  "           time from the first connect to each subscriber's first audio and video\n"
  "           (p50/p99), the server's CPU per join; then the usual measured window\n"
  "  --subscriber-role ROLE: a class's subscribers join with this role (auth.mode none),\n"
  "           e.g. viewer: beyond rooms.rosterLimit they are the room's audience\n"
  "  --chat-per-s N (at most 5), --poll: in the measured window the publisher chats N\n"
  "           messages a second and opens a poll every subscriber answers; reported: each\n"
  "           message's delivery to every subscriber, the time until each saw the full tally\n"
  "\n"
  "Signaling is the seed 001 JSON dialect (get-rtp-capabilities, create-transport,\n"
  "connect-transport, produce, consume, resume-consumer); media is real ICE, DTLS and SRTP\n"
  "over UDP. With --server-pid, the server's CPU time (its CPU clock, ns) and resident memory\n"
  "are read at the start and the end of the measured window. Pin nothing here: run the server\n"
  "and the bench under taskset on different cores (docs/performance.md).\n"
  "\n"
  "--floor measures the floor (chorus-bench floor) before the scenario, at the scenario's\n"
  "fan-out, with its server thread on --server-cpu C (the server's core), for --floor-duration-s\n"
  "(default 1) per packet size; --floor-us X takes it as given. The report then shows the\n"
  "server's CPU per delivered packet as a ratio to the floor. --profile is the SRTP profile\n"
  "of the floor (default AEAD_AES_256_GCM, the one Chorus negotiates with Chromium).\n"
  "\n"
  "--target janus drives Janus's VideoRoom instead (Janus API over WebSocket, SDP, full ICE;\n"
  "class only, one client thread): --url ws://10.77.0.2:8188 (bench/janus/run-janus.sh),\n"
  "--local-ip is the generator's address towards Janus (10.77.0.1), --janus-room (1234).\n"
  "\n"
  "--simulcast: every video publisher sends three VP8 encodings by SSRC (simulcast,\n"
  "lowest first; bitrates 150 : 400 : 1200 with the top one at --video-kbps, a quarter, a\n"
  "half and the whole 640x360; temporal layers L1T3 in the VP8 descriptor). Receivers take\n"
  "the top encoding; --simulcast-low P (0-100, default 0): P % of them (spread evenly) ask\n"
  "for spatial layer 0 with set-consumer-preferred-layers before resuming. The report adds\n"
  "the packets sent and delivered per encoding.\n"
  "--decrypt-sample N: only every Nth receiver decrypts its media (and measures latency);\n"
  "the others count packets, loss and NACKs from the clear RTP header (SRTP encrypts only\n"
  "the payload) and decrypt only retransmissions, so that one generator core carries more\n"
  "receivers (default 1: all decrypt).\n"
  "--pace-factor F: publishers pace their video at F times its bitrate (1-20; Chromium's\n"
  "pacer uses 2.5), so that a keyframe leaves over tens of milliseconds as a browser sends\n"
  "it, not in one burst (default 0: each frame at once; not with --target janus).\n"
  "--busy-poll: the client threads poll their sockets without sleeping, as the floor's\n"
  "drain does. A datagram sent to a sleeping receiver makes the kernel wake it, and on\n"
  "loopback the sender's system call pays for that wake-up: without this flag the server's\n"
  "CPU includes waking the generator (docs/performance.md, \"The receiver's wake-ups\").\n"
  "Costs the generator its cores.\n"
  "--receiver-gro: receivers take a run of datagrams the server sent as one segmented\n"
  "message (UDP GSO: a frame at once to one receiver) whole (UDP_GRO) and cut it into its\n"
  "datagrams themselves. What they receive is the same; on loopback the kernel's receive\n"
  "side runs on the sender's core, so without it the server's CPU includes cutting the\n"
  "message and queueing and waking per datagram for the generator, which a receiver on\n"
  "another machine would not put on the server (the in-run --floor's sinks do the same;\n"
  "not with --target janus).\n"
  "--gcm native|openssl: the generator's (and the floor's) SRTP AES-GCM, as the server's\n"
  "flag of that name: compare like with like (default native).\n\n"
  "A cluster: --url ws://A,ws://B,... deals the participants over the nodes in turn (a\n"
  "class's publisher on the first). Each node's /healthz relay counters are read at the\n"
  "window's edges and reported per node: the packets its relays received crossed the link\n"
  "into it. --node-pids P,P,... (in --url order) adds each node's CPU; --remote-subscribers\n"
  "keeps a class's subscribers off the publisher's node.\n\n"
  "--ramp-step K --ramp-max M (class only): runs the class with K, 2K, ... subscribers (a\n"
  "fresh setup and a measured window of --duration-s per step) until loss > 1 % or p99\n"
  "latency > 50 ms or M subscribers; the last good step is the capacity. --json gets all\n"
  "steps; PREFIX.dat and PREFIX.gp (and PREFIX.svg when gnuplot is installed) the plot\n"
  "(--plot PREFIX, default: the --json file without .json, else chorus-ramp).\n";

std::vector<std::string> split_urls(const std::string& urls) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= urls.size()) {
    auto comma = urls.find(',', start);
    auto part = urls.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    while (!part.empty() && part.back() == '/')
      part.pop_back();
    out.push_back(part);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::optional<bench_options> parse_bench_options(int argc, char** argv, std::string& error,
                                                 bool& help) {
  using client::parse_double;
  using client::parse_u32;
  bench_options o;
  help = false;
  bool subscribers_set = false, participants_set = false, rooms_set = false, low_set = false;
  static constexpr std::string_view known[] = {
    "--url", "--scenario", "--subscribers", "--participants", "--rooms", "--duration-s",
    "--warmup-s", "--video-kbps", "--keyframe-interval-s", "--audio-bytes", "--threads",
    "--server-pid", "--json", "--setup-timeout-s", "--run-id", "--floor-us", "--server-cpu",
    "--floor-duration-s", "--profile", "--ramp-step", "--ramp-max", "--plot", "--target",
    "--local-ip", "--janus-room", "--decrypt-sample", "--node-pids", "--simulcast-low",
    "--pace-factor", "--subscriber-role", "--chat-per-s"};
  auto on_switch = [&](std::string_view flag) {
    if (flag == "--verbose")
      o.verbose = true;
    else if (flag == "--floor")
      o.floor = true;
    else if (flag == "--remote-subscribers")
      o.remote_subscribers = true;
    else if (flag == "--busy-poll")
      o.busy_poll = true;
    else if (flag == "--receiver-gro")
      o.receiver_gro = true;
    else if (flag == "--simulcast")
      o.simulcast = true;
    else if (flag == "--poll")
      o.poll = true;
    else
      return false;
    return true;
  };
  auto on_value = [&](std::string_view flag, std::string_view v) {
    bool ok = true;
    uint32_t u = 0;
    if (flag == "--url") {
      // ws://HOST:PORT, or several separated by commas (the nodes of a cluster: the
      // participants are dealt over them in turn, the first one to the first).
      o.url = v;
      ok = !o.url.empty();
      for (auto& u : split_urls(o.url))
        ok = ok && u.rfind("ws://", 0) == 0 && u.size() > 5;
    } else if (flag == "--scenario") {
      o.storm = v == "storm";
      if (v == "class" || v == "storm") o.kind = scenario::class_;
      else if (v == "meeting") o.kind = scenario::meeting;
      else if (v == "rooms") o.kind = scenario::rooms;
      else ok = false;
    } else if (flag == "--subscriber-role") {
      o.subscriber_role = v;
      ok = !v.empty() && v.size() <= 64 &&
           std::all_of(v.begin(), v.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
           });
    } else if (flag == "--chat-per-s") {
      ok = parse_double(v, o.chat_per_s) && o.chat_per_s > 0 && o.chat_per_s <= 5;
    } else if (flag == "--subscribers") {
      ok = parse_u32(v, o.subscribers) && o.subscribers >= 1 && o.subscribers <= 100000;
      subscribers_set = true;
    } else if (flag == "--participants") {
      ok = parse_u32(v, o.participants) && o.participants >= 2 && o.participants <= 1000;
      participants_set = true;
    } else if (flag == "--rooms") {
      ok = parse_u32(v, o.rooms) && o.rooms >= 1 && o.rooms <= 10000;
      rooms_set = true;
    } else if (flag == "--duration-s") {
      ok = parse_double(v, o.duration_s) && o.duration_s > 0 && o.duration_s <= 86400;
    } else if (flag == "--warmup-s") {
      ok = parse_double(v, o.warmup_s) && o.warmup_s >= 0 && o.warmup_s <= 3600;
    } else if (flag == "--video-kbps") {
      ok = parse_u32(v, o.video_kbps) && o.video_kbps >= 10 && o.video_kbps <= 50000;
    } else if (flag == "--keyframe-interval-s") {
      ok = parse_double(v, o.keyframe_interval_s) && o.keyframe_interval_s >= 0 &&
           o.keyframe_interval_s <= 3600;
    } else if (flag == "--simulcast-low") {
      ok = parse_u32(v, o.simulcast_low_percent) && o.simulcast_low_percent <= 100;
      low_set = true;
    } else if (flag == "--pace-factor") {
      ok = parse_double(v, o.pace_factor) &&
           (o.pace_factor == 0 || (o.pace_factor >= 1 && o.pace_factor <= 20));
    } else if (flag == "--audio-bytes") {
      ok = parse_u32(v, o.audio_bytes) && o.audio_bytes >= 20 && o.audio_bytes <= 1000;
    } else if (flag == "--decrypt-sample") {
      ok = parse_u32(v, o.decrypt_sample) && o.decrypt_sample >= 1 && o.decrypt_sample <= 100000;
    } else if (flag == "--threads") {
      ok = parse_u32(v, o.threads) && o.threads >= 1 && o.threads <= 512;
      o.threads_set = true;
    } else if (flag == "--server-pid") {
      ok = parse_u32(v, u) && u > 0 && u <= 0x7FFFFFFF;
      o.server_pid = int(u);
    } else if (flag == "--json") {
      o.json_file = v;
      ok = !o.json_file.empty();
    } else if (flag == "--setup-timeout-s") {
      ok = parse_double(v, o.setup_timeout_s) && o.setup_timeout_s > 0;
    } else if (flag == "--floor-us") {
      double x = 0;
      ok = parse_double(v, x) && x > 0;
      o.floor_us = x;
    } else if (flag == "--server-cpu") {
      ok = parse_u32(v, u) && u < 1024;
      o.server_cpu = int(u);
    } else if (flag == "--floor-duration-s") {
      ok = parse_double(v, o.floor_duration_s) && o.floor_duration_s > 0 && o.floor_duration_s <= 600;
    } else if (flag == "--profile") {
      auto p = parse_srtp_profile(v);
      ok = p.has_value();
      if (p)
        o.profile = *p;
    } else if (flag == "--ramp-step") {
      ok = parse_u32(v, o.ramp_step) && o.ramp_step >= 1 && o.ramp_step <= 100000;
    } else if (flag == "--ramp-max") {
      ok = parse_u32(v, o.ramp_max) && o.ramp_max >= 1 && o.ramp_max <= 100000;
    } else if (flag == "--plot") {
      o.plot_prefix = v;
      ok = !o.plot_prefix.empty();
    } else if (flag == "--target") {
      o.target = v;
      ok = o.target == "chorus" || o.target == "janus";
    } else if (flag == "--local-ip") {
      o.local_ip = v;
      ok = !o.local_ip.empty();
    } else if (flag == "--janus-room") {
      ok = parse_u32(v, u) && u >= 1;
      o.janus_room = u;
    } else if (flag == "--node-pids") {
      o.node_pids.clear();
      std::string list{v};
      std::size_t start = 0;
      while (ok && start <= list.size()) {
        auto comma = list.find(',', start);
        auto item = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        ok = parse_u32(item, u) && u > 0;
        o.node_pids.push_back(int(u));
        if (comma == std::string::npos)
          break;
        start = comma + 1;
      }
    } else if (flag == "--run-id") {
      o.run_id = v;
      ok = !o.run_id.empty() && o.run_id.size() <= 64 &&
           std::all_of(o.run_id.begin(), o.run_id.end(), [](char c) {
             return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
           });
    }
    return ok;
  };
  if (!client::parse_flags(argc, argv, 1, known, on_switch, on_value, error, &help))
    return std::nullopt;
  if (o.url.empty()) {
    error = "--url ws://HOST:PORT is required";
    return std::nullopt;
  }
  if (o.kind == scenario::class_ && (participants_set || rooms_set)) {
    error = "class takes --subscribers, not --participants or --rooms";
    return std::nullopt;
  }
  if (o.kind != scenario::class_ && subscribers_set) {
    error = std::string(to_string(o.kind)) + " takes --participants, not --subscribers";
    return std::nullopt;
  }
  if (o.kind == scenario::meeting && rooms_set) {
    error = "meeting is one room; use --scenario rooms for --rooms";
    return std::nullopt;
  }
  if (o.remote_subscribers && (o.kind != scenario::class_ || split_urls(o.url).size() < 2)) {
    error = "--remote-subscribers: a class over two or more --url nodes";
    return std::nullopt;
  }
  if (!o.node_pids.empty() && o.node_pids.size() != split_urls(o.url).size()) {
    error = "--node-pids: one PID per --url node, in the same order";
    return std::nullopt;
  }
  if (low_set && !o.simulcast) {
    error = "--simulcast-low goes with --simulcast";
    return std::nullopt;
  }
  if (o.simulcast && o.target != "chorus") {
    error = "--simulcast: the Chorus target only";
    return std::nullopt;
  }
  if (o.floor && o.floor_us) {
    error = "--floor measures the floor, --floor-us gives it: not both";
    return std::nullopt;
  }
  if ((o.ramp_step > 0) != (o.ramp_max > 0)) {
    error = "--ramp-step and --ramp-max go together";
    return std::nullopt;
  }
  if (o.ramp_step > 0 && o.kind != scenario::class_) {
    error = "ramp is for the class scenario";
    return std::nullopt;
  }
  if ((o.chat_per_s > 0 || o.poll || !o.subscriber_role.empty()) &&
      (o.kind != scenario::class_ || o.target != "chorus" || o.ramp_step > 0)) {
    error = "--chat-per-s, --poll, --subscriber-role: a class (or storm) on Chorus, no ramp";
    return std::nullopt;
  }
  if (o.target == "janus" && o.pace_factor > 0) {
    error = "--pace-factor: Chorus targets only (the Janus publisher sends frames at once)";
    return std::nullopt;
  }
  if (o.target == "janus" && o.receiver_gro) {
    error = "--receiver-gro: Chorus targets only (Janus sends datagram by datagram)";
    return std::nullopt;
  }
  if (o.target == "janus" && (o.kind != scenario::class_ || o.threads != 1)) {
    error = "--target janus: only --scenario class, one client thread";
    return std::nullopt;
  }
  if (o.storm && (o.ramp_step > 0 || o.target != "chorus")) {
    error = "storm: the Chorus target, no ramp";
    return std::nullopt;
  }
  if (o.storm) {
    // The subscribers' threads (at most one per subscriber) and the publisher's.
    const uint32_t storm_threads = std::min(o.subscribers, o.threads_set ? o.threads : 100u);
    o.threads = storm_threads + 1;
  } else if (o.threads > 256) {
    error = "--threads: at most 256 (512 for storm)";
    return std::nullopt;
  }
  if (o.ramp_step > 0 && o.ramp_max < o.ramp_step) {
    error = "--ramp-max must be at least --ramp-step";
    return std::nullopt;
  }
  return o;
}

} // namespace chorus::bench
