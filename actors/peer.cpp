#include "actors/peer_actor.hpp"
#include "actors/exit_request.hpp"
#include "net/turn_credentials.hpp"

#include <ctime>

namespace chorus::actors::peers {

namespace {

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

// A data producer ended (closed, or its transport or stream did): forget it, tell the room.
void forget_data_producer(peer_actor* self, const std::string& id) {
  auto& st = self->state;
  if (st.data_producers.erase(id) == 0)
    return;
  if (auto room = room_of(st))
    self->send(room, data_producer_removed{id});
}

// Tells the client that one of its own producers is closed (the event's other fields name
// another peer's producer; they stay empty here).
void send_producer_closed(peer_actor* self, const std::string& producer_id) {
  protocol::producer_closed_event ev;
  ev.producer_id = producer_id;
  self->send(self->state.session, std::move(ev));
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
  std::vector<std::string> data_closed;
  for (auto& [id, c] : st.data_consumers)
    if (c.transport_id == transport_id)
      data_closed.push_back(id);
  for (auto& id : data_closed)
    close_data_consumer(self, id);
  std::vector<std::string> gone;
  for (auto& [id, p] : st.producers)
    if (p.transport_id == transport_id)
      gone.push_back(id);
  for (auto& id : gone) {
    self->send_exit(st.producers[id].actor, caf::exit_reason::user_shutdown);
    forget_producer(self, id);
    send_producer_closed(self, id);
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
  for (auto& [id, d] : st.data_producers)
    if (d.info.data_producer)
      cmd.data_producers.push_back(d.info);
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
    if (em.source == self->state.room || anonymous_exit(self, em)) {
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
        send_producer_closed(self, gone);
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
      if (st.transports.size() >= st.ctx->settings.max_transports_per_peer)
        return make_error(error_code::limit_exceeded,
                          "a peer may have at most " +
                            std::to_string(st.ctx->settings.max_transports_per_peer) +
                            " transports");
      auto spawned = spawn_transport(self, r.direction, st.ctx, st.room_id,
                                     transport_sctp_request{r.enable_sctp, r.sctp_os, r.sctp_mis});
      if (!spawned)
        return make_error(error_code::internal, spawned.error());
      if (const auto& turn = st.ctx->turn; !turn.urls.empty()) {
        const auto cred = net::make_turn_credential(turn.secret, st.id, int64_t(std::time(nullptr)),
                                                    turn.credential_ttl_s);
        spawned->params.ice_servers.push_back({turn.urls, cred.username, cred.password});
      }
      spawned->params.ice_transport_policy = st.ctx->turn.ice_transport_policy;
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
      if (st.transports.size() >= st.ctx->settings.max_transports_per_peer)
        return make_error(error_code::limit_exceeded,
                          "a peer may have at most " +
                            std::to_string(st.ctx->settings.max_transports_per_peer) +
                            " transports");
      auto spawned = spawn_plain_transport(self, r, st.ctx);
      if (!spawned)
        return make_error(error_code::invalid_field, spawned.error());
      auto& entry = st.transports[spawned->params.id];
      entry.actor = spawned->actor;
      entry.send = spawned->send;
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
      if (!self->state.ctx->rtc.fault_injection)
        return make_error(error_code::forbidden, fault_injection_off("set-transport-egress-cap"));
      auto id = r.transport_id;
      return delegate_to_transport(self, id, std::move(r));
    },
    [self](protocol::inject_fault_request& r) -> caf::result<protocol::empty_reply> {
      auto& st = self->state;
      if (!st.ctx->rtc.fault_injection)
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
        send_producer_closed(self, id);
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
      const auto lost = st.data_sources_lost;
      for (auto& id : lost)
        find_data_source(self, id);
    },
    [self](data_source_lost& l) { find_data_source(self, l.data_consumer_id); },
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

caf::error too_many_consumers(const peer_state& st) {
  return make_error(error_code::limit_exceeded,
                    "a peer may have at most " +
                      std::to_string(st.ctx->settings.max_consumers_per_peer) + " consumers");
}

caf::error unknown_transport(const std::string& id) {
  return make_error(error_code::unknown_transport, "no transport with id '" + id + "'");
}

caf::expected<std::string> implicit_send_transport(peer_state& st) {
  for (auto& [id, t] : st.transports)
    if (t.direction == protocol::transport_direction::send)
      return id;
  if (st.transports.size() == 1)
    return st.transports.begin()->first;
  return make_error(error_code::unknown_transport,
                    "this peer has no send transport (create one with direction \"send\")");
}

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

void forget_producer(peer_actor* self, const std::string& id) {
  auto& st = self->state;
  if (st.producers.erase(id) == 0)
    return;
  LOG_INFO_IDS("peer", (log::ids{.room = st.room_id, .peer = st.id, .producer = id}),
               "producer closed");
  if (auto room = room_of(st))
    self->send(room, producer_removed{id});
}

} // namespace chorus::actors::peers

namespace chorus::actors {

caf::actor spawn_peer(caf::event_based_actor* room, caf::actor node, std::string peer_id,
                      std::string room_id, caf::actor session, node_context_ptr ctx) {
  return room->spawn<caf::linked>(peers::peer_impl, room->address(), std::move(node),
                                  std::move(peer_id), std::move(room_id), std::move(session),
                                  std::move(ctx));
}

caf::actor spawn_peer_for(caf::actor_system& sys, const caf::actor& room, caf::actor node,
                          std::string peer_id, std::string room_id, caf::actor session,
                          node_context_ptr ctx) {
  return sys.spawn(peers::peer_impl, room.address(), std::move(node), std::move(peer_id),
                   std::move(room_id), std::move(session), std::move(ctx));
}

} // namespace chorus::actors
