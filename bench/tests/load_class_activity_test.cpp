// The class's activity (--chat-per-s, --poll): the texts that carry their send instant, and
// what a subscriber does with each event: times chat messages, votes once when a poll
// starts, times the first tally that counts every vote; the options.
#include "bench/load/class_activity.hpp"
#include "bench/load/options.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::bench;

TEST_CASE("class activity: the send instant back from a text") {
  struct row {
    const char* name;
    std::string text;
    const char* prefix;
    std::optional<uint64_t> sent;
  };
  const row rows[] = {
    {"a chat text", chat_text(123456789), "bench-chat", 123456789},
    {"a poll question", poll_question(42), "bench-poll", 42},
    {"another prefix", chat_text(5), "bench-poll", std::nullopt},
    {"someone's chat", "hello class", "bench-chat", std::nullopt},
    {"no number", "bench-chat ", "bench-chat", std::nullopt},
    {"trailing text", "bench-chat 12x", "bench-chat", std::nullopt},
    {"no space", "bench-chat12", "bench-chat", std::nullopt},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    CHECK(sent_us_of(r.text, r.prefix) == r.sent);
  }
}

TEST_CASE("class activity: a subscriber times chat, votes once, times the full tally") {
  class_activity_figures f;
  f.voters = 3;
  bool voted = false, tallied = false;
  auto chat = R"({"id":"m1","from":"t","text":")" + chat_text(1'000) + R"(","at":0})";
  CHECK_FALSE(on_class_event("chat-message", chat, 3'500, 0, voted, tallied, f).vote_json);
  CHECK(f.chat.count() == 1);
  CHECK(f.chat.max_us() >= 2'500);
  // Someone else's chat and other events are not timed.
  on_class_event("chat-message", R"({"text":"hi"})", 4'000, 0, voted, tallied, f);
  on_class_event("participant-list-update", "[]", 4'000, 0, voted, tallied, f);
  CHECK(f.chat.count() == 1);

  const auto poll = [](int voters) {
    return R"({"pollId":"p3","question":")" + poll_question(10'000) +
           R"(","options":["yes","no"],"voters":)" + std::to_string(voters) + "}";
  };
  auto started = on_class_event("poll-started", poll(0), 11'000, 1, voted, tallied, f);
  REQUIRE(started.vote_json);
  CHECK(*started.vote_json == R"({"pollId":"p3","option":1})");
  CHECK(f.votes_sent == 1);
  CHECK_FALSE(on_class_event("poll-started", poll(0), 11'500, 1, voted, tallied, f).vote_json);
  CHECK(f.votes_sent == 1);
  on_class_event("poll-results", poll(2), 12'000, 1, voted, tallied, f);
  CHECK(f.tally.count() == 0); // not every vote yet
  on_class_event("poll-results", poll(3), 60'000, 1, voted, tallied, f);
  CHECK(f.tally.count() == 1);
  CHECK(f.tally.max_us() >= 50'000);
  on_class_event("poll-closed", poll(3), 90'000, 1, voted, tallied, f);
  CHECK(f.tally.count() == 1); // once per subscriber
}

TEST_CASE("class activity: the options") {
  auto parse = [](std::vector<std::string> args, std::string& error) {
    std::vector<char*> argv{const_cast<char*>("chorus-bench")};
    for (auto& a : args)
      argv.push_back(a.data());
    bool help = false;
    return parse_bench_options(int(argv.size()), argv.data(), error, help);
  };
  std::string error;
  auto ok = parse({"--url", "ws://127.0.0.1:1", "--chat-per-s", "2", "--poll", "--subscriber-role",
                   "viewer"},
                  error);
  REQUIRE(ok);
  CHECK(ok->chat_per_s == 2);
  CHECK(ok->poll);
  CHECK(ok->subscriber_role == "viewer");
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"--url", "ws://127.0.0.1:1", "--chat-per-s", "6"},
        {"--url", "ws://127.0.0.1:1", "--chat-per-s", "0"},
        {"--url", "ws://127.0.0.1:1", "--scenario", "meeting", "--poll"},
        {"--url", "ws://127.0.0.1:1", "--subscriber-role", "a b"}}) {
    CAPTURE(bad.back());
    CHECK_FALSE(parse(bad, error));
  }
}
