// RTMP's chunk stream (Adobe's RTMP specification 1.0, §5.3): messages cut into chunks of
// at most the sender's chunk size, interleaved over chunk stream ids, each chunk's header
// compressed against the last one of its chunk stream (formats 0 to 3, the extended
// timestamp). Pure: bytes in, whole messages out; messages in, chunks out.
//
// The reader is bounded against a hostile or broken sender: a message over
// max_rtmp_message_bytes (or unfinished messages over it in all), more than
// max_rtmp_chunk_streams chunk streams, a chunk size outside 1..max_rtmp_chunk_size, or a
// chunk stream's first chunk in a compressed format are errors, after which the connection
// is closed.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace chorus::protocol {

inline constexpr std::size_t max_rtmp_message_bytes = 8u << 20;
inline constexpr std::size_t max_rtmp_chunk_streams = 64;
inline constexpr uint32_t max_rtmp_chunk_size = 0x7fffffff;

// The message types Chorus reads or writes.
namespace rtmp_type {
inline constexpr uint8_t set_chunk_size = 1;
inline constexpr uint8_t abort = 2;
inline constexpr uint8_t acknowledgement = 3;
inline constexpr uint8_t user_control = 4;
inline constexpr uint8_t window_ack_size = 5;
inline constexpr uint8_t set_peer_bandwidth = 6;
inline constexpr uint8_t audio = 8;
inline constexpr uint8_t video = 9;
inline constexpr uint8_t data_amf3 = 15;
inline constexpr uint8_t command_amf3 = 17;
inline constexpr uint8_t data_amf0 = 18;
inline constexpr uint8_t command_amf0 = 20;
} // namespace rtmp_type

struct rtmp_message {
  uint32_t chunk_stream = 0;
  uint8_t type = 0;
  uint32_t stream_id = 0;
  uint32_t timestamp = 0; // ms, absolute (the deltas of formats 1 to 3 added up)
  std::vector<uint8_t> payload;
};

class rtmp_chunk_reader {
public:
  // Reads what `bytes` completes; appends each whole message to `out`. An error leaves the
  // reader unusable.
  result<bool> read(std::span<const uint8_t> bytes, std::vector<rtmp_message>& out);
  // The peer's chunk size (its Set Chunk Size messages are applied as they are read).
  result<bool> set_chunk_size(uint32_t size);
  // The chunk stream's partial message is dropped (the peer's Abort, applied as read).
  void abort(uint32_t chunk_stream);
  std::size_t buffered() const noexcept { return pending_.size(); }

private:
  struct chunk_stream_state {
    bool started = false;
    uint32_t timestamp = 0;
    uint32_t delta = 0;
    uint32_t length = 0;
    uint8_t type = 0;
    uint32_t stream_id = 0;
    bool extended = false; // the last header carried an extended timestamp
    std::vector<uint8_t> partial;
  };
  // One chunk from the front of pending_: 1 read, 0 needs more bytes; an error otherwise.
  result<int> read_chunk(std::vector<rtmp_message>& out);

  std::vector<uint8_t> pending_;
  std::size_t at_ = 0;
  uint32_t chunk_size_ = 128;
  std::map<uint32_t, chunk_stream_state> streams_;
  std::size_t partial_bytes_ = 0; // of the messages begun and not yet whole, in all
};

// Chunks `payload` as one message of `type` on `chunk_stream`, at `chunk_size`: a format 0
// header, then format 3 chunks.
void write_rtmp_message(std::vector<uint8_t>& out, uint32_t chunk_stream, uint8_t type,
                        uint32_t stream_id, uint32_t timestamp, std::span<const uint8_t> payload,
                        uint32_t chunk_size);

} // namespace chorus::protocol
