#include "actors/thread_fanout.hpp"
#include "actors/media_tuning.hpp"

#include "actors/clock.hpp"
#include "actors/media_messages.hpp"
#include "actors/process_load.hpp"
#include "net/media_io.hpp"
#include "net/send_outbox.hpp"

#include <caf/mailbox_element.hpp>
#include <caf/message_id.hpp>

namespace chorus::actors {

thread_fanout::thread_fanout(std::shared_ptr<net::media_io> io) {
  if (!io || io->threads() < 2)
    return;
  io_ = std::move(io);
  shared_ = std::make_shared<shared_state>(io_->threads());
  groups_.resize(io_->threads());
}

void thread_fanout::refresh(const std::vector<caf::actor>& consumers,
                            const std::vector<caf::abstract_actor*>& lanes, int64_t now_ms) {
  if (!io_ || (!stale_ && now_ms - refreshed_ms_ < tuning::thread_homes_refresh_ms))
    return;
  refreshed_ms_ = now_ms;
  bool changed = stale_ || homes_.size() != consumers.size();
  homes_.resize(consumers.size(), -1);
  for (std::size_t i = 0; i < consumers.size(); ++i) {
    int h = i < lanes.size() ? consumer_home_thread(lanes[i]) : -1;
    if (h >= int(groups_.size()))
      h = -1;
    if (h != homes_[i]) {
      homes_[i] = h;
      changed = true;
    }
  }
  stale_ = false;
  if (!changed)
    return;
  // New groups: a task still running holds the old ones (and with them its consumers).
  std::vector<std::shared_ptr<group>> fresh(groups_.size());
  for (std::size_t i = 0; i < consumers.size(); ++i) {
    const int h = homes_[i];
    if (h < 0)
      continue;
    auto& g = fresh[std::size_t(h)];
    if (!g)
      g = std::make_shared<group>();
    g->handles.push_back(consumers[i]);
    g->lanes.push_back(lanes[i]);
  }
  for (std::size_t t = 0; t < groups_.size(); ++t)
    groups_[t] = std::move(fresh[t]);
}

const thread_fanout::counters& thread_fanout::stats() const noexcept {
  static const counters none;
  return shared_ ? shared_->stats : none;
}

bool thread_fanout::pending(int thread) const noexcept {
  return thread >= 0 && std::size_t(thread) < groups_.size() &&
         shared_->pending[std::size_t(thread)].load(std::memory_order_acquire) != 0;
}

bool thread_fanout::hand_off(int thread, const caf::message& batch) {
  if (!has_group(thread))
    return false;
  const auto t = std::size_t(thread);
  auto& pending = shared_->pending[t];
  if (net::media_io::current_thread() == thread &&
      pending.load(std::memory_order_acquire) == 0) {
    // The group lives on the calling thread (a room on one thread): what the task would
    // do there, done now, without a queue, a wakeup or a copy of the group's handles.
    run(*groups_[t], batch, *shared_);
    return true;
  }
  pending.fetch_add(1, std::memory_order_relaxed);
  const bool posted = io_->post(t, [g = groups_[t], batch, shared = shared_, t] {
    run(*g, batch, *shared);
    // After every entry and message of this batch: the producer may reach these consumers
    // directly again once no batch to this thread is left (release: what run did is seen).
    shared->pending[t].fetch_sub(1, std::memory_order_release);
  });
  if (!posted) {
    pending.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  shared_->stats.handoffs.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// On the group's I/O thread. While that thread has the time (lanes_busy, its own CPU),
// each idle consumer takes the batch through its lane, sending from this thread's outbox;
// a busy consumer, or every one while the thread is busy, gets it as a message (a turn on
// a worker).
void thread_fanout::run(const group& g, const caf::message& batch, shared_state& shared) {
  const auto& in = batch.get_as<media_packets>(0);
  fanout_clock clock{in.packets.size(), mono_us()};
  const bool lanes = !lanes_busy(clock.now_us() / 1000);
  uint64_t entered = 0, messaged = 0;
  const std::span<caf::abstract_actor* const> all{g.lanes};
  for (std::size_t i = 0; i < g.lanes.size(); ++i) {
    if (lanes) {
      prefetch_lanes_ahead(all, i);
      if (enter_consumer_lane(g.lanes[i], in, nullptr, clock.before(i))) {
        ++entered;
        continue;
      }
    }
    // The consumer's earlier batches (this wakeup's tasks) may still wait in this thread's
    // outbox: they leave before the message's turn on a worker can send this one.
    if (messaged == 0)
      net::send_outbox::flush_current();
    g.handles[i]->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, batch),
                          nullptr);
    ++messaged;
  }
  shared.stats.lane_batches.fetch_add(entered, std::memory_order_relaxed);
  shared.stats.message_batches.fetch_add(messaged, std::memory_order_relaxed);
}

} // namespace chorus::actors
