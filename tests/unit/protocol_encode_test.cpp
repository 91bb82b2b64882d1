// The JSON dialect's encoder: every reply (in both styles), error and event, checked
// against the exact text a client receives.
#include "protocol/dialect.hpp"
#include "protocol_reply_fixtures.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus;
using namespace chorus::protocol;

namespace {

dialect& json() {
  static auto d = make_json_dialect();
  return *d;
}

request_meta meta(std::string type, request_style style, std::string request_id = "") {
  request_meta m;
  m.type = std::move(type);
  m.style = style;
  m.has_request_id = !request_id.empty();
  m.request_id = std::move(request_id);
  return m;
}

const auto s001 = request_style::seed001;
const auto s004 = request_style::seed004;

using test::sample_transport;
using test::sample_transport_json;
const std::string& fp = test::sample_fingerprint;

// The shared consumer with codec parameters, feedback and a header extension as well.
consumer_params_reply sample_consumer() {
  auto c = test::sample_consumer();
  auto& opus = c.rtp_parameters.codecs.at(0);
  opus.parameters = {{"useinbandfec", "1", true}};
  opus.rtcp_feedback = {{"transport-cc", ""}};
  c.rtp_parameters.header_extensions.push_back(
    {"urn:ietf:params:rtp-hdrext:sdes:mid", 1, false, {}});
  c.producer_paused = false;
  return c;
}

const std::string sample_consumer_json =
  R"({"id":"c1","producerId":"p1","kind":"audio","rtpParameters":{"mid":"0","codecs":)"
  R"([{"mimeType":"audio/opus","payloadType":100,"clockRate":48000,"channels":2,)"
  R"("parameters":{"useinbandfec":1},"rtcpFeedback":[{"type":"transport-cc","parameter":""}]}],)"
  R"("headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":1,"encrypt":false,)"
  R"("parameters":{}}],"encodings":[{"ssrc":11111111}],"rtcp":{"cname":"chorus",)"
  R"("reducedSize":true}},"type":"simple","producerPaused":false,"peerId":"alice"})";

struct encode_case {
  const char* name;
  request_meta meta;
  reply_body reply;
  std::string expected;
};

} // namespace

TEST_CASE("json dialect: replies") {
  const encode_case cases[] = {
    // ---- seed 001 names: their own reply types ----
    {"rtp-capabilities (raw JSON embedded)", meta("get-rtp-capabilities", s001, "1"),
     rtp_capabilities_reply{R"({"codecs":[],"headerExtensions":[]})"},
     R"({"type":"rtp-capabilities","data":{"codecs":[],"headerExtensions":[]},"requestId":1})"},
    {"transport-params", meta("create-transport", s001, R"("a")"),
     transport_params_reply{sample_transport()},
     R"({"type":"transport-params","data":)" + sample_transport_json + R"(,"requestId":"a"})"},
    {"transport-connected has no data", meta("connect-transport", s001),
     empty_reply{}, R"({"type":"transport-connected"})"},
    {"transport-connected with requestId", meta("connect-transport", s001, "7"), empty_reply{},
     R"({"type":"transport-connected","requestId":7})"},
    {"producer-id", meta("produce", s001, "8"), producer_id_reply{"p1"},
     R"({"type":"producer-id","data":{"id":"p1"},"requestId":8})"},
    {"consumer-params", meta("consume", s001), sample_consumer(),
     R"({"type":"consumer-params","data":)" + sample_consumer_json + "}"},
    // ---- seed 004 names: own name, seed 004's response object ----
    {"join-mediasoup-room", meta("join-mediasoup-room", s004, "2"),
     join_room_reply{"r1", "alice", {"p1", "p2"}},
     R"({"type":"join-mediasoup-room","data":{"existingProducers":["p1","p2"]},"requestId":2})"},
    {"join-mediasoup-room, empty room", meta("join-mediasoup-room", s004),
     join_room_reply{"r1", "alice", {}},
     R"({"type":"join-mediasoup-room","data":{"existingProducers":[]}})"},
    {"create-webrtc-transport wraps in params", meta("create-webrtc-transport", s004, "3"),
     transport_params_reply{sample_transport()},
     R"({"type":"create-webrtc-transport","data":{"params":)" + sample_transport_json +
       R"(},"requestId":3})"},
    {"restart-ice", meta("restart-ice", s004), restart_ice_reply{{"uf2", "pw2", true}},
     R"({"type":"restart-ice","data":{"iceParameters":{"usernameFragment":"uf2",)"
     R"("password":"pw2","iceLite":true}}})"},
    {"get-transport-stats (raw JSON)", meta("get-transport-stats", s004, "4"),
     stats_reply{R"([{"type":"webrtc-transport","bytesReceived":10}])"},
     R"({"type":"get-transport-stats","data":[{"type":"webrtc-transport","bytesReceived":10}],)"
     R"("requestId":4})"},
    {"get-consumer-stats with empty stats", meta("get-consumer-stats", s004), stats_reply{},
     R"({"type":"get-consumer-stats","data":{}})"},
    {"resume-consumer", meta("resume-consumer", s004, "5"), empty_reply{},
     R"({"type":"resume-consumer","data":{},"requestId":5})"},
    {"pause-consumer", meta("pause-consumer", s004), empty_reply{},
     R"({"type":"pause-consumer","data":{}})"},
    {"pause-producer", meta("pause-producer", s004), empty_reply{},
     R"({"type":"pause-producer","data":{}})"},
    {"resume-producer", meta("resume-producer", s004), empty_reply{},
     R"({"type":"resume-producer","data":{}})"},
    {"close-producer", meta("close-producer", s004), empty_reply{},
     R"({"type":"close-producer","data":{}})"},
    {"get-producer-stats", meta("get-producer-stats", s004), stats_reply{"[]"},
     R"({"type":"get-producer-stats","data":[]})"},
    // ---- seed 000 aliases: seed 004's way ----
    {"getRouterRtpCapabilities wraps in rtpCapabilities", meta("getRouterRtpCapabilities", s004),
     rtp_capabilities_reply{R"({"codecs":[],"headerExtensions":[]})"},
     R"({"type":"getRouterRtpCapabilities","data":{"rtpCapabilities":{"codecs":[],)"
     R"("headerExtensions":[]}}})"},
    {"createWebRtcTransport", meta("createWebRtcTransport", s004),
     transport_params_reply{sample_transport()},
     R"({"type":"createWebRtcTransport","data":{"params":)" + sample_transport_json + "}}"},
    {"create-consumer-transport", meta("create-consumer-transport", s004),
     transport_params_reply{sample_transport()},
     R"({"type":"create-consumer-transport","data":{"params":)" + sample_transport_json + "}}"},
    {"connectTransport", meta("connectTransport", s004), empty_reply{},
     R"({"type":"connectTransport","data":{}})"},
    {"connect-consumer-transport", meta("connect-consumer-transport", s004), empty_reply{},
     R"({"type":"connect-consumer-transport","data":{}})"},
    {"consume-media", meta("consume-media", s004, R"("m1")"), sample_consumer(),
     R"({"type":"consume-media","data":)" + sample_consumer_json + R"(,"requestId":"m1"})"},
    {"unpauseConsumer", meta("unpauseConsumer", s004), empty_reply{},
     R"({"type":"unpauseConsumer","data":{}})"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    CHECK(json().encode_reply(c.meta, c.reply) == c.expected);
  }
}

TEST_CASE("json dialect: consumer-params omits an empty peerId") {
  auto c = sample_consumer();
  c.peer_id.clear();
  c.producer_paused = true;
  const auto text = json().encode_reply(meta("consume", s001), c);
  CHECK(text.find(R"("producerPaused":true})") != std::string::npos);
  CHECK(text.find("peerId") == std::string::npos);
}

TEST_CASE("json dialect: errors") {
  struct error_case {
    const char* name;
    request_meta meta;
    error_code code;
    const char* message;
    std::string expected;
  };
  const error_case cases[] = {
    {"type unknown (null request)", request_meta{}, error_code::malformed_json, "bad",
     R"({"type":"error","data":{"message":"bad","code":"malformed-json","request":null}})"},
    {"with type and requestId", meta("create-transport", s001, "7"),
     error_code::invalid_field, "direction must be \"send\" or \"recv\"",
     R"({"type":"error","data":{"message":"direction must be \"send\" or \"recv\"",)"
     R"("code":"invalid-field","request":"create-transport"},"requestId":7})"},
    {"string requestId", meta("consume", s001, R"("q")"), error_code::cannot_consume, "no",
     R"({"type":"error","data":{"message":"no","code":"cannot-consume","request":"consume"},)"
     R"("requestId":"q"})"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    CHECK(json().encode_error(c.meta, error_info{c.code, c.message}) == c.expected);
  }
}

TEST_CASE("json dialect: every error code has its wire name") {
  struct code_case {
    error_code code;
    const char* wire;
  };
  const code_case codes[] = {
    {error_code::malformed_json, "malformed-json"},
    {error_code::invalid_message, "invalid-message"},
    {error_code::unknown_type, "unknown-type"},
    {error_code::missing_field, "missing-field"},
    {error_code::invalid_field, "invalid-field"},
    {error_code::not_joined, "not-joined"},
    {error_code::already_joined, "already-joined"},
    {error_code::wrong_room, "wrong-room"},
    {error_code::limit_exceeded, "limit-exceeded"},
    {error_code::unknown_transport, "unknown-transport"},
    {error_code::unknown_producer, "unknown-producer"},
    {error_code::unknown_consumer, "unknown-consumer"},
    {error_code::unknown_user, "unknown-user"},
    {error_code::invalid_state, "invalid-state"},
    {error_code::cannot_consume, "cannot-consume"},
    {error_code::nothing_to_consume, "nothing-to-consume"},
    {error_code::unsupported, "unsupported"},
    {error_code::unauthorized, "unauthorized"},
    {error_code::forbidden, "forbidden"},
    {error_code::rate_limited, "rate-limited"},
    {error_code::room_full, "room-full"},
    {error_code::room_locked, "room-locked"},
    {error_code::blocked, "blocked"},
    {error_code::id_taken, "id-taken"},
    {error_code::draining, "draining"},
    {error_code::internal, "internal"},
  };
  for (const auto& c : codes) {
    CHECK(to_string(c.code) == c.wire);
    CHECK(json().encode_error(meta("produce", s001, "1"), {c.code, "m"}) ==
          R"({"type":"error","data":{"message":"m","code":")" + std::string(c.wire) +
            R"(","request":"produce"},"requestId":1})");
  }
}

TEST_CASE("json dialect: decode then encode echoes the requestId verbatim") {
  auto r = json().decode(R"({"type":"produce-x","requestId":"id-\"7\""})");
  REQUIRE_FALSE(r.ok);
  CHECK(json().encode_error(r.meta, r.error) ==
        R"({"type":"error","data":{"message":"unknown request type \"produce-x\"",)"
        R"("code":"unknown-type","request":"produce-x"},"requestId":"id-\"7\""})");
  auto ok = json().decode(R"({"type":"connect-transport","requestId":42,"data":{)"
                          R"("dtlsParameters":{"fingerprints":[{"algorithm":"sha-256","value":")" +
                          fp + R"("}]}}})");
  REQUIRE(ok.ok);
  CHECK(json().encode_reply(ok.req.meta, empty_reply{}) ==
        R"({"type":"transport-connected","requestId":42})");
  auto alias = json().decode(R"({"type":"getRouterRtpCapabilities","requestId":0})");
  REQUIRE(alias.ok);
  CHECK(json().encode_reply(alias.req.meta, rtp_capabilities_reply{"{}"}) ==
        R"({"type":"getRouterRtpCapabilities","data":{"rtpCapabilities":{}},"requestId":0})");
}

TEST_CASE("json dialect: events") {
  struct event_case {
    const char* name;
    event_body event;
    std::string expected;
  };
  const event_case cases[] = {
    {"participant-list-update",
     participant_list_update_event{{{"alice", "Alice", true, false}, {"bob", "bob", false, true}}},
     R"({"type":"participant-list-update","data":[{"id":"alice","name":"Alice",)"
     R"("isAudioMuted":true,"isVideoPaused":false},{"id":"bob","name":"bob",)"
     R"("isAudioMuted":false,"isVideoPaused":true}]})"},
    {"participant-list-update, empty room", participant_list_update_event{},
     R"({"type":"participant-list-update","data":[]})"},
    {"participant-left", participant_left_event{"bob"},
     R"({"type":"participant-left","data":{"peerId":"bob"}})"},
    {"new-producer", new_producer_event{"p1", "alice", rtp::media_kind::video},
     R"({"type":"new-producer","data":{"producerId":"p1","peerId":"alice","kind":"video"}})"},
    {"producer-closed", producer_closed_event{"p1"},
     R"({"type":"producer-closed","data":{"producerId":"p1"}})"},
    {"consumer-closed", consumer_closed_event{"c1", "p1"},
     R"({"type":"consumer-closed","data":{"consumerId":"c1","producerId":"p1"}})"},
    {"consumer-layers-changed", consumer_layers_event{"c1", 2, 1},
     R"({"type":"consumer-layers-changed","data":{"consumerId":"c1","spatialLayer":2,"temporalLayer":1}})"},
    {"consumer-layers-changed, nothing forwarded", consumer_layers_event{"c1", -1, -1},
     R"({"type":"consumer-layers-changed","data":{"consumerId":"c1","spatialLayer":null,"temporalLayer":null}})"},
    {"consumer-score of a simple consumer", consumer_score_event{"c1", 9, -1, {}},
     R"({"type":"consumer-score","data":{"consumerId":"c1","score":9}})"},
    {"consumer-score with the producer's", consumer_score_event{"c1", 10, 8, {10, 8, 0}},
     R"({"type":"consumer-score","data":{"consumerId":"c1","score":10,"producerScore":8,"producerScores":[10,8,0]}})"},
    {"producer-layers-unused", producer_layers_unused_event{"p1", {1, 2}},
     R"({"type":"producer-layers-unused","data":{"producerId":"p1","spatialLayers":[1,2]}})"},
    {"producer-layers-unused, all used again", producer_layers_unused_event{"p1", {}},
     R"({"type":"producer-layers-unused","data":{"producerId":"p1","spatialLayers":[]}})"},
    {"producer-paused", producer_paused_event{"p1", true},
     R"({"type":"producer-paused","data":{"producerId":"p1"}})"},
    {"producer-resumed", producer_paused_event{"p1", false},
     R"({"type":"producer-resumed","data":{"producerId":"p1"}})"},
    {"active-speaker", active_speaker_event{"sock-a", "user_a", "p1"},
     R"({"type":"active-speaker","data":{"peerId":"sock-a","userId":"user_a","producerId":"p1"}})"},
    {"active-speaker, no user id", active_speaker_event{"alice", "", "p1"},
     R"({"type":"active-speaker","data":{"peerId":"alice","userId":"alice","producerId":"p1"}})"},
    {"audio-levels", audio_levels_event{{{"alice", "p1", -12}, {"bob", "p2", -47}}},
     R"({"type":"audio-levels","data":[{"peerId":"alice","producerId":"p1","volume":-12},)"
     R"({"peerId":"bob","producerId":"p2","volume":-47}]})"},
    {"names are escaped", participant_left_event{"a\"b\\c\n"},
     R"({"type":"participant-left","data":{"peerId":"a\"b\\c\n"}})"},
    {"audience-update", audience_update_event{310, 12, 2},
     R"({"type":"audience-update","data":{"count":310,"joined":12,"left":2}})"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    CHECK(json().encode_event(c.event) == c.expected);
  }
}

TEST_CASE("json dialect: name") {
  CHECK(json().name() == "json");
}
