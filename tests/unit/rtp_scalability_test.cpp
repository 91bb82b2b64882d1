// Scalability modes of W3C webrtc-svc (rtp/scalability.hpp): every mode of the spec's list,
// and the near misses that are not modes.
#include "rtp/scalability.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace chorus::rtp;

namespace {

struct mode_row {
  const char* mode;
  uint8_t spatial;
  uint8_t temporal;
  bool ksvc;
  bool simulcast_like;
};

} // namespace

TEST_CASE("scalability: the W3C modes parse") {
  const mode_row rows[] = {
    {"L1T1", 1, 1, false, false},     {"L1T2", 1, 2, false, false},
    {"L1T3", 1, 3, false, false},     {"L2T1", 2, 1, false, false},
    {"L2T2", 2, 2, false, false},     {"L2T3", 2, 3, false, false},
    {"L3T1", 3, 1, false, false},     {"L3T2", 3, 2, false, false},
    {"L3T3", 3, 3, false, false},     {"L2T1h", 2, 1, false, false},
    {"L2T2h", 2, 2, false, false},    {"L2T3h", 2, 3, false, false},
    {"L3T1h", 3, 1, false, false},    {"L3T2h", 3, 2, false, false},
    {"L3T3h", 3, 3, false, false},    {"S2T1", 2, 1, false, true},
    {"S2T2", 2, 2, false, true},      {"S2T3", 2, 3, false, true},
    {"S2T1h", 2, 1, false, true},     {"S2T2h", 2, 2, false, true},
    {"S2T3h", 2, 3, false, true},     {"S3T1", 3, 1, false, true},
    {"S3T2", 3, 2, false, true},      {"S3T3", 3, 3, false, true},
    {"S3T1h", 3, 1, false, true},     {"S3T2h", 3, 2, false, true},
    {"S3T3h", 3, 3, false, true},     {"L2T1_KEY", 2, 1, true, false},
    {"L2T2_KEY", 2, 2, true, false},  {"L2T3_KEY", 2, 3, true, false},
    {"L3T1_KEY", 3, 1, true, false},  {"L3T2_KEY", 3, 2, true, false},
    {"L3T3_KEY", 3, 3, true, false},  {"L2T2_KEY_SHIFT", 2, 2, true, false},
    {"L2T3_KEY_SHIFT", 2, 3, true, false}, {"L3T2_KEY_SHIFT", 3, 2, true, false},
    {"L3T3_KEY_SHIFT", 3, 3, true, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.mode);
    const auto s = parse_scalability_mode(r.mode);
    REQUIRE(s.has_value());
    CHECK(s->spatial == r.spatial);
    CHECK(s->temporal == r.temporal);
    CHECK(s->ksvc == r.ksvc);
    CHECK(s->simulcast_like == r.simulcast_like);
  }
}

TEST_CASE("scalability: what is not a mode") {
  const char* rejected[] = {
    "",                // empty
    "L",               // truncated at every point
    "L1",
    "L1T",
    "L0T1",            // layer counts out of 1..3
    "L4T1",
    "L1T0",
    "L1T4",
    "L9T9",
    "L10T1",           // two digits
    "L1T10",
    "S1T1",            // S needs two spatial layers
    "S1T3",
    "L1T2h",           // suffixes are about spatial layers: not with one
    "L1T3_KEY",
    "L1T3_KEY_SHIFT",
    "L2T1_KEY_SHIFT",  // nothing temporal to shift
    "L3T1_KEY_SHIFT",
    "S2T3_KEY",        // K-SVC is an L mode
    "S3T3_KEY_SHIFT",
    "l1t3",            // case matters
    "L1t3",
    "T3",
    "X1T1",
    "L1T3 ",           // trailing text
    " L1T3",
    "L1T3x",
    "L2T3hh",
    "L2T3_key",
    "L2T3_KEY_",
    "L2T3_KEY_SHIFTX",
    "L2T3_SHIFT",
    "L2T3H",
    "L2T3_h",
    "L-1T1",
    "garbage",
  };
  for (const char* m : rejected) {
    CAPTURE(m);
    CHECK_FALSE(parse_scalability_mode(m).has_value());
  }
  // An embedded NUL does not end the text.
  CHECK_FALSE(parse_scalability_mode(std::string("L1T3\0", 5)).has_value());
  CHECK_FALSE(parse_scalability_mode(std::string("L1\0T3", 5)).has_value());
}

TEST_CASE("scalability: defaults are one spatial and one temporal layer") {
  const scalability none;
  CHECK(none == scalability{1, 1, false, false});
  CHECK(parse_scalability_mode("L1T1") == none);
}
