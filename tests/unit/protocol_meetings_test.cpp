// The meetings API's bodies: what POST /api/meetings accepts, and the
// answers' JSON.
#include "protocol/meetings.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::protocol;

TEST_CASE("meetings: request bodies") {
  struct row {
    const char* name;
    std::string body;
    bool ok;
    const char* error_part;
  };
  const std::vector<row> rows{
    {"full", R"({"id":"m1","userId":"user_a","description":"Algebra","startsAt":1790000000000})", true, ""},
    {"minimal", R"({"id":"m1","userId":"user_a"})", true, ""},
    {"startsAt as a string is ignored", R"({"id":"m1","userId":"u","startsAt":"2026-11-23T10:00:00Z"})", true, ""},
    {"not JSON", "{", false, "JSON"},
    {"an array", "[]", false, "object"},
    {"no id", R"({"userId":"u"})", false, "id"},
    {"no userId", R"({"id":"m"})", false, "userId"},
    {"id not a string", R"({"id":1,"userId":"u"})", false, "id"},
    {"empty id", R"({"id":"","userId":"u"})", false, "id"},
    {"id too long", R"({"id":")" + std::string(129, 'x') + R"(","userId":"u"})", false, "id"},
    {"control character", R"({"id":"a\u0007b","userId":"u"})", false, "printable"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    std::string error;
    auto m = parse_meeting_request(r.body, error);
    CHECK(m.has_value() == r.ok);
    if (!r.ok)
      CHECK(error.find(r.error_part) != std::string::npos);
  }
  std::string error;
  auto m = parse_meeting_request(R"({"id":"m1","userId":"user_a","description":"D","startsAt":5})", error);
  REQUIRE(m);
  CHECK(m->id == "m1");
  CHECK(m->creator_id == "user_a");
  CHECK(m->description == "D");
  CHECK(m->starts_at == 5);
}

TEST_CASE("meetings: answers") {
  meeting m{"m1", "user_a", "say \"hi\"", 0, 42};
  CHECK(meeting_json(m) ==
        R"({"success":true,"meeting":{"id":"m1","creatorId":"user_a","description":"say \"hi\"","createdAt":42}})");
  m.starts_at = 7;
  CHECK(meeting_json(m).find(R"("startsAt":7)") != std::string::npos);
  CHECK(meeting_error_json("no") == R"({"success":false,"error":"no"})");
}
