// One I/O thread (io_core): lifecycle, command queue, epoll loop, UDP receive, hand-over
// to an endpoint's home thread and per-endpoint delivery. TCP is in media_io_tcp.cpp, the
// group of threads in media_io_group.cpp, media_endpoint in media_io_endpoint.cpp.
#include "net/media_io_core.hpp"
#include "net/send_outbox.hpp"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>

namespace chorus::net {

namespace detail {

thread_local int t_io_thread = -1; // media_io::current_thread

namespace {
constexpr std::size_t max_events = 256;
constexpr std::size_t datagram_buffer = 2048; // > any MTU-sized datagram
constexpr int udp_rounds = 4;                 // full recvmmsg calls per socket per wakeup
constexpr int max_burst_waits = 64;           // waits for a frame's rest per socket per wakeup
constexpr int64_t max_arrival_age_us = 1'000'000; // a kernel timestamp is trusted this far back

std::string errno_text(int err) { return std::strerror(err); }

// The clock of the kernel's receive stamps (SO_TIMESTAMPNS).
int64_t realtime_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::system_clock::now().time_since_epoch()).count();
}
} // namespace

io_core::io_core(io_group& group, std::size_t index)
  : group_(group), opts_(group.options()), index_(index),
    tuples_(opts_.max_tuples_per_endpoint), burst_(opts_.burst) {
  epoll_fd_ = sock::unique_fd(::epoll_create1(EPOLL_CLOEXEC));
  wake_fd_ = sock::unique_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll_fd_ || !wake_fd_)
    throw std::runtime_error("media_io: epoll/eventfd: " + errno_text(errno));
  add_poll(wake_fd_.get(), EPOLLIN, wake_token);
  rx_ = std::make_unique<sock::udp_receiver>(opts_.recv_batch, datagram_buffer);
}

io_core::~io_core() {
  request_stop();
  join();
}

int io_core::open_shared(const transport_address& local, bool reuse_port) {
  auto udp = sock::bind_udp(local, reuse_port);
  if (!udp.fd)
    return udp.error;
  auto tcp = sock::listen_tcp(local, 128, reuse_port);
  if (!tcp.fd)
    return tcp.error;
  shared_udp_ = std::move(udp.fd);
  shared_tcp_ = std::move(tcp.fd);
  const uint64_t u = group_.next_id(), t = group_.next_id();
  polls_[u] = {poll_kind::udp, shared_udp_.get(), nullptr};
  polls_[t] = {poll_kind::tcp_listener, shared_tcp_.get(), nullptr};
  add_poll(shared_udp_.get(), EPOLLIN, u);
  add_poll(shared_tcp_.get(), EPOLLIN, t);
  return 0;
}

void io_core::watch_turn(int udp_fd, int tcp_fd) {
  const uint64_t u = group_.next_id(), t = group_.next_id();
  polls_[u] = {poll_kind::turn_udp, udp_fd, nullptr};
  polls_[t] = {poll_kind::turn_tcp_listener, tcp_fd, nullptr};
  add_poll(udp_fd, EPOLLIN, u);
  add_poll(tcp_fd, EPOLLIN, t);
}

void io_core::start() {
  {
    std::lock_guard lock(queue_mutex_);
    running_ = true;
  }
  thread_ = std::thread([this] { run(); });
}

void io_core::request_stop() noexcept {
  if (!thread_.joinable())
    return;
  stopping_ = true;
  wake();
}

void io_core::join() {
  if (thread_.joinable())
    thread_.join();
}

bool io_core::post(std::function<void()> fn) {
  return enqueue(queue_, std::move(fn));
}

bool io_core::post_work(std::function<void()> fn) {
  return enqueue(work_, std::move(fn));
}

bool io_core::enqueue(std::vector<std::function<void()>>& to, std::function<void()> fn) {
  bool was_empty = false;
  {
    std::lock_guard lock(queue_mutex_);
    if (!running_ || stopped_)
      return false;
    was_empty = queue_.empty() && work_.empty();
    to.push_back(std::move(fn));
  }
  if (was_empty) // the I/O thread drains both queues whole per wakeup
    wake();
  return true;
}

bool io_core::call(const std::function<void()>& fn) {
  if (on_io_thread()) {
    fn();
    return true;
  }
  std::promise<void> done;
  auto finished = done.get_future();
  if (!post([&fn, &done] {
        fn();
        done.set_value();
      }))
    return false;
  finished.wait();
  return true;
}

bool io_core::on_io_thread() const noexcept {
  return io_thread_id_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

uint64_t io_core::add_poll(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev);
  return token;
}

void io_core::mod_poll(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev);
}

void io_core::del_poll(int fd) { ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void io_core::drain_commands() {
  {
    std::lock_guard lock(queue_mutex_);
    if (queue_.empty() && work_.empty())
      return;
    commands_.swap(queue_);
    work_done_.swap(work_);
  }
  for (auto& fn : commands_)
    fn();
  commands_.clear();
  for (auto& fn : work_done_)
    fn();
  work_done_.clear();
}

void io_core::wake() noexcept {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_.get(), &one, sizeof one);
}

int64_t io_core::next_wait_ns(clock::time_point now, int64_t timer_due_ns) const {
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           now.time_since_epoch()).count();
  int64_t due = timer_due_ns;
  if (!pending_conns_.empty())
    due = std::min<int64_t>(due, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   pending_conns_.front().first.time_since_epoch()).count());
  if (due == no_timer_due)
    return -1;
  return std::max<int64_t>(0, due - now_ns);
}

// epoll_pwait2 takes the bound in nanoseconds: a timer due in 300 us is not rounded up to
// a millisecond. Where it fails for another reason than a signal (a kernel before 5.11:
// ENOSYS; a seccomp filter that does not know it: EPERM), epoll_wait's milliseconds from
// then on.
int io_core::wait(epoll_event* events, int max, clock::time_point now, int64_t timer_due_ns) {
  const int64_t ns = next_wait_ns(now, timer_due_ns);
  if (ns < 0)
    return ::epoll_wait(epoll_fd_.get(), events, max, -1);
  static std::atomic<bool> no_pwait2{false};
  if (!no_pwait2.load(std::memory_order_relaxed)) {
    const timespec ts{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
    const int n = ::epoll_pwait2(epoll_fd_.get(), events, max, &ts, nullptr);
    if (n >= 0 || errno == EINTR)
      return n;
    no_pwait2.store(true, std::memory_order_relaxed);
  }
  const int64_t ms = std::min<int64_t>(ns / 1'000'000 + (ns % 1'000'000 != 0), 3'600'000);
  return ::epoll_wait(epoll_fd_.get(), events, max, int(ms));
}

void io_core::run() {
  io_thread_id_ = std::this_thread::get_id();
  t_io_thread = int(index_);
  const std::string name = "chorus-io-" + std::to_string(index_);
  ::pthread_setname_np(::pthread_self(), name.c_str());
  // Sinks may send from this thread (a transport's lane runs its producers' fan-out here:
  // actors/lane.hpp); their datagrams leave together at the end of each wakeup, on the
  // shared port through this thread's own socket.
  send_outbox::install();
  if (shared_udp_)
    send_outbox::current()->use_shared_socket(shared_udp_.get());
  epoll_event events[max_events];
  while (!stopping_) {
    const auto now = clock::now();
    const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    int64_t timer_due = timer_hook_ ? timer_hook_->run_due(now_ns) : no_timer_due;
    if (index_ == 0 && group_.turn()) // allocations, permissions and channels expire
      timer_due = std::min(timer_due, group_.turn()->tick(now_ns));
    const int n = wait(events, int(max_events), now, timer_due);
    const int count = n < 0 ? 0 : n;
    counters_.wakeups.add();
    // Commands first: an endpoint opened before a packet arrived is known to that packet.
    for (int i = 0; i < count; ++i) {
      if (events[i].data.u64 == wake_token) {
        uint64_t value = 0;
        [[maybe_unused]] auto r = ::read(wake_fd_.get(), &value, sizeof value);
      }
    }
    drain_commands();
    for (int i = 0; i < count; ++i)
      if (events[i].data.u64 != wake_token)
        dispatch(events[i]);
    expire_pending(clock::now());
    send_handovers();
    deliver();
    send_outbox::flush_current();
  }
  std::vector<std::function<void()>> last, dropped; // posted work is dropped, not run
  {
    std::lock_guard lock(queue_mutex_);
    stopped_ = true;
    last.swap(queue_);
    dropped.swap(work_);
  }
  dropped.clear();
  for (auto& fn : last) // callers waiting in call() are released
    fn();
  handovers_.clear();
  send_outbox::flush_current();
}

void io_core::dispatch(const epoll_event& ev) {
  const uint64_t token = ev.data.u64;
  if (auto it = polls_.find(token); it != polls_.end()) {
    const poll_entry e = it->second;
    if (e.kind == poll_kind::udp)
      on_udp(e.fd, e.endpoint);
    else if (e.kind == poll_kind::turn_udp)
      group_.turn()->on_readable(*this);
    else if (e.kind == poll_kind::turn_tcp_listener)
      group_.turn()->on_accept(*this);
    else if (e.kind == poll_kind::turn_conn)
      group_.turn()->on_conn(*this, token, ev.events);
    else
      on_accept(e.fd, e.endpoint);
    return;
  }
  if (auto it = conns_.find(token); it != conns_.end())
    on_conn(*it->second, ev.events);
  // Otherwise closed earlier in this wakeup: ignore.
}

void io_core::on_udp(int fd, endpoint_state* ep) {
  int n = rx_->receive(fd);
  int full_rounds = 0, waits = 0;
  for (;;) {
    if (n <= 0) {
      if (n < 0)
        counters_.receive_errors.add();
      return;
    }
    // The kernel's timestamps are wall-clock time: brought onto the steady clock with one
    // reading of each, never later than now (a wall clock stepped back would otherwise
    // date packets in the future).
    const int64_t steady_us = steady_now_us();
    const int64_t real_now_ns = realtime_now_ns();
    counters_.packets.add(uint64_t(n));
    if (ep) { // port mode: all of it goes to one endpoint
      reuse_spare(ep->pending);
      std::size_t total = 0;
      for (int i = 0; i < n; ++i)
        total += rx_->payload(std::size_t(i)).size();
      ep->pending.data.reserve(ep->pending.data.size() + total);
      ep->pending.packets.reserve(ep->pending.packets.size() + std::size_t(n));
    }
    for (int i = 0; i < n; ++i) {
      const auto k = std::size_t(i);
      if (rx_->truncated(k)) {
        ep ? ep->rx_dropped.add() : counters_.truncated_dropped.add();
        continue;
      }
      auto from = sock::from_socket_address(rx_->source(k));
      if (!from)
        continue;
      const auto bytes = rx_->payload(k);
      endpoint_state* target = ep;
      if (!target) {
        const auto r = tuples_.route(bytes, *from, [this](std::string_view ufrag) {
          return group_.find_ufrag(ufrag, index_);
        });
        if (!r.owner) {
          counters_.unknown_source_dropped.add();
          continue;
        }
        if (r.bound)
          counters_.tuples_bound.add();
        if (r.evicted)
          counters_.tuples_evicted.add();
        target = r.owner;
      }
      const int64_t stamp_ns = rx_->realtime_ns(k);
      burst_.on_datagram(bytes, *from, stamp_ns);
      int64_t arrival_us = steady_us;
      if (stamp_ns != 0)
        arrival_us = std::clamp<int64_t>(steady_us - (real_now_ns - stamp_ns) / 1000,
                                         steady_us - max_arrival_age_us, steady_us);
      if (ep)
        append(*target, ice_tuple{ice_protocol::udp, *from, 0}, bytes, arrival_us);
      else
        route_to(*target, ice_tuple{ice_protocol::udp, *from, 0}, bytes, arrival_us);
    }
    if (std::size_t(n) == rx_->batch()) {
      if (++full_rounds == udp_rounds) // (what is left waits for the next wakeup)
        return;
      n = rx_->receive(fd);
      continue;
    }
    // Part of a frame sent at once: its rest is microseconds away (net/frame_burst.hpp).
    if (++waits > max_burst_waits || !burst_.should_wait(real_now_ns))
      return;
    const int64_t until_ns = burst_.wait_until_ns();
    const int64_t wait_start_ns = realtime_now_ns();
    int64_t now_ns = wait_start_ns;
    do {
      n = rx_->receive(fd);
      now_ns = realtime_now_ns();
    } while (n == 0 && now_ns < until_ns);
    burst_.waited(wait_start_ns, now_ns, n > 0);
    counters_.burst_waits.add();
    if (n > 0)
      counters_.burst_waits_joined.add();
  }
}

void io_core::route_to(endpoint_state& ep, const ice_tuple& source,
                       std::span<const uint8_t> bytes, int64_t arrival_us) {
  const int home = group_.claim_home(ep, index_);
  if (home == int(index_)) {
    append(ep, source, bytes, arrival_us);
    return;
  }
  // Another thread's endpoint (an address the kernel steers here, not its first): the
  // wakeup's datagrams for it go there together (send_handovers).
  auto it = std::find_if(handovers_.begin(), handovers_.end(),
                         [&](const auto& h) { return h.first.get() == &ep; });
  if (it == handovers_.end()) {
    handovers_.emplace_back(ep.shared_from_this(), packet_batch{});
    it = handovers_.end() - 1;
  }
  auto& batch = it->second;
  inbound_packet p;
  p.source = source;
  p.arrival_us = arrival_us;
  p.offset = uint32_t(batch.data.size());
  p.size = uint32_t(bytes.size());
  batch.data.insert(batch.data.end(), bytes.begin(), bytes.end());
  batch.packets.push_back(p);
  counters_.handed_over.add();
}

void io_core::send_handovers() {
  for (auto& [ep, batch] : handovers_) {
    auto& home = group_.core(std::size_t(ep->home.load(std::memory_order_acquire)));
    home.post([&home, ep = ep, batch = std::move(batch)] { home.take_handover(*ep, batch); });
  }
  handovers_.clear();
}

void io_core::take_handover(endpoint_state& ep, const packet_batch& batch) {
  if (ep.closed.load(std::memory_order_acquire))
    return;
  for (const auto& p : batch.packets)
    append(ep, p.source, p.bytes(batch.data), p.arrival_us, p.connection_closed);
}

void io_core::append(endpoint_state& ep, const ice_tuple& source,
                     std::span<const uint8_t> bytes, int64_t arrival_us, bool connection_closed) {
  auto& batch = ep.pending;
  reuse_spare(batch);
  inbound_packet p;
  p.source = source;
  p.arrival_us = arrival_us;
  p.offset = uint32_t(batch.data.size());
  p.size = uint32_t(bytes.size());
  p.connection_closed = connection_closed;
  batch.data.insert(batch.data.end(), bytes.begin(), bytes.end());
  batch.packets.push_back(p);
  if (!ep.dirty) {
    ep.dirty = true;
    dirty_.push_back(ep.shared_from_this());
  }
}

void io_core::deliver() {
  if (dirty_.empty())
    return;
  delivering_.swap(dirty_); // a sink may open/close endpoints inline: iterate a copy
  for (auto& ep : delivering_) {
    ep->dirty = false;
    packet_batch batch = std::move(ep->pending);
    ep->pending = packet_batch{};
    if (ep->closed.load(std::memory_order_acquire)) {
      recycle(std::move(batch));
      continue;
    }
    uint64_t packets = 0;
    for (const auto& p : batch.packets)
      packets += p.connection_closed ? 0 : 1;
    ep->rx_packets.add(packets);
    ep->rx_bytes.add(batch.data.size());
    try {
      ep->sink(std::move(batch)); // takes a reference: moves from it only to keep it
    } catch (...) {
      // A sink must not throw; the I/O thread survives one that does.
    }
    recycle(std::move(batch));
  }
  delivering_.clear();
}

void io_core::recycle(packet_batch&& batch) {
  if (spare_batches_.size() >= spare_batches_max || batch.data.capacity() == 0 ||
      batch.data.capacity() > spare_batch_max_bytes ||
      batch.packets.capacity() * sizeof(inbound_packet) > spare_batch_max_bytes)
    return; // moved into a message (nothing left), or too big to hold on to
  batch.data.clear();
  batch.packets.clear();
  spare_batches_.push_back(std::move(batch));
}

void io_core::reuse_spare(packet_batch& batch) {
  if (batch.data.capacity() != 0 || batch.packets.capacity() != 0 || spare_batches_.empty())
    return;
  batch = std::move(spare_batches_.back());
  spare_batches_.pop_back();
}

void io_core::watch(endpoint_state& ep) {
  if (ep.closed.load(std::memory_order_acquire))
    return; // closed on this thread before this queued command ran: released already
  ep.udp_token = group_.next_id();
  polls_[ep.udp_token] = {poll_kind::udp, ep.own_udp.get(), &ep};
  add_poll(ep.own_udp.get(), EPOLLIN, ep.udp_token);
  if (ep.own_tcp) {
    ep.tcp_token = group_.next_id();
    polls_[ep.tcp_token] = {poll_kind::tcp_listener, ep.own_tcp.get(), &ep};
    add_poll(ep.own_tcp.get(), EPOLLIN, ep.tcp_token);
  }
}

void io_core::release(endpoint_state& ep) {
  if (opts_.single_port)
    tuples_.remove(&ep);
  if (ep.home.load(std::memory_order_acquire) != int(index_))
    return;
  const auto connections = ep.tcp_connections; // close_conn edits the list
  for (const uint64_t id : connections)
    close_conn(id, false);
  if (ep.own_udp) {
    del_poll(ep.own_udp.get());
    polls_.erase(ep.udp_token);
    ep.own_udp.reset();
  }
  if (ep.own_tcp) {
    del_poll(ep.own_tcp.get());
    polls_.erase(ep.tcp_token);
    ep.own_tcp.reset();
  }
  ep.pending = packet_batch{};
}

void io_core::teardown() {
  std::vector<uint64_t> left;
  for (const auto& [id, c] : conns_)
    left.push_back(id);
  for (const uint64_t id : left)
    close_conn(id, false);
  polls_.clear();
  dirty_.clear();
  shared_udp_.reset();
  shared_tcp_.reset();
}

media_io::counters io_core::stats() const noexcept {
  media_io::counters c;
  c.unknown_source_dropped = counters_.unknown_source_dropped.get();
  c.tuples_bound = counters_.tuples_bound.get();
  c.tuples_evicted = counters_.tuples_evicted.get();
  c.truncated_dropped = counters_.truncated_dropped.get();
  c.tcp_connections_accepted = counters_.tcp_accepted.get();
  c.tcp_connections_refused = counters_.tcp_refused.get();
  c.tcp_bind_timeouts = counters_.tcp_bind_timeouts.get();
  c.tcp_connections_evicted = counters_.tcp_evicted.get();
  c.tcp_bind_failures = counters_.tcp_bind_failures.get();
  c.tcp_connections_closed = counters_.tcp_closed.get();
  c.receive_errors = counters_.receive_errors.get();
  c.burst_waits = counters_.burst_waits.get();
  c.burst_waits_joined = counters_.burst_waits_joined.get();
  c.packets_handed_over = counters_.handed_over.get();
  c.tcp_connections_moved = counters_.tcp_moved.get();
  return c;
}

media_io::thread_counters io_core::thread_stats() const noexcept {
  return {counters_.packets.get(), counters_.wakeups.get(), homed.get()};
}

} // namespace detail

} // namespace chorus::net
