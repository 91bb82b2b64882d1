// The receive side of one simulated browser PeerConnection, shared by the Chorus participant
// (participant.cpp) and the Janus subscriber (bench/janus/janus_bench.cpp): the inbound
// streams by SSRC with the accounting of receiver.hpp, and browser-like RTCP back (NACK and
// PLI as the streams ask, receiver reports every second). The transport stays the caller's:
// it hands unprotected packets in and sends the RTCP through the function it gave.
#pragma once

#include "bench/load/receiver.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace chorus::bench {

struct totals;

inline constexpr uint64_t rtcp_interval_us = 1'000'000; // SR / RR
inline constexpr uint64_t receiver_tick_us = 20'000;    // NACK retries, keyframe requests

class receive_side {
public:
  // Sends one RTCP packet on the transport; false when it was not sent.
  using rtcp_sender = std::function<bool(std::span<const uint8_t>)>;

  explicit receive_side(rtcp_sender send);
  receive_side(const receive_side&) = delete;
  receive_side& operator=(const receive_side&) = delete;

  // The sender SSRC of our RTCP (feedback and receiver reports).
  void set_rtcp_ssrc(uint32_t ssrc) noexcept { rtcp_ssrc_ = ssrc; }
  // Outside the decrypted sample: the transport unprotects only the streams' RTX packets
  // (their payload holds the original sequence number) and a video stream's packets while
  // it waits for a keyframe (as a browser's decoder, it must see the keyframe to stop
  // asking for one); other media payloads stay encrypted.
  void set_sampled(bool sampled) noexcept { sampled_ = sampled; }
  bool sampled() const noexcept { return sampled_; }
  // Whether the transport must unprotect a packet of `ssrc` (decrypt filter).
  bool must_decrypt(uint32_t ssrc) const noexcept;
  void add_stream(inbound_stream::params p);
  // A stream whose SSRC is not known yet: made on the first packet of its payload type.
  void add_pending(inbound_stream::params p) { pending_.push_back(std::move(p)); }
  const std::vector<std::unique_ptr<inbound_stream>>& streams() const noexcept {
    return streams_;
  }
  std::size_t pending() const noexcept { return pending_.size(); }

  // The media phase starts: the first tick and receiver report are due an interval later.
  void start(uint64_t now_us) noexcept;
  // The stream was resumed: a PLI, as a browser's decoder asks at start.
  void on_resumed(inbound_stream& s, uint64_t now_us);
  // One unprotected RTP or RTCP packet; kernel_ns is its kernel receive stamp (0: none, the
  // arrival is then read now).
  // `audio_latency`, when given, takes the audio streams' samples (`latency` then only
  // video's); `keyframe_latency` those of video keyframes' packets, which also go to
  // `latency`.
  void on_packet(std::span<const uint8_t> packet, bool rtcp, uint64_t kernel_ns,
                 latency_histogram* latency, latency_histogram* audio_latency = nullptr,
                 latency_histogram* keyframe_latency = nullptr);
  // NACK retries, keyframe requests and receiver reports when due; returns when it is next
  // due (never without streams).
  uint64_t service(uint64_t now_us);
  // Adds the receive counters.
  void add_totals(totals& t) const noexcept;

private:
  bool sampled_ = true;
  inbound_stream* find(uint32_t ssrc) const noexcept {
    // A few entries per PeerConnection: a linear scan is the fastest on the per-packet path.
    for (auto& [s, p] : by_ssrc_)
      if (s == ssrc)
        return p;
    return nullptr;
  }
  void act(inbound_stream& s);
  void send_receiver_reports(uint64_t now_us);

  rtcp_sender send_;
  uint32_t rtcp_ssrc_ = 0;
  std::vector<std::unique_ptr<inbound_stream>> streams_;
  std::vector<std::pair<uint32_t, inbound_stream*>> by_ssrc_; // media and RTX SSRCs
  std::vector<inbound_stream::params> pending_;
  uint64_t next_rr_us_ = 0, next_tick_us_ = 0;
  inbound_actions actions_; // reused
  std::vector<uint8_t> rtcp_buf_ = std::vector<uint8_t>(1500);
  uint64_t app_stamped_ = 0, nack_packets_ = 0, nack_seqs_ = 0, plis_ = 0, rr_ = 0, sr_ = 0;
};

} // namespace chorus::bench
