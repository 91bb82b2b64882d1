// The room's rules: who may come in (blocks, the lock, the size limit, no silent takeover of
// a live connection) and who may act on whom with the host controls. Pure: decisions over
// room_state, with the time passed in.
#pragma once

#include "actors/room_state.hpp"
#include "protocol/messages.hpp"

#include <caf/error.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace chorus::actors::rooms {

// The block entry that refuses this joiner, if any (entries expired at `now_ms`, Unix ms,
// are dropped).
const block_entry* find_block(room_state& st, const std::string& subject,
                              const std::string& peer_id, const std::string& user_id,
                              int64_t now_ms);

// Whether a join may proceed: not blocked, the room not locked (moderators may still
// join), not full, and no silent takeover: a peer id or user id that a live participant
// holds is taken over only by a connection whose token proves the same subject.
std::optional<caf::error> admission(room_state& st, const join_command& cmd, int64_t now_ms);

// Whether a host control aimed at one participant may proceed, by rank (2 host, 1 co-host,
// 0 participant): making and removing hosts and co-hosts is for hosts; everything else acts
// only on those of a lower rank; nobody aims one at itself.
std::optional<caf::error> host_control_refusal(protocol::host_action action, int actor_rank,
                                               int target_rank, bool target_is_actor);

} // namespace chorus::actors::rooms
