// The class's activity in the measured window (--chat-per-s, --poll): the teacher (the
// class's publisher) sends chat messages at a steady rate and opens a poll at the window's
// start that every subscriber answers; every subscriber times each message's arrival and
// the first tally that counts every vote. The texts carry their send instant (mono_us of
// the generator, one clock for all its threads).
#pragma once

#include "bench/load/receiver.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::bench {

struct class_activity_figures {
  uint64_t chat_sent = 0;
  latency_histogram chat;  // a message's send to its arrival, per message and subscriber
  uint64_t votes_sent = 0;
  latency_histogram tally; // the poll's opening to a subscriber's first tally of every vote
  uint64_t voters = 0;     // the votes a full tally counts (the class's subscribers)

  void merge(const class_activity_figures& other);
};

// "bench-chat <us>" and the poll's question "bench-poll <us>"; the instant back from them.
std::string chat_text(uint64_t sent_us);
std::string poll_question(uint64_t opened_us);
std::optional<uint64_t> sent_us_of(std::string_view text, std::string_view prefix);

// What a subscriber does with one event of the class (its type and data as JSON text):
// times chat messages and the full tally, and answers a poll once (the vote it should send,
// as the request's data, is returned). `voted` and `tallied` are the subscriber's own.
struct activity_reaction {
  std::optional<std::string> vote_json;
};
activity_reaction on_class_event(std::string_view type, std::string_view data, uint64_t now_us,
                                 uint32_t option, bool& voted, bool& tallied,
                                 class_activity_figures& f);

} // namespace chorus::bench
