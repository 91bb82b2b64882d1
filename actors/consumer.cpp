#include "actors/consumer.hpp"
#include "actors/consumer_actor.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace chorus::actors::consumers {

// Asked only once the sender can send: a keyframe asked for earlier would pass while the
// sender has no keys or tuple yet and be lost, and the request that follows would wait out
// the producer's throttle (in a join storm every newcomer would wait its interval).
// A layered consumer asks for a keyframe of the encoding it switches to, only.
void ask_keyframe(consumer_actor* self) {
  auto& st = self->state;
  if (!is_video(st) || !st.sender->ready())
    return;
  ++st.counters.keyframe_requests;
  if (auto k = st.forwarding->keyframe_request()) {
    if (k->layered)
      self->send(st.producer, keyframe_request_atom::value, k->spatial);
    else
      self->send(st.producer, keyframe_request_atom::value);
  }
}

void restart(consumer_actor* self) {
  auto& st = self->state;
  st.forwarding->restart();
  if (is_video(st))
    ask_keyframe(self);
}

// The producer was paused or resumed: forwarding follows, and the receiver is told.
void producer_pause_changed(consumer_actor* self, bool paused) {
  auto& st = self->state;
  if (st.producer_paused == paused)
    return;
  st.producer_paused = paused;
  if (!paused && !st.paused)
    restart(self);
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, protocol::producer_paused_event{st.producer_id, paused});
}

// layer_demand to the producer when the encodings this consumer needs changed (simulcast:
// rtp::consumer_stream::demand).
void send_demand(consumer_actor* self) {
  auto& st = self->state;
  if (st.forwarding->kind() != rtp::consumer_kind::simulcast)
    return;
  const uint8_t mask = st.forwarding->demand(st.paused);
  if (mask == st.layers.sent_demand)
    return;
  st.layers.sent_demand = mask;
  self->send(st.producer, layer_demand{caf::actor_cast<caf::actor>(self), mask});
}

// A new target (rtp::consumer_stream::update_target), the demand that follows from it, and
// a keyframe of a new spatial target.
void update_target(consumer_actor* self) {
  auto& st = self->state;
  if (!st.forwarding->layered())
    return;
  const bool ask = st.forwarding->update_target();
  send_demand(self); // before the keyframe request: the producer sends us that encoding
  if (ask && active(st))
    ask_keyframe(self);
}

// What the transport's allocation needs to know of this consumer (see alloc_info).
void send_alloc_info(consumer_actor* self) {
  auto& st = self->state;
  alloc_info info;
  info.consumer = caf::actor_cast<caf::actor>(self);
  info.demand.active = active(st);
  info.demand.priority = st.priority;
  info.demand.can_probe = is_video(st) && st.rtx;
  if (st.forwarding->layered()) {
    info.demand.layered = true;
    info.demand.max_spatial = st.forwarding->preferred_spatial();
    info.demand.max_temporal = st.forwarding->preferred_temporal();
    info.demand.bps = st.forwarding->bitrates();
    info.demand.keyframe_bytes = st.layers.keyframe_bytes;
    info.demand.peak_bps = st.layers.peak_bps;
    info.demand.known_bps = st.forwarding->known_bitrates();
  } else {
    info.demand.bps.push_back(uint32_t(st.stream->stats(mono_ms()).bitrate_bps));
  }
  self->send(st.transport, std::move(info));
  send_demand(self); // paused or resumed
}

namespace {

void init(consumer_state& st, const rtp::rtp_parameters& p, const rtp::numbering& numbering) {
  // `p` is in the router's numbers; the wire takes the receiver's where it has its own.
  auto wire_pt = [&](uint8_t router) { return numbering.receiver_payload_type(router).value_or(router); };
  if (!p.codecs.empty()) {
    st.router_payload_type = p.codecs[0].payload_type;
    st.payload_type = wire_pt(st.router_payload_type);
    st.mime_type = p.codecs[0].mime_type;
    st.clock_rate = p.codecs[0].clock_rate;
  }
  for (size_t i = 1; i < p.codecs.size(); ++i) {
    if (text::iends_with(p.codecs[i].mime_type, "/rtx")) {
      st.rtx_payload_type = wire_pt(p.codecs[i].payload_type);
      st.rtx = true;
    }
  }
  if (!p.encodings.empty()) {
    st.ssrc = p.encodings[0].ssrc;
    st.rtx_ssrc = p.encodings[0].rtx_ssrc;
  }
  if (st.rtx_ssrc == 0)
    st.rtx = false;
  // Consumer parameters carry router ids: those are kept (at the receiver's ids), every
  // other element is disabled.
  for (auto& e : p.header_extensions) {
    const uint8_t id = numbering.receiver_extension_id(e.id).value_or(e.id);
    st.ext_map.set(e.id, id);
    if (e.uri == twcc_uri)
      st.tcc_ext_id = id;
    else if (e.uri == abs_send_time_uri)
      st.abs_send_time_ext_id = id;
    else if (e.uri == mid_uri)
      st.mid_ext_id = id;
    else if (e.uri == rtp::dependency_descriptor_uri)
      st.dd_ext_id = id;
    else if (e.uri == rtp::playout_delay_uri)
      st.playout_delay_ext_id = id;
  }
  st.mid = p.mid;
  st.cname = p.rtcp.cname.empty() ? "chorus" : p.rtcp.cname;
}

// The consumer's kind: layered when its producer has several spatial or temporal layers of
// video (simulcast when they are separate encodings), simple otherwise.
void init_forwarding(consumer_state& st, const consumer_spawn_args& args) {
  rtp::consumer_stream_config c;
  c.video = st.kind == rtp::media_kind::video;
  c.clock_rate = st.clock_rate;
  if (c.video && (args.spatial_layers > 1 || args.temporal_layers > 1)) {
    c.kind = args.simulcast ? rtp::consumer_kind::simulcast : rtp::consumer_kind::svc;
    c.spatial_layers = args.spatial_layers;
    c.temporal_layers = args.temporal_layers;
    c.vp8 = text::iequals(st.mime_type, "video/VP8");
    if (args.simulcast && !c.vp8 && st.dd_ext_id != 0)
      st.dd_numbers.emplace();
  }
  st.forwarding.emplace(c);
}

caf::behavior consumer_impl(consumer_actor* self, consumer_spawn_args args, caf::actor producer,
                            caf::actor transport, std::shared_ptr<send_shared> send,
                            caf::actor_addr peer, node_context_ptr ctx) {
  auto& st = self->state;
  st.id = std::move(args.id);
  st.producer_id = std::move(args.producer_id);
  st.kind = args.kind;
  if (st.kind == rtp::media_kind::audio)
    mark_urgent(self); // audio first (actors/scheduler.hpp)
  st.producer = std::move(producer);
  st.transport = std::move(transport);
  st.sender.emplace(std::move(send), rtp_sender::use::rtp);
  st.peer = std::move(peer);
  st.ctx = std::move(ctx);
  st.ctx->counters->consumers.fetch_add(1);
  st.by_thread = st.ctx->rtc.thread_fanout && st.ctx->media_io && st.ctx->media_io->threads() > 1;
  init(st, args.parameters, args.numbering);
  st.producer_paused = args.producer_paused;
  if (args.red && st.kind == rtp::media_kind::audio &&
      (st.router_payload_type == args.red->red || st.router_payload_type == args.red->opus))
    st.red = std::make_unique<rtp::red_converter>(args.red->red, args.red->opus,
                                                  st.router_payload_type == args.red->red, mono_ms());
  init_forwarding(st, args);
  st.stream.emplace(st.ssrc, st.clock_rate);
  // Audio retransmissions are of little use (late audio is concealed): keep a small ring.
  bool nack = false;
  if (!args.parameters.codecs.empty())
    for (auto& fb : args.parameters.codecs[0].rtcp_feedback)
      if (fb.type == "nack" && fb.parameter.empty())
        nack = true;
  if (nack)
    // 512 video slots hold the last second up to ~5 Mbit/s of 1200-byte packets (older
    // packets are not resent anyway: max age 1 s).
    st.rtx_buffer.emplace(rtp::retransmission_config{is_video(st) ? size_t(512) : size_t(64),
                                                     1000, 10});
  // A receiver that may lose packets is told to wait for their repairs (rtp/playout_delay).
  if (nack && is_video(st) && st.playout_delay_ext_id != 0 && st.ctx->rtc.playout_delay_limit_ms > 0)
    st.playout.emplace(st.ctx->rtc.playout_delay_limit_ms);
  if (nack && !st.rtx) // repairs go out as the originals did (rtp_sender::remember_headers)
    st.sender->remember_headers(is_video(st) ? 512 : 64);
  publish_far(self);
  // The producer going away (closed, or its peer left) ends this consumer.
  monitor_for_life(self, st.producer);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.producer.address())
      return;
    if (auto peer = caf::actor_cast<caf::actor>(st.peer))
      self->send(peer, protocol::consumer_closed_event{st.id, st.producer_id});
    self->quit();
  });
  self->send(st.transport, consumer_route{caf::actor_cast<caf::actor>(self), st.ssrc,
                                          st.rtx ? st.rtx_ssrc : 0});
  self->request(st.producer, std::chrono::seconds(10), attach_consumer{caf::actor_cast<caf::actor>(self)})
    .then([self](attach_reply& r) {
      auto& st = self->state;
      // Paused or resumed since the consume's reply said otherwise: the receiver hears it.
      producer_pause_changed(self, r.paused);
      for (auto& c : r.clocks)
        if (c.spatial < st.clocks.size())
          st.clocks[c.spatial] = c;
      if (!st.forwarding->layered())
        st.clock = st.clocks[0];
    }, [](caf::error&) { /* the producer is gone: the down message ends us */ });
  if (!args.paused) { // created running: start at once (keyframe requested)
    st.paused = false;
    restart(self);
  }
  tick_every(self, self->state.ctx->ticker, report_tick_atom::value,
             tuning::consumer_report_interval, false);
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](const media_packets& in) {
      handle_media(self, in, mono_us());
      flush_after_turn(self);
    },
    [self](const source_clock& c) {
      auto& st = self->state;
      if (c.spatial < st.clocks.size())
        st.clocks[c.spatial] = c;
      // The SRs follow the forwarded encoding's clock (SVC and simple: the only one).
      if (int(c.spatial) == st.forwarding->forwarded_encoding())
        st.clock = c;
    },
    [self](layer_bitrates& b) {
      auto& st = self->state;
      if (!st.forwarding->layered())
        return;
      st.forwarding->set_bitrates(std::move(b.bps));
      st.layers.keyframe_bytes = std::move(b.keyframe_bytes);
      st.layers.peak_bps = std::move(b.peak_bps);
      st.layers.producer_scores = std::move(b.scores);
      update_target(self);
      send_alloc_info(self);
    },
    [self](const probe_padding& p) { send_probe(self, p); },
    [self](pace_atom) {
      self->state.pace_timer = false;
      drain_paced(self, false);
      flush_after_turn(self);
    },
    [self](const layer_allocation& a) {
      auto& st = self->state;
      if (!st.forwarding->layered())
        return;
      st.forwarding->set_allocation(a.spatial, a.temporal, a.wanted_spatial);
      update_target(self); // and the demand that follows from it
    },
    [self](producer_state& ps) { producer_pause_changed(self, ps.paused); },
    [self](nack_in& n) { handle_nack(self, n); },
    // Keys and tuple from the transport. What was forwarded before this sender was ready
    // never left: start over from a keyframe (asked for now, see ask_keyframe).
    [self](const sending_state& s) {
      const bool now_ready = self->state.sender->apply(s);
      publish_far(self); // the keys or the tuple may be new
      if (now_ready && active(self->state))
        restart(self);
    },
    [self](keyframe_feedback& k) {
      auto& st = self->state;
      if (k.fir)
        st.stream->on_fir();
      else
        st.stream->on_pli();
      if (!active(st))
        return;
      // A layered consumer: the encoding it receives (or waits for), not all of them.
      if (auto k = st.forwarding->keyframe_for_receiver()) {
        if (k->layered)
          self->send(st.producer, keyframe_request_atom::value, k->spatial);
        else
          self->send(st.producer, keyframe_request_atom::value);
      }
    },
    [self](report_block_in& rb) { handle_report_block(self, rb); },
    [self](report_tick_atom) {
      auto& st = self->state;
      st.publish_totals(mono_ms());
      {
        const auto now = mono_ms();
        const uint64_t media = st.stream->stats(now).bytes;
        if (st.budget_ms != 0 && now > st.budget_ms) {
          const uint64_t bps = (media - st.budget_media_bytes) * 8000 / uint64_t(now - st.budget_ms);
          st.rtx_budget.set_rate(std::max<uint64_t>(tuning::rtx_budget_min_bps,
                                                   bps / tuning::rtx_budget_divisor),
                                 mono_us());
        }
        st.budget_media_bytes = media;
        st.budget_ms = now;
      }
      if (!st.forwarding->layered())
        send_alloc_info(self); // its bitrate, a fixed cost in the transport's allocation
      if (st.stream->sent_anything()) {
        const auto s = st.stream->stats(mono_ms());
        report_score(self, s);
        update_playout_delay(self, s);
      }
      if (active(st)) {
        send_sender_report(self);
        // The requested keyframe may have been lost (or, for a layer switch, not sent).
        if (st.forwarding->wants_keyframe())
          ask_keyframe(self);
      }
      tick_every(self, st.ctx->ticker, report_tick_atom::value, tuning::consumer_report_interval,
                 true);
    },
    [self](protocol::consumer_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      switch (r.op) {
        case protocol::consumer_op::pause:
          st.paused = true;
          send_alloc_info(self);
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::resume:
          if (st.paused) {
            st.paused = false;
            if (!st.producer_paused)
              restart(self);
            send_alloc_info(self);
          }
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::get_stats:
          return caf::make_message(protocol::stats_reply{stats_json(self)});
        case protocol::consumer_op::set_preferred_layers:
          // Without layers there is nothing to choose (mediasoup ignores it too).
          if (st.forwarding->layered()) {
            st.forwarding->set_preferred(r.spatial_layer, r.temporal_layer);
            update_target(self);
            send_alloc_info(self);
          }
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::set_priority:
          st.priority = uint8_t(std::clamp(r.priority, 1, 255));
          send_alloc_info(self);
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::request_keyframe:
          if (active(st))
            ask_keyframe(self);
          return caf::make_message(protocol::empty_reply{});
      }
      return make_error(protocol::error_code::internal, "unknown consumer operation");
    },
  };
}

} // namespace

} // namespace chorus::actors::consumers

namespace chorus::actors {

caf::actor spawn_consumer(caf::event_based_actor* peer, consumer_spawn_args args,
                          caf::actor producer, caf::actor transport,
                          std::shared_ptr<send_shared> send, node_context_ptr ctx) {
  return peer->spawn<caf::linked>(consumers::consumer_impl, std::move(args), std::move(producer),
                                  std::move(transport), std::move(send), peer->address(),
                                  std::move(ctx));
}

} // namespace chorus::actors
