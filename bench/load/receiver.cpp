#include "bench/load/receiver.hpp"

#include "bench/load/media.hpp"
#include "rtp/keyframe.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>

namespace chorus::bench {

namespace {

constexpr uint64_t max_plausible_latency_us = 10'000'000;
constexpr uint64_t pli_min_interval_us = 300'000;   // a browser does not ask more often
constexpr uint64_t pli_repeat_us = 1'000'000;       // still no keyframe: ask again
constexpr int64_t nack_rtt_ms = 20;                 // retry spacing on loopback

// The fixed header, CSRCs and extension block of an RTP packet; false when malformed.
struct rtp_view {
  uint8_t payload_type = 0;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  std::span<const uint8_t> payload;
};

bool view_rtp(std::span<const uint8_t> p, rtp_view& v) noexcept {
  if (p.size() < 12 || (p[0] >> 6) != 2)
    return false;
  std::size_t h = 12 + 4 * std::size_t(p[0] & 0x0F);
  if (p[0] & 0x10) {
    if (p.size() < h + 4)
      return false;
    h += 4 + 4 * ((std::size_t(p[h + 2]) << 8) | p[h + 3]);
  }
  std::size_t end = p.size();
  if (p[0] & 0x20) {
    const uint8_t pad = p[p.size() - 1];
    if (pad == 0 || pad > end)
      return false;
    end -= pad;
  }
  if (h > end)
    return false;
  v.payload_type = p[1] & 0x7F;
  v.seq = rtp::rtp_sequence_number_of(p);
  v.timestamp = (uint32_t(p[4]) << 24) | (uint32_t(p[5]) << 16) | (uint32_t(p[6]) << 8) | p[7];
  v.ssrc = rtp::rtp_ssrc_of(p);
  v.payload = p.subspan(h, end - h);
  return true;
}

} // namespace

// ---- latency_histogram -------------------------------------------------------------------

void latency_histogram::add(uint64_t us, uint64_t n) noexcept {
  if (n == 0)
    return;
  count_ += n;
  sum_ += us * n;
  max_ = std::max(max_, us);
  if (us < fine_limit_us)
    fine_[us] += uint32_t(n);
  else if (us < coarse_limit_us)
    coarse_[(us - fine_limit_us) / coarse_step_us] += uint32_t(n);
  else
    overflow_ += n;
}

void latency_histogram::merge(const latency_histogram& o) noexcept {
  for (std::size_t i = 0; i < fine_.size(); ++i)
    fine_[i] += o.fine_[i];
  for (std::size_t i = 0; i < coarse_.size(); ++i)
    coarse_[i] += o.coarse_[i];
  overflow_ += o.overflow_;
  count_ += o.count_;
  sum_ += o.sum_;
  max_ = std::max(max_, o.max_);
}

uint64_t latency_histogram::quantile_us(double q) const noexcept {
  if (count_ == 0)
    return 0;
  const uint64_t rank = std::max<uint64_t>(1, uint64_t(q * double(count_) + 0.999999));
  uint64_t seen = 0;
  for (std::size_t i = 0; i < fine_.size(); ++i) {
    seen += fine_[i];
    if (seen >= rank)
      return i;
  }
  for (std::size_t i = 0; i < coarse_.size(); ++i) {
    seen += coarse_[i];
    if (seen >= rank)
      return fine_limit_us + (i + 1) * coarse_step_us;
  }
  return max_;
}

// ---- inbound_stream ----------------------------------------------------------------------

inbound_stream::inbound_stream(params p)
    : p_(std::move(p)), stats_(p_.ssrc, p_.clock_rate) {
  nack_.set_rtt(nack_rtt_ms);
}

bool inbound_stream::seen(int64_t ext) const noexcept {
  const uint64_t i = uint64_t(ext) % window;
  return (seen_[i / 64] >> (i % 64)) & 1u;
}

void inbound_stream::mark(int64_t ext) noexcept {
  const uint64_t i = uint64_t(ext) % window;
  seen_[i / 64] |= uint64_t(1) << (i % 64);
}

void inbound_stream::want_keyframe(uint64_t now_us, inbound_actions& out) noexcept {
  if (!is_video())
    return;
  need_keyframe_ = true;
  if (!p_.pli || (last_pli_us_ != 0 && now_us - last_pli_us_ < pli_min_interval_us))
    return;
  out.pli = true;
  last_pli_us_ = now_us;
}

void inbound_stream::on_resumed(uint64_t now_us, inbound_actions& out) {
  want_keyframe(now_us, out);
}

void inbound_stream::on_rtp(std::span<const uint8_t> packet, uint64_t now_us,
                            uint64_t arrival_us, latency_histogram* latency,
                            inbound_actions& out, bool opaque,
                            latency_histogram* keyframe_latency) {
  rtp_view v;
  if (!view_rtp(packet, v))
    return;
  ++c_.packets;
  c_.bytes += packet.size();
  const bool rtx = p_.rtx_ssrc != 0 && v.ssrc == p_.rtx_ssrc;
  std::span<const uint8_t> payload = v.payload;
  uint16_t seq = v.seq;
  if (rtx) {
    ++c_.rtx_packets;
    if (payload.size() < 2)
      return; // padding (bandwidth probe)
    seq = uint16_t((payload[0] << 8) | payload[1]);
    payload = payload.subspan(2);
  } else if (v.ssrc != p_.ssrc) {
    return;
  }
  const int64_t now_ms = int64_t(now_us / 1000);
  const bool keyframe = !opaque && is_video() && rtp::is_vp8_keyframe(payload);

  int64_t ext;
  bool fresh = false;
  if (!started_) {
    started_ = true;
    ext = (int64_t(1) << 32) + seq; // room below for late packets; low 16 bits = seq
    first_ext_ = highest_ext_ = ext;
    mark(ext);
    ++c_.unique;
    fresh = true;
  } else {
    ext = highest_ext_ + int16_t(uint16_t(seq - uint16_t(highest_ext_)));
    if (ext > highest_ext_) {
      if (ext - highest_ext_ >= window) {
        seen_.fill(0);
      } else {
        for (int64_t e = highest_ext_ + 1; e < ext; ++e) {
          const uint64_t i = uint64_t(e) % window;
          seen_[i / 64] &= ~(uint64_t(1) << (i % 64));
        }
      }
      highest_ext_ = ext;
      mark(ext);
      ++c_.unique;
      fresh = true;
    } else if (ext < first_ext_ || highest_ext_ - ext >= window) {
      ++c_.late; // too old to tell
    } else if (seen(ext)) {
      ++c_.duplicates;
    } else {
      mark(ext);
      ++c_.unique;
      if (!rtx)
        ++c_.late;
    }
  }
  c_.expected = uint64_t(highest_ext_ - first_ext_ + 1);

  // Which simulcast encoding the server forwarded (originals only: a repair is counted as
  // its original was).
  if (!rtx && !opaque && is_video())
    if (auto e = read_encoding_tag(payload)) {
      ++c_.encoding_packets[*e];
      if (p_.intended_encoding >= 0 && *e != uint8_t(p_.intended_encoding))
        ++c_.off_target;
    }

  // A keyframe's packets share the RTP timestamp of its first one (the one that says
  // keyframe).
  if (keyframe && !rtx)
    keyframe_timestamp_ = v.timestamp;
  // Latency: only packets that advance the stream, as sent (a repair is late on purpose).
  if (fresh && !rtx && latency && !opaque) {
    auto stamp = read_send_stamp(payload);
    if (stamp && *stamp <= arrival_us && arrival_us - *stamp < max_plausible_latency_us) {
      latency->add(arrival_us - *stamp);
      if (keyframe_latency && keyframe_timestamp_ == v.timestamp)
        keyframe_latency->add(arrival_us - *stamp);
    } else
      ++c_.bad_stamp;
  }

  stats_.on_packet(seq, v.timestamp, packet.size(), now_ms, rtx);
  if (p_.nack) {
    nack_.on_packet(seq, now_ms, keyframe, rtx ? rtp::packet_origin::rtx : rtp::packet_origin::media,
                    out.nack);
    last_abandoned_ = nack_.counters().abandoned; // a keyframe ending old losses is fine
  }
  if (keyframe) {
    ++c_.keyframes;
    need_keyframe_ = false;
  }
}

void inbound_stream::on_sender_report(uint64_t ntp, uint32_t rtp_timestamp,
                                      uint64_t now_us) noexcept {
  stats_.on_sender_report(ntp, rtp_timestamp, int64_t(now_us / 1000));
}

void inbound_stream::tick(uint64_t now_us, inbound_actions& out) {
  if (p_.nack) {
    nack_.tick(int64_t(now_us / 1000), out.nack);
    // A packet given up for good (age, retries): the picture is broken until a keyframe.
    if (nack_.counters().abandoned > last_abandoned_) {
      last_abandoned_ = nack_.counters().abandoned;
      want_keyframe(now_us, out);
    }
  }
  if (need_keyframe_ && p_.pli && now_us - last_pli_us_ >= pli_repeat_us) {
    out.pli = true;
    last_pli_us_ = now_us;
  }
}

bool inbound_stream::report_block(uint64_t now_us, rtp::report_block& out) noexcept {
  if (!stats_.started())
    return false;
  out = stats_.make_report_block(int64_t(now_us / 1000));
  return true;
}

} // namespace chorus::bench
