// The record writer against a scripted backend: the statements and values each kind of
// record runs, how a record finds its class and its poll, one transaction per batch, and
// the classes a node remembers as its own (class_lookup::own_first).
#include "store/record_writer.hpp"

#include <doctest/doctest.h>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::store;

namespace {

const char* name_of(statement s) {
  static constexpr std::array<const char*, statement_count> names{
    "current_class",        "insert_room",      "close_room",       "close_attendance",
    "insert_attendance",    "leave_attendance", "insert_chat",      "delete_chat",
    "insert_poll",          "insert_option",    "find_poll",        "delete_votes_of",
    "delete_one_anonymous", "insert_vote",      "close_poll",       "final_count",
    "insert_moderation",    "insert_meeting",   "insert_recording", "stop_recording",
    "claim_batch",          "earlier_open_class", "drop_room",      "count_chat",
    "count_class_poll"};
  return names[static_cast<size_t>(s)];
}

// "name(7, 'text', NULL)": a statement as the log shows it.
std::string render(statement s, const sql_params& p) {
  std::string out = std::string{name_of(s)} + "(";
  for (size_t i = 0; i < p.values.size(); ++i) {
    if (i)
      out += ", ";
    if (auto* n = std::get_if<int64_t>(&p.values[i]))
      out += std::to_string(*n);
    else if (auto* t = std::get_if<std::string_view>(&p.values[i]))
      out += "'" + std::string{*t} + "'";
    else
      out += "NULL";
  }
  return out + ")";
}

// Logs what it is asked to run and answers from a script: the row each statement returns
// (none given: no row), and the statement that fails.
struct scripted_db final : sql_backend {
  std::vector<std::string> log;
  std::map<statement, sql_row> rows;
  std::optional<statement> failing;
  bool commit_fails = false;

  result<bool> begin() override {
    log.push_back("BEGIN");
    return true;
  }
  bool commit() override {
    log.push_back("COMMIT");
    return !commit_fails;
  }
  void rollback() override { log.push_back("ROLLBACK"); }
  std::optional<sql_row> run(statement which, const sql_params& params) override {
    log.push_back(render(which, params));
    if (failing == which)
      return std::nullopt;
    auto it = rows.find(which);
    return it == rows.end() ? sql_row{} : it->second;
  }
  int64_t inserted_id(const sql_row& returned) override { return returned[0]; }
  failure fail(const std::string& what) override { return failure{"db: " + what + ": refused"}; }
};

std::vector<std::string> in_transaction(std::vector<std::string> statements) {
  statements.insert(statements.begin(), "BEGIN");
  statements.push_back("COMMIT");
  return statements;
}

} // namespace

TEST_CASE("each kind of record runs its statements with its values") {
  const sql_row class_7{7, 0};
  const sql_row named_poll{42, 0};
  const sql_row anonymous_poll{42, 1};
  struct row {
    const char* name;
    record body;
    std::map<statement, sql_row> rows; // what the lookups find
    std::vector<std::string> runs;
    size_t written = 1;
  };
  const std::vector<row> rows{
    {"room opened", room_opened{"r", "node-a", 1000}, {}, {"insert_room('r', 'node-a', 1000)"}},
    {"room closed: the class and its open attendance",
     room_closed{"r", "node-a", 2000},
     {{statement::current_class, class_7}},
     {"current_class('r')", "close_room(7, 2000)", "close_attendance(7, 2000)"}},
    {"room closed whose opening the store does not hold: nothing to close",
     room_closed{"r", "node-a", 2000},
     {},
     {"current_class('r')"}},
    {"peer joined",
     peer_joined{"r", "p1", "u1", "Ann", "teacher", 1000},
     {{statement::current_class, class_7}},
     {"current_class('r')", "insert_attendance(7, 'r', 'p1', 'u1', 'Ann', 'teacher', 1000)"}},
    {"peer joined a room whose opening is not recorded: class NULL, empty ids kept as ''",
     peer_joined{"r", "p1", "", "Ann", "", 1000},
     {},
     {"current_class('r')", "insert_attendance(NULL, 'r', 'p1', '', 'Ann', '', 1000)"}},
    {"peer left", peer_left{"r", "p1", 3000}, {}, {"leave_attendance('r', 'p1', 3000)"}},
    {"chat to the room: no recipient",
     chat_posted{"r", "m1", "p1", "u1", "Ann", "hello", "", 1000},
     {{statement::current_class, class_7}},
     {"current_class('r')", "insert_chat(7, 'r', 'm1', 'p1', 'u1', 'Ann', 'hello', NULL, 1000)"}},
    {"private chat",
     chat_posted{"r", "m2", "p1", "u1", "Ann", "psst", "p2", 1000},
     {{statement::current_class, class_7}},
     {"current_class('r')", "insert_chat(7, 'r', 'm2', 'p1', 'u1', 'Ann', 'psst', 'p2', 1000)"}},
    {"chat deleted",
     chat_deleted{"r", "m1", "p9", 1500},
     {},
     {"delete_chat('r', 'm1', 'p9', 1500)"}},
    {"poll created: the poll, then its options in order",
     poll_created{"r", "q1", "Which?", {"A", "B"}, true, false, "p1", 1000},
     {{statement::current_class, class_7}, {statement::insert_poll, named_poll}},
     {"current_class('r')", "insert_poll(7, 'r', 'q1', 'Which?', 1, 0, 'p1', 1000)",
      "insert_option(42, 0, 'A')", "insert_option(42, 1, 'B')"}},
    {"vote: the voter's earlier rows replaced",
     vote_cast{"r", "q1", "p1", "u1", {0, 2}, {1}, 1000},
     {{statement::find_poll, named_poll}},
     {"find_poll('r', 'q1')", "delete_votes_of(42, 'p1')", "insert_vote(42, 'p1', 'u1', 0, 1000)",
      "insert_vote(42, 'p1', 'u1', 2, 1000)"}},
    {"anonymous vote: one row per previous choice removed, no voter and no time kept",
     vote_cast{"r", "q1", "p1", "u1", {2}, {0, 1}, 1000},
     {{statement::find_poll, anonymous_poll}},
     {"find_poll('r', 'q1')", "delete_one_anonymous(42, 0)", "delete_one_anonymous(42, 1)",
      "insert_vote(42, NULL, NULL, 2, NULL)"}},
    {"vote on a poll the store does not hold: skipped",
     vote_cast{"r", "q1", "p1", "u1", {0}, {}, 1000},
     {},
     {"find_poll('r', 'q1')"},
     0},
    {"poll closed: the poll, then each option's final count",
     poll_closed{"r", "q1", {3, 5}, 6, 4000},
     {{statement::find_poll, named_poll}},
     {"find_poll('r', 'q1')", "close_poll(42, 4000, 6)", "final_count(42, 0, 3)",
      "final_count(42, 1, 5)"}},
    {"poll closed that the store does not hold: skipped",
     poll_closed{"r", "q1", {3}, 3, 4000},
     {},
     {"find_poll('r', 'q1')"},
     0},
    {"moderation action on the room",
     moderation_taken{"r", "end-room", "", "p1", "done", 5000},
     {{statement::current_class, class_7}},
     {"current_class('r')", "insert_moderation(7, 'r', 'end-room', '', 'p1', 'done', 5000)"}},
    {"meeting with a start time",
     meeting_created{"m", "host", "Maths", 9000, 1000},
     {},
     {"insert_meeting('m', 'host', 'Maths', 9000, 1000)"}},
    {"meeting without a start time: NULL",
     meeting_created{"m", "host", "", 0, 1000},
     {},
     {"insert_meeting('m', 'host', '', NULL, 1000)"}},
    {"recording started by a teacher",
     recording_started{"r", "rec1", "t1", "node-a", 1000},
     {{statement::current_class, class_7}},
     {"current_class('r')", "insert_recording('rec1', 7, 'r', 'node-a', 't1', 1000)"}},
    {"recording started by recording.autoStart: starter NULL",
     recording_started{"r", "rec1", "", "node-a", 1000},
     {},
     {"current_class('r')", "insert_recording('rec1', NULL, 'r', 'node-a', NULL, 1000)"}},
    {"recording stopped",
     recording_stopped{"r", "rec1", "/rec/rec1/manifest.json", 2, 60000, 61000},
     {},
     {"stop_recording('rec1', 61000, 60000, 2, '/rec/rec1/manifest.json')"}},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    for (auto lookup : {class_lookup::latest_in_store, class_lookup::own_first}) {
      scripted_db db;
      db.rows = r.rows;
      record_writer writer{db, lookup};
      auto n = writer.apply({record_event{r.body}});
      REQUIRE(n.ok());
      CHECK(n->written == r.written);
      CHECK(db.log == in_transaction(r.runs));
    }
  }
}

TEST_CASE("a failing statement rolls the batch back and names the record") {
  scripted_db db;
  db.failing = statement::insert_attendance;
  record_writer writer{db, class_lookup::latest_in_store};
  auto n = writer.apply({record_event{room_opened{"r", "node-a", 1000}},
                         record_event{peer_joined{"r", "p1", "", "Ann", "", 1100}},
                         record_event{peer_left{"r", "p1", 1200}}});
  REQUIRE_FALSE(n.ok());
  CHECK(n.error() == "db: writing peer_joined of room 'r': refused");
  CHECK(db.log == std::vector<std::string>{
                    "BEGIN", "insert_room('r', 'node-a', 1000)", "current_class('r')",
                    "insert_attendance(NULL, 'r', 'p1', '', 'Ann', '', 1100)", "ROLLBACK"});
}

TEST_CASE("a failing lookup fails the record before it writes anything") {
  scripted_db db;
  db.failing = statement::current_class;
  record_writer writer{db, class_lookup::latest_in_store};
  auto n = writer.apply({record_event{chat_posted{"r", "m1", "p1", "", "Ann", "hi", "", 1000}}});
  REQUIRE_FALSE(n.ok());
  CHECK(n.error() == "db: writing chat_posted of room 'r': refused");
  CHECK(db.log == std::vector<std::string>{"BEGIN", "current_class('r')", "ROLLBACK"});
}

TEST_CASE("a failing commit is an error and rolls back") {
  scripted_db db;
  db.commit_fails = true;
  record_writer writer{db, class_lookup::latest_in_store};
  auto n = writer.apply({record_event{peer_left{"r", "p1", 1200}}});
  REQUIRE_FALSE(n.ok());
  CHECK(n.error() == "db: commit: refused");
  CHECK(db.log == std::vector<std::string>{"BEGIN", "leave_attendance('r', 'p1', 1200)", "COMMIT",
                                           "ROLLBACK"});
}

TEST_CASE("an empty batch opens no transaction; skipped records are not counted") {
  scripted_db db;
  record_writer writer{db, class_lookup::latest_in_store};
  auto none = writer.apply({});
  REQUIRE(none.ok());
  CHECK(none->written == 0);
  CHECK(db.log.empty());
  auto n = writer.apply({record_event{vote_cast{"r", "q1", "p1", "", {0}, {}, 1000}},
                         record_event{peer_left{"r", "p1", 1200}}});
  REQUIRE(n.ok());
  CHECK(n->written == 1);
}

TEST_CASE("a batch with a key claims it first; a key the store holds writes nothing") {
  const std::vector<record_event> batch{record_event{peer_left{"r", "p1", 1200}},
                                        record_event{peer_left{"r", "p2", 1300}}};
  struct row {
    const char* name;
    std::optional<sql_row> claim; // nothing: the claim fails
    std::vector<std::string> log;
    bool ok;
    batch_result result;
  };
  const std::vector<row> rows{
    {"a new key: claimed, then the records",
     sql_row{1, 0},
     {"BEGIN", "claim_batch('k-7', 2)", "leave_attendance('r', 'p1', 1200)",
      "leave_attendance('r', 'p2', 1300)", "COMMIT"},
     true,
     {2, false}},
    {"a key written before (its COMMIT's answer lost): nothing written, repeated",
     sql_row{0, 0},
     {"BEGIN", "claim_batch('k-7', 2)", "ROLLBACK"},
     true,
     {0, true}},
    {"the claim fails: an error, rolled back",
     std::nullopt,
     {"BEGIN", "claim_batch('k-7', 2)", "ROLLBACK"},
     false,
     {}},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    scripted_db db;
    if (r.claim)
      db.rows[statement::claim_batch] = *r.claim;
    else
      db.failing = statement::claim_batch;
    record_writer writer{db, class_lookup::latest_in_store};
    auto n = writer.apply(batch, "k-7");
    CHECK(db.log == r.log);
    REQUIRE(n.ok() == r.ok);
    if (r.ok) {
      CHECK(n->written == r.result.written);
      CHECK(n->repeated == r.result.repeated);
    } else {
      CHECK(n.error() == "db: claiming batch k-7: refused");
    }
  }
}

TEST_CASE("own_first: a node's own opening decides its records' class, once committed") {
  scripted_db db;
  db.rows[statement::insert_room] = sql_row{11, 0};
  db.rows[statement::current_class] = sql_row{99, 0}; // another node's later opening
  record_writer writer{db, class_lookup::own_first};

  // Within the batch that opened it: no lookup.
  REQUIRE(writer
            .apply({record_event{room_opened{"r", "node-a", 1000}},
                    record_event{peer_joined{"r", "p1", "", "Ann", "", 1100}}})
            .ok());
  CHECK(db.log[2] == "insert_attendance(11, 'r', 'p1', '', 'Ann', '', 1100)");

  // In later batches, once committed.
  db.log.clear();
  REQUIRE(writer.apply({record_event{peer_joined{"r", "p2", "", "Bob", "", 1200}}}).ok());
  CHECK(db.log == in_transaction({"insert_attendance(11, 'r', 'p2', '', 'Bob', '', 1200)"}));

  // An opening in a batch that failed is forgotten.
  db.log.clear();
  db.rows[statement::insert_room] = sql_row{12, 0};
  db.failing = statement::leave_attendance;
  REQUIRE_FALSE(writer
                  .apply({record_event{room_opened{"s", "node-a", 1300}},
                          record_event{peer_left{"s", "p1", 1400}}})
                  .ok());
  db.failing.reset();
  db.log.clear();
  REQUIRE(writer.apply({record_event{peer_joined{"s", "p3", "", "Cy", "", 1500}}}).ok());
  CHECK(db.log == in_transaction({"current_class('s')",
                                  "insert_attendance(99, 's', 'p3', '', 'Cy', '', 1500)"}));

  // Closed and committed: the store's latest opening decides again.
  db.log.clear();
  REQUIRE(writer.apply({record_event{room_closed{"r", "node-a", 2000}}}).ok());
  CHECK(db.log == in_transaction({"close_room(11, 2000)", "close_attendance(11, 2000)"}));
  db.log.clear();
  REQUIRE(writer
            .apply({record_event{peer_left{"r", "p1", 2100}},
                    record_event{chat_deleted{"r", "m1", "", 2200}},
                    record_event{moderation_taken{"r", "kick-peer", "p2", "p1", "", 2300}}})
            .ok());
  CHECK(db.log ==
        in_transaction({"leave_attendance('r', 'p1', 2100)", "delete_chat('r', 'm1', NULL, 2200)",
                        "current_class('r')",
                        "insert_moderation(99, 'r', 'kick-peer', 'p2', 'p1', '', 2300)"}));
}

TEST_CASE("latest_in_store: every record looks its class up") {
  scripted_db db;
  db.rows[statement::insert_room] = sql_row{11, 0};
  db.rows[statement::current_class] = sql_row{11, 0};
  record_writer writer{db, class_lookup::latest_in_store};
  REQUIRE(writer
            .apply({record_event{room_opened{"r", "node-a", 1000}},
                    record_event{peer_joined{"r", "p1", "", "Ann", "", 1100}}})
            .ok());
  CHECK(db.log == in_transaction({"insert_room('r', 'node-a', 1000)", "current_class('r')",
                                  "insert_attendance(11, 'r', 'p1', '', 'Ann', '', 1100)"}));
}

TEST_CASE("statement text: SQLite's ?N, PostgreSQL's $N and RETURNING id") {
  CHECK(statement_sql(statement::insert_room, sql_dialect::sqlite) ==
        "INSERT INTO rooms (room_id, node_id, opened_at) VALUES (?1, ?2, ?3)");
  CHECK(statement_sql(statement::insert_room, sql_dialect::postgres) ==
        "INSERT INTO rooms (room_id, node_id, opened_at) VALUES ($1, $2, $3) RETURNING id");
  auto sqlite_meeting = statement_sql(statement::insert_meeting, sql_dialect::sqlite);
  auto pg_meeting = statement_sql(statement::insert_meeting, sql_dialect::postgres);
  CHECK(sqlite_meeting.rfind("INSERT OR IGNORE INTO meetings", 0) == 0);
  CHECK(pg_meeting.find("ON CONFLICT (meeting_id) DO NOTHING") != std::string::npos);
  for (size_t i = 0; i < statement_count; ++i) {
    CAPTURE(i);
    CHECK(statement_sql(statement(i), sql_dialect::sqlite).find('$') == std::string::npos);
    CHECK(statement_sql(statement(i), sql_dialect::postgres).find('?') == std::string::npos);
  }
}
