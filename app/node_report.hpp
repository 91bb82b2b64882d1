// What the node reports over HTTP about itself: GET /healthz (JSON) and GET /metrics
// (Prometheus text), from the node's counters, the edge's, the class record's writer's and
// the webhooks'.
#pragma once

#include "actors/cluster.hpp"
#include "actors/context.hpp"
#include "actors/recorder.hpp"
#include "app/webhooks.hpp"
#include "net/http_server.hpp"

#include <chrono>
#include <cstddef>
#include <string>

namespace chorus::app {

std::string healthz(const actors::node_context& ctx, std::chrono::steady_clock::time_point start,
                    const actors::cluster_status* cluster, const net::http_server_counters& edge,
                    const actors::recorder_counters* record, const std::string& record_store,
                    std::size_t running_actors);

std::string metrics_text(const actors::node_context& ctx, const net::http_server_counters& e,
                         const actors::recorder_counters* r, const app::webhook_counters* w);

} // namespace chorus::app
