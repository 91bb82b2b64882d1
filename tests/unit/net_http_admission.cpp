// The edge's admission decisions (net/http_admission.hpp): the Origin check as table
// cases, and the per-address connection count.
#include "net/http_admission.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using chorus::net::check_origin;
using chorus::net::origin_allowed;
using chorus::net::origin_verdict;
using chorus::net::origin_verdict_name;
using chorus::net::per_address_counter;

namespace {

using list = std::vector<std::string>;
const std::optional<std::string_view> absent;

struct origin_case {
  const char* name;
  std::optional<std::string_view> origin;
  std::optional<std::string_view> host;
  list allowed;
  origin_verdict want;
};

} // namespace

TEST_CASE("check_origin table") {
  const list none;
  const list app{"https://app.example", "http://dev.example:5173"};
  const list star{"*"};
  std::vector<origin_case> cases{
    // No Origin header: not a browser page.
    {"no origin, default list", absent, "chorus.example:8080", none, origin_verdict::no_origin},
    {"no origin, no host", absent, absent, app, origin_verdict::no_origin},
    // The server's own origin.
    {"own origin", "http://chorus.example:8080", "chorus.example:8080", none,
     origin_verdict::same_origin},
    {"own origin, https default port both sides", "https://chorus.example", "chorus.example",
     none, origin_verdict::same_origin},
    {"own origin, explicit default port in Host", "https://chorus.example",
     "chorus.example:443", none, origin_verdict::same_origin},
    {"own origin behind a TLS proxy (Host without port)", "https://meet.example",
     "meet.example", app, origin_verdict::same_origin},
    {"own origin also with a list", "http://chorus.example:8080", "chorus.example:8080", app,
     origin_verdict::same_origin},
    {"own IPv6 origin", "http://[2001:db8::1]:8080", "[2001:db8::1]:8080", app,
     origin_verdict::same_origin},
    {"same host, other port", "http://chorus.example:9090", "chorus.example:8080", app,
     origin_verdict::foreign},
    {"same host, default port against 8080", "http://chorus.example", "chorus.example:8080",
     app, origin_verdict::foreign},
    // Upper case in scheme and host.
    {"upper-case scheme and host, own origin", "HTTP://Chorus.Example:8080",
     "chorus.example:8080", none, origin_verdict::same_origin},
    {"upper-case Host header", "http://chorus.example:8080", "CHORUS.EXAMPLE:8080", none,
     origin_verdict::same_origin},
    {"upper-case listed origin", "HTTPS://APP.EXAMPLE", "chorus.example:8080", app,
     origin_verdict::listed},
    // Pages on this machine, by default only.
    {"localhost, another port", "http://localhost:5173", "127.0.0.1:8080", none,
     origin_verdict::local_page},
    {"localhost, no port", "http://localhost", "127.0.0.1:8080", none, origin_verdict::local_page},
    {"127.0.0.1 https", "https://127.0.0.1:8443", "chorus.example", none,
     origin_verdict::local_page},
    {"[::1] any port", "http://[::1]:3000", "127.0.0.1:8080", none, origin_verdict::local_page},
    {"upper-case LOCALHOST", "HTTP://LOCALHOST:3000", "127.0.0.1:8080", none,
     origin_verdict::local_page},
    {"localhost not allowed once a list is set", "http://localhost:5173", "chorus.example",
     app, origin_verdict::foreign},
    {"localhost lookalike", "http://localhost.evil.example", "127.0.0.1:8080", none,
     origin_verdict::foreign},
    {"127.0.0.2 is not a local page here", "http://127.0.0.2:8080", "127.0.0.1:8080", none,
     origin_verdict::foreign},
    // Listed origins.
    {"listed", "https://app.example", "chorus.example", app, origin_verdict::listed},
    {"listed with explicit default port", "https://app.example:443", "chorus.example", app,
     origin_verdict::listed},
    {"listed with its port", "http://dev.example:5173", "chorus.example", app,
     origin_verdict::listed},
    {"listed host, other port", "http://dev.example:5174", "chorus.example", app,
     origin_verdict::foreign},
    {"listed host, other scheme", "http://app.example", "chorus.example", app,
     origin_verdict::foreign},
    // Foreign.
    {"foreign, default list", "http://evil.example", "127.0.0.1:8080", none,
     origin_verdict::foreign},
    {"foreign with a list", "https://evil.example", "chorus.example", app,
     origin_verdict::foreign},
    // "*" allows any.
    {"star allows foreign", "http://evil.example", "127.0.0.1:8080", star, origin_verdict::any},
    {"star allows null", "null", "127.0.0.1:8080", star, origin_verdict::any},
    {"star allows malformed", "evil", "127.0.0.1:8080", star, origin_verdict::any},
    // Opaque and malformed origins.
    {"null origin", "null", "127.0.0.1:8080", none, origin_verdict::opaque},
    {"null origin with a list", "null", "chorus.example", app, origin_verdict::opaque},
    {"no scheme", "chorus.example:8080", "chorus.example:8080", none, origin_verdict::malformed},
    {"with a path", "http://localhost:5173/app", "127.0.0.1:8080", none,
     origin_verdict::malformed},
    {"with user info", "http://user@localhost", "127.0.0.1:8080", none,
     origin_verdict::malformed},
    {"port out of range", "http://localhost:70000", "127.0.0.1:8080", none,
     origin_verdict::malformed},
    {"port zero", "http://localhost:0", "127.0.0.1:8080", none, origin_verdict::malformed},
    {"empty port", "http://localhost:", "127.0.0.1:8080", none, origin_verdict::malformed},
    {"empty host", "http://:8080", "127.0.0.1:8080", none, origin_verdict::malformed},
    {"unclosed IPv6", "http://[::1:8080", "127.0.0.1:8080", none, origin_verdict::malformed},
    {"empty origin", "", "127.0.0.1:8080", none, origin_verdict::malformed},
    {"space inside", "http://local host", "127.0.0.1:8080", none, origin_verdict::malformed},
    // The Host header missing or odd: only the own-origin rule needs it.
    {"missing Host, foreign", "http://chorus.example:8080", absent, none,
     origin_verdict::foreign},
    {"missing Host, localhost", "http://localhost:8080", absent, none, origin_verdict::local_page},
    {"missing Host, listed", "https://app.example", absent, app, origin_verdict::listed},
    {"malformed Host", "http://chorus.example:8080", "chorus.example:8080/x", none,
     origin_verdict::foreign},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    auto got = check_origin(c.origin, c.host, c.allowed);
    CHECK(origin_verdict_name(got) == origin_verdict_name(c.want));
  }
}

TEST_CASE("origin_allowed: which verdicts let a request in") {
  CHECK(origin_allowed(origin_verdict::no_origin));
  CHECK(origin_allowed(origin_verdict::same_origin));
  CHECK(origin_allowed(origin_verdict::local_page));
  CHECK(origin_allowed(origin_verdict::listed));
  CHECK(origin_allowed(origin_verdict::any));
  CHECK_FALSE(origin_allowed(origin_verdict::foreign));
  CHECK_FALSE(origin_allowed(origin_verdict::opaque));
  CHECK_FALSE(origin_allowed(origin_verdict::malformed));
}

TEST_CASE("per_address_counter: a limit per address, places given back") {
  per_address_counter c{3};
  for (int i = 0; i < 3; ++i)
    CHECK(c.try_add("10.0.0.1"));
  CHECK_FALSE(c.try_add("10.0.0.1")); // the 4th
  CHECK(c.count("10.0.0.1") == 3);
  CHECK(c.try_add("10.0.0.2")); // another address has its own count
  c.remove("10.0.0.1");
  CHECK(c.try_add("10.0.0.1")); // a place freed
  CHECK_FALSE(c.try_add("10.0.0.1"));
  for (int i = 0; i < 3; ++i)
    c.remove("10.0.0.1");
  c.remove("10.0.0.2");
  CHECK(c.addresses() == 0); // nothing left behind
  c.remove("10.0.0.3");      // unknown: ignored
  CHECK(c.count("10.0.0.3") == 0);
}

TEST_CASE("per_address_counter: 0 is unlimited, a refused address leaves no entry") {
  per_address_counter unlimited{0};
  for (int i = 0; i < 5000; ++i)
    REQUIRE(unlimited.try_add("127.0.0.1"));
  CHECK(unlimited.count("127.0.0.1") == 5000);
  per_address_counter none_allowed{1};
  CHECK(none_allowed.try_add("a"));
  CHECK_FALSE(none_allowed.try_add("a"));
  none_allowed.remove("a");
  CHECK(none_allowed.addresses() == 0);
}
