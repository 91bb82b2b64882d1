// The Socket.IO v4 dialect (docs/protocol.md, "Socket.IO dialect"): the packet codec
// (socketio_packet), CONNECT / DISCONNECT handling, every seed 004 event and seed 000
// alias with the exact ack text a client receives, errors in the ack's `error` field,
// events, and fuzzed inputs that must never crash.
#include "protocol/dialect.hpp"
#include "protocol/reply_json.hpp"
#include "protocol_reply_fixtures.hpp"
#include "protocol/socketio_packet.hpp"
#include "protocol_fixtures.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::protocol;
using socketio::packet_type;

namespace {

const std::string dtls = test::wrtc_dtls_parameters;
const std::string audio = test::wrtc_audio_rtp_parameters;
const std::string caps = test::wrtc_device_rtp_capabilities;
const std::string& fp = test::sample_fingerprint;
using test::sample_transport;

// A dialect whose client already sent CONNECT for "/".
std::unique_ptr<dialect> connected(std::string sid = "sock-1") {
  auto d = make_socketio_dialect(std::move(sid));
  auto r = d->decode("0");
  REQUIRE(r.kind == decode_kind::control);
  return d;
}

// `2<ack>["<name>",<data>]` (data omitted when empty).
std::string event(std::string_view ack, std::string_view name, std::string_view data = {}) {
  std::string s = "2";
  s += ack;
  s += "[\"";
  s += name;
  s += '"';
  if (!data.empty()) {
    s += ',';
    s += data;
  }
  s += ']';
  return s;
}

using test::sample_consumer;

const std::string consumer_json =
  R"({"id":"c1","producerId":"p1","kind":"audio","rtpParameters":{"mid":"0","codecs":)"
  R"([{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":2,)"
  R"("parameters":{},"rtcpFeedback":[]}],"headerExtensions":[],"encodings":[{"ssrc":11111111}],)"
  R"("rtcp":{"cname":"chorus","reducedSize":true}},"type":"simple","producerPaused":false,)"
  R"("peerId":"alice"})";

const std::string caps_json = R"({"codecs":[],"headerExtensions":[]})";

// An event with an ack id, the reply the server gives it, and the ack the client receives.
struct ack_case {
  const char* name;
  std::string input;
  reply_body reply;
  std::string expected;
};

// Each case's event decodes to a request whose reply is encoded as the expected ack.
void check_acks(dialect& d, std::span<const ack_case> cases) {
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto r = d.decode(c.input);
    REQUIRE_MESSAGE(r.ok, r.error.message);
    CHECK(d.encode_reply(r.req.meta, c.reply) == c.expected);
  }
}

} // namespace

// ---- packet codec ---------------------------------------------------------------------

TEST_CASE("socket.io packet: parse") {
  struct parse_case {
    const char* name;
    std::string input;
    packet_type type;
    std::string nsp;
    std::optional<uint64_t> ack;
    std::string payload;
    uint32_t attachments = 0;
  };
  const std::string ns128 = "/" + std::string(127, 'n');
  const parse_case cases[] = {
    {"CONNECT", "0", packet_type::connect, "/", {}, ""},
    {"CONNECT with auth", R"(0{"token":1})", packet_type::connect, "/", {}, R"({"token":1})"},
    {"CONNECT to a namespace", R"(0/admin,{"token":1})", packet_type::connect, "/admin", {},
     R"({"token":1})"},
    {"CONNECT to a namespace, no comma (read to the end)", "0/admin", packet_type::connect,
     "/admin", {}, ""},
    {"CONNECT to a namespace, empty payload", "0/admin,", packet_type::connect, "/admin", {},
     ""},
    {"CONNECT naming \"/\" explicitly", "0/,", packet_type::connect, "/", {}, ""},
    {"namespace of 128 bytes", "0" + ns128 + ",", packet_type::connect, ns128, {}, ""},
    {"DISCONNECT", "1", packet_type::disconnect, "/", {}, ""},
    {"DISCONNECT from a namespace", "1/admin,", packet_type::disconnect, "/admin", {}, ""},
    {"EVENT", R"(2["x",{}])", packet_type::event, "/", {}, R"(["x",{}])"},
    {"EVENT with ack id", R"(21["x"])", packet_type::event, "/", 1, R"(["x"])"},
    {"EVENT with ack id 0", R"(20["x"])", packet_type::event, "/", 0, R"(["x"])"},
    {"EVENT with namespace and ack id", R"(2/admin,7["x"])", packet_type::event, "/admin", 7,
     R"(["x"])"},
    {"EVENT with a large ack id", R"(29007199254740991["x"])", packet_type::event, "/",
     9007199254740991ULL, R"(["x"])"},
    {"EVENT with the largest ack id", R"(218446744073709551615["x"])", packet_type::event, "/",
     18446744073709551615ULL, R"(["x"])"},
    {"ack id with leading zeros", R"(2007["x"])", packet_type::event, "/", 7, R"(["x"])"},
    {"EVENT without payload", "2", packet_type::event, "/", {}, ""},
    {"EVENT with only an ack id", "212", packet_type::event, "/", 12, ""},
    {"payload with leading space", R"(2 ["x"])", packet_type::event, "/", {}, R"( ["x"])"},
    {"ACK", "31[{}]", packet_type::ack, "/", 1, "[{}]"},
    {"ACK with namespace", "3/admin,13[]", packet_type::ack, "/admin", 13, "[]"},
    {"CONNECT_ERROR", R"(4{"message":"no"})", packet_type::connect_error, "/", {},
     R"({"message":"no"})"},
    {"BINARY_EVENT", R"(51-["x",{"_placeholder":true,"num":0}])", packet_type::binary_event,
     "/", {}, R"(["x",{"_placeholder":true,"num":0}])", 1},
    {"BINARY_EVENT with namespace and ack id", R"(52-/admin,3["x"])",
     packet_type::binary_event, "/admin", 3, R"(["x"])", 2},
    {"BINARY_EVENT with 0 attachments", R"(50-["x"])", packet_type::binary_event, "/", {},
     R"(["x"])", 0},
    {"BINARY_ACK", R"(61-4[{"_placeholder":true,"num":0}])", packet_type::binary_ack, "/", 4,
     R"([{"_placeholder":true,"num":0}])", 1},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto r = socketio::parse_packet(c.input);
    REQUIRE_MESSAGE(r.ok, r.error);
    CHECK(r.pkt.type == c.type);
    CHECK(r.pkt.nsp == c.nsp);
    CHECK(r.pkt.ack_id == c.ack);
    CHECK(r.pkt.payload == c.payload);
    CHECK(r.pkt.attachments == c.attachments);
  }
}

TEST_CASE("socket.io packet: malformed headers") {
  struct bad_case {
    const char* name;
    std::string input;
    const char* fragment;
  };
  const bad_case cases[] = {
    {"empty", "", "empty packet"},
    {"type 7", "7", "unknown packet type '7'"},
    {"type 9 with payload", R"(9["x"])", "unknown packet type '9'"},
    {"type letter", "a", "unknown packet type 'a'"},
    {"payload without type", R"(["x"])", "unknown packet type '['"},
    {"Engine.IO message prefix left on", R"(42["x"])", ""}, // CONNECT_ERROR + ack 2: parses
    {"control byte", std::string("\x01", 1), "unknown packet type '\\x01'"},
    {"non-ASCII byte", "\xc3\xa9", "unknown packet type '\\xc3'"},
    {"binary without attachments", R"(5["x"])", "<attachments>-"},
    {"binary without dash", R"(51["x"])", "<attachments>-"},
    {"binary, dash only", R"(5-["x"])", "<attachments>-"},
    {"binary truncated after type", "5", "<attachments>-"},
    {"binary truncated after count", "51", "<attachments>-"},
    {"binary ack without dash", "61", "<attachments>-"},
    {"binary with a huge count", R"(51234567890-["x"])", "attachment count too large"},
    {"namespace of 129 bytes", "0/" + std::string(128, 'n') + ",", "namespace longer"},
    {"namespace of 129 bytes, no comma", "2/" + std::string(128, 'n'), "namespace longer"},
    {"ack id over 2^64-1", R"(218446744073709551616["x"])", "ack id out of range"},
    {"ack id of 30 digits", R"(2123456789012345678901234567890["x"])", "ack id out of range"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto r = socketio::parse_packet(c.input);
    if (std::string_view(c.fragment).empty()) {
      CHECK(r.ok);
      continue;
    }
    REQUIRE_FALSE(r.ok);
    CHECK_MESSAGE(r.error.find(c.fragment) != std::string::npos, r.error);
  }
}

TEST_CASE("socket.io packet: encode") {
  struct encode_case {
    const char* name;
    std::string text;
    std::string expected;
  };
  using socketio::encode_packet;
  const encode_case cases[] = {
    {"CONNECT answer", encode_packet(packet_type::connect, "/", {}, R"({"sid":"s"})"),
     R"(0{"sid":"s"})"},
    {"CONNECT answer on a namespace", encode_packet(packet_type::connect, "/a", {}, "{}"),
     "0/a,{}"},
    {"CONNECT_ERROR", encode_packet(packet_type::connect_error, "/admin", {}, R"({"m":1})"),
     R"(4/admin,{"m":1})"},
    {"DISCONNECT", encode_packet(packet_type::disconnect, "/", {}, ""), "1"},
    {"DISCONNECT on a namespace", encode_packet(packet_type::disconnect, "/a", {}, ""), "1/a,"},
    {"EVENT", encode_packet(packet_type::event, "/", {}, R"(["e",1])"), R"(2["e",1])"},
    {"EVENT, empty namespace means /", encode_packet(packet_type::event, "", {}, "[]"), "2[]"},
    {"ACK", encode_packet(packet_type::ack, "/", 5, "[{}]"), "35[{}]"},
    {"ACK 0", encode_packet(packet_type::ack, "/", 0, "[]"), "30[]"},
    {"ACK with the largest id",
     encode_packet(packet_type::ack, "/", 18446744073709551615ULL, "[]"),
     "318446744073709551615[]"},
    {"BINARY_EVENT", encode_packet(packet_type::binary_event, "/a", 2, "[]", 3), "53-/a,2[]"},
    {"BINARY_ACK", encode_packet(packet_type::binary_ack, "/", 9, "[]", 1), "61-9[]"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    CHECK(c.text == c.expected);
    auto back = socketio::parse_packet(c.text);
    CHECK(back.ok);
  }
}

TEST_CASE("socket.io packet: encode then parse round-trips") {
  const packet_type types[] = {packet_type::connect,       packet_type::disconnect,
                               packet_type::event,         packet_type::ack,
                               packet_type::connect_error, packet_type::binary_event,
                               packet_type::binary_ack};
  const std::string namespaces[] = {"/", "/admin", "/a/b"};
  const std::optional<uint64_t> acks[] = {std::nullopt, 0, 42, 18446744073709551615ULL};
  const std::string payloads[] = {"", "[]", R"(["x",{"a":[1,2]}])", R"({"sid":"s"})"};
  for (auto t : types)
    for (const auto& ns : namespaces)
      for (auto ack : acks)
        for (const auto& payload : payloads) {
          // Without a payload, a trailing ack id cannot be told from... nothing: still fine.
          const auto text = socketio::encode_packet(t, ns, ack, payload, 2);
          INFO(text);
          auto r = socketio::parse_packet(text);
          REQUIRE(r.ok);
          CHECK(r.pkt.type == t);
          CHECK(r.pkt.nsp == ns);
          CHECK(r.pkt.ack_id == ack);
          CHECK(r.pkt.payload == payload);
        }
  CHECK(socketio::to_string(packet_type::binary_ack) == "BINARY_ACK");
  CHECK(socketio::to_string(packet_type::connect) == "CONNECT");
}

TEST_CASE("socket.io packet: socket ids are 20 URL-safe characters and differ") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto id = socketio::make_socket_id();
    REQUIRE(id.size() == 20);
    for (char c : id)
      CHECK(((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_'));
    seen.insert(id);
  }
  CHECK(seen.size() == 100);
}

// ---- CONNECT, DISCONNECT and namespaces -------------------------------------------------

TEST_CASE("socket.io dialect: CONNECT") {
  SUBCASE("to the main namespace: answered with the socket id") {
    auto d = make_socketio_dialect("sock-1");
    CHECK(d->name() == "socket.io");
    auto r = d->decode("0");
    CHECK_FALSE(r.ok);
    CHECK(r.kind == decode_kind::control);
    CHECK_FALSE(r.disconnect);
    REQUIRE(r.immediate.size() == 1);
    CHECK(r.immediate[0] == R"(0{"sid":"sock-1"})");
  }
  SUBCASE("with an auth payload: its room and name are connection hints") {
    struct hint_case {
      const char* name;
      const char* input;
      const char* room;
      const char* participant;
    };
    const hint_case cases[] = {
      {"channelId", R"(0{"token":"abc","channelId":"r1"})", "r1", ""},
      {"roomId and name", R"(0{"roomId":"class-7","name":"Ada"})", "class-7", "Ada"},
      {"roomId wins over channelId", R"(0{"channelId":"b","roomId":"a"})", "a", ""},
      {"other members only", R"(0{"token":"abc","x":[1]})", "", ""},
      {"null members count as absent", R"(0{"roomId":null,"name":null})", "", ""},
      {"no payload", "0", "", ""},
    };
    for (const auto& c : cases) {
      INFO(c.name);
      auto d = make_socketio_dialect("sock-2");
      auto r = d->decode(c.input);
      CHECK(r.kind == decode_kind::control);
      REQUIRE(r.immediate.size() == 1);
      CHECK(r.immediate[0] == R"(0{"sid":"sock-2"})");
      CHECK(r.has_connection_hints);
      CHECK(r.hints.room_id == c.room);
      CHECK(r.hints.name == c.participant);
    }
  }
  SUBCASE("an auth payload with an invalid roomId or name: CONNECT_ERROR") {
    const char* inputs[] = {R"(0{"roomId":7})", R"(0{"roomId":""})", R"(0{"name":"a\u0001b"})",
                            R"(0{"channelId":{}})"};
    for (const char* input : inputs) {
      INFO(input);
      auto d = make_socketio_dialect("s");
      auto r = d->decode(input);
      CHECK(r.kind == decode_kind::dropped);
      CHECK_FALSE(r.has_connection_hints);
      REQUIRE(r.immediate.size() == 1);
      CHECK(r.immediate[0] == R"(4{"message":"Invalid payload"})");
      CHECK(d->decode(event("1", "get-rtp-capabilities")).kind == decode_kind::dropped);
    }
  }
  SUBCASE("the socket id is JSON-escaped") {
    auto d = make_socketio_dialect("a\"b");
    CHECK(d->decode("0").immediate.at(0) == R"(0{"sid":"a\"b"})");
  }
  SUBCASE("an empty socket id is replaced by a random one") {
    auto d = make_socketio_dialect("");
    const auto answer = d->decode("0").immediate.at(0);
    CHECK(answer.size() == std::string(R"(0{"sid":""})").size() + 20);
  }
  SUBCASE("CONNECT twice is answered twice with the same id") {
    auto d = connected("sock-3");
    auto r = d->decode("0");
    CHECK(r.kind == decode_kind::control);
    CHECK(r.immediate.at(0) == R"(0{"sid":"sock-3"})");
  }
  SUBCASE("to another namespace: CONNECT_ERROR Invalid namespace") {
    struct ns_case {
      const char* input;
      const char* expected;
    };
    const ns_case cases[] = {
      {R"(0/admin,{"token":1})", R"(4/admin,{"message":"Invalid namespace"})"},
      {"0/admin,", R"(4/admin,{"message":"Invalid namespace"})"},
      {"0/admin", R"(4/admin,{"message":"Invalid namespace"})"},
      {"0/a/b?x=1,", R"(4/a/b?x=1,{"message":"Invalid namespace"})"},
    };
    for (const auto& c : cases) {
      INFO(c.input);
      auto d = make_socketio_dialect("s");
      auto r = d->decode(c.input);
      CHECK(r.kind == decode_kind::control);
      REQUIRE(r.immediate.size() == 1);
      CHECK(r.immediate[0] == c.expected);
      // Not connected to "/" by that: events are still dropped.
      CHECK(d->decode(event("1", "get-rtp-capabilities")).kind == decode_kind::dropped);
    }
  }
  SUBCASE("an invalid auth payload: dropped, answered with CONNECT_ERROR") {
    const char* inputs[] = {"0{", "0[1]", R"(0"token")", "0 1", "0{}x"};
    for (const char* input : inputs) {
      INFO(input);
      auto d = make_socketio_dialect("s");
      auto r = d->decode(input);
      CHECK(r.kind == decode_kind::dropped);
      CHECK(r.error.code == error_code::malformed_json);
      REQUIRE(r.immediate.size() == 1);
      CHECK(r.immediate[0] == R"(4{"message":"Invalid payload"})");
      CHECK(d->decode(event("1", "get-rtp-capabilities")).kind == decode_kind::dropped);
    }
  }
}

TEST_CASE("socket.io dialect: events before CONNECT are dropped") {
  auto d = make_socketio_dialect("s");
  auto r = d->decode(event("1", "get-rtp-capabilities", R"({"roomId":"r"})"));
  CHECK_FALSE(r.ok);
  CHECK(r.kind == decode_kind::dropped);
  CHECK(r.error.code == error_code::invalid_message);
  CHECK(r.error.message == "EVENT before CONNECT");
  CHECK_FALSE(r.meta.has_request_id);
  CHECK(d->encode_error(r.meta, r.error).empty());
  CHECK(d->decode("0").kind == decode_kind::control);
  CHECK(d->decode(event("1", "get-rtp-capabilities", R"({"roomId":"r"})")).ok);
}

TEST_CASE("socket.io dialect: DISCONNECT") {
  SUBCASE("from the main namespace ends the session") {
    auto d = connected();
    auto r = d->decode("1");
    CHECK_FALSE(r.ok);
    CHECK(r.kind == decode_kind::control);
    CHECK(r.disconnect);
    CHECK(r.immediate.empty());
    // Later events count as sent before CONNECT.
    CHECK(d->decode(event("1", "get-rtp-capabilities")).kind == decode_kind::dropped);
  }
  SUBCASE("explicit \"/\"") {
    auto d = connected();
    CHECK(d->decode("1/,").disconnect);
  }
  SUBCASE("from another namespace is dropped") {
    auto d = connected();
    auto r = d->decode("1/admin,");
    CHECK(r.kind == decode_kind::dropped);
    CHECK_FALSE(r.disconnect);
    CHECK(d->decode(event("1", "get-rtp-capabilities")).ok);
  }
  SUBCASE("the server's DISCONNECT packet") {
    CHECK(make_socketio_dialect("s")->encode_disconnect() == "1");
    CHECK(make_json_dialect()->encode_disconnect().empty());
  }
}

// ---- seed 004 events ----------------------------------------------------------------------

TEST_CASE("socket.io dialect: seed 004 events decode to typed requests") {
  auto d = connected();
  SUBCASE("get-rtp-capabilities") {
    auto r = d->decode(R"(21["get-rtp-capabilities",{"roomId":"r"}])");
    REQUIRE_MESSAGE(r.ok, r.error.message);
    CHECK(r.kind == decode_kind::request);
    CHECK(r.req.meta.type == "get-rtp-capabilities");
    CHECK(r.req.meta.has_request_id);
    CHECK(r.req.meta.request_id == "1");
    CHECK(r.req.meta.style == request_style::seed004);
    CHECK(std::get<get_rtp_capabilities_request>(r.req.body).room_id == "r");
  }
  SUBCASE("join-mediasoup-room") {
    auto r = d->decode(event("2", "join-mediasoup-room",
                             R"({"roomId":"r","rtpCapabilities":)" + caps + "}"));
    REQUIRE_MESSAGE(r.ok, r.error.message);
    const auto& j = std::get<join_room_request>(r.req.body);
    CHECK(j.room_id == "r");
    CHECK(j.has_rtp_capabilities);
    CHECK_FALSE(j.rtp_capabilities.codecs.empty());
    CHECK(r.req.meta.style == request_style::seed004);
  }
  SUBCASE("create-webrtc-transport") {
    auto r = d->decode(event("3", "create-webrtc-transport",
                             R"({"roomId":"r","direction":"recv"})"));
    REQUIRE_MESSAGE(r.ok, r.error.message);
    const auto& c = std::get<create_transport_request>(r.req.body);
    CHECK(c.room_id == "r");
    CHECK(c.direction == transport_direction::recv);
  }
  SUBCASE("connect-transport") {
    auto r = d->decode(event("4", "connect-transport",
                             R"({"roomId":"r","transportId":"t1","dtlsParameters":)" + dtls +
                               "}"));
    REQUIRE_MESSAGE(r.ok, r.error.message);
    const auto& c = std::get<connect_transport_request>(r.req.body);
    CHECK(c.transport_id == "t1");
    CHECK(c.dtls_parameters.role == net::dtls_role::client);
    CHECK(c.dtls_parameters.fingerprints.size() == 1);
  }
  SUBCASE("produce") {
    auto r = d->decode(event("5", "produce",
                             R"({"roomId":"r","transportId":"t1","kind":"audio",)"
                             R"("rtpParameters":)" + audio + "}"));
    REQUIRE_MESSAGE(r.ok, r.error.message);
    const auto& p = std::get<produce_request>(r.req.body);
    CHECK(p.transport_id == "t1");
    CHECK(p.kind == rtp::media_kind::audio);
    CHECK(p.rtp_parameters.codecs.at(0).payload_type == 111);
    CHECK(r.req.meta.style == request_style::seed004);
  }
  SUBCASE("consume") {
    auto r = d->decode(event("6", "consume",
                             R"({"roomId":"r","producerId":"p1","rtpCapabilities":)" + caps +
                               "}"));
    REQUIRE_MESSAGE(r.ok, r.error.message);
    const auto& c = std::get<consume_request>(r.req.body);
    CHECK(c.producer_id == "p1");
    CHECK(c.paused);
  }
  SUBCASE("resume-consumer without a callback still executes") {
    auto r = d->decode(event("", "resume-consumer", R"({"roomId":"r","consumerId":"c1"})"));
    REQUIRE_MESSAGE(r.ok, r.error.message);
    CHECK_FALSE(r.req.meta.has_request_id);
    const auto& c = std::get<consumer_request>(r.req.body);
    CHECK(c.op == consumer_op::resume);
    CHECK(c.consumer_id == "c1");
    // ... but its reply and any error are not sent.
    CHECK(d->encode_reply(r.req.meta, empty_reply{}).empty());
    CHECK(d->encode_error(r.req.meta, {error_code::unknown_consumer, "no"}).empty());
  }
  SUBCASE("Chorus's additions") {
    struct add_case {
      const char* name;
      std::string data;
    };
    const add_case cases[] = {
      {"restart-ice", R"({"transportId":"t1"})"},
      {"get-transport-stats", R"({"transportId":"t1"})"},
      {"pause-consumer", R"({"consumerId":"c1"})"},
      {"get-consumer-stats", R"({"consumerId":"c1"})"},
      {"pause-producer", R"({"producerId":"p1"})"},
      {"resume-producer", R"({"producerId":"p1"})"},
      {"close-producer", R"({"producerId":"p1"})"},
      {"get-producer-stats", R"({"producerId":"p1"})"},
      {"create-transport", R"({"direction":"send"})"},
    };
    for (const auto& c : cases) {
      INFO(c.name);
      auto r = d->decode(event("9", c.name, c.data));
      CHECK_MESSAGE(r.ok, r.error.message);
      CHECK(r.req.meta.style == request_style::seed004);
    }
  }
  SUBCASE("null data counts as none, extra arguments are ignored") {
    auto r = d->decode(R"(27["get-rtp-capabilities",null])");
    REQUIRE(r.ok);
    auto extra = d->decode(R"(28["get-rtp-capabilities",{"roomId":"r"},"x",1])");
    REQUIRE(extra.ok);
    CHECK(std::get<get_rtp_capabilities_request>(extra.req.body).room_id == "r");
  }
}

TEST_CASE("socket.io dialect: seed 004 replies are acks with seed 004's objects") {
  auto d = connected();
  const ack_case cases[] = {
    {"get-rtp-capabilities", R"(20["get-rtp-capabilities",{"roomId":"r"}])",
     rtp_capabilities_reply{caps_json}, R"(30[{"rtpCapabilities":)" + caps_json + "}]"},
    {"join-mediasoup-room", event("1", "join-mediasoup-room", R"({"roomId":"r"})"),
     join_room_reply{"r", "sock-1", {"p1", "p2"}},
     R"(31[{"existingProducers":["p1","p2"]}])"},
    {"join-mediasoup-room, empty room", event("11", "join-mediasoup-room", R"({"roomId":"r"})"),
     join_room_reply{"r", "sock-1", {}}, R"(311[{"existingProducers":[]}])"},
    {"create-webrtc-transport", event("2", "create-webrtc-transport",
                                      R"({"roomId":"r","direction":"send"})"),
     transport_params_reply{sample_transport()}, R"(32[{"params":)" + test::sample_transport_json + "}]"},
    {"connect-transport",
     event("3", "connect-transport", R"({"transportId":"t1","dtlsParameters":)" + dtls + "}"),
     empty_reply{}, "33[{}]"},
    {"produce",
     event("4", "produce", R"({"transportId":"t1","kind":"audio","rtpParameters":)" + audio +
                             "}"),
     producer_id_reply{"p9"}, R"(34[{"id":"p9"}])"},
    {"consume",
     event("5", "consume", R"({"producerId":"p1","rtpCapabilities":)" + caps + "}"),
     sample_consumer(), "35[" + consumer_json + "]"},
    {"resume-consumer with a callback", event("6", "resume-consumer", R"({"consumerId":"c1"})"),
     empty_reply{}, "36[{}]"},
    {"restart-ice", event("7", "restart-ice", R"({"transportId":"t1"})"),
     restart_ice_reply{{"uf2", "pw2", true}},
     R"(37[{"iceParameters":{"usernameFragment":"uf2","password":"pw2","iceLite":true}}])"},
    {"get-transport-stats", event("8", "get-transport-stats", R"({"transportId":"t1"})"),
     stats_reply{R"([{"type":"webrtc-transport"}])"}, R"(38[[{"type":"webrtc-transport"}]])"},
    {"close-producer", event("9", "close-producer", R"({"producerId":"p1"})"), empty_reply{},
     "39[{}]"},
    {"create-transport (seed 001 name, seed 004 shape)",
     event("10", "create-transport", R"({"direction":"send"})"),
     transport_params_reply{sample_transport()}, R"(310[{"params":)" + test::sample_transport_json + "}]"},
    {"large ack id", event("18446744073709551615", "get-rtp-capabilities"),
     rtp_capabilities_reply{"{}"}, R"(318446744073709551615[{"rtpCapabilities":{}}])"},
    {"ack id with leading zeros is answered in its canonical form",
     event("007", "get-rtp-capabilities"), rtp_capabilities_reply{"{}"},
     R"(37[{"rtpCapabilities":{}}])"},
  };
  check_acks(*d, cases);
}

// ---- seed 000 aliases ---------------------------------------------------------------------

TEST_CASE("socket.io dialect: seed 000 aliases") {
  auto d = connected();
  const ack_case cases[] = {
    {"getRouterRtpCapabilities without data: the capabilities themselves",
     R"(20["getRouterRtpCapabilities"])", rtp_capabilities_reply{caps_json},
     "30[" + caps_json + "]"},
    {"createWebRtcTransport: the parameters unwrapped",
     event("1", "createWebRtcTransport", R"({"direction":"send"})"),
     transport_params_reply{sample_transport()}, "31[" + test::sample_transport_json + "]"},
    {"connectTransport", event("2", "connectTransport", R"({"dtlsParameters":)" + dtls + "}"),
     empty_reply{}, "32[{}]"},
    {"create-consumer-transport", event("3", "create-consumer-transport"),
     transport_params_reply{sample_transport()}, "33[" + test::sample_transport_json + "]"},
    {"connect-consumer-transport",
     event("4", "connect-consumer-transport",
           R"({"transportId":"t2","dtlsParameters":)" + dtls + "}"),
     empty_reply{}, "34[{}]"},
    {"consume-media", event("5", "consume-media", R"({"rtpCapabilities":)" + caps + "}"),
     sample_consumer(), "35[" + consumer_json + "]"},
    {"unpauseConsumer", event("6", "unpauseConsumer", R"({"consumerId":"c1"})"), empty_reply{},
     "36[{}]"},
    {"produce (same name in seed 000)",
     event("7", "produce", R"({"kind":"audio","rtpParameters":)" + audio + "}"),
     producer_id_reply{"p1"}, R"(37[{"id":"p1","producerId":"p1"}])"},
  };
  check_acks(*d, cases);

  SUBCASE("typed requests and style") {
    auto caps_req = d->decode(R"(20["getRouterRtpCapabilities"])");
    CHECK(caps_req.req.meta.style == request_style::seed000);
    CHECK(std::holds_alternative<get_rtp_capabilities_request>(caps_req.req.body));

    auto create = d->decode(event("1", "createWebRtcTransport", R"({"direction":"send"})"));
    CHECK(create.req.meta.style == request_style::seed000);
    CHECK(std::get<create_transport_request>(create.req.body).direction ==
          transport_direction::send);

    auto consumer_transport =
      d->decode(event("2", "create-consumer-transport", R"({"direction":"send"})"));
    REQUIRE(consumer_transport.ok);
    CHECK(std::get<create_transport_request>(consumer_transport.req.body).direction ==
          transport_direction::recv);

    auto connect = d->decode(event("3", "connect-consumer-transport",
                                   R"({"transportId":"t2","dtlsParameters":)" + dtls + "}"));
    CHECK(std::get<connect_transport_request>(connect.req.body).transport_id == "t2");

    auto consume = d->decode(event("4", "consume-media", R"({"rtpCapabilities":)" + caps + "}"));
    CHECK(std::get<consume_request>(consume.req.body).producer_id.empty());

    auto unpause = d->decode(event("5", "unpauseConsumer", R"({"consumerId":"c1"})"));
    const auto& u = std::get<consumer_request>(unpause.req.body);
    CHECK(u.op == consumer_op::resume);
    CHECK(u.consumer_id == "c1");
    CHECK(unpause.req.meta.style == request_style::seed000);

    // A connection that spoke seed 000's names gets seed 000's produce reply (with
    // producerId); one that did not keeps seed 004's `{ id }`.
    auto produce = d->decode(event("6", "produce", R"({"kind":"audio","rtpParameters":)" +
                                                     audio + "}"));
    CHECK(produce.req.meta.style == request_style::seed000);
    auto fresh = connected();
    auto produce004 = fresh->decode(event("6", "produce", R"({"kind":"audio","rtpParameters":)" +
                                                            audio + "}"));
    CHECK(produce004.req.meta.style == request_style::seed004);
    CHECK(fresh->encode_reply(produce004.req.meta, producer_id_reply{"p1"}) ==
          R"(36[{"id":"p1"}])");
  }
  SUBCASE("unpauseConsumer without consumerId: the consumers awaiting their first resume") {
    auto unpause = d->decode(event("7", "unpauseConsumer"));
    REQUIRE(unpause.ok);
    const auto& u = std::get<consumer_request>(unpause.req.body);
    CHECK(u.op == consumer_op::resume);
    CHECK(u.consumer_id.empty());
    // resume-consumer (seed 004) still names its consumer.
    auto resume = d->decode(event("8", "resume-consumer", "{}"));
    CHECK(resume.kind == decode_kind::error);
    CHECK(resume.error.code == error_code::missing_field);
  }
  SUBCASE("createWebRtcTransport requires direction") {
    auto r = d->decode(event("8", "createWebRtcTransport", "{}"));
    REQUIRE(r.kind == decode_kind::error);
    CHECK(d->encode_error(r.meta, r.error) ==
          R"(38[{"error":"direction is required","code":"missing-field"}])");
  }
}

TEST_CASE("socket.io dialect: the JSON dialect keeps seed 004 shapes for seed 000 names") {
  auto json = make_json_dialect();
  auto r = json->decode(R"({"type":"createWebRtcTransport","data":{"direction":"send"}})");
  REQUIRE(r.ok);
  CHECK(r.kind == decode_kind::request);
  CHECK(r.req.meta.style == request_style::seed004);
  CHECK(json->encode_reply(r.req.meta, transport_params_reply{sample_transport()}) ==
        R"({"type":"createWebRtcTransport","data":{"params":)" + test::sample_transport_json + "}}");
  auto bad = json->decode("[");
  CHECK(bad.kind == decode_kind::error);
  CHECK(bad.immediate.empty());
  CHECK_FALSE(bad.disconnect);
}

// ---- errors ---------------------------------------------------------------------------------

TEST_CASE("socket.io dialect: problems with an ack id are answered in the ack's error") {
  struct error_case {
    const char* name;
    std::string input;
    error_code code;
    std::string expected;
  };
  const error_case cases[] = {
    {"unknown event", R"(21["fly",{}])", error_code::unknown_type,
     R"(31[{"error":"unknown request type \"fly\"","code":"unknown-type"}])"},
    {"event names are case-sensitive", R"(22["Produce"])", error_code::unknown_type,
     R"(32[{"error":"unknown request type \"Produce\"","code":"unknown-type"}])"},
    {"reserved name", R"(23["connect"])", error_code::unknown_type,
     R"(33[{"error":"unknown request type \"connect\"","code":"unknown-type"}])"},
    {"missing field", R"(24["restart-ice",{}])", error_code::missing_field,
     R"(34[{"error":"transportId is required","code":"missing-field"}])"},
    {"missing data", R"(25["resume-consumer"])", error_code::missing_field,
     R"(35[{"error":"consumerId is required","code":"missing-field"}])"},
    {"invalid field", R"(26["create-webrtc-transport",{"direction":"up"}])",
     error_code::invalid_field,
     R"(36[{"error":"direction must be \"send\" or \"recv\"","code":"invalid-field"}])"},
    {"nested invalid field", event("27", "produce", R"({"kind":"audio","rtpParameters":)"
                                                    R"({"codecs":[{"payloadType":300}]}})"),
     error_code::invalid_field, ""},
    {"data not an object", R"(28["produce",5])", error_code::invalid_message,
     R"(38[{"error":"the event's data must be an object","code":"invalid-message"}])"},
    {"data an array", R"(28["produce",[]])", error_code::invalid_message,
     R"(38[{"error":"the event's data must be an object","code":"invalid-message"}])"},
    {"event name not a string", R"(29[1,{}])", error_code::invalid_message,
     R"(39[{"error":"the event name must be a string","code":"invalid-message"}])"},
    {"event name null", R"(29[null])", error_code::invalid_message,
     R"(39[{"error":"the event name must be a string","code":"invalid-message"}])"},
    {"empty array", "210[]", error_code::invalid_message,
     R"(310[{"error":"the event name is required","code":"invalid-message"}])"},
    {"payload an object", R"(211{"a":1})", error_code::malformed_json,
     R"(311[{"error":"the event must be a JSON array","code":"malformed-json"}])"},
    {"payload a string", R"(212"x")", error_code::malformed_json,
     R"(312[{"error":"the event must be a JSON array","code":"malformed-json"}])"},
    {"bad JSON", R"(213["x",)", error_code::malformed_json, ""},
    {"no payload", "214", error_code::malformed_json, ""},
    {"dash after the ack id", R"(21-["x"])", error_code::malformed_json, ""},
    {"invalid UTF-8", "215[\"get-rtp-capabilities\",{\"roomId\":\"\xff\"}]",
     error_code::malformed_json, ""},
    {"too deep", "216" + std::string(40, '[') + std::string(40, ']'),
     error_code::malformed_json, ""},
    {"binary event with ack id", R"(51-217["produce",{"_placeholder":true,"num":0}])",
     error_code::unsupported,
     R"(3217[{"error":"binary packets are not supported","code":"unsupported"}])"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto d = connected();
    auto r = d->decode(c.input);
    CHECK_FALSE(r.ok);
    CHECK(r.kind == decode_kind::error);
    CHECK(r.meta.has_request_id);
    CHECK(r.immediate.empty());
    CHECK(to_string(r.error.code) == to_string(c.code));
    const auto text = d->encode_error(r.meta, r.error);
    if (!c.expected.empty()) {
      CHECK(text == c.expected);
    } else {
      CHECK(text.rfind("3" + r.meta.request_id + R"([{"error":")", 0) == 0);
      CHECK(text.find(R"(","code":")" + std::string(to_string(c.code)) + R"("}])") !=
            std::string::npos);
    }
  }
}

TEST_CASE("socket.io dialect: validation messages are the JSON dialect's") {
  auto json = make_json_dialect();
  auto sio = connected();
  const std::pair<const char*, std::string> requests[] = {
    {"produce", R"({"kind":"audio","rtpParameters":{"codecs":[{"payloadType":300}]}})"},
    {"produce", R"({"kind":"data","rtpParameters":{}})"},
    {"consume", R"({"rtpCapabilities":{"codecs":"x"}})"},
    {"connect-transport", R"({"dtlsParameters":{"fingerprints":[]}})"},
    {"connect-transport", R"({"transportId":"","dtlsParameters":{}})"},
    {"join-mediasoup-room", R"({"roomId":"a\u0001b"})"},
    {"join-mediasoup-room", R"({"name":7})"},
    {"get-rtp-capabilities", R"({"roomId":")" + std::string(129, 'r') + R"("})"},
    {"pause-producer", R"({"producerId":")" + std::string(65, 'p') + R"("})"},
    {"consume-media", R"({})"},
    {"unpauseConsumer", R"({"consumerId":5})"},
    {"produce", R"({"kind":"audio","rtpParameters":{},"appData":[]})"},
  };
  for (const auto& request : requests) {
    const auto& name = request.first; // (no structured binding: clang 14 cannot capture
    const auto& data = request.second; // one in INFO's lambda)
    INFO(name << " " << data);
    auto a = json->decode(R"({"type":")" + std::string(name) + R"(","data":)" + data + "}");
    auto b = sio->decode(event("1", name, data));
    REQUIRE_FALSE(a.ok);
    REQUIRE_FALSE(b.ok);
    CHECK(a.error.code == b.error.code);
    CHECK(a.error.message == b.error.message);
    CHECK(b.meta.type == name);
  }
}

TEST_CASE("socket.io dialect: server-side errors go into the ack") {
  auto d = connected();
  auto r = d->decode(event("12", "create-webrtc-transport", R"({"direction":"send"})"));
  REQUIRE(r.ok);
  CHECK(d->encode_error(r.req.meta, {error_code::not_joined, "join a room first"}) ==
        R"(312[{"error":"join a room first","code":"not-joined"}])");
  CHECK(d->encode_error(r.req.meta, {error_code::internal, "line\n\"q\""}) ==
        R"(312[{"error":"line\n\"q\"","code":"internal"}])");
  // A meta without a numeric ack id (for instance one made by the JSON dialect): nothing.
  request_meta foreign;
  foreign.type = "produce";
  foreign.has_request_id = true;
  foreign.request_id = R"("abc")";
  CHECK(d->encode_error(foreign, {error_code::internal, "x"}).empty());
  CHECK(d->encode_reply(foreign, empty_reply{}).empty());
  foreign.request_id = "-1";
  CHECK(d->encode_reply(foreign, empty_reply{}).empty());
  // A seed 001 style meta still gets a seed 004 shaped ack.
  request_meta s001;
  s001.type = "connect-transport";
  s001.has_request_id = true;
  s001.request_id = "4";
  CHECK(d->encode_reply(s001, empty_reply{}) == "34[{}]");
}

TEST_CASE("socket.io dialect: unanswerable packets are dropped") {
  struct drop_case {
    const char* name;
    std::string input;
    error_code code;
    const char* fragment;
  };
  const drop_case cases[] = {
    {"empty", "", error_code::invalid_message, "empty packet"},
    {"unknown type", R"(9["x"])", error_code::invalid_message, "unknown packet type '9'"},
    {"Engine.IO ping leaked through", "2probe", error_code::malformed_json, "not valid JSON"},
    {"unknown event without ack id", R"(2["fly",{}])", error_code::unknown_type, "fly"},
    {"bad JSON without ack id", R"(2["x",)", error_code::malformed_json, "not valid JSON"},
    {"event without payload or ack id", "2", error_code::malformed_json, "not valid JSON"},
    {"missing field without ack id", R"(2["restart-ice",{}])", error_code::missing_field,
     "transportId is required"},
    {"event for another namespace, even with an ack id", R"(2/admin,1["get-rtp-capabilities"])",
     error_code::invalid_message, "namespace /admin"},
    {"ack id out of range", R"(218446744073709551616["get-rtp-capabilities"])",
     error_code::invalid_message, "ack id out of range"},
    {"ACK from the client", "31[{}]", error_code::invalid_message, "unexpected ACK"},
    {"CONNECT_ERROR from the client", R"(4{"message":"x"})", error_code::invalid_message,
     "CONNECT_ERROR"},
    {"binary event without ack id", R"(51-["produce",{"_placeholder":true,"num":0}])",
     error_code::unsupported, "binary packets are not supported"},
    {"binary ack", R"(61-3[{"_placeholder":true,"num":0}])", error_code::unsupported,
     "binary packets are not supported"},
    {"binary event to another namespace", R"(51-/admin,3["x"])", error_code::unsupported,
     "binary"},
    {"malformed binary header", R"(5["x"])", error_code::invalid_message, "<attachments>-"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto d = connected();
    auto r = d->decode(c.input);
    CHECK_FALSE(r.ok);
    CHECK(r.kind == decode_kind::dropped);
    CHECK_FALSE(r.meta.has_request_id);
    CHECK(r.immediate.empty());
    CHECK_FALSE(r.disconnect);
    CHECK(to_string(r.error.code) == to_string(c.code));
    CHECK_MESSAGE(r.error.message.find(c.fragment) != std::string::npos, r.error.message);
    CHECK(d->encode_error(r.meta, r.error).empty());
    // The connection stays usable.
    CHECK(d->decode(event("1", "get-rtp-capabilities")).ok);
  }
}

// ---- events ---------------------------------------------------------------------------------

TEST_CASE("socket.io dialect: events") {
  struct event_case {
    const char* name;
    event_body event;
    std::string expected;
  };
  const event_case cases[] = {
    {"participant-list-update (an array)",
     participant_list_update_event{{{"alice", "Alice", true, false}, {"bob", "bob", false, true}}},
     R"(2["participant-list-update",[{"id":"alice","name":"Alice","isAudioMuted":true,)"
     R"("isVideoPaused":false},{"id":"bob","name":"bob","isAudioMuted":false,)"
     R"("isVideoPaused":true}]])"},
    {"participant-list-update, empty room", participant_list_update_event{},
     R"(2["participant-list-update",[]])"},
    {"participant-left", participant_left_event{"bob"},
     R"(2["participant-left",{"peerId":"bob"}])"},
    {"new-producer", new_producer_event{"p1", "alice", rtp::media_kind::video},
     R"(2["new-producer",{"producerId":"p1","peerId":"alice","kind":"video"}])"},
    {"producer-closed", producer_closed_event{"p1"},
     R"(2["producer-closed",{"producerId":"p1"}])"},
    {"consumer-closed", consumer_closed_event{"c1", "p1"},
     R"(2["consumer-closed",{"consumerId":"c1","producerId":"p1"}])"},
    {"producer-paused", producer_paused_event{"p1", true},
     R"(2["producer-paused",{"producerId":"p1"}])"},
    {"producer-resumed", producer_paused_event{"p1", false},
     R"(2["producer-resumed",{"producerId":"p1"}])"},
    {"names are escaped", participant_left_event{"a\"b\\c\n"},
     R"(2["participant-left",{"peerId":"a\"b\\c\n"}])"},
  };
  auto d = make_socketio_dialect("s");
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    const auto text = d->encode_event(c.event);
    CHECK(text == c.expected);
    auto back = socketio::parse_packet(text);
    REQUIRE(back.ok);
    CHECK(back.pkt.type == packet_type::event);
    CHECK_FALSE(back.pkt.ack_id);
  }
}

// ---- the seed 004 frontend's extended events ------------------------

TEST_CASE("socket.io dialect: the frontend's requests decode to typed requests") {
  auto d = connected();
  SUBCASE("set-user-id: a bare string, or { userId }") {
    for (const char* data : {R"("user_abc")", R"({"userId":"user_abc"})"}) {
      INFO(data);
      auto r = d->decode(std::string(R"(21["set-user-id",)") + data + "]");
      REQUIRE(r.ok);
      CHECK(std::get<set_user_id_request>(r.req.body).user_id == "user_abc");
    }
    struct bad_case {
      const char* name;
      const char* input;
      error_code code;
    };
    const bad_case bad[] = {
      {"a number", R"(22["set-user-id",42])", error_code::invalid_message},
      {"an empty string", R"(22["set-user-id",""])", error_code::invalid_field},
      {"nothing", R"(22["set-user-id"])", error_code::missing_field},
      {"a control character", R"(22["set-user-id","a\u0000b"])", error_code::invalid_field},
      {"a string to another event", R"(22["join-mediasoup-room","r1"])",
       error_code::invalid_message},
    };
    for (const auto& c : bad) {
      INFO(c.name);
      auto r = d->decode(c.input);
      REQUIRE(r.kind == decode_kind::error);
      CHECK(r.error.code == c.code);
    }
  }
  SUBCASE("join-mediasoup-room with the frontend's identity") {
    auto r = d->decode(event("3", "join-mediasoup-room",
                             R"({"roomId":"r1","userId":"user_1","userName":"Ada",)"
                             R"("userImageUrl":"https://img.example/a.png","isCreator":true})"));
    REQUIRE(r.ok);
    const auto& j = std::get<join_room_request>(r.req.body);
    CHECK(j.user_id == "user_1");
    CHECK(j.name == "Ada");
    CHECK(j.image_url == "https://img.example/a.png");
    CHECK(j.is_creator);
    auto named = d->decode(event("4", "join-mediasoup-room", R"({"name":"N","userName":"U"})"));
    CHECK(std::get<join_room_request>(named.req.body).name == "N");
    auto bad = d->decode(event("5", "join-mediasoup-room", R"({"isCreator":"yes"})"));
    CHECK(bad.error.code == error_code::invalid_field);
  }
  SUBCASE("produce: appData share or source screen is a screen share") {
    struct share_case {
      const char* app_data;
      bool share;
    };
    const share_case cases[] = {
      {R"({"share":true})", true},         {R"({"source":"screen"})", true},
      {R"({"share":false})", false},       {R"({"share":"true"})", false},
      {R"({"source":"camera"})", false},   {"{}", false},
    };
    for (const auto& c : cases) {
      INFO(c.app_data);
      auto r = d->decode(event("6", "produce", R"({"kind":"video","rtpParameters":)" +
                                                 test::wrtc_video_rtp_parameters +
                                                 R"(,"appData":)" + c.app_data + "}"));
      REQUIRE(r.ok);
      const auto& p = std::get<produce_request>(r.req.body);
      CHECK(p.is_screen_share == c.share);
      CHECK(p.app_data == c.app_data);
    }
  }
  SUBCASE("get-socket-id-for-user, update-my-state, screen-share-stopped") {
    auto g = d->decode(event("7", "get-socket-id-for-user", R"({"userId":"user_2"})"));
    CHECK(std::get<get_socket_id_request>(g.req.body).user_id == "user_2");
    CHECK(d->decode(event("8", "get-socket-id-for-user", "{}")).error.code ==
          error_code::missing_field);
    auto u = d->decode(event("9", "update-my-state",
                             R"({"roomId":"r1","userId":"user_1","isVideoPaused":true})"));
    const auto& st = std::get<update_state_request>(u.req.body);
    CHECK_FALSE(st.has_audio_muted);
    CHECK(st.has_video_paused);
    CHECK(st.video_paused);
    CHECK(d->decode(event("10", "update-my-state", R"({"userId":"user_1"})")).error.code ==
          error_code::missing_field);
    CHECK(d->decode(event("11", "update-my-state", R"({"isAudioMuted":1})")).error.code ==
          error_code::invalid_field);
    auto stop = d->decode(event("12", "screen-share-stopped",
                                R"({"roomId":"r1","userId":"user_1","producerId":"p9"})"));
    const auto& c = std::get<producer_request>(stop.req.body);
    CHECK(c.op == producer_op::close);
    CHECK(c.producer_id == "p9");
  }
}

TEST_CASE("socket.io dialect: the frontend's shapes, and seed 004's for other clients") {
  participant alice;
  alice.id = "sock-a";
  alice.name = "Alice";
  alice.is_audio_muted = false;
  alice.user_id = "user_a";
  alice.image_url = "https://img.example/a.png";
  alice.is_host = true;
  participant_list_update_event list{{alice}};
  new_producer_event np{"p1", "sock-a", rtp::media_kind::video, "user_a", "Alice", true};
  producer_closed_event closed{"p1", "sock-a", "user_a", rtp::media_kind::video, true};
  participant_left_event left{"sock-a", "user_a"};
  participant_state_changed_event changed{"sock-a", "user_a", true, true, false, false};
  struct shape_case {
    const char* name;
    event_body event;
    std::string plain;
    std::string frontend;
  };
  const shape_case cases[] = {
    {"participant-list-update", list,
     R"(2["participant-list-update",[{"id":"sock-a","name":"Alice","isAudioMuted":false,)"
     R"("isVideoPaused":true}]])",
     R"(2["participant-list-update",[{"id":"user_a","name":"Alice",)"
     R"("imageUrl":"https://img.example/a.png","isHost":true,"isCoHost":false,)"
     R"("isAudioMuted":false,"isVideoPaused":true,"audioLocked":false,)"
     R"("screenShareLocked":false}]])"},
    {"new-producer", np,
     R"(2["new-producer",{"producerId":"p1","peerId":"sock-a","kind":"video"}])",
     R"(2["new-producer",{"producerId":"p1","peerId":"sock-a","userId":"user_a",)"
     R"("userName":"Alice","kind":"video","isScreenShare":true}])"},
    {"producer-closed", closed, R"(2["producer-closed",{"producerId":"p1"}])",
     R"(2["producer-closed",{"producerId":"p1","peerId":"sock-a","userId":"user_a",)"
     R"("kind":"video","isScreenShare":true}])"},
    {"participant-left", left, R"(2["participant-left",{"peerId":"sock-a"}])",
     R"(2["participant-left",{"peerId":"sock-a","userId":"user_a"}])"},
    {"participant-left without a user id: the peer id",
     participant_left_event{"sock-b", ""}, R"(2["participant-left",{"peerId":"sock-b"}])",
     R"(2["participant-left",{"peerId":"sock-b","userId":"sock-b"}])"},
    {"participant-state-changed", changed,
     R"(2["participant-state-changed",{"userId":"user_a","peerId":"sock-a","isAudioMuted":true}])",
     R"(2["participant-state-changed",{"userId":"user_a","peerId":"sock-a","isAudioMuted":true}])"},
  };
  auto d = connected();
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    d->set_frontend_shapes(false);
    CHECK(d->encode_event(c.event) == c.plain);
    d->set_frontend_shapes(true);
    CHECK(d->encode_event(c.event) == c.frontend);
  }

  SUBCASE("a list written once (prepare_json) gives the same frames in both shapes") {
    participant bob;
    bob.id = "sock-b";
    bob.name = "B \"the\" builder";
    participant_list_update_event two{{alice, bob}};
    participant_list_update_event prepared = two;
    prepare_json(prepared);
    REQUIRE(prepared.written);
    for (bool frontend : {false, true}) {
      INFO("frontend shapes: " << frontend);
      d->set_frontend_shapes(frontend);
      CHECK(d->encode_event(prepared) == d->encode_event(two));
    }
    // The written text is what goes out (not the items, which a receiver need not write).
    prepared.participants.clear();
    d->set_frontend_shapes(true);
    CHECK(d->encode_event(prepared) == d->encode_event(two));
    participant_list_update_event empty;
    prepare_json(empty);
    d->set_frontend_shapes(false);
    CHECK(d->encode_event(empty) == R"(2["participant-list-update",[]])");
  }
  SUBCASE("the join ack") {
    auto join = d->decode(event("3", "join-mediasoup-room", R"({"roomId":"r1"})"));
    join_room_reply reply{"r1", "sock-a", {"p1"}, true, false};
    d->set_frontend_shapes(false);
    CHECK(d->encode_reply(join.req.meta, reply) == R"(33[{"existingProducers":["p1"]}])");
    d->set_frontend_shapes(true);
    CHECK(d->encode_reply(join.req.meta, reply) ==
          R"(33[{"success":true,"existingProducers":["p1"],"isHost":true,"isCoHost":false}])");
  }
  SUBCASE("the consume ack names the producer's user, socket and share") {
    auto consume = d->decode(event("4", "consume", R"({"rtpCapabilities":)" +
                                                     test::wrtc_device_rtp_capabilities + "}"));
    REQUIRE(consume.ok);
    auto reply = test::sample_consumer();
    reply.user_id = "user_a";
    reply.user_name = "Alice";
    reply.is_screen_share = true;
    reply.app_data = R"({"share":true})";
    d->set_frontend_shapes(false);
    const auto plain = d->encode_reply(consume.req.meta, reply);
    CHECK(plain.find("userId") == std::string::npos);
    d->set_frontend_shapes(true);
    const auto full = d->encode_reply(consume.req.meta, reply);
    CHECK(full.find(R"("peerId":"alice","userId":"user_a","userName":"Alice",)"
                    R"("producerSocketId":"alice","isScreenShare":true,"appData":{"share":true}}])") !=
          std::string::npos);
    reply.app_data.clear();
    CHECK(d->encode_reply(consume.req.meta, reply).find(R"("appData":{}})") != std::string::npos);
  }
  SUBCASE("get-socket-id-for-user's ack") {
    auto g = d->decode(event("5", "get-socket-id-for-user", R"({"userId":"user_b"})"));
    CHECK(d->encode_reply(g.req.meta, socket_id_reply{"sock-b"}) == R"(35[{"socketId":"sock-b"}])");
  }
  SUBCASE("get-participants: the page, audience members marked; audience-update") {
    auto g = d->decode(event("6", "get-participants",
                             R"({"roomId":"r1","offset":2,"limit":1,"filter":"ann"})"));
    REQUIRE(g.ok);
    const auto& q = std::get<get_participants_request>(g.req.body);
    CHECK(q.offset == 2);
    CHECK(q.limit == 1);
    CHECK(q.filter == "ann");
    participant ann;
    ann.id = "sock-n";
    ann.name = "Ann";
    ann.user_id = "user_n";
    ann.role = "viewer";
    ann.in_audience = true;
    ann.hand_raised = true;
    participants_page_reply page{3, 2, 3, {ann}};
    CHECK(d->encode_reply(g.req.meta, page) ==
          R"(36[{"total":3,"offset":2,"audience":3,"participants":[{"id":"user_n","name":"Ann",)"
          R"("imageUrl":"","isHost":false,"isCoHost":false,"isAudioMuted":true,)"
          R"("isVideoPaused":true,"audioLocked":false,"screenShareLocked":false,)"
          R"("role":"viewer","inAudience":true,"handRaised":true}]}])");
    CHECK(d->encode_event(audience_update_event{1200, 40, 3}) ==
          R"(2["audience-update",{"count":1200,"joined":40,"left":3}])");
    struct refusal {
      const char* data;
      error_code code;
    };
    const refusal refusals[] = {
      {R"({"limit":0})", error_code::invalid_field},
      {R"({"limit":501})", error_code::invalid_field},
      {R"({"offset":-1})", error_code::invalid_field},
      {R"({"filter":7})", error_code::invalid_field},
    };
    for (auto& r : refusals) {
      INFO(r.data);
      CHECK(d->decode(event("7", "get-participants", r.data)).error.code == r.code);
    }
    auto all = d->decode(event("8", "get-participants", "{}"));
    REQUIRE(all.ok);
    CHECK(std::get<get_participants_request>(all.req.body).limit == 50);
  }
}

// ---- robustness ---------------------------------------------------------------------------

namespace {

// The invariants every decode result keeps, whatever the input.
void check_invariants(dialect& d, const decode_result& r) {
  CHECK(r.ok == (r.kind == decode_kind::request));
  if (r.kind == decode_kind::error)
    CHECK(r.meta.has_request_id);
  if (r.kind == decode_kind::dropped)
    CHECK_FALSE(r.meta.has_request_id);
  if (r.kind == decode_kind::request || r.kind == decode_kind::error)
    CHECK(r.immediate.empty());
  if (r.ok)
    (void)d.encode_reply(r.req.meta, empty_reply{});
  else
    (void)d.encode_error(r.meta, r.error);
}

std::vector<std::string> valid_packets() {
  return {
    "0",
    R"(0{"token":"abc"})",
    R"(0/admin,{"token":1})",
    "1",
    R"(21["get-rtp-capabilities",{"roomId":"r"}])",
    event("2", "join-mediasoup-room", R"({"roomId":"r","rtpCapabilities":)" + caps + "}"),
    event("3", "create-webrtc-transport", R"({"roomId":"r","direction":"send"})"),
    event("4", "connect-transport", R"({"transportId":"t1","dtlsParameters":)" + dtls + "}"),
    event("5", "produce", R"({"transportId":"t1","kind":"audio","rtpParameters":)" + audio + "}"),
    event("6", "consume", R"({"producerId":"p1","rtpCapabilities":)" + caps + "}"),
    event("", "resume-consumer", R"({"roomId":"r","consumerId":"c1"})"),
    R"(20["getRouterRtpCapabilities"])",
    event("7", "consume-media", R"({"rtpCapabilities":)" + caps + "}"),
    R"(51-8["produce",{"_placeholder":true,"num":0}])",
    R"(2/admin,9["x"])",
    "31[{}]",
  };
}

} // namespace

TEST_CASE("socket.io dialect: every truncation of valid packets decodes without crashing") {
  for (const auto& packet : valid_packets()) {
    for (std::size_t n = 0; n <= packet.size(); ++n) {
      auto d = connected();
      const auto prefix = packet.substr(0, n);
      INFO(prefix);
      auto r = d->decode(prefix);
      check_invariants(*d, r);
    }
  }
}

TEST_CASE("socket.io dialect: fuzzed packets decode without crashing") {
  std::mt19937 rng(20240601);
  const auto packets = valid_packets();
  const std::string alphabet = "0123456789-/,[]{}\":\\ nulltrue\x01\xff\xc3";
  auto d = connected();
  int decoded = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string text = packets[rng() % packets.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const std::size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text.erase(at, 1 + rng() % 8);
          break;
      }
    }
    auto r = d->decode(text);
    check_invariants(*d, r);
    if (r.disconnect)
      d->decode("0");
    ++decoded;
  }
  for (int round = 0; round < 1000; ++round) {
    std::string text(rng() % 64, '\0');
    for (auto& c : text)
      c = static_cast<char>(rng() % 256);
    auto r = d->decode(text);
    check_invariants(*d, r);
    if (r.disconnect)
      d->decode("0");
    ++decoded;
  }
  CHECK(decoded == 5000);
}
