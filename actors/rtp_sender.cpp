#include "actors/rtp_sender.hpp"

#include "actors/clock.hpp"
#include "actors/media_messages.hpp"
#include "net/media_io.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>

namespace chorus::actors {

rtp_sender::rtp_sender(std::shared_ptr<net::media_endpoint> endpoint)
    : endpoint_(std::move(endpoint)) {}

void rtp_sender::set_srtp(rtp::srtp_session session) {
  std::lock_guard<std::mutex> g{mutex_};
  srtp_.emplace(std::move(session));
}

void rtp_sender::set_tuple(const std::optional<net::ice_tuple>& tuple) {
  std::lock_guard<std::mutex> g{mutex_};
  tuple_ = tuple;
}

void rtp_sender::close() {
  std::lock_guard<std::mutex> g{mutex_};
  closed_ = true;
  srtp_.reset();
}

size_t rtp_sender::send_rtp(rtp_out& out) {
  // abs-send-time: 6.18 fixed point seconds, 24 bits (wraps every 64 s).
  const uint32_t abs_send_time = uint32_t(((mono_us() << 18) / 1'000'000) & 0xFFFFFF);
  std::lock_guard<std::mutex> g{mutex_};
  if (closed_ || !srtp_ || !tuple_) {
    counters_.dropped_not_ready += out.offsets.size();
    return 0;
  }
  spans_.clear();
  for (size_t i = 0; i < out.offsets.size(); ++i) {
    const size_t offset = out.offsets[i];
    const size_t size = out.sizes[i];
    const size_t next = i + 1 < out.offsets.size() ? out.offsets[i + 1] : out.data.size();
    if (offset + size > out.data.size() || next < offset + size)
      continue;
    std::span<uint8_t> room{out.data.data() + offset, next - offset};
    if (out.tcc_ext_id != 0 || out.abs_send_time_ext_id != 0) {
      if (auto view = rtp::rtp_packet::parse(room.first(size))) {
        if (out.tcc_ext_id != 0)
          view->set_transport_wide_seq(out.tcc_ext_id, tcc_seq_++);
        if (out.abs_send_time_ext_id != 0)
          view->set_abs_send_time(out.abs_send_time_ext_id, abs_send_time);
      }
    }
    auto r = srtp_->protect_rtp(room, size);
    if (!r) {
      ++counters_.protect_failed;
      continue;
    }
    spans_.emplace_back(room.data(), r.length);
  }
  if (spans_.empty())
    return 0;
  const size_t sent = endpoint_->send_batch(*tuple_, spans_);
  counters_.rtp_sent += sent;
  for (size_t i = 0; i < sent && i < spans_.size(); ++i)
    counters_.rtp_bytes_sent += spans_[i].size();
  return sent;
}

bool rtp_sender::send_rtcp(std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> g{mutex_};
  if (closed_ || !srtp_ || !tuple_ || bytes.empty()) {
    ++counters_.dropped_not_ready;
    return false;
  }
  rtcp_buffer_.resize(bytes.size() + rtp::srtp_session::max_trailer);
  std::copy(bytes.begin(), bytes.end(), rtcp_buffer_.begin());
  auto r = srtp_->protect_rtcp(rtcp_buffer_, bytes.size());
  if (!r) {
    ++counters_.protect_failed;
    return false;
  }
  if (!endpoint_->send(*tuple_, rtcp_buffer_.data(), r.length))
    return false;
  ++counters_.rtcp_sent;
  return true;
}

rtp_sender_counters rtp_sender::counters() const {
  std::lock_guard<std::mutex> g{mutex_};
  return counters_;
}

} // namespace chorus::actors
