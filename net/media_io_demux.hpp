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
// Pure data structure, not thread-safe (the I/O thread owns it).
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

struct transport_address_hash {
  std::size_t operator()(const transport_address& a) const noexcept {
    uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, a.bytes.data(), 8);
    std::memcpy(&hi, a.bytes.data() + 8, 8);
    uint64_t h = lo * 0x9E3779B97F4A7C15ULL ^ (hi + 0x632BE59BD9B4E019ULL);
    h ^= uint64_t(a.port) << 16 ^ uint64_t(a.family);
    h ^= h >> 31; // splitmix64 finalizer
    h *= 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 27;
    return std::size_t(h);
  }
};

// The local ufrag of a STUN binding request whose USERNAME is "<local>:<remote>" (both
// parts non-empty); nullopt for anything else (not STUN, malformed, not a binding request).
std::optional<std::string> binding_request_local_ufrag(std::span<const uint8_t> bytes);

// `Owner` is a nullable handle (a pointer); Owner{} means "none".
template <class Owner>
class single_port_demux {
public:
  explicit single_port_demux(std::size_t max_tuples = 16) : max_tuples_(std::max<std::size_t>(max_tuples, 1)) {}

  // Registers `owner` under `ufrag`; false when empty or used by another owner.
  bool add(Owner owner, const std::string& ufrag) {
    if (ufrag.empty() || by_ufrag_.count(ufrag) != 0 || owners_.count(owner) != 0)
      return false;
    by_ufrag_.emplace(ufrag, owner);
    owners_[owner].ufrag = ufrag;
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
    by_ufrag_.erase(it->second.ufrag);
    by_ufrag_.emplace(ufrag, owner);
    it->second.ufrag = ufrag;
    return true;
  }

  // Removes the owner's ufrag and all its bound addresses.
  void remove(Owner owner) {
    auto it = owners_.find(owner);
    if (it == owners_.end())
      return;
    by_ufrag_.erase(it->second.ufrag);
    for (const auto& a : it->second.tuples)
      by_tuple_.erase(a);
    owners_.erase(it);
  }

  Owner find_ufrag(std::string_view ufrag) const {
    auto it = by_ufrag_.find(std::string(ufrag));
    return it == by_ufrag_.end() ? Owner{} : it->second;
  }

  Owner find_tuple(const transport_address& from) const {
    auto it = by_tuple_.find(from);
    return it == by_tuple_.end() ? Owner{} : it->second;
  }

  struct route_result {
    Owner owner{};        // Owner{}: drop
    bool bound = false;   // `from` was bound to `owner` by this packet
    bool evicted = false; // and that evicted the owner's oldest address
  };

  // Where a datagram from `from` goes (see the file comment).
  route_result route(std::span<const uint8_t> bytes, const transport_address& from) {
    route_result r;
    if (auto it = by_tuple_.find(from); it != by_tuple_.end()) {
      r.owner = it->second;
      return r;
    }
    auto ufrag = binding_request_local_ufrag(bytes);
    if (!ufrag)
      return r;
    r.owner = find_ufrag(*ufrag);
    if (r.owner != Owner{}) {
      r.bound = true;
      r.evicted = bind(from, r.owner);
    }
    return r;
  }

  std::size_t tuple_count(Owner owner) const {
    auto it = owners_.find(owner);
    return it == owners_.end() ? 0 : it->second.tuples.size();
  }
  std::size_t owner_count() const noexcept { return owners_.size(); }

private:
  struct owner_info {
    std::string ufrag;
    std::vector<transport_address> tuples; // oldest first, at most max_tuples_
  };

  // Binds an unknown `from` to a registered owner; true when the oldest was evicted.
  bool bind(const transport_address& from, Owner owner) {
    auto& info = owners_[owner];
    bool evicted = false;
    if (info.tuples.size() >= max_tuples_) {
      by_tuple_.erase(info.tuples.front());
      info.tuples.erase(info.tuples.begin());
      evicted = true;
    }
    info.tuples.push_back(from);
    by_tuple_.emplace(from, owner);
    return evicted;
  }

  std::size_t max_tuples_;
  std::unordered_map<std::string, Owner> by_ufrag_;
  std::unordered_map<transport_address, Owner, transport_address_hash> by_tuple_;
  std::unordered_map<Owner, owner_info> owners_;
};

} // namespace chorus::net
