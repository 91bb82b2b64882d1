// RFC 4571 frame reassembly (net/tcp_framing.hpp): table cases fed whole, split at every
// byte boundary, byte by byte, and read straight into write_area() as a socket would.
#include "net/tcp_framing.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

using namespace chorus::net;

namespace {

using bytes = std::vector<uint8_t>;

struct framing_case {
  const char* name;
  bytes stream;                // what arrives on the connection
  std::vector<bytes> expected; // frames that come out
};

bytes framed(const bytes& payload) {
  bytes out{uint8_t(payload.size() >> 8), uint8_t(payload.size())};
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bytes concat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

bytes pattern(std::size_t n, uint8_t seed) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i)
    b[i] = uint8_t(seed + i * 7);
  return b;
}

std::vector<framing_case> cases() {
  const bytes stun_like = pattern(20, 0x00);
  const bytes rtp_like = pattern(1200, 0x80);
  const bytes max_frame = pattern(tcp_max_frame_size, 0x11);
  return {
    {"one frame", framed(stun_like), {stun_like}},
    {"two frames in one read", concat({framed(stun_like), framed(rtp_like)}),
     {stun_like, rtp_like}},
    {"zero-length frame skipped",
     concat({framed({}), framed({0xAB}), framed({}), framed({}), framed({0xCD, 0xEF})}),
     {{0xAB}, {0xCD, 0xEF}}},
    {"only zero-length frames", concat({framed({}), framed({})}), {}},
    {"max-size frame (65535)", concat({framed(max_frame), framed({1, 2, 3})}),
     {max_frame, {1, 2, 3}}},
    {"header only, frame never completes", {0x00, 0x05, 1, 2}, {}},
    {"one-byte frames", concat({framed({1}), framed({2}), framed({3})}), {{1}, {2}, {3}}},
  };
}

std::vector<bytes> drain(tcp_frame_reader& r) {
  std::vector<bytes> out;
  while (auto f = r.next())
    out.emplace_back(f->begin(), f->end());
  return out;
}

// Feeds `stream` in pieces whose boundaries are `cuts`, draining after each piece.
std::vector<bytes> feed_in_pieces(const bytes& stream, const std::vector<std::size_t>& cuts) {
  tcp_frame_reader r(64);
  std::vector<bytes> out;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : stream.size();
    r.feed({stream.data() + from, to - from});
    for (auto& f : drain(r))
      out.push_back(std::move(f));
    from = to;
  }
  return out;
}

} // namespace

TEST_CASE("tcp_framing: table cases fed in one piece") {
  for (const auto& c : cases()) {
    CAPTURE(c.name);
    tcp_frame_reader r;
    r.feed(c.stream);
    CHECK(drain(r) == c.expected);
  }
}

TEST_CASE("tcp_framing: table cases split in two at every byte boundary") {
  for (const auto& c : cases()) {
    CAPTURE(c.name);
    // Streams over 4 KiB (the max-size frame) would take 65k full passes: there every cut
    // within 16 bytes of a frame edge is taken, and one every 4099 bytes in between.
    std::vector<std::size_t> edges{0};
    for (std::size_t at = 0; at + 2 <= c.stream.size();) {
      at += tcp_frame_header_size + (std::size_t(c.stream[at]) << 8 | c.stream[at + 1]);
      edges.push_back(at);
    }
    auto near_edge = [&](std::size_t cut) {
      return std::any_of(edges.begin(), edges.end(), [&](std::size_t e) {
        return (cut > e ? cut - e : e - cut) <= 16;
      });
    };
    for (std::size_t cut = 0; cut <= c.stream.size(); ++cut) {
      if (c.stream.size() > 4096 && !near_edge(cut) && cut % 4099 != 0)
        continue;
      CAPTURE(cut);
      CHECK(feed_in_pieces(c.stream, {cut}) == c.expected);
    }
  }
}

TEST_CASE("tcp_framing: table cases fed byte by byte") {
  for (const auto& c : cases()) {
    CAPTURE(c.name);
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < c.stream.size(); ++i)
      cuts.push_back(i);
    CHECK(feed_in_pieces(c.stream, cuts) == c.expected);
  }
}

TEST_CASE("tcp_framing: reading straight into write_area like a socket") {
  const bytes big = pattern(30000, 3), small = pattern(100, 9);
  const bytes stream = concat({framed(small), framed(big), framed({}), framed(small)});
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 1000u, 4096u, 65537u}) {
    CAPTURE(chunk);
    tcp_frame_reader r(16);
    std::vector<bytes> out;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      auto area = r.write_area();
      REQUIRE(!area.empty());
      const std::size_t n = std::min({chunk, area.size(), stream.size() - pos});
      std::copy_n(stream.begin() + std::ptrdiff_t(pos), n, area.begin());
      r.commit(n);
      pos += n;
      for (auto& f : drain(r))
        out.push_back(std::move(f));
    }
    CHECK(out == std::vector<bytes>{small, big, small});
    CHECK(r.buffered() == 0);
  }
}

TEST_CASE("tcp_framing: partial frame stays buffered until complete") {
  tcp_frame_reader r;
  r.feed(bytes{0x00, 0x03, 0xAA});
  CHECK_FALSE(r.next());
  CHECK(r.buffered() == 3);
  r.feed(bytes{0xBB, 0xCC, 0x00});
  auto f = r.next();
  REQUIRE(f);
  CHECK(bytes(f->begin(), f->end()) == bytes{0xAA, 0xBB, 0xCC});
  CHECK_FALSE(r.next());
  CHECK(r.buffered() == 1); // half of the next header
}

TEST_CASE("tcp_framing: frame header encoding") {
  uint8_t h[2];
  put_tcp_frame_header(h, 0);
  CHECK((h[0] == 0 && h[1] == 0));
  put_tcp_frame_header(h, 1200);
  CHECK((h[0] == 0x04 && h[1] == 0xB0));
  put_tcp_frame_header(h, tcp_max_frame_size);
  CHECK((h[0] == 0xFF && h[1] == 0xFF));
}
