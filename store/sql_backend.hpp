// What the record writer (store/record_writer.hpp) needs from a SQL database: one
// transaction per batch, and its statements (store/sql_statements.hpp) run with bound
// values. The SQLite and PostgreSQL stores implement it, each in its own dialect; the
// writer decides what to run, the backend only how.
#pragma once

#include "common/result.hpp"
#include "store/sql_statements.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace chorus::store {

// A value bound to a parameter: NULL, an integer, or text. Text points into the record
// being written, which outlives the statement's run.
using sql_value = std::variant<std::monostate, int64_t, std::string_view>;

// A statement's values, in the order of its parameters (?1 / $1 first).
struct sql_params {
  std::vector<sql_value> values;

  sql_params& text(std::string_view v) {
    values.emplace_back(v);
    return *this;
  }
  // "" is NULL.
  sql_params& text_or_null(std::string_view v) { return v.empty() ? null() : text(v); }
  sql_params& integer(int64_t v) {
    values.emplace_back(v);
    return *this;
  }
  // 0 (no such row) is NULL.
  sql_params& id_or_null(int64_t v) { return v == 0 ? null() : integer(v); }
  sql_params& null() {
    values.emplace_back(std::monostate{});
    return *this;
  }
};

// The first row a statement returned, its first two columns as integers (0 where NULL or
// absent); all 0 when it returned no row.
using sql_row = std::array<int64_t, 2>;

class sql_backend {
public:
  virtual ~sql_backend() = default;

  // Opens the batch's transaction (a server backend connects first). The failure names the
  // store and the reason.
  virtual result<bool> begin() = 0;

  // Commits the batch's transaction. False: failed (the reason is kept for fail()).
  virtual bool commit() = 0;

  // After a failure: ends the transaction if one is still open (a server backend drops a
  // connection that is gone).
  virtual void rollback() = 0;

  // Runs one statement with `params`. Nothing: it failed (the reason is kept for fail()).
  virtual std::optional<sql_row> run(statement which, const sql_params& params) = 0;

  // The id of the row that the insert_room or insert_poll just run (which returned
  // `returned`) created.
  virtual int64_t inserted_id(const sql_row& returned) = 0;

  // The last failure as "<store>: <what>: <the database's reason>".
  virtual failure fail(const std::string& what) = 0;
};

} // namespace chorus::store
