// A TURN server's decisions (RFC 8656), pure: allocations with their permissions and
// channels, the long-term credential check against TURN REST passwords
// (net/turn_credentials.hpp) with stateless nonces, and the quotas. Bytes from a client in;
// the reply and what to relay out; the time passed in. The owner carries the packets,
// opens and closes the relayed addresses, and says which peers may be reached.
//
// Not an open relay: a permission or channel to a peer that `peer_allowed` refuses (only
// Chorus's own transports are allowed) is answered 403 Forbidden, and a Send indication,
// ChannelData or a packet arriving at a relayed address is checked against it too, per
// packet, so nothing ever leaves for a third party or comes back from one. Permissions are
// by IP address as §9 says; the port is checked by `peer_allowed` on every packet.
//
// Not thread-safe: one owner.
#pragma once

#include "common/metric_field.hpp"
#include "common/token_bucket.hpp"
#include "net/stun.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace chorus::net {

enum class turn_protocol : uint8_t { udp, tcp, tls };

// The client's side of an allocation (§2.2's 5-tuple; the server's side is the listener
// of that protocol).
struct turn_client {
  turn_protocol protocol = turn_protocol::udp;
  transport_address remote;
  uint64_t connection_id = 0; // TCP and TLS: the connection; 0 for UDP

  bool stream() const noexcept { return protocol != turn_protocol::udp; }
  friend bool operator==(const turn_client&, const turn_client&) = default;
};

struct turn_server_config {
  std::string realm = "chorus";
  std::string secret;    // the TURN REST secret the credentials are made with
  std::string nonce_key; // keys the nonces (random per process)
  uint32_t default_lifetime_s = 600; // §7.2
  uint32_t max_lifetime_s = 3600;
  uint32_t permission_lifetime_s = 300; // §9
  uint32_t channel_lifetime_s = 600;    // §12
  uint32_t nonce_lifetime_s = 600;      // then 438 Stale Nonce, and a new one
  // A school's students may all come from one NAT address: the limits per address are
  // generous, the one per credential (one per peer, issued only to joined peers) is not.
  std::size_t max_allocations = 10000;
  std::size_t max_allocations_per_user = 8; // per credential id (the peer)
  std::size_t max_allocations_per_ip = 5000;
  uint32_t allocations_per_ip_per_s = 100; // new allocations from one address, sustained
  uint32_t allocation_burst_per_ip = 200;
  std::size_t max_permissions = 32; // per allocation
  std::size_t max_channels = 32;    // per allocation
  // The family the owner relays in: an Allocate for another (none named means IPv4,
  // RFC 8656 section 7.2) is answered 440.
  ip_family relay_family = ip_family::ipv4;
  // Relayed bit rate per allocation and direction; packets beyond are dropped (0: no cap).
  uint32_t relay_rate_kbps = 0;
  // Error answers (401 challenges included) per client address per second, a second's
  // worth at once: beyond, requests are dropped unanswered (an answer is larger than the
  // request, so a flood with a forged source is not reflected at full rate). 0: no bound.
  uint32_t error_replies_per_ip_per_s = 500;
  // Addresses whose error budget is tracked at once (a flood of forged sources would grow
  // the table without end); a new address beyond gets no error answer until the expiry
  // sweep (about a second) frees the table.
  std::size_t max_error_budgets = 65536;
};

// A packet to send from relayed address `relay` to `peer`; payload points into the bytes
// given to on_client.
struct turn_relay_send {
  transport_address relay;
  transport_address peer;
  std::span<const uint8_t> payload;
  // The allocation's id, never reused (a relayed address is, once its allocation ended).
  uint64_t allocation = 0;
};

class turn_server {
public:
  // Opens a relayed address of the family for a new allocation (nullopt: none free).
  using open_relay_fn = std::function<std::optional<transport_address>(ip_family)>;
  using close_relay_fn = std::function<void(const transport_address&)>;
  using peer_allowed_fn = std::function<bool(const transport_address&)>;

  turn_server(turn_server_config config, peer_allowed_fn peer_allowed, open_relay_fn open_relay,
              close_relay_fn close_relay);
  ~turn_server(); // closes every relayed address
  turn_server(const turn_server&) = delete;
  turn_server& operator=(const turn_server&) = delete;

  struct client_result {
    std::vector<uint8_t> reply;           // to the client; empty: none
    std::optional<turn_relay_send> relay; // a Send indication's or ChannelData's payload
  };
  // One message from a client: a STUN message (a datagram, or a frame of
  // turn::stream_frame_size) or ChannelData. Anything else is dropped and counted.
  client_result on_client(const turn_client& from, std::span<const uint8_t> bytes,
                          int64_t now_ms);

  struct peer_result {
    turn_client to;
    uint64_t allocation = 0;
    std::vector<uint8_t> bytes; // ChannelData (padded for TCP and TLS) or a Data indication
  };
  // A packet from `peer` arrived at relayed address `relay`; nullopt: dropped (no such
  // allocation, no permission, a peer not allowed).
  std::optional<peer_result> on_peer(const transport_address& relay, const transport_address& peer,
                                     std::span<const uint8_t> payload, int64_t now_ms);

  // Ends expired allocations (closing their relays), permissions, channels and idle rate
  // buckets; call about once a second.
  void expire(int64_t now_ms);
  // A TCP or TLS connection closed: its allocation ends (§7).
  void connection_closed(const turn_client& client);
  bool has_allocation(const turn_client& client) const { return allocations_.count(client) != 0; }

  struct counters {
    uint64_t allocations_created = 0;
    uint64_t allocations_ended = 0;
    uint64_t challenges = 0;            // 401 with a nonce to a request without credentials
    uint64_t refused_credentials = 0;   // unknown, wrong or expired credentials (401, 441)
    uint64_t stale_nonces = 0;          // 438
    uint64_t refused_quota = 0;         // 486: over a per-user, per-address or total limit
    uint64_t refused_rate = 0;          // 486: new allocations from one address too fast
    uint64_t refused_capacity = 0;      // 508: no relayed address could be opened
    uint64_t refused_peer = 0;          // 403: a permission or channel to a peer not allowed
    uint64_t bad_requests = 0;          // 400, 420, 437, 440, 442, 443
    uint64_t relayed_to_peer_packets = 0, relayed_to_peer_bytes = 0;
    uint64_t relayed_to_client_packets = 0, relayed_to_client_bytes = 0;
    uint64_t dropped = 0; // no allocation, permission or channel, a peer not allowed, not TURN
    uint64_t rate_limited = 0; // relayed packets over relay_rate_kbps
    uint64_t unanswered = 0;   // error answers over error_replies_per_ip_per_s
    uint64_t allocations = 0; // gauge
  };
  counters stats() const noexcept;

private:
  struct client_hash {
    std::size_t operator()(const turn_client& c) const noexcept {
      return transport_address_hash{}(c.remote) ^ (c.connection_id * 0x9E3779B97F4A7C15ULL) ^
             std::size_t(c.protocol);
    }
  };
  struct channel_binding {
    transport_address peer;
    int64_t expires_ms = 0;
  };
  struct allocation {
    turn_client client;
    uint64_t id = 0; // turn_relay_send::allocation
    transport_address relay;
    std::string username;
    std::string user_id; // the credential's id, for the per-user quota
    std::string key;     // the long-term key its requests are checked with
    stun::transaction_id allocate_tid{};
    std::vector<uint8_t> allocate_reply; // answered again to a retransmitted Allocate
    int64_t expires_ms = 0;
    std::unordered_map<transport_address, int64_t, transport_address_hash> permissions; // IP
    std::unordered_map<uint16_t, channel_binding> channels;
    std::unordered_map<transport_address, uint16_t, transport_address_hash> channel_of_peer;
    token_bucket to_peer_budget, to_client_budget; // bytes; unlimited without a cap
  };
  struct authenticated {
    std::string username;
    std::string key;
  };

  client_result on_stun(const turn_client& from, std::span<const uint8_t> bytes, int64_t now_ms);
  client_result on_channel_data(const turn_client& from, std::span<const uint8_t> bytes,
                                int64_t now_ms);
  std::string make_nonce(const turn_client& from, int64_t now_ms) const;
  bool nonce_fresh(std::string_view nonce, const turn_client& from, int64_t now_ms) const;
  using allocation_map = std::unordered_map<turn_client, allocation, client_hash>;
  // Ends an allocation: its relay closed, its counts given back, its entry erased; the next.
  allocation_map::iterator end(allocation_map::iterator it);
  // The client's allocation, unless its lifetime has run out (then it ends here).
  allocation_map::iterator live(const turn_client& client, int64_t now_ms);
  // Whether an error answer to `from` is within its address's budget (else counted).
  bool may_answer_error(const turn_client& from, int64_t now_ms);

  turn_server_config config_;
  peer_allowed_fn peer_allowed_;
  open_relay_fn open_relay_;
  close_relay_fn close_relay_;
  allocation_map allocations_;
  std::unordered_map<transport_address, turn_client, transport_address_hash> by_relay_;
  std::unordered_map<std::string, std::size_t> per_user_;
  std::unordered_map<transport_address, std::size_t, transport_address_hash> per_ip_; // port 0
  std::unordered_map<transport_address, token_bucket, transport_address_hash> rate_;  // port 0
  std::unordered_map<transport_address, token_bucket, transport_address_hash> errors_; // port 0
  counters counters_;
  uint64_t next_allocation_ = 1;
};

// The TURN server's counters in GET /metrics (common/metric_field.hpp).
inline constexpr metric_field<turn_server::counters, uint64_t> turn_metrics[] = {
  {"chorus_turn_allocations", "TURN allocations open.", metric_type::gauge, "",
   &turn_server::counters::allocations},
  {"chorus_turn_allocation_events_total", "TURN allocations made and ended.", metric_type::counter,
   "event=\"created\"", &turn_server::counters::allocations_created},
  {"chorus_turn_allocation_events_total", "", metric_type::counter, "event=\"ended\"",
   &turn_server::counters::allocations_ended},
  {"chorus_turn_challenges_total", "TURN requests without credentials, answered 401 with a nonce.",
   metric_type::counter, "", &turn_server::counters::challenges},
  {"chorus_turn_refusals_total",
   "TURN requests refused: wrong or expired credentials, stale nonces, quotas, the allocation "
   "rate of one address, no relayed address free, a peer that is not a Chorus transport, "
   "malformed or unsupported requests.",
   metric_type::counter, "reason=\"credentials\"", &turn_server::counters::refused_credentials},
  {"chorus_turn_refusals_total", "", metric_type::counter, "reason=\"stale_nonce\"",
   &turn_server::counters::stale_nonces},
  {"chorus_turn_refusals_total", "", metric_type::counter, "reason=\"quota\"",
   &turn_server::counters::refused_quota},
  {"chorus_turn_refusals_total", "", metric_type::counter, "reason=\"rate\"",
   &turn_server::counters::refused_rate},
  {"chorus_turn_refusals_total", "", metric_type::counter, "reason=\"capacity\"",
   &turn_server::counters::refused_capacity},
  {"chorus_turn_refusals_total", "", metric_type::counter, "reason=\"peer\"",
   &turn_server::counters::refused_peer},
  {"chorus_turn_refusals_total", "", metric_type::counter, "reason=\"bad_request\"",
   &turn_server::counters::bad_requests},
  {"chorus_turn_relayed_packets_total", "Packets relayed by the TURN server, by direction.",
   metric_type::counter, "direction=\"to_transport\"", &turn_server::counters::relayed_to_peer_packets},
  {"chorus_turn_relayed_packets_total", "", metric_type::counter, "direction=\"to_client\"",
   &turn_server::counters::relayed_to_client_packets},
  {"chorus_turn_relayed_bytes_total", "Payload bytes relayed by the TURN server, by direction.",
   metric_type::counter, "direction=\"to_transport\"", &turn_server::counters::relayed_to_peer_bytes},
  {"chorus_turn_relayed_bytes_total", "", metric_type::counter, "direction=\"to_client\"",
   &turn_server::counters::relayed_to_client_bytes},
  {"chorus_turn_dropped_total",
   "Packets the TURN server dropped: no allocation, permission or channel, a peer that is not a "
   "Chorus transport, not TURN at all; relayed packets over turn.relayRateLimitKbps; requests "
   "left unanswered over the error answers one address gets per second.",
   metric_type::counter, "reason=\"unroutable\"", &turn_server::counters::dropped},
  {"chorus_turn_dropped_total", "", metric_type::counter, "reason=\"rate_limit\"",
   &turn_server::counters::rate_limited},
  {"chorus_turn_dropped_total", "", metric_type::counter, "reason=\"unanswered\"",
   &turn_server::counters::unanswered},
};

} // namespace chorus::net
