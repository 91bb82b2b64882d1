// libFuzzer: RTMP as an encoder sends it after the handshake (protocol/rtmp_publish.hpp:
// the chunk stream, AMF0 commands, media) and the FLV probe of what it publishes
// (protocol/flv.hpp). The first byte chooses the size of the reads the input is cut into
// (as TCP would deliver it); a publish is accepted as the server would. What the session
// sends must read back as whole RTMP messages, and every tag it gives out is written as FLV.
#include "protocol/flv.hpp"
#include "protocol/rtmp_chunks.hpp"
#include "protocol/rtmp_publish.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

using namespace chorus::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const std::size_t piece = 1 + data[0] % 64 * 37;
  std::span<const uint8_t> in(data + 1, size - 1);

  rtmp_publish_session s;
  rtmp_output out;
  std::vector<uint8_t> hello(1 + 2 * rtmp_handshake_bytes, 0);
  hello[0] = 3;
  if (!s.receive(hello, out) || out.send.size() != 1 + 2 * rtmp_handshake_bytes)
    std::abort(); // a well-formed handshake is always taken and answered
  out.send.clear();
  rtmp_chunk_reader sent; // what the server sends, read as an encoder would
  flv_stream_probe probe;
  std::vector<uint8_t> flv = flv_header(true, true);
  for (std::size_t at = 0; at < in.size(); at += piece) {
    auto r = s.receive(in.subspan(at, std::min(piece, in.size() - at)), out);
    if (out.publish) {
      s.accept(out);
      out.publish.reset();
    }
    std::vector<rtmp_message> messages;
    if (!sent.read(out.send, messages))
      std::abort();
    out.send.clear();
    for (auto& m : out.media) {
      (void)probe.add(m.type, m.timestamp, m.data);
      append_flv_tag(flv, m.type, m.timestamp, m.data);
    }
    out.media.clear();
    if (!r)
      break;
    if (flv.size() > (1u << 20))
      flv.resize(13);
  }
  return 0;
}
