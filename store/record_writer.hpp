// Writes batches of records into a SQL database (store/sql_backend.hpp), once for SQLite
// and PostgreSQL: for each kind of record, which statements run with which values, how a
// record finds its class (the room's opening) and its poll, and one transaction per batch,
// all of it or nothing.
//
// A record of a room ties to the class that room's latest opening started (NULL when the
// store holds none); with class_lookup::own_first (several nodes writing into one store) to
// the class this node opened itself, when it did (store/own_classes.hpp). A vote or a
// poll's close whose poll the store does not hold is skipped: not written, not an error.
#pragma once

#include "common/result.hpp"
#include "store/own_classes.hpp"
#include "store/record.hpp"
#include "store/sql_backend.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::store {

enum class class_lookup {
  latest_in_store, // one writer: the latest opening is its own
  own_first,       // several writers: this node's own opening, else the latest
};

class record_writer {
public:
  record_writer(sql_backend& db, class_lookup lookup);

  // Writes `batch` in one transaction; the number of records written, or the failure (the
  // transaction rolled back). A non-empty `key` is claimed in the same transaction (table
  // record_batches): when the store holds it already, an earlier try of this batch was
  // committed although its answer was lost (a connection cut after COMMIT), so nothing
  // is written and the result says `repeated`. Retrying a failed batch with its key
  // therefore never writes a record twice.
  result<batch_result> apply(const std::vector<record_event>& batch, std::string_view key = {});

private:
  enum class done { ok, skipped, failed };

  struct poll_row {
    int64_t id = 0;
    bool anonymous = false;
  };

  // The class a record of `room_id` ties to (0: none). Nothing: the lookup failed.
  std::optional<int64_t> class_of(const std::string& room_id);
  // The first values of a row tied to a class: its class (NULL: none), then `room_id`.
  std::optional<sql_params> class_row(const std::string& room_id);
  // The poll a vote or a poll's close refers to; done::skipped when the store does not hold
  // it (its creation was not recorded).
  done find_poll(const std::string& room_id, const std::string& poll_id, poll_row& poll);
  bool run(statement which, const sql_params& params);
  static done outcome(bool ok) { return ok ? done::ok : done::failed; }

  // Writes one record: a specialization per kind of record (store/record.hpp).
  template <class Record>
  done write(const Record& r);

  sql_backend& db_;
  std::optional<own_classes> own_; // with class_lookup::own_first
};

} // namespace chorus::store
