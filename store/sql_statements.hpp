// The statements the record writer (store/record_writer.hpp) runs, named once for both
// backends, and their text in each backend's SQL dialect.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace chorus::store {

enum class statement : uint8_t {
  current_class,        // (room_id) -> the latest opening's id
  insert_room,          // (room_id, node_id, opened_at) -> the new row's id
  close_room,           // (class, closed_at)
  close_attendance,     // (class, left_at): everyone still there
  insert_attendance,    // (class, room_id, peer_id, user_id, name, role, joined_at)
  leave_attendance,     // (room_id, peer_id, left_at): the peer's open row
  insert_chat,          // (class, room_id, message_id, from_peer_id, from_user_id, name, text,
                        //  to_peer_id, sent_at)
  delete_chat,          // (room_id, message_id, deleted_by, deleted_at)
  insert_poll,          // (class, room_id, poll_id, question, multiple, anonymous, created_by,
                        //  created_at) -> the new row's id
  insert_option,        // (poll, option_index, text)
  find_poll,            // (room_id, poll_id) -> id, anonymous
  delete_votes_of,      // (poll, voter_peer_id)
  delete_one_anonymous, // (poll, option_index)
  insert_vote,          // (poll, voter_peer_id, voter_user_id, option_index, voted_at)
  close_poll,           // (poll, closed_at, voters)
  final_count,          // (poll, option_index, final_count)
  insert_moderation,    // (class, room_id, action, target, by_peer_id, reason, at)
  insert_meeting,       // (meeting_id, creator_id, description, starts_at, created_at)
  insert_recording,     // (recording_id, class, room_id, node_id, started_by, started_at)
  stop_recording,       // (recording_id, stopped_at, duration_ms, files, manifest_path)
  claim_batch,          // (batch_key, events) -> 1 when inserted; no row when the key was there
  earlier_open_class,   // (room_id, class) -> the latest other opening still open
  drop_room,            // (class): an opening given up for an earlier one (nothing in it)
  count_chat,           // (class, message_id) -> rows
  count_class_poll,     // (class, poll_id) -> rows
};

inline constexpr size_t statement_count = static_cast<size_t>(statement::count_class_poll) + 1;

enum class sql_dialect { sqlite, postgres };

// The text of `which` in `dialect`: parameters ?1, ?2, ... in SQLite and $1, $2, ... in
// PostgreSQL, where the inserts whose id the writer needs return it (RETURNING id; SQLite
// has last_insert_rowid) and a repeated meeting, recording or batch key is ignored with ON
// CONFLICT (SQLite: INSERT OR IGNORE).
std::string statement_sql(statement which, sql_dialect dialect);

} // namespace chorus::store
