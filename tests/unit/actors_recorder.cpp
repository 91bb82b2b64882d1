// The recorder: record events sent to it land in the SQLite file after a flush, in
// batches; a failing store is counted and retried and never ends the recorder; record
// events survive CAF's binary serialization (they may come from another node).
#include "actors/messages.hpp"
#include "actors/recorder.hpp"
#include "store/record_store.hpp"

#include "temp_dir.hpp"

#include <caf/all.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

using namespace chorus;
using namespace std::chrono_literals;

namespace {

// count(*) of `sql` on another connection (-1 on error).
int64_t count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
  }
  sqlite3_close_v2(db);
  return n;
}

// Waits up to `limit` for `pred`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 3000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred())
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

struct system_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  system_fixture() {
    actors::register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

// A store that fails while `failing` is set, and counts what it is given. With
// `lose_answer`, the next batch is written but reported failed (a COMMIT whose answer was
// lost); a batch under a key it holds is then not written again.
struct flaky_store final : store::record_store {
  std::mutex mutex;
  bool failing = true;
  bool lose_answer = false;
  size_t attempts = 0;
  size_t written = 0;
  std::vector<std::pair<std::string, size_t>> tries; // key and size of every try
  std::set<std::string> keys;                         // of the batches written

  result<store::batch_result> apply(const std::vector<store::record_event>& batch,
                                    std::string_view key) override {
    std::lock_guard<std::mutex> g{mutex};
    ++attempts;
    tries.emplace_back(std::string{key}, batch.size());
    if (failing)
      return failure{"flaky: disk full"};
    if (keys.count(std::string{key}))
      return store::batch_result{0, true};
    keys.insert(std::string{key});
    written += batch.size();
    if (std::exchange(lose_answer, false))
      return failure{"flaky: connection lost during COMMIT"};
    return store::batch_result{batch.size(), false};
  }
  std::string describe() const override { return "flaky"; }
};

} // namespace

TEST_CASE("events sent to the recorder are in the file after a flush") {
  test::temp_dir dir;
  const auto path = dir.file("record.db");
  auto opened = store::open_sqlite_store(path);
  REQUIRE(opened.ok());
  system_fixture fx;
  actors::recorder_settings rs;
  rs.flush_interval = 20ms;
  auto counters = std::make_shared<actors::recorder_counters>();
  auto recorder = actors::spawn_recorder(*fx.sys, std::move(*opened), rs, counters);

  // As a room sends them (record() skips a context without a recorder).
  actors::node_context ctx;
  ctx.recorder = recorder;
  caf::scoped_actor room{*fx.sys};
  actors::record(room.ptr(), ctx, store::room_opened{"math", "node-a", 1000});
  actors::record(room.ptr(), ctx, store::peer_joined{"math", "p1", "u1", "Ada", "student", 1001});
  room->send(recorder, store::record_event{
                         store::chat_posted{"math", "m1", "p1", "u1", "Ada", "hi", "", 1002}});
  actors::record(room.ptr(), ctx,
                 store::poll_created{"math", "q", "?", {"a", "b"}, false, false, "p1", 1003});
  actors::record(room.ptr(), ctx, store::vote_cast{"math", "q", "p1", "u1", {1}, {}, 1004});
  actors::record(room.ptr(), ctx, store::moderation_taken{"math", "mute-peer", "p1", "t", "", 1005});
  actors::node_context off; // storage off: nothing is sent, nothing fails
  actors::record(room.ptr(), off, store::peer_left{"math", "p1", 1006});

  CHECK(eventually([&] { return count(path, "SELECT count(*) FROM moderation_actions") == 1; }));
  CHECK(count(path, "SELECT count(*) FROM rooms") == 1);
  CHECK(count(path, "SELECT count(*) FROM attendance WHERE left_at IS NULL") == 1);
  CHECK(count(path, "SELECT count(*) FROM chat_messages") == 1);
  CHECK(count(path, "SELECT count(*) FROM votes WHERE voter_peer_id = 'p1'") == 1);
  CHECK(eventually([&] { return counters->events_written.load() == 6; }));
  CHECK(counters->events_received.load() == 6);
  CHECK(counters->batches_failed.load() == 0);
  CHECK(counters->batches_written.load() >= 1);
  CHECK(counters->events_pending.load() == 0);

  // A flush on request answers once the write is done.
  room->send(recorder, store::record_event{store::peer_left{"math", "p1", 2000}});
  bool flushed = false;
  room->request(recorder, 2s, actors::record_flush_atom::value)
    .receive([&](bool ok) { flushed = ok; }, [&](caf::error& err) { FAIL(to_string(err)); });
  CHECK(flushed);
  CHECK(count(path, "SELECT count(*) FROM attendance WHERE left_at = 2000") == 1);

  // Shutdown: what arrives within the grace still goes in, then the recorder ends.
  room->send_exit(recorder, caf::exit_reason::user_shutdown);
  room->send(recorder, store::record_event{store::room_closed{"math", "node-a", 3000}});
  room->wait_for(recorder);
  CHECK(count(path, "SELECT count(*) FROM rooms WHERE closed_at = 3000") == 1);
}

TEST_CASE("a batch is written at max_batch events without waiting for the interval") {
  test::temp_dir dir;
  const auto path = dir.file("record.db");
  auto opened = store::open_sqlite_store(path);
  REQUIRE(opened.ok());
  system_fixture fx;
  actors::recorder_settings rs;
  rs.flush_interval = 60000ms; // never, within this test
  rs.max_batch = 10;
  auto counters = std::make_shared<actors::recorder_counters>();
  auto recorder = actors::spawn_recorder(*fx.sys, std::move(*opened), rs, counters);
  caf::scoped_actor room{*fx.sys};
  for (int i = 0; i < 25; ++i)
    room->send(recorder, store::record_event{store::chat_posted{
                           "math", std::to_string(i), "p1", "", "Ada", "msg", "", 1000 + i}});
  // Two batches written and the last five waiting: the rows can be visible before the
  // recorder has taken the rest of the sends, so both are waited for together.
  CHECK(eventually([&] {
    return count(path, "SELECT count(*) FROM chat_messages") == 20 &&
           counters->events_pending.load() == 5;
  }));
  CHECK(counters->batches_written.load() == 2);
  room->send_exit(recorder, caf::exit_reason::user_shutdown);
  room->wait_for(recorder);
  CHECK(count(path, "SELECT count(*) FROM chat_messages") == 25);
}

TEST_CASE("a failing store is counted and retried; the recorder keeps running") {
  system_fixture fx;
  auto flaky = std::make_shared<flaky_store>();
  actors::recorder_settings rs;
  rs.flush_interval = 10ms;
  rs.retry_interval = 20ms;
  rs.max_pending = 8;
  auto counters = std::make_shared<actors::recorder_counters>();
  auto recorder = actors::spawn_recorder(*fx.sys, flaky, rs, counters);
  caf::scoped_actor room{*fx.sys};
  for (int i = 0; i < 10; ++i) {
    std::string peer{"p"};
    peer += std::to_string(i); // ("p" + to_string: a false -Wrestrict in GCC 12)
    room->send(recorder, store::record_event{store::peer_joined{"math", peer, "", "x", "", 1000 + i}});
  }
  CHECK(eventually([&] { return counters->batches_failed.load() >= 3; }));
  CHECK(counters->events_dropped.load() == 2); // beyond max_pending: the oldest went
  CHECK(counters->events_pending.load() == 8);
  {
    std::lock_guard<std::mutex> g{flaky->mutex};
    flaky->failing = false;
  }
  CHECK(eventually([&] { return counters->events_written.load() == 8; }));
  CHECK(counters->events_pending.load() == 0);
  // Still alive and answering.
  bool flushed = false;
  room->request(recorder, 2s, actors::record_flush_atom::value)
    .receive([&](bool ok) { flushed = ok; }, [&](caf::error& err) { FAIL(to_string(err)); });
  CHECK(flushed);
  std::lock_guard<std::mutex> g{flaky->mutex};
  CHECK(flaky->written == 8);
  room->send_exit(recorder, caf::exit_reason::user_shutdown);
}

// A recorder over a flaky_store that flushes 100 ms after the first event (the events a
// test sends at once make one batch) and retries every 20 ms.
struct flaky_recorder {
  system_fixture fx;
  std::shared_ptr<flaky_store> flaky = std::make_shared<flaky_store>();
  std::shared_ptr<actors::recorder_counters> counters =
    std::make_shared<actors::recorder_counters>();
  caf::actor recorder;
  caf::scoped_actor room{*fx.sys};

  explicit flaky_recorder(bool failing, bool lose_answer = false) {
    flaky->failing = failing;
    flaky->lose_answer = lose_answer;
    actors::recorder_settings rs;
    rs.flush_interval = 100ms;
    rs.retry_interval = 20ms;
    recorder = actors::spawn_recorder(*fx.sys, flaky, rs, counters);
  }
  ~flaky_recorder() { room->send_exit(recorder, caf::exit_reason::user_shutdown); }
  void chat(int i) {
    room->send(recorder, store::record_event{store::chat_posted{
                           "math", std::to_string(i), "p1", "", "Ada", "msg", "", 1000 + i}});
  }
};

TEST_CASE("a failed batch is tried again whole under its key; what came meanwhile follows it") {
  flaky_recorder r{true};
  auto& flaky = r.flaky;
  auto& counters = r.counters;
  auto chat = [&](int i) { r.chat(i); };
  for (int i = 0; i < 3; ++i)
    chat(i);
  CHECK(eventually([&] { return counters->events_pending.load() == 3 && counters->batches_failed.load() >= 2; }));
  for (int i = 3; i < 5; ++i)
    chat(i);
  CHECK(eventually([&] { return counters->events_pending.load() == 5 && counters->batches_failed.load() >= 4; }));
  {
    std::lock_guard<std::mutex> g{flaky->mutex};
    flaky->failing = false;
  }
  CHECK(eventually([&] { return counters->events_written.load() == 5; }));
  std::lock_guard<std::mutex> g{flaky->mutex};
  REQUIRE(flaky->tries.size() >= 6);
  const auto first = flaky->tries.front();
  CHECK(first.second == 3);
  // Every try of the first batch, the failed ones and the one that worked: the same key,
  // the same three events. Then the two that came meanwhile, as a batch of their own.
  const auto last = flaky->tries.back();
  CHECK(last.first != first.first);
  CHECK(last.second == 2);
  for (size_t i = 0; i + 1 < flaky->tries.size(); ++i)
    CHECK(flaky->tries[i] == first);
  CHECK(counters->batches_written.load() == 2);
}

TEST_CASE("a batch written although its answer was lost is found on its retry, not written twice") {
  flaky_recorder r{false, true};
  auto& flaky = r.flaky;
  auto& counters = r.counters;
  for (int i = 0; i < 3; ++i)
    r.chat(i);
  CHECK(eventually([&] { return counters->batches_repeated.load() == 1; }));
  CHECK(counters->batches_failed.load() == 1);
  CHECK(counters->batches_written.load() == 0);
  CHECK(counters->events_written.load() == 3);
  CHECK(counters->events_pending.load() == 0);
  CHECK(counters->store_up.load() == 1);
  std::lock_guard<std::mutex> g{flaky->mutex};
  CHECK(flaky->written == 3);
}

TEST_CASE("record events round trip through CAF's binary format, every kind") {
  system_fixture fx;
  CHECK(fx.sys->types().make_value("chorus::record_event") != nullptr);
  std::vector<store::record_event> all{
    {store::room_opened{"r", "n", 1}},
    {store::room_closed{"r", "n", 2}},
    {store::peer_joined{"r", "p", "u", "Zoë", "student", 3}},
    {store::peer_left{"r", "p", 4}},
    {store::chat_posted{"r", "m", "p", "u", "Zoë", "héllo", "q", 5}},
    {store::chat_deleted{"r", "m", "t", 6}},
    {store::poll_created{"r", "q", "?", {"a", "b", "c"}, true, true, "t", 7}},
    {store::vote_cast{"r", "q", "p", "u", {0, 2}, {1}, 8}},
    {store::poll_closed{"r", "q", {1, 0, 1}, 1, 9}},
    {store::moderation_taken{"r", "kick-peer", "p", "t", "spam", 10}},
    {store::meeting_created{"r", "user_t", "Algebra", 1790000000000, 11}},
    {store::recording_started{"r", "rec", "user_t", "node-a", 12}},
    {store::recording_stopped{"r", "rec", "/rec/manifest.json", 6, 60000, 13}},
    {store::class_resumed{"r", "node-b",
                          {store::chat_posted{"r", "m0", "p", "u", "Zoë", "héllo", "", 5}},
                          {store::poll_created{"r", "q", "?", {"a", "b"}, false, false, "t", 7}},
                          {store::vote_cast{"r", "q", "p", "u", {1}, {}, 8}},
                          14}},
  };
  REQUIRE(all.size() == std::variant_size_v<store::record>);
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  for (auto& ev : all)
    REQUIRE_FALSE(sink(ev));
  caf::binary_deserializer source{nullptr, buf};
  for (size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    store::record_event back;
    REQUIRE_FALSE(source(back));
    CHECK(back.body.index() == i);
    CHECK(std::string{store::kind_name(back.body)} == store::kind_name(all[i].body));
    CHECK(store::room_of(back.body) == "r");
  }
  CHECK(source.remaining() == 0);
  // Field by field for the largest ones.
  {
    std::vector<char> b;
    caf::binary_serializer s{nullptr, b};
    REQUIRE_FALSE(s(all[6]));
    REQUIRE_FALSE(s(all[7]));
    caf::binary_deserializer d{nullptr, b};
    store::record_event p, v;
    REQUIRE_FALSE(d(p));
    REQUIRE_FALSE(d(v));
    auto& poll = std::get<store::poll_created>(p.body);
    CHECK(poll.options == std::vector<std::string>{"a", "b", "c"});
    CHECK(poll.multiple);
    CHECK(poll.anonymous);
    CHECK(poll.created_by == "t");
    CHECK(poll.at_ms == 7);
    auto& vote = std::get<store::vote_cast>(v.body);
    CHECK(vote.options == std::vector<uint32_t>{0, 2});
    CHECK(vote.previous == std::vector<uint32_t>{1});
    CHECK(vote.voter_user_id == "u");
  }
  {
    std::vector<char> b;
    caf::binary_serializer s{nullptr, b};
    REQUIRE_FALSE(s(all[13]));
    caf::binary_deserializer d{nullptr, b};
    store::record_event back;
    REQUIRE_FALSE(d(back));
    auto& resumed = std::get<store::class_resumed>(back.body);
    CHECK(resumed.node_id == "node-b");
    REQUIRE(resumed.chat.size() == 1);
    CHECK(resumed.chat[0].text == "héllo");
    REQUIRE(resumed.polls.size() == 1);
    CHECK(resumed.polls[0].options == std::vector<std::string>{"a", "b"});
    REQUIRE(resumed.votes.size() == 1);
    CHECK(resumed.votes[0].options == std::vector<uint32_t>{1});
    CHECK(resumed.at_ms == 14);
  }
  // An unknown kind is refused, not misread.
  {
    std::vector<char> b;
    caf::binary_serializer s{nullptr, b};
    uint8_t bogus = 200;
    REQUIRE_FALSE(s(bogus));
    caf::binary_deserializer d{nullptr, b};
    store::record_event x;
    CHECK(d(x));
  }
  // Printable (CAF renders messages in logs).
  CHECK(caf::deep_to_string(all[0]).find("room_opened") != std::string::npos);
}
