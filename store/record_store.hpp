// Where the class record is written: SQLite, one file (storage.path), or PostgreSQL
// (storage.url: a cluster's nodes share one record). Both hold the same schema, each in its
// own SQL dialect.
#pragma once

#include "common/result.hpp"
#include "store/record.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::store {

// The schema this build writes (table schema_version). A file with another version is
// refused (no migrations yet).
inline constexpr int schema_version = 1;

class record_store {
public:
  virtual ~record_store() = default;

  // Writes `batch` in one transaction: all of it, or nothing (rolled back, error returned).
  // `key` names the batch, the same on every try of it (see record_writer::apply): a batch
  // whose key the store holds was written by an earlier try whose answer was lost, and is
  // not written again. Never throws.
  virtual result<batch_result> apply(const std::vector<record_event>& batch,
                                     std::string_view key) = 0;

  // Makes sure the store can be written now: a server store connects (if it is not
  // connected) and checks its schema. The recorder calls it at start and, while it fails and
  // nothing waits to be written, every retry interval. Never throws.
  virtual result<bool> connect() { return true; }

  // The meetings registered so far (meeting_created), to serve them again after a restart.
  // Called once at start, before the recorder takes the store. Never throws.
  virtual result<std::vector<meeting_created>> load_meetings() {
    return std::vector<meeting_created>{};
  }

  // "sqlite:PATH" or "postgresql://USER@HOST:PORT/DB" (never a password), for logs.
  virtual std::string describe() const = 0;
};

struct sqlite_options {
  // Another connection holds the write lock: wait this long, then fail the batch (it is
  // tried again). Short, so that the last write at shutdown fits the server's 1.8 s.
  int busy_timeout_ms = 1000;
};

// Opens (or creates, with its schema) the SQLite file at `path`: WAL journal, the busy
// timeout, statements prepared once. Fails with a message (the path, SQLite's reason) when
// the file cannot be opened or written, is not a database, or holds another schema version.
result<std::unique_ptr<record_store>> open_sqlite_store(const std::string& path,
                                                        const sqlite_options& options = {});

// The CREATE statements of schema_version (docs/operations.md shows them).
const char* sqlite_schema();

struct postgres_options {
  // Added to the url's parameters unless it gives them: a connection attempt is abandoned
  // after connect_timeout_s, and a connection whose server stops answering is dropped after
  // tcp_user_timeout_ms (the batch fails and is tried again on a new connection).
  int connect_timeout_s = 2;
  int tcp_user_timeout_ms = 5000;
};

// Checks a PostgreSQL url ("postgresql://USER@HOST:PORT/DB?..." or a libpq connection string
// "host=... dbname=..."): fails with libpq's reason when it cannot be parsed. Connects to
// nothing.
result<bool> check_postgres_url(const std::string& url);

// The store on the PostgreSQL server at `url`. Fails only when the url cannot be parsed: the
// server need not be reachable yet. It connects on connect() or on the first batch, creates
// the schema when the database holds none (under an advisory lock: nodes that start
// together create it once), and refuses a database of another schema version. A connection
// that is lost is made again on the next batch.
result<std::unique_ptr<record_store>> open_postgres_store(const std::string& url,
                                                          const postgres_options& options = {});

// The CREATE statements of schema_version in PostgreSQL's dialect (docs/operations.md).
const char* postgres_schema();

} // namespace chorus::store
