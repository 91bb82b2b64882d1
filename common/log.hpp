// Minimal leveled logging to stderr. Not for the per-packet path.
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace chorus::log {

enum class level : int { trace = 0, debug = 1, info = 2, warn = 3, error = 4, off = 5 };

// Parses "trace|debug|info|warn|error|off"; returns false when unknown.
bool parse_level(std::string_view text, level& out) noexcept;
void set_level(level l) noexcept;
level current_level() noexcept;
inline bool enabled(level l) noexcept { return l >= current_level(); }
void write(level l, std::string_view component, std::string_view message);

} // namespace chorus::log

#define CHORUS_LOG(lvl, component, expr)                                                  \
  do {                                                                                    \
    if (::chorus::log::enabled(::chorus::log::level::lvl)) {                              \
      std::ostringstream chorus_log_os_;                                                  \
      chorus_log_os_ << expr;                                                             \
      ::chorus::log::write(::chorus::log::level::lvl, component, chorus_log_os_.str());   \
    }                                                                                     \
  } while (false)

#define LOG_DEBUG(component, expr) CHORUS_LOG(debug, component, expr)
#define LOG_INFO(component, expr) CHORUS_LOG(info, component, expr)
#define LOG_WARN(component, expr) CHORUS_LOG(warn, component, expr)
#define LOG_ERROR(component, expr) CHORUS_LOG(error, component, expr)
