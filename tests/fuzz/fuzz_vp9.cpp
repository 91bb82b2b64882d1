// libFuzzer: VP9 over RTP (rtp/vp9_frames.hpp). The input is a stream of packets
// (packet_stream.hpp) fed to the assembler, whose pictures' headers are parsed; the
// descriptor parser and the frame header parser also see the whole input.
#include "rtp/vp9_frames.hpp"

#include "packet_stream.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

using namespace chorus::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> all(data, size);
  (void)parse_vp9_descriptor(all);
  (void)parse_vp9_frame_header(all);
  vp9_assembler a;
  std::vector<vp9_assembler::picture> out;
  for_each_packet(data, size, [&](uint16_t seq, uint32_t ts, bool marker, std::span<const uint8_t> payload) {
    a.push(seq, ts, marker, payload, out);
  });
  a.flush(out);
  for (auto& p : out) {
    (void)parse_vp9_frame_header(p.data);
    std::vector<uint8_t> ivf = ivf_file_header("VP90", p.width, p.height, 90000);
    append_ivf_frame(ivf, p.data, p.timestamp);
  }
  return 0;
}
