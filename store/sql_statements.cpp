// The statements' text, written once in SQLite's dialect; PostgreSQL's is derived from it
// where the dialects differ, with $N for ?N.
#include "store/sql_statements.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace chorus::store {

namespace {

// In the order of `statement`.
constexpr std::array<const char*, statement_count> sqlite_sql{
  "SELECT id FROM rooms WHERE room_id = ?1 ORDER BY id DESC LIMIT 1",
  "INSERT INTO rooms (room_id, node_id, opened_at) VALUES (?1, ?2, ?3)",
  "UPDATE rooms SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
  "UPDATE attendance SET left_at = ?2 WHERE class_id = ?1 AND left_at IS NULL",
  "INSERT INTO attendance (class_id, room_id, peer_id, user_id, name, role, joined_at) "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  "UPDATE attendance SET left_at = ?3 WHERE id = (SELECT id FROM attendance WHERE room_id = ?1 "
  "AND peer_id = ?2 AND left_at IS NULL ORDER BY id DESC LIMIT 1)",
  "INSERT INTO chat_messages (class_id, room_id, message_id, from_peer_id, from_user_id, name, "
  "text, to_peer_id, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
  "UPDATE chat_messages SET deleted = 1, deleted_by = ?3, deleted_at = ?4 WHERE id = (SELECT id "
  "FROM chat_messages WHERE room_id = ?1 AND message_id = ?2 ORDER BY id DESC LIMIT 1)",
  "INSERT INTO polls (class_id, room_id, poll_id, question, multiple, anonymous, created_by, "
  "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
  "INSERT INTO poll_options (poll, option_index, text) VALUES (?1, ?2, ?3)",
  "SELECT id, anonymous FROM polls WHERE room_id = ?1 AND poll_id = ?2 ORDER BY id DESC LIMIT 1",
  "DELETE FROM votes WHERE poll = ?1 AND voter_peer_id = ?2",
  "DELETE FROM votes WHERE id = (SELECT id FROM votes WHERE poll = ?1 AND voter_peer_id IS NULL "
  "AND option_index = ?2 LIMIT 1)",
  "INSERT INTO votes (poll, voter_peer_id, voter_user_id, option_index, voted_at) "
  "VALUES (?1, ?2, ?3, ?4, ?5)",
  "UPDATE polls SET closed_at = ?2, voters = ?3 WHERE id = ?1",
  "UPDATE poll_options SET final_count = ?3 WHERE poll = ?1 AND option_index = ?2",
  "INSERT INTO moderation_actions (class_id, room_id, action, target, by_peer_id, reason, at) "
  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  "INSERT OR IGNORE INTO meetings (meeting_id, creator_id, description, starts_at, created_at) "
  "VALUES (?1, ?2, ?3, ?4, ?5)",
  "INSERT OR IGNORE INTO recordings (recording_id, class_id, room_id, node_id, started_by, "
  "started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
  "UPDATE recordings SET stopped_at = ?2, duration_ms = ?3, files = ?4, manifest_path = ?5 "
  "WHERE recording_id = ?1",
  "INSERT OR IGNORE INTO record_batches (batch_key, events) VALUES (?1, ?2) RETURNING 1",
  "SELECT id FROM rooms WHERE room_id = ?1 AND id <> ?2 AND closed_at IS NULL ORDER BY id DESC "
  "LIMIT 1",
  "DELETE FROM rooms WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM attendance WHERE class_id = ?1) "
  "AND NOT EXISTS (SELECT 1 FROM chat_messages WHERE class_id = ?1) AND NOT EXISTS (SELECT 1 "
  "FROM polls WHERE class_id = ?1) AND NOT EXISTS (SELECT 1 FROM moderation_actions WHERE "
  "class_id = ?1) AND NOT EXISTS (SELECT 1 FROM recordings WHERE class_id = ?1)",
  "SELECT count(*) FROM chat_messages WHERE class_id = ?1 AND message_id = ?2",
  "SELECT count(*) FROM polls WHERE class_id = ?1 AND poll_id = ?2",
};

// SQLite's "INSERT OR IGNORE INTO t ... [RETURNING ...]" as PostgreSQL's "INSERT INTO t ...
// ON CONFLICT (key) DO NOTHING [RETURNING ...]".
std::string insert_or_ignore(std::string sql, const char* key) {
  constexpr std::string_view or_ignore = "OR IGNORE ";
  sql.erase(sql.find(or_ignore), or_ignore.size());
  const auto returning = std::min(sql.find(" RETURNING "), sql.size());
  return sql.insert(returning, std::string{" ON CONFLICT ("} + key + ") DO NOTHING");
}

} // namespace

std::string statement_sql(statement which, sql_dialect dialect) {
  std::string sql = sqlite_sql[static_cast<size_t>(which)];
  if (dialect == sql_dialect::sqlite)
    return sql;
  std::replace(sql.begin(), sql.end(), '?', '$');
  switch (which) {
  case statement::insert_room:
  case statement::insert_poll:
    return sql + " RETURNING id";
  case statement::insert_meeting:
    return insert_or_ignore(sql, "meeting_id");
  case statement::insert_recording:
    return insert_or_ignore(sql, "recording_id");
  case statement::claim_batch:
    return insert_or_ignore(sql, "batch_key");
  case statement::delete_one_anonymous: // the oldest such row (SQLite's takes any)
    return sql.insert(sql.rfind(" LIMIT 1)"), " ORDER BY id");
  default:
    return sql;
  }
}

} // namespace chorus::store
