// libFuzzer: the Dependency Descriptor (rtp/dependency_descriptor.hpp). The input is a
// stream of descriptors (packet_stream.hpp: each packet's payload is one descriptor), read
// in order against one structure as a producer reads an encoding's: no read may leave the
// structure's limits, and every frame read names a template the structure holds.
#include "rtp/dependency_descriptor.hpp"
#include "rtp/frame_number_continuity.hpp"

#include "packet_stream.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace chorus::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  dd_structure structure;
  frame_number_continuity numbers;
  (void)read_dependency_descriptor(std::span<const uint8_t>(data, size), structure);
  std::vector<uint8_t> copy;
  for_each_packet(data, size, [&](uint16_t seq, uint32_t, bool marker, std::span<const uint8_t> value) {
    const auto f = read_dependency_descriptor(value, structure);
    if (structure.known() &&
        (structure.templates > dd_structure::max_templates || structure.decode_targets == 0 ||
         structure.decode_targets > dd_structure::max_decode_targets ||
         structure.chains > structure.decode_targets))
      std::abort(); // a structure out of its limits
    if (!f)
      return;
    if (!structure.known() || f->spatial >= dd_structure::max_spatial ||
        f->temporal >= dd_structure::max_temporal)
      std::abort(); // a frame read without a structure, or with ids out of range
    if (marker)
      numbers.restart();
    copy.assign(value.begin(), value.end());
    const uint16_t out = numbers.on_packet(f->frame_number);
    if (!write_dd_frame_number(copy, out))
      std::abort(); // a descriptor that was read holds its frame number
    auto again = structure;
    const auto g = read_dependency_descriptor(copy, again);
    if (!g || g->frame_number != out || g->spatial != f->spatial || g->temporal != f->temporal)
      std::abort(); // rewriting the number changes nothing else
    (void)seq;
  });
  return 0;
}
