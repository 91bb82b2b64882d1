// Active speaker observer: dominant speaker selection over level traces (hysteresis, a
// cough, silence, removal, time standing still or going back, many producers), the noise
// floor, packet spans, and the loudest-n levels.
#include "rtp/active_speaker.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

using namespace chorus::rtp;

namespace {

constexpr uint8_t silent = 127;
constexpr uint8_t voice = 25;  // -25 dBov: ordinary speech into a headset
constexpr uint8_t cough = 10;  // -10 dBov: loud and short

// A producer's level over [from, to). Speech has gaps: with `syllables`, every 5th 20 ms
// frame of the segment is quiet (-90 dBov), so the speaker is active on 80 % of frames.
struct segment {
  std::string key;
  int64_t from, to;
  uint8_t level;
  bool syllables = true;
};

struct change {
  int64_t at;
  std::string key;
};

struct run_options {
  int64_t end_ms = 10000;
  int64_t packet_ms = 20;
  int64_t tick_ms = 300;
  bool send_silence = true; // false: no packets while silent (DTX, muted)
};

// Feeds every producer one sample per packet_ms (level from the segment covering that
// time, else silence) and ticks every tick_ms; returns the dominant speaker changes.
std::vector<change> run(active_speaker_observer& o, const std::vector<std::string>& keys,
                        const std::vector<segment>& trace, run_options opt = {}) {
  std::vector<change> out;
  for (int64_t t = 0; t < opt.end_ms; t += opt.packet_ms) {
    for (const auto& k : keys) {
      uint8_t level = silent;
      for (const auto& s : trace)
        if (s.key == k && t >= s.from && t < s.to) {
          level = s.level;
          if (s.syllables && ((t - s.from) / 20) % 5 == 4) level = 90;
        }
      if (level != silent || opt.send_silence) o.add_level(k, level, level < 60, t);
    }
    if (t % opt.tick_ms == 0)
      if (auto d = o.tick(t)) out.push_back({t, *d});
  }
  return out;
}

active_speaker_observer with(const std::vector<std::string>& keys, active_speaker_config c = {}) {
  active_speaker_observer o(c);
  for (const auto& k : keys) REQUIRE(o.add_producer(k));
  return o;
}

// One expected change: to `key`, at a tick in [not_before, not_after].
struct expected_change {
  std::string key;
  int64_t not_before, not_after;
};

} // namespace

TEST_CASE("active speaker: level traces") {
  const active_speaker_config c;
  struct row {
    const char* name;
    std::vector<segment> trace;
    int64_t end_ms;
    std::vector<expected_change> changes;
    std::string dominant_at_end;
  };
  const row rows[] = {
    {"one speaker only: dominant once it has spoken 400 ms",
     {{"A", 1000, 4000, voice}}, 6000, {{"A", 1400, 1800}}, "A"},
    {"two speakers swapping: B takes over after the hysteresis, not before",
     {{"A", 0, 5000, voice}, {"B", 5000, 10000, voice}}, 10000,
     {{"A", 300, 900}, {"B", 5000 + c.hold_ms + 400, 5000 + 2000}}, "B"},
    {"swapping back and forth",
     {{"A", 0, 4000, voice}, {"B", 4000, 8000, voice}, {"A", 8000, 12000, voice}}, 12000,
     {{"A", 300, 900}, {"B", 4000 + 1200, 4000 + 2000}, {"A", 8000 + 1200, 8000 + 2000}},
     "A"},
    {"a cough from B while A speaks: no switch",
     {{"A", 0, 6000, voice}, {"B", 3000, 3300, cough, false}}, 6000, {{"A", 300, 900}}, "A"},
    {"a cough from B in A's pause: no switch",
     {{"A", 0, 3000, voice}, {"B", 3300, 3600, cough, false}, {"A", 4000, 7000, voice}}, 7000,
     {{"A", 300, 900}}, "A"},
    {"B says a word (500 ms) in A's pause: no switch",
     {{"A", 0, 3000, voice}, {"B", 3200, 3700, voice, false}, {"A", 4200, 7000, voice}}, 7000,
     {{"A", 300, 900}}, "A"},
    {"B coughs three times in 1.5 s while A speaks: no switch",
     {{"A", 0, 6000, voice},
      {"B", 2000, 2250, cough, false},
      {"B", 2600, 2850, cough, false},
      {"B", 3200, 3450, cough, false}},
     6000, {{"A", 300, 900}}, "A"},
    {"B makes a continuous noise for 3 s while A speaks: no switch",
     {{"A", 0, 9000, voice}, {"B", 3200, 6200, cough, false}}, 9000, {{"A", 300, 900}}, "A"},
    {"B answers for 2 s in A's pause: B, then A again once B is done",
     {{"A", 0, 3000, voice}, {"B", 3200, 5200, voice}, {"A", 5500, 10000, voice}}, 10000,
     {{"A", 300, 900}, {"B", 3200 + 1200, 3200 + 2000}, {"A", 5500 + 1200, 5500 + 2000}},
     "A"},
    {"both silent: no switch, the last speaker is kept",
     {{"A", 0, 2000, voice}}, 10000, {{"A", 300, 900}}, "A"},
    {"silence, then B: B takes over after the hysteresis",
     {{"A", 0, 2000, voice}, {"B", 6000, 9000, voice}}, 9000,
     {{"A", 300, 900}, {"B", 6000 + c.hold_ms, 6000 + 2000}}, "B"},
    {"two continuous tones 32 dB apart start together: the louder one",
     {{"A", 0, 6000, 44, false}, {"B", 0, 6000, 12, false}}, 6000, {{"B", 300, 900}}, "B"},
    {"two continuous tones swap levels: the new louder one after the loudness hold",
     {{"A", 0, 5000, 12, false}, {"A", 5000, 16000, 44, false},
      {"B", 0, 5000, 44, false}, {"B", 5000, 16000, 12, false}}, 16000,
     {{"A", 300, 900}, {"B", 5000 + c.level_hold_ms, 5000 + c.level_hold_ms + 1500}}, "B"},
    {"a tone 5 dB louder joins a continuous one: within the margin, the first one stays",
     {{"A", 0, 10000, 25, false}, {"B", 1000, 10000, 20, false}}, 10000, {{"A", 300, 900}}, "A"},
    {"talking over each other with the same activity: no flip-flop",
     {{"A", 0, 8000, voice}, {"B", 1500, 8000, voice}}, 8000, {{"A", 300, 900}}, "A"},
    {"nobody ever speaks: no dominant speaker", {}, 5000, {}, ""},
  };
  for (const auto& r : rows) {
    const std::string name = r.name;
    CAPTURE(name);
    auto o = with({"A", "B", "C"});
    auto changes = run(o, {"A", "B", "C"}, r.trace, {.end_ms = r.end_ms});
    REQUIRE(changes.size() == r.changes.size());
    for (size_t i = 0; i < changes.size(); ++i) {
      CAPTURE(i);
      CHECK(changes[i].key == r.changes[i].key);
      CHECK(changes[i].at >= r.changes[i].not_before);
      CHECK(changes[i].at <= r.changes[i].not_after);
    }
    CHECK(o.dominant() == r.dominant_at_end);
  }
}

TEST_CASE("active speaker: the switch waits hold_ms of lead, at every tick") {
  for (int64_t hold : {int64_t(0), int64_t(600), int64_t(1500)}) {
    CAPTURE(hold);
    active_speaker_config c;
    c.hold_ms = hold;
    auto o = with({"A", "B"}, c);
    auto changes = run(o, {"A", "B"}, {{"A", 0, 5000, voice}, {"B", 5000, 10000, voice}},
                       {.end_ms = 10000});
    REQUIRE(changes.size() == 2);
    CHECK(changes[1].key == "B");
    // B leads from 5.7 s (medium ~0.6 against A's ~0.2, syllables included), then holds.
    CHECK(changes[1].at >= 5000 + 600 + hold);
    CHECK(changes[1].at <= 5000 + 600 + hold + 2 * c.interval_ms);
  }
}

TEST_CASE("active speaker: removing producers") {
  SUBCASE("the dominant speaker leaves while another speaks: that one at the next tick") {
    auto o = with({"A", "B"});
    auto changes = run(o, {"A", "B"}, {{"A", 0, 4000, voice}, {"B", 1500, 4000, voice}},
                       {.end_ms = 4000});
    REQUIRE(changes.size() == 1);
    CHECK(o.dominant() == "A");
    CHECK(o.remove_producer("A"));
    CHECK(o.dominant().empty());
    CHECK_FALSE(o.has_producer("A"));
    CHECK_FALSE(o.add_level("A", voice, true, 4000)); // dropped, not an error
    o.add_level("B", voice, true, 4000);
    CHECK(o.tick(4000) == std::optional<std::string>("B"));
    CHECK(o.dominant() == "B");
  }
  SUBCASE("the dominant speaker leaves in silence: nobody until someone speaks") {
    auto o = with({"A", "B", "C"});
    run(o, {"A", "B", "C"}, {{"A", 0, 2000, voice}}, {.end_ms = 3000});
    CHECK(o.dominant() == "A");
    CHECK(o.remove_producer("A"));
    CHECK(o.size() == 2);
    CHECK_FALSE(o.tick(3000).has_value());
    CHECK(o.dominant().empty());
    // C speaks from 3 s (the trace's clock continues; A is gone).
    std::vector<change> changes;
    for (int64_t t = 3000; t < 6000; t += 20) {
      o.add_level("B", silent, false, t);
      o.add_level("C", (t / 20) % 5 == 4 ? 90 : voice, true, t);
      if (t % 300 == 0)
        if (auto d = o.tick(t)) changes.push_back({t, *d});
    }
    REQUIRE(changes.size() == 1);
    CHECK(changes[0].key == "C");
    CHECK(changes[0].at <= 3000 + 900); // no dominant to protect: no hold
  }
  SUBCASE("a listener leaves: the dominant speaker is kept (indexes move)") {
    auto o = with({"A", "B", "C", "D"});
    run(o, {"A", "B", "C", "D"}, {{"D", 0, 2000, voice}}, {.end_ms = 2000});
    CHECK(o.dominant() == "D");
    CHECK(o.remove_producer("B")); // D moves into B's slot
    CHECK(o.dominant() == "D");
    CHECK(o.remove_producer("A"));
    CHECK(o.dominant() == "D");
    CHECK_FALSE(o.remove_producer("A"));
    CHECK_FALSE(o.remove_producer("unknown"));
    CHECK_FALSE(o.tick(2100).has_value());
    CHECK(o.has_producer("C"));
    CHECK(o.has_producer("D"));
  }
  SUBCASE("keys: empty refused, duplicates refused, re-adding after removal") {
    active_speaker_observer o;
    CHECK_FALSE(o.add_producer(""));
    CHECK(o.add_producer("A"));
    CHECK_FALSE(o.add_producer("A"));
    CHECK(o.remove_producer("A"));
    CHECK(o.add_producer("A"));
    CHECK(o.size() == 1);
    CHECK_FALSE(o.add_level("nobody", voice, true, 0));
  }
}

TEST_CASE("active speaker: loudest producers and average volume") {
  active_speaker_config c;
  auto o = with({"quiet", "loud", "mid", "few", "inaudible", "mixed", "tie"}, c);
  for (int64_t t = 0; t < 480; t += 20) { // 24 samples each
    o.add_level("quiet", 60, false, t);
    o.add_level("loud", 20, true, t);
    o.add_level("mid", 40, true, t);
    o.add_level("tie", 40, true, t);
    o.add_level("inaudible", 100, false, t); // -100 dBov, below the -80 threshold
    // Alternating -10 and -31 dBov: mean 20.5, rounded to 21 (away from zero).
    o.add_level("mixed", (t / 20) % 2 ? 31 : 10, true, t);
    if (t < 80) o.add_level("few", 0, true, t); // 4 samples: fewer than levels_min_samples
  }
  auto top = o.loudest(4);
  const std::vector<audio_volume> expected = {
    {"loud", -20}, {"mixed", -21}, {"mid", -40}, {"tie", -40}};
  CHECK(top == expected);
  // The interval closed: nothing until new samples.
  CHECK(o.loudest(4).empty());

  // Silence averages in: 10 samples at -30 and 10 silent ones: mean (300 + 1270) / 20.
  for (int64_t t = 500; t < 900; t += 20) o.add_level("loud", (t / 20) % 2 ? 30 : silent, true, t);
  auto next = o.loudest(10);
  REQUIRE(next.size() == 1);
  CHECK(next[0] == audio_volume{"loud", -79});
  CHECK(o.loudest(0).empty());

  // Everything, in order, with n larger than the producers.
  for (int64_t t = 900; t < 1400; t += 20) {
    o.add_level("quiet", 60, false, t);
    o.add_level("mid", 40, true, t);
    o.add_level("inaudible", 100, false, t);
  }
  const std::vector<audio_volume> all = {{"mid", -40}, {"quiet", -60}};
  CHECK(o.loudest(100) == all);
}

TEST_CASE("active speaker: time standing still or going back") {
  SUBCASE("every sample and tick at the same millisecond: no dominant, no crash") {
    auto o = with({"A", "B"});
    for (int i = 0; i < 2000; ++i) {
      o.add_level("A", voice, true, 1000);
      o.add_level("B", cough, true, 1000);
      CHECK_FALSE(o.tick(1000).has_value());
    }
    // All in one 20 ms frame: 1 active frame of 50 in the medium window.
    CHECK(o.activity("A")->medium_term == doctest::Approx(1.0 / 50));
    CHECK(o.dominant().empty());
  }
  SUBCASE("ticks going back do not grow a challenger's lead") {
    auto o = with({"A", "B"});
    run(o, {"A", "B"}, {{"A", 0, 1500, voice}}, {.end_ms = 3000});
    REQUIRE(o.dominant() == "A");
    CHECK(o.activity("A")->medium_term == 0); // A is silent: B would lead at once
    // B speaks at the real 3..5 s; the ticks report a clock that runs backwards.
    int64_t tick_clock = 3000;
    for (int64_t t = 3000; t < 5000; t += 20) {
      o.add_level("B", voice, true, t);
      if (t % 300 == 0) {
        tick_clock -= 300;
        CHECK_FALSE(o.tick(tick_clock).has_value());
      }
    }
    CHECK(o.dominant() == "A");
  }
  SUBCASE("samples going back count in the newest frame") {
    auto o = with({"A"});
    for (int64_t t = 5000; t > 0; t -= 20) o.add_level("A", voice, true, t);
    // 250 samples, all in the frame of 5000 ms.
    CHECK(o.activity("A")->long_term == doctest::Approx(1.0 / 250));
    CHECK_FALSE(o.tick(5000).has_value());
  }
  SUBCASE("a jump forward of an hour empties the windows, keeps the speaker") {
    auto o = with({"A", "B"});
    run(o, {"A", "B"}, {{"A", 0, 3000, voice}}, {.end_ms = 3000});
    REQUIRE(o.dominant() == "A");
    CHECK_FALSE(o.tick(3'600'000).has_value());
    CHECK(o.activity("A")->idle);
    CHECK(o.dominant() == "A");
    o.add_level("B", voice, true, 3'600'020);
    CHECK_FALSE(o.tick(3'600'100).has_value());
  }
  SUBCASE("negative clock values") {
    auto o = with({"A"});
    auto changes = run(o, {"A"}, {}, {.end_ms = 0});
    CHECK(changes.empty());
    for (int64_t t = -3000; t < 0; t += 20) o.add_level("A", voice, true, t);
    CHECK(o.tick(0) == std::optional<std::string>("A"));
  }
}

TEST_CASE("active speaker: noise floor, voice flag, packet spans") {
  SUBCASE("a stationary noise stops counting after a while") {
    auto o = with({"fan", "A"});
    // The fan at -50 dBov all along, never a quieter sample; A speaks from 20 s.
    std::vector<segment> trace = {{"fan", 0, 40000, 50, false}, {"A", 20000, 25000, voice}};
    auto changes = run(o, {"fan", "A"}, trace, {.end_ms = 25000});
    // The fan counts at first (no floor known yet), then its floor rises to it.
    REQUIRE(changes.size() == 2);
    CHECK(changes[0].key == "fan");
    CHECK(changes[1].key == "A");
    CHECK(changes[1].at <= 20000 + 2000); // 400 ms of speech, then the hold
    CHECK(o.activity("fan")->idle);
  }
  SUBCASE("a speaker over a noisy microphone still counts") {
    auto o = with({"A"});
    // Noise at -55 dBov for 30 s (floor settles there), then speech at -25 with pauses
    // back to the noise.
    for (int64_t t = 0; t < 30000; t += 20) o.add_level("A", 55, false, t);
    o.tick(30000);
    CHECK(o.activity("A")->idle);
    for (int64_t t = 30000; t < 32000; t += 20) o.add_level("A", (t / 20) % 5 == 4 ? 55 : voice, true, t);
    CHECK(o.tick(32000) == std::optional<std::string>("A"));
    CHECK(o.activity("A")->medium_term >= 0.75); // 4 frames in 5, the newest one empty
    CHECK(o.activity("A")->medium_term <= 0.8);
  }
  SUBCASE("use_voice_activity: samples without the V bit do not count") {
    active_speaker_config c;
    c.use_voice_activity = true;
    auto o = with({"A"}, c);
    for (int64_t t = 0; t < 2000; t += 20) o.add_level("A", voice, false, t);
    CHECK_FALSE(o.tick(2000).has_value());
    for (int64_t t = 2000; t < 4000; t += 20) o.add_level("A", voice, true, t);
    CHECK(o.tick(4000) == std::optional<std::string>("A"));
  }
  SUBCASE("60 ms packets count as continuous speech; DTX gaps do not") {
    auto o = with({"ptime60", "dtx"});
    for (int64_t t = 0; t < 2000; t += 60) o.add_level("ptime60", voice, true, t);
    for (int64_t t = 0; t < 2000; t += 400) o.add_level("dtx", voice, true, t);
    o.tick(1990);
    CHECK(o.activity("ptime60")->medium_term >= 0.95);
    CHECK(o.activity("dtx")->medium_term <= 0.2);
  }
}

TEST_CASE("active speaker: 300 producers, no quadratic blowup") {
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i) keys.push_back("producer-" + std::to_string(i));
  auto o = with(keys);
  const auto start = std::chrono::steady_clock::now();
  std::vector<change> changes;
  std::vector<audio_volume> last_levels;
  size_t samples = 0;
  for (int64_t t = 0; t < 20000; t += 20) {
    for (size_t i = 0; i < keys.size(); ++i) {
      uint8_t level = 70 + uint8_t(i % 40); // room noise, below the activity floor
      if (i == 137 && t >= 2000 && t < 10000) level = (t / 20) % 5 == 4 ? 90 : voice;
      if (i == 42 && t >= 10000) level = (t / 20) % 5 == 4 ? 90 : 30;
      o.add_level(keys[i], level, level < 60, t);
      ++samples;
    }
    if (t % 300 == 0)
      if (auto d = o.tick(t)) changes.push_back({t, *d});
    if (t % 500 == 0 && t > 0) last_levels = o.loudest(3);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(samples == 300000);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].key == "producer-137");
  CHECK(changes[1].key == "producer-42");
  CHECK(changes[1].at >= 10000 + 800);
  REQUIRE(last_levels.size() == 3);
  CHECK(last_levels[0].key == "producer-42");
  CHECK(last_levels[1].volume_dbov == -70); // the loudest room noise next (i % 40 == 0)
  // 300k samples and 67 ticks over 300 producers: milliseconds when linear. Generous
  // bound so that a slow machine or a debug build passes, a per-sample scan does not.
  CHECK(std::chrono::duration<double>(elapsed).count() < 2.0);
}
