// ICE controlling client (RFC 8445 §7.2, RFC 5389 §7.2.1 retransmissions, RFC 7675 consent)
// against the ICE-lite server in memory: connected with and without loss, failure after
// the last retransmission, wrong credentials, role conflict, consent, restart; and the
// client answering checks from a full-ICE peer.
#include "net/ice_client.hpp"
#include "net/ice_server.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

std::span<const uint8_t> bytes_of(const std::vector<uint8_t>& v) {
  return {v.data(), v.size()};
}

const transport_address server_address = transport_address::v4(192, 0, 2, 10, 40000);
const transport_address client_address = transport_address::v4(198, 51, 100, 7, 51000);

ice_server_config server_config() {
  ice_server_config c;
  c.local_ufrag = "srvU";
  c.local_password = "server-password-0123456";
  c.consent_timeout_ms = 30000;
  c.disconnected_timeout_ms = 10000;
  return c;
}

ice_client_config client_config() {
  ice_client_config c;
  c.local_ufrag = "cliU";
  c.local_password = "client-password-6543210";
  c.remote_ufrag = "srvU";
  c.remote_password = "server-password-0123456";
  c.remote = server_address;
  c.tie_breaker = 0x1122334455667788ull;
  c.initial_rto_ms = 50;
  c.max_transmissions = 7;
  c.final_wait_factor = 16;
  c.consent_interval_ms = 5000;
  c.consent_timeout_ms = 30000;
  return c;
}

// A client and a server joined by an in-memory link that can lose datagrams.
struct in_memory {
  ice_server server{server_config()};
  ice_client client{client_config()};
  ice_tuple client_tuple{ice_protocol::udp, client_address, 0};
  int lose_next_requests = 0; // client -> server datagrams to lose
  bool link_down = false;
  std::optional<uint64_t> connected_at;
  std::optional<uint64_t> failed_at;
  uint16_t last_error = 0;

  void deliver(const ice_client_output& out, uint64_t now) {
    for (const auto& datagram : out.to_send) {
      if (link_down)
        continue;
      if (lose_next_requests > 0) {
        --lose_next_requests;
        continue;
      }
      const auto d = server.handle(bytes_of(datagram), client_tuple, now);
      if (!d.response.empty())
        record(client.handle(bytes_of(d.response), server_address, now), now);
    }
  }
  void record(const ice_client_output& out, uint64_t now) {
    if (out.error_code != 0)
      last_error = out.error_code;
    if (out.state_changed && out.state == ice_client_state::connected)
      connected_at = now;
    if (out.state_changed && out.state == ice_client_state::failed)
      failed_at = now;
    deliver(out, now); // e.g. a new check after a role conflict
  }
  void step(uint64_t now) {
    const auto out = client.poll(now);
    record(out, now);
    server.tick(now);
  }
  void run(uint64_t from, uint64_t to, uint64_t step_ms = 10) {
    for (uint64_t now = from; now <= to; now += step_ms)
      step(now);
  }
};

} // namespace

TEST_CASE("ice_client <-> ice_server: connected on the first check") {
  in_memory net;
  CHECK(net.client.next_poll_ms() == 0u);
  net.step(0);
  CHECK(net.connected_at == 0u);
  CHECK(net.client.state() == ice_client_state::connected);
  CHECK(net.client.mapped_address() == client_address);
  // Aggressive nomination: the lite server is completed on the first check.
  CHECK(net.server.state() == ice_state::completed);
  CHECK(net.server.selected_tuple() == net.client_tuple);
  CHECK(net.server.remote_ufrag() == "cliU");
  CHECK(net.client.counters().requests_sent == 1);
  CHECK(net.client.counters().successes == 1);
  CHECK(net.client.counters().retransmissions == 0);
  CHECK(net.client.next_poll_ms() == 5000u); // the first consent check
}

TEST_CASE("ice_client <-> ice_server: connected by retransmission when requests are lost") {
  struct tcase {
    const char* name;
    int lost;
    uint64_t connected_at; // RTO 50 ms doubling: sends at 0, 50, 150, 350, 750, ...
  };
  const std::vector<tcase> cases{
    {"first request lost", 1, 50},
    {"three requests lost", 3, 350},
    {"six requests lost: the last transmission gets through", 6, 3150},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    in_memory net;
    net.lose_next_requests = c.lost;
    net.run(0, 5000);
    CHECK(net.connected_at == c.connected_at);
    CHECK(net.client.state() == ice_client_state::connected);
    CHECK(net.client.counters().retransmissions == uint64_t(c.lost));
    CHECK(net.server.state() == ice_state::completed);
  }
}

TEST_CASE("ice_client: fails after the last retransmission and the final wait") {
  in_memory net;
  net.link_down = true;
  net.run(0, 10000);
  // Rc = 7 transmissions (last at 3150 ms), then Rm * RTO = 16 * 50 ms.
  CHECK(net.failed_at == 3950u);
  CHECK(net.client.state() == ice_client_state::failed);
  CHECK(net.client.counters().requests_sent == 1);
  CHECK(net.client.counters().retransmissions == 6);
  CHECK(net.client.counters().timeouts == 1);
  CHECK_FALSE(net.client.next_poll_ms());
  CHECK(net.client.poll(20000).to_send.empty());
}

TEST_CASE("ice_client: wrong server password -> 401 -> failed") {
  in_memory net;
  auto config = client_config();
  config.remote_password = "not-the-password";
  net.client = ice_client{config};
  net.step(0);
  CHECK(net.last_error == 401);
  CHECK(net.failed_at == 0u);
  CHECK(net.server.counters().errors_401 == 1);
  CHECK(net.server.state() == ice_state::new_);
}

TEST_CASE("ice_client: a controlled client gets 487 from the lite server and switches role") {
  in_memory net;
  auto config = client_config();
  config.controlling = false;
  net.client = ice_client{config};
  net.step(0);
  CHECK(net.last_error == 487);
  CHECK(net.client.controlling());
  CHECK(net.connected_at == 0u); // the new check went out at once and succeeded
  CHECK(net.server.counters().errors_487 == 1);
  CHECK(net.server.state() == ice_state::completed);
}

TEST_CASE("ice_client: consent checks keep both sides up; a dead link fails both") {
  in_memory net;
  net.run(0, 60000, 50);
  CHECK(net.client.state() == ice_client_state::connected);
  CHECK(net.server.state() == ice_state::completed);
  // One consent check every 5 s after connecting at 0.
  CHECK(net.client.counters().requests_sent == 13);
  CHECK(net.server.counters().valid == 13);

  net.link_down = true; // last successful consent check at 60000
  net.run(60050, 100000, 50);
  CHECK(net.failed_at == 90000u);
  CHECK(net.server.state() == ice_state::closed); // disconnected at 90000, closed at 100000
}

TEST_CASE("ice_client: responses that do not authenticate are ignored") {
  ice_client client{client_config()};
  const auto out = client.poll(0);
  REQUIRE(out.to_send.size() == 1);
  const auto request = stun::parse(bytes_of(out.to_send[0]));
  REQUIRE(request.ok());
  const auto tid = request.msg.tid;

  struct tcase {
    const char* name;
    std::vector<uint8_t> bytes;
    transport_address source;
  };
  const std::vector<tcase> cases{
    {"signed with the wrong password", stun::binding_success(tid, client_address, "nope"),
     server_address},
    {"unknown transaction id",
     stun::binding_success(stun::random_transaction_id(), client_address,
                           "server-password-0123456"),
     server_address},
    {"from another address",
     stun::binding_success(tid, client_address, "server-password-0123456"),
     transport_address::v4(192, 0, 2, 99, 40000)},
    {"error with bad integrity", stun::binding_error(tid, 487, "nope"), server_address},
    {"not STUN", {0x80, 0x00, 0x00, 0x01}, server_address},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto before = client.counters().ignored;
    const auto o = client.handle(bytes_of(c.bytes), c.source, 10);
    CHECK(client.counters().ignored == before + 1);
    CHECK(o.to_send.empty());
    CHECK(client.state() == ice_client_state::checking);
  }
  // The genuine response still completes the transaction.
  const auto ok = client.handle(
    bytes_of(stun::binding_success(tid, client_address, "server-password-0123456")),
    server_address, 20);
  CHECK(ok.state_changed);
  CHECK(ok.state == ice_client_state::connected);
  CHECK(ok.mapped == client_address);
}

TEST_CASE("ice_client answers checks from a full-ICE peer") {
  struct tcase {
    const char* name;
    std::string username;
    std::string key;
    bool peer_controlling;
    uint64_t peer_tie_breaker;
    uint16_t error;            // 0: success
    bool controlling_after;
  };
  const std::vector<tcase> cases{
    {"controlled peer", "cliU:srvU", "client-password-6543210", false, 1, 0, true},
    {"wrong username", "srvU:cliU", "client-password-6543210", false, 1, 401, true},
    {"wrong password", "cliU:srvU", "server-password-0123456", false, 1, 401, true},
    {"controlling peer with a larger tie-breaker: we yield", "cliU:srvU",
     "client-password-6543210", true, ~0ull, 0, false},
    {"controlling peer with a smaller tie-breaker: 487", "cliU:srvU",
     "client-password-6543210", true, 1, 487, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    ice_client client{client_config()};
    stun::binding_request_params p;
    p.tid = stun::random_transaction_id();
    p.username = c.username;
    p.key = c.key;
    p.priority = 100;
    p.controlling = c.peer_controlling;
    p.tie_breaker = c.peer_tie_breaker;
    const auto out = client.handle(bytes_of(stun::binding_request(p)), server_address, 0);
    REQUIRE(out.to_send.size() == 1);
    const auto r = stun::parse(bytes_of(out.to_send[0]));
    REQUIRE(r.ok());
    CHECK(r.msg.tid == p.tid);
    if (c.error == 0) {
      CHECK(r.msg.cls == stun::message_class::success_response);
      CHECK(r.msg.xor_mapped_address == server_address);
      CHECK(stun::verify_integrity(bytes_of(out.to_send[0]), r.msg, "client-password-6543210"));
    } else {
      REQUIRE(r.msg.error_code);
      CHECK(r.msg.error_code->code == c.error);
    }
    CHECK(client.controlling() == c.controlling_after);
  }
}

TEST_CASE("ice_client <-> ice_server: ICE restart on both sides connects again") {
  in_memory net;
  net.step(0);
  REQUIRE(net.client.state() == ice_client_state::connected);
  net.server.restart("srv2", "server-password-second");
  net.client.restart("cli2", "client-password-second", "srv2", "server-password-second");
  CHECK(net.client.state() == ice_client_state::new_);
  net.connected_at.reset();
  net.step(1000);
  CHECK(net.connected_at == 1000u);
  CHECK(net.server.remote_ufrag() == "cli2");
  CHECK(net.server.state() == ice_state::completed);
}

TEST_CASE("ice_client: checks carry the browser's attributes") {
  ice_client client{client_config()};
  const auto out = client.poll(0);
  REQUIRE(out.to_send.size() == 1);
  const auto r = stun::parse(bytes_of(out.to_send[0]));
  REQUIRE(r.ok());
  CHECK(r.msg.username == "srvU:cliU");
  CHECK(r.msg.priority == default_check_priority);
  CHECK(r.msg.ice_controlling == 0x1122334455667788ull);
  CHECK(r.msg.use_candidate);
  CHECK(r.msg.has_fingerprint);
  CHECK(stun::verify_integrity(bytes_of(out.to_send[0]), r.msg, "server-password-0123456"));
  CHECK(to_string(client.state()) == "checking");
}
