// Where the class record is written. One implementation today: SQLite, one file
// (storage.path). PostgreSQL (storage.url, for a cluster) would be another implementation
// of the same interface and schema.
#pragma once

#include "common/result.hpp"
#include "store/record.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace chorus::store {

// The schema this build writes (table schema_version). A file with another version is
// refused (no migrations yet).
inline constexpr int schema_version = 1;

class record_store {
public:
  virtual ~record_store() = default;

  // Writes `batch` in one transaction: all of it, or nothing (rolled back, error returned).
  // Returns the number of records written. Never throws.
  virtual result<size_t> apply(const std::vector<record_event>& batch) = 0;

  // "sqlite:PATH", for logs.
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

} // namespace chorus::store
