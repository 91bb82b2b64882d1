// libFuzzer: AV1 over RTP (rtp/av1_frames.hpp). The input is a stream of packets
// (packet_stream.hpp: aggregation header and OBU elements) fed to the assembler, whose
// temporal units are walked OBU by OBU (each must carry a size that fits) and written as IVF.
#include "rtp/av1_frames.hpp"
#include "rtp/vp9_frames.hpp"

#include "packet_stream.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace chorus::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> all(data, size);
  (void)read_leb128(all);
  av1_assembler a;
  std::vector<av1_assembler::temporal_unit> out;
  for_each_packet(data, size, [&](uint16_t seq, uint32_t ts, bool marker, std::span<const uint8_t> payload) {
    a.push(seq, ts, marker, payload, out);
  });
  for (auto& u : out) {
    // What the assembler writes is the low-overhead format: every OBU has a size that fits.
    std::span<const uint8_t> rest(u.data);
    while (!rest.empty()) {
      const std::size_t header = (rest[0] & 0x04) ? 2 : 1;
      if (!(rest[0] & 0x02) || rest.size() < header)
        std::abort();
      auto obu_size = read_leb128(rest.subspan(header));
      if (!obu_size || header + obu_size->second + obu_size->first > rest.size())
        std::abort();
      rest = rest.subspan(header + obu_size->second + std::size_t(obu_size->first));
    }
    std::vector<uint8_t> ivf = ivf_file_header("AV01", 0, 0, 90000);
    append_ivf_frame(ivf, u.data, u.timestamp);
  }
  return 0;
}
