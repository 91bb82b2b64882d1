#include "actors/data_producer.hpp"

#include "actors/clock.hpp"
#include "actors/data_messages.hpp"
#include "actors/media_messages.hpp"
#include "common/text.hpp"

#include <caf/all.hpp>

#include <deque>
#include <sstream>
#include <vector>

namespace chorus::actors {

namespace {

struct data_producer_state {
  data_producer_spawn_args args;
  node_context_ptr ctx;
  std::vector<caf::actor> consumers;
  // The room's own: its last messages, for consumers resuming after a move (data_replay).
  std::deque<data_message> recent;
  uint64_t messages_in = 0, bytes_in = 0, messages_out = 0, bytes_out = 0;
  static inline const char* name = "chorus.data_producer";
};

using data_producer_actor = caf::stateful_actor<data_producer_state>;

// How many of the room's own messages a resuming consumer can catch up on: a move takes
// well under a second, and a room's chat is a few messages a second at most.
constexpr std::size_t replay_depth = 256;

std::string stats_json(const data_producer_state& st) {
  std::string label;
  text::json_escape(label, st.args.label);
  std::ostringstream os;
  os << "[{\"type\":\"data-producer\",\"id\":\"" << st.args.id << "\",\"timestamp\":" << wall_ms()
     << ",\"label\":\"" << label << "\",\"streamId\":" << st.args.stream.stream_id
     << ",\"messagesReceived\":" << st.messages_in << ",\"bytesReceived\":" << st.bytes_in
     << ",\"messagesSent\":" << st.messages_out << ",\"bytesSent\":" << st.bytes_out
     << ",\"consumers\":" << st.consumers.size() << "}]";
  return os.str();
}

caf::behavior data_producer_impl(data_producer_actor* self, data_producer_spawn_args args,
                                 node_context_ptr ctx) {
  auto& st = self->state;
  st.args = std::move(args);
  st.ctx = std::move(ctx);
  st.ctx->counters->data_producers.fetch_add(1);
  self->attach_functor([counters = st.ctx->counters] { counters->data_producers.fetch_sub(1); });
  self->set_down_handler([self](caf::down_msg& dm) {
    std::erase_if(self->state.consumers,
                  [&](const caf::actor& c) { return c.address() == dm.source; });
  });
  return {
    [self](const data_message& m) {
      auto& st = self->state;
      ++st.messages_in;
      st.bytes_in += m.data.size();
      st.ctx->counters->data_messages_in.fetch_add(1, std::memory_order_relaxed);
      st.messages_out += st.consumers.size();
      st.bytes_out += m.data.size() * st.consumers.size();
      if (m.seq != 0) {
        st.recent.push_back(m);
        if (st.recent.size() > replay_depth)
          st.recent.pop_front();
      }
      if (st.consumers.empty())
        return;
      // One message, shared by every consumer (CAF messages are reference counted).
      auto msg = self->current_mailbox_element()->move_content_to_message();
      for (auto& c : st.consumers)
        self->send(c, msg);
    },
    [self](const data_replay& q) {
      data_replay_reply r;
      for (auto& m : self->state.recent)
        if (m.seq > q.after)
          r.messages.push_back(m);
      return r;
    },
    [self](attach_consumer& a) -> attach_reply {
      self->monitor(a.consumer);
      self->state.consumers.push_back(a.consumer);
      return attach_reply{};
    },
    [self](protocol::data_producer_request& r) -> caf::result<protocol::stats_reply> {
      if (r.op != protocol::data_op::get_stats)
        return make_error(protocol::error_code::invalid_state, "handled by the peer");
      return protocol::stats_reply{stats_json(self->state)};
    },
  };
}

} // namespace

caf::actor spawn_data_producer(caf::event_based_actor* owner, data_producer_spawn_args args,
                               node_context_ptr ctx) {
  return owner->spawn<caf::linked>(data_producer_impl, std::move(args), std::move(ctx));
}

} // namespace chorus::actors
