#include "actors/whip.hpp"
#include "actors/whip_actor.hpp"

#include "actors/messages.hpp"
#include "actors/session.hpp"
#include "actors/typed_connection.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <variant>

namespace chorus::actors {

namespace whips {

using whip_delete_atom = caf::atom_constant<caf::atom("whipdel")>;
using whip_patch_atom = caf::atom_constant<caf::atom("whippatch")>;
using whip_timeout_atom = caf::atom_constant<caf::atom("whiptime")>;
using whip_watch_atom = caf::atom_constant<caf::atom("whipwatch")>;

// An established resource's transport is looked at this often: gone (ICE consent expired,
// DTLS failed), or not connected this long after the answer, ends the resource.
constexpr auto watch_interval = std::chrono::seconds(5);
constexpr int64_t connect_within_ms = 30000;

constexpr std::size_t watch_tag = ~std::size_t{0}; // a pending stats request

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

unsigned status_of(protocol::error_code code) {
  using protocol::error_code;
  switch (code) {
    case error_code::unauthorized: return 401;
    case error_code::forbidden:
    case error_code::blocked:
    case error_code::room_locked: return 403;
    case error_code::id_taken: return 409;
    case error_code::room_full:
    case error_code::limit_exceeded:
    case error_code::draining:
    case error_code::rate_limited: return 503;
    case error_code::invalid_field:
    case error_code::missing_field:
    case error_code::invalid_message: return 400;
    default: return 500;
  }
}

std::string etag_of(const protocol::transport_params& t) {
  return "\"" + t.ice_parameters.username_fragment + "\"";
}

void ask(whip_actor* self, protocol::request_body body, std::size_t tag) {
  auto& st = self->state;
  auto text = st.exchange->stage(std::move(body));
  st.pending[text] = tag;
  self->send(st.session, ws_text{std::move(text)});
}

void next_step(whip_actor* self, step s) {
  auto& st = self->state;
  st.at = s;
  ++st.step_number;
  if (s != step::established)
    self->delayed_send(self, std::chrono::milliseconds(whip_step_timeout_ms),
                       whip_timeout_atom::value, st.step_number);
}

// Ends the resource: its session leaves the room, the actor quits (the handle is released
// at its exit).
void end(whip_actor* self, const std::string& why) {
  auto& st = self->state;
  LOG_INFO(whip_component, st.start.handle->id << " in room '" << st.start.handle->room_id
                                               << "' ends: " << why);
  self->quit();
}

void fail(whip_actor* self, unsigned status, std::string_view code, const std::string& message) {
  auto& st = self->state;
  if (!st.answered) {
    st.answered = true;
    st.start.respond(net::json_error(status, code, message));
  }
  end(self, message);
}

void fail_with(whip_actor* self, const protocol::error_info& err, const std::string& what) {
  fail(self, status_of(err.code), protocol::to_string(err.code), what + ": " + err.message);
}

void answer_post(whip_actor* self, std::string sdp) {
  auto& st = self->state;
  next_step(self, step::established);
  st.answered = true;
  st.answered_at = steady_ms();
  self->delayed_send(self, watch_interval, whip_watch_atom::value);
  net::http_response r{201, "application/sdp", std::move(sdp), {}};
  r.headers.emplace_back("Location", st.start.location);
  r.headers.emplace_back("ETag", etag_of(st.transport));
  // The TURN servers the transport would give a WebSocket client (RFC 9725 §4.6).
  for (const auto& server : st.transport.ice_servers)
    for (const auto& url : server.urls) {
      std::string link = "<" + url + ">; rel=\"ice-server\"";
      if (!server.username.empty())
        link += "; username=\"" + server.username + "\"; credential=\"" + server.credential +
                "\"; credential-type=\"password\"";
      r.headers.emplace_back("Link", std::move(link));
    }
  st.start.respond(std::move(r));
}

void on_answer(whip_actor* self, const std::string& text) {
  auto& st = self->state;
  auto it = st.pending.find(text);
  auto a = st.exchange->take(text);
  if (it == st.pending.end() || !a)
    return;
  const std::size_t tag = it->second;
  st.pending.erase(it);
  const auto& room = st.start.handle->room_id;
  switch (tag == watch_tag ? step::watch : st.at) {
    case step::transport: {
      if (!a->ok)
        return fail_with(self, a->error, "create-transport");
      const auto* made = std::get_if<protocol::transport_params_reply>(&a->reply);
      if (!made)
        return fail(self, 500, "internal", "create-transport: an unexpected reply");
      st.transport = made->params;
      next_step(self, step::connect);
      ask(self, protocol::connect_transport_request{room, st.transport.id, st.client.dtls}, 0);
      return;
    }
    case step::connect: {
      if (!a->ok)
        return fail_with(self, a->error, "connect-transport");
      if (st.start.play)
        return whep_consume(self);
      next_step(self, step::produce);
      for (std::size_t i = 0; i < st.start.reading.tracks.size(); ++i) {
        const auto& t = st.start.reading.tracks[i];
        protocol::produce_request p;
        p.room_id = room;
        p.transport_id = st.transport.id;
        p.kind = t.kind;
        p.rtp_parameters = t.parameters;
        p.source = t.kind == rtp::media_kind::audio ? "mic" : "webcam";
        p.app_data = "{\"source\":\"" + p.source + "\",\"whip\":true}";
        ask(self, std::move(p), i);
      }
      return;
    }
    case step::produce: {
      if (!a->ok)
        return fail_with(self, a->error, "produce (track " + std::to_string(tag) + ")");
      if (++st.produced < st.start.reading.tracks.size())
        return;
      LOG_INFO(whip_component, st.start.handle->id << ": publishing " << st.produced
                                                   << " tracks in room '" << room << "' as '"
                                                   << st.start.peer_id << "'");
      answer_post(self, protocol::write_whip_answer(st.start.offer, st.start.reading, st.transport,
                                                    ids::random_u32()));
      return;
    }
    case step::consume:
    case step::layers:
    case step::resume:
      return whep_answer(self, tag, *a);
    case step::restart_ice: {
      auto responder = st.start.handle->unpark(st.restart_op);
      st.restart_op = 0;
      next_step(self, step::established);
      if (!responder)
        return;
      if (!a->ok) {
        (*responder)(net::json_error(status_of(a->error.code), protocol::to_string(a->error.code),
                                     "restart-ice: " + a->error.message));
        return;
      }
      const auto* restarted = std::get_if<protocol::restart_ice_reply>(&a->reply);
      if (!restarted) {
        (*responder)(net::json_error(500, "internal", "restart-ice: an unexpected reply"));
        return;
      }
      st.transport.ice_parameters = restarted->ice_parameters;
      net::http_response r{200, "application/trickle-ice-sdpfrag",
                           protocol::write_ice_fragment(st.bundle_mids, st.transport), {}};
      r.headers.emplace_back("ETag", etag_of(st.transport));
      (*responder)(std::move(r));
      return;
    }
    case step::watch: {
      st.watching = false;
      if (!a->ok)
        return end(self, "its transport is gone: " + a->error.message);
      const auto* stats = std::get_if<protocol::stats_reply>(&a->reply);
      st.connected = st.connected ||
                     (stats && stats->json.find("\"dtlsState\":\"connected\"") != std::string::npos);
      if (!st.connected && steady_ms() - st.answered_at > connect_within_ms)
        return end(self, "not connected " + std::to_string(connect_within_ms) + " ms after the answer");
      return;
    }
    case step::established:
      return;
  }
}

// a=ice-ufrag / a=ice-pwd of a trickle-ice-sdpfrag (RFC 8840: SDP lines without v=, at
// session level or under m-lines); nullopt when it does not parse.
std::optional<std::pair<std::string, std::string>> fragment_credentials(const std::string& frag) {
  auto d = protocol::parse_sdp("v=0\r\n" + frag);
  if (!d)
    return std::nullopt;
  return std::make_pair(d->effective_ufrag(0), d->effective_pwd(0));
}

void on_patch(whip_actor* self, uint64_t op, const std::string& fragment,
              const std::string& if_match) {
  auto& st = self->state;
  auto responder = st.start.handle->unpark(op);
  if (!responder)
    return;
  if (st.at != step::established) {
    (*responder)(net::json_error(409, "invalid-state", "the resource is not established yet, or "
                                                       "an ICE restart is under way"));
    return;
  }
  if (!if_match.empty() && if_match != "*" && if_match != etag_of(st.transport)) {
    (*responder)(net::json_error(412, "precondition-failed", "If-Match names another ICE session"));
    return;
  }
  auto credentials = fragment_credentials(fragment);
  if (!credentials) {
    (*responder)(net::json_error(400, "invalid-sdp", "the fragment is not SDP lines"));
    return;
  }
  auto& [ufrag, pwd] = *credentials;
  if (!ufrag.empty() && ufrag != st.client.ice_ufrag && pwd.empty()) {
    (*responder)(net::json_error(400, "invalid-sdp", "an ICE restart needs a=ice-pwd with a=ice-ufrag"));
    return;
  }
  if (ufrag.empty() || ufrag == st.client.ice_ufrag) {
    // Trickled candidates: an ICE-lite server learns the client's addresses from its checks.
    (*responder)(net::http_response{204, "text/plain", "", {}});
    return;
  }
  // New credentials: an ICE restart (RFC 9725 §4.3.2).
  st.client.ice_ufrag = ufrag;
  st.client.ice_pwd = pwd;
  st.restart_op = st.start.handle->park(*responder).value_or(0); // (the actor lives: parked)
  next_step(self, step::restart_ice);
  ask(self, protocol::restart_ice_request{st.start.handle->room_id, st.transport.id}, 0);
}

caf::behavior whip_impl(whip_actor* self, caf::actor node, node_context_ptr ctx, whip_start start) {
  auto& st = self->state;
  st.start = std::move(start);
  const bool play = st.start.play.has_value();
  (play ? ctx->counters->whep_resources : ctx->counters->whip_resources).fetch_add(1, std::memory_order_relaxed);
  st.client = play ? st.start.play->transport : st.start.reading.transport;
  st.bundle_mids = st.start.reading.bundle_mids; // WHEP: the slots played (whep.cpp)
  st.exchange = std::make_shared<protocol::typed_exchange>();
  session_params params;
  params.peer_id = st.start.peer_id;
  params.name = st.start.name;
  params.room_id = st.start.handle->room_id; // joined at start
  params.ticket = st.start.ticket;
  auto conn = std::make_shared<typed_connection>(self->address());
  st.session = spawn_session(self->system(), std::move(node), ctx, conn,
                             std::shared_ptr<protocol::dialect>{protocol::make_typed_dialect(st.exchange)},
                             std::move(params));
  self->monitor(st.session);
  {
    std::lock_guard lock(st.start.handle->mutex);
    st.start.handle->actor = caf::actor_cast<caf::actor>(self);
  }
  // At the end, whatever ends it: the session leaves, the handle goes, an unanswered POST
  // or PATCH is answered.
  self->attach_functor([session = st.session, handle = st.start.handle,
                        resources = st.start.resources, counters = ctx->counters,
                        play](const caf::error&) {
    (play ? counters->whep_resources : counters->whip_resources).fetch_sub(1, std::memory_order_relaxed);
    caf::anon_send(session, ws_closed{1000});
    std::map<uint64_t, http_responder> left;
    {
      std::lock_guard lock(handle->mutex);
      handle->actor = nullptr;
      left.swap(handle->responders);
    }
    for (auto& [op, r] : left)
      r(net::json_error(404, "not-found", "the resource has ended"));
    resources->release(handle->id);
  });
  next_step(self, step::transport);
  ask(self, protocol::create_transport_request{st.start.handle->room_id,
                                               play ? protocol::transport_direction::recv
                                                    : protocol::transport_direction::send,
                                               false, 0, 0},
      0);
  return {
    [=](typed_text_atom, std::string& text) { on_answer(self, text); },
    [=](typed_closed_atom, uint16_t code, std::string& reason) {
      // The session's close codes (docs/protocol.md): a POST still waiting is told why.
      const unsigned status = code == 4003 || code == 1001 ? 503
                              : code == 4004 || code == 4005 || code == 4006 ? 403
                              : code == 4001 ? 409
                                             : 410;
      fail(self, status, "closed", "the session was closed (" + std::to_string(code) + " " + reason + ")");
    },
    [=](whip_delete_atom, uint64_t op) {
      if (auto r = self->state.start.handle->unpark(op))
        (*r)(net::http_response{200, "text/plain", "", {}});
      fail(self, 410, "deleted", "deleted by the client");
    },
    [=](whip_patch_atom, uint64_t op, std::string& fragment, std::string& if_match) {
      on_patch(self, op, fragment, if_match);
    },
    [=](whip_watch_atom) {
      auto& s = self->state;
      if (!s.watching && (s.at == step::established || s.at == step::restart_ice)) {
        s.watching = true;
        ask(self, protocol::get_transport_stats_request{s.start.handle->room_id, s.transport.id},
            watch_tag);
      }
      self->delayed_send(self, watch_interval, whip_watch_atom::value);
    },
    [=](whip_timeout_atom, uint64_t n) {
      auto& s = self->state;
      if (n != s.step_number || s.at == step::established)
        return;
      if (s.at == step::restart_ice) {
        if (auto r = s.start.handle->unpark(s.restart_op))
          (*r)(net::json_error(504, "timeout", "the ICE restart was not answered in time"));
        s.restart_op = 0;
        next_step(self, step::established);
        return;
      }
      fail(self, 504, "timeout", "the room did not answer in time");
    },
    [=](caf::down_msg& m) {
      if (m.source == self->state.session)
        fail(self, 500, "internal", "the session ended");
    },
  };
}

} // namespace whips

std::optional<uint64_t> whip_handle::park(http_responder& r) {
  std::lock_guard lock(mutex);
  if (!actor)
    return std::nullopt;
  const uint64_t op = next_op++;
  responders.emplace(op, std::move(r));
  return op;
}

std::optional<http_responder> whip_handle::unpark(uint64_t op) {
  std::lock_guard lock(mutex);
  auto it = responders.find(op);
  if (it == responders.end())
    return std::nullopt;
  auto r = std::move(it->second);
  responders.erase(it);
  return r;
}

std::shared_ptr<whip_handle> whip_resources::reserve(const std::string& room_id,
                                                     const std::string& address,
                                                     const std::string& holder, std::string& why) {
  std::lock_guard lock(mutex_);
  std::size_t at_address = 0, of_holder = 0;
  for (const auto& [id, h] : by_id_) {
    at_address += h->address == address;
    of_holder += !holder.empty() && h->holder == holder;
  }
  if (by_id_.size() >= bounds_.total)
    why = "this server holds " + std::to_string(bounds_.total) + " WHIP resources";
  else if (at_address >= bounds_.per_address)
    why = "this address holds " + std::to_string(bounds_.per_address) + " WHIP resources";
  else if (of_holder >= bounds_.per_holder)
    why = "this token holds " + std::to_string(bounds_.per_holder) + " WHIP resources";
  if (!why.empty())
    return nullptr;
  auto h = std::make_shared<whip_handle>();
  h->id = ids::uuid4();
  h->room_id = room_id;
  h->address = address;
  h->holder = holder;
  by_id_.emplace(h->id, h);
  return h;
}

std::shared_ptr<whip_handle> whip_resources::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void whip_resources::release(const std::string& id) {
  std::lock_guard lock(mutex_);
  by_id_.erase(id);
}

std::size_t whip_resources::size() const {
  std::lock_guard lock(mutex_);
  return by_id_.size();
}

void spawn_whip_resource(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                         whip_start start) {
  sys.spawn(whips::whip_impl, std::move(node), std::move(ctx), std::move(start));
}

namespace whips {

// Parks `respond` with the live actor; answers it 404 when the resource has ended.
std::optional<std::pair<caf::actor, uint64_t>> park_with_actor(const std::shared_ptr<whip_handle>& h,
                                                                http_responder& respond) {
  caf::actor a;
  {
    std::lock_guard lock(h->mutex);
    a = h->actor;
  }
  if (auto op = h->park(respond))
    return std::make_pair(std::move(a), *op);
  respond(net::json_error(404, "not-found", "no such resource"));
  return std::nullopt;
}

} // namespace whips

void whip_delete(const std::shared_ptr<whip_handle>& h, http_responder respond) {
  if (auto parked = whips::park_with_actor(h, respond))
    caf::anon_send(parked->first, whips::whip_delete_atom::value, parked->second);
}

void whip_patch(const std::shared_ptr<whip_handle>& h, std::string fragment, std::string if_match,
                http_responder respond) {
  if (auto parked = whips::park_with_actor(h, respond))
    caf::anon_send(parked->first, whips::whip_patch_atom::value, parked->second, std::move(fragment),
                   std::move(if_match));
}

} // namespace chorus::actors
