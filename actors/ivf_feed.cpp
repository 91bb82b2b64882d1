#include "actors/ivf_feed.hpp"

#include "rtp/rtp_packet.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

namespace chorus::actors {

namespace {

// IVF bytes kept for a child that does not keep up, beyond what its pipe holds; then new
// pictures are dropped (and the stream restarts from a keyframe) rather than memory grown.
constexpr std::size_t max_pending_bytes = 8u << 20;
constexpr int pipe_bytes = 1 << 20;

void close_fd(int& fd) noexcept {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

} // namespace

result<std::unique_ptr<ivf_feed>> ivf_feed::open(uint8_t payload_type, rtp::payload_codec codec) {
  if (codec != rtp::payload_codec::vp9 && codec != rtp::payload_codec::av1)
    return failure{"IVF input is for VP9 and AV1"};
  std::unique_ptr<ivf_feed> f(new ivf_feed(codec));
  auto input = ordered_rtp_input::open(payload_type);
  if (!input)
    return failure{input.error()};
  f->input_ = std::move(*input);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return failure{errno_text("pipe")};
  f->read_fd_ = fds[0];
  f->write_fd_ = fds[1];
  ::fcntl(f->write_fd_, F_SETFL, ::fcntl(f->write_fd_, F_GETFL) | O_NONBLOCK);
  ::fcntl(f->write_fd_, F_SETPIPE_SZ, pipe_bytes); // best effort (the default is 64 KiB)
  return f;
}

ivf_feed::~ivf_feed() {
  close_fd(read_fd_);
  close_fd(write_fd_);
}

void ivf_feed::close_child_end() noexcept {
  close_fd(read_fd_);
}

void ivf_feed::depacketize(const rtp::rtp_packet& pkt) {
  if (codec_ == rtp::payload_codec::vp9) {
    vp9_.push(pkt.sequence_number(), pkt.timestamp(), pkt.marker(), pkt.payload(), pictures_);
    for (auto& p : pictures_)
      frames_.push_back({p.timestamp, p.keyframe, p.width, p.height, std::move(p.data)});
    pictures_.clear();
  } else {
    av1_.push(pkt.sequence_number(), pkt.timestamp(), pkt.marker(), pkt.payload(), units_);
    for (auto& u : units_) // the size is in the sequence header: ffmpeg reads it there
      frames_.push_back({u.timestamp, u.keyframe, 0, 0, std::move(u.data)});
    units_.clear();
  }
}

bool ivf_feed::waiting_for_keyframe() const noexcept {
  return codec_ == rtp::payload_codec::vp9 ? vp9_.waiting_for_keyframe() : av1_.waiting_for_keyframe();
}

ivf_feed::pump_result ivf_feed::pump(int64_t now_ms) {
  pump_result r;
  input_->pump(
    now_ms, [this](rtp::rtp_packet& pkt) { depacketize(pkt); },
    [](std::span<const uint8_t>) {}, // RTCP (rtcp-mux): not needed for IVF
    ending_);
  for (auto& f : frames_) {
    if (restart_ && !f.keyframe) {
      dropped_bytes_ += f.data.size();
      continue;
    }
    if (pending_.size() - pending_off_ > max_pending_bytes) {
      restart_ = true;
      dropped_bytes_ += f.data.size();
      continue;
    }
    restart_ = false;
    if (!header_written_) { // the first frame is a keyframe (the assemblers' rule)
      pending_ = rtp::ivf_file_header(codec_ == rtp::payload_codec::vp9 ? "VP90" : "AV01", f.width,
                                      f.height, 90000);
      pending_off_ = 0;
      header_written_ = true;
      pts_ = 0;
    } else {
      const int32_t delta = int32_t(f.timestamp - last_ts_);
      pts_ += uint64_t(delta > 0 ? delta : 1); // strictly increasing for the muxer
    }
    last_ts_ = f.timestamp;
    rtp::append_ivf_frame(pending_, f.data, pts_);
  }
  frames_.clear();
  write_out();
  if (ending_ && pending_.empty())
    close_fd(write_fd_); // all of it taken: EOF to the child
  r.pipe_broken = write_fd_ < 0 && !ending_;
  r.wants_keyframe = waiting_for_keyframe() || restart_;
  return r;
}

void ivf_feed::write_out() {
  while (write_fd_ >= 0 && pending_off_ < pending_.size()) {
    const ssize_t n =
      ::write(write_fd_, pending_.data() + pending_off_, pending_.size() - pending_off_);
    if (n > 0) {
      pending_off_ += std::size_t(n);
      written_bytes_ += uint64_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno != EAGAIN) { // EPIPE: the child is gone (SIGPIPE is ignored)
      dropped_bytes_ += pending_.size() - pending_off_;
      pending_.clear();
      pending_off_ = 0;
      close_fd(write_fd_);
    }
    break;
  }
  if (pending_off_ == pending_.size()) {
    pending_.clear();
    pending_off_ = 0;
  } else if (pending_off_ >= (1u << 20)) {
    pending_.erase(pending_.begin(), pending_.begin() + std::ptrdiff_t(pending_off_));
    pending_off_ = 0;
  }
}

void ivf_feed::end_input(int64_t now_ms) {
  if (ending_)
    return;
  ending_ = true;
  pump(now_ms); // what arrived before the end, and what still waited for a repair
  if (pending_.empty())
    close_fd(write_fd_);
}

} // namespace chorus::actors
