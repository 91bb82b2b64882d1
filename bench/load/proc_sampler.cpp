#include "bench/load/proc_sampler.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <time.h>
#include <unistd.h>

namespace chorus::bench {

std::optional<proc_sample> sample_process(int pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  std::ifstream stat(base + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line))
    return std::nullopt;
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses; fields after the
  // last ')' start with field 3 (state). utime and stime are fields 14 and 15.
  const auto close = line.rfind(')');
  if (close == std::string::npos)
    return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::strtoull(field.c_str(), nullptr, 10);
    else if (i == 15)
      stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  const long ticks = ::sysconf(_SC_CLK_TCK);
  proc_sample s;
  s.cpu_s = double(utime + stime) / double(ticks > 0 ? ticks : 100);
  // The process's CPU clock counts in nanoseconds what /proc/PID/stat counts in ticks of
  // 10 ms: a class of 20 uses about 0.15 s of CPU in a 10 s window, 15 ticks, so a tick
  // either way moved its figure by 7 %.
  clockid_t clock{};
  timespec ts{};
  if (::clock_getcpuclockid(pid_t(pid), &clock) == 0 && ::clock_gettime(clock, &ts) == 0) {
    s.cpu_s = double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
    s.cpu_precise = true;
  }

  std::ifstream status(base + "/status");
  while (status && std::getline(status, line)) {
    auto value = [&](const char* key) -> std::optional<uint64_t> {
      const std::size_t n = std::strlen(key);
      if (line.compare(0, n, key) != 0)
        return std::nullopt;
      return std::strtoull(line.c_str() + n, nullptr, 10);
    };
    if (auto v = value("VmRSS:"))
      s.rss_kib = *v;
    else if (auto v = value("VmHWM:"))
      s.hwm_kib = *v;
    else if (auto v = value("Threads:"))
      s.threads = uint32_t(*v);
  }
  return s;
}

std::optional<proc_sample> sample_self() {
  return sample_process(int(::getpid()));
}

} // namespace chorus::bench
