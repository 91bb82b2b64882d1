// Joining the batches an actor behind its mail was sent (the producer's fan-out,
// actors/producer.cpp). Plain C++, no CAF: the actor says whether more mail waits, sends
// itself the flush message when told to, and hands the flush's packets on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace chorus::actors {

// An actor that handles a batch while more mail waits is behind: the batches behind it
// arrived while it was busy. Handing each on at once costs the full price per batch (for a
// producer: one entry or message per consumer, and one send per packet and consumer);
// joined, the next step takes them at once (a consumer's packets leave as one segmented
// send). So a batch offered while mail waits is held, and the batches after it are joined
// to it, in order, until the flush message the actor sends itself (behind the mail that was
// waiting when the first was held) comes up, or `max_items` are held. Nothing waits longer
// than the mail that was already there.
template <class T>
class batch_join {
public:
  explicit batch_join(std::size_t max_items = 64) : max_items_(max_items) {}

  enum class step {
    now,        // hand `batch` on now (what was held is in it, in front)
    held,       // held: nothing to do
    held_flush, // held: send the flush message now (none is on its way)
  };

  // Offers a batch; `mail_waiting`: more messages wait in the actor's mailbox.
  step offer(std::vector<T>& batch, bool mail_waiting) {
    if (batch.empty()) // nothing to hold: what is held waits for its flush
      return held_.empty() ? step::now : step::held;
    if (!held_.empty()) {
      held_.reserve(held_.size() + batch.size());
      for (auto& x : batch)
        held_.push_back(std::move(x));
      batch.swap(held_);
      held_.clear();
    }
    if (!mail_waiting || batch.size() >= max_items_)
      return step::now;
    held_.swap(batch);
    batch.clear();
    ++joined_;
    if (flush_queued_)
      return step::held;
    flush_queued_ = true;
    return step::held_flush;
  }

  // The flush message came up: what is held, to hand on now (maybe nothing).
  std::vector<T> flush() {
    flush_queued_ = false;
    return take();
  }

  // What is held, to hand on now, before the flush message comes up: before a message the
  // actor handles must not overtake it (a producer's pause or resume, told to its
  // consumers; its exit). The flush message is still on its way and then finds nothing (or
  // what was held after this).
  std::vector<T> take() {
    std::vector<T> out;
    out.swap(held_);
    return out;
  }

  std::size_t held() const noexcept { return held_.size(); }
  // Batches that were held (each counted once, when offered).
  std::uint64_t joined() const noexcept { return joined_; }

private:
  std::size_t max_items_;
  std::vector<T> held_;
  bool flush_queued_ = false;
  std::uint64_t joined_ = 0;
};

} // namespace chorus::actors
