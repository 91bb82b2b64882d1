#include "net/dtls_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cctype>
#include <ctime>
#include <utility>

namespace chorus::net {

namespace {

constexpr long validity_days = 30;
constexpr int serial_bits = 63; // positive and within 8 bytes, as RFC 5280 §4.1.2.2 asks

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
struct bn_free {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct x509_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using bn_ptr = std::unique_ptr<BIGNUM, bn_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

// The OpenSSL error queue as text, cleared, for a failure message.
std::string openssl_errors(std::string_view what) {
  std::string msg(what);
  unsigned long e;
  char buf[256];
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  return msg;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

const EVP_MD* digest_for(std::string_view algorithm) noexcept {
  if (iequals(algorithm, "sha-256"))
    return EVP_sha256();
  if (iequals(algorithm, "sha-384"))
    return EVP_sha384();
  if (iequals(algorithm, "sha-512"))
    return EVP_sha512();
  if (iequals(algorithm, "sha-1"))
    return EVP_sha1();
  if (iequals(algorithm, "sha-224"))
    return EVP_sha224();
  return nullptr;
}

std::string hex_colon(const unsigned char* bytes, unsigned len) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  if (len == 0)
    return out;
  out.reserve(len * 3 - 1);
  for (unsigned i = 0; i < len; ++i) {
    if (i > 0)
      out.push_back(':');
    out.push_back(digits[bytes[i] >> 4]);
    out.push_back(digits[bytes[i] & 0x0f]);
  }
  return out;
}

std::vector<dtls_fingerprint> announced_fingerprints(const X509* cert) {
  std::vector<dtls_fingerprint> out;
  for (const char* alg : {"sha-256", "sha-384", "sha-512"})
    if (auto v = certificate_fingerprint(cert, alg))
      out.push_back({alg, std::move(*v)});
  return out;
}

result<dtls_certificate> failed(std::string_view what) {
  return failure{openssl_errors(what)};
}

} // namespace

bool is_fingerprint_algorithm(std::string_view algorithm) noexcept {
  return digest_for(algorithm) != nullptr;
}

std::optional<std::string> certificate_fingerprint(const x509_st* certificate,
                                                   std::string_view algorithm) {
  const EVP_MD* md = digest_for(algorithm);
  if (md == nullptr || certificate == nullptr)
    return std::nullopt;
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned len = 0;
  if (X509_digest(certificate, md, digest.data(), &len) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return hex_colon(digest.data(), len);
}

bool fingerprint_values_equal(std::string_view a, std::string_view b) noexcept {
  return !a.empty() && iequals(a, b);
}

dtls_certificate::dtls_certificate(x509_st* cert, evp_pkey_st* key)
  : cert_(cert), key_(key), fingerprints_(announced_fingerprints(cert)) {}

dtls_certificate::dtls_certificate(dtls_certificate&& other) noexcept
  : cert_(std::exchange(other.cert_, nullptr)),
    key_(std::exchange(other.key_, nullptr)),
    fingerprints_(std::move(other.fingerprints_)) {}

dtls_certificate& dtls_certificate::operator=(dtls_certificate&& other) noexcept {
  if (this != &other) {
    X509_free(cert_);
    EVP_PKEY_free(key_);
    cert_ = std::exchange(other.cert_, nullptr);
    key_ = std::exchange(other.key_, nullptr);
    fingerprints_ = std::move(other.fingerprints_);
  }
  return *this;
}

dtls_certificate::~dtls_certificate() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

result<dtls_certificate> dtls_certificate::generate(int64_t unix_now_s) {
  pkey_ptr key{EVP_EC_gen("P-256")};
  if (!key)
    return failed("EC P-256 key generation failed");

  x509_ptr cert{X509_new()};
  if (!cert)
    return failed("X509_new failed");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1)
    return failed("X509_set_version failed");

  bn_ptr serial{BN_new()};
  if (!serial || BN_rand(serial.get(), serial_bits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return failed("random serial failed");

  time_t now = static_cast<time_t>(unix_now_s);
  if (X509_time_adj_ex(X509_getm_notBefore(cert.get()), -validity_days, 0, &now) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), validity_days, 0, &now) == nullptr)
    return failed("validity failed");

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("chorus"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1)
    return failed("subject name failed");

  if (X509_set_pubkey(cert.get(), key.get()) != 1)
    return failed("X509_set_pubkey failed");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    return failed("X509_sign failed");

  return dtls_certificate{cert.release(), key.release()};
}

result<dtls_certificate> dtls_certificate::from_pem(std::string_view certificate_pem,
                                                    std::string_view private_key_pem) {
  bio_ptr cert_bio{BIO_new_mem_buf(certificate_pem.data(),
                                   static_cast<int>(certificate_pem.size()))};
  bio_ptr key_bio{BIO_new_mem_buf(private_key_pem.data(),
                                  static_cast<int>(private_key_pem.size()))};
  if (!cert_bio || !key_bio)
    return failed("BIO_new_mem_buf failed");
  x509_ptr cert{PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)};
  if (!cert)
    return failed("cannot read PEM certificate");
  // An empty passphrase callback: encrypted keys are refused instead of prompting.
  pkey_ptr key{PEM_read_bio_PrivateKey(
    key_bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr)};
  if (!key)
    return failed("cannot read PEM private key");
  if (X509_check_private_key(cert.get(), key.get()) != 1)
    return failed("private key does not match the certificate");
  return dtls_certificate{cert.release(), key.release()};
}

result<dtls_certificate> dtls_certificate::load_pem_files(const std::string& certificate_path,
                                                          const std::string& private_key_path) {
  auto read_all = [](const std::string& path, std::string& out) {
    bio_ptr bio{BIO_new_file(path.c_str(), "rb")};
    if (!bio)
      return false;
    char buf[4096];
    int n;
    while ((n = BIO_read(bio.get(), buf, sizeof(buf))) > 0)
      out.append(buf, static_cast<size_t>(n));
    return true;
  };
  std::string cert_pem, key_pem;
  if (!read_all(certificate_path, cert_pem))
    return failed("cannot open certificate file " + certificate_path);
  if (!read_all(private_key_path, key_pem))
    return failed("cannot open private key file " + private_key_path);
  return from_pem(cert_pem, key_pem);
}

std::optional<dtls_fingerprint> dtls_certificate::fingerprint(std::string_view algorithm) const {
  for (const auto& fp : fingerprints_)
    if (iequals(fp.algorithm, algorithm))
      return fp;
  if (auto v = certificate_fingerprint(cert_, algorithm)) {
    std::string name(algorithm);
    for (auto& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return dtls_fingerprint{std::move(name), std::move(*v)};
  }
  return std::nullopt;
}

result<dtls_certificate::pem_pair> dtls_certificate::to_pem() const {
  auto bio_text = [](BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    return std::string(data, n > 0 ? static_cast<size_t>(n) : 0);
  };
  bio_ptr cert_bio{BIO_new(BIO_s_mem())};
  bio_ptr key_bio{BIO_new(BIO_s_mem())};
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert_) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key_, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return failure{openssl_errors("PEM export failed")};
  return pem_pair{bio_text(cert_bio.get()), bio_text(key_bio.get())};
}

} // namespace chorus::net
