// Data channel signaling in the JSON and Socket.IO dialects: produce-data, consume-data and
// the close / stats requests decoded (named table cases, with the expected error), the
// sctpCapabilities of transport creation, and the replies and events encoded.
#include "protocol/dialect.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace chorus::protocol;

namespace {

decode_result decode(const std::string& text) {
  static auto d = make_json_dialect();
  return d->decode(text);
}

std::string msg(const std::string& type, const std::string& data) {
  return R"({"type":")" + type + R"(","data":)" + data + R"(,"requestId":1})";
}

} // namespace

TEST_CASE("data requests decode, or fail with the expected code") {
  struct c {
    const char* name;
    std::string text;
    std::optional<error_code> code; // nullopt: decodes
    const char* fragment = "";      // in the error message
  };
  const auto field = error_code::invalid_field;
  const auto missing = error_code::missing_field;
  const std::vector<c> cases = {
    {"produce-data, minimal", msg("produce-data", R"({"sctpStreamParameters":{"streamId":0}})"), {}},
    {"produce-data, all fields",
     msg("produce-data", R"({"transportId":"t","sctpStreamParameters":{"streamId":5,"ordered":false,"maxPacketLifeTime":3000},"label":"chat","protocol":"json","appData":{"a":[1]}})"), {}},
    {"produce-data without sctpStreamParameters", msg("produce-data", R"({"label":"x"})"), missing, "sctpStreamParameters"},
    {"streamId missing", msg("produce-data", R"({"sctpStreamParameters":{"ordered":true}})"), missing, "streamId"},
    {"streamId not a number", msg("produce-data", R"({"sctpStreamParameters":{"streamId":"1"}})"), field, "streamId"},
    {"streamId negative", msg("produce-data", R"({"sctpStreamParameters":{"streamId":-1}})"), field, "streamId"},
    {"streamId 65535 (reserved)", msg("produce-data", R"({"sctpStreamParameters":{"streamId":65535}})"), field, "streamId"},
    {"streamId 65534", msg("produce-data", R"({"sctpStreamParameters":{"streamId":65534}})"), {}},
    {"sctpStreamParameters not an object", msg("produce-data", R"({"sctpStreamParameters":3})"), field, "sctpStreamParameters"},
    {"ordered not a boolean", msg("produce-data", R"({"sctpStreamParameters":{"streamId":1,"ordered":"yes"}})"), field, "ordered"},
    {"both partial reliabilities", msg("produce-data", R"({"sctpStreamParameters":{"streamId":1,"maxRetransmits":1,"maxPacketLifeTime":1}})"), field, "maxRetransmits"},
    {"maxRetransmits over 32 bits", msg("produce-data", R"({"sctpStreamParameters":{"streamId":1,"maxRetransmits":4294967296}})"), field, "maxRetransmits"},
    {"label not a string", msg("produce-data", R"({"sctpStreamParameters":{"streamId":1},"label":5})"), field, "label"},
    {"label too long", msg("produce-data", R"({"sctpStreamParameters":{"streamId":1},"label":")" + std::string(1025, 'x') + R"("})"), field, "label"},
    {"appData not an object", msg("produce-data", R"({"sctpStreamParameters":{"streamId":1},"appData":[1]})"), field, "appData"},
    {"consume-data", msg("consume-data", R"({"dataProducerId":"d","transportId":"t"})"), {}},
    {"consume-data without dataProducerId", msg("consume-data", R"({})"), missing, "dataProducerId"},
    {"close-data-producer", msg("close-data-producer", R"({"dataProducerId":"d"})"), {}},
    {"close-data-producer without id", msg("close-data-producer", R"({})"), missing, "dataProducerId"},
    {"close-data-consumer", msg("close-data-consumer", R"({"dataConsumerId":"c"})"), {}},
    {"get-data-consumer-stats", msg("get-data-consumer-stats", R"({"dataConsumerId":"c"})"), {}},
    {"get-data-producer-stats without id", msg("get-data-producer-stats", R"({"dataConsumerId":"c"})"), missing, "dataProducerId"},
    {"sctpCapabilities", msg("create-transport", R"({"sctpCapabilities":{"numStreams":{"OS":1024,"MIS":1024}}})"), {}},
    {"sctpCapabilities without numStreams", msg("create-transport", R"({"sctpCapabilities":{}})"), missing, "numStreams"},
    {"numStreams.OS zero", msg("create-transport", R"({"sctpCapabilities":{"numStreams":{"OS":0,"MIS":1}}})"), field, "OS"},
    {"numStreams.MIS too large", msg("create-transport", R"({"sctpCapabilities":{"numStreams":{"OS":1,"MIS":65536}}})"), field, "MIS"},
    {"enableSctp not a boolean", msg("create-transport", R"({"enableSctp":1})"), field, "enableSctp"},
  };
  for (auto& k : cases) {
    CAPTURE(std::string(k.name));
    auto r = decode(k.text);
    if (!k.code) {
      CHECK_MESSAGE(r.ok, r.error.message);
      continue;
    }
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == *k.code);
    CHECK_MESSAGE(r.error.message.find(k.fragment) != std::string::npos, r.error.message);
  }
}

TEST_CASE("data requests decode to their values") {
  auto r = decode(msg("produce-data", R"({"transportId":"t","sctpStreamParameters":{"streamId":5,"ordered":false,"maxRetransmits":2},"label":"chat","protocol":"json","appData":{"a":1}})"));
  REQUIRE(r.ok);
  CHECK(r.req.meta.style == request_style::seed004);
  const auto& p = std::get<produce_data_request>(r.req.body);
  CHECK(p.transport_id == "t");
  CHECK(p.stream.stream_id == 5);
  CHECK_FALSE(p.stream.ordered);
  CHECK(p.stream.has_max_retransmits);
  CHECK(p.stream.max_retransmits == 2);
  CHECK_FALSE(p.stream.has_max_packet_life_time);
  CHECK(p.label == "chat");
  CHECK(p.protocol == "json");
  CHECK(p.app_data == R"({"a":1})");
  auto t = decode(msg("create-webrtc-transport", R"({"direction":"recv","sctpCapabilities":{"numStreams":{"OS":16,"MIS":2048}}})"));
  REQUIRE(t.ok);
  const auto& ct = std::get<create_transport_request>(t.req.body);
  CHECK(ct.enable_sctp);
  CHECK(ct.sctp_os == 16);
  CHECK(ct.sctp_mis == 2048);
  auto plain = decode(msg("create-transport", R"({"direction":"send"})"));
  REQUIRE(plain.ok);
  CHECK_FALSE(std::get<create_transport_request>(plain.req.body).enable_sctp);
  auto e = decode(msg("create-transport", R"({"enableSctp":true})"));
  REQUIRE(e.ok);
  CHECK(std::get<create_transport_request>(e.req.body).enable_sctp);
  CHECK(std::get<create_transport_request>(e.req.body).sctp_os == 0);
}

TEST_CASE("data replies and events encode in both dialects") {
  auto json = make_json_dialect();
  request_meta meta{"consume-data", "7", true, request_style::seed004};
  sctp_stream_parameters sp;
  sp.stream_id = 3;
  sp.ordered = true;
  sp.has_max_packet_life_time = true;
  sp.max_packet_life_time = 500;
  data_consumer_params_reply reply{"c1", "d1", sp, "chat", "", R"({"k":"v"})", "alice"};
  CHECK(json->encode_reply(meta, reply) ==
        R"({"type":"consume-data","data":{"id":"c1","dataProducerId":"d1","sctpStreamParameters":{"streamId":3,"ordered":true,"maxPacketLifeTime":500},"label":"chat","protocol":"","appData":{"k":"v"},"peerId":"alice"},"requestId":7})");
  CHECK(json->encode_event(new_data_producer_event{"d1", "alice", "chat", "p"}) ==
        R"({"type":"new-data-producer","data":{"dataProducerId":"d1","peerId":"alice","label":"chat","protocol":"p"}})");
  CHECK(json->encode_event(data_producer_closed_event{"d1", "alice"}) ==
        R"({"type":"data-producer-closed","data":{"dataProducerId":"d1","peerId":"alice"}})");
  CHECK(json->encode_event(data_consumer_closed_event{"c1", "d1"}) ==
        R"({"type":"data-consumer-closed","data":{"dataConsumerId":"c1","dataProducerId":"d1"}})");
  transport_params tp;
  tp.id = "t";
  tp.has_sctp = true;
  tp.sctp_parameters = {5000, 1024, 16, 262144};
  auto text = json->encode_reply(request_meta{"create-transport", "1", true, request_style::seed001},
                                 transport_params_reply{tp});
  CHECK_MESSAGE(text.find(R"("sctpParameters":{"port":5000,"OS":1024,"MIS":16,"maxMessageSize":262144})") != std::string::npos, text);

  // Socket.IO: the event as ["name", data], the reply in the ack.
  auto sio = make_socketio_dialect("sid-1");
  CHECK(sio->encode_event(data_consumer_closed_event{"c1", "d1"}) ==
        R"(2["data-consumer-closed",{"dataConsumerId":"c1","dataProducerId":"d1"}])");
}
