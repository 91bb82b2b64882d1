#include "protocol/classroom.hpp"

#include <algorithm>

namespace chorus::protocol {

bool hand_queue::raise(std::string peer_id, std::string user_id, std::string name,
                       int64_t now_ms) {
  if (contains(peer_id))
    return false;
  hands_.push_back({std::move(peer_id), std::move(user_id), std::move(name), now_ms});
  return true;
}

bool hand_queue::lower(std::string_view peer_id) {
  return std::erase_if(hands_, [&](const hand_item& h) { return h.peer_id == peer_id; }) > 0;
}

bool hand_queue::contains(std::string_view peer_id) const noexcept {
  return std::any_of(hands_.begin(), hands_.end(),
                     [&](const hand_item& h) { return h.peer_id == peer_id; });
}

std::string check_chat_text(std::string_view text, std::size_t max_bytes) {
  if (text.empty())
    return "text must not be empty";
  if (text.size() > max_bytes)
    return "text is longer than " + std::to_string(max_bytes) + " bytes";
  for (unsigned char c : text)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
      return "text must not contain control characters (newline and tab are fine)";
  return {};
}

void chat_history::add(chat_item item) {
  if (capacity_ == 0)
    return;
  if (items_.size() == capacity_)
    items_.pop_front();
  items_.push_back(std::move(item));
}

chat_item* chat_history::find(std::string_view id) {
  for (auto& m : items_)
    if (m.id == id || (!m.client_id.empty() && m.client_id == id))
      return &m;
  return nullptr;
}

bool chat_history::erase(std::string_view id) {
  auto it = std::find_if(items_.begin(), items_.end(),
                         [&](const chat_item& m) { return m.id == id; });
  if (it == items_.end())
    return false;
  items_.erase(it);
  return true;
}

std::optional<poll> poll::make(std::string id, std::string question,
                               std::vector<std::string> options, bool multiple, bool anonymous,
                               std::string by, int64_t now_ms, std::string& error) {
  if (question.empty() || question.size() > max_poll_text_bytes) {
    error = "question must be 1 to " + std::to_string(max_poll_text_bytes) + " bytes";
    return std::nullopt;
  }
  if (options.size() < 2 || options.size() > max_poll_options) {
    error = "options must list 2 to " + std::to_string(max_poll_options) + " answers";
    return std::nullopt;
  }
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (options[i].empty() || options[i].size() > max_poll_text_bytes) {
      error = "options[" + std::to_string(i) + "] must be 1 to " +
              std::to_string(max_poll_text_bytes) + " bytes";
      return std::nullopt;
    }
    for (std::size_t j = 0; j < i; ++j)
      if (options[j] == options[i]) {
        error = "options[" + std::to_string(i) + "] repeats options[" + std::to_string(j) + "]";
        return std::nullopt;
      }
  }
  poll p;
  p.item_.id = std::move(id);
  p.item_.question = std::move(question);
  p.item_.counts.assign(options.size(), 0);
  p.item_.options = std::move(options);
  p.item_.multiple = multiple;
  p.item_.anonymous = anonymous;
  p.item_.by = std::move(by);
  p.item_.created_at = now_ms;
  return p;
}

poll::vote_result poll::vote(const std::string& voter, const std::vector<uint32_t>& choices) {
  if (closed_)
    return vote_result::closed;
  if (choices.empty())
    return vote_result::no_choice;
  std::vector<uint32_t> chosen;
  for (auto c : choices) {
    if (c >= item_.options.size())
      return vote_result::bad_option;
    if (std::find(chosen.begin(), chosen.end(), c) == chosen.end())
      chosen.push_back(c);
  }
  if (chosen.size() > 1 && !item_.multiple)
    return vote_result::one_only;
  std::sort(chosen.begin(), chosen.end());
  for (auto& [who, was] : votes_)
    if (who == voter) {
      for (auto c : was)
        --item_.counts[c];
      for (auto c : chosen)
        ++item_.counts[c];
      was = std::move(chosen);
      return vote_result::changed;
    }
  for (auto c : chosen)
    ++item_.counts[c];
  votes_.emplace_back(voter, std::move(chosen));
  ++item_.voters;
  return vote_result::counted;
}

bool poll::close() {
  if (closed_)
    return false;
  closed_ = true;
  item_.closed = true;
  return true;
}

poll_item poll::snapshot() const {
  return item_;
}

std::vector<uint32_t> poll::choices_of(const std::string& voter) const {
  for (auto& [who, was] : votes_)
    if (who == voter)
      return was;
  return {};
}

std::string_view to_string(poll::vote_result r) noexcept {
  switch (r) {
    case poll::vote_result::counted:
      return "counted";
    case poll::vote_result::changed:
      return "changed";
    case poll::vote_result::closed:
      return "the poll is closed";
    case poll::vote_result::no_choice:
      return "options must name at least one option";
    case poll::vote_result::bad_option:
      return "options names an option the poll does not have";
    case poll::vote_result::one_only:
      return "this poll takes one option per vote";
  }
  return "invalid vote";
}

} // namespace chorus::protocol
