// DtlsParameters as signaled by mediasoup(-client): role and certificate fingerprints.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::net {

enum class dtls_role : uint8_t { auto_, client, server };

std::string_view to_string(dtls_role r) noexcept; // "auto", "client", "server"

struct dtls_fingerprint {
  std::string algorithm; // "sha-256", "sha-384", "sha-512" (also sha-1, sha-224)
  std::string value;     // upper-case hex bytes separated by ':'

  friend bool operator==(const dtls_fingerprint&, const dtls_fingerprint&) = default;
};

struct dtls_parameters {
  dtls_role role = dtls_role::auto_;
  std::vector<dtls_fingerprint> fingerprints;

  friend bool operator==(const dtls_parameters&, const dtls_parameters&) = default;
};

} // namespace chorus::net
