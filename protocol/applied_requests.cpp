#include "protocol/applied_requests.hpp"

#include <algorithm>

namespace chorus::protocol {

std::optional<class_reply> applied_requests::find(uint64_t op, const std::string& peer_id,
                                                  int64_t now_ms) const {
  if (op == 0 || !count_.contains(op))
    return std::nullopt;
  // Newest first: a retried request was applied shortly before.
  for (auto i = order_.rbegin(); i != order_.rend(); ++i)
    if (i->op == op && i->peer_id == peer_id)
      return i->applied_ms + keep_ms_ >= now_ms ? std::optional{i->reply} : std::nullopt;
  return std::nullopt;
}

void applied_requests::add(uint64_t op, const std::string& peer_id, class_reply reply,
                           int64_t now_ms) {
  expire(now_ms);
  if (op == 0)
    return;
  order_.push_back({op, peer_id, std::move(reply), now_ms});
  ++count_[op];
  while (order_.size() > max_) {
    auto& first = order_.front();
    if (--count_[first.op] == 0)
      count_.erase(first.op);
    order_.pop_front();
  }
}

void applied_requests::merge(const std::vector<applied_request>& from, int64_t now_ms) {
  // Entries from the copy are older than any applied here since: they go first, in order.
  std::deque<applied_request> merged;
  for (auto& e : from)
    if (e.op != 0 && !find(e.op, e.peer_id, e.applied_ms))
      merged.push_back(e);
  for (auto& e : order_)
    merged.push_back(std::move(e));
  order_.clear();
  count_.clear();
  std::stable_sort(merged.begin(), merged.end(),
                   [](const auto& a, const auto& b) { return a.applied_ms < b.applied_ms; });
  for (auto& e : merged) {
    ++count_[e.op];
    order_.push_back(std::move(e));
  }
  expire(now_ms);
  while (order_.size() > max_) {
    if (--count_[order_.front().op] == 0)
      count_.erase(order_.front().op);
    order_.pop_front();
  }
}

std::vector<applied_request> applied_requests::items(int64_t now_ms) const {
  std::vector<applied_request> out;
  for (auto& e : order_)
    if (e.applied_ms + keep_ms_ >= now_ms)
      out.push_back(e);
  return out;
}

void applied_requests::expire(int64_t now_ms) {
  while (!order_.empty() && order_.front().applied_ms + keep_ms_ < now_ms) {
    if (--count_[order_.front().op] == 0)
      count_.erase(order_.front().op);
    order_.pop_front();
  }
}

} // namespace chorus::protocol
