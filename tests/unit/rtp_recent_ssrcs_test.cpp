// recent_ssrcs: the bounded, least-recently-seen-first list behind the transport's SRTP
// state for SSRCs it routes nowhere.
#include "rtp/recent_ssrcs.hpp"

#include <doctest/doctest.h>

using chorus::rtp::recent_ssrcs;

TEST_CASE("recent_ssrcs: up to the bound nothing leaves; past it the least recently seen") {
  recent_ssrcs r(3);
  CHECK_FALSE(r.touch(1));
  CHECK_FALSE(r.touch(2));
  CHECK_FALSE(r.touch(3));
  CHECK(r.size() == 3);
  const auto out = r.touch(4);
  REQUIRE(out);
  CHECK(*out == 1);
  CHECK_FALSE(r.contains(1));
  CHECK(r.contains(4));
  CHECK(r.size() == 3);
}

TEST_CASE("recent_ssrcs: a stream that keeps sending stays while newer ones come and go") {
  recent_ssrcs r(3);
  CHECK_FALSE(r.touch(100)); // the stream that goes on
  for (uint32_t stray = 1; stray <= 50; ++stray) {
    CAPTURE(stray);
    const auto out = r.touch(stray);
    CHECK((!out || *out != 100));
    CHECK_FALSE(r.touch(100)); // seen again: the most recent now
    CHECK(r.contains(100));
  }
  CHECK(r.size() == 3);
}

TEST_CASE("recent_ssrcs: touching a known SSRC moves it last, it does not add it twice") {
  recent_ssrcs r(2);
  CHECK_FALSE(r.touch(7));
  CHECK_FALSE(r.touch(8));
  CHECK_FALSE(r.touch(7)); // 8 is now the least recently seen
  CHECK(r.size() == 2);
  const auto out = r.touch(9);
  REQUIRE(out);
  CHECK(*out == 8);
  CHECK(r.contains(7));
  CHECK(r.contains(9));
}

TEST_CASE("recent_ssrcs: a bound of 0 is taken as 1; SSRC 0 is an SSRC like any other") {
  recent_ssrcs r(0);
  CHECK_FALSE(r.touch(0));
  const auto out = r.touch(5);
  REQUIRE(out);
  CHECK(*out == 0);
  CHECK(r.size() == 1);
}
