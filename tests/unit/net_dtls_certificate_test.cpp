// DTLS certificate: generation, PEM loading, fingerprint format (RFC 8122 §5).
#include "net/dtls_certificate.hpp"

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>

using namespace chorus::net;

namespace {

// A fixed ECDSA P-256 certificate made with the openssl CLI (CN chorus-test, serial 4660);
// the expected fingerprints are `openssl x509 -noout -fingerprint -sha256` etc.
constexpr const char* fixed_cert_pem = R"(-----BEGIN CERTIFICATE-----
MIIBbjCCARWgAwIBAgICEjQwCgYIKoZIzj0EAwIwFjEUMBIGA1UEAwwLY2hvcnVz
LXRlc3QwHhcNMjYxMTIxMTcwMTAzWhcNMzYxMTE4MTcwMTAzWjAWMRQwEgYDVQQD
DAtjaG9ydXMtdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABABqmzBc24I5
7Lg68MDv9vxr26UhVIyVzGFjv+N3GwPMoJycxfE3o3VAoJgHg5yIFC3ebWZxTStI
xh4LF71OlBujUzBRMB0GA1UdDgQWBBSRkZ24YpySD+4J6IQxaMQwQnTmfjAfBgNV
HSMEGDAWgBSRkZ24YpySD+4J6IQxaMQwQnTmfjAPBgNVHRMBAf8EBTADAQH/MAoG
CCqGSM49BAMCA0cAMEQCIAhaeSGRKhhAX2uwDeE5AhqC/9rr7cRv9vcPfNczcYxU
AiAyTjA4A2YhsWKWbTel3UIFdGADLHMTSq4Wwf6IEhHh+g==
-----END CERTIFICATE-----
)";
constexpr const char* fixed_key_pem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBAM1WOcBM/hBRT69
kHDJcGjNLS7ALDW59Xc4ZxFGj4mhRANCAAQAapswXNuCOey4OvDA7/b8a9ulIVSM
lcxhY7/jdxsDzKCcnMXxN6N1QKCYB4OciBQt3m1mcU0rSMYeCxe9TpQb
-----END PRIVATE KEY-----
)";

constexpr int64_t t0 = 1'790'000'000; // a fixed "now" (2026-09-21)

bool well_formed_fingerprint(const std::string& v, size_t bytes) {
  if (v.size() != bytes * 3 - 1)
    return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (i % 3 == 2) {
      if (c != ':')
        return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

} // namespace

TEST_CASE("dtls certificate: generated identity and fingerprint format") {
  auto cert = dtls_certificate::generate(t0);
  REQUIRE_MESSAGE(cert.ok(), (cert.ok() ? std::string() : cert.error()));

  struct tcase {
    const char* algorithm;
    size_t digest_bytes;
    size_t chars;
  };
  const tcase cases[] = {
    {"sha-256", 32, 95},
    {"sha-384", 48, 143},
    {"sha-512", 64, 191},
  };
  const auto& fps = cert->fingerprints();
  REQUIRE(fps.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CAPTURE(cases[i].algorithm);
    CHECK(fps[i].algorithm == cases[i].algorithm);
    CHECK(fps[i].value.size() == cases[i].chars);
    CHECK(well_formed_fingerprint(fps[i].value, cases[i].digest_bytes));
  }
  auto sha1 = cert->fingerprint("sha-1");
  REQUIRE(sha1);
  CHECK(sha1->algorithm == "sha-1");
  CHECK(well_formed_fingerprint(sha1->value, 20));
  CHECK(cert->fingerprint("SHA-256")->value == fps[0].value);
  CHECK_FALSE(cert->fingerprint("md5"));
  CHECK_FALSE(cert->fingerprint(""));

  // CN, self-signed, ECDSA P-256, validity 30 days either side of t0.
  X509* x = cert->x509();
  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
  CHECK(std::string(cn) == "chorus");
  CHECK(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0);
  CHECK(X509_verify(x, X509_get0_pubkey(x)) == 1);
  CHECK(EVP_PKEY_is_a(cert->private_key(), "EC"));
  int days = 0, secs = 0;
  time_t now = static_cast<time_t>(t0);
  ASN1_TIME* at = ASN1_TIME_set(nullptr, now);
  REQUIRE(ASN1_TIME_diff(&days, &secs, at, X509_get0_notAfter(x)) == 1);
  CHECK(days == 30);
  REQUIRE(ASN1_TIME_diff(&days, &secs, at, X509_get0_notBefore(x)) == 1);
  CHECK(days == -30);
  ASN1_TIME_free(at);

  // Another generation: another key and serial.
  auto other = dtls_certificate::generate(t0);
  REQUIRE(other.ok());
  CHECK(other->fingerprints()[0].value != fps[0].value);
  CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(x), X509_get0_serialNumber(other->x509())) != 0);
}

TEST_CASE("dtls certificate: fingerprints of a fixed certificate (openssl CLI values)") {
  auto cert = dtls_certificate::from_pem(fixed_cert_pem, fixed_key_pem);
  REQUIRE_MESSAGE(cert.ok(), (cert.ok() ? std::string() : cert.error()));
  struct tcase {
    const char* algorithm;
    const char* expected;
  };
  const tcase cases[] = {
    {"sha-1", "F6:1E:AC:2F:0E:CE:A0:CA:7E:E5:A8:EF:0E:9D:B9:7C:27:97:F0:65"},
    {"sha-256", "E1:3B:D2:4B:F3:DD:DA:1C:6E:2F:DA:01:0B:9C:91:63:25:4A:72:EE:19:44:E5:A8:1E:"
                "03:22:33:AF:E2:B9:47"},
    {"sha-384", "24:F3:52:75:75:ED:CA:59:E6:D8:AA:EA:1C:B7:AB:3F:10:1E:82:5D:BD:42:47:8A:98:"
                "8F:18:93:EA:36:20:F9:C0:3A:90:DB:9B:48:F7:D1:3B:3A:8C:57:24:B0:7F:19"},
    {"sha-512", "B6:71:5B:17:BD:66:37:E2:1B:13:3B:12:DC:C0:A6:4A:F9:82:46:45:E9:61:6C:B3:0C:"
                "65:FB:81:A6:11:69:64:6D:50:03:5C:1F:2B:05:8D:47:59:0E:E8:CA:D6:A8:CE:D3:2D:"
                "78:E5:9A:A4:9F:F5:FB:27:61:2A:88:0B:F1:1A"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.algorithm);
    auto fp = cert->fingerprint(c.algorithm);
    REQUIRE(fp);
    CHECK(fp->value == c.expected);
    CHECK(certificate_fingerprint(cert->x509(), c.algorithm) == std::string(c.expected));
  }
  CHECK_FALSE(certificate_fingerprint(cert->x509(), "sha-3"));
  CHECK_FALSE(certificate_fingerprint(nullptr, "sha-256"));
}

TEST_CASE("dtls certificate: fingerprint value comparison table") {
  struct tcase {
    const char* name;
    const char* a;
    const char* b;
    bool equal;
  };
  const tcase cases[] = {
    {"identical", "AB:CD:01", "AB:CD:01", true},
    {"lower-case peer", "AB:CD:01", "ab:cd:01", true},
    {"one byte differs", "AB:CD:01", "AB:CD:02", false},
    {"shorter", "AB:CD:01", "AB:CD", false},
    {"empty never matches", "", "", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(fingerprint_values_equal(c.a, c.b) == c.equal);
  }
  CHECK(is_fingerprint_algorithm("sha-256"));
  CHECK(is_fingerprint_algorithm("SHA-512"));
  CHECK_FALSE(is_fingerprint_algorithm("sha256"));
}

TEST_CASE("dtls certificate: PEM round trip and files") {
  auto cert = dtls_certificate::generate(t0);
  REQUIRE(cert.ok());
  auto pem = cert->to_pem();
  REQUIRE(pem.ok());
  CHECK(pem->certificate.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(pem->private_key.find("BEGIN PRIVATE KEY") != std::string::npos);

  auto again = dtls_certificate::from_pem(pem->certificate, pem->private_key);
  REQUIRE_MESSAGE(again.ok(), (again.ok() ? std::string() : again.error()));
  CHECK(again->fingerprints() == cert->fingerprints());

  chorus::test::temp_dir dir;
  const auto cert_path = dir.file("cert.pem");
  const auto key_path = dir.file("key.pem");
  std::ofstream(cert_path) << pem->certificate;
  std::ofstream(key_path) << pem->private_key;
  auto loaded = dtls_certificate::load_pem_files(cert_path, key_path);
  REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? std::string() : loaded.error()));
  CHECK(loaded->fingerprints() == cert->fingerprints());
  CHECK_FALSE(dtls_certificate::load_pem_files(dir.file("missing.pem"), key_path).ok());

  // Moves keep the identity.
  dtls_certificate moved = std::move(*again);
  CHECK(moved.fingerprints() == cert->fingerprints());
}

TEST_CASE("dtls certificate: bad PEM input table") {
  auto a = dtls_certificate::generate(t0);
  auto b = dtls_certificate::generate(t0);
  REQUIRE((a.ok() && b.ok()));
  auto pa = a->to_pem();
  auto pb = b->to_pem();
  REQUIRE((pa.ok() && pb.ok()));
  struct tcase {
    const char* name;
    std::string cert;
    std::string key;
  };
  const tcase cases[] = {
    {"key of another certificate", pa->certificate, pb->private_key},
    {"empty", "", ""},
    {"garbage certificate", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
     pa->private_key},
    {"certificate without key", pa->certificate, ""},
    {"key in place of certificate", pa->private_key, pa->private_key},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto r = dtls_certificate::from_pem(c.cert, c.key);
    CHECK_FALSE(r.ok());
    if (!r.ok())
      CHECK_FALSE(r.error().empty());
  }
}
