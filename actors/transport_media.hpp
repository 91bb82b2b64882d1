// The media half of a transport actor (the other half, ICE / DTLS / SRTP, is in
// transport.cpp): which producer owns an incoming SSRC and which consumer an outgoing one,
// RTCP demultiplexing to them, transport-wide sequence numbers on what it sends, and the
// bandwidth feedback (transport-cc, or REMB) on what it receives.
//
// Incoming RTP of one receive batch is grouped per producer and sent as one rtp_in each;
// incoming RTCP goes to the producer (SR) or the consumer (RR blocks, NACK, PLI, FIR) it is
// about. Feedback about our own sending (transport-cc, REMB from the receiver) is counted.
#pragma once

#include "actors/media_messages.hpp"
#include "actors/rtp_sender.hpp"
#include "rtp/bwe_feedback.hpp"
#include "rtp/recent_ssrcs.hpp"
#include "rtp/send_bwe.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace chorus::rtp {
class srtp_session;
}

namespace chorus::actors {

struct transport_media_counters {
  uint64_t rtp_unknown_ssrc = 0;
  uint64_t ssrcs_learnt = 0; // bound to a producer by their mid / rid elements
  uint64_t rtp_malformed = 0;
  uint64_t rtp_injected_drops = 0; // fault injection (media.dropRtpPercent)
  uint64_t rtcp_malformed = 0;
  uint64_t rtcp_unknown_ssrc = 0;
  uint64_t sender_reports = 0;
  uint64_t receiver_reports = 0;
  uint64_t nacks = 0;
  uint64_t plis = 0;
  uint64_t firs = 0;
  uint64_t tcc_feedback_in = 0;
  uint64_t remb_in = 0;
  uint64_t tcc_feedback_out = 0;
  uint64_t remb_out = 0;
  uint64_t rtcp_through_lanes = 0; // report blocks and NACKs run through a consumer's lane
};

class transport_media {
public:
  transport_media();

  // Routes; false when an SSRC is taken by another producer.
  bool add_producer(const producer_route& r);
  void add_consumer(const consumer_route& r);
  // Forgets every route of the actor that ended. The SSRCs of a producer's routes that RTP
  // arrived on join the unrouted ones (note_unrouted: the stream may go on, or come back
  // under a new producer); `srtp_in`, when given, forgets now those that never carried RTP
  // (their state is at most a sender report's) and those the joining pushed out.
  void remove(const caf::actor_addr& who, rtp::srtp_session* srtp_in = nullptr);
  bool has_producers() const noexcept { return !producers_.empty(); }
  // True when RTP of this SSRC goes to a producer.
  bool routes(uint32_t ssrc) const noexcept { return producers_.contains(ssrc); }
  // Every consumer with a route on this transport (once each).
  std::vector<caf::actor> consumer_actors() const;

  // One decrypted RTP packet; `out` collects the per-producer batches of this receive batch.
  // False when the packet's SSRC is routed to no producer (then note_unrouted).
  bool on_rtp(std::span<const uint8_t> packet, int64_t now_ms, int64_t now_us);
  // An SSRC that decrypted and is routed to no producer (yet: a browser may send before
  // its `produce` is answered; any more: its producer closed; or a client sends what it
  // never produced). The transport keeps the SRTP state (replay window, rollover counter)
  // of the last `max_unrouted` such SSRCs, so that a stream that wraps its sequence number
  // meanwhile still decrypts; forgetting it after each packet would judge every packet
  // after the wrap by a rollover counter of 0, an authentication failure each. `srtp_in`
  // forgets the state of one pushed out of the list that is still routed nowhere (if it
  // also reports by SRTCP, it loses that replay window with it). So unrouted SSRCs cannot
  // grow that state without bound.
  void note_unrouted(uint32_t ssrc, rtp::srtp_session& srtp_in);
  static constexpr std::size_t max_unrouted = 16;
  // An SRTCP datagram that decrypted, for its sender SSRC (the first packet's). The SRTP
  // receiver keeps state per SSRC for RTCP too (libsrtp's streams hold both), so a keyed
  // sender's RTCP from ever new SSRCs would grow it without bound: the last
  // `max_rtcp_senders` that are not a producer's are kept (a browser's receive streams may
  // each report from an SSRC of their own), and `srtp_in` forgets one pushed out unless it
  // is routed or among the unrouted RTP SSRCs. A sender forgotten loses only its SRTCP
  // replay window: SRTCP carries its index in the clear.
  void note_rtcp_sender(std::span<const uint8_t> rtcp, rtp::srtp_session& srtp_in);
  static constexpr std::size_t max_rtcp_senders = 256;
  // After the receive batch: sends the collected rtp_in messages.
  void flush(caf::event_based_actor* self, int64_t now_ms);
  // One decrypted compound RTCP datagram.
  void on_rtcp(caf::event_based_actor* self, std::span<const uint8_t> datagram, int64_t now_ms);

  // Bandwidth feedback due now (transport-cc or REMB), as RTCP packets to protect and send.
  void feedback(int64_t now_ms, int64_t now_us, std::vector<std::vector<uint8_t>>& out);


  // The consumers' send log (send_shared): with it, transport-cc feedback and REMB from the
  // receiver drive this transport's send-side estimate (rtp/send_bwe.hpp).
  void set_send_log(std::shared_ptr<send_shared> shared) { send_log_ = std::move(shared); }
  const rtp::send_bwe& bwe() const noexcept { return bwe_; }
  rtp::send_bwe& bwe() noexcept { return bwe_; }

  transport_media_counters& counters() noexcept { return counters_; }
  const rtp::tcc_counters& tcc_counters() const noexcept { return tcc_.counters(); }
  uint64_t remb_estimate() const noexcept { return remb_.estimate_bps(); }

private:
  struct in_route {
    caf::actor producer;
    caf::abstract_actor* lane = nullptr; // the producer's (producer_lane), while held
    uint8_t tcc_ext_id = 0;
    uint8_t abs_send_time_ext_id = 0;
    // RTP of this SSRC arrived (so the SRTP receiver holds its state): set once by on_rtp.
    bool seen = false;
  };
  std::unordered_map<uint32_t, in_route> producers_;
  // Producers whose SSRCs are learnt from their first packets (rid-based simulcast).
  struct learner {
    in_route route;
    std::string mid;
    uint8_t mid_ext_id = 0, rid_ext_id = 0, rrid_ext_id = 0;
    std::vector<std::string> rids;
    uint8_t max_ssrcs = 0;
    uint8_t bound = 0;
  };
  std::vector<learner> learners_;
  // The producer an unknown SSRC's packet names by mid or rid; nullptr when none (or when
  // that producer has bound all the SSRCs it may).
  in_route* learn(uint32_t ssrc, std::span<const uint8_t> packet);
  struct out_route {
    caf::actor consumer;
    caf::abstract_actor* lane; // consumer_lane(consumer): report blocks and NACKs through it
  };
  std::unordered_map<uint32_t, out_route> consumers_;
  struct pending_batch {
    caf::actor producer;
    caf::abstract_actor* lane; // in_route::lane
    rtp_in batch;
  };
  std::vector<pending_batch> pending_; // this receive batch, per producer
  // Packet lists a producer's lane emptied, reused by the next batches (at most
  // spare_lists_max, each of at most spare_list_max_packets): a batch handed over by a
  // call allocates no list, only its packets' own buffers.
  std::vector<std::vector<std::vector<uint8_t>>> spare_lists_;
  static constexpr std::size_t spare_lists_max = 4;
  static constexpr std::size_t spare_list_max_packets = 256;
  rtp::tcc_recorder tcc_;
  rtp::remb_estimator remb_;
  std::shared_ptr<send_shared> send_log_;
  std::vector<send_shared::sent_record> sent_; // reused
  rtp::send_bwe bwe_;
  bool tcc_seen_ = false;      // some producer negotiated transport-cc
  bool remb_needed_ = false;   // abs-send-time without transport-cc
  uint32_t rtcp_ssrc_ = 0;
  uint32_t media_ssrc_ = 0;    // any producer SSRC (for the feedback packets' media field)
  rtp::recent_ssrcs unrouted_{max_unrouted}; // least recently seen first
  rtp::recent_ssrcs rtcp_senders_{max_rtcp_senders};
  transport_media_counters counters_;
};

} // namespace chorus::actors
