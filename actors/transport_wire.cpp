#include "actors/transport_actor.hpp"

namespace chorus::actors::transports {

namespace {

// Keys or tuple changed: our sender and every consumer's take the new state.
void publish_sending_state(transport_actor* self) {
  auto& st = self->state;
  st.sender->apply(st.sending);
  for (auto& consumer : st.media.consumer_actors())
    self->send(consumer, st.sending);
}

void send_to(transport_actor* self, const net::ice_tuple& to, const std::vector<uint8_t>& bytes) {
  auto& st = self->state;
  if (!st.endpoint || bytes.empty())
    return;
  if (st.endpoint->send(to, bytes.data(), bytes.size())) {
    ++st.counters.packets_out;
    st.counters.bytes_out += bytes.size();
  }
}

// One SCTP packet out as DTLS application data.
void send_sctp_packet(transport_actor* self, std::span<const uint8_t> packet) {
  auto& st = self->state;
  if (!st.dtls || st.dtls->state() != net::dtls_state::connected)
    return;
  apply_dtls(self, st.dtls->send_application_data(packet, now_ms()));
}

void apply_dtls_state(transport_actor* self, net::dtls_output& out) {
  auto& st = self->state;
  if (auto& sel = st.ice->selected_tuple(); sel) {
    for (auto& d : out.datagrams) {
      send_to(self, *sel, d);
      ++st.counters.dtls_out;
    }
  }
  if (!out.state_changed)
    return;
  LOG_INFO_IDS(component, (log::ids{.transport = st.id}), "dtls " << net::to_string(out.state));
  if (out.state == net::dtls_state::connected) {
    auto& keys = st.dtls->srtp_keys();
    if (!keys) {
      close_transport(self, "DTLS connected without SRTP keys");
      return;
    }
    auto profile = rtp::srtp_profile_from_id(static_cast<uint16_t>(keys->profile));
    if (!profile) {
      close_transport(self, "unsupported SRTP profile");
      return;
    }
    auto in = rtp::srtp_session::create(*profile, rtp::srtp_direction::inbound, keys->remote_key,
                                        keys->remote_salt);
    // (made only to check the local keys: the senders make their own, rtp_sender::apply)
    auto outb = rtp::srtp_session::create(*profile, rtp::srtp_direction::outbound,
                                          keys->local_key, keys->local_salt, {.rtcp_only = true});
    if (!in || !outb) {
      close_transport(self, "cannot create SRTP sessions: " + (in ? outb.error() : in.error()));
      return;
    }
    st.srtp_in.emplace(std::move(*in));
    st.sending.has_keys = true;
    st.sending.srtp_profile = static_cast<uint16_t>(keys->profile);
    st.sending.key.assign(keys->local_key.begin(), keys->local_key.end());
    st.sending.salt.assign(keys->local_salt.begin(), keys->local_salt.end());
    publish_sending_state(self);
    LOG_INFO_IDS(component, (log::ids{.transport = st.id}),
                 "connected (" << net::to_string(keys->profile) << ")");
  } else if (out.state == net::dtls_state::failed) {
    st.ctx->counters->media.dtls_failures.fetch_add(1, std::memory_order_relaxed);
    LOG_INFO_IDS(component, (log::ids{.transport = st.id}),
                 "DTLS failed: " << net::to_string(st.dtls->error()));
    close_transport(self, "DTLS failed");
  } else if (out.state == net::dtls_state::closed) {
    close_transport(self, "DTLS closed by the remote side");
  }
}

void handle_stun(transport_actor* self, const net::ice_tuple& source,
                 std::span<const uint8_t> bytes, uint64_t now) {
  auto& st = self->state;
  ++st.counters.stun_in;
  auto decision = st.ice->handle(bytes, source, now);
  if (!decision.response.empty()) {
    send_to(self, source, decision.response);
    ++st.counters.stun_out;
  }
  if (decision.verdict != net::ice_verdict::success &&
      decision.verdict != net::ice_verdict::dropped_malformed &&
      decision.verdict != net::ice_verdict::dropped_unexpected &&
      decision.verdict != net::ice_verdict::dropped_closed) {
    ++st.counters.stun_rejected;
    if (decision.response.empty())
      ++st.counters.stun_unanswered;
  }
  apply_ice_events(self, decision.events);
}

// DTLS or media from `source`: true when it is (or has now become) the selected tuple.
bool follow_tuple(transport_actor* self, const net::ice_tuple& source) {
  auto& st = self->state;
  const auto& sel = st.ice->selected_tuple();
  if (sel && *sel == source)
    return true;
  const auto events = st.ice->use_tuple(source);
  if (events.empty())
    return false;
  apply_ice_events(self, events);
  return true;
}

void handle_dtls(transport_actor* self, const net::ice_tuple& source,
                 std::span<const uint8_t> bytes, uint64_t now) {
  auto& st = self->state;
  ++st.counters.dtls_in;
  if (!net::is_well_formed_dtls(bytes)) {
    ++st.counters.dropped_dtls_malformed;
    return;
  }
  if (!follow_tuple(self, source)) {
    ++st.counters.dropped_not_selected;
    return;
  }
  if (!st.dtls) { // connect-transport has not arrived yet: keep a few
    if (st.early_dtls.size() < tuning::max_early_dtls)
      st.early_dtls.emplace_back(source, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    else
      ++st.counters.dropped_dtls_early;
    return;
  }
  apply_dtls(self, st.dtls->handle(bytes, now));
  schedule_timer(self);
}

void handle_media(transport_actor* self, const net::ice_tuple& source, uint8_t* data,
                  std::size_t size, bool rtcp, int64_t arrival_us) {
  auto& st = self->state;
  if (!follow_tuple(self, source)) {
    ++st.counters.dropped_not_selected;
    return;
  }
  if (!st.srtp_in) {
    ++st.counters.dropped_no_srtp;
    return;
  }
  if (st.injected_loss(rtcp))
    return;
  std::span<uint8_t> buf{data, size};
  auto r = rtcp ? st.srtp_in->unprotect_rtcp(buf, size) : st.srtp_in->unprotect_rtp(buf, size);
  if (!r) {
    count_srtp_failure(st.counters, r.error);
    return;
  }
  const std::span<const uint8_t> packet{data, r.length};
  if (rtcp) {
    const auto feedbacks = st.media.bwe().stats().feedbacks;
    const auto remb = st.media.bwe().stats().remb_bps;
    st.on_rtcp(self, packet, &*st.srtp_in);
    // A new estimate: share it out again when it moved by 5 % or more.
    if ((st.media.bwe().stats().feedbacks != feedbacks || st.media.bwe().stats().remb_bps != remb) &&
        !st.alloc.empty()) {
      const uint64_t now = st.media.bwe().target_bps(), last = st.alloc_budget;
      if (last == 0 || now * 20 < last * 19 || now * 20 > last * 21 || st.alloc_desired > now)
        reallocate(self);
    }
  } else {
    // The kernel's arrival time when the I/O layer had it (on the same steady clock, and
    // never later than the I/O thread's reading of it).
    st.on_rtp(packet, &*st.srtp_in, arrival_us > 0 ? arrival_us : mono_us());
  }
}

} // namespace

transport_data::packet_sink sctp_sink(transport_actor* self) {
  return [self](std::span<const uint8_t> packet) { send_sctp_packet(self, packet); };
}

void apply_dtls(transport_actor* self, net::dtls_output&& out) {
  auto& st = self->state;
  const bool connected_now = out.state_changed && out.state == net::dtls_state::connected;
  apply_dtls_state(self, out);
  if (st.closed || !st.data.enabled())
    return;
  if (connected_now)
    st.data.start(self, sctp_sink(self));
  for (auto& record : out.application_data)
    if (!st.closed)
      st.data.on_packet(self, record, sctp_sink(self));
}

void maybe_start_dtls(transport_actor* self) {
  auto& st = self->state;
  if (!st.dtls || !st.ice->selected_tuple())
    return;
  auto now = now_ms();
  if (st.dtls->state() == net::dtls_state::new_ && st.dtls_role == net::dtls_role::client)
    apply_dtls(self, st.dtls->start(now));
  auto early = std::move(st.early_dtls);
  st.early_dtls.clear();
  for (auto& [tuple, bytes] : early)
    if (st.dtls && !st.closed)
      apply_dtls(self, st.dtls->handle(bytes, now));
  schedule_timer(self);
}

void apply_ice_events(transport_actor* self, const std::vector<net::ice_event>& events) {
  auto& st = self->state;
  for (auto& ev : events) {
    if (ev.kind == net::ice_event_kind::state_changed) {
      LOG_INFO_IDS(component, (log::ids{.transport = st.id}), "ice " << net::to_string(ev.state));
      if (ev.state == net::ice_state::closed) {
        close_transport(self, "ICE consent expired");
        return;
      }
    } else if (ev.kind == net::ice_event_kind::selected_tuple_changed && ev.tuple) {
      st.sending.has_tuple = true;
      st.sending.tuple = *ev.tuple;
      publish_sending_state(self);
      LOG_DEBUG(component, st.id << ": selected tuple " << ev.tuple->remote.to_string()
                                 << (ev.tuple->protocol == net::ice_protocol::tcp ? "/tcp"
                                                                                   : "/udp"));
      maybe_start_dtls(self);
    }
  }
}

void send_rtcp(transport_actor* self, std::span<const uint8_t> bytes) {
  if (self->state.sender)
    self->state.sender->send_rtcp(bytes);
}

void send_feedback(transport_actor* self) {
  auto& st = self->state;
  st.feedback.clear();
  st.media.feedback(mono_ms(), mono_us(), st.feedback);
  for (auto& fb : st.feedback)
    send_rtcp(self, fb);
}

void handle_batch(transport_actor* self, net::packet_batch& batch) {
  auto& st = self->state;
  if (st.closed)
    return;
  auto now = now_ms();
  for (auto& p : batch.packets) {
    if (st.closed)
      return;
    if (p.offset + p.size > batch.data.size())
      continue;
    uint8_t* data = batch.data.data() + p.offset;
    if (p.connection_closed) { // the socket layer: a TCP connection of ours closed
      apply_ice_events(self, st.ice->remove_tuple(p.source, now));
      continue;
    }
    ++st.counters.packets_in;
    st.counters.bytes_in += p.size;
    std::span<const uint8_t> bytes{data, p.size};
    switch (net::classify(bytes)) {
      case net::packet_kind::stun:
        handle_stun(self, p.source, bytes, now);
        break;
      case net::packet_kind::dtls:
        handle_dtls(self, p.source, bytes, now);
        break;
      case net::packet_kind::rtp:
        handle_media(self, p.source, data, p.size, false, p.arrival_us);
        break;
      case net::packet_kind::rtcp:
        handle_media(self, p.source, data, p.size, true, p.arrival_us);
        break;
      default:
        ++st.counters.dropped_unknown;
    }
  }
  st.media.flush(self, mono_ms());
  send_feedback(self);
  schedule_timer(self);
}

} // namespace chorus::actors::transports
