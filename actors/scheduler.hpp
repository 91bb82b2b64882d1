// The actor scheduler Chorus runs on: CAF's work sharing (one queue, idle workers sleep on
// a condition variable) with the wake-ups made lean. CAF's work_sharing wakes a sleeping
// worker for every job enqueued, so a producer that hands a packet to 20 consumers wakes
// the other worker up to 20 times, and it takes one consumer, finds the queue drained and
// sleeps again; and with the process on one CPU, a woken worker only competes with the
// one that woke it. Here a sleeping worker is woken only when there is work for it and a
// CPU to do it on (docs/design/scheduler-wakeups.md, "Fewer wake-ups"):
//   - a job from outside the workers (the media I/O thread, the timer thread, the edge)
//     wakes one unless an awake worker will take it soon (between jobs, or in a turn
//     shorter than lean_long_turn_ns) and every CPU already has an awake worker;
//   - a job an actor sends wakes nobody (the sending worker takes it after its turn),
//     unless lean_wake_backlog jobs wait and a CPU is free, or the sender's turn has run
//     for lean_long_turn_ns already (it may go on: what it sent should not wait for it);
//   - a worker that takes a job and leaves more queued wakes one if a CPU is free, so a
//     fan-out burst costs one wake-up on 2 CPUs and none on 1;
//   - a worker about to sleep first runs the idle hook, each worker runs the start hook
//     once on its thread, and every finished turn runs the job-done hook;
//   - the queue is a ring (no allocation per job; CAF's is a std::list);
//   - actors marked urgent (mark_urgent: the audio producers and consumers) have a lane of
//     their own that is served first, so a packet of audio never waits behind a video
//     keyframe's fan-out to hundreds of consumers; at most lean_urgent_streak urgent jobs
//     are taken in a row while other jobs wait, so audio cannot starve the rest.
// Workers beyond the CPUs still exist (app/main.cpp keeps two at least): on one CPU, the
// second is what runs the media path while a long turn (a large room's participant list)
// holds the first; the OS then shares the CPU between them.
//
// Its timers (CAF's actor clock: delayed sends, request timeouts) are its own too. CAF's
// clock thread is woken twice per timer (when one is set, through its ring buffer, and
// when it falls due), and its lock preempts the workers that set them; here a timer is set
// under a short lock and wakes no one unless it falls due before the dispatching thread
// would wake anyway. The dispatching thread is the clock's own, or another loop's that
// calls run_due() between its waits (drive_timers: the media I/O thread, with
// scheduler.timers "io"). docs/design/scheduler-wakeups.md, "The actors' timers".
#pragma once

#include "net/timer_hook.hpp"

#include <cstddef>
#include <functional>

namespace caf {
class actor_system_config;
class actor_system;
class abstract_actor;
}

namespace chorus::actors {

struct lean_scheduler_hooks {
  void (*on_worker_start)() = nullptr; // once per worker, on the worker's thread
  void (*on_worker_idle)() = nullptr;  // a worker found the queue empty and will sleep
  void (*on_job_done)() = nullptr;     // a worker finished a job (an actor's turn)
};

// A worker that enqueues wakes another only when this many jobs wait, or when the job it
// runs has been running for this long (the job may go on: what it sent should not wait).
inline constexpr std::size_t lean_wake_backlog = 16;
inline constexpr long long lean_long_turn_ns = 200'000;

inline constexpr unsigned lean_urgent_streak = 32;

// The lean scheduler serves this actor's turns first (see above); other schedulers ignore
// it. Called by the actor itself, from its initialisation (CAF's rule for its flags: only
// the actor writes them). A free bit of CAF 0.17's actor flags (0x4000; CAF uses up to 0x2000
// in abstract_actor and reserves 0xFFF00000).
inline constexpr int urgent_actor_flag = 0x4000;
void mark_urgent(caf::abstract_actor* self);

// Makes the actor system built from `cfg` run on the lean sharing scheduler (a scheduler
// module: CAF uses it instead of the one scheduler.policy names), for a process that may
// run on `cpus` CPUs. own_clock false: its timers run on CAF's clock instead (for
// comparison).
void use_lean_scheduler(caf::actor_system_config& cfg, std::size_t cpus,
                        lean_scheduler_hooks hooks = {}, bool own_clock = true);

// Hands the timers of `sys` (which must run on the lean scheduler) to another thread's
// loop: that thread calls run_due() of the returned hook before each of its waits and
// waits no longer than the time it returns; `wake` must end that wait early (a timer set
// from another thread that falls due sooner calls it). Until then, and after
// stop_driving_timers(), the clock's own thread runs them. nullptr when `sys` runs on
// another scheduler (CAF's clock then runs them).
net::io_timer_hook* drive_timers(caf::actor_system& sys, std::function<void()> wake);
// The driving thread has stopped calling run_due() (for good): the clock's own thread
// takes over.
void stop_driving_timers(caf::actor_system& sys);

} // namespace chorus::actors
