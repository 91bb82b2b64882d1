// The server side of ICE as a lite agent (RFC 8445 §2.5, §7.3 for a lite implementation,
// which is always controlled and never sends checks), with consent freshness (RFC 7675)
// judged from the peer's checks. Pure state machine: STUN bytes and the source tuple in,
// a decision (response bytes for that source, events) out; time is a parameter.
//
// States follow mediasoup's iceState:
//   new          -> no valid check yet
//   connected    -> a tuple is selected from a valid check without USE-CANDIDATE
//   completed    -> a tuple is selected by a valid check with USE-CANDIDATE (nominated)
//   disconnected -> consent expired: no valid check on any tuple for consent_timeout_ms
//                   (a valid check brings it back to connected or completed)
//   closed       -> disconnected for disconnected_timeout_ms, or close(): terminal
#pragma once

#include "net/rate_limiter.hpp"
#include "net/stun.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::net {

enum class ice_state : uint8_t { new_, connected, completed, disconnected, closed };
std::string_view to_string(ice_state s) noexcept; // "new", "connected", ...

// turn: relayed by the TURN server inside Chorus (net/media_io_turn.hpp); `remote` is the
// client's relayed address, and what is sent to it goes back through that allocation.
enum class ice_protocol : uint8_t { udp, tcp, turn };

// Where a check came from. For TCP the socket layer's id of the connection tells apart
// two connections from the same address (and is how a response finds its way back).
struct ice_tuple {
  ice_protocol protocol = ice_protocol::udp;
  transport_address remote;
  uint64_t connection_id = 0; // 0 for UDP

  friend bool operator==(const ice_tuple&, const ice_tuple&) = default;
};

struct ice_server_config {
  std::string local_ufrag;
  std::string local_password;
  std::string remote_ufrag;                 // empty: learned from the first valid check
  uint64_t consent_timeout_ms = 30000;      // RFC 7675 §5.1
  uint64_t disconnected_timeout_ms = 30000; // disconnected -> closed
  std::size_t max_tuples = 8;               // least recently checked one is evicted
  // Error responses (400, 401, 420, 487) per second at most, a second's worth at once:
  // wrong credentials at line rate are not answered one for one. Requests beyond get the
  // same verdict but no response (counted errors_unanswered). 0: every one is answered.
  uint32_t max_error_responses_per_s = 50;
};

enum class ice_event_kind : uint8_t {
  tuple_validated,        // first valid check from this tuple
  tuple_removed,          // consent expired on it, evicted, or remove_tuple()
  selected_tuple_changed, // tuple = the new selection; nullopt when none is left
  state_changed,          // state = the new state
};

struct ice_event {
  ice_event_kind kind = ice_event_kind::state_changed;
  std::optional<ice_tuple> tuple;
  ice_state state = ice_state::new_;
};

// What became of one incoming datagram.
enum class ice_verdict : uint8_t {
  success,            // valid check, success response
  bad_request,        // 400: missing USERNAME / MESSAGE-INTEGRITY / PRIORITY
  unauthorized,       // 401: wrong USERNAME or MESSAGE-INTEGRITY
  unknown_attribute,  // 420: unknown comprehension-required attribute
  role_conflict,      // 487: the peer claims to be controlled too
  dropped_malformed,  // not STUN, or a broken STUN message (length, attribute, fingerprint)
  dropped_unexpected, // not a binding request (indication, response, other method)
  dropped_closed,     // the server is closed
};
std::string_view to_string(ice_verdict v) noexcept;

struct ice_decision {
  ice_verdict verdict = ice_verdict::dropped_malformed;
  std::vector<uint8_t> response; // for the source tuple; empty: send nothing
  std::vector<ice_event> events;
};

struct ice_server_counters {
  uint64_t requests = 0;         // binding requests that parsed
  uint64_t valid = 0;            // of which authenticated and answered with success
  uint64_t responses = 0;        // responses produced (success and error)
  uint64_t errors_400 = 0;
  uint64_t errors_401 = 0;
  uint64_t errors_420 = 0;
  uint64_t errors_487 = 0;
  uint64_t errors_unanswered = 0; // error verdicts beyond max_error_responses_per_s
  uint64_t dropped_malformed = 0;
  uint64_t dropped_unexpected = 0; // includes datagrams arriving when closed
};

class ice_server {
public:
  explicit ice_server(ice_server_config config);

  ice_decision handle(std::span<const uint8_t> bytes, const ice_tuple& source, uint64_t now_ms);

  // Drives consent expiry and the disconnected -> closed timeout.
  std::vector<ice_event> tick(uint64_t now_ms);
  // When tick() next has something to do (nullopt: nothing pending).
  std::optional<uint64_t> next_deadline_ms() const;

  // DTLS or media arrived from `tuple`. A client may nominate several pairs and send on any
  // of them (Firefox nominates its UDP and its TCP pair and uses the first): where `tuple`
  // is a validated one other than the selected, the client has moved there and it becomes
  // the selection. No events when nothing changes or `tuple` never passed a check (the
  // caller drops what it carried).
  std::vector<ice_event> use_tuple(const ice_tuple& tuple);

  // The socket layer lost this tuple (TCP connection closed).
  std::vector<ice_event> remove_tuple(const ice_tuple& tuple, uint64_t now_ms);

  // ICE restart: new local credentials; the remote ufrag is learned again. Checks with the
  // old credentials get 401 from now on. Tuples and state are kept (media keeps flowing).
  void restart(std::string local_ufrag, std::string local_password);

  std::vector<ice_event> close();

  ice_state state() const noexcept { return state_; }
  const std::optional<ice_tuple>& selected_tuple() const noexcept { return selected_; }
  const std::string& remote_ufrag() const noexcept { return config_.remote_ufrag; }
  const std::string& local_ufrag() const noexcept { return config_.local_ufrag; }
  const ice_server_counters& counters() const noexcept { return counters_; }
  std::size_t tuple_count() const noexcept { return tuples_.size(); }

private:
  struct tuple_entry {
    ice_tuple tuple;
    uint64_t last_valid_ms = 0;
    bool nominated = false;
  };

  ice_decision reject(const stun::message& request, uint16_t code, bool authenticated,
                      uint64_t now_ms, std::span<const uint16_t> unknown = {});
  bool username_matches(std::string_view username) const;
  void touch_tuple(const ice_tuple& tuple, bool nominated, uint64_t now_ms,
                           std::vector<ice_event>& events);
  void apply_valid_check(const ice_tuple& tuple, bool nominated,
                         std::vector<ice_event>& events);
  void select(const std::optional<ice_tuple>& tuple, std::vector<ice_event>& events);
  void set_state(ice_state s, std::vector<ice_event>& events);
  void erase_tuple(std::size_t index, uint64_t now_ms, uint64_t lost_at_ms,
                   std::vector<ice_event>& events);

  ice_server_config config_;
  ice_state state_ = ice_state::new_;
  std::vector<tuple_entry> tuples_;
  std::optional<ice_tuple> selected_;
  uint64_t disconnected_at_ms_ = 0;
  ice_server_counters counters_;
  std::optional<token_bucket> error_budget_; // created at the first error
};

} // namespace chorus::net
