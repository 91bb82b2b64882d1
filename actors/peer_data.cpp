#include "actors/peer_actor.hpp"

namespace chorus::actors::peers {

namespace {

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
        st.data_producers[info.data_producer_id] = {info.data_producer, transport_id, info};
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

// The data producer ended while its consumer was being made (the consumer went with it).
caf::error producer_ended(const data_producer_info& info) {
  return make_error(error_code::unknown_producer,
                    "data producer '" + info.data_producer_id + "' ended");
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
  data_consumer_spawn_args args{ids::uuid4(), info.data_producer_id, params,
                                info.peer_id.empty()};
  auto id = args.id;
  auto actor = spawn_data_consumer(self, std::move(args), info.data_producer, tit->second.actor,
                                   tit->second.data_send, st.ctx);
  st.data_consumers[id] = {actor, transport_id, info.data_producer_id, *stream};
  auto fail = [self, rp, id, actor](caf::error& err) mutable {
    self->state.data_consumers.erase(id);
    self->send_exit(actor, caf::exit_reason::user_shutdown);
    rp.deliver(err);
  };
  // Routed on its transport, then attached to the data producer, then answered: a message
  // the client sends once it has the answer reaches this consumer. (The consumer's own first
  // turn can come later than the answer on a loaded node, and an attach of its own then
  // missed the first messages.)
  self->request(tit->second.actor, media_request_timeout, data_consumer_route{actor, *stream})
    .then(
      [self, rp, id, info, params, actor, fail](bool) mutable {
        if (!self->state.data_consumers.count(id)) {
          rp.deliver(producer_ended(info));
          return;
        }
        self->request(info.data_producer, media_request_timeout, attach_consumer{actor})
          .then(
            [self, rp, id, info, params](attach_reply&) mutable {
              if (!self->state.data_consumers.count(id)) {
                rp.deliver(producer_ended(info));
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
            fail);
      },
      fail);
}

} // namespace

caf::result<protocol::producer_id_reply> on_produce_data(peer_actor* self,
                                                         protocol::produce_data_request& r) {
  auto& st = self->state;
  auto tit = sctp_transport(st, r.transport_id, protocol::transport_direction::send);
  if (!tit)
    return tit.error();
  if (st.data_producers.size() >= st.ctx->settings.max_producers_per_peer)
    return make_error(error_code::limit_exceeded,
                      "a peer may have at most " +
                        std::to_string(st.ctx->settings.max_producers_per_peer) + " data producers");
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

caf::result<protocol::data_consumer_params_reply>
on_consume_data(peer_actor* self, protocol::consume_data_request& r) {
  auto& st = self->state;
  auto tit = sctp_transport(st, r.transport_id, protocol::transport_direction::recv);
  if (!tit)
    return tit.error();
  if (st.data_consumers.size() >= st.ctx->settings.max_consumers_per_peer)
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

void close_data_consumer(peer_actor* self, const std::string& data_consumer_id) {
  auto& st = self->state;
  auto it = st.data_consumers.find(data_consumer_id);
  if (it == st.data_consumers.end())
    return;
  self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
  self->send(st.session, protocol::data_consumer_closed_event{it->first, it->second.data_producer_id});
  st.data_consumers.erase(it);
}

void find_data_source(peer_actor* self, const std::string& data_consumer_id) {
  auto& st = self->state;
  auto it = st.data_consumers.find(data_consumer_id);
  if (it == st.data_consumers.end()) {
    st.data_sources_lost.erase(data_consumer_id);
    return;
  }
  st.data_sources_lost.insert(data_consumer_id);
  auto room = room_of(st);
  LOG_DEBUG("peer", st.id << ": data consumer " << data_consumer_id << " lost its source"
                          << (st.rehoming || !room ? ": asked for at the new room" : ": asking the room"));
  if (st.rehoming || !room)
    return; // asked for at the new room (room_rebound)
  // An answer from a room the peer has left meanwhile is ignored: the consumer is asked for
  // again at the new one. A failure while the room moves waits for that; any other closes
  // the consumer.
  auto asked = room.address();
  auto current = [self, asked] { return self->state.room == asked && !self->state.rehoming; };
  auto failed = [self, data_consumer_id, current](caf::error& err) {
    LOG_DEBUG("peer", self->state.id << ": data consumer " << data_consumer_id
                                     << ": no source found: " << to_string(err)
                                     << (current() ? " (closed)" : " (asked again at the new room)"));
    if (!current())
      return;
    self->state.data_sources_lost.erase(data_consumer_id);
    close_data_consumer(self, data_consumer_id);
  };
  self->request(room, media_request_timeout, find_data_producer{it->second.data_producer_id, st.id})
    .then(
      [self, data_consumer_id, current, failed](data_producer_info& info) mutable {
        auto& st = self->state;
        auto c = st.data_consumers.find(data_consumer_id);
        if (!current() || c == st.data_consumers.end())
          return;
        st.data_sources_lost.erase(data_consumer_id);
        auto consumer = c->second.actor;
        auto origin = info.data_producer;
        LOG_DEBUG("peer", st.id << ": data consumer " << data_consumer_id << " resumes on "
                                << info.data_producer_id);
        // On another node: through this node's relay of it, as for a new consumer.
        if (origin && origin.node() != self->node() && st.node) {
          self->request(st.node, media_request_timeout, get_relay{origin})
            .then([self, consumer, origin](caf::actor& relay) {
                    self->send(consumer, data_source{relay, origin});
                  },
                  failed);
          return;
        }
        self->send(consumer, data_source{origin, origin});
      },
      failed);
}

} // namespace chorus::actors::peers
