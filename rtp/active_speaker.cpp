#include "rtp/active_speaker.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::rtp {

namespace {

constexpr uint8_t silence_level = 127;
constexpr int64_t none = INT64_MIN;
// Fractions are compared with this slack so that 30/50 >= 20/50 + 0.2 holds.
constexpr double epsilon = 1e-9;

bool at_least(double a, double b) noexcept { return a + epsilon >= b; }

int64_t floor_div(int64_t a, int64_t b) noexcept {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

size_t ring_slot(int64_t frame, uint32_t len) noexcept {
  int64_t m = frame % int64_t(len);
  if (m < 0) m += len;
  return size_t(m);
}

uint32_t frames_in(int64_t window_ms, int64_t frame_ms) noexcept {
  if (window_ms <= frame_ms) return 1;
  return uint32_t((window_ms + frame_ms - 1) / frame_ms);
}

} // namespace

active_speaker_observer::active_speaker_observer(active_speaker_config config) : cfg_(config) {
  if (cfg_.frame_ms < 1) cfg_.frame_ms = 1;
  long_frames_ = frames_in(cfg_.long_window_ms, cfg_.frame_ms);
  medium_frames_ = std::min(frames_in(cfg_.medium_window_ms, cfg_.frame_ms), long_frames_);
  short_frames_ = std::min(frames_in(cfg_.short_window_ms, cfg_.frame_ms), medium_frames_);
  span_frames_ = std::max<uint32_t>(1, uint32_t(std::max<int64_t>(0, cfg_.max_sample_span_ms) /
                                                cfg_.frame_ms));
  if (cfg_.levels_min_samples == 0) cfg_.levels_min_samples = 1;
  if (cfg_.floor_rise_db_per_s < 0) cfg_.floor_rise_db_per_s = 0;
}

bool active_speaker_observer::add_producer(std::string key) {
  if (key.empty() || index_.find(std::string_view(key)) != index_.end()) return false;
  speaker s;
  s.key = std::move(key);
  s.frames.assign(long_frames_, 0);
  // A floor just above the loudest level that can be inactive: the first samples of a
  // noisy microphone do not count for long, and any quieter sample lowers it at once.
  s.floor = std::min<double>(silence_level, double(cfg_.max_active_level) + cfg_.activity_margin_db);
  speakers_.push_back(std::move(s));
  index_.emplace(speakers_.back().key, speakers_.size() - 1);
  return true;
}

bool active_speaker_observer::remove_producer(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  const size_t i = it->second;
  index_.erase(it);
  if (dominant_ == i) dominant_ = npos;
  const size_t last = speakers_.size() - 1;
  if (i != last) {
    speakers_[i] = std::move(speakers_[last]);
    index_.find(std::string_view(speakers_[i].key))->second = i;
    if (dominant_ == last) dominant_ = i;
  }
  speakers_.pop_back();
  return true;
}

bool active_speaker_observer::has_producer(std::string_view key) const noexcept {
  return index_.find(key) != index_.end();
}

std::string_view active_speaker_observer::dominant() const noexcept {
  return dominant_ == npos ? std::string_view() : std::string_view(speakers_[dominant_].key);
}

int64_t active_speaker_observer::frame_of(int64_t ms) const noexcept {
  return floor_div(ms, cfg_.frame_ms);
}

// Moves the producer's newest frame forward to `frame`: frames that leave a window are
// subtracted from its count, the new frames start inactive.
void active_speaker_observer::advance(speaker& s, int64_t frame) noexcept {
  if (s.head == none) {
    s.head = frame;
    return;
  }
  if (frame <= s.head) return;
  if (s.long_count == 0) { // the ring is all zeros already (idle producer: O(1))
    s.head = frame;
    return;
  }
  if (frame - s.head >= int64_t(long_frames_)) {
    std::fill(s.frames.begin(), s.frames.end(), uint8_t(0));
    s.short_count = s.medium_count = s.long_count = 0;
    s.head = frame;
    return;
  }
  for (int64_t h = s.head + 1; h <= frame; ++h) {
    if (s.frames[ring_slot(h - short_frames_, long_frames_)]) --s.short_count;
    if (s.frames[ring_slot(h - medium_frames_, long_frames_)]) --s.medium_count;
    uint8_t& slot = s.frames[ring_slot(h, long_frames_)]; // held frame h - long_frames_
    if (slot) --s.long_count;
    slot = 0;
  }
  s.head = frame;
}

// Marks `frame` (within the long window behind the head) active.
void active_speaker_observer::mark_active(speaker& s, int64_t frame) noexcept {
  if (frame > s.head || frame <= s.head - int64_t(long_frames_)) return;
  uint8_t& slot = s.frames[ring_slot(frame, long_frames_)];
  if (slot) return;
  slot = 1;
  ++s.long_count;
  if (frame > s.head - int64_t(medium_frames_)) ++s.medium_count;
  if (frame > s.head - int64_t(short_frames_)) ++s.short_count;
}

bool active_speaker_observer::add_level(std::string_view key, uint8_t level_dbov,
                                        bool voice_activity, int64_t now_ms) noexcept {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  speaker& s = speakers_[it->second];
  const uint8_t level = std::min(level_dbov, silence_level);

  // Noise floor: down to a quieter level at once, up toward louder ones slowly, and only
  // for the time a packet can cover (a gap without packets does not raise it).
  int64_t dt = 0;
  if (s.last_sample_ms != none && now_ms > s.last_sample_ms)
    dt = std::min(now_ms - s.last_sample_ms, cfg_.max_sample_span_ms);
  // The level average: exponential, time constant medium_window (the first sample sets it).
  if (s.last_sample_ms == none) {
    s.level_avg = level;
  } else if (now_ms > s.last_sample_ms) {
    const double elapsed = double(std::min<int64_t>(now_ms - s.last_sample_ms, cfg_.medium_window_ms));
    const double k = 1.0 - std::exp(-elapsed / double(std::max<int64_t>(1, cfg_.medium_window_ms)));
    s.level_avg += (double(level) - s.level_avg) * k;
  }
  if (s.last_sample_ms == none || now_ms > s.last_sample_ms) s.last_sample_ms = now_ms;
  if (level >= s.floor)
    s.floor = level;
  else
    s.floor = std::max<double>(level, s.floor - cfg_.floor_rise_db_per_s * double(dt) / 1000.0);

  const bool active = level <= cfg_.max_active_level &&
                      double(level) + cfg_.activity_margin_db <= s.floor + epsilon &&
                      (!cfg_.use_voice_activity || voice_activity);

  // Frames: a sample older than the newest frame counts in the newest frame.
  const int64_t previous = s.head;
  int64_t frame = frame_of(now_ms);
  if (previous != none && frame < previous) frame = previous;
  advance(s, frame);
  if (active) {
    int64_t first = frame;
    if (previous != none && frame > previous)
      first = std::max(previous + 1, frame - int64_t(span_frames_) + 1);
    for (int64_t f = first; f <= frame; ++f) mark_active(s, f);
  }

  s.level_sum += level;
  ++s.level_count;
  return true;
}

speaker_activity active_speaker_observer::activity_of(const speaker& s) const noexcept {
  return {double(s.short_count) / short_frames_, double(s.medium_count) / medium_frames_,
          double(s.long_count) / long_frames_, s.long_count == 0};
}

std::optional<speaker_activity>
active_speaker_observer::activity(std::string_view key) const noexcept {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  return activity_of(speakers_[it->second]);
}

// Ranking among qualified speakers: medium activity, then loudness (by more than 1 dB), then
// long activity, then key.
bool active_speaker_observer::better(const speaker& a, const speaker& b) const noexcept {
  if (a.medium_count != b.medium_count) return a.medium_count > b.medium_count;
  if (std::abs(a.level_avg - b.level_avg) > 1.0) return a.level_avg < b.level_avg;
  if (a.long_count != b.long_count) return a.long_count > b.long_count;
  return a.key < b.key;
}

std::optional<std::string> active_speaker_observer::tick(int64_t now_ms) {
  const int64_t now = last_tick_ms_ == none ? now_ms : std::max(now_ms, last_tick_ms_);
  last_tick_ms_ = now;
  const int64_t frame = frame_of(now);
  for (auto& s : speakers_)
    if (s.head != none) advance(s, frame);

  auto speaks = [&](const speaker& s) {
    const auto a = activity_of(s);
    return !a.idle && at_least(a.short_term, cfg_.short_min_activity) &&
           at_least(a.medium_term, cfg_.medium_min_activity);
  };

  size_t best = npos;
  if (dominant_ == npos) {
    for (size_t i = 0; i < speakers_.size(); ++i)
      if (speaks(speakers_[i]) && (best == npos || better(speakers_[i], speakers_[best])))
        best = i;
  } else {
    const speaker& dom = speakers_[dominant_];
    const double dominant_medium = activity_of(dom).medium_term;
    const bool dominant_speaks = speaks(dom);
    for (size_t i = 0; i < speakers_.size(); ++i) {
      speaker& s = speakers_[i];
      if (i == dominant_) continue;
      const bool louder = dominant_speaks && s.level_avg + cfg_.level_margin_db <= dom.level_avg;
      const bool by_activity =
          speaks(s) && at_least(activity_of(s).medium_term, dominant_medium + cfg_.medium_margin);
      const bool leads = by_activity || (speaks(s) && louder);
      if (!leads) {
        s.lead_since = -1;
        continue;
      }
      if (s.lead_since < 0) s.lead_since = now;
      const int64_t hold = by_activity ? cfg_.hold_ms : std::max(cfg_.hold_ms, cfg_.level_hold_ms);
      if (now - s.lead_since >= hold && (best == npos || better(s, speakers_[best])))
        best = i;
    }
  }
  if (best == npos) return std::nullopt;
  dominant_ = best;
  for (auto& s : speakers_) s.lead_since = -1;
  return speakers_[best].key;
}

std::vector<audio_volume> active_speaker_observer::loudest(size_t n) {
  scratch_.clear();
  for (size_t i = 0; i < speakers_.size(); ++i) {
    speaker& s = speakers_[i];
    if (s.level_count >= cfg_.levels_min_samples) {
      const double mean = double(s.level_sum) / double(s.level_count);
      const int volume = -int(std::lround(mean));
      if (volume >= cfg_.levels_threshold_dbov) scratch_.emplace_back(volume, i);
    }
    s.level_sum = 0;
    s.level_count = 0;
  }
  const size_t k = std::min(n, scratch_.size());
  std::partial_sort(scratch_.begin(), scratch_.begin() + k, scratch_.end(),
                    [&](const auto& a, const auto& b) {
                      if (a.first != b.first) return a.first > b.first;
                      return speakers_[a.second].key < speakers_[b.second].key;
                    });
  std::vector<audio_volume> out;
  out.reserve(k);
  for (size_t j = 0; j < k; ++j)
    out.push_back({speakers_[scratch_[j].second].key, scratch_[j].first});
  return out;
}

} // namespace chorus::rtp
