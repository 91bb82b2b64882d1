// protocol/rtp_json: mediasoup-shaped JSON <-> rtp/ and net/ structs.
#include "protocol/rtp_json.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus;
using namespace chorus::protocol;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  REQUIRE_MESSAGE(!doc.HasParseError(), "test fixture is not JSON: " << text);
  return doc;
}

template <class T>
std::string render(const T& value) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  write_json(w, value);
  return std::string(buf.GetString(), buf.GetSize());
}

// What Chromium (via mediasoup-client's Chrome111 handler) sends for a microphone:
// its own payload type 111 and header extension ids (mid 9, abs-send-time 2, ...).
const std::string chromium_audio = R"({
  "mid": "0",
  "codecs": [{
    "mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2,
    "parameters": {"minptime": 10, "useinbandfec": 1, "sprop-stereo": 0},
    "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}, {"type": "nack", "parameter": ""}]
  }],
  "headerExtensions": [
    {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 9, "encrypt": false, "parameters": {}},
    {"uri": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", "id": 2,
     "encrypt": false, "parameters": {}},
    {"uri": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
     "id": 4, "encrypt": false, "parameters": {}},
    {"uri": "urn:ietf:params:rtp-hdrext:ssrc-audio-level", "id": 14, "encrypt": false,
     "parameters": {}}
  ],
  "encodings": [{"ssrc": 2747425101, "dtx": false}],
  "rtcp": {"cname": "x8Hz3qJf0vYb6Tg1", "reducedSize": true}
})";

// Chromium's camera with VP8 96 / rtx 97 and three simulcast layers.
const std::string chromium_video = R"({
  "mid": "1",
  "codecs": [
    {"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
     "parameters": {},
     "rtcpFeedback": [{"type": "goog-remb", "parameter": ""},
                      {"type": "transport-cc", "parameter": ""},
                      {"type": "ccm", "parameter": "fir"},
                      {"type": "nack", "parameter": ""},
                      {"type": "nack", "parameter": "pli"}]},
    {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000,
     "parameters": {"apt": 96}, "rtcpFeedback": []}
  ],
  "headerExtensions": [
    {"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 9, "encrypt": false, "parameters": {}},
    {"uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 10, "encrypt": false,
     "parameters": {}},
    {"uri": "urn:3gpp:video-orientation", "id": 13, "encrypt": false, "parameters": {}}
  ],
  "encodings": [
    {"active": true, "ssrc": 1111, "rtx": {"ssrc": 2222}, "scalabilityMode": "L1T3",
     "maxBitrate": 100000, "scaleResolutionDownBy": 4, "rid": "r0"},
    {"active": true, "ssrc": 3333, "rtx": {"ssrc": 4444}, "scalabilityMode": "L1T3",
     "maxBitrate": 300000, "scaleResolutionDownBy": 2.5, "rid": "r1"},
    {"active": true, "ssrc": 5555, "rtx": {"ssrc": 6666}, "scalabilityMode": "L1T3",
     "maxBitrate": 900000, "scaleResolutionDownBy": 1, "rid": "r2", "dtx": true,
     "codecPayloadType": 96}
  ],
  "rtcp": {"cname": "x8Hz3qJf0vYb6Tg1", "reducedSize": false}
})";

const std::string fp256 =
  "E5:DF:8B:7E:AB:23:70:C4:5E:74:9A:B2:73:1A:F0:2C:6C:5B:E8:4E:3C:F6:3F:96:5F:55:3F:7D:1B:"
  "94:E1:1C";

std::string dtls_json(const std::string& role, const std::string& algorithm,
                      const std::string& value) {
  return R"({"role":")" + role + R"(","fingerprints":[{"algorithm":")" + algorithm +
         R"(","value":")" + value + R"("}]})";
}

} // namespace

TEST_CASE("rtpParameters: Chromium audio parses and renders canonically") {
  auto doc = parse(chromium_audio);
  auto params = parse_rtp_parameters(doc, "rtpParameters");
  REQUIRE_MESSAGE(params.ok(), params.error());
  CHECK(params->mid == "0");
  REQUIRE(params->codecs.size() == 1);
  const auto& opus = params->codecs[0];
  CHECK(opus.mime_type == "audio/opus");
  CHECK(opus.payload_type == 111);
  CHECK(opus.clock_rate == 48000);
  CHECK(opus.channels == 2);
  CHECK(opus.parameters ==
        rtp::codec_params{{"minptime", "10", true}, {"useinbandfec", "1", true},
                          {"sprop-stereo", "0", true}});
  REQUIRE(params->header_extensions.size() == 4);
  CHECK(params->header_extensions[0].id == 9);
  CHECK(params->header_extensions[3].id == 14);
  REQUIRE(params->encodings.size() == 1);
  CHECK(params->encodings[0].ssrc == 2747425101u);
  CHECK(params->rtcp.cname == "x8Hz3qJf0vYb6Tg1");
  CHECK(params->rtcp.reduced_size);

  CHECK(render(*params) ==
        R"({"mid":"0","codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,)"
        R"("channels":2,"parameters":{"minptime":10,"useinbandfec":1,"sprop-stereo":0},)"
        R"("rtcpFeedback":[{"type":"transport-cc","parameter":""},{"type":"nack",)"
        R"("parameter":""}]}],)"
        R"("headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":9,)"
        R"("encrypt":false,"parameters":{}},)"
        R"({"uri":"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time","id":2,)"
        R"("encrypt":false,"parameters":{}},)"
        R"({"uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",)"
        R"("id":4,"encrypt":false,"parameters":{}},)"
        R"({"uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-level","id":14,"encrypt":false,)"
        R"("parameters":{}}],)"
        R"("encodings":[{"ssrc":2747425101}],"rtcp":{"cname":"x8Hz3qJf0vYb6Tg1",)"
        R"("reducedSize":true}})");
}

TEST_CASE("rtpParameters: round trips (parse -> render -> parse)") {
  for (const auto* fixture : {&chromium_audio, &chromium_video}) {
    auto first = parse_rtp_parameters(parse(*fixture), "rtpParameters");
    REQUIRE_MESSAGE(first.ok(), first.error());
    const auto text = render(*first);
    auto second = parse_rtp_parameters(parse(text), "rtpParameters");
    REQUIRE_MESSAGE(second.ok(), second.error());
    CHECK(*second == *first);
    CHECK(render(*second) == text);
  }
}

TEST_CASE("rtpParameters: Chromium video with simulcast and rtx") {
  auto params = parse_rtp_parameters(parse(chromium_video), "rtpParameters");
  REQUIRE_MESSAGE(params.ok(), params.error());
  REQUIRE(params->codecs.size() == 2);
  CHECK(params->codecs[1].parameters == rtp::codec_params{{"apt", "96", true}});
  CHECK(params->codecs[0].channels == 0);
  REQUIRE(params->encodings.size() == 3);
  const auto& e0 = params->encodings[0];
  CHECK(e0.ssrc == 1111);
  CHECK(e0.rtx_ssrc == 2222);
  CHECK(e0.rid == "r0");
  CHECK(e0.scalability_mode == "L1T3");
  CHECK(e0.max_bitrate == 100000);
  CHECK(e0.scale_resolution_down_by == 4.0);
  CHECK(e0.codec_payload_type == -1);
  CHECK_FALSE(e0.dtx);
  CHECK(params->encodings[1].scale_resolution_down_by == 2.5);
  CHECK(params->encodings[2].dtx);
  CHECK(params->encodings[2].codec_payload_type == 96);
  CHECK_FALSE(params->rtcp.reduced_size);
  CHECK(render(params->encodings.size() ? *params : *params).find(
          R"({"ssrc":5555,"rid":"r2","codecPayloadType":96,"rtx":{"ssrc":6666},"dtx":true,)"
          R"("scalabilityMode":"L1T3","maxBitrate":900000,"scaleResolutionDownBy":1.0})") !=
        std::string::npos);
}

TEST_CASE("rtpParameters: minimal object gets defaults, absent fields are omitted") {
  auto params = parse_rtp_parameters(parse(R"({"codecs":[]})"), "p");
  REQUIRE_MESSAGE(params.ok(), params.error());
  CHECK(params->mid.empty());
  CHECK(params->rtcp.reduced_size);
  CHECK(render(*params) ==
        R"({"codecs":[],"headerExtensions":[],"encodings":[],"rtcp":{"reducedSize":true}})");
}

TEST_CASE("rtpParameters: parameter values keep their JSON type") {
  auto params = parse_rtp_parameters(
    parse(R"({"codecs":[{"mimeType":"video/H264","payloadType":102,"clockRate":90000,)"
          R"("parameters":{"profile-level-id":"42e01f","packetization-mode":1,)"
          R"("x-google-start-bitrate":1.5,"big":-9007199254740993,"empty":""}}]})"),
    "p");
  REQUIRE_MESSAGE(params.ok(), params.error());
  CHECK(params->codecs[0].parameters ==
        rtp::codec_params{{"profile-level-id", "42e01f", false},
                          {"packetization-mode", "1", true},
                          {"x-google-start-bitrate", "1.5", true},
                          {"big", "-9007199254740993", true},
                          {"empty", "", false}});
  CHECK(render(*params).find(
          R"("parameters":{"profile-level-id":"42e01f","packetization-mode":1,)"
          R"("x-google-start-bitrate":1.5,"big":-9007199254740993,"empty":""})") !=
        std::string::npos);
}

TEST_CASE("rtpParameters: a hand-built non-numeric 'numeric' parameter still renders JSON") {
  rtp::rtp_parameters p;
  rtp::codec_parameters c;
  c.mime_type = "video/VP8";
  c.payload_type = 96;
  c.clock_rate = 90000;
  c.parameters = {{"x", "not-a-number", true}};
  p.codecs.push_back(c);
  CHECK(render(p).find(R"("parameters":{"x":"not-a-number"})") != std::string::npos);
}

TEST_CASE("rtpParameters: validation errors name the path") {
  struct error_case {
    const char* name;
    std::string input;
    const char* message;
  };
  const std::string opus_head = R"({"codecs":[{"mimeType":"audio/opus","clockRate":48000,)";
  const std::string many_codecs = [] {
    std::string s = R"({"codecs":[)";
    for (int i = 0; i < 65; ++i)
      s += std::string(i ? "," : "") +
           R"({"mimeType":"audio/opus","payloadType":100,"clockRate":48000})";
    return s + "]}";
  }();
  const error_case cases[] = {
    {"not an object", "[]", "rtpParameters must be an object"},
    {"codecs missing", "{}", "rtpParameters.codecs is required"},
    {"codecs null", R"({"codecs":null})", "rtpParameters.codecs is required"},
    {"codecs not an array", R"({"codecs":{}})",
     "rtpParameters.codecs must be an array of at most 64 entries"},
    {"too many codecs", many_codecs,
     "rtpParameters.codecs must be an array of at most 64 entries"},
    {"codec not an object", R"({"codecs":[1]})", "rtpParameters.codecs[0] must be an object"},
    {"payloadType missing", R"({"codecs":[{"mimeType":"audio/opus","clockRate":48000}]})",
     "rtpParameters.codecs[0].payloadType is required"},
    {"payloadType 128", opus_head + R"("payloadType":128}]})",
     "rtpParameters.codecs[0].payloadType must be an integer 0-127"},
    {"payloadType negative", opus_head + R"("payloadType":-1}]})",
     "rtpParameters.codecs[0].payloadType must be an integer 0-127"},
    {"payloadType string", opus_head + R"("payloadType":"111"}]})",
     "rtpParameters.codecs[0].payloadType must be an integer 0-127"},
    {"payloadType fraction", opus_head + R"("payloadType":1.5}]})",
     "rtpParameters.codecs[0].payloadType must be an integer 0-127"},
    {"mimeType missing", R"({"codecs":[{"payloadType":100,"clockRate":48000}]})",
     "rtpParameters.codecs[0].mimeType is required"},
    {"mimeType without type",
     R"({"codecs":[{"mimeType":"opus","payloadType":100,"clockRate":48000}]})",
     "rtpParameters.codecs[0].mimeType must look like"},
    {"mimeType of text",
     R"({"codecs":[{"mimeType":"text/plain","payloadType":100,"clockRate":1}]})",
     "rtpParameters.codecs[0].mimeType must look like"},
    {"mimeType too long",
     R"({"codecs":[{"mimeType":"audio/)" + std::string(300, 'x') +
       R"(","payloadType":100,"clockRate":1}]})",
     "rtpParameters.codecs[0].mimeType must be a string of 1-256 bytes"},
    {"clockRate missing", R"({"codecs":[{"mimeType":"audio/opus","payloadType":100}]})",
     "rtpParameters.codecs[0].clockRate is required"},
    {"clockRate zero", R"({"codecs":[{"mimeType":"audio/opus","payloadType":100,"clockRate":0}]})",
     "rtpParameters.codecs[0].clockRate must be an integer 1-4294967295"},
    {"channels zero", opus_head + R"("payloadType":100,"channels":0}]})",
     "rtpParameters.codecs[0].channels must be an integer 1-255"},
    {"apt as string", R"({"codecs":[{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,)"
                      R"("parameters":{"apt":"96"}}]})",
     "rtpParameters.codecs[0].parameters.apt must be an integer 0-127"},
    {"parameter value boolean", opus_head + R"("payloadType":100,"parameters":{"stereo":true}}]})",
     "rtpParameters.codecs[0].parameters.stereo must be a string or a number"},
    {"parameter value object", opus_head + R"("payloadType":100,"parameters":{"x":{}}}]})",
     "rtpParameters.codecs[0].parameters.x must be a string or a number"},
    {"parameters not an object", opus_head + R"("payloadType":100,"parameters":[]}]})",
     "rtpParameters.codecs[0].parameters must be an object"},
    {"rtcpFeedback type missing",
     opus_head + R"("payloadType":100,"rtcpFeedback":[{"parameter":"pli"}]}]})",
     "rtpParameters.codecs[0].rtcpFeedback[0].type is required"},
    {"rtcpFeedback parameter number",
     opus_head + R"("payloadType":100,"rtcpFeedback":[{"type":"nack","parameter":1}]}]})",
     "rtpParameters.codecs[0].rtcpFeedback[0].parameter must be a string"},
    {"header extension id 0",
     R"({"codecs":[],"headerExtensions":[{"uri":"urn:x","id":0}]})",
     "rtpParameters.headerExtensions[0].id must be an integer 1-255"},
    {"header extension uri missing", R"({"codecs":[],"headerExtensions":[{"id":1}]})",
     "rtpParameters.headerExtensions[0].uri is required"},
    {"header extension encrypt string",
     R"({"codecs":[],"headerExtensions":[{"uri":"urn:x","id":1,"encrypt":"no"}]})",
     "rtpParameters.headerExtensions[0].encrypt must be a boolean"},
    {"encoding ssrc string", R"({"codecs":[],"encodings":[{"ssrc":"1"}]})",
     "rtpParameters.encodings[0].ssrc must be an integer 1-4294967295"},
    {"encoding ssrc too big", R"({"codecs":[],"encodings":[{"ssrc":4294967296}]})",
     "rtpParameters.encodings[0].ssrc must be an integer 1-4294967295"},
    {"encoding rtx without ssrc", R"({"codecs":[],"encodings":[{"ssrc":1,"rtx":{}}]})",
     "rtpParameters.encodings[0].rtx.ssrc is required"},
    {"encoding rtx not an object", R"({"codecs":[],"encodings":[{"rtx":5}]})",
     "rtpParameters.encodings[0].rtx must be an object"},
    {"encoding rid number", R"({"codecs":[],"encodings":[{"rid":1}]})",
     "rtpParameters.encodings[0].rid must be a string of at most 256 bytes"},
    {"encoding scaleResolutionDownBy below 1",
     R"({"codecs":[],"encodings":[{"scaleResolutionDownBy":0.5}]})",
     "rtpParameters.encodings[0].scaleResolutionDownBy must be a number from 1 to 1024"},
    {"encoding maxBitrate negative", R"({"codecs":[],"encodings":[{"maxBitrate":-5}]})",
     "rtpParameters.encodings[0].maxBitrate must be an integer 1-4294967295"},
    {"encoding dtx string", R"({"codecs":[],"encodings":[{"dtx":"yes"}]})",
     "rtpParameters.encodings[0].dtx must be a boolean"},
    {"rtcp cname number", R"({"codecs":[],"rtcp":{"cname":5}})",
     "rtpParameters.rtcp.cname must be a string of at most 256 bytes"},
    {"rtcp not an object", R"({"codecs":[],"rtcp":"x"})", "rtpParameters.rtcp must be an object"},
    {"mid number", R"({"mid":1,"codecs":[]})",
     "rtpParameters.mid must be a string of at most 256 bytes"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto params = parse_rtp_parameters(parse(c.input), "rtpParameters");
    REQUIRE_FALSE(params.ok());
    CHECK_MESSAGE(params.error().find(c.message) == 0, params.error());
  }
}

TEST_CASE("rtpCapabilities: router capabilities round trip and render like mediasoup") {
  auto caps = rtp::generate_router_capabilities(rtp::default_media_codecs());
  REQUIRE(caps.ok());
  const auto text = to_json(*caps);
  CHECK(text.rfind(
          R"({"codecs":[{"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,)"
          R"("clockRate":48000,"channels":2,"parameters":{},"rtcpFeedback":[{"type":"nack",)"
          R"("parameter":""},{"type":"transport-cc","parameter":""}]},{"kind":"video",)"
          R"("mimeType":"video/VP8","preferredPayloadType":101,"clockRate":90000,)"
          R"("parameters":{},"rtcpFeedback":[{"type":"nack","parameter":""},{"type":"nack",)"
          R"("parameter":"pli"},{"type":"ccm","parameter":"fir"},{"type":"goog-remb",)"
          R"("parameter":""},{"type":"transport-cc","parameter":""}]},{"kind":"video",)"
          R"("mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,)"
          R"("parameters":{"apt":101},"rtcpFeedback":[]},)",
          0) == 0);
  CHECK(text.find(R"({"kind":"video","uri":"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",)"
                  R"("preferredId":2,"preferredEncrypt":false,"direction":"recvonly"})") !=
        std::string::npos);
  auto back = parse_rtp_capabilities(parse(text), "rtpCapabilities");
  REQUIRE_MESSAGE(back.ok(), back.error());
  CHECK(*back == *caps);
}

TEST_CASE("rtpCapabilities: a device's capabilities parse; kind comes from mimeType") {
  // `kind` may be given (it must then agree) or left out; the mimeType decides.
  auto caps = parse_rtp_capabilities(
    parse(R"({"codecs":[{"mimeType":"Video/VP8","kind":"video","preferredPayloadType":101,)"
          R"("clockRate":90000,"channels":2}],"headerExtensions":[{"kind":"video",)"
          R"("uri":"urn:ietf:params:rtp-hdrext:toffset","preferredId":12}]})"),
    "rtpCapabilities");
  REQUIRE_MESSAGE(caps.ok(), caps.error());
  CHECK(caps->codecs[0].kind == rtp::media_kind::video);
  CHECK(caps->codecs[0].channels == 0); // dropped for video, as mediasoup-client does
  CHECK(caps->header_extensions[0].direction == rtp::hdrext_direction::sendrecv);
  CHECK_FALSE(caps->header_extensions[0].preferred_encrypt);
  auto empty = parse_rtp_capabilities(parse("{}"), "rtpCapabilities");
  REQUIRE(empty.ok());
  CHECK(empty->codecs.empty());
}

TEST_CASE("rtpCapabilities: validation errors name the path") {
  struct error_case {
    const char* name;
    const char* input;
    const char* message;
  };
  const error_case cases[] = {
    {"not an object", "3", "rtpCapabilities must be an object"},
    {"codecs not an array", R"({"codecs":"x"})", "rtpCapabilities.codecs must be an array"},
    {"preferredPayloadType missing",
     R"({"codecs":[{"mimeType":"audio/opus","clockRate":48000}]})",
     "rtpCapabilities.codecs[0].preferredPayloadType is required"},
    {"codec kind unknown",
     R"({"codecs":[{"kind":"text","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000}]})",
     "rtpCapabilities.codecs[0].kind must be \"audio\" or \"video\", matching mimeType"},
    {"codec kind contradicts mimeType",
     R"({"codecs":[{"kind":"video","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000}]})",
     "rtpCapabilities.codecs[0].kind must be \"audio\" or \"video\", matching mimeType"},
    {"header extension kind", R"({"headerExtensions":[{"kind":"data","uri":"u","preferredId":1}]})",
     "rtpCapabilities.headerExtensions[0].kind must be \"audio\" or \"video\""},
    {"header extension preferredId missing",
     R"({"headerExtensions":[{"kind":"audio","uri":"u"}]})",
     "rtpCapabilities.headerExtensions[0].preferredId is required"},
    {"header extension direction", R"({"headerExtensions":[{"kind":"audio","uri":"u",)"
                                   R"("preferredId":1,"direction":"both"}]})",
     "rtpCapabilities.headerExtensions[0].direction must be one of"},
    {"preferredEncrypt number", R"({"headerExtensions":[{"kind":"audio","uri":"u",)"
                                R"("preferredId":1,"preferredEncrypt":1}]})",
     "rtpCapabilities.headerExtensions[0].preferredEncrypt must be a boolean"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto caps = parse_rtp_capabilities(parse(c.input), "rtpCapabilities");
    REQUIRE_FALSE(caps.ok());
    CHECK_MESSAGE(caps.error().find(c.message) == 0, caps.error());
  }
}

TEST_CASE("dtlsParameters: parse, normalize and render") {
  auto lower = fp256;
  for (auto& ch : lower)
    ch = static_cast<char>(std::tolower(ch));
  auto dtls = parse_dtls_parameters(parse(dtls_json("client", "SHA-256", lower)), "d");
  REQUIRE_MESSAGE(dtls.ok(), dtls.error());
  CHECK(dtls->role == net::dtls_role::client);
  REQUIRE(dtls->fingerprints.size() == 1);
  CHECK(dtls->fingerprints[0].algorithm == "sha-256");
  CHECK(dtls->fingerprints[0].value == fp256);
  CHECK(render(*dtls) == dtls_json("client", "sha-256", fp256));

  auto no_role = parse_dtls_parameters(
    parse(R"({"fingerprints":[{"algorithm":"sha-1","value":")" + fp256.substr(0, 59) + "\"}]}"),
    "d");
  REQUIRE_MESSAGE(no_role.ok(), no_role.error());
  CHECK(no_role->role == net::dtls_role::auto_);
  CHECK(net::to_string(net::dtls_role::auto_) == "auto");
  CHECK(net::to_string(net::dtls_role::server) == "server");
}

TEST_CASE("dtlsParameters: validation errors") {
  struct error_case {
    const char* name;
    std::string input;
    const char* message;
  };
  const error_case cases[] = {
    {"role", dtls_json("master", "sha-256", fp256),
     R"(dtlsParameters.role must be "auto", "client" or "server")"},
    {"fingerprints missing", R"({"role":"client"})", "dtlsParameters.fingerprints is required"},
    {"fingerprints empty", R"({"fingerprints":[]})",
     "dtlsParameters.fingerprints must have at least one entry"},
    {"algorithm md5", dtls_json("auto", "md5", fp256),
     "dtlsParameters.fingerprints[0].algorithm must be one of sha-1"},
    {"value too short for sha-256", dtls_json("auto", "sha-256", fp256.substr(0, 59)),
     "dtlsParameters.fingerprints[0].value must be 32 hex bytes separated by ':' for sha-256"},
    {"value for sha-512 too short", dtls_json("auto", "sha-512", fp256),
     "dtlsParameters.fingerprints[0].value must be 64 hex bytes"},
    {"value not hex", dtls_json("auto", "sha-256", "ZZ" + fp256.substr(2)),
     "dtlsParameters.fingerprints[0].value must be 32 hex bytes"},
    {"value with dashes", dtls_json("auto", "sha-256", [] {
       auto s = fp256;
       s[2] = '-';
       return s;
     }()),
     "dtlsParameters.fingerprints[0].value must be 32 hex bytes"},
    {"value missing", R"({"fingerprints":[{"algorithm":"sha-256"}]})",
     "dtlsParameters.fingerprints[0].value is required"},
    {"fingerprint not an object", R"({"fingerprints":["x"]})",
     "dtlsParameters.fingerprints[0] must be an object"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto dtls = parse_dtls_parameters(parse(c.input), "dtlsParameters");
    REQUIRE_FALSE(dtls.ok());
    CHECK_MESSAGE(dtls.error().find(c.message) == 0, dtls.error());
  }
}

TEST_CASE("mediaCodecs entries") {
  auto ok = parse_media_codec(
    parse(R"({"kind":"video","mimeType":"video/H264","clockRate":90000,)"
          R"("parameters":{"packetization-mode":1,"profile-level-id":"42e01f"}})"),
    "mediaCodecs[0]");
  REQUIRE_MESSAGE(ok.ok(), ok.error());
  CHECK(ok->kind == rtp::media_kind::video);
  CHECK(ok->parameters.size() == 2);
  auto derived = parse_media_codec(
    parse(R"({"mimeType":"audio/opus","clockRate":48000,"channels":2})"), "mediaCodecs[0]");
  REQUIRE(derived.ok());
  CHECK(derived->kind == rtp::media_kind::audio);
  CHECK(derived->channels == 2);
  auto generated = rtp::generate_router_capabilities({*derived, *ok});
  CHECK_MESSAGE(generated.ok(), generated.error());

  struct error_case {
    const char* name;
    const char* input;
    const char* message;
  };
  const error_case cases[] = {
    {"kind", R"({"kind":"data","mimeType":"audio/opus","clockRate":48000})",
     "mediaCodecs[1].kind must be"},
    {"clockRate missing", R"({"mimeType":"audio/opus"})", "mediaCodecs[1].clockRate is required"},
    {"preferredPayloadType",
     R"({"mimeType":"audio/opus","clockRate":48000,"preferredPayloadType":100})",
     "mediaCodecs[1].preferredPayloadType cannot be configured"},
    {"rtcpFeedback", R"({"mimeType":"audio/opus","clockRate":48000,"rtcpFeedback":[]})",
     "mediaCodecs[1].rtcpFeedback cannot be configured"},
    {"mimeType", R"({"mimeType":"opus","clockRate":48000})",
     "mediaCodecs[1].mimeType must look like"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto codec = parse_media_codec(parse(c.input), "mediaCodecs[1]");
    REQUIRE_FALSE(codec.ok());
    CHECK_MESSAGE(codec.error().find(c.message) == 0, codec.error());
  }
}

TEST_CASE("transport params, ICE and participants render in mediasoup's shape") {
  transport_params tp;
  tp.id = "t1";
  tp.ice_parameters = {"ufrag", "pwd", true};
  tp.ice_candidates.push_back({"udpcandidate", 1076302079, "127.0.0.1", 40000, "udp", "host", ""});
  tp.ice_candidates.push_back(
    {"tcpcandidate", 1076276479, "127.0.0.1", 40001, "tcp", "host", "passive"});
  tp.dtls_parameters = {net::dtls_role::auto_, {{"sha-256", fp256}}};
  CHECK(render(tp) ==
        R"({"id":"t1","iceParameters":{"usernameFragment":"ufrag","password":"pwd",)"
        R"("iceLite":true},)"
        R"("iceCandidates":[{"foundation":"udpcandidate","priority":1076302079,)"
        R"("address":"127.0.0.1",)"
        R"("ip":"127.0.0.1","port":40000,"protocol":"udp","type":"host"},)"
        R"({"foundation":"tcpcandidate",)"
        R"("priority":1076276479,"address":"127.0.0.1","ip":"127.0.0.1","port":40001,)"
        R"("protocol":"tcp",)"
        R"("type":"host","tcpType":"passive"}],"dtlsParameters":{"role":"auto","fingerprints":)"
        R"([{"algorithm":"sha-256","value":")" + fp256 + R"("}]}})");
  // With TURN: iceServers (RTCIceServer's shape) and the policy hint, after the candidates.
  tp.ice_candidates.clear();
  tp.ice_servers.push_back({{"turn:turn.school.example:3478?transport=udp"}, "1700000000:p1",
                            "izFBtBN0tC8mfzbn9GsbjcqtfUw="});
  tp.ice_transport_policy = "relay";
  CHECK(render(tp) ==
        R"({"id":"t1","iceParameters":{"usernameFragment":"ufrag","password":"pwd",)"
        R"("iceLite":true},"iceCandidates":[],)"
        R"("iceServers":[{"urls":["turn:turn.school.example:3478?transport=udp"],)"
        R"("username":"1700000000:p1","credential":"izFBtBN0tC8mfzbn9GsbjcqtfUw="}],)"
        R"("iceTransportPolicy":"relay","dtlsParameters":{"role":"auto","fingerprints":)"
        R"([{"algorithm":"sha-256","value":")" + fp256 + R"("}]}})");
  CHECK(render(participant{"p1", "Ann \"A\"", false, true}) ==
        R"({"id":"p1","name":"Ann \"A\"","isAudioMuted":false,"isVideoPaused":true})");
}
