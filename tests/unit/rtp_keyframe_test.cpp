// Keyframe detection per codec (VP8 RFC 7741, VP9 draft-ietf-payload-vp9, H264 RFC 6184).
#include "rtp/keyframe.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

using bytes = std::vector<uint8_t>;

struct row {
  const char* name;
  payload_codec codec;
  bytes payload;
  bool keyframe;
};

} // namespace

TEST_CASE("keyframe: detection table") {
  const row rows[] = {
    // ---- VP8 ----
    {"vp8 key: X=1 S=1 PID=0, I=1 M=1 picture id, P=0 + start code 9d 01 2a (640x480)",
     payload_codec::vp8,
     {0x90, 0x80, 0x80, 0x01, /* VP8 */ 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0,
      0x01},
     true},
    {"vp8 key: minimal descriptor (X=0) S=1 PID=0", payload_codec::vp8,
     {0x10, /* VP8 */ 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a}, true},
    {"vp8 key: X=1 with I (7-bit id), L, T", payload_codec::vp8,
     {0x90, 0xe0, 0x12, 0x05, 0x40, /* VP8 */ 0x50}, true},
    {"vp8 delta: P=1", payload_codec::vp8, {0x90, 0x80, 0x80, 0x02, /* VP8 */ 0x31, 0x0c, 0x00},
     false},
    {"vp8 continuation: S=0", payload_codec::vp8, {0x80, 0x80, 0x80, 0x01, 0x50}, false},
    {"vp8 partition 1: S=1 PID=1", payload_codec::vp8, {0x11, 0x50}, false},
    {"vp8 truncated after descriptor", payload_codec::vp8, {0x90, 0x80, 0x80, 0x01}, false},
    {"vp8 truncated picture id", payload_codec::vp8, {0x90, 0x80}, false},
    {"vp8 empty", payload_codec::vp8, {}, false},
    // ---- VP9 ----
    {"vp9 key: I L B V, P=0, SID=0", payload_codec::vp9,
     {0xaa, 0x80, 0x01, /* L */ 0x00, /* TL0PICIDX */ 0x05}, true},
    {"vp9 key without L: P=0 B=1", payload_codec::vp9, {0x08, 0x00}, true},
    {"vp9 inter frame: P=1", payload_codec::vp9, {0xea, 0x80, 0x02, 0x00, 0x05}, false},
    {"vp9 not start of frame: B=0", payload_codec::vp9, {0xa6, 0x80, 0x01, 0x00, 0x05}, false},
    {"vp9 spatial layer 1 of a keyframe: SID=1", payload_codec::vp9,
     {0xaa, 0x80, 0x01, 0x02, 0x05}, false},
    {"vp9 truncated before L byte", payload_codec::vp9, {0xaa, 0x80, 0x01}, false},
    // ---- H264 ----
    {"h264 single NAL IDR (type 5)", payload_codec::h264, {0x65, 0x88, 0x84}, true},
    {"h264 single NAL SPS (type 7)", payload_codec::h264, {0x67, 0x42, 0xc0, 0x1f}, true},
    {"h264 single NAL non-IDR slice (type 1)", payload_codec::h264, {0x41, 0x9a}, false},
    {"h264 STAP-A with SPS + PPS", payload_codec::h264,
     {0x78, /* size */ 0x00, 0x04, /* SPS */ 0x67, 0x42, 0xc0, 0x1f, /* size */ 0x00, 0x02,
      /* PPS */ 0x68, 0xce},
     true},
    {"h264 STAP-A with PPS + IDR", payload_codec::h264,
     {0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88}, true},
    {"h264 STAP-A with PPS + SEI", payload_codec::h264,
     {0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x06, 0x05}, false},
    {"h264 STAP-A size past the payload", payload_codec::h264, {0x78, 0x00, 0x09, 0x65, 0x88},
     false},
    {"h264 FU-A start of IDR", payload_codec::h264, {0x7c, 0x85, 0x88, 0x84}, true},
    {"h264 FU-A middle of IDR", payload_codec::h264, {0x7c, 0x05, 0x00}, false},
    {"h264 FU-A start of non-IDR", payload_codec::h264, {0x7c, 0x81, 0x9a}, false},
    {"h264 FU-A truncated", payload_codec::h264, {0x7c}, false},
    {"h264 empty", payload_codec::h264, {}, false},
    // ---- audio ----
    {"opus never", payload_codec::opus, {0x78, 0x65, 0x10}, false},
    {"other never", payload_codec::other, {0x65}, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(is_keyframe(r.codec, r.payload) == r.keyframe);
  }
}

TEST_CASE("keyframe throttle: one request per interval, requests inside it merged") {
  keyframe_throttle t{500};
  struct step {
    const char* name;
    bool is_request; // request() or due()
    int64_t now_ms;
    bool sent;
  };
  const step steps[] = {
    {"first request goes out at once", true, 1000, true},
    {"a second receiver 10 ms later is merged", true, 1010, false},
    {"and a third", true, 1200, false},
    {"nothing due before the interval ends", false, 1499, false},
    {"the merged request is due at the end of the interval", false, 1500, true},
    {"only once", false, 1600, false},
    {"a request right after the merged one waits again", true, 1700, false},
    {"due one interval after the merged one", false, 2000, true},
    {"a request long after goes out at once", true, 5000, true},
    {"no pending left", false, 9000, false},
  };
  for (const auto& s : steps) {
    INFO(s.name);
    CHECK((s.is_request ? t.request(s.now_ms) : t.due(s.now_ms)) == s.sent);
  }
  CHECK_FALSE(t.pending());
}

TEST_CASE("h264_keyframe_start: the first packet of a keyframe, not a later slice of one") {
  struct row {
    const char* name;
    std::vector<uint8_t> payload;
    bool start;
  };
  const std::vector<row> rows = {
    {"SPS alone", {0x67, 0x42, 0xe0, 0x1f}, true},
    {"STAP-A with SPS and PPS", {0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
    {"IDR slice, first_mb_in_slice 0 (first bit set)", {0x65, 0x88, 0x84}, true},
    {"IDR slice, first_mb_in_slice 5 (a later slice: ue(v) 00110)", {0x65, 0x30, 0x84}, false},
    {"FU-A start of an IDR whose first_mb_in_slice is 0", {0x7c, 0x85, 0x88, 0x84}, true},
    {"FU-A start of an IDR's later slice", {0x7c, 0x85, 0x30, 0x84}, false},
    {"FU-A continuation of an IDR", {0x7c, 0x05, 0x88}, false},
    {"a non-IDR slice", {0x41, 0x9a}, false},
    {"IDR header with no slice bytes", {0x65}, false},
    {"empty", {}, false},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    CHECK(chorus::rtp::h264_keyframe_start(r.payload) == r.start);
  }
}
