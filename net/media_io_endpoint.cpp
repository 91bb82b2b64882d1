// media_endpoint: UDP sends straight from the caller's thread, TCP sends through its home
// I/O thread's command queue (see the thread-safety notes in net/media_io.hpp).
#include "net/media_io_core.hpp"
#include "net/send_outbox.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <shared_mutex>

namespace chorus::net {

namespace {

// The largest packet that goes back through a TURN allocation: a Data indication's DATA
// after its header and XOR-PEER-ADDRESS (IPv6) fits STUN's 16-bit length.
constexpr std::size_t turn_max_payload = 0xFFFF - 20 - 4 - 20 - 4;

// RFC 4571 frames of `packets` back to back; packets of size 0 or over 65535 are skipped
// (counted in `skipped`).
std::vector<uint8_t> frame_all(std::span<const std::span<const uint8_t>> packets,
                               std::size_t& framed, std::size_t& skipped) {
  std::size_t total = 0;
  for (const auto& p : packets)
    total += tcp_frame_header_size + p.size();
  std::vector<uint8_t> out;
  out.reserve(total);
  for (const auto& p : packets) {
    if (p.empty() || p.size() > tcp_max_frame_size) {
      ++skipped;
      continue;
    }
    uint8_t header[tcp_frame_header_size];
    put_tcp_frame_header(header, p.size());
    out.insert(out.end(), header, header + tcp_frame_header_size);
    out.insert(out.end(), p.begin(), p.end());
    ++framed;
  }
  return out;
}

} // namespace

media_endpoint::media_endpoint(std::shared_ptr<detail::io_group> group,
                               std::shared_ptr<detail::endpoint_state> state)
  : group_(std::move(group)), state_(std::move(state)) {}

media_endpoint::~media_endpoint() {
  if (!closed())
    close();
}

uint16_t media_endpoint::udp_port() const noexcept { return state_->udp_port; }
uint16_t media_endpoint::tcp_port() const noexcept { return state_->tcp_port; }
int media_endpoint::home_thread() const noexcept {
  return state_->home.load(std::memory_order_relaxed);
}

bool media_endpoint::closed() const noexcept {
  return state_->closed.load(std::memory_order_acquire);
}

bool media_endpoint::send(const ice_tuple& to, const uint8_t* data, std::size_t size) {
  const std::span<const uint8_t> one[1] = {{data, size}};
  return send_batch(to, one) == 1;
}

std::size_t media_endpoint::send_batch(const ice_tuple& to,
                                       std::span<const std::span<const uint8_t>> packets) {
  auto& st = *state_;
  if (packets.empty())
    return 0;
  if (to.protocol == ice_protocol::turn) {
    // To a client through its allocation: the TURN server's thread sends it (copied).
    if (closed() || !group_->turn())
      return 0;
    packet_batch batch;
    for (const auto& p : packets) {
      if (p.size() > turn_max_payload) { // would not fit ChannelData's or DATA's length
        st.tx_errors.add();
        continue;
      }
      inbound_packet entry;
      entry.offset = uint32_t(batch.data.size());
      entry.size = uint32_t(p.size());
      batch.data.insert(batch.data.end(), p.begin(), p.end());
      batch.packets.push_back(entry);
    }
    auto* core = &group_->core(0);
    const std::size_t count = batch.packets.size();
    const bool queued = core->post([group = group_, state = state_, relay = to.remote,
                                    allocation = to.connection_id, batch = std::move(batch)] {
      if (!state->closed.load(std::memory_order_acquire))
        group->turn()->send_from(*state, relay, allocation, batch);
    });
    return queued ? count : 0;
  }
  if (to.protocol == ice_protocol::tcp) {
    if (closed())
      return 0;
    std::size_t framed = 0, skipped = 0;
    auto bytes = frame_all(packets, framed, skipped);
    if (skipped)
      st.tx_errors.add(skipped);
    if (framed == 0)
      return 0;
    // Its connections live on its home thread (without one it has none: the first
    // thread's write_tcp finds no connection of its and counts the error).
    const int home = std::max(st.home.load(std::memory_order_acquire), 0);
    auto* core = &group_->core(std::size_t(home));
    const bool queued =
      core->post([core, state = state_, id = to.connection_id, bytes = std::move(bytes)] {
        if (!state->closed.load(std::memory_order_acquire))
          core->write_tcp(*state, id, bytes);
      });
    return queued ? framed : 0;
  }

  if (st.batch_sends)
    if (auto* outbox = send_outbox::current();
        outbox && (st.shared_socket || outbox->mixes_sockets())) {
      // Queueing copies the bytes only: no lock is needed (the flush takes the endpoint's
      // send lock and drops what an endpoint closed meanwhile had queued).
      if (st.closed.load(std::memory_order_acquire))
        return 0;
      sockaddr_storage sa{};
      const socklen_t len = sock::to_socket_address(to.remote, st.family, sa);
      if (len == 0) {
        st.tx_errors.add(packets.size());
        return 0;
      }
      // The time only matters to an outbox that is empty or about to be flushed for room
      // (its oldest datagram is then one of these).
      const bool restarts = outbox->size() == 0 ||
                            outbox->size() + packets.size() > send_outbox::capacity;
      const int64_t now =
        !restarts ? 0
                  : std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
      std::size_t queued = 0;
      for (const auto& p : packets) {
        if (!outbox->add(state_, sa, len, p, now))
          break; // larger than a slot: this and the rest are sent directly below
        ++queued;
      }
      if (queued == packets.size())
        return queued;
      outbox->flush(); // what is queued leaves first: the datagrams keep their order
      return queued + send_batch_now(to, packets.subspan(queued));
    }
  return send_batch_now(to, packets);
}

std::size_t media_endpoint::send_batch_now(const ice_tuple& to,
                                           std::span<const std::span<const uint8_t>> packets) {
  auto& st = *state_;
  std::shared_lock lock(st.send_mutex);
  if (st.closed.load(std::memory_order_relaxed))
    return 0;
  sockaddr_storage sa{};
  const socklen_t len = sock::to_socket_address(to.remote, st.family, sa);
  std::size_t sent = 0;
  if (len != 0) {
    sent = packets.size() == 1 ? (sock::send_datagram(st.udp_fd, sa, len, packets[0]) ? 1 : 0)
                               : sock::send_datagrams(st.udp_fd, sa, len, packets);
  }
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < sent; ++i)
    bytes += packets[i].size();
  st.tx_packets.add(sent);
  st.tx_bytes.add(bytes);
  if (sent < packets.size())
    st.tx_errors.add(packets.size() - sent);
  return sent;
}

bool media_endpoint::set_ufrag(std::string ufrag) { return group_->set_ufrag(*state_, ufrag); }

void media_endpoint::close() {
  auto& st = *state_;
  {
    std::unique_lock lock(st.send_mutex);
    st.closed.store(true, std::memory_order_release);
  }
  // Runs after any sink call in progress (see media_io.hpp); idempotent. When the I/O
  // threads have stopped, they already closed everything.
  group_->close(state_);
}

media_endpoint::counters media_endpoint::stats() const noexcept {
  const auto& st = *state_;
  counters c;
  c.rx_packets = st.rx_packets.get();
  c.rx_bytes = st.rx_bytes.get();
  c.tx_packets = st.tx_packets.get();
  c.tx_bytes = st.tx_bytes.get();
  c.tx_errors = st.tx_errors.get();
  c.rx_dropped = st.rx_dropped.get();
  return c;
}

} // namespace chorus::net
