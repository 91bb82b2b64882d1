// Helpers shared by the RTCP unit tests: the one packet of a datagram, and a packet's body
// cut short at every length.
#pragma once

#include "rtp/rtcp.hpp"

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::rtp::test {

// The one packet of a datagram (REQUIREs that there is exactly one).
inline rtcp_packet single(std::span<const uint8_t> datagram) {
  auto packets = split_compound(datagram);
  REQUIRE(packets.ok());
  REQUIRE(packets->size() == 1);
  return packets->front();
}

// Calls check(cut, k) with `p`'s header and its body cut to each length k shorter than the
// body.
template <class Check>
void for_each_cut(const rtcp_packet& p, Check check) {
  for (std::size_t k = 0; k < p.body.size(); ++k) {
    CAPTURE(k);
    rtcp_packet cut = p;
    cut.body = p.body.first(k);
    check(cut, k);
  }
}

// Every cut of `p`'s body fails to parse.
template <class Parse>
void check_cuts_fail(const rtcp_packet& p, Parse parse) {
  for_each_cut(p, [&](const rtcp_packet& cut, std::size_t) { CHECK_FALSE(parse(cut).ok()); });
}

} // namespace chorus::rtp::test
