// Audio redundancy (RFC 2198, "audio/red" with Opus inside): a packet carries the primary
// encoding and, before it, copies of earlier packets' encodings, so that a receiver who
// lost a packet recovers it from the next one. A RED payload is a chain of block headers,
// then the blocks' data in the same order (oldest first, the primary last):
//
//   |1| block PT (7) |  timestamp offset (14)  | block length (10) |   one per redundant block
//   |0| block PT (7) |                                                the primary's (1 byte)
//   redundant data ... primary data (to the end of the payload)
//
// The router reads RED from publishers that send it (the primary for receivers without RED,
// the block payload types mapped into router space) and writes it for receivers that
// negotiate RED from a publisher's plain Opus (red_encoder: the previous packets'
// payloads as redundancy).
//
// Pure code: bytes in, bytes out; no allocation per packet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace chorus::rtp {

inline constexpr size_t red_max_blocks = 16; // a payload with more is refused
inline constexpr uint32_t red_max_timestamp_offset = 0x3FFF;
inline constexpr size_t red_max_block_length = 0x3FF;

struct red_block {
  uint8_t payload_type = 0;
  uint16_t timestamp_offset = 0; // before the packet's timestamp; 0 for the primary
  std::span<const uint8_t> data;
};

struct red_payload {
  std::array<red_block, red_max_blocks> blocks{};
  size_t count = 0; // at least 1; blocks[count - 1] is the primary
  const red_block& primary() const noexcept { return blocks[count - 1]; }
};

// The blocks of a RED payload; nullopt when the header chain runs past the payload, a
// redundant block's length does too, or there are more than red_max_blocks blocks. The
// primary may be empty (a sender with nothing new to say).
std::optional<red_payload> parse_red(std::span<const uint8_t> payload) noexcept;

// Rewrites every block header's payload type through `map` (-1: not known). False, and the
// payload unchanged, when the payload does not parse or a block's type is not known.
bool map_red_payload_types(std::span<uint8_t> payload,
                           const std::array<int16_t, 128>& map) noexcept;

// Writes `primary` as a RED payload with no redundancy (one block) into `out` (at least
// primary.size() + 1 bytes); returns the bytes written.
size_t write_red_alone(uint8_t payload_type, std::span<const uint8_t> primary,
                       std::span<uint8_t> out) noexcept;

// RED for one stream from plain packets: each packet's payload goes out as the primary
// after the payloads of the packets just before it (up to `distance`, those whose numbers
// are 1 .. distance before it, whose timestamps are before it within the 14-bit offset, and
// that fit in the payload bound, the most recent preferred).
class red_encoder {
public:
  static constexpr size_t max_distance = 2;
  // A remembered payload longer than this is not repeated (a block length is 10 bits).
  static constexpr size_t max_remembered = red_max_block_length;
  // The redundancy added stops before a payload would grow past this (the packet stays
  // well under a path MTU with headers, extensions and SRTP).
  static constexpr size_t max_payload = 1000;

  red_encoder(uint8_t payload_type, size_t distance) noexcept
    : pt_(uint8_t(payload_type & 0x7F)), distance_(distance < max_distance ? distance : max_distance) {}

  // The largest payload wrap() writes for a primary of `primary_size` bytes.
  static constexpr size_t max_size(size_t primary_size) noexcept {
    return primary_size + 1 > max_payload ? primary_size + 1 : max_payload;
  }

  // Writes the RED payload of the packet (seq, timestamp, primary) into `out` (at least
  // max_size(primary.size()) bytes) and remembers the primary for the packets after it;
  // returns the bytes written.
  size_t wrap(uint16_t seq, uint32_t timestamp, std::span<const uint8_t> primary,
              std::span<uint8_t> out) noexcept;

  uint8_t payload_type() const noexcept { return pt_; }
  size_t distance() const noexcept { return distance_; }
  void set_distance(size_t d) noexcept { distance_ = d < max_distance ? d : max_distance; }

private:
  struct entry {
    bool valid = false;
    uint16_t seq = 0;
    uint32_t timestamp = 0;
    uint16_t size = 0;
    std::array<uint8_t, max_remembered> bytes{};
  };
  void remember(uint16_t seq, uint32_t timestamp, std::span<const uint8_t> primary) noexcept;

  // The entry `back` packets before the newest remembered one (0: the newest).
  const entry& recent(size_t back) const noexcept {
    return history_[(newest_ + max_distance - back) % max_distance];
  }

  uint8_t pt_;
  size_t distance_;
  std::array<entry, max_distance> history_{}; // a ring; history_[newest_] the newest
  size_t newest_ = 0;
  bool remembered_ = false;
};

// How much redundancy a RED receiver's link needs: all of it (red_encoder::max_distance)
// from the start and for `hold_ms` after each sign of loss (a NACK, a receiver report that
// counts some), none once the link has been clean that long: on a loss-free link the
// copies only take room from the video (a thin link's budget pays the audio first), and
// the first loss is answered within a round trip.
class red_protection {
public:
  static constexpr int64_t hold_ms = 10'000;
  explicit red_protection(int64_t now_ms) noexcept : last_loss_ms_(now_ms) {}
  void on_loss(int64_t now_ms) noexcept { last_loss_ms_ = now_ms; }
  size_t distance(int64_t now_ms) const noexcept {
    return now_ms - last_loss_ms_ < hold_ms ? red_encoder::max_distance : 0;
  }

private:
  int64_t last_loss_ms_;
};

// One receiver's side of a stream that comes as Opus, as RED, or both: the packets of the
// form the receiver did not negotiate are converted (RED's primary for an Opus receiver;
// plain Opus wrapped, with the previous packets as redundancy, for a RED receiver); those of
// its own form pass as they are.
class red_converter {
public:
  // red_pt, opus_pt: the router's payload types; to_red: the receiver negotiated RED.
  // (An Opus receiver's converter holds no encoder: only a RED receiver's remembers payloads.)
  // The redundancy follows red_protection from `now_ms` on.
  red_converter(uint8_t red_pt, uint8_t opus_pt, bool to_red, int64_t now_ms)
    : red_pt_(red_pt), opus_pt_(opus_pt), to_red_(to_red), protection_(now_ms),
      encoder_(to_red ? std::make_unique<red_encoder>(opus_pt, red_encoder::max_distance)
                      : nullptr) {}

  // The receiver lost something (a NACK, a report counting losses).
  void on_loss(int64_t now_ms) noexcept { protection_.on_loss(now_ms); }
  // Packets of redundancy the next RED packet carries at most (0 for an Opus receiver).
  size_t distance() const noexcept { return encoder_ ? encoder_->distance() : 0; }

  uint8_t output_payload_type() const noexcept { return to_red_ ? red_pt_ : opus_pt_; }
  // Whether a packet of payload type `pt` is of the other form (converted).
  bool converts(uint8_t pt) const noexcept { return pt == (to_red_ ? opus_pt_ : red_pt_); }
  // The room convert() needs for a payload of `size` bytes.
  static constexpr size_t max_output(size_t size) noexcept { return red_encoder::max_size(size); }

  // The payload of the packet (seq, timestamp: as the receiver gets them) in the
  // receiver's form, written to `out`; `again`: a retransmission (a RED one carries the
  // primary alone: the redundancy of its first sending would be out of date). nullopt for
  // RED that does not parse, whose primary is empty or not Opus.
  std::optional<size_t> convert(uint16_t seq, uint32_t timestamp, std::span<const uint8_t> payload,
                                bool again, int64_t now_ms, std::span<uint8_t> out) noexcept;

private:
  uint8_t red_pt_, opus_pt_;
  bool to_red_;
  red_protection protection_;
  std::unique_ptr<red_encoder> encoder_;
};

} // namespace chorus::rtp
