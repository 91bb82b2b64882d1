// What a live stream of a room shows (actors/live_streamer.hpp): the speaker view, with a
// screen share large. The room's stage is its producers; the layout names which of them
// feed the composer's inputs:
// - main: the newest screen share; without one, the active speaker's camera; while the
//   speaker has none (or before anyone spoke), the camera main showed before, if it is
//   still there, else the oldest camera;
// - pip (a small picture in a corner, only over a screen share): the camera the speaker view
//   would show without the screen share;
// - audio: up to `audio_slots` microphones, each keeping its slot while it is chosen: the
//   active speaker's first, then those already in a slot, then the oldest.
// Paused producers and codecs the composer cannot read are left out. Pure: the stage and
// the layout before in, the layout out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace chorus::protocol {

struct stage_producer {
  std::string producer_id;
  std::string peer_id;
  bool video = false;
  bool screen = false;    // a screen share (appData.source "screen", or the share flag)
  bool paused = false;
  bool readable = true;   // a codec the composer reads (VP8, H264, Opus)
  uint64_t order = 0;     // when it came (larger: newer)
};

struct live_layout {
  std::string main;                // "" : nobody (the composer shows black)
  std::string pip;                 // "" : none
  std::vector<std::string> audio;  // audio_slots entries, "" where silent
  bool operator==(const live_layout&) const = default;
};

live_layout choose_live_layout(const std::vector<stage_producer>& stage,
                               const std::string& speaker_peer_id, const live_layout& before,
                               std::size_t audio_slots);

} // namespace chorus::protocol
