// The recorder: one per node (only when storage is configured), writing the class record.
// Rooms send it store::record_event messages (store/record.hpp) through their context
// (node_context::recorder, or record() below); it batches them and writes each batch in one
// transaction to its record_store, on a thread of its own (a detached actor), off the
// media path.
//
// Messages:
//   store::record_event -> kept; written at the next flush: every flush_interval, or at
//                          once when max_batch events wait.
//   record_flush_atom   -> (request) writes what waits now; replies true when nothing is
//                          left waiting (the write succeeded), false when it failed.
//   exit (shutdown)     -> writes what waits, keeps taking events for shutdown_grace (the
//                          rooms' last leaves and closes), writes them and quits.
// A failing store never ends the recorder, nor anything else: the failed batch stays
// waiting and is tried again, as the same batch under the same key, so that a try whose
// COMMIT reached the store although its answer was lost is not written twice
// (store::record_writer::apply); events that arrive meanwhile form the batches after it.
// Tries come every retry_interval; the oldest events are dropped beyond max_pending;
// failures are counted and logged at most once per failure_log_interval.
// At start the recorder connects its store (record_store::connect: a PostgreSQL server);
// a store that cannot be reached is logged as an error at once, shown in /healthz
// (recorder_counters::store_up, last_error) and tried again every retry_interval: the
// node runs meanwhile, its events wait.
#pragma once

#include "actors/context.hpp"
#include "actors/record_serialization.hpp"
#include "store/record_store.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace chorus::actors {

using record_flush_atom = caf::atom_constant<caf::atom("recflush")>;

struct recorder_settings {
  std::chrono::milliseconds flush_interval{200};       // storage.flushIntervalMs
  size_t max_batch = 500;                              // write at once at this many events
  size_t max_pending = 100000;                         // kept while the store fails
  std::chrono::milliseconds retry_interval{1000};      // after a failed write
  std::chrono::milliseconds failure_log_interval{60000};
  std::chrono::milliseconds shutdown_grace{250};
};

// Read by /healthz; written by the recorder.
struct recorder_counters {
  std::atomic<uint64_t> events_received{0};
  std::atomic<uint64_t> events_written{0};
  std::atomic<uint64_t> events_dropped{0}; // past max_pending while the store failed
  std::atomic<uint64_t> batches_written{0};
  std::atomic<uint64_t> batches_failed{0};
  // Batches found written by an earlier try whose answer was lost (not written again).
  std::atomic<uint64_t> batches_repeated{0};
  std::atomic<int64_t> events_pending{0};
  // 1 when the store answered the last connect or write; 0 before it first answered and
  // while it fails. The last failure's message is kept after the store recovered.
  std::atomic<int64_t> store_up{0};

  void set_error(std::string e) {
    std::lock_guard<std::mutex> lock{mutex_};
    last_error_ = std::move(e);
  }
  std::string last_error() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return last_error_;
  }

private:
  mutable std::mutex mutex_;
  std::string last_error_;
};

// recorder_counters in GET /metrics (common/metric_field.hpp).
inline constexpr metric_field<recorder_counters, std::atomic<uint64_t>> recorder_metrics[] = {
  {"chorus_record_events_written_total", "Class record events written.", metric_type::counter, "",
   &recorder_counters::events_written},
  {"chorus_record_events_dropped_total", "Class record events dropped (store failing).",
   metric_type::counter, "", &recorder_counters::events_dropped},
  {"chorus_record_batches_failed_total", "Class record batches that failed.",
   metric_type::counter, "", &recorder_counters::batches_failed},
  {"chorus_record_batches_repeated_total",
   "Class record batches found written by an earlier try (not written again).",
   metric_type::counter, "", &recorder_counters::batches_repeated},
};
inline constexpr metric_field<recorder_counters, std::atomic<int64_t>> recorder_gauges[] = {
  {"chorus_record_events_pending", "Class record events waiting to be written.",
   metric_type::gauge, "", &recorder_counters::events_pending},
  {"chorus_record_store_up", "1 when the class record's store answered the last connect or write.",
   metric_type::gauge, "", &recorder_counters::store_up},
};

caf::actor spawn_recorder(caf::actor_system& sys, std::shared_ptr<store::record_store> store,
                          recorder_settings settings,
                          std::shared_ptr<recorder_counters> counters);

// Sends one record to the node's recorder; nothing when storage is off. `self` is the
// sending actor (a room), e.g. record(self, *st.ctx, store::chat_posted{...}).
template <class Self, class Record>
void record(Self* self, const node_context& ctx, Record r) {
  if (ctx.recorder)
    self->send(ctx.recorder, store::record_event{std::move(r)});
}

} // namespace chorus::actors
