#include "actors/process_load.hpp"
#include "actors/media_tuning.hpp"

#include "net/media_io.hpp"

#include <atomic>
#include <ctime>

#include <sched.h>

namespace chorus::actors {

namespace {

int usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    return 1;
  const int n = CPU_COUNT(&set);
  return n > 0 ? n : 1;
}

int64_t process_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

int64_t thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

std::atomic<std::size_t> g_io_threads{0};

// One media I/O thread's own load (lanes_busy, lanes_light).
struct thread_load {
  int64_t start_ms = 0;
  int64_t cpu_us = 0;
  bool busy = false;
  bool light = true;

  void refresh(int64_t now_ms) {
    if (start_ms != 0 && now_ms - start_ms < tuning::load_window_ms)
      return;
    const int64_t cpu = thread_cpu_us();
    if (start_ms != 0) {
      busy = next_busy(busy, cpu - cpu_us, now_ms - start_ms, 1);
      light = next_light(light, cpu - cpu_us, now_ms - start_ms);
    }
    start_ms = now_ms;
    cpu_us = cpu;
  }
};
thread_local thread_load t_load;

// Whether the calling thread's own load gates its lanes.
bool own_load() {
  return g_io_threads.load(std::memory_order_relaxed) > 1 && net::media_io::current_thread() >= 0;
}

std::atomic<int64_t> g_window_start_ms{0};
std::atomic<int64_t> g_window_cpu_us{0};
std::atomic<bool> g_busy{false};
std::atomic<bool> g_light{true};

// Opens a new window when the last one is over (one caller wins it) and updates both readings.
void refresh(int64_t now_ms) {
  int64_t start = g_window_start_ms.load(std::memory_order_relaxed);
  if (now_ms - start < tuning::load_window_ms ||
      !g_window_start_ms.compare_exchange_strong(start, now_ms, std::memory_order_relaxed))
    return;
  const int cpus = usable_cpu_count();
  const int64_t cpu = process_cpu_us();
  const int64_t used = cpu - g_window_cpu_us.exchange(cpu, std::memory_order_relaxed);
  if (start == 0)
    return;
  g_busy.store(next_busy(g_busy.load(std::memory_order_relaxed), used, now_ms - start, cpus),
               std::memory_order_relaxed);
  g_light.store(next_light(g_light.load(std::memory_order_relaxed), used, now_ms - start),
                std::memory_order_relaxed);
}

} // namespace

int usable_cpu_count() {
  static const int cpus = usable_cpus();
  return cpus;
}

bool fan_out_through_lanes(std::size_t consumers, std::size_t max_consumers, int cpus, bool busy,
                           bool mail_waiting) {
  if (cpus == 1)
    return true;
  return consumers <= max_consumers && !busy && !mail_waiting;
}

bool next_busy(bool was_busy, int64_t used_us, int64_t elapsed_ms, int cpus) {
  if (elapsed_ms <= 0 || cpus <= 0)
    return was_busy;
  const int64_t permille = used_us / (elapsed_ms * cpus); // us per ms: 1000 is all of them
  return was_busy ? permille >= tuning::idle_below_permille
                  : permille > tuning::busy_above_permille;
}

bool next_light(bool was_light, int64_t used_us, int64_t elapsed_ms) {
  if (elapsed_ms <= 0)
    return was_light;
  const int64_t permille = used_us / elapsed_ms; // of one CPU
  return was_light ? permille <= tuning::heavy_above_permille
                   : permille < tuning::light_below_permille;
}

bool process_busy(int64_t now_ms) {
  refresh(now_ms);
  return g_busy.load(std::memory_order_relaxed);
}

bool process_light(int64_t now_ms) {
  refresh(now_ms);
  return g_light.load(std::memory_order_relaxed);
}

bool lanes_busy(int64_t now_ms) {
  if (!own_load())
    return process_busy(now_ms);
  t_load.refresh(now_ms);
  return t_load.busy;
}

bool lanes_light(int64_t now_ms) {
  if (!own_load())
    return process_light(now_ms);
  t_load.refresh(now_ms);
  return t_load.light;
}

void set_io_thread_count(std::size_t n) { g_io_threads.store(n, std::memory_order_relaxed); }

} // namespace chorus::actors
