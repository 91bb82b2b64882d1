// The process-load decision behind the producer's direct lanes (actors/process_load.hpp):
// CPU time over a window as a share of the usable CPUs, busy above 60 %, idle again only
// below 40 %.
#include "actors/process_load.hpp"

#include <doctest/doctest.h>

using chorus::actors::next_busy;

TEST_CASE("process load: busy above 60 %, idle below 40 %, in between it stays") {
  struct row {
    const char* name;
    bool was_busy;
    int64_t used_us, elapsed_ms;
    int cpus;
    bool busy;
  };
  const row rows[] = {
    {"idle stays idle", false, 10'000, 200, 1, false},
    {"61 % of one CPU: busy", false, 122'000, 200, 1, true},
    {"exactly 60 %: not yet", false, 120'000, 200, 1, false},
    {"50 % while idle: stays idle", false, 100'000, 200, 1, false},
    {"50 % while busy: stays busy", true, 100'000, 200, 1, true},
    {"39 % while busy: idle", true, 78'000, 200, 1, false},
    {"exactly 40 % while busy: still busy", true, 80'000, 200, 1, true},
    {"one full CPU of two: 50 %, idle stays idle", false, 200'000, 200, 2, false},
    {"1.3 CPUs of two: busy", false, 260'000, 200, 2, true},
    {"more than the CPUs (a window cut short): busy", false, 400'000, 100, 1, true},
    {"no time passed: unchanged (busy)", true, 0, 0, 1, true},
    {"no time passed: unchanged (idle)", false, 500'000, 0, 1, false},
    {"no CPUs reported: unchanged", false, 500'000, 200, 0, false},
  };
  for (const auto& r : rows) {
    CHECK_MESSAGE(next_busy(r.was_busy, r.used_us, r.elapsed_ms, r.cpus) == r.busy, r.name);
  }
}

TEST_CASE("process load: the live reading starts idle and answers at once") {
  // The first call opens the first window and has no reading yet: not busy.
  CHECK_FALSE(chorus::actors::process_busy(1'000'000'000));
  CHECK_FALSE(chorus::actors::process_busy(1'000'000'050)); // same window: cached
}
