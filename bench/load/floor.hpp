// The floor: what forwarding one packet costs at least on this machine, measured the way an
// SFU does it. One thread (the "server" thread, pinned to the server's core) receives an
// SRTP packet from a loopback UDP socket (epoll + recvmmsg, as net/media_io does), unprotects
// it once, and for each of N destinations copies it, rewrites the SSRC, protects it with that
// destination's own SRTP session and sends it (sendmmsg, up to 64 datagrams per call). A peer
// thread on another core feeds the packets (one in flight by default: one datagram per
// wake-up, as a publisher at a few hundred packets/s gives) and drains the N destination
// sockets. The floor is the server thread's CPU (getrusage RUSAGE_THREAD, user + sys) divided
// by the packets sent out. Used by `chorus-bench floor` and by scenario runs with --floor.
#pragma once

#include "rtp/srtp_session.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::bench {

// How the N copies leave: from one socket with sendmmsg (Chorus's --rtc-single-port; the
// cheapest, the floor) or one sendmmsg of one datagram per destination from a socket per
// destination (a transport per port, Chorus's default; informational). With bursts
// (--burst), also 'segmented': from one socket, destination by destination, the copies of
// every packet one receive call brought as one message with a UDP segment size (UDP GSO,
// as Chorus's send outbox does), up to 64 datagrams per sendmmsg.
enum class floor_send { batched, per_socket, segmented };
const char* to_string(floor_send s) noexcept;

struct floor_options {
  rtp::srtp_profile profile = rtp::srtp_profile::aead_aes_256_gcm;
  std::vector<uint32_t> fanouts{1, 10, 100};
  uint32_t video_bytes = 1200; // RTP packet (header + payload) before SRTP
  uint32_t audio_bytes = 100;
  double duration_s = 1;       // per measured case
  std::optional<int> cpu;      // the server thread's core (else the first allowed one)
  uint32_t in_flight = 1;      // datagrams the peer keeps in flight towards the server socket
  double rate = 0;             // >0: the peer sends this many datagrams (bursts) a second instead
  uint32_t burst = 1;          // >1: the peer sends this many datagrams at once (a frame sent
                               // at once), the next burst when the server has forwarded it
  bool per_socket = true;      // also measure floor_send::per_socket
  bool sink_gro = false;       // the destinations take segmented messages whole (UDP_GRO)
  std::string kind;            // "video" or "audio": that kind only (SRTP and cases); empty: both
  std::string json_file;
};

struct floor_case {
  std::string kind;            // "video" or "audio"
  uint32_t bytes = 0;          // RTP bytes before SRTP
  uint32_t fanout = 0;
  floor_send send = floor_send::batched;
  uint64_t packets_in = 0, packets_out = 0;
  uint64_t send_failures = 0, srtp_failures = 0;
  uint64_t receive_calls = 0, send_calls = 0, wakeups = 0;
  uint64_t drained = 0;        // datagrams the peer received on the destination sockets
  uint64_t segmented_messages = 0; // messages of two or more datagrams (segmented)
  double wall_s = 0, user_s = 0, sys_s = 0;
  // Per forwarded datagram, from the peer's send of the packet to the return of the server's
  // send call that carried the copy (loopback delivers within the call): what a receiver
  // waits for it, the server's queue included.
  double latency_p50_ms = 0, latency_p99_ms = 0, latency_max_ms = 0;
  double us_per_packet_out() const noexcept; // the floor per forwarded packet
  double us_per_packet_in() const noexcept;
};

struct srtp_cost {
  std::string kind;
  uint32_t bytes = 0;
  uint64_t packets = 0;
  double protect_us = 0, unprotect_us = 0; // thread CPU per packet
};

struct machine_info {
  std::string cpu_model;       // /proc/cpuinfo "model name"
  uint32_t online_cpus = 0;
  std::string loadavg;         // /proc/loadavg
  std::string kernel;          // uname -r
};
machine_info read_machine_info();
// Now in UTC, ISO 8601 to the second (2026-01-31T12:00:00Z).
std::string utc_now();

struct floor_result {
  floor_options options;
  machine_info machine;
  int cpu = -1;                // the server thread's core
  std::vector<int> peer_cpus;
  std::string date;            // UTC, ISO 8601
  std::vector<srtp_cost> srtp;
  std::vector<floor_case> cases;
  std::string error;           // empty when everything ran

  bool ok() const noexcept { return error.empty() && !cases.empty(); }
  // The batched case of that kind and fan-out.
  const floor_case* find(const std::string& kind, uint32_t fanout) const noexcept;
};

floor_result run_floor(const floor_options& o);

// The floor for a scenario: video and audio at one fan-out, batched send only, SRTP costs
// skipped. `cpu` is the server's core (--server-cpu); `sink_gro`: the destinations as the
// scenario's receivers (--receiver-gro).
floor_result run_scenario_floor(rtp::srtp_profile profile, uint32_t fanout, uint32_t video_bytes,
                                uint32_t audio_bytes, double duration_s, std::optional<int> cpu,
                                bool sink_gro = false);

void print_floor_table(const floor_result& r, std::FILE* out);
std::string floor_to_json(const floor_result& r);

// "AEAD_AES_256_GCM", "SRTP_AEAD_AES_128_GCM", "aes_cm_128_hmac_sha1_80", ... (any case).
std::optional<rtp::srtp_profile> parse_srtp_profile(std::string_view s);

extern const char* const floor_usage;
std::optional<floor_options> parse_floor_options(int argc, char** argv, std::string& error,
                                                 bool& help);

} // namespace chorus::bench
