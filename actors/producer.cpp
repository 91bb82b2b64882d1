#include "actors/producer_actor.hpp"

#include "actors/consumer.hpp"
#include "actors/fault.hpp"
#include "actors/scheduler.hpp"
#include "common/ids.hpp"
#include "common/text.hpp"

#include <algorithm>
#include <cstdlib>

namespace chorus::actors::producers {

namespace {

bool has_feedback(const rtp::codec_parameters& c, std::string_view type,
                  std::string_view param) {
  for (auto& fb : c.rtcp_feedback)
    if (fb.type == type && fb.parameter == param)
      return true;
  return false;
}

void set_paused(producer_actor* self, bool paused) {
  auto& st = self->state;
  if (st.paused == paused)
    return;
  fan_out_joined(self, st.join.take());
  st.paused = paused;
  for (auto& c : st.consumers)
    self->send(c, producer_state{paused});
}

void init_tables(producer_data& st, const rtp::rtp_parameters& params) {
  st.router_pt.fill(-1);
  st.rtx_apt.fill(-1);
  st.codec.fill(rtp::payload_codec::other);
  for (auto& m : st.mapping.codecs)
    if (m.client < 128)
      st.router_pt[m.client] = m.router;
  for (auto& c : params.codecs) {
    if (c.payload_type >= 128)
      continue;
    st.codec[c.payload_type] = rtp::payload_codec_of(c.mime_type);
    st.red[c.payload_type] = text::iequals(c.mime_type, "audio/red");
    if (text::iends_with(c.mime_type, "/rtx")) {
      if (auto* apt = rtp::find_param(c.parameters, "apt"))
        st.rtx_apt[c.payload_type] = static_cast<int16_t>(std::atoi(apt->value.c_str()));
      continue;
    }
    if (st.mime_type.empty()) {
      st.mime_type = c.mime_type;
      st.clock_rate = c.clock_rate;
      st.nack_enabled = has_feedback(c, "nack", "");
      st.pli_enabled = has_feedback(c, "nack", "pli");
      st.fir_enabled = has_feedback(c, "ccm", "fir");
    }
  }
  for (auto& e : st.mapping.header_extensions) {
    st.ext_map.set(e.client, e.router);
    if (e.uri == rid_uri)
      st.rid_ext_id = e.client;
    else if (e.uri == rrid_uri)
      st.rrid_ext_id = e.client;
    else if (e.uri == rtp::dependency_descriptor_uri && st.kind == rtp::media_kind::video)
      st.dd_ext_id = e.client;
  }
  if (st.kind == rtp::media_kind::audio)
    for (auto& e : params.header_extensions)
      if (e.uri == audio_level_uri)
        for (auto& m : st.mapping.header_extensions)
          if (m.client == e.id)
            st.audio_level_id = m.router; // read after the remap: the router's id
}

void init_encodings(producer_data& st) {
  auto encodings = st.mapping.encodings;
  if (encodings.empty()) // a mapping made without encodings: the single ssrc
    encodings.push_back({st.mapping.ssrc, st.mapping.rtx_ssrc, {}, 1, 1, false, 0});
  for (auto& m : encodings) {
    auto& e = st.encodings.emplace_back();
    e.ssrc = m.ssrc;
    e.rtx_ssrc = m.rtx_ssrc;
    e.rid = m.rid;
    if (e.ssrc != 0)
      e.stream.emplace(e.ssrc, st.clock_rate);
    e.keyframe_throttle.emplace(int64_t(st.ctx->settings.keyframe_request_interval_ms));
    e.clock.spatial = uint8_t(st.encodings.size() - 1);
    st.temporal_layers =
      std::max<uint8_t>(st.temporal_layers, std::min<uint8_t>(m.temporal_layers, max_temporal_layers));
  }
  st.spatial_layers = st.mapping.simulcast() ? uint8_t(encodings.size())
                                             : encodings[0].spatial_layers;
  st.layered = st.kind == rtp::media_kind::video &&
               (st.spatial_layers > 1 || st.temporal_layers > 1);
}

// The valid sender clocks, one per encoding.
std::vector<source_clock> clocks_of(const producer_data& st) {
  std::vector<source_clock> out;
  for (auto& e : st.encodings)
    if (e.clock.valid)
      out.push_back(e.clock);
  return out;
}

caf::behavior producer_impl(producer_actor* self, producer_spawn_args args, caf::actor transport,
                            caf::actor_addr peer, node_context_ptr ctx) {
  auto& st = self->state;
  st.id = std::move(args.id);
  st.peer_id = std::move(args.peer_id);
  st.kind = args.kind;
  if (st.kind == rtp::media_kind::audio)
    mark_urgent(self); // audio first (actors/scheduler.hpp)
  st.mapping = std::move(args.mapping);
  st.paused = args.paused;
  st.transport = std::move(transport);
  st.peer = std::move(peer);
  st.ctx = std::move(ctx);
  st.ctx->counters->producers.fetch_add(1);
  if (st.ctx->rtc.thread_fanout)
    st.threads = thread_fanout{st.ctx->media_io};
  init_tables(st, args.parameters);
  init_encodings(st);
  st.rtcp_ssrc = ids::random_u32() | 1u;
  st.last_rr_ms = mono_ms();
  st.last_rate_ms = st.last_rr_ms;
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (size_t i = 0; i < st.consumers.size(); ++i)
      if (st.consumers[i].address() == dm.source) {
        st.consumers.erase(st.consumers.begin() + ptrdiff_t(i));
        st.demand.erase(st.demand.begin() + ptrdiff_t(i));
        st.fanout_packets.erase(st.fanout_packets.begin() + ptrdiff_t(i));
        st.lanes.erase(st.lanes.begin() + ptrdiff_t(i));
        st.threads.consumers_changed();
        check_unused_layers(self, mono_ms());
        return;
      }
  });
  // Ended (closed by its peer, or the peer ended): what the join holds was received before
  // the end and goes out first. (An injected fault drops it, as a crash would.)
  self->set_exit_handler([self](caf::exit_msg& em) {
    fan_out_joined(self, self->state.join.take());
    if (em.reason)
      self->quit(std::move(em.reason));
  });
  arm_next_tick(self, st.last_rr_ms);
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](rtp_in& in) { handle_rtp(self, in); },
    [self](fanout_flush_atom) { fan_out_joined(self, self->state.join.flush()); },
    [self](sender_report_in& sr) {
      auto& st = self->state;
      for (auto& e : st.encodings) {
        if (e.ssrc == 0 || sr.ssrc != e.ssrc)
          continue;
        e.stream->on_sender_report(sr.ntp, sr.rtp_timestamp, sr.arrival_ms);
        e.clock = source_clock{sr.ntp, sr.rtp_timestamp, sr.arrival_ms, true, e.clock.spatial};
        if (!st.consumers.empty()) {
          auto msg = caf::make_message(e.clock);
          for (auto& c : st.consumers)
            self->send(c, msg);
        }
        return;
      }
    },
    [self](attach_consumer& a) -> attach_reply {
      auto& st = self->state;
      self->monitor(a.consumer);
      st.consumers.push_back(a.consumer);
      st.demand.push_back(0xff);
      st.fanout_packets.push_back(0);
      st.lanes.push_back(consumer_lane(a.consumer)); // kept alive by st.consumers' handle
      st.threads.consumers_changed();
      check_unused_layers(self, mono_ms());
      return attach_reply{st.paused, clocks_of(st)};
    },
    [self](const layer_demand& d) {
      auto& st = self->state;
      for (size_t i = 0; i < st.consumers.size(); ++i)
        if (st.consumers[i] == d.from) {
          st.demand[i] = d.spatial_mask;
          check_unused_layers(self, mono_ms());
          return;
        }
    },
    [self](attach_speaker_observer& a) {
      auto& st = self->state;
      if (st.audio_level_id == 0)
        return; // no levels to report
      st.speaker_observer = std::move(a.observer);
      st.levels.producer_id = st.id;
      st.levels.levels.reserve(tuning::level_batch_max);
      st.levels.times_ms.reserve(tuning::level_batch_max);
    },
    // A keyframe of every encoding (the simple consumers, the recorder) ...
    [self](keyframe_request_atom) {
      auto& st = self->state;
      ++st.counters.keyframe_requests;
      const auto now = mono_ms();
      for (auto& e : st.encodings)
        request_keyframe(self, e, now);
    },
    // ... or of the one a layer-selecting consumer switches to.
    [self](keyframe_request_atom, uint8_t spatial) {
      auto& st = self->state;
      ++st.counters.keyframe_requests;
      if (st.encodings.size() > 1 && spatial < st.encodings.size())
        request_keyframe(self, st.encodings[spatial], mono_ms());
      else
        request_keyframe(self, st.encodings[0], mono_ms()); // SVC: one stream
    },
    [self](media_tick_atom, int64_t armed_at) {
      on_tick(self, armed_at);
      self->state.publish_totals();
    },
    [self](protocol::producer_request& r) -> caf::result<caf::message> {
      switch (r.op) {
        case protocol::producer_op::pause:
          set_paused(self, true);
          return caf::make_message(protocol::empty_reply{});
        case protocol::producer_op::resume:
          set_paused(self, false);
          return caf::make_message(protocol::empty_reply{});
        case protocol::producer_op::get_stats:
          return caf::make_message(protocol::stats_reply{stats_json(self)});
        default:
          return make_error(protocol::error_code::invalid_state,
                            "the peer handles close-producer");
      }
    },
  };
}

} // namespace

} // namespace chorus::actors::producers

namespace chorus::actors {

caf::actor spawn_producer(caf::event_based_actor* peer, producer_spawn_args args,
                          caf::actor transport, node_context_ptr ctx) {
  return peer->spawn<caf::linked>(producers::producer_impl, std::move(args), std::move(transport),
                                  peer->address(), std::move(ctx));
}

} // namespace chorus::actors
