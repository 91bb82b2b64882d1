// The ticker's schedule (actors/ticker.hpp): entries served every `period` ticks, each in a
// phase of its own, so that many entries of one period are spread over its ticks instead
// of all falling due on the same one.
//
// A wheel of `slots` lists; an entry with period p (1 <= p <= slots) first falls due
// 1 + (k mod p) ticks after it was added, k counting the entries added with that period (a
// round robin over the period's phases), and every p ticks after that. advance() moves to
// the next tick and hands out the entries due on it; the caller keeps each by returning
// true from its visitor (it is then due again p ticks later) or drops it (false).
//
// Pure: no actors, no clock; the caller ticks it. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace chorus::actors {

template <class T>
class tick_wheel {
public:
  explicit tick_wheel(std::size_t slots)
    : slots_(std::max<std::size_t>(1, slots)), next_phase_(slots_.size() + 1) {}

  std::size_t size() const noexcept { return size_; }
  uint64_t now() const noexcept { return tick_; }

  // Adds `value`, due every `period` ticks (clamped to 1..the number of slots).
  void add(T value, std::size_t period) {
    period = std::clamp<std::size_t>(period, 1, slots_.size());
    const std::size_t phase = next_phase_[period]++ % period;
    place({std::move(value), uint32_t(period)}, tick_ + 1 + phase);
    ++size_;
  }

  // Moves to the next tick; calls keep(value) for each entry due on it, in the order they
  // were placed there. Returns how many were due.
  template <class Keep>
  std::size_t advance(Keep&& keep) {
    ++tick_;
    auto& slot = slots_[tick_ % slots_.size()];
    due_.clear();
    due_.swap(slot);
    for (auto& e : due_) {
      if (keep(e.value))
        place(std::move(e), tick_ + e.period);
      else
        --size_;
    }
    const std::size_t n = due_.size();
    due_.clear();
    return n;
  }

private:
  struct entry {
    T value;
    uint32_t period = 1;
  };

  void place(entry e, uint64_t at) { slots_[at % slots_.size()].push_back(std::move(e)); }

  std::vector<std::vector<entry>> slots_;
  std::vector<entry> due_;                      // the entries of the tick being served
  std::vector<std::size_t> next_phase_;         // per period: entries added so far
  uint64_t tick_ = 0;
  std::size_t size_ = 0;
};

} // namespace chorus::actors
