// The node's DTLS identity: one certificate and its private key, and the fingerprints
// that signaling announces (RFC 8122 §5: hash of the DER certificate, upper-case hex
// bytes separated by ':').
//
// Generated certificates are ECDSA P-256, self-signed, CN "chorus", with a random 63-bit
// serial and a validity of 30 days either side of the given time. Loaded certificates may
// use any key type OpenSSL accepts, as long as the key matches the certificate.
//
// Immutable after creation, so one instance can be shared (shared_ptr<const ...>) by
// every transport of a node, across threads.
#pragma once

#include "common/result.hpp"
#include "net/dtls_parameters.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// OpenSSL's opaque types, without pulling its headers into every includer.
struct x509_st;
struct evp_pkey_st;

namespace chorus::net {

// Hash algorithms usable for certificate fingerprints, by their SDP/mediasoup names.
// Accepted case-insensitively: "sha-1", "sha-224", "sha-256", "sha-384", "sha-512".
bool is_fingerprint_algorithm(std::string_view algorithm) noexcept;

// Fingerprint of a certificate for one algorithm (upper-case hex, ':' separated), or
// nothing when the algorithm is unknown or hashing fails. For sha-256 the value has
// 32 bytes -> 95 characters.
std::optional<std::string> certificate_fingerprint(const x509_st* certificate,
                                                   std::string_view algorithm);

// Compares two fingerprint values, ignoring case (peers send lower-case hex too).
bool fingerprint_values_equal(std::string_view a, std::string_view b) noexcept;

class dtls_certificate {
public:
  struct pem_pair {
    std::string certificate;
    std::string private_key; // unencrypted PKCS#8
  };

  // A fresh ECDSA P-256 self-signed certificate; `unix_now_s` anchors the validity.
  static result<dtls_certificate> generate(int64_t unix_now_s);

  // Loads PEM text (certificate first in `certificate`, key in `private_key`).
  static result<dtls_certificate> from_pem(std::string_view certificate_pem,
                                           std::string_view private_key_pem);

  // Loads PEM files, e.g. from --dtls-cert-file / --dtls-key-file.
  static result<dtls_certificate> load_pem_files(const std::string& certificate_path,
                                                 const std::string& private_key_path);

  dtls_certificate(dtls_certificate&&) noexcept;
  dtls_certificate& operator=(dtls_certificate&&) noexcept;
  dtls_certificate(const dtls_certificate&) = delete;
  dtls_certificate& operator=(const dtls_certificate&) = delete;
  ~dtls_certificate();

  // sha-256, sha-384 and sha-512, in that order: what dtlsParameters announce.
  const std::vector<dtls_fingerprint>& fingerprints() const noexcept {
    return fingerprints_;
  }

  // Fingerprint for any supported algorithm (also sha-1, sha-224).
  std::optional<dtls_fingerprint> fingerprint(std::string_view algorithm) const;

  // PEM text of certificate and key, to persist a generated identity.
  result<pem_pair> to_pem() const;

  // For the DTLS context (net/dtls_engine.cpp); ownership stays here.
  x509_st* x509() const noexcept { return cert_; }
  evp_pkey_st* private_key() const noexcept { return key_; }

private:
  dtls_certificate(x509_st* cert, evp_pkey_st* key);

  x509_st* cert_ = nullptr;
  evp_pkey_st* key_ = nullptr;
  std::vector<dtls_fingerprint> fingerprints_;
};

} // namespace chorus::net
