// GET /healthz: the node's state as one JSON object.
#include "app/node_report.hpp"

#include "common/text.hpp"
#include "net/media_io.hpp"

#include <string>

namespace chorus::app {

namespace {

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

// The class record's writer (storage.path or storage.url): events and batches written,
// failed, waiting; whether the store works now, and its last error.
std::string record_json(const actors::recorder_counters* r, const std::string& store_name) {
  if (!r)
    return {};
  std::string store_json = "\"store\":\"";
  text::json_escape(store_json, store_name);
  store_json += "\",\"storeOk\":";
  store_json += r->store_up.load() == 1 ? "true" : "false";
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
         field("batchesFailed", r->batches_failed.load()) + "," +
         field("batchesRepeated", r->batches_repeated.load()) + "}";
}

} // namespace

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
                      ",\"packetsOut\":" + std::to_string(c.relay_packets_out.load()) + "}" +
                      ",\"roomCopies\":" + std::to_string(c.room_copies.load())
                  : std::string{}) +
         (cluster ? ",\"cluster\":" + cluster->json() : std::string{}) + record_json(record, record_store) +
         "}";
}

} // namespace chorus::app
