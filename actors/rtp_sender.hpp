// The sending half of a transport, shared with the consumers on it: outbound SRTP, the
// selected ICE tuple, the transport-wide sequence number, and the socket. Consumers call
// send_rtp() on their own thread instead of sending every batch to the transport actor:
// that saves one actor hop (a mailbox enqueue, a scheduling and a message allocation) per
// packet per consumer, the largest cost of fan-out after the unavoidable SRTP + sendmmsg.
//
// Thread-safe: one mutex per transport (libsrtp's context is not thread-safe; consumers of
// one transport rarely run at the same instant, so it is almost never contended). It
// holds no actor handle. The transport actor installs the keys when DTLS connects and the
// tuple when ICE selects one; before that, sends are dropped and counted.
//
// It is handed to consumers at spawn time (a function argument from the peer, not a
// message): a consumer on another node would send through its transport actor instead.
#pragma once

#include "net/ice_server.hpp"
#include "rtp/srtp_session.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace chorus::net {
class media_endpoint;
}

namespace chorus::actors {

struct rtp_out;

struct rtp_sender_counters {
  uint64_t rtp_sent = 0;
  uint64_t rtp_bytes_sent = 0;
  uint64_t rtcp_sent = 0;
  uint64_t dropped_not_ready = 0; // no keys or no tuple yet
  uint64_t protect_failed = 0;
};

class rtp_sender {
public:
  explicit rtp_sender(std::shared_ptr<net::media_endpoint> endpoint);

  // Transport side.
  void set_srtp(rtp::srtp_session session);
  void set_tuple(const std::optional<net::ice_tuple>& tuple);
  void close(); // later sends are dropped

  // Consumer side: writes the transport-wide sequence number and abs-send-time into each
  // packet of `out` (when the ids are set), protects in place and sends them in one batch.
  // Returns how many were sent.
  size_t send_rtp(rtp_out& out);
  // One RTCP (compound) packet.
  bool send_rtcp(std::span<const uint8_t> bytes);

  rtp_sender_counters counters() const;

private:
  mutable std::mutex mutex_;
  std::shared_ptr<net::media_endpoint> endpoint_;
  std::optional<rtp::srtp_session> srtp_;
  std::optional<net::ice_tuple> tuple_;
  bool closed_ = false;
  uint16_t tcc_seq_ = 1;
  std::vector<std::span<const uint8_t>> spans_; // reused
  std::vector<uint8_t> rtcp_buffer_;            // reused
  rtp_sender_counters counters_;
};

} // namespace chorus::actors
