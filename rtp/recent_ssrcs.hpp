// A bounded list of SSRCs, the least recently seen first: touch() moves a known SSRC to the
// end, appends a new one and, past the bound, hands back the one it pushed out. The
// transport keeps the SRTP state of the SSRCs it routes nowhere for as long as they are in
// such a list (actors/transport_media.hpp, note_unrouted). Pure; no allocation after the first
// `capacity` entries.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace chorus::rtp {

class recent_ssrcs {
public:
  explicit recent_ssrcs(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // Marks `ssrc` the most recently seen; returns the SSRC that left the list to make room
  // for it, if one did.
  std::optional<uint32_t> touch(uint32_t ssrc) {
    if (!list_.empty() && list_.back() == ssrc) // a stream that keeps sending: already last
      return std::nullopt;
    if (auto it = std::find(list_.begin(), list_.end(), ssrc); it != list_.end()) {
      std::rotate(it, it + 1, list_.end());
      return std::nullopt;
    }
    std::optional<uint32_t> out;
    if (list_.size() >= capacity_) {
      out = list_.front();
      list_.erase(list_.begin());
    }
    list_.push_back(ssrc);
    return out;
  }

  bool contains(uint32_t ssrc) const noexcept {
    return std::find(list_.begin(), list_.end(), ssrc) != list_.end();
  }
  std::size_t size() const noexcept { return list_.size(); }

private:
  std::size_t capacity_;
  std::vector<uint32_t> list_; // least recently seen first
};

} // namespace chorus::rtp
