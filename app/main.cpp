// chorus: the server binary. Reads configuration, starts the actor system and the
// signaling edge, and shuts both down cleanly on SIGINT / SIGTERM.
#include "actors/clock.hpp"
#include "actors/cluster.hpp"
#include "actors/gateway.hpp"
#include "actors/meetings.hpp"
#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "actors/scheduler.hpp"
#include "actors/operations.hpp"
#include "actors/process_load.hpp"
#include "actors/recorder.hpp"
#include "actors/ticker.hpp"
#include "actors/rehome_messages.hpp"
#include "app/admin_api.hpp"
#include "app/config.hpp"
#include "app/options.hpp"
#include "app/webhooks.hpp"
#include "app/metrics.hpp"
#include "app/token_command.hpp"
#include "app/web_assets.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "net/cluster.hpp"
#include "net/dtls_certificate.hpp"
#include "net/dtls_engine.hpp"
#include "net/http_admission.hpp"
#include "net/http_server.hpp"
#include "protocol/meetings.hpp"
#include "net/media_io.hpp"
#include "net/send_outbox.hpp"
#include "protocol/dialect.hpp"
#include "protocol/rtp_json.hpp"
#include "rtp/srtp_gcm.hpp"
#include "store/record_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <ctime>
#include <mutex>
#include <optional>
#include <variant>
#include <string_view>
#include <thread>
#include <unistd.h>

using namespace chorus;

namespace {

constexpr auto shutdown_grace = std::chrono::milliseconds(1000);
constexpr auto shutdown_deadline = std::chrono::milliseconds(1800);
// SIGTERM in a cluster: how long each step of handing the rooms over may take.
constexpr auto hand_over_timeout = std::chrono::seconds(4);

// Counters of the shared media sockets: what was dropped before reaching any transport.
std::string media_json(const actors::node_context& ctx) {
  if (!ctx.media_io)
    return {};
  auto m = ctx.media_io->stats();
  auto field = [](const char* name, uint64_t v) {
    return std::string{"\""} + name + "\":" + std::to_string(v);
  };
  return ",\"media\":{" + field("unknownSourceDropped", m.unknown_source_dropped) + "," +
         field("truncatedDropped", m.truncated_dropped) + "," +
         field("tuplesBound", m.tuples_bound) + "," + field("tuplesEvicted", m.tuples_evicted) +
         "," + field("tcpConnectionsAccepted", m.tcp_connections_accepted) + "," +
         field("tcpConnectionsRefused", m.tcp_connections_refused) + "," +
         field("tcpConnectionsEvicted", m.tcp_connections_evicted) + "," +
         field("tcpBindTimeouts", m.tcp_bind_timeouts) + "," +
         field("tcpBindFailures", m.tcp_bind_failures) + "," +
         field("tcpConnectionsClosed", m.tcp_connections_closed) + "," +
         field("receiveErrors", m.receive_errors) + "," +
         field("burstWaits", m.burst_waits) + "," +
         field("burstWaitsJoined", m.burst_waits_joined) + "," +
         field("endpointsOpen", m.endpoints_open) + "}";
}

// The cluster's secret: cluster.secret, else the first line of cluster.secretFile.
std::optional<std::string> cluster_secret(const app::cluster_config& c) {
  if (!c.secret.empty())
    return c.secret;
  std::ifstream in{c.secret_file};
  std::string line;
  if (!in || !std::getline(in, line))
    return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

// The signaling edge's connections and refusals.
std::string edge_json(const net::http_server_counters& e) {
  auto field = [](const char* name, uint64_t v) {
    return std::string{"\""} + name + "\":" + std::to_string(v);
  };
  return ",\"edge\":{" + field("openConnections", e.open_connections) + "," +
         field("connectionsAccepted", e.connections_accepted) + "," +
         field("connectionsRefused", e.connections_refused) + "," +
         field("refusedPerIp", e.refused_per_ip) + "," +
         field("refusedOrigin", e.refused_origin) + "," +
         field("refusedByApplication", e.refused_by_application) + "," +
         field("slowReadersDropped", e.slow_readers_dropped) + "," +
         field("timeoutsRequest", e.timeouts_request) + "," +
         field("timeoutsHttpIdle", e.timeouts_http_idle) + "," +
         field("timeoutsWsHandshake", e.timeouts_ws_handshake) + "," +
         field("timeoutsWsMessage", e.timeouts_ws_message) + "," +
         field("timeoutsWsIdle", e.timeouts_ws_idle) + "}";
}

const std::string* header_of(const net::http_request_info& req, std::string_view name) {
  for (auto& [k, v] : req.headers)
    if (k == name)
      return &v;
  return nullptr;
}

// The seed 004 frontend's meetings API: POST /api/meetings, GET /api/meetings/ID, and their
// CORS preflights, for the pages signaling.allowedOrigins allows (the frontend is served
// from another origin than Chorus). nullopt: not such a request.
std::optional<net::http_response> meetings_api(const net::http_request_info& req,
                                               actors::meeting_book& book,
                                               const std::vector<std::string>& allowed,
                                               const caf::actor& recorder) {
  constexpr std::string_view base = "/api/meetings";
  std::string_view path = req.path;
  if (path.substr(0, base.size()) != base ||
      (path.size() > base.size() && path[base.size()] != '/'))
    return std::nullopt;
  std::string id;
  if (path.size() > base.size() + 1 && !net::url_decode(path.substr(base.size() + 1), id))
    return net::http_response{400, "application/json",
                              protocol::meeting_error_json("the meeting id is not percent-encoded"),
                              {}};
  const auto* origin = header_of(req, "origin");
  const auto* host = header_of(req, "host");
  auto verdict =
    net::check_origin(origin ? std::optional<std::string_view>{*origin} : std::nullopt,
                      host ? std::optional<std::string_view>{*host} : std::nullopt, allowed);
  if (!net::origin_allowed(verdict))
    return net::http_response{403, "application/json",
                              protocol::meeting_error_json("origin not allowed"), {}};
  std::vector<std::pair<std::string, std::string>> cors;
  if (origin) {
    cors.emplace_back("Access-Control-Allow-Origin", *origin);
    cors.emplace_back("Vary", "Origin");
  }
  auto answer = [&](unsigned status, std::string body) {
    return net::http_response{status, "application/json", std::move(body), cors};
  };
  if (req.method == "OPTIONS") {
    auto r = answer(204, "");
    r.content_type = "text/plain";
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    const auto* asked = header_of(req, "access-control-request-headers");
    r.headers.emplace_back("Access-Control-Allow-Headers", asked ? *asked : "content-type");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
    return r;
  }
  if (id.empty() && req.method == "POST") {
    std::string error;
    auto m = protocol::parse_meeting_request(req.body, error);
    if (!m)
      return answer(400, protocol::meeting_error_json(error));
    m->created_at = actors::wall_ms();
    switch (book.add(*m)) {
      case actors::meeting_book::added::exists:
        return answer(409, protocol::meeting_error_json("a meeting with id '" + m->id + "' exists"));
      case actors::meeting_book::added::full:
        return answer(503, protocol::meeting_error_json("this server holds too many meetings"));
      case actors::meeting_book::added::ok:
        break;
    }
    LOG_INFO("main", "meeting '" << m->id << "' registered by '" << m->creator_id << "'");
    if (recorder) // kept in the class record, read back at the next start
      caf::anon_send(recorder, store::record_event{store::meeting_created{
                                 m->id, m->creator_id, m->description, m->starts_at, m->created_at}});
    return answer(201, protocol::meeting_json(*m));
  }
  if (!id.empty() && (req.method == "GET" || req.method == "HEAD")) {
    auto m = book.find(id);
    if (!m)
      return answer(404, protocol::meeting_error_json("no meeting with id '" + id + "'"));
    return answer(200, protocol::meeting_json(*m));
  }
  auto r = answer(405, protocol::meeting_error_json("use POST /api/meetings or GET /api/meetings/ID"));
  r.headers.emplace_back("Allow", id.empty() ? "POST, OPTIONS" : "GET, OPTIONS");
  return r;
}

// The class record's writer (storage.path or storage.url): events and batches written,
// failed, waiting; whether the store works now, and its last error.
std::string record_json(const actors::recorder_counters* r, const std::string& store_name) {
  if (!r)
    return {};
  std::string store_json = "\"store\":\"";
  text::json_escape(store_json, store_name);
  store_json += "\",\"storeOk\":";
  store_json += r->store_ok.load() ? "true" : "false";
  store_json += ",\"lastError\":\"";
  text::json_escape(store_json, r->last_error());
  store_json += "\",";
  auto field = [](const char* name, auto v) {
    return std::string{"\""} + name + "\":" + std::to_string(v);
  };
  return ",\"record\":{" + store_json + field("eventsWritten", r->events_written.load()) + "," +
         field("eventsPending", r->events_pending.load()) + "," +
         field("eventsDropped", r->events_dropped.load()) + "," +
         field("batchesWritten", r->batches_written.load()) + "," +
         field("batchesFailed", r->batches_failed.load()) + "}";
}

std::string healthz(const actors::node_context& ctx, std::chrono::steady_clock::time_point start,
                    const actors::cluster_status* cluster, const net::http_server_counters& edge,
                    const actors::recorder_counters* record, const std::string& record_store,
                    std::size_t running_actors) {
  auto& c = *ctx.counters;
  auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  return std::string{"{\"status\":\""} + (c.draining.load() ? "draining" : "ok") +
         "\",\"uptimeMs\":" + std::to_string(uptime) +
         ",\"rooms\":" + std::to_string(c.rooms.load()) +
         ",\"peers\":" + std::to_string(c.peers.load()) +
         ",\"sessions\":" + std::to_string(c.sessions.load()) +
         ",\"transports\":" + std::to_string(c.transports.load()) +
         ",\"producers\":" + std::to_string(c.producers.load()) +
         ",\"consumers\":" + std::to_string(c.consumers.load()) +
         ",\"dataProducers\":" + std::to_string(c.data_producers.load()) +
         ",\"dataConsumers\":" + std::to_string(c.data_consumers.load()) +
         // Every running actor of the process (CAF's registry): the soak's leak check.
         ",\"actors\":" + std::to_string(running_actors) + media_json(ctx) +
         // The demo page shows a token field (jwt) or a role choice (none).
         ",\"auth\":{\"mode\":\"" + (ctx.auth.tokens() ? "jwt" : "none") + "\"}" +
         edge_json(edge) +
         (cluster ? ",\"relays\":{\"active\":" + std::to_string(c.relays.load()) +
                      ",\"packetsIn\":" + std::to_string(c.relay_packets_in.load()) +
                      ",\"packetsOut\":" + std::to_string(c.relay_packets_out.load()) + "}"
                  : std::string{}) +
         (cluster ? ",\"cluster\":" + cluster->json() : std::string{}) + record_json(record, record_store) +
         "}";
}

// GET /metrics (Prometheus text format): what /healthz reports, as gauges and counters.
// The names of the signaling requests, in the order of protocol::request_body.
constexpr std::array<const char*, 25> request_type_names{
  "get-rtp-capabilities", "join-room",    "create-transport", "connect-transport",
  "restart-ice",          "get-transport-stats", "set-transport-egress-cap", "inject-fault",
  "produce",              "consume",
  "producer",             "consumer",     "set-user-id",      "get-socket-id",
  "update-state",         "get-room-info", "moderation",      "class",
  "host-control",         "produce-data", "consume-data",     "data-producer",
  "data-consumer",        "plain-transport", "recording"};
static_assert(std::variant_size_v<protocol::request_body> == request_type_names.size(),
              "a request type was added: name it in request_type_names");

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
  for (std::size_t i = 0; i < request_type_names.size(); ++i)
    m.push_back({"chorus_signaling_requests_by_type_total",
                 i == 0 ? "Signaling requests, by type." : "", "counter",
                 std::string{"type=\""} + request_type_names[i] + "\"",
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

// CPUs in this process's affinity mask (at least 1).
size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    return 2;
  return std::max<size_t>(1, size_t(CPU_COUNT(&set)));
}

// What the lean scheduler's workers do besides running actors: each has a send outbox
// (net/send_outbox.hpp), flushed before it sleeps and after a turn once it has held a
// datagram for send_outbox::max_wait_ns.
actors::lean_scheduler_hooks lean_hooks() {
  actors::lean_scheduler_hooks h;
  h.on_worker_start = [] { net::send_outbox::install(); };
  h.on_worker_idle = [] { net::send_outbox::flush_current(); };
  h.on_job_done = [] {
    auto* outbox = net::send_outbox::current();
    if (outbox && outbox->size() != 0)
      net::send_outbox::flush_current_if_waited(actors::mono_ns());
  };
  return h;
}

// Stops the edge (and the cluster actor) from any thread, until the edge is gone.
struct stop_gate {
  std::mutex mutex;
  net::http_server* server = nullptr; // null once run() has returned
  caf::actor cluster;
  std::shared_ptr<actors::node_counters> counters;
  std::atomic<bool> drain_started{false};

  void stop() {
    std::lock_guard<std::mutex> g{mutex};
    if (counters)
      counters->stopping.store(true);
    if (cluster)
      caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
    if (server)
      server->shutdown(1001, shutdown_grace);
  }
  void close() {
    std::lock_guard<std::mutex> g{mutex};
    server = nullptr;
    cluster = nullptr;
  }
};

// Ends the process if shutdown hangs: a bug, reported with a distinct exit code.
class shutdown_watchdog {
public:
  explicit shutdown_watchdog(std::chrono::milliseconds limit)
    : thread_([this, limit] {
        std::unique_lock<std::mutex> lock{mutex_};
        if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
          LOG_ERROR("main", "shutdown did not finish in time");
          std::fflush(stderr);
          _exit(3);
        }
      }) {}
  ~shutdown_watchdog() {
    {
      std::lock_guard<std::mutex> g{mutex_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

} // namespace

// `chorus home ROOM --nodes ID,ID,...`: the node that homes ROOM when those nodes are live
// (rendezvous placement, the rule every node applies; docs/operations.md).
int home_main(int argc, char** argv) {
  std::string room;
  std::vector<std::string> nodes;
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    if (a == "--nodes" && i + 1 < argc)
      nodes = text::split_list(argv[++i]);
    else if (room.empty() && !a.starts_with("--"))
      room = a;
    else {
      std::fprintf(stderr, "usage: chorus home ROOM --nodes NODE_ID,NODE_ID,...\n");
      return 2;
    }
  }
  if (room.empty() || nodes.empty()) {
    std::fprintf(stderr, "usage: chorus home ROOM --nodes NODE_ID,NODE_ID,...\n");
    return 2;
  }
  std::printf("%s\n", net::cluster::home_node(room, nodes).c_str());
  return 0;
}

int main(int argc, char** argv) {
  // A write to a pipe whose reader is gone (a recording's ffmpeg child that died) must be
  // an EPIPE error, not the end of the server. Sockets already send with MSG_NOSIGNAL.
  // Children get every disposition back to the default before they execve.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && std::string_view{argv[1]} == "token")
    return app::token_main(argc - 1, argv + 1);
  if (argc > 1 && std::string_view{argv[1]} == "home")
    return home_main(argc - 1, argv + 1);
  auto cli = app::parse_command_line(argc, argv);
  if (!cli) {
    std::fprintf(stderr, "chorus: %s\n", cli.error().c_str());
    return 2;
  }
  if (cli->action == app::cli_action::help) {
    std::fputs(app::usage().c_str(), stdout);
    return 0;
  }
  if (cli->action == app::cli_action::help_markdown) {
    std::fputs(app::options_markdown().c_str(), stdout);
    return 0;
  }
  const auto& cfg = cli->cfg;
  log::level lvl = log::level::info;
  log::parse_level(cfg.log_level, lvl);
  log::set_level(lvl);
  log::set_format(cfg.log_format == "json" ? log::format::json : log::format::text);

  auto caps = rtp::generate_router_capabilities(cfg.media_codecs);
  if (!caps) { // validate() checked this already
    std::fprintf(stderr, "chorus: mediaCodecs: %s\n", caps.error().c_str());
    return 2;
  }
  auto ctx = std::make_shared<actors::node_context>();
  ctx->meetings = std::make_shared<actors::meeting_book>();
  ctx->settings.max_rooms = cfg.limits.max_rooms;
  ctx->settings.max_peers_per_room = cfg.limits.max_peers_per_room;
  ctx->settings.max_requests_in_flight = cfg.signaling.max_requests_in_flight;
  ctx->settings.default_room = cfg.signaling.default_room;
  ctx->settings.max_publishers_per_room = cfg.limits.max_publishers_per_room;
  ctx->settings.node_id = cfg.cluster.node_id;
  if (ctx->settings.node_id.empty()) {
    char host_name[256] = {};
    gethostname(host_name, sizeof(host_name) - 1);
    ctx->settings.node_id = host_name;
  }
  ctx->settings.audio_levels_interval_ms = cfg.classroom.audio_levels_interval_ms;
  ctx->recording.directory = cfg.recording.directory;
  ctx->recording.auto_start = cfg.recording.auto_start;
  ctx->recording.ffmpeg = cfg.recording.ffmpeg;
  ctx->recording.min_free_bytes = uint64_t(cfg.recording.min_free_mb) << 20;
  ctx->recording.max_restart_backoff_ms = cfg.recording.max_restart_backoff_ms;
  ctx->settings.request_limits = cfg.signaling.rate_limit();
  ctx->auth.roles = cfg.auth.roles;
  ctx->auth.default_role = cfg.auth.default_role;
  if (cfg.auth.jwt()) {
    auto verifier = app::make_jwt_verifier(cfg.auth); // validate() checked this already
    if (!verifier) {
      std::fprintf(stderr, "chorus: auth: %s\n", verifier.error().c_str());
      return 2;
    }
    ctx->auth.verifier = std::make_shared<const protocol::jwt_verifier>(std::move(*verifier));
  }
  ctx->router_capabilities_json = protocol::to_json(*caps);
  ctx->router_capabilities = *caps;

  // DTLS: one certificate for the node, loaded or generated.
  auto cert = cfg.rtc.dtls_certificate_file.empty()
                ? net::dtls_certificate::generate(static_cast<int64_t>(std::time(nullptr)))
                : net::dtls_certificate::load_pem_files(cfg.rtc.dtls_certificate_file,
                                                        cfg.rtc.dtls_private_key_file);
  if (!cert) {
    std::fprintf(stderr, "chorus: rtc.dtlsCertificateFile: %s\n", cert.error().c_str());
    return 2;
  }
  auto dtls_ctx =
    net::dtls_context::create(std::make_shared<const net::dtls_certificate>(std::move(*cert)));
  if (!dtls_ctx) {
    std::fprintf(stderr, "chorus: DTLS: %s\n", dtls_ctx.error().c_str());
    return 2;
  }
  ctx->dtls_context = *dtls_ctx;
  ctx->transport.announced_address = cfg.announced_ip.empty() ? cfg.rtc_ip : cfg.announced_ip;
  ctx->transport.ice_consent_timeout_ms = cfg.rtc.ice_consent_timeout_ms;
  ctx->transport.stun_error_rate = cfg.rtc.stun_error_rate;
  ctx->transport.ice_disconnected_timeout_ms = cfg.rtc.ice_disconnected_timeout_ms;
  ctx->transport.dtls_handshake_timeout_ms = cfg.rtc.dtls_handshake_timeout_ms;
  ctx->transport.sctp_max_message_size = cfg.sctp.max_message_size;
  ctx->transport.sctp_max_streams = cfg.sctp.max_streams;
  ctx->transport.sctp_send_buffer = cfg.sctp.send_buffer_size;
  ctx->media.drop_rtp_fraction = cfg.rtc.drop_rtp_percent / 100.0;
  ctx->media.fault_injection = cfg.rtc.fault_injection;
  ctx->media.thread_fanout = cfg.rtc.thread_fanout;
  if (cfg.rtc.fault_injection)
    LOG_WARN("main", "fault injection requests are enabled (set-transport-egress-cap)");
  if (cfg.rtc.drop_rtp_percent > 0)
    LOG_WARN("main", "fault injection: dropping " << cfg.rtc.drop_rtp_percent
                                                  << " % of received RTP");

  // SRTP's AES-GCM, before any transport keys one.
  rtp::set_gcm_impl(cfg.rtc.gcm == "openssl" ? rtp::gcm_impl::openssl : rtp::gcm_impl::native);
  LOG_INFO("main", "SRTP AES-GCM: " << (rtp::gcm_uses_native() ? "the CPU's AES instructions"
                                                                : "OpenSSL"));

  // Media sockets: a port pair per transport, or one shared port.
  net::media_io_options media_opts;
  media_opts.listen_ip = cfg.rtc_ip;
  media_opts.min_port = cfg.rtc_min_port;
  media_opts.max_port = cfg.rtc_max_port;
  media_opts.single_port = cfg.rtc.single_port != 0;
  media_opts.single_port_number = cfg.rtc.single_port;
  media_opts.batch_sends = cfg.rtc.batch_sends;
  media_opts.udp_segmentation = cfg.rtc.udp_segmentation;
  media_opts.tcp_bind_timeout_ms = cfg.rtc.tcp_bind_timeout_ms;
  media_opts.io_threads = cfg.rtc.io_threads != 0 ? cfg.rtc.io_threads : usable_cpus();
  ctx->media_io = std::make_shared<net::media_io>(media_opts);
  try {
    ctx->media_io->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chorus: %s: %s\n",
                 media_opts.single_port ? "--rtc-single-port" : "--rtc-ip", e.what());
    return 1;
  }
  LOG_INFO("main", "media I/O threads: " << ctx->media_io->threads());
  actors::set_io_thread_count(ctx->media_io->threads());

  // The class record (storage.path): opened before anything runs, so that a file that
  // cannot be used stops the start with a message instead of a class without its record.
  // A PostgreSQL server (storage.url) is another matter: it may be down or restarting when
  // a node starts, and a class must not wait for it. Its url was checked with the
  // configuration; the recorder connects, logs an error and shows it in /healthz while the
  // server cannot be reached, and tries again.
  std::shared_ptr<store::record_store> record_store;
  if (!cfg.storage.path.empty()) {
    auto opened = store::open_sqlite_store(cfg.storage.path);
    if (!opened) {
      std::fprintf(stderr, "chorus: storage.path (--storage-path): %s\n", opened.error().c_str());
      return 2;
    }
    record_store = std::move(*opened);
  } else if (!cfg.storage.url.empty()) {
    auto opened = store::open_postgres_store(cfg.storage.url);
    if (!opened) {
      std::fprintf(stderr, "chorus: storage.url (--storage-url): %s\n", opened.error().c_str());
      return 2;
    }
    record_store = std::move(*opened);
  }

  // Webhooks: the sender outlives the actor system (rooms that end at shutdown still
  // report room-finished), and gets a short time to deliver at the end.
  std::shared_ptr<app::webhook_sender> webhooks;
  if (cfg.webhooks.enabled()) {
    app::webhook_options wo;
    wo.urls = cfg.webhooks.urls;
    wo.key = cfg.webhooks.key;
    if (!cfg.webhooks.key_file.empty()) {
      auto key = app::read_secret_file(cfg.webhooks.key_file); // validate() read it too
      if (!key) {
        std::fprintf(stderr, "chorus: webhooks.keyFile: %s\n", key.error().c_str());
        return 2;
      }
      wo.key = *key;
    }
    wo.queue_size = cfg.webhooks.queue_size;
    wo.max_attempts = cfg.webhooks.max_attempts;
    wo.timeout = std::chrono::milliseconds(cfg.webhooks.timeout_ms);
    wo.ca_file = cfg.webhooks.ca_file;
    webhooks = std::make_shared<app::webhook_sender>(std::move(wo));
    try {
      webhooks->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chorus: %s\n", e.what());
      return 2;
    }
    ctx->events = webhooks;
  }
  if (cfg.metrics.per_room)
    ctx->room_metrics = std::make_shared<actors::room_registry>();
  struct stop_webhooks_at_end {
    std::shared_ptr<app::webhook_sender> sender;
    ~stop_webhooks_at_end() {
      if (sender)
        sender->stop(std::chrono::milliseconds(500));
    }
  } stop_webhooks{webhooks};

  int exit_code = 0;
  {
    std::optional<shutdown_watchdog> watchdog; // declared first: outlives the teardown
    caf::actor_system_config caf_cfg;
    actors::register_message_types(caf_cfg);
    // The middleman (CAF's network layer, BASP) only in a cluster: a single node opens no
    // port and starts no thread for it.
    std::optional<std::string> secret;
    std::shared_ptr<actors::cluster_status> cluster_status;
    if (cfg.cluster.enabled()) {
      secret = cluster_secret(cfg.cluster);
      if (!secret || secret->size() < 16) {
        std::fprintf(stderr, "chorus: --cluster-secret-file (cluster.secretFile): %s\n",
                     secret ? "the secret must be at least 16 bytes" : "cannot read the file");
        return 2;
      }
      caf_cfg.load<caf::io::middleman>();
      caf_cfg.set("middleman.app-identifiers", std::vector<std::string>{"chorus-cluster-v1"});
      if (cfg.cluster.tls()) {
        // Every node link is TLS, and both sides must present a certificate of the CA.
        caf_cfg.load<caf::openssl::manager>();
        caf_cfg.openssl_certificate = cfg.cluster.cert_file;
        caf_cfg.openssl_key = cfg.cluster.key_file;
        caf_cfg.openssl_cafile = cfg.cluster.ca_file;
      }
      cluster_status = std::make_shared<actors::cluster_status>();
    }
    // Two scheduler workers at least, even when pinned to one CPU: with one, a long turn
    // (a large room's participant list encoded for every session) stalls the media path
    // (measured: p99 latency 983 ms instead of 25 ms at 150 subscribers); more than the
    // usable CPUs only adds context switches.
    caf_cfg.set("scheduler.max-threads", cfg.scheduler.threads != 0
                                           ? size_t(cfg.scheduler.threads)
                                           : std::max<size_t>(2, usable_cpus()));
    // Work stealing's idle workers poll for work (spin, then 50 us sleeps) and that polling
    // was most of the CPU at small and moderate load; the sharing policy's idle workers
    // wait on a condition variable instead, and the lean one (the default) wakes them only
    // when there is work for two (docs/design/scheduler-wakeups.md, "Fewer wake-ups").
    if (cfg.scheduler.policy == "lean")
      actors::use_lean_scheduler(caf_cfg, usable_cpus(), lean_hooks(),
                                 cfg.scheduler.timers != "caf");
    else
      caf_cfg.set("scheduler.policy", caf::atom_from_string(cfg.scheduler.policy));
    // At most this many messages per actor turn (CAF's default is unbounded): an actor with
    // a deep mailbox (a transport receiving a data-channel flood, one sending it into
    // usrsctp at tens of microseconds a message) then yields its worker to the others
    // instead of holding it until its mailbox is empty. 256 let a calm room's data wait up
    // to 95 ms inside the server behind such turns; 32 up to 49 ms (docs/performance.md,
    // "The flood test"). Media actors rarely have more than a few messages queued.
    caf_cfg.set("scheduler.max-throughput", size_t{32});
    caf::actor_system sys{caf_cfg};
    // The actors' timers run on the media I/O thread's wake-ups (actors/scheduler.hpp),
    // and go back to the clock's own thread before the actor system ends (this guard is
    // destroyed first).
    struct timers_on_io {
      caf::actor_system& sys;
      net::media_io* io = nullptr;
      ~timers_on_io() {
        if (io) {
          io->set_timer_hook(nullptr);
          actors::stop_driving_timers(sys);
        }
      }
    } timers_guard{sys};
    if (cfg.scheduler.policy == "lean" && cfg.scheduler.timers == "io" && ctx->media_io) {
      auto io = ctx->media_io;
      if (auto* hook = actors::drive_timers(sys, [io] { io->wake(); })) {
        if (io->set_timer_hook(hook))
          timers_guard.io = io.get();
        else
          actors::stop_driving_timers(sys);
      }
    }
    // The recorder, which the rooms reach through their context, and the ticker
    // (actors/ticker.hpp). The actors get a copy of the context that holds them, made in
    // this scope: no handle to them may outlive the actor system, and `ctx` does. At the end
    // of this scope both are told to stop; the recorder writes what the closing rooms still
    // send, then quits.
    auto actor_ctx = std::make_shared<actors::node_context>(*ctx);
    std::shared_ptr<actors::recorder_counters> record_counters;
    std::string record_store_name;
    caf::actor recorder;
    if (record_store) {
      record_store_name = record_store->describe();
      // Meetings registered before a restart (or by another node sharing the store).
      if (auto loaded = record_store->load_meetings(); loaded) {
        for (auto& m : *loaded)
          ctx->meetings->add({m.room_id, m.creator_id, m.description, m.starts_at_ms, m.at_ms});
        if (!loaded->empty())
          LOG_INFO("main", loaded->size() << " meetings loaded from " << record_store_name);
      } else {
        LOG_ERROR("main", "meetings not loaded: " << loaded.error());
      }
      actors::recorder_settings rs;
      rs.flush_interval = std::chrono::milliseconds(cfg.storage.flush_interval_ms);
      record_counters = std::make_shared<actors::recorder_counters>();
      recorder = actors::spawn_recorder(sys, std::move(record_store), rs, record_counters);
      actor_ctx->recorder = recorder;
    }
    struct stop_on_scope_end {
      caf::actor actor;
      ~stop_on_scope_end() {
        if (actor)
          caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      }
    } stop_recorder{recorder};
    actor_ctx->ticker = actors::spawn_ticker(sys);
    stop_on_scope_end stop_ticker{actor_ctx->ticker}; // (stopped before the recorder)
    auto node = actors::spawn_node(sys, actor_ctx);

    net::http_server_options opts;
    opts.host = cfg.listen_host;
    opts.port = cfg.listen_port;
    opts.max_message_bytes = cfg.signaling.max_message_bytes;
    opts.max_queued_bytes = cfg.signaling.max_queued_bytes;
    opts.idle_timeout = std::chrono::milliseconds(cfg.signaling.idle_timeout_ms);
    opts.handshake_timeout = std::chrono::milliseconds(cfg.signaling.handshake_timeout_ms);
    opts.message_timeout = std::chrono::milliseconds(cfg.signaling.message_timeout_ms);
    opts.max_connections = cfg.signaling.max_connections;
    opts.engineio.ping_interval_ms = cfg.signaling.ping_interval_ms;
    opts.engineio.ping_timeout_ms = cfg.signaling.ping_timeout_ms;
    opts.engineio.max_payload = cfg.signaling.max_payload_bytes;
    opts.allowed_origins = cfg.signaling.allowed_origins;
    opts.max_connections_per_ip = cfg.signaling.max_connections_per_ip;
    opts.threads = cfg.signaling.threads != 0 ? cfg.signaling.threads
                                              : std::max<size_t>(1, usable_cpus() / 4);

    auto started = std::chrono::steady_clock::now();
    const net::http_server* edge = nullptr; // set below, before the server runs
    auto on_http = [ctx, started, cluster_status, record_counters, record_store_name, &edge, webhooks, &sys,
                    allowed = cfg.signaling.allowed_origins, recorder](
                     const net::http_request_info& req) -> net::http_response {
      if (auto r = meetings_api(req, *ctx->meetings, allowed, recorder))
        return *r;
      if (req.path == "/healthz" && (req.method == "GET" || req.method == "HEAD"))
        // 503 while draining: a load balancer stops sending clients here.
        return {ctx->counters->draining.load() ? 503u : 200u, "application/json",
                healthz(*ctx, started, cluster_status.get(), edge->counters(),
                        record_counters.get(), record_store_name, sys.registry().running()),
                {}};
      if ((req.path == "/" || req.path == "/index.html") &&
          (req.method == "GET" || req.method == "HEAD"))
        return {200, "text/html; charset=utf-8", std::string{app::index_html()}, {}};
      if (req.path == "/favicon.ico") // browsers ask for it; there is none
        return {204, "image/x-icon", "", {}};
      if (req.path == "/metrics" && (req.method == "GET" || req.method == "HEAD"))
        return {200, "text/plain; version=0.0.4; charset=utf-8",
                metrics_text(*ctx, edge->counters(), record_counters.get(),
                             webhooks ? &webhooks->counters() : nullptr),
                {}};
      if (req.path == "/app.js" && (req.method == "GET" || req.method == "HEAD"))
        return {200, "text/javascript; charset=utf-8", std::string{app::app_js()}, {}};
      return {404, "application/json", "{\"error\":\"not found\"}", {}};
    };
    net::http_server server{opts, on_http, actors::make_ws_gateway(sys, node, actor_ctx)};
    edge = &server;
    // Engine.IO sessions at /socket.io/ speak the Socket.IO dialect; the Engine.IO sid is
    // the Socket.IO socket id and the peer id.
    server.set_engineio_acceptor(actors::make_engineio_gateway(
      sys, node, actor_ctx,
      [](const std::string& sid) -> std::unique_ptr<protocol::dialect> {
        return protocol::make_socketio_dialect(sid);
      }));
    if (!cfg.signaling.tls_certificate_file.empty()) {
      auto tls = server.use_tls(cfg.signaling.tls_certificate_file,
                                cfg.signaling.tls_private_key_file);
      if (tls.problem != net::http_server::tls_problem::none) {
        std::fprintf(stderr, "chorus: %s: %s\n",
                     tls.problem == net::http_server::tls_problem::certificate
                       ? "--tls-cert (signaling.tlsCertificateFile)"
                       : "--tls-key (signaling.tlsPrivateKeyFile)",
                     tls.message.c_str());
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        return 2;
      }
    }
    uint16_t port = 0;
    try {
      port = server.listen();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chorus: --listen: %s\n", e.what());
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      return 1;
    }
    auto host = cfg.listen_host.find(':') != std::string::npos ? "[" + cfg.listen_host + "]"
                                                                : cfg.listen_host;
    caf::actor cluster;
    if (cfg.cluster.enabled()) {
      actors::cluster_settings cs;
      cs.node_id = cfg.cluster.node_id;
      if (cs.node_id.empty()) {
        char name[256] = {};
        gethostname(name, sizeof(name) - 1);
        cs.node_id = std::string{name} + ":" + std::to_string(port);
      }
      cs.secret = *secret;
      cs.client_url = std::string{server.uses_tls() ? "https" : "http"} + "://" + host + ":" +
                      std::to_string(port);
      cs.peers = cfg.cluster.peers;
      cs.heartbeat_interval_ms = cfg.cluster.heartbeat_interval_ms;
      cs.heartbeat_timeout_ms = cfg.cluster.heartbeat_timeout_ms;
      cs.tls = cfg.cluster.tls();
      if (!cs.tls)
        LOG_WARN("main", "cluster: links between nodes are not encrypted, and relayed media "
                         "crosses them decrypted: use --cluster-cert, --cluster-key and "
                         "--cluster-ca outside a trusted network");
      std::string chost; // validate() checked cluster.listen
      uint16_t cport = 0;
      if (!cfg.cluster.listen.empty())
        text::split_host_port(cfg.cluster.listen, chost, cport);
      cluster = actors::spawn_cluster(sys, std::move(cs), actor_ctx, cluster_status, node);
      if (!chost.empty()) {
        // The actor dials its peers on its first tick, after this: by then it knows the
        // bound address (port 0 picks one) that it tells the other nodes.
        auto bound = cfg.cluster.tls()
                       ? caf::openssl::publish(cluster, cport, chost.c_str(), true)
                       : sys.middleman().publish(cluster, cport, chost.c_str(), true);
        if (!bound) {
          std::fprintf(stderr, "chorus: --cluster-listen (cluster.listen): %s\n",
                       sys.render(bound.error()).c_str());
          caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
          caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
          return 1;
        }
        auto chost_text = chost.find(':') != std::string::npos ? "[" + chost + "]" : chost;
        cluster_status->set_address(chost_text + ":" + std::to_string(*bound));
        LOG_INFO("main", "cluster: node '" << cfg.cluster.node_id << "' listening on "
                                           << chost_text << ":" << *bound);
      } else {
        LOG_WARN("main", "cluster: this node listens for no other node (--cluster-listen)");
      }
    }
    // Stopping, from the signal handler or at the end of a drain (any thread): the cluster
    // actor first (it must not dial nodes that are going away too), then the edge.
    auto gate = std::make_shared<stop_gate>();
    gate->counters = ctx->counters;
    gate->server = &server;
    gate->cluster = cluster;
    // The drain (drain.timeoutMs, SIGTERM, the admin API's POST /drain): the node's
    // drain_begin (actors/operations.hpp), then the stop when its answer comes.
    auto drain_here = [&sys, node, gate](uint64_t timeout_ms) {
      sys.spawn([node, gate, timeout_ms](caf::event_based_actor* self) {
        // The node's end (shutdown) ends this too.
        self->monitor(node);
        self->set_down_handler([self](caf::down_msg&) { self->quit(); });
        self
          ->request(node, std::chrono::milliseconds(timeout_ms) + std::chrono::seconds(10),
                    actors::drain_begin{timeout_ms})
          .then(
            [self, gate](actors::drain_report& r) {
              LOG_INFO("main", "drain over (" << r.rooms_left << " rooms still open): stopping");
              gate->stop();
              self->quit();
            },
            [self, gate](caf::error& err) {
              LOG_WARN("main", "drain: " << to_string(err) << ": stopping");
              gate->stop();
              self->quit();
            });
        return caf::behavior{[](int32_t) {}};
      });
    };
    // In a cluster a drain or a stop hands the rooms homed here to the other nodes first
    // (bounded), so that their participants elsewhere never notice this node leaving; then
    // the drain (timeout_ms > 0) or the stop.
    auto start_drain = [&sys, node, gate, cluster, drain_here](uint64_t timeout_ms) {
      if (gate->drain_started.exchange(true))
        return;
      if (!cluster) {
        drain_here(timeout_ms);
        return;
      }
      sys.spawn([cluster, node, gate, timeout_ms, drain_here](caf::event_based_actor* self) {
        auto next = [gate, timeout_ms, drain_here] {
          if (timeout_ms > 0)
            drain_here(timeout_ms);
          else
            gate->stop();
        };
        self->request(cluster, hand_over_timeout, actors::hand_over_atom::value)
          .then(
            [self, node, next](bool) {
              self->request(node, hand_over_timeout, actors::hand_over_atom::value)
                .then([next](bool) { next(); }, [next](caf::error&) { next(); });
            },
            [next](caf::error&) { next(); });
      });
    };
    server.on_signal([gate, start_drain, cluster, drain_ms = cfg.drain.timeout_ms](int sig) {
      if (sig == SIGTERM && (drain_ms > 0 || cluster) && !gate->drain_started.load()) {
        if (drain_ms > 0)
          LOG_INFO("main", "signal " << sig << ": draining for up to " << drain_ms
                                     << " ms (a second signal stops at once)");
        else
          LOG_INFO("main", "signal " << sig << ": handing the rooms over, then shutting down"
                                     << " (a second signal stops at once)");
        start_drain(drain_ms);
        return;
      }
      LOG_INFO("main", "signal " << sig << ": shutting down");
      gate->stop();
    });
    std::optional<app::admin_api> admin;
    if (!cfg.admin.listen.empty()) {
      app::admin_options ao;
      text::split_host_port(cfg.admin.listen, ao.host, ao.port); // validate() checked it
      auto token = app::read_secret_file(cfg.admin.token_file);
      if (!token) {
        std::fprintf(stderr, "chorus: admin.tokenFile: %s\n", token.error().c_str());
        gate->stop();
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        return 2;
      }
      ao.token = *token;
      auto ahost = ao.host.find(':') != std::string::npos ? "[" + ao.host + "]" : ao.host;
      admin.emplace(sys, node, std::move(ao), start_drain, cfg.drain.timeout_ms);
      try {
        auto admin_port = admin->start();
        std::printf("chorus admin API on http://%s:%u\n", ahost.c_str(), admin_port);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "chorus: --admin-listen (admin.listen): %s\n", e.what());
        admin.reset();
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        if (cluster)
          caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
        return 1;
      }
    }
    std::printf("chorus listening on %s://%s:%u\n", server.uses_tls() ? "https" : "http",
                host.c_str(), port);
    std::fflush(stdout);
    if (cfg.rtc.single_port != 0)
      LOG_INFO("main", "ready: signaling on " << host << ":" << port << ", media on "
                                              << cfg.rtc_ip << " port " << cfg.rtc.single_port
                                              << " (udp+tcp, shared)");
    else
      LOG_INFO("main", "ready: signaling on " << host << ":" << port << ", media on "
                                              << cfg.rtc_ip << " ports " << cfg.rtc_min_port
                                              << "-" << cfg.rtc_max_port);
    server.run();
    gate->close();
    watchdog.emplace(shutdown_deadline);
    if (admin)
      admin->stop();
    if (cluster)
      caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    // Leaving this scope destroys the server (sessions notified) and then waits for
    // every actor to finish.
  }
  LOG_INFO("main", "stopped");
  return exit_code;
}
