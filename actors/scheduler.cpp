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
#include <mutex>
#include <algorithm>
#include <vector>

namespace chorus::actors {
namespace {

// Set before the actor system is built, read by its workers.
lean_scheduler_hooks g_hooks;
std::size_t g_cpus = 2; // CPUs the workers may run on


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

} // namespace

void mark_urgent(caf::abstract_actor* self) {
  self->setf(urgent_actor_flag);
}

void use_lean_scheduler(caf::actor_system_config& cfg, std::size_t cpus,
                        lean_scheduler_hooks hooks) {
  g_hooks = hooks;
  g_cpus = std::max<std::size_t>(cpus, 1);
  cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
    return new caf::scheduler::coordinator<lean_sharing>(sys);
  });
}

} // namespace chorus::actors
