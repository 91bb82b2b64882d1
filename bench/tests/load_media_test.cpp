// The load generator's pure parts: synthetic RTP (headers, extensions, VP8 descriptors,
// frame sizes, stamps), the receiver's accounting (loss, duplicates, NACK, latency) and the
// router capabilities it reads.
#include "bench/load/media.hpp"
#include "bench/load/participant.hpp"
#include "bench/load/receive_side.hpp"
#include "bench/load/receiver.hpp"
#include "rtp/keyframe.hpp"
#include "rtp/rtp_packet.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::bench;

namespace {

struct frame {
  std::vector<std::vector<uint8_t>> packets;
  bool key = false;
};

frame next_frame(video_source& v, uint64_t now, uint16_t& tseq) {
  frame f;
  const std::size_t n = v.begin_frame(now);
  f.key = v.frame_is_key();
  std::vector<uint8_t> buf(max_rtp_packet);
  for (std::size_t i = 0; i < n; ++i) {
    auto b = v.build_packet(i, buf, tseq);
    REQUIRE(b.size > 0);
    f.packets.emplace_back(buf.begin(), buf.begin() + std::ptrdiff_t(b.size));
  }
  return f;
}

std::vector<uint8_t> audio_packet(uint16_t seq, uint32_t ssrc, uint64_t stamp) {
  std::vector<uint8_t> p(12 + 100, 0);
  rtp_fields f{100, false, seq, uint32_t(seq) * 960u, ssrc};
  REQUIRE(write_rtp_header(p, f, {}, "", 0) == 12);
  write_send_stamp(std::span<uint8_t>(p).subspan(12), stamp);
  return p;
}

} // namespace

TEST_CASE("media: RTP header with mid and transport-wide sequence number") {
  std::vector<uint8_t> out(64);
  rtp_fields f{101, true, 65535, 123456, 0xCAFEBABE};
  const std::size_t h = write_rtp_header(out, f, {1, 5}, "1", 0x1234);
  CHECK(h == 24); // 12 + 4 + (2 + 3 bytes of elements, padded to 8)
  out.resize(h + 10);
  auto p = rtp::rtp_packet::parse(out);
  REQUIRE(p);
  CHECK(p->marker());
  CHECK(p->payload_type() == 101);
  CHECK(p->sequence_number() == 65535);
  CHECK(p->timestamp() == 123456);
  CHECK(p->ssrc() == 0xCAFEBABE);
  CHECK(p->mid(1) == std::optional<std::string_view>("1"));
  CHECK(p->transport_wide_seq(5) == std::optional<uint16_t>(0x1234));
  CHECK(p->payload().size() == 10);
  // Out of range arguments write nothing.
  CHECK(write_rtp_header(out, {128, false, 0, 0, 1}, {}, "", 0) == 0);
  CHECK(write_rtp_header(out, f, {15, 0}, "1", 0) == 0);
}

TEST_CASE("media: send stamps round-trip in the last 8 bytes") {
  std::vector<uint8_t> payload(40, 0xAA);
  write_send_stamp(payload, 0x0102030405060708ull);
  CHECK(payload[31] == 0xAA);
  CHECK(payload[32] == 0x01);
  CHECK(read_send_stamp(payload) == std::optional<uint64_t>(0x0102030405060708ull));
  CHECK_FALSE(read_send_stamp(std::span<const uint8_t>(payload.data(), 7)));
}

TEST_CASE("media: VP8 frames, keyframes, markers, sizes and bitrate") {
  video_config c; // 1000 kbps, 30 fps, keyframe every 3 s
  const auto sizes = plan_frames(c);
  CHECK(double(sizes.key_bytes) == doctest::Approx(double(sizes.delta_bytes) * 5).epsilon(0.001));
  video_source v(c, {101, false, 1000, 5000, 42}, {1, 5}, "1", 0);
  uint16_t tseq = 7;
  uint64_t payload_bytes = 0;
  uint16_t expect_seq = 1000;
  int keyframes = 0;
  for (int k = 0; k < 90; ++k) { // 3 s
    const uint64_t due = v.next_frame_us();
    CHECK(due == uint64_t(k) * 1000000 / 30);
    auto f = next_frame(v, due, tseq);
    CHECK(f.key == (k == 0));
    keyframes += f.key ? 1 : 0;
    for (std::size_t i = 0; i < f.packets.size(); ++i) {
      auto p = rtp::rtp_packet::parse(f.packets[i]);
      REQUIRE(p);
      CHECK(p->sequence_number() == expect_seq++);
      CHECK(p->timestamp() == 5000u + uint32_t(k) * 3000u);
      CHECK(p->marker() == (i + 1 == f.packets.size()));
      CHECK(p->payload().size() <= c.max_payload);
      CHECK(p->mid(1) == std::optional<std::string_view>("1"));
      const auto pl = p->payload();
      CHECK(pl[0] == (i == 0 ? 0x90 : 0x80)); // X, S on the first packet, PID 0
      CHECK(pl[1] == 0x80);                   // I
      CHECK((pl[2] & 0x80) == 0x80);          // M: 15-bit PictureID
      // Keyframe detection as the server does it: first packet of a keyframe only.
      CHECK(rtp::is_vp8_keyframe(pl) == (f.key && i == 0));
      if (i == 0)
        CHECK((pl[4] & 0x01) == (f.key ? 0 : 1)); // P bit of the VP8 payload header
      payload_bytes += pl.size();
    }
  }
  CHECK(keyframes == 1);
  CHECK(tseq == uint16_t(7 + (expect_seq - 1000)));
  // 3 s of payload at 1000 kbps: 375000 bytes (within rounding).
  CHECK(payload_bytes == doctest::Approx(375000).epsilon(0.01));
  // The periodic keyframe opens the next interval; a request makes the very next one key.
  CHECK(next_frame(v, v.next_frame_us(), tseq).key);
  CHECK_FALSE(next_frame(v, v.next_frame_us(), tseq).key);
  v.request_keyframe();
  CHECK(next_frame(v, v.next_frame_us(), tseq).key);
  CHECK_FALSE(next_frame(v, v.next_frame_us(), tseq).key);
}

TEST_CASE("media: audio packets every 20 ms with an Opus TOC and a stamp slot") {
  audio_source a({100, false, 10, 0, 7}, {1, 0}, "0", 0, 100);
  std::vector<uint8_t> buf(max_rtp_packet);
  uint16_t tseq = 0;
  auto b = a.build_packet(0, buf, tseq);
  REQUIRE(b.size > 0);
  auto p = rtp::rtp_packet::parse(std::span<uint8_t>(buf.data(), b.size));
  REQUIRE(p);
  CHECK(p->payload().size() == 100);
  CHECK(p->payload()[0] == 0x78);
  CHECK(p->mid(1) == std::optional<std::string_view>("0"));
  CHECK(a.next_packet_us() == 20000);
}

TEST_CASE("receiver: loss from sequence numbers, duplicates, NACK, latency") {
  inbound_stream::params prm;
  prm.kind = stream_kind::audio;
  prm.ssrc = 99;
  prm.nack = true;
  inbound_stream s(prm);
  latency_histogram h;
  inbound_actions a;
  const uint64_t t0 = 1'000'000;
  // 65534, 65535, (0 lost), 1, 2: wrap-around and one gap.
  for (uint16_t seq : {uint16_t(65534), uint16_t(65535), uint16_t(1), uint16_t(2)}) {
    auto p = audio_packet(seq, 99, t0 - 500);
    s.on_rtp(p, t0, t0, &h, a);
    if (seq == 1) {
      CHECK(a.nack == std::vector<uint16_t>{0});
      a.nack.clear();
    }
  }
  CHECK(s.counters().expected == 5);
  CHECK(s.counters().unique == 4);
  CHECK(h.count() == 4);
  CHECK(h.quantile_us(0.5) == 500);
  CHECK(h.max_us() == 500);
  // The lost packet arrives late (a retransmission on the same SSRC): repaired, no latency.
  auto late = audio_packet(0, 99, t0 - 20000);
  s.on_rtp(late, t0, t0, &h, a);
  CHECK(s.counters().unique == 5);
  CHECK(s.counters().late == 1);
  CHECK(h.count() == 4);
  // The same again: a duplicate.
  s.on_rtp(late, t0, t0, &h, a);
  CHECK(s.counters().duplicates == 1);
  CHECK(s.counters().unique == 5);
  // Other SSRCs are not this stream's.
  auto other = audio_packet(3, 98, t0);
  s.on_rtp(other, t0, t0, &h, a);
  CHECK(s.counters().expected == 5);
  rtp::report_block rb;
  CHECK(s.report_block(t0 / 1000, rb));
  CHECK(rb.ssrc == 99);
}

TEST_CASE("receiver: outside the decrypted sample, loss and NACK from the clear header only") {
  inbound_stream::params prm;
  prm.kind = stream_kind::audio;
  prm.ssrc = 77;
  prm.nack = true;
  inbound_stream s(prm);
  latency_histogram h;
  inbound_actions a;
  const uint64_t t0 = 2'000'000;
  // Payloads as SRTP leaves them: encrypted (here: bytes that are no valid stamp).
  for (uint16_t seq : {uint16_t(10), uint16_t(11), uint16_t(13)}) {
    auto p = audio_packet(seq, 77, 0);
    for (std::size_t i = 12; i < p.size(); ++i)
      p[i] = uint8_t(0xA5 ^ i);
    s.on_rtp(p, t0, t0, &h, a, true);
  }
  CHECK(s.counters().unique == 3);
  CHECK(s.counters().expected == 4);
  CHECK(a.nack == std::vector<uint16_t>{12});
  CHECK(h.count() == 0);                 // no latency from an encrypted payload
  CHECK(s.counters().bad_stamp == 0);    // ... and not counted as a bad stamp either
}

TEST_CASE("receive side: outside the sample only retransmissions are decrypted") {
  receive_side r([](std::span<const uint8_t>) { return true; });
  inbound_stream::params video;
  video.kind = stream_kind::video;
  video.ssrc = 1000;
  video.rtx_ssrc = 1001;
  r.add_stream(video);
  CHECK(r.must_decrypt(1000));
  r.set_sampled(false);
  CHECK_FALSE(r.must_decrypt(1000));
  CHECK(r.must_decrypt(1001));
  CHECK_FALSE(r.must_decrypt(4242));
  inbound_stream::params pending;
  pending.kind = stream_kind::audio;
  pending.rtx_ssrc = 2001;
  r.add_pending(pending);
  CHECK(r.must_decrypt(2001));
}

TEST_CASE("receive side: outside the sample a video stream is decrypted while it waits for a keyframe") {
  // Found at class 1000: receivers that never decrypted could never see a keyframe, so each
  // asked for one every second for ever (900 PLIs/s), and the publisher sent a keyframe
  // every 0.7 s instead of every 3 s.
  std::vector<std::vector<uint8_t>> sent;
  receive_side r([&](std::span<const uint8_t> p) {
    sent.emplace_back(p.begin(), p.end());
    return true;
  });
  r.set_sampled(false);
  inbound_stream::params video;
  video.kind = stream_kind::video;
  video.ssrc = 5;
  video.nack = video.pli = true;
  r.add_stream(video);
  CHECK_FALSE(r.must_decrypt(5)); // not started: nothing asked for yet
  r.start(1'000'000);
  r.on_resumed(*r.streams()[0], 1'000'000);
  REQUIRE(sent.size() == 1); // the PLI at start
  CHECK(r.must_decrypt(5));  // waiting for the keyframe: decrypted to see it
  video_source v(video_config{}, {101, false, 1, 0, 5}, {}, "", 0);
  uint16_t tseq = 0;
  auto f = next_frame(v, 0, tseq);
  REQUIRE(f.key);
  for (auto& p : f.packets)
    r.on_packet(p, false, 0, nullptr);
  CHECK(r.streams()[0]->counters().keyframes == 1);
  CHECK_FALSE(r.must_decrypt(5)); // seen: back to the clear header only
  // Another keyframe in the clear would not be recognised, and no longer matters: no PLI
  // follows, however long the stream runs.
  for (uint64_t t = 1'020'000; t <= 5'000'000; t += 20'000)
    r.service(t);
  std::size_t plis = 0;
  for (auto& p : sent)
    plis += p.size() >= 2 && p[1] == 206; // PSFB (RTCP type 206): the PLI
  CHECK(plis == 1);
}

TEST_CASE("receiver: a keyframe's packets are also timed on their own") {
  // The tail of a class's one-way latency with frames at once is the keyframe's fan-out:
  // the report shows its packets alone. Here a keyframe's packets took 3 ms, a delta
  // frame's 1 ms: only the keyframe's are in the keyframe histogram, all in the other.
  inbound_stream::params prm;
  prm.kind = stream_kind::video;
  prm.ssrc = 5;
  inbound_stream s(prm);
  video_source v(video_config{}, {101, false, 65530, 0, 5}, {}, "", 0); // seq wraps inside
  uint16_t tseq = 0;
  const uint64_t t0 = 10'000'000;
  latency_histogram all, key;
  inbound_actions a;
  auto feed = [&](frame& f, uint64_t took_us) {
    for (auto& p : f.packets) {
      auto parsed = rtp::rtp_packet::parse(p);
      REQUIRE(parsed);
      const std::size_t off = p.size() - parsed->payload().size();
      write_send_stamp(std::span<uint8_t>(p).subspan(off), t0 - took_us);
      s.on_rtp(p, t0, t0, &all, a, false, &key);
    }
  };
  auto k = next_frame(v, 0, tseq);
  REQUIRE(k.key);
  REQUIRE(k.packets.size() > 1);
  feed(k, 3000);
  auto d = next_frame(v, v.next_frame_us(), tseq);
  REQUIRE_FALSE(d.key);
  feed(d, 1000);
  CHECK(key.count() == k.packets.size());
  CHECK(key.quantile_us(0.5) == 3000);
  CHECK(key.max_us() == 3000);
  CHECK(all.count() == k.packets.size() + d.packets.size());
  CHECK(all.quantile_us(0.0) == 1000);
  // Outside the sample (payload encrypted) nothing is timed, keyframe or not.
  latency_histogram none;
  v.request_keyframe();
  auto k2 = next_frame(v, v.next_frame_us(), tseq);
  REQUIRE(k2.key);
  for (auto& p : k2.packets)
    s.on_rtp(p, t0, t0, &none, a, true, &none);
  CHECK(none.count() == 0);
  CHECK(s.counters().unique == k.packets.size() + d.packets.size() + k2.packets.size());
}

TEST_CASE("receiver: a video consumer asks for a keyframe at start, again until one comes") {
  inbound_stream::params prm;
  prm.kind = stream_kind::video;
  prm.ssrc = 5;
  prm.nack = prm.pli = true;
  inbound_stream s(prm);
  inbound_actions a;
  s.on_resumed(1'000'000, a);
  CHECK(a.pli);
  a.pli = false;
  s.tick(1'500'000, a);
  CHECK_FALSE(a.pli);
  s.tick(2'000'000, a);
  CHECK(a.pli);
  a.pli = false;
  video_source v(video_config{}, {101, false, 1, 0, 5}, {}, "", 0);
  uint16_t tseq = 0;
  auto f = next_frame(v, 0, tseq);
  REQUIRE(f.key);
  for (auto& p : f.packets)
    s.on_rtp(p, 2'100'000, 2'100'000, nullptr, a);
  CHECK(s.counters().keyframes == 1);
  s.tick(4'000'000, a);
  CHECK_FALSE(a.pli);
}

TEST_CASE("latency histogram: quantiles and merge") {
  latency_histogram a, b;
  for (uint64_t i = 1; i <= 100; ++i)
    a.add(i * 100); // 0.1 .. 10 ms
  b.add(2'000'000);  // 2 s: overflow
  a.merge(b);
  CHECK(a.count() == 101);
  CHECK(a.quantile_us(0.5) == 5100);
  CHECK(a.quantile_us(0.99) == 10000 + 100); // the bucket above 10 ms
  CHECK(a.max_us() == 2'000'000);
}

TEST_CASE("latency histogram: n samples of one value at once count as n") {
  latency_histogram many, one_by_one;
  const std::pair<uint64_t, uint64_t> samples[] = {{300, 3}, {12'345, 2}, {1'500'000, 1}, {2'000'000, 0}};
  for (auto [us, n] : samples) {
    many.add(us, n);
    for (uint64_t i = 0; i < n; ++i)
      one_by_one.add(us);
  }
  CHECK(many.count() == 6);
  CHECK(many.mean_us() == doctest::Approx(one_by_one.mean_us()));
  for (double q : {0.1, 0.5, 0.6, 0.9, 1.0})
    CHECK(many.quantile_us(q) == one_by_one.quantile_us(q));
  CHECK(many.quantile_us(0.5) == 300);
  CHECK(many.quantile_us(0.8) == 12'400); // the 100 us bucket above 12.3 ms
  CHECK(many.max_us() == 1'500'000);      // an empty add (n = 0) changed nothing
}

TEST_CASE("router capabilities: Opus, VP8, its rtx, extension ids; consume capabilities") {
  const std::string caps = R"({"codecs":[
    {"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate":48000,"channels":2,
     "parameters":{},"rtcpFeedback":[{"type":"nack","parameter":""},{"type":"transport-cc","parameter":""}]},
    {"kind":"video","mimeType":"video/VP8","preferredPayloadType":101,"clockRate":90000,"parameters":{},
     "rtcpFeedback":[{"type":"nack","parameter":""},{"type":"nack","parameter":"pli"}]},
    {"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":90000,"parameters":{"apt":101}},
    {"kind":"video","mimeType":"video/H264","preferredPayloadType":105,"clockRate":90000,"parameters":{}}],
   "headerExtensions":[
    {"kind":"audio","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1},
    {"kind":"video","uri":"urn:ietf:params:rtp-hdrext:sdes:mid","preferredId":1},
    {"kind":"video","uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01","preferredId":5}]})";
  auto r = parse_router_capabilities(caps);
  REQUIRE(r);
  CHECK(r->opus_pt == 100);
  CHECK(r->vp8_pt == 101);
  CHECK(r->mid_audio == 1);
  CHECK(r->mid_video == 1);
  CHECK(r->tcc_video == 5);
  CHECK(r->tcc_audio == 0);
  // Opus, VP8 and VP8's rtx only; Opus without NACK, as Chromium offers it.
  CHECK(r->consume_capabilities.find("H264") == std::string::npos);
  CHECK(r->consume_capabilities.find("\"apt\":101") != std::string::npos);
  const auto opus_end = r->consume_capabilities.find("video/VP8");
  CHECK(r->consume_capabilities.substr(0, opus_end).find("nack") == std::string::npos);
  CHECK_FALSE(parse_router_capabilities(R"({"codecs":[]})"));
}

TEST_CASE("packet pacer: a browser's paced sender for the publisher's video") {
  struct sent {
    uint64_t at_us;
    std::size_t size, tag;
  };
  // 2.5 x 1 Mbit/s: a 1170-byte packet every 3744 us.
  const double bps = 2.5 * 1'000'000;
  const uint64_t gap = uint64_t(1170 * 8e6 / bps);
  auto run = [&](packet_pacer& p, uint64_t from, uint64_t to, std::vector<sent>& out) {
    for (uint64_t t = from; t <= to; t += 100)
      p.release(t, [&](std::span<uint8_t> b, std::size_t off, std::size_t tag) {
        CHECK(off == 12);
        out.push_back({t, b.size(), tag});
      });
  };
  SUBCASE("a keyframe of 17 packets leaves over 60 ms, one every 3.7 ms, in order") {
    packet_pacer p(bps);
    std::vector<uint8_t> pkt(1170);
    for (std::size_t i = 0; i < 17; ++i)
      p.push(1'000'000, pkt, 12, i);
    CHECK(p.queued() == 17);
    std::vector<sent> out;
    run(p, 1'000'000, 1'100'000, out);
    REQUIRE(out.size() == 17);
    for (std::size_t i = 0; i < out.size(); ++i) {
      CHECK(out[i].tag == i);
      CHECK(out[i].at_us == 1'000'000 + (i * gap + 99) / 100 * 100); // the first tick at or after its slot
    }
    CHECK(out.back().at_us - out.front().at_us >= 16 * gap);
    CHECK(p.empty());
  }
  SUBCASE("an idle pacer keeps no credit: a frame after a pause starts at once, then paced") {
    packet_pacer p(bps);
    std::vector<uint8_t> pkt(1170);
    p.push(0, pkt, 12, 0);
    std::vector<sent> out;
    run(p, 0, 100, out);
    REQUIRE(out.size() == 1);
    // 500 ms later: two packets; the first at once, the second one gap later (no burst).
    p.push(500'000, pkt, 12, 1);
    p.push(500'000, pkt, 12, 2);
    run(p, 500'000, 520'000, out);
    REQUIRE(out.size() == 3);
    CHECK(out[1].at_us == 500'000);
    CHECK(out[2].at_us >= 500'000 + gap);
  }
  SUBCASE("a backlog carries into the next frame, in order") {
    packet_pacer p(bps);
    std::vector<uint8_t> big(1170), small(400);
    for (std::size_t i = 0; i < 17; ++i)
      p.push(0, big, 12, i); // a keyframe: 64 ms of sending
    std::vector<sent> out;
    run(p, 0, 33'300, out);  // one frame interval later, the keyframe is not through
    const std::size_t first = out.size();
    CHECK(first < 17);
    p.push(33'334, small, 12, 100); // the next frame queues behind it
    run(p, 33'400, 200'000, out);
    REQUIRE(out.size() == 18);
    CHECK(out.back().tag == 100);
    CHECK(out.back().size == 400);
  }
}
