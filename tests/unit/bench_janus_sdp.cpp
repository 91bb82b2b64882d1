// bench/janus/sdp: the publisher offer and subscriber answer we build, and the parse of
// real Janus 1.1.2 VideoRoom descriptions (captured from the Debian package by
// `janus_probe --dump-sdp`, line ends normalised to LF; the parser accepts both).
#include "bench/janus/sdp.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <string>
#include <string_view>

using namespace chorus::janus;

namespace {

// Captured from Janus 1.1.2 (Debian 12) by janus_probe --dump-sdp.
constexpr std::string_view janus_answer = R"sdp(v=0
o=- 58144 2 IN IP4 10.77.0.2
s=VideoRoom 1234
t=0 0
a=group:BUNDLE 0 1
a=ice-options:trickle
a=fingerprint:sha-256 0B:DB:4B:82:E1:99:D7:F1:41:2C:11:B9:CC:13:69:79:4A:D7:E6:40:C1:E0:EA:F1:78:42:2E:6E:E5:23:96:82
a=extmap-allow-mixed
a=msid-semantic: WMS *
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 10.77.0.2
a=recvonly
a=mid:0
a=rtcp-mux
a=ice-ufrag:8y23
a=ice-pwd:3R3tcCE2cD452OMml3o6sG
a=ice-options:trickle
a=setup:active
a=rtpmap:111 opus/48000/2
a=fmtp:111 useinbandfec=1
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=msid:janus janus0
a=ssrc:2637729014 cname:janus
a=candidate:1 1 udp 2015363327 10.77.0.2 20427 typ host
a=end-of-candidates
m=video 9 UDP/TLS/RTP/SAVPF 96
c=IN IP4 10.77.0.2
a=recvonly
a=mid:1
a=rtcp-mux
a=ice-ufrag:8y23
a=ice-pwd:3R3tcCE2cD452OMml3o6sG
a=ice-options:trickle
a=setup:active
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=msid:janus janus1
a=ssrc:1966008360 cname:janus
a=candidate:1 1 udp 2015363327 10.77.0.2 20427 typ host
a=end-of-candidates
)sdp";

// Captured from Janus 1.1.2 (Debian 12) by janus_probe --dump-sdp.
constexpr std::string_view janus_subscriber_offer = R"sdp(v=0
o=- 1795294132307763 1 IN IP4 10.77.0.2
s=VideoRoom 1234
t=0 0
a=group:BUNDLE 0 1
a=ice-options:trickle
a=fingerprint:sha-256 0B:DB:4B:82:E1:99:D7:F1:41:2C:11:B9:CC:13:69:79:4A:D7:E6:40:C1:E0:EA:F1:78:42:2E:6E:E5:23:96:82
a=extmap-allow-mixed
a=msid-semantic: WMS *
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 10.77.0.2
a=sendonly
a=mid:0
a=rtcp-mux
a=ice-ufrag:CicX
a=ice-pwd:QgZG+zbyJAb5G/07s9nxwB
a=ice-options:trickle
a=setup:actpass
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=fmtp:111 useinbandfec=1
a=msid:janus janus0
a=ssrc:95985379 cname:janus
a=candidate:1 1 udp 2015363327 10.77.0.2 20539 typ host
a=end-of-candidates
m=video 9 UDP/TLS/RTP/SAVPF 96 97
c=IN IP4 10.77.0.2
a=sendonly
a=mid:1
a=rtcp-mux
a=ice-ufrag:CicX
a=ice-pwd:QgZG+zbyJAb5G/07s9nxwB
a=ice-options:trickle
a=setup:actpass
a=rtpmap:96 VP8/90000
a=rtcp-fb:96 ccm fir
a=rtcp-fb:96 nack
a=rtcp-fb:96 nack pli
a=rtcp-fb:96 goog-remb
a=rtcp-fb:96 transport-cc
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=rtpmap:97 rtx/90000
a=fmtp:97 apt=96
a=ssrc-group:FID 1066127093 1722060362
a=msid:janus janus1
a=ssrc:1066127093 cname:janus
a=ssrc:1722060362 cname:janus
a=candidate:1 1 udp 2015363327 10.77.0.2 20539 typ host
a=end-of-candidates
)sdp";

local_transport_params local(uint16_t port) {
  local_transport_params t;
  t.ice_ufrag = "ufrag123";
  t.ice_pwd = "password0123456789abcdef";
  t.fingerprint = {"sha-256", "AA:BB:CC:DD"};
  sdp_candidate c;
  c.foundation = "1";
  c.component = 1;
  c.transport = "udp";
  c.priority = 2130706431;
  c.address = "10.77.0.1";
  c.port = port;
  c.type = "host";
  t.candidate = c;
  return t;
}

std::string crlf(std::string_view lf) {
  std::string s;
  for (char c : lf) {
    if (c == '\n')
      s += '\r';
    s += c;
  }
  return s;
}

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string_view::npos; p = hay.find(needle, p + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("janus sdp: Janus's answer to a publisher offer") {
  for (const std::string& text : {std::string(janus_answer), crlf(janus_answer)}) {
    auto d = parse_sdp(text);
    REQUIRE(d.ok());
    CHECK(d->bundle_mids == std::vector<std::string>{"0", "1"});
    CHECK_FALSE(d->ice_lite);
    REQUIRE(d->fingerprint);
    CHECK(d->fingerprint->algorithm == "sha-256");
    CHECK(d->fingerprint->value.starts_with("0B:DB:4B:82"));
    REQUIRE(d->media.size() == 2);

    const auto& a = d->media[0];
    CHECK(a.kind == "audio");
    CHECK(a.mid == "0");
    CHECK(a.direction == "recvonly");
    CHECK(a.rtcp_mux);
    CHECK(a.ice_ufrag == "8y23");
    CHECK(a.ice_pwd == "3R3tcCE2cD452OMml3o6sG");
    CHECK(a.setup == "active");
    REQUIRE(a.codec("opus"));
    CHECK(a.codec("opus")->payload_type == 111);
    CHECK(a.codec("opus")->clock_rate == 48000);
    CHECK(a.codec("opus")->channels == 2);
    CHECK(a.codec("opus")->fmtp == "useinbandfec=1");
    CHECK(a.extmap_id(ext_mid) == 4);
    CHECK_FALSE(a.extmap_id(ext_abs_send_time));
    CHECK(a.ssrcs == std::vector<uint32_t>{2637729014u});
    CHECK(a.cname == "janus");
    REQUIRE(a.candidates.size() == 1);
    CHECK(a.candidates[0].address == "10.77.0.2");
    CHECK(a.candidates[0].port == 20427);
    CHECK(a.candidates[0].transport == "udp");
    CHECK(a.candidates[0].type == "host");
    CHECK(a.candidates[0].priority == 2015363327u);
    CHECK(a.end_of_candidates);

    const auto& v = d->media[1];
    CHECK(v.kind == "video");
    CHECK(v.mid == "1");
    REQUIRE(v.codec("vp8"));
    CHECK(v.codec("VP8")->payload_type == 96);
    CHECK(v.codec(uint8_t(96))->clock_rate == 90000);
    CHECK(v.codec("VP8")->feedback ==
          std::vector<std::string>{"ccm fir", "nack", "nack pli", "goog-remb", "transport-cc"});
    CHECK(v.extmap_id(ext_mid) == 4);
    CHECK(v.extmap_id(ext_transport_cc) == 3);

    // Session-level fingerprint, media-level ICE and setup.
    CHECK(d->effective_fingerprint(1)->value == d->fingerprint->value);
    CHECK(d->effective_ufrag(1) == "8y23");
    CHECK(d->effective_setup(0) == "active");
    // BUNDLE: the same candidate on both m-lines counts once.
    CHECK(d->all_candidates().size() == 1);
  }
}

TEST_CASE("janus sdp: Janus's subscriber offer (multistream, rtx)") {
  auto d = parse_sdp(janus_subscriber_offer);
  REQUIRE(d.ok());
  REQUIRE(d->media.size() == 2);
  CHECK(d->media[0].direction == "sendonly");
  CHECK(d->media[0].setup == "actpass");
  CHECK(d->media[0].ssrcs == std::vector<uint32_t>{95985379u});
  const auto& v = d->media[1];
  CHECK(v.formats == std::vector<std::string>{"96", "97"});
  REQUIRE(v.codecs.size() == 2);
  CHECK(v.codec("rtx")->payload_type == 97);
  CHECK(v.codec("rtx")->fmtp == "apt=96");
  CHECK(v.fid_pairs() == std::vector<std::pair<uint32_t, uint32_t>>{{1066127093u, 1722060362u}});
  CHECK(v.ssrcs == std::vector<uint32_t>{1066127093u, 1722060362u});
  CHECK(v.extmap_id(ext_abs_send_time) == 2);
  CHECK(v.extmap_id(ext_transport_cc) == 3);
  CHECK(v.extmap_id(ext_mid) == 4);
  CHECK(v.candidates.at(0).port == 20539);
  CHECK(d->effective_pwd(1) == "QgZG+zbyJAb5G/07s9nxwB");
}

TEST_CASE("janus sdp: the recvonly answer to Janus's subscriber offer") {
  auto offer = parse_sdp(janus_subscriber_offer);
  REQUIRE(offer.ok());
  subscriber_answer_params p;
  p.transport = local(40000);
  p.audio_ssrc = 11;
  p.video_ssrc = 22;
  auto text = build_subscriber_answer(*offer, p);
  REQUIRE(text.ok());
  CHECK(count(*text, "a=setup:active\r\n") == 2);
  CHECK(count(*text, "a=recvonly\r\n") == 2);
  CHECK(count(*text, "a=candidate:") == 1); // once, BUNDLE
  CHECK(text->find("rtx") == std::string::npos);

  // Our own parser reads it back as Janus would.
  auto a = parse_sdp(*text);
  REQUIRE(a.ok());
  CHECK(a->bundle_mids == std::vector<std::string>{"0", "1"});
  REQUIRE(a->media.size() == 2);
  CHECK(a->media[0].codec("opus")->payload_type == 111);
  CHECK(a->media[1].formats == std::vector<std::string>{"96"});
  CHECK(a->media[1].codec("VP8")->feedback.size() == 5);
  CHECK(a->media[1].extmap_id(ext_abs_send_time) == 2); // the offer's ids
  CHECK(a->media[1].extmap_id(ext_transport_cc) == 3);
  CHECK(a->media[1].extmap_id(ext_mid) == 4);
  CHECK(a->media[0].ssrcs == std::vector<uint32_t>{11});
  CHECK(a->media[1].ssrcs == std::vector<uint32_t>{22});
  CHECK(a->effective_ufrag(1) == "ufrag123");
  CHECK(a->all_candidates().at(0).port == 40000);
  CHECK(a->media[0].end_of_candidates);
}

TEST_CASE("janus sdp: unsupported m-lines are rejected, none accepted is an error") {
  std::string offer(janus_subscriber_offer);
  offer += "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 10.77.0.2\r\n"
           "a=mid:2\r\na=sctp-port:5000\r\n";
  auto d = parse_sdp(offer);
  REQUIRE(d.ok());
  REQUIRE(d->media.size() == 3);
  subscriber_answer_params p;
  p.transport = local(40000);
  auto text = build_subscriber_answer(*d, p);
  REQUIRE(text.ok());
  auto a = parse_sdp(*text);
  REQUIRE(a.ok());
  REQUIRE(a->media.size() == 3);
  CHECK(a->media[2].rejected());
  CHECK(a->media[2].mid == "2");
  CHECK(a->bundle_mids == std::vector<std::string>{"0", "1"});

  auto only_h264 = parse_sdp("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                             "a=ice-ufrag:u\r\na=ice-pwd:p\r\na=fingerprint:sha-256 AA\r\n"
                             "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\n"
                             "a=rtpmap:102 H264/90000\r\n");
  REQUIRE(only_h264.ok());
  CHECK_FALSE(build_subscriber_answer(*only_h264, p).ok());
}

TEST_CASE("janus sdp: the publisher offer") {
  publisher_offer_params p;
  p.transport = local(40001);
  p.audio_ssrc = 1234;
  p.video_ssrc = 5678;
  p.session_id = 42;
  const std::string text = build_publisher_offer(p);
  CHECK(text.starts_with("v=0\r\no=- 42 2 IN IP4"));
  CHECK(count(text, "a=setup:actpass\r\n") == 2);
  CHECK(count(text, "a=sendonly\r\n") == 2);
  CHECK(count(text, "a=rtcp-mux\r\n") == 2);
  CHECK(count(text, "a=candidate:") == 1);
  CHECK(text.find("a=rtpmap:111 opus/48000/2\r\n") != std::string::npos);
  CHECK(text.find("a=rtpmap:96 VP8/90000\r\n") != std::string::npos);

  auto d = parse_sdp(text);
  REQUIRE(d.ok());
  CHECK(d->bundle_mids == std::vector<std::string>{"0", "1"});
  REQUIRE(d->media.size() == 2);
  const auto& a = d->media[0];
  const auto& v = d->media[1];
  CHECK(a.kind == "audio");
  CHECK(v.kind == "video");
  CHECK(a.mid == "0");
  CHECK(v.mid == "1");
  CHECK(a.codec("opus")->feedback == std::vector<std::string>{"transport-cc"});
  auto& fb = v.codec("VP8")->feedback;
  for (auto want : {"nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"})
    CHECK(std::find(fb.begin(), fb.end(), want) != fb.end());
  for (auto* m : {&a, &v}) {
    CHECK(m->extmap_id(ext_mid) == 4);
    CHECK(m->extmap_id(ext_abs_send_time) == 2);
    CHECK(m->extmap_id(ext_transport_cc) == 3);
    CHECK(m->ice_ufrag == "ufrag123");
    CHECK(m->fingerprint->value == "AA:BB:CC:DD");
    CHECK(m->cname == "chorus-bench");
    CHECK(m->port == 40001);
  }
  CHECK(a.ssrcs == std::vector<uint32_t>{1234});
  CHECK(v.ssrcs == std::vector<uint32_t>{5678});
  CHECK(d->all_candidates().size() == 1);

  p.audio = false;
  auto video_only = parse_sdp(build_publisher_offer(p));
  REQUIRE(video_only.ok());
  REQUIRE(video_only->media.size() == 1);
  CHECK(video_only->media[0].candidates.size() == 1);
  CHECK(video_only->bundle_mids == std::vector<std::string>{"1"});
}

TEST_CASE("janus sdp: candidates and malformed input") {
  auto c = parse_candidate("a=candidate:1 1 UDP 2015363327 10.77.0.2 20427 typ host generation 0");
  REQUIRE(c.ok());
  CHECK(c->transport == "udp");
  CHECK(c->to_attribute() == "candidate:1 1 udp 2015363327 10.77.0.2 20427 typ host");
  CHECK_FALSE(parse_candidate("candidate:1 1 udp 1 10.0.0.1 99999 typ host").ok());
  CHECK_FALSE(parse_candidate("candidate:1 1 udp 1 10.0.0.1 5000 host").ok());

  CHECK_FALSE(parse_sdp("").ok());
  CHECK_FALSE(parse_sdp("o=- 1 1 IN IP4 0.0.0.0\r\n").ok());  // v= first
  CHECK_FALSE(parse_sdp("v=0\r\nm=audio\r\n").ok());         // short m=
  CHECK_FALSE(parse_sdp("v=0\r\nm=audio 70000 RTP/AVP 0\r\n").ok());
  CHECK_FALSE(parse_sdp("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:200 x/1\r\n").ok());
  CHECK_FALSE(parse_sdp("v=0\r\nm=audio 9 RTP/AVP 0\r\na=extmap:0 urn:x\r\n").ok());
  CHECK_FALSE(parse_sdp("v=0\r\nm=audio 9 RTP/AVP 0\r\na=fingerprint:sha-256\r\n").ok());
  CHECK_FALSE(parse_sdp("v=0\r\ngarbage\r\n").ok());
  // a=rtcp-fb before a=rtpmap, and wildcard feedback.
  auto d = parse_sdp("v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 0\r\na=rtcp-fb:96 nack\r\n"
                     "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:* ccm fir\r\n");
  REQUIRE(d.ok());
  REQUIRE(d->media[0].codecs.size() == 1);
  CHECK(d->media[0].codecs[0].feedback == std::vector<std::string>{"nack", "ccm fir"});
}
