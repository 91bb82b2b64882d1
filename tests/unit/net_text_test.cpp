// common/text.hpp's helpers that the edges share: the label rule of ids and names,
// HOST:PORT, and JSON string escaping (Engine.IO's open packet, the cluster's /healthz).
#include "common/text.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus;

namespace {

// A named string and whether the check under test accepts it.
struct verdict_case {
  const char* name;
  std::string s;
  bool ok;
};

} // namespace

TEST_CASE("text::valid_label: 1 to 128 bytes of UTF-8, no control characters") {
  const verdict_case cases[] = {
    {"a room id", "class-7b", true},
    {"UTF-8", "Zo\xC3\xAB", true},
    {"128 bytes", std::string(128, 'r'), true},
    {"empty", "", false},
    {"129 bytes", std::string(129, 'r'), false},
    {"a tab", "a\tb", false},
    {"NUL", std::string("a\0b", 3), false},
    {"DEL", "a\x7f", false},
    {"a lone 0xFF (percent-decoded %FF)", "a\xFF", false},
    {"a truncated sequence", "a\xC3", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(text::valid_label(c.s) == c.ok);
  }
  CHECK(text::valid_label("abcd", 3) == false);
}

TEST_CASE("text::valid_utf8: RFC 3629 table (overlong, surrogates, range, truncation)") {
  const verdict_case cases[] = {
    {"ASCII", "abc", true},
    {"empty", "", true},
    {"2 bytes U+00EB", "\xC3\xAB", true},
    {"3 bytes U+20AC", "\xE2\x82\xAC", true},
    {"4 bytes U+1F600", "\xF0\x9F\x98\x80", true},
    {"U+10FFFF, the last", "\xF4\x8F\xBF\xBF", true},
    {"U+D7FF, before the surrogates", "\xED\x9F\xBF", true},
    {"U+E000, after them", "\xEE\x80\x80", true},
    {"lone continuation", "\x80", false},
    {"C0 overlong '/'", "\xC0\xAF", false},
    {"C1 overlong", "\xC1\xBF", false},
    {"E0 overlong", "\xE0\x80\xAF", false},
    {"F0 overlong", "\xF0\x80\x80\xAF", false},
    {"surrogate U+D800", "\xED\xA0\x80", false},
    {"above U+10FFFF", "\xF4\x90\x80\x80", false},
    {"F5", "\xF5\x80\x80\x80", false},
    {"FF", "\xFF", false},
    {"truncated 2", "\xC3", false},
    {"truncated 3", "\xE2\x82", false},
    {"truncated 4", "\xF0\x9F\x98", false},
    {"bad continuation", "\xC3\x28", false},
    {"bad third byte", "\xE2\x82\x28", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(text::valid_utf8(c.s) == c.ok);
  }
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
