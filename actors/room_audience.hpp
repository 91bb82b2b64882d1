// The lecture's audience. Participants who may not publish and hold no rank (a viewer, a
// student not allowed to publish) are "eligible"; once a room holds more than
// rooms.rosterLimit of them, all of them are its audience: left out of the participant
// list, their arrivals and departures counted (audience-update) instead of announced one by
// one, paged by moderators (get-participants). The stage (whoever may publish, the hosts)
// is listed as before. The room lists its audience again once the eligible are down to half
// the limit, so that a room near the limit does not flip at each join. A room that never
// passes the limit behaves as if this did not exist. Pure: reads and changes room_state,
// sends nothing.
#pragma once

#include "actors/room_state.hpp"
#include "protocol/events.hpp"
#include "protocol/replies.hpp"
#include "protocol/requests.hpp"

#include <cstdint>

namespace chorus::actors::rooms {

// audience-update goes out at most this often.
inline constexpr int64_t audience_update_interval_ms = 1000;

// Whether `e` may be in the audience: no publish permission of any kind, and no rank.
bool audience_eligible(const room_state& st, const peer_entry& e);

// What a change did: the listed participants changed (the list is due), the audience
// changed (an audience-update is due).
struct audience_change {
  bool listed = false;
  bool audience = false;
};

// `e` has just joined (it is in st.peers).
audience_change audience_join(room_state& st, peer_entry& e, uint32_t limit);
// `e` has just left (no longer in st.peers).
audience_change audience_leave(room_state& st, const peer_entry& e, uint32_t limit);
// Rights or ranks may have changed (moderation, host controls, a reconnect): everyone is
// decided again.
audience_change audience_review(room_state& st, uint32_t limit);

// The audience-update due now; its joined and left start again from zero.
protocol::audience_update_event take_audience_update(room_state& st);
// What a joiner is told of the audience (its count; nothing joined or left).
protocol::audience_update_event audience_now(const room_state& st);

// get-participants: the page `q` asks for of everyone in the room, in join order.
protocol::participants_page_reply participants_page(const room_state& st,
                                                    const protocol::get_participants_request& q);

} // namespace chorus::actors::rooms
