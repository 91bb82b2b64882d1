// Peer actors in a real room, with real media sockets (net::media_io on the loopback): a
// publisher's plain-RTP transport and producer, a receiver's plain transport and consumer,
// everything spawned by the actors themselves as a session's requests ask. The test's UDP
// sockets are the encoder and the player. What must hold: the publisher's packets reach
// the receiver with the consumer's SSRC and payload type, only once the consumer is
// resumed; a closed producer ends its consumers and the receiver's session is told; a
// peer's limits and unknown ids are refused with the protocol's codes.
#include "actors/media_messages.hpp"
#include "actors/room_state.hpp"
#include "rtp/audio_red.hpp"
#include "rtp/capabilities.hpp"

#include "actors_room_system.hpp"
#include "net_media_io_util.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>

using namespace chorus;
using namespace chorus::actors;
using namespace chorus::actors::testing;
using media_io_test::bytes;
using media_io_test::udp_client;

namespace {

constexpr uint32_t publisher_ssrc = 0x51525354;
constexpr uint8_t publisher_opus_pt = 111;

// An Opus packet as an encoder sends it, its payload naming its sequence number.
bytes opus_packet(uint16_t seq) {
  const uint32_t ts = uint32_t(seq) * 960u;
  bytes p(60, uint8_t(seq));
  const uint8_t header[12] = {0x80, publisher_opus_pt, uint8_t(seq >> 8), uint8_t(seq),
                              uint8_t(ts >> 24), uint8_t(ts >> 16), uint8_t(ts >> 8), uint8_t(ts),
                              uint8_t(publisher_ssrc >> 24), uint8_t(publisher_ssrc >> 16),
                              uint8_t(publisher_ssrc >> 8), uint8_t(publisher_ssrc)};
  std::copy(std::begin(header), std::end(header), p.begin());
  return p;
}

struct media_room {
  room_system rs;
  std::optional<caf::scoped_actor> node, teacher, student;
  caf::actor room, teacher_peer, student_peer;

  media_room() {
    auto io = std::make_shared<net::media_io>(
      media_io_test::port_mode_options(uint16_t(media_io_test::port_base() + 20), 10));
    io->start();
    rs.ctx->media_io = io;
    auto caps = rtp::generate_router_capabilities(rtp::default_media_codecs());
    REQUIRE(caps);
    rs.ctx->router_capabilities = *caps;
    rs.ctx->settings.max_transports_per_peer = 2;
    node.emplace(*rs.sys);
    teacher.emplace(*rs.sys);
    student.emplace(*rs.sys);
    room = spawn_room(*rs.sys, caf::actor_cast<caf::actor>(*node), "class-1", rs.ctx, nullptr);
    teacher_peer = join(*teacher, room, joiner(*teacher, "t", "teacher")).peer;
    student_peer = join(*student, room, joiner(*student, "s", "student")).peer;
    REQUIRE(teacher_peer);
    REQUIRE(student_peer);
  }

  ~media_room() { caf::anon_send_exit(room, caf::exit_reason::user_shutdown); }

  // A request of `session` to its peer: the reply of type R, or the refusal's code.
  template <class R, class Req>
  std::optional<R> ask(caf::scoped_actor& session, const caf::actor& peer, Req req,
                       protocol::error_code* refused = nullptr) {
    std::optional<R> out;
    session->request(peer, bound, std::move(req))
      .receive([&](R& r) { out = std::move(r); },
               [&](caf::error& e) {
                 if (refused)
                   *refused = to_error_info(e).code;
                 else
                   FAIL("refused: " << to_string(e));
               });
    return out;
  }

  std::optional<protocol::plain_transport_reply> plain_transport(caf::scoped_actor& session,
                                                                 const caf::actor& peer,
                                                                 bool comedia) {
    protocol::plain_transport_request r;
    r.room_id = "class-1";
    r.comedia = comedia;
    return ask<protocol::plain_transport_reply>(session, peer, r);
  }

  struct published {
    std::string producer_id, transport_id;
    uint16_t port = 0; // the transport's
  };

  // The publisher's Opus producer: on `transport_id`, or on a new comedia plain transport.
  protocol::produce_request opus_produce(const std::string& transport_id) {
    protocol::produce_request p;
    p.room_id = "class-1";
    p.transport_id = transport_id;
    p.kind = rtp::media_kind::audio;
    rtp::codec_parameters opus;
    opus.mime_type = "audio/opus";
    opus.payload_type = publisher_opus_pt;
    opus.clock_rate = 48000;
    opus.channels = 2;
    p.rtp_parameters.codecs.push_back(opus);
    rtp::encoding_parameters enc;
    enc.ssrc = publisher_ssrc;
    p.rtp_parameters.encodings.push_back(enc);
    return p;
  }

  published publish() {
    auto t = plain_transport(*teacher, teacher_peer, true);
    REQUIRE(t);
    auto id = ask<protocol::producer_id_reply>(*teacher, teacher_peer, opus_produce(t->id));
    REQUIRE(id);
    return {id->id, t->id, t->port};
  }

  // The receiver's consumer of `producer_id` on a plain transport toward `player`; `red`:
  // the receiver lists audio/red.
  protocol::consumer_params_reply consume(const std::string& producer_id, udp_client& player,
                                          bool red = false) {
    auto t = plain_transport(*student, student_peer, false);
    REQUIRE(t);
    protocol::plain_transport_request connect;
    connect.op = protocol::plain_op::connect;
    connect.transport_id = t->id;
    connect.ip = "127.0.0.1";
    connect.port = player.address().port;
    REQUIRE(ask<protocol::empty_reply>(*student, student_peer, connect));
    protocol::consume_request c;
    c.room_id = "class-1";
    c.producer_id = producer_id;
    c.transport_id = t->id;
    c.rtp_capabilities = rs.ctx->router_capabilities;
    if (!red)
      std::erase_if(c.rtp_capabilities.codecs,
                    [](const rtp::codec_capability& k) { return k.mime_type == "audio/red"; });
    auto params = ask<protocol::consumer_params_reply>(*student, student_peer, c);
    REQUIRE(params);
    return *params;
  }

  void consumer_op(const std::string& id, protocol::consumer_op op) {
    protocol::consumer_request r;
    r.room_id = "class-1";
    r.consumer_id = id;
    r.op = op;
    REQUIRE(ask<protocol::empty_reply>(*student, student_peer, r));
  }
};

// Sends the encoder's packets from `seq` on until the player gets one (each wait bounded),
// at most `tries` of them: the first that arrived, if any.
std::optional<bytes> until_played(udp_client& encoder, uint16_t port, udp_client& player,
                                  uint16_t& seq, int tries) {
  for (int i = 0; i < tries; ++i) {
    encoder.send(port, opus_packet(seq++));
    if (auto got = player.recv(std::chrono::milliseconds(100)))
      return got;
  }
  return std::nullopt;
}

} // namespace

TEST_CASE("peer actors: a publisher's packets reach another peer's consumer once it is "
          "resumed, with the consumer's SSRC and payload type") {
  media_room m;
  udp_client encoder, player;
  const auto published = m.publish();
  const auto& producer_id = published.producer_id;
  const uint16_t port = published.port;
  auto params = m.consume(producer_id, player);
  CHECK(params.producer_id == producer_id);
  CHECK(params.kind == rtp::media_kind::audio);
  REQUIRE(params.rtp_parameters.codecs.size() >= 1);
  REQUIRE(params.rtp_parameters.encodings.size() == 1);
  const uint32_t ssrc = params.rtp_parameters.encodings[0].ssrc;
  const uint8_t pt = params.rtp_parameters.codecs[0].payload_type;
  CHECK(ssrc != publisher_ssrc);

  uint16_t seq = 2048; // the payload's byte counts 0, 1, ... (below 256 here)
  CHECK_FALSE(until_played(encoder, port, player, seq, 5)); // created paused: nothing
  m.consumer_op(params.id, protocol::consumer_op::resume);
  const uint8_t first_after_resume = uint8_t(seq);
  auto got = until_played(encoder, port, player, seq, 50);
  REQUIRE(got);
  REQUIRE(got->size() == 60);
  CHECK(((*got)[1] & 0x7f) == pt);
  CHECK((uint32_t((*got)[8]) << 24 | uint32_t((*got)[9]) << 16 | uint32_t((*got)[10]) << 8 |
         (*got)[11]) == ssrc);
  // One sent after the resume (it may lag the last sent by a try on a loaded machine).
  CHECK((*got)[12] >= first_after_resume);
  CHECK((*got)[12] <= uint8_t(seq - 1));
}

TEST_CASE("peer actors: a receiver that lists RED gets a plain Opus producer's packets as RED, "
          "each with the packets before it") {
  media_room m;
  udp_client encoder, player;
  const auto published = m.publish();
  auto params = m.consume(published.producer_id, player, true);
  REQUIRE(params.rtp_parameters.codecs.size() == 2);
  CHECK(params.rtp_parameters.codecs[0].mime_type == "audio/red");
  CHECK(params.rtp_parameters.codecs[1].mime_type == "audio/opus");
  const uint8_t red_pt = params.rtp_parameters.codecs[0].payload_type;
  const uint8_t opus_pt = params.rtp_parameters.codecs[1].payload_type;
  m.consumer_op(params.id, protocol::consumer_op::resume);
  uint16_t seq = 4096;
  REQUIRE(until_played(encoder, published.port, player, seq, 50));
  // Three in a row, each waited for: the third carries the two before it.
  std::optional<bytes> got;
  for (int i = 0; i < 3; ++i) {
    encoder.send(published.port, opus_packet(seq++));
    got = player.recv(std::chrono::milliseconds(1000));
    REQUIRE(got);
  }
  CHECK(((*got)[1] & 0x7f) == red_pt);
  auto red = rtp::parse_red(std::span(*got).subspan(12));
  REQUIRE(red);
  REQUIRE(red->count == 3);
  const uint8_t last = uint8_t(seq - 1);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    const auto& b = red->blocks[i];
    CHECK(b.payload_type == opus_pt);
    CHECK(b.timestamp_offset == (2 - i) * 960);
    REQUIRE(b.data.size() == 48); // the publisher's payload: 48 bytes of its seq's low byte
    CHECK(b.data[0] == uint8_t(last - (2 - i)));
  }
}

TEST_CASE("peer actors: a closed producer ends its consumer and the receiver is told") {
  media_room m;
  udp_client player;
  auto producer_id = m.publish().producer_id;
  auto params = m.consume(producer_id, player);
  protocol::producer_request close;
  close.room_id = "class-1";
  close.producer_id = producer_id;
  close.op = protocol::producer_op::close;
  REQUIRE(m.ask<protocol::empty_reply>(*m.teacher, m.teacher_peer, close));
  auto closed = next<protocol::consumer_closed_event>(*m.student);
  REQUIRE(closed);
  CHECK(closed->consumer_id == params.id);
  CHECK(closed->producer_id == producer_id);
  // The consumer is gone from its peer.
  protocol::error_code code{};
  protocol::consumer_request resume;
  resume.consumer_id = params.id;
  resume.op = protocol::consumer_op::resume;
  CHECK_FALSE(m.ask<protocol::empty_reply>(*m.student, m.student_peer, resume, &code));
  CHECK(code == protocol::error_code::unknown_consumer);
}

TEST_CASE("peer actors: an SSRC taken twice, a peer's transport limit and unknown ids are "
          "refused with the protocol's codes") {
  media_room m;
  auto first = m.publish(); // the teacher's first transport
  const auto& producer_id = first.producer_id;
  protocol::error_code code{};

  // A second producer of the same SSRC on that transport: its packets would be ambiguous.
  CHECK_FALSE(m.ask<protocol::producer_id_reply>(*m.teacher, m.teacher_peer,
                                                 m.opus_produce(first.transport_id), &code));
  CHECK(code == protocol::error_code::invalid_field);

  // A second transport is within the limit (2 here), a third is over it.
  auto second = m.plain_transport(*m.teacher, m.teacher_peer, true);
  REQUIRE(second);
  protocol::plain_transport_request third;
  third.comedia = true;
  CHECK_FALSE(m.ask<protocol::plain_transport_reply>(*m.teacher, m.teacher_peer, third, &code));
  CHECK(code == protocol::error_code::limit_exceeded);

  // Consuming a producer nobody has.
  udp_client player;
  auto t = m.plain_transport(*m.student, m.student_peer, true);
  REQUIRE(t);
  protocol::consume_request c;
  c.producer_id = "no-such-producer";
  c.transport_id = t->id;
  c.rtp_capabilities = m.rs.ctx->router_capabilities;
  CHECK_FALSE(m.ask<protocol::consumer_params_reply>(*m.student, m.student_peer, c, &code));
  CHECK(code == protocol::error_code::unknown_producer);

  // A producer on a transport the peer does not have.
  protocol::produce_request p;
  p.transport_id = "no-such-transport";
  p.kind = rtp::media_kind::audio;
  CHECK_FALSE(m.ask<protocol::producer_id_reply>(*m.teacher, m.teacher_peer, p, &code));
  CHECK(code == protocol::error_code::unknown_transport);

  // Closing another peer's producer: not the student's to close.
  protocol::producer_request close;
  close.producer_id = producer_id;
  close.op = protocol::producer_op::close;
  CHECK_FALSE(m.ask<protocol::empty_reply>(*m.student, m.student_peer, close, &code));
  CHECK(code == protocol::error_code::unknown_producer);
}
