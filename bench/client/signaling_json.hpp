// The few signaling objects the client side reads and writes, as JSON text:
// transport-params in (mediasoup's shapes, docs/protocol.md), connect-transport out.
#pragma once

#include "common/result.hpp"
#include "net/dtls_parameters.hpp"
#include "protocol/messages.hpp"

#include <string>
#include <string_view>

namespace chorus::client {

// `data` of a `transport-params` reply ({ id, iceParameters, iceCandidates, dtlsParameters }),
// or of seed 004's `create-webrtc-transport` reply ({ params: {...} }).
result<protocol::transport_params> parse_transport_params(std::string_view data_json);

// `data` of connect-transport: { transportId, dtlsParameters }.
std::string connect_transport_data(std::string_view transport_id,
                                   const net::dtls_parameters& local);

// `{"transportId":"..."}`, for get-transport-stats and restart-ice.
std::string transport_id_data(std::string_view transport_id);

} // namespace chorus::client
