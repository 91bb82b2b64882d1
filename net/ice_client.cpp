#include "net/ice_client.hpp"

#include <algorithm>
#include <utility>

namespace chorus::net {

std::string_view to_string(ice_client_state s) noexcept {
  switch (s) {
    case ice_client_state::new_: return "new";
    case ice_client_state::checking: return "checking";
    case ice_client_state::connected: return "connected";
    case ice_client_state::failed: return "failed";
  }
  return "failed";
}

ice_client::ice_client(ice_client_config config) : config_(std::move(config)) {
  config_.initial_rto_ms = std::max<uint64_t>(config_.initial_rto_ms, 1);
  config_.max_transmissions = std::max<uint32_t>(config_.max_transmissions, 1);
  config_.final_wait_factor = std::max<uint32_t>(config_.final_wait_factor, 1);
  config_.max_transactions = std::max<std::size_t>(config_.max_transactions, 1);
}

void ice_client::set_state(ice_client_state s, ice_client_output& out) {
  if (state_ == s)
    return;
  state_ = s;
  out.state_changed = true;
  if (s == ice_client_state::failed)
    transactions_.clear();
}

// RFC 8445 §7.2.2: USERNAME "<remote ufrag>:<local ufrag>", PRIORITY, ICE-CONTROLLING (with
// USE-CANDIDATE when nominating) or ICE-CONTROLLED, MESSAGE-INTEGRITY with the remote
// password, FINGERPRINT. RFC 5389 §7.2.1: first transmission now, then after RTO, 2*RTO,
// 4*RTO, ... for Rc transmissions in all, then a final wait of Rm*RTO.
void ice_client::start_transaction(purpose kind, uint64_t now_ms, ice_client_output& out) {
  if (transactions_.size() >= config_.max_transactions)
    transactions_.erase(transactions_.begin()); // abandon the oldest

  stun::binding_request_params p;
  p.tid = stun::random_transaction_id();
  p.username = config_.remote_ufrag + ":" + config_.local_ufrag;
  p.key = config_.remote_password;
  p.priority = config_.priority;
  p.controlling = config_.controlling;
  p.tie_breaker = config_.tie_breaker;
  p.use_candidate = config_.controlling && config_.aggressive_nomination;

  transaction t;
  t.tid = p.tid;
  t.bytes = stun::binding_request(p);
  t.kind = kind;
  t.transmissions = 1;
  t.rto_ms = config_.initial_rto_ms;
  t.deadline_ms = now_ms + (t.transmissions >= config_.max_transmissions
                              ? config_.initial_rto_ms * config_.final_wait_factor
                              : t.rto_ms);
  out.to_send.push_back(t.bytes);
  ++counters_.requests_sent;
  transactions_.push_back(std::move(t));
}

ice_client_output ice_client::poll(uint64_t now_ms) {
  ice_client_output out;
  if (state_ == ice_client_state::new_) {
    start_transaction(purpose::check, now_ms, out);
    set_state(ice_client_state::checking, out);
  }

  for (std::size_t i = 0; i < transactions_.size();) {
    transaction& t = transactions_[i];
    if (now_ms < t.deadline_ms) {
      ++i;
      continue;
    }
    if (t.transmissions < config_.max_transmissions) {
      out.to_send.push_back(t.bytes);
      ++counters_.retransmissions;
      ++t.transmissions;
      t.rto_ms *= 2;
      t.deadline_ms = now_ms + (t.transmissions >= config_.max_transmissions
                                  ? config_.initial_rto_ms * config_.final_wait_factor
                                  : t.rto_ms);
      ++i;
      continue;
    }
    // No response after the final wait: the transaction failed (§7.2.1).
    const purpose kind = t.kind;
    transactions_.erase(transactions_.begin() + std::ptrdiff_t(i));
    ++counters_.timeouts;
    if (kind == purpose::check && state_ == ice_client_state::checking) {
      set_state(ice_client_state::failed, out);
      break;
    }
  }

  if (state_ == ice_client_state::connected) {
    // RFC 7675 §5.1: consent expires 30 s after the last authenticated response.
    if (now_ms >= last_success_ms_ + config_.consent_timeout_ms) {
      set_state(ice_client_state::failed, out);
    } else if (now_ms >= next_consent_ms_) {
      start_transaction(purpose::consent, now_ms, out);
      next_consent_ms_ = now_ms + config_.consent_interval_ms;
    }
  }
  out.state = state_;
  return out;
}

ice_client_output ice_client::handle(std::span<const uint8_t> bytes,
                                     const transport_address& source, uint64_t now_ms) {
  ice_client_output out;
  out.state = state_;
  if (!stun::is_stun(bytes)) {
    ++counters_.ignored;
    return out;
  }
  auto parsed = stun::parse(bytes);
  if (!parsed.ok() || parsed.msg.method != stun::method_binding) {
    ++counters_.ignored;
    return out;
  }
  switch (parsed.msg.cls) {
    case stun::message_class::request:
      handle_request(parsed.msg, bytes, source, out);
      break;
    case stun::message_class::success_response:
    case stun::message_class::error_response:
      handle_response(parsed.msg, bytes, source, now_ms, out);
      break;
    case stun::message_class::indication:
      ++counters_.ignored;
      break;
  }
  out.state = state_;
  return out;
}

void ice_client::handle_response(const stun::message& m, std::span<const uint8_t> bytes,
                                 const transport_address& source, uint64_t now_ms,
                                 ice_client_output& out) {
  auto it = std::find_if(transactions_.begin(), transactions_.end(),
                         [&](const transaction& t) { return t.tid == m.tid; });
  // RFC 8445 §7.2.5.2.1: the response must come from where the request went.
  if (it == transactions_.end() ||
      (config_.remote.family != ip_family::none && !(source == config_.remote))) {
    ++counters_.ignored;
    return;
  }
  if (m.cls == stun::message_class::success_response) {
    // §7.2.5.2: a success response must be authenticated with the remote password.
    if (!stun::verify_integrity(bytes, m, config_.remote_password)) {
      ++counters_.ignored;
      return;
    }
    transactions_.erase(it);
    ++counters_.successes;
    last_success_ms_ = now_ms;
    if (m.xor_mapped_address) {
      mapped_ = m.xor_mapped_address;
      out.mapped = m.xor_mapped_address;
    }
    if (state_ == ice_client_state::checking) {
      set_state(ice_client_state::connected, out);
      next_consent_ms_ = now_ms + config_.consent_interval_ms;
      std::erase_if(transactions_,
                    [](const transaction& t) { return t.kind == purpose::check; });
    }
    return;
  }

  // Error response. 400 and 401 come without MESSAGE-INTEGRITY (RFC 5389 §10.1.2), the
  // transaction id (96 random bits) is what ties them to our request; when integrity is
  // present it must verify.
  if (!m.error_code ||
      (m.integrity_offset && !stun::verify_integrity(bytes, m, config_.remote_password))) {
    ++counters_.ignored;
    return;
  }
  const purpose kind = it->kind;
  transactions_.erase(it);
  ++counters_.error_responses;
  out.error_code = m.error_code->code;
  if (m.error_code->code == stun::error_role_conflict) {
    // RFC 8445 §7.2.5.1: switch role and check again.
    config_.controlling = !config_.controlling;
    if (state_ == ice_client_state::checking || state_ == ice_client_state::connected)
      start_transaction(kind, now_ms, out);
    return;
  }
  set_state(ice_client_state::failed, out);
}

// Checks from a full-ICE peer (RFC 8445 §7.3), with the request checks of RFC 5389
// §10.1.2 and the role conflict rules of §7.3.1.1. The response goes back to `source`,
// which for this single pair is the remote candidate.
void ice_client::handle_request(const stun::message& m, std::span<const uint8_t> bytes,
                                const transport_address& source, ice_client_output& out) {
  auto reject = [&](uint16_t code, bool authenticated) {
    out.to_send.push_back(stun::binding_error(
      m.tid, code, authenticated ? std::string_view{config_.local_password} : "", {},
      m.unknown_required));
    ++counters_.requests_rejected;
  };
  if (!m.username || !m.integrity_offset || !m.priority)
    return reject(stun::error_bad_request, false);
  if (*m.username != config_.local_ufrag + ":" + config_.remote_ufrag ||
      !stun::verify_integrity(bytes, m, config_.local_password))
    return reject(stun::error_unauthorized, false);
  if (!m.unknown_required.empty())
    return reject(stun::error_unknown_attribute, true);

  if (config_.controlling && m.ice_controlling) {
    if (config_.tie_breaker >= *m.ice_controlling)
      return reject(stun::error_role_conflict, true);
    config_.controlling = false;
  } else if (!config_.controlling && m.ice_controlled) {
    if (config_.tie_breaker < *m.ice_controlled)
      return reject(stun::error_role_conflict, true);
    config_.controlling = true;
  }
  out.to_send.push_back(stun::binding_success(m.tid, source, config_.local_password));
  ++counters_.requests_answered;
}

std::optional<uint64_t> ice_client::next_poll_ms() const {
  if (state_ == ice_client_state::failed)
    return std::nullopt;
  if (state_ == ice_client_state::new_)
    return 0;
  std::optional<uint64_t> next;
  auto consider = [&](uint64_t t) {
    if (!next || t < *next)
      next = t;
  };
  for (const auto& t : transactions_)
    consider(t.deadline_ms);
  if (state_ == ice_client_state::connected) {
    consider(next_consent_ms_);
    consider(last_success_ms_ + config_.consent_timeout_ms);
  }
  return next;
}

void ice_client::restart(std::string local_ufrag, std::string local_password,
                         std::string remote_ufrag, std::string remote_password) {
  config_.local_ufrag = std::move(local_ufrag);
  config_.local_password = std::move(local_password);
  config_.remote_ufrag = std::move(remote_ufrag);
  config_.remote_password = std::move(remote_password);
  transactions_.clear();
  mapped_.reset();
  state_ = ice_client_state::new_;
}

} // namespace chorus::net
