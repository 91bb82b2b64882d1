// The class record in one SQLite file: schema created on first use (schema_version),
// WAL journal, a busy timeout, statements prepared once, one transaction per batch.
#include "store/record_store.hpp"

#include <sqlite3.h>

#include <array>
#include <string_view>
#include <type_traits>

namespace chorus::store {

namespace {

// The meetings of the HTTP API; also created in files made before it existed (additive: the
// schema version stays 1).
#define CHORUS_MEETINGS_SQL \
  "CREATE TABLE IF NOT EXISTS meetings (\n" \
  "  meeting_id  TEXT PRIMARY KEY,\n" \
  "  creator_id  TEXT NOT NULL,\n" \
  "  description TEXT NOT NULL,\n" \
  "  starts_at   INTEGER,                  -- Unix ms; NULL: not given\n" \
  "  created_at  INTEGER NOT NULL\n" \
  ");\n"

// The recordings of classes (seed 003); additive like the meetings.
#define CHORUS_RECORDINGS_SQL \
  "CREATE TABLE IF NOT EXISTS recordings (\n" \
  "  recording_id  TEXT PRIMARY KEY,\n" \
  "  class_id      INTEGER REFERENCES rooms (id), -- the class it records (NULL: unknown)\n" \
  "  room_id       TEXT NOT NULL,\n" \
  "  node_id       TEXT NOT NULL,\n" \
  "  started_by    TEXT,                     -- public id; NULL: recording.autoStart\n" \
  "  started_at    INTEGER NOT NULL,\n" \
  "  stopped_at    INTEGER,\n" \
  "  duration_ms   INTEGER,\n" \
  "  files         INTEGER,\n" \
  "  manifest_path TEXT                      -- the manifest on node_id's disk\n" \
  ");\n"

constexpr const char* schema_sql = R"(CREATE TABLE schema_version (
  version INTEGER NOT NULL
);
-- One class: one opening of a room, until it closed.
CREATE TABLE rooms (
  id        INTEGER PRIMARY KEY,
  room_id   TEXT NOT NULL,
  node_id   TEXT NOT NULL,
  opened_at INTEGER NOT NULL,          -- Unix ms
  closed_at INTEGER                    -- NULL: still open (or its node stopped)
);
CREATE INDEX rooms_by_room_id ON rooms (room_id, id);
CREATE TABLE attendance (
  id        INTEGER PRIMARY KEY,
  class_id  INTEGER REFERENCES rooms (id), -- NULL: the room's opening is not recorded
  room_id   TEXT NOT NULL,
  peer_id   TEXT NOT NULL,
  user_id   TEXT NOT NULL,             -- '': none given
  name      TEXT NOT NULL,
  role      TEXT NOT NULL,             -- '': none
  joined_at INTEGER NOT NULL,
  left_at   INTEGER                    -- NULL: still there (or its node stopped)
);
CREATE INDEX attendance_by_class ON attendance (class_id, peer_id);
CREATE INDEX attendance_by_room ON attendance (room_id, peer_id);
CREATE TABLE chat_messages (
  id           INTEGER PRIMARY KEY,
  class_id     INTEGER REFERENCES rooms (id),
  room_id      TEXT NOT NULL,
  message_id   TEXT NOT NULL,
  from_peer_id TEXT NOT NULL,
  from_user_id TEXT NOT NULL,
  name         TEXT NOT NULL,
  text         TEXT NOT NULL,
  to_peer_id   TEXT,                   -- NULL: to the room; else a private message
  sent_at      INTEGER NOT NULL,
  deleted      INTEGER NOT NULL DEFAULT 0,
  deleted_by   TEXT,
  deleted_at   INTEGER
);
CREATE INDEX chat_by_class ON chat_messages (class_id, id);
CREATE INDEX chat_by_room ON chat_messages (room_id, message_id);
CREATE TABLE polls (
  id         INTEGER PRIMARY KEY,
  class_id   INTEGER REFERENCES rooms (id),
  room_id    TEXT NOT NULL,
  poll_id    TEXT NOT NULL,
  question   TEXT NOT NULL,
  multiple   INTEGER NOT NULL,
  anonymous  INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  closed_at  INTEGER,
  voters     INTEGER                   -- at close
);
CREATE INDEX polls_by_class ON polls (class_id);
CREATE INDEX polls_by_room ON polls (room_id, poll_id);
CREATE TABLE poll_options (
  poll         INTEGER NOT NULL REFERENCES polls (id),
  option_index INTEGER NOT NULL,
  text         TEXT NOT NULL,
  final_count  INTEGER,                -- at close
  PRIMARY KEY (poll, option_index)
);
-- A row per chosen option; a changed vote replaces the voter's rows. Anonymous polls keep
-- no voter ids and no times.
CREATE TABLE votes (
  id            INTEGER PRIMARY KEY,
  poll          INTEGER NOT NULL REFERENCES polls (id),
  voter_peer_id TEXT,
  voter_user_id TEXT,
  option_index  INTEGER NOT NULL,
  voted_at      INTEGER
);
CREATE INDEX votes_by_poll ON votes (poll, voter_peer_id);
CREATE TABLE moderation_actions (
  id         INTEGER PRIMARY KEY,
  class_id   INTEGER REFERENCES rooms (id),
  room_id    TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT NOT NULL,            -- '': the room
  by_peer_id TEXT NOT NULL,
  reason     TEXT NOT NULL,
  at         INTEGER NOT NULL
);
CREATE INDEX moderation_by_class ON moderation_actions (class_id);
)" CHORUS_MEETINGS_SQL CHORUS_RECORDINGS_SQL;

struct stmt_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

struct db_deleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using db_ptr = std::unique_ptr<sqlite3, db_deleter>;

// The statements, in the order of `statement_sql`.
enum stmt : size_t {
  begin_tx,
  commit_tx,
  rollback_tx,
  current_class,
  insert_room,
  close_room,
  close_attendance,
  insert_attendance,
  leave_attendance,
  insert_chat,
  delete_chat,
  insert_poll,
  insert_option,
  find_poll,
  delete_votes_of,
  delete_one_anonymous,
  insert_vote,
  close_poll,
  final_count,
  insert_moderation,
  insert_meeting,
  insert_recording,
  stop_recording,
  stmt_count
};

constexpr std::array<const char*, stmt_count> statement_sql{
  "BEGIN IMMEDIATE",
  "COMMIT",
  "ROLLBACK",
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
};

// Binds by position (1-based); returns the first SQLite error code.
struct binder {
  sqlite3_stmt* s;
  int rc = SQLITE_OK;
  int next = 1;

  binder& text(std::string_view v) {
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_text(s, next, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    ++next;
    return *this;
  }
  // "" binds NULL.
  binder& text_or_null(std::string_view v) { return v.empty() ? null() : text(v); }
  binder& integer(int64_t v) {
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_int64(s, next, v);
    ++next;
    return *this;
  }
  // 0 (no such row) binds NULL.
  binder& id_or_null(int64_t v) { return v == 0 ? null() : integer(v); }
  binder& null() {
    if (rc == SQLITE_OK)
      rc = sqlite3_bind_null(s, next);
    ++next;
    return *this;
  }
};

class sqlite_store final : public record_store {
public:
  sqlite_store(db_ptr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  result<bool> prepare() {
    for (size_t i = 0; i < stmt_count; ++i) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v3(db_.get(), statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s,
                             nullptr) != SQLITE_OK)
        return failure{describe() + ": preparing a statement: " + sqlite3_errmsg(db_.get())};
      stmts_[i].reset(s);
    }
    return true;
  }

  std::string describe() const override { return "sqlite:" + path_; }

  result<size_t> apply(const std::vector<record_event>& batch) override {
    if (batch.empty())
      return size_t{0};
    if (int rc = run(begin_tx); rc != SQLITE_DONE)
      return fail("begin");
    size_t written = 0;
    for (auto& ev : batch) {
      int rc = std::visit([&](auto& r) { return write(r); }, ev.body);
      if (rc == SQLITE_ROW) // skipped: refers to a poll this file does not hold
        continue;
      if (rc != SQLITE_DONE) {
        auto f = fail(std::string{"writing "} + kind_name(ev.body) + " of room '" +
                      room_of(ev.body) + "'");
        run(rollback_tx);
        return f;
      }
      ++written;
    }
    if (int rc = run(commit_tx); rc != SQLITE_DONE) {
      auto f = fail("commit");
      if (!sqlite3_get_autocommit(db_.get()))
        run(rollback_tx);
      return f;
    }
    return written;
  }

private:
  failure fail(const std::string& what) const {
    return failure{describe() + ": " + what + ": " + sqlite3_errmsg(db_.get())};
  }

  sqlite3_stmt* get(stmt which) {
    auto* s = stmts_[which].get();
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
  }

  // Steps a statement to its end: SQLITE_DONE, or the error.
  int finish(sqlite3_stmt* s, int bind_rc = SQLITE_OK) {
    if (bind_rc != SQLITE_OK)
      return bind_rc;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    sqlite3_reset(s);
    return rc;
  }

  int run(stmt which) { return finish(get(which)); }

  // The latest opening of `room_id` (0: none recorded), or a negative SQLite error.
  int64_t class_of(const std::string& room_id, int& rc) {
    auto* s = get(current_class);
    rc = binder{s}.text(room_id).rc;
    if (rc != SQLITE_OK)
      return 0;
    int64_t id = 0;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      id = sqlite3_column_int64(s, 0);
      rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    return id;
  }

  int write(const room_opened& r) {
    auto* s = get(insert_room);
    return finish(s, binder{s}.text(r.room_id).text(r.node_id).integer(r.at_ms).rc);
  }

  int write(const room_closed& r) {
    int rc;
    auto cls = class_of(r.room_id, rc);
    if (rc != SQLITE_DONE || cls == 0)
      return rc;
    auto* s = get(close_room);
    if ((rc = finish(s, binder{s}.integer(cls).integer(r.at_ms).rc)) != SQLITE_DONE)
      return rc;
    s = get(close_attendance);
    return finish(s, binder{s}.integer(cls).integer(r.at_ms).rc);
  }

  int write(const peer_joined& r) {
    int rc;
    auto cls = class_of(r.room_id, rc);
    if (rc != SQLITE_DONE)
      return rc;
    auto* s = get(insert_attendance);
    return finish(s, binder{s}
                       .id_or_null(cls)
                       .text(r.room_id)
                       .text(r.peer_id)
                       .text(r.user_id)
                       .text(r.name)
                       .text(r.role)
                       .integer(r.at_ms)
                       .rc);
  }

  int write(const peer_left& r) {
    auto* s = get(leave_attendance);
    return finish(s, binder{s}.text(r.room_id).text(r.peer_id).integer(r.at_ms).rc);
  }

  int write(const chat_posted& r) {
    int rc;
    auto cls = class_of(r.room_id, rc);
    if (rc != SQLITE_DONE)
      return rc;
    auto* s = get(insert_chat);
    return finish(s, binder{s}
                       .id_or_null(cls)
                       .text(r.room_id)
                       .text(r.message_id)
                       .text(r.from_peer_id)
                       .text(r.from_user_id)
                       .text(r.name)
                       .text(r.text)
                       .text_or_null(r.to_peer_id)
                       .integer(r.at_ms)
                       .rc);
  }

  int write(const chat_deleted& r) {
    auto* s = get(delete_chat);
    return finish(s, binder{s}
                       .text(r.room_id)
                       .text(r.message_id)
                       .text_or_null(r.by_peer_id)
                       .integer(r.at_ms)
                       .rc);
  }

  int write(const poll_created& r) {
    int rc;
    auto cls = class_of(r.room_id, rc);
    if (rc != SQLITE_DONE)
      return rc;
    auto* s = get(insert_poll);
    rc = finish(s, binder{s}
                     .id_or_null(cls)
                     .text(r.room_id)
                     .text(r.poll_id)
                     .text(r.question)
                     .integer(r.multiple ? 1 : 0)
                     .integer(r.anonymous ? 1 : 0)
                     .text(r.created_by)
                     .integer(r.at_ms)
                     .rc);
    if (rc != SQLITE_DONE)
      return rc;
    auto poll = sqlite3_last_insert_rowid(db_.get());
    for (size_t i = 0; i < r.options.size(); ++i) {
      s = get(insert_option);
      rc = finish(s, binder{s}
                       .integer(poll)
                       .integer(static_cast<int64_t>(i))
                       .text(r.options[i])
                       .rc);
      if (rc != SQLITE_DONE)
        return rc;
    }
    return SQLITE_DONE;
  }

  // The row of a poll (0: none) and whether it is anonymous.
  int64_t poll_of(const std::string& room_id, const std::string& poll_id, bool& anonymous,
                  int& rc) {
    auto* s = get(find_poll);
    rc = binder{s}.text(room_id).text(poll_id).rc;
    if (rc != SQLITE_OK)
      return 0;
    int64_t id = 0;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      id = sqlite3_column_int64(s, 0);
      anonymous = sqlite3_column_int64(s, 1) != 0;
      rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    return id;
  }

  // SQLITE_ROW: skipped (the poll is not in this file: its creation was not recorded).
  int write(const vote_cast& r) {
    int rc;
    bool anonymous = true;
    auto poll = poll_of(r.room_id, r.poll_id, anonymous, rc);
    if (rc != SQLITE_DONE)
      return rc;
    if (poll == 0)
      return SQLITE_ROW;
    sqlite3_stmt* s;
    if (anonymous) {
      for (auto idx : r.previous) {
        s = get(delete_one_anonymous);
        if ((rc = finish(s, binder{s}.integer(poll).integer(idx).rc)) != SQLITE_DONE)
          return rc;
      }
    } else {
      s = get(delete_votes_of);
      if ((rc = finish(s, binder{s}.integer(poll).text(r.voter_peer_id).rc)) != SQLITE_DONE)
        return rc;
    }
    for (auto idx : r.options) {
      s = get(insert_vote);
      binder b{s};
      b.integer(poll);
      if (anonymous)
        b.null().null().integer(idx).null();
      else
        b.text(r.voter_peer_id).text(r.voter_user_id).integer(idx).integer(r.at_ms);
      if ((rc = finish(s, b.rc)) != SQLITE_DONE)
        return rc;
    }
    return SQLITE_DONE;
  }

  int write(const poll_closed& r) {
    int rc;
    bool anonymous = true;
    auto poll = poll_of(r.room_id, r.poll_id, anonymous, rc);
    if (rc != SQLITE_DONE)
      return rc;
    if (poll == 0)
      return SQLITE_ROW;
    auto* s = get(close_poll);
    rc = finish(s, binder{s}.integer(poll).integer(r.at_ms).integer(r.voters).rc);
    if (rc != SQLITE_DONE)
      return rc;
    for (size_t i = 0; i < r.counts.size(); ++i) {
      s = get(final_count);
      rc = finish(s, binder{s}
                       .integer(poll)
                       .integer(static_cast<int64_t>(i))
                       .integer(r.counts[i])
                       .rc);
      if (rc != SQLITE_DONE)
        return rc;
    }
    return SQLITE_DONE;
  }

  int write(const meeting_created& r) {
    auto* s = get(insert_meeting);
    binder b{s};
    b.text(r.room_id).text(r.creator_id).text(r.description);
    if (r.starts_at_ms != 0)
      b.integer(r.starts_at_ms);
    else
      b.null();
    return finish(s, b.integer(r.at_ms).rc);
  }

  result<std::vector<meeting_created>> load_meetings() override {
    sqlite3_stmt* raw = nullptr;
    const char* sql = "SELECT meeting_id, creator_id, description, coalesce(starts_at, 0), "
                      "created_at FROM meetings ORDER BY created_at";
    if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK)
      return failure{describe() + ": reading meetings: " + sqlite3_errmsg(db_.get())};
    std::unique_ptr<sqlite3_stmt, stmt_deleter> s{raw};
    std::vector<meeting_created> out;
    auto col = [&](int i) {
      auto* t = sqlite3_column_text(s.get(), i);
      return t ? std::string{reinterpret_cast<const char*>(t)} : std::string{};
    };
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW)
      out.push_back({col(0), col(1), col(2), sqlite3_column_int64(s.get(), 3),
                     sqlite3_column_int64(s.get(), 4)});
    if (rc != SQLITE_DONE)
      return failure{describe() + ": reading meetings: " + sqlite3_errmsg(db_.get())};
    return out;
  }

  int write(const recording_started& r) {
    int rc;
    auto cls = class_of(r.room_id, rc);
    if (rc != SQLITE_DONE)
      return rc;
    auto* s = get(insert_recording);
    return finish(s, binder{s}
                       .text(r.recording_id)
                       .id_or_null(cls)
                       .text(r.room_id)
                       .text(r.node_id)
                       .text_or_null(r.started_by)
                       .integer(r.at_ms)
                       .rc);
  }

  int write(const recording_stopped& r) {
    auto* s = get(stop_recording);
    return finish(s, binder{s}
                       .text(r.recording_id)
                       .integer(r.at_ms)
                       .integer(r.duration_ms)
                       .integer(r.files)
                       .text(r.manifest_path)
                       .rc);
  }

  int write(const moderation_taken& r) {
    int rc;
    auto cls = class_of(r.room_id, rc);
    if (rc != SQLITE_DONE)
      return rc;
    auto* s = get(insert_moderation);
    return finish(s, binder{s}
                       .id_or_null(cls)
                       .text(r.room_id)
                       .text(r.action)
                       .text(r.target)
                       .text(r.by_peer_id)
                       .text(r.reason)
                       .integer(r.at_ms)
                       .rc);
  }

  db_ptr db_;
  std::string path_;
  std::array<stmt_ptr, stmt_count> stmts_;
};

failure open_failure(const std::string& path, sqlite3* db, const std::string& what) {
  return failure{"sqlite:" + path + ": " + what + ": " +
                 (db ? sqlite3_errmsg(db) : "out of memory")};
}

// One statement without parameters, stepped to its end; its first column's text in `out`.
int exec_one(sqlite3* db, const char* sql, std::string* out = nullptr) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  stmt_ptr s{raw};
  if (rc != SQLITE_OK)
    return rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW)
    if (out && sqlite3_column_text(raw, 0))
      *out = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Creates the schema in an empty file, or checks the version of an existing one.
result<bool> ensure_schema(sqlite3* db, const std::string& path) {
  if (exec_one(db, "BEGIN IMMEDIATE") != SQLITE_OK)
    return open_failure(path, db, "opening a transaction");
  auto abort = [&](const std::string& what) {
    auto f = open_failure(path, db, what);
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return f;
  };
  std::string has_version;
  if (exec_one(db,
               "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
               "name = 'schema_version'",
               &has_version) != SQLITE_OK)
    return abort("reading the schema");
  if (has_version == "0") {
    std::string tables;
    if (exec_one(db, "SELECT count(*) FROM sqlite_master", &tables) != SQLITE_OK)
      return abort("reading the schema");
    if (tables != "0") {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return failure{"sqlite:" + path +
                     ": the file holds other tables and no schema_version: not a Chorus "
                     "class record"};
    }
    if (sqlite3_exec(db, schema_sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      return abort("creating the schema");
    auto insert = "INSERT INTO schema_version (version) VALUES (" +
                  std::to_string(schema_version) + ")";
    if (exec_one(db, insert.c_str()) != SQLITE_OK)
      return abort("creating the schema");
  } else {
    std::string version;
    if (exec_one(db, "SELECT max(version) FROM schema_version", &version) != SQLITE_OK)
      return abort("reading schema_version");
    if (version != std::to_string(schema_version)) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return failure{"sqlite:" + path + ": schema version " +
                     (version.empty() ? std::string{"(none)"} : version) +
                     ", this build reads version " + std::to_string(schema_version)};
    }
  }
  if (sqlite3_exec(db, CHORUS_MEETINGS_SQL, nullptr, nullptr, nullptr) != SQLITE_OK)
    return abort("creating the meetings table");
  if (sqlite3_exec(db, CHORUS_RECORDINGS_SQL, nullptr, nullptr, nullptr) != SQLITE_OK)
    return abort("creating the recordings table");
  if (exec_one(db, "COMMIT") != SQLITE_OK)
    return abort("committing the schema");
  return true;
}

} // namespace

const char* sqlite_schema() {
  return schema_sql;
}

result<std::unique_ptr<record_store>> open_sqlite_store(const std::string& path,
                                                        const sqlite_options& options) {
  if (path.empty())
    return failure{"sqlite: no file named"};
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  db_ptr db{raw};
  if (rc != SQLITE_OK)
    return open_failure(path, raw, "cannot open");
  sqlite3_extended_result_codes(raw, 1);
  if (sqlite3_db_readonly(raw, "main") == 1)
    return failure{"sqlite:" + path + ": the file is read-only"};
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  std::string mode;
  if (exec_one(raw, "PRAGMA journal_mode = WAL", &mode) != SQLITE_OK)
    return open_failure(path, raw, "setting the WAL journal");
  if (mode != "wal")
    return failure{"sqlite:" + path + ": the WAL journal is not available (journal mode '" +
                   mode + "')"};
  // WAL with synchronous NORMAL: a commit is durable across a crash of the process; a power
  // loss may lose the last batches, never corrupt the file.
  if (exec_one(raw, "PRAGMA synchronous = NORMAL") != SQLITE_OK)
    return open_failure(path, raw, "setting synchronous");
  if (auto ok = ensure_schema(raw, path); !ok)
    return failure{ok.error()};
  auto store = std::make_unique<sqlite_store>(std::move(db), path);
  if (auto ok = store->prepare(); !ok)
    return failure{ok.error()};
  return std::unique_ptr<record_store>{std::move(store)};
}

// ---- record.hpp ------------------------------------------------------------------------

const std::string& room_of(const record& r) {
  return std::visit([](auto& x) -> const std::string& { return x.room_id; }, r);
}

const char* kind_name(const record& r) {
  static constexpr std::array<const char*, std::variant_size_v<record>> names{
    "room_opened", "room_closed", "peer_joined", "peer_left",   "chat_posted",
    "chat_deleted", "poll_created", "vote_cast", "poll_closed", "moderation_taken",
    "meeting_created", "recording_started", "recording_stopped"};
  return names[r.index()];
}

} // namespace chorus::store
