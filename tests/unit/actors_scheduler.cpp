// The lean scheduler (actors/scheduler.hpp): every job runs, whoever enqueues it; what a
// long turn sends does not wait for the turn to end; the workers' hooks run.
#include "actors/scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

using namespace chorus;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_started{0};
std::atomic<int> g_idle{0};
std::atomic<int> g_done{0};

// Counts deliveries and lets a test wait (bounded) for a total.
struct tally {
  std::mutex m;
  std::condition_variable cv;
  long long n = 0;
  void add() {
    std::lock_guard<std::mutex> g(m);
    ++n;
    cv.notify_all();
  }
  bool wait_for(long long target, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, bound, [&] { return n >= target; });
  }
};

caf::actor_system_config& lean_config(caf::actor_system_config& cfg, std::size_t cpus = 2) {
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  actors::lean_scheduler_hooks hooks;
  hooks.on_worker_start = [] { g_started.fetch_add(1); };
  hooks.on_worker_idle = [] { g_idle.fetch_add(1); };
  hooks.on_job_done = [] { g_done.fetch_add(1); };
  actors::use_lean_scheduler(cfg, cpus, hooks);
  return cfg;
}

} // namespace

TEST_CASE("lean scheduler: a fan-out fed from outside threads delivers every message") {
  g_started = 0;
  g_idle = 0;
  g_done = 0;
  caf::actor_system_config cfg;
  caf::actor_system sys{lean_config(cfg)};
  tally t;
  constexpr int receivers = 200;
  constexpr int per_thread = 300;
  std::vector<caf::actor> sinks;
  for (int i = 0; i < receivers; ++i)
    sinks.push_back(sys.spawn([&t]() -> caf::behavior {
      return {[&t](int) { t.add(); }};
    }));
  // The fan-out actor sends from a worker (internal enqueues, no wake-up below the backlog).
  auto fanout = sys.spawn([&sinks](caf::event_based_actor* self) -> caf::behavior {
    return {[self, &sinks](int v) {
      for (auto& s : sinks)
        self->send(s, v);
    }};
  });
  std::thread a([&] {
    for (int i = 0; i < per_thread; ++i)
      caf::anon_send(fanout, i);
  });
  std::thread b([&] {
    for (int i = 0; i < per_thread; ++i)
      caf::anon_send(fanout, i);
  });
  a.join();
  b.join();
  CHECK(t.wait_for(2LL * per_thread * receivers, 30s));
  CHECK(t.n == 2LL * per_thread * receivers);
  CHECK(g_started.load() >= 1);
  CHECK(g_started.load() <= 2);
  // A turn may take several messages: at least one turn per receiver ran.
  CHECK(g_done.load() >= receivers);
  for (auto& s : sinks)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fanout, caf::exit_reason::user_shutdown);
}

// An actor whose turn runs past the long-turn mark sends to x and keeps its worker until x
// has run (bounded): x must run on the other worker, woken for it.
void long_turn_case(std::size_t cpus) {
  CAPTURE(cpus);
  g_idle = 0;
  // What the actors reference outlives the system (declared first, destroyed after it:
  // its destructor waits for every actor), so no handler can touch it once it is gone.
  auto reached = std::make_shared<std::promise<void>>();
  auto fut = reached->get_future();
  std::promise<bool> verdict;
  auto got = verdict.get_future();
  caf::actor_system_config cfg;
  caf::actor_system sys{lean_config(cfg, cpus)};
  auto x = sys.spawn([reached]() -> caf::behavior {
    return {[reached](int) { reached->set_value(); }};
  });
  auto longer = sys.spawn([x, &fut, &verdict](caf::event_based_actor* self) -> caf::behavior {
    return {[self, x, &fut, &verdict](int) {
      // Past the long-turn mark, then send and keep the worker until x has run (bounded).
      const auto until = std::chrono::steady_clock::now() + 2ms;
      while (std::chrono::steady_clock::now() < until) {
      }
      self->send(x, 1);
      verdict.set_value(fut.wait_for(10s) == std::future_status::ready);
    }};
  });
  // Both workers asleep first (bounded), so that x needs the other one woken.
  const auto limit = std::chrono::steady_clock::now() + 5s;
  while (g_idle.load() < 2 && std::chrono::steady_clock::now() < limit)
    std::this_thread::yield();
  REQUIRE(g_idle.load() >= 2);
  caf::anon_send(longer, 1);
  REQUIRE(got.wait_for(20s) == std::future_status::ready);
  CHECK(got.get());
  caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(longer, caf::exit_reason::user_shutdown);
}

TEST_CASE("lean scheduler: what a long turn sends runs before the turn ends (2 CPUs)") {
  long_turn_case(2);
}

TEST_CASE("lean scheduler: what a long turn sends runs before the turn ends (1 CPU)") {
  long_turn_case(1);
}

TEST_CASE("lean scheduler: a burst sent by a short turn is shared by both workers") {
  // Each receiver holds its worker until two receivers run at once (bounded): only
  // possible when the idle worker was woken for the burst (a job taken with more queued
  // wakes a sleeping worker).
  std::atomic<int> running{0}; // before the system: it outlives every handler
  std::atomic<bool> overlapped{false};
  tally t;
  caf::actor_system_config cfg;
  caf::actor_system sys{lean_config(cfg)};
  std::vector<caf::actor> sinks;
  for (int i = 0; i < 4; ++i)
    sinks.push_back(sys.spawn([&]() -> caf::behavior {
      return {[&](int) {
        running.fetch_add(1);
        const auto until = std::chrono::steady_clock::now() + 2s;
        while (!overlapped.load() && std::chrono::steady_clock::now() < until)
          if (running.load() >= 2)
            overlapped = true;
        running.fetch_sub(1);
        t.add();
      }};
    }));
  auto fanout = sys.spawn([&sinks](caf::event_based_actor* self) -> caf::behavior {
    return {[self, &sinks](int v) {
      for (auto& s : sinks)
        self->send(s, v);
    }};
  });
  caf::anon_send(fanout, 1);
  CHECK(t.wait_for(4, 20s));
  CHECK(overlapped.load());
  for (auto& s : sinks)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fanout, caf::exit_reason::user_shutdown);
}

TEST_CASE("lean scheduler on one CPU: a job from outside is not stuck behind a long turn") {
  g_idle = 0;
  // Before the system, so that they outlive it: `longer` may still be between two reads of
  // x_ran when this function sees it set and returns (ASan found it in CI: a
  // stack-use-after-scope when they were declared after it, and so destroyed first).
  std::atomic<bool> x_ran{false};
  std::atomic<bool> long_started{false};
  caf::actor_system_config cfg;
  caf::actor_system sys{lean_config(cfg, 1)};
  auto x = sys.spawn([&x_ran]() -> caf::behavior {
    return {[&x_ran](int) { x_ran = true; }};
  });
  auto longer = sys.spawn([&]() -> caf::behavior {
    return {[&](int) {
      long_started = true;
      // Holds its worker until x has run (bounded): x must run on the other worker.
      const auto until = std::chrono::steady_clock::now() + 10s;
      while (!x_ran.load() && std::chrono::steady_clock::now() < until) {
      }
    }};
  });
  const auto limit = std::chrono::steady_clock::now() + 5s;
  while (g_idle.load() < 2 && std::chrono::steady_clock::now() < limit)
    std::this_thread::yield();
  REQUIRE(g_idle.load() >= 2);
  caf::anon_send(longer, 1);
  while (!long_started.load() && std::chrono::steady_clock::now() < limit + 5s)
    std::this_thread::yield();
  REQUIRE(long_started.load());
  // Past the long-turn mark (200 us) before x is sent.
  const auto past = std::chrono::steady_clock::now() + 2ms;
  while (std::chrono::steady_clock::now() < past) {
  }
  caf::anon_send(x, 1);
  const auto bound = std::chrono::steady_clock::now() + 10s;
  while (!x_ran.load() && std::chrono::steady_clock::now() < bound)
    std::this_thread::yield();
  CHECK(x_ran.load());
  caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(longer, caf::exit_reason::user_shutdown);
}

namespace {

// One worker, held by a gate actor while jobs queue up; each actor notes its turn in order.
struct turn_log {
  std::mutex m;
  std::vector<int> order;
  void note(int who) {
    std::lock_guard<std::mutex> g(m);
    order.push_back(who);
  }
  std::size_t size() {
    std::lock_guard<std::mutex> g(m);
    return order.size();
  }
};

struct one_worker_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::atomic<bool> gate_open{false}, gate_holding{false};
  std::atomic<int> initialised{0};
  turn_log log;
  caf::actor gate;

  // The system goes first (its destructor waits for every actor), then the state the
  // actors' handlers reference; members would go the other way round.
  ~one_worker_fixture() {
    gate = nullptr;
    sys.reset();
  }
  one_worker_fixture() {
    cfg.set("scheduler.max-threads", size_t{1});
    cfg.set("logger.verbosity", caf::atom("quiet"));
    actors::use_lean_scheduler(cfg, 1);
    sys = std::make_unique<caf::actor_system>(cfg);
    gate = sys->spawn([this]() -> caf::behavior {
      return {[this](int) {
        gate_holding = true;
        const auto until = std::chrono::steady_clock::now() + 10s;
        while (!gate_open.load() && std::chrono::steady_clock::now() < until) {
        }
      }};
    });
  }
  // An actor that notes `who` when it gets a message; urgent ones mark themselves.
  caf::actor noter(int who, bool urgent) {
    return sys->spawn([this, who, urgent](caf::event_based_actor* self) -> caf::behavior {
      if (urgent)
        actors::mark_urgent(self);
      initialised.fetch_add(1);
      return {[this, who](int) { log.note(who); }};
    });
  }
  bool wait(const std::function<bool()>& done) {
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!done() && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    return done();
  }
};

} // namespace

TEST_CASE("lean scheduler: urgent actors' turns go first, and cannot starve the others") {
  SUBCASE("an urgent job queued last runs first") {
    one_worker_fixture fx;
    std::vector<caf::actor> normal;
    for (int i = 1; i <= 10; ++i)
      normal.push_back(fx.noter(i, false));
    auto urgent = fx.noter(0, true);
    REQUIRE(fx.wait([&] { return fx.initialised.load() == 11; }));
    caf::anon_send(fx.gate, 1);
    REQUIRE(fx.wait([&] { return fx.gate_holding.load(); }));
    for (auto& a : normal)
      caf::anon_send(a, 1);
    caf::anon_send(urgent, 1);
    fx.gate_open = true;
    REQUIRE(fx.wait([&] { return fx.log.size() == 11; }));
    CHECK(fx.log.order.front() == 0);
    CHECK(fx.log.order[1] == 1); // the others in their order
    CHECK(fx.log.order.back() == 10);
  }
  SUBCASE("at most lean_urgent_streak urgent turns in a row while another waits") {
    one_worker_fixture fx;
    const int urgent_count = int(actors::lean_urgent_streak) + 8;
    std::vector<caf::actor> urgent;
    for (int i = 0; i < urgent_count; ++i)
      urgent.push_back(fx.noter(i + 1, true));
    auto normal = fx.noter(0, false);
    REQUIRE(fx.wait([&] { return fx.initialised.load() == urgent_count + 1; }));
    caf::anon_send(fx.gate, 1);
    REQUIRE(fx.wait([&] { return fx.gate_holding.load(); }));
    caf::anon_send(normal, 1);
    for (auto& a : urgent)
      caf::anon_send(a, 1);
    fx.gate_open = true;
    REQUIRE(fx.wait([&] { return fx.log.size() == std::size_t(urgent_count) + 1; }));
    const auto pos = std::find(fx.log.order.begin(), fx.log.order.end(), 0) - fx.log.order.begin();
    CHECK(pos == actors::lean_urgent_streak);
  }
}

// ---- The clock (actors/scheduler.hpp: shared_clock) ----

namespace {

using clock_type = std::chrono::steady_clock;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           clock_type::now().time_since_epoch())
    .count();
}

// Delayed messages: each records when it arrived, against when it was due.
struct arrivals {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::pair<int, clock_type::time_point>> got; // (tag, arrival)
  void add(int tag) {
    std::lock_guard<std::mutex> g(m);
    got.emplace_back(tag, clock_type::now());
    cv.notify_all();
  }
  std::size_t size() {
    std::lock_guard<std::mutex> g(m);
    return got.size();
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, bound, [&] { return got.size() >= n; });
  }
};

struct delay_request {
  int tag;
  int delay_ms;
};

// Sends itself `tag` after `delay_ms` for each request (a batch of them in one turn), and
// reports each tag when it comes back.
caf::actor spawn_delayer(caf::actor_system& sys, arrivals& out) {
  return sys.spawn([&out](caf::event_based_actor* self) -> caf::behavior {
    return {
      [self](const std::vector<int>& tags_and_delays) {
        for (std::size_t i = 0; i + 1 < tags_and_delays.size(); i += 2)
          self->delayed_send(self, std::chrono::milliseconds(tags_and_delays[i + 1]),
                             tags_and_delays[i]);
      },
      [&out](int tag) { out.add(tag); },
    };
  });
}

// A lean actor system with a delayer, told to exit at the end of the test (`got` outlives
// the system, which waits for its actors).
struct delayer_system {
  arrivals got;
  caf::actor_system_config cfg;
  caf::actor_system sys{lean_config(cfg)};
  caf::actor delayer = spawn_delayer(sys, got);
  ~delayer_system() { caf::anon_send_exit(delayer, caf::exit_reason::user_shutdown); }
};

// A loop like the media I/O thread's: run_due(), then wait until the time it returned or
// until woken. Counts its wake-ups by others and its rounds; can be paused (it then stops
// calling run_due, as a driver that is busy elsewhere would).
struct test_driver {
  std::mutex m;
  std::condition_variable cv;
  bool woken = false, stop = false, paused = false;
  int wakes = 0;   // calls of wake()
  long rounds = 0; // calls of run_due()
  net::io_timer_hook* hook = nullptr;
  std::thread thread;

  void wake() {
    std::lock_guard<std::mutex> g(m);
    woken = true;
    ++wakes;
    cv.notify_all();
  }
  void start(net::io_timer_hook* h) {
    hook = h;
    thread = std::thread([this] {
      std::unique_lock<std::mutex> g(m);
      while (!stop) {
        if (paused) {
          cv.wait(g);
          continue;
        }
        g.unlock();
        const int64_t due = hook->run_due(steady_ns());
        g.lock();
        ++rounds;
        cv.notify_all();
        if (woken || stop) {
          woken = false;
          continue;
        }
        const auto wake_up = [&] { return woken || stop || paused; };
        if (due == net::no_timer_due)
          cv.wait(g, wake_up);
        else
          cv.wait_until(g, clock_type::time_point(std::chrono::nanoseconds(due)), wake_up);
        woken = false;
      }
    });
  }
  void set_paused(bool p) {
    std::lock_guard<std::mutex> g(m);
    paused = p;
    cv.notify_all();
  }
  // Waits (bounded) until the loop has gone round at least n times.
  bool rounds_at_least(long n, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, bound, [&] { return rounds >= n; });
  }
  bool wakes_at_least(int n, std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> g(m);
    return cv.wait_for(g, bound, [&] { return wakes >= n; });
  }
  int wake_count() {
    std::lock_guard<std::mutex> g(m);
    return wakes;
  }
  void finish() {
    {
      std::lock_guard<std::mutex> g(m);
      stop = true;
      cv.notify_all();
    }
    thread.join();
  }
};

} // namespace

TEST_CASE("lean scheduler's clock: delayed messages arrive in order, none early, an earlier "
          "timer set after a later one is not held behind it") {
  delayer_system ds;
  auto& got = ds.got;
  auto& delayer = ds.delayer;
  const auto sent = clock_type::now();
  caf::anon_send(delayer, std::vector<int>{3, 90, 1, 30, 2, 60, 4, 0});
  REQUIRE(got.wait_for(4, 5s));
  {
    std::lock_guard<std::mutex> g(got.m);
    const int expect_tag[] = {4, 1, 2, 3};
    const int expect_ms[] = {0, 30, 60, 90};
    for (int i = 0; i < 4; ++i) {
      CAPTURE(i);
      CHECK(got.got[std::size_t(i)].first == expect_tag[i]);
      CHECK(got.got[std::size_t(i)].second - sent >= std::chrono::milliseconds(expect_ms[i]));
    }
  }
  // The clock's thread waits for a timer 3 s away when one due in 30 ms is set: it is woken
  // for it (without that wake-up the 30 ms one would come with the 3 s one).
  caf::anon_send(delayer, std::vector<int>{5, 3000});
  caf::anon_send(delayer, std::vector<int>{6, 30});
  const auto second = clock_type::now();
  REQUIRE(got.wait_for(5, 5s));
  std::lock_guard<std::mutex> g(got.m);
  CHECK(got.got[4].first == 6);
  CHECK(got.got[4].second - second < 1500ms);
}

TEST_CASE("lean scheduler's clock: a request that gets no answer times out") {
  caf::actor_system_config cfg;
  caf::actor_system sys{lean_config(cfg)};
  // Never answers: keeps the promise.
  auto silent = sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
    auto kept = std::make_shared<std::vector<caf::response_promise>>();
    return {[self, kept](int) -> caf::result<int> {
      kept->push_back(self->make_response_promise());
      return caf::delegated<int>{};
    }};
  });
  std::promise<bool> timed_out;
  auto asker = sys.spawn([&](caf::event_based_actor* self) {
    self->request(silent, std::chrono::milliseconds(40), 1)
      .then([&](int) { timed_out.set_value(false); },
            [&](caf::error& e) { timed_out.set_value(e == caf::sec::request_timeout); });
  });
  auto f = timed_out.get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  CHECK(f.get());
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

TEST_CASE("lean scheduler's clock driven by another loop: woken only for an earlier timer, "
          "runs nothing while the loop does not call it, hands back to its own thread") {
  delayer_system ds;
  auto& got = ds.got;
  auto& sys = ds.sys;
  auto& delayer = ds.delayer;
  test_driver d;
  net::io_timer_hook* hook = actors::drive_timers(sys, [&d] { d.wake(); });
  REQUIRE(hook != nullptr);
  d.start(hook);
  REQUIRE(d.rounds_at_least(1, 5s)); // it has looked once: no timer, it waits without bound

  SUBCASE("a timer due before the loop's wake-up wakes it; one due after does not") {
    caf::anon_send(delayer, std::vector<int>{1, 300});
    // The loop slept without bound: the timer wakes it.
    REQUIRE(d.wakes_at_least(1, 5s));
    // Due later than what the loop now waits for: nobody is woken (the loop wakes by
    // itself for the first timer, then for each next one).
    caf::anon_send(delayer, std::vector<int>{2, 400, 3, 450, 4, 500, 5, 550});
    REQUIRE(got.wait_for(5, 5s));
    std::lock_guard<std::mutex> g(got.m);
    CHECK(got.got[0].first == 1);
    CHECK(got.got[4].first == 5);
    CHECK(d.wake_count() == 1);
  }
  SUBCASE("a paused loop runs nothing; handing back lets the clock's own thread run it") {
    d.set_paused(true);
    caf::anon_send(delayer, std::vector<int>{7, 10});
    const auto set_at = clock_type::now();
    // Absent for ten times its delay while nobody runs the clock.
    CHECK_FALSE(got.wait_for(1, 100ms));
    actors::stop_driving_timers(sys); // the paused loop never runs it again (finish below)
    REQUIRE(got.wait_for(1, 5s));
    CHECK(got.got[0].first == 7);
    CHECK(got.got[0].second - set_at >= 100ms);
  }
  d.finish();
  actors::stop_driving_timers(sys);
  // After the hand-back, timers still fire.
  const std::size_t before = got.size();
  caf::anon_send(delayer, std::vector<int>{9, 5});
  CHECK(got.wait_for(before + 1, 5s));
}

namespace {

// A message whose last copy, when dropped, holds the thread that drops it until released:
// dropped by the clock while it ships a due message to an actor that has ended.
struct slow_drop {
  std::promise<void> entered;
  std::shared_future<void> release;
  ~slow_drop() {
    entered.set_value();
    release.wait_for(10s);
  }
};
using slow_drop_ptr = std::shared_ptr<slow_drop>;

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(slow_drop_ptr)

TEST_CASE("lean scheduler's clock handed back while the loop ships: timers set meanwhile "
          "fire once the loop's shipping ends") {
  // The loop ships a due message and is held there; meanwhile the clock is handed back to
  // its own thread, and a timer is set, which falls due while the loop still ships. The own
  // thread must neither spin on that due timer with the clock's lock held (the loop could
  // never finish) nor sleep through it once the loop is done: either way the timer never
  // fires, and a shutdown whose last timer is lost hangs. Several rounds, since the order
  // in which the own thread and the timer's setter come is not forced.
  for (int round = 0; round < 5; ++round) {
    CAPTURE(round);
    delayer_system ds;
    auto& sys = ds.sys;
    test_driver d;
    net::io_timer_hook* hook = actors::drive_timers(sys, [&d] { d.wake(); });
    REQUIRE(hook != nullptr);
    d.start(hook);
    REQUIRE(d.rounds_at_least(1, 5s));
    auto ended = sys.spawn([](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; });
    caf::anon_send_exit(ended, caf::exit_reason::user_shutdown);
    std::promise<void> release;
    auto drop = std::make_shared<slow_drop>();
    drop->release = release.get_future().share();
    auto entered = drop->entered.get_future();
    caf::delayed_anon_send(ended, 10ms, std::move(drop));
    ended = nullptr;
    REQUIRE(entered.wait_for(5s) == std::future_status::ready); // the loop ships it
    d.set_paused(true); // the loop calls run_due no more (a driver detached)
    actors::stop_driving_timers(sys);
    const auto before = ds.got.size();
    caf::anon_send(ds.delayer, std::vector<int>{1, 20});
    CHECK_FALSE(ds.got.wait_for(before + 1, 100ms)); // nothing runs while the loop ships
    release.set_value();
    CHECK(ds.got.wait_for(before + 1, 2s));
    d.finish();
  }
}

TEST_CASE("lean scheduler with CAF's clock (own_clock false): timers fire, nothing to drive") {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{2});
  cfg.set("logger.verbosity", caf::atom("quiet"));
  actors::use_lean_scheduler(cfg, 2, {}, false);
  caf::actor_system sys{cfg};
  CHECK(actors::drive_timers(sys, [] {}) == nullptr);
  arrivals got;
  auto delayer = spawn_delayer(sys, got);
  caf::anon_send(delayer, std::vector<int>{1, 20});
  CHECK(got.wait_for(1, 5s));
  caf::anon_send_exit(delayer, caf::exit_reason::user_shutdown);
}
