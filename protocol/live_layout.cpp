#include "protocol/live_layout.hpp"

#include <algorithm>

namespace chorus::protocol {

namespace {

bool usable(const stage_producer& p) { return !p.paused && p.readable; }

const stage_producer* find(const std::vector<stage_producer>& stage, const std::string& id) {
  if (id.empty())
    return nullptr;
  for (const auto& p : stage)
    if (p.producer_id == id && usable(p))
      return &p;
  return nullptr;
}

// The camera of the speaker view: the speaker's, else the one shown before, else the oldest.
std::string speaker_camera(const std::vector<stage_producer>& stage, const std::string& speaker,
                           const live_layout& before) {
  const stage_producer* oldest = nullptr;
  const stage_producer* speakers = nullptr;
  for (const auto& p : stage) {
    if (!p.video || p.screen || !usable(p))
      continue;
    if (!speaker.empty() && p.peer_id == speaker && (!speakers || p.order < speakers->order))
      speakers = &p;
    if (!oldest || p.order < oldest->order)
      oldest = &p;
  }
  if (speakers)
    return speakers->producer_id;
  for (const auto* id : {&before.main, &before.pip})
    if (const auto* p = find(stage, *id); p && p->video && !p->screen)
      return p->producer_id;
  return oldest ? oldest->producer_id : std::string();
}

} // namespace

live_layout choose_live_layout(const std::vector<stage_producer>& stage,
                               const std::string& speaker_peer_id, const live_layout& before,
                               std::size_t audio_slots) {
  live_layout out;
  const stage_producer* screen = nullptr;
  for (const auto& p : stage)
    if (p.video && p.screen && usable(p) && (!screen || p.order > screen->order))
      screen = &p;
  const auto camera = speaker_camera(stage, speaker_peer_id, before);
  if (screen) {
    out.main = screen->producer_id;
    out.pip = camera;
  } else {
    out.main = camera;
  }

  // Audio: the speaker's microphone, those in a slot already, then the oldest.
  std::vector<const stage_producer*> mics;
  for (const auto& p : stage)
    if (!p.video && usable(p))
      mics.push_back(&p);
  auto rank = [&](const stage_producer* p) {
    if (!speaker_peer_id.empty() && p->peer_id == speaker_peer_id)
      return 0;
    if (std::find(before.audio.begin(), before.audio.end(), p->producer_id) != before.audio.end())
      return 1;
    return 2;
  };
  std::stable_sort(mics.begin(), mics.end(), [&](const auto* a, const auto* b) {
    const int ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a->order < b->order;
  });
  if (mics.size() > audio_slots)
    mics.resize(audio_slots);
  out.audio.assign(audio_slots, std::string());
  std::vector<const stage_producer*> placed_later;
  for (const auto* m : mics) { // a chosen one keeps its slot
    auto at = std::find(before.audio.begin(), before.audio.end(), m->producer_id);
    const auto slot = std::size_t(at - before.audio.begin());
    if (at != before.audio.end() && slot < audio_slots)
      out.audio[slot] = m->producer_id;
    else
      placed_later.push_back(m);
  }
  for (const auto* m : placed_later)
    for (auto& slot : out.audio)
      if (slot.empty()) {
        slot = m->producer_id;
        break;
      }
  return out;
}

} // namespace chorus::protocol
