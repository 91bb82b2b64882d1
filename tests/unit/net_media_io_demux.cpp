// Single-port demultiplexing as a plain data structure (net/media_io_demux.hpp): STUN
// USERNAME extraction and the ufrag / address tables, without sockets.
#include "net/media_io_demux.hpp"

#include "net/stun.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::net;

namespace {

using bytes = std::vector<uint8_t>;

bytes request(const std::string& username) {
  stun::binding_request_params p;
  p.tid = stun::random_transaction_id();
  p.username = username;
  p.key = "pass";
  p.priority = 1;
  return stun::binding_request(p);
}

transport_address client(uint16_t port) { return transport_address::v4(127, 0, 0, 1, port); }

const bytes rtp_like{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xde, 0xad};

} // namespace

TEST_CASE("media_io demux: local ufrag of a binding request") {
  struct {
    const char* name;
    bytes packet;
    std::optional<std::string> expected;
  } cases[] = {
    {"browser check", request("bbbb:xyz"), "bbbb"},
    {"colon in remote part", request("a:b:c"), "a"},
    {"no colon", request("bbbb"), std::nullopt},
    {"empty local part", request(":xyz"), std::nullopt},
    {"empty remote part", request("bbbb:"), std::nullopt},
    {"binding success response",
     stun::binding_success(stun::random_transaction_id(), client(1), "k"), std::nullopt},
    {"RTP", rtp_like, std::nullopt},
    {"empty", {}, std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(binding_request_local_ufrag(c.packet) == c.expected);
  }
  // A request without USERNAME.
  const auto bare = stun::builder(stun::message_class::request, stun::method_binding,
                                  stun::random_transaction_id())
                      .add_fingerprint()
                      .bytes();
  CHECK_FALSE(binding_request_local_ufrag(bare));
}

// One thread's address table over the process's ufrag table, as media_io has them.
struct demux {
  ufrag_table<int*> ufrags;
  tuple_table<int*> tuples;
  explicit demux(std::size_t max_tuples = 16) : tuples(max_tuples) {}
  tuple_table<int*>::route_result route(const bytes& b, const transport_address& from) {
    return tuples.route(b, from, [this](std::string_view u) { return ufrags.find(u); });
  }
};

TEST_CASE("media_io demux: unknown sources bind by a request, then route by address") {
  int a = 1, b = 2;
  demux d;
  REQUIRE(d.ufrags.add(&a, "aaaa"));
  REQUIRE(d.ufrags.add(&b, "bbbb"));
  CHECK_FALSE(d.ufrags.add(&a, "zzzz")); // already registered
  CHECK_FALSE(d.ufrags.add(nullptr, "bbbb"));
  CHECK_FALSE(d.ufrags.add(nullptr, ""));

  SUBCASE("garbage from an unknown address is dropped") {
    CHECK(d.route(rtp_like, client(5000)).owner == nullptr);
    CHECK(d.route(request("cccc:x"), client(5000)).owner == nullptr); // unknown ufrag
    CHECK(d.tuples.tuple_count(&a) + d.tuples.tuple_count(&b) == 0);
  }
  SUBCASE("request binds, later media follows the address") {
    auto r = d.route(request("bbbb:xyz"), client(5000));
    CHECK(r.owner == &b);
    CHECK(r.bound);
    auto m = d.route(rtp_like, client(5000));
    CHECK(m.owner == &b);
    CHECK_FALSE(m.bound);
    CHECK(d.route(rtp_like, client(5001)).owner == nullptr);
    // A known address stays with its endpoint even if it names another ufrag.
    CHECK(d.route(request("aaaa:xyz"), client(5000)).owner == &b);
  }
  SUBCASE("remove forgets ufrag and addresses") {
    d.route(request("bbbb:xyz"), client(5000));
    d.ufrags.remove(&b);
    d.tuples.remove(&b);
    CHECK(d.route(rtp_like, client(5000)).owner == nullptr);
    CHECK(d.route(request("bbbb:xyz"), client(5000)).owner == nullptr);
    CHECK(d.ufrags.add(&b, "bbbb")); // the ufrag is free again
  }
  SUBCASE("ICE restart swaps the ufrag, keeps addresses") {
    d.route(request("bbbb:xyz"), client(5000));
    CHECK_FALSE(d.ufrags.set_ufrag(&b, "aaaa")); // taken
    CHECK(d.ufrags.set_ufrag(&b, "bbbb"));       // its own: nothing changes
    CHECK(d.ufrags.set_ufrag(&b, "bbb2"));
    CHECK(d.route(request("bbbb:xyz"), client(6000)).owner == nullptr);
    CHECK(d.route(request("bbb2:xyz"), client(6000)).owner == &b);
    CHECK(d.route(rtp_like, client(5000)).owner == &b);
    CHECK(d.ufrags.find("bbbb") == nullptr);
  }
  SUBCASE("two threads' address tables share the ufrags, each binds what it receives") {
    tuple_table<int*> other;
    auto find = [&](std::string_view u) { return d.ufrags.find(u); };
    CHECK(d.route(request("aaaa:x"), client(5000)).owner == &a);
    CHECK(other.route(request("aaaa:x"), client(5002), find).owner == &a);
    CHECK(other.find(client(5000)) == nullptr); // bound on the first table only
    CHECK(d.tuples.find(client(5002)) == nullptr);
    other.remove(&a);
    CHECK(d.tuples.find(client(5000)) == &a);
  }
}

TEST_CASE("media_io demux: addresses per endpoint are capped, oldest evicted") {
  int a = 1;
  demux d(3);
  REQUIRE(d.ufrags.add(&a, "aaaa"));
  for (uint16_t port = 7000; port < 7003; ++port)
    CHECK_FALSE(d.route(request("aaaa:x"), client(port)).evicted);
  auto r = d.route(request("aaaa:x"), client(7003));
  CHECK(r.owner == &a);
  CHECK(r.evicted);
  CHECK(d.tuples.tuple_count(&a) == 3);
  CHECK(d.tuples.find(client(7000)) == nullptr); // the oldest
  CHECK(d.tuples.find(client(7001)) == &a);
  CHECK(d.tuples.find(client(7003)) == &a);
}

TEST_CASE("media_io demux: address hash tells families and ports apart") {
  transport_address_hash h;
  auto v4 = transport_address::v4(10, 0, 0, 1, 1000);
  auto v4b = transport_address::v4(10, 0, 0, 1, 1001);
  auto v6 = *transport_address::from_string("::1", 1000);
  CHECK(h(v4) == h(transport_address::v4(10, 0, 0, 1, 1000)));
  CHECK(h(v4) != h(v4b));
  CHECK(h(v4) != h(v6));
}
