// protocol/live_layout and protocol/live_stream: what a room's live stream shows (the
// speaker view, a screen share large), the RTMP targets it takes, the composer's SDP and
// FFmpeg command; live-stream / stop-live-stream as parsed, and their events as written.
#include "protocol/live_layout.hpp"
#include "protocol/live_stream.hpp"
#include "protocol/request_parser.hpp"

#include <doctest/doctest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace chorus::protocol;

namespace {

stage_producer cam(std::string id, std::string peer, uint64_t order) {
  return {std::move(id), std::move(peer), true, false, false, true, order};
}
stage_producer screen(std::string id, std::string peer, uint64_t order) {
  return {std::move(id), std::move(peer), true, true, false, true, order};
}
stage_producer mic(std::string id, std::string peer, uint64_t order) {
  return {std::move(id), std::move(peer), false, false, false, true, order};
}

bool has(const std::vector<std::string>& args, const std::string& a) {
  return std::find(args.begin(), args.end(), a) != args.end();
}
std::string after(const std::vector<std::string>& args, const std::string& a) {
  auto it = std::find(args.begin(), args.end(), a);
  return it != args.end() && it + 1 != args.end() ? *(it + 1) : std::string("(none)");
}

} // namespace

TEST_CASE("live layout: the speaker view, table") {
  struct row {
    const char* name;
    std::vector<stage_producer> stage;
    std::string speaker;
    live_layout before;
    std::string main, pip;
  };
  auto paused = [](stage_producer p) {
    p.paused = true;
    return p;
  };
  auto unreadable = [](stage_producer p) {
    p.readable = false;
    return p;
  };
  const std::vector<row> rows = {
    {"nobody on stage", {}, "", {}, "", ""},
    {"one camera, nobody spoke", {cam("c1", "t", 1), mic("m1", "t", 2)}, "", {}, "c1", ""},
    {"the oldest camera before anyone spoke", {cam("c2", "s", 5), cam("c1", "t", 1)}, "", {}, "c1", ""},
    {"the speaker's camera", {cam("c1", "t", 1), cam("c2", "s", 2)}, "s", {}, "c2", ""},
    {"a speaker without a camera: the one shown before stays",
     {cam("c1", "t", 1), cam("c2", "s", 2)}, "x", {"c2", "", {}}, "c2", ""},
    {"a screen share large, the speaker in the corner",
     {cam("c1", "t", 1), screen("s1", "t", 3), cam("c2", "s", 2)}, "s", {}, "s1", "c2"},
    {"the newest screen share", {screen("s1", "a", 1), screen("s2", "b", 4)}, "", {}, "s2", ""},
    {"a paused camera is left out", {paused(cam("c1", "t", 1)), cam("c2", "s", 2)}, "t", {}, "c2", ""},
    {"a paused screen share: back to the camera",
     {cam("c1", "t", 1), paused(screen("s1", "t", 3))}, "t", {}, "c1", ""},
    {"a codec the composer cannot read is left out",
     {unreadable(cam("c1", "t", 1)), cam("c2", "s", 2)}, "t", {}, "c2", ""},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    auto got = choose_live_layout(r.stage, r.speaker, r.before, 4);
    CHECK(got.main == r.main);
    CHECK(got.pip == r.pip);
    CHECK(got.audio.size() == 4);
  }
}

TEST_CASE("live layout: microphones keep their slots; the speaker's comes first when there are more than slots") {
  std::vector<stage_producer> stage = {mic("m1", "a", 1), mic("m2", "b", 2), mic("m3", "c", 3)};
  auto first = choose_live_layout(stage, "", {}, 2);
  CHECK(first.audio == std::vector<std::string>{"m1", "m2"});
  // c speaks: it takes the slot of the one that is no longer chosen; m1 keeps its slot.
  stage.push_back(mic("m4", "d", 4));
  auto next = choose_live_layout(stage, "c", first, 2);
  CHECK(next.audio[0] == "m1");
  CHECK(next.audio[1] == "m3");
  // m1 leaves: its slot goes to the next in line, m3 stays where it was.
  stage.erase(stage.begin());
  auto after_leave = choose_live_layout(stage, "c", next, 2);
  CHECK(after_leave.audio[1] == "m3");
  CHECK(after_leave.audio[0] == "m2");
  // Fewer microphones than slots: the rest silent.
  auto few = choose_live_layout({mic("m1", "a", 1)}, "", {}, 4);
  CHECK(few.audio == std::vector<std::string>{"m1", "", "", ""});
}

TEST_CASE("live stream: RTMP targets checked, table") {
  struct row {
    const char* url;
    bool ok;
    const char* why;
  };
  const std::vector<row> rows = {
    {"rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl", true, ""},
    {"rtmps://live-api-s.facebook.com:443/rtmp/FB-123", true, ""},
    {"rtmp://127.0.0.1:1935/live/key", true, ""},
    {"http://example.com/live/key", false, "rtmp://"},
    {"file:///etc/passwd", false, "rtmp://"},
    {"rtmp://", false, "rtmp://"},
    {"rtmp:///live/key", false, "host"},
    {"rtmp://user:pw@host/live/key", false, "host"},
    {"rtmp://host", false, "application"},
    {"rtmp://host/", false, "application"},
    {"rtmp://host/live/key with space", false, "space"},
    {"rtmp://host/live/key\n-f", false, "control"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.url);
    auto got = check_live_url(r.url);
    CHECK(got.ok() == r.ok);
    if (!r.ok && !got.ok())
      CHECK(got.error().find(r.why) != std::string::npos);
  }
  CHECK_FALSE(check_live_url("rtmp://h/" + std::string(2100, 'k')).ok());
}

TEST_CASE("live stream: the stream key is not in what events and logs show") {
  CHECK(redact_live_url("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl") ==
        "rtmp://a.rtmp.youtube.com/live2/...");
  CHECK(redact_live_url("rtmps://host:443/app/key/more") == "rtmps://host:443/app/...");
  CHECK(redact_live_url("rtmp://host/app") == "rtmp://host/app");
}

TEST_CASE("live stream: the composer's inputs: main and pip in VP8 and H264, then four Opus") {
  std::vector<uint16_t> ports;
  for (uint16_t p = 40000; p < 40016; p += 2)
    ports.push_back(p);
  const auto sdp = live_inputs_sdp(ports);
  CHECK(sdp.find("m=video 40000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000") != std::string::npos);
  CHECK(sdp.find("m=video 40002 RTP/AVP 102\r\na=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1") !=
        std::string::npos);
  CHECK(sdp.find("m=video 40004 RTP/AVP 96") != std::string::npos);
  CHECK(sdp.find("m=video 40006 RTP/AVP 102") != std::string::npos);
  for (uint16_t p = 40008; p < 40016; p += 2)
    CHECK(sdp.find("m=audio " + std::to_string(p) + " RTP/AVP 111\r\na=rtpmap:111 opus/48000/2") !=
          std::string::npos);
  CHECK(live_input_at(1).h264);
  CHECK_FALSE(live_input_at(2).h264);
  CHECK_FALSE(live_input_at(4).video);
}

TEST_CASE("live stream: the FFmpeg command for RTMP and for HLS") {
  live_encoding enc;
  enc.video_kbps = 3000;
  auto rtmp = live_ffmpeg_args("/d/inputs.sdp", "rtmp://h/app/key", "", enc);
  CHECK(after(rtmp, "-i") == "/d/inputs.sdp");
  CHECK(after(rtmp, "-c:v") == "libx264");
  CHECK(after(rtmp, "-b:v") == "3000k");
  CHECK(after(rtmp, "-g") == "60");
  CHECK(after(rtmp, "-c:a") == "aac");
  CHECK(after(rtmp, "-f") == "lavfi"); // the canvas
  CHECK(rtmp.back() == "rtmp://h/app/key");
  CHECK(rtmp[rtmp.size() - 4] == "flv");
  const auto graph = after(rtmp, "-filter_complex");
  CHECK(graph.find("amix=inputs=4") != std::string::npos);
  for (const char* in : {"[0:0]", "[0:1]", "[0:2]", "[0:3]", "[0:4]", "[0:7]"})
    CHECK(graph.find(in) != std::string::npos);
  CHECK_FALSE(has(rtmp, "hls"));

  auto hls = live_ffmpeg_args("/d/inputs.sdp", "", "/d", enc);
  CHECK(hls.back() == "/d/index.m3u8");
  CHECK(after(hls, "-hls_segment_filename") == "/d/segment_%05d.ts");
  CHECK(after(hls, "-hls_list_size") == "0");
  CHECK(after(hls, "-hls_playlist_type") == "event");
  CHECK(after(hls, "-hls_flags") == "independent_segments");
  enc.continuing = true;
  CHECK(after(live_ffmpeg_args("/d/inputs.sdp", "", "/d", enc), "-hls_flags") ==
        "independent_segments+append_list+discont_start");
  enc.continuing = false;
  enc.hls_list_size = 6;
  auto sliding = live_ffmpeg_args("/d/inputs.sdp", "", "/d", enc);
  CHECK(after(sliding, "-hls_flags").find("delete_segments") != std::string::npos);
  CHECK_FALSE(has(sliding, "-hls_playlist_type"));
}

TEST_CASE("live-stream / stop-live-stream parse, and what they refuse") {
  auto parse = [](const char* type, const char* json) {
    rapidjson::Document d;
    d.Parse(json);
    return parse_request(type, &d);
  };
  auto rtmp = parse("live-stream", R"({"url":"rtmp://h/app/key"})");
  REQUIRE_MESSAGE(rtmp.ok, rtmp.error.message);
  const auto& r = std::get<live_stream_request>(rtmp.body);
  CHECK(r.start);
  CHECK(r.url == "rtmp://h/app/key");
  CHECK_FALSE(r.hls);
  auto hls = parse("live-stream", R"({"hls":true,"roomId":"r"})");
  REQUIRE(hls.ok);
  CHECK(std::get<live_stream_request>(hls.body).hls);
  CHECK(std::get<live_stream_request>(hls.body).room_id == "r");
  auto stop = parse("stop-live-stream", "{}");
  REQUIRE(stop.ok);
  CHECK_FALSE(std::get<live_stream_request>(stop.body).start);
  struct bad {
    const char* data;
    const char* says;
  };
  for (const auto& b : std::vector<bad>{{"{}", "either url"},
                                        {R"({"url":"rtmp://h/a/k","hls":true})", "either url"},
                                        {R"({"url":"file:///tmp/x"})", "rtmp://"},
                                        {R"({"hls":"yes"})", "hls"},
                                        {R"({"url":5})", "url"}}) {
    CAPTURE(b.data);
    auto got = parse("live-stream", b.data);
    REQUIRE_FALSE(got.ok);
    CHECK(got.error.code == error_code::invalid_field);
    CHECK(got.error.message.find(b.says) != std::string::npos);
  }
}
