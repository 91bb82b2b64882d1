// The copies a node holds of rooms homed on other nodes (re-homing, docs/design/cluster.md),
// each with the home it came from (a CAF node, as text): a newer version replaces an older
// one, a forget drops the copy held unless that one is newer. A room made on this node
// after its home was lost starts from the copy (take); copies whose home is gone and that
// no rebuild took are dropped (drop_orphans). Pure: the node actor drives it.
#pragma once

#include "actors/rehome_messages.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace chorus::actors {

class copy_book {
public:
  // Whether the node `home` (CAF node, as text) is among the live members.
  using live_test = std::function<bool(const std::string& home)>;

  // Keeps `copy` from `home`, or drops the held one for a forget (copy.forget).
  void keep(room_snapshot copy, const std::string& home);
  // The copy of `room_id` when the home it came from is not live (the room is made here
  // after its home was lost); nothing otherwise. Either way the book holds no copy of the
  // room afterwards: it is homed here now.
  std::optional<room_snapshot> take(const std::string& room_id, const live_test& live);
  // The copy of `room_id`, or null.
  const room_snapshot* find(const std::string& room_id) const;
  // Drops the copies whose home is not live; returns their room ids.
  std::vector<std::string> drop_orphans(const live_test& live);
  std::size_t size() const { return copies_.size(); }

private:
  struct entry {
    room_snapshot copy;
    std::string home;
  };
  std::unordered_map<std::string, entry> copies_;
};

} // namespace chorus::actors
