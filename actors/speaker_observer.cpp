#include "actors/speaker_observer.hpp"

#include "actors/clock.hpp"
#include "actors/media_messages.hpp"
#include "common/log.hpp"
#include "rtp/active_speaker.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <optional>

namespace chorus::actors {

namespace {

using speaker_tick_atom = caf::atom_constant<caf::atom("spktick")>;
using levels_tick_atom = caf::atom_constant<caf::atom("lvltick")>;

struct speaker_observer_state {
  caf::actor room;
  speaker_observer_settings settings;
  std::optional<rtp::active_speaker_observer> observer;
  static inline const char* name = "chorus.speaker_observer";
};

using observer_actor = caf::stateful_actor<speaker_observer_state>;

caf::behavior speaker_observer_impl(observer_actor* self, caf::actor room,
                                    speaker_observer_settings settings) {
  auto& st = self->state;
  st.room = std::move(room);
  st.settings = settings;
  rtp::active_speaker_config cfg;
  cfg.levels_interval_ms = settings.levels_interval_ms;
  st.observer.emplace(cfg);
  // It lives as long as its room, also when the room ends normally (empty), which CAF's
  // default exit handler would ignore (and the timers would keep it alive).
  self->set_exit_handler([self](caf::exit_msg& em) { self->quit(em.reason); });
  const auto tick = std::chrono::milliseconds(cfg.interval_ms);
  self->delayed_send(self, tick, speaker_tick_atom::value);
  if (settings.levels_interval_ms > 0)
    self->delayed_send(self, std::chrono::milliseconds(settings.levels_interval_ms),
                       levels_tick_atom::value);
  return {
    [self](observe_producer& p) { self->state.observer->add_producer(std::move(p.producer_id)); },
    [self](producer_removed& r) { self->state.observer->remove_producer(r.producer_id); },
    [self](audio_level_batch& b) {
      auto& obs = *self->state.observer;
      const auto n = std::min(b.levels.size(), b.times_ms.size());
      for (size_t i = 0; i < n; ++i)
        if (!obs.add_level(b.producer_id, uint8_t(b.levels[i] & 0x7F),
                           (b.levels[i] & 0x80) != 0, b.times_ms[i]))
          return; // not (or no longer) observed
    },
    [self, tick](speaker_tick_atom) {
      auto& st = self->state;
      if (st.observer->size() > 0)
        if (auto changed = st.observer->tick(mono_ms()))
          self->send(st.room, dominant_speaker{std::move(*changed)});
      self->delayed_send(self, tick, speaker_tick_atom::value);
    },
    [self](levels_tick_atom) {
      auto& st = self->state;
      if (st.observer->size() > 0) {
        auto loudest = st.observer->loudest(st.settings.levels_count);
        if (!loudest.empty()) {
          audio_levels_report r;
          r.producer_ids.reserve(loudest.size());
          r.volumes_dbov.reserve(loudest.size());
          for (auto& v : loudest) {
            r.producer_ids.push_back(std::move(v.key));
            r.volumes_dbov.push_back(v.volume_dbov);
          }
          self->send(st.room, std::move(r));
        }
      }
      self->delayed_send(self, std::chrono::milliseconds(st.settings.levels_interval_ms),
                         levels_tick_atom::value);
    },
  };
}

} // namespace

caf::actor spawn_speaker_observer(caf::event_based_actor* room,
                                  speaker_observer_settings settings) {
  return room->spawn<caf::linked>(speaker_observer_impl, caf::actor_cast<caf::actor>(room),
                                  settings);
}

} // namespace chorus::actors
