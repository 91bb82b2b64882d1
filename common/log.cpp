#include "common/log.hpp"

#include "common/text.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace chorus::log {

namespace {
std::atomic<int> g_level{static_cast<int>(level::info)};
std::atomic<int> g_format{static_cast<int>(format::text)};
std::mutex g_mutex;
constexpr const char* names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF"};
constexpr const char* json_names[] = {"trace", "debug", "info", "warn", "error", "off"};

int64_t now_unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  text::json_escape(out, s);
  out.push_back('"');
}

// Invalid UTF-8 would make a JSON line unparsable: bytes >= 0x80 that do not form valid
// sequences are replaced by '?'.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok && n == 2)
      ok = c >= 0xc2;
    if (!ok) {
      out.push_back('?');
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

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

void set_format(format f) noexcept { g_format.store(static_cast<int>(f)); }

format current_format() noexcept { return static_cast<format>(g_format.load()); }

std::string render(format f, level l, std::string_view component, std::string_view message,
                   const ids& about, int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  int ms = static_cast<int>(unix_ms % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const std::pair<const char*, std::string_view> fields[] = {{"room", about.room},
                                                             {"peer", about.peer},
                                                             {"transport", about.transport},
                                                             {"producer", about.producer},
                                                             {"consumer", about.consumer}};
  std::string out;
  char stamp[96];
  if (f == format::json) {
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
    out = "{\"ts\":\"";
    out += stamp;
    out += "\",\"level\":\"";
    out += json_names[static_cast<int>(l)];
    out += "\",\"component\":";
    json_string(out, valid_utf8(component));
    out += ",\"msg\":";
    json_string(out, valid_utf8(message));
    for (auto& [name, value] : fields)
      if (!value.empty()) {
        out += ",\"";
        out += name;
        out += "\":";
        json_string(out, valid_utf8(value));
      }
    out += '}';
    return out;
  }
  std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  char head[sizeof stamp + 16]; // the stamp, a level name of at most 5, the separators
  std::snprintf(head, sizeof head, "%s %-5s [", stamp, names[static_cast<int>(l)]);
  out = head;
  out += component;
  out += "] ";
  out += message;
  for (auto& [name, value] : fields)
    if (!value.empty()) {
      out += ' ';
      out += name;
      out += '=';
      out += value;
    }
  return out;
}

void write(level l, std::string_view component, std::string_view message, const ids& about) {
  auto line = render(current_format(), l, component, message, about, now_unix_ms());
  line += '\n';
  std::lock_guard<std::mutex> guard{g_mutex};
  std::fwrite(line.data(), 1, line.size(), stderr);
}

bool rate_gate::admit(int64_t interval_ms, uint64_t& suppressed) noexcept {
  // The steady clock: a wall clock stepped back would silence the call site.
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count();
  auto last = last_ms_.load(std::memory_order_relaxed);
  if (now - last >= interval_ms && last_ms_.compare_exchange_strong(last, now)) {
    suppressed = suppressed_.exchange(0);
    return true;
  }
  suppressed_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

} // namespace chorus::log
