// Keeps an Opus RTP stream continuous for a file: where the sender sent nothing for a while
// (DTX silence: one packet every 400 ms; a paused or muted producer), silent Opus frames are
// put in the gap, so that what a decoder makes of the file lasts as long as the recording.
// ffmpeg writes the packets with their timestamps, but its Opus decoder (and every tool that
// counts samples: a transcode to WAV, the recording's mix) plays a 400 ms gap as nothing at
// all, so 12 s with DTX came out as 4 s of audio. Packets are given in sequence order and
// come out renumbered (the filled frames need numbers). Pure: packets in, packets out.
#pragma once

#include "rtp/rtcp_bytes.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace chorus::rtp {

// The duration of an Opus packet in 48 kHz samples, from its TOC byte and frame count
// (RFC 6716 section 3.1); nullopt for an empty or malformed packet.
std::optional<uint32_t> opus_packet_samples(std::span<const uint8_t> payload) noexcept;

class opus_gap_fill {
public:
  // One 20 ms CELT frame of digital silence (TOC: config 31, mono, one frame; then the
  // range coder's silence flag).
  static constexpr uint8_t silence_frame[3] = {0xF8, 0xFF, 0xFE};
  static constexpr uint32_t silence_samples = 960;
  // Gaps up to this long are filled (a producer paused for minutes); a longer one is taken
  // for a jump of the sender's clock and left as it is.
  static constexpr uint32_t max_fill_samples = 48000 * 300;
  // A gap is filled only as far as the time that passed here allows, and this much more
  // (packets wait in the reorder buffer and go on at the recorder's tick): a sender whose
  // timestamps run ahead of real time gets no more silence than real time holds.
  static constexpr int64_t fill_slack_ms = 1000;

  struct counters {
    uint64_t packets = 0;     // the stream's own, passed on
    uint64_t filled = 0;      // silent frames put in
    uint64_t gaps = 0;        // gaps filled
    uint64_t unfilled = 0;    // gaps left (too long), or filled only in part
    uint64_t backward = 0;    // timestamps that went back (followed, nothing filled)
  };

  // One packet of the stream (a whole RTP packet; payload is its Opus data), at `now_ms` (a
  // monotonic clock). `out(bytes)` is called for each packet to send: first the silent
  // frames of a gap before it, then the packet itself, each with the next sequence number.
  template <class F>
  void push(std::span<const uint8_t> packet, std::size_t payload_offset, std::size_t payload_size,
            int64_t now_ms, F&& out) {
    if (packet.size() < 12 || payload_offset + payload_size > packet.size())
      return;
    const auto payload = packet.subspan(payload_offset, payload_size);
    const uint32_t ts = rtcp_bytes::get32(packet, 4);
    fill_before(packet, ts, now_ms, out);
    last_ms_ = now_ms;
    ++counters_.packets;
    scratch_.assign(packet.begin(), packet.end());
    set_seq(scratch_);
    out(std::span<const uint8_t>(scratch_));
    const auto samples = opus_packet_samples(payload);
    have_last_ = true;
    next_ts_ = ts + (samples && *samples > 0 ? *samples : silence_samples);
  }

  const counters& stats() const noexcept { return counters_; }

private:
  template <class F>
  void fill_before(std::span<const uint8_t> packet, uint32_t ts, int64_t now_ms, F& out) {
    if (!have_last_)
      return;
    const auto gap = int32_t(ts - next_ts_);
    if (gap < 0) {
      ++counters_.backward;
      return;
    }
    if (gap < int32_t(silence_samples))
      return; // none, or less than a frame (left as it is)
    if (uint32_t(gap) > max_fill_samples) {
      ++counters_.unfilled;
      return;
    }
    const int64_t allowed = (std::max<int64_t>(0, now_ms - last_ms_) + fill_slack_ms) * 48;
    const uint32_t fill = uint32_t(std::min<int64_t>(gap, allowed));
    if (int64_t(gap) > allowed)
      ++counters_.unfilled;
    ++counters_.gaps;
    // The header of the packet after the gap (version, payload type, SSRC), no marker, no
    // extensions: 12 bytes and the silent frame.
    const uint32_t end = next_ts_ + fill;
    for (uint32_t at = next_ts_; int32_t(end - at) >= int32_t(silence_samples); at += silence_samples) {
      scratch_.assign(packet.begin(), packet.begin() + 12);
      scratch_[0] = uint8_t(0x80);          // V=2, no padding, no extension, no CSRC
      scratch_[1] = uint8_t(packet[1] & 0x7F); // no marker
      rtcp_bytes::put32(scratch_, 4, at);
      scratch_.insert(scratch_.end(), std::begin(silence_frame), std::end(silence_frame));
      set_seq(scratch_);
      ++counters_.filled;
      out(std::span<const uint8_t>(scratch_));
    }
  }
  void set_seq(std::vector<uint8_t>& p) noexcept { rtcp_bytes::put16(p, 2, out_seq_++); }

  bool have_last_ = false;
  uint32_t next_ts_ = 0; // where the last packet's audio ends
  int64_t last_ms_ = 0;  // when it came
  uint16_t out_seq_ = 0;
  std::vector<uint8_t> scratch_;
  counters counters_;
};

} // namespace chorus::rtp
