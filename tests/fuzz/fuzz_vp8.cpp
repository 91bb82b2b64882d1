// libFuzzer: the VP8 payload descriptor (rtp/vp8_descriptor.hpp) as a publisher sends it,
// and the picture id / TL0PICIDX rewriting a simulcast consumer applies. Properties: a
// rewrite never changes the descriptor's length or any other field, and what it wrote
// parses back; continuity over a stream of such payloads with switches never touches a
// payload that does not parse.
#include "rtp/vp8_descriptor.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace chorus::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3)
    return 0;
  const uint16_t pid = uint16_t((data[0] << 8) | data[1]);
  const uint8_t tl0 = data[2];
  std::vector<uint8_t> payload(data + 3, data + size);
  auto d = parse_vp8_descriptor(payload);
  if (d) {
    if (d->size > payload.size())
      std::abort();
    auto copy = payload;
    if (rewrite_vp8_descriptor(copy, *d, pid, tl0)) {
      auto d2 = parse_vp8_descriptor(copy);
      if (!d2 || d2->size != d->size || d2->tid != d->tid || d2->layer_sync != d->layer_sync ||
          d2->keyframe != d->keyframe || d2->start_of_frame != d->start_of_frame)
        std::abort();
      if (d->has_picture_id && d2->picture_id != (d->picture_id_15bit ? (pid & 0x7FFF) : (pid & 0x7F)))
        std::abort();
      if (d->has_tl0picidx && d2->tl0picidx != tl0)
        std::abort();
      // Nothing after the descriptor changes.
      if (std::memcmp(copy.data() + d->size, payload.data() + d->size, payload.size() - d->size) != 0)
        std::abort();
    }
  }
  // The same bytes as a stream: every 8th byte boundary a packet, a switch now and then.
  vp8_continuity c;
  for (size_t at = 0; at + 8 <= payload.size(); at += 8) {
    std::vector<uint8_t> p(payload.begin() + std::ptrdiff_t(at), payload.end());
    const auto before = p;
    if (p[0] & 0x40)
      c.mark_switch();
    if (!c.rewrite(p) && p != before)
      std::abort();
    std::vector<uint8_t> q = before;
    (void)vp8_continuity::apply_tag(q, c.tag());
  }
  return 0;
}
