// The live-class requests a room applied, by operation id, with their answers: a request a
// session sends again (its answer was lost with the room's home) is answered from here
// instead of being applied twice. Kept for a while after each was applied (longer than a
// session waits for an answer), and carried in the room's copies, so that the room rebuilt
// on a survivor knows what the lost home applied and replicated. Pure: time is passed in.
#pragma once

#include "protocol/replies.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace chorus::protocol {

struct applied_request {
  uint64_t op = 0;         // the session's operation id (never 0)
  std::string peer_id;     // who sent it: an id applied for another peer is not a match
  class_reply reply;
  int64_t applied_ms = 0;  // when the room applied it (Unix ms)
};

class applied_requests {
public:
  // keep_ms: how long an entry is kept; max: at most this many (the oldest go first).
  applied_requests(int64_t keep_ms, std::size_t max) : keep_ms_(keep_ms), max_(max) {}

  // The answer given to `op` of `peer_id`, if it was applied and is still kept at now_ms.
  std::optional<class_reply> find(uint64_t op, const std::string& peer_id, int64_t now_ms) const;

  // Notes that `op` of `peer_id` was applied at now_ms with `reply` (op 0: not noted), and
  // drops what is older than keep_ms or beyond max.
  void add(uint64_t op, const std::string& peer_id, class_reply reply, int64_t now_ms);

  // Takes entries from a copy (a rebuilt or moved room), keeping those already here.
  void merge(const std::vector<applied_request>& from, int64_t now_ms);

  // What a copy carries: the entries still kept at now_ms, oldest first.
  std::vector<applied_request> items(int64_t now_ms) const;

  std::size_t size() const { return order_.size(); }

private:
  void expire(int64_t now_ms);

  int64_t keep_ms_;
  std::size_t max_;
  std::deque<applied_request> order_; // oldest first
  std::unordered_map<uint64_t, std::size_t> count_; // op -> entries with it in order_
};

} // namespace chorus::protocol
