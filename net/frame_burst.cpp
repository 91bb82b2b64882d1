#include "net/frame_burst.hpp"
#include "net/demux.hpp"

#include <algorithm>

namespace chorus::net {

namespace {

struct rtp_fields {
  uint32_t ssrc;
  uint32_t timestamp;
  uint16_t seq;
  bool marker;
};

// The fixed header of an RTP (or SRTP) packet; false for anything else (net/demux.hpp).
bool read_rtp(std::span<const uint8_t> b, rtp_fields& out) noexcept {
  if (classify(b) != packet_kind::rtp)
    return false;
  out.marker = (b[1] & 0x80) != 0;
  out.seq = uint16_t((b[2] << 8) | b[3]);
  out.timestamp = (uint32_t(b[4]) << 24) | (uint32_t(b[5]) << 16) | (uint32_t(b[6]) << 8) | b[7];
  out.ssrc = (uint32_t(b[8]) << 24) | (uint32_t(b[9]) << 16) | (uint32_t(b[10]) << 8) | b[11];
  return true;
}

} // namespace

void frame_burst::on_datagram(std::span<const uint8_t> bytes, const transport_address& source,
                              int64_t arrival_ns) noexcept {
  rtp_fields f{};
  if (!read_rtp(bytes, f))
    return;
  // (arrival_ns_ is 0 before the first RTP datagram, and after one without a stamp)
  open_ = settings_.max_gap_ns > 0 && arrival_ns != 0 && arrival_ns_ != 0 && !f.marker &&
          source == source_ && f.ssrc == ssrc_ && f.timestamp == timestamp_ &&
          f.seq == uint16_t(seq_ + 1) && arrival_ns >= arrival_ns_ &&
          arrival_ns - arrival_ns_ <= settings_.max_gap_ns;
  source_ = source;
  ssrc_ = f.ssrc;
  timestamp_ = f.timestamp;
  seq_ = f.seq;
  arrival_ns_ = arrival_ns;
}

int64_t frame_burst::wait_until_ns() const noexcept { return arrival_ns_ + settings_.max_gap_ns; }

bool frame_burst::should_wait(int64_t now_ns) noexcept {
  if (!open_)
    return false;
  if (budget_at_ns_ == 0)
    budget_at_ns_ = now_ns;
  if (now_ns > budget_at_ns_) {
    budget_ns_ = std::min(settings_.max_budget_ns,
                          budget_ns_ + (now_ns - budget_at_ns_) / settings_.budget_share);
    budget_at_ns_ = now_ns;
  }
  const int64_t left = wait_until_ns() - now_ns;
  // (left > max_gap_ns: a stamp from the future, the clock stepped back)
  return left > 0 && left <= settings_.max_gap_ns && budget_ns_ >= left;
}

void frame_burst::waited(int64_t started_ns, int64_t now_ns, bool joined) noexcept {
  budget_ns_ -= std::max<int64_t>(0, now_ns - started_ns);
  ++waits_;
  if (joined)
    ++joined_;
  open_ = false; // what the wait brought decides again (on_datagram)
}

} // namespace chorus::net
