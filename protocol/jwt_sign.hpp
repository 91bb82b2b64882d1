// Minting JWTs: HS256 with a shared secret, RS256 and ES256 with a PEM private key. Used by
// the `chorus token` subcommand and by tests; the server itself only verifies.
#pragma once

#include "common/result.hpp"
#include "protocol/jwt.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

class jwt_signer {
public:
  // HS256: `key` is the secret (at least 32 bytes). RS256 / ES256: `key` is an unencrypted
  // PEM private key of the right type (RSA >= 2048 bits, EC P-256).
  static result<jwt_signer> make(jwt_algorithm alg, std::string_view key);

  // A token with the header {"alg":"<alg>","typ":"JWT"} and this payload (JSON text, taken
  // as it is: tests sign malformed payloads too).
  result<std::string> sign(std::string_view payload_json) const;

  // A token with any header (JSON text, taken as it is): for tests of refused headers.
  result<std::string> sign_with_header(std::string_view header_json,
                                       std::string_view payload_json) const;

  jwt_algorithm algorithm() const noexcept { return alg_; }

private:
  struct state;
  jwt_signer(jwt_algorithm alg, std::shared_ptr<const state> s)
    : alg_(alg), state_(std::move(s)) {}

  jwt_algorithm alg_;
  std::shared_ptr<const state> state_;
};

// The claims of a token to mint. Empty strings and empty optionals are left out.
struct token_spec {
  std::string sub;
  std::string name;
  std::string room;               // written as "room" (a room id or "*")
  std::vector<std::string> rooms; // written as "rooms" when not empty
  std::string role;
  std::optional<std::vector<std::string>> permissions;
  int64_t iat = 0;                // written when not 0
  int64_t exp = 0;                // always written
  std::optional<int64_t> nbf;
  std::string iss;
  std::string aud;
};

// The payload JSON of a token_spec (compact, members in the order above).
std::string token_payload_json(const token_spec& spec);

} // namespace chorus::protocol
