// protocol/sdp: real offers of Chromium and Firefox (tests/fixtures/sdp/, captured as a WHIP
// client publishes: audio, and video in three simulcast layers) read field by field; every
// description written and read again is the same; malformed input of each kind fails with
// the line named.
#include "protocol/sdp.hpp"

#include "sdp_fixture.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus::protocol;

namespace {

// Two descriptions that hold the same (the writer's order is its own).
void check_same(const session_description& a, const session_description& b) {
  CHECK(a.origin_session_id == b.origin_session_id);
  CHECK(a.origin_version == b.origin_version);
  CHECK(a.bundle_mids == b.bundle_mids);
  CHECK(a.ice_lite == b.ice_lite);
  CHECK(a.ice_options == b.ice_options);
  CHECK(a.ice_ufrag == b.ice_ufrag);
  CHECK(a.ice_pwd == b.ice_pwd);
  CHECK(a.fingerprint.has_value() == b.fingerprint.has_value());
  CHECK(a.setup == b.setup);
  CHECK(a.extmap_allow_mixed == b.extmap_allow_mixed);
  CHECK(a.msid_semantic == b.msid_semantic);
  REQUIRE(a.media.size() == b.media.size());
  for (std::size_t i = 0; i < a.media.size(); ++i) {
    const auto &x = a.media[i], &y = b.media[i];
    CAPTURE(i);
    CHECK(x.kind == y.kind);
    CHECK(x.port == y.port);
    CHECK(x.protocol == y.protocol);
    CHECK(x.formats == y.formats);
    CHECK(x.mid == y.mid);
    CHECK(x.direction == y.direction);
    CHECK(x.rtcp_mux == y.rtcp_mux);
    CHECK(x.rtcp_rsize == y.rtcp_rsize);
    CHECK(x.bundle_only == y.bundle_only);
    REQUIRE(x.codecs.size() == y.codecs.size());
    for (std::size_t c = 0; c < x.codecs.size(); ++c) {
      CHECK(x.codecs[c].payload_type == y.codecs[c].payload_type);
      CHECK(x.codecs[c].name == y.codecs[c].name);
      CHECK(x.codecs[c].clock_rate == y.codecs[c].clock_rate);
      CHECK(x.codecs[c].channels == y.codecs[c].channels);
      CHECK(x.codecs[c].feedback == y.codecs[c].feedback);
      CHECK(x.codecs[c].fmtp == y.codecs[c].fmtp);
    }
    REQUIRE(x.extmaps.size() == y.extmaps.size());
    for (std::size_t e = 0; e < x.extmaps.size(); ++e) {
      CHECK(x.extmaps[e].id == y.extmaps[e].id);
      CHECK(x.extmaps[e].direction == y.extmaps[e].direction);
      CHECK(x.extmaps[e].uri == y.extmaps[e].uri);
    }
    CHECK(x.ssrcs == y.ssrcs);
    CHECK(x.fid_pairs() == y.fid_pairs());
    CHECK(x.cname == y.cname);
    CHECK(x.msid == y.msid);
    REQUIRE(x.rids.size() == y.rids.size());
    for (std::size_t r = 0; r < x.rids.size(); ++r) {
      CHECK(x.rids[r].id == y.rids[r].id);
      CHECK(x.rids[r].direction == y.rids[r].direction);
      CHECK(x.rids[r].restrictions == y.rids[r].restrictions);
    }
    CHECK(x.send_rids() == y.send_rids());
    CHECK(x.connection_address == y.connection_address);
    CHECK(x.bandwidth_as == y.bandwidth_as);
    CHECK(x.bandwidth_tias == y.bandwidth_tias);
    CHECK(x.ice_options == y.ice_options);
    CHECK(x.rtcp_mux_only == y.rtcp_mux_only);
    CHECK(x.simulcast == y.simulcast);
    CHECK(x.ice_ufrag == y.ice_ufrag);
    CHECK(x.ice_pwd == y.ice_pwd);
    CHECK(x.setup == y.setup);
    REQUIRE(x.candidates.size() == y.candidates.size());
    for (std::size_t c = 0; c < x.candidates.size(); ++c)
      CHECK(x.candidates[c].to_attribute() == y.candidates[c].to_attribute());
    CHECK(x.end_of_candidates == y.end_of_candidates);
    CHECK(x.sctp_port == y.sctp_port);
    CHECK(x.max_message_size == y.max_message_size);
  }
}

void check_round_trip(const session_description& d) {
  auto again = parse_sdp(write_sdp(d));
  REQUIRE_MESSAGE(again.ok(), again.error());
  check_same(d, *again);
}

} // namespace

TEST_CASE("sdp: Chromium 156's sendonly offer with three simulcast layers") {
  auto d = parse_sdp(read_sdp_fixture("chromium-156-sendonly-simulcast.sdp"));
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(d->bundle_mids == std::vector<std::string>{"0", "1"});
  CHECK(d->extmap_allow_mixed);
  REQUIRE(d->media.size() == 2);

  const auto& a = d->media[0];
  CHECK(a.kind == "audio");
  CHECK(a.mid == "0");
  CHECK(a.direction == "sendonly");
  CHECK(a.rtcp_mux);
  CHECK(a.ice_ufrag == "hAmj");
  CHECK(d->effective_pwd(0) == "dcuJOWE6r/Q1k1lCNaECYV1D");
  REQUIRE(d->effective_fingerprint(0));
  CHECK(d->effective_fingerprint(0)->algorithm == "sha-256");
  CHECK(d->effective_fingerprint(0)->value.starts_with("69:1F:D1:D5"));
  CHECK(d->effective_setup(0) == "actpass");
  const auto* opus = a.codec("opus");
  REQUIRE(opus);
  CHECK(opus->payload_type == 111);
  CHECK(opus->channels == 2);
  CHECK(opus->feedback == std::vector<std::string>{"transport-cc"});
  CHECK(opus->parameter("useinbandfec") == "1");
  CHECK_FALSE(opus->parameter("stereo"));
  const auto* red = a.codec("red");
  REQUIRE(red);
  CHECK(red->fmtp == "111/111");
  CHECK(a.extmap_id("urn:ietf:params:rtp-hdrext:sdes:mid") == 4);
  CHECK(a.ssrcs == std::vector<uint32_t>{1656121581u});
  CHECK(a.cname == "HsoLCKbE7Rn7wzY8");
  // Candidates: UDP and active TCP, IPv4 and IPv6.
  REQUIRE(a.candidates.size() == 8);
  CHECK(a.candidates[0].address == "127.0.0.1");
  CHECK(a.candidates[0].port == 38738);
  CHECK(a.candidates[0].transport == "udp");
  CHECK(a.candidates[2].address == "::1");
  CHECK(a.candidates[4].transport == "tcp");
  CHECK(a.candidates[4].tcp_type == "active");
  CHECK(a.candidates[4].to_attribute() ==
        "candidate:3884580127 1 tcp 1518214911 127.0.0.1 9 typ host tcptype active");

  const auto& v = d->media[1];
  CHECK(v.kind == "video");
  CHECK(v.mid == "1");
  CHECK(v.formats.size() == 23);
  CHECK(v.codecs.size() == 23);
  const auto* vp8 = v.codec("VP8");
  REQUIRE(vp8);
  CHECK(vp8->payload_type == 96);
  CHECK(vp8->feedback == std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"});
  const auto* rtx = v.codec(uint8_t(97));
  REQUIRE(rtx);
  CHECK(rtx->name == "rtx");
  CHECK(rtx->parameter("apt") == "96");
  const auto* h264 = v.codec(uint8_t(108));
  REQUIRE(h264);
  CHECK(h264->parameter("profile-level-id") == "42e01f");
  CHECK(h264->parameter("packetization-mode") == "1");
  CHECK(v.codec("AV1"));
  CHECK(v.extmap_id("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id") == 10);
  CHECK(v.extmap_id("urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id") == 11);
  CHECK(v.extmap_id("https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension") == 12);
  // Simulcast by rid, without SSRCs.
  CHECK(v.ssrcs.empty());
  REQUIRE(v.rids.size() == 3);
  CHECK(v.rids[0].id == "q");
  CHECK(v.rids[0].direction == "send");
  CHECK(v.simulcast == "send q;h;f");
  CHECK(v.send_rids() == std::vector<std::string>{"q", "h", "f"});

  check_round_trip(*d);
}

TEST_CASE("sdp: Firefox 153 ESR's sendonly offer with three simulcast layers") {
  auto d = parse_sdp(read_sdp_fixture("firefox-153esr-sendonly-simulcast.sdp"));
  REQUIRE_MESSAGE(d.ok(), d.error());
  // Firefox: the fingerprint at session level, ICE credentials per m-line, fmtp and
  // rtcp-fb before rtpmap, extmap directions, RTCP candidates (component 2), mDNS names.
  REQUIRE(d->fingerprint);
  CHECK_FALSE(d->media[0].fingerprint);
  CHECK(d->effective_fingerprint(1)->value.starts_with("C4:06:B6:24"));
  CHECK(d->ice_options == std::vector<std::string>{"trickle"});
  CHECK(d->extmap_allow_mixed); // written on each m-line
  REQUIRE(d->media.size() == 2);

  const auto& a = d->media[0];
  CHECK(a.direction == "sendonly");
  CHECK(d->effective_ufrag(0) == "664e0f52");
  const auto* opus = a.codec("opus");
  REQUIRE(opus);
  CHECK(opus->payload_type == 109);
  CHECK(opus->parameter("stereo") == "1");
  CHECK(opus->feedback == std::vector<std::string>{"transport-cc"});
  REQUIRE(a.extmaps.size() == 4);
  CHECK(a.extmaps[1].id == 2);
  CHECK(a.extmaps[1].direction == "recvonly");
  CHECK(a.extmaps[1].uri == "urn:ietf:params:rtp-hdrext:csrc-audio-level");
  CHECK(a.end_of_candidates);
  REQUIRE(a.candidates.size() == 8);
  CHECK(a.candidates[0].address.ends_with(".local"));
  CHECK(a.candidates[4].component == 2);
  CHECK(a.candidates[0].transport == "udp"); // written "UDP"

  const auto& v = d->media[1];
  const auto* vp8 = v.codec("VP8");
  REQUIRE(vp8);
  CHECK(vp8->payload_type == 120);
  CHECK(vp8->parameter("max-fs") == "12288");
  CHECK(vp8->feedback.size() == 5);
  CHECK(v.codec(uint8_t(124))->parameter("apt") == "120");
  CHECK(v.send_rids() == std::vector<std::string>{"q", "h", "f"});
  // Firefox also lists an SSRC pair per layer.
  CHECK(v.ssrcs.size() == 6);
  REQUIRE(v.fid_pairs().size() == 3);
  CHECK(v.fid_pairs()[0] == std::pair<uint32_t, uint32_t>{2233776273u, 3475870536u});
  CHECK(v.cname == "{afe673fd-03b9-43ea-9bac-d837f3174a30}");
  CHECK(v.extmap_id("urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id") == 9);

  check_round_trip(*d);
}

TEST_CASE("sdp: an answer built as a struct is written whole and reads back the same") {
  session_description d;
  d.origin_session_id = "4611731400430051336";
  d.origin_version = "2";
  d.bundle_mids = {"0", "1", "2"};
  d.ice_lite = true;
  d.extmap_allow_mixed = true;
  d.msid_semantic = " WMS *";
  sdp_media audio;
  audio.kind = "audio";
  audio.port = 40000;
  audio.protocol = "UDP/TLS/RTP/SAVPF";
  audio.formats = {"111"};
  audio.connection_address = "192.0.2.10";
  audio.mid = "0";
  audio.direction = "recvonly";
  audio.rtcp_mux = true;
  audio.ice_ufrag = "chorusufrag";
  audio.ice_pwd = "chorus-password-of-twenty-two";
  audio.ice_options = {"ice2"};
  audio.fingerprint = sdp_fingerprint{"sha-256", "AB:CD"};
  audio.setup = "passive";
  audio.codecs = {sdp_codec{111, "opus", 48000, 2, {"transport-cc"}, "minptime=10;useinbandfec=1"}};
  audio.extmaps = {sdp_extmap{4, "", "urn:ietf:params:rtp-hdrext:sdes:mid"}};
  audio.candidates = {*parse_candidate("candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host"),
                      *parse_candidate("candidate:2 1 tcp 1518280447 192.0.2.10 40000 typ host tcptype passive")};
  audio.end_of_candidates = true;
  sdp_media video = audio;
  video.kind = "video";
  video.mid = "1";
  video.formats = {"96", "97"};
  video.codecs = {sdp_codec{96, "VP8", 90000, 0, {"nack", "nack pli", "ccm fir"}, {}},
                  sdp_codec{97, "rtx", 90000, 0, {}, "apt=96"}};
  video.rids = {sdp_rid{"q", "recv", {}}, sdp_rid{"h", "recv", "max-width=640"}};
  video.simulcast = "recv q;h";
  video.bandwidth_as = 2500;
  sdp_media data;
  data.kind = "application";
  data.port = 40000;
  data.protocol = "UDP/DTLS/SCTP";
  data.formats = {"webrtc-datachannel"};
  data.mid = "2";
  data.sctp_port = 5000;
  data.max_message_size = 262144;
  d.media = {audio, video, data};

  const std::string text = write_sdp(d);
  CHECK(text.starts_with("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"));
  CHECK(text.find("a=group:BUNDLE 0 1 2\r\n") != std::string::npos);
  CHECK(text.find("a=ice-lite\r\n") != std::string::npos);
  CHECK(text.find("m=video 40000 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 192.0.2.10\r\nb=AS:2500\r\n") != std::string::npos);
  CHECK(text.find("a=rid:h recv max-width=640\r\n") != std::string::npos);
  CHECK(text.find("a=candidate:2 1 tcp 1518280447 192.0.2.10 40000 typ host tcptype passive\r\n") != std::string::npos);
  CHECK(text.find("a=sctp-port:5000\r\n") != std::string::npos);
  CHECK(text.find('\n') == text.find("\r\n") + 1); // CRLF
  CHECK(text.ends_with("\r\n"));
  check_round_trip(d);

  auto back = parse_sdp(text);
  REQUIRE(back.ok());
  CHECK(back->find_mid("1")->codec("rtx")->parameter("apt") == "96");
  CHECK(back->find_mid("2")->max_message_size == 262144);
  CHECK_FALSE(back->find_mid("3"));
}

TEST_CASE("sdp: candidates with related addresses and extensions") {
  struct row {
    const char* name;
    const char* line;
    const char* written; // nullptr: refused
  };
  const row rows[] = {
    {"host UDP, generation and network-id skipped", "a=candidate:1 1 UDP 2122260223 10.0.0.5 54321 typ host generation 0 network-id 1",
     "candidate:1 1 udp 2122260223 10.0.0.5 54321 typ host"},
    {"server reflexive with raddr and rport", "candidate:2 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 10.0.0.5 rport 54321",
     "candidate:2 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr 10.0.0.5 rport 54321"},
    {"relay over TCP passive", "candidate:3 1 tcp 41885439 198.51.100.2 3478 typ relay raddr 0.0.0.0 rport 0 tcptype passive",
     "candidate:3 1 tcp 41885439 198.51.100.2 3478 typ relay raddr 0.0.0.0 rport 0 tcptype passive"},
    {"an mDNS name", "candidate:0 1 UDP 2122187007 af12a3c1-6aaf-4392-abba-44adfd8312f9.local 39440 typ host",
     "candidate:0 1 udp 2122187007 af12a3c1-6aaf-4392-abba-44adfd8312f9.local 39440 typ host"},
    {"rport without raddr is forgotten", "candidate:4 1 udp 1 10.0.0.1 5000 typ host rport 9", "candidate:4 1 udp 1 10.0.0.1 5000 typ host"},
    {"port out of range", "candidate:1 1 udp 1 10.0.0.1 99999 typ host", nullptr},
    {"no typ", "candidate:1 1 udp 1 10.0.0.1 5000 host", nullptr},
    {"a transport that is neither", "candidate:1 1 sctp 1 10.0.0.1 5000 typ host", nullptr},
    {"a bad tcptype", "candidate:1 1 tcp 1 10.0.0.1 9 typ host tcptype sideways", nullptr},
    {"a bad rport", "candidate:1 1 udp 1 10.0.0.1 5000 typ srflx raddr 10.0.0.2 rport x", nullptr},
    {"not a candidate", "a=ice-ufrag:x", nullptr},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto c = parse_candidate(r.line);
    if (!r.written) {
      CHECK_FALSE(c.ok());
      continue;
    }
    REQUIRE_MESSAGE(c.ok(), c.error());
    CHECK(c->to_attribute() == r.written);
  }
}

TEST_CASE("sdp: malformed input fails with the line and what is wrong") {
  const std::string head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  const std::string media = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
  struct row {
    const char* name;
    std::string text;
    const char* error; // a part of the message
  };
  const row rows[] = {
    {"empty", "", "empty SDP"},
    {"v= not first", "o=- 1 1 IN IP4 0.0.0.0\r\n", "line 1: v=0 must come first"},
    {"version 1", "v=1\r\n", "unsupported version"},
    {"two v= lines", "v=0\r\nv=0\r\n", "line 2: unsupported version"},
    {"not type=value", "v=0\r\ngarbage\r\n", "line 2: not a type=value line"},
    {"short o=", "v=0\r\no=- 1 1\r\n", "malformed o= line"},
    {"short m=", head + "m=audio\r\n", "line 5: malformed m= line"},
    {"m= port over 65535", head + "m=audio 70000 RTP/AVP 0\r\n", "bad m= port"},
    {"a control byte in m=", head + "m=audio 9 RTP/AVP 0\x01\r\n", "malformed m= line"},
    {"rtpmap payload type over 127", head + media + "a=rtpmap:200 x/1\r\n", "bad rtpmap payload type"},
    {"rtpmap without rate", head + media + "a=rtpmap:96 VP8\r\n", "rtpmap without clock rate"},
    {"rtpmap rate 0", head + media + "a=rtpmap:96 VP8/0\r\n", "bad rtpmap clock rate"},
    {"rtpmap twice", head + media + "a=rtpmap:96 VP8/90000\r\na=rtpmap:96 VP9/90000\r\n", "line 7: duplicate rtpmap"},
    {"fmtp without parameters", head + media + "a=fmtp:96\r\n", "malformed fmtp"},
    {"rtcp-fb payload type not a number", head + media + "a=rtcp-fb:x nack\r\n", "bad payload type in rtcp-fb"},
    {"extmap id 0", head + media + "a=extmap:0 urn:x\r\n", "bad extmap id"},
    {"extmap id 256", head + media + "a=extmap:256 urn:x\r\n", "bad extmap id"},
    {"extmap id twice", head + media + "a=extmap:3 urn:x\r\na=extmap:3 urn:y\r\n", "duplicate extmap id"},
    {"extmap direction", head + media + "a=extmap:3/upwards urn:x\r\n", "bad extmap direction"},
    {"fingerprint without value", head + media + "a=fingerprint:sha-256\r\n", "malformed fingerprint"},
    {"setup unknown", head + media + "a=setup:maybe\r\n", "malformed setup"},
    {"ssrc not a number", head + media + "a=ssrc:abc cname:x\r\n", "bad ssrc"},
    {"ssrc-group ssrc not a number", head + media + "a=ssrc-group:FID 1 x\r\n", "bad ssrc in ssrc-group"},
    {"rid direction", head + media + "a=rid:q sideways\r\n", "malformed rid"},
    {"simulcast naming what is not a rid id", head + media + "a=simulcast:send q;h;f\xC2ssrc:1\r\n", "malformed simulcast"},
    {"rid twice", head + media + "a=rid:q send\r\na=rid:q send\r\n", "duplicate rid"},
    {"a bad candidate", head + media + "a=candidate:1 1 udp 1 10.0.0.1 5000 host\r\n", "malformed candidate"},
    {"sctp-port over 65535", head + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sctp-port:70000\r\n", "bad sctp-port"},
    {"b=AS not a number", head + media + "b=AS:lots\r\n", "bad b= value"},
    {"a line over the bound", head + "a=x:" + std::string(max_line_bytes, 'y') + "\r\n", "line 5: line over"},
    {"a text over the bound", head + std::string(max_sdp_bytes, 'a'), "SDP over"},
  };
  for (const auto& r : rows) {
    INFO(r.name);
    auto d = parse_sdp(r.text);
    REQUIRE_FALSE(d.ok());
    CHECK_MESSAGE(d.error().find(r.error) != std::string::npos, d.error());
  }

  std::string many = head;
  for (std::size_t i = 0; i <= max_media; ++i)
    many += "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
  auto d = parse_sdp(many);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().find("more than 64 m-lines") != std::string::npos);
}

TEST_CASE("sdp: what the parser skips and what it keeps") {
  // LF line ends, unknown attributes and line types, static payload types without rtpmap,
  // a=rtcp-fb:* and rtcp-fb before rtpmap.
  auto d = parse_sdp("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\nz=whatever\n"
                     "a=group:BUNDLE a\na=group:BUNDLE b\n"
                     "m=audio 9 RTP/AVP 0 96\na=x-unknown:1\na=rtcp-fb:96 nack\na=rtpmap:96 opus/48000/2\n"
                     "a=rtcp-fb:* transport-cc\na=fmtp:97 apt=96\na=mid:a\n");
  REQUIRE_MESSAGE(d.ok(), d.error());
  CHECK(d->bundle_mids == std::vector<std::string>{"a"}); // the first group
  const auto& m = d->media[0];
  REQUIRE(m.codecs.size() == 1); // PCMU (0) has no rtpmap; 97 has only an fmtp
  CHECK(m.codecs[0].feedback == std::vector<std::string>{"nack", "transport-cc"});
  CHECK(m.direction.empty());
  check_round_trip(*d);
}
