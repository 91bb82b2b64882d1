// The live class's own state, kept by the room: the queue of raised hands, the
// chat and its history, polls. Pure values: time (Unix ms) is passed in; the room actor
// owns one of each and turns their answers into events (docs/protocol.md, "The live
// class").
#pragma once

#include "protocol/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

// Raised hands, oldest first. A peer is in the queue at most once.
class hand_queue {
public:
  // False when the peer's hand is up already (its place is kept).
  bool raise(std::string peer_id, std::string user_id, std::string name, int64_t now_ms);
  // False when the peer's hand was not up.
  bool lower(std::string_view peer_id);
  bool contains(std::string_view peer_id) const noexcept;
  const std::vector<hand_item>& items() const noexcept { return hands_; }

private:
  std::vector<hand_item> hands_;
};

// Why a chat text is refused ("" when it is fine): empty, longer than `max_bytes`, or holding
// control characters other than newline and tab. (The JSON reader has checked UTF-8.)
std::string check_chat_text(std::string_view text, std::size_t max_bytes);

// The last `capacity` public messages, oldest first (private ones are never kept here).
class chat_history {
public:
  explicit chat_history(std::size_t capacity = 200) : capacity_(capacity) {}
  void add(chat_item item);
  // False when no kept message has this id.
  bool erase(std::string_view id);
  // The kept message with this id or client id (the frontend's), nullptr if none.
  chat_item* find(std::string_view id);
  std::vector<chat_item> items() const { return {items_.begin(), items_.end()}; }
  std::size_t size() const noexcept { return items_.size(); }

private:
  std::size_t capacity_;
  std::deque<chat_item> items_;
};

inline constexpr std::size_t max_poll_options = 10;
inline constexpr std::size_t max_poll_text_bytes = 500;

// One poll: created open, votes counted per voter (a voter may change its vote until the
// poll closes), then closed for good.
class poll {
public:
  // Checks the question (1 .. max_poll_text_bytes) and the options (2 .. 10 distinct,
  // non-empty texts of at most max_poll_text_bytes); the error names what is wrong.
  static std::optional<poll> make(std::string id, std::string question,
                                  std::vector<std::string> options, bool multiple,
                                  bool anonymous, std::string by, int64_t now_ms,
                                  std::string& error);

  enum class vote_result : uint8_t { counted, changed, closed, no_choice, bad_option, one_only };
  // `choices`: option indexes. One per vote unless the poll allows several; duplicates
  // count once.
  vote_result vote(const std::string& voter, const std::vector<uint32_t>& choices);
  // False when it was closed already.
  bool close();

  bool closed() const noexcept { return closed_; }
  const std::string& id() const noexcept { return item_.id; }
  // The poll as the events show it: counts per option and the number of voters.
  poll_item snapshot() const;
  // What one voter chose (empty: has not voted).
  std::vector<uint32_t> choices_of(const std::string& voter) const;
  // Every vote, in the order the voters first voted (a moved room replays them).
  const std::vector<std::pair<std::string, std::vector<uint32_t>>>& votes() const noexcept {
    return votes_;
  }

private:
  poll_item item_;
  bool closed_ = false;
  std::vector<std::pair<std::string, std::vector<uint32_t>>> votes_; // voter -> choices
};

std::string_view to_string(poll::vote_result r) noexcept;

} // namespace chorus::protocol
