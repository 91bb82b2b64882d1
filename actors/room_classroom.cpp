// The live class: raised hands, chat (public, private, reactions, pins), polls with live
// results, typing and video reactions; and what a joiner catches up on.
#include "actors/room_actor.hpp"

#include "actors/clock.hpp"
#include "actors/recorder.hpp"
#include "actors/room_roster.hpp"
#include "common/log.hpp"
#include "net/rate_limiter.hpp"
#include "common/text.hpp"

#include <charconv>
#include <caf/all.hpp>

#include <algorithm>
#include <chrono>

namespace chorus::actors::rooms {

namespace {

protocol::class_event poll_event(protocol::class_event_kind kind, const protocol::poll& p) {
  protocol::class_event ev;
  ev.kind = kind;
  ev.poll = p.snapshot();
  return ev;
}

protocol::poll* find_poll(room_state& st, const std::string& id) {
  for (auto& p : st.polls)
    if (p.id() == id)
      return &p;
  return nullptr;
}

// A change of the live class goes into the class record as its events go out: once the
// replica holds it (class_emit), so that the record never has what a lost home took along
// and the rebuilt room then applies again.
template <class Record>
void record_class(room_actor* self, Record r) {
  class_emit(self, [self, r = std::move(r)]() mutable { record(self, *self->state.ctx, std::move(r)); });
}

// Live results go out at most once per poll_results_interval per poll: the first vote after
// a quiet interval at once, later ones gathered into one update at the interval's end.
constexpr int64_t poll_results_interval_ms = 250;
constexpr std::size_t max_polls_per_room = 100;

void send_poll_results(room_actor* self, const std::string& poll_id) {
  auto& st = self->state;
  auto* p = find_poll(st, poll_id);
  if (!p || p->closed())
    return;
  auto& t = st.poll_throttles[poll_id];
  auto now = wall_ms();
  if (t.scheduled)
    return;
  auto wait = t.last_sent_ms + poll_results_interval_ms - now;
  if (wait > 0) {
    t.scheduled = true;
    self->delayed_send(self, std::chrono::milliseconds(wait), poll_flush{poll_id});
    return;
  }
  t.last_sent_ms = now;
  send_to_all(self, poll_event(protocol::class_event_kind::poll_results, *p));
}

} // namespace

// The room's own data producer (label "room"): public chat messages go out on it too, as
// JSON text, to every participant that consumes it over its data channel, numbered by the
// chat message's number (id "mN": N + 1, so never 0, which means unnumbered).
void push_room_data(room_actor* self, const protocol::chat_item& m) {
  auto& st = self->state;
  uint64_t seq = 0;
  if (m.id.size() > 1 && m.id[0] == 'm') {
    uint64_t n = 0;
    const auto* end = m.id.data() + m.id.size();
    if (auto [at, ec] = std::from_chars(m.id.data() + 1, end, n); ec == std::errc{} && at == end)
      seq = n + 1;
  }
  if (st.data_producers.empty() || !st.data_producers.front().peer_id.empty())
    return;
  std::string text = "{\"type\":\"chat-message\",\"id\":\"";
  text::json_escape(text, m.id);
  text += "\",\"peerId\":\"";
  text::json_escape(text, m.from);
  text += "\",\"userId\":\"";
  text::json_escape(text, m.user_id);
  text += "\",\"name\":\"";
  text::json_escape(text, m.name);
  text += "\",\"text\":\"";
  text::json_escape(text, m.text);
  text += "\",\"at\":" + std::to_string(m.at) + "}";
  class_emit(self, [self, to = st.data_producers.front().data_producer,
                    bytes = std::vector<uint8_t>(text.begin(), text.end()), seq]() mutable {
    self->send(to, data_message{51, std::move(bytes), mono_us(), seq});
  });
}

void catch_up(room_actor* self, const caf::actor& session) {
  auto& st = self->state;
  if (!st.hands.items().empty()) {
    protocol::class_event ev;
    ev.kind = protocol::class_event_kind::hands_update;
    ev.hands = st.hands.items();
    self->send(session, ev);
  }
  if (st.chat.size() > 0) {
    protocol::class_event ev;
    ev.kind = protocol::class_event_kind::chat_history;
    ev.chat = st.chat.items();
    self->send(session, ev);
  }
  for (auto& p : st.polls)
    self->send(session, poll_event(p.closed() ? protocol::class_event_kind::poll_closed
                                              : protocol::class_event_kind::poll_started,
                                   p));
  if (auto ev = speaker_event(st))
    self->send(session, *ev);
}

namespace {

caf::expected<protocol::class_reply> apply_class_request(room_actor* self, class_command& cmd) {
  using protocol::class_action;
  using protocol::class_event_kind;
  using protocol::error_code;
  auto& st = self->state;
  auto& req = cmd.request;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  const bool moderator = allows(me->grant.permissions, protocol::permission::moderate);
  const auto now = wall_ms();
  // The participant a request names (lower-hand, disable-chat, enable-chat, a private
  // message), by peer id or user id; nullptr when `id` is empty.
  auto target = [&](const std::string& id) -> caf::expected<peer_entry*> {
    if (id.empty())
      return nullptr;
    if (auto* t = find_target(st, id))
      return t;
    return make_error(error_code::unknown_user,
                      "no participant '" + id + "' in room '" + st.id + "'");
  };
  switch (req.action) {
    case class_action::raise_hand:
      if (st.hands.raise(me->id, me->public_id(), me->name, now))
        send_hands(self);
      return protocol::class_reply{};
    case class_action::lower_hand: {
      auto t = target(req.peer_id);
      if (!t)
        return t.error();
      auto* whose = *t ? *t : me;
      if (whose != me && !moderator)
        return need(*me, protocol::permission::moderate, "lowering another's hand");
      if (st.hands.lower(whose->id))
        send_hands(self);
      return protocol::class_reply{};
    }
    case class_action::chat: {
      if (!allows(me->grant.permissions, protocol::permission::chat))
        return need(*me, protocol::permission::chat, "chatting");
      if ((st.chat_disabled && !moderator) || me->chat_disabled)
        return make_error(error_code::forbidden, "chat is disabled by a moderator");
      if (auto problem = protocol::check_chat_text(req.text, st.ctx->classroom.chat_max_bytes);
          !problem.empty())
        return make_error(error_code::invalid_field, problem);
      auto to = target(req.to);
      if (!to)
        return to.error();
      if (!me->chat_bucket.try_take(1, net::bucket_ns(std::chrono::steady_clock::now())))
        return make_error(error_code::rate_limited,
                          "too many chat messages: at most " +
                            std::to_string(st.ctx->settings.chat_rate_per_s) + " per second");
      protocol::chat_item m;
      m.id = "m" + std::to_string(st.next_chat_id++);
      m.from = me->id;
      m.user_id = me->public_id();
      m.name = me->name;
      m.text = std::move(req.text);
      m.to = *to ? (*to)->id : std::string{};
      m.at = now;
      m.client_id = std::move(req.client_id);
      m.avatar_url = std::move(req.avatar_url);
      m.reply_to = std::move(req.reply_to);
      record_class(self,
             store::chat_posted{st.id, m.id, m.from, m.user_id, m.name, m.text, m.to, m.at});
      protocol::class_event ev;
      ev.kind = class_event_kind::chat_message;
      ev.chat.push_back(m);
      if (*to) { // private: to its target and back to its sender only
        class_emit(self, [self, ev, target = (*to)->session, sender = *to != me ? me->session : caf::actor{}] {
          self->send(target, ev);
          if (sender)
            self->send(sender, ev);
        });
      } else {
        push_room_data(self, m);
        st.chat.add(m);
        send_to_all(self, ev);
      }
      return protocol::class_reply{"id", m.id};
    }
    case class_action::disable_chat:
    case class_action::enable_chat: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "disable-chat and enable-chat");
      auto t = target(req.peer_id);
      if (!t)
        return t.error();
      const bool off = req.action == class_action::disable_chat;
      if (*t)
        (*t)->chat_disabled = off;
      else
        st.chat_disabled = off;
      protocol::class_event ev;
      ev.kind = off ? class_event_kind::chat_disabled : class_event_kind::chat_enabled;
      ev.peer_id = *t ? (*t)->id : std::string{};
      ev.by = me->public_id();
      record_class(self,
             store::moderation_taken{st.id, off ? "disable-chat" : "enable-chat",
                                     *t ? (*t)->public_id() : std::string{}, me->id, {}, now});
      LOG_INFO("room", "'" << st.id << "': chat " << (off ? "disabled" : "enabled") << " for "
                           << (*t ? "'" + (*t)->public_id() + "'" : std::string("the room"))
                           << " by '" << ev.by << "'");
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::delete_chat: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "delete-chat-message");
      if (!st.chat.erase(req.id))
        return make_error(error_code::invalid_field,
                          "id: no message '" + req.id + "' in the room's chat history");
      record_class(self, store::chat_deleted{st.id, req.id, me->id, now});
      protocol::class_event ev;
      ev.kind = class_event_kind::chat_deleted;
      ev.id = req.id;
      ev.by = me->public_id();
      LOG_INFO("room", "'" << st.id << "': chat message " << req.id << " deleted by '" << ev.by
                           << "'");
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::create_poll: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "create-poll");
      if (st.polls.size() >= max_polls_per_room)
        return make_error(error_code::limit_exceeded,
                          "a room keeps at most " + std::to_string(max_polls_per_room) +
                            " polls");
      std::string problem;
      auto p = protocol::poll::make("p" + std::to_string(st.next_poll_id++), std::move(req.text),
                                    std::move(req.options), req.multiple, req.anonymous,
                                    me->public_id(), now, problem);
      if (!p)
        return make_error(error_code::invalid_field, problem);
      st.polls.push_back(std::move(*p));
      auto& poll = st.polls.back();
      {
        auto snap = poll.snapshot();
        record_class(self,
               store::poll_created{st.id, snap.id, snap.question, snap.options, snap.multiple,
                                   snap.anonymous, me->id, now});
      }
      send_to_all(self, poll_event(class_event_kind::poll_started, poll));
      return protocol::class_reply{"pollId", poll.id()};
    }
    case class_action::vote: {
      auto* p = find_poll(st, req.id);
      if (!p)
        return make_error(error_code::invalid_field, "pollId: no poll '" + req.id + "'");
      auto previous = p->choices_of(me->public_id());
      auto r = p->vote(me->public_id(), req.choices);
      if (r == protocol::poll::vote_result::closed)
        return make_error(error_code::invalid_state, "poll '" + req.id + "' is closed");
      if (r != protocol::poll::vote_result::counted && r != protocol::poll::vote_result::changed)
        return make_error(error_code::invalid_field, std::string(protocol::to_string(r)));
      record_class(self,
             store::vote_cast{st.id, p->id(), me->id, me->public_id(),
                              p->choices_of(me->public_id()), std::move(previous), now});
      send_poll_results(self, p->id());
      return protocol::class_reply{};
    }
    case class_action::chat_history: {
      protocol::class_event ev;
      ev.kind = class_event_kind::chat_history;
      ev.chat = st.chat.items();
      class_emit(self, [self, ev = std::move(ev), session = me->session] { self->send(session, ev); });
      return protocol::class_reply{};
    }
    case class_action::typing_start:
    case class_action::typing_stop: {
      protocol::class_event ev;
      ev.kind = req.action == class_action::typing_start ? class_event_kind::typing_start
                                                         : class_event_kind::typing_stop;
      ev.peer_id = me->id;
      ev.name = req.text.empty() ? me->name : req.text;
      to_everyone(self, ev, me->id);
      return protocol::class_reply{};
    }
    case class_action::react: {
      if (!allows(me->grant.permissions, protocol::permission::chat))
        return need(*me, protocol::permission::chat, "reacting to a message");
      auto* m = st.chat.find(req.id);
      if (!m)
        return make_error(error_code::invalid_field,
                          "messageId: no message '" + req.id + "' in the room's chat history");
      auto uid = me->public_id();
      auto r = std::find_if(m->reactions.begin(), m->reactions.end(),
                            [&](const protocol::chat_reaction& x) { return x.emoji == req.emoji; });
      bool added = true;
      if (r == m->reactions.end()) {
        if (m->reactions.size() >= 32)
          return make_error(error_code::limit_exceeded, "a message takes at most 32 emoji");
        m->reactions.push_back({req.emoji, {uid}});
      } else if (auto u = std::find(r->user_ids.begin(), r->user_ids.end(), uid);
                 u != r->user_ids.end()) {
        r->user_ids.erase(u); // a second reaction with the same emoji takes it back
        added = false;
        if (r->user_ids.empty())
          m->reactions.erase(r);
      } else {
        r->user_ids.push_back(uid);
      }
      protocol::class_event ev;
      ev.kind = class_event_kind::react_update;
      ev.id = req.id;
      ev.user_id = uid;
      ev.emoji = req.emoji;
      ev.flag = added;
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::pin: {
      if (rank_of(st, *me) == 0) // the frontend's name: its host and co-hosts pin
        return make_error(error_code::forbidden, "pin-message is for the host and co-hosts");
      auto* m = st.chat.find(req.id);
      if (!m)
        return make_error(error_code::invalid_field,
                          "messageId: no message '" + req.id + "' in the room's chat history");
      m->pinned = req.pinned;
      protocol::class_event ev;
      ev.kind = class_event_kind::pin_update;
      ev.id = req.id;
      ev.flag = req.pinned;
      ev.by = me->public_id();
      send_to_all(self, ev);
      return protocol::class_reply{};
    }
    case class_action::video_reaction: {
      protocol::class_event ev;
      ev.kind = class_event_kind::video_reaction;
      ev.emoji = req.emoji;
      ev.session_id = req.session_id;
      ev.user_id = me->public_id();
      ev.name = req.text.empty() ? me->name : req.text;
      to_everyone(self, ev, me->id);
      return protocol::class_reply{};
    }
    case class_action::close_poll: {
      if (!moderator)
        return need(*me, protocol::permission::moderate, "close-poll");
      auto* p = find_poll(st, req.id);
      if (!p)
        return make_error(error_code::invalid_field, "pollId: no poll '" + req.id + "'");
      if (!p->close())
        return make_error(error_code::invalid_state, "poll '" + req.id + "' is closed already");
      st.poll_throttles.erase(p->id());
      {
        auto snap = p->snapshot();
        record_class(self, store::poll_closed{st.id, snap.id, snap.counts, snap.voters, now});
      }
      send_to_all(self, poll_event(class_event_kind::poll_closed, *p));
      return protocol::class_reply{};
    }
  }
  return make_error(error_code::unsupported, "unknown live-class request");
}

} // namespace

void release_class_events(room_actor* self) {
  auto events = std::move(self->state.class_outbox);
  self->state.class_outbox.clear();
  for (auto& send : events)
    send();
}

caf::expected<protocol::class_reply> classroom(room_actor* self, class_command& cmd) {
  auto& st = self->state;
  // Sent again by a session whose answer was lost with the room's former home: applied
  // there and carried here in the copy, so answered as then and not applied twice.
  const auto now = wall_ms();
  if (auto done = st.applied.find(cmd.op, cmd.peer_id, now)) {
    st.ctx->counters->class_requests_repeated.fetch_add(1, std::memory_order_relaxed);
    return std::move(*done);
  }
  // What it sends waits for the replica with its reply (after_replicated in room.cpp).
  st.holding_class_events = replicates(st);
  const auto held_before = st.class_outbox.size();
  auto r = apply_class_request(self, cmd);
  st.holding_class_events = false;
  if (!r && st.class_outbox.size() > held_before) {
    // Refused: nothing changed, so what it said (if anything) goes now; what the requests
    // before it in a batch said still waits for the replica.
    std::vector<std::function<void()>> now(
      std::make_move_iterator(st.class_outbox.begin() + std::ptrdiff_t(held_before)),
      std::make_move_iterator(st.class_outbox.end()));
    st.class_outbox.resize(held_before);
    for (auto& send : now)
      send();
  }
  if (r && cmd.op != 0)
    st.applied.add(cmd.op, cmd.peer_id, *r, now);
  return r;
}

class_batch_reply classroom_batch(room_actor* self, class_batch& batch) {
  class_batch_reply out;
  answer_each(batch.commands, out.replies, out.errors,
              [self](class_command& cmd) { return classroom(self, cmd); });
  return out;
}

void flush_poll(room_actor* self, const poll_flush& f) {
  self->state.poll_throttles[f.poll_id].scheduled = false;
  send_poll_results(self, f.poll_id);
}

protocol::class_event chat_history_event(const room_state& st) {
  protocol::class_event ev;
  ev.kind = protocol::class_event_kind::chat_history;
  ev.chat = st.chat.items();
  return ev;
}

} // namespace chorus::actors::rooms
