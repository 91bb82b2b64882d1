#include "protocol/rtmp_chunks.hpp"

#include <algorithm>
#include <string>

namespace chorus::protocol {

namespace {

uint32_t be(const uint8_t* p, int n) {
  uint32_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | p[i];
  return v;
}

void put_be(std::vector<uint8_t>& out, uint32_t v, int n) {
  for (int shift = 8 * (n - 1); shift >= 0; shift -= 8)
    out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_basic_header(std::vector<uint8_t>& out, uint8_t fmt, uint32_t chunk_stream) {
  if (chunk_stream < 64) {
    out.push_back(static_cast<uint8_t>(fmt << 6 | chunk_stream));
  } else if (chunk_stream < 64 + 256) {
    out.push_back(static_cast<uint8_t>(fmt << 6));
    out.push_back(static_cast<uint8_t>(chunk_stream - 64));
  } else {
    out.push_back(static_cast<uint8_t>(fmt << 6 | 1));
    out.push_back(static_cast<uint8_t>((chunk_stream - 64) & 0xff));
    out.push_back(static_cast<uint8_t>((chunk_stream - 64) >> 8));
  }
}

constexpr uint32_t extended_marker = 0xffffff;

} // namespace

result<bool> rtmp_chunk_reader::set_chunk_size(uint32_t size) {
  if (size == 0 || size > max_rtmp_chunk_size)
    return failure{"chunk size " + std::to_string(size) + " is outside 1.." +
                   std::to_string(max_rtmp_chunk_size)};
  chunk_size_ = size;
  return true;
}

void rtmp_chunk_reader::abort(uint32_t chunk_stream) {
  if (auto it = streams_.find(chunk_stream); it != streams_.end()) {
    partial_bytes_ -= it->second.partial.size();
    it->second.partial.clear();
  }
}

result<bool> rtmp_chunk_reader::read(std::span<const uint8_t> bytes,
                                     std::vector<rtmp_message>& out) {
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  for (;;) {
    auto r = read_chunk(out);
    if (!r)
      return failure{r.error()};
    if (*r == 0)
      break;
  }
  if (at_ > 0) {
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(at_));
    at_ = 0;
  }
  return true;
}

result<int> rtmp_chunk_reader::read_chunk(std::vector<rtmp_message>& out) {
  const uint8_t* p = pending_.data() + at_;
  const std::size_t avail = pending_.size() - at_;
  if (avail < 1)
    return 0;
  const uint8_t fmt = p[0] >> 6;
  uint32_t csid = p[0] & 0x3f;
  std::size_t used = 1;
  if (csid == 0) {
    if (avail < 2)
      return 0;
    csid = 64 + p[1];
    used = 2;
  } else if (csid == 1) {
    if (avail < 3)
      return 0;
    csid = 64 + p[1] + 256u * p[2];
    used = 3;
  }
  static constexpr std::size_t header_sizes[4] = {11, 7, 3, 0};
  const std::size_t header = header_sizes[fmt];
  if (avail < used + header)
    return 0;
  auto it = streams_.find(csid);
  if (it == streams_.end()) {
    if (fmt != 0)
      return failure{"the first chunk of chunk stream " + std::to_string(csid) + " is in format " +
                     std::to_string(fmt)};
    if (streams_.size() >= max_rtmp_chunk_streams)
      return failure{"over " + std::to_string(max_rtmp_chunk_streams) + " chunk streams"};
    it = streams_.emplace(csid, chunk_stream_state{}).first;
  }
  auto& st = it->second;
  const uint8_t* h = p + used;
  const bool new_message = st.partial.empty();
  if (!new_message && fmt != 3)
    return failure{"chunk stream " + std::to_string(csid) + " starts a new header (format " +
                   std::to_string(fmt) + ") inside a message"};
  uint32_t field = fmt == 3 ? 0 : be(h, 3);
  const bool extended = fmt == 3 ? st.extended : field == extended_marker;
  std::size_t need = used + header + (extended ? 4 : 0);
  if (avail < need)
    return 0;
  if (extended)
    field = be(p + used + header, 4);
  uint32_t length = st.length, stream_id = st.stream_id;
  uint8_t type = st.type;
  if (fmt <= 1) {
    length = be(h + 3, 3);
    type = h[6];
  }
  if (fmt == 0)
    stream_id = uint32_t{h[7]} | uint32_t{h[8]} << 8 | uint32_t{h[9]} << 16 | uint32_t{h[10]} << 24;
  if (length > max_rtmp_message_bytes)
    return failure{"a message of " + std::to_string(length) + " bytes (over " +
                   std::to_string(max_rtmp_message_bytes) + ")"};
  const std::size_t body =
    std::min<std::size_t>(chunk_size_, length - (new_message ? 0 : st.partial.size()));
  if (avail < need + body)
    return 0;

  // The chunk is whole: take its header.
  if (new_message) {
    if (fmt == 0) {
      st.timestamp = field;
      st.delta = field; // a format 3 message after it repeats the field as a delta, as FFmpeg does
    } else {
      if (fmt != 3)
        st.delta = field;
      st.timestamp += st.delta;
    }
    st.length = length;
    st.type = type;
    st.stream_id = stream_id;
    st.started = true;
  }
  if (fmt != 3)
    st.extended = extended;
  if (partial_bytes_ + body > max_rtmp_message_bytes)
    return failure{"over " + std::to_string(max_rtmp_message_bytes) +
                   " bytes of unfinished messages across chunk streams"};
  partial_bytes_ += body;
  st.partial.insert(st.partial.end(), p + need, p + need + body);
  at_ += need + body;
  if (st.partial.size() >= st.length) {
    rtmp_message m;
    m.chunk_stream = csid;
    m.type = st.type;
    m.stream_id = st.stream_id;
    m.timestamp = st.timestamp;
    partial_bytes_ -= st.partial.size();
    m.payload = std::move(st.partial);
    st.partial.clear();
    // The peer's chunk size and aborts apply to the very next chunk: taken here.
    if (m.type == rtmp_type::set_chunk_size || m.type == rtmp_type::abort) {
      if (m.payload.size() < 4)
        return failure{"a protocol control message shorter than 4 bytes"};
      const uint32_t v = be(m.payload.data(), 4) & 0x7fffffff;
      if (m.type == rtmp_type::abort) {
        abort(v);
      } else if (auto ok = set_chunk_size(v); !ok) {
        return failure{ok.error()};
      }
    }
    out.push_back(std::move(m));
  }
  return 1;
}

void write_rtmp_message(std::vector<uint8_t>& out, uint32_t chunk_stream, uint8_t type,
                        uint32_t stream_id, uint32_t timestamp, std::span<const uint8_t> payload,
                        uint32_t chunk_size) {
  const bool extended = timestamp >= extended_marker;
  put_basic_header(out, 0, chunk_stream);
  put_be(out, extended ? extended_marker : timestamp, 3);
  put_be(out, static_cast<uint32_t>(payload.size()), 3);
  out.push_back(type);
  for (int shift = 0; shift < 32; shift += 8) // the message stream id is little-endian
    out.push_back(static_cast<uint8_t>(stream_id >> shift));
  if (extended)
    put_be(out, timestamp, 4);
  std::size_t at = 0;
  do {
    if (at > 0) {
      put_basic_header(out, 3, chunk_stream);
      if (extended)
        put_be(out, timestamp, 4);
    }
    const std::size_t n = std::min<std::size_t>(chunk_size, payload.size() - at);
    out.insert(out.end(), payload.begin() + static_cast<std::ptrdiff_t>(at),
               payload.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  } while (at < payload.size());
}

} // namespace chorus::protocol
