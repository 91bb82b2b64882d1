// The process-load decisions behind the media path's lanes (actors/process_load.hpp): CPU
// time over a window as a share of the usable CPUs (busy above 60 %, idle again only below
// 40 %) and as a share of one CPU (light up to 50 %, again only below 30 %), and on one of
// several media I/O threads, that thread's own CPU time.
#include "actors/process_load.hpp"

#include "net_media_io_util.hpp"

#include <doctest/doctest.h>

#include <ctime>
#include <future>

using chorus::actors::fan_out_through_lanes;
using chorus::actors::next_busy;
using chorus::actors::next_light;

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

TEST_CASE("process load: light below half of one CPU, heavy again only below 30 %") {
  struct row {
    const char* name;
    bool was_light;
    int64_t used_us, elapsed_ms;
    bool light;
  };
  const row rows[] = {
    {"10 % stays light", true, 20'000, 200, true},
    {"exactly 50 %: still light", true, 100'000, 200, true},
    {"51 %: heavy", true, 102'000, 200, false},
    {"a whole CPU of several: heavy", true, 200'000, 200, false},
    {"40 % while heavy: stays heavy", false, 80'000, 200, false},
    {"exactly 30 % while heavy: still heavy", false, 60'000, 200, false},
    {"29 % while heavy: light", false, 58'000, 200, true},
    {"no time passed: unchanged (heavy)", false, 0, 0, false},
    {"no time passed: unchanged (light)", true, 500'000, 0, true},
  };
  for (const auto& r : rows) {
    CHECK_MESSAGE(next_light(r.was_light, r.used_us, r.elapsed_ms) == r.light, r.name);
  }
}

TEST_CASE("process load: the live reading starts idle and light and answers at once") {
  // The first call opens the first window and has no reading yet: not busy, light.
  CHECK_FALSE(chorus::actors::process_busy(1'000'000'000));
  CHECK_FALSE(chorus::actors::process_busy(1'000'000'050)); // same window: cached
  CHECK(chorus::actors::process_light(1'000'000'060));
}

TEST_CASE("process load: a fan-out through the lanes on one CPU always, on several when small, not busy and without mail") {
  struct row {
    const char* name;
    std::size_t consumers;
    int cpus;
    bool busy;
    bool mail_waiting;
    bool lanes;
  };
  const row rows[] = {
    {"one CPU, 20 consumers, idle", 20, 1, false, false, true},
    {"one CPU, 300 consumers (above the limit), idle", 300, 1, false, false, true},
    {"one CPU, 1000 consumers, busy", 1000, 1, true, false, true},
    {"one CPU, 1000 consumers, busy, mail waiting", 1000, 1, true, true, true},
    {"two CPUs, 20 consumers, idle", 20, 2, false, false, true},
    {"two CPUs, exactly the limit, idle", 256, 2, false, false, true},
    {"two CPUs, one above the limit: messages", 257, 2, false, false, false},
    {"two CPUs, 20 consumers, busy: messages", 20, 2, true, false, false},
    {"two CPUs, 20 consumers, idle, mail waiting: messages", 20, 2, false, true, false},
    {"eight CPUs, 1000 consumers, busy: messages", 1000, 8, true, false, false},
  };
  for (const auto& r : rows) {
    CHECK_MESSAGE(fan_out_through_lanes(r.consumers, 256, r.cpus, r.busy, r.mail_waiting) == r.lanes,
                  r.name);
  }
}

namespace {

int64_t thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

} // namespace

TEST_CASE("process load: on one of several media I/O threads the lanes' gates read that thread's own CPU") {
  using namespace media_io_test;
  namespace actors = chorus::actors;
  actors::set_io_thread_count(2);
  auto o = port_mode_options(port_base(), 10);
  o.io_threads = 2;
  media_io io(o);
  io.start();
  // Inside the sink, on an I/O thread: the first reading opens a window (idle, light); a
  // window in which the thread spent all its time (250 ms of its own CPU) makes it busy and
  // heavy; an idle one after it makes it idle and light again. The process's gates are not
  // what decides here: this test's other threads sleep meanwhile.
  struct reading {
    const char* name;
    int64_t now_ms;
    int64_t spin_ms; // CPU the thread burns before the reading
    bool busy, light;
  };
  const reading rows[] = {
    {"first window", 1'000, 0, false, true},
    {"a window of all its time", 1'250, 250, true, false},
    {"an idle window", 1'500, 0, false, true},
  };
  std::promise<std::vector<std::pair<bool, bool>>> done;
  auto result = done.get_future();
  auto ep = io.open("", [&](packet_batch&&) {
    std::vector<std::pair<bool, bool>> got;
    for (const auto& r : rows) {
      const int64_t until = thread_cpu_ms() + r.spin_ms;
      while (thread_cpu_ms() < until) {
      }
      got.emplace_back(actors::lanes_busy(r.now_ms), actors::lanes_light(r.now_ms));
    }
    done.set_value(std::move(got));
  });
  REQUIRE(ep);
  udp_client client;
  client.send(ep->udp_port(), text("go"));
  REQUIRE(result.wait_for(deadline) == std::future_status::ready);
  const auto got = result.get();
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    CAPTURE(rows[i].name);
    CHECK(got[i].first == rows[i].busy);
    CHECK(got[i].second == rows[i].light);
  }
  // Off the I/O threads the process-wide gates answer.
  CHECK(actors::lanes_busy(2'000'000'000) == actors::process_busy(2'000'000'000));
  CHECK(actors::lanes_light(2'000'000'000) == actors::process_light(2'000'000'000));
  ep->close();
  actors::set_io_thread_count(0);
}
