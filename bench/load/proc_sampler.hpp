// Readings of a process (Linux): CPU time of all its threads (its CPU clock,
// clock_getcpuclockid, in nanoseconds; utime + stime from /proc/PID/stat, in ticks of 10 ms,
// where that clock cannot be read) and resident memory (VmRSS, VmHWM from
// /proc/PID/status). Used on the server under test (--server-pid) and on the generator
// itself.
#pragma once

#include <cstdint>
#include <optional>

namespace chorus::bench {

struct proc_sample {
  double cpu_s = 0;       // user + system CPU seconds since the process started
  bool cpu_precise = false; // cpu_s from the process's CPU clock (else /proc's ticks)
  uint64_t rss_kib = 0;   // resident set size
  uint64_t hwm_kib = 0;   // peak resident set size
  uint32_t threads = 0;
};

// nullopt when the process does not exist (or /proc cannot be read).
std::optional<proc_sample> sample_process(int pid);
// This process (getpid()).
std::optional<proc_sample> sample_self();

} // namespace chorus::bench
