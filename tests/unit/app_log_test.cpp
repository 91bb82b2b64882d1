// Log lines as text and as JSON (common/log.hpp), and the rate gate of repeated warnings.
#include "common/log.hpp"

#include <doctest/doctest.h>

using namespace chorus;

TEST_CASE("log::render: text and JSON, ids as fields, escapes, invalid UTF-8") {
  const int64_t at = 1763839200123; // 2025-11-22T19:20:00.123Z
  log::ids about{.room = "r1", .peer = "p\"1", .producer = "x"};
  CHECK(log::render(log::format::json, log::level::info, "room", "joined\n\x01", about, at) ==
        R"({"ts":"2025-11-22T19:20:00.123Z","level":"info","component":"room","msg":"joined\u000a\u0001","room":"r1","peer":"p\"1","producer":"x"})");
  CHECK(log::render(log::format::text, log::level::warn, "room", "joined", about, at) ==
        "19:20:00.123 WARN  [room] joined room=r1 peer=p\"1 producer=x");
  CHECK(log::render(log::format::json, log::level::error, "c", "bad \xff\xfe utf8 \xc3\xa9", {}, at) ==
        R"({"ts":"2025-11-22T19:20:00.123Z","level":"error","component":"c","msg":"bad ?? utf8 )"
        "\xc3\xa9"
        R"("})");
}

TEST_CASE("log::rate_gate: one line per interval, then the count of the suppressed") {
  log::rate_gate gate;
  uint64_t skipped = 99;
  CHECK(gate.admit(60000, skipped));
  CHECK(skipped == 0);
  CHECK_FALSE(gate.admit(60000, skipped));
  CHECK_FALSE(gate.admit(60000, skipped));
  CHECK(gate.admit(0, skipped)); // the next admitted line learns how many were held back
  CHECK(skipped == 2);
  log::rate_gate fast;
  CHECK(fast.admit(0, skipped));
  CHECK(fast.admit(0, skipped)); // interval 0: every line
  CHECK(skipped == 0);
}
