// Cluster runs: the relay counters read from a node's /healthz, the per-node figures, and
// the options that go with them.
#include "bench/load/node_sampler.hpp"
#include "bench/load/soak.hpp"
#include "bench/load/options.hpp"
#include "bench/load/report.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::bench;

TEST_CASE("parse_relays: /healthz bodies") {
  struct row {
    const char* name;
    const char* body;
    bool ok;
    uint64_t in, out;
  };
  const row rows[] = {
    {"a cluster node", R"({"status":"ok","rooms":1,"relays":{"active":2,"packetsIn":1247,"packetsOut":2494},"cluster":{}})", true, 1247, 2494},
    {"a single node (no relays)", R"({"status":"ok","rooms":1})", false, 0, 0},
    {"relays not an object", R"({"relays":3})", false, 0, 0},
    {"a counter missing", R"({"relays":{"active":1,"packetsIn":5}})", false, 0, 0},
    {"a negative counter", R"({"relays":{"packetsIn":-1,"packetsOut":2}})", false, 0, 0},
    {"not JSON", "<html>", false, 0, 0},
    {"large counters", R"({"relays":{"packetsIn":18446744073709551615,"packetsOut":0}})", true, 18446744073709551615ull, 0},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    auto got = parse_relays(r.body);
    CHECK(got.has_value() == r.ok);
    if (got && r.ok) {
      CHECK(got->packets_in == r.in);
      CHECK(got->packets_out == r.out);
    }
  }
}

TEST_CASE("node_figures: link rate, CPU per relayed packet, the publisher's node") {
  bench_result r;
  r.options.url = "ws://a:1,ws://b:2,ws://c:3";
  r.options.remote_subscribers = true;
  r.window_s = 10;
  auto node = [](double cpu, uint64_t in, uint64_t out) {
    node_sample s;
    s.cpu = proc_sample{cpu, 0, 0, 1};
    s.relays = relay_counters{in, out, 1};
    return s;
  };
  r.nodes_start = {node(1.0, 0, 0), node(2.0, 100, 1000), node(3.0, 100, 1000)};
  r.nodes_end = {node(1.4, 0, 0), node(2.5, 2100, 41000), node(3.5, 2100, 41000)};
  auto f = node_figures(r);
  REQUIRE(f.size() == 3);
  CHECK(*f[1].relay_in_pps == doctest::Approx(200));
  CHECK(*f[1].relay_out_pps == doctest::Approx(4000));
  CHECK(*f[1].cpu_percent == doctest::Approx(5));
  CHECK(*f[1].us_per_relayed_out == doctest::Approx(0.5e6 / 40000));
  CHECK_FALSE(f[1].us_per_link_packet);
  // The publisher's node sent 4000 packets over its two links in the window.
  CHECK(*f[0].us_per_link_packet == doctest::Approx(0.4e6 / 4000));
  CHECK_FALSE(f[0].us_per_relayed_out);
  // A single node, or a window without samples: no rows.
  r.nodes_end.clear();
  CHECK(node_figures(r).empty());
}

TEST_CASE("cluster options: --node-pids per --url node, --remote-subscribers for a class") {
  struct row {
    const char* name;
    std::vector<const char*> args;
    bool ok;
  };
  const row rows[] = {
    {"three nodes, three pids", {"--url", "ws://a:1,ws://b:2,ws://c:3", "--node-pids", "10,11,12", "--remote-subscribers"}, true},
    {"pids do not match the nodes", {"--url", "ws://a:1,ws://b:2", "--node-pids", "10"}, false},
    {"remote subscribers on one node", {"--url", "ws://a:1", "--remote-subscribers"}, false},
    {"remote subscribers in a meeting", {"--url", "ws://a:1,ws://b:2", "--scenario", "meeting", "--remote-subscribers"}, false},
    {"a bad pid", {"--url", "ws://a:1,ws://b:2", "--node-pids", "10,x"}, false},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    std::vector<char*> argv{const_cast<char*>("chorus-bench")};
    for (auto* a : r.args)
      argv.push_back(const_cast<char*>(a));
    std::string error;
    bool help = false;
    auto o = parse_bench_options(int(argv.size()), argv.data(), error, help);
    CHECK(o.has_value() == r.ok);
    if (r.ok && o) {
      CHECK(o->node_pids == std::vector<int>{10, 11, 12});
      CHECK(o->remote_subscribers);
    }
  }
}

TEST_CASE("parse_server_counts: the soak's /healthz counts") {
  using chorus::bench::parse_server_counts;
  const auto c = parse_server_counts(
    R"({"status":"ok","rooms":2,"peers":5,"sessions":5,"transports":9,"producers":4,)"
    R"("consumers":12,"dataProducers":1,"dataConsumers":0,"actors":77,"media":{"x":1}})");
  CHECK(c.rooms == 2);
  CHECK(c.sessions == 5);
  CHECK(c.transports == 9);
  CHECK(c.consumers == 12);
  CHECK(c.data_producers == 1);
  CHECK(c.data_consumers == 0);
  CHECK(c.actors == 77);
  // Absent, of the wrong type, or not JSON: -1, never a zero that would pass as idle.
  CHECK(parse_server_counts(R"({"rooms":"2"})").rooms == -1);
  CHECK(parse_server_counts(R"({"rooms":1})").actors == -1);
  CHECK(parse_server_counts("not json").sessions == -1);
}
