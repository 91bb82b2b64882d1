#include "actors/cluster.hpp"

#include "actors/clock.hpp"
#include "actors/cluster_messages.hpp"
#include "actors/messages.hpp"
#include "actors/rehome_messages.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "net/cluster.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/openssl/manager.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <map>
#include <set>
#include <random>

namespace chorus::actors {

namespace {

constexpr auto connect_timeout = std::chrono::seconds(5);
constexpr uint32_t max_backoff_ms = 10000;
constexpr size_t max_pending_admissions = 256;
constexpr size_t max_admissions_per_node = 4;
// A learnt (not configured) address that failed this many dials in a row is forgotten.
constexpr uint32_t max_attempts_learnt = 30;
constexpr int64_t pending_admission_ttl_ms = 10000;

// An admitted node.
struct link {
  caf::actor handle;
  cluster_member member;
  node_load load;
  int64_t last_heard_ms = 0;
  bool leaving = false; // it said it is leaving (SIGTERM): no room is placed there any more
};

// A node that said hello and has not proven the secret yet (keyed by the challenge this
// node sent it).
struct admission {
  caf::node_id from;
  std::string claimed_id;
  std::string initiator_nonce;
  int64_t since_ms = 0;
};

struct cluster_state {
  cluster_settings cfg;
  caf::actor node; // this node's node actor
  node_context_ptr ctx;
  std::shared_ptr<cluster_status> status;
  std::map<std::string, link> links;             // admitted nodes by node id
  std::map<caf::node_id, std::string> admitted;  // CAF node -> node id, for message checks
  std::map<std::string, admission> admissions;   // responder side, by our challenge
  std::set<std::string> connecting;              // cluster addresses being dialled
  std::set<std::string> retrying;                // addresses with a reconnect timer pending
  std::set<std::string> addresses;               // every cluster address to stay linked to
  std::minstd_rand rng{ids::random_u32()};
  uint64_t refused = 0;        // nodes that failed the secret
  uint64_t dropped = 0;        // messages from nodes not admitted
  uint64_t lost = 0;           // admitted nodes lost
  uint64_t dial_failures = 0;  // dials that failed (connection or TLS handshake)
  bool started = false;        // the first tick dialled the peers
  bool leaving = false;        // this node is leaving (it told the others)
  std::vector<std::string> homed_rooms; // the rooms homed on this node (asked every tick)
  static inline const char* name = "chorus.cluster";
};

using cluster_actor = caf::stateful_actor<cluster_state>;

cluster_member self_member(const cluster_state& st) {
  return {st.cfg.node_id, st.status->address(), st.cfg.client_url, st.node};
}

// Tells the node actor who is in the cluster now (this node included), for room placement.
void tell_node(cluster_actor* self) {
  auto& st = self->state;
  cluster_nodes view{st.cfg.node_id, {{st.cfg.node_id, st.node}}};
  for (auto& [id, l] : st.links)
    if (l.member.node && !l.leaving)
      view.nodes.push_back({id, l.member.node});
  self->send(st.node, std::move(view));
}

node_load current_load(const cluster_state& st) {
  node_load l;
  l.rooms = st.ctx->counters->rooms.load();
  l.peers = st.ctx->counters->peers.load();
  l.consumers = st.ctx->counters->consumers.load();
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    l.cpu_ms = uint64_t(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
               uint64_t(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
  return l;
}

// The view /healthz shows.
void publish_status(cluster_actor* self) {
  auto& st = self->state;
  auto now = mono_ms();
  auto quoted = [](std::string& out, const std::string& s) {
    out += '"';
    text::json_escape(out, s);
    out += '"';
  };
  std::string out = "\"nodeId\":";
  quoted(out, st.cfg.node_id);
  out += ",\"nodes\":[";
  bool first = true;
  for (auto& [id, l] : st.links) {
    out += first ? "{\"nodeId\":" : ",{\"nodeId\":";
    first = false;
    quoted(out, id);
    out += ",\"clusterAddress\":";
    quoted(out, l.member.cluster_address);
    out += ",\"clientUrl\":";
    quoted(out, l.member.client_url);
    out += ",\"rooms\":" + std::to_string(l.load.rooms) +
           ",\"peers\":" + std::to_string(l.load.peers) +
           ",\"consumers\":" + std::to_string(l.load.consumers) +
           ",\"cpuMs\":" + std::to_string(l.load.cpu_ms) +
           ",\"lastHeardMs\":" + std::to_string(now - l.last_heard_ms) +
           (l.leaving ? ",\"leaving\":true}" : "}");
  }
  out += "],\"roomsHomed\":" + std::to_string(st.homed_rooms.size()) + ",\"roomsHomedIds\":[";
  constexpr size_t max_listed = 100; // the first ones by name; the count says how many
  for (size_t i = 0; i < st.homed_rooms.size() && i < max_listed; ++i) {
    if (i)
      out += ',';
    quoted(out, st.homed_rooms[i]);
  }
  out += "],\"refused\":" + std::to_string(st.refused) +
         ",\"droppedMessages\":" + std::to_string(st.dropped) +
         ",\"lost\":" + std::to_string(st.lost) +
         ",\"dialFailures\":" + std::to_string(st.dial_failures) +
         (st.leaving ? ",\"leaving\":true" : "");
  st.status->set(std::move(out));
}

void connect_to(cluster_actor* self, const std::string& address, uint32_t attempt);

// One reconnect timer per address at a time (lose() and meet() may ask again meanwhile),
// with jitter so that two nodes dialling each other do not collide in step.
void retry_later(cluster_actor* self, const std::string& address, uint32_t attempt) {
  auto& st = self->state;
  const bool configured =
    std::find(st.cfg.peers.begin(), st.cfg.peers.end(), address) != st.cfg.peers.end();
  if (!configured && attempt + 1 >= max_attempts_learnt) {
    LOG_INFO("cluster", address << ": forgotten after " << attempt + 1 << " failed attempts");
    st.addresses.erase(address);
    return;
  }
  if (!st.retrying.insert(address).second)
    return;
  uint32_t delay = std::min<uint32_t>(max_backoff_ms, 500u << std::min<uint32_t>(attempt, 5));
  delay += std::uniform_int_distribution<uint32_t>{0, 250}(st.rng);
  self->delayed_send(self, std::chrono::milliseconds(delay), cluster_reconnect{address, attempt + 1});
}

// Whether `address` is the cluster address of an admitted node (or this node).
bool linked(const cluster_state& st, const std::string& address) {
  if (address == st.status->address())
    return true;
  for (auto& [id, l] : st.links)
    if (l.member.cluster_address == address)
      return true;
  return false;
}

void admit(cluster_actor* self, const caf::actor& handle, const cluster_member& member) {
  auto& st = self->state;
  bool fresh = st.links.count(member.node_id) == 0;
  auto& l = st.links[member.node_id];
  if (l.handle != handle) {
    if (l.handle) {
      self->demonitor(l.handle);
      st.admitted.erase(l.handle.node());
    }
    l.handle = handle;
    self->monitor(handle);
  }
  l.member = member;
  l.last_heard_ms = mono_ms();
  st.admitted[handle.node()] = member.node_id;
  if (!member.cluster_address.empty())
    st.addresses.insert(member.cluster_address);
  if (fresh)
    LOG_INFO("cluster", "node '" << member.node_id << "' joined (" << member.client_url
                                 << ", " << st.links.size() + 1 << " nodes)");
  publish_status(self);
  tell_node(self);
}

// Dials the members a node told of that this node has no link to.
void meet(cluster_actor* self, const std::vector<cluster_member>& members) {
  auto& st = self->state;
  for (auto& m : members)
    if (m.node_id != st.cfg.node_id && !m.cluster_address.empty() && !st.links.count(m.node_id) &&
        !st.connecting.count(m.cluster_address)) {
      st.addresses.insert(m.cluster_address);
      connect_to(self, m.cluster_address, 0);
    }
}

std::vector<cluster_member> members_of(const cluster_state& st) {
  std::vector<cluster_member> out;
  for (auto& [id, l] : st.links)
    out.push_back(l.member);
  return out;
}

void lose(cluster_actor* self, const std::string& node_id, const char* why) {
  auto& st = self->state;
  auto it = st.links.find(node_id);
  if (it == st.links.end())
    return;
  auto address = it->second.member.cluster_address;
  if (it->second.handle) {
    self->demonitor(it->second.handle);
    st.admitted.erase(it->second.handle.node());
  }
  st.links.erase(it);
  ++st.lost;
  LOG_WARN("cluster", "node '" << node_id << "' lost (" << why << "); " << st.links.size() + 1
                               << " nodes remain");
  publish_status(self);
  tell_node(self);
  // Dialled again after a backoff, never at once: a node lost while this one shuts down
  // (both stopped together) must not leave a connect in the middleman, which then keeps
  // the actor system from finishing its shutdown.
  if (!address.empty() && st.addresses.count(address))
    retry_later(self, address, 0);
}

// The initiator's side of admission: hello, check the welcome's proof, prove, accepted.
void handshake(cluster_actor* self, caf::actor remote, std::string address, uint32_t attempt) {
  auto& st = self->state;
  auto nonce = net::cluster::make_nonce();
  self->request(remote, connect_timeout, cluster_hello{st.cfg.node_id, nonce})
    .then(
      [self, remote, address, attempt, nonce](cluster_welcome& w) {
        auto& st = self->state;
        auto expected = net::cluster::proof(st.cfg.secret, net::cluster::welcome_role, w.node_id,
                                            st.cfg.node_id, nonce, w.nonce);
        if (w.node_id.empty() || w.node_id == st.cfg.node_id ||
            !net::cluster::same_proof(expected, w.proof)) {
          ++st.refused;
          LOG_WARN("cluster", address << ": refused: node '" << w.node_id
                                      << "' did not prove the cluster secret");
          st.connecting.erase(address);
          publish_status(self);
          retry_later(self, address, attempt);
          return;
        }
        cluster_proof p{st.cfg.node_id, w.nonce,
                        net::cluster::proof(st.cfg.secret, net::cluster::proof_role,
                                            st.cfg.node_id, w.node_id, nonce, w.nonce),
                        self_member(st)};
        self->request(remote, connect_timeout, std::move(p))
          .then(
            [self, remote, address, verified = w.node_id](cluster_accepted& a) {
              self->state.connecting.erase(address);
              if (a.member.node_id != verified) { // admit only the name that proved itself
                ++self->state.refused;
                LOG_WARN("cluster", address << ": refused: '" << verified
                                            << "' answered as '" << a.member.node_id << "'");
                return;
              }
              admit(self, remote, a.member);
              meet(self, a.members);
            },
            [self, address, attempt](caf::error& err) {
              LOG_WARN("cluster", address << ": admission refused: " << to_string(err));
              self->state.connecting.erase(address);
              retry_later(self, address, attempt);
            });
      },
      [self, address, attempt](caf::error& err) {
        LOG_DEBUG("cluster", address << ": no welcome: " << to_string(err));
        self->state.connecting.erase(address);
        retry_later(self, address, attempt);
      });
}

void connect_to(cluster_actor* self, const std::string& address, uint32_t attempt) {
  auto& st = self->state;
  if (linked(st, address) || st.connecting.count(address) || st.retrying.count(address))
    return; // linked, being dialled, or a reconnect timer will dial it
  std::string host;
  uint16_t port = 0;
  if (!text::split_host_port(address, host, port) || port == 0) {
    LOG_WARN("cluster", "'" << address << "' is not HOST:PORT");
    return;
  }
  st.connecting.insert(address);
  // With TLS the OpenSSL manager's connection actor dials (and verifies the other side's
  // certificate against the CA); without, the plain middleman's.
  auto mm = st.cfg.tls ? self->system().openssl_manager().actor_handle()
                       : self->system().middleman().actor_handle();
  self->request(mm, connect_timeout, caf::connect_atom::value, host, port)
    .then(
      [self, address, attempt](caf::node_id&, caf::strong_actor_ptr& ptr,
                               std::set<std::string>&) {
        if (!ptr) {
          self->state.connecting.erase(address);
          retry_later(self, address, attempt);
          return;
        }
        handshake(self, caf::actor_cast<caf::actor>(ptr), address, attempt);
      },
      [self, address, attempt](caf::error& err) {
        ++self->state.dial_failures;
        publish_status(self);
        if (attempt == 0)
          LOG_INFO("cluster", address << ": cannot connect yet (" << to_string(err)
                                      << "); retrying with backoff");
        self->state.connecting.erase(address);
        retry_later(self, address, attempt);
      });
}

// The node id a message's sender was admitted as, or "" (the message is then dropped).
std::string sender_id(cluster_actor* self) {
  auto sender = self->current_sender();
  if (!sender)
    return {};
  auto it = self->state.admitted.find(sender->node());
  return it != self->state.admitted.end() ? it->second : std::string{};
}

// Timer messages are this actor's own; another node must not drive them.
bool from_self(cluster_actor* self) {
  return caf::actor_cast<caf::actor_addr>(self->current_sender()) == self->address();
}

void tick(cluster_actor* self) {
  auto& st = self->state;
  auto now = mono_ms();
  if (!st.started) {
    st.started = true;
    for (auto& p : st.cfg.peers)
      connect_to(self, p, 0);
  }
  cluster_heartbeat hb{st.cfg.node_id, current_load(st)};
  std::vector<std::string> silent;
  for (auto& [id, l] : st.links) {
    if (now - l.last_heard_ms > int64_t(st.cfg.heartbeat_timeout_ms))
      silent.push_back(id);
    else
      self->send(l.handle, hb);
  }
  for (auto& id : silent)
    lose(self, id, "no heartbeat");
  std::erase_if(st.admissions, [now](const auto& kv) {
    return now - kv.second.since_ms > pending_admission_ttl_ms;
  });
  self->request(st.node, std::chrono::seconds(1), list_rooms_atom::value)
    .then([self](std::vector<std::string>& ids) {
            self->state.homed_rooms = std::move(ids);
            publish_status(self);
          },
          [](caf::error&) {});
  publish_status(self);
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.heartbeat_interval_ms),
                     cluster_tick_atom::value);
}

caf::behavior cluster_impl(cluster_actor* self, cluster_settings cfg, node_context_ptr ctx,
                           std::shared_ptr<cluster_status> status, caf::actor node) {
  auto& st = self->state;
  st.node = std::move(node);
  st.cfg = std::move(cfg);
  st.ctx = std::move(ctx);
  st.status = std::move(status);
  // Other nodes reach this actor: nothing they send may end it or make it answer. CAF's
  // defaults would quit on an error or exit message and print and answer anything else.
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
    ++self->state.dropped;
    return caf::message{};
  });
  self->set_error_handler([self](caf::error&) { ++self->state.dropped; });
  self->set_exit_handler([self](caf::exit_msg& em) {
    // Only this process (main's shutdown) ends the cluster actor.
    if (!em.source || em.source.node() == self->node())
      self->quit(em.reason);
    else
      ++self->state.dropped;
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    for (auto& [id, l] : self->state.links)
      if (l.handle.address() == dm.source) {
        auto name = id;
        lose(self, name, "connection lost");
        return;
      }
  });
  publish_status(self);
  tell_node(self);
  for (auto& p : st.cfg.peers)
    st.addresses.insert(p);
  // The first tick dials the peers (by then main has published this actor).
  self->delayed_send(self, std::chrono::milliseconds(100), cluster_tick_atom::value);
  return {
    // ---- admission, responder side --------------------------------------------------
    [self](cluster_hello& h) -> caf::result<cluster_welcome> {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender || h.node_id.empty() || h.node_id.size() > 128 ||
          h.node_id == st.cfg.node_id || h.nonce.size() != 64)
        return make_error(protocol::error_code::invalid_message, "bad hello");
      size_t from_node = 0;
      for (auto& [n, a] : st.admissions)
        from_node += a.from == sender->node() ? 1 : 0;
      if (st.admissions.size() >= max_pending_admissions || from_node >= max_admissions_per_node)
        return make_error(protocol::error_code::limit_exceeded, "too many admissions");
      auto nonce = net::cluster::make_nonce();
      st.admissions[nonce] = {sender->node(), h.node_id, h.nonce, mono_ms()};
      return cluster_welcome{st.cfg.node_id, nonce,
                             net::cluster::proof(st.cfg.secret, net::cluster::welcome_role,
                                                 st.cfg.node_id, h.node_id, h.nonce, nonce)};
    },
    [self](cluster_proof& p) -> caf::result<cluster_accepted> {
      auto& st = self->state;
      auto sender = self->current_sender();
      auto it = st.admissions.find(p.nonce);
      bool ok = sender && it != st.admissions.end() && it->second.from == sender->node() &&
                it->second.claimed_id == p.node_id && p.member.node_id == p.node_id &&
                net::cluster::same_proof(
                  net::cluster::proof(st.cfg.secret, net::cluster::proof_role, p.node_id,
                                      st.cfg.node_id, it->second.initiator_nonce, p.nonce),
                  p.proof);
      if (it != st.admissions.end())
        st.admissions.erase(it);
      if (!ok) {
        ++st.refused;
        LOG_WARN("cluster", "refused node '" << p.node_id
                                             << "': it did not prove the cluster secret");
        publish_status(self);
        return make_error(protocol::error_code::invalid_state, "refused");
      }
      auto members = members_of(st);
      admit(self, caf::actor_cast<caf::actor>(sender), p.member);
      return cluster_accepted{self_member(st), std::move(members)};
    },
    // ---- admitted nodes only ---------------------------------------------------------
    [self](cluster_heartbeat& hb) {
      auto& st = self->state;
      auto id = sender_id(self);
      if (id.empty() || id != hb.node_id) {
        ++st.dropped;
        return;
      }
      auto l = st.links.find(id);
      if (l == st.links.end())
        return;
      l->second.load = hb.load;
      l->second.last_heard_ms = mono_ms();
    },
    [self](cluster_leaving& m) {
      auto& st = self->state;
      auto id = sender_id(self);
      if (id.empty() || id != m.node_id) {
        ++st.dropped;
        return;
      }
      if (auto l = st.links.find(id); l != st.links.end() && !l->second.leaving) {
        LOG_INFO("cluster", "node '" << id << "' is leaving: its rooms move");
        l->second.leaving = true;
        tell_node(self);
        publish_status(self);
      }
    },
    // ---- this process ----------------------------------------------------------------
    // main, at SIGTERM: tell the others that this node is leaving, so that they place no
    // room here any more (its rooms are handed over by the node actor).
    [self](hand_over_atom) -> bool {
      auto& st = self->state;
      auto sender = self->current_sender();
      if (!sender || sender->node() != self->node()) {
        ++st.dropped;
        return false;
      }
      st.leaving = true;
      for (auto& [id, l] : st.links)
        self->send(l.handle, cluster_leaving{st.cfg.node_id});
      publish_status(self);
      return true;
    },
    // ---- own timers --------------------------------------------------------------------
    [self](cluster_tick_atom) {
      if (from_self(self)) // never from another node
        tick(self);
      else
        ++self->state.dropped;
    },
    [self](cluster_reconnect& r) {
      if (!from_self(self)) {
        ++self->state.dropped;
        return;
      }
      self->state.retrying.erase(r.address);
      if (self->state.addresses.count(r.address))
        connect_to(self, r.address, r.attempt);
    },
  };
}

} // namespace

caf::actor spawn_cluster(caf::actor_system& sys, cluster_settings settings,
                         node_context_ptr ctx, std::shared_ptr<cluster_status> status,
                         caf::actor node) {
  return sys.spawn(cluster_impl, std::move(settings), std::move(ctx), std::move(status),
                   std::move(node));
}

} // namespace chorus::actors
