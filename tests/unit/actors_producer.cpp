// The producer actor in a real actor system, its transport and consumers played by the
// test: what it forwards to its consumers (once, in the router's payload type, with the
// keyframe and layer fields read), what a pause does, and the keyframe requests it makes
// of the publisher (PLI, throttled).
#include "actors/media_messages.hpp"
#include "actors/producer.hpp"
#include "protocol/messages.hpp"
#include "rtp/capabilities.hpp"
#include "rtp/ortc.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

using namespace chorus;
using namespace chorus::actors;

namespace {

constexpr uint32_t publisher_ssrc = 0x11112222;
constexpr uint8_t client_vp8_pt = 101;
constexpr auto reply_bound = std::chrono::seconds(5); // every wait for a message

// A VP8 packet: RTP header, then the payload descriptor with a temporal layer id (X, T)
// and the first byte of the VP8 payload header (P = 0: a keyframe).
std::vector<uint8_t> vp8_packet(uint16_t seq, uint32_t ts, bool keyframe, uint8_t tid) {
  std::vector<uint8_t> p = {0x80, client_vp8_pt, uint8_t(seq >> 8), uint8_t(seq),
                            uint8_t(ts >> 24), uint8_t(ts >> 16), uint8_t(ts >> 8), uint8_t(ts),
                            uint8_t(publisher_ssrc >> 24), uint8_t(publisher_ssrc >> 16),
                            uint8_t(publisher_ssrc >> 8), uint8_t(publisher_ssrc)};
  p.push_back(0x90);                 // X, S, partition 0
  p.push_back(0x20);                 // T: a TID byte follows
  p.push_back(uint8_t(tid << 6));    // TID, no Y, KEYIDX 0
  p.push_back(keyframe ? 0x00 : 0x01); // VP8 payload header: P bit
  p.insert(p.end(), 40, 0xab);
  return p;
}

struct producer_fixture {
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();
  caf::actor peer; // spawns the producer (linked to it, as a peer is)
  caf::actor producer;
  uint8_t router_pt = 0;

  producer_fixture() {
    sys.emplace(cfg);
    ctx->rtc.thread_fanout = false;
    ctx->settings.keyframe_request_interval_ms = 60'000; // a second request waits: throttled
  }

  ~producer_fixture() {
    if (peer)
      caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  }

  void spawn(caf::scoped_actor& transport) {
    auto caps = rtp::generate_router_capabilities(rtp::default_media_codecs());
    REQUIRE(caps);
    rtp::rtp_parameters params;
    rtp::codec_parameters vp8;
    vp8.mime_type = "video/VP8";
    vp8.payload_type = client_vp8_pt;
    vp8.clock_rate = 90000;
    vp8.rtcp_feedback = {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}};
    params.codecs.push_back(vp8);
    rtp::encoding_parameters enc;
    enc.ssrc = publisher_ssrc;
    params.encodings.push_back(enc);
    auto mapping = rtp::map_producer(*caps, rtp::media_kind::video, params);
    REQUIRE(mapping);
    router_pt = mapping->codecs.at(0).router;
    producer_spawn_args args;
    args.id = "producer-1";
    args.peer_id = "peer-1";
    args.kind = rtp::media_kind::video;
    args.parameters = params;
    args.mapping = *mapping;
    auto ctx_ = ctx;
    auto transport_handle = caf::actor_cast<caf::actor>(transport);
    peer = sys->spawn([=](caf::event_based_actor* self) -> caf::behavior {
      return {[=](int) -> caf::actor { return spawn_producer(self, args, transport_handle, ctx_); }};
    });
    transport->request(peer, reply_bound, 1)
      .receive([&](caf::actor& p) { producer = p; },
               [&](caf::error& e) { FAIL("the producer was not spawned: " << to_string(e)); });
    REQUIRE(producer);
  }

  // A consumer played by `c`: attached to the fan-out.
  void attach(caf::scoped_actor& c) {
    bool paused = true;
    c->request(producer, reply_bound, attach_consumer{caf::actor_cast<caf::actor>(c)})
      .receive([&](attach_reply& r) { paused = r.paused; },
               [&](caf::error& e) { FAIL("attach failed: " << to_string(e)); });
    CHECK_FALSE(paused);
  }

  // Everything the producer was sent before this is handled once its stats reply comes
  // (one mailbox, in order): what it sent meanwhile is in the receivers' mailboxes.
  void sync(caf::scoped_actor& s) {
    protocol::producer_request stats;
    stats.op = protocol::producer_op::get_stats;
    s->request(producer, reply_bound, stats)
      .receive([](protocol::stats_reply&) {},
               [&](caf::error& e) { FAIL("no stats reply: " << to_string(e)); });
  }
};

// The next media_packets in `c`'s mailbox, if one came within `wait` (other messages, the
// producer's sender clocks, are passed over until then).
std::optional<media_packets> next_media(caf::scoped_actor& c, std::chrono::milliseconds wait) {
  std::optional<media_packets> out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  bool more = true;
  while (more && !out) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    c->receive([&](media_packets& m) { out = std::move(m); },
               [&](source_clock&) {},
               caf::after(std::max(left, std::chrono::milliseconds(0))) >> [&] { more = false; });
  }
  return out;
}

// The PLIs among what the transport was sent (RTCP PSFB, FMT 1), naming `media_ssrc`.
int count_plis(caf::scoped_actor& transport, uint32_t media_ssrc) {
  int plis = 0;
  bool more = true;
  while (more)
    transport->receive(
      [&](rtcp_out& r) {
        const auto& b = r.bytes;
        if (b.size() >= 12 && (b[0] & 0x1f) == 1 && b[1] == 206) {
          const uint32_t ssrc = (uint32_t(b[8]) << 24) | (uint32_t(b[9]) << 16) |
                                (uint32_t(b[10]) << 8) | b[11];
          if (ssrc == media_ssrc)
            ++plis;
        }
      },
      caf::after(std::chrono::milliseconds(0)) >> [&] { more = false; });
  return plis;
}

} // namespace

TEST_CASE("producer actor: each new packet once to every consumer, in the router's payload type") {
  producer_fixture f;
  caf::scoped_actor transport{*f.sys}, a{*f.sys}, b{*f.sys};
  f.spawn(transport);
  f.attach(a);
  f.attach(b);
  rtp_in in;
  in.arrival_ms = 1;
  in.packets = {vp8_packet(1000, 9000, true, 0), vp8_packet(1001, 12000, false, 1),
                vp8_packet(1001, 12000, false, 1)}; // the last a duplicate
  transport->send(f.producer, std::move(in));
  std::vector<const std::vector<uint8_t>*> seen;
  for (auto* c : {&a, &b}) {
    auto m = next_media(*c, std::chrono::duration_cast<std::chrono::milliseconds>(reply_bound));
    REQUIRE(m);
    REQUIRE_FALSE(m->packets.empty());
    seen.push_back(m->packets[0].packet.get());
    REQUIRE(m->packets.size() == 2);
    const auto& first = *m->packets[0].packet;
    const auto& second = *m->packets[1].packet;
    CHECK((first[1] & 0x7f) == f.router_pt);
    CHECK((second[1] & 0x7f) == f.router_pt);
    CHECK(m->packets[0].keyframe);
    CHECK_FALSE(m->packets[1].keyframe);
    CHECK(int(m->packets[0].temporal) == 0);
    CHECK(int(m->packets[1].temporal) == 1);
    CHECK(m->packets[0].frame_start);
  }
  CHECK(seen[0] == seen[1]); // one shared packet for every consumer, not a copy each
  f.sync(transport);
  CHECK_FALSE(next_media(a, std::chrono::milliseconds(0))); // the duplicate was not sent
}

TEST_CASE("producer actor: paused, it tells its consumers and forwards nothing; resumed, again") {
  producer_fixture f;
  caf::scoped_actor transport{*f.sys}, c{*f.sys};
  f.spawn(transport);
  f.attach(c);
  auto op = [&](protocol::producer_op o) {
    protocol::producer_request r;
    r.op = o;
    transport->request(f.producer, reply_bound, r)
      .receive([](protocol::empty_reply&) {},
               [&](caf::error& e) { FAIL("pause/resume failed: " << to_string(e)); });
  };
  op(protocol::producer_op::pause);
  bool told = false;
  c->receive([&](producer_state& s) { told = s.paused; },
             caf::after(reply_bound) >> [] {});
  CHECK(told);
  rtp_in in;
  in.packets = {vp8_packet(1, 0, true, 0)};
  transport->send(f.producer, in);
  f.sync(transport);
  CHECK_FALSE(next_media(c, std::chrono::milliseconds(0)));

  op(protocol::producer_op::resume);
  bool resumed = false;
  c->receive([&](producer_state& s) { resumed = !s.paused; },
             caf::after(reply_bound) >> [] {});
  CHECK(resumed);
  in.packets = {vp8_packet(2, 3000, true, 0)};
  transport->send(f.producer, in);
  auto m = next_media(c, std::chrono::duration_cast<std::chrono::milliseconds>(reply_bound));
  REQUIRE(m);
  CHECK(m->packets.size() == 1);
}

TEST_CASE("producer actor: consumers' keyframe requests become one PLI within the interval") {
  producer_fixture f;
  caf::scoped_actor transport{*f.sys}, c{*f.sys};
  f.spawn(transport);
  f.attach(c);
  rtp_in in;
  in.packets = {vp8_packet(1, 0, true, 0)}; // the SSRC is known from here on
  transport->send(f.producer, in);
  CHECK(next_media(c, std::chrono::duration_cast<std::chrono::milliseconds>(reply_bound)));
  c->send(f.producer, keyframe_request_atom::value);
  c->send(f.producer, keyframe_request_atom::value); // merged: the throttle holds it
  f.sync(transport);
  CHECK(count_plis(transport, publisher_ssrc) == 1);
}
