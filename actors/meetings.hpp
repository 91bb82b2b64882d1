// Meetings registered through the HTTP API (POST /api/meetings, the seed 004 frontend's):
// id -> creator. Shared by the HTTP thread, which registers and reads them, and the rooms,
// which take their host from them (the creator of the meeting of the room's id). Kept in
// memory, and in the class record when there is one (read back at start by main); in a
// cluster every node holds every meeting (meetings_shared, actors/messages.hpp).
#pragma once

#include "protocol/meetings.hpp"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace chorus::actors {

class meeting_book {
public:
  enum class added : uint8_t { ok, exists, full };
  // A meeting of that id that exists is kept as it was.
  added add(const protocol::meeting& m) {
    std::lock_guard lock{mutex_};
    if (meetings_.count(m.id))
      return added::exists;
    if (meetings_.size() >= max_meetings)
      return added::full;
    meetings_.emplace(m.id, m);
    return added::ok;
  }
  // Every meeting, for a node that joined the cluster.
  std::vector<protocol::meeting> all() const {
    std::lock_guard lock{mutex_};
    std::vector<protocol::meeting> out;
    out.reserve(meetings_.size());
    for (auto& [id, m] : meetings_)
      out.push_back(m);
    return out;
  }
  std::optional<protocol::meeting> find(const std::string& id) const {
    std::lock_guard lock{mutex_};
    auto it = meetings_.find(id);
    if (it == meetings_.end())
      return std::nullopt;
    return it->second;
  }

  static constexpr std::size_t max_meetings = 100000;

private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, protocol::meeting> meetings_;
};

} // namespace chorus::actors
