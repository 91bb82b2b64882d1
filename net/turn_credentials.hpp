// TURN credentials in the form of the TURN REST API (draft-uberti-behave-turn-rest-00, the
// form coturn's `use-auth-secret` accepts): the username is "EXPIRY:ID" with EXPIRY in Unix
// seconds, the password base64(HMAC-SHA1(secret, username)). A server that knows the secret
// checks a credential without storing it; one that has expired is refused. And the
// long-term credential key both sides put in MESSAGE-INTEGRITY (RFC 8489 §9.2.2, the MD5
// algorithm): MD5(username ":" realm ":" password). Pure: the time is passed in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::net {

struct turn_credential {
  std::string username; // "EXPIRY:ID"
  std::string password; // base64 of the HMAC-SHA1 of the username
  int64_t expires_s = 0;
};

// A credential for `id` valid until now_s + ttl_s.
turn_credential make_turn_credential(std::string_view secret, std::string_view id, int64_t now_s,
                                     int64_t ttl_s);

// The password the secret gives `username` (base64 of HMAC-SHA1, 28 characters).
std::string turn_password(std::string_view secret, std::string_view username);

// The expiry of a REST username: the decimal number before its first ':' (or the whole
// username); nullopt when that is not a number.
std::optional<int64_t> turn_username_expiry(std::string_view username) noexcept;

// MD5(username ":" realm ":" password): the 16 bytes MESSAGE-INTEGRITY is keyed with.
std::string long_term_key(std::string_view username, std::string_view realm,
                          std::string_view password);

} // namespace chorus::net
