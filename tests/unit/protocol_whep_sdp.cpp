// protocol/whep_sdp: the real Chromium and Firefox player offers (tests/fixtures/sdp/, two
// recvonly transceivers) read against the default router's capabilities into slots, the
// answer for a consumer of each read back in the player's own numbers, and each kind of
// offer a WHEP endpoint must refuse, with its reason.
#include "protocol/whep_sdp.hpp"
#include "rtp/capabilities.hpp"
#include "rtp/ortc.hpp"
#include "rtp/receiver_numbering.hpp"

#include "sdp_fixture.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus;
using namespace chorus::protocol;

namespace {

const std::string uri_mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
const std::string uri_twcc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
const std::string uri_audio_level = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

const rtp::rtp_capabilities& router() {
  static const rtp::rtp_capabilities caps = *rtp::generate_router_capabilities(rtp::default_media_codecs());
  return caps;
}

transport_params our_transport() {
  transport_params t;
  t.id = "t1";
  t.ice_parameters = {"chorusufrag0001", "chorus-password-0123456789", true};
  t.ice_candidates = {{"udp1", 2130706431, "192.0.2.10", 40000, "udp", "host", ""}};
  t.dtls_parameters.role = net::dtls_role::auto_;
  t.dtls_parameters.fingerprints = {{"sha-256", "AA:BB:CC"}};
  return t;
}

const rtp::codec_capability& router_codec(std::string_view mime) {
  for (const auto& c : router().codecs)
    if (c.mime_type == mime)
      return c;
  FAIL("no " << mime);
  return router().codecs.front();
}

uint8_t router_ext_id(rtp::media_kind kind, std::string_view uri) {
  for (const auto& e : router().header_extensions)
    if (e.kind == kind && e.uri == uri)
      return e.preferred_id;
  FAIL("no " << uri);
  return 0;
}

// A producer's stream as the router forwards it: Opus, or VP8 with rtx.
rtp::rtp_parameters consumable(rtp::media_kind kind) {
  rtp::rtp_parameters p;
  if (kind == rtp::media_kind::audio) {
    const auto& opus = router_codec("audio/opus");
    p.codecs = {{opus.mime_type, uint8_t(opus.preferred_payload_type), 48000, 2, {}, {{"transport-cc", ""}}}};
    p.header_extensions = {{uri_audio_level, router_ext_id(kind, uri_audio_level), false, {}},
                           {uri_mid, router_ext_id(kind, uri_mid), false, {}}};
  } else {
    const auto& vp8 = router_codec("video/VP8");
    const auto* rtx = rtp::router_rtx_codec_for(router(), vp8);
    REQUIRE(rtx != nullptr);
    p.codecs = {{vp8.mime_type, uint8_t(vp8.preferred_payload_type), 90000, 0, {}, vp8.rtcp_feedback},
                {rtx->mime_type, uint8_t(rtx->preferred_payload_type), 90000, 0, rtx->parameters, {}}};
    p.header_extensions = {{uri_twcc, router_ext_id(kind, uri_twcc), false, {}},
                           {uri_mid, router_ext_id(kind, uri_mid), false, {}}};
  }
  rtp::encoding_parameters e;
  e.ssrc = 1000;
  p.encodings = {e};
  p.rtcp.cname = "teacher";
  return p;
}

// What the server answers with: a consumer per slot, in the player's numbers.
std::vector<whep_stream> streams_for(const whep_offer& w) {
  std::vector<whep_stream> out;
  uint32_t ssrc = 5000;
  for (const auto& slot : w.slots) {
    auto params = rtp::consumer_parameters(consumable(slot.kind), slot.receive.capabilities,
                                           {ssrc, ssrc + 1, slot.mid, "teacher"});
    REQUIRE_MESSAGE(params.ok(), params.error());
    out.push_back({slot.m_line, rtp::receiver_numbered(*params, slot.receive.map),
                   "teacher " + slot.mid});
    ssrc += 2;
  }
  return out;
}

} // namespace

TEST_CASE("whep: the players' offers: an audio and a video slot, answered in their own numbers") {
  struct row {
    const char* fixture;
    uint8_t opus;        // the offer's payload types
    uint8_t vp8;
    uint8_t vp8_rtx;
    uint8_t video_mid_id; // the offer's id of the mid extension on video
  };
  const row rows[] = {
    {"chromium-156-recvonly.sdp", 111, 96, 97, 4},
    {"firefox-153esr-recvonly.sdp", 109, 120, 124, 3},
  };
  for (const auto& r : rows) {
    CAPTURE(r.fixture);
    auto offer = parse_sdp(read_sdp_fixture(r.fixture));
    REQUIRE_MESSAGE(offer.ok(), offer.error());
    auto w = read_whep_offer(*offer, router());
    REQUIRE_MESSAGE(w.ok(), w.error());
    REQUIRE(w->slots.size() == 2);
    CHECK(w->slots[0].kind == rtp::media_kind::audio);
    CHECK(w->slots[1].kind == rtp::media_kind::video);
    CHECK(w->transport.dtls.role == net::dtls_role::client); // actpass: we are the DTLS server
    CHECK(w->slots[0].receive.map.receiver_payload_type(
            uint8_t(router_codec("audio/opus").preferred_payload_type)) == r.opus);

    auto answer = parse_sdp(write_whep_answer(*offer, *w, streams_for(*w), our_transport(), 7));
    REQUIRE_MESSAGE(answer.ok(), answer.error());
    CHECK(answer->ice_lite);
    CHECK(answer->bundle_mids == std::vector<std::string>{offer->media[0].mid, offer->media[1].mid});
    const auto& audio = answer->media[0];
    CHECK(audio.direction == "sendonly");
    CHECK(audio.formats == std::vector<std::string>{std::to_string(r.opus)});
    CHECK(audio.setup == "passive");
    const auto& video = answer->media[1];
    CHECK(video.direction == "sendonly");
    CHECK(video.formats == std::vector<std::string>{std::to_string(r.vp8), std::to_string(r.vp8_rtx)});
    REQUIRE(video.codec(r.vp8_rtx) != nullptr);
    CHECK(video.codec(r.vp8_rtx)->parameter("apt") == std::to_string(r.vp8));
    CHECK(video.extmap_id(uri_mid) == r.video_mid_id);
    CHECK(video.ssrcs == std::vector<uint32_t>{5002, 5003});
    CHECK(video.fid_pairs() == std::vector<std::pair<uint32_t, uint32_t>>{{5002, 5003}});
    CHECK(video.cname == "teacher");
    CHECK(video.msid == "teacher " + offer->media[1].mid);
    CHECK(video.candidates.size() == 1);
    CHECK(video.end_of_candidates);
  }
}

TEST_CASE("whep: a slot with nothing to play is rejected and left out of the bundle") {
  auto offer = parse_sdp(read_sdp_fixture("chromium-156-recvonly.sdp"));
  REQUIRE(offer.ok());
  auto w = read_whep_offer(*offer, router());
  REQUIRE(w.ok());
  auto streams = streams_for(*w);
  streams.erase(streams.begin()); // no audio producer
  auto answer = parse_sdp(write_whep_answer(*offer, *w, streams, our_transport(), 7));
  REQUIRE(answer.ok());
  CHECK(answer->media[0].rejected());
  CHECK(answer->media[0].direction == "inactive");
  CHECK(answer->bundle_mids == std::vector<std::string>{offer->media[1].mid});
}

TEST_CASE("whep: offers refused, each with its reason") {
  const std::string head =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 01:02\r\n";
  const std::string opus = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"
                           "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";
  struct row {
    const char* name;
    std::string text;
    const char* reason;
  };
  const row rows[] = {
    {"nothing to receive", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n",
     "no audio or video m-line to receive"},
    {"no codec the server forwards", head + "m=audio 9 UDP/TLS/RTP/SAVPF 9\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:9 G722/8000\r\n",
     "with a codec the server forwards"},
    {"no ICE credentials",
     "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 01:02\r\n" + opus, "no ICE credentials"},
    {"no fingerprint", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" + opus,
     "no DTLS fingerprint"},
    {"holdconn", head + "a=setup:holdconn\r\n" + opus, "a=setup:holdconn"},
    {"no rtcp-mux", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n",
     "no a=rtcp-mux"},
    {"not in the bundle", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:7\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n",
     "not in the BUNDLE group"},
    {"two transports", head + opus + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:other\r\na=recvonly\r\na=rtcp-mux\r\n"
     "a=rtpmap:96 VP8/90000\r\n", "differ from the first track's"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto offer = parse_sdp(r.text);
    REQUIRE_MESSAGE(offer.ok(), offer.error());
    auto w = read_whep_offer(*offer, router());
    REQUIRE_FALSE(w.ok());
    CHECK_MESSAGE(w.error().find(r.reason) != std::string::npos, w.error());
  }
}
