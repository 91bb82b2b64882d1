// The class record in SQLite: schema on first use, reopening, one transaction per batch,
// every record type read back with SQL, and errors (not crashes) for files it cannot use.
#include "store/record_store.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::store;

namespace {

using test::temp_dir;

// A second connection to the file, as another reader would have (the sqlite3 CLI, the
// product's importer).
struct reader {
  sqlite3* db = nullptr;
  explicit reader(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~reader() { sqlite3_close_v2(db); }

  // The rows of `sql`, each as its columns joined by '|' (NULL as "NULL").
  std::vector<std::string> rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK,
                    sqlite3_errmsg(db));
    std::vector<std::string> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        if (i)
          row += '|';
        auto* t = sqlite3_column_text(s, i);
        row += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string one(const std::string& sql) {
    auto r = rows(sql);
    REQUIRE(r.size() == 1);
    return r[0];
  }
  void exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
  }
};

std::unique_ptr<record_store> open_ok(const std::string& path) {
  auto s = open_sqlite_store(path);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error()));
  return std::move(*s);
}

// A batch key no other batch of the test has.
std::string next_key() {
  static int n = 0;
  return "test-batch-" + std::to_string(++n);
}

void apply_ok(record_store& s, std::vector<record_event> batch) {
  auto n = s.apply(batch, next_key());
  REQUIRE_MESSAGE(n.ok(), (n.ok() ? "" : n.error()));
}

} // namespace

TEST_CASE("a fresh file gets the schema, its version and the WAL journal") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  CHECK(store->describe() == "sqlite:" + path);
  reader r{path};
  CHECK(r.one("SELECT version FROM schema_version") == std::to_string(schema_version));
  CHECK(r.one("PRAGMA journal_mode") == "wal");
  auto tables = r.rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  CHECK(tables == std::vector<std::string>{"attendance", "chat_messages", "meetings",
                                           "moderation_actions", "poll_options", "polls",
                                           "record_batches", "recordings", "rooms",
                                           "schema_version", "votes"});
}

TEST_CASE("a batch tried again under its key after it was written writes nothing twice") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  const std::vector<record_event> batch{
    {room_opened{"math", "node-a", 1000}},
    {chat_posted{"math", "m1", "p1", "u1", "Ada", "hello", "", 1001}},
  };
  auto first = store->apply(batch, "node-a-run-1");
  REQUIRE(first.ok());
  CHECK((first->written == 2 && !first->repeated));
  // As after a COMMIT whose answer was lost: the same batch, the same key.
  auto again = store->apply(batch, "node-a-run-1");
  REQUIRE(again.ok());
  CHECK((again->written == 0 && again->repeated));
  reader r{path};
  CHECK(r.one("SELECT count(*) FROM rooms") == "1");
  CHECK(r.one("SELECT count(*) FROM chat_messages") == "1");
  CHECK(r.rows("SELECT batch_key, events FROM record_batches") ==
        std::vector<std::string>{"node-a-run-1|2"});
  // Another key is another batch.
  auto other = store->apply({{chat_posted{"math", "m2", "p1", "u1", "Ada", "again", "", 1002}}},
                            "node-a-run-2");
  REQUIRE(other.ok());
  CHECK((other->written == 1 && !other->repeated));
  CHECK(r.one("SELECT count(*) FROM chat_messages") == "2");
}

TEST_CASE("reopening an existing file keeps its rows and creates nothing again") {
  temp_dir dir;
  auto path = dir.file("record.db");
  {
    auto store = open_ok(path);
    apply_ok(*store, {{room_opened{"math", "node-a", 1000}}});
  }
  auto store = open_ok(path); // a second start of the node
  apply_ok(*store, {{room_closed{"math", "node-a", 2000}}});
  reader r{path};
  CHECK(r.one("SELECT count(*) FROM schema_version") == "1");
  CHECK(r.one("SELECT room_id, node_id, opened_at, closed_at FROM rooms") ==
        "math|node-a|1000|2000");
}

TEST_CASE("a file of another schema version, or of other tables, is refused") {
  temp_dir dir;
  auto path = dir.file("record.db");
  { open_ok(path); }
  {
    reader r{path};
    r.exec("UPDATE schema_version SET version = 99");
  }
  auto s = open_sqlite_store(path);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().find("schema version 99") != std::string::npos);

  auto other = dir.file("other.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  sqlite3_exec(db, "CREATE TABLE users (id INTEGER)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  auto s2 = open_sqlite_store(other);
  REQUIRE_FALSE(s2.ok());
  CHECK(s2.error().find("not a Chorus class record") != std::string::npos);
}

TEST_CASE("files it cannot use give an error, not a crash") {
  temp_dir dir;
  SUBCASE("a directory that does not exist") {
    auto s = open_sqlite_store(dir.file("missing/record.db"));
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().find("missing/record.db") != std::string::npos);
  }
  SUBCASE("a directory, not a file") {
    auto s = open_sqlite_store(dir.path.string());
    REQUIRE_FALSE(s.ok());
  }
  SUBCASE("a file that is not a database") {
    auto path = dir.file("junk.db");
    std::ofstream{path} << std::string(4096, 'x');
    auto s = open_sqlite_store(path);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().find("sqlite:" + path) == 0);
  }
  SUBCASE("no path") {
    CHECK_FALSE(open_sqlite_store("").ok());
  }
  SUBCASE("a read-only file") {
    auto path = dir.file("ro.db");
    { open_ok(path); }
    std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::group_read);
    std::filesystem::permissions(dir.path, std::filesystem::perms::owner_read |
                                             std::filesystem::perms::owner_exec);
    if (geteuid() == 0) {
      MESSAGE("running as root: file permissions do not bind, case skipped");
    } else {
      auto s = open_sqlite_store(path);
      CHECK_FALSE(s.ok());
    }
    std::filesystem::permissions(dir.path, std::filesystem::perms::owner_all);
  }
}

TEST_CASE("a batch is one transaction: a failure mid-batch writes none of it") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  {
    // Fault injection from outside: any chat message "boom" fails to insert.
    reader r{path};
    r.exec("CREATE TRIGGER boom BEFORE INSERT ON chat_messages WHEN NEW.text = 'boom' "
           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  }
  // Statements prepared before the trigger existed are re-prepared by SQLite.
  std::vector<record_event> batch{
    {room_opened{"math", "node-a", 1000}},
    {peer_joined{"math", "p1", "u1", "Ada", "student", 1001}},
    {chat_posted{"math", "m1", "p1", "u1", "Ada", "hello", "", 1002}},
    {chat_posted{"math", "m2", "p1", "u1", "Ada", "boom", "", 1003}},
    {chat_posted{"math", "m3", "p1", "u1", "Ada", "after", "", 1004}},
  };
  auto n = store->apply(batch, next_key());
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().find("chat_posted") != std::string::npos);
  CHECK(n.error().find("injected failure") != std::string::npos);
  reader r{path};
  CHECK(r.one("SELECT count(*) FROM rooms") == "0");
  CHECK(r.one("SELECT count(*) FROM attendance") == "0");
  CHECK(r.one("SELECT count(*) FROM chat_messages") == "0");

  // The store is usable afterwards: the same batch without the bad message goes in whole.
  batch.erase(batch.begin() + 3);
  auto m = store->apply(batch, next_key());
  REQUIRE(m.ok());
  CHECK(m->written == 4);
  CHECK(r.one("SELECT count(*) FROM rooms") == "1");
  CHECK(r.one("SELECT count(*) FROM chat_messages") == "2");
  CHECK(store->apply({}, next_key()).ok());
}

TEST_CASE("a failing commit (another connection holds the lock) is an error, and later ones work") {
  temp_dir dir;
  auto path = dir.file("record.db");
  sqlite_options opts;
  opts.busy_timeout_ms = 50;
  auto s = open_sqlite_store(path, opts);
  REQUIRE(s.ok());
  auto& store = **s;
  reader r{path};
  r.exec("BEGIN IMMEDIATE");
  auto n = store.apply({{room_opened{"math", "node-a", 1}}}, "tried-twice");
  REQUIRE_FALSE(n.ok());
  CHECK(n.error().find("locked") != std::string::npos);
  r.exec("ROLLBACK");
  // The retry, under the same key: the failed try claimed nothing.
  auto again = store.apply({{room_opened{"math", "node-a", 1}}}, "tried-twice");
  REQUIRE(again.ok());
  CHECK(again->repeated == false);
  CHECK(r.one("SELECT count(*) FROM rooms") == "1");
}

TEST_CASE("rooms and attendance: opened, joined, left, closed; a reopened room is a new class") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  apply_ok(*store, {
                     {room_opened{"math", "node-a", 1000}},
                     {peer_joined{"math", "p1", "teacher-7", "Mr. Brown", "teacher", 1010}},
                     {peer_joined{"math", "p2", "", "Zoë 🎓", "student", 1020}},
                     {peer_left{"math", "p2", 1500}},
                     {peer_joined{"math", "p2", "", "Zoë 🎓", "student", 1600}}, // reconnect
                     {room_closed{"math", "node-a", 2000}},
                     {room_opened{"math", "node-b", 5000}},
                     {peer_joined{"math", "p3", "u3", "Cy", "student", 5001}},
                   });
  reader r{path};
  CHECK(r.rows("SELECT id, room_id, node_id, opened_at, closed_at FROM rooms ORDER BY id") ==
        std::vector<std::string>{"1|math|node-a|1000|2000", "2|math|node-b|5000|NULL"});
  CHECK(r.rows("SELECT class_id, peer_id, user_id, name, role, joined_at, left_at "
               "FROM attendance ORDER BY id") ==
        std::vector<std::string>{
          "1|p1|teacher-7|Mr. Brown|teacher|1010|2000", // closed with the room
          "1|p2||Zoë 🎓|student|1020|1500",
          "1|p2||Zoë 🎓|student|1600|2000",
          "2|p3|u3|Cy|student|5001|NULL",
        });
  // Without a recorded opening the rows still go in, with no class.
  apply_ok(*store, {{peer_joined{"physics", "p9", "", "Eve", "", 7000}}});
  CHECK(r.one("SELECT class_id, room_id FROM attendance WHERE peer_id = 'p9'") == "NULL|physics");
}

TEST_CASE("chat messages: to the room, private, deleted") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  apply_ok(*store, {
                     {room_opened{"math", "node-a", 1000}},
                     {chat_posted{"math", "1", "p1", "u1", "Ada", "Hello, class", "", 1100}},
                     {chat_posted{"math", "2", "p2", "u2", "Bob", "quiet 'please' \"now\"", "p1",
                                  1200}},
                     {chat_posted{"math", "3", "p2", "u2", "Bob", "oops", "", 1300}},
                     {chat_deleted{"math", "3", "p1", 1400}},
                     {chat_deleted{"math", "404", "p1", 1401}}, // unknown: nothing to mark
                   });
  reader r{path};
  CHECK(r.rows("SELECT class_id, message_id, from_peer_id, from_user_id, name, text, to_peer_id, "
               "sent_at, deleted, deleted_by, deleted_at FROM chat_messages ORDER BY id") ==
        std::vector<std::string>{
          "1|1|p1|u1|Ada|Hello, class|NULL|1100|0|NULL|NULL",
          "1|2|p2|u2|Bob|quiet 'please' \"now\"|p1|1200|0|NULL|NULL",
          "1|3|p2|u2|Bob|oops|NULL|1300|1|p1|1400",
        });
}

TEST_CASE("polls: options, votes changed, final counts; anonymous polls keep no voters") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  apply_ok(*store, {
                     {room_opened{"math", "node-a", 1000}},
                     {poll_created{"math", "q1", "2+2?", {"3", "4", "5"}, false, false, "p1", 1100}},
                     {poll_created{"math", "q2", "Fun?", {"yes", "no"}, true, true, "p1", 1101}},
                     {vote_cast{"math", "q1", "p2", "u2", {0}, {}, 1200}},
                     {vote_cast{"math", "q1", "p3", "", {1}, {}, 1201}},
                     {vote_cast{"math", "q1", "p2", "u2", {1}, {0}, 1300}}, // changed
                     {vote_cast{"math", "q2", "p2", "u2", {0, 1}, {}, 1400}},
                     {vote_cast{"math", "q2", "p3", "", {1}, {}, 1401}},
                     {vote_cast{"math", "q2", "p2", "u2", {0}, {0, 1}, 1402}}, // changed
                     {vote_cast{"math", "nope", "p2", "u2", {0}, {}, 1403}},  // unknown poll
                     {poll_closed{"math", "q1", {0, 2, 0}, 2, 1500}},
                     {poll_closed{"math", "q2", {1, 1}, 2, 1501}},
                   });
  reader r{path};
  CHECK(r.rows("SELECT id, class_id, poll_id, question, multiple, anonymous, created_by, "
               "created_at, closed_at, voters FROM polls ORDER BY id") ==
        std::vector<std::string>{"1|1|q1|2+2?|0|0|p1|1100|1500|2",
                                 "2|1|q2|Fun?|1|1|p1|1101|1501|2"});
  CHECK(r.rows("SELECT poll, option_index, text, final_count FROM poll_options "
               "ORDER BY poll, option_index") ==
        std::vector<std::string>{"1|0|3|0", "1|1|4|2", "1|2|5|0", "2|0|yes|1", "2|1|no|1"});
  CHECK(r.rows("SELECT voter_peer_id, voter_user_id, option_index, voted_at FROM votes "
               "WHERE poll = 1 ORDER BY voter_peer_id") ==
        std::vector<std::string>{"p2|u2|1|1300", "p3||1|1201"});
  CHECK(r.rows("SELECT voter_peer_id, voter_user_id, option_index, voted_at FROM votes "
               "WHERE poll = 2 ORDER BY option_index") ==
        std::vector<std::string>{"NULL|NULL|0|NULL", "NULL|NULL|1|NULL"});
  // The counts from the votes agree with the final counts.
  CHECK(r.rows("SELECT o.option_index, count(v.id) FROM poll_options o LEFT JOIN votes v "
               "ON v.poll = o.poll AND v.option_index = o.option_index GROUP BY o.poll, "
               "o.option_index ORDER BY o.poll, o.option_index") ==
        std::vector<std::string>{"0|0", "1|2", "2|0", "0|1", "1|1"});
}

TEST_CASE("moderation actions") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  auto n = store->apply({
    {room_opened{"math", "node-a", 1000}},
    {moderation_taken{"math", "mute-peer", "p2", "p1", "", 1100}},
    {moderation_taken{"math", "kick-peer", "p3", "p1", "spam", 1200}},
    {moderation_taken{"math", "lock-room", "", "p1", "", 1300}},
  }, next_key());
  REQUIRE(n.ok());
  CHECK(n->written == 4);
  reader r{path};
  CHECK(r.rows("SELECT class_id, action, target, by_peer_id, reason, at FROM moderation_actions "
               "ORDER BY id") ==
        std::vector<std::string>{"1|mute-peer|p2|p1||1100", "1|kick-peer|p3|p1|spam|1200",
                                 "1|lock-room||p1||1300"});
}

TEST_CASE("record helpers name the kind and the room") {
  record r = chat_posted{"math", "1", "p1", "", "Ada", "hi", "", 1};
  CHECK(std::string{kind_name(r)} == "chat_posted");
  CHECK(room_of(r) == "math");
  CHECK(std::string{kind_name(record{moderation_taken{}})} == "moderation_taken");
  CHECK(std::string{sqlite_schema()}.find("CREATE TABLE votes") != std::string::npos);
}

TEST_CASE("docs/operations.md shows the schema as built") {
  std::ifstream in{std::string{CHORUS_SOURCE_DIR} + "/docs/operations.md"};
  std::string doc{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  REQUIRE_FALSE(doc.empty());
  CHECK_MESSAGE(doc.find(sqlite_schema()) != std::string::npos,
                "the schema in docs/operations.md (Class record) differs from store/");
}

TEST_CASE("docs/operations.md shows the PostgreSQL schema as built") {
  std::ifstream in{std::string{CHORUS_SOURCE_DIR} + "/docs/operations.md"};
  REQUIRE(in);
  std::string doc{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  CHECK_MESSAGE(doc.find(postgres_schema()) != std::string::npos,
                "the PostgreSQL schema in docs/operations.md (Class record) differs from store/");
  // The same tables and indexes as SQLite's, in the other dialect.
  std::string pg = postgres_schema();
  for (const char* t : {"schema_version", "rooms", "attendance", "chat_messages", "polls",
                        "poll_options", "votes", "moderation_actions"})
    CHECK(pg.find(std::string{"CREATE TABLE IF NOT EXISTS "} + t + " (") != std::string::npos);
  CHECK(pg.find("BIGSERIAL PRIMARY KEY") != std::string::npos);
}

TEST_CASE("meetings are kept and read back at the next start; a repeated id is kept once") {
  temp_dir dir;
  auto path = dir.file("meetings.db");
  {
    auto store = open_sqlite_store(path);
    REQUIRE(store.ok());
    CHECK((*store)->load_meetings().value().empty());
    std::vector<record_event> batch{{meeting_created{"m1", "user_a", "Algebra", 1790000000000, 5}},
                                    {meeting_created{"m2", "user_b", "", 0, 6}},
                                    {meeting_created{"m1", "user_x", "again", 0, 7}}};
    REQUIRE((*store)->apply(batch, next_key()).ok());
  }
  auto store = open_sqlite_store(path);
  REQUIRE(store.ok());
  auto loaded = (*store)->load_meetings();
  REQUIRE(loaded.ok());
  REQUIRE(loaded.value().size() == 2);
  CHECK(loaded.value()[0].room_id == "m1");
  CHECK(loaded.value()[0].creator_id == "user_a");
  CHECK(loaded.value()[0].starts_at_ms == 1790000000000);
  CHECK(loaded.value()[1].room_id == "m2");
  CHECK(loaded.value()[1].starts_at_ms == 0);
}

TEST_CASE("recordings: started (by a teacher or autoStart), stopped with the manifest; kept in older files too") {
  temp_dir dir;
  auto path = dir.file("record.db");
  {
    auto store = open_ok(path);
    apply_ok(*store, {
      {room_opened{"math", "node-a", 1000}},
      {recording_started{"math", "rec-1", "teacher", "node-a", 1100}},
      {recording_started{"math", "rec-2", "", "node-a", 1200}},
      {recording_stopped{"math", "rec-1", "/rec/math/x/manifest.json", 4, 900, 2000}},
      {recording_started{"math", "rec-1", "again", "node-a", 2100}}, // a repeated id: kept once
    });
    reader r{path};
    CHECK(r.rows("SELECT recording_id, class_id, room_id, node_id, started_by, started_at, "
                 "stopped_at, duration_ms, files, manifest_path FROM recordings ORDER BY started_at") ==
          std::vector<std::string>{"rec-1|1|math|node-a|teacher|1100|2000|900|4|/rec/math/x/manifest.json",
                                   "rec-2|1|math|node-a|NULL|1200|NULL|NULL|NULL|NULL"});
    CHECK(std::string{kind_name(record{recording_stopped{}})} == "recording_stopped");
    // A file made before the table existed gets it when opened.
    r.exec("DROP TABLE recordings");
  }
  auto store = open_ok(path);
  apply_ok(*store, {{recording_started{"math", "rec-3", "t", "node-a", 3000}}});
  reader r{path};
  CHECK(r.one("SELECT recording_id, class_id FROM recordings") == "rec-3|1");
}

TEST_CASE("a class rebuilt after its home was lost: the lost home's opening goes on, and what "
          "the copy holds is written once") {
  temp_dir dir;
  auto path = dir.file("record.db");
  auto store = open_ok(path);
  // node-a's part: the opening, one message and the poll with one vote written.
  apply_ok(*store, {
                     {room_opened{"math", "node-a", 1000}},
                     {chat_posted{"math", "m0", "p1", "u1", "Ada", "first", "", 1100}},
                     {poll_created{"math", "p1", "2+2?", {"3", "4"}, false, false, "p1", 1200}},
                     {vote_cast{"math", "p1", "p2", "u2", {1}, {}, 1300}},
                   });
  // node-b rebuilds it from the copy: m1 and p2's vote never reached the store.
  class_resumed resumed{"math", "node-b", {}, {}, {}, 5000};
  resumed.chat = {chat_posted{"math", "m0", "p1", "u1", "Ada", "first", "", 1100},
                  chat_posted{"math", "m1", "p2", "u2", "Bob", "second", "", 1400}};
  resumed.polls = {poll_created{"math", "p1", "2+2?", {"3", "4"}, false, false, "p1", 1200}};
  resumed.votes = {vote_cast{"math", "p1", "p2", "u2", {1}, {}, 1200},
                   vote_cast{"math", "p1", "p3", "u3", {0}, {}, 1200}};
  apply_ok(*store, {{room_opened{"math", "node-b", 4900}}, {resumed},
                    {chat_posted{"math", "m2", "p3", "u3", "Cy", "third", "", 5100}}});
  // The same copy again (a second rebuild) adds nothing.
  apply_ok(*store, {{resumed}});
  apply_ok(*store, {{room_closed{"math", "node-b", 6000}}});
  reader r{path};
  CHECK(r.rows("SELECT id, node_id, opened_at, closed_at FROM rooms ORDER BY id") ==
        std::vector<std::string>{"1|node-a|1000|6000"});
  CHECK(r.rows("SELECT class_id, message_id, text FROM chat_messages ORDER BY id") ==
        std::vector<std::string>{"1|m0|first", "1|m1|second", "1|m2|third"});
  CHECK(r.rows("SELECT count(*) FROM polls") == std::vector<std::string>{"1"});
  CHECK(r.rows("SELECT voter_peer_id, option_index FROM votes ORDER BY voter_peer_id") ==
        std::vector<std::string>{"p2|1", "p3|0"});
}
