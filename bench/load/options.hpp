// chorus-bench's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace chorus::bench {

enum class scenario { class_, meeting, rooms };
const char* to_string(scenario s) noexcept;

struct bench_options {
  std::string url;                      // ws://HOST:PORT (the /socket path is added)
  scenario kind = scenario::class_;
  uint32_t subscribers = 10;            // class
  uint32_t participants = 4;            // meeting, rooms (per room)
  uint32_t rooms = 2;                   // rooms
  double duration_s = 10;               // the measured window
  double warmup_s = 2;                  // media before the window opens
  uint32_t video_kbps = 1000;
  double keyframe_interval_s = 3;
  uint32_t audio_bytes = 100;           // RTP payload of an audio packet
  uint32_t threads = 1;                 // client threads
  std::optional<int> server_pid;
  std::string json_file;
  double setup_timeout_s = 300;         // all participants connected and consuming
  std::string run_id;                   // room and peer name prefix (random when empty)
  bool verbose = false;

  // Derived counts.
  uint32_t room_count() const noexcept;
  uint32_t participants_per_room() const noexcept; // class: 1 + subscribers
  uint32_t total_participants() const noexcept { return room_count() * participants_per_room(); }
};

extern const char* const bench_usage;

// Parses argv; on error returns nullopt and sets `error`. `help` is set for --help.
std::optional<bench_options> parse_bench_options(int argc, char** argv, std::string& error,
                                                 bool& help);

} // namespace chorus::bench
