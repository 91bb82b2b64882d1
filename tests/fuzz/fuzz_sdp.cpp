// libFuzzer: SDP (protocol/sdp.hpp), the offers WHIP and WHEP clients post. Whatever parses
// is written and must parse again to a description that writes the same text (a round-trip
// property: the writer never emits what the parser refuses or reads differently).
#include "protocol/sdp.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = chorus::protocol::parse_sdp(text);
  if (!d.ok())
    return 0;
  for (std::size_t i = 0; i < d->media.size(); ++i) {
    (void)d->effective_fingerprint(i);
    (void)d->media[i].send_rids();
    (void)d->media[i].fid_pairs();
    for (auto& c : d->media[i].codecs)
      (void)c.parameter("apt");
  }
  (void)d->all_candidates();
  const std::string written = chorus::protocol::write_sdp(*d);
  auto again = chorus::protocol::parse_sdp(written);
  if (!again.ok() || chorus::protocol::write_sdp(*again) != written)
    std::abort();
  return 0;
}
