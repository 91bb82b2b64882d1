// The class record on a PostgreSQL server (storage.url): the schema (store/schema.hpp) in
// PostgreSQL's dialect, created on first use under an advisory lock, statements prepared on
// each connection, one transaction per batch, values always passed as parameters
// (PQexecPrepared), a lost connection made again on the next batch.
//
// The records are written by the record_writer (store/record_writer.hpp). Several nodes
// write into one database at once. Ids come from the server's sequences (BIGSERIAL,
// INSERT ... RETURNING id), never from max(id) + 1. A node ties its records to the class it
// opened itself (class_lookup::own_first: the id returned for its room_opened, kept once the
// batch committed); a record of a room whose opening this node did not write (storage
// switched on during a class) goes to the latest opening of that room id in the database,
// as in SQLite.
#include "store/record_store.hpp"
#include "store/record_writer.hpp"
#include "store/schema.hpp"
#include "store/sql_backend.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace chorus::store {

namespace {

// The advisory lock under which a node creates or checks the schema (any constant: "chorus"
// in ASCII, as a number).
constexpr const char* schema_lock_sql = "SELECT pg_advisory_xact_lock(109300197520755)";

struct conn_deleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;

struct result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pgresult = std::unique_ptr<PGresult, result_deleter>;

struct options_deleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};

std::string stmt_name(size_t i) {
  return "chorus_" + std::to_string(i);
}

// A statement's values in text form (PQexecPrepared's); nullopt is NULL.
std::vector<std::optional<std::string>> text_values(const sql_params& p) {
  std::vector<std::optional<std::string>> out;
  out.reserve(p.values.size());
  for (auto& v : p.values) {
    if (auto* n = std::get_if<int64_t>(&v))
      out.emplace_back(std::to_string(*n));
    else if (auto* t = std::get_if<std::string_view>(&v))
      out.emplace_back(std::string{*t});
    else
      out.emplace_back(std::nullopt);
  }
  return out;
}

// Column `col` of the first row as an integer (0: no row, no such column, or NULL).
int64_t first_row_integer(const PGresult* r, int col) {
  if (PQntuples(r) < 1 || PQnfields(r) <= col || PQgetisnull(r, 0, col))
    return 0;
  return std::strtoll(PQgetvalue(r, 0, col), nullptr, 10);
}

// The message of a failed result or connection, on one line.
std::string one_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\t' || c == '\r')
      c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ')
      continue;
    out.push_back(c);
  }
  return out;
}

// "postgresql://USER@HOST:PORT/DB" from the parsed parameters: no password, no options.
std::string describe_url(const std::string& url) {
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, options_deleter> opts{PQconninfoParse(url.c_str(), &err)};
  if (err)
    PQfreemem(err);
  if (!opts)
    return "postgresql:(unparsable url)";
  std::map<std::string, std::string> v;
  for (auto* o = opts.get(); o->keyword; ++o)
    if (o->val && *o->val)
      v[o->keyword] = o->val;
  std::string out = "postgresql://";
  if (v.count("user"))
    out += v["user"] + "@";
  out += v.count("hostaddr") ? v["hostaddr"] : v.count("host") ? v["host"] : "";
  if (v.count("port"))
    out += ":" + v["port"];
  out += "/";
  if (v.count("dbname"))
    out += v["dbname"];
  return out;
}

// The store, and the backend its record_writer runs on.
class postgres_store final : public record_store, private sql_backend {
public:
  postgres_store(std::string url, postgres_options options)
    : url_(std::move(url)), options_(options), described_(describe_url(url_)) {}

  std::string describe() const override { return described_; }

  result<bool> connect() override {
    if (conn_ && PQstatus(conn_.get()) == CONNECTION_OK)
      return true;
    conn_.reset();
    auto timeout = std::to_string(options_.connect_timeout_s);
    auto user_timeout = std::to_string(options_.tcp_user_timeout_ms);
    // Processed in order, the url (dbname, expanded) last: what it gives wins.
    const char* keys[] = {"connect_timeout", "tcp_user_timeout", "application_name", "dbname",
                          nullptr};
    const char* values[] = {timeout.c_str(), user_timeout.c_str(), "chorus", url_.c_str(),
                            nullptr};
    conn_ptr c{PQconnectdbParams(keys, values, 1)};
    if (!c)
      return failure{describe() + ": cannot connect: out of memory"};
    if (PQstatus(c.get()) != CONNECTION_OK)
      return failure{describe() + ": cannot connect: " + one_line(PQerrorMessage(c.get()))};
    // Notices (e.g. "relation already exists, skipping") are not for the log.
    PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);
    if (auto ok = ensure_schema(c.get()); !ok)
      return ok;
    for (size_t i = 0; i < statement_count; ++i) {
      auto sql = statement_sql(statement(i), sql_dialect::postgres);
      pgresult r{PQprepare(c.get(), stmt_name(i).c_str(), sql.c_str(), 0, nullptr)};
      if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return failure{describe() + ": preparing a statement: " +
                       one_line(PQerrorMessage(c.get()))};
    }
    conn_ = std::move(c);
    return true;
  }

  result<batch_result> apply(const std::vector<record_event>& batch,
                             std::string_view key) override {
    return writer_.apply(batch, key);
  }

  result<std::vector<meeting_created>> load_meetings() override {
    if (auto ok = connect(); !ok)
      return failure{ok.error()};
    pgresult r{PQexec(conn_.get(), "SELECT meeting_id, creator_id, description, "
                                   "coalesce(starts_at, 0), created_at FROM meetings "
                                   "ORDER BY created_at")};
    if (!r || PQresultStatus(r.get()) != PGRES_TUPLES_OK)
      return failure{describe() + ": reading meetings: " + one_line(PQerrorMessage(conn_.get()))};
    std::vector<meeting_created> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back({PQgetvalue(r.get(), i, 0), PQgetvalue(r.get(), i, 1),
                     PQgetvalue(r.get(), i, 2), std::stoll(PQgetvalue(r.get(), i, 3)),
                     std::stoll(PQgetvalue(r.get(), i, 4))});
    return out;
  }

private:
  result<bool> begin() override {
    if (auto ok = connect(); !ok)
      return failure{ok.error()};
    if (!command("BEGIN"))
      return fail("begin");
    return true;
  }

  bool commit() override { return command("COMMIT"); }

  failure fail(const std::string& what) override {
    std::string reason = last_error_.empty() && conn_ ? one_line(PQerrorMessage(conn_.get()))
                                                      : last_error_;
    last_error_.clear();
    return failure{describe() + ": " + what + ": " + reason};
  }

  // After a failure: ends the transaction; a connection that is gone is dropped, and made
  // again (with its statements) on the next batch.
  void rollback() override {
    if (!conn_)
      return;
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      return;
    }
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) {
      pgresult r{PQexec(conn_.get(), "ROLLBACK")};
      if (PQstatus(conn_.get()) != CONNECTION_OK)
        conn_.reset();
    }
  }

  bool command(const char* sql) {
    if (!conn_)
      return false;
    pgresult r{PQexec(conn_.get(), sql)};
    bool ok = r && PQresultStatus(r.get()) == PGRES_COMMAND_OK;
    if (!ok)
      note_error(r.get());
    return ok;
  }

  void note_error(const PGresult* r) {
    last_error_ = one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_.get()));
    if (last_error_.empty())
      last_error_ = one_line(PQerrorMessage(conn_.get()));
  }

  // Runs a prepared statement; nothing on failure (the error noted).
  std::optional<sql_row> run(statement which, const sql_params& params) override {
    auto text = text_values(params);
    std::vector<const char*> values;
    values.reserve(text.size());
    for (auto& v : text)
      values.push_back(v ? v->c_str() : nullptr);
    pgresult r{PQexecPrepared(conn_.get(), stmt_name(static_cast<size_t>(which)).c_str(),
                              static_cast<int>(values.size()), values.data(), nullptr, nullptr,
                              0)};
    auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      note_error(r.get());
      return std::nullopt;
    }
    return sql_row{first_row_integer(r.get(), 0), first_row_integer(r.get(), 1)};
  }

  // The inserts return the new row's id (RETURNING id).
  int64_t inserted_id(const sql_row& returned) override { return returned[0]; }

  // Creates the schema in a database without it, or checks the version of the one there,
  // in one transaction under an advisory lock: nodes that start together wait for each
  // other, and the first creates it.
  result<bool> ensure_schema(PGconn* c) {
    auto fail_here = [&](const std::string& what, const PGresult* r) {
      std::string reason = one_line(r ? PQresultErrorMessage(r) : PQerrorMessage(c));
      if (reason.empty())
        reason = one_line(PQerrorMessage(c));
      pgresult rb{PQexec(c, "ROLLBACK")};
      return failure{describe() + ": " + what + ": " + reason};
    };
    auto exec_ok = [&](const char* sql, pgresult& out) {
      out.reset(PQexec(c, sql));
      auto st = out ? PQresultStatus(out.get()) : PGRES_FATAL_ERROR;
      return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    };
    pgresult r;
    if (!exec_ok("BEGIN", r))
      return fail_here("opening a transaction", r.get());
    if (!exec_ok(schema_lock_sql, r))
      return fail_here("taking the schema lock", r.get());
    if (!exec_ok("SELECT to_regclass('schema_version') IS NOT NULL, "
                 "to_regclass('rooms') IS NOT NULL",
                 r))
      return fail_here("reading the schema", r.get());
    bool has_version = std::string_view{PQgetvalue(r.get(), 0, 0)} == "t";
    bool has_rooms = std::string_view{PQgetvalue(r.get(), 0, 1)} == "t";
    if (!has_version) {
      if (has_rooms) {
        pgresult rb{PQexec(c, "ROLLBACK")};
        return failure{describe() +
                       ": the database holds a table rooms and no schema_version: not a "
                       "Chorus class record"};
      }
      if (!exec_ok(postgres_schema(), r))
        return fail_here("creating the schema", r.get());
      auto version = std::to_string(schema_version);
      const char* v[] = {version.c_str()};
      r.reset(PQexecParams(c, "INSERT INTO schema_version (version) VALUES ($1)", 1, nullptr, v,
                           nullptr, nullptr, 0));
      if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
        return fail_here("creating the schema", r.get());
    } else {
      if (!exec_ok("SELECT max(version) FROM schema_version", r))
        return fail_here("reading schema_version", r.get());
      std::string version = PQgetisnull(r.get(), 0, 0) ? "" : PQgetvalue(r.get(), 0, 0);
      if (version != std::to_string(schema_version)) {
        pgresult rb{PQexec(c, "ROLLBACK")};
        return failure{describe() + ": schema version " +
                       (version.empty() ? std::string{"(none)"} : version) +
                       ", this build reads version " + std::to_string(schema_version)};
      }
      // The tables added since version 1, in a database made before them.
      static const std::string added = added_tables_sql(sql_dialect::postgres);
      if (!exec_ok(added.c_str(), r))
        return fail_here("creating the meetings and recordings tables", r.get());
    }
    if (!exec_ok("COMMIT", r))
      return fail_here("committing the schema", r.get());
    return true;
  }

  std::string url_;
  postgres_options options_;
  std::string described_;
  conn_ptr conn_;
  std::string last_error_;
  record_writer writer_{*this, class_lookup::own_first};
};

} // namespace

const char* postgres_schema() {
  static const std::string text = schema_sql(sql_dialect::postgres);
  return text.c_str();
}

result<bool> check_postgres_url(const std::string& url) {
  if (url.empty())
    return failure{"no url given"};
  auto scheme = url.find("://");
  if (scheme != std::string::npos && url.compare(0, scheme, "postgresql") != 0 &&
      url.compare(0, scheme, "postgres") != 0)
    return failure{"the url must start with postgresql:// (or be a libpq connection string "
                   "such as \"host=... dbname=...\")"};
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, options_deleter> opts{PQconninfoParse(url.c_str(), &err)};
  if (!opts) {
    std::string reason = err ? one_line(err) : "cannot be parsed";
    if (err)
      PQfreemem(err);
    return failure{reason};
  }
  // libpq checks ports only when it connects: a typo there is caught now.
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (std::string_view{o->keyword} != "port" || !o->val)
      continue;
    std::string_view ports{o->val};
    while (true) {
      auto comma = ports.find(',');
      auto port = ports.substr(0, comma);
      long n = 0;
      bool ok = !port.empty() && port.size() <= 5;
      for (char ch : port)
        ok = ok && ch >= '0' && ch <= '9';
      if (ok)
        n = std::strtol(std::string{port}.c_str(), nullptr, 10);
      if (!ok || n < 1 || n > 65535)
        return failure{"invalid port \"" + std::string{port} + "\""};
      if (comma == std::string_view::npos)
        break;
      ports.remove_prefix(comma + 1);
    }
  }
  return true;
}

result<std::unique_ptr<record_store>> open_postgres_store(const std::string& url,
                                                          const postgres_options& options) {
  if (auto ok = check_postgres_url(url); !ok)
    return failure{"postgresql: " + ok.error()};
  return std::unique_ptr<record_store>{std::make_unique<postgres_store>(url, options)};
}

} // namespace chorus::store
