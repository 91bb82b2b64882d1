// ORTC mapping: producer rtpParameters -> mapping and consumable parameters -> consumer
// rtpParameters, against the default router capabilities (mediasoup's ortc rules).
#include "rtp/capabilities.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/ortc.hpp"

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

const std::string uri_mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
const std::string uri_rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
const std::string uri_rrid = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
const std::string uri_abs_send_time = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const std::string uri_twcc =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const std::string uri_audio_level = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const std::string uri_orientation = "urn:3gpp:video-orientation";
const std::string uri_toffset = "urn:ietf:params:rtp-hdrext:toffset";
const std::string uri_playout_delay =
  "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";

codec_param num(std::string key, int v) {
  return codec_param{std::move(key), std::to_string(v), true};
}

codec_param text(std::string key, std::string v) {
  return codec_param{std::move(key), std::move(v), false};
}

codec_parameters codec(std::string mime, uint8_t pt, uint32_t clock_rate, uint16_t channels = 0,
                       codec_params params = {}, std::vector<rtcp_feedback> fb = {}) {
  return codec_parameters{std::move(mime), pt, clock_rate, channels, std::move(params),
                          std::move(fb)};
}

codec_parameters rtx(uint8_t pt, int apt) {
  return codec("video/rtx", pt, 90000, 0, {num("apt", apt)});
}

header_extension_parameters ext(std::string uri, uint8_t id) {
  return header_extension_parameters{std::move(uri), id, false, {}};
}

std::vector<rtcp_feedback> chrome_video_feedback() {
  return {{"goog-remb", ""}, {"transport-cc", ""}, {"ccm", "fir"}, {"nack", ""},
          {"nack", "pli"}};
}

std::vector<rtcp_feedback> router_video_feedback() {
  return {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}, {"goog-remb", ""},
          {"transport-cc", ""}};
}

codec_params h264_params(std::string profile_level_id) {
  return {num("level-asymmetry-allowed", 1), num("packetization-mode", 1),
          text("profile-level-id", std::move(profile_level_id))};
}

const rtp_capabilities& router() {
  static const rtp_capabilities caps = [] {
    auto r = generate_router_capabilities(default_media_codecs());
    REQUIRE(r.ok());
    return r.value();
  }();
  return caps;
}

// What mediasoup-client 3.18 in Chrome sends to produce a microphone: Chrome's payload
// type and extension ids (audio-level 1, abs-send-time 2, transport-cc 3, mid 4).
rtp_parameters chrome_opus_producer() {
  rtp_parameters p;
  p.mid = "0";
  p.codecs = {codec("audio/opus", 111, 48000, 2, {num("minptime", 10), num("useinbandfec", 1)},
                    {{"transport-cc", ""}})};
  p.header_extensions = {ext(uri_audio_level, 1), ext(uri_abs_send_time, 2), ext(uri_twcc, 3),
                         ext(uri_mid, 4)};
  encoding_parameters e;
  e.ssrc = 1111;
  p.encodings = {e};
  p.rtcp.cname = "chrome-cname";
  return p;
}

// A Chrome camera: VP8 96 + rtx 97, Chrome's video extension ids, one of which (playout
// delay) the router does not know.
rtp_parameters chrome_vp8_producer() {
  rtp_parameters p;
  p.mid = "1";
  p.codecs = {codec("video/VP8", 96, 90000, 0, {}, chrome_video_feedback()), rtx(97, 96)};
  p.header_extensions = {ext(uri_toffset, 14),      ext(uri_abs_send_time, 2),
                         ext(uri_orientation, 13),  ext(uri_twcc, 3),
                         ext(uri_playout_delay, 12), ext(uri_mid, 4),
                         ext(uri_rid, 10),          ext(uri_rrid, 11)};
  encoding_parameters e;
  e.ssrc = 2222;
  e.rtx_ssrc = 3333;
  p.encodings = {e};
  p.rtcp.cname = "chrome-cname";
  return p;
}

// An H264 producer with rtx (pt 102 / 103), the given fmtp parameters.
rtp_parameters h264_producer(codec_params params) {
  auto p = chrome_vp8_producer();
  p.codecs = {codec("video/H264", 102, 90000, 0, std::move(params), chrome_video_feedback()),
              rtx(103, 102)};
  return p;
}

codec_capability cap_codec(media_kind kind, std::string mime, int pt, uint32_t clock_rate,
                           uint16_t channels, codec_params params,
                           std::vector<rtcp_feedback> fb) {
  codec_capability c;
  c.kind = kind;
  c.mime_type = std::move(mime);
  c.preferred_payload_type = pt;
  c.clock_rate = clock_rate;
  c.channels = channels;
  c.parameters = std::move(params);
  c.rtcp_feedback = std::move(fb);
  return c;
}

codec_capability cap_rtx(int pt, int apt) {
  return cap_codec(media_kind::video, "video/rtx", pt, 90000, 0, {num("apt", apt)}, {});
}

header_extension_capability cap_ext(media_kind kind, std::string uri, uint8_t id) {
  return header_extension_capability{kind, std::move(uri), id, false, hdrext_direction::sendrecv};
}

// device.rtpCapabilities of mediasoup-client in Chrome against the default router: router
// payload types and ids, Chrome's own parameters and feedback (H264 main at level 3.1).
rtp_capabilities chrome_device_caps() {
  const auto a = media_kind::audio;
  const auto v = media_kind::video;
  rtp_capabilities caps;
  caps.codecs = {
    cap_codec(a, "audio/opus", 100, 48000, 2, {num("minptime", 10), num("useinbandfec", 1)},
              {{"transport-cc", ""}}),
    cap_codec(v, "video/VP8", 101, 90000, 0, {}, chrome_video_feedback()),
    cap_rtx(102, 101),
    cap_codec(v, "video/VP9", 103, 90000, 0, {num("profile-id", 0)}, chrome_video_feedback()),
    cap_rtx(104, 103),
    cap_codec(v, "video/H264", 105, 90000, 0, h264_params("42e01f"), chrome_video_feedback()),
    cap_rtx(106, 105),
    cap_codec(v, "video/H264", 107, 90000, 0, h264_params("4d001f"), chrome_video_feedback()),
    cap_rtx(108, 107),
  };
  caps.header_extensions = {
    cap_ext(a, uri_mid, 1),           cap_ext(v, uri_mid, 1),
    cap_ext(a, uri_abs_send_time, 4), cap_ext(v, uri_abs_send_time, 4),
    cap_ext(v, uri_twcc, 5),          cap_ext(a, uri_audio_level, 10),
    cap_ext(v, uri_orientation, 11),  cap_ext(v, uri_toffset, 12),
  };
  return caps;
}

void remove_caps_ext(rtp_capabilities& caps, const std::string& uri) {
  std::erase_if(caps.header_extensions,
                [&](const header_extension_capability& e) { return e.uri == uri; });
}

rtp_parameters consumable_of(const rtp_parameters& producer, media_kind kind) {
  auto m = map_producer(router(), kind, producer);
  REQUIRE_MESSAGE(m.ok(), m.error());
  return consumable_parameters(router(), producer, *m);
}

consumer_options options() {
  return consumer_options{5000, 5001, "3", "chrome-cname"};
}

rtp_parameters consume(const rtp_parameters& producer, media_kind kind,
                       const rtp_capabilities& caps) {
  auto r = consumer_parameters(consumable_of(producer, kind), caps, options());
  REQUIRE_MESSAGE(r.ok(), r.error());
  return r.value();
}

std::vector<rtcp_feedback> feedback_of(const rtp_parameters& p, std::size_t codec = 0) {
  REQUIRE(p.codecs.size() > codec);
  return p.codecs[codec].rtcp_feedback;
}

std::vector<std::string> ext_uris(const rtp_parameters& p) {
  std::vector<std::string> out;
  for (const auto& e : p.header_extensions)
    out.push_back(e.uri);
  return out;
}

} // namespace

TEST_SUITE_BEGIN("rtp ortc");

TEST_CASE("ortc: the default router capabilities these tests assume") {
  const auto& caps = router();
  struct expected_codec {
    const char* mime;
    int pt;
    int apt; // -1: not rtx
  };
  const expected_codec expected[] = {
    {"audio/opus", 100, -1}, {"video/VP8", 101, -1},  {"video/rtx", 102, 101},
    {"video/VP9", 103, -1},  {"video/rtx", 104, 103}, {"video/H264", 105, -1},
    {"video/rtx", 106, 105}, {"video/H264", 107, -1}, {"video/rtx", 108, 107},
    {"video/AV1", 109, -1},  {"video/rtx", 110, 109}, {"audio/red", 111, -1},
  };
  REQUIRE(caps.codecs.size() == std::size(expected));
  for (std::size_t i = 0; i < caps.codecs.size(); ++i) {
    CAPTURE(i);
    CHECK(caps.codecs[i].mime_type == expected[i].mime);
    CHECK(caps.codecs[i].preferred_payload_type == expected[i].pt);
    if (expected[i].apt >= 0) {
      REQUIRE(find_param(caps.codecs[i].parameters, "apt") != nullptr);
      CHECK(find_param(caps.codecs[i].parameters, "apt")->value ==
            std::to_string(expected[i].apt));
    }
  }
}

// ---- map_producer ---------------------------------------------------------------------------

TEST_CASE("ortc: map_producer maps a Chrome opus producer to router payload type and ids") {
  auto m = map_producer(router(), media_kind::audio, chrome_opus_producer());
  REQUIRE_MESSAGE(m.ok(), m.error());
  producer_mapping expected;
  expected.kind = media_kind::audio;
  expected.codecs = {{111, 100}};
  expected.header_extensions = {
    {1, 10, uri_audio_level}, {2, 4, uri_abs_send_time}, {3, 5, uri_twcc}, {4, 1, uri_mid}};
  expected.ssrc = 1111;
  expected.rtx_ssrc = 0;
  expected.encodings = {encoding_mapping{1111, 0, "", 1, 1, false, 0}};
  expected.cname = "chrome-cname";
  expected.mid = "0";
  CHECK(*m == expected);
}

TEST_CASE("ortc: map_producer maps VP8 + rtx and drops extensions the router does not know") {
  auto m = map_producer(router(), media_kind::video, chrome_vp8_producer());
  REQUIRE_MESSAGE(m.ok(), m.error());
  CHECK(m->kind == media_kind::video);
  CHECK(m->codecs == std::vector<payload_type_map_entry>{{96, 101}});
  CHECK(m->rtx == std::vector<payload_type_map_entry>{{97, 102}});
  // playout-delay (client id 12) is sendonly on the router (it writes its own): a
  // publisher's is not mapped. rid and rrid are recvonly on the router: the router
  // receives them, so they are mapped.
  CHECK(m->header_extensions == std::vector<extension_map_entry>{{14, 12, uri_toffset},
                                                                 {2, 4, uri_abs_send_time},
                                                                 {13, 11, uri_orientation},
                                                                 {3, 5, uri_twcc},
                                                                 {4, 1, uri_mid},
                                                                 {10, 2, uri_rid},
                                                                 {11, 3, uri_rrid}});
  CHECK(m->ssrc == 2222);
  CHECK(m->rtx_ssrc == 3333);
  CHECK(m->cname == "chrome-cname");
}

TEST_CASE("ortc: map_producer matching is case-insensitive and rtx is optional") {
  auto p = chrome_vp8_producer();
  p.codecs = {codec("VIDEO/vp8", 96, 90000)};
  p.encodings[0].rtx_ssrc = 0;
  auto m = map_producer(router(), media_kind::video, p);
  REQUIRE_MESSAGE(m.ok(), m.error());
  CHECK(m->codecs == std::vector<payload_type_map_entry>{{96, 101}});
  CHECK(m->rtx.empty());
  CHECK(m->rtx_ssrc == 0);

  // An rtx codec without an rtx ssrc is fine too (the sender may not retransmit).
  p.codecs.push_back(rtx(97, 96));
  auto m2 = map_producer(router(), media_kind::video, p);
  REQUIRE_MESSAGE(m2.ok(), m2.error());
  CHECK(m2->rtx == std::vector<payload_type_map_entry>{{97, 102}});
  CHECK(m2->rtx_ssrc == 0);
}

TEST_CASE("ortc: map_producer H264 matches on packetization-mode and profile, not level") {
  struct h264_case {
    const char* name;
    codec_params params;
    int router_pt; // -1: must fail
  };
  const h264_case cases[] = {
    {"constrained baseline 3.1, as configured", h264_params("42e01f"), 105},
    {"constrained baseline at another level (5.2)", h264_params("42e034"), 105},
    {"constrained baseline level 1", h264_params("42e00a"), 105},
    {"constrained baseline spelled with profile_idc 0x4d (4de01f)", h264_params("4de01f"), 105},
    {"upper-case hex", h264_params("42E01F"), 105},
    {"absent profile-level-id means constrained baseline",
     {num("packetization-mode", 1)}, 105},
    {"packetization-mode as text", {text("packetization-mode", "1"),
                                    text("profile-level-id", "42e01f")}, 105},
    {"main 3.1 matches the router's main 5.0", h264_params("4d001f"), 107},
    {"main 5.0", h264_params("4d0032"), 107},
    {"baseline (42001f) is not constrained baseline", h264_params("42001f"), -1},
    {"constrained high", h264_params("640c1f"), -1},
    {"high", h264_params("64001f"), -1},
    {"packetization-mode 0", {num("packetization-mode", 0), text("profile-level-id", "42e01f")},
     -1},
    {"packetization-mode absent means 0", {text("profile-level-id", "42e01f")}, -1},
    {"unknown level", h264_params("42e0ff"), -1},
    {"not hex", h264_params("42e0zz"), -1},
    {"too short", h264_params("42e01"), -1},
    {"extended profile without constraint flags", h264_params("58001f"), -1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto m = map_producer(router(), media_kind::video, h264_producer(c.params));
    if (c.router_pt < 0) {
      CHECK_FALSE(m.ok());
      if (!m.ok())
        CHECK(m.error().rfind("rtpParameters.codecs[0]: video/H264 (", 0) == 0);
      continue;
    }
    REQUIRE_MESSAGE(m.ok(), m.error());
    CHECK(m->codecs == std::vector<payload_type_map_entry>{
                         {102, static_cast<uint8_t>(c.router_pt)}});
    CHECK(m->rtx == std::vector<payload_type_map_entry>{
                      {103, static_cast<uint8_t>(c.router_pt + 1)}});
  }

  auto m = map_producer(router(), media_kind::video, h264_producer(h264_params("640c1f")));
  REQUIRE_FALSE(m.ok());
  CHECK(m.error() == "rtpParameters.codecs[0]: video/H264 (clockRate 90000, packetization-mode "
                     "1, profile-level-id 640c1f) is not supported by the router");
}

TEST_CASE("ortc: map_producer VP9 matches on profile-id (absent = 0)") {
  struct vp9_case {
    const char* name;
    codec_params params;
    bool ok;
  };
  const vp9_case cases[] = {
    {"absent", {}, true},
    {"0", {num("profile-id", 0)}, true},
    {"0 as text", {text("profile-id", "0")}, true},
    {"1", {num("profile-id", 1)}, false},
    {"2", {num("profile-id", 2)}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto p = chrome_vp8_producer();
    p.codecs = {codec("video/VP9", 98, 90000, 0, c.params), rtx(99, 98)};
    auto m = map_producer(router(), media_kind::video, p);
    CHECK(m.ok() == c.ok);
    if (m.ok()) {
      CHECK(m->codecs == std::vector<payload_type_map_entry>{{98, 103}});
      CHECK(m->rtx == std::vector<payload_type_map_entry>{{99, 104}});
    }
  }
  auto p = chrome_vp8_producer();
  p.codecs = {codec("video/VP9", 98, 90000, 0, {num("profile-id", 2)})};
  p.encodings[0].rtx_ssrc = 0;
  auto m = map_producer(router(), media_kind::video, p);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error() == "rtpParameters.codecs[0]: video/VP9 (clockRate 90000, profile-id 2) is "
                     "not supported by the router");
}

TEST_CASE("ortc: map_producer AV1 spatial layers only with the Dependency Descriptor") {
  struct av1_case {
    const char* name;
    const char* mode;
    bool with_descriptor;
    bool ok;
  };
  const av1_case cases[] = {
    {"L3T3 with the descriptor", "L3T3", true, true},
    {"L1T3 without it (temporal layers only)", "L1T3", false, true},
    {"L3T3 without it", "L3T3", false, false},
    {"L2T2_KEY without it", "L2T2_KEY", false, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto p = chrome_vp8_producer();
    p.codecs = {codec("video/AV1", 45, 90000), rtx(46, 45)};
    p.encodings[0].scalability_mode = c.mode;
    if (c.with_descriptor)
      p.header_extensions.push_back(ext(dependency_descriptor_uri, 9));
    auto m = map_producer(router(), media_kind::video, p);
    CHECK(m.ok() == c.ok);
    if (m.ok()) {
      CHECK(m->encodings[0].spatial_layers == uint8_t(c.mode[1] - '0'));
      bool mapped = false;
      for (const auto& e : m->header_extensions)
        mapped = mapped || (e.uri == dependency_descriptor_uri && e.client == 9 && e.router == 8);
      CHECK(mapped == c.with_descriptor);
    } else {
      CHECK(m.error() == std::string("rtpParameters.encodings[0].scalabilityMode \"") + c.mode +
                           "\": spatial layers (SVC) are supported for VP9, and AV1 with the "
                           "Dependency Descriptor extension, not video/AV1");
    }
  }
}

TEST_CASE("ortc: map_producer rejects what the router cannot take, naming the field") {
  struct failure_case {
    const char* name;
    media_kind kind;
    std::function<rtp_parameters()> params;
    std::string message;
  };
  const auto v = media_kind::video;
  const auto a = media_kind::audio;
  auto vp8 = [](std::function<void(rtp_parameters&)> change) {
    return [change] {
      auto p = chrome_vp8_producer();
      change(p);
      return p;
    };
  };
  auto opus = [](std::function<void(rtp_parameters&)> change) {
    return [change] {
      auto p = chrome_opus_producer();
      change(p);
      return p;
    };
  };
  auto with_encodings = [](std::size_t n) {
    return [n](rtp_parameters& p) {
      p.encodings.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        p.encodings[i].ssrc = static_cast<uint32_t>(100 + i);
        p.encodings[i].rid = "r" + std::to_string(i);
      }
    };
  };
  const failure_case cases[] = {
    {"unknown codec", v,
     vp8([](auto& p) { p.codecs.insert(p.codecs.begin() + 1, codec("video/H265", 45, 90000)); }),
     "rtpParameters.codecs[1]: video/H265 is not supported by the router"},
    {"opus with one channel", a, opus([](auto& p) { p.codecs[0].channels = 0; }),
     "rtpParameters.codecs[0]: audio/opus (clockRate 48000, channels 1) is not supported by "
     "the router"},
    {"wrong clock rate", v, vp8([](auto& p) { p.codecs[0].clock_rate = 48000; }),
     "rtpParameters.codecs[0]: video/VP8 (clockRate 48000) is not supported by the router"},
    {"codec of the other kind", a, vp8([](auto&) {}),
     "rtpParameters.codecs[0]: mimeType \"video/VP8\" does not match kind audio"},
    {"mimeType without a subtype", v, vp8([](auto& p) { p.codecs[0].mime_type = "video"; }),
     "rtpParameters.codecs[0]: mimeType \"video\" is not a mimeType (\"video/VP8\")"},
    {"no codecs", v, vp8([](auto& p) { p.codecs.clear(); }),
     "rtpParameters.codecs: at least one media codec is required"},
    {"only rtx", v, vp8([](auto& p) { p.codecs.erase(p.codecs.begin()); }),
     "rtpParameters.codecs: at least one media codec is required"},
    {"duplicate payload type", v, vp8([](auto& p) { p.codecs[1].payload_type = 96; }),
     "rtpParameters.codecs[1].payloadType 96 duplicates rtpParameters.codecs[0]"},
    {"payload type above 127", v, vp8([](auto& p) { p.codecs[0].payload_type = 200; }),
     "rtpParameters.codecs[0].payloadType 200 is not a valid payload type"},
    {"rtx without apt", v, vp8([](auto& p) { p.codecs[1].parameters.clear(); }),
     "rtpParameters.codecs[1]: video/rtx needs an apt parameter (a payload type)"},
    {"rtx with a non-numeric apt", v,
     vp8([](auto& p) { p.codecs[1].parameters = {text("apt", "vp8")}; }),
     "rtpParameters.codecs[1]: video/rtx needs an apt parameter (a payload type)"},
    {"rtx apt naming no codec", v, vp8([](auto& p) { p.codecs[1].parameters = {num("apt", 99)}; }),
     "rtpParameters.codecs[1]: video/rtx apt 99 names no media codec of rtpParameters.codecs"},
    {"rtx apt naming another rtx", v,
     vp8([](auto& p) { p.codecs[1].parameters = {num("apt", 97)}; }),
     "rtpParameters.codecs[1]: video/rtx apt 97 names no media codec of rtpParameters.codecs"},
    {"audio rtx (the router has none for opus)", a,
     opus([](auto& p) {
       p.codecs.push_back(codec("audio/rtx", 112, 48000, 0, {num("apt", 111)}));
     }),
     "rtpParameters.codecs[1]: the router has no rtx codec for payload type 100"},
    {"rtx ssrc without an rtx codec", v, vp8([](auto& p) { p.codecs.pop_back(); }),
     "rtpParameters.encodings[0].rtx.ssrc needs an rtx codec in rtpParameters.codecs"},
    {"rtx ssrc equal to the ssrc", v, vp8([](auto& p) { p.encodings[0].rtx_ssrc = 2222; }),
     "rtpParameters.encodings[0].rtx.ssrc must differ from the ssrc"},
    {"no encodings", v, vp8([](auto& p) { p.encodings.clear(); }),
     "rtpParameters.encodings: at least one encoding (with an ssrc or a rid) is required"},
    {"five simulcast encodings", v, vp8(with_encodings(5)),
     "rtpParameters.encodings: at most 4 encodings (simulcast streams), got 5"},
    {"simulcast audio", a,
     opus([](auto& p) {
       p.encodings.push_back(p.encodings[0]);
       p.encodings[1].ssrc = 4444;
     }),
     "rtpParameters.encodings: simulcast (2 encodings) is for video only"},
    {"neither ssrc nor rid", v, vp8([](auto& p) { p.encodings[0] = {}; }),
     "rtpParameters.encodings[0]: an ssrc or a rid is required"},
    {"rid without the rid extension", v,
     vp8([](auto& p) {
       p.encodings[0] = {};
       p.encodings[0].rid = "r0";
       std::erase_if(p.header_extensions, [](auto& e) { return e.uri == uri_rid; });
     }),
     "rtpParameters.encodings[0]: rid \"r0\" needs the "
     "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id header extension"},
    {"duplicate rid", v,
     vp8([with_encodings](auto& p) {
       with_encodings(2)(p);
       p.encodings[1].rid = "r0";
     }),
     "rtpParameters.encodings[1].rid \"r0\" duplicates rtpParameters.encodings[0]"},
    {"duplicate ssrc", v,
     vp8([with_encodings](auto& p) {
       with_encodings(2)(p);
       p.encodings[1].ssrc = 100;
     }),
     "rtpParameters.encodings[1]: ssrc 100 duplicates one of rtpParameters.encodings[0]"},
    {"spatial layers inside a simulcast stream", v,
     vp8([with_encodings](auto& p) {
       with_encodings(2)(p);
       p.encodings[1].scalability_mode = "L2T1";
     }),
     "rtpParameters.encodings[1].scalabilityMode \"L2T1\": spatial layers inside a simulcast "
     "stream are not supported"},
    {"VP8 SVC L3T3", v, vp8([](auto& p) { p.encodings[0].scalability_mode = "L3T3"; }),
     "rtpParameters.encodings[0].scalabilityMode \"L3T3\": spatial layers (SVC) are supported "
     "for VP9, and AV1 with the Dependency Descriptor extension, not video/VP8"},
    {"VP8 SVC S2T1", v, vp8([](auto& p) { p.encodings[0].scalability_mode = "S2T1"; }),
     "rtpParameters.encodings[0].scalabilityMode \"S2T1\": spatial layers (SVC) are supported "
     "for VP9, and AV1 with the Dependency Descriptor extension, not video/VP8"},
    {"VP8 SVC L2T3_KEY", v,
     vp8([](auto& p) { p.encodings[0].scalability_mode = "L2T3_KEY"; }),
     "rtpParameters.encodings[0].scalabilityMode \"L2T3_KEY\": spatial layers (SVC) are "
     "supported for VP9, and AV1 with the Dependency Descriptor extension, not video/VP8"},
    {"not a scalability mode", v, vp8([](auto& p) { p.encodings[0].scalability_mode = "T3"; }),
     "rtpParameters.encodings[0].scalabilityMode \"T3\" is not a scalability mode"},
    {"codecPayloadType naming no media codec", v,
     vp8([](auto& p) { p.encodings[0].codec_payload_type = 97; }),
     "rtpParameters.encodings[0].codecPayloadType 97 names no media codec of "
     "rtpParameters.codecs"},
    {"duplicate extension id", a,
     opus([](auto& p) { p.header_extensions[1].id = 1; }),
     "rtpParameters.headerExtensions[1].id 1 duplicates rtpParameters.headerExtensions[0]"},
    {"duplicate extension uri", a,
     opus([](auto& p) { p.header_extensions.push_back(ext(uri_mid, 9)); }),
     "rtpParameters.headerExtensions[4]: " + uri_mid +
       " duplicates rtpParameters.headerExtensions[3]"},
    {"extension id 0", a, opus([](auto& p) { p.header_extensions[2].id = 0; }),
     "rtpParameters.headerExtensions[2].id 0 is not a valid extension id"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto m = map_producer(router(), c.kind, c.params());
    REQUIRE_FALSE(m.ok());
    CHECK(m.error() == c.message);
  }
}

TEST_CASE("ortc: map_producer accepts temporal layers in one stream") {
  for (const char* mode : {"L1T1", "L1T2", "L1T3", "S1T3", "L1T3_KEY"}) {
    CAPTURE(mode);
    auto p = chrome_vp8_producer();
    p.encodings[0].scalability_mode = mode;
    auto m = map_producer(router(), media_kind::video, p);
    CHECK_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error()));
  }
  // codecPayloadType naming the media codec is fine.
  auto p = chrome_vp8_producer();
  p.encodings[0].codec_payload_type = 96;
  CHECK(map_producer(router(), media_kind::video, p).ok());
}

// ---- consumable_parameters -------------------------------------------------------------------

TEST_CASE("ortc: consumable parameters of a VP8 producer are in router space") {
  const auto c = consumable_of(chrome_vp8_producer(), media_kind::video);
  CHECK(c.mid.empty());
  REQUIRE(c.codecs.size() == 2);
  CHECK(c.codecs[0] == codec("video/VP8", 101, 90000, 0, {}, router_video_feedback()));
  CHECK(c.codecs[1] == rtx(102, 101));
  // Router ids in the router's order; rid / rrid (recvonly) are not forwarded;
  // abs-capture-time is not listed as the producer does not send it; playout-delay is
  // listed though the producer's is not mapped: the router writes it (sendonly).
  CHECK(c.header_extensions ==
        std::vector<header_extension_parameters>{ext(uri_mid, 1), ext(uri_abs_send_time, 4),
                                                 ext(uri_twcc, 5), ext(uri_orientation, 11),
                                                 ext(uri_toffset, 12),
                                                 ext(uri_playout_delay, 6)});
  REQUIRE(c.encodings.size() == 1);
  encoding_parameters e;
  e.ssrc = 2222;
  CHECK(c.encodings[0] == e);
  CHECK(c.rtcp.cname == "chrome-cname");
  CHECK(c.rtcp.reduced_size);
}

TEST_CASE("ortc: consumable parameters of an opus producer keep the producer's fmtp") {
  const auto c = consumable_of(chrome_opus_producer(), media_kind::audio);
  REQUIRE(c.codecs.size() == 2); // no rtx for audio; RED after Opus
  CHECK(c.codecs[0] == codec("audio/opus", 100, 48000, 2,
                             {num("minptime", 10), num("useinbandfec", 1)},
                             {{"nack", ""}, {"transport-cc", ""}}));
  CHECK(c.codecs[1] == codec("audio/red", 111, 48000, 2, {}, {}));
  // Audio transport-cc is recvonly on the router: the router reads it, does not forward it.
  CHECK(c.header_extensions ==
        std::vector<header_extension_parameters>{ext(uri_mid, 1), ext(uri_abs_send_time, 4),
                                                 ext(uri_audio_level, 10)});
  REQUIRE(c.encodings.size() == 1);
  CHECK(c.encodings[0].ssrc == 1111);
  CHECK(c.encodings[0].rtx_ssrc == 0);
}

TEST_CASE("ortc: consumable parameters add the router rtx even when the producer has none") {
  auto p = chrome_vp8_producer();
  p.codecs.pop_back();
  p.encodings[0].rtx_ssrc = 0;
  const auto c = consumable_of(p, media_kind::video);
  REQUIRE(c.codecs.size() == 2);
  CHECK(c.codecs[1] == rtx(102, 101));
}

TEST_CASE("ortc: two producer codecs mapping to one router codec are forwarded once") {
  auto p = h264_producer(h264_params("42e01f"));
  p.codecs.push_back(codec("video/H264", 104, 90000, 0, h264_params("42e034")));
  auto m = map_producer(router(), media_kind::video, p);
  REQUIRE_MESSAGE(m.ok(), m.error());
  CHECK(m->codecs == std::vector<payload_type_map_entry>{{102, 105}, {104, 105}});
  const auto c = consumable_parameters(router(), p, *m);
  REQUIRE(c.codecs.size() == 2);
  CHECK(c.codecs[0].payload_type == 105);
  CHECK(find_param(c.codecs[0].parameters, "profile-level-id")->value == "42e01f");
  CHECK(c.codecs[1] == rtx(106, 105));
}

// ---- can_consume / consumer_parameters ---------------------------------------------------------

TEST_CASE("ortc: consumer parameters for a Chrome consumer of a VP8 producer") {
  const auto consumable = consumable_of(chrome_vp8_producer(), media_kind::video);
  CHECK(can_consume(consumable, chrome_device_caps()));
  const auto r = consume(chrome_vp8_producer(), media_kind::video, chrome_device_caps());
  CHECK(r.mid == "3");
  REQUIRE(r.codecs.size() == 2);
  // Both ends have transport-cc: REMB goes.
  CHECK(r.codecs[0] == codec("video/VP8", 101, 90000, 0, {},
                             {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"},
                              {"transport-cc", ""}}));
  CHECK(r.codecs[1] == rtx(102, 101));
  CHECK(r.header_extensions ==
        std::vector<header_extension_parameters>{ext(uri_mid, 1), ext(uri_abs_send_time, 4),
                                                 ext(uri_twcc, 5), ext(uri_orientation, 11),
                                                 ext(uri_toffset, 12)});
  REQUIRE(r.encodings.size() == 1);
  encoding_parameters e;
  e.ssrc = 5000;
  e.rtx_ssrc = 5001;
  CHECK(r.encodings[0] == e);
  CHECK(r.rtcp.cname == "chrome-cname");
  CHECK(r.rtcp.reduced_size);
}

TEST_CASE("ortc: consumer parameters for a Chrome consumer of an opus producer") {
  const auto r = consume(chrome_opus_producer(), media_kind::audio, chrome_device_caps());
  REQUIRE(r.codecs.size() == 1);
  CHECK(r.codecs[0].payload_type == 100);
  CHECK(r.codecs[0].channels == 2);
  CHECK(r.codecs[0].parameters == codec_params{num("minptime", 10), num("useinbandfec", 1)});
  // Chrome lists no nack for opus; audio transport-cc is not forwarded, so its feedback
  // goes; no REMB for audio anyway.
  CHECK(r.codecs[0].rtcp_feedback.empty());
  CHECK(ext_uris(r) == std::vector<std::string>{uri_mid, uri_abs_send_time, uri_audio_level});
  REQUIRE(r.encodings.size() == 1);
  CHECK(r.encodings[0].ssrc == 5000);
  CHECK(r.encodings[0].rtx_ssrc == 0); // no rtx negotiated: the rtx ssrc is not used
}

namespace {

rtp_capabilities with_red(rtp_capabilities caps) {
  caps.codecs.push_back(cap_codec(media_kind::audio, "audio/red", 111, 48000, 2, {}, {}));
  return caps;
}

// A publisher that sends RED itself (libwebrtc's order: RED 63 first, Opus 111 inside).
rtp_parameters red_opus_producer() {
  auto p = chrome_opus_producer();
  p.codecs.insert(p.codecs.begin(), codec("audio/red", 63, 48000, 2, {}, {}));
  return p;
}

} // namespace

TEST_CASE("ortc: RED travels with Opus, first for receivers that list it") {
  SUBCASE("a plain Opus producer to a receiver with RED: RED, then the Opus inside") {
    const auto r = consume(chrome_opus_producer(), media_kind::audio, with_red(chrome_device_caps()));
    REQUIRE(r.codecs.size() == 2);
    // fmtp "100/100", unnamed: the stock client writes "=100/100", which libwebrtc reads as
    // the unnamed value it matches RED by.
    CHECK(r.codecs[0] == codec("audio/red", 111, 48000, 2, {text("", "100/100")}, {}));
    CHECK(r.codecs[1].mime_type == "audio/opus");
    CHECK(r.codecs[1].payload_type == 100);
    CHECK(r.encodings[0].rtx_ssrc == 0);
  }
  SUBCASE("a producer sending RED: mapped, offered as Opus and RED") {
    auto m = map_producer(router(), media_kind::audio, red_opus_producer());
    REQUIRE_MESSAGE(m.ok(), m.error());
    CHECK(m->codecs == std::vector<payload_type_map_entry>{{63, 111}, {111, 100}});
    const auto c = consumable_of(red_opus_producer(), media_kind::audio);
    REQUIRE(c.codecs.size() == 2);
    CHECK(c.codecs[0].mime_type == "audio/opus");
    CHECK(c.codecs[1].mime_type == "audio/red");
    const auto plain = consume(red_opus_producer(), media_kind::audio, chrome_device_caps());
    REQUIRE(plain.codecs.size() == 1);
    CHECK(plain.codecs[0].mime_type == "audio/opus");
    const auto red = consume(red_opus_producer(), media_kind::audio, with_red(chrome_device_caps()));
    REQUIRE(red.codecs.size() == 2);
    CHECK(red.codecs[0].mime_type == "audio/red");
  }
  SUBCASE("RED without Opus in the producer's codecs is refused") {
    auto p = chrome_opus_producer();
    p.codecs = {codec("audio/red", 63, 48000, 2, {}, {})};
    auto m = map_producer(router(), media_kind::audio, p);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().find("rtpParameters.codecs[0]: audio/red needs audio/opus") != std::string::npos);
  }
  SUBCASE("a receiver with RED but not Opus cannot consume") {
    auto caps = with_red(chrome_device_caps());
    std::erase_if(caps.codecs, [](const codec_capability& c) { return c.mime_type == "audio/opus"; });
    CHECK_FALSE(can_consume(consumable_of(chrome_opus_producer(), media_kind::audio), caps));
  }
  SUBCASE("a router without RED offers Opus alone") {
    auto codecs = default_media_codecs();
    std::erase_if(codecs, [](const media_codec_config& c) { return c.mime_type == "audio/red"; });
    auto plain_router = generate_router_capabilities(codecs);
    REQUIRE(plain_router.ok());
    auto m = map_producer(*plain_router, media_kind::audio, chrome_opus_producer());
    REQUIRE(m.ok());
    const auto c = consumable_parameters(*plain_router, chrome_opus_producer(), *m);
    REQUIRE(c.codecs.size() == 1);
    CHECK(c.codecs[0].mime_type == "audio/opus");
    auto r = consumer_parameters(c, with_red(chrome_device_caps()), options());
    REQUIRE(r.ok());
    REQUIRE(r->codecs.size() == 1);
    CHECK(r->codecs[0].mime_type == "audio/opus");
  }
}

TEST_CASE("ortc: consumer caps without rtx get no rtx codec and no rtx ssrc") {
  auto caps = chrome_device_caps();
  std::erase_if(caps.codecs, [](const codec_capability& c) { return c.mime_type == "video/rtx"; });
  const auto r = consume(chrome_vp8_producer(), media_kind::video, caps);
  REQUIRE(r.codecs.size() == 1);
  CHECK(r.codecs[0].mime_type == "video/VP8");
  REQUIRE(r.encodings.size() == 1);
  CHECK(r.encodings[0].ssrc == 5000);
  CHECK(r.encodings[0].rtx_ssrc == 0);

  // An rtx codec bound to another payload type does not count either.
  auto caps2 = chrome_device_caps();
  for (auto& c : caps2.codecs)
    if (c.mime_type == "video/rtx" && c.preferred_payload_type == 102)
      c.parameters = {num("apt", 96)};
  const auto r2 = consume(chrome_vp8_producer(), media_kind::video, caps2);
  CHECK(r2.codecs.size() == 1);
  CHECK(r2.encodings[0].rtx_ssrc == 0);
}

TEST_CASE("ortc: bandwidth feedback follows the extensions the consumer keeps") {
  const std::vector<rtcp_feedback> base{{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}};
  auto with = [&](std::vector<rtcp_feedback> extra) {
    auto fb = base;
    fb.insert(fb.end(), extra.begin(), extra.end());
    return fb;
  };
  SUBCASE("both abs-send-time and transport-cc: transport-cc only") {
    const auto r = consume(chrome_vp8_producer(), media_kind::video, chrome_device_caps());
    CHECK(feedback_of(r) == with({{"transport-cc", ""}}));
  }
  SUBCASE("no transport-cc extension: REMB only") {
    auto caps = chrome_device_caps();
    remove_caps_ext(caps, uri_twcc);
    const auto r = consume(chrome_vp8_producer(), media_kind::video, caps);
    CHECK(feedback_of(r) == with({{"goog-remb", ""}}));
    CHECK(ext_uris(r) ==
          std::vector<std::string>{uri_mid, uri_abs_send_time, uri_orientation, uri_toffset});
  }
  SUBCASE("transport-cc only: transport-cc") {
    auto caps = chrome_device_caps();
    remove_caps_ext(caps, uri_abs_send_time);
    const auto r = consume(chrome_vp8_producer(), media_kind::video, caps);
    CHECK(feedback_of(r) == with({{"transport-cc", ""}}));
  }
  SUBCASE("neither: no bandwidth feedback") {
    auto caps = chrome_device_caps();
    remove_caps_ext(caps, uri_twcc);
    remove_caps_ext(caps, uri_abs_send_time);
    const auto r = consume(chrome_vp8_producer(), media_kind::video, caps);
    CHECK(feedback_of(r) == base);
  }
  SUBCASE("the producer sent no transport-cc: the consumer cannot get it either") {
    auto p = chrome_vp8_producer();
    std::erase_if(p.header_extensions,
                  [](const header_extension_parameters& e) { return e.uri == uri_twcc; });
    const auto r = consume(p, media_kind::video, chrome_device_caps());
    CHECK(feedback_of(r) == with({{"goog-remb", ""}}));
  }
}

TEST_CASE("ortc: consumer feedback is reduced to what the consumer lists") {
  auto caps = chrome_device_caps();
  caps.codecs[1].rtcp_feedback = {{"nack", "pli"}, {"transport-cc", ""}, {"unknown", ""}};
  const auto r = consume(chrome_vp8_producer(), media_kind::video, caps);
  CHECK(feedback_of(r) == std::vector<rtcp_feedback>{{"nack", "pli"}, {"transport-cc", ""}});
}

TEST_CASE("ortc: consumer extensions need the same uri, id and kind in the caps") {
  auto caps = chrome_device_caps();
  remove_caps_ext(caps, uri_orientation); // missing: dropped
  for (auto& e : caps.header_extensions) {
    if (e.uri == uri_toffset)
      e.preferred_id = 7; // another id: dropped
    if (e.uri == uri_abs_send_time && e.kind == media_kind::video)
      e.kind = media_kind::audio; // listed for audio only (twice now): dropped for video
  }
  for (auto& e : caps.header_extensions)
    if (e.uri == uri_mid && e.kind == media_kind::video)
      e.direction = hdrext_direction::sendonly; // the consumer cannot receive it: dropped
  const auto r = consume(chrome_vp8_producer(), media_kind::video, caps);
  CHECK(ext_uris(r) == std::vector<std::string>{uri_twcc});
  CHECK(r.header_extensions[0].id == 5);
}

TEST_CASE("ortc: a consumer without the producer's codec cannot consume") {
  rtp_capabilities caps = chrome_device_caps();
  // Only H264 (and its rtx, whose apt names no VP8): VP8 cannot be received.
  std::erase_if(caps.codecs, [](const codec_capability& c) {
    return c.mime_type != "video/H264" && !(c.mime_type == "video/rtx" &&
                                            (c.preferred_payload_type == 106 ||
                                             c.preferred_payload_type == 108));
  });
  REQUIRE(caps.codecs.size() == 4);
  const auto consumable = consumable_of(chrome_vp8_producer(), media_kind::video);
  CHECK_FALSE(can_consume(consumable, caps));
  auto r = consumer_parameters(consumable, caps, options());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "rtpCapabilities: no codec of the producer (video/VP8) can be received");

  // An rtx codec alone is not a codec to consume.
  rtp_capabilities rtx_only;
  rtx_only.codecs = {cap_rtx(102, 101)};
  CHECK_FALSE(can_consume(consumable, rtx_only));
  CHECK_FALSE(consumer_parameters(consumable, rtx_only, options()).ok());

  // No caps at all.
  CHECK_FALSE(can_consume(consumable, rtp_capabilities{}));

  // Same mimeType, other profile: VP9 profile 2 caps cannot take a profile 0 stream.
  auto p = chrome_vp8_producer();
  p.codecs = {codec("video/VP9", 98, 90000, 0, {num("profile-id", 0)}), rtx(99, 98)};
  const auto vp9 = consumable_of(p, media_kind::video);
  rtp_capabilities profile2;
  profile2.codecs = {cap_codec(media_kind::video, "video/VP9", 103, 90000, 0,
                               {num("profile-id", 2)}, {})};
  CHECK_FALSE(can_consume(vp9, profile2));
  profile2.codecs[0].parameters.clear(); // absent = profile 0
  CHECK(can_consume(vp9, profile2));
}

TEST_CASE("ortc: only the first codec the consumer supports is kept, with its rtx") {
  // A producer offering H264 first, then VP8 (both with rtx).
  auto p = h264_producer(h264_params("42e034"));
  p.codecs.push_back(codec("video/VP8", 96, 90000, 0, {}, chrome_video_feedback()));
  p.codecs.push_back(rtx(97, 96));
  auto m = map_producer(router(), media_kind::video, p);
  REQUIRE_MESSAGE(m.ok(), m.error());
  CHECK(m->codecs == std::vector<payload_type_map_entry>{{102, 105}, {96, 101}});
  CHECK(m->rtx == std::vector<payload_type_map_entry>{{103, 106}, {97, 102}});
  const auto consumable = consumable_parameters(router(), p, *m);
  REQUIRE(consumable.codecs.size() == 4);

  SUBCASE("a consumer with both gets the first, H264 (the producer's level kept)") {
    auto r = consumer_parameters(consumable, chrome_device_caps(), options());
    REQUIRE_MESSAGE(r.ok(), r.error());
    REQUIRE(r->codecs.size() == 2);
    CHECK(r->codecs[0].mime_type == "video/H264");
    CHECK(r->codecs[0].payload_type == 105);
    CHECK(find_param(r->codecs[0].parameters, "profile-level-id")->value == "42e034");
    CHECK(r->codecs[1] == rtx(106, 105));
    CHECK(r->encodings[0].rtx_ssrc == 5001);
  }
  SUBCASE("a consumer without H264 gets VP8") {
    auto caps = chrome_device_caps();
    std::erase_if(caps.codecs, [](const codec_capability& c) {
      return c.mime_type == "video/H264";
    });
    CHECK(can_consume(consumable, caps));
    auto r = consumer_parameters(consumable, caps, options());
    REQUIRE_MESSAGE(r.ok(), r.error());
    REQUIRE(r->codecs.size() == 2);
    CHECK(r->codecs[0].mime_type == "video/VP8");
    CHECK(r->codecs[0].payload_type == 101);
    CHECK(r->codecs[1] == rtx(102, 101));
  }
}

TEST_CASE("ortc: consumer options: ssrc required, rtx ssrc required when rtx is used") {
  const auto consumable = consumable_of(chrome_vp8_producer(), media_kind::video);
  auto o = options();
  o.ssrc = 0;
  auto r = consumer_parameters(consumable, chrome_device_caps(), o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "consumer ssrc is required");

  o = options();
  o.rtx_ssrc = 0;
  r = consumer_parameters(consumable, chrome_device_caps(), o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("rtx ssrc is required") != std::string::npos);

  // Without rtx in the caps the rtx ssrc is not needed.
  auto caps = chrome_device_caps();
  std::erase_if(caps.codecs, [](const codec_capability& c) { return c.mime_type == "video/rtx"; });
  r = consumer_parameters(consumable, caps, o);
  CHECK(r.ok());

  // mid and cname come from the options; the producer's cname when none is given.
  o = options();
  o.mid = "7";
  o.cname = "";
  r = consumer_parameters(consumable, chrome_device_caps(), o);
  REQUIRE(r.ok());
  CHECK(r->mid == "7");
  CHECK(r->rtcp.cname == "chrome-cname");
  o.cname = "other";
  r = consumer_parameters(consumable, chrome_device_caps(), o);
  REQUIRE(r.ok());
  CHECK(r->rtcp.cname == "other");
}

TEST_SUITE_END();

// ---- simulcast and SVC ----------------------------------------------------------------------

TEST_CASE("ortc: simulcast and SVC producers map to encodings, consumers to one layered stream") {
  struct layered_case {
    const char* name;
    std::vector<encoding_parameters> encodings;
    const char* mime; // video/VP8 or video/VP9
    std::vector<encoding_mapping> mapped;
    const char* consumer_mode; // the consumer encoding's scalabilityMode
    const char* type;
    uint8_t spatial, temporal;
  };
  auto rid_enc = [](const char* rid, const char* mode = "") {
    encoding_parameters e;
    e.rid = rid;
    e.scalability_mode = mode;
    return e;
  };
  auto ssrc_enc = [](uint32_t ssrc, uint32_t rtx_ssrc, const char* mode = "") {
    encoding_parameters e;
    e.ssrc = ssrc;
    e.rtx_ssrc = rtx_ssrc;
    e.scalability_mode = mode;
    return e;
  };
  const layered_case cases[] = {
    {"mediasoup-client rid simulcast, three L1T3 streams",
     {rid_enc("r0", "L1T3"), rid_enc("r1", "L1T3"), rid_enc("r2", "L1T3")}, "video/VP8",
     {{0, 0, "r0", 1, 3, false, 0}, {0, 0, "r1", 1, 3, false, 0}, {0, 0, "r2", 1, 3, false, 0}},
     "L3T3", "simulcast", 3, 3},
    {"rid simulcast without scalabilityMode: one temporal layer each",
     {rid_enc("a"), rid_enc("b")}, "video/VP8",
     {{0, 0, "a", 1, 1, false, 0}, {0, 0, "b", 1, 1, false, 0}}, "L2T1", "simulcast", 2, 1},
    {"SSRC simulcast with rtx (plain SDP a=ssrc-group:SIM)",
     {ssrc_enc(10, 11, "L1T2"), ssrc_enc(20, 21, "L1T2")}, "video/VP8",
     {{10, 11, "", 1, 2, false, 0}, {20, 21, "", 1, 2, false, 0}}, "L2T2", "simulcast", 2, 2},
    {"four streams (the most)",
     {rid_enc("q"), rid_enc("h"), rid_enc("f"), rid_enc("x")}, "video/VP8",
     {{0, 0, "q", 1, 1, false, 0}, {0, 0, "h", 1, 1, false, 0}, {0, 0, "f", 1, 1, false, 0},
      {0, 0, "x", 1, 1, false, 0}},
     "L4T1", "simulcast", 4, 1},
    {"VP9 SVC L3T3_KEY in one stream", {ssrc_enc(30, 31, "L3T3_KEY")}, "video/VP9",
     {{30, 31, "", 3, 3, true, 0}}, "L3T3_KEY", "svc", 3, 3},
    {"VP8 temporal layers only (L1T3)", {ssrc_enc(40, 41, "L1T3")}, "video/VP8",
     {{40, 41, "", 1, 3, false, 0}}, "L1T3", "svc", 1, 3},
    {"one plain stream", {ssrc_enc(50, 51)}, "video/VP8", {{50, 51, "", 1, 1, false, 0}}, "",
     "simple", 1, 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto p = chrome_vp8_producer();
    if (std::string_view(c.mime) == "video/VP9")
      p.codecs = {codec("video/VP9", 98, 90000, 0, {num("profile-id", 0)}, chrome_video_feedback()),
                  rtx(99, 98)};
    p.encodings = c.encodings;
    auto m = map_producer(router(), media_kind::video, p);
    REQUIRE_MESSAGE(m.ok(), m.error());
    CHECK(m->encodings == c.mapped);
    CHECK(m->mid == "1");
    CHECK(m->simulcast() == (c.mapped.size() > 1));
    auto consumable = consumable_parameters(router(), p, *m);
    REQUIRE(consumable.encodings.size() == c.mapped.size());
    const auto layers = layering_of(consumable);
    CHECK(layers.type() == std::string_view(c.type));
    CHECK(int(layers.spatial) == int(c.spatial));
    CHECK(int(layers.temporal) == int(c.temporal));
    consumer_options opts;
    opts.ssrc = 777;
    opts.rtx_ssrc = 778;
    opts.mid = "3";
    auto consumer = consumer_parameters(consumable, chrome_device_caps(), opts);
    REQUIRE_MESSAGE(consumer.ok(), consumer.error());
    REQUIRE(consumer->encodings.size() == 1); // the receiver always gets one stream
    CHECK(consumer->encodings[0].ssrc == 777);
    CHECK(consumer->encodings[0].scalability_mode == c.consumer_mode);
  }
}
