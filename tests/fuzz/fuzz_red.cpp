// libFuzzer: RED (RFC 2198, rtp/audio_red.hpp). The whole input is a RED payload: parsed,
// its block types mapped (as a producer does), and unwrapped for an Opus receiver; it is
// also a stream of packets (packet_stream.hpp) wrapped for a RED receiver and unwrapped
// again, which must give each packet's payload back.
#include "rtp/audio_red.hpp"

#include "packet_stream.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace chorus::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> all(data, size);
  if (auto red = parse_red(all))
    for (size_t i = 0; i < red->count; ++i)
      if (red->blocks[i].data.data() < data || red->blocks[i].data.data() + red->blocks[i].data.size() > data + size)
        std::abort(); // a block outside the payload
  std::vector<uint8_t> copy(data, data + size);
  std::array<int16_t, 128> map;
  map.fill(-1);
  map[111] = 100;
  map[100] = 100;
  (void)map_red_payload_types(copy, map);
  std::vector<uint8_t> out(red_converter::max_output(size));
  red_converter unwrap(111, 100, false, 0);
  (void)unwrap.convert(1, 960, all, false, 0, out);

  red_converter wrap(111, 100, true, 0);
  red_converter back(111, 100, false, 0);
  std::vector<uint8_t> wrapped, plain;
  for_each_packet(data, size, [&](uint16_t seq, uint32_t ts, bool, std::span<const uint8_t> payload) {
    wrapped.resize(red_converter::max_output(payload.size()));
    auto n = wrap.convert(seq, ts, payload, false, int64_t(seq) * 20, wrapped);
    if (!n || *n > wrapped.size())
      std::abort(); // wrapping always fits the room it asks for
    plain.resize(*n);
    auto m = back.convert(seq, ts, std::span(wrapped.data(), *n), false, 0, plain);
    if (!payload.empty() && (!m || *m != payload.size() || std::memcmp(plain.data(), payload.data(), *m) != 0))
      std::abort(); // the primary comes back as it went in
  });
  return 0;
}
