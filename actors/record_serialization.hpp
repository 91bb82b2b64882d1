// CAF `inspect` overloads for the class record (store/record.hpp): record events may come
// from another node of a cluster, so they travel in CAF's binary format like every other
// message. Here, not next to the structs, so that store/ never includes CAF.
#pragma once

#include "actors/message_declaration.hpp"

#include "store/record.hpp"

#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>

#include <cstdint>
#include <type_traits>
#include <utility>
#include <variant>

namespace chorus::store {

CHORUS_FIELDS(room_opened, x.room_id, x.node_id, x.at_ms)
CHORUS_FIELDS(room_closed, x.room_id, x.node_id, x.at_ms)
CHORUS_FIELDS(peer_joined, x.room_id, x.peer_id, x.user_id, x.name, x.role, x.at_ms)
CHORUS_FIELDS(peer_left, x.room_id, x.peer_id, x.at_ms)
CHORUS_FIELDS(chat_posted, x.room_id, x.message_id, x.from_peer_id, x.from_user_id, x.name, x.text,
              x.to_peer_id, x.at_ms)
CHORUS_FIELDS(chat_deleted, x.room_id, x.message_id, x.by_peer_id, x.at_ms)
CHORUS_FIELDS(poll_created, x.room_id, x.poll_id, x.question, x.options, x.multiple, x.anonymous,
              x.created_by, x.at_ms)
CHORUS_FIELDS(vote_cast, x.room_id, x.poll_id, x.voter_peer_id, x.voter_user_id, x.options,
              x.previous, x.at_ms)
CHORUS_FIELDS(poll_closed, x.room_id, x.poll_id, x.counts, x.voters, x.at_ms)
CHORUS_FIELDS(recording_started, x.room_id, x.recording_id, x.started_by, x.node_id, x.at_ms)

CHORUS_FIELDS(recording_stopped, x.room_id, x.recording_id, x.manifest_path, x.files, x.duration_ms,
              x.at_ms)

CHORUS_FIELDS(meeting_created, x.room_id, x.creator_id, x.description, x.starts_at_ms, x.at_ms)

CHORUS_FIELDS(moderation_taken, x.room_id, x.action, x.target, x.by_peer_id, x.reason, x.at_ms)

CHORUS_FIELDS(class_resumed, x.room_id, x.node_id, x.chat, x.polls, x.votes, x.at_ms)

namespace detail {

// Makes `v` hold its alternative number `index` (default-constructed); false when out of
// range.
template <size_t I = 0>
bool emplace_index(record& v, size_t index) {
  if constexpr (I < std::variant_size_v<record>) {
    if (index == I) {
      v.emplace<I>();
      return true;
    }
    return emplace_index<I + 1>(v, index);
  } else {
    return false;
  }
}

} // namespace detail

// The alternative's index (one byte), then the alternative.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_event& x) {
  if constexpr (Inspector::reads_state) {
    auto index = static_cast<uint8_t>(x.body.index());
    return std::visit(
      [&](auto& alt) { return f(caf::meta::type_name("record_event"), index, alt); }, x.body);
  } else {
    uint8_t index = 0;
    if (auto err = f(caf::meta::type_name("record_event"), index))
      return err;
    if (!detail::emplace_index(x.body, index))
      return caf::make_error(caf::sec::invalid_argument);
    return std::visit([&](auto& alt) { return f(alt); }, x.body);
  }
}

} // namespace chorus::store
