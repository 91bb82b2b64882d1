// JSON Web Tokens (RFC 7519) in the JWS compact serialization (RFC 7515), verified with
// OpenSSL 3: HS256 (a shared secret), RS256 and ES256 (a PEM public key), and the claims
// Chorus reads from them (docs/operations.md, "Tokens and roles").
//
// A verifier is pinned to one algorithm: a token whose header names another one is refused
// (alg-mismatch), "none" and algorithms Chorus does not implement are refused
// (unsupported-alg), so an RS256 verifier never treats its public key as an HMAC secret.
//
// Thread safety: a jwt_verifier is immutable after make(), and a copy is one shared_ptr
// copy: copies share the configuration and the parsed key (a const EVP_PKEY). verify()
// only reads them and creates its own OpenSSL contexts per call, so any number of threads
// may call verify() on one verifier or on copies of it at once (OpenSSL 3 allows one
// EVP_PKEY in concurrent operations that do not modify it, openssl-threads(7)). verify()
// leaves the calling thread's OpenSSL error queue empty, so TLS code on the same thread
// never sees its errors.
#pragma once

#include "common/result.hpp"
#include "protocol/permissions.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

enum class jwt_algorithm : uint8_t { hs256, rs256, es256 };

// "HS256", "RS256", "ES256".
std::string_view to_string(jwt_algorithm a) noexcept;
// Exactly "HS256", "RS256" or "ES256" (JWS algorithm names are case-sensitive).
std::optional<jwt_algorithm> parse_jwt_algorithm(std::string_view name) noexcept;

// The algorithm a PEM key is for: RS256 for an RSA key, ES256 for an EC key (the curve is
// checked later, by jwt_verifier::make or jwt_signer::make). Takes a public key, a
// certificate or an unencrypted private key; nullopt when it is none of these.
std::optional<jwt_algorithm> jwt_algorithm_for_key(std::string_view pem);

// Why a token was refused. Each has a stable name (to_string) and a fixed human message
// (describe); verify() can also report a detail naming the claim or header member.
enum class jwt_error : uint8_t {
  missing,            // "missing": no token (empty)
  too_large,          // "too-large": longer than jwt_config::max_bytes (nothing decoded)
  malformed,          // "malformed": not three base64url parts, or a header or payload that
                      //   is not a JSON object (or repeats a member)
  unsupported_alg,    // "unsupported-alg": alg "none", absent, or not implemented here
  alg_mismatch,       // "alg-mismatch": HS256/RS256/ES256, but not the configured one
  unsupported_header, // "unsupported-header": crit present, or typ other than JWT
                      //   (or application/jwt; compared without case)
  bad_signature,      // "bad-signature": the signature does not verify
  expired,            // "expired": now >= exp + leeway
  not_yet_valid,      // "not-yet-valid": now + leeway < nbf, or iat is that far ahead
  wrong_issuer,       // "wrong-issuer": iss differs from the configured issuer (or absent)
  wrong_audience,     // "wrong-audience": aud lacks the configured audience (or absent)
  bad_claims,         // "bad-claims": exp or sub missing, a claim of the wrong type or
                      //   value (sub, name, room, rooms, role, permissions)
};

std::string_view to_string(jwt_error e) noexcept;
std::string_view describe(jwt_error e) noexcept;

// The claims Chorus uses, read from a verified token.
struct token_claims {
  std::string sub;                // the peer id: 1 to 128 bytes, no control characters
  std::string name;               // display name; "" when absent
  std::vector<std::string> rooms; // `room` (one entry) or `rooms`; "*" stands for any room
  std::string role;               // "" when absent
  std::optional<permission_set> permissions; // the `permissions` claim, when present
  int64_t exp = 0;                // expiry, Unix seconds (fractions cut)
  std::optional<int64_t> nbf;     // not before, Unix seconds
  std::optional<int64_t> iat;     // issued at, Unix seconds
  std::string iss;                // "" when absent

  // Whether the token admits a peer to `room`: it names the room or "*". A token with
  // neither `room` nor `rooms` covers no room: tokens must name their rooms (or "*").
  bool covers_room(std::string_view room) const noexcept;
  bool covers_all_rooms() const noexcept;
};

struct jwt_config {
  jwt_algorithm algorithm = jwt_algorithm::hs256;
  std::string secret;         // HS256: the shared secret, at least 32 bytes (RFC 7518 3.2)
  std::string public_key_pem; // RS256 (RSA, >= 2048 bits) or ES256 (P-256): a PEM public
                              //   key ("BEGIN PUBLIC KEY") or a PEM certificate
  std::string issuer;         // "": iss is not checked
  std::string audience;       // "": aud is not checked
  int64_t leeway_s = 30;      // clock skew allowed on exp, nbf and iat (0 .. 3600)
  std::size_t max_bytes = 8192; // longest token accepted
};

class jwt_verifier {
public:
  // Checks the configuration and parses the key; fails with a message naming the problem
  // (secret too short, not a PEM public key, RSA key for ES256, wrong curve, ...).
  static result<jwt_verifier> make(jwt_config cfg);

  // Verifies a token at time `now_unix_s`: size, structure, header, signature, times,
  // issuer, audience, then the claims. On failure `detail` (when given) receives a short
  // English reason for logs, such as "sub is required"; it never holds the token.
  value_or_error<token_claims, jwt_error> verify(std::string_view token, int64_t now_unix_s,
                                                 std::string* detail = nullptr) const;

  // The first half of verify(): size, structure, header and signature only. Returns the
  // decoded payload (JSON text, not checked beyond being decodable base64url).
  value_or_error<std::string, jwt_error> verify_signature(std::string_view token,
                                                          std::string* detail = nullptr) const;

  jwt_algorithm algorithm() const noexcept;
  const jwt_config& config() const noexcept;

private:
  struct state;
  explicit jwt_verifier(std::shared_ptr<const state> s) : state_(std::move(s)) {}

  std::shared_ptr<const state> state_;
};

// base64url without padding (RFC 7515 section 2).
std::string base64url_encode(std::string_view bytes);
// Strict: only A-Z a-z 0-9 - _, no '=' padding, no length of 4n+1, and the unused low bits
// of the last character must be zero (one text per byte string). False on any violation.
bool base64url_decode(std::string_view text, std::string& out);

} // namespace chorus::protocol
