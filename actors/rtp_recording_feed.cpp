#include "actors/rtp_recording_feed.hpp"

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

void rtp_recording_feed::enqueue(std::vector<uint8_t> datagram) {
  if (queue_.size() >= max_queued_datagrams) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(datagram));
}

void rtp_recording_feed::send_some(std::size_t budget) noexcept {
  // Best effort, as the consumer's own send would be: a full socket buffer drops it.
  for (std::size_t n = 0; n < budget && !queue_.empty(); ++n) {
    auto& d = queue_.front();
    [[maybe_unused]] auto sent = ::send(out_, d.data(), d.size(), MSG_DONTWAIT);
    queue_.pop_front();
  }
}

bool rtp_recording_feed::pump(int64_t now_ms, bool ending) {
  input_->pump(
    now_ms,
    [this, now_ms](rtp::rtp_packet& pkt) {
      if (fill_) {
        const auto payload = pkt.payload();
        fill_->push(pkt.bytes(), std::size_t(payload.data() - pkt.bytes().data()), payload.size(),
                    now_ms, [this](std::span<const uint8_t> p) { enqueue({p.begin(), p.end()}); });
        return;
      }
      gate_->push(pkt.sequence_number(), pkt.timestamp(), pkt.marker(), pkt.payload(), pkt.bytes(),
                  [this](std::span<const uint8_t> p) {
                    std::vector<uint8_t> d(p.begin(), p.end());
                    d[2] = uint8_t(out_seq_ >> 8); // an RTP packet: at least 12 bytes
                    d[3] = uint8_t(out_seq_);
                    ++out_seq_;
                    enqueue(std::move(d));
                  });
    },
    [this](std::span<const uint8_t> other) { enqueue({other.begin(), other.end()}); }, ending);
  send_some(ending ? queue_.size() : datagrams_per_pump); // at the end: all that is left
  return gate_ && gate_->waiting_for_keyframe();
}

} // namespace chorus::actors
