// The turns: URL for TURN inside the signaling port's TLS (net/turn_url).
#include "net/turn_url.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>

using chorus::net::turns_url;

TEST_CASE("turns URL table") {
  struct tcase {
    const char* name;
    const char* configured;
    const char* host_header;
    std::optional<std::string> expected;
  };
  const tcase cases[] = {
    {"the Host header's name, default port", "", "chorus.school.example",
     "turns:chorus.school.example:443?transport=tcp"},
    {"the Host header's name and port", "", "chorus.test:8443",
     "turns:chorus.test:8443?transport=tcp"},
    {"turn.host over the Host header's name", "turn.school.example", "chorus.test:8443",
     "turns:turn.school.example:8443?transport=tcp"},
    {"an IPv4 address in the Host header", "", "127.0.0.1:8443", std::nullopt},
    {"an IPv6 address in the Host header", "", "[::1]:8443", std::nullopt},
    {"an address as turn.host", "192.0.2.1", "chorus.test", std::nullopt},
    {"no Host header", "chorus.test", "", std::nullopt},
    {"a port out of range", "", "chorus.test:70000", std::nullopt},
    {"a port with letters", "", "chorus.test:44x", std::nullopt},
    {"an empty port", "", "chorus.test:", std::nullopt},
    {"a name with a slash", "", "chorus.test/x", std::nullopt},
    {"an unclosed bracket", "", "[::1", std::nullopt},
  };
  for (const auto& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    CHECK(turns_url(c.configured, c.host_header) == c.expected);
  }
}
