// Active (dominant) speaker selection and audio levels for one room, from the RFC 6464
// levels its audio producers send (rtp::parse_audio_level).
//
// The idea is that of Volfin & Cohen, "Dominant Speaker Identification for Multipoint
// Videoconferencing" (2012), which mediasoup's ActiveSpeakerObserver implements: judge
// speech activity per speaker relative to its own noise level, on three time scales, and
// let a challenger replace the dominant speaker only when it beats the dominant one on
// those scales. This is a simpler rendering of that idea, with counts of active 20 ms
// frames in sliding windows instead of the paper's likelihood scores, so that each
// decision can be explained with a number of milliseconds.
//
// Per producer (a key chosen by the caller, e.g. the producer id):
//
// 1. Sample activity. A sample (level L in -dBov, 0 loud .. 127 silence) is active when
//      L <= max_active_level                 (louder than an absolute floor) and
//      L + activity_margin_db <= noise_floor (clearly louder than this speaker's noise),
//    and, with use_voice_activity, its V bit is set. The noise floor (in -dBov) follows
//    the quietest level at once (a sample quieter than the floor becomes the floor) and
//    moves toward louder samples at most floor_rise_db_per_s while samples flow, so a
//    stationary noise (a fan, music) stops counting after a while, and a speaker's pauses
//    keep the floor at the room's quiet. It starts at max_active_level +
//    activity_margin_db (70), the quietest floor under which a sample can be active.
// 2. Frames. Time is cut into frames of frame_ms (20 ms, Opus' usual packet time). A frame
//    is active when an active sample fell in it. A sample also covers the frames since
//    the producer's previous sample, up to max_sample_span_ms (packets of 40 or 60 ms);
//    a longer gap (DTX, a paused or muted producer) counts as inactive frames.
// 3. Activity on three time scales: the fraction of active frames over the last
//      short  (short_window_ms,  300 ms): speaking now,
//      medium (medium_window_ms, 1 s):    speaking recently, the comparison between
//                                         speakers,
//      long   (long_window_ms,   5 s):    spoken at all lately; a producer with no active
//                                         frame in it is idle and not looked at (it costs
//                                         nothing per tick), and it breaks ties.
//    Counts are kept as sliding sums over a ring of the last long window's frames: O(1)
//    per sample and per elapsed frame, no allocation after add_producer.
// 4. Decision, on tick(now) (the owner calls it every interval_ms, 300 ms):
//    - without a dominant speaker (at the start, or after it was removed): the producer
//      that speaks now (short >= short_min_activity) and has spoken enough (medium >=
//      medium_min_activity) with the highest medium activity (then long, then key) becomes
//      dominant at once: nothing to protect yet;
//    - with one, a challenger leads at a tick when it speaks now (short >=
//      short_min_activity), has spoken enough (medium >= medium_min_activity) and clearly
//      more than the dominant speaker (medium >= dominant's medium + medium_margin). It
//      replaces the dominant speaker when it has led at every tick for hold_ms (the
//      hysteresis); the leading challenger with the highest medium activity wins. A tick
//      without the lead starts the count again, and a switch resets every lead.
//    - loudness: two speakers who both speak all the time (a continuous voice, music, or
//      two talking at once) have the same activity; then a challenger whose average level
//      is level_margin_db (10 dB) louder than the dominant speaker's also leads, but must
//      lead for level_hold_ms (3 s) to take over: a loud noise of a few seconds (a chair,
//      a door) does not take the floor from a speaker. The average is exponential with the
//      medium window as its time constant, so a cough barely moves it.
//    Consequences: a burst shorter than medium_min_activity x medium_window (400 ms) can
//    never lead; a longer one (a cough, "yes") leads only while it lasts plus the short
//    window's tail, far less than hold_ms. When everybody is silent nobody leads and the
//    last speaker stays. When A stops and B starts, B leads after ~0.65 s (B's medium
//    0.65, A's 0.35) and takes over at the first tick hold_ms later: 1.5-2 s after the
//    turn with ticks of 300 ms. Two speakers talking over each other with the same
//    activity do not flip-flop, and a margin of 0.25 (not 0.2) keeps a continuous noise
//    (activity 1.0) from taking over from a speaker whose syllables fill 80 % of frames.
//
// Levels (the audio-levels event, as mediasoup's AudioLevelObserver): every sample is
// added to its producer's sums for the current interval; loudest(n) closes the interval
// and returns the n producers with the highest average volume over it, in dBov (the mean
// of the samples' -level, rounded), at least levels_min_samples samples and a volume of
// at least levels_threshold_dbov, loudest first (ties by key).
//
// Time: now_ms is any monotonic millisecond clock. Time that stands still or goes back is
// harmless: a sample older than its producer's newest frame counts in that newest frame, a
// tick earlier than the previous one is taken as the previous one (no lead grows), and a
// jump forward longer than the long window just empties the windows.
//
// Pure code: no CAF, no clock, no allocation per sample or per tick (tick allocates the
// returned key only when the dominant speaker changes; loudest allocates its result).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace chorus::rtp {

struct active_speaker_config {
  // The owner's schedule (it runs the timers): tick() every interval_ms, loudest() every
  // levels_interval_ms (0: the audio-levels event is off).
  int64_t interval_ms = 300;
  int64_t levels_interval_ms = 500;

  // Sample activity.
  uint8_t max_active_level = 60;    // -60 dBov: quieter is never speech
  uint8_t activity_margin_db = 10;  // above the speaker's own noise floor
  double floor_rise_db_per_s = 2.0; // noise floor adaptation toward louder levels
  bool use_voice_activity = false;  // also require the sender's V bit (RFC 6464)

  // Frames and windows (each window a whole number of frames, short <= medium <= long).
  int64_t frame_ms = 20;
  int64_t max_sample_span_ms = 60;
  int64_t short_window_ms = 300;
  int64_t medium_window_ms = 1000;
  int64_t long_window_ms = 5000;

  // Decision.
  double short_min_activity = 0.5;  // fraction of the short window: speaking now
  double medium_min_activity = 0.4; // fraction of the medium window: spoken enough
  double medium_margin = 0.25;      // challenger's medium over the dominant's medium
  int64_t hold_ms = 800;            // how long a challenger must lead to take over
  // Loudness: when the challenger and the dominant speaker both speak, a challenger whose
  // level (an average over about medium_window_ms) is this much louder also leads; and
  // among speakers of equal medium activity the louder ranks first.
  double level_margin_db = 10;
  int64_t level_hold_ms = 3000; // a lead by loudness alone must last this long

  // Levels.
  size_t levels_min_samples = 5;
  int levels_threshold_dbov = -80;
};

// One producer's entry in the audio-levels event.
struct audio_volume {
  std::string key;
  int volume_dbov = -127; // average over the interval, -127..0
  bool operator==(const audio_volume&) const = default;
};

// A producer's activity now (fractions of active frames per window), for logs and tests.
struct speaker_activity {
  double short_term = 0;
  double medium_term = 0;
  double long_term = 0;
  bool idle = true; // no active frame in the long window
};

class active_speaker_observer {
public:
  explicit active_speaker_observer(active_speaker_config config = {});

  const active_speaker_config& config() const noexcept { return cfg_; }

  // Starts observing a producer. false when the key is empty or already present.
  bool add_producer(std::string key);
  // Stops observing it. When it was the dominant speaker there is none until the next tick
  // finds a speaker (no event for the removal itself). false when unknown.
  bool remove_producer(std::string_view key);
  bool has_producer(std::string_view key) const noexcept;
  size_t size() const noexcept { return speakers_.size(); }

  // One level sample (level_dbov: RFC 6464 -dBov, 0 loud .. 127 silence; larger values
  // are taken as 127). false when the producer is unknown (the sample is dropped).
  bool add_level(std::string_view key, uint8_t level_dbov, bool voice_activity,
                 int64_t now_ms) noexcept;

  // Brings every producer's windows to now_ms and decides. Returns the new dominant
  // speaker's key when it changed at this tick, nullopt otherwise.
  std::optional<std::string> tick(int64_t now_ms);

  // The dominant speaker's key, empty when there is none.
  std::string_view dominant() const noexcept;

  // Closes the levels interval: the n loudest producers over it (see above), loudest first.
  std::vector<audio_volume> loudest(size_t n);

  // A producer's activity as of its newest frame (tick brings every producer to now).
  std::optional<speaker_activity> activity(std::string_view key) const noexcept;

private:
  struct speaker {
    std::string key;
    std::vector<uint8_t> frames; // ring of the long window: 1 = active frame
    int64_t head = INT64_MIN;    // newest frame index (INT64_MIN: none yet)
    int64_t last_sample_ms = INT64_MIN;
    double floor = 127;          // noise floor, -dBov (set by add_producer)
    uint32_t short_count = 0, medium_count = 0, long_count = 0;
    int64_t lead_since = -1;     // tick time the current lead started, -1: not leading
    double level_avg = 127;      // -dBov, exponential average with time constant medium_window
    // Levels interval.
    uint64_t level_sum = 0;
    uint32_t level_count = 0;
  };
  struct key_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };

  int64_t frame_of(int64_t ms) const noexcept;
  void advance(speaker& s, int64_t frame) noexcept;
  void mark_active(speaker& s, int64_t frame) noexcept;
  speaker_activity activity_of(const speaker& s) const noexcept;
  bool better(const speaker& a, const speaker& b) const noexcept;

  active_speaker_config cfg_;
  uint32_t short_frames_, medium_frames_, long_frames_, span_frames_;
  std::vector<speaker> speakers_;
  std::unordered_map<std::string, size_t, key_hash, std::equal_to<>> index_;
  size_t dominant_ = npos;
  int64_t last_tick_ms_ = INT64_MIN;
  std::vector<std::pair<int, size_t>> scratch_; // loudest(): (volume, index), reused
  static constexpr size_t npos = static_cast<size_t>(-1);
};

} // namespace chorus::rtp
