// Query-string decoding used for /socket?auth=…&channelId=…&name=…
#include "net/http_server.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using chorus::net::query_param;
using chorus::net::url_decode;

TEST_CASE("url_decode table") {
  struct tcase {
    const char* name;
    const char* in;
    bool ok;
    const char* out;
  };
  std::vector<tcase> cases{
    {"plain", "room1", true, "room1"},
    {"plus is space", "a+b", true, "a b"},
    {"percent escapes", "caf%C3%A9%20%26", true, "caf\xC3\xA9 &"},
    {"lower-case hex", "%2f%2F", true, "//"},
    {"truncated escape", "abc%2", false, ""},
    {"lone percent", "%", false, ""},
    {"bad hex digit", "%zz", false, ""},
    {"empty", "", true, ""},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    std::string out;
    CHECK(url_decode(c.in, out) == c.ok);
    if (c.ok)
      CHECK(out == c.out);
  }
}

TEST_CASE("query_param table") {
  using chorus::net::query_lookup;
  std::string v;
  CHECK(query_param("auth=alice&channelId=room%201", "channelId", v) == query_lookup::found);
  CHECK(v == "room 1");
  CHECK(query_param("auth=alice&channelId=room1", "auth", v) == query_lookup::found);
  CHECK(v == "alice");
  CHECK(query_param("auth=alice", "channelId", v) == query_lookup::absent);
  CHECK(query_param("", "auth", v) == query_lookup::absent);
  CHECK(query_param("auth", "auth", v) == query_lookup::found); // present without value
  CHECK(v.empty());
  CHECK(query_param("xauth=1", "auth", v) == query_lookup::absent); // no prefix matches
  CHECK(query_param("auth=%zz", "auth", v) == query_lookup::malformed);
}
