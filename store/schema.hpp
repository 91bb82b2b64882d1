// The class record's tables, written once for both SQL dialects: the SQLite text, with
// {id} for a row id (INTEGER PRIMARY KEY; PostgreSQL: BIGSERIAL PRIMARY KEY) and {int64}
// for a 64-bit value (INTEGER; PostgreSQL: BIGINT); PostgreSQL creates every table and
// index IF NOT EXISTS (nodes of a cluster may start together).
#pragma once

#include "store/sql_statements.hpp"

#include <string>

namespace chorus::store {

// Everything a new record is created with (schema_version, rooms, ... recordings).
std::string schema_sql(sql_dialect dialect);
// The tables added since version 1 (meetings, recordings): created in older records too.
std::string added_tables_sql(sql_dialect dialect);

} // namespace chorus::store
