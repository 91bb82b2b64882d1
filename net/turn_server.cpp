#include "net/turn_server.hpp"

#include "net/turn_credentials.hpp"
#include "net/turn_message.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cstdio>

namespace chorus::net {

namespace {

constexpr int64_t ms_per_s = 1000;
constexpr std::size_t nonce_mac_bytes = 8;

transport_address ip_only(transport_address a) noexcept {
  a.port = 0;
  return a;
}

// An error response (§6.3.4 of RFC 8489): ERROR-CODE, UNKNOWN-ATTRIBUTES for 420, REALM and
// NONCE for 401 and 438, MESSAGE-INTEGRITY when the request was authenticated (`key`).
std::vector<uint8_t> error_reply(const stun::message& req, uint16_t code, std::string_view key = {},
                                 std::string_view realm = {}, std::string_view nonce = {},
                                 std::span<const uint16_t> unknown = {}) {
  stun::builder b{stun::message_class::error_response, req.method, req.tid};
  b.add_error_code(code, stun::reason_phrase(code));
  if (code == stun::error_unknown_attribute)
    b.add_unknown_attributes(unknown);
  if (!nonce.empty())
    b.add_realm(realm).add_nonce(nonce);
  if (!key.empty())
    b.add_message_integrity(key);
  b.add_fingerprint();
  return std::move(b).finish();
}

uint32_t lifetime_s(const turn::message& m, const turn_server_config& c) {
  // §7.2: the smaller of the request's and the maximum, and never below the default.
  const uint32_t asked = m.lifetime.value_or(c.default_lifetime_s);
  return std::max(c.default_lifetime_s, std::min(asked, c.max_lifetime_s));
}

std::string hex(const uint8_t* p, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (std::size_t i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 0xF];
  }
  return s;
}

} // namespace

turn_server::turn_server(turn_server_config config, peer_allowed_fn peer_allowed,
                         open_relay_fn open_relay, close_relay_fn close_relay)
  : config_(std::move(config)), peer_allowed_(std::move(peer_allowed)),
    open_relay_(std::move(open_relay)), close_relay_(std::move(close_relay)) {}

turn_server::~turn_server() {
  for (auto& [client, a] : allocations_)
    if (close_relay_)
      close_relay_(a.relay);
}

// A nonce is its expiry (16 hex digits, milliseconds) and a MAC of the expiry and the
// client's IP address: checked without keeping any state, useless from another address.
std::string turn_server::make_nonce(const turn_client& from, int64_t now_ms) const {
  const int64_t expires = now_ms + int64_t(config_.nonce_lifetime_s) * ms_per_s;
  char stamp[17];
  std::snprintf(stamp, sizeof stamp, "%016llx", static_cast<unsigned long long>(expires));
  std::string input(stamp, 16);
  input.append(reinterpret_cast<const char*>(from.remote.bytes.data()), from.remote.bytes.size());
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha1(), config_.nonce_key.data(), int(config_.nonce_key.size()),
       reinterpret_cast<const uint8_t*>(input.data()), input.size(), mac, &size);
  return std::string(stamp, 16) + hex(mac, nonce_mac_bytes);
}

bool turn_server::nonce_fresh(std::string_view nonce, const turn_client& from,
                              int64_t now_ms) const {
  if (nonce.size() != 16 + 2 * nonce_mac_bytes)
    return false;
  unsigned long long expires = 0;
  for (char c : nonce.substr(0, 16)) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return false;
    expires = expires << 4 | unsigned(d);
  }
  if (int64_t(expires) <= now_ms)
    return false;
  // Made again for the same expiry: equal only if this server made it for this address.
  const int64_t made_at = int64_t(expires) - int64_t(config_.nonce_lifetime_s) * ms_per_s;
  const std::string expected = make_nonce(from, made_at);
  return expected.size() == nonce.size() &&
         CRYPTO_memcmp(expected.data(), nonce.data(), nonce.size()) == 0;
}

turn_server::client_result turn_server::on_client(const turn_client& from,
                                                  std::span<const uint8_t> bytes,
                                                  int64_t now_ms) {
  if (turn::is_channel_data(bytes))
    return on_channel_data(from, bytes, now_ms);
  if (!stun::is_stun(bytes)) {
    ++counters_.dropped;
    return {};
  }
  auto r = on_stun(from, bytes, now_ms);
  // An error answer (bits 0x0110 of the type: the error class) within the address's budget.
  if (r.reply.size() >= stun::header_size && (r.reply[0] & 0x01) && (r.reply[1] & 0x10) &&
      !may_answer_error(from, now_ms))
    r.reply.clear();
  return r;
}

bool turn_server::may_answer_error(const turn_client& from, int64_t now_ms) {
  if (config_.error_replies_per_ip_per_s == 0)
    return true;
  const auto ip = ip_only(from.remote);
  if (errors_.size() >= config_.max_error_budgets && errors_.find(ip) == errors_.end()) {
    ++counters_.unanswered;
    return false;
  }
  auto& bucket = errors_.try_emplace(ip, config_.error_replies_per_ip_per_s,
                                     config_.error_replies_per_ip_per_s, now_ms * 1'000'000)
                   .first->second;
  if (bucket.try_take(1, now_ms * 1'000'000))
    return true;
  ++counters_.unanswered;
  return false;
}

turn_server::client_result turn_server::on_stun(const turn_client& from,
                                                std::span<const uint8_t> bytes, int64_t now_ms) {
  client_result out;
  auto parsed = turn::parse(bytes);
  if (!parsed.ok()) {
    ++counters_.dropped; // malformed: discarded without an answer (RFC 8489 §6.3)
    return out;
  }
  const turn::message& m = parsed.msg;
  const stun::message& req = m.stun;

  if (req.cls == stun::message_class::indication) {
    auto it = live(from, now_ms);
    if (req.method != turn::method_send || it == allocations_.end() || m.peers.size() != 1 ||
        !m.has_data) {
      ++counters_.dropped;
      return out;
    }
    allocation& a = it->second;
    const transport_address& peer = m.peers.front();
    auto perm = a.permissions.find(ip_only(peer));
    if (perm == a.permissions.end() || perm->second <= now_ms || !peer_allowed_(peer)) {
      ++counters_.dropped;
      return out;
    }
    const auto payload = m.data(bytes);
    if (!a.to_peer_budget.try_take(payload.size(), now_ms * 1'000'000)) {
      ++counters_.rate_limited;
      return out;
    }
    ++counters_.relayed_to_peer_packets;
    counters_.relayed_to_peer_bytes += payload.size();
    out.relay = turn_relay_send{a.relay, peer, payload, a.id};
    return out;
  }
  if (req.cls != stun::message_class::request) {
    ++counters_.dropped;
    return out;
  }

  if (req.method == stun::method_binding) { // a STUN server's answer: the reflexive address
    stun::builder b{stun::message_class::success_response, stun::method_binding, req.tid};
    b.add_xor_mapped_address(from.remote).add_fingerprint();
    out.reply = std::move(b).finish();
    return out;
  }
  const bool turn_method = req.method == turn::method_allocate ||
                           req.method == turn::method_refresh ||
                           req.method == turn::method_create_permission ||
                           req.method == turn::method_channel_bind;
  if (!turn_method) {
    ++counters_.bad_requests;
    out.reply = error_reply(req, stun::error_bad_request);
    return out;
  }
  std::vector<uint16_t> unknown = m.unknown_required;
  if (m.even_port) // reservations of port pairs are not offered
    unknown.push_back(turn::attr::even_port);
  if (m.reservation_token)
    unknown.push_back(turn::attr::reservation_token);
  if (!unknown.empty()) {
    ++counters_.bad_requests;
    out.reply = error_reply(req, stun::error_unknown_attribute, {}, {}, {}, unknown);
    return out;
  }

  // Long-term credentials (RFC 8489 §9.2.4).
  if (!req.integrity_offset) {
    ++counters_.challenges;
    out.reply = error_reply(req, stun::error_unauthorized, {}, config_.realm,
                            make_nonce(from, now_ms));
    return out;
  }
  if (!req.username || !req.realm || !req.nonce) {
    ++counters_.bad_requests;
    out.reply = error_reply(req, stun::error_bad_request);
    return out;
  }
  if (!nonce_fresh(*req.nonce, from, now_ms)) {
    ++counters_.stale_nonces;
    out.reply = error_reply(req, turn::error_stale_nonce, {}, config_.realm,
                            make_nonce(from, now_ms));
    return out;
  }
  const std::string& username = *req.username;
  const auto expiry = turn_username_expiry(username);
  std::string key;
  if (expiry && *expiry > now_ms / ms_per_s && *req.realm == config_.realm)
    key = long_term_key(username, config_.realm, turn_password(config_.secret, username));
  if (key.empty() || !stun::verify_integrity(bytes, req, key)) {
    ++counters_.refused_credentials;
    out.reply = error_reply(req, stun::error_unauthorized, {}, config_.realm,
                            make_nonce(from, now_ms));
    return out;
  }
  auto refuse = [&](uint16_t code, uint64_t& counter) {
    ++counter;
    out.reply = error_reply(req, code, key);
    return std::move(out);
  };

  auto it = live(from, now_ms);
  if (req.method == turn::method_allocate) {
    if (it != allocations_.end()) {
      if (it->second.allocate_tid == req.tid) { // a retransmission (§7.2)
        out.reply = it->second.allocate_reply;
        return out;
      }
      return refuse(turn::error_allocation_mismatch, counters_.bad_requests);
    }
    if (!m.requested_transport)
      return refuse(stun::error_bad_request, counters_.bad_requests);
    if (*m.requested_transport != turn::protocol_udp)
      return refuse(turn::error_unsupported_transport, counters_.bad_requests);
    ip_family family = ip_family::ipv4; // §7.2: IPv4 unless the request names another
    if (m.requested_family && *m.requested_family == turn::family_code_ipv6)
      family = ip_family::ipv6;
    else if (m.requested_family && *m.requested_family != turn::family_code_ipv4)
      return refuse(turn::error_address_family, counters_.bad_requests);
    if (family != config_.relay_family)
      return refuse(turn::error_address_family, counters_.bad_requests);
    const transport_address ip = ip_only(from.remote);
    const std::string user_id = username.substr(std::min(username.size(), username.find(':') + 1));
    auto& bucket = rate_.try_emplace(ip, config_.allocations_per_ip_per_s,
                                     config_.allocation_burst_per_ip, now_ms * 1'000'000)
                     .first->second;
    if (!bucket.try_take(1, now_ms * 1'000'000))
      return refuse(turn::error_quota, counters_.refused_rate);
    auto count_of = [](const auto& map, const auto& k) {
      auto f = map.find(k);
      return f == map.end() ? std::size_t{0} : f->second;
    };
    if (allocations_.size() >= config_.max_allocations ||
        count_of(per_user_, user_id) >= config_.max_allocations_per_user ||
        count_of(per_ip_, ip) >= config_.max_allocations_per_ip)
      return refuse(turn::error_quota, counters_.refused_quota);
    auto relay = open_relay_ ? open_relay_(family) : std::nullopt;
    if (!relay)
      return refuse(turn::error_capacity, counters_.refused_capacity);

    const uint32_t lifetime = lifetime_s(m, config_);
    stun::builder b{stun::message_class::success_response, turn::method_allocate, req.tid};
    b.add_xor_address(turn::attr::xor_relayed_address, *relay)
      .add_uint32(turn::attr::lifetime, lifetime)
      .add_xor_mapped_address(from.remote)
      .add_message_integrity(key)
      .add_fingerprint();
    allocation a;
    a.id = next_allocation_++;
    a.client = from;
    a.relay = *relay;
    a.username = username;
    a.user_id = user_id;
    a.key = key;
    a.allocate_tid = req.tid;
    a.allocate_reply = std::move(b).finish();
    a.expires_ms = now_ms + int64_t(lifetime) * ms_per_s;
    if (config_.relay_rate_kbps != 0) { // bytes per second, a second's worth at once
      const uint64_t bytes_per_s = uint64_t(config_.relay_rate_kbps) * 1000 / 8;
      a.to_peer_budget = token_bucket(bytes_per_s, bytes_per_s, now_ms * 1'000'000);
      a.to_client_budget = token_bucket(bytes_per_s, bytes_per_s, now_ms * 1'000'000);
    }
    out.reply = a.allocate_reply;
    by_relay_.emplace(*relay, from);
    ++per_user_[user_id];
    ++per_ip_[ip];
    allocations_.emplace(from, std::move(a));
    ++counters_.allocations_created;
    return out;
  }

  if (it == allocations_.end())
    return refuse(turn::error_allocation_mismatch, counters_.bad_requests);
  allocation& a = it->second;
  if (a.username != username) // §7: the allocation's own credentials only
    return refuse(turn::error_wrong_credentials, counters_.refused_credentials);

  stun::builder ok{stun::message_class::success_response, req.method, req.tid};
  if (req.method == turn::method_refresh) {
    if (m.lifetime && *m.lifetime == 0) { // §8: a lifetime of 0 deletes it
      end(it);
      ok.add_uint32(turn::attr::lifetime, 0);
    } else {
      const uint32_t lifetime = lifetime_s(m, config_);
      a.expires_ms = now_ms + int64_t(lifetime) * ms_per_s;
      ok.add_uint32(turn::attr::lifetime, lifetime);
    }
    out.reply = std::move(ok.add_message_integrity(key).add_fingerprint()).finish();
    return out;
  }

  if (m.peers.empty())
    return refuse(stun::error_bad_request, counters_.bad_requests);
  for (const auto& peer : m.peers) {
    if (peer.family != a.relay.family)
      return refuse(turn::error_peer_family_mismatch, counters_.bad_requests);
    if (!peer_allowed_(peer))
      return refuse(turn::error_forbidden, counters_.refused_peer);
  }
  const int64_t permission_until = now_ms + int64_t(config_.permission_lifetime_s) * ms_per_s;

  if (req.method == turn::method_create_permission) {
    std::size_t added = 0;
    for (const auto& peer : m.peers)
      added += a.permissions.count(ip_only(peer)) == 0;
    if (a.permissions.size() + added > config_.max_permissions)
      return refuse(turn::error_capacity, counters_.refused_capacity);
    for (const auto& peer : m.peers)
      a.permissions[ip_only(peer)] = permission_until;
    out.reply = std::move(ok.add_message_integrity(key).add_fingerprint()).finish();
    return out;
  }

  // ChannelBind (§11.2)
  if (!m.channel || m.peers.size() != 1 || *m.channel < turn::channel_min ||
      *m.channel > turn::channel_max)
    return refuse(stun::error_bad_request, counters_.bad_requests);
  const uint16_t channel = *m.channel;
  const transport_address& peer = m.peers.front();
  auto bound = a.channels.find(channel);
  auto peer_channel = a.channel_of_peer.find(peer);
  if ((bound != a.channels.end() && !(bound->second.peer == peer)) ||
      (peer_channel != a.channel_of_peer.end() && peer_channel->second != channel))
    return refuse(stun::error_bad_request, counters_.bad_requests);
  if (bound == a.channels.end() && a.channels.size() >= config_.max_channels)
    return refuse(turn::error_capacity, counters_.refused_capacity);
  if (a.permissions.count(ip_only(peer)) == 0 && a.permissions.size() >= config_.max_permissions)
    return refuse(turn::error_capacity, counters_.refused_capacity);
  a.channels[channel] = channel_binding{peer, now_ms + int64_t(config_.channel_lifetime_s) * ms_per_s};
  a.channel_of_peer[peer] = channel;
  a.permissions[ip_only(peer)] = permission_until;
  out.reply = std::move(ok.add_message_integrity(key).add_fingerprint()).finish();
  return out;
}

turn_server::client_result turn_server::on_channel_data(const turn_client& from,
                                                        std::span<const uint8_t> bytes,
                                                        int64_t now_ms) {
  client_result out;
  auto cd = turn::parse_channel_data(bytes);
  auto it = live(from, now_ms);
  if (!cd || it == allocations_.end()) {
    ++counters_.dropped;
    return out;
  }
  allocation& a = it->second;
  auto bound = a.channels.find(cd->channel);
  if (bound == a.channels.end() || bound->second.expires_ms <= now_ms ||
      !peer_allowed_(bound->second.peer)) {
    ++counters_.dropped;
    return out;
  }
  if (!a.to_peer_budget.try_take(cd->payload.size(), now_ms * 1'000'000)) {
    ++counters_.rate_limited;
    return out;
  }
  ++counters_.relayed_to_peer_packets;
  counters_.relayed_to_peer_bytes += cd->payload.size();
  out.relay = turn_relay_send{a.relay, bound->second.peer, cd->payload, a.id};
  return out;
}

std::optional<turn_server::peer_result> turn_server::on_peer(const transport_address& relay,
                                                             const transport_address& peer,
                                                             std::span<const uint8_t> payload,
                                                             int64_t now_ms) {
  auto client = by_relay_.find(relay);
  if (client == by_relay_.end()) {
    ++counters_.dropped;
    return std::nullopt;
  }
  const turn_client owner = client->second; // (live() may erase the entry)
  auto it = live(owner, now_ms);
  if (it == allocations_.end()) {
    ++counters_.dropped;
    return std::nullopt;
  }
  allocation& a = it->second;
  auto perm = a.permissions.find(ip_only(peer));
  if (perm == a.permissions.end() || perm->second <= now_ms || !peer_allowed_(peer)) {
    ++counters_.dropped;
    return std::nullopt;
  }
  if (!a.to_client_budget.try_take(payload.size(), now_ms * 1'000'000)) {
    ++counters_.rate_limited;
    return std::nullopt;
  }
  peer_result r;
  r.to = a.client;
  r.allocation = a.id;
  auto ch = a.channel_of_peer.find(peer);
  if (ch != a.channel_of_peer.end() && a.channels.at(ch->second).expires_ms > now_ms) {
    r.bytes.reserve(turn::channel_header_size + payload.size() + 3);
    turn::append_channel_data(r.bytes, ch->second, payload, a.client.stream());
  } else {
    r.bytes = turn::data_indication(peer, payload);
  }
  ++counters_.relayed_to_client_packets;
  counters_.relayed_to_client_bytes += payload.size();
  return r;
}

turn_server::allocation_map::iterator turn_server::end(allocation_map::iterator it) {
  allocation& a = it->second;
  if (close_relay_)
    close_relay_(a.relay);
  by_relay_.erase(a.relay);
  if (auto u = per_user_.find(a.user_id); u != per_user_.end() && --u->second == 0)
    per_user_.erase(u);
  if (auto i = per_ip_.find(ip_only(a.client.remote)); i != per_ip_.end() && --i->second == 0)
    per_ip_.erase(i);
  ++counters_.allocations_ended;
  return allocations_.erase(it);
}

turn_server::allocation_map::iterator turn_server::live(const turn_client& client, int64_t now_ms) {
  auto it = allocations_.find(client);
  if (it != allocations_.end() && it->second.expires_ms <= now_ms) { // before expire() ran
    end(it);
    return allocations_.end();
  }
  return it;
}

void turn_server::expire(int64_t now_ms) {
  for (auto it = allocations_.begin(); it != allocations_.end();) {
    allocation& a = it->second;
    if (a.expires_ms <= now_ms) {
      it = end(it);
      continue;
    }
    std::erase_if(a.permissions, [&](const auto& p) { return p.second <= now_ms; });
    for (auto ch = a.channels.begin(); ch != a.channels.end();) {
      if (ch->second.expires_ms <= now_ms) {
        a.channel_of_peer.erase(ch->second.peer);
        ch = a.channels.erase(ch);
      } else {
        ++ch;
      }
    }
    ++it;
  }
  const int64_t now_ns = now_ms * 1'000'000;
  for (auto* buckets : {&rate_, &errors_}) // full again: as good as new
    for (auto r = buckets->begin(); r != buckets->end();)
      r = r->second.available(now_ns) >= r->second.burst() ? buckets->erase(r) : std::next(r);
}

void turn_server::connection_closed(const turn_client& client) {
  auto it = allocations_.find(client);
  if (it == allocations_.end())
    return;
  end(it);
}

turn_server::counters turn_server::stats() const noexcept {
  counters c = counters_;
  c.allocations = allocations_.size();
  return c;
}

} // namespace chorus::net
