// common/text.hpp's helpers that the edges share: the label rule of ids and names,
// HOST:PORT, and JSON string escaping (Engine.IO's open packet, the cluster's /healthz).
#include "common/text.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus;

TEST_CASE("text::valid_label: 1 to 128 bytes, no control characters") {
  struct tcase {
    const char* name;
    std::string s;
    bool ok;
  };
  const tcase cases[] = {
    {"a room id", "class-7b", true},
    {"UTF-8", "Zo\xC3\xAB", true},
    {"128 bytes", std::string(128, 'r'), true},
    {"empty", "", false},
    {"129 bytes", std::string(129, 'r'), false},
    {"a tab", "a\tb", false},
    {"NUL", std::string("a\0b", 3), false},
    {"DEL", "a\x7f", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(text::valid_label(c.s) == c.ok);
  }
  CHECK(text::valid_label("abcd", 3) == false);
}

TEST_CASE("text::split_host_port") {
  struct tcase {
    const char* input;
    bool ok;
    const char* host;
    uint16_t port;
  };
  const tcase cases[] = {
    {"127.0.0.1:7000", true, "127.0.0.1", 7000},
    {"[::1]:0", true, "::1", 0},
    {"node-b.example:65535", true, "node-b.example", 65535},
    {"::1:80", true, "::1", 80}, // the last colon separates the port
    {"127.0.0.1", false, "", 0},
    {":80", false, "", 0},
    {"host:", false, "", 0},
    {"host:65536", false, "", 0},
    {"host:99999999999", false, "", 0},
    {"host:8o", false, "", 0},
    {"host:-1", false, "", 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.input);
    std::string host;
    uint16_t port = 1;
    CHECK(text::split_host_port(c.input, host, port) == c.ok);
    if (c.ok) {
      CHECK(host == c.host);
      CHECK(port == c.port);
    }
  }
}

TEST_CASE("text::json_escape") {
  std::string out = "<";
  text::json_escape(out, std::string("a\"b\\c\n\x01\x1f" "\xC3\xAB", 10));
  CHECK(out == "<a\\\"b\\\\c\\u000a\\u0001\\u001f\xC3\xAB");
}

TEST_CASE("split_list: the non-empty parts of a comma-separated list") {
  using chorus::text::split_list;
  CHECK(split_list("a,b,c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_list(",a,,b,") == std::vector<std::string>{"a", "b"});
  CHECK(split_list("").empty());
  CHECK(split_list(",").empty());
  CHECK(split_list("*") == std::vector<std::string>{"*"});
}
