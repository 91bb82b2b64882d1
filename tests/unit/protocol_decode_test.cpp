// The JSON dialect's decoder: one table of named cases (input, expected error code or
// success, expected message fragment), then per-request checks of the decoded values.
#include "protocol/dialect.hpp"
#include "protocol/request_parser.hpp"
#include "protocol_fixtures.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::protocol;

namespace {

decode_result decode(const std::string& text) {
  static auto d = make_json_dialect();
  return d->decode(text);
}

std::string msg(const std::string& type, const std::string& data) {
  return R"({"type":")" + type + R"(","data":)" + data + "}";
}

const std::string fp256 =
  "E5:57:7F:36:3E:63:6A:F9:48:F9:FF:C0:BB:1A:84:C4:23:67:F3:B2:63:7E:BE:DD:11:1D:8E:99:51:"
  "B7:1A:15";
const std::string dtls = test::wrtc_dtls_parameters;
const std::string audio = test::wrtc_audio_rtp_parameters;
const std::string video = test::wrtc_video_rtp_parameters;
const std::string caps = test::wrtc_device_rtp_capabilities;

std::string nested(int depth) {
  std::string s =
    R"({"type":"produce","data":{"kind":"audio","rtpParameters":{"codecs":[]},"appData":)";
  for (int i = 0; i < depth; ++i)
    s += R"({"a":)";
  s += "1";
  for (int i = 0; i < depth; ++i)
    s += "}";
  return s + "}}";
}

struct decode_case {
  const char* name;
  std::string input;
  std::optional<error_code> code; // nullopt: decodes
  const char* fragment;           // in the error message
};

const std::string id64(64, 'a');
const std::string id65(65, 'a');
const std::string room128(128, 'r');
const std::string room129(129, 'r');
const std::string codecs65 = [] {
  std::string s = R"({"codecs":[)";
  for (int i = 0; i < 65; ++i)
    s += std::string(i ? "," : "") +
         R"({"mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000})";
  return s + "]}";
}();

std::vector<decode_case> cases() {
  const auto e_json = error_code::malformed_json;
  const auto e_msg = error_code::invalid_message;
  const auto e_type = error_code::unknown_type;
  const auto e_missing = error_code::missing_field;
  const auto e_field = error_code::invalid_field;
  const std::optional<error_code> ok;
  const std::string produce_audio = R"({"kind":"audio","rtpParameters":)" + audio + "}";
  return {
    // ---- not JSON, not an object ----
    {"empty text", "", e_json, "not valid JSON"},
    {"whitespace only", "  \n ", e_json, "not valid JSON"},
    {"truncated object", R"({"type":"produce")", e_json, "not valid JSON"},
    {"truncated string", R"({"type":"prod)", e_json, "not valid JSON"},
    {"not JSON at all", "hello", e_json, "not valid JSON"},
    {"single quotes", "{'type':'produce'}", e_json, "not valid JSON"},
    {"trailing comma", R"({"type":"produce",})", e_json, "not valid JSON"},
    {"trailing garbage", R"({"type":"produce"} x)", e_json, "not valid JSON"},
    {"two objects", R"({"type":"produce"}{"type":"produce"})", e_json, "not valid JSON"},
    {"embedded NUL", std::string("{\"type\":\"pro\0duce\"}", 19), e_json, "not valid JSON"},
    {"invalid UTF-8 in a string", "{\"type\":\"produce\xff\xfe\"}", e_json, "not valid JSON"},
    {"overlong UTF-8", "{\"type\":\"\xc0\xaf\"}", e_json, "not valid JSON"},
    {"number too big", R"({"type":"x","requestId":1e400})", e_json, "not valid JSON"},
    {"root array", R"([{"type":"produce"}])", e_json, "must be a JSON object"},
    {"root empty array", "[]", e_json, "must be a JSON object"},
    {"root string", R"("produce")", e_json, "must be a JSON object"},
    {"root number", "42", e_json, "must be a JSON object"},
    {"root null", "null", e_json, "must be a JSON object"},
    {"nesting 40 levels", nested(40), e_json, "nesting deeper than 32 levels"},
    {"100000 open brackets", std::string(100000, '['), e_json, "nesting deeper"},
    {"nesting within the limit", nested(20), ok, ""},
    // ---- the envelope ----
    {"no type", "{}", e_msg, "type is required"},
    {"type number", R"({"type":7})", e_msg, "type must be a string"},
    {"type null", R"({"type":null})", e_msg, "type must be a string"},
    {"type object", R"({"type":{"name":"produce"}})", e_msg, "type must be a string"},
    {"data array", R"({"type":"get-rtp-capabilities","data":[]})", e_msg,
     "data must be an object"},
    {"data string", R"({"type":"get-rtp-capabilities","data":"x"})", e_msg,
     "data must be an object"},
    {"data null", R"({"type":"get-rtp-capabilities","data":null})", e_msg,
     "data must be an object"},
    {"requestId object", R"({"type":"get-rtp-capabilities","requestId":{}})", e_msg,
     "requestId must be a string or a number"},
    {"requestId array", R"({"type":"get-rtp-capabilities","requestId":[1]})", e_msg,
     "requestId must be a string or a number"},
    {"requestId boolean", R"({"type":"get-rtp-capabilities","requestId":true})", e_msg,
     "requestId must be a string or a number"},
    {"requestId null", R"({"type":"get-rtp-capabilities","requestId":null})", e_msg,
     "requestId must be a string or a number"},
    {"unknown type", R"({"type":"fly"})", e_type, "unknown request type \"fly\""},
    {"type is case-sensitive", R"({"type":"Produce"})", e_type, "unknown request type"},
    {"empty type", R"({"type":""})", e_type, "unknown request type"},
    {"unknown fields are ignored", R"({"type":"get-rtp-capabilities","x":1,"data":{"y":2}})",
     ok, ""},
    // ---- get-rtp-capabilities, getRouterRtpCapabilities ----
    {"get-rtp-capabilities", R"({"type":"get-rtp-capabilities"})", ok, ""},
    {"get-rtp-capabilities with roomId", msg("get-rtp-capabilities", R"({"roomId":"r1"})"), ok,
     ""},
    {"getRouterRtpCapabilities", R"({"type":"getRouterRtpCapabilities"})", ok, ""},
    {"roomId empty", msg("get-rtp-capabilities", R"({"roomId":""})"), e_field,
     "roomId must be a string of 1-128 bytes"},
    {"roomId 128 bytes", msg("get-rtp-capabilities", R"({"roomId":")" + room128 + "\"}"), ok,
     ""},
    {"roomId 129 bytes", msg("get-rtp-capabilities", R"({"roomId":")" + room129 + "\"}"),
     e_field, "roomId must be a string of 1-128 bytes"},
    {"roomId number", msg("get-rtp-capabilities", R"({"roomId":5})"), e_field,
     "roomId must be a string"},
    {"roomId with a newline", msg("get-rtp-capabilities", R"({"roomId":"a\nb"})"), e_field,
     "roomId must not contain control characters"},
    {"roomId with DEL", msg("get-rtp-capabilities", "{\"roomId\":\"a\x7f\"}"), e_field,
     "roomId must not contain control characters"},
    {"roomId null is absent", msg("get-rtp-capabilities", R"({"roomId":null})"), ok, ""},
    // ---- join-mediasoup-room ----
    {"join without data", R"({"type":"join-mediasoup-room"})", ok, ""},
    {"join with everything",
     msg("join-mediasoup-room", R"({"roomId":"r1","name":"Ann","rtpCapabilities":)" + caps + "}"),
     ok, ""},
    {"join name empty", msg("join-mediasoup-room", R"({"name":""})"), e_field,
     "name must be a string of 1-128 bytes"},
    {"join name too long", msg("join-mediasoup-room", R"({"name":")" + room129 + "\"}"),
     e_field, "name must be a string of 1-128 bytes"},
    {"join name with a tab", msg("join-mediasoup-room", R"({"name":"a\tb"})"), e_field,
     "name must not contain control characters"},
    {"join rtpCapabilities not an object", msg("join-mediasoup-room", R"({"rtpCapabilities":[]})"),
     e_field, "rtpCapabilities must be an object"},
    {"join rtpCapabilities bad codec",
     msg("join-mediasoup-room", R"({"rtpCapabilities":{"codecs":[{"mimeType":"opus"}]}})"),
     e_field, "rtpCapabilities.codecs[0].mimeType must look like"},
    {"join rtpCapabilities with 65 codecs",
     msg("join-mediasoup-room", R"({"rtpCapabilities":)" + codecs65 + "}"), e_field,
     "rtpCapabilities.codecs must be an array of at most 64 entries"},
    // ---- create-transport and its aliases ----
    {"create-transport without data", R"({"type":"create-transport"})", ok, ""},
    {"create-transport recv", msg("create-transport", R"({"direction":"recv"})"), ok, ""},
    {"create-transport bad direction", msg("create-transport", R"({"direction":"both"})"),
     e_field, "direction must be \"send\" or \"recv\""},
    {"create-webrtc-transport send",
     msg("create-webrtc-transport", R"({"roomId":"r1","direction":"send"})"), ok, ""},
    {"create-webrtc-transport needs direction", msg("create-webrtc-transport", "{}"), e_missing,
     "direction is required"},
    {"create-webrtc-transport without data", R"({"type":"create-webrtc-transport"})", e_missing,
     "direction is required"},
    {"create-webrtc-transport direction number",
     msg("create-webrtc-transport", R"({"direction":1})"), e_field,
     "direction must be a string"},
    {"createWebRtcTransport", msg("createWebRtcTransport", R"({"direction":"send"})"), ok, ""},
    {"createWebRtcTransport needs direction", R"({"type":"createWebRtcTransport"})", e_missing,
     "direction is required"},
    {"create-consumer-transport", R"({"type":"create-consumer-transport"})", ok, ""},
    // ---- connect-transport and its aliases ----
    {"connect-transport", msg("connect-transport", R"({"dtlsParameters":)" + dtls + "}"), ok,
     ""},
    {"connect-transport needs dtlsParameters", msg("connect-transport", R"({"transportId":"t"})"),
     e_missing, "dtlsParameters is required"},
    {"connect-transport without data", R"({"type":"connect-transport"})", e_missing,
     "dtlsParameters is required"},
    {"connect-transport bad role",
     msg("connect-transport", R"({"dtlsParameters":{"role":"x","fingerprints":[]}})"), e_field,
     "dtlsParameters.role must be"},
    {"connect-transport no fingerprint",
     msg("connect-transport", R"({"dtlsParameters":{"role":"client","fingerprints":[]}})"),
     e_field, "dtlsParameters.fingerprints must have at least one entry"},
    {"connect-transport fingerprints missing",
     msg("connect-transport", R"({"dtlsParameters":{"role":"client"}})"), e_field,
     "dtlsParameters.fingerprints is required"},
    {"connect-transport md5",
     msg("connect-transport", R"({"dtlsParameters":{"fingerprints":[{"algorithm":"md5",)"
                              R"("value":"AB"}]}})"),
     e_field, "dtlsParameters.fingerprints[0].algorithm must be one of"},
    {"connect-transport short fingerprint",
     msg("connect-transport", R"({"dtlsParameters":{"fingerprints":[{"algorithm":"sha-256",)"
                              R"("value":"AB:CD"}]}})"),
     e_field, "dtlsParameters.fingerprints[0].value must be 32 hex bytes"},
    {"connect-transport transportId empty",
     msg("connect-transport", R"({"transportId":"","dtlsParameters":)" + dtls + "}"), e_field,
     "transportId must be a string of 1-64 bytes"},
    {"connectTransport", msg("connectTransport", R"({"transportId":"t1","dtlsParameters":)" +
                                                   dtls + "}"),
     ok, ""},
    {"connect-consumer-transport",
     msg("connect-consumer-transport", R"({"dtlsParameters":)" + dtls + "}"), ok, ""},
    // ---- restart-ice, get-transport-stats ----
    {"restart-ice", msg("restart-ice", R"({"transportId":")" + id64 + "\"}"), ok, ""},
    {"restart-ice needs transportId", R"({"type":"restart-ice"})", e_missing,
     "transportId is required"},
    {"restart-ice transportId 65 bytes", msg("restart-ice", R"({"transportId":")" + id65 + "\"}"),
     e_field, "transportId must be a string of 1-64 bytes"},
    {"get-transport-stats", msg("get-transport-stats", R"({"transportId":"t1"})"), ok, ""},
    {"get-transport-stats transportId number", msg("get-transport-stats", R"({"transportId":1})"),
     e_field, "transportId must be a string of 1-64 bytes"},
    // ---- produce ----
    {"produce audio", msg("produce", produce_audio), ok, ""},
    {"produce video, paused, appData",
     msg("produce", R"({"transportId":"t1","kind":"video","paused":true,"appData":{"share":false},)"
                    R"("rtpParameters":)" + video + "}"),
     ok, ""},
    {"produce needs kind", msg("produce", R"({"rtpParameters":)" + audio + "}"), e_missing,
     "kind is required"},
    {"produce kind data", msg("produce", R"({"kind":"data","rtpParameters":)" + audio + "}"),
     e_field, "kind must be \"audio\" or \"video\""},
    {"produce needs rtpParameters", msg("produce", R"({"kind":"audio"})"), e_missing,
     "rtpParameters is required"},
    {"produce without data", R"({"type":"produce"})", e_missing, "is required"},
    {"produce rtpParameters without codecs",
     msg("produce", R"({"kind":"audio","rtpParameters":{}})"), e_field,
     "rtpParameters.codecs is required"},
    {"produce payloadType 300",
     msg("produce", R"({"kind":"audio","rtpParameters":{"codecs":[{"mimeType":"audio/opus",)"
                    R"("payloadType":300,"clockRate":48000}]}})"),
     e_field, "rtpParameters.codecs[0].payloadType must be an integer 0-127"},
    {"produce rtx apt string",
     msg("produce", R"({"kind":"video","rtpParameters":{"codecs":[{"mimeType":"video/rtx",)"
                    R"("payloadType":97,"clockRate":90000,"parameters":{"apt":"96"}}]}})"),
     e_field, "rtpParameters.codecs[0].parameters.apt must be an integer 0-127"},
    {"produce encoding ssrc string",
     msg("produce", R"({"kind":"audio","rtpParameters":{"codecs":[],"encodings":[{"ssrc":"1"}]}})"),
     e_field, "rtpParameters.encodings[0].ssrc must be an integer"},
    {"produce rtx without ssrc",
     msg("produce", R"({"kind":"audio","rtpParameters":{"codecs":[],"encodings":[{"rtx":{}}]}})"),
     e_field, "rtpParameters.encodings[0].rtx.ssrc is required"},
    {"produce header extension id 256",
     msg("produce", R"({"kind":"audio","rtpParameters":{"codecs":[],"headerExtensions":)"
                    R"([{"uri":"urn:x","id":256}]}})"),
     e_field, "rtpParameters.headerExtensions[0].id must be an integer 1-255"},
    {"produce appData array",
     msg("produce", R"({"kind":"audio","appData":[],"rtpParameters":)" + audio + "}"), e_field,
     "appData must be an object"},
    {"produce paused string",
     msg("produce", R"({"kind":"audio","paused":"yes","rtpParameters":)" + audio + "}"),
     e_field, "paused must be a boolean"},
    // ---- consume ----
    {"consume", msg("consume", R"({"rtpCapabilities":)" + caps + "}"), ok, ""},
    {"consume with ids", msg("consume", R"({"producerId":"p1","transportId":"t2","paused":false,)"
                                        R"("rtpCapabilities":)" + caps + "}"),
     ok, ""},
    {"consume needs rtpCapabilities", msg("consume", R"({"producerId":"p1"})"), e_missing,
     "rtpCapabilities is required"},
    {"consume bad header extension kind",
     msg("consume", R"({"rtpCapabilities":{"headerExtensions":[{"kind":"x","uri":"u",)"
                    R"("preferredId":1}]}})"),
     e_field, "rtpCapabilities.headerExtensions[0].kind must be"},
    {"consume producerId empty", msg("consume", R"({"producerId":"","rtpCapabilities":{}})"),
     e_field, "producerId must be a string of 1-64 bytes"},
    {"consume-media", msg("consume-media", R"({"rtpCapabilities":)" + caps + "}"), ok, ""},
    {"consume-media needs rtpCapabilities", R"({"type":"consume-media"})", e_missing,
     "rtpCapabilities is required"},
    // ---- producer and consumer operations ----
    {"resume-consumer", msg("resume-consumer", R"({"roomId":"r","consumerId":"c1"})"), ok, ""},
    {"resume-consumer needs consumerId", msg("resume-consumer", R"({"roomId":"r"})"), e_missing,
     "consumerId is required"},
    {"pause-consumer", msg("pause-consumer", R"({"consumerId":"c1"})"), ok, ""},
    {"pause-consumer consumerId 65 bytes",
     msg("pause-consumer", R"({"consumerId":")" + id65 + "\"}"), e_field,
     "consumerId must be a string of 1-64 bytes"},
    {"get-consumer-stats", msg("get-consumer-stats", R"({"consumerId":"c1"})"), ok, ""},
    {"set-consumer-preferred-layers", msg("set-consumer-preferred-layers", R"({"consumerId":"c1","spatialLayer":2,"temporalLayer":1})"), ok, ""},
    {"set-consumer-preferred-layers without temporalLayer", msg("set-consumer-preferred-layers", R"({"consumerId":"c1","spatialLayer":0})"), ok, ""},
    {"set-consumer-preferred-layers needs spatialLayer", msg("set-consumer-preferred-layers", R"({"consumerId":"c1"})"), e_missing,
     "spatialLayer is required"},
    {"set-consumer-preferred-layers spatialLayer 4", msg("set-consumer-preferred-layers", R"({"consumerId":"c1","spatialLayer":4})"), e_field,
     "spatialLayer"},
    {"set-consumer-preferred-layers temporalLayer as a string", msg("set-consumer-preferred-layers", R"({"consumerId":"c1","spatialLayer":1,"temporalLayer":"2"})"), e_field,
     "temporalLayer"},
    {"set-consumer-priority", msg("set-consumer-priority", R"({"consumerId":"c1","priority":255})"), ok, ""},
    {"set-consumer-priority 0", msg("set-consumer-priority", R"({"consumerId":"c1","priority":0})"), e_field, "priority"},
    {"request-consumer-keyframe", msg("request-consumer-keyframe", R"({"consumerId":"c1"})"), ok, ""},
    {"set-transport-egress-cap", msg("set-transport-egress-cap", R"({"transportId":"t1","bitrate":300000})"), ok, ""},
    {"set-transport-egress-cap needs bitrate", msg("set-transport-egress-cap", R"({"transportId":"t1"})"), e_missing,
     "bitrate is required"},
    {"set-transport-egress-cap negative", msg("set-transport-egress-cap", R"({"transportId":"t1","bitrate":-1})"), e_field, "bitrate"},
    {"unpauseConsumer", msg("unpauseConsumer", R"({"consumerId":"c1"})"), ok, ""},
    {"unpauseConsumer without consumerId (seed 000: the consumers awaiting a resume)",
     R"({"type":"unpauseConsumer"})", ok, ""},
    {"resume-consumer needs consumerId", R"({"type":"resume-consumer"})", e_missing,
     "consumerId is required"},
    {"pause-producer", msg("pause-producer", R"({"producerId":"p1"})"), ok, ""},
    {"pause-producer needs producerId", R"({"type":"pause-producer"})", e_missing,
     "producerId is required"},
    {"resume-producer", msg("resume-producer", R"({"producerId":"p1"})"), ok, ""},
    {"close-producer", msg("close-producer", R"({"producerId":"p1"})"), ok, ""},
    {"close-producer producerId object", msg("close-producer", R"({"producerId":{}})"), e_field,
     "producerId must be a string of 1-64 bytes"},
    {"get-producer-stats", msg("get-producer-stats", R"({"producerId":"p1"})"), ok, ""},
  };
}

} // namespace

TEST_CASE("json dialect: decode table") {
  const auto table = cases();
  CHECK(table.size() >= 60);
  for (const auto& c : table) {
    INFO("case: " << std::string(c.name));
    auto r = decode(c.input);
    if (!c.code) {
      CHECK_MESSAGE(r.ok, to_string(r.error.code) << ": " << r.error.message);
      continue;
    }
    REQUIRE_FALSE(r.ok);
    CHECK(to_string(r.error.code) == to_string(*c.code));
    CHECK_MESSAGE(r.error.message.find(c.fragment) != std::string::npos, r.error.message);
  }
}

TEST_CASE("json dialect: requestId is kept as compact JSON and echoed by errors") {
  SUBCASE("string") {
    auto r = decode(R"({"type":"get-rtp-capabilities","requestId":"abc"})");
    REQUIRE(r.ok);
    CHECK(r.req.meta.has_request_id);
    CHECK(r.req.meta.request_id == R"("abc")");
  }
  SUBCASE("string with escapes") {
    auto r = decode(R"({"type":"get-rtp-capabilities","requestId":"a\"b\u00e9"})");
    REQUIRE(r.ok);
    CHECK(r.req.meta.request_id == "\"a\\\"b\xc3\xa9\"");
  }
  SUBCASE("integer") {
    auto r = decode(R"({"type":"get-rtp-capabilities","requestId":7})");
    REQUIRE(r.ok);
    CHECK(r.req.meta.request_id == "7");
  }
  SUBCASE("negative and fractional numbers") {
    CHECK(decode(R"({"type":"produce-x","requestId":-12})").meta.request_id == "-12");
    CHECK(decode(R"({"type":"produce-x","requestId":1.5})").meta.request_id == "1.5");
  }
  SUBCASE("absent") {
    auto r = decode(R"({"type":"get-rtp-capabilities"})");
    REQUIRE(r.ok);
    CHECK_FALSE(r.req.meta.has_request_id);
  }
  SUBCASE("errors carry the type and requestId that could be read") {
    auto r = decode(R"({"type":"fly","requestId":9})");
    REQUIRE_FALSE(r.ok);
    CHECK(r.meta.type == "fly");
    CHECK(r.meta.has_request_id);
    CHECK(r.meta.request_id == "9");
    auto bad_field = decode(R"({"type":"restart-ice","requestId":"x","data":{}})");
    CHECK(bad_field.meta.type == "restart-ice");
    CHECK(bad_field.meta.request_id == R"("x")");
    CHECK(bad_field.meta.style == request_style::seed004);
  }
  SUBCASE("an unreadable requestId is not echoed, the type still is") {
    auto r = decode(R"({"type":"produce","requestId":{"n":1}})");
    REQUIRE_FALSE(r.ok);
    CHECK(r.error.code == error_code::invalid_message);
    CHECK_FALSE(r.meta.has_request_id);
    CHECK(r.meta.type == "produce");
  }
  SUBCASE("malformed JSON has neither") {
    auto r = decode(R"({"type":"produce","requestId":7)");
    REQUIRE_FALSE(r.ok);
    CHECK(r.meta.type.empty());
    CHECK_FALSE(r.meta.has_request_id);
  }
}

TEST_CASE("json dialect: decoded requests carry their values and style") {
  SUBCASE("names and styles") {
    struct style_case {
      const char* input;
      request_style style;
    };
    const style_case styles[] = {
      {R"({"type":"get-rtp-capabilities"})", request_style::seed001},
      {R"({"type":"create-transport"})", request_style::seed001},
      {R"({"type":"getRouterRtpCapabilities"})", request_style::seed004},
      {R"({"type":"create-consumer-transport"})", request_style::seed004},
      {R"({"type":"close-producer","data":{"producerId":"p"}})", request_style::seed004},
    };
    for (const auto& s : styles) {
      INFO(std::string(s.input));
      auto r = decode(s.input);
      REQUIRE(r.ok);
      CHECK(r.req.meta.style == s.style);
      CHECK(r.req.meta.type == std::string(s.input).substr(9, r.req.meta.type.size()));
    }
  }
  SUBCASE("join-mediasoup-room") {
    auto r = decode(msg("join-mediasoup-room",
                        R"({"roomId":"r1","name":"Ann","rtpCapabilities":)" + caps + "}"));
    REQUIRE(r.ok);
    const auto& j = std::get<join_room_request>(r.req.body);
    CHECK(j.room_id == "r1");
    CHECK(j.name == "Ann");
    CHECK(j.has_rtp_capabilities);
    CHECK(j.rtp_capabilities.codecs.size() == 5);
    CHECK(j.rtp_capabilities.header_extensions.size() == 6);
    auto bare = decode(R"({"type":"join-mediasoup-room"})");
    CHECK_FALSE(std::get<join_room_request>(bare.req.body).has_rtp_capabilities);
  }
  SUBCASE("create-transport directions") {
    auto direction = [](const std::string& text) {
      auto r = decode(text);
      REQUIRE(r.ok);
      return std::get<create_transport_request>(r.req.body).direction;
    };
    CHECK(direction(R"({"type":"create-transport"})") == transport_direction::unspecified);
    CHECK(direction(msg("create-transport", R"({"direction":"send"})")) ==
          transport_direction::send);
    CHECK(direction(msg("create-webrtc-transport", R"({"direction":"recv"})")) ==
          transport_direction::recv);
    CHECK(direction(R"({"type":"create-consumer-transport"})") == transport_direction::recv);
    CHECK(direction(msg("create-consumer-transport", R"({"direction":"send"})")) ==
          transport_direction::recv);
  }
  SUBCASE("connect-transport") {
    auto r =
      decode(msg("connectTransport", R"({"transportId":"t1","dtlsParameters":)" + dtls + "}"));
    REQUIRE(r.ok);
    const auto& c = std::get<connect_transport_request>(r.req.body);
    CHECK(c.transport_id == "t1");
    CHECK(c.dtls_parameters.role == net::dtls_role::client);
    REQUIRE(c.dtls_parameters.fingerprints.size() == 1);
    CHECK(c.dtls_parameters.fingerprints[0].value == fp256);
  }
  SUBCASE("restart-ice and get-transport-stats") {
    auto r = decode(msg("restart-ice", R"({"transportId":"t1","roomId":"r"})"));
    REQUIRE(r.ok);
    CHECK(std::get<restart_ice_request>(r.req.body).transport_id == "t1");
    CHECK(std::get<restart_ice_request>(r.req.body).room_id == "r");
    auto s = decode(msg("get-transport-stats", R"({"transportId":"t2"})"));
    REQUIRE(s.ok);
    CHECK(std::get<get_transport_stats_request>(s.req.body).transport_id == "t2");
  }
  SUBCASE("produce") {
    auto r = decode(msg("produce", R"({"transportId":"t1","kind":"video","paused":true,)"
                                   R"("appData":{"share": true, "n": [1, 2]},"rtpParameters":)" +
                                     video + "}"));
    REQUIRE(r.ok);
    const auto& p = std::get<produce_request>(r.req.body);
    CHECK(p.transport_id == "t1");
    CHECK(p.kind == rtp::media_kind::video);
    CHECK(p.paused);
    CHECK(p.app_data == R"({"share":true,"n":[1,2]})");
    REQUIRE(p.rtp_parameters.codecs.size() == 2);
    CHECK(p.rtp_parameters.codecs[0].payload_type == 96);
    CHECK(p.rtp_parameters.codecs[1].payload_type == 97);
    CHECK(p.rtp_parameters.header_extensions.size() == 8);
    REQUIRE(p.rtp_parameters.encodings.size() == 1);
    CHECK(p.rtp_parameters.encodings[0].ssrc == 3765408254u);
    CHECK(p.rtp_parameters.encodings[0].rtx_ssrc == 859808516u);
    auto a = decode(msg("produce", R"({"kind":"audio","rtpParameters":)" + audio + "}"));
    REQUIRE(a.ok);
    const auto& pa = std::get<produce_request>(a.req.body);
    CHECK(pa.app_data.empty());
    CHECK_FALSE(pa.paused);
    CHECK(pa.transport_id.empty());
    CHECK(pa.rtp_parameters.codecs[0].payload_type == 111);
  }
  SUBCASE("consume and consume-media") {
    auto r = decode(msg("consume", R"({"producerId":"p1","rtpCapabilities":)" + caps + "}"));
    REQUIRE(r.ok);
    const auto& c = std::get<consume_request>(r.req.body);
    CHECK(c.producer_id == "p1");
    CHECK(c.paused); // consumers start paused unless the client says otherwise
    CHECK(c.rtp_capabilities.codecs[0].preferred_payload_type == 100);
    auto m = decode(msg("consume-media", R"({"paused":false,"rtpCapabilities":)" + caps + "}"));
    REQUIRE(m.ok);
    CHECK_FALSE(std::get<consume_request>(m.req.body).paused);
    CHECK(std::get<consume_request>(m.req.body).producer_id.empty());
  }
  SUBCASE("producer operations") {
    struct op_case {
      const char* type;
      producer_op op;
    };
    for (const auto& c : {op_case{"pause-producer", producer_op::pause},
                          op_case{"resume-producer", producer_op::resume},
                          op_case{"close-producer", producer_op::close},
                          op_case{"get-producer-stats", producer_op::get_stats}}) {
      auto r = decode(msg(c.type, R"({"producerId":"p9"})"));
      REQUIRE(r.ok);
      CHECK(std::get<producer_request>(r.req.body).op == c.op);
      CHECK(std::get<producer_request>(r.req.body).producer_id == "p9");
    }
  }
  SUBCASE("consumer operations") {
    struct op_case {
      const char* type;
      consumer_op op;
    };
    for (const auto& c : {op_case{"pause-consumer", consumer_op::pause},
                          op_case{"resume-consumer", consumer_op::resume},
                          op_case{"unpauseConsumer", consumer_op::resume},
                          op_case{"get-consumer-stats", consumer_op::get_stats},
                          op_case{"request-consumer-keyframe", consumer_op::request_keyframe}}) {
      auto r = decode(msg(c.type, R"({"consumerId":"c9"})"));
      REQUIRE(r.ok);
      CHECK(std::get<consumer_request>(r.req.body).op == c.op);
      CHECK(std::get<consumer_request>(r.req.body).consumer_id == "c9");
    }
    auto layers = decode(msg("set-consumer-preferred-layers", R"({"consumerId":"c9","spatialLayer":1})"));
    REQUIRE(layers.ok);
    const auto& l = std::get<consumer_request>(layers.req.body);
    CHECK(l.op == consumer_op::set_preferred_layers);
    CHECK(l.spatial_layer == 1);
    CHECK(l.temporal_layer == -1); // absent: the highest
    auto prio = decode(msg("set-consumer-priority", R"({"consumerId":"c9","priority":7})"));
    REQUIRE(prio.ok);
    CHECK(std::get<consumer_request>(prio.req.body).priority == 7);
    auto cap = decode(msg("set-transport-egress-cap", R"({"transportId":"t9","bitrate":300000})"));
    REQUIRE(cap.ok);
    CHECK(std::get<set_egress_cap_request>(cap.req.body).bitrate == 300000);
    CHECK(std::get<set_egress_cap_request>(cap.req.body).transport_id == "t9");
  }
  SUBCASE("inject-fault: target, id (not for the session), how") {
    auto f = decode(msg("inject-fault", R"({"target":"consumer","id":"c3"})"));
    REQUIRE(f.ok);
    CHECK(std::get<inject_fault_request>(f.req.body).target == fault_target::consumer);
    CHECK(std::get<inject_fault_request>(f.req.body).id == "c3");
    CHECK_FALSE(std::get<inject_fault_request>(f.req.body).exit);
    auto s = decode(msg("inject-fault", R"({"target":"session","how":"exit"})"));
    REQUIRE(s.ok);
    CHECK(std::get<inject_fault_request>(s.req.body).target == fault_target::session);
    CHECK(std::get<inject_fault_request>(s.req.body).exit);
    CHECK_FALSE(decode(msg("inject-fault", R"({"target":"producer"})")).ok);   // no id
    CHECK_FALSE(decode(msg("inject-fault", R"({"target":"room","id":"x"})")).ok);
    CHECK_FALSE(decode(msg("inject-fault", R"({"target":"consumer","id":"c3","how":"abort"})")).ok);
  }
}

TEST_CASE("json dialect: truncations and byte flips of real messages never crash") {
  const std::string messages[] = {
    msg("produce", R"({"kind":"video","appData":{"a":[1,{"b":null}]},"rtpParameters":)" + video +
                     "}"),
    msg("consume", R"({"producerId":"p1","rtpCapabilities":)" + caps + "}"),
    msg("connect-transport", R"({"dtlsParameters":)" + dtls + "}") + R"(,"requestId":"r")",
  };
  const char replacements[] = {'\0', '"', '{', '}', '[', ']', ':', ',', '\\', '9', '-', 'e',
                               '\xff', '\xc3', ' ', 'n'};
  uint32_t rng = 12345; // a fixed LCG: the same inputs on every run
  std::size_t decoded = 0;
  for (const auto& m : messages) {
    for (std::size_t len = 0; len <= m.size(); ++len) {
      auto r = decode(m.substr(0, len));
      CHECK((r.ok || !r.error.message.empty()));
      ++decoded;
    }
    for (int i = 0; i < 2000; ++i) {
      std::string mutated = m;
      rng = rng * 1664525u + 1013904223u;
      const std::size_t pos = (rng >> 8) % mutated.size();
      mutated[pos] = replacements[(rng >> 4) % sizeof replacements];
      auto r = decode(mutated);
      CHECK((r.ok || !r.error.message.empty()));
      ++decoded;
    }
  }
  CHECK(decoded > 6000);
}

// The per-request parsing is shared with other dialects (Socket.IO hands over the event
// name and its first argument): it must work on a bare `data` value.
TEST_CASE("request parser: usable without the JSON envelope") {
  CHECK(is_request_type("consume-media"));
  CHECK(is_request_type("get-rtp-capabilities"));
  CHECK_FALSE(is_request_type("rtp-capabilities")); // a reply type, not a request
  CHECK_FALSE(is_request_type("error"));

  rapidjson::Document data;
  data.Parse(R"({"roomId":"r1","direction":"send"})");
  auto r = parse_request("create-webrtc-transport", &data);
  REQUIRE(r.ok);
  CHECK(r.style == request_style::seed004);
  CHECK(std::get<create_transport_request>(r.body).room_id == "r1");

  auto none = parse_request("get-rtp-capabilities", nullptr);
  CHECK(none.ok);
  CHECK(none.style == request_style::seed001);
  auto missing = parse_request("restart-ice", nullptr);
  CHECK_FALSE(missing.ok);
  CHECK(missing.error.code == error_code::missing_field);
  rapidjson::Document not_object;
  not_object.Parse("[1]");
  auto wrong = parse_request("pause-producer", &not_object);
  CHECK(wrong.error.code == error_code::missing_field);
  auto unknown = parse_request("fly", nullptr);
  CHECK(unknown.error.code == error_code::unknown_type);
}
