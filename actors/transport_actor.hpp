// The WebRTC transport actor's state, and its handlers by concept, each in its own file:
//   transport.cpp        the behaviour (transport_impl: what each message does), connect,
//                        timers, the bandwidth plan's application, close, spawn and its lane
//   transport_wire.cpp   what comes and goes on its socket: ICE, DTLS, SRTP, RTCP out, and
//                        each received batch (RTP and RTCP: transport_media.cpp; SCTP:
//                        transport_data.cpp)
//   transport_stats.cpp  its stats
// Its media half, shared with the plain transport, is actors/media_transport.hpp.
#pragma once

#include "actors/clock.hpp"
#include "actors/fault.hpp"
#include "actors/lane.hpp"
#include "actors/media_transport.hpp"
#include "actors/media_tuning.hpp"
#include "actors/messages.hpp"
#include "actors/process_load.hpp"
#include "actors/rtp_sender.hpp"
#include "actors/ticker.hpp"
#include "actors/transport.hpp"
#include "actors/transport_data.hpp"
#include "actors/transport_media.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/demux.hpp"
#include "net/dtls_engine.hpp"
#include "net/ice_server.hpp"
#include "net/media_io.hpp"
#include "rtp/bandwidth_plan.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/srtp_session.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

namespace chorus::actors::transports {

using protocol::error_code;

inline constexpr const char* component = "transport";


// The media I/O thread delivers to whatever actor this names (set once it is spawned).
struct sink_target {
  std::mutex mutex;
  caf::actor_addr addr;
  caf::abstract_actor* lane = nullptr; // the same actor, for enter_transport_lane
};

struct transport_state : media_transport_state {
  uint64_t io_lane_batches = 0; // receive batches the media I/O thread handled itself
  protocol::transport_direction direction = protocol::transport_direction::unspecified;
  caf::actor_addr peer;
  std::shared_ptr<net::media_endpoint> endpoint;
  std::unique_ptr<net::ice_server> ice;
  std::string ice_password;
  std::optional<net::dtls_engine> dtls;
  net::dtls_role dtls_role = net::dtls_role::auto_;
  bool connect_requested = false;
  std::vector<std::pair<net::ice_tuple, std::vector<uint8_t>>> early_dtls;
  std::optional<rtp::srtp_session> srtp_in;
  std::optional<rtp_sender> sender;    // ours (RTCP); consumers have their own
  uint64_t tick_at = 0; // when the pending timer fires (0: none pending)
  bool closed = false;
  transport_data data; // SCTP (data channels), when the transport was created with it
  bool media_ticking = false;
  bool media_tick_started = false; // once: the ticker's subscription stays
  std::vector<std::vector<uint8_t>> feedback;        // reused
  // The bandwidth plan over this transport's consumers (rtp/bandwidth_plan.hpp): each
  // consumer's demand and layers, and beside it (same index) the consumer to tell.
  std::vector<rtp::plan_consumer> alloc;
  std::vector<caf::actor> alloc_consumers;
  rtp::bandwidth_plan plan;
  uint64_t alloc_budget = 0;                   // the estimate of the last allocation
  uint64_t alloc_desired = 0;                  // what the consumers wanted then
  uint64_t forwarded_bps = 0;                  // what their layers cost then, at peak
  uint64_t probe_bytes_out = 0;                // probe padding asked for, in bytes
  bool egress_draining = false;                // the egress cap's timer runs
  static inline const char* name = "chorus.transport";

  ~transport_state() { // (the media half then adds its last totals)
    if (endpoint)
      endpoint->close();
  }
};

using transport_actor = laned_actor<transport_state>;

using egress_tick_atom = caf::atom_constant<caf::atom("egresstk")>;

// ---- transport.cpp -------------------------------------------------------------------------
uint64_t now_ms();
void schedule_timer(transport_actor* self);
// The transport is of no further use: tell the peer and end.
void close_transport(transport_actor* self, const std::string& why);
// Runs the bandwidth plan (rtp/bandwidth_plan.hpp) and carries out what it decides: the
// pacing rate, layer_allocation to each consumer whose layers changed, and a probe, sent as
// padding by a video consumer with RTX, when the consumers want more than the estimate.
void reallocate(transport_actor* self);

// ---- transport_wire.cpp --------------------------------------------------------------------
transport_data::packet_sink sctp_sink(transport_actor* self);
// Sends DTLS output to the selected tuple; applies state changes; hands application data
// (SCTP packets) to the data half.
void apply_dtls(transport_actor* self, net::dtls_output&& out);
// Once ICE has a selected tuple and connect-transport arrived, DTLS can run.
void maybe_start_dtls(transport_actor* self);
void apply_ice_events(transport_actor* self, const std::vector<net::ice_event>& events);
// Protects one RTCP packet and sends it to the selected tuple.
// Counted in send_shared::rtcp_sent.
void send_rtcp(transport_actor* self, std::span<const uint8_t> bytes);
void send_feedback(transport_actor* self);
void handle_batch(transport_actor* self, net::packet_batch& batch);

// ---- transport_stats.cpp -------------------------------------------------------------------
std::string stats_json(transport_actor* self);

} // namespace chorus::actors::transports
