#include "bench/load/class_activity.hpp"

#include "bench/client/json_members.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>

namespace chorus::bench {

void class_activity_figures::merge(const class_activity_figures& other) {
  chat_sent += other.chat_sent;
  chat.merge(other.chat);
  votes_sent += other.votes_sent;
  tally.merge(other.tally);
  voters = std::max(voters, other.voters);
}

std::string chat_text(uint64_t sent_us) { return "bench-chat " + std::to_string(sent_us); }

std::string poll_question(uint64_t opened_us) { return "bench-poll " + std::to_string(opened_us); }

std::optional<uint64_t> sent_us_of(std::string_view text, std::string_view prefix) {
  if (text.size() <= prefix.size() + 1 || text.substr(0, prefix.size()) != prefix ||
      text[prefix.size()] != ' ')
    return std::nullopt;
  uint64_t v = 0;
  const char* first = text.data() + prefix.size() + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || end != last)
    return std::nullopt;
  return v;
}

namespace {

using client::string_member;

} // namespace

activity_reaction on_class_event(std::string_view type, std::string_view data, uint64_t now_us,
                                 uint32_t option, bool& voted, bool& tallied,
                                 class_activity_figures& f) {
  activity_reaction out;
  const bool chat = type == "chat-message";
  const bool started = type == "poll-started";
  const bool results = type == "poll-results" || type == "poll-closed";
  if (!chat && !started && !results)
    return out;
  rapidjson::Document doc;
  doc.Parse(data.data(), data.size());
  if (!doc.IsObject())
    return out;
  if (chat) {
    if (auto sent = sent_us_of(string_member(doc, "text"), "bench-chat"); sent && now_us >= *sent)
      f.chat.add(now_us - *sent);
    return out;
  }
  auto opened = sent_us_of(string_member(doc, "question"), "bench-poll");
  if (!opened)
    return out;
  if (started && !voted) {
    voted = true;
    ++f.votes_sent;
    out.vote_json = R"({"pollId":")" + std::string(string_member(doc, "pollId")) +
                    R"(","option":)" + std::to_string(option) + "}";
    return out;
  }
  if (results && !tallied) {
    auto it = doc.FindMember("voters");
    if (it != doc.MemberEnd() && it->value.IsUint64() && f.voters > 0 &&
        it->value.GetUint64() >= f.voters && now_us >= *opened) {
      tallied = true;
      f.tally.add(now_us - *opened);
    }
  }
  return out;
}

} // namespace chorus::bench
