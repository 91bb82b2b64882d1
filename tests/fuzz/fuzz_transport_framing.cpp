// libFuzzer: the framings under the signaling and the media: Engine.IO packets and polling
// payloads (net/engineio.hpp), Socket.IO packets (protocol/socketio_packet.hpp), and RFC
// 4571 frames over TCP (net/tcp_framing.hpp) fed in pieces whose sizes come from the input.
// Where a writer exists it is checked: a decoded Engine.IO packet encodes to a text that
// decodes to the same packet.
#include "net/engineio.hpp"
#include "net/tcp_framing.hpp"
#include "protocol/socketio_packet.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace eio = chorus::net::engineio;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  eio::packet p;
  if (eio::decode_packet(text, p)) {
    eio::packet again;
    if (!eio::decode_packet(eio::encode_packet(p), again) || again.type != p.type ||
        again.data != p.data || again.binary != p.binary)
      std::abort(); // decode(encode(x)) == x
  }
  std::vector<eio::packet> many;
  (void)eio::decode_payload(text, many);
  (void)chorus::protocol::socketio::parse_packet(text);

  chorus::net::tcp_frame_reader reader(64);
  size_t off = 0;
  while (off < size) {
    const size_t n = std::min<size_t>(size - off, 1 + data[off] % 37);
    reader.feed({data + off, n});
    off += n;
    while (auto f = reader.next())
      (void)f->size();
  }
  return 0;
}
