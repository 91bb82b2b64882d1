// Internal to protocol/jwt*.cpp: OpenSSL key handling shared by the verifier and the signer.
#pragma once

#include "common/result.hpp"
#include "protocol/jwt.hpp"

#include <openssl/types.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace chorus::protocol::jwt_detail {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept;
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// The oldest error on this thread's OpenSSL queue as text; the queue is cleared.
std::string openssl_error();

// "" when `key` suits `alg` (RS256: RSA of 2048 bits or more; ES256: EC on P-256), else why.
std::string check_key_for(jwt_algorithm alg, const EVP_PKEY* key);

// The algorithm a key is for: RS256 for RSA, ES256 for EC (the curve is not checked here).
std::optional<jwt_algorithm> algorithm_of(const EVP_PKEY* key);

// A PEM public key ("BEGIN PUBLIC KEY") or the key of a PEM certificate.
result<pkey_ptr> read_public_key(std::string_view pem);

// An unencrypted PEM private key (PKCS#8 or traditional); never prompts for a passphrase.
result<pkey_ptr> read_private_key(std::string_view pem);

bool hmac_sha256(std::string_view secret, std::string_view data,
                 std::array<unsigned char, 32>& out);

} // namespace chorus::protocol::jwt_detail
