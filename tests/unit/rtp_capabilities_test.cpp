// Router capability generation (mediasoup's ortc.generateRouterRtpCapabilities shape).
#include "rtp/capabilities.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus::rtp;

namespace {

codec_param num(std::string key, int v) {
  return codec_param{std::move(key), std::to_string(v), true};
}

codec_param text(std::string key, std::string v) {
  return codec_param{std::move(key), std::move(v), false};
}

media_codec_config opus() {
  return {media_kind::audio, "audio/opus", 48000, 2, {}};
}

media_codec_config video(std::string mime, codec_params params = {}) {
  return {media_kind::video, std::move(mime), 90000, 0, std::move(params)};
}

media_codec_config h264(std::string profile, int mode = 1) {
  return video("video/H264", {num("packetization-mode", mode),
                              num("level-asymmetry-allowed", 1),
                              text("profile-level-id", std::move(profile))});
}

std::string apt_of(const codec_capability& c) {
  const auto* p = find_param(c.parameters, "apt");
  return p ? p->value : "";
}

} // namespace

TEST_CASE("to_string of kinds and directions") {
  CHECK(to_string(media_kind::audio) == "audio");
  CHECK(to_string(media_kind::video) == "video");
  CHECK(to_string(hdrext_direction::sendrecv) == "sendrecv");
  CHECK(to_string(hdrext_direction::sendonly) == "sendonly");
  CHECK(to_string(hdrext_direction::recvonly) == "recvonly");
  CHECK(to_string(hdrext_direction::inactive) == "inactive");
}

TEST_CASE("find_param") {
  codec_params ps{num("apt", 96), text("profile-level-id", "42e01f")};
  REQUIRE(find_param(ps, "apt") != nullptr);
  CHECK(find_param(ps, "apt")->value == "96");
  CHECK(find_param(ps, "apt")->numeric);
  CHECK_FALSE(find_param(ps, "profile-level-id")->numeric);
  CHECK(find_param(ps, "x") == nullptr);
  CHECK(find_param({}, "apt") == nullptr);
}

TEST_CASE("supported capabilities") {
  const auto& caps = supported_capabilities();
  REQUIRE(caps.codecs.size() == 7);
  CHECK(caps.codecs[0].mime_type == "audio/opus");
  CHECK(caps.codecs[0].channels == 2);
  CHECK(caps.codecs[0].rtcp_feedback ==
        std::vector<rtcp_feedback>{{"nack", ""}, {"transport-cc", ""}});
  const std::vector<rtcp_feedback> video_fb{
    {"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}, {"goog-remb", ""}, {"transport-cc", ""}};
  for (int i = 1; i <= 4; ++i) {
    CHECK(caps.codecs[i].kind == media_kind::video);
    CHECK(caps.codecs[i].clock_rate == 90000);
    CHECK(caps.codecs[i].rtcp_feedback == video_fb);
  }
  CHECK(caps.codecs[4].mime_type == "video/AV1");
  CHECK(caps.codecs[5].mime_type == "video/rtx");
  CHECK(caps.codecs[6].mime_type == "audio/red");
  CHECK(caps.codecs[6].rtcp_feedback.empty());
  for (const auto& c : caps.codecs)
    CHECK(c.preferred_payload_type == -1);

  REQUIRE(caps.header_extensions.size() == 15);
  struct expected_ext {
    media_kind kind;
    const char* uri;
    uint8_t id;
    hdrext_direction dir;
  };
  const auto a = media_kind::audio;
  const auto v = media_kind::video;
  const auto sr = hdrext_direction::sendrecv;
  const auto ro = hdrext_direction::recvonly;
  const expected_ext expected[] = {
    {a, "urn:ietf:params:rtp-hdrext:sdes:mid", 1, sr},
    {v, "urn:ietf:params:rtp-hdrext:sdes:mid", 1, sr},
    {v, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", 2, ro},
    {v, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", 3, ro},
    {a, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4, sr},
    {v, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", 4, sr},
    {a, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 5, ro},
    {v, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", 5, sr},
    {a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 10, sr},
    {v, "urn:3gpp:video-orientation", 11, sr},
    {v, "urn:ietf:params:rtp-hdrext:toffset", 12, sr},
    {a, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 13, sr},
    {v, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", 13, sr},
    {v, "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension", 8, sr},
    {v, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", 6, hdrext_direction::sendonly},
  };
  for (std::size_t i = 0; i < 15; ++i) {
    INFO("header extension " << i);
    const auto& e = caps.header_extensions[i];
    CHECK(e.kind == expected[i].kind);
    CHECK(e.uri == expected[i].uri);
    CHECK(e.preferred_id == expected[i].id);
    CHECK(e.direction == expected[i].dir);
    CHECK_FALSE(e.preferred_encrypt);
  }
}

TEST_CASE("default media codecs") {
  const auto codecs = default_media_codecs();
  REQUIRE(codecs.size() == 7);
  CHECK(codecs[0].mime_type == "audio/opus");
  CHECK(codecs[0].channels == 2);
  CHECK(codecs[1].mime_type == "video/VP8");
  CHECK(codecs[2].mime_type == "video/VP9");
  CHECK(find_param(codecs[2].parameters, "profile-id")->value == "0");
  CHECK(find_param(codecs[3].parameters, "profile-level-id")->value == "42e01f");
  CHECK(find_param(codecs[4].parameters, "profile-level-id")->value == "4d0032");
  CHECK(find_param(codecs[4].parameters, "packetization-mode")->value == "1");
  CHECK(find_param(codecs[4].parameters, "level-asymmetry-allowed")->value == "1");
  CHECK(codecs[5].mime_type == "video/AV1"); // last: a client gets it only when it asks
  CHECK(codecs[5].parameters.empty());
  CHECK(codecs[6].mime_type == "audio/red"); // after every other: payload types stay put
}

TEST_CASE("router capabilities from the default codecs") {
  auto caps = generate_router_capabilities(default_media_codecs());
  REQUIRE_MESSAGE(caps.ok(), caps.error());
  struct expected_codec {
    const char* mime;
    int pt;
    const char* apt;
  };
  const expected_codec expected[] = {
    {"audio/opus", 100, ""}, {"video/VP8", 101, ""},  {"video/rtx", 102, "101"},
    {"video/VP9", 103, ""},  {"video/rtx", 104, "103"}, {"video/H264", 105, ""},
    {"video/rtx", 106, "105"}, {"video/H264", 107, ""}, {"video/rtx", 108, "107"},
    {"video/AV1", 109, ""},    {"video/rtx", 110, "109"}, {"audio/red", 111, ""},
  };
  REQUIRE(caps->codecs.size() == std::size(expected));
  for (std::size_t i = 0; i < std::size(expected); ++i) {
    INFO("codec " << i);
    const auto& c = caps->codecs[i];
    CHECK(c.mime_type == expected[i].mime);
    CHECK(c.preferred_payload_type == expected[i].pt);
    CHECK(apt_of(c) == expected[i].apt);
  }
  SUBCASE("rtx entries: numeric apt, same clock rate, no feedback") {
    const auto& rtx = caps->codecs[2];
    CHECK(rtx.kind == media_kind::video);
    CHECK(rtx.clock_rate == 90000);
    CHECK(rtx.channels == 0);
    CHECK(rtx.rtcp_feedback.empty());
    REQUIRE(rtx.parameters.size() == 1);
    CHECK(rtx.parameters[0].numeric);
  }
  SUBCASE("configured parameters are kept, feedback comes from the supported codec") {
    const auto& h = caps->codecs[7];
    REQUIRE(h.parameters.size() == 3);
    CHECK(h.parameters[0] == num("packetization-mode", 1));
    CHECK(h.parameters[1] == num("level-asymmetry-allowed", 1));
    CHECK(h.parameters[2] == text("profile-level-id", "4d0032"));
    CHECK(h.rtcp_feedback == supported_capabilities().codecs[3].rtcp_feedback);
    CHECK(caps->codecs[0].rtcp_feedback == supported_capabilities().codecs[0].rtcp_feedback);
    CHECK(caps->codecs[0].channels == 2);
  }
  SUBCASE("header extensions are the supported ones") {
    CHECK(caps->header_extensions == supported_capabilities().header_extensions);
  }
}

TEST_CASE("router capabilities: mimeType matches case-insensitively, keeps canonical case") {
  auto caps = generate_router_capabilities(
    {video("video/vp8"), {media_kind::audio, "AUDIO/OPUS", 48000, 2, {}}});
  REQUIRE_MESSAGE(caps.ok(), caps.error());
  CHECK(caps->codecs[0].mime_type == "video/VP8");
  CHECK(caps->codecs[1].mime_type == "video/rtx");
  CHECK(caps->codecs[2].mime_type == "audio/opus");
  CHECK(caps->codecs[2].preferred_payload_type == 102);
}

TEST_CASE("router capabilities: H264 without level-asymmetry-allowed gets the supported one") {
  auto caps = generate_router_capabilities(
    {video("video/H264", {num("packetization-mode", 1), text("profile-level-id", "640032")})});
  REQUIRE_MESSAGE(caps.ok(), caps.error());
  REQUIRE(caps->codecs[0].parameters.size() == 3);
  CHECK(caps->codecs[0].parameters[2] == num("level-asymmetry-allowed", 1));
}

TEST_CASE("router capabilities: payload types run 100-127, then 96-99, then 35-63") {
  std::vector<media_codec_config> codecs;
  // 16 H264 profiles: 32 payload types (100..127 and 96..99).
  const char* profiles[] = {"42e00a", "42e00b", "42e00c", "42e00d", "42e014", "42e015",
                            "42e016", "42e01e", "42e01f", "42e020", "42e028", "42e029",
                            "42e02a", "42e032", "42e033", "42e034"};
  for (const char* p : profiles)
    codecs.push_back(h264(p));
  codecs.push_back(opus());
  auto caps = generate_router_capabilities(codecs);
  REQUIRE_MESSAGE(caps.ok(), caps.error());
  CHECK(caps->codecs[27].preferred_payload_type == 127);
  CHECK(caps->codecs[28].preferred_payload_type == 96);
  CHECK(caps->codecs[31].preferred_payload_type == 99);
  CHECK(caps->codecs[32].preferred_payload_type == 35);
}

TEST_CASE("router capabilities: failures name the codec") {
  struct failure_case {
    const char* name;
    std::vector<media_codec_config> codecs;
    const char* message;
  };
  const failure_case cases[] = {
    {"empty list", {}, "mediaCodecs must name at least one codec"},
    {"unsupported codec", {opus(), video("video/H265")},
     "mediaCodecs[1] (video/H265): codec not supported"},
    {"unsupported audio codec", {{media_kind::audio, "audio/PCMU", 8000, 1, {}}},
     "mediaCodecs[0] (audio/PCMU): codec not supported"},
    {"rtx configured", {video("video/VP8"), video("video/rtx")},
     "mediaCodecs[1] (video/rtx): rtx cannot be configured"},
    {"duplicate opus", {opus(), video("video/VP8"), opus()},
     "mediaCodecs[2] (audio/opus): duplicates mediaCodecs[0]"},
    {"duplicate H264 profile (case differs)", {h264("42e01f"), h264("42E01F")},
     "mediaCodecs[1] (video/H264): duplicates mediaCodecs[0]"},
    {"duplicate VP9 profile 0 (implicit)",
     {video("video/VP9"), video("video/VP9", {num("profile-id", 0)})},
     "mediaCodecs[1] (video/VP9): duplicates mediaCodecs[0]"},
    {"bad H264 profile", {h264("ffffff")},
     "mediaCodecs[0] (video/H264): profile-level-id \"ffffff\" is not a valid H264"},
    {"bad H264 level", {h264("42e0ff")}, "profile-level-id \"42e0ff\" is not a valid"},
    {"H264 profile not hex", {h264("42e0zz")}, "is not a valid H264 profile-level-id"},
    {"H264 profile too short", {h264("42e01")}, "is not a valid H264 profile-level-id"},
    {"H264 without profile-level-id",
     {video("video/H264", {num("packetization-mode", 1)})},
     "mediaCodecs[0] (video/H264): profile-level-id is required"},
    {"H264 packetization-mode 0", {h264("42e01f", 0)},
     "mediaCodecs[0] (video/H264): packetization-mode must be 1"},
    {"H264 packetization-mode absent",
     {video("video/H264", {text("profile-level-id", "42e01f")})},
     "packetization-mode must be 1"},
    {"VP9 profile 7", {video("video/VP9", {num("profile-id", 7)})},
     "mediaCodecs[0] (video/VP9): profile-id must be 0, 1, 2 or 3"},
    {"VP9 profile not a number", {video("video/VP9", {text("profile-id", "high")})},
     "profile-id must be 0, 1, 2 or 3"},
    {"opus at 44100", {{media_kind::audio, "audio/opus", 44100, 2, {}}},
     "mediaCodecs[0] (audio/opus): clockRate must be 48000"},
    {"opus mono", {{media_kind::audio, "audio/opus", 48000, 1, {}}},
     "mediaCodecs[0] (audio/opus): channels must be 2"},
    {"opus without channels (means 1)", {{media_kind::audio, "audio/opus", 48000, 0, {}}},
     "channels must be 2"},
    {"video with channels", {{media_kind::video, "video/VP8", 90000, 2, {}}},
     "channels is only valid for audio codecs"},
    {"kind does not match mimeType", {{media_kind::audio, "video/VP8", 90000, 0, {}}},
     "mediaCodecs[0] (video/VP8): kind audio does not match the mimeType"},
    {"mimeType without subtype", {{media_kind::video, "video/", 90000, 0, {}}},
     "mimeType must look like"},
    {"empty mimeType", {{media_kind::video, "", 90000, 0, {}}}, "mediaCodecs[0] (): mimeType"},
    {"empty parameter name", {video("video/VP8", {text("", "x")})},
     "parameter names must not be empty"},
    {"red without opus", {video("video/VP8"), {media_kind::audio, "audio/red", 48000, 2, {}}},
     "mediaCodecs[1] (audio/red): needs audio/opus in mediaCodecs"},
    {"red mono", {opus(), {media_kind::audio, "audio/red", 48000, 1, {}}},
     "mediaCodecs[1] (audio/red): channels must be 2"},
  };
  for (const auto& c : cases) {
    INFO("case: " << std::string(c.name));
    auto caps = generate_router_capabilities(c.codecs);
    REQUIRE_FALSE(caps.ok());
    CHECK_MESSAGE(caps.error().find(c.message) != std::string::npos, caps.error());
  }
}

TEST_CASE("router capabilities: too many codecs run out of payload types") {
  std::vector<media_codec_config> codecs;
  // Each H264 profile-level-id is distinct; 31 video codecs need 62 payload types (61 exist).
  const char* levels[] = {"0a", "0b", "0c", "0d", "14", "15", "16", "1e", "1f", "20", "28",
                          "29", "2a", "32", "33", "34"};
  for (const char* profile : {"42e0", "4d00"})
    for (const char* level : levels)
      codecs.push_back(h264(std::string(profile) + level));
  auto caps = generate_router_capabilities(codecs);
  REQUIRE_FALSE(caps.ok());
  CHECK(caps.error().find("mediaCodecs[30] (video/H264): no dynamic payload type left") !=
        std::string::npos);
}
