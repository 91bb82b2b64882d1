// The generator's simulcast (--simulcast): the VP8 payload descriptor with temporal layers
// (L1T3) as the server's parser reads it, the temporal pattern and its restart at a
// keyframe, the keyframe flag the server's detector expects, the ladder of three encodings
// and their bitrates, the encoding tag a receiver counts by, the publisher's RTCP with one
// SSRC per encoding, and the options.
#include "bench/load/media.hpp"
#include "bench/load/options.hpp"
#include "bench/load/publisher_rtcp.hpp"
#include "bench/load/receiver.hpp"
#include "rtp/keyframe.hpp"
#include "rtp/rtcp_feedback.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/vp8_descriptor.hpp"

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

frame next_frame(video_source& v, uint16_t& tseq) {
  frame f;
  const std::size_t n = v.begin_frame(v.next_frame_us());
  f.key = v.frame_is_key();
  std::vector<uint8_t> buf(max_rtp_packet);
  for (std::size_t i = 0; i < n; ++i) {
    auto b = v.build_packet(i, buf, tseq);
    REQUIRE(b.size > 0);
    f.packets.emplace_back(buf.begin(), buf.begin() + std::ptrdiff_t(b.size));
  }
  return f;
}

std::span<const uint8_t> payload_of(std::vector<uint8_t>& packet) {
  auto p = rtp::rtp_packet::parse(packet);
  REQUIRE(p);
  return p->payload();
}

std::optional<bench_options> parse(std::vector<std::string> args, std::string& error) {
  args.insert(args.begin(), "chorus-bench");
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  bool help = false;
  return parse_bench_options(int(argv.size()), argv.data(), error, help);
}

} // namespace

TEST_CASE("simulcast: the L1T3 temporal pattern and its layer-sync frames") {
  // k = frames since the keyframe: 0,2,1,2 and again.
  const uint8_t tids[] = {0, 2, 1, 2, 0, 2, 1, 2, 0};
  const bool sync[] = {true, true, true, false, false, true, true, false, false};
  for (uint64_t k = 0; k < std::size(tids); ++k) {
    CAPTURE(k);
    CHECK(temporal_id_of(k, 3) == tids[k]);
    CHECK(layer_sync_of(k, 3) == sync[k]);
  }
  CHECK(temporal_id_of(3, 2) == 1);
  CHECK(temporal_id_of(4, 2) == 0);
  CHECK(temporal_id_of(5, 1) == 0);
  CHECK_FALSE(layer_sync_of(5, 1));
}

TEST_CASE("simulcast: descriptor bytes of an L1T3 encoding, as the server parses them") {
  video_config c;
  c.temporal_layers = 3;
  c.encoding = 1;
  // first sequence 0x1234: picture ids start at 0x1234 + 1, TL0PICIDX at 0x12 + 1
  video_source v(c, {101, false, 0x1234, 9000, 77}, {1, 5}, "1", 0);
  uint16_t tseq = 0;

  auto key = next_frame(v, tseq);
  REQUIRE(key.key);
  REQUIRE(key.packets.size() > 1);
  {
    const auto pl = payload_of(key.packets[0]);
    // X, S, PID 0 | I, L, T | M + picture id 0x1235 | TL0PICIDX 0x13 | TID 0, Y 1
    const std::vector<uint8_t> want{0x90, 0xE0, 0x80 | 0x12, 0x35, 0x13, 0x20};
    CHECK(std::vector<uint8_t>(pl.begin(), pl.begin() + 6) == want);
    CHECK((pl[6] & 0x01) == 0); // P = 0: a keyframe
    CHECK(pl[9] == 0x9d);
    CHECK(pl[10] == 0x01);
    CHECK(pl[11] == 0x2a);
    CHECK(rtp::is_vp8_keyframe(pl));
    auto d = rtp::parse_vp8_descriptor(pl);
    REQUIRE(d);
    CHECK(d->size == vp8_layered_descriptor_size);
    CHECK(d->keyframe);
    CHECK(d->start_of_frame);
    CHECK(d->has_picture_id);
    CHECK(d->picture_id_15bit);
    CHECK(d->picture_id == 0x1235);
    CHECK(d->has_tl0picidx);
    CHECK(d->tl0picidx == 0x13);
    CHECK(d->has_tid);
    CHECK(d->tid == 0);
    CHECK(d->layer_sync);
    CHECK_FALSE(d->non_reference);
    // The later packets of the keyframe: same picture id and layer fields, no S, no
    // keyframe flag (the server's detector looks at the first packet only).
    const auto second = payload_of(key.packets[1]);
    CHECK(second[0] == 0x80);
    CHECK(std::vector<uint8_t>(second.begin() + 1, second.begin() + 6) ==
          std::vector<uint8_t>(want.begin() + 1, want.end()));
    CHECK_FALSE(rtp::is_vp8_keyframe(second));
    for (auto& p : key.packets)
      CHECK(read_encoding_tag(payload_of(p)) == std::optional<uint8_t>(1));
  }

  // The following frames: TID 2, 1, 2, 0, 2 ...; picture id +1 per frame, TL0PICIDX +1 on
  // each TID 0 frame, N on TID 2, Y on the frames that refer to the base frame alone.
  struct want_frame {
    uint8_t tid;
    bool y;
    uint8_t tl0;
  };
  const want_frame wants[] = {{2, true, 0x13}, {1, true, 0x13}, {2, false, 0x13},
                              {0, false, 0x14}, {2, true, 0x14}, {1, true, 0x14},
                              {2, false, 0x14}, {0, false, 0x15}};
  uint16_t pid = 0x1235;
  for (const auto& w : wants) {
    auto f = next_frame(v, tseq);
    CHECK_FALSE(f.key);
    ++pid;
    for (std::size_t i = 0; i < f.packets.size(); ++i) {
      const auto pl = payload_of(f.packets[i]);
      auto d = rtp::parse_vp8_descriptor(pl);
      REQUIRE(d);
      CAPTURE(pid);
      CHECK(d->picture_id == pid);
      CHECK(d->tid == w.tid);
      CHECK(d->layer_sync == w.y);
      CHECK(d->tl0picidx == w.tl0);
      CHECK(d->non_reference == (w.tid == 2));
      CHECK(d->start_of_frame == (i == 0));
      CHECK_FALSE(d->keyframe);
      CHECK_FALSE(rtp::is_vp8_keyframe(pl));
      if (i == 0)
        CHECK((pl[6] & 0x01) == 1); // P = 1: an interframe
    }
  }

  // A keyframe on request starts the pattern over: TID 0 (TL0PICIDX +1), then 2, 1.
  v.request_keyframe();
  auto k2 = next_frame(v, tseq);
  CHECK(k2.key);
  auto d = rtp::parse_vp8_descriptor(payload_of(k2.packets[0]));
  REQUIRE(d);
  CHECK(d->keyframe);
  CHECK(d->tid == 0);
  CHECK(d->layer_sync);
  CHECK(d->tl0picidx == 0x16);
  const uint8_t after[] = {2, 1, 2, 0};
  for (uint8_t tid : after) {
    auto f = next_frame(v, tseq);
    auto fd = rtp::parse_vp8_descriptor(payload_of(f.packets[0]));
    REQUIRE(fd);
    CHECK(fd->tid == tid);
  }
}

TEST_CASE("simulcast: a single encoding keeps the 4-byte descriptor and has no tag") {
  video_source v(video_config{}, {101, false, 1, 0, 5}, {}, "", 0);
  uint16_t tseq = 0;
  for (int k = 0; k < 3; ++k) {
    auto f = next_frame(v, tseq);
    for (auto& p : f.packets) {
      const auto pl = payload_of(p);
      auto d = rtp::parse_vp8_descriptor(pl);
      REQUIRE(d);
      CHECK(d->size == vp8_descriptor_size);
      CHECK_FALSE(d->has_tid);
      CHECK_FALSE(d->has_tl0picidx);
      CHECK_FALSE(read_encoding_tag(pl));
    }
  }
}

TEST_CASE("simulcast: the ladder of three encodings and their bitrates") {
  video_config top; // 1000 kbps, 640x360, keyframe every 3 s
  const auto ladder = simulcast_ladder(top);
  REQUIRE(ladder.size() == 3);
  const uint32_t kbps[] = {125, 333, 1000}; // 150 : 400 : 1200
  const uint16_t width[] = {160, 320, 640}, height[] = {90, 180, 360};
  for (std::size_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    CHECK(ladder[i].kbps == kbps[i]);
    CHECK(ladder[i].width == width[i]);
    CHECK(ladder[i].height == height[i]);
    CHECK(ladder[i].temporal_layers == 3);
    CHECK(ladder[i].encoding == int8_t(i));
    CHECK(ladder[i].fps == top.fps);
    // 3 s of payload at its bitrate (one keyframe and 89 delta frames), each packet tagged
    // with its encoding, each keyframe's first packet flagged.
    video_source v(ladder[i], {101, false, 100, 0, uint32_t(10 + i)}, {1, 5}, "1", 0);
    uint16_t tseq = 0;
    uint64_t bytes = 0;
    int keys = 0;
    for (int k = 0; k < 90; ++k) {
      auto f = next_frame(v, tseq);
      keys += f.key ? 1 : 0;
      for (std::size_t j = 0; j < f.packets.size(); ++j) {
        const auto pl = payload_of(f.packets[j]);
        bytes += pl.size();
        CHECK(read_encoding_tag(pl) == std::optional<uint8_t>(uint8_t(i)));
        CHECK(rtp::is_vp8_keyframe(pl) == (f.key && j == 0));
      }
    }
    CHECK(keys == 1);
    CHECK(double(bytes) == doctest::Approx(kbps[i] * 1000.0 / 8 * 3).epsilon(0.02));
  }
  top.kbps = 80; // small tops still give three encodings of at least 1 kbps
  for (auto& c : simulcast_ladder(top))
    CHECK(c.kbps >= 1);
}

TEST_CASE("simulcast: NACK and PLI for one of a publisher's video SSRCs") {
  const uint32_t audio = 1, video[] = {100, 200, 300};
  std::vector<uint8_t> buf(1500);
  const uint16_t lost[] = {7, 8};
  auto n = rtp::write_nack(99, 200, lost, buf);
  REQUIRE(n);
  rtp::picture_loss_indication pli{99, 300};
  auto m = pli.write(std::span<uint8_t>(buf).subspan(*n));
  REQUIRE(m);
  publisher_rtcp_actions a;
  read_publisher_rtcp(std::span<const uint8_t>(buf.data(), *n + *m), audio, video, a);
  CHECK(a.nack_packets == 1);
  CHECK(a.video_nacked == std::vector<uint16_t>{7, 8});
  CHECK(a.video_nacked_encoding == std::vector<uint8_t>{1, 1});
  CHECK(a.audio_nacked.empty());
  CHECK(a.keyframe_requests == 1);
  CHECK(a.keyframe_encodings == 4u); // the top encoding only
  // A PLI for an SSRC that is not ours asks nothing.
  publisher_rtcp_actions b;
  rtp::picture_loss_indication other{99, 400};
  auto k = other.write(buf);
  REQUIRE(k);
  read_publisher_rtcp(std::span<const uint8_t>(buf.data(), *k), audio, video, b);
  CHECK(b.keyframe_requests == 0);
  CHECK(b.keyframe_encodings == 0u);
}

TEST_CASE("simulcast: a receiver counts the encodings it was forwarded") {
  inbound_stream::params prm;
  prm.kind = stream_kind::video;
  prm.ssrc = 4242; // the consumer's one SSRC, whichever encoding is forwarded
  prm.intended_encoding = 2;
  inbound_stream s(prm);
  inbound_actions a;
  uint16_t seq = 500;
  auto feed = [&](int8_t encoding, int frames) {
    video_config c;
    c.kbps = 300;
    c.temporal_layers = 3;
    c.encoding = encoding;
    video_source v(c, {101, false, 1, 0, 4242}, {}, "", 0);
    uint16_t tseq = 0;
    for (int k = 0; k < frames; ++k)
      for (auto& p : next_frame(v, tseq).packets) {
        p[2] = uint8_t(seq >> 8); // the server's sequence numbers: continuous
        p[3] = uint8_t(seq++);
        s.on_rtp(p, 1'000'000, 1'000'000, nullptr, a);
      }
  };
  feed(2, 4);
  const uint64_t top = s.counters().packets;
  CHECK(s.counters().encoding_packets[2] == top);
  CHECK(s.counters().off_target == 0);
  feed(0, 1);
  CHECK(s.counters().encoding_packets[0] == s.counters().packets - top);
  CHECK(s.counters().off_target == s.counters().packets - top);
  CHECK(s.counters().expected == s.counters().unique); // nothing lost across the switch
}

TEST_CASE("simulcast: options") {
  std::string error;
  auto o = parse({"--url", "ws://127.0.0.1:1", "--simulcast", "--simulcast-low", "30",
                  "--subscribers", "10"},
                 error);
  REQUIRE(o);
  CHECK(o->simulcast);
  CHECK(o->simulcast_low_percent == 30);
  int low = 0;
  for (uint32_t i = 0; i < 10; ++i)
    low += o->prefers_low_layer(i) ? 1 : 0;
  CHECK(low == 3);
  CHECK_FALSE(o->prefers_low_layer(0)); // spread: not the first ones
  o->simulcast_low_percent = 50;
  for (uint32_t i = 0; i < 6; ++i)
    CHECK(o->prefers_low_layer(i) == (i % 2 == 1));
  o->simulcast_low_percent = 100;
  CHECK(o->prefers_low_layer(0));
  o->simulcast = false;
  CHECK_FALSE(o->prefers_low_layer(0));

  auto plain = parse({"--url", "ws://127.0.0.1:1"}, error);
  REQUIRE(plain);
  CHECK_FALSE(plain->simulcast);
  CHECK_FALSE(parse({"--url", "ws://127.0.0.1:1", "--simulcast-low", "10"}, error));
  CHECK(error.find("--simulcast") != std::string::npos);
  CHECK_FALSE(parse({"--url", "ws://127.0.0.1:1", "--simulcast", "--simulcast-low", "101"}, error));
  CHECK_FALSE(parse({"--url", "ws://10.0.0.2:8188", "--target", "janus", "--simulcast"}, error));
  CHECK(parse({"--url", "ws://127.0.0.1:1", "--scenario", "meeting", "--simulcast"}, error));
}

TEST_CASE("publisher pacing: --pace-factor, Chorus targets only") {
  std::string error;
  auto o = parse({"--url", "ws://127.0.0.1:1", "--pace-factor", "2.5"}, error);
  REQUIRE(o);
  CHECK(o->pace_factor == doctest::Approx(2.5));
  auto plain = parse({"--url", "ws://127.0.0.1:1"}, error);
  REQUIRE(plain);
  CHECK(plain->pace_factor == 0);
  CHECK_FALSE(parse({"--url", "ws://127.0.0.1:1", "--pace-factor", "0.5"}, error));
  CHECK_FALSE(parse({"--url", "ws://127.0.0.1:1", "--pace-factor", "x"}, error));
  CHECK_FALSE(parse({"--url", "ws://127.0.0.1:1", "--target", "janus", "--pace-factor", "2.5"}, error));
  CHECK(error.find("--pace-factor") != std::string::npos);
}

TEST_CASE("receivers taking segmented messages whole: --receiver-gro, Chorus targets only") {
  std::string error;
  auto o = parse({"--url", "ws://127.0.0.1:1", "--receiver-gro"}, error);
  REQUIRE(o);
  CHECK(o->receiver_gro);
  auto plain = parse({"--url", "ws://127.0.0.1:1"}, error);
  REQUIRE(plain);
  CHECK_FALSE(plain->receiver_gro);
  CHECK_FALSE(parse({"--url", "ws://10.0.0.2:8188", "--target", "janus", "--receiver-gro"}, error));
  CHECK(error.find("--receiver-gro") != std::string::npos);
}
