#include "net/thread_placement.hpp"

#include <algorithm>

namespace chorus::net {

thread_placement::thread_placement(std::size_t threads, std::size_t per_thread)
    : per_thread_(per_thread), load_(std::max<std::size_t>(threads, 1), 0) {}

std::size_t thread_placement::least_loaded() const {
  return std::size_t(std::min_element(load_.begin(), load_.end()) - load_.begin());
}

std::size_t thread_placement::place(uint64_t group) {
  std::size_t chosen = least_loaded();
  if (group != 0 && per_thread_ != 0 && load_.size() > 1) {
    auto& counts = groups_.try_emplace(group, load_.size(), 0).first->second;
    bool found = false;
    for (std::size_t t = 0; t < counts.size(); ++t) {
      if (counts[t] == 0 || counts[t] >= per_thread_)
        continue;
      if (!found || load_[t] < load_[chosen]) {
        chosen = t;
        found = true;
      }
    }
    if (!found) // a new room, or its threads full: the least loaded thread without it
      for (std::size_t t = 0; t < counts.size(); ++t)
        if (counts[t] == 0 && (!found || load_[t] < load_[chosen])) {
          chosen = t;
          found = true;
        }
    // (Not found: the room fills every thread; the least loaded takes one more.)
    ++counts[chosen];
  }
  ++load_[chosen];
  return chosen;
}

void thread_placement::release(uint64_t group, std::size_t thread) {
  if (thread >= load_.size())
    return;
  if (load_[thread] > 0)
    --load_[thread];
  if (group == 0)
    return;
  auto it = groups_.find(group);
  if (it == groups_.end())
    return;
  auto& counts = it->second;
  if (counts[thread] > 0)
    --counts[thread];
  if (std::all_of(counts.begin(), counts.end(), [](std::size_t c) { return c == 0; }))
    groups_.erase(it);
}

std::size_t thread_placement::group_load(uint64_t group, std::size_t thread) const {
  auto it = groups_.find(group);
  return it == groups_.end() || thread >= it->second.size() ? 0 : it->second[thread];
}

} // namespace chorus::net
