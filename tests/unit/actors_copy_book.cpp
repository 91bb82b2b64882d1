// The copies a node holds of rooms homed elsewhere: versions, forgets, the copy a room made
// here starts from after its home was lost, and the copies of a lost home dropped.
#include "actors/copy_book.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

using namespace chorus::actors;

namespace {

room_snapshot copy_of(const std::string& room, uint64_t version, bool forget = false) {
  room_snapshot c;
  c.room_id = room;
  c.version = version;
  c.forget = forget;
  return c;
}

// Live: every home but those named.
copy_book::live_test all_but(std::set<std::string> gone) {
  return [gone](const std::string& home) { return !gone.count(home); };
}

} // namespace

TEST_CASE("copy book: a copy replaces an older one of its room, a forget drops an older one") {
  struct step {
    room_snapshot copy;
    uint64_t held; // 0: none held afterwards
  };
  struct row {
    const char* name;
    std::vector<step> steps;
  };
  const std::vector<row> rows{
    {"newer replaces", {{copy_of("r", 3), 3}, {copy_of("r", 5), 5}}},
    {"the same version replaces", {{copy_of("r", 3), 3}, {copy_of("r", 3), 3}}},
    {"older is ignored", {{copy_of("r", 5), 5}, {copy_of("r", 3), 5}}},
    {"a forget of that version or newer drops", {{copy_of("r", 5), 5}, {copy_of("r", 5, true), 0}}},
    {"a forget older than the copy leaves it (a replica copy sent after it)",
     {{copy_of("r", 7), 7}, {copy_of("r", 6, true), 7}}},
    {"a forget of a room not held changes nothing", {{copy_of("r", 2, true), 0}}},
  };
  for (auto& r : rows) {
    CAPTURE(r.name);
    copy_book book;
    for (auto& s : r.steps) {
      book.keep(s.copy, "node-a");
      auto* held = book.find("r");
      CHECK((held ? held->version : 0) == s.held);
      CHECK(book.size() == (s.held ? 1u : 0u));
    }
  }
}

TEST_CASE("copy book: a room made here starts from the copy only when its home is gone") {
  copy_book book;
  book.keep(copy_of("lost", 4), "node-a");
  book.keep(copy_of("moved", 9), "node-b");
  auto from_lost = book.take("lost", all_but({"node-a"}));
  REQUIRE(from_lost);
  CHECK(from_lost->version == 4);
  // A room that moved in good order (its old home lives): no seed, and the copy is gone.
  CHECK_FALSE(book.take("moved", all_but({"node-a"})));
  CHECK(book.size() == 0);
  CHECK_FALSE(book.take("never-held", all_but({})));
}

TEST_CASE("copy book: the copies of homes that are gone are dropped, the others kept") {
  copy_book book;
  book.keep(copy_of("r1", 1), "node-a");
  book.keep(copy_of("r2", 1), "node-b");
  book.keep(copy_of("r3", 1), "node-a");
  // r3 was rebuilt on node-c, which sends its copies now.
  book.keep(copy_of("r3", 2), "node-c");
  auto gone = book.drop_orphans(all_but({"node-a"}));
  CHECK(gone == std::vector<std::string>{"r1"});
  CHECK(book.size() == 2);
  CHECK(book.find("r2"));
  CHECK(book.find("r3"));
}
