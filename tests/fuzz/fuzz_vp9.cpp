// libFuzzer: VP9 over RTP (rtp/vp9_frames.hpp). The input is a stream of packets: each a
// 1-byte length, a 2-byte sequence number delta, a timestamp step and a marker bit, then the
// payload; fed to the assembler, whose pictures' headers are parsed; the descriptor parser
// and the frame header parser also see the whole input.
#include "rtp/vp9_frames.hpp"

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
  uint16_t seq = 0;
  uint32_t ts = 0;
  size_t off = 0;
  while (off + 4 <= size) {
    const size_t len = data[off];
    seq = uint16_t(seq + (data[off + 1] % 4)); // mostly in order, sometimes a gap or a repeat
    ts += uint32_t(data[off + 2] & 0x7F) * 100;
    const bool marker = data[off + 3] & 1;
    off += 4;
    const size_t n = len < size - off ? len : size - off;
    a.push(seq, ts, marker, all.subspan(off, n), out);
    off += n;
    ++seq;
  }
  a.flush(out);
  for (auto& p : out) {
    (void)parse_vp9_frame_header(p.data);
    std::vector<uint8_t> ivf = ivf_file_header("VP90", p.width, p.height, 90000);
    append_ivf_frame(ivf, p.data, p.timestamp);
  }
  return 0;
}
