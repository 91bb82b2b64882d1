// SCTP association (usrsctp, AF_CONN): two engines talking in memory, DCEP codec tables,
// and a Chromium INIT captured from a real data channel.
#include "net/sctp_association.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <deque>
#include <memory>
#include <functional>
#include <map>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

using bytes = std::vector<uint8_t>;

// One clock for the whole test binary: usrsctp's timer wheel is process-global.
uint64_t test_now = 5'000'000;

struct side {
  explicit side(std::unique_ptr<sctp_association> assoc) : a(std::move(assoc)) {}
  std::unique_ptr<sctp_association> a;
  std::deque<bytes> to_peer;
  std::vector<sctp_message> messages;
  std::vector<std::pair<uint16_t, dcep_open>> opened;
  std::vector<uint16_t> closed;
  std::vector<sctp_state> states;

  void take(sctp_output&& o) {
    for (auto& p : o.packets)
      to_peer.push_back(std::move(p));
    for (auto& m : o.messages)
      messages.push_back(std::move(m));
    for (auto& x : o.opened)
      opened.push_back(std::move(x));
    for (auto s : o.streams_closed)
      closed.push_back(s);
    if (o.state_changed)
      states.push_back(o.state);
  }
};

sctp_options opts(uint16_t os, uint16_t mis, size_t max_message = 262'144) {
  sctp_options o;
  o.os = os;
  o.mis = mis;
  o.max_message_size = max_message;
  return o;
}

std::unique_ptr<sctp_association> make(sctp_options o = {}) {
  auto r = sctp_association::create(std::move(o));
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? std::string() : r.error()));
  return std::move(*r);
}

// Moves packets both ways until `done` or a bound; runs the timers when nothing is in
// flight. `drop_x_to_y` may discard a packet from x to y.
bool pump(side& x, side& y, const std::function<bool()>& done,
          const std::function<bool(const bytes&)>& drop_x_to_y = {}) {
  for (int round = 0; round < 20'000; ++round) {
    if (done())
      return true;
    if (x.to_peer.empty() && y.to_peer.empty()) {
      test_now += 50;
      sctp_advance_timers(test_now);
      x.take(x.a->take_pending());
      y.take(y.a->take_pending());
      continue;
    }
    while (!x.to_peer.empty()) {
      auto p = std::move(x.to_peer.front());
      x.to_peer.pop_front();
      if (drop_x_to_y && drop_x_to_y(p))
        continue;
      y.take(y.a->handle_packet(p));
    }
    while (!y.to_peer.empty()) {
      auto p = std::move(y.to_peer.front());
      y.to_peer.pop_front();
      x.take(x.a->handle_packet(p));
    }
  }
  return done();
}

void connect(side& x, side& y) {
  x.take(x.a->connect());
  y.take(y.a->connect());
  REQUIRE(pump(x, y, [&] {
    return x.a->state() == sctp_state::connected && y.a->state() == sctp_state::connected;
  }));
}

bytes pattern(size_t n, uint8_t seed) {
  bytes b(n);
  for (size_t i = 0; i < n; ++i)
    b[i] = static_cast<uint8_t>(seed + i * 31 + (i >> 8));
  return b;
}

bytes text(std::string_view s) { return bytes(s.begin(), s.end()); }

// Drops the first packet that carries `needle` (a message's payload), once.
std::function<bool(const bytes&)> lose_once(std::string needle) {
  auto done = std::make_shared<bool>(false);
  return [needle, done](const bytes& p) {
    if (*done)
      return false;
    if (std::search(p.begin(), p.end(), needle.begin(), needle.end()) == p.end())
      return false;
    *done = true;
    return true;
  };
}

} // namespace

TEST_CASE("sctp: two associations connect and negotiate the stream counts") {
  side x{make(opts(16, 40))}, y{make(opts(30, 8))};
  connect(x, y);
  CHECK(x.a->outgoing_streams() == 8);  // min(our OS, their MIS)
  CHECK(x.a->incoming_streams() == 30); // min(their OS, our MIS)
  CHECK(y.a->outgoing_streams() == 30);
  CHECK(y.a->incoming_streams() == 8);
  REQUIRE(!x.states.empty());
  CHECK(x.states.back() == sctp_state::connected);
}

TEST_CASE("sctp: ordered messages, strings and binary, up to maxMessageSize, arrive intact") {
  side x{make()}, y{make()};
  connect(x, y);
  struct c {
    const char* name;
    uint16_t stream;
    sctp_ppid ppid;
    bytes data;
  };
  std::vector<c> cases = {
    {"short string", 1, sctp_ppid::string, text("hello")},
    {"binary, one packet", 1, sctp_ppid::binary, pattern(1000, 1)},
    {"binary over one MTU", 2, sctp_ppid::binary, pattern(5000, 2)},
    {"200 KB", 1, sctp_ppid::binary, pattern(200 * 1024, 3)},
    {"exactly maxMessageSize", 3, sctp_ppid::binary, pattern(262'144, 4)},
    {"empty string", 1, sctp_ppid::string, {}},
    {"empty binary", 1, sctp_ppid::binary, {}},
    {"string after all", 1, sctp_ppid::string, text("bye")},
  };
  for (auto& k : cases) {
    CAPTURE(k.name);
    auto o = x.a->send(k.stream, k.ppid, k.data, {});
    CHECK(o.refused == sctp_error::none);
    x.take(std::move(o));
  }
  REQUIRE(pump(x, y, [&] { return y.messages.size() == cases.size(); }));
  // Order holds per stream; stream 1's messages keep theirs.
  std::map<uint16_t, std::vector<const c*>> expected;
  for (auto& k : cases)
    expected[k.stream].push_back(&k);
  std::map<uint16_t, size_t> next;
  for (auto& m : y.messages) {
    auto* k = expected[m.stream][next[m.stream]++];
    CAPTURE(k->name);
    CHECK(m.data == k->data);
    const bool empty = k->data.empty();
    const auto want = empty ? (k->ppid == sctp_ppid::string ? sctp_ppid::string_empty
                                                            : sctp_ppid::binary_empty)
                            : k->ppid;
    CHECK(m.ppid == static_cast<uint32_t>(want));
  }
  CHECK(y.a->counters().messages_in == cases.size());
}

TEST_CASE("sctp: a message over maxMessageSize is refused; one received over it is dropped") {
  side x{make(opts(1024, 1024, 300'000))}, y{make()};
  connect(x, y);
  auto big = pattern(300'001, 9);
  auto o = x.a->send(1, sctp_ppid::binary, big, {});
  CHECK(o.refused == sctp_error::too_large);
  CHECK(o.packets.empty());
  CHECK(x.a->counters().refused_out == 1);
  // Over the receiver's limit (262144) but within the sender's: dropped and counted.
  x.take(x.a->send(1, sctp_ppid::binary, pattern(270'000, 1), {}));
  x.take(x.a->send(1, sctp_ppid::string, text("after"), {}));
  REQUIRE(pump(x, y, [&] { return y.messages.size() == 1; }));
  CHECK(y.messages[0].data == text("after"));
  CHECK(y.a->counters().dropped_too_large == 1);
}

TEST_CASE("sctp: sends are refused before connected and on a stream beyond the negotiated") {
  side x{make(opts(4, 4))}, y{make(opts(4, 4))};
  auto early = x.a->send(0, sctp_ppid::string, text("x"), {});
  CHECK(early.refused == sctp_error::not_connected);
  connect(x, y);
  CHECK(x.a->send(4, sctp_ppid::string, text("x"), {}).refused == sctp_error::bad_stream);
  CHECK(x.a->send(3, sctp_ppid::string, text("x"), {}).refused == sctp_error::none);
}

TEST_CASE("sctp: unordered messages and partial reliability (maxRetransmits 0) over loss") {
  side x{make()}, y{make()};
  connect(x, y);
  sctp_stream_options unreliable{.ordered = false,
                                 .reliability = sctp_reliability::max_retransmits,
                                 .reliability_value = 0};
  for (int i = 0; i < 10; ++i) {
    auto b = text("m" + std::to_string(i));
    x.take(x.a->send(5, sctp_ppid::string, b, unreliable));
  }
  // Lose the packet with m3: it is never sent again (no retransmission allowed).
  CHECK(pump(x, y, [&] { return y.messages.size() >= 9; }, lose_once("m3")));
  // Let the sender time out and forward past the lost message (FORWARD-TSN); it never
  // comes again.
  for (int i = 0; i < 100; ++i)
    pump(x, y, [] { return false; });
  std::vector<std::string> got;
  for (auto& m : y.messages)
    got.emplace_back(m.data.begin(), m.data.end());
  CHECK(got.size() == 9);
  CHECK(std::find(got.begin(), got.end(), "m3") == got.end());
  // The association is still fine: a reliable message after it arrives.
  x.take(x.a->send(5, sctp_ppid::string, text("reliable"), {}));
  REQUIRE(pump(x, y, [&] { return y.messages.size() == 10; }));
  CHECK(y.messages.back().data == text("reliable"));
}

TEST_CASE("sctp: unordered reliable messages all arrive despite loss") {
  side x{make()}, y{make()};
  connect(x, y);
  sctp_stream_options unordered{.ordered = false};
  for (int i = 0; i < 6; ++i)
    x.take(x.a->send(2, sctp_ppid::string, text("u" + std::to_string(i)), unordered));
  REQUIRE(pump(x, y, [&] { return y.messages.size() == 6; }, lose_once("u1")));
  std::vector<std::string> got;
  for (auto& m : y.messages)
    got.emplace_back(m.data.begin(), m.data.end());
  // u1 was lost once and retransmitted: it comes after the others (unordered delivery).
  CHECK(got.back() == "u1");
}

TEST_CASE("sctp: DCEP open is acknowledged and reported") {
  side x{make()}, y{make()};
  connect(x, y);
  dcep_open open{.options = {.ordered = false,
                             .reliability = sctp_reliability::max_packet_lifetime,
                             .reliability_value = 3000},
                 .priority = 256,
                 .label = "chat",
                 .protocol = "json"};
  x.take(x.a->send_dcep_open(7, open));
  REQUIRE(pump(x, y, [&] { return !y.opened.empty() && x.a->counters().dcep_in == 1; }));
  CHECK(y.opened[0].first == 7);
  CHECK(y.opened[0].second.label == "chat");
  CHECK(y.opened[0].second.protocol == "json");
  CHECK(y.opened[0].second.options.ordered == false);
  CHECK(y.opened[0].second.options.reliability == sctp_reliability::max_packet_lifetime);
  CHECK(y.opened[0].second.options.reliability_value == 3000);
  CHECK(y.messages.empty()); // DCEP is not a user message
}

TEST_CASE("sctp: closing a stream resets it on both sides; closing the association ends it") {
  side x{make()}, y{make()};
  connect(x, y);
  x.take(x.a->send(2, sctp_ppid::string, text("before"), {}));
  REQUIRE(pump(x, y, [&] { return y.messages.size() == 1; }));
  x.take(x.a->close_stream(2));
  REQUIRE(pump(x, y, [&] { return !y.closed.empty() && !x.closed.empty(); }));
  CHECK(y.closed == std::vector<uint16_t>{2});
  CHECK(x.closed == std::vector<uint16_t>{2}); // y answered by resetting its side
  // The stream can be opened again and used.
  x.a->forget_stream(2);
  x.take(x.a->send(2, sctp_ppid::string, text("again"), {}));
  REQUIRE(pump(x, y, [&] { return y.messages.size() == 2; }));
  CHECK(y.messages[1].data == text("again"));

  x.take(x.a->close());
  CHECK(x.a->state() == sctp_state::closed);
  REQUIRE(pump(x, y, [&] { return y.a->state() == sctp_state::closed; }));
  CHECK(x.a->send(1, sctp_ppid::string, text("late"), {}).refused == sctp_error::not_connected);
}

TEST_CASE("sctp: garbage in is ignored") {
  side x{make()}, y{make()};
  for (auto& junk : {bytes{}, bytes{1, 2, 3}, bytes(40, 0xff), pattern(300, 7)})
    y.take(y.a->handle_packet(junk));
  CHECK(y.to_peer.empty());
  connect(x, y);
  for (auto& junk : {bytes(40, 0xff), pattern(300, 7)})
    y.take(y.a->handle_packet(junk));
  x.take(x.a->send(1, sctp_ppid::string, text("ok"), {}));
  REQUIRE(pump(x, y, [&] { return y.messages.size() == 1; }));
}

// ---- DCEP codec ---------------------------------------------------------------------------

TEST_CASE("dcep: DATA_CHANNEL_OPEN table") {
  struct c {
    const char* name;
    bytes in;
    bool ok;
    dcep_error error;
    bool round_trip = true;
    bool ordered = true;
    sctp_reliability reliability = sctp_reliability::reliable;
    uint32_t value = 0;
    std::string label = {}, protocol = {};
  };
  const std::vector<c> cases = {
    {"reliable ordered, label 'chat', no protocol",
     {0x03, 0x00, 0x00, 0x00, /*rel*/ 0, 0, 0, 0, /*label len*/ 0, 4, /*proto len*/ 0, 0,
      'c', 'h', 'a', 't'},
     true, {}, true, true, sctp_reliability::reliable, 0, "chat", ""},
    {"unordered, rexmit 3, protocol 'p'",
     {0x03, 0x81, 0x01, 0x00, 0, 0, 0, 3, 0, 1, 0, 1, 'x', 'p'},
     true, {}, true, false, sctp_reliability::max_retransmits, 3, "x", "p"},
    {"ordered, timed 1500 ms, empty label",
     {0x03, 0x02, 0x00, 0x00, 0, 0, 0x05, 0xdc, 0, 0, 0, 0},
     true, {}, true, true, sctp_reliability::max_packet_lifetime, 1500, "", ""},
    {"reliable with a stray parameter: ignored",
     {0x03, 0x00, 0x00, 0x00, 0, 0, 0, 9, 0, 0, 0, 0},
     true, {}, false, true, sctp_reliability::reliable, 0, "", ""},
    {"empty", {}, false, dcep_error::truncated},
    {"ACK is not an OPEN", {0x02}, false, dcep_error::unknown_type},
    {"header cut", {0x03, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0}, false, dcep_error::truncated},
    {"channel type 0x03", {0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false,
     dcep_error::bad_channel_type},
    {"label longer than the message", {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 'a'}, false,
     dcep_error::length_mismatch},
    {"bytes after the protocol", {0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'z'}, false,
     dcep_error::length_mismatch},
  };
  for (auto& k : cases) {
    CAPTURE(std::string(k.name));
    auto r = parse_dcep_open(k.in);
    REQUIRE(r.ok() == k.ok);
    if (!k.ok) {
      CHECK(r.error() == k.error);
      continue;
    }
    CHECK(r->options.ordered == k.ordered);
    CHECK(r->options.reliability == k.reliability);
    CHECK(r->options.reliability_value == k.value);
    CHECK(r->label == k.label);
    CHECK(r->protocol == k.protocol);
    if (k.round_trip)
      CHECK(build_dcep_open(*r) == k.in);
  }
}

// ---- captured from Chromium 1xx (mediasoup-client's produceData through Chorus) ------------

namespace {

bytes from_hex(std::string_view hex) {
  bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// Chromium's SCTP INIT, as it arrived in DTLS application data:
//   common header: src port 5000, dst port 5000, verification tag 0, CRC32c 3a302ead
//   INIT chunk (type 1, length 30): initiate tag cf23d47e, a_rwnd 5 MiB, OS 65535,
//   MIS 65535, initial TSN 9407d326; Forward-TSN-Supported (c000); Supported
//   Extensions (8008): RE-CONFIG (82), FORWARD-TSN (c0).
const char* chromium_init =
  "13881388" "00000000" "3a302ead"
  "0100001e" "cf23d47e" "00500000" "ffffffff" "9407d326"
  "c0000004" "80080006" "82c00000";

// Chromium's DATA_CHANNEL_OPEN for createDataChannel('dcep-label', { protocol: 'chat-v1',
// ordered: false, maxRetransmits: 2 }) (the payload of PPID 50 on stream 2):
//   type 03, channel type 81 (unordered, rexmit), priority 0100, reliability 2,
//   label length 10, protocol length 7, "dcep-label", "chat-v1".
const char* chromium_dcep_open =
  "03" "81" "0100" "00000002" "000a" "0007" "646365702d6c6162656c" "636861742d7631";

} // namespace

TEST_CASE("sctp: Chromium's INIT is answered with an INIT ACK to its tag") {
  // As in a transport: our side connects when DTLS is up (its own INIT goes out), then the
  // browser's INIT arrives (both WebRTC ends connect: the collision of RFC 4960 §5.2.1).
  side y{make()};
  y.take(y.a->connect());
  REQUIRE(y.to_peer.size() == 1);
  CHECK(y.to_peer.front()[12] == 1); // our INIT
  y.to_peer.clear();
  auto init = from_hex(chromium_init);
  REQUIRE(init.size() == 44);
  y.take(y.a->handle_packet(init));
  REQUIRE(y.to_peer.size() == 1);
  const auto& ack = y.to_peer.front();
  REQUIRE(ack.size() >= 16);
  CHECK(ack[0] == 0x13);
  CHECK(ack[1] == 0x88); // source port 5000
  CHECK(ack[2] == 0x13);
  CHECK(ack[3] == 0x88); // destination port 5000
  CHECK(bytes(ack.begin() + 4, ack.begin() + 8) == from_hex("cf23d47e")); // its initiate tag
  CHECK(ack[12] == 2);                                                    // INIT ACK
  // A corrupted copy (checksum no longer matches) is ignored.
  side z{make()};
  z.take(z.a->connect());
  z.to_peer.clear();
  auto bad = init;
  bad[20] ^= 0x01;
  z.take(z.a->handle_packet(bad));
  CHECK(z.to_peer.empty());
  CHECK(z.a->state() == sctp_state::connecting);
}

TEST_CASE("dcep: Chromium's DATA_CHANNEL_OPEN") {
  auto r = parse_dcep_open(from_hex(chromium_dcep_open));
  REQUIRE(r.ok());
  CHECK(r->label == "dcep-label");
  CHECK(r->protocol == "chat-v1");
  CHECK(r->options.ordered == false);
  CHECK(r->options.reliability == sctp_reliability::max_retransmits);
  CHECK(r->options.reliability_value == 2);
  CHECK(r->priority == 256);
  CHECK(build_dcep_open(*r) == from_hex(chromium_dcep_open));
}

TEST_CASE("sctp: timers run on another thread; their output waits in the owner's queue and wakes it") {
  // As in the server: usrsctp's timer wheel is global and any transport's tick may run it,
  // so a retransmission for this association can be made on another thread. It must reach
  // the owner (take_pending) after a wakeup, never be lost, never race the owner's calls.
  std::atomic<int> wakeups{0};
  sctp_options o;
  o.wakeup = [&wakeups] { wakeups.fetch_add(1); };
  side x{make(o)}, y{make()};
  connect(x, y);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> clock{test_now};
  std::thread ticker([&] {
    while (!stop.load()) {
      sctp_advance_timers(clock.fetch_add(20) + 20);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  // Lose the first copy of every 5th message: each comes back by retransmission (T3 timer
  // on the ticker's thread, or fast retransmit on ours).
  for (int i = 0; i < 50; ++i)
    x.take(x.a->send(1, sctp_ppid::string, text("r" + std::to_string(i)), {}));
  // The last one's first copy is lost too: nothing follows it, so only the T3 timer (run by
  // the other thread) sends it again.
  x.take(x.a->send(1, sctp_ppid::string, text("last"), {}));
  std::set<std::string> lost;
  auto drop = [&lost](const bytes& p) {
    const std::string last = "last";
    if (std::search(p.begin(), p.end(), last.begin(), last.end()) != p.end() &&
        lost.insert(last).second)
      return true;
    for (int i = 0; i < 50; i += 5) {
      auto needle = "r" + std::to_string(i);
      if (std::search(p.begin(), p.end(), needle.begin(), needle.end()) != p.end() &&
          lost.insert(needle).second)
        return true;
    }
    return false;
  };
  bool done = false;
  for (int round = 0; round < 4000 && !done; ++round) {
    while (!x.to_peer.empty()) {
      auto p = std::move(x.to_peer.front());
      x.to_peer.pop_front();
      if (!drop(p))
        y.take(y.a->handle_packet(p));
    }
    while (!y.to_peer.empty()) {
      auto p = std::move(y.to_peer.front());
      y.to_peer.pop_front();
      x.take(x.a->handle_packet(p));
    }
    x.take(x.a->take_pending());
    y.take(y.a->take_pending());
    done = y.messages.size() == 51;
    if (!done)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop = true;
  ticker.join();
  test_now = clock.load() + 1000;
  REQUIRE(y.messages.size() == 51);
  for (int i = 0; i < 50; ++i)
    CHECK(y.messages[static_cast<size_t>(i)].data == text("r" + std::to_string(i)));
  CHECK(y.messages[50].data == text("last"));
  CHECK(lost.count("last") == 1);
  CHECK(lost.size() >= 5); // (a packet may bundle several messages)
  CHECK(wakeups.load() > 0);
}

// tests/fuzz/fuzz_sctp's finding: an INIT whose last parameter has length
// 0 made Debian's usrsctp 0.9.5 loop for ever in sctp_send_initiate_ack. The bytes are the
// fuzzer's reproducer (also tests/fuzz/corpus/fuzz_sctp/init_param_len0).
TEST_CASE("sctp: malformed chunk and parameter framing is dropped before usrsctp") {
  // (The reproducer's first two bytes are the harness's mode and length bytes.)
  const bytes init_param_len0 = {
    0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // common header
    0x01, 0x00, 0x00, 0x1e, 0xcf, 0x23, 0xd4, 0x7e, 0x00, 0x50, 0x00, 0x00, // INIT, len 30
    0xff, 0xff, 0xff, 0xff, 0x94, 0x07, 0xd3, 0x26,
    0x2f, 0xc0, 0x00, 0x00, // a parameter of length 0
    0x04, 0x80, 0x08, 0x00, 0x06, 0x82, 0xc0, 0x00, 0x00};
  // A well-formed INIT: the same with the parameter's length 4 and a chunk length of 24.
  bytes init_ok(init_param_len0.begin(), init_param_len0.begin() + 36);
  init_ok[15] = 24;
  init_ok[35] = 4;
  struct named {
    const char* name;
    bytes packet;
    bool ok;
  };
  const std::vector<named> cases = {
    {"a well-formed INIT", init_ok, true},
    {"the fuzzer's INIT (parameter length 0)", init_param_len0, false},
    {"shorter than the common header", bytes(init_ok.begin(), init_ok.begin() + 11), false},
    {"the common header alone (no chunk)", bytes(init_ok.begin(), init_ok.begin() + 12), true},
    {"a chunk header cut short", bytes(init_ok.begin(), init_ok.begin() + 14), false},
    {"a chunk length under 4", [&] { auto b = init_ok; b[14] = 0; b[15] = 2; return b; }(), false},
    {"a chunk length past the packet", [&] { auto b = init_ok; b[15] = 40; return b; }(), false},
    {"an INIT shorter than its fixed part", [&] { auto b = init_ok; b[15] = 16; return b; }(), false},
    {"a parameter past its chunk", [&] { auto b = init_ok; b[35] = 8; return b; }(), false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(sctp_packet_well_formed(c.packet) == c.ok);
  }
  // The association drops and counts it, and returns (the hang was here).
  auto a = make();
  (void)a->handle_packet(init_param_len0);
  CHECK(a->counters().dropped_malformed == 1);
}
