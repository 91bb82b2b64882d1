// Where a recorder's consumer sends one producer's RTP when Chorus prepares it for the
// ffmpeg child (actors/media_recorder.hpp): a UDP socket on 127.0.0.1 whose datagrams the
// recorder's tick reads. The stream's own RTP (its payload type) comes out in sequence
// order: a packet the server repaired (NACK, RTX) arrives after those sent behind it, and
// is put back in its place; a gap whose repair does not come within `reorder_wait_ms` is
// given up (rtp/reorder_buffer.hpp). Everything else (RTCP with rtcp-mux) comes out as it
// arrived. No CAF here; the recorder's feeds own one.
#pragma once

#include "common/result.hpp"
#include "rtp/reorder_buffer.hpp"
#include "rtp/rtp_packet.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace chorus::actors {

class ordered_rtp_input {
public:
  // How long the packets behind a gap wait for its repair (NACK and RTX take a round trip
  // or two), and how many may wait.
  static constexpr int64_t reorder_wait_ms = 500;
  static constexpr std::size_t reorder_capacity = 1024;

  // Binds the socket on 127.0.0.1 (any free port); `payload_type`: the stream's.
  static result<std::unique_ptr<ordered_rtp_input>> open(uint8_t payload_type);
  ~ordered_rtp_input();
  ordered_rtp_input(const ordered_rtp_input&) = delete;
  ordered_rtp_input& operator=(const ordered_rtp_input&) = delete;

  uint16_t port() const noexcept { return port_; }

  // Reads every datagram waiting (at most a bound per call): `in_order(rtp_packet&)` for the
  // stream's RTP in sequence order (a view valid during the call), `other(span)` for the
  // rest. With `ending`, the socket is read a last time and closed, and what still waits for
  // a repair comes out. `now_ms`: a monotonic clock.
  template <class F, class G>
  void pump(int64_t now_ms, F&& in_order, G&& other, bool ending = false) {
    auto deliver = [&](std::span<uint8_t> bytes) {
      if (auto pkt = rtp::rtp_packet::parse(bytes))
        in_order(*pkt);
    };
    read_this_pump_ = 0;
    while (auto d = next_datagram()) {
      auto pkt = rtp::rtp_packet::parse(*d);
      if (pkt && pkt->payload_type() == payload_type_)
        reorder_.push(pkt->sequence_number(), *d, now_ms, deliver);
      else
        other(std::span<const uint8_t>(*d));
    }
    reorder_.expire(now_ms, deliver, ending);
    if (ending)
      close_socket();
  }

  const rtp::reorder_buffer::counters& stats() const noexcept { return reorder_.stats(); }

private:
  ordered_rtp_input() = default;
  // The next datagram (in an inner buffer, valid until the next call); nullopt when none is
  // waiting, the bound per pump is reached, or the socket is closed.
  std::optional<std::span<uint8_t>> next_datagram();
  void close_socket() noexcept;

  int sock_ = -1;
  uint16_t port_ = 0;
  uint8_t payload_type_ = 0;
  int read_this_pump_ = 0;
  uint8_t buf_[2048];
  rtp::reorder_buffer reorder_{reorder_capacity, reorder_wait_ms};
};

} // namespace chorus::actors
