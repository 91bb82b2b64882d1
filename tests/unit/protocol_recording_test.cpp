// Recording's pure parts (protocol/recording.hpp): containers, the SDP an ffmpeg child
// reads, file-name parts, times, the manifest; and the plain RTP / recording requests.
#include "protocol/recording.hpp"
#include "protocol/request_parser.hpp"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <string>

using namespace chorus;
using namespace chorus::protocol;

TEST_CASE("container_for: copy without transcoding") {
  struct row {
    const char* name;
    const char* mime;
    const char* ext;
  };
  for (auto r : {row{"opus", "audio/opus", "webm"}, row{"VP8", "video/VP8", "webm"},
                 row{"vp8 lower case", "video/vp8", "webm"}, row{"H264", "video/H264", "mkv"},
                 row{"AV1", "video/AV1", "mkv"}}) {
    CAPTURE(r.name);
    auto c = container_for(r.mime);
    REQUIRE(c);
    CHECK(c->extension == r.ext);
  }
  // FFmpeg 5.1's VP9 RTP input is experimental: Chorus writes it IVF instead.
  REQUIRE(container_for("video/VP9"));
  CHECK(container_for("video/VP9")->extension == "webm");
  CHECK(container_for("video/VP9")->ivf_input);
  CHECK_FALSE(container_for("video/VP8")->ivf_input);
  CHECK_FALSE(container_for("video/rtx"));
  CHECK_FALSE(container_for("audio/PCMU"));
  CHECK_FALSE(container_for(""));
}

TEST_CASE("recording_sdp: Opus with channels and fmtp; VP8; IPv6") {
  rtp::codec_parameters opus;
  opus.mime_type = "audio/opus";
  opus.payload_type = 100;
  opus.clock_rate = 48000;
  opus.channels = 2;
  opus.parameters = {{"minptime", "10", true}, {"useinbandfec", "1", true}};
  CHECK(recording_sdp(rtp::media_kind::audio, opus, "127.0.0.1", 50000) ==
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=chorus recording\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 50000 RTP/AVP 100\r\na=rtpmap:100 opus/48000/2\r\n"
        "a=fmtp:100 minptime=10;useinbandfec=1\r\na=recvonly\r\n");
  rtp::codec_parameters vp8;
  vp8.mime_type = "video/VP8";
  vp8.payload_type = 101;
  vp8.clock_rate = 90000;
  auto v = recording_sdp(rtp::media_kind::video, vp8, "::1", 40002);
  CHECK(v.find("c=IN IP6 ::1\r\n") != std::string::npos);
  CHECK(v.find("m=video 40002 RTP/AVP 101\r\na=rtpmap:101 VP8/90000\r\na=recvonly") !=
        std::string::npos);
  CHECK(v.find("fmtp") == std::string::npos);
}

TEST_CASE("file_part: safe names") {
  CHECK(file_part("alice") == "alice");
  CHECK(file_part("Ms T. (maths)") == "Ms_T.__maths_");
  CHECK(file_part("../etc/passwd") == "_._etc_passwd");
  CHECK(file_part("") == "unnamed");
  CHECK(file_part("élève") == "__l__ve"); // UTF-8 bytes replaced one by one
  CHECK(file_part(std::string(100, 'a')).size() == 48);
}

TEST_CASE("times: compact and ISO UTC, millisecond and epoch edges") {
  CHECK(compact_utc(0) == "19700101T000000.000Z");
  CHECK(iso_utc(1795375204123) == "2026-11-22T19:20:04.123Z");
  CHECK(compact_utc(1795375204123) == "20261122T192004.123Z");
}

TEST_CASE("manifest_json: tracks, segments, gaps, errors; compact and pretty parse alike") {
  recording_manifest m;
  m.recording_id = "r1";
  m.room_id = "lecture";
  m.started_by = "teacher";
  m.started_at_ms = 1795375204000;
  m.stopped_at_ms = 1795375214000;
  manifest_track t;
  t.producer_id = "p1";
  t.peer_id = "alice";
  t.name = "Alice \"A\"";
  t.kind = "video";
  t.source = "webcam";
  t.codec = "video/VP8";
  t.segments.push_back({"a.webm", 120, 4000, "ffmpeg-exited", 137, true});
  t.segments.push_back({"b.webm", 5200, 4800, "stopped", 0, true});
  m.tracks.push_back(t);
  m.errors.push_back("x: y");
  for (bool pretty : {false, true}) {
    CAPTURE(pretty);
    rapidjson::Document d;
    auto text = manifest_json(m, pretty);
    d.Parse(text.c_str());
    REQUIRE_FALSE(d.HasParseError());
    CHECK(std::string(d["recordingId"].GetString()) == "r1");
    CHECK(d["durationMs"].GetInt64() == 10000);
    CHECK(std::string(d["stoppedAt"].GetString()) == "2026-11-22T19:20:14.000Z");
    auto& segs = d["tracks"][0]["segments"];
    REQUIRE(segs.Size() == 2);
    CHECK(segs[0]["startOffsetMs"].GetInt64() == 120);
    CHECK(segs[0]["exitStatus"].GetInt() == 137);
    CHECK_FALSE(segs[1].HasMember("exitStatus"));
    CHECK(std::string(d["tracks"][0]["name"].GetString()) == "Alice \"A\"");
    CHECK(d["errors"].Size() == 1);
  }
  recording_manifest running = m;
  running.stopped_at_ms = 0;
  rapidjson::Document d;
  d.Parse(manifest_json(running, false).c_str());
  CHECK_FALSE(d.HasMember("durationMs"));
}

namespace {
request_parse_result parse(const char* type, const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  return parse_request(type, &d);
}
} // namespace

TEST_CASE("create-plain-transport / connect-plain-transport / start-recording parse") {
  auto c = parse("create-plain-transport",
                 R"({"listenIp":{"ip":"127.0.0.1","announcedIp":"x"},"rtcpMux":false,"comedia":true,"enableSrtp":true,"srtpCryptoSuite":"AEAD_AES_128_GCM"})");
  REQUIRE(c.ok);
  auto& pc = std::get<plain_transport_request>(c.body);
  CHECK(pc.op == plain_op::create);
  CHECK(pc.listen_ip == "127.0.0.1");
  CHECK_FALSE(pc.rtcp_mux);
  CHECK(pc.comedia);
  CHECK(pc.enable_srtp);
  CHECK(pc.srtp_crypto_suite == "AEAD_AES_128_GCM");
  auto d = parse("create-plain-transport", "{}");
  REQUIRE(d.ok);
  CHECK(std::get<plain_transport_request>(d.body).rtcp_mux);
  CHECK_FALSE(parse("create-plain-transport", R"({"rtcpMux":1})").ok);

  auto k = parse("connect-plain-transport",
                 R"({"transportId":"t","ip":"127.0.0.1","port":5004,"rtcpPort":5005,"srtpParameters":{"cryptoSuite":"AES_CM_128_HMAC_SHA1_80","keyBase64":"QUJD"}})");
  REQUIRE(k.ok);
  auto& pk = std::get<plain_transport_request>(k.body);
  CHECK(pk.op == plain_op::connect);
  CHECK(pk.port == 5004);
  CHECK(pk.rtcp_port == 5005);
  CHECK(pk.has_srtp_parameters);
  CHECK(pk.srtp_key_base64 == "QUJD");
  struct bad {
    const char* name;
    const char* json;
    error_code code;
  };
  for (auto b : {bad{"no transportId", R"({"ip":"1.2.3.4","port":1})", error_code::missing_field},
                 bad{"port 0", R"({"transportId":"t","port":0})", error_code::invalid_field},
                 bad{"port 65536", R"({"transportId":"t","port":65536})", error_code::invalid_field},
                 bad{"srtp without key", R"({"transportId":"t","srtpParameters":{"cryptoSuite":"x"}})",
                     error_code::missing_field},
                 bad{"srtp not an object", R"({"transportId":"t","srtpParameters":3})",
                     error_code::invalid_field}}) {
    CAPTURE(b.name);
    auto r = parse("connect-plain-transport", b.json);
    CHECK_FALSE(r.ok);
    CHECK(r.error.code == b.code);
  }
  auto s = parse("start-recording", R"({"roomId":"r"})");
  REQUIRE(s.ok);
  CHECK(std::get<recording_request>(s.body).start);
  CHECK(std::get<recording_request>(s.body).room_id == "r");
  auto e = parse("stop-recording", "{}");
  REQUIRE(e.ok);
  CHECK_FALSE(std::get<recording_request>(e.body).start);
}
