#include "actors/data_consumer.hpp"
#include "actors/monitor.hpp"

#include "actors/clock.hpp"
#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <sstream>
#include <utility>

namespace chorus::actors {

namespace {

struct data_consumer_state {
  data_consumer_spawn_args args;
  caf::actor producer;
  caf::actor transport;
  caf::actor_addr peer;
  std::shared_ptr<data_send_shared> shared;
  node_context_ptr ctx;
  uint64_t messages_out = 0, bytes_out = 0, dropped = 0, dropped_bytes = 0;
  // Time from the transport taking a message in to this consumer handing it on (same host
  // clock; messages relayed from another host are not counted).
  uint64_t delay_samples = 0;
  int64_t delay_sum_us = 0, delay_max_us = 0;
  // Of the room's own (follows_room): the number of the last message handed on, and while
  // resuming after a move (the replay asked for, not answered yet) the messages that came
  // meanwhile, handed on after the replay.
  uint64_t last_seq = 0;
  bool resuming = false;
  std::vector<caf::message> held;
  static inline const char* name = "chorus.data_consumer";
};

using data_consumer_actor = caf::stateful_actor<data_consumer_state>;

// While resuming: how many messages wait for the replay, and how long it may take.
constexpr std::size_t max_held = 1024;
constexpr auto resume_timeout = std::chrono::seconds(10);

std::string stats_json(const data_consumer_state& st) {
  std::ostringstream os;
  os << "[{\"type\":\"data-consumer\",\"id\":\"" << st.args.id << "\",\"timestamp\":" << wall_ms()
     << ",\"dataProducerId\":\"" << st.args.data_producer_id
     << "\",\"streamId\":" << st.args.stream.stream_id << ",\"messagesSent\":" << st.messages_out
     << ",\"bytesSent\":" << st.bytes_out << ",\"messagesDropped\":" << st.dropped
     << ",\"bytesDropped\":" << st.dropped_bytes
     << ",\"serverDelayAvgUs\":" << (st.delay_samples ? st.delay_sum_us / int64_t(st.delay_samples) : 0)
     << ",\"serverDelayMaxUs\":" << st.delay_max_us
     << ",\"bufferedAmount\":" << st.shared->queued_bytes.load(std::memory_order_relaxed) << "}]";
  return os.str();
}

// Hands one message (`msg` holds `m`) to the transport, within the transport's bound; of
// the room's own, each number once.
void hand_on(data_consumer_actor* self, const data_message& m, caf::message msg) {
  auto& st = self->state;
  if (st.args.follows_room && m.seq != 0) {
    if (m.seq <= st.last_seq)
      return; // had it already (before the move, or in the replay)
    st.last_seq = m.seq;
  }
  const auto size = static_cast<int64_t>(m.data.size());
  if (const int64_t d = mono_us() - m.received_us; m.received_us > 0 && d >= 0 && d < 60'000'000) {
    ++st.delay_samples;
    st.delay_sum_us += d;
    st.delay_max_us = std::max(st.delay_max_us, d);
  }
  // Bounded: what the transport has not taken yet, plus this message.
  if (st.shared->queued_bytes.load(std::memory_order_relaxed) + size > st.shared->limit) {
    ++st.dropped;
    st.dropped_bytes += static_cast<uint64_t>(size);
    return;
  }
  st.shared->queued_bytes.fetch_add(size, std::memory_order_relaxed);
  ++st.messages_out;
  st.bytes_out += static_cast<uint64_t>(size);
  self->send(st.transport, data_out{st.args.stream.stream_id, st.args.stream, std::move(msg)});
}

void close_for_peer(data_consumer_actor* self) {
  auto& st = self->state;
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, protocol::data_consumer_closed_event{st.args.id, st.args.data_producer_id});
  self->quit();
}

// The replay came (or failed): what it has after the last message handed on, then what
// came meanwhile.
void end_resume(data_consumer_actor* self, std::vector<data_message> replayed) {
  auto& st = self->state;
  st.resuming = false;
  for (auto& m : replayed) {
    auto msg = caf::make_message(std::move(m));
    hand_on(self, msg.get_as<data_message>(0), msg);
  }
  for (auto& msg : std::exchange(st.held, {})) // only data_message fills it
    hand_on(self, msg.get_as<data_message>(0), msg);
}

// The room's own data producer found again after a move (data_source): attached to it (or
// this node's relay), and caught up on what it sent before the attach.
void resume(data_consumer_actor* self, data_source src) {
  auto& st = self->state;
  if (!src.data_producer)
    return;
  st.producer = src.data_producer;
  monitor_for_life(self, st.producer);
  st.resuming = true;
  self->request(st.producer, resume_timeout, attach_consumer{caf::actor_cast<caf::actor>(self)})
    .then(
      [self, origin = std::move(src.origin)](attach_reply&) {
        if (!origin) {
          end_resume(self, {});
          return;
        }
        self->request(origin, resume_timeout, data_replay{self->state.last_seq})
          .then([self](data_replay_reply& r) { end_resume(self, std::move(r.messages)); },
                [self](caf::error&) { end_resume(self, {}); });
      },
      [self](caf::error& err) {
        LOG_DEBUG("data-consumer", self->state.args.id << ": attach failed: " << to_string(err));
        // Of the room's own: the producer ended meanwhile (a room that moves on at once);
        // its down message tells the peer to find it again.
        if (self->state.args.follows_room)
          end_resume(self, {});
        else
          close_for_peer(self);
      });
}

caf::behavior data_consumer_impl(data_consumer_actor* self, data_consumer_spawn_args args,
                                 caf::actor producer, caf::actor transport,
                                 std::shared_ptr<data_send_shared> shared, caf::actor_addr peer,
                                 node_context_ptr ctx) {
  auto& st = self->state;
  st.args = std::move(args);
  st.producer = std::move(producer);
  st.transport = std::move(transport);
  st.shared = std::move(shared);
  st.peer = std::move(peer);
  st.ctx = std::move(ctx);
  st.ctx->counters->data_consumers.fetch_add(1);
  self->attach_functor([counters = st.ctx->counters] { counters->data_consumers.fetch_sub(1); });
  monitor_for_life(self, st.producer);
  monitor_for_life(self, st.transport);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    const bool producer = st.producer && dm.source == st.producer.address();
    if (!producer && dm.source != st.transport.address())
      return;
    auto peer = caf::actor_cast<caf::actor>(st.peer);
    if (producer && st.args.follows_room && peer) {
      st.producer = nullptr;
      self->send(peer, data_source_lost{st.args.id});
      return;
    }
    close_for_peer(self);
  });
  // Its peer attaches it to the data producer before answering consumeData
  // (create_data_consumer): from the answer on, no message passes it by.
  return {
    [self](const data_message& m) {
      auto& st = self->state;
      if (st.resuming) {
        if (st.held.size() < max_held) {
          st.held.push_back(self->current_mailbox_element()->copy_content_to_message());
        } else {
          ++st.dropped;
          st.dropped_bytes += m.data.size();
        }
        return;
      }
      hand_on(self, m, self->current_mailbox_element()->copy_content_to_message());
    },
    [self](data_source& src) { resume(self, std::move(src)); },
    [self](protocol::data_consumer_request& r) -> caf::result<protocol::stats_reply> {
      if (r.op != protocol::data_op::get_stats)
        return make_error(protocol::error_code::invalid_state, "handled by the peer");
      return protocol::stats_reply{stats_json(self->state)};
    },
  };
}

} // namespace

caf::actor spawn_data_consumer(caf::event_based_actor* peer, data_consumer_spawn_args args,
                               caf::actor data_producer, caf::actor transport,
                               std::shared_ptr<data_send_shared> shared, node_context_ptr ctx) {
  return peer->spawn<caf::linked>(data_consumer_impl, std::move(args), std::move(data_producer),
                                  std::move(transport), std::move(shared), peer->address(),
                                  std::move(ctx));
}

} // namespace chorus::actors
