// Recording's pure parts (protocol/recording.hpp, recording_segment.hpp): containers, the SDP
// an ffmpeg child reads, file-name parts, times, the manifest and its segments; and the plain
// RTP / recording requests.
#include "protocol/recording.hpp"
#include "protocol/recording_segment.hpp"
#include "protocol/request_parser.hpp"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <optional>
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
  CHECK(container_for("video/AV1")->ivf_input); // no AV1 RTP reader in FFmpeg 5.1
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

// A recording started at 1795375204000 on node-a: a video track with a closed segment and
// one open when the manifest was last written (updatedAtMs), 6 s in.
recording_manifest earlier_part() {
  recording_manifest m;
  m.recording_id = "r1";
  m.room_id = "lecture";
  m.started_by = "teacher";
  m.started_at_ms = 1795375204000;
  m.updated_at_ms = 1795375210000;
  manifest_track t;
  t.producer_id = "p1";
  t.peer_id = "alice";
  t.name = "Alice";
  t.kind = "video";
  t.source = "webcam";
  t.codec = "video/VP8";
  t.node = "node-c";
  t.segments.push_back({"a.webm", 120, 2000, "ffmpeg-exited", 137, true});
  t.segments.push_back({"b.webm", 2500, 3000, "", 0, true}); // open: ends 5500 ms in
  m.tracks.push_back(t);
  m.errors.push_back("x: y");
  return m;
}

} // namespace

TEST_CASE("manifest_from_json: what manifest_json writes reads back; anything else is refused") {
  auto m = earlier_part();
  m.gaps.push_back({1000, 1500, "node-b", "home-changed"});
  m.gaps.push_back({-1, 9000, "node-c", "home-changed"});
  for (bool pretty : {false, true}) {
    CAPTURE(pretty);
    auto back = manifest_from_json(manifest_json(m, pretty));
    REQUIRE(back);
    CHECK(manifest_json(*back, false) == manifest_json(m, false));
  }
  struct bad_case {
    const char* name;
    const char* json;
  };
  const bad_case bad[] = {
    {"not JSON", "{"},
    {"not an object", "[1]"},
    {"another version", R"({"version":"2","recordingId":"r","startedAtMs":5})"},
    {"no recording id", R"({"version":"1","startedAtMs":5})"},
    {"no start", R"({"version":"1","recordingId":"r"})"},
    {"a track that is not an object", R"({"version":"1","recordingId":"r","startedAtMs":5,"tracks":[1]})"},
  };
  for (auto& c : bad) {
    CAPTURE(c.name);
    CHECK_FALSE(manifest_from_json(c.json));
  }
}

TEST_CASE("settle_segment: a segment holds media only when a packet reached its child and "
          "the file it left is there and not empty") {
  constexpr int64_t started = 1795375200000; // the recording's start (Unix ms)
  struct settle_case {
    const char* name;
    int64_t first_media_ms; // 0: no packet reached the child
    int64_t end_ms;
    std::optional<uint64_t> file_bytes;
    bool expect_media;
    int64_t expect_offset_ms;
    int64_t expect_duration_ms;
  };
  const settle_case cases[] = {
    {"recorded 4 s, 2 s in", started + 2000, started + 6000, 48213, true, 2000, 4000},
    // Stopped while ffmpeg still analysed its input: packets went in, no file came out.
    {"packets but no file", started + 2000, started + 2300, std::nullopt, false, 0, 0},
    {"packets but an empty file", started + 2000, started + 2300, 0, false, 0, 0},
    // No packet ever reached the child (the producer sent nothing): nothing is expected.
    {"no packet, no file", 0, started + 9000, std::nullopt, false, 0, 0},
    // ffmpeg may write a container header with no packet in it: nothing to list.
    {"no packet, a file", 0, started + 9000, 512, false, 0, 0},
    // A clock stepped back between the first packet and the end: never a negative length.
    {"end before the first packet", started + 2000, started + 1500, 48213, true, 2000, 0},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    manifest_segment seg;
    seg.file = "alice-webcam-1.webm";
    seg.has_media = true; // as refreshed while the child ran
    seg.start_offset_ms = 1;
    seg.duration_ms = 1;
    settle_segment(seg, started, c.first_media_ms, c.end_ms, c.file_bytes);
    CHECK(seg.has_media == c.expect_media);
    CHECK(seg.start_offset_ms == c.expect_offset_ms);
    CHECK(seg.duration_ms == c.expect_duration_ms);
    CHECK(seg.file == "alice-webcam-1.webm");
  }
}

TEST_CASE("drop_unwritten: a missing or empty file leaves a segment without media; a "
          "written one keeps its numbers") {
  struct drop_case {
    const char* name;
    std::optional<uint64_t> file_bytes;
    bool expect_media;
  };
  const drop_case cases[] = {
    {"written", 1, true},
    {"missing", std::nullopt, false},
    {"empty", 0, false},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    manifest_segment seg;
    seg.file = "bob-mic-1.webm";
    seg.has_media = true; // as a lost home last wrote it
    seg.start_offset_ms = 2000;
    seg.duration_ms = 3500;
    seg.ended = "home-lost";
    drop_unwritten(seg, c.file_bytes);
    CHECK(seg.has_media == c.expect_media);
    CHECK(seg.start_offset_ms == (c.expect_media ? 2000 : 0));
    CHECK(seg.duration_ms == (c.expect_media ? 3500 : 0));
    CHECK(seg.ended == "home-lost");
  }
}

TEST_CASE("resume_manifest: a lost home's open segments end home-lost; the gap runs from the "
          "last moment the part accounts for; a moved part from its stop; parts that overlap "
          "leave a seam, never a gap that ends before it starts") {
  struct resume_case {
    const char* name;
    int64_t stopped_at_ms;
    int64_t updated_at_ms;
    int64_t resumed_at_ms;
    int64_t expect_from_ms; // from the recording's start
    int64_t expect_to_ms;
    const char* expect_open_ended;
  };
  const resume_case cases[] = {
    // The open segment ends 5500 ms in; the last write was 6000 ms in: the later one.
    {"lost, written after its last media", 0, 1795375210000, 1795375213000, 6000, 9000, "home-lost"},
    // Written before the open segment's numbers reach: the segment's end.
    {"lost, last written early", 0, 1795375208000, 1795375213000, 5500, 9000, "home-lost"},
    // Moved: the former home stopped its part (its segments closed "room-closed").
    {"moved", 1795375211000, 1795375211000, 1795375213000, 7000, 9000, ""},
    // Moved, the new home's part started 23 ms before the former home stopped its own.
    {"moved, the parts overlap", 1795375213023, 1795375213023, 1795375213000, 9023, 9023, ""},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    auto m = earlier_part();
    m.stopped_at_ms = c.stopped_at_ms;
    m.updated_at_ms = c.updated_at_ms;
    auto r = resume_manifest(m, c.resumed_at_ms, "node-a");
    CHECK(r.stopped_at_ms == 0);
    REQUIRE(r.gaps.size() == 1);
    CHECK(r.gaps[0].from_ms == c.expect_from_ms);
    CHECK(r.gaps[0].to_ms == c.expect_to_ms);
    CHECK(r.gaps[0].node == "node-a");
    CHECK(r.tracks[0].segments[0].ended == "ffmpeg-exited");
    CHECK(r.tracks[0].segments[1].ended == c.expect_open_ended);
  }
}

TEST_CASE("join_manifests: a producer's new segments follow its earlier ones; a new producer "
          "is a new track; the index map says where each went") {
  auto joined = resume_manifest(earlier_part(), 1795375213000, "node-a");
  recording_manifest later;
  later.recording_id = "r1";
  manifest_track bob;
  bob.producer_id = "p2";
  bob.segments.push_back({"bob.webm", 9100, 1000, "", 0, true});
  manifest_track alice = earlier_part().tracks[0];
  alice.node = "node-b";
  alice.segments = {{"c.webm", 9200, 800, "", 0, true}};
  later.tracks = {bob, alice};
  later.errors.push_back("z: w");
  std::vector<std::size_t> map;
  auto r = join_manifests(joined, later, map);
  REQUIRE(r.tracks.size() == 2);
  CHECK(map == std::vector<std::size_t>{1, 0});
  REQUIRE(r.tracks[0].segments.size() == 3);
  CHECK(r.tracks[0].segments[2].file == "c.webm");
  CHECK(r.tracks[0].node == "node-b");
  CHECK(r.tracks[1].producer_id == "p2");
  CHECK(r.errors == std::vector<std::string>{"x: y", "z: w"});
  CHECK(r.gaps.size() == 1);
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
