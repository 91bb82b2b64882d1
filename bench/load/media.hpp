// Synthetic media for the load generator: RTP packets as a browser sends them, without an
// encoder. Pure code (no sockets, no clock reads except mono_us()); the publisher of
// participant.hpp sends what is built here.
//
// Every packet carries its send time: the last 8 bytes of the RTP payload are the
// CLOCK_REALTIME reading in microseconds (big-endian) when the packet was handed to the
// transport. Sender and receivers run in one process on one machine, so the arrival time
// minus that stamp is the one-way latency through the server. The arrival time is the
// kernel's receive stamp of the datagram (SO_TIMESTAMPNS, which is CLOCK_REALTIME: hence
// this clock), so the generator's own queueing is not counted.
//
// Packet layout (RFC 3550 header, RFC 8285 one-byte extension block, payload):
//
//   | RTP fixed header (12) | 0xBEDE | len | mid | transport-wide seq | pad | payload |
//
// Video payload (VP8, RFC 7741), one frame split over packets of at most max_payload bytes:
//
//   descriptor (4 bytes, every packet; 6 with temporal layers):
//        0 1 2 3 4 5 6 7
//       |X|R|N|S|R| PID |   X = 1, S = 1 on the first packet of a frame, PID = 0;
//                           N = 1 on TID 2 frames (nothing refers to them)
//       |I|L|T|K| RSV   |   I = 1; L = T = 1 with temporal layers
//       |M| PictureID   |   M = 1: 15-bit PictureID, incremented per frame
//       |   PictureID   |
//     with temporal layers (video_config::temporal_layers = 3, L1T3):
//       |   TL0PICIDX   |   incremented on every TID 0 frame
//       |TID|Y| KEYIDX  |   TID of the pattern 0,2,1,2 (restarted at each keyframe);
//                           Y = 1 on keyframes and on the frames that refer to the
//                           latest TID 0 frame only (the pattern's second and third)
//   VP8 payload header (first packet of a frame only, RFC 7741 §4.3 / RFC 6386 §9.1):
//       |Size0|H| VER |P|   P = 0 on a keyframe, 1 otherwise; show_frame (H) = 1
//       |     Size1     |
//       |     Size2     |
//     keyframe: start code 9d 01 2a, then width and height (16 bits little-endian each)
//   filler bytes, then the 8-byte send stamp. A simulcast encoding (video_config::encoding
//   >= 0) writes 0xE0 | its index into the last filler byte (the one before the stamp), so
//   that a receiver can tell which encoding the SFU forwarded to it (read_encoding_tag).
//
// Audio payload (Opus-like): a TOC byte (0x78: config 15, hybrid fullband 20 ms, mono),
// filler, the 8-byte send stamp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::bench {

// CLOCK_MONOTONIC in microseconds: schedules and timers.
uint64_t mono_us() noexcept;
// CLOCK_REALTIME in microseconds: send stamps and arrival times (the kernel's clock of
// receive timestamps).
uint64_t stamp_clock_us() noexcept;

inline constexpr std::size_t send_stamp_size = 8;
inline constexpr std::size_t vp8_descriptor_size = 4;         // without temporal layers
inline constexpr std::size_t vp8_layered_descriptor_size = 6; // with TL0PICIDX and TID
inline constexpr std::size_t max_simulcast_encodings = 4;
inline constexpr std::size_t max_rtp_packet = 1400; // what this generator ever builds

// Writes / reads the send stamp in the last 8 bytes of a payload.
void write_send_stamp(std::span<uint8_t> payload, uint64_t us) noexcept;
std::optional<uint64_t> read_send_stamp(std::span<const uint8_t> payload) noexcept;
// The simulcast encoding a video payload was sent on (the byte before the stamp,
// 0xE0 | index); nullopt for a payload without the tag (a single encoding, audio).
std::optional<uint8_t> read_encoding_tag(std::span<const uint8_t> payload) noexcept;

// The header extensions a sender writes (ids as negotiated; 0: not written).
struct extension_ids {
  uint8_t mid = 0;
  uint8_t transport_cc = 0;
};

struct rtp_fields {
  uint8_t payload_type = 0;
  bool marker = false;
  uint16_t sequence = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};

// Writes the fixed header and the extension block (mid: 1-16 bytes, transport-wide seq)
// into `out`; returns the header length (payload starts there), 0 when `out` is too small
// or an argument is out of range.
std::size_t write_rtp_header(std::span<uint8_t> out, const rtp_fields& f,
                             const extension_ids& ids, std::string_view mid,
                             uint16_t transport_seq) noexcept;

struct video_config {
  uint32_t kbps = 1000;             // average bitrate of the payloads
  uint32_t fps = 30;
  double keyframe_interval_s = 3;   // periodic keyframes (0: only on request)
  double keyframe_factor = 5;       // a keyframe is this many times a delta frame
  std::size_t max_payload = 1150;   // RTP payload per packet (the last one of a frame less)
  uint16_t width = 640;
  uint16_t height = 360;
  // 1: no temporal layers (a 4-byte descriptor); 3: L1T3 (TL0PICIDX and TID in it).
  uint8_t temporal_layers = 1;
  // Simulcast: this encoding's index (0 = the lowest), tagged in every packet; -1: the one
  // encoding of a producer without simulcast (no tag).
  int8_t encoding = -1;
  // The publisher's pacer (packet_pacer): its video leaves at this multiple of its total
  // video bitrate, as a browser's paced sender sends it (Chromium's factor: 2.5); 0: every
  // frame at once, as encoded.
  double pace_factor = 0;
};

// The three encodings of a simulcast publisher (lowest first) for a top encoding of `top`:
// bitrates in the ratio 150 : 400 : 1200 kbps (a common ladder) with the top one at
// top.kbps, resolutions of a quarter, a half and the whole of top's, L1T3 each.
std::vector<video_config> simulcast_ladder(const video_config& top);

// The TID of frame k after a keyframe (k = 0 is the keyframe) in the pattern of n temporal
// layers (n = 3: 0,2,1,2; n = 2: 0,1; n = 1: 0), and whether it is a layer-sync frame
// (refers only to the latest TID 0 frame: Y = 1; the keyframe too).
uint8_t temporal_id_of(uint64_t k, uint8_t layers) noexcept;
bool layer_sync_of(uint64_t k, uint8_t layers) noexcept;

// Frame sizes for a target bitrate: with one keyframe per interval and the rest delta
// frames, the bytes of one interval add up to kbps * interval.
struct frame_sizes {
  std::size_t delta_bytes = 0;
  std::size_t key_bytes = 0;
};
frame_sizes plan_frames(const video_config& c) noexcept;

// A browser's pacer for a publisher's video: packets are queued as a frame is built and
// leave one at a time at `bps` (their RTP bytes), in order; a queue that fell behind (a
// keyframe) carries on into the next frames, and an idle pacer keeps no credit, so a frame
// after a pause starts at once. The send stamp is the caller's to write when a packet
// leaves. Pure: times are passed in.
class packet_pacer {
public:
  explicit packet_pacer(double bps) noexcept : bps_(bps) {}

  // Queues a copy of `packet`; `tag` comes back with it.
  void push(uint64_t now_us, std::span<const uint8_t> packet, std::size_t payload_offset,
            std::size_t tag);
  // Sends what is due at now_us: send(std::span<uint8_t> packet, payload_offset, tag).
  template <class F>
  void release(uint64_t now_us, F&& send) {
    while (head_ < queue_.size() && next_us_ <= now_us) {
      auto& q = queue_[head_++];
      send(std::span<uint8_t>(q.bytes), q.payload_offset, q.tag);
      next_us_ += uint64_t(double(q.bytes.size()) * 8e6 / bps_);
    }
    if (head_ == queue_.size()) {
      queue_.clear();
      head_ = 0;
    }
  }
  bool empty() const noexcept { return head_ == queue_.size(); }
  // When the next queued packet is due (meaningful while one is queued).
  uint64_t next_us() const noexcept { return next_us_; }
  std::size_t queued() const noexcept { return queue_.size() - head_; }

private:
  struct item {
    std::vector<uint8_t> bytes;
    std::size_t payload_offset;
    std::size_t tag;
  };
  double bps_;
  std::vector<item> queue_;
  std::size_t head_ = 0;
  uint64_t next_us_ = 0;
};

// One outgoing packet: the plain RTP bytes (before SRTP) in a caller-owned buffer.
struct built_packet {
  std::size_t size = 0;
  std::size_t payload_offset = 0; // where the payload (and so the stamp) is
};

// A VP8-like video stream: when the next frame is due, and the packets of that frame.
class video_source {
public:
  video_source(const video_config& config, rtp_fields first, extension_ids ids,
               std::string mid, uint64_t start_us) noexcept;

  uint64_t next_frame_us() const noexcept { return next_us_; }
  // A keyframe is wanted (PLI/FIR): the next frame is one.
  void request_keyframe() noexcept { key_requested_ = true; }

  // Starts the next frame: decides key or delta, returns its packet count. Advances the
  // frame clock (next_frame_us(), the RTP timestamp, the PictureID).
  std::size_t begin_frame(uint64_t now_us) noexcept;
  bool frame_is_key() const noexcept { return frame_key_; }
  // The current frame's temporal layer and TL0PICIDX (temporal_layers > 1).
  uint8_t frame_temporal_id() const noexcept { return frame_tid_; }
  uint8_t frame_tl0picidx() const noexcept { return tl0picidx_; }
  uint16_t frame_picture_id() const noexcept { return picture_id_; }
  const video_config& config() const noexcept { return c_; }
  // Packet i (0-based, < the count begin_frame returned) of the current frame into `out`
  // (at least max_rtp_packet bytes); the stamp is left to the caller. Uses and advances
  // the sequence number and `transport_seq`.
  built_packet build_packet(std::size_t i, std::span<uint8_t> out, uint16_t& transport_seq) noexcept;

  uint32_t ssrc() const noexcept { return f_.ssrc; }
  uint32_t rtp_timestamp_at(uint64_t now_us) const noexcept;
  uint64_t frames() const noexcept { return frames_; }
  uint64_t keyframes() const noexcept { return keyframes_; }

private:
  video_config c_;
  frame_sizes sizes_;
  rtp_fields f_;
  extension_ids ids_;
  std::string mid_;
  uint64_t start_us_;
  uint32_t ts0_;
  uint64_t frame_index_ = 0; // frames begun
  uint64_t next_us_;
  uint64_t next_periodic_key_ = 0; // frame index of the next periodic keyframe
  bool key_requested_ = false;
  bool frame_key_ = false;
  std::size_t frame_bytes_ = 0;
  std::size_t frame_packets_ = 0;
  uint16_t picture_id_ = 0;
  uint8_t tl0picidx_ = 0;
  uint8_t frame_tid_ = 0;
  bool frame_sync_ = false;
  uint64_t since_key_ = 0; // frames since the last keyframe (its position in the pattern)
  uint64_t frames_ = 0;
  uint64_t keyframes_ = 0;
};

// An Opus-like audio stream: a packet every 20 ms.
class audio_source {
public:
  static constexpr uint64_t interval_us = 20000;
  static constexpr uint32_t samples_per_packet = 960; // 20 ms at 48 kHz

  audio_source(rtp_fields first, extension_ids ids, std::string mid, uint64_t start_us,
               std::size_t payload_bytes = 100) noexcept;

  uint64_t next_packet_us() const noexcept { return next_us_; }
  // The next packet into `out` (at least max_rtp_packet bytes), sent at now_us; advances
  // the packet clock (far behind, the missed packets are skipped rather than burst).
  built_packet build_packet(uint64_t now_us, std::span<uint8_t> out,
                            uint16_t& transport_seq) noexcept;

  uint32_t ssrc() const noexcept { return f_.ssrc; }
  uint32_t rtp_timestamp_at(uint64_t now_us) const noexcept;

private:
  rtp_fields f_;
  extension_ids ids_;
  std::string mid_;
  uint64_t start_us_;
  uint32_t ts0_;
  uint64_t index_ = 0;
  uint64_t next_us_;
  std::size_t payload_bytes_;
};

// The last `capacity` packets sent on one SSRC, for retransmission on NACK (the sender's
// side of RFC 4585 without RTX: the same packet again, same sequence number).
class send_history {
public:
  explicit send_history(std::size_t capacity = 1024) : slots_(capacity) {}
  void store(uint16_t seq, std::span<const uint8_t> packet);
  // The stored packet of `seq`, if still there.
  std::optional<std::span<const uint8_t>> find(uint16_t seq) const noexcept;

private:
  struct slot {
    bool used = false;
    uint16_t seq = 0;
    std::vector<uint8_t> bytes;
  };
  std::vector<slot> slots_;
};

} // namespace chorus::bench
