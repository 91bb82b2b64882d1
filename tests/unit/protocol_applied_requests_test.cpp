// The ledger of applied live-class requests (protocol/applied_requests.hpp): what a room
// answers a request sent again after its home was lost.
#include "protocol/applied_requests.hpp"

#include <doctest/doctest.h>

using namespace chorus::protocol;

namespace {
class_reply reply(const char* id) { return {"messageId", id}; }
} // namespace

TEST_CASE("applied_requests: a request is found by its op and its sender only") {
  applied_requests book{15000, 100};
  book.add(7, "ann", reply("m0"), 1000);
  book.add(8, "ann", reply("m1"), 1001);
  book.add(0, "ann", reply("m2"), 1002); // no op id: not noted
  struct row {
    const char* name;
    uint64_t op;
    const char* peer;
    const char* id; // nullptr: not found
  };
  for (auto r : {row{"first", 7, "ann", "m0"}, row{"second", 8, "ann", "m1"},
                 row{"another peer's op", 7, "ben", nullptr}, row{"unknown op", 9, "ann", nullptr},
                 row{"op 0", 0, "ann", nullptr}}) {
    CAPTURE(r.name);
    auto found = book.find(r.op, r.peer, 1002);
    if (!r.id) {
      CHECK_FALSE(found);
      continue;
    }
    REQUIRE(found);
    CHECK(found->key == "messageId");
    CHECK(found->id == r.id);
  }
  CHECK(book.size() == 2);
}

TEST_CASE("applied_requests: kept for keep_ms and at most max") {
  applied_requests book{15000, 3};
  book.add(1, "a", reply("m0"), 0);
  book.add(2, "a", reply("m1"), 10000);
  // 15 s after the first: still kept (the bound is inclusive); a moment later it goes.
  CHECK(book.items(15000).size() == 2);
  CHECK(book.items(15001).size() == 1);
  CHECK_FALSE(book.find(1, "a", 15001));
  CHECK(book.find(2, "a", 15001));
  book.add(3, "a", reply("m2"), 15002);
  book.add(4, "a", reply("m3"), 15003);
  book.add(5, "a", reply("m4"), 15004); // a fourth: the oldest goes
  CHECK(book.size() == 3);
  CHECK_FALSE(book.find(2, "a", 15004));
  CHECK(book.find(5, "a", 15004));
}

TEST_CASE("applied_requests: a rebuilt room merges the copy's entries with its own") {
  applied_requests copy_side{15000, 100};
  copy_side.add(1, "a", reply("m0"), 100);
  copy_side.add(2, "b", reply("m1"), 200);
  auto carried = copy_side.items(300);
  REQUIRE(carried.size() == 2);

  applied_requests rebuilt{15000, 100};
  rebuilt.add(3, "a", reply("m2"), 400); // applied here before the copy arrived
  rebuilt.merge(carried, 500);
  auto all = rebuilt.items(500);
  REQUIRE(all.size() == 3);
  CHECK(all[0].op == 1); // oldest first
  CHECK(all[1].op == 2);
  CHECK(all[2].op == 3);
  // A second copy with the same entries adds nothing.
  rebuilt.merge(carried, 600);
  CHECK(rebuilt.size() == 3);
  // Entries of a copy older than keep_ms are not taken.
  applied_requests late{15000, 100};
  late.merge(carried, 100000);
  CHECK(late.size() == 0);
}
