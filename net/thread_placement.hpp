// Which media I/O thread a new transport lives on.
//
// A transport's receive, its consumers' lanes and its send outbox run on its I/O thread, and a
// producer hands a batch to every other thread where its consumers live (actors/
// thread_fanout.hpp): a room whose transports share one thread forwards without crossing
// cores, as on one core. So a room's transports go together: a new one goes to the least
// loaded of the threads its room already uses where the room has fewer than `per_thread`
// transports, and only when all of those are full (or the room is new) to the least loaded
// thread of all. A lecture larger than a thread's share spreads over as many threads as it
// needs; many small rooms spread over every thread, one room to a thread. Load is the count
// of transports living on a thread. Group 0 (no room: a plain transport) and per_thread 0
// (grouping off) take the least loaded thread.
//
// Pure: counts in, a thread out; the caller serializes calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace chorus::net {

class thread_placement {
public:
  // threads at least 1.
  thread_placement(std::size_t threads, std::size_t per_thread);

  // Chooses the thread of a new transport of `group` and counts it there.
  std::size_t place(uint64_t group);
  // The transport of `group` placed on `thread` is gone.
  void release(uint64_t group, std::size_t thread);

  std::size_t load(std::size_t thread) const { return load_.at(thread); }
  // Transports of `group` on `thread` (0 when unknown).
  std::size_t group_load(uint64_t group, std::size_t thread) const;
  // Groups with at least one transport placed (a room's entry goes with its last one).
  std::size_t groups() const { return groups_.size(); }

private:
  std::size_t least_loaded() const;

  std::size_t per_thread_;
  std::vector<std::size_t> load_;
  std::unordered_map<uint64_t, std::vector<std::size_t>> groups_; // per thread
};

} // namespace chorus::net
