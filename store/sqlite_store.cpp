// The class record in one SQLite file: schema created on first use (schema_version),
// WAL journal, a busy timeout, statements prepared once; the records are written by the
// record_writer, one transaction per batch.
#include "store/record_store.hpp"
#include "store/record_writer.hpp"
#include "store/schema.hpp"
#include "store/sql_backend.hpp"

#include <sqlite3.h>

#include <array>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace chorus::store {

namespace {

struct stmt_deleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

struct db_deleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using db_ptr = std::unique_ptr<sqlite3, db_deleter>;

// The transaction's statements, prepared once like the writer's.
enum tx : size_t { begin_tx, commit_tx, rollback_tx, tx_count };
constexpr std::array<const char*, tx_count> tx_sql{"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};

// Binds `v` to parameter `i` (1-based). Text is not copied: the record outlives the step.
int bind(sqlite3_stmt* s, int i, const sql_value& v) {
  if (auto* n = std::get_if<int64_t>(&v))
    return sqlite3_bind_int64(s, i, *n);
  if (auto* t = std::get_if<std::string_view>(&v))
    return sqlite3_bind_text(s, i, t->data(), static_cast<int>(t->size()), SQLITE_STATIC);
  return sqlite3_bind_null(s, i);
}

// The store, and the backend its record_writer runs on.
class sqlite_store final : public record_store, private sql_backend {
public:
  sqlite_store(db_ptr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}

  result<bool> prepare() {
    for (size_t i = 0; i < tx_count; ++i)
      if (!prepare_one(tx_sql[i], tx_[i]))
        return fail("preparing a statement");
    for (size_t i = 0; i < statement_count; ++i)
      if (!prepare_one(statement_sql(statement(i), sql_dialect::sqlite).c_str(), stmts_[i]))
        return fail("preparing a statement");
    return true;
  }

  std::string describe() const override { return "sqlite:" + path_; }

  result<batch_result> apply(const std::vector<record_event>& batch,
                             std::string_view key) override {
    return writer_.apply(batch, key);
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

private:
  bool prepare_one(const char* sql, stmt_ptr& out) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    out.reset(s);
    return rc == SQLITE_OK;
  }

  // A statement ready for new values: reset, its old values cleared.
  static sqlite3_stmt* fresh(const stmt_ptr& s) {
    sqlite3_reset(s.get());
    sqlite3_clear_bindings(s.get());
    return s.get();
  }

  // Steps a statement without parameters to its end: SQLITE_DONE, or the error.
  static int step(const stmt_ptr& p) {
    auto* s = fresh(p);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    sqlite3_reset(s);
    return rc;
  }

  result<bool> begin() override {
    if (step(tx_[begin_tx]) != SQLITE_DONE)
      return fail("begin");
    return true;
  }

  bool commit() override { return step(tx_[commit_tx]) == SQLITE_DONE; }

  void rollback() override {
    if (!sqlite3_get_autocommit(db_.get()))
      step(tx_[rollback_tx]);
  }

  std::optional<sql_row> run(statement which, const sql_params& params) override {
    auto* s = fresh(stmts_[static_cast<size_t>(which)]);
    int i = 1;
    for (auto& v : params.values)
      if (bind(s, i++, v) != SQLITE_OK)
        return std::nullopt;
    sql_row row{};
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) { // a lookup: its first row is all the writer reads
      row[0] = sqlite3_column_int64(s, 0);
      row[1] = sqlite3_column_count(s) > 1 ? sqlite3_column_int64(s, 1) : 0;
      rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
      return std::nullopt;
    return row;
  }

  int64_t inserted_id(const sql_row&) override { return sqlite3_last_insert_rowid(db_.get()); }

  failure fail(const std::string& what) override {
    return failure{describe() + ": " + what + ": " + sqlite3_errmsg(db_.get())};
  }

  db_ptr db_;
  std::string path_;
  std::array<stmt_ptr, tx_count> tx_;
  std::array<stmt_ptr, statement_count> stmts_;
  record_writer writer_{*this, class_lookup::latest_in_store};
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
    if (sqlite3_exec(db, sqlite_schema(), nullptr, nullptr, nullptr) != SQLITE_OK)
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
  // The tables added since version 1, in a file made before them.
  static const std::string added = added_tables_sql(sql_dialect::sqlite);
  if (sqlite3_exec(db, added.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
    return abort("creating the meetings and recordings tables");
  if (exec_one(db, "COMMIT") != SQLITE_OK)
    return abort("committing the schema");
  return true;
}

} // namespace

const char* sqlite_schema() {
  static const std::string text = schema_sql(sql_dialect::sqlite);
  return text.c_str();
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

} // namespace chorus::store
