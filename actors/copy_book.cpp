#include "actors/copy_book.hpp"

namespace chorus::actors {

void copy_book::keep(room_snapshot copy, const std::string& home) {
  auto it = copies_.find(copy.room_id);
  if (copy.forget) {
    if (it != copies_.end() && it->second.copy.version <= copy.version)
      copies_.erase(it);
    return;
  }
  if (it == copies_.end()) {
    auto id = copy.room_id;
    copies_.emplace(std::move(id), entry{std::move(copy), home});
  } else if (copy.version >= it->second.copy.version) {
    it->second = entry{std::move(copy), home};
  }
}

std::optional<room_snapshot> copy_book::take(const std::string& room_id, const live_test& live) {
  auto it = copies_.find(room_id);
  if (it == copies_.end())
    return std::nullopt;
  std::optional<room_snapshot> out;
  if (!live(it->second.home))
    out = std::move(it->second.copy);
  copies_.erase(it);
  return out;
}

const room_snapshot* copy_book::find(const std::string& room_id) const {
  auto it = copies_.find(room_id);
  return it == copies_.end() ? nullptr : &it->second.copy;
}

std::vector<std::string> copy_book::drop_orphans(const live_test& live) {
  std::vector<std::string> gone;
  for (auto it = copies_.begin(); it != copies_.end();) {
    if (!live(it->second.home)) {
      gone.push_back(it->first);
      it = copies_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

} // namespace chorus::actors
