// The pure parts of the cluster (docs/design/cluster.md): where a room lives
// (rendezvous hashing over the live nodes) and how two nodes prove to each other that they
// hold the cluster secret (HMAC-SHA256 challenge and response; the secret never crosses the
// wire). No CAF, no sockets, no clock: the cluster actor drives these.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace chorus::net::cluster {

// Rendezvous (highest random weight) hashing. weight() mixes the node and room ids into 64
// bits; home_node() is the node of the highest weight, a tie going to the smaller node id,
// so every node that sees the same live set picks the same home, and a room moves only
// when its home leaves (or a node with a higher weight for it joins). "" for no nodes.
uint64_t weight(std::string_view node_id, std::string_view room_id) noexcept;
std::string home_node(std::string_view room_id, std::span<const std::string> nodes);

// HMAC-SHA256 (RFC 2104 with SHA-256; test vectors in RFC 4231).
std::array<uint8_t, 32> hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data);

// The roles of the two proofs of one admission: the responder's (in its welcome) and the
// initiator's (in its proof). A MAC made in one role never verifies in the other, so a
// node's welcome cannot be passed off as its proof (a reflection).
inline constexpr std::string_view welcome_role = "welcome";
inline constexpr std::string_view proof_role = "proof";

// The proof that `prover` holds `secret` in one admission: hex(HMAC-SHA256(secret,
// "chorus-cluster-v1" 0 role 0 prover 0 verifier 0 initiator_nonce 0 responder_nonce)).
// Bound to the role, both node ids and both fresh challenges, it cannot be replayed to
// another node, for another node, in another admission or in the other role. (It does not
// bind the connection: an active man-in-the-middle can relay a whole admission; the TLS
// links stop that.)
std::string proof(std::string_view secret, std::string_view role, std::string_view prover,
                  std::string_view verifier, std::string_view initiator_nonce,
                  std::string_view responder_nonce);

// Compares two proofs in time independent of where they differ.
bool same_proof(std::string_view expected, std::string_view got) noexcept;

// A fresh challenge: 32 random bytes (OpenSSL's RAND_bytes) as 64 hex digits.
std::string make_nonce();

} // namespace chorus::net::cluster
