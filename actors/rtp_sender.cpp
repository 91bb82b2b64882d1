#include "actors/rtp_sender.hpp"

#include "actors/clock.hpp"
#include "actors/media_messages.hpp"
#include "net/media_io.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>

namespace chorus::actors {

bool rtp_sender::apply(const sending_state& s) {
  const bool was_ready = ready();
  if (s.has_tuple)
    tuple_ = s.tuple;
  if (s.has_keys && s.srtp_profile == 0)
    plain_ = true;
  else if (!rtp_ && !rtcp_ && s.has_keys) {
    if (auto profile = rtp::srtp_profile_from_id(s.srtp_profile)) {
      if (use_ == use::rtp) {
        if (auto p = rtp::rtp_protector::create(*profile, s.key, s.salt))
          rtp_.emplace(std::move(*p));
      } else if (auto session = rtp::srtp_session::create(
                   *profile, rtp::srtp_direction::outbound, s.key, s.salt,
                   {.rtcp_only = true})) { // (SRTP goes through rtp_protector, use::rtp)
        rtcp_.emplace(std::move(*session));
      }
    }
  }
  return !was_ready && ready();
}

void rtp_sender::remember_headers(size_t packets) {
  sent_headers_.clear();
  if (packets == 0)
    return;
  size_t n = 1;
  while (n < packets)
    n <<= 1;
  sent_headers_.assign(n, sent_header{});
}

namespace {
// A layout that fits its packet of `size` bytes: a header of at least the fixed one, and
// elements inside it (a layout comes from this process's consumer; checked all the same).
bool valid_layout(const rtp_out::layout& l, size_t size) noexcept {
  return l.header >= rtp::rtp_fixed_header_size && l.header <= size &&
         (l.tcc_at == 0 || (l.tcc_at >= rtp::rtp_fixed_header_size && l.tcc_at + 2u <= l.header)) &&
         (l.abs_at == 0 || (l.abs_at >= rtp::rtp_fixed_header_size && l.abs_at + 3u <= l.header));
}
} // namespace

size_t rtp_sender::send_rtp(rtp_out& out) {
  auto& sh = *shared_;
  if (!ready() || (!rtp_ && !plain_)) {
    sh.dropped_not_ready.fetch_add(out.offsets.size(), std::memory_order_relaxed);
    return 0;
  }
  // abs-send-time: 6.18 fixed point seconds, 24 bits (wraps every 64 s).
  // Reduced modulo 64 s first, so the shift never overflows however long the host is up.
  const int64_t now_us = mono_us_or(out.now_us);
  const uint32_t abs_send_time = uint32_t((((now_us % 64'000'000) << 18) / 1'000'000) & 0xFFFFFF);
  spans_.clear();
  // Numbering and logging under one lock: the log stays in number order (send_shared).
  std::unique_lock<std::mutex> log_lock(sh.send_log_mutex, std::defer_lock);
  const bool logging = out.tcc_ext_id != 0 && sh.send_log_on.load(std::memory_order_relaxed);
  if (logging) {
    log_lock.lock();
    if (sh.send_log.size() + out.offsets.size() > tuning::max_send_log)
      sh.send_log.erase(sh.send_log.begin(), sh.send_log.begin() + std::ptrdiff_t(sh.send_log.size() / 2));
  }
  const bool laid_out = out.layouts.size() == out.offsets.size();
  for (size_t i = 0; i < out.offsets.size(); ++i) {
    const size_t offset = out.offsets[i];
    const size_t size = out.sizes[i];
    const size_t next = i + 1 < out.offsets.size() ? out.offsets[i + 1] : out.data.size();
    if (offset + size > out.data.size() || next < offset + size)
      continue;
    std::span<uint8_t> room{out.data.data() + offset, next - offset};
    size_t header = 0; // known from a layout or parsed here (0: neither; protect parses)
    rtp::rtp_packet::extension_values ext; // the sending elements, each possibly absent
    if (laid_out && valid_layout(out.layouts[i], size)) {
      // Found as the packet was written (rtp_out::layout): no second parse.
      const auto& l = out.layouts[i];
      header = l.header;
      if (l.tcc_at != 0 && out.tcc_ext_id != 0)
        ext.a = room.subspan(l.tcc_at, 2);
      if (l.abs_at != 0 && out.abs_send_time_ext_id != 0)
        ext.b = room.subspan(l.abs_at, 3);
    } else if (out.tcc_ext_id != 0 || out.abs_send_time_ext_id != 0) {
      if (auto view = rtp::rtp_packet::parse(room.first(size))) {
        header = view->header_size();
        // Both elements found in one walk.
        ext = view->find_extensions(out.tcc_ext_id, out.abs_send_time_ext_id);
      }
    }
    if (header != 0 && (out.tcc_ext_id != 0 || out.abs_send_time_ext_id != 0)) {
      // Each element is written only when well-sized (2 and 3 bytes: write_*). A number is
      // used only by a packet that carries the element (no gaps, so the receiver's feedback
      // does not report packets that never existed as lost); when logging, it is taken
      // under the lock, so the log is in number order.
      const auto bytes = room.first(size);
      const uint16_t seq = rtp::rtp_sequence_number_of(bytes);
      const uint32_t timestamp = rtp::rtp_timestamp_of(bytes);
      sent_header* memo = nullptr;
      if (!sent_headers_.empty())
        memo = &sent_headers_[seq & (sent_headers_.size() - 1)];
      if (memo != nullptr && memo->valid && memo->seq == seq &&
          memo->timestamp == timestamp) { // sent before: exactly as then
        rtp::write_transport_wide_seq(ext.a, memo->tcc_seq);
        rtp::write_abs_send_time(ext.b, memo->abs_send_time);
        ++resent_as_sent_;
      } else {
        uint16_t tcc_seq = 0;
        if (ext.a.size() == 2) {
          tcc_seq = sh.tcc_seq.fetch_add(1, std::memory_order_relaxed);
          rtp::write_transport_wide_seq(ext.a, tcc_seq);
          if (logging)
            sh.send_log.push_back(
              {tcc_seq, uint16_t(std::min<size_t>(size, 0xFFFF)), now_us, out.probe_id});
        }
        rtp::write_abs_send_time(ext.b, abs_send_time);
        if (memo != nullptr)
          *memo = {timestamp, abs_send_time, seq, tcc_seq, true};
      }
    }
    if (plain_) {
      spans_.emplace_back(room.data(), size);
      continue;
    }
    auto r = rtp_->protect_rtp(room, size, header);
    if (!r) {
      sh.protect_failed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    spans_.emplace_back(room.data(), r.length);
  }
  if (log_lock.owns_lock())
    log_lock.unlock();
  if (sh.egress_cap_bps.load(std::memory_order_relaxed) != 0 && !spans_.empty()) {
    // The injected thin link: queued behind the cap (the transport's timer sends them).
    for (auto& sp : spans_)
      sh.enqueue_egress(sp, *tuple_, now_us);
    sh.rtp_sent.fetch_add(spans_.size(), std::memory_order_relaxed);
    return spans_.size();
  }
  if (spans_.empty())
    return 0;
  const size_t sent = sh.endpoint->send_batch(*tuple_, spans_);
  size_t bytes = 0;
  for (size_t i = 0; i < sent && i < spans_.size(); ++i)
    bytes += spans_[i].size();
  sh.rtp_sent.fetch_add(sent, std::memory_order_relaxed);
  sh.rtp_bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
  return sent;
}

int64_t send_shared::claim_pacing(size_t bytes, int64_t now_us, bool force) {
  const uint64_t bps = pacing_bps.load(std::memory_order_relaxed);
  if (bps == 0)
    return 0;
  const int64_t transmit_us = int64_t(uint64_t(bytes) * 8'000'000 / bps);
  int64_t until = paced_until_us.load(std::memory_order_relaxed);
  for (;;) {
    const int64_t lead = until - now_us;
    if (lead > tuning::pacing_burst_us && !force)
      return lead - tuning::pacing_burst_us;
    int64_t next = std::max(until, now_us) + transmit_us;
    // What is forced out (audio, probes, a queue over its bound) happens whatever the
    // clock says; it may push the clock at most an allowance ahead, or a burst of it would
    // hold every other consumer's video back for as long.
    if (force)
      next = std::min(next, std::max(until, now_us + tuning::pacing_burst_us + transmit_us));
    if (paced_until_us.compare_exchange_weak(until, next, std::memory_order_relaxed))
      return 0;
  }
}

void send_shared::set_egress_cap(uint64_t bps) {
  std::lock_guard<std::mutex> g{egress_mutex};
  egress_cap_bps.store(bps, std::memory_order_relaxed);
  if (bps == 0) { // lifted: what is queued leaves at once (drain_egress)
    for (auto& q : egress_queue)
      q.release_us = 0;
  }
  // The link is free when the last queued packet leaves (at once when none is queued).
  egress_free_us = egress_queue.empty() ? 0 : egress_queue.back().release_us;
}

bool send_shared::enqueue_egress(std::span<const uint8_t> bytes, const net::ice_tuple& to,
                                 int64_t now_us) {
  std::lock_guard<std::mutex> g{egress_mutex};
  const uint64_t bps = egress_cap_bps.load(std::memory_order_relaxed);
  const int64_t start = std::max(now_us, egress_free_us);
  if (bps == 0 || start - now_us > tuning::max_egress_queue_us) {
    egress_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const int64_t transmit_us = int64_t(bytes.size() * 8 * 1'000'000 / bps);
  egress_free_us = start + transmit_us;
  egress_queue.push_back({std::vector<uint8_t>(bytes.begin(), bytes.end()), to, egress_free_us});
  if (start > now_us)
    egress_delayed.fetch_add(1, std::memory_order_relaxed);
  return true;
}

size_t send_shared::drain_egress(int64_t now_us) {
  std::deque<queued> due;
  size_t left = 0;
  {
    std::lock_guard<std::mutex> g{egress_mutex};
    while (!egress_queue.empty() && egress_queue.front().release_us <= now_us) {
      due.push_back(std::move(egress_queue.front()));
      egress_queue.pop_front();
    }
    left = egress_queue.size();
  }
  for (auto& q : due) {
    if (endpoint->send(q.to, q.bytes.data(), q.bytes.size()))
      rtp_bytes_sent.fetch_add(q.bytes.size(), std::memory_order_relaxed);
  }
  return left;
}

bool rtp_sender::send_rtcp(std::span<const uint8_t> bytes) {
  auto& sh = *shared_;
  if (!ready() || !rtcp_ || bytes.empty()) {
    sh.dropped_not_ready.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  rtcp_buffer_.resize(bytes.size() + rtp::srtp_session::max_trailer);
  std::copy(bytes.begin(), bytes.end(), rtcp_buffer_.begin());
  auto r = rtcp_->protect_rtcp(rtcp_buffer_, bytes.size());
  if (!r) {
    sh.protect_failed.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!sh.endpoint->send(*tuple_, rtcp_buffer_.data(), r.length))
    return false;
  sh.rtcp_sent.fetch_add(1, std::memory_order_relaxed);
  return true;
}

} // namespace chorus::actors
