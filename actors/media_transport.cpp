#include "actors/media_transport.hpp"

#include "actors/media_tuning.hpp"
#include "actors/ticker.hpp"

namespace chorus::actors {

const caf::actor& media_transport_state::ticker() const {
  static const caf::actor none;
  return ctx ? ctx->ticker : none;
}

void media_transport_state::start_totals(caf::event_based_actor* self) {
  tick_every(self, ticker(), totals_tick_atom::value, tuning::totals_interval, false);
}

void media_transport_state::on_totals_tick(caf::event_based_actor* self, bool again) {
  publish_totals_now();
  if (again)
    tick_every(self, ticker(), totals_tick_atom::value, tuning::totals_interval, true);
}

void media_transport_state::publish_totals_now() {
  const auto& t = counters;
  const auto& m = media.counters();
  auto& last = published;
  auto& out = ctx->counters->media;
  auto add = [](std::atomic<uint64_t>& to, uint64_t now, uint64_t& before) {
    if (now > before)
      to.fetch_add(now - before, std::memory_order_relaxed);
    before = now;
  };
  auto& l = last.t;
  add(out.packets_in, t.packets_in, l.packets_in);
  add(out.bytes_in, t.bytes_in, l.bytes_in);
  add(out.packets_out, t.packets_out, l.packets_out);
  add(out.bytes_out, t.bytes_out, l.bytes_out);
  add(out.rtp_in, t.rtp_in, l.rtp_in);
  add(out.rtcp_in, t.rtcp_in, l.rtcp_in);
  add(out.stun_in, t.stun_in, l.stun_in);
  add(out.dtls_in, t.dtls_in, l.dtls_in);
  add(out.dropped_unknown, t.dropped_unknown, l.dropped_unknown);
  add(out.dropped_not_selected, t.dropped_not_selected, l.dropped_not_selected);
  add(out.dropped_no_srtp, t.dropped_no_srtp, l.dropped_no_srtp);
  add(out.dropped_dtls_early, t.dropped_dtls_early, l.dropped_dtls_early);
  add(out.dtls_malformed, t.dropped_dtls_malformed, l.dropped_dtls_malformed);
  add(out.srtp_auth_failures, t.dropped_srtp_auth, l.dropped_srtp_auth);
  add(out.srtp_replays, t.dropped_srtp_replay, l.dropped_srtp_replay);
  add(out.srtp_other_failures, t.dropped_srtp_other, l.dropped_srtp_other);
  add(out.stun_rejected, t.stun_rejected, l.stun_rejected);
  add(out.stun_unanswered, t.stun_unanswered, l.stun_unanswered);
  auto& lm = last.m;
  add(out.dropped_rtp_malformed, m.rtp_malformed, lm.rtp_malformed);
  add(out.dropped_rtp_unknown_ssrc, m.rtp_unknown_ssrc, lm.rtp_unknown_ssrc);
  add(out.dropped_injected, m.rtp_injected_drops, lm.rtp_injected_drops);
  add(out.rtcp_malformed, m.rtcp_malformed, lm.rtcp_malformed);
  add(out.nacks_in, m.nacks, lm.nacks);
  add(out.plis_in, m.plis, lm.plis);
  add(out.firs_in, m.firs, lm.firs);
  if (shared) {
    // Consumers send RTP themselves through the transport's shared sender state.
    uint64_t sent = shared->rtp_sent.load(std::memory_order_relaxed);
    uint64_t bytes = shared->rtp_bytes_sent.load(std::memory_order_relaxed);
    add(out.packets_out, sent, last.rtp_sent);
    add(out.bytes_out, bytes, last.rtp_bytes_sent);
    add(out.rtcp_out, shared->rtcp_sent.load(std::memory_order_relaxed), last.rtcp_sent);
    add(out.send_dropped_not_ready, shared->dropped_not_ready.load(std::memory_order_relaxed),
        last.not_ready);
    add(out.send_protect_failed, shared->protect_failed.load(std::memory_order_relaxed),
        last.protect_failed);
  }
}

} // namespace chorus::actors
