#include "store/record_writer.hpp"

#include <algorithm>
#include <variant>

namespace chorus::store {

record_writer::record_writer(sql_backend& db, class_lookup lookup) : db_(db) {
  if (lookup == class_lookup::own_first)
    own_.emplace();
}

std::optional<int64_t> record_writer::class_of(const std::string& room_id) {
  if (own_)
    if (auto id = own_->find(room_id))
      return id;
  auto row = db_.run(statement::current_class, sql_params{}.text(room_id));
  if (!row)
    return std::nullopt;
  return (*row)[0];
}

std::optional<sql_params> record_writer::class_row(const std::string& room_id) {
  auto cls = class_of(room_id);
  if (!cls)
    return std::nullopt;
  sql_params p;
  p.id_or_null(*cls).text(room_id);
  return p;
}

record_writer::done record_writer::find_poll(const std::string& room_id, const std::string& poll_id,
                                             poll_row& poll) {
  auto row = db_.run(statement::find_poll, sql_params{}.text(room_id).text(poll_id));
  if (!row)
    return done::failed;
  poll = poll_row{(*row)[0], (*row)[1] != 0};
  return poll.id == 0 ? done::skipped : done::ok;
}

bool record_writer::run(statement which, const sql_params& params) {
  return db_.run(which, params).has_value();
}

template <>
record_writer::done record_writer::write(const room_opened& r) {
  auto row =
    db_.run(statement::insert_room, sql_params{}.text(r.room_id).text(r.node_id).integer(r.at_ms));
  if (!row)
    return done::failed;
  if (own_)
    own_->opened(r.room_id, db_.inserted_id(*row));
  return done::ok;
}

// Closes the class and the attendance still open in it.
template <>
record_writer::done record_writer::write(const room_closed& r) {
  auto cls = class_of(r.room_id);
  if (!cls)
    return done::failed;
  if (*cls == 0)
    return done::ok;
  if (!run(statement::close_room, sql_params{}.integer(*cls).integer(r.at_ms)) ||
      !run(statement::close_attendance, sql_params{}.integer(*cls).integer(r.at_ms)))
    return done::failed;
  if (own_)
    own_->closed(r.room_id);
  return done::ok;
}

template <>
record_writer::done record_writer::write(const peer_joined& r) {
  auto p = class_row(r.room_id);
  if (!p)
    return done::failed;
  p->text(r.peer_id).text(r.user_id).text(r.name).text(r.role).integer(r.at_ms);
  return outcome(run(statement::insert_attendance, *p));
}

template <>
record_writer::done record_writer::write(const peer_left& r) {
  return outcome(run(statement::leave_attendance,
                     sql_params{}.text(r.room_id).text(r.peer_id).integer(r.at_ms)));
}

template <>
record_writer::done record_writer::write(const chat_posted& r) {
  auto p = class_row(r.room_id);
  if (!p)
    return done::failed;
  p->text(r.message_id).text(r.from_peer_id).text(r.from_user_id).text(r.name).text(r.text);
  p->text_or_null(r.to_peer_id).integer(r.at_ms);
  return outcome(run(statement::insert_chat, *p));
}

template <>
record_writer::done record_writer::write(const chat_deleted& r) {
  sql_params p;
  p.text(r.room_id).text(r.message_id).text_or_null(r.by_peer_id).integer(r.at_ms);
  return outcome(run(statement::delete_chat, p));
}

// The poll, then its options in order.
template <>
record_writer::done record_writer::write(const poll_created& r) {
  auto p = class_row(r.room_id);
  if (!p)
    return done::failed;
  p->text(r.poll_id).text(r.question).integer(r.multiple ? 1 : 0).integer(r.anonymous ? 1 : 0);
  p->text(r.created_by).integer(r.at_ms);
  auto row = db_.run(statement::insert_poll, *p);
  if (!row)
    return done::failed;
  auto poll = db_.inserted_id(*row);
  for (size_t i = 0; i < r.options.size(); ++i)
    if (!run(statement::insert_option,
             sql_params{}.integer(poll).integer(static_cast<int64_t>(i)).text(r.options[i])))
      return done::failed;
  return done::ok;
}

// A changed vote replaces the voter's rows; an anonymous poll has no voter to find them by,
// so one row goes per index of the voter's previous choice, and the new rows keep no voter
// and no time. Skipped when the store does not hold the poll (its creation was not
// recorded).
template <>
record_writer::done record_writer::write(const vote_cast& r) {
  poll_row poll;
  if (auto found = find_poll(r.room_id, r.poll_id, poll); found != done::ok)
    return found;
  if (poll.anonymous) {
    for (auto idx : r.previous)
      if (!run(statement::delete_one_anonymous, sql_params{}.integer(poll.id).integer(idx)))
        return done::failed;
  } else if (!run(statement::delete_votes_of,
                  sql_params{}.integer(poll.id).text(r.voter_peer_id))) {
    return done::failed;
  }
  for (auto idx : r.options) {
    sql_params p;
    p.integer(poll.id);
    if (poll.anonymous)
      p.null().null().integer(idx).null();
    else
      p.text(r.voter_peer_id).text(r.voter_user_id).integer(idx).integer(r.at_ms);
    if (!run(statement::insert_vote, p))
      return done::failed;
  }
  return done::ok;
}

// The poll's close, then each option's final count. Skipped like a vote.
template <>
record_writer::done record_writer::write(const poll_closed& r) {
  poll_row poll;
  if (auto found = find_poll(r.room_id, r.poll_id, poll); found != done::ok)
    return found;
  if (!run(statement::close_poll, sql_params{}.integer(poll.id).integer(r.at_ms).integer(r.voters)))
    return done::failed;
  for (size_t i = 0; i < r.counts.size(); ++i) {
    sql_params p;
    p.integer(poll.id).integer(static_cast<int64_t>(i)).integer(r.counts[i]);
    if (!run(statement::final_count, p))
      return done::failed;
  }
  return done::ok;
}

template <>
record_writer::done record_writer::write(const moderation_taken& r) {
  auto p = class_row(r.room_id);
  if (!p)
    return done::failed;
  p->text(r.action).text(r.target).text(r.by_peer_id).text(r.reason).integer(r.at_ms);
  return outcome(run(statement::insert_moderation, *p));
}

template <>
record_writer::done record_writer::write(const meeting_created& r) {
  sql_params p;
  p.text(r.room_id).text(r.creator_id).text(r.description);
  if (r.starts_at_ms != 0)
    p.integer(r.starts_at_ms);
  else
    p.null();
  return outcome(run(statement::insert_meeting, p.integer(r.at_ms)));
}

template <>
record_writer::done record_writer::write(const recording_started& r) {
  auto cls = class_of(r.room_id);
  if (!cls)
    return done::failed;
  sql_params p;
  p.text(r.recording_id).id_or_null(*cls).text(r.room_id).text(r.node_id);
  p.text_or_null(r.started_by).integer(r.at_ms);
  return outcome(run(statement::insert_recording, p));
}

template <>
record_writer::done record_writer::write(const recording_stopped& r) {
  sql_params p;
  p.text(r.recording_id).integer(r.at_ms).integer(r.duration_ms).integer(r.files);
  p.text(r.manifest_path);
  return outcome(run(statement::stop_recording, p));
}

// The rebuilt room takes over the lost home's opening (the one it just opened here is
// dropped while nothing is in it), then writes what the store lacks of the copy's class.
template <>
record_writer::done record_writer::write(const class_resumed& r) {
  auto cls = class_of(r.room_id);
  if (!cls)
    return done::failed;
  auto earlier = db_.run(statement::earlier_open_class, sql_params{}.text(r.room_id).integer(*cls));
  if (!earlier)
    return done::failed;
  if ((*earlier)[0] != 0) {
    if (*cls != 0 && !run(statement::drop_room, sql_params{}.integer(*cls)))
      return done::failed;
    cls = (*earlier)[0];
    if (own_)
      own_->opened(r.room_id, *cls);
  }
  if (*cls == 0) // no opening of the room is recorded: nothing to tie the class to
    return done::ok;
  for (auto& m : r.chat) {
    auto n = db_.run(statement::count_chat, sql_params{}.integer(*cls).text(m.message_id));
    if (!n)
      return done::failed;
    if ((*n)[0] == 0 && write(m) == done::failed)
      return done::failed;
  }
  for (auto& p : r.polls) {
    auto n = db_.run(statement::count_class_poll, sql_params{}.integer(*cls).text(p.poll_id));
    if (!n)
      return done::failed;
    if ((*n)[0] != 0)
      continue;
    if (write(p) == done::failed)
      return done::failed;
    // An anonymous poll's votes are written only with the poll: they cannot be matched.
    if (p.anonymous)
      for (auto& v : r.votes)
        if (v.poll_id == p.poll_id && write(v) == done::failed)
          return done::failed;
  }
  for (auto& v : r.votes) {
    auto poll = std::find_if(r.polls.begin(), r.polls.end(),
                             [&](const poll_created& p) { return p.poll_id == v.poll_id; });
    if (poll != r.polls.end() && !poll->anonymous && write(v) == done::failed)
      return done::failed;
  }
  return done::ok;
}

result<batch_result> record_writer::apply(const std::vector<record_event>& batch,
                                          std::string_view key) {
  if (batch.empty())
    return batch_result{};
  if (own_)
    own_->begin_batch();
  if (auto ok = db_.begin(); !ok)
    return failure{ok.error()};
  if (!key.empty()) {
    // The claim returns a row only when it inserted the key.
    auto claimed = db_.run(statement::claim_batch,
                           sql_params{}.text(key).integer(static_cast<int64_t>(batch.size())));
    if (!claimed) {
      auto f = db_.fail("claiming batch " + std::string{key});
      db_.rollback();
      return f;
    }
    if ((*claimed)[0] == 0) {
      db_.rollback();
      return batch_result{0, true};
    }
  }
  size_t written = 0;
  for (auto& ev : batch) {
    auto d = std::visit([&](auto& r) { return write(r); }, ev.body);
    if (d == done::skipped)
      continue;
    if (d == done::failed) {
      auto f = db_.fail(std::string{"writing "} + kind_name(ev.body) + " of room '" +
                        room_of(ev.body) + "'");
      db_.rollback();
      return f;
    }
    ++written;
  }
  if (!db_.commit()) {
    auto f = db_.fail("commit");
    db_.rollback();
    return f;
  }
  if (own_)
    own_->commit_batch();
  return batch_result{written, false};
}

} // namespace chorus::store
