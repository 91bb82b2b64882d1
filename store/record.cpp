#include "store/record.hpp"

#include <array>
#include <type_traits>

namespace chorus::store {

const std::string& room_of(const record& r) {
  return std::visit([](auto& x) -> const std::string& { return x.room_id; }, r);
}

const char* kind_name(const record& r) {
  static constexpr std::array<const char*, std::variant_size_v<record>> names{
    "room_opened",     "room_closed",       "peer_joined",      "peer_left",   "chat_posted",
    "chat_deleted",    "poll_created",      "vote_cast",        "poll_closed", "moderation_taken",
    "meeting_created", "recording_started", "recording_stopped", "class_resumed"};
  return names[r.index()];
}

} // namespace chorus::store
