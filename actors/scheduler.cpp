#include "actors/scheduler.hpp"

#include "actors/clock.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>
#include <algorithm>
#include <vector>

namespace chorus::actors {
namespace {

// Set before the actor system is built, read by its workers.
lean_scheduler_hooks g_hooks;
std::size_t g_cpus = 2; // CPUs the workers may run on
bool g_own_clock = true; // shared_clock below, else CAF's thread_safe_actor_clock


// When the job this worker thread runs started (0: none, or not a worker).
thread_local int64_t t_job_started_ns = 0;

// FIFO of jobs in a power-of-two ring that grows (and never shrinks: its high-water mark
// is a few thousand pointers).
class job_ring {
public:
  bool empty() const noexcept { return count_ == 0; }
  std::size_t size() const noexcept { return count_; }
  void push(caf::resumable* job) {
    if (count_ == slots_.size())
      grow();
    slots_[(head_ + count_) & (slots_.size() - 1)] = job;
    ++count_;
  }
  caf::resumable* pop() noexcept {
    caf::resumable* job = slots_[head_];
    head_ = (head_ + 1) & (slots_.size() - 1);
    --count_;
    return job;
  }

private:
  void grow() {
    std::vector<caf::resumable*> next(slots_.empty() ? 256 : slots_.size() * 2);
    for (std::size_t i = 0; i < count_; ++i)
      next[i] = slots_[(head_ + i) & (slots_.size() - 1)];
    slots_.swap(next);
    head_ = 0;
  }
  std::vector<caf::resumable*> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

bool is_urgent(caf::resumable* job) noexcept {
  return job->subtype() == caf::resumable::scheduled_actor &&
         static_cast<caf::scheduled_actor*>(job)->getf(urgent_actor_flag);
}

// The scheduler's queue: the urgent lane first (at most lean_urgent_streak in a row while
// other jobs wait), then the rest, each in order.
class lanes {
public:
  bool empty() const noexcept { return urgent_.empty() && normal_.empty(); }
  std::size_t size() const noexcept { return urgent_.size() + normal_.size(); }
  void push(caf::resumable* job) { (is_urgent(job) ? urgent_ : normal_).push(job); }
  caf::resumable* pop() noexcept {
    if (!urgent_.empty() && (normal_.empty() || streak_ < lean_urgent_streak)) {
      ++streak_;
      return urgent_.pop();
    }
    streak_ = 0;
    return normal_.pop();
  }

private:
  job_ring urgent_, normal_;
  unsigned streak_ = 0;
};

// Per worker, what it is doing, for the wake-up decisions of the others.
constexpr int64_t worker_sleeping = -1; // waiting on the condition variable (or not started)
constexpr int64_t worker_between = 0;   // awake, about to take a job
// (> 0: running a job that started at that steady-clock time in ns)
constexpr std::size_t max_workers = 64; // app::config's bound for scheduler.threads

// The policy (see scheduler.hpp for what it changes against caf::policy::work_sharing).
class lean_sharing : public caf::policy::unprofiled {
public:
  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {
      for (auto& s : state)
        s.store(worker_sleeping, std::memory_order_relaxed);
    }
    std::mutex lock;
    std::condition_variable cv;
    lanes queue;              // guarded by lock
    std::size_t sleeping = 0; // workers waiting on cv; guarded by lock
    std::array<std::atomic<int64_t>, max_workers> state;
  };
  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {}
    bool started = false;
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    push_external(d(self), self->num_workers(), job);
  }
  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    push_external(d(self->parent()), self->parent()->num_workers(), job);
  }
  // An actor sending to another: the sending worker takes the job after its turn. Another
  // is woken for a backlog when there is a CPU for it, or when this turn has already run
  // for long (it may go on for a while yet: what it sent should not wait for it).
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    auto& cd = d(self->parent());
    const int64_t started = t_job_started_ns;
    const bool long_turn = started > 0 && mono_ns() - started > lean_long_turn_ns;
    std::unique_lock<std::mutex> guard(cd.lock);
    cd.queue.push(job);
    const std::size_t awake = self->parent()->num_workers() - cd.sleeping;
    const bool wake = cd.sleeping > 0 &&
                      (long_turn || (awake < g_cpus && cd.queue.size() >= lean_wake_backlog));
    guard.unlock();
    if (wake)
      cd.cv.notify_one();
  }
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    auto& cd = d(self->parent());
    std::unique_lock<std::mutex> guard(cd.lock);
    cd.queue.push(job);
  }

  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& wd = d(self);
    if (!wd.started) {
      wd.started = true;
      if (g_hooks.on_worker_start)
        g_hooks.on_worker_start();
    }
    auto* parent = self->parent();
    auto& cd = d(parent);
    auto& my_state = cd.state[self->id() % max_workers];
    my_state.store(worker_between, std::memory_order_relaxed);
    std::unique_lock<std::mutex> guard(cd.lock);
    if (cd.queue.empty() && g_hooks.on_worker_idle) {
      guard.unlock();
      g_hooks.on_worker_idle();
      guard.lock();
    }
    while (cd.queue.empty()) {
      ++cd.sleeping;
      my_state.store(worker_sleeping, std::memory_order_relaxed);
      cd.cv.wait(guard);
      my_state.store(worker_between, std::memory_order_relaxed);
      --cd.sleeping;
    }
    caf::resumable* job = cd.queue.pop();
    // More work than this worker is about to take, and a CPU for another.
    const std::size_t awake = parent->num_workers() - cd.sleeping;
    const bool wake = !cd.queue.empty() && cd.sleeping > 0 && awake < g_cpus;
    guard.unlock();
    if (wake)
      cd.cv.notify_one();
    return job;
  }

  template <class Worker>
  void before_resume(Worker* self, caf::resumable*) {
    t_job_started_ns = mono_ns();
    d(self->parent()).state[self->id() % max_workers].store(t_job_started_ns,
                                                            std::memory_order_relaxed);
  }

  template <class Worker>
  void after_resume(Worker* self, caf::resumable*) {
    t_job_started_ns = 0;
    d(self->parent()).state[self->id() % max_workers].store(worker_between,
                                                            std::memory_order_relaxed);
    if (g_hooks.on_job_done)
      g_hooks.on_job_done();
  }

  // A worker leaving (the scheduler stops) takes no more jobs: it must not count as one
  // that will take the next job soon.
  // A job enqueued while this worker still looked awake (between its last turn and here)
  // was left to it: it wakes a sleeping worker for it on its way out. Ordered by the lock:
  // an enqueue after this sees the worker asleep and wakes one itself.
  template <class Worker>
  void before_shutdown(Worker* self) {
    auto& cd = d(self->parent());
    cd.state[self->id() % max_workers].store(worker_sleeping, std::memory_order_relaxed);
    std::unique_lock<std::mutex> guard(cd.lock);
    const bool wake = !cd.queue.empty() && cd.sleeping > 0;
    guard.unlock();
    if (wake)
      cd.cv.notify_one();
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker*, UnaryFunction) {
    // no per-worker queues
  }

  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    auto& cd = d(self);
    std::unique_lock<std::mutex> guard(cd.lock);
    while (!cd.queue.empty())
      f(cd.queue.pop());
  }

private:
  // From outside the workers (media I/O, timers, the edge, another node): a sleeping worker
  // is woken unless an awake one will take the job soon and there is no CPU for another.
  // "Soon": between jobs, or in a turn shorter than lean_long_turn_ns.
  static void push_external(coordinator_data& cd, std::size_t workers, caf::resumable* job) {
    std::unique_lock<std::mutex> guard(cd.lock);
    cd.queue.push(job);
    bool wake = false;
    if (cd.sleeping > 0) {
      const std::size_t awake = workers - cd.sleeping;
      wake = awake == 0 || awake < g_cpus || !someone_responsive(cd, workers);
    }
    guard.unlock();
    if (wake)
      cd.cv.notify_one();
  }

  static bool someone_responsive(const coordinator_data& cd, std::size_t workers) {
    const int64_t now = mono_ns();
    for (std::size_t i = 0; i < workers && i < max_workers; ++i) {
      const int64_t s = cd.state[i].load(std::memory_order_relaxed);
      if (s == worker_between || (s > 0 && now - s <= lean_long_turn_ns))
        return true;
    }
    return false;
  }
};

// The actor system's timers. CAF's thread_safe_actor_clock passes every set and cancel
// through a ring buffer to its own thread, which it wakes for each (when the buffer was
// empty) and again when the timer falls due. Here the maps are kept under a lock by the
// caller, and the dispatching thread is woken only by a timer that falls due before it
// would wake anyway. The dispatching thread is the driver (drive_timers) while one is
// attached, else the clock's own. Derived from thread_safe_actor_clock only because the
// coordinator's clock() must return one; its ring buffer stays unused, and every
// operation of the actor_clock interface is overridden here.
class shared_clock final : public caf::detail::thread_safe_actor_clock, public net::io_timer_hook {
public:
  using base = caf::detail::simple_actor_clock;

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                            uint64_t id) override {
    add(t, [&] { base::set_ordinary_timeout(t, self, type, id); });
  }
  void set_request_timeout(time_point t, caf::abstract_actor* self, caf::message_id id) override {
    add(t, [&] { base::set_request_timeout(t, self, id); });
  }
  void set_multi_timeout(time_point t, caf::abstract_actor* self, caf::atom_value type,
                         uint64_t id) override {
    add(t, [&] { base::set_multi_timeout(t, self, type, id); });
  }
  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    add(t, [&] { base::schedule_message(t, std::move(receiver), std::move(content)); });
  }
  void schedule_message(time_point t, caf::group target, caf::strong_actor_ptr sender,
                        caf::message content) override {
    add(t, [&] {
      base::schedule_message(t, std::move(target), std::move(sender), std::move(content));
    });
  }
  // A cancelled timer wakes no one: the dispatching thread finds nothing due and sleeps on.
  void cancel_ordinary_timeout(caf::abstract_actor* self, caf::atom_value type) override {
    std::lock_guard guard(mx_);
    base::cancel_ordinary_timeout(self, type);
  }
  void cancel_request_timeout(caf::abstract_actor* self, caf::message_id id) override {
    std::lock_guard guard(mx_);
    base::cancel_request_timeout(self, id);
  }
  void cancel_timeouts(caf::abstract_actor* self) override {
    std::lock_guard guard(mx_);
    base::cancel_timeouts(self);
  }
  // What is dropped is destroyed outside the lock: a pending message's content may hold
  // the last reference to an actor, whose cleanup cancels its own timeouts here.
  void cancel_all() override {
    schedule_map dropped;
    actor_lookup_map links;
    {
      std::lock_guard guard(mx_);
      dropped.swap(schedule_);
      links.swap(actor_lookup_);
    }
  }

  // The driver's call (net::io_timer_hook), before each of its waits: without the lock
  // while nothing is due yet (a timer set meanwhile that falls due sooner lowers the mirror
  // before it wakes the driver, so the driver's next call sees it).
  int64_t run_due(int64_t now_ns) override {
    const int64_t mirrored = sleep_until_ns_.load(std::memory_order_acquire);
    if (now_ns < mirrored)
      return mirrored;
    const time_point now{std::chrono::duration_cast<time_point::duration>(
      std::chrono::nanoseconds(now_ns))};
    std::unique_lock guard(mx_);
    driver_thread_ = std::this_thread::get_id();
    dispatch(guard, now);
    return sleep_until_ns_.load(std::memory_order_relaxed);
  }

  void attach(std::function<void()> wake) {
    std::lock_guard guard(mx_);
    wake_driver_ = std::move(wake);
    driven_ = true;
    driver_thread_ = {};
    // Until the driver's first run_due() nothing fires and nobody needs waking for a new
    // timer: that first call looks at all of them.
    set_sleep_until(time_point::min());
    cv_.notify_one(); // the own thread goes idle
  }
  void detach() {
    std::lock_guard guard(mx_);
    driven_ = false;
    wake_driver_ = nullptr;
    set_sleep_until(time_point::min());
    cv_.notify_one(); // the own thread takes over
  }

  void start_thread(caf::actor_system& sys) {
    thread_ = std::thread([this, &sys] {
      sys.thread_started();
      run_own();
      sys.thread_terminates();
    });
  }
  void stop_thread() {
    {
      std::lock_guard guard(mx_);
      stopping_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable())
      thread_.join();
  }

private:
  // Sets a timer due at t (`set` does, under the lock), and wakes the dispatching thread if
  // it would sleep past t. The driver setting a timer itself needs no wake-up (it looks
  // again before it waits), nor does anyone while the dispatching thread is busy
  // (sleep_until_ = min).
  template <class Set>
  void add(time_point t, Set&& set) {
    std::unique_lock guard(mx_);
    set();
    if (t >= sleep_until_)
      return;
    set_sleep_until(t);
    if (!driven_) {
      guard.unlock();
      cv_.notify_one();
      return;
    }
    if (std::this_thread::get_id() == driver_thread_ || !wake_driver_)
      return;
    auto wake = wake_driver_; // called outside the lock (a write to an eventfd)
    guard.unlock();
    wake();
  }

  // Ships what is due at `now`, outside the lock (guard held on entry and on return;
  // released while shipping, when timers set meanwhile wake no one: this thread looks
  // again before it returns). Returns when the next timer falls due, and sleeps until then
  // as far as the others know.
  time_point dispatch(std::unique_lock<std::mutex>& guard, time_point now) {
    // One dispatcher at a time (the own thread may still be shipping when a driver is
    // attached): the other returns the next due time and looks again then, so delayed
    // messages to one actor keep their order.
    if (dispatching_)
      return next_due();
    dispatching_ = true;
    set_sleep_until(time_point::min());
    for (int round = 0; round < 4; ++round) {
      if (schedule_.empty() || schedule_.begin()->first > now)
        break;
      std::vector<unique_delayed_event_ptr> due;
      for (auto i = schedule_.begin(); i != schedule_.end() && i->first <= now;) {
        if (i->second->backlink != actor_lookup_.end())
          actor_lookup_.erase(i->second->backlink);
        due.push_back(std::move(i->second));
        i = schedule_.erase(i);
      }
      guard.unlock();
      for (auto& e : due)
        ship(*e);
      due.clear(); // destroyed outside the lock, like cancel_all's
      guard.lock();
      now = this->now();
    }
    dispatching_ = false;
    set_sleep_until(next_due());
    // The own thread, if it took the clock over while this thread shipped (detach), waits
    // for this; timers set meanwhile woke no one (sleep_until_ was min): it looks now.
    if (!driven_)
      cv_.notify_one();
    return sleep_until_;
  }

  time_point next_due() const {
    return schedule_.empty() ? time_point::max() : schedule_.begin()->first;
  }

  // sleep_until_ and its mirror for run_due's check without the lock (guard held).
  void set_sleep_until(time_point t) {
    sleep_until_ = t;
    const int64_t ns =
      t == time_point::max()   ? net::no_timer_due
      : t == time_point::min() ? std::numeric_limits<int64_t>::min()
                               : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   t.time_since_epoch()).count();
    sleep_until_ns_.store(ns, std::memory_order_release);
  }

  void run_own() {
    std::unique_lock guard(mx_);
    while (!stopping_) {
      // Driven: the driver runs the timers. Another thread shipping (the driver, just
      // detached): it wakes this one when done; looking meanwhile would spin on a due timer
      // with the lock held, and that thread could never finish.
      if (driven_ || dispatching_) {
        cv_.wait(guard);
        continue;
      }
      const time_point next = dispatch(guard, now());
      if (stopping_ || driven_)
        continue;
      if (next == time_point::max())
        cv_.wait(guard);
      else if (next > now())
        cv_.wait_until(guard, next);
    }
  }

  std::mutex mx_;
  std::condition_variable cv_;
  // When the dispatching thread wakes by itself next; min: it is dispatching, or about
  // to look (a new timer needs no wake-up); max: never (no timer).
  time_point sleep_until_ = time_point::max();
  std::atomic<int64_t> sleep_until_ns_{net::no_timer_due}; // its mirror (set_sleep_until)
  bool driven_ = false;
  bool stopping_ = false;
  bool dispatching_ = false; // a thread ships due events (the lock released meanwhile)
  std::function<void()> wake_driver_;
  std::thread::id driver_thread_;
  std::thread thread_;
};

// CAF's coordinator with the lean policy and the clock above (or CAF's, use_lean_scheduler's
// own_clock false). The coordinator still starts CAF's clock thread; with nothing ever
// pushed to that clock it waits for good.
class lean_coordinator final : public caf::scheduler::coordinator<lean_sharing> {
public:
  using super = caf::scheduler::coordinator<lean_sharing>;
  explicit lean_coordinator(caf::actor_system& sys) : super(sys), own_clock_(g_own_clock) {}

  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    return own_clock_ ? timers_ : super::clock();
  }

protected:
  void start() override {
    if (own_clock_)
      timers_.start_thread(system());
    super::start();
  }
  void stop() override {
    super::stop();
    if (own_clock_) {
      timers_.stop_thread();
      timers_.cancel_all();
    }
  }

private:
  const bool own_clock_; // g_own_clock when this system was built
  shared_clock timers_;
};

shared_clock* shared_clock_of(caf::actor_system& sys) {
  return dynamic_cast<shared_clock*>(&sys.clock());
}

} // namespace

net::io_timer_hook* drive_timers(caf::actor_system& sys, std::function<void()> wake) {
  auto* c = shared_clock_of(sys);
  if (c)
    c->attach(std::move(wake));
  return c;
}

void stop_driving_timers(caf::actor_system& sys) {
  if (auto* c = shared_clock_of(sys))
    c->detach();
}

void mark_urgent(caf::abstract_actor* self) {
  self->setf(urgent_actor_flag);
}

void use_lean_scheduler(caf::actor_system_config& cfg, std::size_t cpus,
                        lean_scheduler_hooks hooks, bool own_clock) {
  g_hooks = hooks;
  g_own_clock = own_clock;
  g_cpus = std::max<std::size_t>(cpus, 1);
  cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
    return new lean_coordinator(sys);
  });
}

} // namespace chorus::actors
