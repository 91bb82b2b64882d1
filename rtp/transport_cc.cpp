// Transport-wide congestion control feedback. See transport_cc.hpp.
#include "rtp/transport_cc.hpp"

#include "rtp/rtcp_bytes.hpp"

#include <array>

namespace chorus::rtp {

using namespace rtcp_bytes;

namespace {

// Status symbols (draft §3.1.1).
constexpr uint8_t sym_not_received = 0;
constexpr uint8_t sym_small = 1;
constexpr uint8_t sym_large = 2;
constexpr uint8_t sym_reserved = 3;

constexpr size_t max_run = 0x1FFF;  // 13-bit run length
constexpr size_t one_bit_count = 14;
constexpr size_t two_bit_count = 7;
constexpr uint16_t chunk_vector_flag = 0x8000;
constexpr uint16_t chunk_two_bit_flag = 0x4000;

constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Packs status symbols into chunks as they come, keeping at most 14 pending symbols (or
// a run of equal ones): a run length chunk when all pending symbols are equal, a 1-bit
// vector for 14 symbols without a large delta, otherwise a 2-bit vector of 7. Writes the
// chunks to `out` when it is non-empty, and counts them either way. No allocation; cheap to
// copy, so a trial copy can tell whether one more symbol still fits.
class chunk_encoder {
public:
  chunk_encoder() = default;
  chunk_encoder(std::span<uint8_t> out, size_t at) : out_(out), at_(at) {}

  void add(uint8_t s) noexcept {
    if (!can_add(s))
      emit_one();
    push(s);
  }
  void flush() noexcept {
    while (size_ > 0) {
      if (all_same_)
        emit_run();
      else if (!has_large_ && size_ > two_bit_count)
        emit_one_bit();
      else
        emit_two_bit();
    }
  }
  size_t chunks() const noexcept { return chunks_; }
  // Chunks written so far plus those flush() would still write.
  size_t total_chunks() const noexcept {
    chunk_encoder copy = *this;
    copy.out_ = {};
    copy.flush();
    return copy.chunks_;
  }

private:
  bool can_add(uint8_t s) const noexcept {
    if (size_ < two_bit_count)
      return true;
    if (all_same_ && s == symbols_[0] && size_ < max_run)
      return true;
    return size_ < one_bit_count && !has_large_ && s != sym_large;
  }
  void push(uint8_t s) noexcept {
    if (size_ < symbols_.size())
      symbols_[size_] = s;
    if (size_ == 0) {
      all_same_ = true;
      has_large_ = false;
    } else if (s != symbols_[0]) {
      all_same_ = false;
    }
    has_large_ = has_large_ || s == sym_large;
    ++size_;
  }
  void emit_one() noexcept {
    if (all_same_)
      emit_run();
    else if (!has_large_ && size_ == one_bit_count)
      emit_one_bit();
    else
      emit_two_bit();
  }
  void put_chunk(uint16_t chunk) noexcept {
    if (!out_.empty())
      put16(out_, at_, chunk);
    at_ += 2;
    ++chunks_;
  }
  // |0|S S| run length |
  void emit_run() noexcept {
    put_chunk(static_cast<uint16_t>((uint16_t(symbols_[0]) << 13) | size_));
    size_ = 0;
  }
  // |1|0| 14 symbols |, unused trailing symbols 0.
  void emit_one_bit() noexcept {
    uint16_t chunk = chunk_vector_flag;
    for (size_t i = 0; i < size_; ++i)
      if (symbols_[i] == sym_small)
        chunk = static_cast<uint16_t>(chunk | (1u << (one_bit_count - 1 - i)));
    put_chunk(chunk);
    size_ = 0;
  }
  // |1|1| 7 symbols |, the first min(7, size) pending ones; the rest stay pending.
  void emit_two_bit() noexcept {
    const size_t n = size_ < two_bit_count ? size_ : two_bit_count;
    uint16_t chunk = chunk_vector_flag | chunk_two_bit_flag;
    for (size_t i = 0; i < n; ++i)
      chunk = static_cast<uint16_t>(chunk | (uint16_t(symbols_[i]) << (2 * (two_bit_count - 1 - i))));
    put_chunk(chunk);
    const size_t rest = size_ - n;
    size_ = 0;
    std::array<uint8_t, one_bit_count> left{};
    for (size_t i = 0; i < rest; ++i)
      left[i] = symbols_[n + i];
    for (size_t i = 0; i < rest; ++i)
      push(left[i]);
  }

  std::array<uint8_t, one_bit_count> symbols_{};
  size_t size_ = 0; // may exceed 14 for a run of equal symbols
  bool all_same_ = true;
  bool has_large_ = false;
  std::span<uint8_t> out_;
  size_t at_ = 0;
  size_t chunks_ = 0;
};

// Walks the input and decides symbols and deltas, shared by the sizing and writing passes.
struct delta_state {
  bool have_reference = false;
  int64_t reference = 0;  // 64 ms units, unwrapped
  int64_t prev_ticks = 0; // 250 us units
};

} // namespace

rtcp_result<transport_cc_feedback> transport_cc_feedback::parse(const rtcp_packet& p) {
  if (p.header.type != uint8_t(rtcp_type::rtpfb) || p.header.count != rtpfb_transport_cc)
    return rtcp_error::wrong_type;
  const auto body = p.body;
  if (body.size() < 16)
    return rtcp_error::truncated;
  transport_cc_feedback fb;
  fb.sender_ssrc = get32(body, 0);
  fb.media_ssrc = get32(body, 4);
  fb.base_seq = get16(body, 8);
  const uint16_t count = get16(body, 10);
  // libwebrtc never reports more than 0x7FFF packets in one feedback; more is a peer
  // making a few bytes (run-length chunks) cost a large table here.
  if (count > max_feedback_packets)
    return rtcp_error::malformed;
  fb.reference_time = get24(body, 12);
  fb.fb_pkt_count = get8(body, 15);

  std::vector<uint8_t> symbols;
  symbols.reserve(count);
  size_t at = 16;
  while (symbols.size() < count) {
    if (at + 2 > body.size())
      return rtcp_error::truncated;
    const uint16_t chunk = get16(body, at);
    at += 2;
    const size_t remaining = count - symbols.size();
    if (!(chunk & chunk_vector_flag)) {
      const uint8_t s = (chunk >> 13) & 0x3;
      const size_t run = chunk & max_run;
      if (s == sym_reserved)
        return rtcp_error::malformed;
      symbols.insert(symbols.end(), run < remaining ? run : remaining, s);
    } else if (!(chunk & chunk_two_bit_flag)) {
      for (size_t i = 0; i < one_bit_count && i < remaining; ++i)
        symbols.push_back((chunk >> (one_bit_count - 1 - i)) & 0x1);
    } else {
      for (size_t i = 0; i < two_bit_count && i < remaining; ++i) {
        const uint8_t s = (chunk >> (2 * (two_bit_count - 1 - i))) & 0x3;
        if (s == sym_reserved)
          return rtcp_error::malformed;
        symbols.push_back(s);
      }
    }
  }

  int64_t ticks = int64_t(fb.reference_time) * (transport_cc_reference_us / transport_cc_delta_us);
  fb.packets.reserve(count);
  for (size_t i = 0; i < symbols.size(); ++i) {
    packet_arrival a;
    a.seq = static_cast<uint16_t>(fb.base_seq + i);
    if (symbols[i] == sym_small) {
      if (at + 1 > body.size())
        return rtcp_error::truncated;
      ticks += get8(body, at);
      at += 1;
    } else if (symbols[i] == sym_large) {
      if (at + 2 > body.size())
        return rtcp_error::truncated;
      ticks += static_cast<int16_t>(get16(body, at));
      at += 2;
    }
    if (symbols[i] != sym_not_received) {
      a.received = true;
      a.arrival_us = ticks * transport_cc_delta_us;
    }
    fb.packets.push_back(a);
  }
  // Anything left is zero padding without the padding bit (tolerated).
  return fb;
}

rtcp_result<transport_cc_written> write_transport_cc(const transport_cc_params& params,
                                                     std::span<const packet_arrival> packets,
                                                     std::span<uint8_t> out) noexcept {
  if (packets.empty())
    return rtcp_error::bad_value;
  const size_t cap = out.size() > 4 * 65536 ? 4 * 65536 : out.size();

  // Pass 1: how many entries fit, and how many chunks and delta bytes they take.
  chunk_encoder enc;
  delta_state deltas;
  size_t status_count = 0;
  size_t delta_bytes = 0;
  size_t consumed = 0;
  size_t total_chunks = 0;
  for (size_t k = 0; k < packets.size(); ++k) {
    const auto& a = packets[k];
    size_t gap = 0;
    if (k > 0) {
      const uint16_t diff = static_cast<uint16_t>(a.seq - packets[k - 1].seq);
      if (diff == 0 || diff >= 0x8000)
        return rtcp_error::bad_value;
      gap = diff - 1u;
    }
    if (status_count + gap + 1 > max_feedback_packets)
      break;
    chunk_encoder trial = enc;
    delta_state trial_deltas = deltas;
    for (size_t g = 0; g < gap; ++g)
      trial.add(sym_not_received);
    size_t bytes = 0;
    if (a.received) {
      const int64_t ticks = floor_div(a.arrival_us, transport_cc_delta_us);
      if (!trial_deltas.have_reference) {
        trial_deltas.have_reference = true;
        trial_deltas.reference = floor_div(a.arrival_us, transport_cc_reference_us);
        trial_deltas.prev_ticks = trial_deltas.reference * (transport_cc_reference_us / transport_cc_delta_us);
      }
      const int64_t delta = ticks - trial_deltas.prev_ticks;
      if (delta >= 0 && delta <= 0xFF) {
        trial.add(sym_small);
        bytes = 1;
      } else if (delta >= INT16_MIN && delta <= INT16_MAX) {
        trial.add(sym_large);
        bytes = 2;
      } else {
        break; // needs a new reference time: a new packet
      }
      trial_deltas.prev_ticks = ticks;
    } else {
      trial.add(sym_not_received);
    }
    const size_t chunks = trial.total_chunks();
    const size_t size = pad4(transport_cc_header_size + chunks * 2 + delta_bytes + bytes);
    if (size > cap)
      break;
    enc = trial;
    deltas = trial_deltas;
    status_count += gap + 1;
    delta_bytes += bytes;
    total_chunks = chunks;
    consumed = k + 1;
  }
  if (consumed == 0)
    return rtcp_error::no_space;

  const size_t unpadded = transport_cc_header_size + total_chunks * 2 + delta_bytes;
  const size_t size = pad4(unpadded);
  const size_t padding = size - unpadded;

  // Pass 2: write.
  write_rtcp_header(out, rtpfb_transport_cc, rtcp_type::rtpfb, size, padding > 0);
  put32(out, 4, params.sender_ssrc);
  put32(out, 8, params.media_ssrc);
  put16(out, 12, packets[0].seq);
  put16(out, 14, static_cast<uint16_t>(status_count));
  put24(out, 16, static_cast<uint32_t>(deltas.reference) & 0xFFFFFF);
  put8(out, 19, params.fb_pkt_count);

  chunk_encoder writer(out, transport_cc_header_size);
  size_t delta_at = transport_cc_header_size + total_chunks * 2;
  int64_t prev_ticks = deltas.reference * (transport_cc_reference_us / transport_cc_delta_us);
  for (size_t k = 0; k < consumed; ++k) {
    const auto& a = packets[k];
    if (k > 0) {
      const uint16_t gap = static_cast<uint16_t>(a.seq - packets[k - 1].seq - 1);
      for (size_t g = 0; g < gap; ++g)
        writer.add(sym_not_received);
    }
    if (!a.received) {
      writer.add(sym_not_received);
      continue;
    }
    const int64_t ticks = floor_div(a.arrival_us, transport_cc_delta_us);
    const int64_t delta = ticks - prev_ticks;
    prev_ticks = ticks;
    if (delta >= 0 && delta <= 0xFF) {
      writer.add(sym_small);
      put8(out, delta_at, static_cast<uint8_t>(delta));
      delta_at += 1;
    } else {
      writer.add(sym_large);
      put16(out, delta_at, static_cast<uint16_t>(static_cast<int16_t>(delta)));
      delta_at += 2;
    }
  }
  writer.flush();
  for (size_t i = 0; i < padding; ++i)
    put8(out, unpadded + i, i + 1 == padding ? static_cast<uint8_t>(padding) : 0);
  return transport_cc_written{size, consumed};
}

rtcp_result<std::vector<std::vector<uint8_t>>>
build_transport_cc(const transport_cc_params& params, std::span<const packet_arrival> packets,
                   size_t max_size) {
  std::vector<std::vector<uint8_t>> result;
  transport_cc_params p = params;
  std::vector<uint8_t> buffer(max_size);
  size_t at = 0;
  while (at < packets.size()) {
    auto written = write_transport_cc(p, packets.subspan(at), buffer);
    if (!written)
      return written.error();
    result.emplace_back(buffer.begin(), buffer.begin() + ptrdiff_t(written->size));
    at += written->consumed;
    p.fb_pkt_count = static_cast<uint8_t>(p.fb_pkt_count + 1);
  }
  return result;
}

} // namespace chorus::rtp
