// The actor of a WHIP or WHEP resource (actors/whip.hpp): its state and the steps its two
// kinds share (actors/whip.cpp), with the steps only WHEP takes (actors/whep.cpp).
#pragma once

#include "actors/whip.hpp"
#include "protocol/typed_dialect.hpp"

#include <caf/all.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::actors::whips {

// In order: transport, connect, then produce (WHIP) or consume, layers, resume (WHEP),
// then established; restart_ice while a PATCH restarts ICE. A stats request (watch) may be
// out in any of them.
enum class step : uint8_t {
  transport, connect, produce, consume, layers, resume, established, restart_ice, watch
};

struct whip_state {
  whip_start start;
  caf::actor session;
  std::shared_ptr<protocol::typed_exchange> exchange;
  step at = step::transport;
  uint64_t step_number = 0; // the timeout of an earlier step is stale
  std::map<std::string, std::size_t> pending; // staged text -> its tag (a track, a slot, 0)
  protocol::transport_params transport;
  protocol::offer_transport client;     // the client's ICE credentials (a PATCH renews them)
  std::vector<std::string> bundle_mids; // the answer's BUNDLE group (a PATCH's fragment)
  std::size_t produced = 0;
  // WHEP: the consumer made on each slot (none: nothing to play there), the replies the
  // current step still waits for, and the first refusal of a consume.
  std::vector<std::optional<protocol::consumer_params_reply>> played;
  std::size_t waiting = 0;
  std::optional<protocol::error_info> refused;
  bool answered = false; // the POST
  uint64_t restart_op = 0; // the PATCH waiting for restart-ice (0: none)
  int64_t answered_at = 0;  // steady ms
  bool connected = false;   // DTLS connected once
  bool watching = false;    // a stats request is out
  static inline const char* name = "chorus.whip";
};

using whip_actor = caf::stateful_actor<whip_state>;

constexpr const char* whip_component = "whip";

int64_t steady_ms();
unsigned status_of(protocol::error_code code);
// Stages `body` with the session; its answer comes back with `tag`.
void ask(whip_actor* self, protocol::request_body body, std::size_t tag);
// Enters `s`, with its timeout (none for established).
void next_step(whip_actor* self, step s);
// Answers the POST with an error (if it is still open) and ends the resource.
void fail(whip_actor* self, unsigned status, std::string_view code, const std::string& message);
void fail_with(whip_actor* self, const protocol::error_info& err, const std::string& what);
// Answers the POST 201 with `sdp` and the resource's headers; the resource is established.
void answer_post(whip_actor* self, std::string sdp);

// WHEP (actors/whep.cpp): the first of its steps, once the transport is connected; and an
// answer of the session in one of its steps.
void whep_consume(whip_actor* self);
void whep_answer(whip_actor* self, std::size_t tag, protocol::typed_exchange::answer& a);

} // namespace chorus::actors::whips
