// A receiver's own numbering (an SDP offerer: payload types and extension ids as Chromium
// offers them) against the router's: renumbered capabilities, the map, and a consumer's
// rtpParameters taken back into the receiver's numbers.
#include "rtp/capabilities.hpp"
#include "rtp/ortc.hpp"
#include "rtp/receiver_numbering.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

const std::string uri_mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
const std::string uri_abs_send_time = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
const std::string uri_twcc =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const std::string uri_audio_level = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const std::string uri_unknown = "urn:example:not-a-router-extension";

const rtp_capabilities& router() {
  static const rtp_capabilities caps = [] {
    auto r = generate_router_capabilities(default_media_codecs());
    REQUIRE(r.ok());
    return r.value();
  }();
  return caps;
}

// The router's payload type of a media codec (first of that mime type), or of the rtx
// codec for it.
uint8_t router_pt(std::string_view mime) {
  for (const auto& c : router().codecs)
    if (c.mime_type == mime)
      return uint8_t(c.preferred_payload_type);
  FAIL("the router has no " << mime);
  return 0;
}
uint8_t router_rtx_pt(std::string_view mime) {
  for (const auto& c : router().codecs)
    if (c.mime_type == mime)
      if (const auto* r = router_rtx_codec_for(router(), c))
        return uint8_t(r->preferred_payload_type);
  FAIL("the router has no rtx for " << mime);
  return 0;
}
uint8_t router_ext_id(media_kind kind, std::string_view uri) {
  for (const auto& e : router().header_extensions)
    if (e.kind == kind && e.uri == uri)
      return e.preferred_id;
  FAIL("the router has no extension " << uri);
  return 0;
}

codec_capability cap(media_kind kind, std::string mime, int pt, uint32_t clock_rate,
                     uint16_t channels = 0, codec_params params = {},
                     std::vector<rtcp_feedback> fb = {}) {
  return codec_capability{kind, std::move(mime), pt, clock_rate, channels, std::move(params),
                          std::move(fb)};
}
codec_capability rtx(int pt, int apt) {
  return cap(media_kind::video, "video/rtx", pt, 90000, 0, {{"apt", std::to_string(apt), true}});
}
header_extension_capability ext(media_kind kind, std::string uri, uint8_t id) {
  return {kind, std::move(uri), id, false, hdrext_direction::sendrecv};
}

// What Chromium offers to receive (its numbers): Opus 111; VP8 96 + rtx 97, VP9 98 + rtx
// 99, a codec the router lacks (H265 49 + rtx 50); audio level 1, abs-send-time 2,
// transport-cc 3, mid 4.
rtp_capabilities chromium_receiver() {
  rtp_capabilities r;
  r.codecs = {cap(media_kind::audio, "audio/opus", 111, 48000, 2,
                  {{"minptime", "10", true}, {"useinbandfec", "1", true}}, {{"transport-cc", ""}}),
              cap(media_kind::video, "video/VP8", 96, 90000, 0, {},
                  {{"nack", ""}, {"nack", "pli"}, {"transport-cc", ""}}),
              rtx(97, 96),
              cap(media_kind::video, "video/VP9", 98, 90000, 0, {{"profile-id", "0", true}}),
              rtx(99, 98),
              cap(media_kind::video, "video/H265", 49, 90000),
              rtx(50, 49)};
  r.header_extensions = {ext(media_kind::audio, uri_audio_level, 1),
                         ext(media_kind::audio, uri_abs_send_time, 2),
                         ext(media_kind::video, uri_abs_send_time, 2),
                         ext(media_kind::video, uri_twcc, 3),
                         ext(media_kind::video, uri_mid, 4),
                         ext(media_kind::video, uri_unknown, 5)};
  return r;
}

} // namespace

TEST_CASE("receiver numbering: Chromium's payload types and ids map to the router's") {
  const auto out = router_numbered(router(), chromium_receiver());

  SUBCASE("codecs the router has, at its numbers, in the receiver's order") {
    std::vector<std::pair<std::string, int>> got;
    for (const auto& c : out.capabilities.codecs)
      got.emplace_back(c.mime_type, c.preferred_payload_type);
    const std::vector<std::pair<std::string, int>> want = {
      {"audio/opus", router_pt("audio/opus")},
      {"video/VP8", router_pt("video/VP8")},
      {"video/VP9", router_pt("video/VP9")},
      {"video/rtx", router_rtx_pt("video/VP8")},
      {"video/rtx", router_rtx_pt("video/VP9")},
    };
    CHECK(got == want);
  }
  SUBCASE("the map: receiver number to router number, H265 and its rtx left out") {
    const std::vector<payload_type_map_entry> want = {
      {111, router_pt("audio/opus")},    {96, router_pt("video/VP8")},
      {98, router_pt("video/VP9")},      {97, router_rtx_pt("video/VP8")},
      {99, router_rtx_pt("video/VP9")},
    };
    CHECK(out.map.payload_types == want);
    CHECK(out.map.receiver_payload_type(router_rtx_pt("video/VP9")) == uint8_t(99));
  }
  SUBCASE("the receiver's feedback and parameters stay") {
    const auto& vp8 = out.capabilities.codecs[1];
    CHECK(vp8.rtcp_feedback.size() == 3);
    CHECK(out.capabilities.codecs[0].parameters.size() == 2);
  }
  SUBCASE("extensions the router sends, at its ids; one it does not know left out") {
    std::vector<std::pair<std::string, int>> got;
    for (const auto& e : out.capabilities.header_extensions)
      got.emplace_back(e.uri, e.preferred_id);
    CHECK(got.size() == 5);
    CHECK(got[3] == std::pair<std::string, int>{uri_twcc, router_ext_id(media_kind::video, uri_twcc)});
    for (const auto& e : out.map.extensions)
      CHECK(e.uri != uri_unknown);
    CHECK(out.map.receiver_extension_id(router_ext_id(media_kind::video, uri_mid)) == uint8_t(4));
  }
}

TEST_CASE("receiver numbering: what is left out") {
  struct row {
    const char* name;
    rtp_capabilities receiver;
    std::size_t codecs; // kept in the renumbered capabilities
  };
  rtp_capabilities two_vp8;
  two_vp8.codecs = {cap(media_kind::video, "video/VP8", 96, 90000),
                    cap(media_kind::video, "video/VP8", 100, 90000), rtx(97, 96), rtx(101, 100)};
  rtp_capabilities orphan_rtx;
  orphan_rtx.codecs = {cap(media_kind::video, "video/VP8", 96, 90000), rtx(97, 120)};
  rtp_capabilities bad_apt;
  bad_apt.codecs = {cap(media_kind::video, "video/VP8", 96, 90000),
                    cap(media_kind::video, "video/rtx", 97, 90000, 0, {{"apt", "x", false}})};
  rtp_capabilities wrong_clock;
  wrong_clock.codecs = {cap(media_kind::audio, "audio/opus", 111, 16000, 2)};
  const std::vector<row> rows = {
    {"a second codec matching the same router codec, and its rtx", two_vp8, 2},
    {"an rtx whose apt names no codec of the receiver", orphan_rtx, 1},
    {"an rtx whose apt is not a number", bad_apt, 1},
    {"a codec the router does not match (Opus at 16 kHz)", wrong_clock, 0},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    const auto out = router_numbered(router(), r.receiver);
    CHECK(out.capabilities.codecs.size() == r.codecs);
    CHECK(out.map.payload_types.size() == r.codecs);
  }
}

TEST_CASE("receiver numbering: a consumer's parameters go out in the receiver's numbers") {
  // A VP8 producer as the router forwards it (router numbers), consumed by Chromium's offer.
  rtp_parameters consumable;
  consumable.codecs = {
    {"video/VP8", router_pt("video/VP8"), 90000, 0, {}, {{"nack", ""}, {"nack", "pli"}, {"transport-cc", ""}}},
    {"video/rtx", router_rtx_pt("video/VP8"), 90000, 0, {{"apt", std::to_string(router_pt("video/VP8")), true}}, {}},
  };
  consumable.header_extensions = {
    {uri_mid, router_ext_id(media_kind::video, uri_mid), false, {}},
    {uri_twcc, router_ext_id(media_kind::video, uri_twcc), false, {}},
    {uri_abs_send_time, router_ext_id(media_kind::video, uri_abs_send_time), false, {}},
  };
  encoding_parameters e;
  e.ssrc = 1111;
  consumable.encodings = {e};
  consumable.rtcp.cname = "teacher";

  const auto renumbered = router_numbered(router(), chromium_receiver());
  auto params = consumer_parameters(consumable, renumbered.capabilities, {2222, 3333, "1", "teacher"});
  REQUIRE(params.ok());
  // In router numbers: what the consumer forwards without rewriting.
  CHECK(params->codecs[0].payload_type == router_pt("video/VP8"));

  const auto wire = receiver_numbered(*params, renumbered.map);
  REQUIRE(wire.codecs.size() == 2);
  CHECK(wire.codecs[0].payload_type == 96);
  CHECK(wire.codecs[1].payload_type == 97);
  const auto* apt = find_param(wire.codecs[1].parameters, "apt");
  REQUIRE(apt != nullptr);
  CHECK(apt->value == "96");
  std::vector<std::pair<std::string, int>> ids;
  for (const auto& x : wire.header_extensions)
    ids.emplace_back(x.uri, x.id);
  // transport-cc 3 and mid 4, as Chromium numbers them.
  CHECK(std::find(ids.begin(), ids.end(), std::pair<std::string, int>{uri_twcc, 3}) != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), std::pair<std::string, int>{uri_mid, 4}) != ids.end());
  CHECK(wire.encodings[0].ssrc == 2222);
  CHECK(wire.mid == "1");
}
