// WHIP publishing resources (RFC 9725) and WHEP playing resources: each is a participant
// of a room that joined through a session actor like any client's, speaking the typed
// dialect (protocol/typed_dialect.hpp) instead of JSON, so rooms, rights, limits,
// moderation and the cluster treat it as they treat a browser. The HTTP side
// (app/whip_api.hpp) reads the request and the offer; a resource actor then asks its
// session, in order: create a transport (send for WHIP, receive for WHEP), connect it with
// the client's fingerprint, then WHIP produces each track, WHEP consumes a producer per
// m-line (actors/whep.cpp: in the player's own numbers, its layers chosen, resumed); and
// answers the POST with the SDP answer (protocol/whip_sdp.hpp, protocol/whep_sdp.hpp).
// DELETE ends it; PATCH with new ICE credentials restarts ICE (RFC 9725 §4.3.2); the room
// ending it, or its session closing, ends it too. Every step has a bound
// (whip_step_timeout_ms).
#pragma once

#include "actors/auth.hpp"
#include "actors/context.hpp"
#include "net/http_server.hpp"
#include "protocol/sdp.hpp"
#include "protocol/whep_sdp.hpp"
#include "protocol/whip_sdp.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace chorus::actors {

inline constexpr int64_t whip_step_timeout_ms = 10000;

using http_responder = std::function<void(net::http_response)>;

// What the HTTP side and a resource's actor share: the actor, and the responders of the
// requests it has yet to answer (DELETE, PATCH), keyed by an operation number.
struct whip_handle {
  std::string id;
  std::string room_id;
  std::string address; // the client's IP
  std::string holder;  // the token's subject, or the token itself (the bound per token)
  bool play = false;   // a WHEP resource (under /whep/)
  std::mutex mutex;
  caf::actor actor;    // (under mutex)
  uint64_t next_op = 1;
  std::map<uint64_t, http_responder> responders;

  // Parks `r` while the actor lives (in one step with the end's, under `mutex`: either the
  // end answers it, or it reaches the actor); nullopt, `r` untouched, once it has ended.
  std::optional<uint64_t> park(http_responder& r);
  std::optional<http_responder> unpark(uint64_t op);
};

// The live resources, bounded per client address, per token and in all. Thread-safe.
class whip_resources {
public:
  struct bounds {
    std::size_t per_address = 8;
    std::size_t per_holder = 4;
    std::size_t total = 1000;
  };
  explicit whip_resources(bounds b) : bounds_(b) {}

  // A new resource's handle, or nullptr with `why` when a bound is reached.
  std::shared_ptr<whip_handle> reserve(const std::string& room_id, const std::string& address,
                                       const std::string& holder, std::string& why);
  std::shared_ptr<whip_handle> find(const std::string& id) const;
  void release(const std::string& id);
  std::size_t size() const;

private:
  bounds bounds_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<whip_handle>> by_id_;
};

// What a WHEP player asked to play (the POST's query).
struct whep_choice {
  std::string producer_id; // ?producer=: this producer only, on the m-line of its kind
  std::string participant; // ?participant=: this participant's producers (peer or user id)
  int spatial_layer = -1;  // ?spatialLayer=: at most this simulcast or SVC layer (-1: any)
  int temporal_layer = -1; // ?temporalLayer= (-1: any)
};

struct whip_start {
  std::shared_ptr<whip_handle> handle;
  std::shared_ptr<whip_resources> resources; // the handle is released there at the end
  admission_ticket ticket;
  std::string peer_id;
  std::string name;
  protocol::session_description offer;
  protocol::whip_offer reading; // WHIP: what to publish
  std::optional<protocol::whep_offer> play; // WHEP: what to play on (then `reading` is unused)
  whep_choice choice;                       // WHEP
  std::string location; // the resource's URL path, for the Location header
  http_responder respond; // the POST's
};

// Spawns the resource's actor, which answers `start.respond` (201 with the answer, or an
// error) within whip_step_timeout_ms per step.
void spawn_whip_resource(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                         whip_start start);

// The HTTP side's requests to a live resource; each answers `respond` once.
void whip_delete(const std::shared_ptr<whip_handle>& h, http_responder respond);
// `fragment`: the PATCH body (application/trickle-ice-sdpfrag), `if_match` its If-Match.
void whip_patch(const std::shared_ptr<whip_handle>& h, std::string fragment,
                std::string if_match, http_responder respond);

} // namespace chorus::actors
