// libFuzzer: the signaling port shared with ICE-TCP and TURN (net/connection_kind.hpp). The
// input is what a client sends first on a connection. Every prefix is classified, and the
// verdict must be stable: once decided it never changes with more bytes, and ten bytes
// always decide. Then the stream goes where the server would send it: ICE-TCP through the
// RFC 4571 frame reader (in pieces whose sizes come from the input) with each frame parsed as
// STUN and asked for its ufrag as the first frame is; TURN cut by its own lengths, each frame
// parsed as TURN or ChannelData.
#include "net/connection_kind.hpp"
#include "net/media_io_demux.hpp"
#include "net/stun.hpp"
#include "net/tcp_framing.hpp"
#include "net/turn_message.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

using namespace chorus::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input{data, size};
  auto decided = connection_kind::undecided;
  for (std::size_t n = 0; n <= std::min<std::size_t>(size, 64); ++n) {
    const auto kind = classify_connection(input.first(n));
    if (decided != connection_kind::undecided && kind != decided)
      std::abort(); // a verdict changed with more bytes
    if (kind == connection_kind::undecided && n >= connection_kind_head_bytes)
      std::abort(); // ten bytes must decide
    decided = kind;
  }
  if (decided == connection_kind::ice_tcp) {
    tcp_frame_reader reader(64);
    bool first = true;
    std::size_t off = 0;
    while (off < size) {
      const std::size_t n = std::min<std::size_t>(size - off, 1 + data[off] % 53);
      reader.feed(input.subspan(off, n));
      off += n;
      while (auto frame = reader.next()) {
        if (first)
          (void)binding_request_local_ufrag(*frame);
        first = false;
        (void)stun::parse(*frame);
      }
    }
  } else if (decided == connection_kind::turn) {
    std::size_t used = 0;
    for (;;) {
      const auto rest = input.subspan(used);
      const auto frame = turn::stream_frame_size(rest);
      if (!frame || *frame == 0 || *frame > rest.size())
        break;
      if (auto cd = turn::parse_channel_data(rest.first(*frame)))
        (void)cd;
      else
        (void)turn::parse(rest.first(*frame));
      used += *frame;
    }
  }
  return 0;
}
