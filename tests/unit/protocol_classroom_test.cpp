// The live class's pure state: the hand queue, chat text checks and history, the poll state
// machine.
#include "protocol/classroom.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus::protocol;

TEST_CASE("hand queue: ordered by time, one place per peer, lowered by anyone's request") {
  hand_queue q;
  CHECK(q.raise("a", "user_a", "Ann", 1000));
  CHECK(q.raise("b", "", "Bob", 1500));
  CHECK_FALSE(q.raise("a", "user_a", "Ann", 2000)); // already up: keeps its place and time
  REQUIRE(q.items().size() == 2);
  CHECK(q.items()[0] == hand_item{"a", "user_a", "Ann", 1000});
  CHECK(q.items()[1].peer_id == "b");
  CHECK(q.contains("b"));
  CHECK(q.lower("a"));
  CHECK_FALSE(q.lower("a"));
  CHECK_FALSE(q.lower("nobody"));
  CHECK(q.raise("a", "user_a", "Ann", 3000)); // raised again: at the end
  CHECK(q.items().back().raised_at == 3000);
}

TEST_CASE("chat text: limits and characters") {
  struct row {
    const char* name;
    std::string text;
    bool ok;
  };
  const std::vector<row> rows{
    {"plain", "hello", true},
    {"newline and tab", "line 1\nline\t2", true},
    {"utf-8", "Grüße 👋", true},
    {"exactly the limit", std::string(20, 'x'), true},
    {"one over the limit", std::string(21, 'x'), false},
    {"empty", "", false},
    {"carriage return", "a\rb", false},
    {"escape", "a\x1b[31mred", false},
    {"NUL", std::string("a\0b", 3), false},
    {"DEL", "a\x7f", false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    CHECK(check_chat_text(r.text, 20).empty() == r.ok);
  }
}

TEST_CASE("chat history: bounded, oldest first, deletable, private messages not kept by the caller") {
  chat_history h{3};
  for (int i = 1; i <= 5; ++i)
    h.add({"m" + std::to_string(i), "p", "", "P", "t" + std::to_string(i), "", i});
  auto items = h.items();
  REQUIRE(items.size() == 3);
  CHECK(items[0].id == "m3");
  CHECK(items[2].id == "m5");
  CHECK(h.erase("m4"));
  CHECK_FALSE(h.erase("m4"));
  CHECK_FALSE(h.erase("m1")); // dropped already
  CHECK(h.items().size() == 2);
  chat_history none{0};
  none.add({"m1", "p", "", "P", "t", "", 1});
  CHECK(none.size() == 0);
}

TEST_CASE("poll: creation is checked") {
  std::string error;
  struct row {
    const char* name;
    std::string question;
    std::vector<std::string> options;
    const char* error_part; // nullptr: valid
  };
  const std::vector<row> rows{
    {"valid", "Which?", {"a", "b"}, nullptr},
    {"ten options", "Q", {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, nullptr},
    {"empty question", "", {"a", "b"}, "question"},
    {"one option", "Q", {"a"}, "options"},
    {"eleven options", "Q", {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"}, "options"},
    {"empty option", "Q", {"a", ""}, "options[1]"},
    {"repeated option", "Q", {"a", "b", "a"}, "repeats"},
    {"long question", std::string(max_poll_text_bytes + 1, 'q'), {"a", "b"}, "question"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    error.clear();
    auto p = poll::make("p1", r.question, r.options, false, false, "t", 5, error);
    CHECK(p.has_value() == (r.error_part == nullptr));
    if (r.error_part)
      CHECK(error.find(r.error_part) != std::string::npos);
  }
}

TEST_CASE("poll: vote once, change until closed, anonymous or not, one or several options") {
  std::string error;
  auto p = poll::make("p1", "Best day?", {"Mon", "Tue", "Wed"}, false, true, "teacher", 42, error);
  REQUIRE(p);
  CHECK(p->vote("a", {0}) == poll::vote_result::counted);
  CHECK(p->vote("b", {0}) == poll::vote_result::counted);
  CHECK(p->vote("c", {2}) == poll::vote_result::counted);
  CHECK(p->snapshot().counts == std::vector<uint32_t>{2, 0, 1});
  CHECK(p->snapshot().voters == 3);
  // A changed vote moves the count; the voter is counted once.
  CHECK(p->vote("a", {1}) == poll::vote_result::changed);
  CHECK(p->snapshot().counts == std::vector<uint32_t>{1, 1, 1});
  CHECK(p->snapshot().voters == 3);
  CHECK(p->choices_of("a") == std::vector<uint32_t>{1});
  CHECK(p->choices_of("nobody").empty());
  // Refusals leave the counts alone.
  CHECK(p->vote("d", {}) == poll::vote_result::no_choice);
  CHECK(p->vote("d", {3}) == poll::vote_result::bad_option);
  CHECK(p->vote("d", {0, 1}) == poll::vote_result::one_only);
  CHECK(p->vote("d", {1, 1}) == poll::vote_result::counted); // a duplicate counts once
  CHECK(p->snapshot().counts == std::vector<uint32_t>{1, 2, 1});
  CHECK(p->snapshot().anonymous);
  CHECK(p->snapshot().created_at == 42);
  // Closed: final.
  CHECK(p->close());
  CHECK_FALSE(p->close());
  CHECK(p->closed());
  CHECK(p->snapshot().closed);
  CHECK(p->vote("e", {0}) == poll::vote_result::closed);
  CHECK(p->vote("a", {0}) == poll::vote_result::closed);
  CHECK(p->snapshot().counts == std::vector<uint32_t>{1, 2, 1});

  auto multi = poll::make("p2", "Which?", {"x", "y", "z"}, true, false, "t", 0, error);
  REQUIRE(multi);
  CHECK(multi->vote("a", {2, 0}) == poll::vote_result::counted);
  CHECK(multi->vote("b", {0}) == poll::vote_result::counted);
  CHECK(multi->snapshot().counts == std::vector<uint32_t>{2, 0, 1});
  CHECK(multi->choices_of("a") == std::vector<uint32_t>{0, 2});
  CHECK(multi->vote("a", {1}) == poll::vote_result::changed);
  CHECK(multi->snapshot().counts == std::vector<uint32_t>{1, 1, 0});
  CHECK(multi->snapshot().voters == 2);
}

TEST_CASE("poll: rebuilt from its votes (a room that moved) it counts and refuses alike") {
  std::string error;
  auto a = chorus::protocol::poll::make("p1", "Which?", {"x", "y", "z"}, true, false, "t", 1000, error);
  REQUIRE(a);
  a->vote("u1", {0, 2});
  a->vote("u2", {1});
  a->vote("u1", {2}); // changed: kept in first-vote order
  auto b = chorus::protocol::poll::make("p1", "Which?", {"x", "y", "z"}, true, false, "t", 1000, error);
  REQUIRE(b);
  for (auto& [voter, choices] : a->votes())
    b->vote(voter, choices);
  CHECK(b->snapshot() == a->snapshot());
  CHECK(b->votes() == a->votes());
  CHECK(b->choices_of("u1") == std::vector<uint32_t>{2});
  a->close();
  b->close();
  CHECK(b->vote("u3", {0}) == chorus::protocol::poll::vote_result::closed);
  CHECK(b->snapshot() == a->snapshot());
}
