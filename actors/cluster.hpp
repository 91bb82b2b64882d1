// The cluster actor: one per node when the node is in a cluster (--cluster-listen or
// --cluster-peers). It is published on the cluster address through CAF's middleman, connects
// to the configured peers (and to every member they tell of), admits only nodes that prove
// the shared secret, exchanges heartbeats with the load of each node, and learns of a lost
// node from CAF's down messages or a missed heartbeat. /healthz shows its view.
// Without a cluster configuration nothing of it starts (no middleman, no port).
#pragma once

#include "actors/context.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace chorus::actors {

struct cluster_settings {
  std::string node_id;
  std::string secret;
  std::string client_url;               // where clients reach this node
  std::vector<std::string> peers;       // HOST:PORT to connect to
  uint32_t heartbeat_interval_ms = 1000;
  uint32_t heartbeat_timeout_ms = 5000;
  bool tls = false; // dial through CAF's OpenSSL manager (main publishes through it too)
};

// What /healthz shows of the cluster: written by the cluster actor, read by the HTTP thread.
class cluster_status {
public:
  // Where this node's cluster actor is published (known once publish bound the port).
  void set_address(std::string address) {
    std::lock_guard lock{mutex_};
    address_ = std::move(address);
  }
  std::string address() const {
    std::lock_guard lock{mutex_};
    return address_;
  }
  // The members after "listen" in the JSON object (written by the cluster actor).
  void set(std::string members_json) {
    std::lock_guard lock{mutex_};
    json_ = std::move(members_json);
  }
  // {"listen":ADDRESS,...}: the address as bound now, the rest as the actor last wrote it.
  std::string json() const {
    std::lock_guard lock{mutex_};
    std::string out = "{\"listen\":\"" + address_ + "\"";
    if (!json_.empty())
      out += "," + json_;
    return out + "}";
  }

private:
  mutable std::mutex mutex_;
  std::string json_;
  std::string address_;
};

// `node`: this node's node actor; it is told the live members (cluster_nodes) on every
// change, and the other nodes reach it for the rooms homed here.
caf::actor spawn_cluster(caf::actor_system& sys, cluster_settings settings,
                         node_context_ptr ctx, std::shared_ptr<cluster_status> status,
                         caf::actor node);

} // namespace chorus::actors
