// The cluster's pure parts: rendezvous placement (joins, leaves, ties, spread) and the
// secret's challenge and response (HMAC-SHA256 against RFC 4231's vectors).
#include "net/cluster.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

using namespace chorus::net::cluster;

namespace {

std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

std::vector<uint8_t> repeat(uint8_t b, size_t n) {
  return std::vector<uint8_t>(n, b);
}

std::string hex(std::span<const uint8_t> b) {
  static constexpr char d[] = "0123456789abcdef";
  std::string s;
  for (auto x : b) {
    s.push_back(d[x >> 4]);
    s.push_back(d[x & 15]);
  }
  return s;
}

std::vector<std::string> rooms(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("room-" + std::to_string(i));
  return out;
}

} // namespace

TEST_CASE("hmac_sha256: RFC 4231 test cases") {
  struct tcase {
    const char* name;
    std::vector<uint8_t> key;
    std::vector<uint8_t> data;
    const char* mac;
  };
  const tcase cases[] = {
    {"test case 1", repeat(0x0b, 20), bytes_of("Hi There"),
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
    {"test case 2", bytes_of("Jefe"), bytes_of("what do ya want for nothing?"),
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {"test case 3", repeat(0xaa, 20), repeat(0xdd, 50),
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
    {"test case 6 (key longer than a block)", repeat(0xaa, 131),
     bytes_of("Test Using Larger Than Block-Size Key - Hash Key First"),
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(hex(hmac_sha256(c.key, c.data)) == c.mac);
  }
}

TEST_CASE("proof: bound to the secret, the role, both names and both challenges") {
  auto make = [](std::string_view secret, std::string_view role, std::string_view prover,
                 std::string_view verifier, std::string_view na, std::string_view nb) {
    return proof(secret, role, prover, verifier, na, nb);
  };
  const auto p = make("s3cret", proof_role, "node-a", "node-b", "na", "nb");
  CHECK(p.size() == 64);
  CHECK(p == make("s3cret", proof_role, "node-a", "node-b", "na", "nb"));
  struct tcase {
    const char* name;
    std::string other;
  };
  const tcase differs[] = {
    {"another secret", make("s3cret!", proof_role, "node-a", "node-b", "na", "nb")},
    {"the other role (a welcome passed off as a proof)",
     make("s3cret", welcome_role, "node-a", "node-b", "na", "nb")},
    {"the names swapped (a reflected proof)",
     make("s3cret", proof_role, "node-b", "node-a", "na", "nb")},
    {"another verifier", make("s3cret", proof_role, "node-a", "node-c", "na", "nb")},
    {"another initiator challenge", make("s3cret", proof_role, "node-a", "node-b", "nx", "nb")},
    {"another responder challenge", make("s3cret", proof_role, "node-a", "node-b", "na", "nx")},
    {"the challenges swapped", make("s3cret", proof_role, "node-a", "node-b", "nb", "na")},
    {"names split differently", make("s3cret", proof_role, "node-an", "ode-b", "na", "nb")},
  };
  for (const auto& c : differs) {
    CAPTURE(c.name);
    CHECK_FALSE(same_proof(p, c.other));
  }
  CHECK(same_proof(p, p));
  CHECK_FALSE(same_proof(p, p.substr(0, 63)));
  CHECK_FALSE(same_proof("", ""));
}

TEST_CASE("make_nonce: 64 hex digits, fresh each time") {
  auto a = make_nonce(), b = make_nonce();
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("home_node: the same answer on every node, whatever the order of the list") {
  std::vector<std::string> nodes{"node-a", "node-b", "node-c"};
  std::vector<std::string> shuffled{"node-c", "node-a", "node-b"};
  for (const auto& r : rooms(200))
    CHECK(home_node(r, nodes) == home_node(r, shuffled));
  CHECK(home_node("room", std::vector<std::string>{}).empty());
  CHECK(home_node("room", std::vector<std::string>{"only"}) == "only");
}

TEST_CASE("home_node: placement table") {
  // Named cases over 300 rooms: what moves when the live set changes.
  const std::vector<std::string> abc{"node-a", "node-b", "node-c"};
  const auto all = rooms(300);
  std::map<std::string, std::string> before;
  for (const auto& r : all)
    before[r] = home_node(r, abc);

  SUBCASE("a node leaves: only its rooms move, spread over the survivors") {
    const std::vector<std::string> ac{"node-a", "node-c"};
    int moved = 0;
    std::map<std::string, int> to;
    for (const auto& r : all) {
      auto now = home_node(r, ac);
      if (before[r] == "node-b") {
        ++moved;
        ++to[now];
      } else {
        CHECK(now == before[r]);
      }
    }
    CHECK(moved > 50); // about a third
    CHECK(to["node-a"] > 10);
    CHECK(to["node-c"] > 10);
  }
  SUBCASE("a node joins: rooms move only to it") {
    const std::vector<std::string> abcd{"node-a", "node-b", "node-c", "node-d"};
    int moved = 0;
    for (const auto& r : all) {
      auto now = home_node(r, abcd);
      if (now != before[r]) {
        CHECK(now == "node-d");
        ++moved;
      }
    }
    CHECK(moved > 40); // about a quarter
    CHECK(moved < 120);
  }
  SUBCASE("the load spreads: every node is home to a fair share") {
    std::map<std::string, int> count;
    for (const auto& [r, n] : before)
      ++count[n];
    for (const auto& n : abc)
      CHECK(count[n] > 60); // of 300 over 3
  }
  SUBCASE("a tie goes to the smaller node id") {
    // The same node id twice weighs the same: the tie rule decides, deterministically.
    const std::vector<std::string> twins{"node-b", "node-b", "node-a"};
    for (const auto& r : rooms(20)) {
      auto h = home_node(r, twins);
      CHECK((h == "node-a" || h == "node-b"));
      CHECK(h == home_node(r, std::vector<std::string>{"node-a", "node-b"}));
    }
  }
}

TEST_CASE("weight: separated fields, stable values") {
  CHECK(weight("ab", "c") != weight("a", "bc"));
  CHECK(weight("node-a", "room") == weight("node-a", "room"));
  CHECK(weight("node-a", "room") != weight("node-a", "room2"));
}
