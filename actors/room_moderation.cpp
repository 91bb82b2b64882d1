// Moderation: the moderation requests (mute, kick, block, lock, end), the seed 004
// frontend's host controls, and the admin API's kick and close. Who may act on whom is
// room_rules'; every action that takes effect is announced and recorded (tell_all).
#include "actors/room_actor.hpp"

#include "actors/clock.hpp"
#include "actors/recorder.hpp"
#include "actors/room_roster.hpp"
#include "actors/room_rules.hpp"
#include "common/log.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <string_view>
#include <utility>

namespace chorus::actors::rooms {

namespace {

// Announces a moderator's action to the room, and records it in the class record (every
// action that took effect passes here).
void tell_all(room_actor* self, const protocol::moderation_event& ev) {
  auto& st = self->state;
  record(self, *st.ctx,
         store::moderation_taken{st.id, std::string(action_name(ev.action)),
                                 ev.user_id.empty() ? ev.peer_id : ev.user_id, ev.by, ev.reason,
                                 wall_ms()});
  to_everyone(self, ev);
}

// The room's end: every session closes (after the end's event, which went the same way), so
// each participant's departure follows and the last one's ends the room. The closes take
// the broadcasts' way, so that on another node they cannot overtake the event.
void close_everyone(room_actor* self, std::string_view except = {}) {
  self->state.leave_reason = "room-closed";
  to_everyone(self, close_session{close_room_ended, "room ended"}, except);
}

// Ends a participant's connection on a moderator's behalf: `kicked` to it, then the close.
void eject(room_actor* self, peer_entry& target, const protocol::kicked_event& ev,
           uint16_t close_code) {
  self->send(target.session, ev);
  self->send(target.session, close_session{close_code, ev.blocked ? "blocked" : "kicked"});
  auto it = std::find_if(self->state.peers.begin(), self->state.peers.end(),
                         [&](const peer_entry& p) { return &p == &target; });
  auto before = std::exchange(self->state.leave_reason, ev.blocked ? "blocked" : "kicked");
  remove_peer_at(self, it, caf::actor_addr{});
  self->state.leave_reason = std::move(before);
}

// Mutes (on) or releases (off) media of `kind` of one participant, as mute-peer and
// allow-publish do, with the frontend's events to the target.
void force_media(room_actor* self, peer_entry& target, uint8_t kind, bool on,
                 const std::string& by) {
  protocol::moderation_event ev;
  ev.peer_id = target.id;
  ev.user_id = target.public_id();
  ev.kinds = kind;
  ev.by = by;
  const bool audio = kind == protocol::publish_kinds::audio;
  if (on) {
    target.muted |= kind;
    self->send(target.peer, moderator_pause{kind});
    ev.action = protocol::moderation_action::mute;
    if (audio)
      tell(self, target.session, "force-mute", by);
    else
      tell(self, target.session, "force-video-pause", by);
  } else {
    target.muted &= static_cast<uint8_t>(~kind);
    target.grant.permissions = with_publish(target.grant.permissions, kind, true);
    ev.action = protocol::moderation_action::allow_publish;
    tell(self, target.session, audio ? "allow-unmute" : "allow-unpause", by);
  }
  tell_all(self, ev);
}

} // namespace

void tell(room_actor* self, const caf::actor& session, std::string name, std::string by,
          std::string reason, std::string participant, bool value) {
  self->send(session, protocol::frontend_event{std::move(name), std::move(by), std::move(reason),
                                               std::move(participant), value});
}

caf::result<protocol::empty_reply> moderate(room_actor* self, moderation_command& cmd) {
  using protocol::moderation_action;
  auto& st = self->state;
  auto& req = cmd.request;
  auto* issuer = find_peer(st, cmd.issuer);
  if (!issuer)
    return not_in_room(st, cmd.issuer);
  if (!allows(issuer->grant.permissions, protocol::permission::moderate))
    return make_error(protocol::error_code::forbidden,
                      "moderation needs permission moderate");
  protocol::moderation_event ev;
  ev.action = req.action;
  ev.by = issuer->public_id();
  ev.reason = req.reason;
  ev.kinds = req.kinds;
  const auto by = ev.by;
  switch (req.action) {
    case moderation_action::lock:
    case moderation_action::unlock:
      st.locked = req.action == moderation_action::lock;
      LOG_INFO("room", "'" << st.id << "': " << (st.locked ? "locked" : "unlocked") << " by '"
                           << by << "'");
      tell_all(self, ev);
      return protocol::empty_reply{};
    case moderation_action::end: {
      LOG_INFO("room", "'" << st.id << "': ended by '" << by << "'"
                           << (req.reason.empty() ? "" : ": " + req.reason));
      tell_all(self, ev);
      // Everyone else's connection closes now; the moderator's session closes itself once
      // it has sent the answer.
      close_everyone(self, issuer->id);
      return protocol::empty_reply{};
    }
    case moderation_action::unblock: {
      auto n = std::erase_if(st.blocks, [&](const block_entry& b) {
        return b.peer_id == req.peer_id || b.user_id == req.peer_id ||
               (!b.subject.empty() && b.subject == req.peer_id);
      });
      if (n == 0)
        return make_error(protocol::error_code::unknown_user,
                          "'" + req.peer_id + "' is not blocked in room '" + st.id + "'");
      LOG_INFO("room", "'" << st.id << "': '" << req.peer_id << "' unblocked by '" << by << "'");
      ev.peer_id = req.peer_id;
      tell_all(self, ev);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  auto* target = find_target(st, req.peer_id);
  if (!target && req.action == moderation_action::block) {
    // Blocking someone who is not here: the id is refused when it comes.
    st.blocks.push_back({req.peer_id, req.peer_id, req.peer_id, req.reason, by,
                         req.seconds ? wall_ms() + int64_t(req.seconds) * 1000 : 0});
    LOG_INFO("room", "'" << st.id << "': '" << req.peer_id << "' blocked by '" << by << "'");
    ev.peer_id = req.peer_id;
    ev.seconds = req.seconds;
    tell_all(self, ev);
    return protocol::empty_reply{};
  }
  if (!target)
    return make_error(protocol::error_code::unknown_user,
                      "no participant '" + req.peer_id + "' in room '" + st.id + "'");
  if (target == issuer && (req.action == moderation_action::kick ||
                           req.action == moderation_action::block))
    return make_error(protocol::error_code::invalid_field,
                      "peerId: a moderator cannot kick or block itself (leave instead)");
  ev.peer_id = target->id;
  ev.user_id = target->public_id();
  switch (req.action) {
    case moderation_action::mute:
      target->muted |= req.kinds;
      self->send(target->peer, moderator_pause{req.kinds});
      break;
    case moderation_action::allow_publish:
      target->muted &= static_cast<uint8_t>(~req.kinds);
      target->grant.permissions = with_publish(target->grant.permissions, req.kinds, true);
      break;
    case moderation_action::disallow_publish:
      target->grant.permissions = with_publish(target->grant.permissions, req.kinds, false);
      self->send(target->peer, moderator_close{req.kinds});
      break;
    case moderation_action::kick:
    case moderation_action::block: {
      const bool block = req.action == moderation_action::block;
      if (block) {
        st.blocks.push_back({target->grant.subject, target->id, target->public_id(), req.reason,
                             by, req.seconds ? wall_ms() + int64_t(req.seconds) * 1000 : 0});
        ev.seconds = req.seconds;
      }
      LOG_INFO("room", "'" << st.id << "': '" << ev.user_id << "' "
                           << (block ? "blocked" : "kicked") << " by '" << by << "'"
                           << (req.reason.empty() ? "" : ": " + req.reason));
      eject(self, *target, protocol::kicked_event{req.reason, by, block},
            block ? close_blocked : close_kicked);
      tell_all(self, ev);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  LOG_INFO("room", "'" << st.id << "': " << action_name(req.action) << " of '"
                       << ev.user_id << "' by '" << by << "'");
  tell_all(self, ev);
  return protocol::empty_reply{};
}

caf::result<protocol::empty_reply> host_control(room_actor* self, host_command& cmd) {
  using protocol::host_action;
  using protocol::error_code;
  auto& st = self->state;
  auto& req = cmd.request;
  auto* me = find_peer(st, cmd.peer_id);
  if (!me)
    return not_in_room(st, cmd.peer_id);
  const int my_rank = rank_of(st, *me);
  if (my_rank == 0)
    return make_error(error_code::forbidden, "host controls are for the host and co-hosts");
  const auto by = me->public_id();
  namespace kinds = protocol::publish_kinds;
  // Every participant a room-wide action applies to: those below the actor's rank.
  auto each_participant = [&](auto f) {
    for (auto& p : st.peers)
      if (&p != me && rank_of(st, p) < my_rank && rank_of(st, p) == 0)
        f(p);
  };
  switch (req.action) {
    case host_action::mute_all:
    case host_action::unmute_all:
    case host_action::disable_cameras:
    case host_action::enable_cameras: {
      const bool audio = req.action == host_action::mute_all || req.action == host_action::unmute_all;
      const bool on = req.action == host_action::mute_all || req.action == host_action::disable_cameras;
      each_participant([&](peer_entry& p) {
        force_media(self, p, audio ? kinds::audio : kinds::video, on, by);
      });
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    case host_action::disable_screens:
    case host_action::enable_screens: {
      st.screens_locked = req.action == host_action::disable_screens;
      if (st.screens_locked)
        each_participant([&](peer_entry& p) { self->send(p.peer, moderator_close{kinds::screen}); });
      for (auto& p : st.peers)
        tell(self, p.session, "screenshare-control", by, {}, {}, !st.screens_locked);
      record(self, *st.ctx,
             store::moderation_taken{st.id,
                                     st.screens_locked ? "disable-all-screen-sharing"
                                                       : "enable-all-screen-sharing",
                                     {}, by, {}, wall_ms()});
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  auto* target = find_target(st, req.target);
  if (!target)
    return make_error(error_code::unknown_user,
                      "no participant '" + req.target + "' in room '" + st.id + "'");
  const int target_rank = rank_of(st, *target);
  if (auto refused = host_control_refusal(req.action, my_rank, target_rank, target == me))
    return *refused;
  switch (req.action) {
    case host_action::toggle_audio:
    case host_action::toggle_video:
      force_media(self, *target,
                  req.action == host_action::toggle_audio ? kinds::audio : kinds::video, req.on,
                  by);
      broadcast_participants(self);
      return protocol::empty_reply{};
    case host_action::remove: {
      if (is_creator(st, *target))
        return make_error(error_code::forbidden, "the room's creator cannot be removed");
      protocol::moderation_event ev;
      ev.action = protocol::moderation_action::kick;
      ev.peer_id = target->id;
      ev.user_id = target->public_id();
      ev.by = by;
      tell(self, target->session, "kicked-from-room", by, "removed by the host");
      eject(self, *target, protocol::kicked_event{"removed by the host", by, false}, close_kicked);
      tell_all(self, ev);
      return protocol::empty_reply{};
    }
    case host_action::make_cohost:
    case host_action::remove_cohost: {
      const bool grant = req.action == host_action::make_cohost;
      if (target_rank == 2)
        return make_error(error_code::invalid_state, "'" + req.target + "' is a host");
      target->co_host = grant;
      auto set = protocol::permission_set::from_bits(static_cast<uint8_t>(target->grant.permissions));
      if (grant)
        set.add(protocol::permission::moderate);
      else if (target->grant.role != "moderator")
        set.remove(protocol::permission::moderate);
      target->grant.permissions = set.bits();
      tell(self, target->session, grant ? "cohost-granted" : "cohost-revoked", by);
      for (auto& p : st.peers)
        tell(self, p.session, "participant-updated", by, "isCoHost", target->public_id(),
             is_co_host(st, *target));
      record(self, *st.ctx,
             store::moderation_taken{st.id, grant ? "make-cohost" : "remove-cohost",
                                     target->public_id(), by, {}, wall_ms()});
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    case host_action::make_host:
    case host_action::remove_host: {
      const bool grant = req.action == host_action::make_host;
      if (!grant && is_creator(st, *target))
        return make_error(error_code::forbidden, "the room's creator cannot be removed as host");
      auto id = target->public_id();
      std::erase(st.hosts, id);
      if (grant) {
        st.hosts.push_back(id);
        target->grant.permissions = protocol::permission_set::all().bits();
      } else if (target->grant.role != "teacher") {
        auto set = protocol::permission_set::from_bits(static_cast<uint8_t>(target->grant.permissions));
        set.remove(protocol::permission::moderate);
        target->grant.permissions = set.bits();
      }
      tell(self, target->session, grant ? "host-granted" : "host-revoked", by);
      for (auto& p : st.peers)
        tell(self, p.session, "participant-updated", by, "isHost", id, is_host(st, *target));
      record(self, *st.ctx,
             store::moderation_taken{st.id, grant ? "make-host" : "remove-host", id, by, {},
                                     wall_ms()});
      broadcast_participants(self);
      return protocol::empty_reply{};
    }
    default:
      break;
  }
  return make_error(error_code::unsupported, "unknown host control");
}

caf::result<protocol::empty_reply> admin_kick_peer(room_actor* self, const admin_kick& k) {
  auto& st = self->state;
  auto* target = find_target(st, k.peer_id);
  if (!target)
    return make_error(protocol::error_code::unknown_user,
                      "no participant '" + k.peer_id + "' in room '" + st.id + "'");
  LOG_INFO("room", "'" << st.id << "': '" << target->public_id() << "' kicked by the admin API"
                       << (k.reason.empty() ? "" : ": " + k.reason));
  protocol::moderation_event ev;
  ev.action = protocol::moderation_action::kick;
  ev.by = "admin";
  ev.reason = k.reason;
  ev.peer_id = target->id;
  ev.user_id = target->public_id();
  eject(self, *target, protocol::kicked_event{k.reason, "admin", false}, close_kicked);
  tell_all(self, ev);
  return protocol::empty_reply{};
}

protocol::empty_reply admin_close_room(room_actor* self, const admin_close& c) {
  auto& st = self->state;
  LOG_INFO("room", "'" << st.id << "': closed by the admin API ("
                       << st.peers.size() << " participants)"
                       << (c.reason.empty() ? "" : ": " + c.reason));
  protocol::moderation_event ev;
  ev.action = protocol::moderation_action::end;
  ev.by = "admin";
  ev.reason = c.reason;
  tell_all(self, ev);
  close_everyone(self);
  return protocol::empty_reply{};
}

} // namespace chorus::actors::rooms
