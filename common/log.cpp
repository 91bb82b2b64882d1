#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace chorus::log {

namespace {
std::atomic<int> g_level{static_cast<int>(level::info)};
std::mutex g_mutex;
constexpr const char* names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};
} // namespace

bool parse_level(std::string_view text, level& out) noexcept {
  static constexpr std::string_view keys[] = {"trace", "debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 6; ++i)
    if (text == keys[i]) {
      out = static_cast<level>(i);
      return true;
    }
  return false;
}

void set_level(level l) noexcept { g_level.store(static_cast<int>(l)); }

level current_level() noexcept { return static_cast<level>(g_level.load()); }

void write(level l, std::string_view component, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  std::lock_guard<std::mutex> guard{g_mutex};
  std::fprintf(stderr, "%s %-5s [%.*s] %.*s\n", stamp, names[static_cast<int>(l)],
               static_cast<int>(component.size()), component.data(),
               static_cast<int>(message.size()), message.data());
}

} // namespace chorus::log
