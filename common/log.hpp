// Leveled logging to stderr, one line per event, as text or as JSON (--log-format). Not for
// the per-packet path.
//
// Text:  HH:MM:SS.mmm LEVEL [component] message room=R peer=P ...
// JSON:  {"ts":"YYYY-MM-DDTHH:MM:SS.mmmZ","level":"info","component":"room","msg":"...",
//         "room":"R","peer":"P","transport":"T","producer":"X","consumer":"C"}
// The ids are fields (LOG_INFO_IDS and friends), present when given.
#pragma once

#include <atomic>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace chorus::log {

enum class level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };
enum class format : int { text = 0, json = 1 };

// Parses "trace|debug|info|warn|error|off"; returns false when unknown.
bool parse_level(std::string_view text, level& out) noexcept;
void set_level(level l) noexcept;
level current_level() noexcept;
void set_format(format f) noexcept;
format current_format() noexcept;
inline bool enabled(level l) noexcept { return l >= current_level(); }

// The ids a line is about (empty: not given).
struct ids {
  std::string_view room{};
  std::string_view peer{};
  std::string_view transport{};
  std::string_view producer{};
  std::string_view consumer{};
};

void write(level l, std::string_view component, std::string_view message, const ids& about = {});

// The line as it would be written (without the newline), at wall time `unix_ms`; for tests.
std::string render(format f, level l, std::string_view component, std::string_view message,
                   const ids& about, int64_t unix_ms);

// A call site's rate limit for repeated warnings: at most one line per interval; the next
// line says how many were suppressed. Lock-free.
class rate_gate {
public:
  // Whether to write now; `suppressed` is set to the lines skipped since the last one.
  bool admit(int64_t interval_ms, uint64_t& suppressed) noexcept;

private:
  std::atomic<int64_t> last_ms_{INT64_MIN / 2};
  std::atomic<uint64_t> suppressed_{0};
};

} // namespace chorus::log

#define CHORUS_LOG_IDS(lvl, component, about, expr)                                       \
  do {                                                                                    \
    if (::chorus::log::enabled(::chorus::log::level::lvl)) {                              \
      std::ostringstream chorus_log_os_;                                                  \
      chorus_log_os_ << expr;                                                             \
      ::chorus::log::write(::chorus::log::level::lvl, component, chorus_log_os_.str(),    \
                           about);                                                        \
    }                                                                                     \
  } while (false)

#define CHORUS_LOG(lvl, component, expr) CHORUS_LOG_IDS(lvl, component, ::chorus::log::ids{}, expr)

#define LOG_DEBUG(component, expr) CHORUS_LOG(debug, component, expr)
#define LOG_INFO(component, expr) CHORUS_LOG(info, component, expr)
#define LOG_WARN(component, expr) CHORUS_LOG(warn, component, expr)
#define LOG_ERROR(component, expr) CHORUS_LOG(error, component, expr)

// With ids as fields: LOG_INFO_IDS("room", (log::ids{.room = id, .peer = p}), "joined")
#define LOG_DEBUG_IDS(component, about, expr) CHORUS_LOG_IDS(debug, component, about, expr)
#define LOG_INFO_IDS(component, about, expr) CHORUS_LOG_IDS(info, component, about, expr)
#define LOG_WARN_IDS(component, about, expr) CHORUS_LOG_IDS(warn, component, about, expr)

// A warning repeated at one call site: at most one line per `interval_ms`.
#define LOG_WARN_EVERY(component, interval_ms, expr)                                      \
  do {                                                                                    \
    if (::chorus::log::enabled(::chorus::log::level::warn)) {                             \
      static ::chorus::log::rate_gate chorus_log_gate_;                                   \
      uint64_t chorus_log_skipped_ = 0;                                                   \
      if (chorus_log_gate_.admit(interval_ms, chorus_log_skipped_)) {                     \
        std::ostringstream chorus_log_os_;                                                \
        chorus_log_os_ << expr;                                                           \
        if (chorus_log_skipped_ > 0)                                                      \
          chorus_log_os_ << " (" << chorus_log_skipped_ << " similar suppressed)";        \
        ::chorus::log::write(::chorus::log::level::warn, component, chorus_log_os_.str()); \
      }                                                                                   \
    }                                                                                     \
  } while (false)
