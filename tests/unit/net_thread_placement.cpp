// Which I/O thread a new transport lives on (net/thread_placement.hpp): a room's transports
// together until its share of a thread is full, rooms spread over the threads.
#include "net/thread_placement.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

using chorus::net::thread_placement;

namespace {

// A step: a transport of `group` opens (release false) or the one of `group` placed on
// `thread` closes (release true); `expect` is the thread an opening one must get.
struct step {
  uint64_t group;
  bool release;
  std::size_t thread_or_expect;
};
step open(uint64_t group, std::size_t expect) { return {group, false, expect}; }
step close(uint64_t group, std::size_t thread) { return {group, true, thread}; }

} // namespace

TEST_CASE("thread placement: where each transport goes") {
  struct row {
    const char* name;
    std::size_t threads, per_thread;
    std::vector<step> steps;
  };
  const std::vector<row> rows = {
    {"a room stays on its first thread", 4, 3, {open(7, 0), open(7, 0), open(7, 0)}},
    {"a second room goes to an empty thread", 4, 3, {open(7, 0), open(8, 1), open(7, 0), open(8, 1)}},
    {"rooms joining interleaved get a thread each", 3, 10,
     {open(1, 0), open(2, 1), open(3, 2), open(1, 0), open(2, 1), open(3, 2), open(4, 0)}},
    {"a full share spills to the least loaded thread", 3, 2,
     {open(7, 0), open(7, 0), open(8, 1), open(7, 2), open(7, 2), open(7, 1)}},
    {"a spilled room keeps to the thread it spilled to", 3, 2,
     {open(9, 0), open(7, 1), open(7, 1), open(7, 2), open(9, 0), open(8, 2), open(7, 2)}},
    {"a room on every thread at its share takes the least loaded", 2, 1,
     {open(7, 0), open(7, 1), open(7, 0), open(7, 1)}},
    {"no group: the least loaded thread", 3, 5, {open(0, 0), open(0, 1), open(0, 2), open(0, 0)}},
    {"grouping off (0): the least loaded thread", 3, 0, {open(7, 0), open(7, 1), open(7, 2)}},
    {"one thread: always it", 1, 2, {open(7, 0), open(7, 0), open(7, 0), open(8, 0)}},
    {"a closed transport frees its room's place", 2, 2,
     {open(7, 0), open(7, 0), close(7, 0), open(7, 0), open(7, 1)}},
    {"a room whose last transport closed starts again where it is emptiest", 2, 5,
     {open(7, 0), open(8, 1), open(8, 1), close(7, 0), open(7, 0)}},
    {"closing what was never placed changes nothing", 2, 5,
     {close(7, 1), close(0, 5), open(7, 0), open(8, 1)}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    thread_placement p(r.threads, r.per_thread);
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
      CAPTURE(i);
      const auto& s = r.steps[i];
      if (s.release)
        p.release(s.group, s.thread_or_expect);
      else
        CHECK(p.place(s.group) == s.thread_or_expect);
    }
  }
}

TEST_CASE("thread placement: loads and rooms are counted back to nothing") {
  thread_placement p(4, 3);
  std::vector<std::pair<uint64_t, std::size_t>> placed;
  for (uint64_t room = 1; room <= 5; ++room)
    for (int i = 0; i < 7; ++i)
      placed.emplace_back(room, p.place(room));
  std::size_t total = 0;
  for (std::size_t t = 0; t < 4; ++t)
    total += p.load(t);
  CHECK(total == 35);
  CHECK(p.groups() == 5);
  for (std::size_t t = 0; t < 4; ++t)
    CHECK(p.group_load(1, t) <= 3);
  for (const auto& [room, thread] : placed)
    p.release(room, thread);
  for (std::size_t t = 0; t < 4; ++t)
    CHECK(p.load(t) == 0);
  CHECK(p.groups() == 0);
}
