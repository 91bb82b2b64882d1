#include "app/metrics.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <sys/resource.h>
#include <unistd.h>

namespace chorus::app {

namespace {

std::string number(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::floor(v) == v && std::fabs(v) < 1e15)
    return std::to_string(static_cast<long long>(v));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

} // namespace

std::string prometheus_text(const std::vector<metric>& metrics) {
  std::string out;
  std::string last;
  for (const auto& m : metrics) {
    const auto& family = m.family.empty() ? m.name : m.family;
    if (family != last) {
      out += "# HELP " + family + " " + m.help + "\n";
      out += "# TYPE " + family + " " + m.type + "\n";
      last = family;
    }
    out += m.name;
    if (!m.labels.empty())
      out += "{" + m.labels + "}";
    out += ' ';
    out += number(m.value);
    out += '\n';
  }
  return out;
}

process_stats read_process_stats() {
  process_stats p;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0)
    p.cpu_seconds = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  std::ifstream statm{"/proc/self/statm"};
  uint64_t size = 0, resident = 0;
  if (statm >> size >> resident)
    p.resident_bytes = resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++p.open_fds;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
    p.max_fds = rl.rlim_cur;
  return p;
}

} // namespace chorus::app
