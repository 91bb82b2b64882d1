#include "actors/peer.hpp"
#include "actors/monitor.hpp"
#include "actors/fault.hpp"

#include "actors/plain_transport.hpp"

#include "actors/consumer.hpp"
#include "actors/data_consumer.hpp"
#include "actors/data_messages.hpp"
#include "actors/data_producer.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/operations.hpp"
#include "actors/producer.hpp"
#include "actors/rehome_messages.hpp"
#include "actors/rights.hpp"
#include "actors/transport.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "rtp/ortc.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <map>
#include <random>

namespace chorus::actors {

namespace {

using protocol::error_code;

constexpr auto media_request_timeout = std::chrono::seconds(5);

struct transport_entry {
  caf::actor actor;
  protocol::transport_direction direction = protocol::transport_direction::unspecified;
  bool connect_requested = false;
  uint32_t next_mid = 0; // consumers' mids on this transport: "0", "1", ...
  std::shared_ptr<send_shared> send;
  std::shared_ptr<data_send_shared> data_send; // set when it has SCTP
  uint16_t sctp_os = 0;                          // its outgoing streams (data consumers)
};

struct data_producer_entry {
  caf::actor actor;
  std::string transport_id;
};

struct data_consumer_entry {
  caf::actor actor;
  std::string transport_id;
  std::string data_producer_id;
  uint16_t stream = 0;
};

struct producer_entry {
  caf::actor actor;
  std::string transport_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  bool is_screen_share = false;
  producer_info info; // as the room got it (paused kept current): a moved room gets it again
};

struct consumer_entry {
  caf::actor actor;
  std::string transport_id;
  std::string producer_id;
  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;
  // Created paused and not resumed since: what unpauseConsumer without a consumerId
  // resumes (seed 000's client names no consumer).
  bool awaiting_resume = false;
};

struct peer_state {
  // The CNAME for this peer's producers that come without one (rid-based simulcast offers
  // have no a=ssrc lines, so mediasoup-client sends none): the first one given, else a
  // fresh one. Without a CNAME, mediasoup-client signals no SSRC to the receivers, which
  // then can only bind the stream by its MID element, which senders stop sending.
  std::string producer_cname;
  caf::actor_addr room;
  caf::actor node; // this node's node actor (relays of remote producers)
  std::string id;
  std::string room_id;
  caf::actor session;
  node_context_ptr ctx;
  std::map<std::string, transport_entry> transports;
  std::map<std::string, producer_entry> producers;
  std::map<std::string, consumer_entry> consumers;
  std::map<std::string, data_producer_entry> data_producers;
  std::map<std::string, data_consumer_entry> data_consumers;
  // Re-homing (cluster): the room's entry for this participant as the room last sent it,
  // and whether the peer is between rooms (its room's home was lost or the room moves).
  participant_snapshot copy;
  bool rehoming = false;
  uint64_t rehome_round = 0;
  std::minstd_rand rng{ids::random_u32()};
  static inline const char* name = "chorus.peer";
};

using peer_actor = caf::stateful_actor<peer_state>;

caf::error too_many_consumers(const peer_state& st) {
  return make_error(error_code::limit_exceeded,
                    "a peer may have at most " +
                      std::to_string(st.ctx->media.max_consumers_per_peer) + " consumers");
}

caf::error unknown_transport(const std::string& id) {
  return make_error(error_code::unknown_transport, "no transport with id '" + id + "'");
}

// connect-transport without a transportId means the peer's only unconnected transport.
caf::expected<std::string> implicit_unconnected(peer_state& st) {
  std::string found;
  std::size_t count = 0;
  for (auto& [id, t] : st.transports)
    if (!t.connect_requested) {
      found = id;
      ++count;
    }
  if (count == 1)
    return found;
  if (count == 0)
    return make_error(error_code::unknown_transport,
                      "this peer has no unconnected transport (create one first)");
  return make_error(error_code::missing_field,
                    "transportId is required: this peer has " + std::to_string(count) +
                      " unconnected transports");
}

// produce without a transportId means the peer's send transport.
caf::expected<std::string> implicit_send_transport(peer_state& st) {
  for (auto& [id, t] : st.transports)
    if (t.direction == protocol::transport_direction::send)
      return id;
  if (st.transports.size() == 1)
    return st.transports.begin()->first;
  return make_error(error_code::unknown_transport,
                    "this peer has no send transport (create one with direction \"send\")");
}

// consume without a transportId means the peer's receive transport.
caf::expected<std::string> implicit_recv_transport(peer_state& st) {
  for (auto& [id, t] : st.transports)
    if (t.direction == protocol::transport_direction::recv)
      return id;
  if (st.transports.size() == 1)
    return st.transports.begin()->first;
  return make_error(error_code::unknown_transport,
                    "this peer has no receive transport (create one with direction \"recv\")");
}

void set_paused(peer_state& st, const std::string& producer_id, bool paused) {
  if (auto it = st.producers.find(producer_id); it != st.producers.end())
    it->second.info.paused = paused;
}

caf::actor room_of(peer_state& st) {
  return caf::actor_cast<caf::actor>(st.room);
}

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

// A producer ended (closed, or its transport did): forget it, tell the room.
void forget_producer(peer_actor* self, const std::string& id) {
  auto& st = self->state;
  if (st.producers.erase(id) == 0)
    return;
  LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .producer = id}),
               "producer closed");
  if (auto room = room_of(st))
    self->send(room, producer_removed{id});
}

// A data producer ended (closed, or its transport or stream did): forget it, tell the room.
void forget_data_producer(peer_actor* self, const std::string& id) {
  auto& st = self->state;
  if (st.data_producers.erase(id) == 0)
    return;
  if (auto room = room_of(st))
    self->send(room, data_producer_removed{id});
}

// Closes the producers and consumers of a transport that ended.
void close_media_of_transport(peer_actor* self, const std::string& transport_id) {
  auto& st = self->state;
  std::vector<std::string> data_gone;
  for (auto& [id, p] : st.data_producers)
    if (p.transport_id == transport_id)
      data_gone.push_back(id);
  for (auto& id : data_gone) {
    self->send_exit(st.data_producers[id].actor, caf::exit_reason::user_shutdown);
    forget_data_producer(self, id);
  }
  for (auto it = st.data_consumers.begin(); it != st.data_consumers.end();) {
    if (it->second.transport_id != transport_id) {
      ++it;
      continue;
    }
    self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
    self->send(st.session,
               protocol::data_consumer_closed_event{it->first, it->second.data_producer_id});
    it = st.data_consumers.erase(it);
  }
  std::vector<std::string> gone;
  for (auto& [id, p] : st.producers)
    if (p.transport_id == transport_id)
      gone.push_back(id);
  for (auto& id : gone) {
    self->send_exit(st.producers[id].actor, caf::exit_reason::user_shutdown);
    forget_producer(self, id);
    self->send(st.session, protocol::producer_closed_event{id});
  }
  for (auto it = st.consumers.begin(); it != st.consumers.end();) {
    if (it->second.transport_id != transport_id) {
      ++it;
      continue;
    }
    self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
    self->send(st.session, protocol::consumer_closed_event{it->first, it->second.producer_id});
    LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .transport = transport_id,
                                   .producer = it->second.producer_id, .consumer = it->first}),
                 "consumer closed (its transport closed)");
    it = st.consumers.erase(it);
  }
}

using produce_promise = caf::typed_response_promise<protocol::producer_id_reply>;

void make_producer(peer_actor* self, produce_promise rp, protocol::produce_request& r,
                   rtp::producer_mapping& mapping);

// Checks what can be checked here (transport, producer limit, parameters), then asks the
// room whether this peer may publish media of this kind (permissions, a moderator's
// mute, the room's publisher limit) and makes the producer.
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
  if (st.producers.size() >= st.ctx->media.max_producers_per_peer)
    return make_error(error_code::limit_exceeded,
                      "a peer may have at most " +
                        std::to_string(st.ctx->media.max_producers_per_peer) + " producers");
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
  if (st.consumers.size() >= st.ctx->media.max_consumers_per_peer) { // raced past on_consume
    rp.deliver(too_many_consumers(st));
    return;
  }
  rtp::consumer_options opts;
  opts.ssrc = fresh_ssrc(st);
  opts.rtx_ssrc = fresh_ssrc(st, opts.ssrc);
  opts.mid = std::to_string(tit->second.next_mid++);
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

// unpauseConsumer without a consumerId (seed 000 names none): resumes every consumer of
// this peer that was created paused and has been neither resumed nor paused since. The
// reply waits for all of them; with none waiting it is an empty success.
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
  if (st.consumers.size() >= st.ctx->media.max_consumers_per_peer)
    return too_many_consumers(st);
  auto rp = self->make_response_promise<protocol::consumer_params_reply>();
  consume_from_room(self, rp, std::move(r), static_cast<int>(st.ctx->settings.max_requests_in_flight));
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

// ---- data channels ------------------------------------------------------------------------

// produce-data without a transportId: the peer's send transport with SCTP.
caf::expected<std::string> implicit_sctp_transport(peer_state& st,
                                                   protocol::transport_direction dir) {
  std::string any;
  for (auto& [id, t] : st.transports)
    if (t.data_send) {
      if (t.direction == dir)
        return id;
      if (any.empty())
        any = id;
    }
  if (!any.empty())
    return any;
  return make_error(error_code::unknown_transport,
                    "this peer has no transport with SCTP (create one with sctpCapabilities)");
}

// The transport a data request names (none: the peer's only SCTP transport of that
// direction), which must have SCTP; `id` is set to it.
caf::expected<std::map<std::string, transport_entry>::iterator>
sctp_transport(peer_state& st, std::string& id, protocol::transport_direction direction) {
  if (id.empty()) {
    auto implicit = implicit_sctp_transport(st, direction);
    if (!implicit)
      return implicit.error();
    id = *implicit;
  }
  auto it = st.transports.find(id);
  if (it == st.transports.end())
    return unknown_transport(id);
  if (!it->second.data_send)
    return make_error(error_code::invalid_state,
                      "transport '" + id + "' has no SCTP (create it with sctpCapabilities)");
  return it;
}

void make_data_producer(peer_actor* self, produce_promise rp, protocol::produce_data_request& r);

caf::result<protocol::producer_id_reply> on_produce_data(peer_actor* self,
                                                         protocol::produce_data_request& r) {
  auto& st = self->state;
  auto tit = sctp_transport(st, r.transport_id, protocol::transport_direction::send);
  if (!tit)
    return tit.error();
  if (st.data_producers.size() >= st.ctx->media.max_producers_per_peer)
    return make_error(error_code::limit_exceeded,
                      "a peer may have at most " +
                        std::to_string(st.ctx->media.max_producers_per_peer) + " data producers");
  auto room = room_of(st);
  if (!room)
    return make_error(error_code::not_joined, "the peer has left its room");
  // Producing data needs permission chat (a viewer may only receive).
  auto rp = self->make_response_promise<protocol::producer_id_reply>();
  self->request(room, media_request_timeout, data_publish_check{st.id})
    .then([self, rp, r](protocol::empty_reply&) mutable { make_data_producer(self, rp, r); },
          [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

void make_data_producer(peer_actor* self, produce_promise rp, protocol::produce_data_request& r) {
  auto& st = self->state;
  auto tit = st.transports.find(r.transport_id);
  if (tit == st.transports.end()) { // ended meanwhile
    rp.deliver(unknown_transport(r.transport_id));
    return;
  }
  data_producer_info info;
  info.data_producer_id = ids::uuid4();
  info.peer_id = st.id;
  info.label = r.label;
  info.protocol = r.protocol;
  info.app_data = r.app_data;
  info.stream = r.stream;
  info.data_producer = spawn_data_producer(
    self, {info.data_producer_id, st.id, r.label, r.protocol, r.stream}, st.ctx);
  auto transport_id = r.transport_id;
  self
    ->request(tit->second.actor, media_request_timeout,
              data_producer_route{info.data_producer, r.stream.stream_id})
    .then(
      [self, rp, info, transport_id](bool) mutable {
        auto& st = self->state;
        if (!st.transports.count(transport_id)) {
          self->send_exit(info.data_producer, caf::exit_reason::user_shutdown);
          rp.deliver(unknown_transport(transport_id));
          return;
        }
        st.data_producers[info.data_producer_id] = {info.data_producer, transport_id};
        LOG_DEBUG("peer", st.id << ": data producer " << info.data_producer_id);
        auto id = info.data_producer_id;
        if (auto room = room_of(st))
          self->send(room, std::move(info));
        rp.deliver(protocol::producer_id_reply{id});
      },
      [self, rp, info](caf::error& err) mutable {
        self->send_exit(info.data_producer, caf::exit_reason::user_shutdown);
        rp.deliver(err);
      });
}

using data_consume_promise = caf::typed_response_promise<protocol::data_consumer_params_reply>;

// The lowest outgoing stream of the transport that none of this peer's data consumers uses.
std::optional<uint16_t> free_stream(const peer_state& st, const std::string& transport_id,
                                    uint16_t os) {
  std::vector<bool> used(os, false);
  for (auto& [id, c] : st.data_consumers)
    if (c.transport_id == transport_id && c.stream < os)
      used[c.stream] = true;
  for (uint16_t s = 0; s < os; ++s)
    if (!used[s])
      return s;
  return std::nullopt;
}

void create_data_consumer(peer_actor* self, data_consume_promise rp, std::string transport_id,
                          data_producer_info info) {
  auto& st = self->state;
  auto tit = st.transports.find(transport_id);
  if (tit == st.transports.end()) {
    rp.deliver(unknown_transport(transport_id));
    return;
  }
  auto stream = free_stream(st, transport_id, tit->second.sctp_os);
  if (!stream) {
    rp.deliver(make_error(error_code::limit_exceeded,
                          "no free SCTP stream on transport '" + transport_id + "'"));
    return;
  }
  protocol::sctp_stream_parameters params = info.stream;
  params.stream_id = *stream;
  data_consumer_spawn_args args{ids::uuid4(), info.data_producer_id, params};
  auto id = args.id;
  auto actor = spawn_data_consumer(self, std::move(args), info.data_producer, tit->second.actor,
                                   tit->second.data_send, st.ctx);
  st.data_consumers[id] = {actor, transport_id, info.data_producer_id, *stream};
  self->request(tit->second.actor, media_request_timeout, data_consumer_route{actor, *stream})
    .then(
      [self, rp, id, info, params](bool) mutable {
        if (!self->state.data_consumers.count(id)) {
          rp.deliver(make_error(error_code::unknown_producer,
                                "data producer '" + info.data_producer_id + "' ended"));
          return;
        }
        protocol::data_consumer_params_reply reply;
        reply.id = id;
        reply.data_producer_id = info.data_producer_id;
        reply.stream = params;
        reply.label = info.label;
        reply.protocol = info.protocol;
        reply.app_data = info.app_data;
        reply.peer_id = info.peer_id;
        rp.deliver(std::move(reply));
      },
      [self, rp, id, actor](caf::error& err) mutable {
        self->state.data_consumers.erase(id);
        self->send_exit(actor, caf::exit_reason::user_shutdown);
        rp.deliver(err);
      });
}

caf::result<protocol::data_consumer_params_reply>
on_consume_data(peer_actor* self, protocol::consume_data_request& r) {
  auto& st = self->state;
  auto tit = sctp_transport(st, r.transport_id, protocol::transport_direction::recv);
  if (!tit)
    return tit.error();
  if (st.data_consumers.size() >= st.ctx->media.max_consumers_per_peer)
    return too_many_consumers(st);
  auto room = room_of(st);
  if (!room)
    return make_error(error_code::not_joined, "the peer has left its room");
  auto rp = self->make_response_promise<protocol::data_consumer_params_reply>();
  auto transport_id = r.transport_id;
  self->request(room, media_request_timeout, find_data_producer{r.data_producer_id, st.id})
    .then(
      [self, rp, transport_id](data_producer_info& info) mutable {
        // On another node of the cluster: through this node's relay of it, so that its
        // messages cross the link once for all data consumers here.
        if (info.data_producer && info.data_producer.node() != self->node() &&
            self->state.node) {
          self->request(self->state.node, media_request_timeout, get_relay{info.data_producer})
            .then(
              [self, rp, transport_id, info](caf::actor& relay) mutable {
                info.data_producer = relay;
                create_data_consumer(self, rp, transport_id, std::move(info));
              },
              [rp](caf::error& err) mutable { rp.deliver(err); });
          return;
        }
        create_data_consumer(self, rp, transport_id, std::move(info));
      },
      [rp](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

template <class Request>
caf::result<caf::message> delegate_to_transport(peer_actor* self, const std::string& id,
                                                Request&& req) {
  auto it = self->state.transports.find(id);
  if (it == self->state.transports.end())
    return unknown_transport(id);
  auto rp = self->make_response_promise();
  rp.delegate(it->second.actor, std::forward<Request>(req));
  return rp;
}

// Re-homing: the peer asks its node to place the room anew and rejoin it there, with the
// room's entry for it, its producers and the room-wide state (`room`; else the copy its
// node holds). Bounded: a peer that has no room after rehome_limit ends.
constexpr auto rehome_limit = std::chrono::seconds(20);

void begin_rehome(peer_actor* self, std::string avoid, room_snapshot room) {
  auto& st = self->state;
  st.room = caf::actor_addr{};
  st.rehoming = true;
  rehome_request req;
  req.avoid = std::move(avoid);
  auto& cmd = req.cmd;
  cmd.room_id = st.room_id;
  cmd.participant = st.copy;
  if (cmd.participant.peer_id.empty())
    cmd.participant.peer_id = st.id;
  cmd.session = st.session;
  cmd.peer = caf::actor_cast<caf::actor>(self);
  cmd.edge_node = st.node;
  for (auto& [id, p] : st.producers)
    if (p.info.producer)
      cmd.producers.push_back(p.info);
  cmd.room = std::move(room);
  self->send(st.node, std::move(req));
  self->delayed_send(self, rehome_limit, rehome_timeout_atom::value, ++st.rehome_round);
}

caf::behavior peer_impl(peer_actor* self, caf::actor_addr room, caf::actor node,
                        std::string peer_id, std::string room_id, caf::actor session,
                        node_context_ptr ctx) {
  self->state.room = std::move(room);
  self->state.node = std::move(node);
  // The node's end (shutdown) ends the peer: a peer between rooms (re-homing) is linked to
  // no room, and must not outlive its node and hold up the process's exit.
  if (self->state.node) {
    monitor_for_life(self, self->state.node);
    self->set_down_handler([self](caf::down_msg& dm) {
      if (dm.source == self->state.node.address())
        self->quit(caf::exit_reason::user_shutdown);
    });
  }
  self->state.id = std::move(peer_id);
  self->state.room_id = std::move(room_id);
  self->state.session = std::move(session);
  self->state.ctx = std::move(ctx);
  // Transports are linked: one that ends (closed, or failed) is forgotten and the peer
  // survives. Only the room's exit request (or an anonymous one) ends the peer and,
  // through the links, its transports.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (em.source == self->state.room && em.source.node() != self->node() &&
        em.reason == caf::exit_reason::remote_link_unreachable) {
      // The room's home is lost: the room is rebuilt at its next home (the transports,
      // producers and consumers here live on).
      LOG_WARN("peer", self->state.id << ": the home of room '" << self->state.room_id
                                      << "' is lost: rejoining at its next home");
      begin_rehome(self, to_string(em.source.node()), {});
      return;
    }
    if (em.source == self->state.room || !em.source) {
      self->quit(em.reason);
      return;
    }
    auto& st = self->state;
    auto& ts = st.transports;
    for (auto it = ts.begin(); it != ts.end(); ++it)
      if (it->second.actor.address() == em.source) {
        if (em.reason)
          LOG_WARN("peer", st.id << ": transport " << it->first
                                 << " failed: " << to_string(em.reason));
        auto id = it->first;
        ts.erase(it);
        close_media_of_transport(self, id);
        return;
      }
    for (auto& [id, p] : st.producers)
      if (p.actor.address() == em.source) {
        if (em.reason && em.reason != caf::exit_reason::user_shutdown)
          LOG_WARN("peer", st.id << ": producer " << id << " failed: " << to_string(em.reason));
        auto gone = id;
        forget_producer(self, gone);
        self->send(st.session, protocol::producer_closed_event{gone});
        return;
      }
    for (auto it = st.consumers.begin(); it != st.consumers.end(); ++it)
      if (it->second.actor.address() == em.source) {
        if (em.reason && em.reason != caf::exit_reason::user_shutdown)
          LOG_WARN("peer", st.id << ": consumer " << it->first
                                 << " failed: " << to_string(em.reason));
        self->send(st.session, protocol::consumer_closed_event{it->first, it->second.producer_id});
        LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .consumer = it->first}),
                     "consumer closed");
        st.consumers.erase(it);
        return;
      }
    for (auto& [id, p] : st.data_producers)
      if (p.actor.address() == em.source) { // its stream was reset by the client
        auto gone = id;
        forget_data_producer(self, gone);
        return;
      }
    for (auto it = st.data_consumers.begin(); it != st.data_consumers.end(); ++it)
      if (it->second.actor.address() == em.source) {
        self->send(st.session, protocol::data_consumer_closed_event{
                                 it->first, it->second.data_producer_id});
        st.data_consumers.erase(it);
        return;
      }
    // Already forgotten (closed on request, or after transport_closed): nothing to do.
  });
  return {
    [self](protocol::create_transport_request& r)
      -> caf::result<protocol::transport_params_reply> {
      auto& st = self->state;
      if (st.transports.size() >= st.ctx->transport.max_transports_per_peer)
        return make_error(error_code::limit_exceeded,
                          "a peer may have at most " +
                            std::to_string(st.ctx->transport.max_transports_per_peer) +
                            " transports");
      auto spawned = spawn_transport(self, r.direction, st.ctx,
                                     transport_sctp_request{r.enable_sctp, r.sctp_os, r.sctp_mis});
      if (!spawned)
        return make_error(error_code::internal, spawned.error());
      // Its first transport with data channels: the room tells it the data producers there are.
      if (spawned->data_send &&
          std::none_of(st.transports.begin(), st.transports.end(),
                       [](const auto& t) { return t.second.data_send != nullptr; }))
        if (auto room = room_of(st))
          self->send(room, data_producers_query{st.id});
      st.transports[spawned->params.id] = {spawned->actor, r.direction, false, 0,
                                           spawned->send, spawned->data_send,
                                           spawned->params.sctp_parameters.os};
      LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .transport = spawned->params.id}),
                   "transport created");
      return protocol::transport_params_reply{std::move(spawned->params)};
    },
    // create-plain-transport / connect-plain-transport (actors/plain_transport.hpp)
    [self](protocol::plain_transport_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      if (r.op == protocol::plain_op::connect) {
        auto it = st.transports.find(r.transport_id);
        if (it != st.transports.end())
          it->second.connect_requested = true;
        auto id = r.transport_id;
        return delegate_to_transport(self, id, std::move(r));
      }
      if (st.transports.size() >= st.ctx->transport.max_transports_per_peer)
        return make_error(error_code::limit_exceeded,
                          "a peer may have at most " +
                            std::to_string(st.ctx->transport.max_transports_per_peer) +
                            " transports");
      auto spawned = spawn_plain_transport(self, r, st.ctx);
      if (!spawned)
        return make_error(error_code::invalid_field, spawned.error());
      st.transports[spawned->params.id] = {spawned->actor,
                                           protocol::transport_direction::unspecified, false, 0,
                                           spawned->send};
      LOG_DEBUG("peer", st.id << ": plain transport " << spawned->params.id << " created");
      return caf::make_message(protocol::plain_transport_reply{std::move(spawned->params)});
    },
    [self](protocol::connect_transport_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      if (r.transport_id.empty()) {
        auto id = implicit_unconnected(st);
        if (!id)
          return id.error();
        r.transport_id = *id;
      }
      auto it = st.transports.find(r.transport_id);
      if (it != st.transports.end())
        it->second.connect_requested = true;
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::restart_ice_request& r) -> caf::result<caf::message> {
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::get_transport_stats_request& r) -> caf::result<caf::message> {
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::set_egress_cap_request& r) -> caf::result<caf::message> {
      if (!self->state.ctx->media.fault_injection)
        return make_error(error_code::forbidden, fault_injection_off("set-transport-egress-cap"));
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::inject_fault_request& r) -> caf::result<protocol::empty_reply> {
      auto& st = self->state;
      if (!st.ctx->media.fault_injection)
        return make_error(error_code::forbidden, fault_injection_off("inject-fault"));
      const auto actor_in = [&](const auto& actors) {
        auto it = actors.find(r.id);
        return it == actors.end() ? caf::actor{} : it->second.actor;
      };
      caf::actor target;
      const char* what = "";
      auto code = error_code::invalid_field;
      switch (r.target) {
        case protocol::fault_target::consumer:
          std::tie(target, what, code) =
            std::tuple{actor_in(st.consumers), "consumer", error_code::unknown_consumer};
          break;
        case protocol::fault_target::producer:
          std::tie(target, what, code) =
            std::tuple{actor_in(st.producers), "producer", error_code::unknown_producer};
          break;
        case protocol::fault_target::transport:
          std::tie(target, what, code) =
            std::tuple{actor_in(st.transports), "transport", error_code::unknown_transport};
          break;
        case protocol::fault_target::session: // the session handles its own
          break;
      }
      if (!target)
        return make_error(code, std::string{"no "} + what + " with id '" + r.id + "' belongs to this peer");
      LOG_WARN("peer", st.id << ": fault injection: " << what << " " << r.id << " fails ("
                             << (r.exit ? "exit" : "throw") << ")");
      self->send(target, fault_command{r.exit});
      return protocol::empty_reply{};
    },
    [self](protocol::produce_request& r) { return on_produce(self, r); },
    [self](protocol::consume_request& r) { return on_consume(self, r); },
    [self](protocol::producer_request& r) { return on_producer_request(self, r); },
    [self](protocol::consumer_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      if (r.consumer_id.empty() && r.op == protocol::consumer_op::resume)
        return resume_awaiting(self, r);
      auto it = st.consumers.find(r.consumer_id);
      if (it == st.consumers.end())
        return make_error(error_code::unknown_consumer, "no consumer with id '" + r.consumer_id +
                                                         "' belongs to this peer");
      if (r.op == protocol::consumer_op::pause || r.op == protocol::consumer_op::resume)
        it->second.awaiting_resume = false;
      auto rp = self->make_response_promise();
      rp.delegate(it->second.actor, std::move(r));
      return rp;
    },
    [self](protocol::produce_data_request& r) { return on_produce_data(self, r); },
    [self](protocol::consume_data_request& r) { return on_consume_data(self, r); },
    [self](protocol::data_producer_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      auto it = st.data_producers.find(r.data_producer_id);
      if (it == st.data_producers.end())
        return make_error(error_code::unknown_producer, "no data producer with id '" +
                                                          r.data_producer_id +
                                                          "' belongs to this peer");
      if (r.op == protocol::data_op::close) {
        self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
        forget_data_producer(self, r.data_producer_id);
        return caf::make_message(protocol::empty_reply{});
      }
      auto rp = self->make_response_promise();
      rp.delegate(it->second.actor, std::move(r));
      return rp;
    },
    [self](protocol::data_consumer_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      auto it = st.data_consumers.find(r.data_consumer_id);
      if (it == st.data_consumers.end())
        return make_error(error_code::unknown_consumer, "no data consumer with id '" +
                                                          r.data_consumer_id +
                                                          "' belongs to this peer");
      if (r.op == protocol::data_op::close) {
        self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
        st.data_consumers.erase(it);
        return caf::make_message(protocol::empty_reply{});
      }
      auto rp = self->make_response_promise();
      rp.delegate(it->second.actor, std::move(r));
      return rp;
    },
    // From a data consumer whose data producer (or transport) ended: tell the client.
    [self](protocol::data_consumer_closed_event& ev) {
      auto& st = self->state;
      if (st.data_consumers.erase(ev.data_consumer_id) == 0)
        return;
      self->send(st.session, std::move(ev));
    },
    // From a consumer whose producer ended: tell the client.
    [self](protocol::consumer_closed_event& ev) {
      auto& st = self->state;
      if (st.consumers.erase(ev.consumer_id) == 0)
        return;
      LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .producer = ev.producer_id,
                                     .consumer = ev.consumer_id}),
                   "consumer closed (its producer closed)");
      self->send(st.session, std::move(ev));
    },
    [self](protocol::producer_paused_event& ev) { self->send(self->state.session, std::move(ev)); },
    [self](protocol::consumer_layers_event& ev) { self->send(self->state.session, std::move(ev)); },
    [self](protocol::producer_layers_unused_event& ev) { self->send(self->state.session, std::move(ev)); },
    [self](protocol::consumer_score_event& ev) { self->send(self->state.session, std::move(ev)); },
    // A moderator paused (mute-peer) or revoked (disallow-publish) media of these kinds.
    [self](moderator_pause& m) {
      auto& st = self->state;
      for (auto& [id, p] : st.producers)
        if (m.kinds & kind_bit(p.kind, p.is_screen_share)) {
          // A request, not a send: the producer's answer must not arrive as a stray message.
          self
            ->request(p.actor, media_request_timeout,
                      protocol::producer_request{{}, protocol::producer_op::pause, id})
            .then([](protocol::empty_reply&) {}, [](caf::error&) {});
          p.info.paused = true;
          if (auto room = room_of(st))
            self->send(room, producer_paused_update{id, true});
          self->send(st.session, protocol::producer_paused_event{id, true, true});
        }
    },
    [self](moderator_close& m) {
      auto& st = self->state;
      std::vector<std::string> gone;
      for (auto& [id, p] : st.producers)
        if (m.kinds & kind_bit(p.kind, p.is_screen_share))
          gone.push_back(id);
      for (auto& id : gone) {
        self->send_exit(st.producers[id].actor, caf::exit_reason::user_shutdown);
        forget_producer(self, id);
        self->send(st.session, protocol::producer_closed_event{id});
      }
    },
    // The admin API: what this participant has (its stats come from the usual requests).
    [self](peer_inventory_query&) {
      peer_inventory inv;
      for (auto& [id, t] : self->state.transports)
        inv.transports.push_back(id);
      for (auto& [id, p] : self->state.producers)
        inv.producers.push_back(id);
      for (auto& [id, c] : self->state.consumers)
        inv.consumers.push_back(id);
      return inv;
    },
    [self](transport_closed& msg) {
      LOG_INFO_IDS("peer", (log::ids{.room = self->state.room_id, .peer = self->state.id,
                                     .transport = msg.transport_id}),
                   "transport closed: " << msg.reason);
      self->state.transports.erase(msg.transport_id);
      close_media_of_transport(self, msg.transport_id);
    },
    // Re-homing (cluster): the room's copy of this participant, a graceful move, the new
    // room, and the bound on being without one.
    [self](participant_snapshot& copy) {
      if (caf::actor_cast<caf::actor_addr>(self->current_sender()) == self->state.room)
        self->state.copy = std::move(copy);
    },
    [self](room_moving& m) {
      if (caf::actor_cast<caf::actor_addr>(self->current_sender()) != self->state.room)
        return;
      self->state.copy = std::move(m.participant);
      begin_rehome(self, std::move(m.avoid), std::move(m.room));
    },
    [self](room_rebound& r) {
      auto& st = self->state;
      st.room = r.room.address();
      st.rehoming = false;
      LOG_INFO("peer", st.id << ": room '" << st.room_id << "' continues on its new home");
    },
    [self](rehome_timeout_atom, uint64_t round) {
      auto& st = self->state;
      if (st.rehoming && round == st.rehome_round) {
        LOG_WARN("peer", st.id << ": room '" << st.room_id << "' found no new home: leaving");
        self->quit(caf::exit_reason::user_shutdown);
      }
    },
  };
}

} // namespace

caf::actor spawn_peer(caf::event_based_actor* room, caf::actor node, std::string peer_id,
                      std::string room_id, caf::actor session, node_context_ptr ctx) {
  return room->spawn<caf::linked>(peer_impl, room->address(), std::move(node),
                                  std::move(peer_id), std::move(room_id), std::move(session),
                                  std::move(ctx));
}

caf::actor spawn_peer_for(caf::actor_system& sys, const caf::actor& room, caf::actor node,
                          std::string peer_id, std::string room_id, caf::actor session,
                          node_context_ptr ctx) {
  return sys.spawn(peer_impl, room.address(), std::move(node), std::move(peer_id),
                   std::move(room_id), std::move(session), std::move(ctx));
}

} // namespace chorus::actors
