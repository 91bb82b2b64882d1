#include "actors/relay.hpp"
#include "actors/monitor.hpp"

#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"

#include <caf/all.hpp>

#include <vector>

namespace chorus::actors {

namespace {

using relay_idle_atom = caf::atom_constant<caf::atom("relayidle")>;
constexpr auto first_consumer_timeout = std::chrono::seconds(10);

struct relay_state {
  caf::actor producer;
  node_context_ptr ctx;
  std::vector<caf::actor> consumers;
  std::vector<uint8_t> demand; // parallel to consumers: layer_demand (all until said)
  uint8_t sent_demand = 0xff;  // the union last sent to the producer
  bool paused = false;
  std::vector<source_clock> clocks; // one per encoding at most
  static inline const char* name = "chorus.relay";
};

using relay_actor = caf::stateful_actor<relay_state>;

void forward_to_consumers(relay_actor* self, const caf::message& msg) {
  for (auto& c : self->state.consumers)
    self->send(c, msg);
}

// The producer sends across the link only the encodings some consumer here needs: the
// union of theirs, sent when it changes.
void update_demand(relay_actor* self) {
  auto& st = self->state;
  uint8_t mask = 0;
  for (auto d : st.demand)
    mask |= d;
  if (mask == st.sent_demand || st.consumers.empty())
    return;
  st.sent_demand = mask;
  self->send(st.producer, layer_demand{caf::actor_cast<caf::actor>(self), mask});
}

caf::behavior relay_impl(relay_actor* self, caf::actor producer, node_context_ptr ctx) {
  auto& st = self->state;
  st.producer = std::move(producer);
  st.ctx = std::move(ctx);
  st.ctx->counters->relays.fetch_add(1);
  self->attach_functor([counters = st.ctx->counters] { counters->relays.fetch_sub(1); });
  monitor_for_life(self, st.producer);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source == st.producer.address()) {
      self->quit(); // the consumers' monitors end them as if their producer ended
      return;
    }
    for (size_t i = 0; i < st.consumers.size(); ++i)
      if (st.consumers[i].address() == dm.source) {
        st.consumers.erase(st.consumers.begin() + ptrdiff_t(i));
        st.demand.erase(st.demand.begin() + ptrdiff_t(i));
        break;
      }
    if (st.consumers.empty())
      self->quit(); // the producer's monitor drops this relay from its consumers
    else
      update_demand(self);
  });
  // Attached before anything else: consumers attaching meanwhile wait in the mailbox, so
  // each gets the producer's current state in its reply.
  self->request(st.producer, std::chrono::seconds(10), attach_consumer{caf::actor_cast<caf::actor>(self)})
    .await([self](attach_reply& r) {
             self->state.paused = r.paused;
             self->state.clocks = std::move(r.clocks);
           },
           [self](caf::error&) { self->quit(); });
  // The peer that asked for this relay may fail to make its consumer (capabilities, a
  // limit): a relay that never got one must not stay attached to the producer.
  self->delayed_send(self, first_consumer_timeout, relay_idle_atom::value);
  return {
    [self](attach_consumer& a) -> attach_reply {
      auto& st = self->state;
      self->monitor(a.consumer);
      st.consumers.push_back(a.consumer);
      st.demand.push_back(0xff);
      update_demand(self);
      return attach_reply{st.paused, st.clocks};
    },
    [self](const layer_demand& d) {
      auto& st = self->state;
      for (size_t i = 0; i < st.consumers.size(); ++i)
        if (st.consumers[i] == d.from) {
          st.demand[i] = d.spatial_mask;
          update_demand(self);
          return;
        }
    },
    [self](const media_packets& in) {
      auto& st = self->state;
      st.ctx->counters->relay_packets_in.fetch_add(in.packets.size(), std::memory_order_relaxed);
      st.ctx->counters->relay_packets_out.fetch_add(in.packets.size() * st.consumers.size(),
                                                    std::memory_order_relaxed);
      forward_to_consumers(self, self->current_mailbox_element()->move_content_to_message());
    },
    // A data producer's messages (a relay of a data producer): as media, once per link.
    [self](const data_message&) {
      auto& st = self->state;
      st.ctx->counters->relay_packets_in.fetch_add(1, std::memory_order_relaxed);
      st.ctx->counters->relay_packets_out.fetch_add(st.consumers.size(), std::memory_order_relaxed);
      forward_to_consumers(self, self->current_mailbox_element()->move_content_to_message());
    },
    [self](const source_clock& c) {
      auto& clocks = self->state.clocks;
      std::erase_if(clocks, [&](const source_clock& k) { return k.spatial == c.spatial; });
      clocks.push_back(c);
      forward_to_consumers(self, caf::make_message(c));
    },
    [self](const layer_bitrates& b) { forward_to_consumers(self, caf::make_message(b)); },
    [self](const producer_state& ps) {
      self->state.paused = ps.paused;
      forward_to_consumers(self, caf::make_message(ps));
    },
    [self](keyframe_request_atom) { self->send(self->state.producer, keyframe_request_atom::value); },
    [self](keyframe_request_atom, uint8_t spatial) {
      self->send(self->state.producer, keyframe_request_atom::value, spatial);
    },
    [self](relay_idle_atom) {
      if (self->state.consumers.empty())
        self->quit();
    },
  };
}

} // namespace

caf::actor spawn_relay(caf::actor_system& sys, caf::actor producer, node_context_ptr ctx) {
  return sys.spawn(relay_impl, std::move(producer), std::move(ctx));
}

} // namespace chorus::actors
