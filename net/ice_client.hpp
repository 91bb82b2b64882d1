// The client side of ICE for one candidate pair, as a browser behaves against an ICE-lite
// server (RFC 8445 §7.2, controlling by default, aggressive nomination: USE-CANDIDATE on
// every check), with RFC 5389 §7.2.1 retransmissions and RFC 7675 consent freshness once
// connected. It also answers checks from a full-ICE peer (RFC 8445 §7.3) and resolves role
// conflicts (§7.3.1.1, §7.2.5.1). Pure state machine: poll(now) and handle(bytes, now)
// give the STUN messages to send to the remote candidate; no sockets, no clock. Used by
// the tests and by the load generator.
#pragma once

#include "net/stun.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::net {

enum class ice_client_state : uint8_t {
  new_,      // nothing sent yet
  checking,  // the check is in flight
  connected, // the check succeeded; consent checks keep it alive
  failed,    // the check timed out or was refused, or consent expired
};
std::string_view to_string(ice_client_state s) noexcept;

// RFC 8445 §5.1.2.1: (2^24)*type preference + (2^8)*local preference + (256 - component),
// for a peer-reflexive candidate (type preference 110), local preference 65535, RTP (1).
inline constexpr uint32_t default_check_priority = (110u << 24) | (65535u << 8) | (256u - 1u);

struct ice_client_config {
  std::string local_ufrag;
  std::string local_password;
  std::string remote_ufrag;    // the server's iceParameters.usernameFragment
  std::string remote_password; // the server's iceParameters.password
  transport_address remote;    // the candidate checked (the server's address)
  uint64_t tie_breaker = 0;
  bool controlling = true;
  bool aggressive_nomination = true; // USE-CANDIDATE on every check while controlling
  uint32_t priority = default_check_priority;

  uint64_t initial_rto_ms = 100;     // RFC 5389 §7.2.1 RTO (500 there; smaller on a LAN)
  uint32_t max_transmissions = 7;    // Rc
  uint32_t final_wait_factor = 16;   // Rm: wait Rm * RTO after the last transmission
  uint64_t consent_interval_ms = 5000; // RFC 7675 §5.1: ~5 s between consent checks
  uint64_t consent_timeout_ms = 30000; // RFC 7675 §5.1: no response for 30 s -> failed
  std::size_t max_transactions = 8;  // bound on checks in flight (oldest abandoned)
};

struct ice_client_output {
  std::vector<std::vector<uint8_t>> to_send; // STUN messages for config.remote, in order
  ice_client_state state = ice_client_state::new_;
  bool state_changed = false;
  std::optional<transport_address> mapped; // from a success response handled just now
  uint16_t error_code = 0;                 // from an error response handled just now
};

struct ice_client_counters {
  uint64_t requests_sent = 0;    // first transmissions
  uint64_t retransmissions = 0;
  uint64_t timeouts = 0;         // transactions that got no response
  uint64_t successes = 0;        // authenticated success responses
  uint64_t error_responses = 0;
  uint64_t requests_answered = 0; // checks from the peer answered with success
  uint64_t requests_rejected = 0; // checks from the peer answered with an error
  uint64_t ignored = 0;           // not STUN, malformed, unknown transaction, bad integrity
};

class ice_client {
public:
  explicit ice_client(ice_client_config config);

  // Starts the check, retransmits, sends consent checks, expires transactions and consent.
  ice_client_output poll(uint64_t now_ms);
  // A datagram from the remote candidate (`source` as received).
  ice_client_output handle(std::span<const uint8_t> bytes, const transport_address& source,
                           uint64_t now_ms);
  // When poll() next has something to do (nullopt: nothing, e.g. failed).
  std::optional<uint64_t> next_poll_ms() const;

  // ICE restart with new credentials on both sides: back to new, checks start over.
  void restart(std::string local_ufrag, std::string local_password, std::string remote_ufrag,
               std::string remote_password);

  ice_client_state state() const noexcept { return state_; }
  bool controlling() const noexcept { return config_.controlling; }
  const std::optional<transport_address>& mapped_address() const noexcept { return mapped_; }
  const ice_client_counters& counters() const noexcept { return counters_; }

private:
  enum class purpose : uint8_t { check, consent };
  struct transaction {
    stun::transaction_id tid{};
    std::vector<uint8_t> bytes;
    purpose kind = purpose::check;
    uint32_t transmissions = 0;
    uint64_t rto_ms = 0;
    uint64_t deadline_ms = 0; // next retransmission, or the end of the final wait
  };

  void start_transaction(purpose kind, uint64_t now_ms, ice_client_output& out);
  void handle_response(const stun::message& m, std::span<const uint8_t> bytes,
                       const transport_address& source, uint64_t now_ms,
                       ice_client_output& out);
  void handle_request(const stun::message& m, std::span<const uint8_t> bytes,
                      const transport_address& source, ice_client_output& out);
  void set_state(ice_client_state s, ice_client_output& out);

  ice_client_config config_;
  ice_client_state state_ = ice_client_state::new_;
  std::vector<transaction> transactions_;
  std::optional<transport_address> mapped_;
  uint64_t last_success_ms_ = 0;
  uint64_t next_consent_ms_ = 0;
  ice_client_counters counters_;
};

} // namespace chorus::net
