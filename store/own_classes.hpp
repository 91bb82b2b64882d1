// The classes this node opened, by room id. Where several nodes write into one store
// (PostgreSQL), a node ties a room's records to the class it opened itself, not to the
// latest opening in the store, which another node may have written since. An opening or
// closing counts at once within its batch, and beyond it only once the batch committed.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace chorus::store {

class own_classes {
public:
  // A new batch: what the last one did without committing is forgotten.
  void begin_batch() {
    opened_in_batch_.clear();
    closed_in_batch_.clear();
  }

  // The class of `room_id` this node opened: in this batch, or committed before. Nothing:
  // none (the store's latest opening decides).
  std::optional<int64_t> find(const std::string& room_id) const {
    if (auto it = opened_in_batch_.find(room_id); it != opened_in_batch_.end())
      return it->second;
    if (auto it = committed_.find(room_id); it != committed_.end())
      return it->second;
    return std::nullopt;
  }

  void opened(const std::string& room_id, int64_t class_id) {
    opened_in_batch_[room_id] = class_id;
    closed_in_batch_.erase(room_id);
  }

  void closed(const std::string& room_id) {
    opened_in_batch_.erase(room_id);
    closed_in_batch_.insert(room_id);
  }

  // The batch committed: its openings and closings hold from now on.
  void commit_batch() {
    for (auto& [room, id] : opened_in_batch_)
      committed_[room] = id;
    for (auto& room : closed_in_batch_)
      committed_.erase(room);
  }

private:
  std::unordered_map<std::string, int64_t> committed_;
  std::unordered_map<std::string, int64_t> opened_in_batch_;
  std::set<std::string> closed_in_batch_;
};

} // namespace chorus::store
