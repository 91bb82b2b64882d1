// The webhook sender: signed POSTs of room and participant events
// (protocol/webhook.hpp) to every configured url, from its own thread. Each url has its
// own bounded queue and delivers in order, one POST at a time, with retries and backoff:
// a receiver that is down or slow delays neither the rooms (emit() only queues) nor the
// other receivers. A full queue drops its oldest event (counted).
#pragma once

#include "actors/events.hpp"
#include "app/webhook_options.hpp"
#include "common/metric_field.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chorus::app {

struct webhook_counters {
  std::atomic<uint64_t> queued{0};    // events x urls
  std::atomic<uint64_t> delivered{0}; // answered 2xx
  std::atomic<uint64_t> failed{0};    // given up after max_attempts
  std::atomic<uint64_t> dropped{0};   // queue full, or still queued at stop
  std::atomic<uint64_t> attempts{0};  // POSTs tried
  std::atomic<int64_t> pending{0};    // waiting or in flight
};

// webhook_counters in GET /metrics (common/metric_field.hpp).
inline constexpr metric_field<webhook_counters, std::atomic<uint64_t>> webhook_metrics[] = {
  {"chorus_webhook_deliveries_total", "Webhook deliveries (event x url), by result.",
   metric_type::counter, "result=\"delivered\"", &webhook_counters::delivered},
  {"chorus_webhook_deliveries_total", "", metric_type::counter, "result=\"failed\"",
   &webhook_counters::failed},
  {"chorus_webhook_deliveries_total", "", metric_type::counter, "result=\"dropped\"",
   &webhook_counters::dropped},
  {"chorus_webhook_attempts_total", "Webhook POSTs tried.", metric_type::counter, "",
   &webhook_counters::attempts},
};

inline constexpr metric_field<webhook_counters, std::atomic<int64_t>> webhook_gauges[] = {
  {"chorus_webhook_pending", "Webhook deliveries queued or in flight.", metric_type::gauge, "",
   &webhook_counters::pending},
};

class webhook_sender final : public actors::event_sink {
public:
  explicit webhook_sender(webhook_options opts);
  ~webhook_sender() override; // stop(0)
  webhook_sender(const webhook_sender&) = delete;
  webhook_sender& operator=(const webhook_sender&) = delete;

  // Fails (std::runtime_error) when ca_file cannot be loaded.
  void start();
  // Stops: deliveries still queued get up to `flush` to go out (no new retries), then the
  // rest is dropped. Idempotent.
  void stop(std::chrono::milliseconds flush);

  void emit(actors::ops_event ev) noexcept override;

  const webhook_counters& counters() const { return *counters_; }

  struct impl;

private:
  std::shared_ptr<webhook_counters> counters_;
  std::shared_ptr<impl> impl_;
};

} // namespace chorus::app
