// The speaker observer: one per room (spawned by the room on its first audio producer,
// linked to it; it ends with the room, however the room ends), owning the room's
// rtp::active_speaker_observer.
//
//   room --observe_producer / producer_removed--> observer   (the room's audio producers)
//   producer --audio_level_batch--> observer   (RFC 6464 levels, ~every 100 ms per producer)
//   observer --dominant_speaker--> room        (tick every 300 ms, when the speaker changes)
//   observer --audio_levels_report--> room     (every levels interval, the loudest few;
//                                               not sent when none qualifies)
//
// The room maps producer ids to participants and turns these into the active-speaker and
// audio-levels events. The observer holds no handle to producers: they hold its handle
// (attach_speaker_observer from the room) and it forgets them when the room says so.
#pragma once

#include <caf/fwd.hpp>

#include <cstddef>
#include <cstdint>

namespace chorus::actors {

struct speaker_observer_settings {
  uint32_t levels_interval_ms = 500; // 0: no audio-levels reports
  size_t levels_count = 3;           // producers per audio-levels report
};

// Spawns the observer linked to `room`, which gets its reports.
caf::actor spawn_speaker_observer(caf::event_based_actor* room,
                                  speaker_observer_settings settings);

} // namespace chorus::actors
