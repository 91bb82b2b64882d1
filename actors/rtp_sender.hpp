// Sending SRTP on one transport's socket, owned by one actor: the transport (for its own
// RTCP and its consumers' sender reports) and each consumer on it (for its RTP) each have
// their own rtp_sender, with their own SRTP context made from the transport's outbound
// keys. The keystream is derived per SSRC and every owner sends its own SSRCs, so the
// contexts are independent: the per-packet path has no lock and no actor hop back to the
// transport. A consumer's RTP context is an rtp::rtp_protector: srtp_gcm_sender with the
// AEAD GCM profiles, which browsers negotiate, and libsrtp otherwise; only the transport's
// sender protects RTCP (an outbound rtp::srtp_session, rtcp_only: srtcp_gcm with the GCM
// profiles), so a consumer carries no libsrtp session at all with GCM.
//
// The transport tells its consumers the keys and the selected tuple (sending_state) when
// DTLS connects, when ICE selects another tuple, and when a consumer registers late.
// What the owners share is send_shared: the socket (whose sends are thread-safe), the
// transport-wide sequence counter and the transport's send counters, all atomics.
#pragma once

#include "actors/media_tuning.hpp"
#include "net/ice_server.hpp"
#include "rtp/srtp_gcm.hpp"
#include "rtp/srtp_session.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace chorus::net {
class media_endpoint;
}

namespace chorus::actors {

struct rtp_out;
struct sending_state;

// Per transport, shared by its owners.
struct send_shared {
  explicit send_shared(std::shared_ptr<net::media_endpoint> ep) : endpoint(std::move(ep)) {}
  std::shared_ptr<net::media_endpoint> endpoint;
  std::atomic<uint16_t> tcc_seq{1}; // transport-wide sequence numbers of this transport
  std::atomic<uint64_t> rtp_sent{0};
  std::atomic<uint64_t> rtp_bytes_sent{0};
  std::atomic<uint64_t> rtcp_sent{0};
  std::atomic<uint64_t> dropped_not_ready{0}; // no keys or no tuple yet
  std::atomic<uint64_t> protect_failed{0};
  // What left with a transport-wide number, for the transport's send-side estimate
  // (rtp/send_bwe.hpp): the consumers' senders number their packets and append them here
  // under the lock (so the log is in number order), the transport takes the log when
  // feedback arrives. Bounded: past tuning::max_send_log the oldest half is dropped (the
  // estimator then lacks their send times, as if they had left before its history).
  struct sent_record {
    uint16_t seq;
    uint16_t bytes;
    int64_t send_us;
    int16_t probe_id; // -1: not a probe packet
  };
  // Set once the receiver's first transport-cc feedback arrived: a receiver that never
  // sends any costs no log.
  std::atomic<bool> send_log_on{false};
  std::mutex send_log_mutex;
  std::vector<sent_record> send_log; // guarded by send_log_mutex

  // Pacing: the transport sets pacing_bps from its send-side estimate (0: no estimate, no
  // pacing). Its consumers then claim the paced link before they send (claim_pacing): a
  // burst (a keyframe, a repair) leaves at the pacing rate instead of all at once, so a
  // thin link's queue takes it without overflowing; what leads the paced link's clock by
  // less than tuning::pacing_burst_us leaves at once, so ordinary frames never wait. A
  // consumer holds what must wait in its own queue, in order, and sends it on its own timer.
  std::atomic<uint64_t> pacing_bps{0};
  std::atomic<int64_t> paced_until_us{0}; // the paced link is busy until then
  // Claims the paced link for `bytes` at now_us: 0 when they may leave now (claimed);
  // otherwise the microseconds to wait before asking again (nothing claimed). `force`:
  // claimed and sent now however late (audio: small, and never held).
  int64_t claim_pacing(size_t bytes, int64_t now_us, bool force);

  // Fault injection (rtc.faultInjection, off by default): an egress bandwidth cap on
  // what this transport's RTP sends, as a thin link would have it: a drop-tail queue of at
  // most tuning::max_egress_queue_us of the cap's rate, drained at the rate by the
  // transport's timer (drain_egress). Queued packets arrive late (the delay a receiver's feedback
  // shows); what the full queue refuses is lost. 0: no cap.
  struct queued {
    std::vector<uint8_t> bytes;
    net::ice_tuple to;
    int64_t release_us;
  };
  std::atomic<uint64_t> egress_cap_bps{0};
  std::mutex egress_mutex;
  std::deque<queued> egress_queue; // guarded by egress_mutex
  int64_t egress_free_us = 0;      // when the link is free again (guarded)
  std::atomic<uint64_t> egress_dropped{0};
  std::atomic<uint64_t> egress_delayed{0};
  void set_egress_cap(uint64_t bps);
  // Queues one packet behind the cap; false when the queue is full (dropped).
  bool enqueue_egress(std::span<const uint8_t> bytes, const net::ice_tuple& to, int64_t now_us);
  // Sends what the link has carried by now; returns how many are still queued.
  size_t drain_egress(int64_t now_us);
};

// Not thread-safe: one owner (an actor) uses it.
class rtp_sender {
public:
  enum class use { rtp, rtcp };
  rtp_sender(std::shared_ptr<send_shared> shared, use u) : shared_(std::move(shared)), use_(u) {}

  // Applies the transport's sending state; true when this made the sender ready for the
  // first time (its SRTP context was created now).
  bool apply(const sending_state& s);
  // A plain RTP transport without SRTP (actors/plain_transport.hpp) says has_keys with
  // srtp_profile 0: packets leave unprotected.
  bool ready() const noexcept { return (rtp_ || rtcp_ || plain_) && tuple_.has_value(); }

  // (use::rtp) Writes the transport-wide sequence number and abs-send-time into each packet of `out`
  // (when the ids are set), protects in place, sends them in one batch. Returns how many
  // were sent.
  size_t send_rtp(rtp_out& out);
  // One RTCP (compound) packet (use::rtcp only).
  bool send_rtcp(std::span<const uint8_t> bytes);

  const send_shared& shared() const noexcept { return *shared_; }
  send_shared& shared() noexcept { return *shared_; }
  const rtp::rtp_protector* protector() const noexcept { return rtp_ ? &*rtp_ : nullptr; }

  // For a stream whose repairs are resent as they were (NACK without RTX): keeps the
  // transport-wide number and abs-send-time of the last `packets` packets sent (rounded up
  // to a power of two, by RTP sequence number), and gives a packet sent again (the same
  // sequence number and timestamp) those same values instead of new ones. The resend is
  // then the original byte for byte: SRTP's IV comes from the SSRC and the index alone, and
  // with AES-GCM one IV under two different headers (the associated data) would give away
  // the hash key through the two tags (RFC 7714 §8: an IV must never repeat for
  // different data). 0: off.
  void remember_headers(size_t packets);
  uint64_t resent_as_sent() const noexcept { return resent_as_sent_; }

private:
  std::shared_ptr<send_shared> shared_;
  use use_;
  std::optional<rtp::rtp_protector> rtp_;  // use::rtp
  std::optional<rtp::srtp_session> rtcp_;  // use::rtcp
  std::optional<net::ice_tuple> tuple_;
  bool plain_ = false;
  std::vector<std::span<const uint8_t>> spans_; // reused
  struct sent_header {
    uint32_t timestamp = 0;
    uint32_t abs_send_time = 0;
    uint16_t seq = 0;
    uint16_t tcc_seq = 0;
    bool valid = false;
  };
  std::vector<sent_header> sent_headers_; // see remember_headers; empty: off
  uint64_t resent_as_sent_ = 0;
  std::vector<uint8_t> rtcp_buffer_;            // reused
};

} // namespace chorus::actors
