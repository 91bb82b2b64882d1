#include "actors/rtp_recording_feed.hpp"

#include "rtp/rtcp_bytes.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace chorus::actors {

rtp_recording_feed::rtp_recording_feed(rtp::payload_codec codec) {
  if (codec == rtp::payload_codec::opus)
    fill_.emplace();
  else
    gate_.emplace(codec);
}

result<std::unique_ptr<rtp_recording_feed>> rtp_recording_feed::open(uint8_t payload_type,
                                                                     rtp::payload_codec codec,
                                                                     uint16_t child_port) {
  std::unique_ptr<rtp_recording_feed> f(new rtp_recording_feed(codec));
  auto input = ordered_rtp_input::open(payload_type);
  if (!input)
    return failure{input.error()};
  f->input_ = std::move(*input);
  f->out_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (f->out_ < 0)
    return failure{std::string("socket: ") + std::strerror(errno)};
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(child_port);
  if (::connect(f->out_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return failure{std::string("connect: ") + std::strerror(errno)};
  return f;
}

rtp_recording_feed::~rtp_recording_feed() {
  if (out_ >= 0)
    ::close(out_);
}

void rtp_recording_feed::send_now(std::span<const uint8_t> datagram) noexcept {
  // Best effort, as the consumer's own send would be: a full socket buffer drops it.
  [[maybe_unused]] auto sent = ::send(out_, datagram.data(), datagram.size(), MSG_DONTWAIT);
}

void rtp_recording_feed::pass(std::span<const uint8_t> datagram, bool renumber) {
  // At once while this pump's budget lasts and nothing waits before it; else in the queue.
  if (queue_.empty() && sent_this_pump_ < datagrams_per_pump) {
    ++sent_this_pump_;
    if (!renumber) {
      send_now(datagram);
      return;
    }
    scratch_.assign(datagram.begin(), datagram.end());
    rtp::rtcp_bytes::put16(scratch_, 2, out_seq_++);
    send_now(scratch_);
    return;
  }
  if (queue_.size() >= max_queued_datagrams) {
    ++dropped_;
    return;
  }
  auto& d = queue_.emplace_back(datagram.begin(), datagram.end());
  if (renumber)
    rtp::rtcp_bytes::put16(d, 2, out_seq_++);
}

void rtp_recording_feed::send_queued(std::size_t budget) noexcept {
  for (; sent_this_pump_ < budget && !queue_.empty(); ++sent_this_pump_) {
    send_now(queue_.front());
    queue_.pop_front();
  }
}

bool rtp_recording_feed::pump(int64_t now_ms, bool ending) {
  sent_this_pump_ = 0;
  send_queued(datagrams_per_pump); // what waited goes first
  input_->pump(
    now_ms,
    [this, now_ms](rtp::rtp_packet& pkt) {
      if (fill_) { // the filler numbers its packets itself
        const auto payload = pkt.payload();
        fill_->push(pkt.bytes(), std::size_t(payload.data() - pkt.bytes().data()), payload.size(),
                    now_ms, [this](std::span<const uint8_t> p) { pass(p, false); });
        return;
      }
      // An RTP packet (parsed): at least 12 bytes, the sequence number at 2.
      gate_->push(pkt.sequence_number(), pkt.timestamp(), pkt.marker(), pkt.payload(), pkt.bytes(),
                  [this](std::span<const uint8_t> p) { pass(p, true); });
    },
    [this](std::span<const uint8_t> other) { pass(other, false); }, ending);
  // What was queued behind the queue's head meanwhile, as the budget allows; at the end all.
  send_queued(ending ? queue_.size() + sent_this_pump_ : datagrams_per_pump);
  return gate_ && gate_->waiting_for_keyframe();
}

} // namespace chorus::actors
