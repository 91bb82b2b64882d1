// The I/O threads of a media_io together (io_group): start and stop, the shared port's
// sockets, the endpoints and their ufrags, port allocation, placing an endpoint on a
// thread, and the media_io facade over it.
#include "net/media_io_core.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace chorus::net {

namespace detail {

namespace {

media_io_options within_bounds(media_io_options o) {
  o.recv_batch = std::clamp<std::size_t>(o.recv_batch, 1, 1024);
  o.io_threads = std::clamp<std::size_t>(o.io_threads, 1, media_io_options::max_io_threads);
  if (o.single_port_number == 0)
    o.single_port_number = o.min_port;
  return o;
}

} // namespace

io_group::io_group(media_io_options opts)
    : opts_(within_bounds(std::move(opts))),
      placement_(opts_.io_threads, opts_.group_per_thread) {}

io_group::~io_group() { stop(); }

void io_group::start() {
  auto listen = transport_address::from_string(opts_.listen_ip, 0);
  if (!listen)
    throw std::runtime_error("media_io: listen_ip is not an IP literal: " + opts_.listen_ip);
  if (!opts_.single_port && (opts_.min_port == 0 || opts_.min_port > opts_.max_port))
    throw std::runtime_error("media_io: bad port range");
  listen_ = *listen;
  sock::raise_fd_limit();
  for (std::size_t i = 0; i < opts_.io_threads; ++i)
    cores_.push_back(std::make_unique<io_core>(*this, i));

  if (opts_.single_port) {
    transport_address local = listen_;
    local.port = opts_.single_port_number;
    const bool several = cores_.size() > 1;
    auto fail = [&](const char* what, int err) {
      cores_.clear();
      throw std::runtime_error(std::string("media_io: ") + what + " " + local.to_string() +
                               ": " + std::strerror(err));
    };
    if (several) {
      // The threads' sockets share the port (SO_REUSEPORT), which would let them join
      // another process's sockets on it: a port in use must fail here as it does with one
      // thread, so it is first bound without (and let go again).
      auto udp = sock::bind_udp(local);
      if (!udp.fd)
        fail("UDP", udp.error);
      auto tcp = sock::listen_tcp(local);
      if (!tcp.fd)
        fail("TCP", tcp.error);
    }
    for (auto& core : cores_)
      if (const int err = core->open_shared(local, several))
        fail("UDP/TCP", err);
    shared_port_ = local.port;
  }
  family_ = sock::socket_family(listen_);
  if (opts_.turn.enabled) {
    turn_ = std::make_unique<turn_relay>(*this, opts_, listen_);
    if (const int err = turn_->open()) {
      cores_.clear();
      turn_.reset();
      throw std::runtime_error("media_io: TURN port " + std::to_string(opts_.turn.udp_port) +
                               " (UDP and TCP): " + std::strerror(err));
    }
    cores_[0]->watch_turn(turn_->fd(), turn_->tcp_fd());
  }
  started_.store(true);
  for (auto& core : cores_)
    core->start();
}

void io_group::stop() {
  if (!started_.exchange(false))
    return;
  for (auto& core : cores_)
    core->request_stop();
  for (auto& core : cores_)
    core->join();
  // Every endpoint is marked closed under its send lock before any socket closes: a
  // sender holding the lock of one still open knows the shared sockets are open.
  std::unordered_map<uint64_t, std::shared_ptr<endpoint_state>> open;
  std::vector<std::shared_ptr<endpoint_state>> unreleased;
  {
    std::lock_guard lock(registry_mutex_);
    open.swap(endpoints_);
    unreleased = unreleased_; // (kept there: one closed from now on joins them)
  }
  for (auto& [id, ep] : open) {
    std::unique_lock lock(ep->send_mutex);
    ep->closed = true;
  }
  for (auto& [id, ep] : open)
    unreleased.push_back(ep);
  for (auto& ep : unreleased) {
    for (auto& core : cores_)
      core->release(*ep);
    if (const int home = ep->home.load(); home >= 0 && open.count(ep->id) != 0)
      cores_[std::size_t(home)]->homed.sub();
  }
  endpoints_open_.sub(open.size());
  for (auto& core : cores_)
    core->teardown();
}

std::shared_ptr<endpoint_state> io_group::endpoint(uint64_t id) {
  std::lock_guard lock(registry_mutex_);
  auto it = endpoints_.find(id);
  return it == endpoints_.end() ? nullptr : it->second;
}

std::shared_ptr<endpoint_state> io_group::endpoint_for_port(uint16_t port) {
  std::lock_guard lock(registry_mutex_);
  auto it = ice_ports_.find(port);
  if (it == ice_ports_.end())
    return nullptr;
  auto ep = endpoints_.find(it->second);
  return ep == endpoints_.end() ? nullptr : ep->second;
}

std::shared_ptr<endpoint_state> io_group::endpoint_for_ufrag(std::string_view ufrag) {
  std::lock_guard lock(registry_mutex_);
  endpoint_state* ep = ufrags_.find(ufrag);
  return ep ? ep->shared_from_this() : nullptr;
}

bool io_group::run_on(std::size_t i, std::function<void()> fn) {
  auto& core = *cores_[i];
  if (t_io_thread >= 0 && std::size_t(t_io_thread) != i)
    return core.post(std::move(fn)); // two I/O threads must never wait for each other
  return core.call(fn);
}

endpoint_state* io_group::find_ufrag(std::string_view ufrag, std::size_t thread) {
  std::lock_guard lock(registry_mutex_);
  endpoint_state* ep = ufrags_.find(ufrag);
  if (ep)
    ep->tuple_threads.fetch_or(uint64_t(1) << thread, std::memory_order_relaxed);
  return ep;
}

bool io_group::has_ufrag(const endpoint_state& ep, std::string_view ufrag) {
  std::lock_guard lock(registry_mutex_);
  return ep.ufrag == ufrag;
}

int io_group::claim_home(endpoint_state& ep, std::size_t thread) {
  int home = ep.home.load(std::memory_order_acquire);
  if (home >= 0)
    return home;
  if (ep.home.compare_exchange_strong(home, int(thread), std::memory_order_acq_rel)) {
    cores_[thread]->homed.add();
    return int(thread);
  }
  return home; // another thread's, set meanwhile
}

bool io_group::set_ufrag(endpoint_state& ep, const std::string& ufrag) {
  std::lock_guard lock(registry_mutex_);
  if (ep.closed.load(std::memory_order_acquire) || endpoints_.count(ep.id) == 0)
    return false;
  if (opts_.single_port && !ufrags_.set_ufrag(&ep, ufrag))
    return false;
  if (!opts_.single_port && !ufrags_.set_ufrag(&ep, ufrag))
    ufrags_.add(&ep, ufrag); // port mode: only connections to a shared port look it up
  ep.ufrag = ufrag;
  return true;
}

void io_group::close(const std::shared_ptr<endpoint_state>& ep) {
  uint64_t threads = 0;
  {
    std::lock_guard lock(registry_mutex_);
    if (endpoints_.erase(ep->id) == 0)
      return; // closed before, or by stop()
    ufrags_.remove(ep.get());
    if (auto p = ice_ports_.find(ep->udp_port); p != ice_ports_.end() && p->second == ep->id)
      ice_ports_.erase(p);
    // No thread finds it from here on: these are all that may hold its addresses.
    threads = ep->tuple_threads.load(std::memory_order_relaxed);
  }
  endpoints_open_.sub();
  const int home = ep->home.load(std::memory_order_acquire);
  if (ep->placed) {
    std::lock_guard lock(placement_mutex_);
    placement_.release(ep->group, std::size_t(home));
  }
  if (home >= 0)
    threads |= uint64_t(1) << home;
  bool released = true;
  for (std::size_t i = 0; i < cores_.size(); ++i) {
    if ((threads >> i & 1) == 0)
      continue;
    auto& core = *cores_[i];
    if (!run_on(i, [&core, ep] {
          core.release(*ep);
          if (ep->home.load(std::memory_order_acquire) == int(core.index()))
            core.homed.sub();
        })) {
      released = false;
      if (int(i) == ep->home.load(std::memory_order_acquire))
        core.homed.sub();
    }
  }
  if (!released) { // the threads are stopping: stop() releases it
    std::lock_guard lock(registry_mutex_);
    unreleased_.push_back(ep);
  }
}

bool io_group::allocate_ports(endpoint_state& ep, std::string* error) {
  const std::size_t range = std::size_t(opts_.max_port) - opts_.min_port + 1;
  std::lock_guard lock(port_mutex_);
  const std::size_t start = port_cursor_ % range;
  auto port_at = [&](std::size_t i) { return uint16_t(opts_.min_port + (start + i) % range); };
  transport_address local = listen_;
  sock::open_result fallback_udp; // UDP bound where TCP was not free
  std::size_t fallback_index = 0;
  for (std::size_t i = 0; i < range; ++i) {
    local.port = port_at(i);
    auto udp = sock::bind_udp(local);
    if (!udp.fd)
      continue;
    auto tcp = sock::listen_tcp(local);
    if (tcp.fd) {
      ep.own_udp = std::move(udp.fd);
      ep.own_tcp = std::move(tcp.fd);
      ep.udp_port = ep.tcp_port = local.port;
      port_cursor_ = start + i + 1;
      return true;
    }
    if (!fallback_udp.fd) {
      fallback_udp = std::move(udp);
      fallback_index = i;
    }
  }
  if (fallback_udp.fd) { // no port free for both: TCP on another one
    for (std::size_t i = 1; i < range; ++i) {
      local.port = port_at((fallback_index + i) % range);
      auto tcp = sock::listen_tcp(local);
      if (tcp.fd) {
        ep.own_udp = std::move(fallback_udp.fd);
        ep.own_tcp = std::move(tcp.fd);
        ep.udp_port = port_at(fallback_index);
        ep.tcp_port = local.port;
        port_cursor_ = start + fallback_index + 1;
        return true;
      }
    }
  }
  if (error)
    *error = "no free port in " + std::to_string(opts_.min_port) + "-" +
             std::to_string(opts_.max_port) + " on " + opts_.listen_ip;
  return false;
}

// Port mode, and open_udp: the endpoint's own sockets go to the thread placement_ chooses
// (with its group, or the least loaded). Queued, not waited for (no thread waits for an
// I/O thread here, so an I/O thread may open one too): nobody knows the ports before this
// returns, and a close() queues its release behind it.
std::shared_ptr<media_endpoint> io_group::place(const std::shared_ptr<io_group>& self,
                                                const std::shared_ptr<endpoint_state>& ep,
                                                std::string* error) {
  std::size_t home = 0;
  {
    std::lock_guard lock(placement_mutex_);
    home = placement_.place(ep->group);
  }
  ep->placed = true;
  ep->home = int(home);
  cores_[home]->homed.add();
  {
    std::lock_guard lock(registry_mutex_);
    endpoints_[ep->id] = ep;
  }
  endpoints_open_.add();
  auto& core = *cores_[home];
  if (!core.post([&core, ep] { core.watch(*ep); })) {
    close(ep);
    if (error)
      *error = "media_io not running";
    return nullptr;
  }
  return std::shared_ptr<media_endpoint>(new media_endpoint(self, ep));
}

std::shared_ptr<endpoint_state> io_group::new_endpoint(packet_sink sink, std::string* error) {
  const char* refused = !sink ? "no sink" : !started_ ? "media_io not running" : nullptr;
  if (refused) {
    if (error)
      *error = refused;
    return nullptr;
  }
  auto ep = std::make_shared<endpoint_state>();
  ep->id = next_id();
  ep->sink = std::move(sink);
  ep->family = family_;
  return ep;
}

std::shared_ptr<media_endpoint> io_group::open(const std::shared_ptr<io_group>& self,
                                               const std::string& ufrag, packet_sink sink,
                                               std::string* error, uint64_t group) {
  auto fail = [&](std::string text) -> std::shared_ptr<media_endpoint> {
    if (error)
      *error = std::move(text);
    return nullptr;
  };
  auto ep = new_endpoint(std::move(sink), error);
  if (!ep)
    return nullptr;
  ep->ufrag = ufrag;
  ep->group = group;
  ep->batch_sends = opts_.batch_sends; // port mode: through outboxes that have an io_uring
  ep->segment_sends.store(opts_.udp_segmentation, std::memory_order_relaxed);
  if (opts_.single_port) {
    if (ufrag.empty())
      return fail("empty ufrag");
    // Sent through the first thread's socket, or the sending I/O thread's own
    // (send_outbox::use_shared_socket): all of them are bound to the port.
    ep->udp_fd = cores_[0]->shared_udp_fd();
    ep->shared_socket = true;
    ep->udp_port = ep->tcp_port = shared_port_;
    std::lock_guard lock(registry_mutex_);
    if (!ufrags_.add(ep.get(), ufrag))
      return fail("ufrag already in use: " + ufrag);
    if (group != 0 && opts_.group_per_thread != 0 && cores_.size() > 1) {
      // Its home from now on, whichever thread the kernel gives its addresses to.
      std::lock_guard placing(placement_mutex_);
      const std::size_t home = placement_.place(group);
      ep->placed = true;
      ep->home = int(home);
      cores_[home]->homed.add();
    }
    endpoints_[ep->id] = ep;
    endpoints_open_.add();
    return std::shared_ptr<media_endpoint>(new media_endpoint(self, ep));
  }
  if (!allocate_ports(*ep, error))
    return nullptr;
  ep->udp_fd = ep->own_udp.get();
  ep->ice = true;
  auto placed = place(self, ep, error);
  if (placed) {
    std::lock_guard lock(registry_mutex_);
    if (endpoints_.count(ep->id) != 0) {
      ice_ports_[ep->udp_port] = ep->id;
      // ICE-TCP handed over from the signaling port finds its transport by ufrag.
      ufrags_.add(ep.get(), ep->ufrag);
    }
  }
  return placed;
}

std::shared_ptr<media_endpoint> io_group::open_udp(const std::shared_ptr<io_group>& self,
                                                   packet_sink sink, const std::string& listen_ip,
                                                   std::string* error) {
  auto fail = [&](std::string text) -> std::shared_ptr<media_endpoint> {
    if (error)
      *error = std::move(text);
    return nullptr;
  };
  auto ep = new_endpoint(std::move(sink), error);
  if (!ep)
    return nullptr;
  if (opts_.min_port == 0 || opts_.min_port > opts_.max_port)
    return fail("no port range configured");
  transport_address local = listen_;
  if (!listen_ip.empty()) {
    auto ip = transport_address::from_string(listen_ip, 0);
    if (!ip)
      return fail("listenIp is not an IP literal: " + listen_ip);
    if (sock::socket_family(*ip) != family_)
      return fail("listenIp " + listen_ip + " is not of the media listen address's family");
    local = *ip;
  }
  {
    const std::size_t range = std::size_t(opts_.max_port) - opts_.min_port + 1;
    std::lock_guard lock(port_mutex_);
    const std::size_t start = port_cursor_ % range;
    for (std::size_t i = 0; i < range && !ep->own_udp; ++i) {
      local.port = uint16_t(opts_.min_port + (start + i) % range);
      auto udp = sock::bind_udp(local);
      if (!udp.fd)
        continue;
      ep->own_udp = std::move(udp.fd);
      ep->udp_port = local.port;
      port_cursor_ = start + i + 1;
    }
  }
  if (!ep->own_udp)
    return fail("no free UDP port in " + std::to_string(opts_.min_port) + "-" +
                std::to_string(opts_.max_port) + " on " + local.ip_string());
  ep->udp_fd = ep->own_udp.get();
  return place(self, ep, error);
}

media_io::counters io_group::stats() const noexcept {
  media_io::counters sum;
  for (const auto& core : cores_) {
    const auto c = core->stats();
    sum.unknown_source_dropped += c.unknown_source_dropped;
    sum.tuples_bound += c.tuples_bound;
    sum.tuples_evicted += c.tuples_evicted;
    sum.truncated_dropped += c.truncated_dropped;
    sum.tcp_connections_accepted += c.tcp_connections_accepted;
    sum.tcp_connections_refused += c.tcp_connections_refused;
    sum.tcp_connections_evicted += c.tcp_connections_evicted;
    sum.tcp_bind_timeouts += c.tcp_bind_timeouts;
    sum.tcp_bind_failures += c.tcp_bind_failures;
    sum.tcp_connections_closed += c.tcp_connections_closed;
    sum.receive_errors += c.receive_errors;
    sum.burst_waits += c.burst_waits;
    sum.burst_waits_joined += c.burst_waits_joined;
    sum.packets_handed_over += c.packets_handed_over;
    sum.tcp_connections_moved += c.tcp_connections_moved;
  }
  sum.endpoints_open = endpoints_open_.get();
  return sum;
}

std::vector<media_io::thread_counters> io_group::thread_stats() const {
  std::vector<media_io::thread_counters> out;
  for (const auto& core : cores_)
    out.push_back(core->thread_stats());
  return out;
}

} // namespace detail

// ---- media_io -------------------------------------------------------------------------

media_io::media_io(media_io_options opts)
  : group_(std::make_shared<detail::io_group>(std::move(opts))) {}

media_io::~media_io() { group_->stop(); }

void media_io::start() { group_->start(); }

std::shared_ptr<media_endpoint> media_io::open(const std::string& local_ufrag,
                                               packet_sink sink, std::string* error,
                                               uint64_t group) {
  return group_->open(group_, local_ufrag, std::move(sink), error, group);
}

std::shared_ptr<media_endpoint> media_io::open_udp(packet_sink sink, const std::string& listen_ip,
                                                   std::string* error) {
  return group_->open_udp(group_, std::move(sink), listen_ip, error);
}

uint16_t media_io::shared_port() const noexcept { return group_->shared_port(); }

uint16_t media_io::turn_port() const noexcept {
  auto* t = group_->turn();
  return t ? t->port() : 0;
}

turn_server::counters media_io::turn_stats() const {
  auto* t = group_->turn();
  return t ? t->stats() : turn_server::counters{};
}

bool media_io::set_timer_hook(io_timer_hook* hook) {
  if (group_->size() == 0)
    return false;
  auto& core = group_->core(0);
  return core.call([&core, hook] { core.set_timer_hook(hook); });
}

void media_io::wake() {
  if (group_->size() != 0)
    group_->core(0).wake();
}

std::size_t media_io::threads() const noexcept { return group_->size(); }

int media_io::current_thread() noexcept { return detail::t_io_thread; }

bool media_io::post(std::size_t thread, std::function<void()> fn) {
  if (thread >= group_->size())
    return false;
  return group_->core(thread).post_work(std::move(fn));
}

media_io::counters media_io::stats() const noexcept { return group_->stats(); }

std::vector<media_io::thread_counters> media_io::thread_stats() const {
  return group_->thread_stats();
}

} // namespace chorus::net
