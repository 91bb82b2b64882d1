#include "actors/recorder.hpp"

#include "actors/messages.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace chorus::actors {

namespace {

using recorder_tick_atom = caf::atom_constant<caf::atom("rectick")>;
using recorder_stop_atom = caf::atom_constant<caf::atom("recstop")>;
using recorder_probe_atom = caf::atom_constant<caf::atom("recprobe")>;

struct recorder_state {
  std::shared_ptr<store::record_store> store;
  recorder_settings settings;
  std::shared_ptr<recorder_counters> counters;
  std::vector<store::record_event> pending;
  // The batch under way: its key and how many of the first pending events it holds. Set
  // at its first try, kept until it is written, so that every try is the same batch.
  struct batch {
    std::string key;
    size_t size = 0;
  };
  std::optional<batch> sealed;
  std::string key_prefix; // random per recorder: keys never meet another node's or run's
  uint64_t batches_sealed = 0;
  bool tick_armed = false;
  bool stopping = false;
  // Failures: since when the store fails (empty: it works), how many batches failed since
  // the last log line, and when that line was written.
  std::optional<std::chrono::steady_clock::time_point> failing_since;
  uint64_t failures_unlogged = 0;
  std::optional<std::chrono::steady_clock::time_point> last_failure_log;
  static inline const char* name = "chorus.recorder";
};

using recorder_actor = caf::stateful_actor<recorder_state>;

void arm_tick(recorder_actor* self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  if (st.tick_armed)
    return;
  st.tick_armed = true;
  self->delayed_send(self, delay, recorder_tick_atom::value);
}

void note_failure(recorder_actor* self, const std::string& error) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  st.counters->batches_failed.fetch_add(1);
  st.counters->store_up.store(0);
  st.counters->set_error(error);
  if (!st.failing_since)
    st.failing_since = now;
  if (!st.last_failure_log || now - *st.last_failure_log >= st.settings.failure_log_interval) {
    LOG_ERROR("recorder", error << " (" << st.pending.size() << " events waiting; "
                                << st.failures_unlogged
                                << " more failed batches since the last report; the class goes "
                                   "on, and the write is tried again)");
    st.last_failure_log = now;
    st.failures_unlogged = 0;
  } else {
    ++st.failures_unlogged;
  }
}

void note_written(recorder_actor* self) {
  auto& st = self->state;
  if (st.failing_since) {
    auto now = std::chrono::steady_clock::now();
    LOG_INFO("recorder", st.store->describe()
                           << ": writing again after "
                           << std::chrono::duration_cast<std::chrono::seconds>(
                                now - *st.failing_since)
                                .count()
                           << " s of failures (" << st.failures_unlogged
                           << " failed batches not logged)");
    st.failing_since.reset();
    st.failures_unlogged = 0;
  }
  st.counters->store_up.store(1);
}

// Writes what waits, batch by batch: first the batch under way (as it was sealed), then
// the events after it. True when nothing waits afterwards.
bool flush(recorder_actor* self) {
  auto& st = self->state;
  while (!st.pending.empty()) {
    if (!st.sealed)
      st.sealed = recorder_state::batch{st.key_prefix + std::to_string(++st.batches_sealed),
                                        st.pending.size()};
    const auto size = std::min(st.sealed->size, st.pending.size());
    auto written = size == st.pending.size()
                     ? st.store->apply(st.pending, st.sealed->key)
                     : st.store->apply({st.pending.begin(),
                                        st.pending.begin() + static_cast<ptrdiff_t>(size)},
                                       st.sealed->key);
    if (!written) {
      note_failure(self, written.error());
      return false;
    }
    // Pending and the store's state first: a reader that sees the written count sees the
    // pending one lowered and the store up.
    st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<ptrdiff_t>(size));
    st.sealed.reset();
    st.counters->events_pending.store(static_cast<int64_t>(st.pending.size()));
    note_written(self);
    if (written->repeated) {
      // Its events were written by the try whose answer was lost.
      st.counters->batches_repeated.fetch_add(1);
      st.counters->events_written.fetch_add(size);
    } else {
      st.counters->batches_written.fetch_add(1);
      st.counters->events_written.fetch_add(written->written);
    }
  }
  return true;
}

void keep(recorder_actor* self, store::record_event&& ev) {
  auto& st = self->state;
  st.counters->events_received.fetch_add(1);
  st.pending.push_back(std::move(ev));
  if (st.pending.size() > st.settings.max_pending) {
    // The store has failed for long: the oldest events go, the newest are kept.
    auto excess = st.pending.size() - st.settings.max_pending;
    st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<ptrdiff_t>(excess));
    st.counters->events_dropped.fetch_add(excess);
    // The batch under way loses them too (all of them: a new batch starts).
    if (st.sealed && (st.sealed->size -= std::min(excess, st.sealed->size)) == 0)
      st.sealed.reset();
  }
  st.counters->events_pending.store(static_cast<int64_t>(st.pending.size()));
  // While the store fails, writes wait for the retry tick, not for the batch size.
  if (st.pending.size() >= st.settings.max_batch && !st.failing_since)
    flush(self);
  if (!st.pending.empty())
    arm_tick(self, st.failing_since ? st.settings.retry_interval : st.settings.flush_interval);
}

// Connects the store (at start, and while it cannot be reached). True when it is ready.
bool probe(recorder_actor* self) {
  auto& st = self->state;
  auto ok = st.store->connect();
  if (ok) {
    if (st.failing_since)
      LOG_INFO("recorder", st.store->describe() << ": connected");
    st.counters->store_up.store(1);
    return true;
  }
  st.counters->store_up.store(0);
  const bool first = !st.failing_since;
  st.counters->set_error(ok.error());
  auto now = std::chrono::steady_clock::now();
  if (first || !st.last_failure_log ||
      now - *st.last_failure_log >= st.settings.failure_log_interval) {
    LOG_ERROR("recorder", ok.error() << " (the node runs; the class record waits and the store "
                                        "is tried again every "
                                     << st.settings.retry_interval.count() << " ms)");
    st.last_failure_log = now;
  }
  if (!st.failing_since)
    st.failing_since = now;
  return false;
}

caf::behavior recorder_impl(recorder_actor* self, std::shared_ptr<store::record_store> store,
                            recorder_settings settings,
                            std::shared_ptr<recorder_counters> counters) {
  auto& st = self->state;
  st.store = std::move(store);
  st.settings = settings;
  st.counters = counters ? std::move(counters) : std::make_shared<recorder_counters>();
  st.key_prefix = ids::random_token(16) + "-";
  LOG_INFO("recorder", "class record: " << st.store->describe());
  if (!probe(self))
    self->delayed_send(self, st.settings.retry_interval, recorder_probe_atom::value);
  // Shutdown: what the rooms send while they close (leaves, closes) still goes in.
  self->set_exit_handler([self](caf::exit_msg& em) {
    auto& st = self->state;
    if (st.stopping)
      return;
    st.stopping = true;
    if (!st.pending.empty())
      LOG_INFO("recorder", "stopping: " << st.pending.size() << " events waiting are written");
    flush(self);
    self->delayed_send(self, st.settings.shutdown_grace, recorder_stop_atom::value);
  });
  // Nothing sent here may end the recorder.
  self->set_default_handler([](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    LOG_WARN("recorder", "unexpected message dropped: " << to_string(x.copy_content_to_message()));
    return caf::message{};
  });
  self->set_error_handler([](caf::error& err) {
    LOG_WARN("recorder", "error message ignored: " << to_string(err));
  });
  return {
    [self](store::record_event& ev) { keep(self, std::move(ev)); },
    [self](recorder_tick_atom) {
      auto& st = self->state;
      st.tick_armed = false;
      if (!flush(self))
        arm_tick(self, st.settings.retry_interval);
    },
    [self](recorder_probe_atom) {
      auto& st = self->state;
      // Waiting events retry through flush (the tick); with none, connect again.
      if (st.stopping || !st.pending.empty())
        return;
      if (probe(self))
        st.failing_since.reset();
      else
        self->delayed_send(self, st.settings.retry_interval, recorder_probe_atom::value);
    },
    [self](record_flush_atom) -> bool { return flush(self); },
    [self](recorder_stop_atom) {
      auto& st = self->state;
      if (!flush(self))
        LOG_ERROR("recorder", st.store->describe()
                                << ": stopping with " << st.pending.size()
                                << " events not written");
      self->quit(caf::exit_reason::user_shutdown);
    },
  };
}

} // namespace

caf::actor spawn_recorder(caf::actor_system& sys, std::shared_ptr<store::record_store> store,
                          recorder_settings settings,
                          std::shared_ptr<recorder_counters> counters) {
  // Detached: SQLite blocks (disk, locks), so the recorder has a thread of its own and never
  // holds a scheduler worker that media actors need.
  return sys.spawn<caf::detached>(recorder_impl, std::move(store), settings,
                                  std::move(counters));
}

} // namespace chorus::actors
