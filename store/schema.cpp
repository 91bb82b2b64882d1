#include "store/schema.hpp"

#include <string_view>

namespace chorus::store {

namespace {

constexpr std::string_view tables_v1 = R"(CREATE TABLE schema_version (
  version INTEGER NOT NULL
);
-- One class: one opening of a room, until it closed.
CREATE TABLE rooms (
  id        {id},
  room_id   TEXT NOT NULL,
  node_id   TEXT NOT NULL,
  opened_at {int64} NOT NULL,          -- Unix ms
  closed_at {int64}                    -- NULL: still open (or its node stopped)
);
CREATE INDEX rooms_by_room_id ON rooms (room_id, id);
CREATE TABLE attendance (
  id        {id},
  class_id  {int64} REFERENCES rooms (id), -- NULL: the room's opening is not recorded
  room_id   TEXT NOT NULL,
  peer_id   TEXT NOT NULL,
  user_id   TEXT NOT NULL,             -- '': none given
  name      TEXT NOT NULL,
  role      TEXT NOT NULL,             -- '': none
  joined_at {int64} NOT NULL,
  left_at   {int64}                    -- NULL: still there (or its node stopped)
);
CREATE INDEX attendance_by_class ON attendance (class_id, peer_id);
CREATE INDEX attendance_by_room ON attendance (room_id, peer_id);
CREATE TABLE chat_messages (
  id           {id},
  class_id     {int64} REFERENCES rooms (id),
  room_id      TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  from_peer_id TEXT NOT NULL,
  from_user_id TEXT NOT NULL,
  name         TEXT NOT NULL,
  text         TEXT NOT NULL,
  to_peer_id   TEXT,                   -- NULL: to the room; else a private message
  sent_at      {int64} NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  deleted_by   TEXT,
  deleted_at   {int64}
);
CREATE INDEX chat_by_class ON chat_messages (class_id, id);
CREATE INDEX chat_by_room ON chat_messages (room_id, message_id);
CREATE TABLE polls (
  id         {id},
  class_id   {int64} REFERENCES rooms (id),
  room_id    TEXT NOT NULL,
  poll_id    TEXT NOT NULL,
  question   TEXT NOT NULL,
  multiple   INTEGER NOT NULL,
  anonymous  INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at {int64} NOT NULL,
  closed_at  {int64},
  voters     INTEGER                   -- at close
);
CREATE INDEX polls_by_class ON polls (class_id);
CREATE INDEX polls_by_room ON polls (room_id, poll_id);
CREATE TABLE poll_options (
  poll         {int64} NOT NULL REFERENCES polls (id),
  option_index INTEGER NOT NULL,
  text         TEXT NOT NULL,
  final_count  INTEGER,                -- at close
  PRIMARY KEY (poll, option_index)
);
-- A row per chosen option; a changed vote replaces the voter's rows. Anonymous polls keep
-- no voter ids and no times.
CREATE TABLE votes (
  id            {id},
  poll          {int64} NOT NULL REFERENCES polls (id),
  voter_peer_id TEXT,
  voter_user_id TEXT,
  option_index  INTEGER NOT NULL,
  voted_at      {int64}
);
CREATE INDEX votes_by_poll ON votes (poll, voter_peer_id);
CREATE TABLE moderation_actions (
  id         {id},
  class_id   {int64} REFERENCES rooms (id),
  room_id    TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT NOT NULL,            -- '': the room
  by_peer_id TEXT NOT NULL,
  reason     TEXT NOT NULL,
  at         {int64} NOT NULL
);
CREATE INDEX moderation_by_class ON moderation_actions (class_id);
)";

constexpr std::string_view added_tables = R"(CREATE TABLE IF NOT EXISTS meetings (
  meeting_id  TEXT PRIMARY KEY,
  creator_id  TEXT NOT NULL,
  description TEXT NOT NULL,
  starts_at   {int64},                  -- Unix ms; NULL: not given
  created_at  {int64} NOT NULL
);
CREATE TABLE IF NOT EXISTS recordings (
  recording_id  TEXT PRIMARY KEY,
  class_id      {int64} REFERENCES rooms (id), -- the class it records (NULL: unknown)
  room_id       TEXT NOT NULL,
  node_id       TEXT NOT NULL,
  started_by    TEXT,                     -- public id; NULL: recording.autoStart
  started_at    {int64} NOT NULL,
  stopped_at    {int64},
  duration_ms   {int64},
  files         INTEGER,
  manifest_path TEXT                      -- the manifest on node_id's disk
);
CREATE TABLE IF NOT EXISTS record_batches (
  batch_key TEXT PRIMARY KEY,             -- a recorder's batch, written once however often tried
  events    INTEGER NOT NULL
);
)";

std::string replaced(std::string_view line, std::string_view id, std::string_view int64) {
  std::string out;
  for (size_t i = 0; i < line.size();) {
    if (line.substr(i).starts_with("{id}")) {
      out += id;
      i += 4;
    } else if (line.substr(i).starts_with("{int64}")) {
      out += int64;
      i += 7;
    } else {
      out += line[i++];
    }
  }
  return out;
}

std::string postgres_line(std::string_view line) {
  const std::string sqlite = replaced(line, "INTEGER PRIMARY KEY", "INTEGER");
  std::string pg = replaced(line, "BIGSERIAL PRIMARY KEY", "BIGINT");
  for (std::string_view create : {"CREATE TABLE ", "CREATE INDEX "})
    if (pg.starts_with(create) && !std::string_view{pg}.substr(create.size()).starts_with("IF NOT EXISTS"))
      pg.insert(create.size(), "IF NOT EXISTS ");
  // A comment aligned in the SQLite text (two spaces or more before it) keeps its column.
  if (sqlite.find("  --") != std::string::npos) {
    const size_t column = sqlite.find("--");
    const size_t at = pg.find("--");
    std::string head = pg.substr(0, at);
    while (!head.empty() && head.back() == ' ')
      head.pop_back();
    const size_t pad = column > head.size() + 2 ? column - head.size() : 2;
    pg = head + std::string(pad, ' ') + pg.substr(at);
  }
  return pg;
}

std::string rendered(std::string_view text, sql_dialect dialect) {
  std::string out;
  for (size_t start = 0;;) {
    const size_t end = text.find('\n', start);
    const auto line = text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    out += dialect == sql_dialect::sqlite ? replaced(line, "INTEGER PRIMARY KEY", "INTEGER")
                                          : postgres_line(line);
    if (end == std::string_view::npos)
      return out;
    out += '\n';
    start = end + 1;
  }
}

} // namespace

std::string schema_sql(sql_dialect dialect) {
  return rendered(tables_v1, dialect) + rendered(added_tables, dialect);
}

std::string added_tables_sql(sql_dialect dialect) {
  return rendered(added_tables, dialect);
}

} // namespace chorus::store
