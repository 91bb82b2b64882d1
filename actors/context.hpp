// Node-wide settings and counters shared by the actors of one process. Passed to actors
// when they are spawned (never inside messages).
#pragma once

#include "actors/settings.hpp"
#include "common/metric_field.hpp"
#include "protocol/errors.hpp"
#include "protocol/permissions.hpp"
#include "rtp/rtp_parameters.hpp"

#include <caf/actor.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <memory>
#include <string>

namespace chorus::net {
class media_io;
class dtls_context;
} // namespace chorus::net
namespace chorus::protocol {
class jwt_verifier;
}
namespace chorus::actors {
class meeting_book;
class event_sink; // actors/events.hpp
}

namespace chorus::actors {

// auth.*: who may connect and what they may do (docs/operations.md, "Tokens and roles").
struct auth_settings {
  // mode jwt: every connection carries a token this verifier accepts; mode none: none.
  std::shared_ptr<const protocol::jwt_verifier> verifier;
  protocol::role_table roles = protocol::role_table::defaults();
  // Mode none: the role of a participant that chose none; empty: every permission.
  std::string default_role;

  bool tokens() const noexcept { return verifier != nullptr; }
};

// Media totals of the node (GET /metrics: media_totals_metrics). Not touched per packet:
// each transport keeps plain counters and adds what changed since its last flush here
// (relaxed) on its timers and when it closes, so these lag by at most a tick.
struct media_totals {
  std::atomic<uint64_t> packets_in{0}, bytes_in{0}, packets_out{0}, bytes_out{0};
  std::atomic<uint64_t> rtp_in{0}, rtcp_in{0}, stun_in{0}, dtls_in{0};
  // RTP and other datagrams dropped, by reason (chorus_rtp_dropped_total{reason})
  std::atomic<uint64_t> dropped_unknown{0}, dropped_not_selected{0}, dropped_no_srtp{0},
    dropped_dtls_early{0}, dropped_rtp_malformed{0}, dropped_rtp_unknown_ssrc{0},
    dropped_injected{0};
  std::atomic<uint64_t> srtp_auth_failures{0}, srtp_replays{0}, srtp_other_failures{0};
  std::atomic<uint64_t> stun_rejected{0}, dtls_malformed{0}, dtls_failures{0};
  std::atomic<uint64_t> stun_unanswered{0}; // error verdicts over rtc.stunErrorRate
  std::atomic<uint64_t> nacks_in{0}, plis_in{0}, firs_in{0}, rtcp_malformed{0};
  // Sending: not ready (no keys or tuple yet) and SRTP protect failures
  std::atomic<uint64_t> send_dropped_not_ready{0}, send_protect_failed{0}, rtcp_out{0};
  // Consumers' retransmissions and producers' NACKs / keyframe requests sent
  std::atomic<uint64_t> retransmissions{0}, nacks_out{0}, keyframe_requests_out{0};
  // Producers' batches to their consumers: through a consumer's direct lane, or as a message
  std::atomic<uint64_t> fanout_lane_batches{0}, fanout_message_batches{0};
  // Producers' batches handed to a media I/O thread for the consumers homed there (one per
  // thread and batch: actors/thread_fanout.hpp)
  std::atomic<uint64_t> fanout_handoffs{0};
  // Received batches a producer behind its mail held, to fan out with the ones after them
  std::atomic<uint64_t> joined_batches{0};
};

// media_totals in GET /metrics (common/metric_field.hpp); chorus_srtp_failures_total, the
// sum of the three SRTP reasons, is worked out where they are rendered.
using media_metric = metric_field<media_totals, std::atomic<uint64_t>>;
inline constexpr media_metric media_totals_metrics[] = {
  {"chorus_packets_in_total", "Datagrams received by transports (all kinds).",
   metric_type::counter, "", &media_totals::packets_in},
  {"chorus_bytes_in_total", "Bytes received by transports.", metric_type::counter, "",
   &media_totals::bytes_in},
  {"chorus_packets_out_total", "Datagrams sent by transports and their consumers.",
   metric_type::counter, "", &media_totals::packets_out},
  {"chorus_bytes_out_total", "Bytes sent by transports and their consumers.",
   metric_type::counter, "", &media_totals::bytes_out},
  {"chorus_rtp_packets_in_total", "RTP packets received (decrypted).", metric_type::counter, "",
   &media_totals::rtp_in},
  {"chorus_rtcp_packets_in_total", "RTCP datagrams received (decrypted).", metric_type::counter,
   "", &media_totals::rtcp_in},
  {"chorus_rtcp_packets_out_total", "RTCP datagrams sent.", metric_type::counter, "",
   &media_totals::rtcp_out},
  {"chorus_rtp_dropped_total", "Received packets dropped by transports, by reason.",
   metric_type::counter, "reason=\"not_stun_dtls_rtp_rtcp\"", &media_totals::dropped_unknown},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"ice_not_selected\"",
   &media_totals::dropped_not_selected},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"no_srtp_keys\"",
   &media_totals::dropped_no_srtp},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"dtls_early\"",
   &media_totals::dropped_dtls_early},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"malformed\"",
   &media_totals::dropped_rtp_malformed},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"unknown_ssrc\"",
   &media_totals::dropped_rtp_unknown_ssrc},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"injected\"",
   &media_totals::dropped_injected},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"srtp_auth\"",
   &media_totals::srtp_auth_failures},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"srtp_replay\"",
   &media_totals::srtp_replays},
  {"chorus_rtp_dropped_total", "", metric_type::counter, "reason=\"srtp_other\"",
   &media_totals::srtp_other_failures},
  {"chorus_stun_failures_total", "STUN requests answered with an error.", metric_type::counter,
   "", &media_totals::stun_rejected},
  {"chorus_stun_errors_unanswered_total",
   "STUN requests with an error verdict left unanswered (over rtc.stunErrorRate).",
   metric_type::counter, "", &media_totals::stun_unanswered},
  {"chorus_dtls_failures_total", "DTLS handshakes failed, and malformed DTLS datagrams.",
   metric_type::counter, "reason=\"handshake\"", &media_totals::dtls_failures},
  {"chorus_dtls_failures_total", "", metric_type::counter, "reason=\"malformed\"",
   &media_totals::dtls_malformed},
  {"chorus_nacks_received_total", "RTCP NACK packets received from consumers' clients.",
   metric_type::counter, "", &media_totals::nacks_in},
  {"chorus_plis_received_total", "RTCP PLIs received.", metric_type::counter, "",
   &media_totals::plis_in},
  {"chorus_firs_received_total", "RTCP FIRs received.", metric_type::counter, "",
   &media_totals::firs_in},
  {"chorus_nacks_sent_total", "RTCP NACK packets sent to publishers.", metric_type::counter, "",
   &media_totals::nacks_out},
  {"chorus_keyframe_requests_sent_total", "PLIs and FIRs sent to publishers.",
   metric_type::counter, "", &media_totals::keyframe_requests_out},
  {"chorus_fanout_batches_total",
   "Producers' packet batches to their consumers, by path: through the consumer's direct lane "
   "(in the producer's turn) or as a message (a turn of the consumer's own).",
   metric_type::counter, "path=\"lane\"", &media_totals::fanout_lane_batches},
  {"chorus_fanout_batches_total", "", metric_type::counter, "path=\"message\"",
   &media_totals::fanout_message_batches},
  {"chorus_fanout_handoffs_total",
   "Producers' packet batches handed to a media I/O thread, one per thread and batch, for the "
   "consumers whose transports that thread receives for (their lanes are entered there: "
   "counted in chorus_fanout_batches_total).",
   metric_type::counter, "", &media_totals::fanout_handoffs},
  {"chorus_fanout_joined_batches_total",
   "Received batches a producer behind its mail held, to fan out in one go with the batches "
   "after them (alone when none came before the flush).",
   metric_type::counter, "", &media_totals::joined_batches},
  {"chorus_retransmissions_total", "RTP packets retransmitted to subscribers (NACKed).",
   metric_type::counter, "", &media_totals::retransmissions},
  {"chorus_rtcp_malformed_total", "Malformed RTCP packets.", metric_type::counter, "",
   &media_totals::rtcp_malformed},
  {"chorus_send_dropped_total", "Packets not sent, by reason.", metric_type::counter,
   "reason=\"not_ready\"", &media_totals::send_dropped_not_ready},
  {"chorus_send_dropped_total", "", metric_type::counter, "reason=\"protect_failed\"",
   &media_totals::send_protect_failed},
};

// A fixed-bucket histogram updated without locks (relaxed atomics); le in milliseconds.
struct latency_histogram {
  static constexpr std::array<double, 12> bounds_ms{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
  // The last: +Inf. Its running total is the count (the metrics read it from the buckets,
  // so that a count and its buckets are always one reading).
  std::array<std::atomic<uint64_t>, bounds_ms.size() + 1> buckets{};
  std::atomic<uint64_t> sum_us{0};

  void observe_us(uint64_t us) noexcept {
    std::size_t i = 0;
    while (i < bounds_ms.size() && double(us) > bounds_ms[i] * 1000.0)
      ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    sum_us.fetch_add(us, std::memory_order_relaxed);
  }
};

// Read by /healthz from the I/O thread; written by actors.
struct node_counters {
  media_totals media;
  // Signaling requests by type (protocol::request_kind_count, see metrics) and their
  // latency from receipt to the reply; joins from request to join_result.
  std::array<std::atomic<uint64_t>, 32> requests_by_type{};
  latency_histogram request_latency;
  latency_histogram join_time;
  std::atomic<int64_t> rooms{0};
  std::atomic<int64_t> peers{0};
  std::atomic<int64_t> sessions{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> request_errors{0};
  // Error replies and refusals by protocol::error_code (GET /metrics).
  std::array<std::atomic<uint64_t>, protocol::error_code_count> errors_by_code{};
  std::atomic<int64_t> transports{0};
  std::atomic<int64_t> producers{0};
  std::atomic<int64_t> consumers{0};
  // Data channels: data producers (the rooms' own included) and data consumers alive, and
  // the messages data producers received.
  std::atomic<int64_t> data_producers{0};
  std::atomic<int64_t> data_consumers{0};
  std::atomic<uint64_t> data_messages_in{0};
  // Cluster: relays of remote producers on this node, the packets they received over node
  // links and the copies they handed to local consumers.
  std::atomic<int64_t> relays{0};
  std::atomic<uint64_t> relay_packets_in{0};
  std::atomic<uint64_t> relay_packets_out{0};
  // Cluster: the rooms' messages for sessions on this node that came from a room elsewhere
  // (one per message and node, actors/room_delivery.cpp) and the sessions they reached.
  std::atomic<uint64_t> session_fanouts_in{0};
  std::atomic<uint64_t> session_fanout_deliveries{0};
  // Cluster: the other live nodes (0: alone), which a room's live class is replicated to
  // (actors/room_rehome.cpp), and the class replies a room answered without a replica's
  // acknowledgement (none within replica_ack_limit).
  std::atomic<int64_t> other_nodes{0};
  // Cluster: the copies of rooms homed elsewhere this node holds (re-homing); a copy whose
  // home is gone and that no rebuild took is dropped after copy_grace (actors/node.cpp).
  std::atomic<int64_t> room_copies{0};
  std::atomic<uint64_t> class_replies_unreplicated{0};
  // Cluster: requests a session sent again to its room's new home because the old one
  // (moved or lost) never answered them, and the live-class requests a room found already applied (their
  // answers lost with the former home) and answered without applying them twice.
  std::atomic<uint64_t> requests_resent{0};
  std::atomic<uint64_t> class_requests_repeated{0};
  // Cluster: batches of live-class requests this node sent to rooms homed elsewhere, and
  // the requests they carried (class_upstream).
  std::atomic<uint64_t> class_batches_out{0};
  std::atomic<uint64_t> class_batched_requests{0};
  // Batches of joins this node sent to rooms homed on other nodes, and the joins they
  // carried (join_batch).
  std::atomic<uint64_t> join_batches_out{0};
  std::atomic<uint64_t> join_batched_requests{0};
  // WHIP and WHEP (actors/whip.hpp): live resources, and POSTs refused (any 4xx or 5xx
  // answer).
  std::atomic<int64_t> whip_resources{0};
  std::atomic<uint64_t> whip_refused{0};
  std::atomic<int64_t> whep_resources{0};
  std::atomic<uint64_t> whep_refused{0};
  // RTMP ingest (actors/rtmp_ingest.hpp): publishers taken in now, and connections refused
  // or broken before or during a publish (a bad token or stream, a broken RTMP session).
  std::atomic<int64_t> rtmp_ingests{0};
  std::atomic<uint64_t> rtmp_refused{0};
  // Live streams (actors/live_streamer.hpp): running now, their composers' exits not asked
  // for, and the composers' CPU time.
  std::atomic<int64_t> live_streams{0};
  std::atomic<uint64_t> live_failures{0};
  std::atomic<uint64_t> live_cpu_ms{0};
  // Set when the node starts draining (SIGTERM, POST /drain): /healthz says draining.
  std::atomic<bool> draining{false};
  // Set when the node stops (connections are being closed): departures are room-closed.
  std::atomic<bool> stopping{false};
};

// node_counters in GET /metrics (common/metric_field.hpp); the requests by type and by error
// code, the latencies and draining are rendered with their own labels.
inline constexpr metric_field<node_counters, std::atomic<int64_t>> node_gauges_metrics[] = {
  {"chorus_rooms", "Rooms homed on this node.", metric_type::gauge, "", &node_counters::rooms},
  {"chorus_peers", "Participants in the rooms homed here.", metric_type::gauge, "",
   &node_counters::peers},
  {"chorus_sessions", "Signaling connections (sessions).", metric_type::gauge, "",
   &node_counters::sessions},
  {"chorus_transports", "Transports (WebRTC and plain).", metric_type::gauge, "",
   &node_counters::transports},
  {"chorus_producers", "Producers.", metric_type::gauge, "", &node_counters::producers},
  {"chorus_consumers", "Consumers.", metric_type::gauge, "", &node_counters::consumers},
  {"chorus_data_producers", "Data producers (the rooms' own included).", metric_type::gauge, "",
   &node_counters::data_producers},
  {"chorus_data_consumers", "Data consumers.", metric_type::gauge, "",
   &node_counters::data_consumers},
  {"chorus_relays", "Relays of producers on other nodes (cluster).", metric_type::gauge, "",
   &node_counters::relays},
  {"chorus_room_copies", "Copies of rooms homed on other nodes held here (cluster).",
   metric_type::gauge, "", &node_counters::room_copies},
  {"chorus_whip_resources", "WHIP publishers (resources) alive on this node.", metric_type::gauge,
   "", &node_counters::whip_resources},
  {"chorus_whep_resources", "WHEP players (resources) alive on this node.", metric_type::gauge,
   "", &node_counters::whep_resources},
  {"chorus_rtmp_ingests", "RTMP publishers taken into rooms on this node.", metric_type::gauge,
   "", &node_counters::rtmp_ingests},
  {"chorus_live_streams", "Live streams (RTMP or HLS) of rooms homed on this node.",
   metric_type::gauge, "", &node_counters::live_streams},
};

inline constexpr metric_field<node_counters, std::atomic<uint64_t>> node_totals_metrics[] = {
  {"chorus_signaling_requests_total", "Signaling messages received.", metric_type::counter, "",
   &node_counters::requests},
  {"chorus_signaling_errors_total", "Signaling messages answered with an error or dropped.",
   metric_type::counter, "", &node_counters::request_errors},
  {"chorus_data_messages_in_total", "Messages data producers received.", metric_type::counter,
   "", &node_counters::data_messages_in},
  {"chorus_relay_packets_in_total", "Packets relays received over node links.",
   metric_type::counter, "", &node_counters::relay_packets_in},
  {"chorus_relay_packets_out_total", "Copies relays handed to local consumers.",
   metric_type::counter, "", &node_counters::relay_packets_out},
  {"chorus_session_fanouts_total",
   "Messages of rooms homed on other nodes for sessions here (one per message and node).",
   metric_type::counter, "", &node_counters::session_fanouts_in},
  {"chorus_session_fanout_deliveries_total",
   "Sessions here that those messages reached.", metric_type::counter, "",
   &node_counters::session_fanout_deliveries},
  {"chorus_class_batches_total",
   "Batches of live-class requests (chat, hands, votes) sent to rooms homed on other nodes.",
   metric_type::counter, "", &node_counters::class_batches_out},
  {"chorus_class_batched_requests_total", "The live-class requests those batches carried.",
   metric_type::counter, "", &node_counters::class_batched_requests},
  {"chorus_class_replies_unreplicated_total",
   "Live-class replies sent without the room's replica acknowledging the change in time.",
   metric_type::counter, "", &node_counters::class_replies_unreplicated},
  {"chorus_requests_resent_total",
   "Requests sent again to a room's new home because its old home (moved or lost) never answered them.",
   metric_type::counter, "", &node_counters::requests_resent},
  {"chorus_class_requests_repeated_total",
   "Live-class requests sent again that the room had applied already: answered, not applied twice.",
   metric_type::counter, "", &node_counters::class_requests_repeated},
  {"chorus_join_batches_total",
   "Batches of joins this node sent to rooms homed on other nodes.",
   metric_type::counter, "", &node_counters::join_batches_out},
  {"chorus_join_batched_requests_total", "The joins those batches carried.",
   metric_type::counter, "", &node_counters::join_batched_requests},
  {"chorus_whip_refused_total", "WHIP offers answered with an error (4xx or 5xx).",
   metric_type::counter, "", &node_counters::whip_refused},
  {"chorus_whep_refused_total", "WHEP offers answered with an error (4xx or 5xx).",
   metric_type::counter, "", &node_counters::whep_refused},
  {"chorus_rtmp_refused_total",
   "RTMP connections refused or ended by an error (token, stream, RTMP session, ffmpeg).",
   metric_type::counter, "", &node_counters::rtmp_refused},
  {"chorus_live_stream_failures_total",
   "Live streams' composers (ffmpeg) that exited without being asked (each is restarted).",
   metric_type::counter, "", &node_counters::live_failures},
  {"chorus_live_stream_cpu_milliseconds_total",
   "CPU time of the live streams' composers (ffmpeg), user and system.",
   metric_type::counter, "", &node_counters::live_cpu_ms},
};

// metrics.perRoom: each room's gauges, kept current by the room (atomics) and listed here
// by the node while it counts the room (local_room, forget_room); the registry's mutex is
// taken when a room opens or closes and by GET /metrics, never on the media path.
struct room_gauges {
  std::atomic<int64_t> peers{0};
  std::atomic<int64_t> producers{0};
};
struct room_registry {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<const room_gauges>> rooms;
};

struct node_context {
  // The configuration's sections, as the options set them (actors/settings.hpp).
  signaling_settings signaling;
  limits_settings limits;
  classroom_settings classroom;
  rtc_settings rtc;
  sctp_settings sctp;
  recording_settings recording;
  live_settings live;
  rtmp_settings rtmp;
  turn_settings turn;
  node_settings settings; // worked out at start; the limits no option sets
  auth_settings auth;
  // Meetings of the HTTP API (actors/meetings.hpp): a room's host is its meeting's creator.
  std::shared_ptr<meeting_book> meetings;
  std::shared_ptr<net::media_io> media_io;                // media sockets
  // The signaling port, set once the edge listens, when it takes ICE-TCP
  // (rtc.tcpOnSignalingPort): every transport then has a passive candidate on it too.
  std::shared_ptr<std::atomic<uint16_t>> signaling_tcp_port =
    std::make_shared<std::atomic<uint16_t>>(0);
  std::shared_ptr<const net::dtls_context> dtls_context;  // the node's certificate
  rtp::rtp_capabilities router_capabilities;
  std::string router_capabilities_json; // rendered once at start
  std::shared_ptr<node_counters> counters = std::make_shared<node_counters>();
  // The class record's writer (actors/recorder.hpp): send it store::record_event. Null when
  // storage is off (storage.path empty); record() in recorder.hpp checks that.
  caf::actor recorder;
  // The node's ticker (actors/ticker.hpp): periodic work of many actors on one timer. Null
  // (unit tests): each actor keeps its own timer.
  caf::actor ticker;
  // Room and participant events for webhooks (actors/events.hpp); null: none.
  std::shared_ptr<event_sink> events;
  // metrics.perRoom: null when off.
  std::shared_ptr<room_registry> room_metrics;
};

using node_context_ptr = std::shared_ptr<const node_context>;

} // namespace chorus::actors
