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

// The series a struct declares beside it (common/metric_field.hpp), in their order.
template <class S, class V, std::size_t N>
void add_fields(std::vector<app::metric>& m, const S& s, const metric_field<S, V> (&fields)[N]) {
  for (const auto& f : fields)
    m.push_back({f.name, f.help, to_string(f.type), f.labels, metric_value(s.*f.field)});
}

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
  add_fields(m, t, actors::media_totals_metrics);
  m.push_back({"chorus_srtp_failures_total", "SRTP/SRTCP unprotect failures (auth, replay, other).",
               "counter", "", v(t.srtp_auth_failures) + v(t.srtp_replays) + v(t.srtp_other_failures)});
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
  add_fields(m, *w, app::webhook_metrics);
  add_fields(m, *w, app::webhook_gauges);
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
  std::vector<metric> m;
  add_fields(m, c, actors::node_gauges_metrics);
  add_fields(m, c, actors::node_totals_metrics);
  add_fields(m, e, net::http_server_metrics);
  for (std::size_t i = 0; i < protocol::error_code_count; ++i) {
    auto code = static_cast<protocol::error_code>(i);
    m.push_back({"chorus_signaling_errors_by_code_total",
                 i == 0 ? "Error replies and refusals, by error code." : "", "counter",
                 "code=\"" + std::string(protocol::to_string(code)) + "\"",
                 double(c.errors_by_code[i].load())});
  }
  if (ctx.media_io) {
    const auto s = ctx.media_io->stats();
    add_fields(m, s, net::media_io_metrics);
    if (ctx.media_io->turn_port() != 0)
      add_fields(m, ctx.media_io->turn_stats(), net::turn_metrics);
    m.push_back({"chorus_media_burst_waits_total",
                 "Polls of a media socket for the rest of a frame sent at once, by outcome.",
                 "counter", "outcome=\"joined\"", double(s.burst_waits_joined)});
    m.push_back({"chorus_media_burst_waits_total", "", "counter", "outcome=\"none\"",
                 double(s.burst_waits - s.burst_waits_joined)});
    add_fields(m, net::send_outbox::process_totals(), net::send_outbox_metrics);
    // Each family's series together (the exposition format wants them contiguous).
    const auto threads = ctx.media_io->thread_stats();
    for (const auto& f : net::media_io_thread_metrics)
      for (std::size_t i = 0; i < threads.size(); ++i)
        m.push_back({f.name, i == 0 ? f.help : "", to_string(f.type),
                     "thread=\"" + std::to_string(i) + "\"", metric_value(threads[i].*f.field)});
  }
  if (r) {
    add_fields(m, *r, actors::recorder_metrics);
    add_fields(m, *r, actors::recorder_gauges);
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
