// protocol/amf0, rtmp_chunks, rtmp_publish and flv: the connect command Debian 12's FFmpeg
// sends (captured), chunk headers of every format, a whole publish as an encoder does it,
// the FLV an ingest's FFmpeg reads, and each kind of broken input refused with its reason.
#include "protocol/amf0.hpp"
#include "protocol/flv.hpp"
#include "protocol/rtmp_chunks.hpp"
#include "protocol/rtmp_publish.hpp"
#include "protocol/rtmp_video_plan.hpp"
#include "rtp/capabilities.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::protocol;

namespace {

using bytes = std::vector<uint8_t>;

bytes from_hex(std::string_view hex) {
  bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// What FFmpeg 5.1 (Lavf59.27.100, Debian 12) sent after the handshake when publishing to
// rtmp://127.0.0.1:19350/live/KEY123 (its C2 left out): connect, 140 bytes of AMF0 in
// chunks of 128 (a format 3 chunk header, 0xc3, inside the tcUrl).
const bytes ffmpeg_connect = from_hex(
  "0300000000008c1400000000020007636f6e6e656374003ff000000000000003"
  "00036170700200046c69766500047479706502000a6e6f6e7072697661746500"
  "08666c617368566572020024464d4c452f332e302028636f6d70617469626c65"
  "3b204c61766635392e32372e313030290005746355726c02001b72746d703a2f"
  "2f3132372e302e302e313a31c3393335302f6c697665000009");

bytes command(std::vector<amf0_value> values) {
  bytes body;
  for (const auto& v : values)
    write_amf0(v, body);
  return body;
}

// A client's command as one message on chunk stream 3 (stream `stream_id`), at 128 a chunk.
bytes client_command(std::vector<amf0_value> values, uint32_t stream_id = 0) {
  bytes out;
  write_rtmp_message(out, 3, rtmp_type::command_amf0, stream_id, 0, command(std::move(values)), 128);
  return out;
}

// Every message of the server's bytes (its Set Chunk Size applied as they are read).
std::vector<rtmp_message> server_messages(const bytes& sent) {
  rtmp_chunk_reader r;
  std::vector<rtmp_message> out;
  REQUIRE(r.read(sent, out));
  return out;
}

// The AMF0 values of the command messages among `ms`.
std::vector<std::vector<amf0_value>> commands_of(const std::vector<rtmp_message>& ms) {
  std::vector<std::vector<amf0_value>> out;
  for (const auto& m : ms)
    if (m.type == rtmp_type::command_amf0) {
      auto v = read_amf0(m.payload);
      REQUIRE(v);
      out.push_back(*v);
    }
  return out;
}

bytes c0c1() {
  bytes out{3};
  for (std::size_t i = 0; i < rtmp_handshake_bytes; ++i)
    out.push_back(static_cast<uint8_t>(i * 7));
  return out;
}

// An AVC sequence header tag body: keyframe + AVC, packet type 0, composition time 0, then
// an AVCDecoderConfigurationRecord for High profile level 3.1.
const bytes avc_sequence_header = from_hex("1700000000" "0164001fffe1");
const bytes aac_sequence_header = from_hex("af001210");

} // namespace

TEST_CASE("AMF0: FFmpeg's connect command reads as name, transaction and command object") {
  rtmp_chunk_reader r;
  std::vector<rtmp_message> ms;
  REQUIRE(r.read(ffmpeg_connect, ms));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].chunk_stream == 3);
  CHECK(ms[0].type == rtmp_type::command_amf0);
  CHECK(ms[0].stream_id == 0);
  CHECK(ms[0].payload.size() == 140);
  auto v = read_amf0(ms[0].payload);
  REQUIRE(v);
  REQUIRE(v->size() == 3);
  CHECK((*v)[0].text == "connect");
  CHECK((*v)[1].number == 1.0);
  CHECK((*v)[2].text_of("app") == "live");
  CHECK((*v)[2].text_of("type") == "nonprivate");
  CHECK((*v)[2].text_of("flashVer") == "FMLE/3.0 (compatible; Lavf59.27.100)");
  CHECK((*v)[2].text_of("tcUrl") == "rtmp://127.0.0.1:19350/live");
  CHECK((*v)[2].member("missing") == nullptr);
}

TEST_CASE("AMF0: what is written reads back the same") {
  auto nested = amf0_value::object({"a", "b"}, {amf0_value::of(1.5), amf0_value::of_bool(true)});
  amf0_value list;
  list.type = amf0_value::kind::array;
  list.members = {amf0_value::of("x"), amf0_value::null_value()};
  auto body = command({amf0_value::of("name"), amf0_value::of(-2.25), nested, list,
                       amf0_value::of(std::string(70000, 'y'))});
  auto v = read_amf0(body);
  REQUIRE(v);
  REQUIRE(v->size() == 5);
  CHECK((*v)[0].text == "name");
  CHECK((*v)[1].number == -2.25);
  CHECK((*v)[2].member("a")->number == 1.5);
  CHECK((*v)[2].member("b")->boolean);
  REQUIRE((*v)[3].members.size() == 2);
  CHECK((*v)[3].members[0].text == "x");
  CHECK((*v)[3].members[1].type == amf0_value::kind::null);
  CHECK((*v)[4].text.size() == 70000); // a long string
}

TEST_CASE("AMF0: an ECMA array and a date read; broken values are refused with the reason") {
  // ECMA array {duration: 0} (onMetaData's form), then a date.
  auto ok = read_amf0(from_hex("0800000001" "00086475726174696f6e" "000000000000000000" "000009"
                               "0b" "0000000000000000" "0000"));
  REQUIRE(ok);
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].member("duration") != nullptr);
  CHECK((*ok)[1].type == amf0_value::kind::number);

  struct refused {
    const char* name;
    bytes input;
    const char* reason;
  };
  bytes deep;
  for (int i = 0; i < 12; ++i)
    deep.insert(deep.end(), {0x03, 0x00, 0x01, 'k'});
  bytes many{0x0a, 0x00, 0x00, 0x10, 0x00}; // a strict array of 4096 items
  const refused cases[] = {
    {"a number cut short", from_hex("00400000"), "number cut short"},
    {"a string longer than the bytes", from_hex("020010616263"), "string cut short"},
    {"an object without its end marker", from_hex("030001610500000a"), "end marker"},
    {"a reference (marker 7)", from_hex("070001"), "marker 7"},
    {"the AMF3 switch (marker 17)", from_hex("11"), "marker 17"},
    {"objects nested 12 deep", deep, "nesting deeper"},
    {"an array of 4096 items", many, "items"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = read_amf0(c.input);
    REQUIRE_FALSE(r);
    CHECK(r.error().find(c.reason) != std::string::npos);
  }
}

TEST_CASE("RTMP chunks: FFmpeg's connect read a byte at a time is the same message") {
  rtmp_chunk_reader r;
  std::vector<rtmp_message> ms;
  for (auto b : ffmpeg_connect)
    REQUIRE(r.read(bytes{b}, ms));
  REQUIRE(ms.size() == 1);
  CHECK(ms[0].payload.size() == 140);
  CHECK(r.buffered() == 0);
}

TEST_CASE("RTMP chunks: formats 1, 2 and 3 add their deltas; an extended timestamp round-trips") {
  // csid 4: format 0 at 1000 (audio, 2 bytes), format 2 with delta 20, format 3 (delta again),
  // format 1 with delta 5 and a new length.
  bytes in = from_hex("04" "0003e8" "000002" "08" "01000000" "aabb"
                      "84" "000014" "ccdd"
                      "c4" "eeff"
                      "44" "000005" "000001" "08" "11");
  rtmp_chunk_reader r;
  std::vector<rtmp_message> ms;
  REQUIRE(r.read(in, ms));
  REQUIRE(ms.size() == 4);
  CHECK(ms[0].timestamp == 1000);
  CHECK(ms[0].stream_id == 1);
  CHECK(ms[1].timestamp == 1020);
  CHECK(ms[1].payload == bytes{0xcc, 0xdd});
  CHECK(ms[2].timestamp == 1040);
  CHECK(ms[3].timestamp == 1045);
  CHECK(ms[3].payload == bytes{0x11});
  CHECK(ms[3].stream_id == 1);

  // 300 bytes at 0x1000000 ms on chunk stream 70 (a two-byte basic header), 128 a chunk:
  // three chunks, each with the extended timestamp.
  bytes payload(300);
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i);
  bytes out;
  write_rtmp_message(out, 70, rtmp_type::video, 1, 0x1000000, payload, 128);
  CHECK(out.size() == 2 + 11 + 4 + 300 + 2 * (2 + 4));
  rtmp_chunk_reader back;
  std::vector<rtmp_message> got;
  REQUIRE(back.read(out, got));
  REQUIRE(got.size() == 1);
  CHECK(got[0].chunk_stream == 70);
  CHECK(got[0].timestamp == 0x1000000);
  CHECK(got[0].payload == payload);
}

TEST_CASE("RTMP chunks: a Set Chunk Size applies to the next chunk") {
  bytes in;
  write_rtmp_message(in, 2, rtmp_type::set_chunk_size, 0, 0, from_hex("00001000"), 128);
  bytes big(1000, 0x5a);
  write_rtmp_message(in, 6, rtmp_type::video, 1, 40, big, 4096); // one chunk at 4096
  rtmp_chunk_reader r;
  std::vector<rtmp_message> ms;
  REQUIRE(r.read(in, ms));
  REQUIRE(ms.size() == 2);
  CHECK(ms[1].payload == big);
}

TEST_CASE("RTMP chunks: broken chunk streams are refused with the reason") {
  struct refused {
    const char* name;
    bytes input;
    const char* reason;
  };
  bytes many_streams;
  for (uint32_t cs = 3; cs < 3 + max_rtmp_chunk_streams + 1; ++cs)
    write_rtmp_message(many_streams, cs, rtmp_type::audio, 1, 0, bytes{1}, 128);
  bytes zero_chunk;
  write_rtmp_message(zero_chunk, 2, rtmp_type::set_chunk_size, 0, 0, from_hex("00000000"), 128);
  // Two messages of 5 MB begun on two chunk streams (4.5 MB chunks), neither finished.
  bytes unfinished;
  write_rtmp_message(unfinished, 2, rtmp_type::set_chunk_size, 0, 0, from_hex("00480000"), 128);
  for (uint8_t cs : {4, 5}) {
    const bytes header = {cs, 0, 0, 0, 0x50, 0, 0, rtmp_type::video, 1, 0, 0, 0};
    unfinished.insert(unfinished.end(), header.begin(), header.end());
    unfinished.insert(unfinished.end(), 0x480000, 0x11);
  }
  const refused cases[] = {
    {"9 MB of unfinished messages across chunk streams", unfinished, "unfinished messages"},
    {"a chunk stream that starts in format 1", from_hex("44000005000001" "08" "11"), "format 1"},
    {"a message of 16 MB", from_hex("04" "000000" "ffffff" "09" "01000000"), "bytes (over"},
    {"a chunk size of 0", zero_chunk, "outside"},
    {"65 chunk streams", many_streams, "chunk streams"},
    {"a new header inside a message", [] {
       auto b = from_hex("04" "000000" "000100" "09" "01000000"); // 256 bytes: 128 a chunk
       b.insert(b.end(), 128, 0xaa);
       auto next = from_hex("04" "000000" "000001" "09" "01000000" "bb"); // format 0 again
       b.insert(b.end(), next.begin(), next.end());
       return b;
     }(),
     "inside a message"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    rtmp_chunk_reader r;
    std::vector<rtmp_message> ms;
    auto r2 = r.read(c.input, ms);
    REQUIRE_FALSE(r2);
    CHECK(r2.error().find(c.reason) != std::string::npos);
  }
}

TEST_CASE("RTMP publish: an encoder's whole publish, as FFmpeg and OBS send it") {
  rtmp_publish_session s;
  rtmp_output out;
  // C0 C1: S0 S1 S2, S2 echoing C1's time and random bytes.
  const auto hello = c0c1();
  REQUIRE(s.receive(hello, out));
  REQUIRE(out.send.size() == 1 + 2 * rtmp_handshake_bytes);
  CHECK(out.send[0] == 3);
  const std::size_t s2 = 1 + rtmp_handshake_bytes;
  CHECK(std::equal(hello.begin() + 1, hello.begin() + 5, out.send.begin() + s2));
  CHECK(std::equal(hello.begin() + 9, hello.end(), out.send.begin() + s2 + 8));
  CHECK(s.at() == rtmp_publish_session::phase::c2);

  // C2 and FFmpeg's connect in one read: the window, bandwidth, chunk size, then _result.
  bytes c2(rtmp_handshake_bytes, 0x11);
  c2.insert(c2.end(), ffmpeg_connect.begin(), ffmpeg_connect.end());
  out = {};
  REQUIRE(s.receive(c2, out));
  auto ms = server_messages(out.send);
  REQUIRE(ms.size() == 4);
  CHECK(ms[0].type == rtmp_type::window_ack_size);
  CHECK(ms[1].type == rtmp_type::set_peer_bandwidth);
  CHECK(ms[2].type == rtmp_type::set_chunk_size);
  auto cmds = commands_of(ms);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0][0].text == "_result");
  CHECK(cmds[0][1].number == 1.0);
  CHECK(cmds[0][3].text_of("code") == "NetConnection.Connect.Success");
  CHECK(s.request().app == "live");

  // releaseStream, FCPublish, createStream: answered; createStream with stream 1.
  out = {};
  bytes next = client_command({amf0_value::of("releaseStream"), amf0_value::of(2.0), amf0_value::null_value(), amf0_value::of("KEY")});
  auto more = client_command({amf0_value::of("FCPublish"), amf0_value::of(3.0), amf0_value::null_value(), amf0_value::of("KEY")});
  next.insert(next.end(), more.begin(), more.end());
  more = client_command({amf0_value::of("createStream"), amf0_value::of(4.0), amf0_value::null_value()});
  next.insert(next.end(), more.begin(), more.end());
  REQUIRE(s.receive(next, out));
  // (the server's chunk size is 4096 now: read with a reader that was told so)
  rtmp_chunk_reader at_4096;
  REQUIRE(at_4096.set_chunk_size(rtmp_out_chunk_size));
  std::vector<rtmp_message> answers;
  REQUIRE(at_4096.read(out.send, answers));
  cmds = commands_of(answers);
  REQUIRE(cmds.size() == 3);
  CHECK(cmds[2][1].number == 4.0);
  CHECK(cmds[2][3].number == 1.0);

  // Media before the publish is dropped; publish asks the application.
  out = {};
  bytes early;
  write_rtmp_message(early, 6, rtmp_type::video, 1, 0, avc_sequence_header, 128);
  auto publish = client_command({amf0_value::of("publish"), amf0_value::of(5.0), amf0_value::null_value(),
                                 amf0_value::of("KEY"), amf0_value::of("live")}, 1);
  early.insert(early.end(), publish.begin(), publish.end());
  REQUIRE(s.receive(early, out));
  CHECK(s.media_dropped() == 1);
  REQUIRE(out.publish);
  CHECK(out.publish->stream_key == "KEY");
  CHECK(out.publish->app == "live");
  CHECK(out.publish->tc_url == "rtmp://127.0.0.1:19350/live");
  CHECK(s.at() == rtmp_publish_session::phase::publish_asked);

  // Accepted: Stream Begin and NetStream.Publish.Start on stream 1; then media flows.
  out = {};
  s.accept(out);
  answers.clear();
  REQUIRE(at_4096.read(out.send, answers));
  REQUIRE(answers.size() == 2);
  CHECK(answers[0].type == rtmp_type::user_control);
  cmds = commands_of(answers);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0][0].text == "onStatus");
  CHECK(cmds[0][3].text_of("code") == "NetStream.Publish.Start");
  CHECK(answers[1].stream_id == 1);

  out = {};
  bytes media;
  write_rtmp_message(media, 6, rtmp_type::video, 1, 0, avc_sequence_header, 128);
  write_rtmp_message(media, 4, rtmp_type::audio, 1, 0, aac_sequence_header, 128);
  write_rtmp_message(media, 6, rtmp_type::video, 2, 33, bytes{0x27, 1, 0, 0, 0, 9}, 128); // another stream: dropped
  REQUIRE(s.receive(media, out));
  REQUIRE(out.media.size() == 2);
  CHECK(out.media[0].type == rtmp_type::video);
  CHECK(out.media[0].data == avc_sequence_header);
  CHECK(out.media[1].type == rtmp_type::audio);
  CHECK(s.media_dropped() == 2);

  // FCUnpublish ends the stream.
  out = {};
  REQUIRE(s.receive(client_command({amf0_value::of("FCUnpublish"), amf0_value::of(6.0), amf0_value::null_value(),
                                    amf0_value::of("KEY")}),
                    out));
  CHECK(out.unpublished);
}

TEST_CASE("RTMP publish: acknowledgements follow the peer's window; pings are answered") {
  rtmp_publish_session s;
  rtmp_output out;
  REQUIRE(s.receive(c0c1(), out));
  bytes in(rtmp_handshake_bytes, 0);
  in.insert(in.end(), ffmpeg_connect.begin(), ffmpeg_connect.end());
  write_rtmp_message(in, 2, rtmp_type::window_ack_size, 0, 0, from_hex("00000800"), 128); // 2048
  write_rtmp_message(in, 2, rtmp_type::user_control, 0, 0, from_hex("000600000abc"), 128); // ping
  out = {};
  REQUIRE(s.receive(in, out));
  rtmp_chunk_reader r;
  std::vector<rtmp_message> ms;
  REQUIRE(r.read(out.send, ms));
  bool ack = false, pong = false;
  for (const auto& m : ms) {
    ack = ack || m.type == rtmp_type::acknowledgement;
    pong = pong || (m.type == rtmp_type::user_control && m.payload == from_hex("000700000abc"));
  }
  CHECK(pong);
  CHECK(ack); // over 2048 bytes were received with the window set
}

TEST_CASE("RTMP publish: what must end the connection, with the reason") {
  struct refused {
    const char* name;
    bytes after_handshake; // empty: the handshake itself
    bytes handshake;
    const char* reason;
  };
  auto bad_version = c0c1();
  bad_version[0] = 6;
  const refused cases[] = {
    {"an encrypted handshake (version 6)", {}, bad_version, "RTMP version 6"},
    {"a command before connect",
     client_command({amf0_value::of("createStream"), amf0_value::of(2.0), amf0_value::null_value()}), c0c1(),
     "before connect"},
    {"a play request", [] {
       auto b = ffmpeg_connect;
       auto p = client_command({amf0_value::of("play"), amf0_value::of(2.0), amf0_value::null_value(), amf0_value::of("x")}, 1);
       b.insert(b.end(), p.begin(), p.end());
       return b;
     }(),
     c0c1(), "play request"},
    {"a command without a transaction id", client_command({amf0_value::of("connect")}), c0c1(),
     "transaction id"},
    {"a command that is not AMF0", [] {
       bytes b;
       write_rtmp_message(b, 3, rtmp_type::command_amf0, 0, 0, from_hex("07ffff"), 128);
       return b;
     }(),
     c0c1(), "does not parse"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    rtmp_publish_session s;
    rtmp_output out;
    auto first = s.receive(c.handshake, out);
    if (c.after_handshake.empty()) {
      REQUIRE_FALSE(first);
      CHECK(first.error().find(c.reason) != std::string::npos);
      continue;
    }
    REQUIRE(first);
    bytes rest(rtmp_handshake_bytes, 0);
    rest.insert(rest.end(), c.after_handshake.begin(), c.after_handshake.end());
    auto r = s.receive(rest, out);
    REQUIRE_FALSE(r);
    CHECK(r.error().find(c.reason) != std::string::npos);
  }
}

TEST_CASE("FLV: the header and a tag, byte for byte") {
  CHECK(flv_header(true, true) == from_hex("464c5601050000000900000000"));
  CHECK(flv_header(false, true) == from_hex("464c5601010000000900000000"));
  bytes out;
  append_flv_tag(out, flv_video_tag, 0x01020304, bytes{0xaa, 0xbb});
  CHECK(out == from_hex("09" "000002" "020304" "01" "000000" "aabb" "0000000d"));
}

TEST_CASE("FLV probe: what a publisher's first tags say, and what is refused") {
  SUBCASE("H.264 and AAC: ready with both and the first pictures, the SPS's profile-level-id") {
    flv_stream_probe p;
    REQUIRE(p.add(flv_video_tag, 0, avc_sequence_header));
    REQUIRE(p.add(flv_audio_tag, 0, aac_sequence_header));
    for (uint32_t i = 0; i < flv_stream_probe::rtmp_probe_frames; ++i) {
      CHECK_FALSE(p.ready());
      REQUIRE(p.add(flv_video_tag, i * 40, from_hex(i == 0 ? "1701000000aa" : "2701000000aa")));
    }
    CHECK(p.ready());
    CHECK(p.has_video());
    CHECK(p.has_audio());
    CHECK_FALSE(p.b_frames());
    CHECK(p.profile_level_id() == "64001f");
    CHECK(p.audio_format() == 10);
  }
  SUBCASE("a picture with a composition time offset: B-frames") {
    flv_stream_probe p;
    REQUIRE(p.add(flv_video_tag, 0, avc_sequence_header));
    REQUIRE(p.add(flv_audio_tag, 0, aac_sequence_header));
    REQUIRE(p.add(flv_video_tag, 0, from_hex("1701000050aa"))); // shown 80 ms after decoding
    for (uint32_t i = 1; i < flv_stream_probe::rtmp_probe_frames; ++i)
      REQUIRE(p.add(flv_video_tag, i * 40, from_hex("2701000000aa")));
    CHECK(p.ready());
    CHECK(p.b_frames());
  }
  SUBCASE("audio only: ready once the probe window has gone by") {
    flv_stream_probe p;
    REQUIRE(p.add(flv_audio_tag, 100, aac_sequence_header));
    REQUIRE(p.add(flv_audio_tag, 1000, from_hex("af01aa")));
    CHECK_FALSE(p.ready());
    REQUIRE(p.add(flv_audio_tag, 100 + flv_stream_probe::rtmp_probe_window_ms, from_hex("af01aa")));
    CHECK(p.ready());
    CHECK_FALSE(p.has_video());
  }
  SUBCASE("enhanced RTMP (HEVC by FourCC) is refused") {
    flv_stream_probe p;
    auto r = p.add(flv_video_tag, 0, from_hex("9068766331")); // ex-header, 'hvc1'
    REQUIRE_FALSE(r);
    CHECK(r.error().find("enhanced RTMP") != std::string::npos);
  }
  SUBCASE("VP6 (CodecID 4) is refused") {
    flv_stream_probe p;
    auto r = p.add(flv_video_tag, 0, from_hex("1400"));
    REQUIRE_FALSE(r);
    CHECK(r.error().find("CodecID 4") != std::string::npos);
  }
  SUBCASE("H.264 without a sequence header for the whole window is refused") {
    flv_stream_probe p;
    REQUIRE(p.add(flv_video_tag, 0, from_hex("2701000000aa")));
    auto r = p.add(flv_video_tag, flv_stream_probe::rtmp_probe_window_ms, from_hex("2701000000aa"));
    REQUIRE_FALSE(r);
    CHECK(r.error().find("sequence header") != std::string::npos);
  }
}

TEST_CASE("RTMP video plan: passed through, transcoded or refused, by rtmp.video and the router") {
  const auto router = *chorus::rtp::generate_router_capabilities(chorus::rtp::default_media_codecs());
  std::vector<chorus::rtp::media_codec_config> vp8_only{chorus::rtp::default_media_codecs()[0],
                                                         chorus::rtp::default_media_codecs()[1]};
  const auto no_h264 = *chorus::rtp::generate_router_capabilities(vp8_only);
  struct plan_case {
    const char* name;
    rtmp_video_mode mode;
    const char* profile;
    bool b_frames;
    const chorus::rtp::rtp_capabilities* router;
    int expect; // 1 copy, 0 transcode, -1 refused
    const char* declared_or_reason;
  };
  const plan_case cases[] = {
    {"constrained baseline, auto: copied", rtmp_video_mode::automatic, "42c01f", false, &router, 1, "42c01f"},
    {"main without B-frames, auto: copied", rtmp_video_mode::automatic, "4d0028", false, &router, 1, "4d0028"},
    {"main with B-frames, auto: transcoded", rtmp_video_mode::automatic, "4d0028", true, &router, 0, "42e01f"},
    {"high (x264's default), auto: transcoded", rtmp_video_mode::automatic, "64001f", false, &router, 0, "42e01f"},
    {"high 4:4:4, auto: transcoded", rtmp_video_mode::automatic, "f4000c", false, &router, 0, "42e01f"},
    {"constrained baseline, transcode: transcoded", rtmp_video_mode::transcode, "42e01f", false, &router, 0, "42e01f"},
    {"main without B-frames, copy: copied", rtmp_video_mode::copy, "4d001f", false, &router, 1, "4d001f"},
    {"high, copy: refused", rtmp_video_mode::copy, "64001f", false, &router, -1, "does not take its profile"},
    {"main with B-frames, copy: refused", rtmp_video_mode::copy, "4d001f", true, &router, -1, "B-frames"},
    {"not a profile, copy: refused", rtmp_video_mode::copy, "ff00ff", false, &router, -1, "not one of"},
    {"no H.264 in the router: refused", rtmp_video_mode::automatic, "64001f", false, &no_h264, -1, "no H.264"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto plan = plan_rtmp_video(c.mode, c.profile, c.b_frames, *c.router);
    if (c.expect < 0) {
      REQUIRE_FALSE(plan);
      CHECK(plan.error().find(c.declared_or_reason) != std::string::npos);
      continue;
    }
    REQUIRE_MESSAGE(plan, plan.error());
    CHECK(plan->copy == (c.expect == 1));
    CHECK(plan->profile_level_id == c.declared_or_reason);
    if (c.expect == 0) {
      CHECK(plan->x264_profile == "baseline");
      CHECK_FALSE(plan->reason.empty());
    }
  }
  CHECK(parse_rtmp_video_mode("auto") == rtmp_video_mode::automatic);
  CHECK(parse_rtmp_video_mode("copy") == rtmp_video_mode::copy);
  CHECK_FALSE(parse_rtmp_video_mode("Copy"));
}
