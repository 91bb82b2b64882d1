#include "actors/room_rules.hpp"

#include "actors/room_roster.hpp"
#include "protocol/errors.hpp"

#include <algorithm>

namespace chorus::actors::rooms {

const block_entry* find_block(room_state& st, const std::string& subject,
                              const std::string& peer_id, const std::string& user_id,
                              int64_t now_ms) {
  std::erase_if(st.blocks,
                [now_ms](const block_entry& b) { return b.until_ms && b.until_ms <= now_ms; });
  for (auto& b : st.blocks)
    if ((!subject.empty() && b.subject == subject) || b.peer_id == peer_id ||
        (!user_id.empty() && b.user_id == user_id) || b.user_id == peer_id)
      return &b;
  return nullptr;
}

std::optional<caf::error> admission(room_state& st, const join_command& cmd, int64_t now_ms) {
  const auto& user_id = cmd.identity.user_id;
  if (auto* b = find_block(st, cmd.grant.subject, cmd.peer_id, user_id, now_ms))
    return make_error(protocol::error_code::blocked,
                      "blocked from room '" + st.id + "'" +
                        (b->reason.empty() ? std::string{} : ": " + b->reason));
  const peer_entry* holder = find_peer(st, cmd.peer_id);
  if (!holder && !user_id.empty())
    for (auto& p : st.peers)
      if (p.id != cmd.peer_id && p.public_id() == user_id)
        holder = &p;
  if (holder) {
    if (cmd.grant.subject.empty() || cmd.grant.subject != holder->grant.subject)
      return make_error(protocol::error_code::id_taken,
                        "'" + (user_id.empty() ? cmd.peer_id : user_id) +
                          "' is connected to room '" + st.id +
                          "' on another connection: close that one first (only a token "
                          "for the same subject may take over a connection)");
    return std::nullopt; // a reconnect: the room's size does not change
  }
  if (st.locked && !allows(cmd.grant.permissions, protocol::permission::moderate))
    return make_error(protocol::error_code::room_locked,
                      "room '" + st.id + "' is locked by a moderator: no new participants");
  if (st.peers.size() >= st.ctx->limits.max_peers_per_room)
    return make_error(protocol::error_code::room_full,
                      "room '" + st.id + "' is full (" +
                        std::to_string(st.ctx->limits.max_peers_per_room) + " peers)");
  return std::nullopt;
}

std::optional<caf::error> host_control_refusal(protocol::host_action action, int actor_rank,
                                               int target_rank, bool target_is_actor) {
  using protocol::error_code;
  using protocol::host_action;
  const bool host_only = action == host_action::make_cohost ||
                         action == host_action::remove_cohost ||
                         action == host_action::make_host || action == host_action::remove_host;
  if (host_only && actor_rank < 2)
    return make_error(error_code::forbidden, "only a host may make or remove hosts and co-hosts");
  if (!host_only && target_rank >= actor_rank)
    return make_error(error_code::forbidden,
                      actor_rank == 1 ? "a co-host acts on participants only"
                                      : "a host does not act on another host");
  if (target_is_actor)
    return make_error(error_code::invalid_field, "the target is the sender itself");
  return std::nullopt;
}

} // namespace chorus::actors::rooms
