// The messages between the cluster actors of Chorus nodes (docs/design/cluster.md), carried by CAF's middleman (BASP).
// Declared with CHORUS_MESSAGE (actors/message_declaration.hpp).
//
// Admission, A connecting to B (both hold the cluster secret; it never crosses the wire):
//   A -> B  cluster_hello { A, nonce_a }                  B answers cluster_welcome
//   B -> A  cluster_welcome { B, nonce_b, proof("welcome", B for A, nonce_a, nonce_b) }
//   A -> B  cluster_proof { A, nonce_b, proof("proof", A for B, nonce_a, nonce_b), A's record }
//   B -> A  cluster_accepted { B's member record, B's members }
// (net/cluster.hpp: the roles keep one proof from passing for the other.)
// A node accepts any other message only from nodes that passed this exchange.
#pragma once

#include "actors/message_declaration.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace chorus::actors {

using cluster_tick_atom = caf::atom_constant<caf::atom("clustick")>;

// What a node says about itself: its name, where other nodes reach its cluster actor, and
// where clients reach its signaling.
struct cluster_member {
  std::string node_id;
  std::string cluster_address; // HOST:PORT of --cluster-listen ("" when it listens nowhere)
  std::string client_url;      // http(s)://HOST:PORT
  caf::actor node;             // its node actor (rooms live there)
};

// A node's load, sent with every heartbeat.
struct node_load {
  int64_t rooms = 0;
  int64_t peers = 0;
  int64_t consumers = 0;
  uint64_t cpu_ms = 0; // process CPU time (user + system) since start
};

struct cluster_hello {
  std::string node_id;
  std::string nonce;
};

struct cluster_welcome {
  std::string node_id;
  std::string nonce;
  std::string proof;
};

struct cluster_proof {
  std::string node_id;
  std::string nonce; // the responder's challenge this proof answers
  std::string proof;
  cluster_member member;
};

struct cluster_accepted {
  cluster_member member;
  std::vector<cluster_member> members;
};

struct cluster_heartbeat {
  std::string node_id;
  node_load load;
};

// A node says it is leaving the cluster (SIGTERM): place no room there any more.
struct cluster_leaving {
  std::string node_id;
};

// A reconnect attempt to a cluster address, after a backoff.
struct cluster_reconnect {
  std::string address;
  uint32_t attempt = 0;
};

CHORUS_MESSAGE(cluster_member, x.node_id, x.cluster_address, x.client_url, x.node);
CHORUS_MESSAGE(node_load, x.rooms, x.peers, x.consumers, x.cpu_ms);
CHORUS_MESSAGE(cluster_hello, x.node_id, x.nonce);
CHORUS_MESSAGE(cluster_welcome, x.node_id, x.nonce, x.proof);
CHORUS_MESSAGE(cluster_proof, x.node_id, x.nonce, x.proof, x.member);
CHORUS_MESSAGE(cluster_accepted, x.member, x.members);
CHORUS_MESSAGE(cluster_heartbeat, x.node_id, x.load);
CHORUS_MESSAGE(cluster_leaving, x.node_id);
CHORUS_MESSAGE(cluster_reconnect, x.address, x.attempt);

} // namespace chorus::actors
