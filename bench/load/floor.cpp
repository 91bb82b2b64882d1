#include "bench/load/floor.hpp"

#include "bench/client/cli_flags.hpp"
#include "bench/client/json_fields.hpp"
#include "bench/load/receiver.hpp"
#include "net/segment_receive.hpp"
#include "net/send_outbox.hpp"
#include "rtp/srtp_gcm.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <thread>

namespace chorus::bench {

namespace {

constexpr std::size_t send_chunk = 64;   // datagrams per sendmmsg (as net/media_io_socket)
constexpr std::size_t recv_batch = 32;   // datagrams per recvmmsg (media_io_options::recv_batch)
constexpr int recv_rounds = 4;           // recvmmsg calls per wake-up (net/media_io.cpp)
constexpr std::size_t buffer_size = 2048;
constexpr double warmup_s = 0.1;
// A segmented message's datagrams come from one receive call: within the kernel's limits
// (64 segments, 65 000 bytes) whatever their size (RTP at most 1400 bytes, SRTP's tag).
static_assert(recv_batch <= send_chunk && recv_batch * 1500 <= 65000);

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

uint64_t now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count());
}

// The peer's send time rides in the payload, after the header and its extension block
// (build_rtp), where the server reads it once it has unprotected the packet.
constexpr std::size_t stamp_offset = 24;
void put_stamp(uint8_t* p, uint64_t ns) { std::memcpy(p + stamp_offset, &ns, sizeof ns); }
uint64_t get_stamp(const uint8_t* p, std::size_t len) {
  uint64_t ns = 0;
  if (len >= stamp_offset + sizeof ns)
    std::memcpy(&ns, p + stamp_offset, sizeof ns);
  return ns;
}

double thread_cpu_s() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

struct usage {
  double user = 0, sys = 0;
};
usage thread_usage() {
  rusage ru{};
  ::getrusage(RUSAGE_THREAD, &ru);
  return {double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6,
          double(ru.ru_stime.tv_sec) + double(ru.ru_stime.tv_usec) / 1e6};
}

// A nonblocking UDP socket on 127.0.0.1, any port, 4 MiB buffers (as sock::bind_udp).
struct udp_socket {
  int fd = -1;
  sockaddr_in addr{};
  udp_socket() = default;
  udp_socket(const udp_socket&) = delete;
  udp_socket& operator=(const udp_socket&) = delete;
  udp_socket(udp_socket&& o) noexcept : fd(o.fd), addr(o.addr) { o.fd = -1; }
  ~udp_socket() {
    if (fd >= 0)
      ::close(fd);
  }
  bool open() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
      return false;
    int size = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      return false;
    socklen_t len = sizeof addr;
    return ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  }
};

struct key_material {
  std::vector<uint8_t> key, salt;
};
key_material random_keys(rtp::srtp_profile p, std::mt19937_64& rng) {
  const auto info = rtp::profile_info(p);
  key_material k;
  k.key.resize(info.key_length);
  k.salt.resize(info.salt_length);
  for (auto& b : k.key)
    b = uint8_t(rng());
  for (auto& b : k.salt)
    b = uint8_t(rng());
  return k;
}

std::optional<rtp::srtp_session> make_session(rtp::srtp_profile p, rtp::srtp_direction d,
                                              const key_material& k, std::string& error) {
  auto s = rtp::srtp_session::create(p, d, k.key, k.salt);
  if (!s) {
    error = s.error();
    return std::nullopt;
  }
  return std::move(*s);
}

// An RTP packet of `bytes` (header with a one-byte-header extension block carrying mid and a
// transport-wide sequence number, as the generator's packets have, then filler).
std::size_t build_rtp(uint8_t* p, uint32_t bytes, bool video, uint16_t seq, uint32_t ssrc) {
  const std::size_t header = 12 + 4 + 8;
  bytes = std::max<uint32_t>(bytes, uint32_t(header + 1));
  p[0] = 0x90; // V=2, X=1
  p[1] = uint8_t(video ? 96 : 111);
  p[2] = uint8_t(seq >> 8);
  p[3] = uint8_t(seq);
  const uint32_t ts = uint32_t(seq) * (video ? 3000u : 960u);
  p[4] = uint8_t(ts >> 24);
  p[5] = uint8_t(ts >> 16);
  p[6] = uint8_t(ts >> 8);
  p[7] = uint8_t(ts);
  p[8] = uint8_t(ssrc >> 24);
  p[9] = uint8_t(ssrc >> 16);
  p[10] = uint8_t(ssrc >> 8);
  p[11] = uint8_t(ssrc);
  const uint8_t ext[12] = {0xBE, 0xDE, 0x00, 0x02, 0x10, '0', 0x31, uint8_t(seq >> 8), uint8_t(seq), 0, 0, 0};
  std::memcpy(p + 12, ext, sizeof ext);
  for (std::size_t i = header; i < bytes; ++i)
    p[i] = uint8_t(i * 7 + seq);
  return bytes;
}

void set_ssrc(uint8_t* p, uint32_t ssrc) {
  p[8] = uint8_t(ssrc >> 24);
  p[9] = uint8_t(ssrc >> 16);
  p[10] = uint8_t(ssrc >> 8);
  p[11] = uint8_t(ssrc);
}

bool pin_self(const std::vector<int>& cpus) {
  if (cpus.empty())
    return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus)
    CPU_SET(c, &set);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) == 0;
}

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set))
        out.push_back(c);
  return out;
}

struct placement {
  int server = -1;
  std::vector<int> peer;
};
placement place(std::optional<int> cpu) {
  placement p;
  const auto allowed = allowed_cpus();
  p.server = cpu ? *cpu : (allowed.empty() ? -1 : allowed.front());
  for (int c : allowed)
    if (c != p.server)
      p.peer.push_back(c);
  if (p.peer.empty()) {
    const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (int c = 0; c < n; ++c)
      if (c != p.server)
        p.peer.push_back(c);
  }
  return p;
}

// One measured case: the server thread and its peer.
floor_case measure_case(const floor_options& o, const placement& where, const std::string& kind,
                        uint32_t bytes, uint32_t fanout, floor_send mode, std::string& error) {
  floor_case c;
  c.kind = kind;
  c.bytes = bytes;
  c.fanout = fanout;
  c.send = mode;
  const bool video = kind == "video";
  std::mt19937_64 rng(0x5eed + fanout * 31 + bytes);

  // Sockets: the server's (receives, and sends in batched mode), one per destination (the
  // peer drains them), per_socket mode: one sending socket per destination, the feeder's.
  udp_socket server, feeder;
  std::vector<udp_socket> dest(fanout), senders(mode == floor_send::per_socket ? fanout : 0);
  if (!server.open() || !feeder.open()) {
    error = std::string("socket: ") + std::strerror(errno);
    return c;
  }
  for (auto& d : dest) {
    if (!d.open()) {
      error = std::string("socket: ") + std::strerror(errno);
      return c;
    }
    // --sink-gro: a segmented message reaches the sink whole (UDP_GRO), as the bench's
    // receivers take it with --receiver-gro.
    if (o.sink_gro && !net::receive_segments_whole(d.fd)) {
      error = std::string("UDP_GRO: ") + std::strerror(errno);
      return c;
    }
  }
  for (auto& s : senders)
    if (!s.open()) {
      error = std::string("socket: ") + std::strerror(errno);
      return c;
    }

  // SRTP: the publisher's key (feeder protects, server unprotects), one key per destination.
  const key_material in_key = random_keys(o.profile, rng);
  auto feed_session = make_session(o.profile, rtp::srtp_direction::outbound, in_key, error);
  auto in_session = make_session(o.profile, rtp::srtp_direction::inbound, in_key, error);
  // Per destination, the protection Chorus's consumers use (rtp::rtp_protector).
  std::vector<rtp::rtp_protector> out_sessions;
  out_sessions.reserve(fanout);
  for (uint32_t i = 0; i < fanout && error.empty(); ++i) {
    const key_material k = random_keys(o.profile, rng);
    auto s = rtp::rtp_protector::create(o.profile, k.key, k.salt);
    if (s)
      out_sessions.push_back(std::move(*s));
    else
      error = s.error();
  }
  if (!error.empty() || !feed_session || !in_session)
    return c;

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> processed{0};
  std::atomic<uint64_t> drained{0};

  // The peer: feeds the server socket with `in_flight` datagrams outstanding, drains the
  // destination sockets.
  std::thread peer([&] {
    pin_self(where.peer);
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    for (uint32_t i = 0; i < fanout; ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = i;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, dest[i].fd, &ev);
    }
    const uint32_t burst = std::max<uint32_t>(o.burst, 1);
    std::vector<uint8_t> pkts(std::size_t(burst) * buffer_size);
    std::vector<iovec> fiovs(burst);
    std::vector<mmsghdr> fmsgs(burst);
    constexpr std::size_t drain_batch = 16;
    // A sink with --sink-gro takes a segmented message whole (up to 64 KiB) and counts its
    // datagrams from the segment size the kernel reports.
    const std::size_t drain_size = o.sink_gro ? 65536 : buffer_size;
    constexpr std::size_t drain_control = net::received_segment_control_bytes;
    std::vector<uint8_t> bufs(drain_batch * drain_size);
    std::vector<uint8_t> dcontrols(o.sink_gro ? drain_batch * drain_control : 0);
    std::vector<iovec> iovs(drain_batch);
    std::vector<mmsghdr> msgs(drain_batch);
    auto arm_drain = [&] {
      for (std::size_t i = 0; i < drain_batch; ++i) {
        iovs[i] = {bufs.data() + i * drain_size, drain_size};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        if (o.sink_gro) {
          msgs[i].msg_hdr.msg_control = dcontrols.data() + i * drain_control;
          msgs[i].msg_hdr.msg_controllen = drain_control;
        }
      }
    };
    // Datagrams in a drained message: one, or the message's length over its segment size.
    auto datagrams_in = [](const mmsghdr& m) -> uint64_t {
      const std::size_t size = net::received_segment_size(m.msg_hdr);
      return size == 0 ? 1 : (uint64_t(m.msg_len) + size - 1) / size;
    };
    arm_drain();
    std::vector<epoll_event> evs(256);
    uint64_t sent = 0, last_processed = 0;
    double last_progress = now_s();
    uint16_t seq = uint16_t(rng());
    const uint32_t in_flight = std::max<uint32_t>(o.in_flight, 1);
    // --rate: a paced publisher's arrivals (each packet finds the server thread asleep
    // for as long as the rate leaves it), instead of the lock step.
    const double interval = o.rate > 0 ? 1.0 / o.rate : 0;
    double next_send = now_s();
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t done = processed.load(std::memory_order_acquire);
      const double t = now_s();
      if (done != last_processed) {
        last_processed = done;
        last_progress = t;
      }
      // A datagram lost on the way would stall the lock step: send again after 20 ms.
      // Bursts: the next when the server has forwarded the whole of the last one, which
      // it counts when the fan-out of a receive call's packets is done (tens of ms at a
      // fan-out of 1000): a burst is sent again only after a second without progress.
      const bool stalled = t - last_progress > (burst > 1 ? 1.0 : 0.02);
      const bool due = interval > 0 ? t >= next_send
                       : burst > 1  ? done >= sent || stalled
                                    : sent - std::min(sent, done) < in_flight || stalled;
      if (due) {
        if (interval > 0)
          next_send = std::max(next_send + interval, t - interval);
        unsigned ready = 0;
        for (uint32_t b = 0; b < burst; ++b) {
          uint8_t* pkt = pkts.data() + std::size_t(b) * buffer_size;
          const std::size_t len = build_rtp(pkt, bytes, video, seq++, 0x1234abcd);
          put_stamp(pkt, now_ns());
          auto r = feed_session->protect_rtp({pkt, buffer_size}, len);
          if (!r)
            continue;
          fiovs[ready] = {pkt, r.length};
          fmsgs[ready] = {};
          fmsgs[ready].msg_hdr.msg_iov = &fiovs[ready];
          fmsgs[ready].msg_hdr.msg_iovlen = 1;
          fmsgs[ready].msg_hdr.msg_name = &server.addr;
          fmsgs[ready].msg_hdr.msg_namelen = sizeof server.addr;
          ++ready;
        }
        const int n = ready ? ::sendmmsg(feeder.fd, fmsgs.data(), ready, MSG_NOSIGNAL) : 0;
        if (n > 0) {
          sent += uint64_t(n);
          if (stalled)
            last_progress = t;
        }
      }
      const int n = ::epoll_wait(ep, evs.data(), int(evs.size()), 0);
      for (int k = 0; k < n; ++k) {
        const int fd = dest[evs[k].data.u32].fd;
        for (;;) {
          if (o.sink_gro)
            arm_drain(); // the kernel shortened the control lengths
          const int got = ::recvmmsg(fd, msgs.data(), unsigned(drain_batch), MSG_DONTWAIT, nullptr);
          if (got <= 0)
            break;
          uint64_t count = uint64_t(got);
          if (o.sink_gro) {
            count = 0;
            for (int m = 0; m < got; ++m)
              count += datagrams_in(msgs[std::size_t(m)]);
          }
          drained.fetch_add(count, std::memory_order_relaxed);
          if (std::size_t(got) < drain_batch)
            break;
        }
      }
    }
    ::close(ep);
  });

  // The server thread: epoll + recvmmsg, unprotect once, N x (copy, SSRC, protect), send.
  std::thread srv([&] {
    pin_self(where.server >= 0 ? std::vector<int>{where.server} : std::vector<int>{});
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, server.fd, &ev);
    std::vector<uint8_t> rbufs(recv_batch * buffer_size);
    std::vector<iovec> riovs(recv_batch);
    std::vector<mmsghdr> rmsgs(recv_batch);
    std::vector<sockaddr_in> rsrc(recv_batch);
    for (std::size_t i = 0; i < recv_batch; ++i) {
      riovs[i] = {rbufs.data() + i * buffer_size, buffer_size};
      rmsgs[i] = {};
      rmsgs[i].msg_hdr.msg_iov = &riovs[i];
      rmsgs[i].msg_hdr.msg_iovlen = 1;
      rmsgs[i].msg_hdr.msg_name = &rsrc[i];
      rmsgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    std::vector<uint8_t> obufs(std::size_t(fanout) * buffer_size);
    // Segmented sends: 64 slots, one message per destination over its slots.
    struct plain_packet {
      const uint8_t* data;
      std::size_t length;
      uint64_t stamp;
    };
    std::vector<plain_packet> plains(recv_batch);
    std::vector<uint8_t> sarena(mode == floor_send::segmented ? send_chunk * buffer_size : 0);
    std::vector<iovec> siovs(send_chunk);
    std::vector<uint64_t> sstamps(send_chunk);
    std::vector<mmsghdr> smsgs(send_chunk);
    std::vector<std::size_t> sfirst(send_chunk), scount(send_chunk);
    struct control {
      alignas(cmsghdr) unsigned char bytes[net::send_outbox::segment_control_bytes];
    };
    std::vector<control> scontrols(send_chunk);
    latency_histogram lat; // reset when the window opens
    // n datagrams sent by a call that returned at t (one clock read per call, not per
    // datagram), each stamped `stamp` by the peer.
    auto record_at = [&](uint64_t t, uint64_t stamp, uint64_t n) {
      if (stamp != 0 && n != 0)
        lat.add(t > stamp ? (t - stamp) / 1000 : 0, n);
    };
    auto record = [&](uint64_t stamp, uint64_t n) { record_at(now_ns(), stamp, n); };
    std::vector<iovec> oiovs(fanout);
    std::vector<mmsghdr> omsgs(fanout);
    for (uint32_t i = 0; i < fanout; ++i) {
      omsgs[i] = {};
      omsgs[i].msg_hdr.msg_iov = &oiovs[i];
      omsgs[i].msg_hdr.msg_iovlen = 1;
      omsgs[i].msg_hdr.msg_name = &dest[i].addr;
      omsgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }

    const double start = now_s();
    bool measuring = false;
    double window_start = 0;
    usage u0{};
    floor_case k; // counters, reset when the window opens
    for (;;) {
      const double t = now_s();
      if (!measuring && t - start >= warmup_s) {
        measuring = true;
        window_start = t;
        k = floor_case{};
        lat = latency_histogram{};
        u0 = thread_usage();
      }
      if (measuring && t - window_start >= o.duration_s)
        break;
      epoll_event got{};
      if (::epoll_wait(ep, &got, 1, 50) <= 0)
        continue;
      ++k.wakeups;
      for (int round = 0; round < recv_rounds; ++round) {
        for (auto& m : rmsgs)
          m.msg_hdr.msg_namelen = sizeof(sockaddr_in);
        const int n = ::recvmmsg(server.fd, rmsgs.data(), unsigned(recv_batch), MSG_DONTWAIT, nullptr);
        if (n <= 0)
          break;
        ++k.receive_calls;
        if (mode == floor_send::segmented) {
          std::size_t m = 0;
          for (int d = 0; d < n; ++d) {
            uint8_t* in = rbufs.data() + std::size_t(d) * buffer_size;
            auto plain = in_session->unprotect_rtp({in, buffer_size}, rmsgs[d].msg_len);
            ++k.packets_in;
            if (plain)
              plains[m++] = {in, plain.length, get_stamp(in, plain.length)};
            else
              ++k.srtp_failures;
          }
          // Destination by destination, the call's packets as one message (a full set of
          // slots is sent first), sendmmsg of the messages.
          std::size_t slots = 0, nmsgs = 0;
          auto flush = [&] {
            for (std::size_t off = 0; off < nmsgs;) {
              ++k.send_calls;
              const int s = ::sendmmsg(server.fd, smsgs.data() + off, unsigned(nmsgs - off),
                                       MSG_DONTWAIT | MSG_NOSIGNAL);
              if (s <= 0) {
                for (std::size_t j = off; j < nmsgs; ++j)
                  k.send_failures += scount[j];
                break;
              }
              const uint64_t t = now_ns();
              for (std::size_t j = off; j < off + std::size_t(s); ++j) {
                k.packets_out += scount[j];
                for (std::size_t q = sfirst[j]; q < sfirst[j] + scount[j]; ++q)
                  record_at(t, sstamps[q], 1);
              }
              off += std::size_t(s);
            }
            slots = nmsgs = 0;
          };
          for (uint32_t i = 0; i < fanout && m != 0; ++i) {
            if (slots + m > send_chunk)
              flush();
            const std::size_t first = slots;
            for (std::size_t q = 0; q < m; ++q) {
              uint8_t* out = sarena.data() + slots * buffer_size;
              std::memcpy(out, plains[q].data, plains[q].length);
              set_ssrc(out, 0x10000000u + i);
              auto r = out_sessions[i].protect_rtp({out, buffer_size}, plains[q].length);
              if (!r) {
                ++k.srtp_failures;
                continue;
              }
              siovs[slots] = {out, r.length};
              sstamps[slots] = plains[q].stamp;
              ++slots;
            }
            // One message if every datagram but the last has the first one's size and the
            // last is no longer (the kernel's rule), else one message per datagram.
            const std::size_t count = slots - first;
            bool equal = true;
            for (std::size_t q = first + 1; q < slots; ++q)
              equal = equal && (q + 1 == slots ? siovs[q].iov_len <= siovs[first].iov_len
                                               : siovs[q].iov_len == siovs[first].iov_len);
            for (std::size_t q = first; q < slots;) {
              const std::size_t len = equal ? count : 1;
              msghdr& h = smsgs[nmsgs].msg_hdr;
              h = msghdr{};
              h.msg_iov = &siovs[q];
              h.msg_iovlen = len;
              h.msg_name = &dest[i].addr;
              h.msg_namelen = sizeof(sockaddr_in);
              if (len > 1) {
                net::send_outbox::set_segment_size(h, scontrols[nmsgs].bytes,
                                                   uint16_t(siovs[q].iov_len));
                ++k.segmented_messages;
              }
              sfirst[nmsgs] = q;
              scount[nmsgs] = len;
              ++nmsgs;
              q += len;
            }
          }
          flush();
          processed.fetch_add(uint64_t(n), std::memory_order_release);
          if (std::size_t(n) < recv_batch)
            break;
          continue;
        }
        for (int d = 0; d < n; ++d) {
          uint8_t* in = rbufs.data() + std::size_t(d) * buffer_size;
          auto plain = in_session->unprotect_rtp({in, buffer_size}, rmsgs[d].msg_len);
          ++k.packets_in;
          if (!plain) {
            ++k.srtp_failures;
            continue;
          }
          const uint64_t stamp = get_stamp(in, plain.length);
          std::size_t ready = 0;
          for (uint32_t i = 0; i < fanout; ++i) {
            uint8_t* out = obufs.data() + std::size_t(i) * buffer_size;
            std::memcpy(out, in, plain.length);
            set_ssrc(out, 0x10000000u + i);
            auto r = out_sessions[i].protect_rtp({out, buffer_size}, plain.length);
            if (!r) {
              ++k.srtp_failures;
              continue;
            }
            oiovs[i] = {out, r.length};
            if (mode == floor_send::per_socket) {
              ++k.send_calls;
              if (::sendmmsg(senders[i].fd, &omsgs[i], 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
                ++k.packets_out;
                record(stamp, 1);
              } else
                ++k.send_failures;
            } else {
              omsgs[ready].msg_hdr.msg_iov = &oiovs[i]; // a failed protect leaves no hole
              omsgs[ready].msg_hdr.msg_name = &dest[i].addr;
              ++ready;
            }
          }
          for (std::size_t off = 0; mode == floor_send::batched && off < ready;) {
            const unsigned chunk = unsigned(std::min(send_chunk, ready - off));
            ++k.send_calls;
            const int s = ::sendmmsg(server.fd, omsgs.data() + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (s <= 0) {
              k.send_failures += ready - off;
              break;
            }
            k.packets_out += uint64_t(s);
            record(stamp, uint64_t(s));
            off += std::size_t(s);
          }
          processed.fetch_add(1, std::memory_order_release);
        }
        if (std::size_t(n) < recv_batch)
          break;
      }
    }
    const usage u1 = thread_usage();
    const double end = now_s();
    stop = true;
    k.kind = c.kind;
    k.bytes = c.bytes;
    k.fanout = c.fanout;
    k.send = c.send;
    k.wall_s = measuring ? end - window_start : 0;
    k.user_s = u1.user - u0.user;
    k.sys_s = u1.sys - u0.sys;
    k.latency_p50_ms = double(lat.quantile_us(0.50)) / 1000;
    k.latency_p99_ms = double(lat.quantile_us(0.99)) / 1000;
    k.latency_max_ms = double(lat.max_us()) / 1000;
    c = k;
    ::close(ep);
  });
  srv.join();
  stop = true;
  peer.join();
  c.drained = drained.load();
  return c;
}

srtp_cost measure_srtp(const floor_options& o, const placement& where, const std::string& kind,
                       uint32_t bytes, std::string& error) {
  srtp_cost cost;
  cost.kind = kind;
  cost.bytes = bytes;
  std::thread t([&] {
    pin_self(where.server >= 0 ? std::vector<int>{where.server} : std::vector<int>{});
    std::mt19937_64 rng(0xc0de + bytes);
    const key_material k = random_keys(o.profile, rng);
    auto out = rtp::rtp_protector::create(o.profile, k.key, k.salt);
    auto in = make_session(o.profile, rtp::srtp_direction::inbound, k, error);
    if (!out) {
      error = out.error();
      return;
    }
    if (!in)
      return;
    constexpr std::size_t batch = 256;
    std::vector<uint8_t> bufs(batch * buffer_size);
    std::vector<std::size_t> lens(batch);
    uint16_t seq = 1;
    double protect = 0, unprotect = 0;
    const double start = now_s();
    const bool video = kind == "video";
    while (now_s() - start < std::max(0.05, o.duration_s / 2)) {
      for (std::size_t i = 0; i < batch; ++i)
        lens[i] = build_rtp(bufs.data() + i * buffer_size, bytes, video, seq++, 0x22222222);
      double c0 = thread_cpu_s();
      for (std::size_t i = 0; i < batch; ++i) {
        auto r = out->protect_rtp({bufs.data() + i * buffer_size, buffer_size}, lens[i]);
        lens[i] = r ? r.length : 0;
      }
      double c1 = thread_cpu_s();
      for (std::size_t i = 0; i < batch; ++i)
        if (lens[i] == 0 || !in->unprotect_rtp({bufs.data() + i * buffer_size, buffer_size}, lens[i]))
          error = "srtp: protect/unprotect failed in the SRTP loop";
      double c2 = thread_cpu_s();
      protect += c1 - c0;
      unprotect += c2 - c1;
      cost.packets += batch;
    }
    if (cost.packets > 0) {
      cost.protect_us = protect * 1e6 / double(cost.packets);
      cost.unprotect_us = unprotect * 1e6 / double(cost.packets);
    }
  });
  t.join();
  return cost;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
    ++i;
  return s.substr(i);
}

} // namespace

const char* to_string(floor_send s) noexcept {
  switch (s) {
  case floor_send::batched:
    return "batched";
  case floor_send::per_socket:
    return "per-socket";
  case floor_send::segmented:
    return "segmented";
  }
  return "?";
}

double floor_case::us_per_packet_out() const noexcept {
  return packets_out > 0 ? (user_s + sys_s) * 1e6 / double(packets_out) : 0;
}
double floor_case::us_per_packet_in() const noexcept {
  return packets_in > 0 ? (user_s + sys_s) * 1e6 / double(packets_in) : 0;
}

const floor_case* floor_result::find(const std::string& kind, uint32_t fanout) const noexcept {
  for (auto& c : cases)
    if (c.kind == kind && c.fanout == fanout && c.send == floor_send::batched)
      return &c;
  return nullptr;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

machine_info read_machine_info() {
  machine_info m;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos)
        m.cpu_model = trim(line.substr(colon + 1));
      break;
    }
  m.online_cpus = uint32_t(std::max(0L, ::sysconf(_SC_NPROCESSORS_ONLN)));
  std::ifstream load("/proc/loadavg");
  if (std::getline(load, line))
    m.loadavg = trim(line);
  utsname u{};
  if (::uname(&u) == 0)
    m.kernel = u.release;
  return m;
}

floor_result run_floor(const floor_options& o) {
  floor_result r;
  r.options = o;
  r.machine = read_machine_info();
  r.date = utc_now();
  const placement where = place(o.cpu);
  r.cpu = where.server;
  r.peer_cpus = where.peer;
  const std::pair<std::string, uint32_t> kinds[] = {{"video", o.video_bytes}, {"audio", o.audio_bytes}};
  auto skip = [&](const std::string& kind, uint32_t bytes) {
    return bytes == 0 || (!o.kind.empty() && kind != o.kind);
  };
  for (auto& [kind, bytes] : kinds) {
    if (skip(kind, bytes))
      continue;
    r.srtp.push_back(measure_srtp(o, where, kind, bytes, r.error));
    if (!r.error.empty())
      return r;
  }
  for (uint32_t fanout : o.fanouts)
    for (auto& [kind, bytes] : kinds) {
      if (skip(kind, bytes))
        continue;
      for (floor_send mode : {floor_send::batched, floor_send::per_socket, floor_send::segmented}) {
        if (mode == floor_send::per_socket && (!o.per_socket || fanout == 1))
          continue; // one destination: the same as batched
        if (mode == floor_send::segmented && o.burst < 2)
          continue; // one packet per receive: nothing to segment
        r.cases.push_back(measure_case(o, where, kind, bytes, fanout, mode, r.error));
        if (!r.error.empty())
          return r;
      }
    }
  r.machine.loadavg = read_machine_info().loadavg; // after the run
  return r;
}

floor_result run_scenario_floor(rtp::srtp_profile profile, uint32_t fanout, uint32_t video_bytes,
                                uint32_t audio_bytes, double duration_s, std::optional<int> cpu,
                                bool sink_gro) {
  floor_options o;
  o.sink_gro = sink_gro;
  o.profile = profile;
  o.fanouts = {std::max<uint32_t>(fanout, 1)};
  o.video_bytes = video_bytes;
  o.audio_bytes = audio_bytes;
  o.duration_s = duration_s;
  o.cpu = cpu;
  o.per_socket = false;
  floor_result r;
  r.options = o;
  r.machine = read_machine_info();
  r.date = utc_now();
  const placement where = place(cpu);
  r.cpu = where.server;
  r.peer_cpus = where.peer;
  for (auto& [kind, bytes] : {std::pair<std::string, uint32_t>{"video", video_bytes}, {"audio", audio_bytes}}) {
    r.cases.push_back(measure_case(o, where, kind, bytes, o.fanouts[0], floor_send::batched, r.error));
    if (!r.error.empty())
      break;
  }
  return r;
}

void print_floor_table(const floor_result& r, std::FILE* out) {
  const auto info = rtp::profile_info(r.options.profile);
  std::fprintf(out, "chorus-bench floor: %.*s (AES-GCM: %s), %s\n", int(info.name.size()),
               info.name.data(), rtp::gcm_uses_native() ? "native" : "openssl", r.date.c_str());
  std::fprintf(out, "  machine: %s, %u CPUs online, kernel %s, load average %s\n",
               r.machine.cpu_model.c_str(), r.machine.online_cpus, r.machine.kernel.c_str(),
               r.machine.loadavg.c_str());
  std::string peers;
  for (int c : r.peer_cpus)
    peers += (peers.empty() ? "" : ",") + std::to_string(c);
  std::string feed;
  if (r.options.burst > 1)
    feed = std::to_string(r.options.burst) + " datagrams at once, " +
           (r.options.rate > 0 ? std::to_string(std::lround(r.options.rate)) + " bursts/s"
                               : std::string("the next burst when the last is forwarded"));
  else
    feed = r.options.rate > 0 ? std::to_string(std::lround(r.options.rate)) + " datagrams/s"
                              : std::to_string(r.options.in_flight) + " datagram(s) in flight";
  if (r.options.sink_gro)
    feed += "; sinks take segmented messages whole (UDP_GRO)";
  std::fprintf(out, "  server thread on CPU %d, feeder/drain on CPU %s; %s\n", r.cpu,
               peers.empty() ? "(any)" : peers.c_str(), feed.c_str());
  if (!r.error.empty())
    std::fprintf(out, "  error: %s\n", r.error.c_str());
  if (!r.srtp.empty()) {
    std::fprintf(out, "\n  SRTP alone (thread CPU per packet)\n");
    std::fprintf(out, "  %-6s %6s %12s %14s\n", "kind", "bytes", "protect us", "unprotect us");
    for (auto& s : r.srtp)
      std::fprintf(out, "  %-6s %6u %12.3f %14.3f\n", s.kind.c_str(), s.bytes, s.protect_us,
                   s.unprotect_us);
  }
  std::fprintf(out, "\n  receive once, unprotect once, N x (copy, protect, send) on loopback UDP\n");
  std::fprintf(out, "  %-6s %6s %7s %-10s %10s %10s %8s %8s %13s %12s %8s %8s %8s\n", "kind",
               "bytes", "fanout", "send", "in pkts", "out pkts", "user s", "sys s",
               "us/fwd packet", "us/in packet", "p50 ms", "p99 ms", "max ms");
  for (auto& c : r.cases)
    std::fprintf(out, "  %-6s %6u %7u %-10s %10llu %10llu %8.3f %8.3f %13.3f %12.3f %8.3f %8.3f %8.3f\n",
                 c.kind.c_str(), c.bytes, c.fanout, to_string(c.send),
                 (unsigned long long)c.packets_in, (unsigned long long)c.packets_out, c.user_s,
                 c.sys_s, c.us_per_packet_out(), c.us_per_packet_in(), c.latency_p50_ms,
                 c.latency_p99_ms, c.latency_max_ms);
  std::fprintf(out, "\n  floor per forwarded packet = server thread CPU (getrusage RUSAGE_THREAD, "
                    "user + sys) / packets sent out; 'batched' is the floor\n"
                    "  p50/p99/max: per forwarded datagram, from the peer's send to the return of "
                    "the server's send call that carried it\n");
  std::fflush(out);
}

std::string floor_to_json(const floor_result& r) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  client::json_fields j(w);
  const auto info = rtp::profile_info(r.options.profile);
  w.StartObject();
  j.boolean("ok", r.ok());
  j.str("date", r.date);
  j.str("profile", info.name);
  j.key("machine");
  w.StartObject();
  j.str("cpuModel", r.machine.cpu_model);
  j.u64("onlineCpus", r.machine.online_cpus);
  j.str("kernel", r.machine.kernel);
  j.str("loadavg", r.machine.loadavg);
  w.EndObject();
  j.key("serverCpu");
  w.Int(r.cpu);
  j.key("peerCpus");
  w.StartArray();
  for (int c : r.peer_cpus)
    w.Int(c);
  w.EndArray();
  j.num_or_zero("durationS", r.options.duration_s);
  j.u64("inFlight", r.options.in_flight);
  j.u64("burst", r.options.burst);
  j.boolean("sinkGro", r.options.sink_gro);
  j.num_or_zero("rate", r.options.rate);
  j.str("kind", r.options.kind.empty() ? std::string("both") : r.options.kind);
  j.key("srtp");
  w.StartArray();
  for (auto& s : r.srtp) {
    w.StartObject();
    j.str("kind", s.kind);
    j.u64("bytes", s.bytes);
    j.u64("packets", s.packets);
    j.num_or_zero("protectUs", s.protect_us);
    j.num_or_zero("unprotectUs", s.unprotect_us);
    w.EndObject();
  }
  w.EndArray();
  j.key("cases");
  w.StartArray();
  for (auto& c : r.cases) {
    w.StartObject();
    j.str("kind", c.kind);
    j.u64("bytes", c.bytes);
    j.u64("fanout", c.fanout);
    j.str("send", to_string(c.send));
    j.u64("packetsIn", c.packets_in);
    j.u64("packetsOut", c.packets_out);
    j.u64("sendFailures", c.send_failures);
    j.u64("srtpFailures", c.srtp_failures);
    j.u64("wakeups", c.wakeups);
    j.u64("receiveCalls", c.receive_calls);
    j.u64("sendCalls", c.send_calls);
    j.u64("drained", c.drained);
    j.u64("segmentedMessages", c.segmented_messages);
    j.num_or_zero("wallS", c.wall_s);
    j.num_or_zero("userS", c.user_s);
    j.num_or_zero("sysS", c.sys_s);
    j.num_or_zero("usPerForwardedPacket", c.us_per_packet_out());
    j.num_or_zero("usPerInputPacket", c.us_per_packet_in());
    j.key("latencyMs");
    w.StartObject();
    j.num_or_zero("p50", c.latency_p50_ms);
    j.num_or_zero("p99", c.latency_p99_ms);
    j.num_or_zero("max", c.latency_max_ms);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  j.key("floorUsPerForwardedPacket");
  w.StartObject();
  for (auto& c : r.cases)
    if (c.send == floor_send::batched) {
      const std::string k = c.kind + "Fanout" + std::to_string(c.fanout);
      j.num_or_zero(k.c_str(), c.us_per_packet_out());
    }
  w.EndObject();
  j.str("error", r.error);
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

std::optional<rtp::srtp_profile> parse_srtp_profile(std::string_view s) {
  std::string u;
  for (char ch : s)
    u += char(std::toupper(static_cast<unsigned char>(ch)));
  if (u.rfind("SRTP_", 0) == 0)
    u = u.substr(5);
  if (u == "AEAD_AES_256_GCM")
    return rtp::srtp_profile::aead_aes_256_gcm;
  if (u == "AEAD_AES_128_GCM")
    return rtp::srtp_profile::aead_aes_128_gcm;
  if (u == "AES_CM_128_HMAC_SHA1_80" || u == "AES128_CM_SHA1_80")
    return rtp::srtp_profile::aes_cm_128_hmac_sha1_80;
  if (u == "AES_CM_128_HMAC_SHA1_32" || u == "AES128_CM_SHA1_32")
    return rtp::srtp_profile::aes_cm_128_hmac_sha1_32;
  return std::nullopt;
}

const char* const floor_usage =
  "usage: chorus-bench floor [--profile P] [--fanout N[,N...]] [--video-bytes B]\n"
  "                          [--audio-bytes B] [--duration-s S] [--cpu C] [--in-flight K]\n"
  "                          [--rate PPS] [--burst B] [--kind video|audio]\n"
  "                          [--no-per-socket] [--sink-gro] [--json FILE]\n"
  "\n"
  "Measures the unavoidable CPU per forwarded packet on this machine: one thread (pinned to\n"
  "--cpu, else the first CPU the process may use) receives an SRTP packet on a loopback UDP\n"
  "socket (epoll + recvmmsg), unprotects it, and for each of N destinations (--fanout,\n"
  "default 1,10,100) copies it, protects it with that destination's SRTP session and sends\n"
  "it (sendmmsg, up to 64 per call; 'per-socket' rows: one socket and one call per\n"
  "destination). A peer thread on the other CPUs feeds it (--in-flight datagrams\n"
  "outstanding, default 1; or --rate PPS datagrams a second, whatever the server does, as\n"
  "a paced publisher's arrive; or --burst B datagrams at once, as a frame sent at once,\n"
  "the next burst when the server has forwarded the last, or --rate bursts a second) and\n"
  "drains the destinations. With --burst, 'segmented' rows too: destination by\n"
  "destination, the copies of what one receive call brought leave as one UDP GSO message,\n"
  "as Chorus's send outbox sends a frame. Every row gives the forwarded datagrams' latency\n"
  "(p50/p99/max: from the peer's send to the return of the server's send call that\n"
  "carried the copy, what a receiver waits, queueing included). Sizes are RTP bytes before\n"
  "SRTP (video 1200, audio 100). --profile: AEAD_AES_256_GCM (default), AEAD_AES_128_GCM,\n"
  "AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32. --duration-s per case (default 1).\n"
  "In order: SRTP alone (half of --duration-s per kind), then per fan-out the video case\n"
  "and the audio case (--kind: that kind only; to profile one case, say).\n"
  "--sink-gro: the destinations take a segmented message whole (UDP_GRO), as the bench's\n"
  "receivers do with --receiver-gro: on loopback the sender's core then no longer pays\n"
  "for cutting it into datagrams and queueing each at the receiver (segmented rows only;\n"
  "single datagrams are delivered the same either way).\n"
  "Run it pinned like the server: taskset -c 0 chorus-bench floor\n";

std::optional<floor_options> parse_floor_options(int argc, char** argv, std::string& error,
                                                 bool& help) {
  using client::parse_double;
  using client::parse_u32;
  floor_options o;
  help = false;
  static constexpr std::string_view known[] = {"--profile", "--fanout", "--video-bytes",
                                               "--audio-bytes", "--duration-s", "--cpu",
                                               "--in-flight", "--rate", "--burst", "--kind",
                                               "--json"};
  auto on_switch = [&](std::string_view flag) {
    if (flag == "--no-per-socket")
      o.per_socket = false;
    else if (flag == "--sink-gro")
      o.sink_gro = true;
    else
      return false;
    return true;
  };
  auto on_value = [&](std::string_view flag, std::string_view v) {
    bool ok = true;
    uint32_t u = 0;
    if (flag == "--profile") {
      auto p = parse_srtp_profile(v);
      ok = p.has_value();
      if (p)
        o.profile = *p;
    } else if (flag == "--fanout") {
      o.fanouts.clear();
      std::size_t start = 0;
      while (ok && start <= v.size()) {
        const std::size_t comma = std::min(v.find(',', start), v.size());
        ok = parse_u32(v.substr(start, comma - start), u) && u >= 1 && u <= 10000;
        o.fanouts.push_back(u);
        start = comma + 1;
      }
    } else if (flag == "--video-bytes") {
      ok = parse_u32(v, o.video_bytes) && o.video_bytes >= 40 && o.video_bytes <= 1400;
    } else if (flag == "--audio-bytes") {
      ok = parse_u32(v, o.audio_bytes) && o.audio_bytes >= 40 && o.audio_bytes <= 1400;
    } else if (flag == "--duration-s") {
      ok = parse_double(v, o.duration_s) && o.duration_s > 0 && o.duration_s <= 3600;
    } else if (flag == "--cpu") {
      ok = parse_u32(v, u) && u < CPU_SETSIZE;
      o.cpu = int(u);
    } else if (flag == "--in-flight") {
      ok = parse_u32(v, o.in_flight) && o.in_flight >= 1 && o.in_flight <= 1024;
    } else if (flag == "--burst") {
      ok = parse_u32(v, o.burst) && o.burst >= 1 && o.burst <= recv_batch;
    } else if (flag == "--rate") {
      ok = parse_double(v, o.rate) && o.rate >= 1 && o.rate <= 1e6;
    } else if (flag == "--kind") {
      o.kind = v;
      ok = o.kind == "video" || o.kind == "audio";
    } else if (flag == "--json") {
      o.json_file = v;
      ok = !o.json_file.empty();
    }
    return ok;
  };
  // argv[1] is "floor".
  if (!client::parse_flags(argc, argv, 2, known, on_switch, on_value, error, &help))
    return std::nullopt;
  if (o.burst > 1 && o.in_flight > 1) {
    error = "--burst and --in-flight: one or the other";
    return std::nullopt;
  }
  return o;
}

} // namespace chorus::bench
