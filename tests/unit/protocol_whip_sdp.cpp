// protocol/whip_sdp: the real Chromium and Firefox publisher offers (tests/fixtures/sdp/) read
// against the default router's capabilities into produce requests, the answer written for
// them read back, and each kind of offer a WHIP endpoint must refuse, with its reason.
#include "protocol/whip_sdp.hpp"
#include "rtp/capabilities.hpp"
#include "rtp/ortc.hpp"

#include "sdp_fixture.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus;
using namespace chorus::protocol;

namespace {

const rtp::rtp_capabilities& router() {
  static const rtp::rtp_capabilities caps = *rtp::generate_router_capabilities(rtp::default_media_codecs());
  return caps;
}

transport_params our_transport() {
  transport_params t;
  t.id = "t1";
  t.ice_parameters = {"chorusufrag0001", "chorus-password-0123456789", true};
  t.ice_candidates = {{"udp1", 2130706431, "192.0.2.10", 40000, "udp", "host", ""},
                      {"tcp1", 1518280447, "192.0.2.10", 40000, "tcp", "host", "passive"}};
  t.dtls_parameters.role = net::dtls_role::auto_;
  t.dtls_parameters.fingerprints = {{"sha-256", "AA:BB:CC"}, {"sha-512", "DD:EE"}};
  return t;
}

std::string codec_names(const rtp::rtp_parameters& p) {
  std::string out;
  for (const auto& c : p.codecs)
    out += (out.empty() ? "" : " ") + c.mime_type + "/" + std::to_string(c.payload_type);
  return out;
}

} // namespace

TEST_CASE("whip: Chromium's offer: Opus, VP8 in three simulcast layers by rid, one transport") {
  auto offer = parse_sdp(read_sdp_fixture("chromium-156-sendonly-simulcast.sdp"));
  REQUIRE(offer.ok());
  auto w = read_whip_offer(*offer, router());
  REQUIRE_MESSAGE(w.ok(), w.error());
  CHECK(w->transport.ice_ufrag == "hAmj");
  CHECK(w->transport.ice_pwd == "dcuJOWE6r/Q1k1lCNaECYV1D");
  CHECK(w->transport.dtls.role == net::dtls_role::client); // actpass: we are the DTLS server
  REQUIRE(w->transport.dtls.fingerprints.size() == 1);
  CHECK(w->transport.dtls.fingerprints[0].algorithm == "sha-256");
  CHECK(w->bundle_mids == std::vector<std::string>{"0", "1"});
  REQUIRE(w->tracks.size() == 2);

  const auto& audio = w->tracks[0];
  CHECK(audio.kind == rtp::media_kind::audio);
  CHECK(audio.parameters.mid == "0");
  CHECK(codec_names(audio.parameters) == "audio/opus/111");
  CHECK(audio.parameters.codecs[0].channels == 2);
  REQUIRE(audio.parameters.encodings.size() == 1);
  CHECK(audio.parameters.encodings[0].ssrc == 1656121581u);
  CHECK(audio.parameters.rtcp.cname == "HsoLCKbE7Rn7wzY8");
  const auto* fec = rtp::find_param(audio.parameters.codecs[0].parameters, "useinbandfec");
  REQUIRE(fec);
  CHECK(fec->numeric);

  const auto& video = w->tracks[1];
  CHECK(video.kind == rtp::media_kind::video);
  CHECK(codec_names(video.parameters) == "video/VP8/96 video/rtx/97");
  REQUIRE(video.parameters.encodings.size() == 3);
  CHECK(video.parameters.encodings[0].rid == "q");
  CHECK(video.parameters.encodings[2].rid == "f");
  CHECK(video.parameters.encodings[0].ssrc == 0); // learnt from the first packets
  bool rid_ext = false;
  for (const auto& e : video.parameters.header_extensions)
    rid_ext = rid_ext || (e.uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" && e.id == 10);
  CHECK(rid_ext);
  // What the produce request maps to: simulcast of three.
  auto mapped = rtp::map_producer(router(), video.kind, video.parameters);
  REQUIRE(mapped.ok());
  CHECK(mapped->simulcast());

  // The answer, read back.
  const std::string text = write_whip_answer(*offer, *w, our_transport(), 77);
  auto answer = parse_sdp(text);
  REQUIRE_MESSAGE(answer.ok(), answer.error());
  CHECK(answer->ice_lite);
  CHECK(answer->bundle_mids == std::vector<std::string>{"0", "1"});
  REQUIRE(answer->media.size() == 2);
  for (const auto& m : answer->media) {
    CHECK(m.direction == "recvonly");
    CHECK(m.setup == "passive");
    CHECK(m.ice_ufrag == "chorusufrag0001");
    REQUIRE(m.fingerprint);
    CHECK(m.fingerprint->algorithm == "sha-256");
    CHECK(m.port == 40000);
    CHECK(m.connection_address == "192.0.2.10");
    REQUIRE(m.candidates.size() == 2);
    CHECK(m.candidates[1].tcp_type == "passive");
    CHECK(m.end_of_candidates);
  }
  CHECK(answer->media[0].formats == std::vector<std::string>{"111"});
  CHECK(answer->media[0].codec("opus")->fmtp == "minptime=10;useinbandfec=1");
  CHECK(answer->media[1].formats == std::vector<std::string>{"96", "97"});
  CHECK(answer->media[1].codec("VP8")->feedback ==
        std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"});
  CHECK(answer->media[1].codec(uint8_t(97))->parameter("apt") == "96");
  CHECK(answer->media[1].simulcast == "recv q;h;f");
  REQUIRE(answer->media[1].rids.size() == 3);
  CHECK(answer->media[1].rids[0].direction == "recv");
  CHECK(answer->media[1].extmap_id("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id") == 10);

  // After an ICE restart: the fragment (RFC 8840) with the transport's credentials, per mid.
  CHECK(write_ice_fragment(w->bundle_mids, our_transport()) ==
        "a=ice-lite\r\na=ice-ufrag:chorusufrag0001\r\na=ice-pwd:chorus-password-0123456789\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"
        "a=candidate:udp1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"
        "a=candidate:tcp1 1 tcp 1518280447 192.0.2.10 40000 typ host tcptype passive\r\na=end-of-candidates\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\n"
        "a=candidate:udp1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"
        "a=candidate:tcp1 1 tcp 1518280447 192.0.2.10 40000 typ host tcptype passive\r\na=end-of-candidates\r\n");
}

TEST_CASE("whip: Firefox's offer: session-level fingerprint, rid simulcast with SSRCs listed") {
  auto offer = parse_sdp(read_sdp_fixture("firefox-153esr-sendonly-simulcast.sdp"));
  REQUIRE(offer.ok());
  auto w = read_whip_offer(*offer, router());
  REQUIRE_MESSAGE(w.ok(), w.error());
  CHECK(w->transport.ice_ufrag == "664e0f52");
  CHECK(w->transport.dtls.fingerprints[0].value.starts_with("C4:06:B6:24"));
  REQUIRE(w->tracks.size() == 2);
  CHECK(codec_names(w->tracks[0].parameters) == "audio/opus/109");
  CHECK(codec_names(w->tracks[1].parameters) == "video/VP8/120 video/rtx/124");
  REQUIRE(w->tracks[1].parameters.encodings.size() == 3); // by rid, not by its SSRCs
  CHECK(w->tracks[1].parameters.encodings[1].rid == "h");
  // Firefox's csrc-audio-level is recvonly on its side: not something it sends.
  for (const auto& e : w->tracks[0].parameters.header_extensions)
    CHECK(e.uri != "urn:ietf:params:rtp-hdrext:csrc-audio-level");
  auto answer = parse_sdp(write_whip_answer(*offer, *w, our_transport(), 78));
  REQUIRE(answer.ok());
  CHECK(answer->media[1].simulcast == "recv q;h;f");
}

TEST_CASE("whip: GStreamer's webrtcbin offer: max-bundle, the audio m-line bundle-only with port 0") {
  auto offer = parse_sdp(read_sdp_fixture("gstreamer-1.22-webrtcbin-sendonly.sdp"));
  REQUIRE_MESSAGE(offer.ok(), offer.error());
  REQUIRE(offer->media.size() == 2);
  CHECK(offer->media[1].port == 0);
  CHECK(offer->media[1].bundle_only);
  CHECK_FALSE(offer->media[1].rejected());
  CHECK(offer->media[1].rtcp_mux_only);
  auto w = read_whip_offer(*offer, router());
  REQUIRE_MESSAGE(w.ok(), w.error());
  CHECK(w->bundle_mids == std::vector<std::string>{"video0", "audio1"});
  REQUIRE(w->tracks.size() == 2);
  CHECK(codec_names(w->tracks[0].parameters) == "video/VP8/96");
  CHECK(codec_names(w->tracks[1].parameters) == "audio/OPUS/111"); // as written; matched case-blind
  CHECK(w->tracks[1].parameters.encodings[0].ssrc == 3757392738u);
  CHECK(w->tracks[1].parameters.rtcp.cname == "user2518744946@host-5f94e942");
  auto answer = parse_sdp(write_whip_answer(*offer, *w, our_transport(), 80));
  REQUIRE(answer.ok());
  CHECK(answer->bundle_mids == std::vector<std::string>{"video0", "audio1"});
  CHECK(answer->media[1].port == 40000); // taken, not rejected
  CHECK(answer->media[1].direction == "recvonly");
}

TEST_CASE("whip: an offer in OBS 30's form (libdatachannel): session-level ICE, DTLS role and fingerprint, H264 without rtx, no header extensions") {
  auto offer = parse_sdp(read_sdp_fixture("obs-30-form-sendonly.sdp"));
  REQUIRE_MESSAGE(offer.ok(), offer.error());
  auto w = read_whip_offer(*offer, router());
  REQUIRE_MESSAGE(w.ok(), w.error());
  CHECK(w->bundle_mids == std::vector<std::string>{"0", "1"});
  CHECK(w->transport.dtls.role == net::dtls_role::client); // a=setup:actpass at session level: we are the DTLS server
  REQUIRE(w->tracks.size() == 2);
  CHECK(codec_names(w->tracks[0].parameters) == "audio/opus/111");
  CHECK(codec_names(w->tracks[1].parameters) == "video/H264/96");
  const auto& video = w->tracks[1].parameters;
  REQUIRE(video.encodings.size() == 1);
  CHECK(video.encodings[0].ssrc == 3854737776u);
  CHECK(video.encodings[0].rtx_ssrc == 0);
  CHECK(video.rtcp.cname == "N6ZSm3Ot68nwBe37");
  CHECK(video.header_extensions.empty());
  auto answer = parse_sdp(write_whip_answer(*offer, *w, our_transport(), 81));
  REQUIRE(answer.ok());
  REQUIRE(answer->media.size() == 2);
  for (const auto& m : answer->media) {
    CHECK(m.port == 40000);
    CHECK(m.direction == "recvonly");
    CHECK(m.setup == "passive");
  }
  REQUIRE(answer->media[1].codecs.size() == 1);
  CHECK(answer->media[1].codecs[0].name == "H264");
  CHECK(answer->media[1].codecs[0].payload_type == 96);
}

TEST_CASE("whip: OBS's offer (libdatachannel): candidates in each m-line, an IPv6 link-local one, "
          "end-of-candidates, the video SSRC one above the audio's") {
  auto offer = parse_sdp(read_sdp_fixture("obs-libdatachannel-sendonly.sdp"));
  REQUIRE_MESSAGE(offer.ok(), offer.error());
  REQUIRE(offer->media.size() == 2);
  CHECK(offer->media[0].port == 4557);
  auto w = read_whip_offer(*offer, router());
  REQUIRE_MESSAGE(w.ok(), w.error());
  CHECK(w->bundle_mids == std::vector<std::string>{"0", "1"});
  CHECK(w->transport.ice_ufrag == "E2Fr");
  CHECK(w->transport.ice_pwd == "OpQzg1PAwUdeOB244chlgd");
  CHECK(w->transport.dtls.role == net::dtls_role::client);
  REQUIRE(w->tracks.size() == 2);
  CHECK(codec_names(w->tracks[0].parameters) == "audio/opus/111");
  CHECK(codec_names(w->tracks[1].parameters) == "video/H264/96");
  CHECK(w->tracks[0].parameters.encodings[0].ssrc == 1349455989u);
  CHECK(w->tracks[1].parameters.encodings[0].ssrc == 1349455990u);
  CHECK(w->tracks[1].parameters.rtcp.cname == "0X2NGAsK9XcmnsuZ");
  auto answer = parse_sdp(write_whip_answer(*offer, *w, our_transport(), 82));
  REQUIRE(answer.ok());
  REQUIRE(answer->media.size() == 2);
  for (const auto& m : answer->media) {
    CHECK(m.direction == "recvonly");
    CHECK(m.setup == "passive");
  }
  CHECK(answer->media[1].codecs.at(0).name == "H264");
}

TEST_CASE("whip: one SSRC with its retransmission pair, a codec the router lacks skipped, "
          "a data channel and a receive-only line rejected") {
  const std::string text =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE v d r\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
    "a=fingerprint:sha-256 01:02\r\na=setup:passive\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 35 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\na=sendonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:35 H265/90000\r\na=rtpmap:96 H264/90000\r\n"
    "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 x-unknown\r\n"
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
    "a=ssrc-group:FID 1111 2222\r\na=ssrc:1111 cname:obs\r\na=ssrc:2222 cname:obs\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:d\r\na=sctp-port:5000\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:r\r\na=recvonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n";
  auto offer = parse_sdp(text);
  REQUIRE_MESSAGE(offer.ok(), offer.error());
  auto w = read_whip_offer(*offer, router());
  REQUIRE_MESSAGE(w.ok(), w.error());
  CHECK(w->transport.dtls.role == net::dtls_role::server); // the client is passive: we connect
  REQUIRE(w->tracks.size() == 1);
  const auto& p = w->tracks[0].parameters;
  CHECK(codec_names(p) == "video/H264/96 video/rtx/97");
  CHECK(p.codecs[0].rtcp_feedback.size() == 2); // x-unknown is not the router's
  const auto* mode = rtp::find_param(p.codecs[0].parameters, "packetization-mode");
  REQUIRE(mode);
  CHECK(mode->numeric);
  CHECK_FALSE(rtp::find_param(p.codecs[0].parameters, "profile-level-id")->numeric);
  REQUIRE(p.encodings.size() == 1);
  CHECK(p.encodings[0].ssrc == 1111);
  CHECK(p.encodings[0].rtx_ssrc == 2222);
  CHECK(p.rtcp.cname == "obs");

  auto answer = parse_sdp(write_whip_answer(*offer, *w, our_transport(), 79));
  REQUIRE(answer.ok());
  CHECK(answer->bundle_mids == std::vector<std::string>{"v"});
  CHECK(answer->media[0].setup == "active");
  CHECK(answer->media[1].rejected());
  CHECK(answer->media[1].mid == "d");
  CHECK(answer->media[1].formats == std::vector<std::string>{"webrtc-datachannel"});
  CHECK(answer->media[2].rejected());
  CHECK(answer->media[2].direction == "inactive");
}

TEST_CASE("whip: offers refused, each with its reason") {
  const std::string head =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
    "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\na=fingerprint:sha-256 01:02\r\n";
  const std::string opus = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\n"
                           "a=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:5 cname:c\r\n";
  struct row {
    const char* name;
    std::string text;
    const char* reason;
  };
  const row rows[] = {
    {"nothing to send", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=recvonly\r\na=rtpmap:111 opus/48000/2\r\n",
     "no audio or video to send"},
    {"no ICE credentials",
     "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 01:02\r\n" + opus, "no ICE credentials"},
    {"no fingerprint", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n" + opus,
     "no DTLS fingerprint"},
    {"holdconn", head + "a=setup:holdconn\r\n" + opus, "a=setup:holdconn"},
    {"no mid", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:5 cname:c\r\n",
     "no a=mid"},
    {"no rtcp-mux", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:5 cname:c\r\n",
     "no a=rtcp-mux"},
    {"no codec the router has", head + "m=audio 9 UDP/TLS/RTP/SAVPF 9\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:9 G722/8000\r\na=ssrc:5 cname:c\r\n",
     "none of its codecs"},
    {"no ssrc, no rid", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n",
     "neither a=ssrc nor a=rid"},
    {"rid without its extension", head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
     "a=rid:a send\r\na=rid:b send\r\na=simulcast:send a;b\r\n", "without the rtp-stream-id header extension"},
    {"five simulcast layers", head + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n"
     "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\na=simulcast:send a;b;c;d;e\r\n", "5 simulcast layers"},
    {"rid on audio", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
     "a=rid:a send\r\n", "simulcast (a=rid) on audio"},
    {"not in the bundle", head + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:7\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=ssrc:5 cname:c\r\n",
     "not in the BUNDLE group"},
    {"two transports", head + opus + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ice-ufrag:other\r\na=sendonly\r\na=rtcp-mux\r\n"
     "a=rtpmap:96 VP8/90000\r\na=ssrc:6 cname:c\r\n", "differ from the first track's"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto offer = parse_sdp(r.text);
    REQUIRE_MESSAGE(offer.ok(), offer.error());
    auto w = read_whip_offer(*offer, router());
    REQUIRE_FALSE(w.ok());
    CHECK_MESSAGE(w.error().find(r.reason) != std::string::npos, w.error());
  }
}
