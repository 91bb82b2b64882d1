#include "bench/janus/janus_transport.hpp"

#include "common/ids.hpp"
#include "net/demux.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace chorus::janus {

namespace {
constexpr std::size_t max_packet = 1500;
constexpr std::size_t max_datagram = 2048;
} // namespace

std::string_view to_string(janus_transport_state s) noexcept {
  switch (s) {
    case janus_transport_state::new_: return "new";
    case janus_transport_state::checking: return "checking";
    case janus_transport_state::connecting: return "dtls-connecting";
    case janus_transport_state::connected: return "connected";
    case janus_transport_state::failed: return "failed";
    case janus_transport_state::closed: return "closed";
  }
  return "failed";
}

janus_transport::~janus_transport() {
  if (fd_ >= 0)
    ::close(fd_);
}

result<std::unique_ptr<janus_transport>>
janus_transport::create(const std::string& local_ip,
                        std::shared_ptr<const net::dtls_context> dtls) {
  if (!dtls)
    return failure{"no DTLS context"};
  auto fp = dtls->certificate().fingerprint("sha-256");
  if (!fp)
    return failure{"cannot compute our certificate fingerprint"};
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (inet_pton(AF_INET, local_ip.c_str(), &sa.sin_addr) != 1)
    return failure{"local address is not an IPv4 literal: " + local_ip};
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return failure{std::string("socket: ") + std::strerror(errno)};
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    std::string e = std::strerror(errno);
    ::close(fd);
    return failure{"bind " + local_ip + ": " + e};
  }
  int buf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  // The kernel's receive stamps (CLOCK_REALTIME), for one-way latency (last_receive_ns()).
  int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);

  auto t = std::unique_ptr<janus_transport>(new janus_transport());
  t->fd_ = fd;
  t->local_ip_ = local_ip;
  t->local_port_ = ntohs(sa.sin_port);
  t->ufrag_ = ids::random_token(8);
  t->pwd_ = ids::random_token(24);
  t->dtls_ctx_ = std::move(dtls);
  t->local_fp_ = std::move(*fp);
  t->rx_.reserve(max_datagram + rtp::srtp_session::max_trailer);
  t->tx_.reserve(max_datagram + rtp::srtp_session::max_trailer);
  return t;
}

local_transport_params janus_transport::local_params() const {
  local_transport_params p;
  p.ice_ufrag = ufrag_;
  p.ice_pwd = pwd_;
  p.fingerprint = {local_fp_.algorithm, local_fp_.value};
  sdp_candidate c;
  c.foundation = "1";
  c.component = 1;
  c.transport = "udp";
  c.priority = (126u << 24) | (65535u << 8) | 255u; // host, RFC 8445 §5.1.2.1
  c.address = local_ip_;
  c.port = local_port_;
  c.type = "host";
  p.candidate = c;
  p.end_of_candidates = true;
  return p;
}

bool janus_transport::start(const session_description& remote, bool we_offered,
                            uint64_t now_ms, std::string* error) {
  auto refuse = [&](std::string why) {
    if (error)
      *error = why;
    fail(std::move(why));
    return false;
  };
  if (state_ != janus_transport_state::new_)
    return refuse("already started");
  // BUNDLE: the first m-line that is not rejected carries the transport.
  std::size_t m = 0;
  while (m < remote.media.size() && remote.media[m].rejected())
    ++m;
  if (m == remote.media.size())
    return refuse("the remote description has no accepted m-line");
  const auto& ufrag = remote.effective_ufrag(m);
  const auto& pwd = remote.effective_pwd(m);
  const auto& fp = remote.effective_fingerprint(m);
  const auto& setup = remote.effective_setup(m);
  if (ufrag.empty() || pwd.empty() || !fp)
    return refuse("the remote description lacks ICE credentials or a fingerprint");

  std::optional<net::transport_address> addr;
  for (auto& c : remote.all_candidates())
    if (c.transport == "udp" && c.component == 1)
      if ((addr = net::transport_address::from_string(c.address, c.port)))
        break;
  if (!addr)
    return refuse("the remote description has no usable UDP candidate");
  sockaddr_storage ss{};
  auto sl = addr->to_sockaddr(ss);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), static_cast<socklen_t>(sl)) != 0)
    return refuse(std::string("connect: ") + std::strerror(errno));

  // Peer active -> we serve; peer passive or actpass (we answer active) -> we are client.
  dtls_role_ = setup == "active" ? net::dtls_role::server : net::dtls_role::client;
  // A short first retransmission: as DTLS client we may send the ClientHello before
  // Janus's own checks have completed, and it drops DTLS until then.
  net::dtls_engine_options dopt;
  dopt.initial_retransmit_ms = 150;
  dopt.handshake_timeout_ms = 10'000;
  auto engine = net::dtls_engine::create(dtls_ctx_, dtls_role_, dopt);
  if (!engine)
    return refuse("DTLS engine: " + engine.error());
  if (!engine->set_remote_fingerprint(net::dtls_fingerprint{fp->algorithm, fp->value}))
    return refuse("unusable remote fingerprint " + fp->algorithm);
  dtls_.emplace(std::move(*engine));

  net::ice_client_config ic;
  ic.local_ufrag = ufrag_;
  ic.local_password = pwd_;
  ic.remote_ufrag = ufrag;
  ic.remote_password = pwd;
  ic.remote = *addr;
  remote_ = *addr;
  ids::random_bytes(&ic.tie_breaker, sizeof ic.tie_breaker);
  ic.controlling = we_offered; // RFC 8445 §6.1.1: both full, the offerer controls
  ic.aggressive_nomination = true;
  ic.initial_rto_ms = 50;
  ice_.emplace(std::move(ic));
  state_ = janus_transport_state::checking;
  apply_ice(ice_->poll(now_ms), now_ms);
  return true;
}

void janus_transport::fail(std::string why) {
  if (finished())
    return;
  state_ = janus_transport_state::failed;
  failure_ = std::move(why);
}

void janus_transport::send_datagram(std::span<const uint8_t> bytes) {
  if (fd_ < 0 || ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT) < 0)
    ++counters_.send_failed;
}

void janus_transport::apply_ice(net::ice_client_output&& out, uint64_t now_ms) {
  for (auto& m : out.to_send)
    send_datagram(m);
  if (!out.state_changed || finished())
    return;
  if (out.state == net::ice_client_state::connected) {
    if (state_ == janus_transport_state::checking)
      state_ = janus_transport_state::connecting;
    if (dtls_role_ == net::dtls_role::client && !dtls_started_) {
      dtls_started_ = true;
      apply_dtls(dtls_->start(now_ms));
    }
  } else if (out.state == net::ice_client_state::failed) {
    fail(out.error_code ? "ICE failed: error " + std::to_string(out.error_code)
                        : std::string("ICE failed: no response / consent expired"));
  }
}

void janus_transport::apply_dtls(net::dtls_output&& out) {
  for (auto& d : out.datagrams)
    send_datagram(d);
  if (!out.state_changed || finished())
    return;
  if (out.state == net::dtls_state::connected) {
    auto& keys = dtls_->srtp_keys();
    auto profile = keys ? rtp::srtp_profile_from_id(static_cast<uint16_t>(keys->profile))
                        : std::nullopt;
    if (!profile)
      return fail("DTLS connected without a usable SRTP profile");
    auto o = rtp::srtp_session::create(*profile, rtp::srtp_direction::outbound, keys->local_key,
                                       keys->local_salt);
    auto i = rtp::srtp_session::create(*profile, rtp::srtp_direction::inbound, keys->remote_key,
                                       keys->remote_salt);
    if (!o || !i)
      return fail("SRTP: " + (o ? i.error() : o.error()));
    srtp_out_.emplace(std::move(*o));
    srtp_in_.emplace(std::move(*i));
    state_ = janus_transport_state::connected;
  } else if (out.state == net::dtls_state::failed) {
    fail("DTLS failed: " + std::string(net::to_string(dtls_->error())));
  } else if (out.state == net::dtls_state::closed) {
    fail("DTLS closed by Janus");
  }
}

void janus_transport::on_timer(uint64_t now_ms) {
  if (finished() || !ice_)
    return;
  if (auto n = ice_->next_poll_ms(); n && *n <= now_ms)
    apply_ice(ice_->poll(now_ms), now_ms);
  if (!finished() && dtls_started_)
    if (auto d = dtls_->next_timeout_ms(); d && *d <= now_ms)
      apply_dtls(dtls_->on_timer(now_ms));
}

std::optional<uint64_t> janus_transport::next_deadline_ms() const {
  if (finished() || !ice_)
    return std::nullopt;
  auto next = ice_->next_poll_ms();
  if (dtls_started_)
    if (auto d = dtls_->next_timeout_ms(); d && (!next || *d < *next))
      next = d;
  return next;
}

void janus_transport::on_readable(uint64_t now_ms) {
  uint8_t buf[max_datagram];
  for (int i = 0; i < 256; ++i) { // bounded per call
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0)
      return; // EAGAIN, or ICMP errors (ECONNREFUSED) before Janus listens
    last_receive_ns_ = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
        timespec ts;
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        last_receive_ns_ = uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
      }
    handle_packet(std::span<const uint8_t>(buf, static_cast<std::size_t>(n)), now_ms);
  }
}

void janus_transport::handle_packet(std::span<const uint8_t> bytes, uint64_t now_ms) {
  if (finished() || !ice_)
    return;
  switch (net::classify(bytes)) {
    case net::packet_kind::stun: {
      ++counters_.stun_in;
      // The socket is connected: every datagram comes from the remote candidate.
      apply_ice(ice_->handle(bytes, remote_, now_ms), now_ms);
      return;
    }
    case net::packet_kind::dtls:
      ++counters_.dtls_in;
      if (!dtls_)
        return;
      if (dtls_role_ == net::dtls_role::server)
        dtls_started_ = true; // the peer's ClientHello starts us
      if (dtls_started_)
        apply_dtls(dtls_->handle(bytes, now_ms));
      return;
    case net::packet_kind::rtp:
    case net::packet_kind::rtcp: {
      const bool rtcp = net::classify(bytes) == net::packet_kind::rtcp;
      if (!srtp_in_ || bytes.size() > max_datagram) {
        ++counters_.srtp_in_failed;
        return;
      }
      rx_.assign(bytes.begin(), bytes.end());
      auto r = rtcp ? srtp_in_->unprotect_rtcp(rx_, rx_.size())
                    : srtp_in_->unprotect_rtp(rx_, rx_.size());
      if (!r) {
        ++counters_.srtp_in_failed;
        return;
      }
      if (rtcp) {
        ++counters_.rtcp_in;
      } else {
        ++counters_.rtp_in;
        counters_.rtp_bytes_in += r.length;
      }
      if (on_media_)
        on_media_(std::span<const uint8_t>(rx_.data(), r.length), rtcp);
      return;
    }
    case net::packet_kind::unknown:
      return;
  }
}

bool janus_transport::send_rtp(std::span<const uint8_t> pkt) {
  if (!connected() || pkt.size() > max_packet) {
    ++counters_.send_failed;
    return false;
  }
  tx_.resize(pkt.size() + rtp::srtp_session::max_trailer);
  std::copy(pkt.begin(), pkt.end(), tx_.begin());
  auto r = srtp_out_->protect_rtp(tx_, pkt.size());
  if (!r) {
    ++counters_.send_failed;
    return false;
  }
  send_datagram(std::span<const uint8_t>(tx_.data(), r.length));
  ++counters_.rtp_out;
  counters_.rtp_bytes_out += pkt.size();
  return true;
}

bool janus_transport::send_rtcp(std::span<const uint8_t> pkt) {
  if (!connected() || pkt.size() > max_packet) {
    ++counters_.send_failed;
    return false;
  }
  tx_.resize(pkt.size() + rtp::srtp_session::max_trailer);
  std::copy(pkt.begin(), pkt.end(), tx_.begin());
  auto r = srtp_out_->protect_rtcp(tx_, pkt.size());
  if (!r) {
    ++counters_.send_failed;
    return false;
  }
  send_datagram(std::span<const uint8_t>(tx_.data(), r.length));
  ++counters_.rtcp_out;
  return true;
}

net::dtls_srtp_profile janus_transport::srtp_profile() const noexcept {
  if (!dtls_)
    return net::dtls_srtp_profile::none;
  auto& k = dtls_->srtp_keys();
  return k ? k->profile : net::dtls_srtp_profile::none;
}

void janus_transport::close(uint64_t now_ms) {
  if (finished())
    return;
  if (dtls_ && dtls_->state() == net::dtls_state::connected)
    for (auto& d : dtls_->close(now_ms).datagrams)
      send_datagram(d);
  state_ = janus_transport_state::closed;
}

} // namespace chorus::janus
