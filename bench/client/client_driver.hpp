// One thread's client side: a signaling loop and a transport set run together in short
// slices, so that signaling replies, keep-alive pings, ICE consent checks and DTLS
// retransmissions all progress while the caller waits for something. Also the whole
// browser-like flow of opening a transport (open_webrtc_transport), bounded by a deadline.
#pragma once

#include "bench/client/signaling_client.hpp"
#include "bench/client/transport_set.hpp"
#include "bench/client/webrtc_client_transport.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace chorus::client {

class client_driver {
public:
  client_driver(signaling_loop& signaling, transport_set& transports, uint64_t slice_ms = 10)
      : signaling_(signaling), transports_(transports), slice_ms_(slice_ms) {}

  signaling_loop& signaling() noexcept { return signaling_; }
  transport_set& transports() noexcept { return transports_; }

  // Ready signaling handlers, then transport I/O waiting at most `max_wait_ms`.
  void step(uint64_t max_wait_ms);
  // Steps until done() or the steady clock reaches `deadline_ms`; returns done().
  bool run_until(const std::function<bool()>& done, uint64_t deadline_ms);
  void run_for(uint64_t duration_ms);
  // A signaling request whose reply is awaited while the transports keep running.
  result<signaling_message> request(signaling_client& client, std::string_view type,
                                    std::string_view data_json, uint64_t deadline_ms);

private:
  signaling_loop& signaling_;
  transport_set& transports_;
  uint64_t slice_ms_;
};

struct connect_hooks {
  // The socket is open, nothing has been sent on it yet.
  std::function<void(webrtc_client_transport&)> before_ice;
  // The first connectivity check has been sent.
  std::function<void(webrtc_client_transport&)> ice_started;
};

struct connect_result {
  // The transport, once created (also on a later failure, for its counters).
  std::unique_ptr<webrtc_client_transport> transport;
  std::string error; // empty on success
  std::string stage; // where it failed: create-transport, transport, ice, connect-transport, dtls
  uint64_t ice_ms = 0;  // from the first check to ICE connected
  uint64_t dtls_ms = 0; // from start_dtls() to connected
  bool ok() const noexcept { return error.empty(); }
};

struct connect_options {
  std::string direction = "send"; // create-transport's direction
  client_transport_options transport;
  uint64_t ice_timeout_ms = 5000; // bound on ICE alone (within the overall deadline)
};

// As a browser with mediasoup-client does it: create-transport -> open the socket to the
// server's candidate -> ICE (controlling, USE-CANDIDATE) -> connect-transport with our
// fingerprint and role client -> DTLS client handshake -> SRTP. Every step is bounded by
// `deadline_ms`. On success the transport is connected and a member of the driver's set;
// on failure it has been removed from the set.
connect_result open_webrtc_transport(client_driver& driver, signaling_client& signaling,
                                     std::shared_ptr<const net::dtls_context> dtls,
                                     const connect_options& options, uint64_t deadline_ms,
                                     const connect_hooks& hooks = {});

} // namespace chorus::client
