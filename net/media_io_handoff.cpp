// The media I/O's side of the signaling port's handoff (net/stream_handoff.hpp): ICE-TCP
// connections go to an I/O thread as unbound connections (each thread in turn; the first
// frame moves one to its transport's home), TURN ones to the first thread, the TURN
// server's.
#include "net/media_io_core.hpp"

#include <utility>

namespace chorus::net {

namespace {

using detail::io_group;

// A TLS stream's input: each call posted to the TURN server's thread, in call order.
class turn_stream_input final : public stream_input {
public:
  turn_stream_input(std::shared_ptr<io_group> group, uint64_t id)
    : group_(std::move(group)), id_(id) {}
  ~turn_stream_input() override { closed(); }

  void receive(std::vector<uint8_t> bytes) override {
    if (done_)
      return;
    auto& core = group_->core(0);
    backlog_->fetch_add(bytes.size(), std::memory_order_relaxed);
    core.post([&core, g = group_, id = id_, backlog = backlog_, b = std::move(bytes)] {
      if (auto* t = g->turn())
        t->stream_bytes(core, id, b);
      backlog->fetch_sub(b.size(), std::memory_order_relaxed);
    });
  }

  std::size_t backlog() const override { return backlog_->load(std::memory_order_relaxed); }

  void closed() override {
    if (std::exchange(done_, true))
      return;
    group_->core(0).post([g = group_, id = id_] {
      if (auto* t = g->turn())
        t->stream_closed(id);
    });
  }

private:
  std::shared_ptr<io_group> group_;
  uint64_t id_;
  bool done_ = false;
  std::shared_ptr<std::atomic<std::size_t>> backlog_ = std::make_shared<std::atomic<std::size_t>>(0);
};

class io_handoff final : public stream_handoff {
public:
  io_handoff(std::shared_ptr<io_group> group, bool ice_tcp, bool turn)
    : group_(std::move(group)), ice_tcp_(ice_tcp), turn_(turn && group_->turn() != nullptr) {}

  bool takes_ice_tcp() const override { return ice_tcp_; }
  bool takes_turn() const override { return turn_; }

  void adopt_ice_tcp(int fd, const transport_address& remote,
                     std::vector<uint8_t> head) override {
    sock::unique_fd owned{fd};
    if (!ice_tcp_)
      return;
    auto& core = group_->core(std::size_t(next_++ % group_->size()));
    auto moving = std::make_shared<sock::unique_fd>(std::move(owned));
    core.post([&core, moving, remote, head = std::move(head)] {
      core.take_connection(std::move(*moving), remote, head);
    }); // not running: the fd closes with the function
  }

  void adopt_turn_tcp(int fd, const transport_address& remote,
                      std::vector<uint8_t> head) override {
    sock::unique_fd owned{fd};
    if (!turn_)
      return;
    auto& core = group_->core(0);
    auto moving = std::make_shared<sock::unique_fd>(std::move(owned));
    core.post([&core, g = group_, moving, remote, head = std::move(head)] {
      if (auto* t = g->turn())
        t->adopt_conn(core, std::move(*moving), remote, head);
    });
  }

  std::shared_ptr<stream_input> open_turn_stream(const transport_address& remote,
                                                 std::shared_ptr<stream_sink> out) override {
    if (!turn_)
      return nullptr;
    const uint64_t id = group_->next_id();
    auto& core = group_->core(0);
    if (!core.post([&core, g = group_, id, remote, out] {
          if (auto* t = g->turn())
            t->open_stream(core, id, remote, out);
        }))
      return nullptr;
    return std::make_shared<turn_stream_input>(group_, id);
  }

private:
  std::shared_ptr<io_group> group_;
  const bool ice_tcp_, turn_;
  std::atomic<uint64_t> next_{0};
};

} // namespace

std::shared_ptr<stream_handoff> media_io::handoff(bool ice_tcp, bool turn) {
  return std::make_shared<io_handoff>(group_, ice_tcp, turn);
}

} // namespace chorus::net
