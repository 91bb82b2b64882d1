// GET /metrics: the node's counters as Prometheus metrics (app/metrics.hpp writes the text).
#include "app/node_report.hpp"

#include "app/metrics.hpp"
#include "net/media_io.hpp"
#include "net/send_outbox.hpp"
#include "rtp/srtp_gcm.hpp"
#include "protocol/messages.hpp"

#include <array>
#include <cstdio>
#include <variant>
#include <vector>

namespace chorus::app {

namespace {

// GET /metrics (Prometheus text format): what /healthz reports, as gauges and counters.

void histogram(std::vector<app::metric>& m, const char* name, const char* help,
               const actors::latency_histogram& h) {
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= h.bounds_ms.size(); ++i) {
    cumulative += h.buckets[i].load(std::memory_order_relaxed);
    char le[32];
    if (i < h.bounds_ms.size())
      std::snprintf(le, sizeof le, "%g", h.bounds_ms[i] / 1000.0);
    else
      std::snprintf(le, sizeof le, "+Inf");
    m.push_back({std::string{name} + "_bucket", help, "histogram",
                 std::string{"le=\""} + le + "\"", double(cumulative), name});
  }
  m.push_back({std::string{name} + "_sum", help, "histogram", "",
               double(h.sum_us.load(std::memory_order_relaxed)) / 1e6, name});
  // The count is the +Inf bucket's total, as the format requires: read from the buckets
  // (a separate counter read after them was one ahead when a request was observed between
  // the two reads: integration_hostile saw "+Inf bucket 43 != count 44").
  m.push_back({std::string{name} + "_count", help, "histogram", "", double(cumulative), name});
}

// Media totals, request counts and latencies, drain, webhooks, per-room gauges.
void operations_metrics(std::vector<app::metric>& m, const actors::node_context& ctx,
                        const app::webhook_counters* w) {
  auto& c = *ctx.counters;
  auto& t = c.media;
  auto v = [](const std::atomic<uint64_t>& a) { return double(a.load(std::memory_order_relaxed)); };
  m.push_back({"chorus_draining", "1 while the node drains (no new rooms or joins).", "gauge", "",
               c.draining.load() ? 1.0 : 0.0});
  m.push_back({"chorus_packets_in_total", "Datagrams received by transports (all kinds).",
               "counter", "", v(t.packets_in)});
  m.push_back({"chorus_bytes_in_total", "Bytes received by transports.", "counter", "",
               v(t.bytes_in)});
  m.push_back({"chorus_packets_out_total", "Datagrams sent by transports and their consumers.",
               "counter", "", v(t.packets_out)});
  m.push_back({"chorus_bytes_out_total", "Bytes sent by transports and their consumers.",
               "counter", "", v(t.bytes_out)});
  m.push_back({"chorus_rtp_packets_in_total", "RTP packets received (decrypted).", "counter", "",
               v(t.rtp_in)});
  m.push_back({"chorus_rtcp_packets_in_total", "RTCP datagrams received (decrypted).", "counter",
               "", v(t.rtcp_in)});
  m.push_back({"chorus_rtcp_packets_out_total", "RTCP datagrams sent.", "counter", "",
               v(t.rtcp_out)});
  const std::pair<const char*, const std::atomic<uint64_t>*> drops[] = {
    {"not_stun_dtls_rtp_rtcp", &t.dropped_unknown}, {"ice_not_selected", &t.dropped_not_selected},
    {"no_srtp_keys", &t.dropped_no_srtp},           {"dtls_early", &t.dropped_dtls_early},
    {"malformed", &t.dropped_rtp_malformed},        {"unknown_ssrc", &t.dropped_rtp_unknown_ssrc},
    {"injected", &t.dropped_injected},              {"srtp_auth", &t.srtp_auth_failures},
    {"srtp_replay", &t.srtp_replays},               {"srtp_other", &t.srtp_other_failures}};
  bool first = true;
  for (auto& [reason, a] : drops) {
    m.push_back({"chorus_rtp_dropped_total",
                 first ? "Received packets dropped by transports, by reason." : "", "counter",
                 std::string{"reason=\""} + reason + "\"", v(*a)});
    first = false;
  }
  m.push_back({"chorus_srtp_failures_total", "SRTP/SRTCP unprotect failures (auth, replay, other).",
               "counter", "", v(t.srtp_auth_failures) + v(t.srtp_replays) + v(t.srtp_other_failures)});
  m.push_back({"chorus_stun_failures_total", "STUN requests answered with an error.", "counter", "",
               v(t.stun_rejected)});
  m.push_back({"chorus_stun_errors_unanswered_total",
               "STUN requests with an error verdict left unanswered (over rtc.stunErrorRate).",
               "counter", "", v(t.stun_unanswered)});
  m.push_back({"chorus_dtls_failures_total", "DTLS handshakes failed, and malformed DTLS datagrams.",
               "counter", "reason=\"handshake\"", v(t.dtls_failures)});
  m.push_back({"chorus_dtls_failures_total", "", "counter", "reason=\"malformed\"",
               v(t.dtls_malformed)});
  m.push_back({"chorus_nacks_received_total", "RTCP NACK packets received from consumers' clients.",
               "counter", "", v(t.nacks_in)});
  m.push_back({"chorus_plis_received_total", "RTCP PLIs received.", "counter", "", v(t.plis_in)});
  m.push_back({"chorus_firs_received_total", "RTCP FIRs received.", "counter", "", v(t.firs_in)});
  m.push_back({"chorus_nacks_sent_total", "RTCP NACK packets sent to publishers.", "counter", "",
               v(t.nacks_out)});
  m.push_back({"chorus_keyframe_requests_sent_total", "PLIs and FIRs sent to publishers.",
               "counter", "", v(t.keyframe_requests_out)});
  m.push_back({"chorus_fanout_batches_total",
               "Producers' packet batches to their consumers, by path: through the consumer's "
               "direct lane (in the producer's turn) or as a message (a turn of the consumer's "
               "own).",
               "counter", "path=\"lane\"", v(t.fanout_lane_batches)});
  m.push_back({"chorus_fanout_batches_total", "", "counter", "path=\"message\"",
               v(t.fanout_message_batches)});
  m.push_back({"chorus_fanout_handoffs_total",
               "Producers' packet batches handed to a media I/O thread, one per thread and "
               "batch, for the consumers whose transports that thread receives for (their "
               "lanes are entered there: counted in chorus_fanout_batches_total).",
               "counter", "", v(t.fanout_handoffs)});
  m.push_back({"chorus_fanout_joined_batches_total",
               "Received batches a producer behind its mail held, to fan out in one go with "
               "the batches after them (alone when none came before the flush).",
               "counter", "", v(t.joined_batches)});
  m.push_back({"chorus_retransmissions_total", "RTP packets retransmitted to subscribers (NACKed).",
               "counter", "", v(t.retransmissions)});
  m.push_back({"chorus_rtcp_malformed_total", "Malformed RTCP packets.", "counter", "",
               v(t.rtcp_malformed)});
  m.push_back({"chorus_send_dropped_total", "Packets not sent, by reason.", "counter",
               "reason=\"not_ready\"", v(t.send_dropped_not_ready)});
  m.push_back({"chorus_send_dropped_total", "", "counter", "reason=\"protect_failed\"",
               v(t.send_protect_failed)});
  static_assert(protocol::request_labels.size() <= std::tuple_size_v<decltype(c.requests_by_type)>);
  for (std::size_t i = 0; i < protocol::request_labels.size(); ++i)
    m.push_back({"chorus_signaling_requests_by_type_total",
                 i == 0 ? "Signaling requests, by type." : "", "counter",
                 std::string{"type=\""} + std::string{protocol::request_labels[i]} + "\"",
                 v(c.requests_by_type[i])});
  histogram(m, "chorus_request_duration_seconds",
            "Signaling requests answered by the actors: receipt to reply.", c.request_latency);
  histogram(m, "chorus_join_duration_seconds", "Joins: request to the room's answer.", c.join_time);
  static const app::webhook_counters no_webhooks; // zeros while webhooks are off
  if (!w)
    w = &no_webhooks;
  {
    const std::pair<const char*, const std::atomic<uint64_t>*> results[] = {
      {"delivered", &w->delivered}, {"failed", &w->failed}, {"dropped", &w->dropped}};
    first = true;
    for (auto& [result, a] : results) {
      m.push_back({"chorus_webhook_deliveries_total",
                   first ? "Webhook deliveries (event x url), by result." : "", "counter",
                   std::string{"result=\""} + result + "\"", v(*a)});
      first = false;
    }
    m.push_back({"chorus_webhook_attempts_total", "Webhook POSTs tried.", "counter", "",
                 v(w->attempts)});
    m.push_back({"chorus_webhook_pending", "Webhook deliveries queued or in flight.", "gauge", "",
                 double(w->pending.load())});
  }
  if (ctx.room_metrics) {
    std::vector<std::pair<std::string, std::shared_ptr<const actors::room_gauges>>> rooms;
    {
      std::lock_guard<std::mutex> g{ctx.room_metrics->mutex};
      rooms.assign(ctx.room_metrics->rooms.begin(), ctx.room_metrics->rooms.end());
    }
    auto label = [](const std::string& id) {
      std::string out = "room=\"";
      for (char ch : id) {
        if (ch == '\\' || ch == '"')
          out += '\\';
        if (ch == '\n') {
          out += "\\n";
          continue;
        }
        out += ch;
      }
      return out + "\"";
    };
    for (std::size_t i = 0; i < rooms.size(); ++i)
      m.push_back({"chorus_room_peers", i == 0 ? "Participants per room (metrics.perRoom)." : "",
                   "gauge", label(rooms[i].first), double(rooms[i].second->peers.load())});
    for (std::size_t i = 0; i < rooms.size(); ++i)
      m.push_back({"chorus_room_producers", i == 0 ? "Producers per room (metrics.perRoom)." : "",
                   "gauge", label(rooms[i].first), double(rooms[i].second->producers.load())});
  }
}

} // namespace

std::string metrics_text(const actors::node_context& ctx, const net::http_server_counters& e,
                         const actors::recorder_counters* r, const app::webhook_counters* w) {
  auto& c = *ctx.counters;
  using app::metric;
  std::vector<metric> m{
    {"chorus_rooms", "Rooms homed on this node.", "gauge", "", double(c.rooms.load())},
    {"chorus_peers", "Participants in the rooms homed here.", "gauge", "", double(c.peers.load())},
    {"chorus_sessions", "Signaling connections (sessions).", "gauge", "", double(c.sessions.load())},
    {"chorus_transports", "WebRTC transports.", "gauge", "", double(c.transports.load())},
    {"chorus_producers", "Producers.", "gauge", "", double(c.producers.load())},
    {"chorus_consumers", "Consumers.", "gauge", "", double(c.consumers.load())},
    {"chorus_signaling_requests_total", "Signaling messages received.", "counter", "",
     double(c.requests.load())},
    {"chorus_signaling_errors_total", "Signaling messages answered with an error or dropped.",
     "counter", "", double(c.request_errors.load())},
    {"chorus_edge_connections", "Open HTTP and WebSocket connections.", "gauge", "",
     double(e.open_connections)},
    {"chorus_edge_connections_accepted_total", "Connections accepted.", "counter", "",
     double(e.connections_accepted)},
    {"chorus_edge_refused_total", "Connections and requests refused at the edge, by reason.",
     "counter", "reason=\"max_connections\"", double(e.connections_refused)},
    {"chorus_edge_refused_total", "", "counter", "reason=\"per_ip\"", double(e.refused_per_ip)},
    {"chorus_edge_refused_total", "", "counter", "reason=\"origin\"", double(e.refused_origin)},
    {"chorus_edge_refused_total", "", "counter", "reason=\"application\"",
     double(e.refused_by_application)},
    {"chorus_edge_slow_readers_dropped_total", "Connections dropped for not reading.", "counter",
     "", double(e.slow_readers_dropped)},
    {"chorus_edge_timeouts_total",
     "Connections closed by a timeout, by what was not finished in time.", "counter",
     "phase=\"http_request\"", double(e.timeouts_request)},
    {"chorus_edge_timeouts_total", "", "counter", "phase=\"http_idle\"",
     double(e.timeouts_http_idle)},
    {"chorus_edge_timeouts_total", "", "counter", "phase=\"ws_handshake\"",
     double(e.timeouts_ws_handshake)},
    {"chorus_edge_timeouts_total", "", "counter", "phase=\"ws_message\"",
     double(e.timeouts_ws_message)},
    {"chorus_edge_timeouts_total", "", "counter", "phase=\"ws_idle\"",
     double(e.timeouts_ws_idle)},
    {"chorus_data_producers", "Data producers (the rooms' own included).", "gauge", "",
     double(c.data_producers.load())},
    {"chorus_data_consumers", "Data consumers.", "gauge", "", double(c.data_consumers.load())},
    {"chorus_data_messages_in_total", "Messages data producers received.", "counter", "",
     double(c.data_messages_in.load())},
    {"chorus_relays", "Relays of producers on other nodes (cluster).", "gauge", "",
     double(c.relays.load())},
    {"chorus_relay_packets_in_total", "Packets relays received over node links.", "counter", "",
     double(c.relay_packets_in.load())},
    {"chorus_relay_packets_out_total", "Copies relays handed to local consumers.", "counter", "",
     double(c.relay_packets_out.load())},
  };
  for (std::size_t i = 0; i < protocol::error_code_count; ++i) {
    auto code = static_cast<protocol::error_code>(i);
    m.push_back({"chorus_signaling_errors_by_code_total",
                 i == 0 ? "Error replies and refusals, by error code." : "", "counter",
                 "code=\"" + std::string(protocol::to_string(code)) + "\"",
                 double(c.errors_by_code[i].load())});
  }
  if (ctx.media_io) {
    auto s = ctx.media_io->stats();
    m.push_back({"chorus_media_dropped_total", "Media packets dropped before any transport, by reason.",
                 "counter", "reason=\"unknown_source\"", double(s.unknown_source_dropped)});
    m.push_back({"chorus_media_dropped_total", "", "counter", "reason=\"truncated\"",
                 double(s.truncated_dropped)});
    m.push_back({"chorus_media_receive_errors_total", "Receive errors on the media sockets.",
                 "counter", "", double(s.receive_errors)});
    m.push_back({"chorus_media_burst_waits_total",
                 "Polls of a media socket for the rest of a frame sent at once, by outcome.",
                 "counter", "outcome=\"joined\"", double(s.burst_waits_joined)});
    m.push_back({"chorus_media_burst_waits_total", "", "counter", "outcome=\"none\"",
                 double(s.burst_waits - s.burst_waits_joined)});
    const std::pair<const char*, uint64_t> tcp[] = {
      {"accepted", s.tcp_connections_accepted}, {"refused", s.tcp_connections_refused},
      {"evicted", s.tcp_connections_evicted},   {"bind_timeout", s.tcp_bind_timeouts},
      {"bind_failure", s.tcp_bind_failures},    {"closed", s.tcp_connections_closed}};
    for (auto& [event, n] : tcp)
      m.push_back({"chorus_ice_tcp_connections_total",
                   event == tcp[0].first
                     ? "ICE-TCP media connections: accepted, refused (every place bound), "
                       "evicted (unbound, for a newer one), closed without a binding request "
                       "in time or with a wrong first frame, and closed in all."
                     : "",
                   "counter", std::string{"event=\""} + event + "\"", double(n)});
    const auto b = net::send_outbox::process_totals();
    m.push_back({"chorus_media_batched_datagrams_total",
                 "Datagrams sent through the threads' send outboxes (single-port mode, and "
                 "port mode where io_uring is available).",
                 "counter", "", double(b.datagrams)});
    m.push_back({"chorus_media_batched_send_calls_total",
                 "sendmmsg and io_uring_enter calls of the send outboxes (datagrams per call: "
                 "the ratio).",
                 "counter", "", double(b.flushes)});
    m.push_back({"chorus_media_ring_send_calls_total",
                 "Send outbox flushes of datagrams on several sockets (port mode) through one "
                 "io_uring submission.",
                 "counter", "", double(b.ring_flushes)});
    m.push_back({"chorus_media_segmented_messages_total",
                 "Send outbox messages of two or more datagrams to one receiver, cut into "
                 "datagrams by the kernel (UDP GSO).",
                 "counter", "", double(b.segmented_messages)});
    m.push_back({"chorus_media_segmented_datagrams_total",
                 "Datagrams sent in segmented messages (UDP GSO).", "counter", "",
                 double(b.segmented_datagrams)});
    m.push_back({"chorus_media_segment_fallbacks_total",
                 "Segmented messages the kernel refused, sent again datagram by datagram.",
                 "counter", "", double(b.segment_fallbacks)});
    m.push_back({"chorus_media_handed_over_total",
                 "Single port with several I/O threads: datagrams the kernel steered to another "
                 "thread than their transport's, handed to it.",
                 "counter", "", double(s.packets_handed_over)});
    m.push_back({"chorus_ice_tcp_connections_moved_total",
                 "Single port with several I/O threads: ICE-TCP connections moved to their "
                 "transport's thread when their first frame bound them.",
                 "counter", "", double(s.tcp_connections_moved)});
    // Each family's samples together (the exposition format wants them contiguous).
    const auto threads = ctx.media_io->thread_stats();
    const struct {
      const char* name;
      const char* help;
      const char* type;
      uint64_t net::media_io::thread_counters::*field;
    } per_thread[] = {
      {"chorus_media_io_packets_total",
       "Datagrams and ICE-TCP frames read, by media I/O thread.", "counter",
       &net::media_io::thread_counters::packets},
      {"chorus_media_io_wakeups_total", "Returns from the epoll wait, by media I/O thread.",
       "counter", &net::media_io::thread_counters::wakeups},
      {"chorus_media_io_transports",
       "Transports whose media a media I/O thread reads (their home).", "gauge",
       &net::media_io::thread_counters::endpoints},
    };
    for (const auto& f : per_thread)
      for (std::size_t i = 0; i < threads.size(); ++i)
        m.push_back({f.name, i == 0 ? f.help : "", f.type,
                     "thread=\"" + std::to_string(i) + "\"", double(threads[i].*f.field)});
    m.push_back({"chorus_media_batched_send_failures_total",
                 "Datagrams a send outbox could not send (socket buffer full, refused).",
                 "counter", "", double(b.failed)});
  }
  if (r) {
    m.push_back({"chorus_record_events_written_total", "Class record events written.", "counter",
                 "", double(r->events_written.load())});
    m.push_back({"chorus_record_events_pending", "Class record events waiting to be written.",
                 "gauge", "", double(r->events_pending.load())});
    m.push_back({"chorus_record_events_dropped_total", "Class record events dropped (store failing).",
                 "counter", "", double(r->events_dropped.load())});
    m.push_back({"chorus_record_batches_failed_total", "Class record batches that failed.",
                 "counter", "", double(r->batches_failed.load())});
  }
  operations_metrics(m, ctx, w);
  auto p = app::read_process_stats();
  m.push_back({"process_cpu_seconds_total", "User and system CPU time spent in seconds.",
               "counter", "", p.cpu_seconds});
  m.push_back({"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", "",
               double(p.resident_bytes)});
  m.push_back({"process_open_fds", "Open file descriptors.", "gauge", "", double(p.open_fds)});
  m.push_back({"process_max_fds", "Maximum number of open file descriptors.", "gauge", "",
               double(p.max_fds)});
  // Each name's HELP and TYPE come from its first sample.
  return app::prometheus_text(m);
}

} // namespace chorus::app
