// libFuzzer: RTP packets (rtp/rtp_packet.hpp): the header, CSRCs, both extension forms,
// padding; every getter of a packet that parsed, the in-place rewriters (the remap's own
// finding of elements checked against a walk after it), RTX unwrapping;
// and the media I/O's look at a datagram's header for the rest of a frame
// (net/frame_burst.hpp), fed the input cut into datagrams.
#include "net/frame_burst.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace {
// Datagrams of the input's first bytes' lengths, a microsecond apart from one source.
void frame_burst_sequence(const uint8_t* data, size_t size) {
  chorus::net::frame_burst burst;
  const auto from = chorus::net::transport_address::v4(127, 0, 0, 1, 5000);
  int64_t now = 1'000'000'000;
  size_t at = 0;
  for (int k = 0; k < 16 && at < size; ++k) {
    const size_t n = std::min<size_t>(size - at, 12 + data[at] % 24);
    burst.on_datagram({data + at, n}, from, now);
    if (burst.should_wait(now + 500))
      burst.waited(now + 500, burst.wait_until_ns(), (data[at] & 1) != 0);
    at += n;
    now += 1000;
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  frame_burst_sequence(data, size);
  std::vector<uint8_t> buf(data, data + size);
  auto p = chorus::rtp::rtp_packet::parse(buf);
  if (!p)
    return 0;
  volatile uint64_t sink = p->sequence_number() + p->timestamp() + p->ssrc() + p->payload().size();
  for (uint8_t i = 0; i < p->csrc_count(); ++i)
    sink = sink + p->csrc(i);
  for (uint8_t id = 1; id < 15; ++id) {
    if (auto e = p->find_extension(id))
      sink = sink + e->size();
    sink = sink + p->abs_send_time(id).value_or(0) + p->transport_wide_seq(id).value_or(0);
    if (auto m = p->mid(id))
      sink = sink + m->size();
  }
  p->set_transport_wide_seq(3, 7);
  p->set_abs_send_time(2, 0x123456);
  {
    // As rtp_sender::send_rtp: both found in one walk, each written when well-sized.
    const auto v = p->find_extensions(data[0] & 0x0F, 2);
    chorus::rtp::write_transport_wide_seq(v.a, 9);
    chorus::rtp::write_abs_send_time(v.b, 0x654321);
  }
  const uint8_t mid[] = {'0'};
  p->rewrite_extension(1, mid);
  {
    // As a consumer's rewrite: the remap finds the sending elements in its walk, where a
    // walk of the remapped packet finds them (rtp_out::layout relies on it).
    chorus::rtp::extension_id_map map;
    for (uint8_t id = 1; id < 16; ++id)
      map.set(id, uint8_t((id * 7 + data[0]) % 17)); // some unmapped, some over 14
    const uint8_t a = uint8_t(data[0] % 16), b = uint8_t((data[0] >> 4) + 1);
    chorus::rtp::rtp_packet::extension_values found;
    p->remap_extension_ids(map, a, b, found);
    auto again = chorus::rtp::rtp_packet::parse(buf);
    if (!again)
      __builtin_trap(); // a remap keeps the packet valid
    const auto walked = again->find_extensions(a, b);
    if (found.a.data() != walked.a.data() || found.a.size() != walked.a.size() ||
        found.b.data() != walked.b.data() || found.b.size() != walked.b.size())
      __builtin_trap();
  }
  if (p->payload().size() >= 2) // as an RTX packet: the original sequence number first
    if (auto u = chorus::rtp::unwrap_rtx(*p, 96, 1234))
      sink = sink + u->sequence_number();
  (void)sink;
  return 0;
}
