// The consumer actor in a real actor system, sending on a real loopback socket (a
// net::media_io endpoint, plain RTP as a plain transport without SRTP has it): its peer,
// producer and transport are played by the test. What must hold: it attaches to its
// producer and registers its SSRC with its transport; paused it sends nothing; resumed it
// sends the producer's packets with its own SSRC, payload type and sequence numbers,
// continuous across a pause; video waits for a keyframe and asks its producer for one; a
// NACK is answered from its buffer with the packet as it left; a paused producer is told
// to its peer; its producer gone, it tells its peer and ends.
#include "actors/consumer.hpp"
#include "actors/media_messages.hpp"
#include "actors/rtp_sender.hpp"
#include "protocol/messages.hpp"

#include "net_media_io_util.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

using namespace chorus;
using namespace chorus::actors;
using media_io_test::bytes;
using media_io_test::udp_client;

namespace {

constexpr uint32_t consumer_ssrc = 0xC0C0C0C0;
constexpr uint32_t producer_ssrc = 0x11112222;
constexpr uint8_t opus_pt = 100;
constexpr uint8_t vp8_pt = 101;
constexpr auto reply_bound = std::chrono::seconds(5); // every wait for a message or a packet

uint16_t seq_of(const bytes& b) { return uint16_t((b[2] << 8) | b[3]); }
uint32_t ssrc_of(const bytes& b) {
  return (uint32_t(b[8]) << 24) | (uint32_t(b[9]) << 16) | (uint32_t(b[10]) << 8) | b[11];
}

// A packet in router space as its producer shares it: 12 header bytes, then `payload`
// bytes that name the packet (its sequence number's low byte) so a test can tell them apart.
forwarded_packet router_packet(uint8_t pt, uint16_t seq, uint32_t ts, bool keyframe = false) {
  std::vector<uint8_t> p = {0x80, pt, uint8_t(seq >> 8), uint8_t(seq),
                            uint8_t(ts >> 24), uint8_t(ts >> 16), uint8_t(ts >> 8), uint8_t(ts),
                            uint8_t(producer_ssrc >> 24), uint8_t(producer_ssrc >> 16),
                            uint8_t(producer_ssrc >> 8), uint8_t(producer_ssrc)};
  p.insert(p.end(), 40, uint8_t(seq));
  forwarded_packet f;
  f.packet = std::make_shared<const std::vector<uint8_t>>(std::move(p));
  f.keyframe = keyframe;
  f.frame_start = true;
  return f;
}

rtp::rtp_parameters consumer_parameters(rtp::media_kind kind) {
  rtp::rtp_parameters params;
  rtp::codec_parameters c;
  if (kind == rtp::media_kind::audio) {
    c.mime_type = "audio/opus";
    c.payload_type = opus_pt;
    c.clock_rate = 48000;
    c.channels = 2;
  } else {
    c.mime_type = "video/VP8";
    c.payload_type = vp8_pt;
    c.clock_rate = 90000;
    c.rtcp_feedback = {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}};
  }
  params.codecs.push_back(c);
  rtp::encoding_parameters enc;
  enc.ssrc = consumer_ssrc;
  params.encodings.push_back(enc);
  return params;
}

struct consumer_fixture {
  media_io_test::media_io io{
    media_io_test::port_mode_options(uint16_t(media_io_test::port_base() + 10), 10)};
  udp_client receiver; // the remote end of the transport
  std::shared_ptr<send_shared> shared;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();
  std::optional<caf::scoped_actor> producer, transport, inbox; // played by the test
  caf::actor peer; // spawns the consumer (linked to it, as a peer is); tells `inbox`
  caf::actor consumer;

  consumer_fixture() {
    io.start();
    auto endpoint = io.open("consumer-test", [](media_io_test::packet_batch&&) {});
    REQUIRE(endpoint);
    shared = std::make_shared<send_shared>(endpoint);
    sys.emplace(cfg);
    producer.emplace(*sys);
    transport.emplace(*sys);
    inbox.emplace(*sys);
  }

  ~consumer_fixture() {
    if (peer)
      caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  }

  // Spawns the consumer; the producer answers its attach (`producer_paused`), the transport
  // takes its route.
  // `adjust` changes the arguments before the spawn.
  void spawn(rtp::media_kind kind, bool paused, bool producer_paused = false,
             const std::function<void(consumer_spawn_args&)>& adjust = {}) {
    consumer_spawn_args args;
    args.id = "consumer-1";
    args.producer_id = "producer-1";
    args.kind = kind;
    args.parameters = consumer_parameters(kind);
    args.paused = paused;
    if (adjust)
      adjust(args);
    auto prod = caf::actor_cast<caf::actor>(*producer);
    auto tr = caf::actor_cast<caf::actor>(*transport);
    auto box = caf::actor_cast<caf::actor>(*inbox);
    auto send = shared;
    auto ctx_ = ctx;
    peer = sys->spawn([=](caf::event_based_actor* self) -> caf::behavior {
      return {
        [=](int) -> caf::actor { return spawn_consumer(self, args, prod, tr, send, ctx_); },
        [=](protocol::consumer_closed_event& e) { self->send(box, std::move(e)); },
        [=](protocol::producer_paused_event& e) { self->send(box, std::move(e)); },
      };
    });
    (*inbox)->request(peer, reply_bound, 1)
      .receive([&](caf::actor& c) { consumer = c; },
               [&](caf::error& e) { FAIL("the consumer was not spawned: " << to_string(e)); });
    REQUIRE(consumer);
    bool attached = false;
    (*producer)->receive(
      [&](attach_consumer& a) -> attach_reply {
        attached = a.consumer == consumer;
        return attach_reply{producer_paused, {}};
      },
      caf::after(reply_bound) >> [] {});
    CHECK(attached);
    std::optional<consumer_route> route;
    for (bool more = true; more && !route;)
      (*transport)->receive([&](consumer_route& r) { route = r; },
                            [](alloc_info&) {},
                            caf::after(reply_bound) >> [&] { more = false; });
    REQUIRE(route);
    CHECK(route->consumer == consumer);
    CHECK(route->ssrc == consumer_ssrc);
    // Keys (none: plain RTP) and the tuple toward the receiver.
    sending_state s;
    s.has_keys = true;
    s.srtp_profile = 0;
    s.has_tuple = true;
    s.tuple = net::ice_tuple{net::ice_protocol::udp, receiver.address(), 0};
    (*transport)->send(consumer, s);
  }

  void request(protocol::consumer_op op) {
    protocol::consumer_request r;
    r.op = op;
    r.consumer_id = "consumer-1";
    (*inbox)->request(consumer, reply_bound, r)
      .receive([](protocol::empty_reply&) {},
               [&](caf::error& e) { FAIL("consumer request failed: " << to_string(e)); });
  }

  // Everything the consumer was sent before this is handled once its stats reply comes
  // (one mailbox, in order): what it sent meanwhile is on the wire.
  void sync() {
    protocol::consumer_request r;
    r.op = protocol::consumer_op::get_stats;
    (*inbox)->request(consumer, reply_bound, r)
      .receive([](protocol::stats_reply&) {},
               [&](caf::error& e) { FAIL("no stats reply: " << to_string(e)); });
  }

  void media(std::vector<forwarded_packet> packets) {
    (*producer)->send(consumer, media_packets{std::move(packets)});
  }

  // What reached the receiver after a sync: every packet already sent, none waited for.
  std::vector<bytes> wire() {
    sync();
    std::vector<bytes> out;
    while (auto p = receiver.recv(std::chrono::milliseconds(0)))
      out.push_back(std::move(*p));
    return out;
  }

  std::optional<bytes> next_on_wire() {
    return receiver.recv(std::chrono::duration_cast<std::chrono::milliseconds>(reply_bound));
  }

  // The keyframe requests among what the producer was sent (other messages passed over).
  int keyframe_requests() {
    sync();
    int n = 0;
    for (bool more = true; more;)
      (*producer)->receive([&](keyframe_request_atom) { ++n; },
                           [](layer_demand&) {},
                           caf::after(std::chrono::milliseconds(0)) >> [&] { more = false; });
    return n;
  }
};

} // namespace

TEST_CASE("consumer actor: paused it sends nothing; resumed, its own SSRC and sequence "
          "numbers, continuous across a pause") {
  consumer_fixture f;
  f.spawn(rtp::media_kind::audio, true);
  f.media({router_packet(opus_pt, 500, 960), router_packet(opus_pt, 501, 1920)});
  CHECK(f.wire().empty());

  f.request(protocol::consumer_op::resume);
  f.media({router_packet(opus_pt, 502, 2880), router_packet(opus_pt, 503, 3840)});
  auto first = f.wire();
  REQUIRE(first.size() == 2);
  for (const auto& p : first) {
    CHECK(ssrc_of(p) == consumer_ssrc);
    CHECK((p[1] & 0x7f) == opus_pt);
  }
  CHECK(first[0][12] == 502 % 256); // the producer's packets, in order
  CHECK(first[1][12] == 503 % 256);
  CHECK(seq_of(first[1]) == uint16_t(seq_of(first[0]) + 1));

  f.request(protocol::consumer_op::pause);
  f.media({router_packet(opus_pt, 504, 4800), router_packet(opus_pt, 505, 5760)});
  CHECK(f.wire().empty());
  f.request(protocol::consumer_op::resume);
  f.media({router_packet(opus_pt, 506, 6720)});
  auto after = f.wire();
  REQUIRE(after.size() == 1);
  CHECK(after[0][12] == 506 % 256);
  // The receiver sees no gap where the consumer was paused: nothing was lost.
  CHECK(seq_of(after[0]) == uint16_t(seq_of(first[1]) + 1));

  // A packet of a codec it did not negotiate is dropped, not sent.
  f.media({router_packet(111, 507, 7680)});
  CHECK(f.wire().empty());
}

TEST_CASE("consumer actor: a receiver with its own numbers (WHEP) gets them: payload type "
          "and header extension ids rewritten, the mid written") {
  constexpr uint8_t router_mid_id = 1;
  constexpr uint8_t receiver_mid_id = 4;
  constexpr uint8_t receiver_opus_pt = 111;
  consumer_fixture f;
  f.spawn(rtp::media_kind::audio, false, false, [](consumer_spawn_args& a) {
    a.parameters.mid = "7";
    a.parameters.header_extensions = {{"urn:ietf:params:rtp-hdrext:sdes:mid", router_mid_id, false, {}}};
    a.numbering.payload_types = {{receiver_opus_pt, opus_pt}};
    a.numbering.extensions = {{receiver_mid_id, router_mid_id, "urn:ietf:params:rtp-hdrext:sdes:mid"}};
  });
  // The producer's packet with the mid element at the router's id (one-byte form, RFC 8285).
  auto in = router_packet(opus_pt, 600, 960);
  auto bytes_in = *in.packet;
  bytes_in[0] |= 0x10; // X
  const std::vector<uint8_t> extension = {0xBE, 0xDE, 0x00, 0x01, uint8_t(router_mid_id << 4), '0', 0x00, 0x00};
  bytes_in.insert(bytes_in.begin() + 12, extension.begin(), extension.end());
  in.packet = std::make_shared<const std::vector<uint8_t>>(std::move(bytes_in));
  f.media({in});
  auto sent = f.wire();
  REQUIRE(sent.size() == 1);
  CHECK((sent[0][1] & 0x7f) == receiver_opus_pt);
  REQUIRE(sent[0].size() > 20);
  CHECK((sent[0][0] & 0x10) != 0);
  CHECK((sent[0][16] >> 4) == receiver_mid_id); // the element's id, the receiver's
  CHECK(sent[0][17] == '7');                 // its value, the consumer's mid
  // A packet at the receiver's own payload type is not the producer's codec: dropped.
  f.media({router_packet(receiver_opus_pt, 601, 1920)});
  CHECK(f.wire().empty());
}

TEST_CASE("consumer actor: video waits for a keyframe and asks its producer for one; a NACK "
          "is answered with the packet as it left") {
  consumer_fixture f;
  f.spawn(rtp::media_kind::video, false);
  CHECK(f.keyframe_requests() >= 1); // created running, its sender ready: it asked
  f.media({router_packet(vp8_pt, 10, 3000), router_packet(vp8_pt, 11, 6000)});
  CHECK(f.wire().empty()); // no keyframe yet: nothing a receiver could decode

  f.media({router_packet(vp8_pt, 12, 9000, true), router_packet(vp8_pt, 13, 12000),
           router_packet(vp8_pt, 14, 15000)});
  auto sent = f.wire();
  REQUIRE(sent.size() == 3);
  CHECK(sent[0][12] == 12);
  CHECK(seq_of(sent[1]) == uint16_t(seq_of(sent[0]) + 1));

  (*f.transport)->send(f.consumer, nack_in{{seq_of(sent[1])}});
  auto again = f.next_on_wire();
  REQUIRE(again);
  CHECK(*again == sent[1]); // no RTX negotiated: the original, byte for byte
  // A NACK for what it never sent is not answered.
  (*f.transport)->send(f.consumer, nack_in{{uint16_t(seq_of(sent[0]) - 5)}});
  CHECK(f.wire().empty());
}

TEST_CASE("consumer actor: its producer paused is told to its peer; its producer gone, it "
          "tells its peer and ends") {
  consumer_fixture f;
  f.spawn(rtp::media_kind::audio, false);
  f.media({router_packet(opus_pt, 1, 960)});
  CHECK(f.wire().size() == 1);

  (*f.producer)->send(f.consumer, producer_state{true});
  std::optional<protocol::producer_paused_event> paused;
  (*f.inbox)->receive([&](protocol::producer_paused_event& e) { paused = e; },
                      caf::after(reply_bound) >> [] {});
  REQUIRE(paused);
  CHECK(paused->producer_id == "producer-1");
  CHECK(paused->paused);
  f.media({router_packet(opus_pt, 2, 1920)});
  CHECK(f.wire().empty());

  (*f.inbox)->monitor(f.consumer);
  f.producer.reset(); // the producer's actor ends
  std::optional<protocol::consumer_closed_event> closed;
  bool down = false;
  for (int i = 0; i < 2; ++i)
    (*f.inbox)->receive(
      [&](protocol::consumer_closed_event& e) { closed = e; },
      [&](caf::down_msg& d) { down = d.source == f.consumer.address(); },
      caf::after(reply_bound) >> [] {});
  REQUIRE(closed);
  CHECK(closed->consumer_id == "consumer-1");
  CHECK(closed->producer_id == "producer-1");
  CHECK(down);
}
