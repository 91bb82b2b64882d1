// The data half of a transport actor: its SCTP association (net::sctp_association) over
// the DTLS connection, and which data producer owns an incoming stream and which data
// consumer an outgoing one.
//
// The association starts when DTLS connects; SCTP packets travel as DTLS application
// data. A received message goes to the data producer of its stream (a message on a stream
// without one is dropped and counted); a data consumer's data_out is sent on its stream
// (dropped and counted when usrsctp's send buffer is full: a slow receiver). A stream the
// client resets ends the data producer or consumer on it; a data consumer that ends gets
// its stream reset, so the client's data channel closes. usrsctp's (global) timers are
// driven by one transport at a time (a 50 ms tick); the others stand by (a 1 s tick) and
// take over when the driver goes silent.
#pragma once

#include "actors/data_messages.hpp"
#include "net/sctp_association.hpp"

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

namespace chorus::actors {

struct transport_data_counters {
  uint64_t messages_in = 0, bytes_in = 0, messages_out = 0, bytes_out = 0;
  uint64_t dropped_no_route = 0;    // a message on a stream without a data producer
  uint64_t dropped_buffer_full = 0; // usrsctp's send buffer full (slow receiver)
  uint64_t dropped_other = 0;       // refused for another reason (not connected, too large)
  uint64_t dcep_opens = 0;          // DATA_CHANNEL_OPEN received (acked)
};

class transport_data {
public:
  // Sends one SCTP packet as DTLS application data.
  using packet_sink = std::function<void(std::span<const uint8_t>)>;

  transport_data() = default;
  transport_data(const transport_data&) = delete;
  transport_data& operator=(const transport_data&) = delete;
  ~transport_data();

  // Called once, at spawn, for a transport with data channels.
  void enable(net::sctp_options options, std::shared_ptr<data_send_shared> shared);
  bool enabled() const noexcept { return enabled_; }
  const net::sctp_options& options() const noexcept { return options_; }

  // DTLS connected: create the association and send INIT.
  void start(caf::event_based_actor* self, const packet_sink& sink);
  void on_packet(caf::event_based_actor* self, std::span<const uint8_t> packet,
                 const packet_sink& sink);
  void on_pending(caf::event_based_actor* self, const packet_sink& sink);
  void on_tick(caf::event_based_actor* self, const packet_sink& sink);
  void send(caf::event_based_actor* self, const data_out& out, const packet_sink& sink);

  // Routes; false when the stream is taken (or SCTP is off).
  bool add_producer(const data_producer_route& r);
  bool add_consumer(const data_consumer_route& r);
  // A monitored data producer or consumer ended.
  void remove(caf::event_based_actor* self, const caf::actor_addr& who, const packet_sink& sink);
  // The transport closes: SHUTDOWN (the DTLS close follows).
  void close(caf::event_based_actor* self, const packet_sink& sink);

  // ,"sctpState":...,"sctp":{...} (empty when SCTP is off)
  std::string stats_json() const;

private:
  void release_driver() noexcept; // stop driving usrsctp's timers, if this one did
  void apply(caf::event_based_actor* self, net::sctp_output&& out, const packet_sink& sink);

  bool enabled_ = false;
  bool ticking_ = false;
  net::sctp_options options_;
  std::shared_ptr<data_send_shared> shared_;
  std::unique_ptr<net::sctp_association> sctp_;
  std::unordered_map<uint16_t, caf::actor> producers_; // incoming stream -> data producer
  std::unordered_map<uint16_t, caf::actor> consumers_; // outgoing stream -> data consumer
  transport_data_counters counters_;
};

} // namespace chorus::actors
