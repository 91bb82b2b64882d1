// libFuzzer: the signaling dialects (protocol/dialect.hpp): one text message decoded by the
// JSON dialect of seeds 001/004 and by the Socket.IO dialect (after its CONNECT), which
// covers the JSON reader, every request parser and the rtpParameters / rtpCapabilities
// readers; an error reply is encoded for what fails.
#include "protocol/dialect.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace chorus::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = make_json_dialect();
  auto r = json->decode(text);
  if (!r.ok)
    (void)json->encode_error(r.meta, r.error);
  auto sio = make_socketio_dialect("fuzz-socket");
  (void)sio->decode("0");
  auto s = sio->decode(text);
  if (!s.ok)
    (void)sio->encode_error(s.meta, s.error);
  return 0;
}
