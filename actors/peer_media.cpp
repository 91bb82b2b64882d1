#include "actors/peer_actor.hpp"

namespace chorus::actors::peers {

namespace {

uint8_t client_ext_id(const rtp::producer_mapping& m, std::string_view uri) {
  for (auto& e : m.header_extensions)
    if (e.uri == uri)
      return e.client;
  return 0;
}

// Random, non-zero, not one of this peer's consumers' SSRCs and not `other`: consumers
// of one transport protect with the same master key, so an SSRC must never repeat there
// (libsrtp derives the keystream per SSRC). The loop ends: at most 2 * 2000 of 2^32 values
// are taken.
uint32_t fresh_ssrc(peer_state& st, uint32_t other = 0) {
  for (;;) {
    uint32_t v = static_cast<uint32_t>(st.rng());
    v = (v << 1) ^ static_cast<uint32_t>(st.rng());
    if (v == 0 || v == other)
      continue;
    bool taken = false;
    for (auto& [id, c] : st.consumers)
      taken = taken || c.ssrc == v || c.rtx_ssrc == v;
    if (!taken)
      return v;
  }
}

void make_producer(peer_actor* self, produce_promise rp, protocol::produce_request& r,
                   rtp::producer_mapping& mapping_value) {
  auto& st = self->state;
  auto tit = st.transports.find(r.transport_id);
  auto* mapping = &mapping_value;
  producer_info info;
  info.producer_id = ids::uuid4();
  info.peer_id = st.id;
  info.kind = r.kind;
  info.paused = r.paused;
  info.is_screen_share = r.is_screen_share;
  info.app_data = r.app_data;
  info.source = r.source;
  info.consumable = rtp::consumable_parameters(st.ctx->router_capabilities, r.rtp_parameters,
                                               *mapping);
  producer_route route;
  route.ssrc = mapping->ssrc;
  route.rtx_ssrc = mapping->rtx_ssrc;
  route.tcc_ext_id = client_ext_id(
    *mapping, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01");
  route.abs_send_time_ext_id =
    client_ext_id(*mapping, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time");
  // Streams bound by rid: their SSRCs are learnt from the first packets (mid, or rid).
  for (auto& e : mapping->encodings)
    if (e.ssrc == 0 && !e.rid.empty())
      route.rids.push_back(e.rid);
  if (!route.rids.empty()) {
    route.mid = mapping->mid;
    route.mid_ext_id = client_ext_id(*mapping, "urn:ietf:params:rtp-hdrext:sdes:mid");
    route.rid_ext_id = client_ext_id(*mapping, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    route.rrid_ext_id =
      client_ext_id(*mapping, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id");
    route.max_ssrcs = uint8_t(2 * route.rids.size()); // each stream and its RTX
  }
  for (size_t i = 1; i < mapping->encodings.size(); ++i) // SSRC-bound simulcast: all routed
    if (mapping->encodings[i].ssrc != 0) {
      route.ssrcs.push_back(mapping->encodings[i].ssrc);
      if (mapping->encodings[i].rtx_ssrc != 0)
        route.ssrcs.push_back(mapping->encodings[i].rtx_ssrc);
    }
  producer_spawn_args args{info.producer_id, st.id, r.kind, std::move(r.rtp_parameters),
                           std::move(*mapping), r.paused};
  auto transport = tit->second.actor;
  info.producer = spawn_producer(self, std::move(args), transport, st.ctx);
  route.producer = info.producer;
  auto transport_id = r.transport_id;
  const bool replace_audio = r.replace_audio && r.kind == rtp::media_kind::audio &&
                             !r.is_screen_share;
  self->request(transport, media_request_timeout, route)
    .then(
      [self, rp, info, transport_id, replace_audio](bool) mutable {
        auto& st = self->state;
        if (!st.transports.count(transport_id)) { // the transport ended meanwhile
          self->send_exit(info.producer, caf::exit_reason::user_shutdown);
          rp.deliver(unknown_transport(transport_id));
          return;
        }
        if (replace_audio) { // the frontend re-produces its microphone after a forced mute
          std::vector<std::string> old;
          for (auto& [id, p] : st.producers)
            if (p.kind == rtp::media_kind::audio && !p.is_screen_share)
              old.push_back(id);
          for (auto& id : old) {
            self->send_exit(st.producers[id].actor, caf::exit_reason::user_shutdown);
            forget_producer(self, id);
          }
        }
        st.producers[info.producer_id] = {info.producer, transport_id, info.kind,
                                          info.is_screen_share, info};
        LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .transport = transport_id,
                                       .producer = info.producer_id}),
                     "producer created (" << rtp::to_string(info.kind) << ")");
        auto id = info.producer_id;
        if (auto room = room_of(st))
          self->send(room, std::move(info));
        rp.deliver(protocol::producer_id_reply{id});
      },
      [self, rp, info](caf::error& err) mutable {
        self->send_exit(info.producer, caf::exit_reason::user_shutdown);
        rp.deliver(err);
      });
}

using consume_promise = caf::typed_response_promise<protocol::consumer_params_reply>;

// Whether this peer consumes `producer_id` already.
bool consumes(const peer_state& st, const std::string& producer_id) {
  for (auto& [id, c] : st.consumers)
    if (c.producer_id == producer_id)
      return true;
  return false;
}

// Creates the consumer of `info` on the request's transport and answers `rp`.
void create_consumer(peer_actor* self, consume_promise& rp, const protocol::consume_request& req,
                     producer_info& info) {
  auto& st = self->state;
  auto tit = st.transports.find(req.transport_id);
  if (tit == st.transports.end()) {
    rp.deliver(unknown_transport(req.transport_id));
    return;
  }
  if (!rtp::can_consume(info.consumable, req.rtp_capabilities)) {
    rp.deliver(make_error(error_code::cannot_consume,
                          "rtpCapabilities cannot receive producer '" + info.producer_id +
                            "' (" + (info.consumable.codecs.empty()
                                       ? std::string("no codec")
                                       : info.consumable.codecs[0].mime_type) +
                            ")"));
    return;
  }
  if (st.consumers.size() >= st.ctx->settings.max_consumers_per_peer) { // raced past on_consume
    rp.deliver(too_many_consumers(st));
    return;
  }
  rtp::consumer_options opts;
  opts.ssrc = fresh_ssrc(st);
  opts.rtx_ssrc = fresh_ssrc(st, opts.ssrc);
  opts.mid = req.mid.empty() ? std::to_string(tit->second.next_mid++) : req.mid;
  opts.cname = info.consumable.rtcp.cname;
  auto params = rtp::consumer_parameters(info.consumable, req.rtp_capabilities, opts);
  if (!params) {
    rp.deliver(make_error(error_code::cannot_consume, params.error()));
    return;
  }
  consumer_spawn_args args{ids::uuid4(), info.producer_id, info.kind, *params, req.paused};
  const auto layering = rtp::layering_of(info.consumable);
  args.simulcast = layering.simulcast;
  args.spatial_layers = layering.spatial;
  args.temporal_layers = layering.temporal;
  args.red = rtp::red_payload_types_of(info.consumable);
  args.numbering = req.receiver_numbering;
  args.producer_paused = info.paused;
  auto id = args.id;
  auto actor = spawn_consumer(self, std::move(args), info.producer, tit->second.actor,
                              tit->second.send, st.ctx);
  st.consumers[id] = {actor, req.transport_id, info.producer_id, opts.ssrc, opts.rtx_ssrc,
                      req.paused};
  LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .transport = req.transport_id,
                                 .producer = info.producer_id, .consumer = id}),
               "consumer created (" << rtp::to_string(info.kind) << ")");
  protocol::consumer_params_reply reply;
  reply.id = id;
  reply.producer_id = info.producer_id;
  reply.kind = info.kind;
  reply.rtp_parameters = std::move(*params);
  reply.type = std::string(layering.type());
  reply.producer_paused = info.paused;
  reply.peer_id = info.peer_id;
  reply.user_id = info.user_id;
  reply.user_name = info.user_name;
  reply.is_screen_share = info.is_screen_share;
  reply.app_data = info.app_data;
  reply.source = info.source;
  rp.deliver(std::move(reply));
}

// Asks the room for the producer to consume and creates the consumer. Without a
// producerId the room picks the oldest producer this peer does not consume yet and can
// receive; two such requests in flight at once may be handed the same producer, so the
// one that finds it consumed meanwhile asks again (bounded: each retry follows a consumer
// created in between).
void consume_from_room(peer_actor* self, consume_promise rp, protocol::consume_request req,
                       int retries_left) {
  auto& st = self->state;
  find_producer query;
  query.producer_id = req.producer_id;
  query.peer_id = st.id;
  if (req.producer_id.empty()) {
    for (auto& [id, c] : st.consumers)
      query.exclude.push_back(c.producer_id);
    query.from_participant = req.from_participant;
    query.has_rtp_capabilities = true;
    query.rtp_capabilities = req.rtp_capabilities;
  }
  auto room = room_of(st);
  if (!room) {
    rp.deliver(make_error(error_code::not_joined, "the peer has left its room"));
    return;
  }
  self->request(room, media_request_timeout, std::move(query))
    .then(
      [self, rp, req = std::move(req), retries_left](producer_info& info) mutable {
        if (req.producer_id.empty() && consumes(self->state, info.producer_id)) {
          if (retries_left > 0)
            consume_from_room(self, std::move(rp), std::move(req), retries_left - 1);
          else
            rp.deliver(make_error(error_code::nothing_to_consume,
                                  "no producer left that this peer could consume"));
          return;
        }
        // A producer on another node of the cluster: consume it through this node's relay
        // of it, so that its packets cross the link once for all consumers here.
        if (info.producer && info.producer.node() != self->node() && self->state.node) {
          self->request(self->state.node, media_request_timeout, get_relay{info.producer})
            .then(
              [self, rp, req, info](caf::actor& relay) mutable {
                info.producer = relay;
                create_consumer(self, rp, req, info);
              },
              [rp](caf::error& err) mutable { rp.deliver(err); });
          return;
        }
        create_consumer(self, rp, req, info);
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
}

} // namespace

caf::result<protocol::producer_id_reply> on_produce(peer_actor* self,
                                                    protocol::produce_request& r) {
  auto& st = self->state;
  if (r.transport_id.empty()) {
    auto id = implicit_send_transport(st);
    if (!id)
      return id.error();
    r.transport_id = *id;
  }
  auto tit = st.transports.find(r.transport_id);
  if (tit == st.transports.end())
    return unknown_transport(r.transport_id);
  if (st.producers.size() >= st.ctx->settings.max_producers_per_peer)
    return make_error(error_code::limit_exceeded,
                      "a peer may have at most " +
                        std::to_string(st.ctx->settings.max_producers_per_peer) + " producers");
  if (!r.rtp_parameters.rtcp.cname.empty() && st.producer_cname.empty())
    st.producer_cname = r.rtp_parameters.rtcp.cname;
  if (r.rtp_parameters.rtcp.cname.empty()) {
    if (st.producer_cname.empty())
      st.producer_cname = ids::random_token(16);
    r.rtp_parameters.rtcp.cname = st.producer_cname;
  }
  auto mapping = rtp::map_producer(st.ctx->router_capabilities, r.kind, r.rtp_parameters);
  if (!mapping)
    return make_error(error_code::invalid_field, mapping.error());
  auto room = room_of(st);
  if (!room)
    return make_error(error_code::not_joined, "the peer has left its room");
  auto rp = self->make_response_promise<protocol::producer_id_reply>();
  publish_check check{st.id, kind_bit(r.kind, r.is_screen_share), false};
  self->request(room, media_request_timeout, std::move(check))
    .then(
      [self, rp, r = std::move(r), mapping = std::move(*mapping)](protocol::empty_reply&) mutable {
        if (!self->state.transports.count(r.transport_id)) { // ended meanwhile
          rp.deliver(unknown_transport(r.transport_id));
          return;
        }
        make_producer(self, rp, r, mapping);
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

caf::result<caf::message> resume_awaiting(peer_actor* self, const protocol::consumer_request& r) {
  auto& st = self->state;
  std::vector<caf::actor> targets;
  for (auto& [id, c] : st.consumers)
    if (c.awaiting_resume) {
      c.awaiting_resume = false;
      targets.push_back(c.actor);
    }
  if (targets.empty())
    return caf::make_message(protocol::empty_reply{});
  auto rp = self->make_response_promise();
  auto pending = std::make_shared<std::size_t>(targets.size());
  for (auto& target : targets) {
    auto one = r;
    self->request(target, media_request_timeout, std::move(one))
      .then(
        [rp, pending](protocol::empty_reply&) mutable {
          if (--*pending == 0)
            rp.deliver(protocol::empty_reply{});
        },
        [rp, pending](caf::error&) mutable {
          // A consumer that ended meanwhile has nothing left to resume.
          if (--*pending == 0)
            rp.deliver(protocol::empty_reply{});
        });
  }
  return rp;
}

caf::result<protocol::consumer_params_reply> on_consume(peer_actor* self,
                                                        protocol::consume_request& r) {
  auto& st = self->state;
  if (r.transport_id.empty()) {
    auto id = implicit_recv_transport(st);
    if (!id)
      return id.error();
    r.transport_id = *id;
  }
  if (!st.transports.count(r.transport_id))
    return unknown_transport(r.transport_id);
  if (st.consumers.size() >= st.ctx->settings.max_consumers_per_peer)
    return too_many_consumers(st);
  auto rp = self->make_response_promise<protocol::consumer_params_reply>();
  consume_from_room(self, rp, std::move(r), static_cast<int>(st.ctx->signaling.max_requests_in_flight));
  return rp;
}

caf::result<caf::message> on_producer_request(peer_actor* self, protocol::producer_request& r) {
  auto& st = self->state;
  auto it = st.producers.find(r.producer_id);
  if (it == st.producers.end())
    return make_error(error_code::unknown_producer, "no producer with id '" + r.producer_id +
                                                      "' belongs to this peer");
  auto actor = it->second.actor;
  auto room = room_of(st);
  switch (r.op) {
    case protocol::producer_op::close:
      self->send_exit(actor, caf::exit_reason::user_shutdown);
      forget_producer(self, r.producer_id);
      return caf::make_message(protocol::empty_reply{});
    case protocol::producer_op::resume: {
      // A moderator's mute or revocation holds until allow-publish: ask the room.
      if (!room)
        return make_error(error_code::not_joined, "the peer has left its room");
      auto rp = self->make_response_promise();
      publish_check check{st.id, kind_bit(it->second.kind, it->second.is_screen_share), true};
      self->request(room, media_request_timeout, std::move(check))
        .then(
          [self, rp, r, actor, room](protocol::empty_reply&) mutable {
            set_paused(self->state, r.producer_id, false);
            self->send(room, producer_paused_update{r.producer_id, false});
            rp.delegate(actor, std::move(r));
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    }
    case protocol::producer_op::pause:
      set_paused(st, r.producer_id, true);
      if (room)
        self->send(room, producer_paused_update{r.producer_id, true});
      break;
    default:
      break;
  }
  auto rp = self->make_response_promise();
  rp.delegate(actor, std::move(r));
  return rp;
}

} // namespace chorus::actors::peers
