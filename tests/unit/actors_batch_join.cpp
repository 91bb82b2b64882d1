// Joining the batches an actor behind its mail was sent (actors/batch_join.hpp): alone,
// and in an actor that is kept in a turn while batches pile up in its mailbox, as a
// producer's do while its fan-out runs.
#include "actors/batch_join.hpp"
#include "actors/lane.hpp"

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <vector>

namespace {

using chorus::actors::batch_join;
using step = batch_join<int>::step;
using namespace std::chrono_literals;

std::vector<int> v(std::initializer_list<int> xs) { return std::vector<int>(xs); }

} // namespace

TEST_CASE("batch_join: with no mail waiting a batch goes on at once") {
  batch_join<int> j;
  auto b = v({1, 2});
  CHECK(j.offer(b, false) == step::now);
  CHECK(b == v({1, 2}));
  CHECK(j.held() == 0);
  CHECK(j.joined() == 0);
  CHECK(j.flush().empty());
}

TEST_CASE("batch_join: batches offered while mail waits are held, in order, until the flush") {
  batch_join<int> j;
  auto b1 = v({1, 2});
  CHECK(j.offer(b1, true) == step::held_flush); // the first: the actor sends itself the flush
  CHECK(b1.empty());
  auto b2 = v({3});
  CHECK(j.offer(b2, true) == step::held); // the flush is on its way already
  auto b3 = v({4, 5});
  CHECK(j.offer(b3, true) == step::held);
  CHECK(j.held() == 5);
  CHECK(j.joined() == 3);
  CHECK(j.flush() == v({1, 2, 3, 4, 5}));
  CHECK(j.held() == 0);
  // After the flush the next batch held asks for a new one.
  auto b4 = v({6});
  CHECK(j.offer(b4, true) == step::held_flush);
  CHECK(j.flush() == v({6}));
}

TEST_CASE("batch_join: the mail done, the next batch takes what was held along, in front") {
  batch_join<int> j;
  auto b1 = v({1});
  CHECK(j.offer(b1, true) == step::held_flush);
  auto b2 = v({2, 3});
  CHECK(j.offer(b2, false) == step::now);
  CHECK(b2 == v({1, 2, 3}));
  CHECK(j.held() == 0);
  CHECK(j.flush().empty()); // the flush message that comes up later finds nothing
}

TEST_CASE("batch_join: at max_items what is held goes on, mail or not") {
  batch_join<int> j{4};
  auto b1 = v({1, 2});
  CHECK(j.offer(b1, true) == step::held_flush);
  auto b2 = v({3, 4});
  CHECK(j.offer(b2, true) == step::now);
  CHECK(b2 == v({1, 2, 3, 4}));
  auto b3 = v({5, 6, 7, 8, 9}); // larger than the bound by itself
  CHECK(j.offer(b3, true) == step::now);
  CHECK(b3.size() == 5);
  auto b4 = v({10});
  CHECK(j.offer(b4, true) == step::held); // the first flush has not come up yet
  CHECK(j.flush() == v({10}));
}

TEST_CASE("batch_join: an empty batch holds nothing and asks for no flush") {
  batch_join<int> j;
  std::vector<int> none;
  CHECK(j.offer(none, true) == step::now); // nothing held: nothing to wait for
  CHECK(j.joined() == 0);
  auto b1 = v({1});
  CHECK(j.offer(b1, true) == step::held_flush);
  CHECK(j.offer(none, true) == step::held); // what is held waits for its flush
  CHECK(j.offer(none, false) == step::held);
  CHECK(j.joined() == 1);
  CHECK(j.flush() == v({1}));
}

TEST_CASE("batch_join: take() hands on what is held before the flush comes up") {
  // (A producer's pause, resume or end must not overtake what it holds.)
  batch_join<int> j;
  auto b1 = v({1, 2});
  CHECK(j.offer(b1, true) == step::held_flush);
  CHECK(j.take() == v({1, 2}));
  CHECK(j.held() == 0);
  // The flush message is still on its way: a batch held meanwhile asks for no other.
  auto b2 = v({3});
  CHECK(j.offer(b2, true) == step::held);
  CHECK(j.flush() == v({3})); // it came up: what was held after the take
  CHECK(j.flush().empty());
  auto b3 = v({4});
  CHECK(j.offer(b3, true) == step::held_flush);
}

namespace {

using hold_atom = caf::atom_constant<caf::atom("bjhold")>;
using flush_atom = caf::atom_constant<caf::atom("bjflush")>;
using get_atom = caf::atom_constant<caf::atom("bjget")>;

struct joiner_state {
  batch_join<int> join{4};
  std::vector<std::vector<int>> handed_on; // what went on, batch by batch
  static inline const char* name = "batch-join-probe";
};
using joiner_actor = chorus::actors::laned_actor<joiner_state>;

// The producer's use of it: a batch offered with the mailbox's state, the flush message
// sent to itself; `hold` keeps it in a turn until `release` is set (at most 10 s).
// What it hands on also goes to `sink` when given; its exit handler hands on what it holds
// first, as the producer's does (actors/producer.cpp).
caf::behavior batch_joiner(joiner_actor* self, std::shared_future<void> release,
                     std::shared_ptr<std::promise<void>> holding, caf::actor sink) {
  auto hand_on = [self, sink](std::vector<int> b) {
    if (b.empty())
      return;
    if (sink)
      self->send(sink, b);
    self->state.handed_on.push_back(std::move(b));
  };
  self->set_exit_handler([self, hand_on](caf::exit_msg& em) {
    hand_on(self->state.join.take());
    if (em.reason)
      self->quit(std::move(em.reason));
  });
  return {
    [=](hold_atom) {
      holding->set_value();
      release.wait_for(10s);
    },
    [=](std::vector<int>& b) {
      switch (self->state.join.offer(b, !chorus::actors::mailbox_idle(self))) {
        case step::now:
          hand_on(std::move(b));
          break;
        case step::held_flush:
          self->send(self, flush_atom::value);
          break;
        case step::held:
          break;
      }
    },
    [=](flush_atom) { hand_on(self->state.join.flush()); },
    [=](get_atom) { return self->state.handed_on; },
  };
}

// What the actor handed on, once it holds `items` in all (asked again for at most 5 s).
std::vector<std::vector<int>> handed_on(caf::scoped_actor& s, const caf::actor& a, size_t items) {
  std::vector<std::vector<int>> got;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    s->request(a, 5s, get_atom::value)
      .receive([&](std::vector<std::vector<int>>& x) { got = std::move(x); },
               [](caf::error&) { FAIL("no reply"); });
    size_t n = 0;
    for (auto& b : got)
      n += b.size();
    if (n >= items)
      break;
    std::this_thread::yield();
  }
  return got;
}

// A joiner in an actor system of its own, and the means to keep it in a turn while batches
// pile up in its mailbox. `report`: what it hands on is also sent to the test's actor.
struct joiner_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor s{sys};
  std::promise<void> release;
  bool released = false;
  std::shared_ptr<std::promise<void>> holding = std::make_shared<std::promise<void>>();
  caf::actor a;

  explicit joiner_fixture(bool report)
    : a(sys.spawn(batch_joiner, release.get_future().share(), holding,
                  report ? caf::actor{s} : caf::actor{})) {}
  ~joiner_fixture() {
    let_go();
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  // Keeps the actor in a turn (it must get there within 5 s) until let_go().
  void hold() {
    s->send(a, hold_atom::value);
    REQUIRE(holding->get_future().wait_for(5s) == std::future_status::ready);
  }
  void let_go() {
    if (!released)
      release.set_value();
    released = true;
  }
};

} // namespace

TEST_CASE("batch_join: an actor kept busy hands on what piled up in few batches, in order") {
  joiner_fixture f{false};
  auto& s = f.s;
  SUBCASE("idle: each batch goes on by itself") {
    f.let_go();
    for (int i = 1; i <= 3; ++i) {
      s->send(f.a, std::vector<int>{i});
      // (each handed on before the next is sent: the mailbox is empty at each offer)
      CHECK(handed_on(s, f.a, size_t(i)).size() == size_t(i));
    }
    CHECK(handed_on(s, f.a, 3) == std::vector<std::vector<int>>{{1}, {2}, {3}});
  }
  SUBCASE("busy: the five batches behind the turn go on as two, at the bound of four") {
    f.hold();
    for (int i = 1; i <= 5; ++i)
      s->send(f.a, std::vector<int>{i});
    f.let_go();
    // 1 held (mail waits: 2-5), 2 and 3 joined, 4 makes four: on; 5 held (the flush
    // message waits behind it), then the flush hands it on.
    CHECK(handed_on(s, f.a, 5) == std::vector<std::vector<int>>{{1, 2, 3, 4}, {5}});
  }
}

TEST_CASE("batch_join: an actor that ends behind held batches hands them on first") {
  // The exit comes in order behind the batches: the first two are held (mail waits), the
  // flush message queued behind the exit never comes up; the exit handler hands them on.
  joiner_fixture f{true};
  auto& s = f.s;
  f.hold();
  s->send(f.a, std::vector<int>{1});
  s->send(f.a, std::vector<int>{2});
  s->send_exit(f.a, caf::exit_reason::user_shutdown);
  f.let_go();
  std::vector<int> got;
  s->receive([&](std::vector<int>& b) { got = std::move(b); },
             caf::after(std::chrono::seconds(5)) >> [] { FAIL("nothing handed on before the exit"); });
  CHECK(got == v({1, 2}));
  s->wait_for(f.a);
}
