#include "net/ice_server.hpp"

#include <algorithm>
#include <utility>

namespace chorus::net {

namespace {
constexpr std::size_t min_tuples = 2; // room for a newer tuple next to the selected one
constexpr char username_separator = ':';
} // namespace

std::string_view to_string(ice_state s) noexcept {
  switch (s) {
    case ice_state::new_: return "new";
    case ice_state::connected: return "connected";
    case ice_state::completed: return "completed";
    case ice_state::disconnected: return "disconnected";
    case ice_state::closed: return "closed";
  }
  return "closed";
}

std::string_view to_string(ice_verdict v) noexcept {
  switch (v) {
    case ice_verdict::success: return "success";
    case ice_verdict::bad_request: return "bad-request";
    case ice_verdict::unauthorized: return "unauthorized";
    case ice_verdict::unknown_attribute: return "unknown-attribute";
    case ice_verdict::role_conflict: return "role-conflict";
    case ice_verdict::dropped_malformed: return "dropped-malformed";
    case ice_verdict::dropped_unexpected: return "dropped-unexpected";
    case ice_verdict::dropped_closed: return "dropped-closed";
  }
  return "dropped-malformed";
}

ice_server::ice_server(ice_server_config config) : config_(std::move(config)) {
  config_.max_tuples = std::max(config_.max_tuples, min_tuples);
}

// RFC 8445 §7.3 (a lite agent answers checks), with the request checks of RFC 5389
// §10.1.2 in their order: 400 without USERNAME or MESSAGE-INTEGRITY, 401 for an unknown
// username or a wrong HMAC; then 420 (§7.3.1) and the role conflict of RFC 8445 §7.3.1.1.
ice_decision ice_server::handle(std::span<const uint8_t> bytes, const ice_tuple& source,
                                uint64_t now_ms) {
  ice_decision d;
  if (state_ == ice_state::closed) {
    d.verdict = ice_verdict::dropped_closed;
    ++counters_.dropped_unexpected;
    return d;
  }
  if (!stun::is_stun(bytes)) {
    d.verdict = ice_verdict::dropped_malformed;
    ++counters_.dropped_malformed;
    return d;
  }
  // A broken message, including a FINGERPRINT that does not match, is silently discarded
  // (RFC 5389 §7.3, RFC 8445 §7.3).
  auto parsed = stun::parse(bytes);
  if (!parsed.ok()) {
    d.verdict = ice_verdict::dropped_malformed;
    ++counters_.dropped_malformed;
    return d;
  }
  const stun::message& m = parsed.msg;
  if (m.cls != stun::message_class::request || m.method != stun::method_binding) {
    // Binding indications (keepalives), stray responses, other methods: nothing to answer.
    d.verdict = ice_verdict::dropped_unexpected;
    ++counters_.dropped_unexpected;
    return d;
  }
  ++counters_.requests;

  // RFC 8445 §7.1.1: a check carries PRIORITY; without it the request is malformed.
  if (!m.username || !m.integrity_offset || !m.priority)
    return reject(m, stun::error_bad_request, false, now_ms);
  if (!username_matches(*m.username) ||
      !stun::verify_integrity(bytes, m, config_.local_password))
    return reject(m, stun::error_unauthorized, false, now_ms);
  if (!m.unknown_required.empty())
    return reject(m, stun::error_unknown_attribute, true, now_ms, m.unknown_required);
  // A lite agent is always controlled and cannot switch roles: a peer that also claims
  // the controlled role gets 487 and must switch itself.
  if (m.ice_controlled)
    return reject(m, stun::error_role_conflict, true, now_ms);

  if (config_.remote_ufrag.empty())
    config_.remote_ufrag = m.username->substr(m.username->find(username_separator) + 1);
  ++counters_.valid;

  touch_tuple(source, m.use_candidate, now_ms, d.events);
  apply_valid_check(source, m.use_candidate, d.events);

  d.verdict = ice_verdict::success;
  d.response = stun::binding_success(m.tid, source.remote, config_.local_password);
  ++counters_.responses;
  return d;
}

ice_decision ice_server::reject(const stun::message& request, uint16_t code,
                                bool authenticated, uint64_t now_ms,
                                std::span<const uint16_t> unknown) {
  ice_decision d;
  switch (code) {
    case stun::error_bad_request:
      d.verdict = ice_verdict::bad_request;
      ++counters_.errors_400;
      break;
    case stun::error_unauthorized:
      d.verdict = ice_verdict::unauthorized;
      ++counters_.errors_401;
      break;
    case stun::error_unknown_attribute:
      d.verdict = ice_verdict::unknown_attribute;
      ++counters_.errors_420;
      break;
    default:
      d.verdict = ice_verdict::role_conflict;
      ++counters_.errors_487;
      break;
  }
  if (const uint32_t rate = config_.max_error_responses_per_s; rate != 0) {
    const auto now = rate_clock::time_point{std::chrono::milliseconds{now_ms}};
    if (!error_budget_)
      error_budget_.emplace(rate, rate, bucket_ns(now));
    if (!error_budget_->try_take(1, bucket_ns(now))) {
      ++counters_.errors_unanswered;
      return d; // the verdict, no response
    }
  }
  // RFC 5389 §10.1.2: 400 and 401 go without MESSAGE-INTEGRITY (the request was not
  // authenticated); the others are protected with the local password.
  const std::string_view key = authenticated ? std::string_view{config_.local_password} : "";
  d.response = stun::binding_error(request.tid, code, key, {}, unknown);
  ++counters_.responses;
  return d;
}

// RFC 8445 §7.2.2: USERNAME = "<receiver's ufrag>:<sender's ufrag>".
bool ice_server::username_matches(std::string_view username) const {
  const auto colon = username.find(username_separator);
  if (colon == std::string_view::npos)
    return false;
  const auto local = username.substr(0, colon);
  const auto remote = username.substr(colon + 1);
  if (local != config_.local_ufrag || remote.empty())
    return false;
  return config_.remote_ufrag.empty() || remote == config_.remote_ufrag;
}

void ice_server::touch_tuple(const ice_tuple& tuple, bool nominated, uint64_t now_ms,
                             std::vector<ice_event>& events) {
  auto it = std::find_if(tuples_.begin(), tuples_.end(),
                         [&](const tuple_entry& e) { return e.tuple == tuple; });
  if (it == tuples_.end()) {
    if (tuples_.size() >= config_.max_tuples) {
      // Evict the least recently checked tuple that is not the selected one.
      std::size_t victim = tuples_.size();
      for (std::size_t i = 0; i < tuples_.size(); ++i) {
        if (selected_ && tuples_[i].tuple == *selected_)
          continue;
        if (victim == tuples_.size() ||
            tuples_[i].last_valid_ms < tuples_[victim].last_valid_ms)
          victim = i;
      }
      if (victim < tuples_.size())
        erase_tuple(victim, now_ms, now_ms, events);
    }
    tuples_.push_back({tuple, now_ms, false});
    events.push_back({ice_event_kind::tuple_validated, tuple, state_});
    it = tuples_.end() - 1;
  }
  it->last_valid_ms = std::max(it->last_valid_ms, now_ms);
  it->nominated = it->nominated || nominated;
}

// mediasoup's IceServer transitions: the first valid check selects its tuple (connected,
// or completed when nominated); later a nominated tuple takes over the selection.
void ice_server::apply_valid_check(const ice_tuple& tuple, bool nominated,
                                   std::vector<ice_event>& events) {
  switch (state_) {
    case ice_state::new_:
    case ice_state::disconnected:
      select(tuple, events);
      set_state(nominated ? ice_state::completed : ice_state::connected, events);
      break;
    case ice_state::connected:
      if (nominated) {
        select(tuple, events);
        set_state(ice_state::completed, events);
      } else if (!selected_) {
        select(tuple, events);
      }
      break;
    case ice_state::completed:
      if (nominated || !selected_)
        select(tuple, events);
      break;
    case ice_state::closed:
      break;
  }
}

std::vector<ice_event> ice_server::use_tuple(const ice_tuple& tuple) {
  std::vector<ice_event> events;
  if (state_ != ice_state::connected && state_ != ice_state::completed)
    return events;
  if (selected_ == tuple ||
      std::none_of(tuples_.begin(), tuples_.end(),
                   [&](const tuple_entry& e) { return e.tuple == tuple; }))
    return events;
  select(tuple, events);
  return events;
}

void ice_server::select(const std::optional<ice_tuple>& tuple, std::vector<ice_event>& events) {
  if (selected_ == tuple)
    return;
  selected_ = tuple;
  events.push_back({ice_event_kind::selected_tuple_changed, tuple, state_});
}

void ice_server::set_state(ice_state s, std::vector<ice_event>& events) {
  if (state_ == s)
    return;
  state_ = s;
  events.push_back({ice_event_kind::state_changed, selected_, s});
}

// Removes tuples_[index]. When it was the selected one, the most recently checked other
// tuple (nominated ones first) takes over; with none left the state is disconnected from
// `lost_at_ms` on.
void ice_server::erase_tuple(std::size_t index, uint64_t now_ms, uint64_t lost_at_ms,
                             std::vector<ice_event>& events) {
  const ice_tuple gone = tuples_[index].tuple;
  tuples_.erase(tuples_.begin() + std::ptrdiff_t(index));
  events.push_back({ice_event_kind::tuple_removed, gone, state_});
  if (!selected_ || !(*selected_ == gone))
    return;

  const tuple_entry* best = nullptr;
  for (const auto& e : tuples_) {
    if (!best || std::pair(e.nominated, e.last_valid_ms) >
                   std::pair(best->nominated, best->last_valid_ms))
      best = &e;
  }
  if (best) {
    const bool nominated = best->nominated;
    select(best->tuple, events);
    if (state_ == ice_state::connected || state_ == ice_state::completed)
      set_state(nominated ? ice_state::completed : ice_state::connected, events);
    return;
  }
  select(std::nullopt, events);
  if (state_ == ice_state::connected || state_ == ice_state::completed) {
    disconnected_at_ms_ = std::min(lost_at_ms, now_ms);
    set_state(ice_state::disconnected, events);
  }
}

std::vector<ice_event> ice_server::tick(uint64_t now_ms) {
  std::vector<ice_event> events;
  if (state_ == ice_state::closed)
    return events;

  // RFC 7675 §5.1 (seen from the receiving side): a tuple whose last valid check is
  // consent_timeout_ms old has lost consent. Other tuples go first, so that the selected
  // one, if it expires too, is replaced by a live tuple only.
  auto expired = [&](const tuple_entry& e) {
    return now_ms >= e.last_valid_ms + config_.consent_timeout_ms;
  };
  for (std::size_t i = 0; i < tuples_.size();) {
    const bool is_selected = selected_ && tuples_[i].tuple == *selected_;
    if (!is_selected && expired(tuples_[i]))
      erase_tuple(i, now_ms, tuples_[i].last_valid_ms + config_.consent_timeout_ms, events);
    else
      ++i;
  }
  for (std::size_t i = 0; i < tuples_.size(); ++i) {
    if (selected_ && tuples_[i].tuple == *selected_ && expired(tuples_[i])) {
      erase_tuple(i, now_ms, tuples_[i].last_valid_ms + config_.consent_timeout_ms, events);
      break;
    }
  }

  if (state_ == ice_state::disconnected &&
      now_ms >= disconnected_at_ms_ + config_.disconnected_timeout_ms) {
    tuples_.clear();
    selected_.reset();
    set_state(ice_state::closed, events);
  }
  return events;
}

std::optional<uint64_t> ice_server::next_deadline_ms() const {
  if (state_ == ice_state::closed)
    return std::nullopt;
  std::optional<uint64_t> next;
  auto consider = [&](uint64_t t) {
    if (!next || t < *next)
      next = t;
  };
  for (const auto& e : tuples_)
    consider(e.last_valid_ms + config_.consent_timeout_ms);
  if (state_ == ice_state::disconnected)
    consider(disconnected_at_ms_ + config_.disconnected_timeout_ms);
  return next;
}

std::vector<ice_event> ice_server::remove_tuple(const ice_tuple& tuple, uint64_t now_ms) {
  std::vector<ice_event> events;
  for (std::size_t i = 0; i < tuples_.size(); ++i) {
    if (tuples_[i].tuple == tuple) {
      erase_tuple(i, now_ms, now_ms, events);
      break;
    }
  }
  return events;
}

void ice_server::restart(std::string local_ufrag, std::string local_password) {
  config_.local_ufrag = std::move(local_ufrag);
  config_.local_password = std::move(local_password);
  config_.remote_ufrag.clear();
}

std::vector<ice_event> ice_server::close() {
  std::vector<ice_event> events;
  tuples_.clear();
  selected_.reset();
  set_state(ice_state::closed, events);
  return events;
}

} // namespace chorus::net
