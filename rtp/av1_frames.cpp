#include "rtp/av1_frames.hpp"

namespace chorus::rtp {

std::optional<std::pair<uint64_t, std::size_t>> read_leb128(std::span<const uint8_t> b) noexcept {
  uint64_t v = 0;
  for (std::size_t i = 0; i < 8 && i < b.size(); ++i) {
    v |= uint64_t(b[i] & 0x7F) << (7 * i);
    if (!(b[i] & 0x80))
      return std::make_pair(v, i + 1);
  }
  return std::nullopt;
}

void append_leb128(std::vector<uint8_t>& out, uint64_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v != 0)
      byte |= 0x80;
    out.push_back(byte);
  } while (v != 0);
}

void av1_assembler::discard() noexcept {
  if (open_)
    ++counters_.dropped_units;
  open_ = false;
  broken_ = false;
  has_sequence_header_ = false;
  in_fragment_ = false;
  fragment_.clear();
  unit_.clear();
}

void av1_assembler::add_obu(std::span<const uint8_t> obu) {
  if (obu.empty()) {
    broken_ = true;
    return;
  }
  const uint8_t header = obu[0];
  if (header & 0x80) { // the forbidden bit
    broken_ = true;
    return;
  }
  const auto type = av1_obu((header >> 3) & 0x0F);
  const bool extension = header & 0x04;
  const bool has_size = header & 0x02;
  const std::size_t header_size = extension ? 2 : 1;
  if (obu.size() < header_size) {
    broken_ = true;
    return;
  }
  if (type == av1_obu::temporal_delimiter || type == av1_obu::tile_list || type == av1_obu::padding)
    return; // not carried in a file's temporal unit (the delimiter is written once, first)
  auto payload = obu.subspan(header_size);
  if (has_size) { // keep the OBU's own size, but only what it covers
    auto size = read_leb128(payload);
    if (!size || size->second + size->first > payload.size()) {
      broken_ = true;
      return;
    }
    payload = payload.subspan(size->second, std::size_t(size->first));
  }
  if (unit_.size() + header_size + 8 + payload.size() > max_unit_bytes) {
    broken_ = true;
    return;
  }
  if (type == av1_obu::sequence_header)
    has_sequence_header_ = true;
  unit_.push_back(uint8_t(header | 0x02)); // with its size field
  if (extension)
    unit_.push_back(obu[1]);
  append_leb128(unit_, payload.size());
  unit_.insert(unit_.end(), payload.begin(), payload.end());
}

void av1_assembler::finish(std::vector<temporal_unit>& out) {
  if (!open_)
    return;
  if (broken_ || in_fragment_ || unit_.empty()) {
    waiting_keyframe_ = true;
    discard();
    return;
  }
  // A sequence header may be repeated before any frame: a keyframe starts a coded video
  // sequence (N on its first packet) and carries one.
  const bool keyframe = starts_sequence_ && has_sequence_header_;
  if (waiting_keyframe_ && !keyframe) {
    discard();
    return;
  }
  waiting_keyframe_ = false;
  temporal_unit tu;
  tu.timestamp = timestamp_;
  tu.keyframe = keyframe;
  tu.data.reserve(unit_.size() + 2);
  tu.data.push_back(uint8_t(int(av1_obu::temporal_delimiter) << 3 | 0x02));
  tu.data.push_back(0);
  tu.data.insert(tu.data.end(), unit_.begin(), unit_.end());
  open_ = false;
  has_sequence_header_ = false;
  unit_.clear();
  ++counters_.units;
  if (keyframe)
    ++counters_.keyframes;
  out.push_back(std::move(tu));
}

void av1_assembler::push(uint16_t seq, uint32_t timestamp, bool marker,
                         std::span<const uint8_t> payload, std::vector<temporal_unit>& out) {
  ++counters_.packets;
  // Packets come in order (rtp/reorder_buffer.hpp): a repeat or a straggler is ignored;
  // one far behind is the stream started over there, a gap like any other.
  const auto behind = int16_t(seq - next_seq_);
  if (have_seq_ && behind < 0 && behind >= -int(old_window))
    return;
  const bool gap = have_seq_ && seq != next_seq_;
  have_seq_ = true;
  next_seq_ = uint16_t(seq + 1);
  if (gap) {
    ++counters_.gaps;
    broken_ = open_;
    waiting_keyframe_ = true;
  }
  if (open_ && timestamp != timestamp_)
    finish(out); // the previous unit ended without a marker
  if (payload.empty()) {
    ++counters_.malformed;
    broken_ = open_;
    return;
  }
  const uint8_t agg = payload[0];
  const bool z = agg & 0x80, y = agg & 0x40;
  const unsigned w = (agg >> 4) & 0x03;
  if (!open_) {
    if (z) { // joined in the middle of an OBU
      ++counters_.dropped_units;
      return;
    }
    open_ = true;
    broken_ = false;
    timestamp_ = timestamp;
    starts_sequence_ = agg & 0x08; // N
  }
  if (z != in_fragment_) // a continuation with nothing to continue, or the reverse
    broken_ = true;
  // The OBU elements of this packet.
  std::vector<std::span<const uint8_t>> elements;
  auto rest = payload.subspan(1);
  for (unsigned i = 0; !rest.empty(); ++i) {
    if (w != 0 && i + 1 == w) { // the last of W elements: no length
      elements.push_back(rest);
      break;
    }
    auto len = read_leb128(rest);
    if (!len || len->second + len->first > rest.size()) {
      ++counters_.malformed;
      broken_ = true;
      break;
    }
    elements.push_back(rest.subspan(len->second, std::size_t(len->first)));
    rest = rest.subspan(len->second + std::size_t(len->first));
  }
  if (w != 0 && elements.size() != w && !broken_) { // fewer elements than it says
    ++counters_.malformed;
    broken_ = true;
  }
  for (std::size_t i = 0; i < elements.size() && !broken_; ++i) {
    const bool first = i == 0, last = i + 1 == elements.size();
    const auto e = elements[i];
    if (first && z) {
      if (unit_.size() + fragment_.size() + e.size() > max_unit_bytes) {
        broken_ = true;
        break;
      }
      fragment_.insert(fragment_.end(), e.begin(), e.end());
      if (last && y)
        break; // it goes on in the next packet
      add_obu(fragment_);
      fragment_.clear();
      in_fragment_ = false;
      continue;
    }
    if (last && y) {
      if (unit_.size() + e.size() > max_unit_bytes) {
        broken_ = true;
        break;
      }
      fragment_.assign(e.begin(), e.end());
      in_fragment_ = true;
      break;
    }
    add_obu(e);
  }
  if (broken_) { // it will be dropped: nothing of it is kept meanwhile
    unit_.clear();
    fragment_.clear();
    in_fragment_ = false;
  }
  if (marker)
    finish(out);
}

} // namespace chorus::rtp
