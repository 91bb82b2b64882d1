// Single-port demultiplexing (the shape of mediasoup's WebRtcServer): many WebRTC
// transports share one UDP socket and one TCP listener. A packet from a known source
// address goes to the transport that address is bound to. A packet from an unknown address
// must be a STUN binding request whose USERNAME is "<local ufrag>:<remote ufrag>" (RFC 8445
// §7.2.2) with a registered local ufrag; its address is then bound to that transport.
// Anything else from an unknown address is dropped. The ICE layer above still verifies
// MESSAGE-INTEGRITY: binding here only decides where packets go, never that they are valid.
//
// A known address stays with its transport (a STUN request naming another ufrag does not
// move it) until that transport is removed or the address is evicted: each transport keeps
// at most `max_tuples` addresses, the oldest bound is evicted first.
//
// Pure data structures, not thread-safe (their owners lock or own them).
#pragma once

#include "net/stun.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chorus::net {

// The local ufrag of a STUN binding request whose USERNAME is "<local>:<remote>" (both
// parts non-empty); nullopt for anything else (not STUN, malformed, not a binding request).
std::optional<std::string> binding_request_local_ufrag(std::span<const uint8_t> bytes);

// The two tables of single-port demultiplexing, kept apart because with several I/O
// threads they live apart: one ufrag table for the process (a binding request may reach
// any thread's socket) and one address table per thread (the kernel steers each source
// address to one thread's socket, so an address is only ever looked up where it arrives).
// `Owner` is a nullable handle (a pointer); Owner{} means "none".
template <class Owner>
class ufrag_table {
public:
  // Registers `owner` under `ufrag`; false when empty or used by another owner.
  bool add(Owner owner, const std::string& ufrag) {
    if (ufrag.empty() || by_ufrag_.count(ufrag) != 0 || owners_.count(owner) != 0)
      return false;
    by_ufrag_.emplace(ufrag, owner);
    owners_.emplace(owner, ufrag);
    return true;
  }

  // ICE restart: `owner` answers to `ufrag` from now on; the old ufrag is released.
  bool set_ufrag(Owner owner, const std::string& ufrag) {
    auto it = owners_.find(owner);
    if (it == owners_.end() || ufrag.empty())
      return false;
    auto taken = by_ufrag_.find(ufrag);
    if (taken != by_ufrag_.end())
      return taken->second == owner;
    by_ufrag_.erase(it->second);
    by_ufrag_.emplace(ufrag, owner);
    it->second = ufrag;
    return true;
  }

  void remove(Owner owner) {
    auto it = owners_.find(owner);
    if (it == owners_.end())
      return;
    by_ufrag_.erase(it->second);
    owners_.erase(it);
  }

  Owner find(std::string_view ufrag) const {
    auto it = by_ufrag_.find(std::string(ufrag));
    return it == by_ufrag_.end() ? Owner{} : it->second;
  }
  std::size_t size() const noexcept { return owners_.size(); }

private:
  std::unordered_map<std::string, Owner> by_ufrag_;
  std::unordered_map<Owner, std::string> owners_;
};

template <class Owner>
class tuple_table {
public:
  explicit tuple_table(std::size_t max_tuples = 16)
    : max_tuples_(std::max<std::size_t>(max_tuples, 1)) {}

  Owner find(const transport_address& from) const {
    auto it = by_tuple_.find(from);
    return it == by_tuple_.end() ? Owner{} : it->second;
  }

  struct route_result {
    Owner owner{};        // Owner{}: drop
    bool bound = false;   // `from` was bound to `owner` by this packet
    bool evicted = false; // and that evicted the owner's oldest address
  };

  // Where a datagram from `from` goes (see the file comment): a known address to its
  // owner; from an unknown one only a binding request whose local ufrag `find_ufrag`
  // (string_view -> Owner) knows, which binds the address to that owner.
  template <class FindUfrag>
  route_result route(std::span<const uint8_t> bytes, const transport_address& from,
                     FindUfrag&& find_ufrag) {
    route_result r;
    if (auto it = by_tuple_.find(from); it != by_tuple_.end()) {
      r.owner = it->second;
      return r;
    }
    auto ufrag = binding_request_local_ufrag(bytes);
    if (!ufrag)
      return r;
    r.owner = find_ufrag(std::string_view(*ufrag));
    if (r.owner != Owner{}) {
      r.bound = true;
      r.evicted = bind(from, r.owner);
    }
    return r;
  }

  // Forgets every address bound to `owner`.
  void remove(Owner owner) {
    auto it = owners_.find(owner);
    if (it == owners_.end())
      return;
    for (const auto& a : it->second)
      by_tuple_.erase(a);
    owners_.erase(it);
  }

  std::size_t tuple_count(Owner owner) const {
    auto it = owners_.find(owner);
    return it == owners_.end() ? 0 : it->second.size();
  }

private:
  // Binds an unknown `from` to `owner`; true when the owner's oldest was evicted.
  bool bind(const transport_address& from, Owner owner) {
    auto& tuples = owners_[owner]; // oldest first, at most max_tuples_
    bool evicted = false;
    if (tuples.size() >= max_tuples_) {
      by_tuple_.erase(tuples.front());
      tuples.erase(tuples.begin());
      evicted = true;
    }
    tuples.push_back(from);
    by_tuple_.emplace(from, owner);
    return evicted;
  }

  std::size_t max_tuples_;
  std::unordered_map<transport_address, Owner, transport_address_hash> by_tuple_;
  std::unordered_map<Owner, std::vector<transport_address>> owners_;
};

} // namespace chorus::net
