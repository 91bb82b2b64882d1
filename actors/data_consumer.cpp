#include "actors/data_consumer.hpp"
#include "actors/monitor.hpp"

#include "actors/clock.hpp"
#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <sstream>

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
  static inline const char* name = "chorus.data_consumer";
};

using data_consumer_actor = caf::stateful_actor<data_consumer_state>;

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
    if (dm.source != st.producer.address() && dm.source != st.transport.address())
      return;
    if (auto peer = caf::actor_cast<caf::actor>(st.peer))
      self->send(peer, protocol::data_consumer_closed_event{st.args.id, st.args.data_producer_id});
    self->quit();
  });
  // Its peer attaches it to the data producer before answering consumeData
  // (create_data_consumer): from the answer on, no message passes it by.
  return {
    [self](const data_message& m) {
      auto& st = self->state;
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
      self->send(st.transport,
                 data_out{st.args.stream.stream_id, st.args.stream,
                          self->current_mailbox_element()->copy_content_to_message()});
    },
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
