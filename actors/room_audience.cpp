#include "actors/room_audience.hpp"

#include "actors/room_roster.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace chorus::actors::rooms {

bool audience_eligible(const room_state& st, const peer_entry& e) {
  using protocol::permission;
  const auto& perms = e.grant.permissions;
  return !allows(perms, permission::publish_audio) && !allows(perms, permission::publish_video) &&
         !allows(perms, permission::publish_screen) && rank_of(st, e) == 0;
}

namespace {

void enter(audience_state& a, peer_entry& e) {
  e.in_audience = true;
  ++a.count;
  ++a.joined;
}

void leave(audience_state& a, peer_entry& e) {
  e.in_audience = false;
  --a.count;
  ++a.left;
}

// The room has an audience above the limit and keeps it down to half the limit.
bool wants_audience(const audience_state& a, uint32_t limit) {
  return a.active ? a.eligible > limit / 2 : a.eligible > limit;
}

bool contains_folded(std::string_view text, std::string_view part) {
  if (part.empty())
    return true;
  auto fold = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  auto it = std::search(text.begin(), text.end(), part.begin(), part.end(),
                        [&](char a, char b) { return fold(a) == fold(b); });
  return it != text.end();
}

} // namespace

audience_change audience_join(room_state& st, peer_entry& e, uint32_t limit) {
  auto& a = st.audience;
  e.audience_eligible = audience_eligible(st, e);
  e.in_audience = false;
  if (!e.audience_eligible)
    return {.listed = true};
  ++a.eligible;
  if (a.active) {
    enter(a, e);
    return {.audience = true};
  }
  if (wants_audience(a, limit))
    return audience_review(st, limit);
  return {.listed = true};
}

audience_change audience_leave(room_state& st, const peer_entry& e, uint32_t limit) {
  auto& a = st.audience;
  audience_change change;
  if (e.audience_eligible && a.eligible > 0)
    --a.eligible;
  if (e.in_audience && a.count > 0) {
    --a.count;
    ++a.left;
    change.audience = true;
  } else {
    change.listed = true;
  }
  if (a.active && !wants_audience(a, limit)) {
    auto review = audience_review(st, limit);
    change.listed = change.listed || review.listed;
    change.audience = change.audience || review.audience;
  }
  return change;
}

audience_change audience_review(room_state& st, uint32_t limit) {
  auto& a = st.audience;
  a.eligible = 0;
  for (auto& e : st.peers) {
    e.audience_eligible = audience_eligible(st, e);
    a.eligible += e.audience_eligible ? 1 : 0;
  }
  audience_change change;
  const bool active = wants_audience(a, limit);
  if (active != a.active)
    change.audience = true;
  a.active = active;
  for (auto& e : st.peers) {
    const bool in = active && e.audience_eligible;
    if (in == e.in_audience)
      continue;
    change.listed = change.audience = true;
    if (in)
      enter(a, e);
    else
      leave(a, e);
  }
  return change;
}

protocol::audience_update_event take_audience_update(room_state& st) {
  auto& a = st.audience;
  protocol::audience_update_event ev{a.count, a.joined, a.left};
  a.joined = a.left = 0;
  return ev;
}

protocol::audience_update_event audience_now(const room_state& st) {
  return {st.audience.count, 0, 0};
}

protocol::participants_page_reply participants_page(const room_state& st,
                                                    const protocol::get_participants_request& q) {
  protocol::participants_page_reply r;
  r.offset = q.offset;
  const uint32_t limit = std::clamp<uint32_t>(q.limit, 1, q.max_limit);
  for (const auto& e : st.peers) {
    if (!contains_folded(e.name, q.filter) && !contains_folded(e.public_id(), q.filter))
      continue;
    r.audience += e.in_audience ? 1 : 0;
    if (r.total++ < q.offset || r.participants.size() >= limit)
      continue;
    auto item = participant_item(st, e);
    item.in_audience = e.in_audience;
    item.hand_raised = st.hands.contains(e.id);
    r.participants.push_back(std::move(item));
  }
  return r;
}

} // namespace chorus::actors::rooms
