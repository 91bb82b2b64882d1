// How busy this process is: the CPU time it used over a recent window, as a share of the
// CPUs it may run on. Read by the media path to choose between ways of working that win at
// low load and ways that win under load (the producer's direct lanes, actors/consumer.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace chorus::actors {

// True while the process used more than 60 % of its usable CPUs over the last window of
// about 200 ms (false again below 40 %). Thread-safe; refreshed by whichever caller first
// finds the window over, so a call costs an atomic load except once per window.
bool process_busy(int64_t now_ms);

// True while the process used less than half of one CPU over the last window (false from
// above 50 % until it falls below 30 %), however many CPUs it may use: while it is, one
// thread can carry all of its work, so the media I/O thread runs large fan-outs itself
// (enter_producer_lane) instead of waking a worker for them. Same window as process_busy.
bool process_light(int64_t now_ms);

// The CPUs this process may run on (its affinity mask), read once.
int usable_cpu_count();

// The gates of the direct lanes the calling thread may enter (actors/lane.hpp). On a media
// I/O thread of a process with several of them (set_io_thread_count), that thread's own
// CPU time over the window decides: busy above 60 % of one CPU (idle again below 40 %),
// light below half of one CPU (heavy again above it; 30 % to be light again): each I/O
// thread carries its own transports' receive and fan-out while it has the time (the work
// stays on the core where the packets arrived), and hands them to the workers as messages
// once it is full. Elsewhere (a worker, a process with one I/O thread) process_busy and
// process_light. Thread-safe; a thread's reading costs a clock read once per window.
bool lanes_busy(int64_t now_ms);
bool lanes_light(int64_t now_ms);
// How many media I/O threads the process runs (0 or 1: the process-wide gates everywhere).
void set_io_thread_count(std::size_t n);

// Whether a producer hands a batch to its idle consumers through their direct lanes
// (actors/consumer.hpp) rather than a message each. On one usable CPU always, whatever
// waits in the producer's own mailbox (`mail_waiting`): the workers cannot spread a
// fan-out over cores there, so a message and a turn per consumer only add cost, a consumer
// behind messages gets messages anyway (a lane is entered only when its mailbox is empty),
// so under load it still takes several batches in one turn, and a producer behind its mail
// joins what waits (actors/batch_join.hpp). On several CPUs only a fan-out of at most
// `max_consumers`, with no mail waiting, while the process is not busy: otherwise messages
// spread the fan-out over the workers.
bool fan_out_through_lanes(std::size_t consumers, std::size_t max_consumers, int cpus, bool busy,
                           bool mail_waiting);

// The decision itself: busy after a window in which `used_us` of CPU time was used over
// `elapsed_ms` on `cpus` CPUs, given whether it was busy before (the hysteresis).
bool next_busy(bool was_busy, int64_t used_us, int64_t elapsed_ms, int cpus);

// The decision behind process_light: light after a window in which `used_us` of CPU time was
// used over `elapsed_ms`, given whether it was light before (the hysteresis).
bool next_light(bool was_light, int64_t used_us, int64_t elapsed_ms);

} // namespace chorus::actors
