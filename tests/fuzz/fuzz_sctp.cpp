// libFuzzer: SCTP as a data channel peer may send it once DTLS is up (RFC 4960 on usrsctp
// in its AF_CONN mode, net/sctp_association.hpp), and the DCEP open it carries (RFC 8832).
//
// usrsctp drops a packet whose CRC32c or verification tag is wrong before it reads any
// chunk, so a fuzzer that only mutated bytes would never get past the common header. The
// first input byte chooses what the harness mends in every packet it feeds:
//   bit 0: the association is first connected to a second one in memory (the four-way
//          handshake), so that DATA, SACK, FORWARD-TSN, RE-CONFIG, HEARTBEAT, SHUTDOWN ...
//          reach an established association; otherwise it has only sent its INIT.
//   bit 1: the verification tag is set to the one the association expects (learnt from
//          what its peer sent it during the handshake).
//   bit 2: the CRC32c is computed and written, as a real peer would.
//   bit 3: usrsctp's timers run between packets.
//   bit 4: DATA chunks get the TSNs the association expects next (from its peer's INIT).
// The rest is packets, each behind a one-byte length (a length of 0 takes the rest).
// What the association answers is dropped. The DCEP codec is checked on the same bytes:
// parse(build(x)) == x.
#include "net/sctp_association.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <memory>
#include <vector>

using namespace chorus::net;

namespace {

using bytes = std::vector<uint8_t>;

uint64_t clock_ms = 10'000'000; // usrsctp's timer wheel is process-global: one clock

// CRC32c (Castagnoli), as SCTP's checksum (RFC 4960 Appendix B): reflected, over the
// packet with the checksum field zero, written least significant byte first.
uint32_t crc32c(const uint8_t* p, size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i)
    c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return ~c;
}

void write_checksum(bytes& pkt) {
  if (pkt.size() < 12)
    return;
  pkt[8] = pkt[9] = pkt[10] = pkt[11] = 0;
  const uint32_t c = crc32c(pkt.data(), pkt.size());
  pkt[8] = static_cast<uint8_t>(c);
  pkt[9] = static_cast<uint8_t>(c >> 8);
  pkt[10] = static_cast<uint8_t>(c >> 16);
  pkt[11] = static_cast<uint8_t>(c >> 24);
}

struct endpoint {
  std::unique_ptr<sctp_association> a;
  std::deque<bytes> out;
  void take(sctp_output&& o) {
    std::move(o.packets.begin(), o.packets.end(), std::back_inserter(out));
  }
};

std::unique_ptr<sctp_association> make() {
  sctp_options o;
  o.max_message_size = 65'536;
  auto r = sctp_association::create(std::move(o));
  if (!r.ok())
    std::abort();
  return std::move(*r);
}

uint32_t read32(const bytes& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}

// What x expects of its peer: the verification tag and the next TSN.
struct expected {
  std::array<uint8_t, 4> tag{};
  uint32_t next_tsn = 0;
};

// Gives each DATA chunk of `pkt` the next TSN.
void number_data_chunks(bytes& pkt, uint32_t& next_tsn) {
  size_t at = 12;
  while (at + 8 <= pkt.size()) {
    const size_t len = size_t{pkt[at + 2]} << 8 | pkt[at + 3];
    if (len < 4)
      break;
    if (pkt[at] == 0) { // DATA
      const uint32_t tsn = next_tsn++;
      pkt[at + 4] = static_cast<uint8_t>(tsn >> 24);
      pkt[at + 5] = static_cast<uint8_t>(tsn >> 16);
      pkt[at + 6] = static_cast<uint8_t>(tsn >> 8);
      pkt[at + 7] = static_cast<uint8_t>(tsn);
    }
    at += (len + 3) & ~size_t{3};
  }
}

// Connects x and y in memory; returns what x expects of y (learnt from y's packets).
expected handshake(endpoint& x, endpoint& y) {
  expected e;
  auto& tag = e.tag;
  x.take(x.a->connect());
  y.take(y.a->connect());
  for (int round = 0; round < 200; ++round) {
    if (x.a->state() == sctp_state::connected && y.a->state() == sctp_state::connected)
      break;
    if (x.out.empty() && y.out.empty()) {
      clock_ms += 100;
      sctp_advance_timers(clock_ms);
      x.take(x.a->take_pending());
      y.take(y.a->take_pending());
    }
    while (!x.out.empty()) {
      auto p = std::move(x.out.front());
      x.out.pop_front();
      y.take(y.a->handle_packet(p));
    }
    while (!y.out.empty()) {
      auto p = std::move(y.out.front());
      y.out.pop_front();
      // A packet y sends carries x's tag, except an INIT (its tag field is 0).
      if (p.size() >= 13 && p[12] != 1)
        std::copy(p.begin() + 4, p.begin() + 8, tag.begin());
      // Its INIT or INIT ACK names its initial TSN (chunk offset 16).
      if (p.size() >= 32 && (p[12] == 1 || p[12] == 2))
        e.next_tsn = read32(p, 28);
      // usrsctp's own packets carry a correct checksum: the harness's must agree.
      bytes mended = p;
      write_checksum(mended);
      if (mended != p)
        std::abort();
      x.take(x.a->handle_packet(p));
    }
  }
  return e;
}

void check_dcep(const uint8_t* data, size_t size) {
  auto r = parse_dcep_open({data, size});
  if (!r.ok())
    return;
  auto again = parse_dcep_open(build_dcep_open(*r));
  if (!again.ok() || again->label != r->label || again->protocol != r->protocol ||
      again->priority != r->priority || again->options.ordered != r->options.ordered ||
      again->options.reliability != r->options.reliability ||
      again->options.reliability_value != r->options.reliability_value)
    std::abort(); // parse(build(x)) == x
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  const uint8_t mode = data[0];
  check_dcep(data + 1, size - 1);

  endpoint x{make()}, y{make()};
  expected e;
  if (mode & 1)
    e = handshake(x, y);
  else
    x.take(x.a->connect());

  size_t off = 1;
  while (off < size) {
    size_t n = data[off++];
    if (n == 0 || n > size - off)
      n = size - off;
    bytes pkt(data + off, data + off + n);
    off += n;
    if ((mode & 2) && pkt.size() >= 8)
      std::copy(e.tag.begin(), e.tag.end(), pkt.begin() + 4);
    if (mode & 16)
      number_data_chunks(pkt, e.next_tsn);
    if (mode & 4)
      write_checksum(pkt);
    x.take(x.a->handle_packet(pkt));
    x.out.clear();
    if (mode & 8) {
      clock_ms += 250;
      sctp_advance_timers(clock_ms);
      x.take(x.a->take_pending());
      x.out.clear();
    }
  }
  (void)looks_like_sctp({data, size});
  x.take(x.a->close());
  y.take(y.a->close());
  // Timers past any retransmission of the close, so that nothing of this input lingers.
  clock_ms += 60'000;
  sctp_advance_timers(clock_ms);
  (void)x.a->take_pending();
  (void)y.a->take_pending();
  return 0;
}
