// How many copies of a retransmission go to a receiver, by the loss its last report gave.
#include "rtp/repair_copies.hpp"

#include <doctest/doctest.h>

#include <cstdint>

using namespace chorus::rtp;

TEST_CASE("repair_copies: two copies from 2 % loss (5/256) up, one below") {
  struct row {
    const char* name;
    uint8_t fraction_lost; // /256, as RTCP reports it
    uint8_t copies;
  };
  const row rows[] = {
    {"no loss reported", 0, 1},
    {"1.6 % (4/256): one", 4, 1},
    {"2 % (5/256): two", 5, 2},
    {"5 % (13/256): two", 13, 2},
    {"all lost: two", 255, 2},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(repair_copies(r.fraction_lost) == r.copies);
  }
}
