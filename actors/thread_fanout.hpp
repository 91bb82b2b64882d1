// A producer's consumers grouped by the media I/O thread of their transport, and the hand-off
// of a received batch to each such thread: one posted task per thread and batch, which
// enters the consumers homed there through their lanes (docs/design/thread-fanout.md).
//
// Without it, a fan-out too large for one thread's lanes (or made while the calling thread
// is busy) becomes one message per consumer and batch, and each consumer's turn runs on
// whichever worker takes it: on eight cores that cost twice a lane's per delivered packet.
// Handed to its consumers' threads, the fan-out is spread over the cores that receive for
// those consumers' transports (their RTCP already enters them there) and costs a lane entry
// per consumer, as on one core.
//
// Order: a consumer's batches reach it in the producer's order. All of one thread's
// consumers are handed a batch through that thread's queue (FIFO) while an earlier batch
// handed to it is not yet done (pending), never through a lane or message of the producer's
// own; a task that finds a consumer busy sends it the batch as a message, and a consumer's
// lane opens only once its mailbox is empty.
//
// Used by the producer's actor only (one thread at a time); the tasks run on the I/O
// threads and share only the groups (immutable once built) and atomic counters with it.
#pragma once

#include "actors/consumer.hpp"

#include <caf/actor.hpp>
#include <caf/message.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace chorus::net {
class media_io;
}

namespace chorus::actors {

class thread_fanout {
public:
  // Counted by the tasks, read by the producer for its stats and the node's totals.
  struct counters {
    std::atomic<uint64_t> handoffs{0};      // tasks posted (a batch to one thread)
    std::atomic<uint64_t> lane_batches{0};  // consumer batches entered through a lane there
    std::atomic<uint64_t> message_batches{0}; // ... sent as a message (consumer busy, thread busy)
  };

  // `io` null or with one thread: never hands anything off (enabled() false).
  explicit thread_fanout(std::shared_ptr<net::media_io> io = nullptr);

  bool enabled() const noexcept { return io_ != nullptr; }

  // The consumers changed (attached, detached): the groups are rebuilt at the next refresh.
  void consumers_changed() noexcept { stale_ = true; }

  // Reads the consumers' homes (at most every tuning::thread_homes_refresh_ms, or at once
  // after consumers_changed) and rebuilds the groups when one changed. `lanes[i]` is
  // consumers[i]'s lane (null: a remote consumer, never handed off).
  void refresh(const std::vector<caf::actor>& consumers,
               const std::vector<caf::abstract_actor*>& lanes, int64_t now_ms);

  // Consumer i's group (its home thread), as of the last refresh; -1: none.
  int home(std::size_t i) const noexcept {
    return i < homes_.size() ? homes_[i] : -1;
  }
  // The thread's group is non-empty.
  bool has_group(int thread) const noexcept {
    return thread >= 0 && std::size_t(thread) < groups_.size() && groups_[std::size_t(thread)];
  }
  // A batch handed to that thread is not yet done: its consumers must be handed this one too.
  bool pending(int thread) const noexcept;

  // Posts `batch` (a media_packets message) to the thread for its whole group, or, called
  // on that thread with no earlier batch of the producer queued there, enters the group
  // at once (not counted as a hand-off). False when the thread is not running: then
  // nothing was handed off and the caller sends the group's consumers the batch itself.
  bool hand_off(int thread, const caf::message& batch);

  std::size_t threads() const noexcept { return groups_.size(); }
  const counters& stats() const noexcept;


private:
  struct group {
    std::vector<caf::actor> handles;          // keep the consumers alive for the tasks
    std::vector<caf::abstract_actor*> lanes;  // of handles, same order
  };
  struct shared_state {
    explicit shared_state(std::size_t threads) : pending(threads) {}
    std::vector<std::atomic<uint32_t>> pending; // tasks posted, not yet done, per thread
    counters stats;
  };
  static void run(const group& g, const caf::message& batch, shared_state& shared);

  std::shared_ptr<net::media_io> io_;
  std::shared_ptr<shared_state> shared_;
  std::vector<std::shared_ptr<const group>> groups_; // per thread; null: no consumer there
  std::vector<int> homes_;                           // per consumer
  int64_t refreshed_ms_ = 0;
  bool stale_ = true;
};

} // namespace chorus::actors
