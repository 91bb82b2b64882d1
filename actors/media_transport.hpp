// The half that the two transports carrying RTP share, the WebRTC transport
// (actors/transport_actor.hpp) and the plain one (actors/plain_transport.cpp): the state of
// their media and the steps a received or routed packet takes in both, so that it is
// counted, dropped, handed on and added to the node's totals the same way whichever
// transport it came through. Each transport's state derives from media_transport_state;
// what comes before these steps (ICE and DTLS, or a remote address learnt or connected)
// and the keys stay its own.
#pragma once

#include "actors/clock.hpp"
#include "actors/context.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/rtp_sender.hpp"
#include "actors/transport_media.hpp"
#include "common/ids.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/srtp_session.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>

namespace chorus::actors {

// A transport's packets and drops; the reasons of one kind of transport stay 0 on the other
// (a plain transport has no ICE or DTLS).
struct transport_counters {
  uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
  uint64_t stun_in = 0, stun_out = 0, dtls_in = 0, dtls_out = 0;
  uint64_t rtp_in = 0, rtp_bytes_in = 0, rtcp_in = 0;
  // dropped, by reason
  uint64_t dropped_unknown = 0;       // not STUN, DTLS, RTP or RTCP (plain: not RTP or RTCP)
  uint64_t dropped_not_selected = 0;  // media from a tuple ICE has not validated
  uint64_t dropped_no_srtp = 0;       // media before DTLS has produced keys
  uint64_t dropped_srtp_auth = 0;
  uint64_t dropped_srtp_replay = 0;
  uint64_t dropped_srtp_other = 0;
  uint64_t dropped_dtls_early = 0;    // DTLS before connect-transport beyond the buffer
  uint64_t dropped_dtls_malformed = 0; // DTLS's first byte, but not whole DTLS records
  uint64_t stun_rejected = 0;         // answered with an error (400/401/420/487)
  uint64_t stun_unanswered = 0;       // of which not answered (over the error rate)
};

// What a transport last added to the node's media totals (publish_totals).
struct published_totals {
  transport_counters t;
  transport_media_counters m;
  uint64_t rtp_sent = 0, rtp_bytes_sent = 0, rtcp_sent = 0, not_ready = 0, protect_failed = 0;
};

using totals_tick_atom = caf::atom_constant<caf::atom("trtotals")>;

inline void count_srtp_failure(transport_counters& c, rtp::srtp_error e) {
  switch (e) {
    case rtp::srtp_error::auth_fail:
      ++c.dropped_srtp_auth;
      break;
    case rtp::srtp_error::replay_fail:
    case rtp::srtp_error::replay_old:
      ++c.dropped_srtp_replay;
      break;
    default:
      ++c.dropped_srtp_other;
  }
}

struct media_transport_state {
  std::string id;
  node_context_ptr ctx;
  std::shared_ptr<send_shared> shared; // socket, transport-wide seq, send counters
  sending_state sending;               // what consumers need to send themselves
  transport_counters counters;
  transport_media media;
  published_totals published;
  std::minstd_rand rng{ids::random_u32()};

  media_transport_state() = default;
  media_transport_state(const media_transport_state&) = delete;
  media_transport_state& operator=(const media_transport_state&) = delete;

  // The transport counts among the node's from here until its state ends.
  void start(std::string transport_id, node_context_ptr context) {
    id = std::move(transport_id);
    ctx = std::move(context);
    ctx->counters->transports.fetch_add(1);
  }

  ~media_transport_state() {
    if (ctx) {
      publish_totals_now();
      ctx->counters->transports.fetch_sub(1);
    }
  }

  // The node's ticker (actors/ticker.hpp); none without a context (unit tests).
  const caf::actor& ticker() const;

  // Adds what changed since the last call to the node's totals (relaxed atomics; never per
  // packet: every tuning::totals_interval from start_totals, and when the state ends).
  void publish_totals_now();
  void start_totals(caf::event_based_actor* self);
  // The totals tick: publishes, and (`again`) asks for the next.
  void on_totals_tick(caf::event_based_actor* self, bool again);

  // The test fault rtc.dropRtpPercent: whether to lose this received RTP packet, before
  // decryption, as the network would (counted).
  bool injected_loss(bool rtcp) {
    if (rtcp || ctx->rtc.drop_rtp_percent == 0 ||
        !(std::uniform_real_distribution<double>(0, 100)(rng) < ctx->rtc.drop_rtp_percent))
      return false;
    ++media.counters().rtp_injected_drops;
    return true;
  }

  // A received RTP packet, decrypted, to its producer. An SSRC no producer has keeps its
  // SRTP state while it is among the recent unrouted ones (transport_media::note_unrouted).
  // `arrival_us`: the kernel's arrival time where the I/O layer had it, else now.
  void on_rtp(std::span<const uint8_t> packet, rtp::srtp_session* srtp, int64_t arrival_us) {
    ++counters.rtp_in;
    counters.rtp_bytes_in += packet.size();
    if (!media.on_rtp(packet, mono_ms(), arrival_us) && srtp)
      media.note_unrouted(rtp::rtp_ssrc_of(packet), *srtp);
  }

  // A received RTCP packet, decrypted: its sender's SSRC noted, its reports and feedback to
  // the producers and consumers they are about.
  template <class Self>
  void on_rtcp(Self* self, std::span<const uint8_t> packet, rtp::srtp_session* srtp) {
    ++counters.rtcp_in;
    if (srtp)
      media.note_rtcp_sender(packet, *srtp);
    media.on_rtcp(self, packet, mono_ms());
  }

  // A producer's SSRCs routed here; the transport monitors it, its routes ending with it.
  // An error when an SSRC is taken.
  template <class Self>
  caf::error route_producer(Self* self, const producer_route& r) {
    if (!media.add_producer(r))
      return make_error(protocol::error_code::invalid_field,
                        "rtpParameters.encodings[0].ssrc " + std::to_string(r.ssrc) +
                          " is already used on transport '" + id + "'");
    self->monitor(r.producer);
    return {};
  }

  // A consumer sending here, told at once what it needs to send when the transport has it.
  template <class Self>
  void route_consumer(Self* self, const consumer_route& r) {
    media.add_consumer(r);
    self->monitor(r.consumer);
    if (sending.has_keys || sending.has_tuple)
      self->send(r.consumer, sending);
  }
};

} // namespace chorus::actors
