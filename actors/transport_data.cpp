#include "actors/transport_data.hpp"
#include "actors/media_tuning.hpp"

#include "actors/clock.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <sstream>

namespace chorus::actors {

namespace {

constexpr const char* data_component = "transport";
// usrsctp's timer wheel is global: one transport at a time drives it (the driver, with its
// heartbeat); the others take over when it is silent (tuning::sctp_takeover_ms). Their own
// timer output reaches them through the wakeup (sctp_pending_atom).
std::atomic<const void*> timer_driver{nullptr};
std::atomic<int64_t> timer_driver_beat{0};

net::sctp_stream_options stream_options(const protocol::sctp_stream_parameters& p) {
  net::sctp_stream_options o;
  o.ordered = p.ordered;
  if (p.has_max_packet_life_time) {
    o.reliability = net::sctp_reliability::max_packet_lifetime;
    o.reliability_value = p.max_packet_life_time;
  } else if (p.has_max_retransmits) {
    o.reliability = net::sctp_reliability::max_retransmits;
    o.reliability_value = p.max_retransmits;
  }
  return o;
}

} // namespace

void transport_data::enable(net::sctp_options options, std::shared_ptr<data_send_shared> shared) {
  enabled_ = true;
  options_ = std::move(options);
  shared_ = std::move(shared);
}

void transport_data::start(caf::event_based_actor* self, const packet_sink& sink) {
  if (!enabled_ || sctp_)
    return;
  auto opts = options_;
  // usrsctp output made on another thread (its timers run by another transport): come
  // back for it.
  opts.wakeup = [addr = self->address()] {
    if (auto a = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(a, sctp_pending_atom::value);
  };
  auto created = net::sctp_association::create(std::move(opts));
  if (!created) {
    LOG_WARN(data_component, "cannot create the SCTP association: " << created.error());
    return;
  }
  sctp_ = std::move(*created);
  apply(self, sctp_->connect(), sink);
  if (!ticking_) {
    ticking_ = true;
    self->delayed_send(self, tuning::sctp_tick_interval, sctp_tick_atom::value);
  }
}

void transport_data::on_packet(caf::event_based_actor* self, std::span<const uint8_t> packet,
                               const packet_sink& sink) {
  if (!sctp_)
    return;
  apply(self, sctp_->handle_packet(packet), sink);
}

void transport_data::on_pending(caf::event_based_actor* self, const packet_sink& sink) {
  if (sctp_)
    apply(self, sctp_->take_pending(), sink);
}

transport_data::~transport_data() {
  release_driver();
}

void transport_data::release_driver() noexcept {
  const void* me = this;
  timer_driver.compare_exchange_strong(me, nullptr);
}

void transport_data::on_tick(caf::event_based_actor* self, const packet_sink& sink) {
  if (!sctp_) {
    ticking_ = false;
    return;
  }
  const int64_t now = mono_ms();
  const void* me = this;
  const void* driver = timer_driver.load();
  if (driver != me &&
      (driver == nullptr || now - timer_driver_beat.load() > tuning::sctp_takeover_ms))
    timer_driver.compare_exchange_strong(driver, me);
  const bool driving = timer_driver.load() == me;
  if (driving) {
    timer_driver_beat.store(now);
    net::sctp_advance_timers(static_cast<uint64_t>(now));
  }
  apply(self, sctp_->take_pending(), sink);
  if (sctp_->state() == net::sctp_state::failed || sctp_->state() == net::sctp_state::closed) {
    ticking_ = false;
    release_driver();
    return;
  }
  self->delayed_send(self, driving ? tuning::sctp_tick_interval : tuning::sctp_standby_interval,
                     sctp_tick_atom::value);
}

void transport_data::send(caf::event_based_actor* self, const data_out& out,
                          const packet_sink& sink) {
  if (out.payload.size() != 1 || !out.payload.match_element<data_message>(0))
    return;
  const auto& m = out.payload.get_as<data_message>(0);
  if (shared_)
    shared_->queued_bytes.fetch_sub(static_cast<int64_t>(m.data.size()), std::memory_order_relaxed);
  if (!sctp_ || consumers_.find(out.stream) == consumers_.end()) {
    ++counters_.dropped_other;
    return;
  }
  auto ppid = static_cast<net::sctp_ppid>(m.ppid);
  auto o = sctp_->send(out.stream, ppid, m.data, stream_options(out.options));
  switch (o.refused) {
    case net::sctp_error::none:
      ++counters_.messages_out;
      counters_.bytes_out += m.data.size();
      break;
    case net::sctp_error::buffer_full:
      ++counters_.dropped_buffer_full;
      break;
    default:
      ++counters_.dropped_other;
  }
  apply(self, std::move(o), sink);
}

bool transport_data::add_producer(const data_producer_route& r) {
  if (!enabled_ || producers_.count(r.stream) || r.stream >= options_.mis)
    return false;
  producers_[r.stream] = r.data_producer;
  if (sctp_)
    sctp_->forget_stream(r.stream); // a reused stream id: its next reset is answered again
  return true;
}

bool transport_data::add_consumer(const data_consumer_route& r) {
  if (!enabled_ || consumers_.count(r.stream) || r.stream >= options_.os)
    return false;
  consumers_[r.stream] = r.data_consumer;
  if (sctp_)
    sctp_->forget_stream(r.stream); // a stream used before may be reset again
  return true;
}

void transport_data::remove(caf::event_based_actor* self, const caf::actor_addr& who,
                            const packet_sink& sink) {
  for (auto it = producers_.begin(); it != producers_.end(); ++it)
    if (it->second.address() == who) {
      producers_.erase(it);
      return;
    }
  for (auto it = consumers_.begin(); it != consumers_.end(); ++it)
    if (it->second.address() == who) {
      auto stream = it->first;
      consumers_.erase(it);
      if (sctp_) // the client's data channel on this stream closes
        apply(self, sctp_->close_stream(stream), sink);
      return;
    }
}

void transport_data::close(caf::event_based_actor* self, const packet_sink& sink) {
  if (sctp_ && sctp_->state() == net::sctp_state::connected)
    apply(self, sctp_->close(), sink);
  release_driver();
}

void transport_data::apply(caf::event_based_actor* self, net::sctp_output&& out,
                           const packet_sink& sink) {
  for (auto& p : out.packets)
    sink(p);
  if (out.state_changed)
    LOG_DEBUG(data_component, "sctp " << net::to_string(out.state));
  counters_.dcep_opens += out.opened.size();
  const int64_t now = mono_us();
  for (auto& m : out.messages) {
    auto it = producers_.find(m.stream);
    if (it == producers_.end()) {
      ++counters_.dropped_no_route;
      continue;
    }
    ++counters_.messages_in;
    counters_.bytes_in += m.data.size();
    self->send(it->second, data_message{m.ppid, std::move(m.data), now});
  }
  // The client closed data channels: their producer or consumer ends.
  for (auto stream : out.streams_closed) {
    if (auto it = producers_.find(stream); it != producers_.end()) {
      self->send_exit(it->second, caf::exit_reason::user_shutdown);
      producers_.erase(it);
    }
    if (auto it = consumers_.find(stream); it != consumers_.end()) {
      self->send_exit(it->second, caf::exit_reason::user_shutdown);
      consumers_.erase(it);
    }
  }
}

std::string transport_data::stats_json() const {
  if (!enabled_)
    return {};
  std::ostringstream os;
  const auto& c = counters_;
  os << ",\"sctpState\":\"" << (sctp_ ? net::to_string(sctp_->state()) : "new") << "\"";
  os << ",\"sctp\":{\"messagesReceived\":" << c.messages_in << ",\"bytesReceived\":" << c.bytes_in
     << ",\"messagesSent\":" << c.messages_out << ",\"bytesSent\":" << c.bytes_out
     << ",\"droppedNoRoute\":" << c.dropped_no_route
     << ",\"droppedBufferFull\":" << c.dropped_buffer_full
     << ",\"droppedOther\":" << c.dropped_other << ",\"dcepOpens\":" << c.dcep_opens
     << ",\"dataProducers\":" << producers_.size() << ",\"dataConsumers\":" << consumers_.size();
  if (sctp_) {
    const auto& s = sctp_->counters();
    os << ",\"packetsReceived\":" << s.packets_in << ",\"packetsSent\":" << s.packets_out
       << ",\"droppedTooLarge\":" << s.dropped_too_large << ",\"OS\":" << sctp_->outgoing_streams()
       << ",\"MIS\":" << sctp_->incoming_streams();
  }
  os << "}";
  return os.str();
}

} // namespace chorus::actors
