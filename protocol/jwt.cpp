#include "protocol/jwt.hpp"

#include "common/text.hpp"
#include "protocol/jwt_internal.hpp"
#include "protocol/json_reader.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace chorus::protocol {

// ---- names -----------------------------------------------------------------------------

std::string_view to_string(jwt_algorithm a) noexcept {
  switch (a) {
    case jwt_algorithm::hs256:
      return "HS256";
    case jwt_algorithm::rs256:
      return "RS256";
    case jwt_algorithm::es256:
      return "ES256";
  }
  return "unknown";
}

std::optional<jwt_algorithm> parse_jwt_algorithm(std::string_view name) noexcept {
  if (name == "HS256")
    return jwt_algorithm::hs256;
  if (name == "RS256")
    return jwt_algorithm::rs256;
  if (name == "ES256")
    return jwt_algorithm::es256;
  return std::nullopt;
}

std::string_view to_string(jwt_error e) noexcept {
  switch (e) {
    case jwt_error::missing:
      return "missing";
    case jwt_error::too_large:
      return "too-large";
    case jwt_error::malformed:
      return "malformed";
    case jwt_error::unsupported_alg:
      return "unsupported-alg";
    case jwt_error::alg_mismatch:
      return "alg-mismatch";
    case jwt_error::unsupported_header:
      return "unsupported-header";
    case jwt_error::bad_signature:
      return "bad-signature";
    case jwt_error::expired:
      return "expired";
    case jwt_error::not_yet_valid:
      return "not-yet-valid";
    case jwt_error::wrong_issuer:
      return "wrong-issuer";
    case jwt_error::wrong_audience:
      return "wrong-audience";
    case jwt_error::bad_claims:
      return "bad-claims";
  }
  return "unknown";
}

std::string_view describe(jwt_error e) noexcept {
  switch (e) {
    case jwt_error::missing:
      return "a token is required";
    case jwt_error::too_large:
      return "the token is too large";
    case jwt_error::malformed:
      return "the token is not a well-formed JWT";
    case jwt_error::unsupported_alg:
      return "the token's signature algorithm is not accepted";
    case jwt_error::alg_mismatch:
      return "the token is signed with another algorithm than the configured one";
    case jwt_error::unsupported_header:
      return "the token's header asks for something this server does not support";
    case jwt_error::bad_signature:
      return "the token's signature is invalid";
    case jwt_error::expired:
      return "the token has expired";
    case jwt_error::not_yet_valid:
      return "the token is not valid yet";
    case jwt_error::wrong_issuer:
      return "the token was issued by another issuer";
    case jwt_error::wrong_audience:
      return "the token is meant for another audience";
    case jwt_error::bad_claims:
      return "the token's claims are missing or invalid";
  }
  return "the token was refused";
}

// ---- base64url -------------------------------------------------------------------------

namespace {

constexpr char b64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> make_b64url_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t)
    v = -1;
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(b64url_alphabet[i])] = static_cast<int8_t>(i);
  return t;
}

constexpr auto b64url_table = make_b64url_table();

} // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
    out.push_back(b64url_alphabet[v & 63]);
  }
  auto rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = byte(i) << 16;
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8;
    out.push_back(b64url_alphabet[(v >> 18) & 63]);
    out.push_back(b64url_alphabet[(v >> 12) & 63]);
    out.push_back(b64url_alphabet[(v >> 6) & 63]);
  }
  return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 == 1)
    return false;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = b64url_table[static_cast<unsigned char>(ch)];
    if (v < 0)
      return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // 2 or 4 bits left over: they must be zero, or another text would decode the same.
  return (acc & ((1u << bits) - 1)) == 0;
}

// ---- keys ------------------------------------------------------------------------------

namespace jwt_detail {

void pkey_deleter::operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string check_key_for(jwt_algorithm alg, const EVP_PKEY* key) {
  if (alg == jwt_algorithm::rs256) {
    if (!EVP_PKEY_is_a(key, "RSA"))
      return "RS256 needs an RSA key";
    if (EVP_PKEY_get_bits(key) < 2048)
      return "RS256 needs an RSA key of at least 2048 bits (RFC 7518 3.3)";
    return {};
  }
  if (alg == jwt_algorithm::es256) {
    if (!EVP_PKEY_is_a(key, "EC"))
      return "ES256 needs an EC key on the P-256 curve";
    char group[64] = {0};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &len) != 1 ||
        std::string_view{group, len} != "prime256v1") {
      ERR_clear_error();
      return "ES256 needs an EC key on the P-256 curve (prime256v1)";
    }
    return {};
  }
  return "HS256 takes a secret, not a key";
}

std::optional<jwt_algorithm> algorithm_of(const EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "RSA"))
    return jwt_algorithm::rs256;
  if (EVP_PKEY_is_a(key, "EC"))
    return jwt_algorithm::es256;
  return std::nullopt;
}

result<pkey_ptr> read_public_key(std::string_view pem) {
  ERR_clear_error();
  if (pem.empty() || pem.size() > (1 << 20))
    return failure{"no PEM public key"};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
  if (!bio)
    return failure{openssl_error()};
  pkey_ptr key{PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)};
  if (!key) {
    // A certificate holding the key will do as well.
    ERR_clear_error();
    BIO_reset(bio.get());
    std::unique_ptr<X509, decltype(&X509_free)> cert{
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free};
    if (cert)
      key.reset(X509_get_pubkey(cert.get()));
  }
  ERR_clear_error();
  if (!key)
    return failure{"not a PEM public key (BEGIN PUBLIC KEY) or certificate"};
  return key;
}

result<pkey_ptr> read_private_key(std::string_view pem) {
  ERR_clear_error();
  if (pem.empty() || pem.size() > (1 << 20))
    return failure{"no PEM private key"};
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{
    BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free};
  if (!bio)
    return failure{openssl_error()};
  // No passphrase prompt on the terminal: an encrypted key simply fails.
  auto no_password = [](char*, int, int, void*) -> int { return 0; };
  pkey_ptr key{PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr)};
  ERR_clear_error();
  if (!key)
    return failure{"not an unencrypted PEM private key"};
  return key;
}

bool hmac_sha256(std::string_view secret, std::string_view data,
                 std::array<unsigned char, 32>& out) {
  std::size_t len = 0;
  auto* r = EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                      out.data(), out.size(), &len);
  if (r == nullptr || len != out.size()) {
    ERR_clear_error();
    return false;
  }
  return true;
}

} // namespace jwt_detail

using namespace jwt_detail;

std::optional<jwt_algorithm> jwt_algorithm_for_key(std::string_view pem) {
  auto key = read_public_key(pem);
  if (key)
    return algorithm_of(key->get());
  auto priv = read_private_key(pem);
  if (priv)
    return algorithm_of(priv->get());
  return std::nullopt;
}

// ---- the verifier ----------------------------------------------------------------------

struct jwt_verifier::state {
  jwt_config cfg;
  pkey_ptr key; // RS256, ES256
};

jwt_algorithm jwt_verifier::algorithm() const noexcept { return state_->cfg.algorithm; }

const jwt_config& jwt_verifier::config() const noexcept { return state_->cfg; }

result<jwt_verifier> jwt_verifier::make(jwt_config cfg) {
  if (cfg.leeway_s < 0 || cfg.leeway_s > 3600)
    return failure{"leeway must be 0 to 3600 seconds"};
  if (cfg.max_bytes < 64 || cfg.max_bytes > (1 << 20))
    return failure{"the token size limit must be 64 bytes to 1 MiB"};
  auto st = std::make_shared<state>();
  if (cfg.algorithm == jwt_algorithm::hs256) {
    if (!cfg.public_key_pem.empty())
      return failure{"HS256 takes a shared secret, not a public key"};
    if (cfg.secret.size() < 32)
      return failure{"the HS256 secret must be at least 32 bytes (RFC 7518 3.2)"};
  } else {
    if (!cfg.secret.empty())
      return failure{std::string{to_string(cfg.algorithm)} + " takes a public key, not a secret"};
    auto key = read_public_key(cfg.public_key_pem);
    if (!key)
      return failure{key.error()};
    if (auto e = check_key_for(cfg.algorithm, key->get()); !e.empty())
      return failure{e};
    st->key = std::move(*key);
  }
  st->cfg = std::move(cfg);
  return jwt_verifier{std::move(st)};
}

namespace {

// Clears this thread's OpenSSL error queue when leaving a scope.
struct clear_errors_on_exit {
  ~clear_errors_on_exit() { ERR_clear_error(); }
};

bool verify_hs256(std::string_view secret, std::string_view input, std::string_view sig) {
  std::array<unsigned char, 32> mac{};
  if (sig.size() != mac.size() || !hmac_sha256(secret, input, mac))
    return false;
  return CRYPTO_memcmp(mac.data(), sig.data(), mac.size()) == 0;
}

bool verify_digest(EVP_PKEY* key, std::string_view input, std::string_view der_sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_sig.data()),
                          der_sig.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size()) == 1;
}

// JWS ES256 signatures are R || S, 32 bytes each (RFC 7518 3.4); OpenSSL wants DER.
bool es256_raw_to_der(std::string_view raw, std::string& der) {
  if (raw.size() != 64)
    return false;
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{ECDSA_SIG_new(), &ECDSA_SIG_free};
  if (!sig)
    return false;
  auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  if (r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return false;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0)
    return false;
  der.resize(static_cast<std::size_t>(len));
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  return i2d_ECDSA_SIG(sig.get(), &out) == len;
}

// Untrusted text quoted in a detail (which goes to logs): at most `max` bytes, control
// characters as '?'.
std::string quoted(std::string_view text, std::size_t max) {
  std::string out{text.substr(0, max)};
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  return out;
}

void set_detail(std::string* detail, std::string text) {
  if (detail != nullptr)
    *detail = std::move(text);
}

// A JSON object without repeated member names (RFC 7515 5.2 / RFC 7519 7.2 allow refusing).
bool parse_object(std::string_view text, rapidjson::Document& doc, const char* what,
                  std::string* detail) {
  if (auto e = json::parse_text(text, doc); !e.empty()) {
    set_detail(detail, std::string{what} + " is not JSON: " + e);
    return false;
  }
  if (!doc.IsObject()) {
    set_detail(detail, std::string{what} + " is not a JSON object");
    return false;
  }
  if (doc.MemberCount() > json::max_entries) {
    set_detail(detail, std::string{what} + " has more than 64 members");
    return false;
  }
  // Through a const reference: C++20 finds rapidjson's != ambiguous on mutable iterators.
  const rapidjson::Value& obj = doc;
  for (auto a = obj.MemberBegin(); a != obj.MemberEnd(); ++a)
    for (auto b = a + 1; b != obj.MemberEnd(); ++b)
      if (a->name == b->name) {
        set_detail(detail, std::string{what} + " repeats the member '" +
                             quoted({a->name.GetString(), a->name.GetStringLength()}, 32) +
                             "'");
        return false;
      }
  return true;
}

const rapidjson::Value* find(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || it->value.IsNull())
    return nullptr;
  return &it->value;
}

std::string_view view(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

// A NumericDate (RFC 7519 2): a JSON number of seconds, fractions allowed.
bool numeric_date(const rapidjson::Value& v, double& out) {
  if (!v.IsNumber())
    return false;
  out = v.GetDouble();
  return std::isfinite(out);
}

int64_t whole_seconds(double d) {
  constexpr double lim = 9.0e18;
  if (d >= lim)
    return std::numeric_limits<int64_t>::max();
  if (d <= -lim)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(std::floor(d));
}

constexpr std::size_t max_label = 128;
constexpr std::size_t max_role = 64;
constexpr std::size_t max_rooms = 64;

} // namespace

value_or_error<std::string, jwt_error> jwt_verifier::verify_signature(std::string_view token,
                                                                      std::string* detail) const {
  const auto& cfg = state_->cfg;
  if (token.empty()) {
    set_detail(detail, "no token");
    return jwt_error::missing;
  }
  if (token.size() > cfg.max_bytes) {
    set_detail(detail, "token of " + std::to_string(token.size()) + " bytes, more than " +
                         std::to_string(cfg.max_bytes));
    return jwt_error::too_large;
  }
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    set_detail(detail, "a JWS compact token has three parts separated by two dots");
    return jwt_error::malformed;
  }
  auto header_b64 = token.substr(0, dot1);
  auto payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  auto sig_b64 = token.substr(dot2 + 1);

  std::string header_json;
  if (header_b64.empty() || !base64url_decode(header_b64, header_json)) {
    set_detail(detail, "the header is not base64url");
    return jwt_error::malformed;
  }
  rapidjson::Document header;
  if (!parse_object(header_json, header, "the header", detail))
    return jwt_error::malformed;

  const auto* alg = find(header, "alg");
  if (alg == nullptr || !alg->IsString()) {
    set_detail(detail, "the header has no alg");
    return jwt_error::unsupported_alg;
  }
  auto parsed_alg = parse_jwt_algorithm(view(*alg));
  if (!parsed_alg) {
    set_detail(detail, "alg '" + quoted(view(*alg), 16) + "' is not accepted");
    return jwt_error::unsupported_alg;
  }
  if (*parsed_alg != cfg.algorithm) {
    set_detail(detail, "alg " + std::string{to_string(*parsed_alg)} + ", but this server takes " +
                         std::string{to_string(cfg.algorithm)});
    return jwt_error::alg_mismatch;
  }
  if (header.HasMember("crit")) {
    set_detail(detail, "the header has crit (no extension is supported)");
    return jwt_error::unsupported_header;
  }
  if (const auto* typ = find(header, "typ");
      typ != nullptr && (!typ->IsString() || !(text::iequals(view(*typ), "JWT") ||
                                               text::iequals(view(*typ), "application/jwt")))) {
    set_detail(detail, "typ must be JWT");
    return jwt_error::unsupported_header;
  }

  std::string sig;
  if (!base64url_decode(sig_b64, sig)) {
    set_detail(detail, "the signature is not base64url");
    return jwt_error::malformed;
  }
  auto input = token.substr(0, dot2);
  bool good = false;
  {
    clear_errors_on_exit clear;
    switch (cfg.algorithm) {
      case jwt_algorithm::hs256:
        good = verify_hs256(cfg.secret, input, sig);
        break;
      case jwt_algorithm::rs256:
        good = !sig.empty() && verify_digest(state_->key.get(), input, sig);
        break;
      case jwt_algorithm::es256: {
        std::string der;
        good = es256_raw_to_der(sig, der) && verify_digest(state_->key.get(), input, der);
        break;
      }
    }
  }
  if (!good) {
    set_detail(detail, "the signature does not verify");
    return jwt_error::bad_signature;
  }

  std::string payload;
  if (!base64url_decode(payload_b64, payload)) {
    set_detail(detail, "the payload is not base64url");
    return jwt_error::malformed;
  }
  return payload;
}

value_or_error<token_claims, jwt_error> jwt_verifier::verify(std::string_view token,
                                                             int64_t now_unix_s,
                                                             std::string* detail) const {
  auto payload = verify_signature(token, detail);
  if (!payload)
    return payload.error();
  const auto& cfg = state_->cfg;
  rapidjson::Document doc;
  if (!parse_object(*payload, doc, "the payload", detail))
    return jwt_error::malformed;

  auto bad = [&](std::string text) {
    set_detail(detail, std::move(text));
    return jwt_error::bad_claims;
  };
  token_claims c;

  // Times: exp is required; nbf and iat are optional. All get the leeway.
  const double now = static_cast<double>(now_unix_s);
  const double leeway = static_cast<double>(cfg.leeway_s);
  double exp = 0, nbf = 0, iat = 0;
  const auto* v = find(doc, "exp");
  if (v == nullptr)
    return bad("exp is required");
  if (!numeric_date(*v, exp))
    return bad("exp must be a number of seconds");
  c.exp = whole_seconds(exp);
  if ((v = find(doc, "nbf")) != nullptr) {
    if (!numeric_date(*v, nbf))
      return bad("nbf must be a number of seconds");
    c.nbf = whole_seconds(nbf);
  }
  if ((v = find(doc, "iat")) != nullptr) {
    if (!numeric_date(*v, iat))
      return bad("iat must be a number of seconds");
    c.iat = whole_seconds(iat);
  }
  if (now >= exp + leeway) {
    set_detail(detail, "expired at " + std::to_string(c.exp) + ", now " + std::to_string(now_unix_s));
    return jwt_error::expired;
  }
  if (c.nbf && now + leeway < nbf) {
    set_detail(detail, "not valid before " + std::to_string(*c.nbf) + ", now " +
                         std::to_string(now_unix_s));
    return jwt_error::not_yet_valid;
  }
  if (c.iat && now + leeway < iat) {
    set_detail(detail, "issued in the future (" + std::to_string(*c.iat) + "), now " +
                         std::to_string(now_unix_s));
    return jwt_error::not_yet_valid;
  }

  // Issuer and audience.
  if ((v = find(doc, "iss")) != nullptr) {
    if (!v->IsString())
      return bad("iss must be a string");
    c.iss.assign(view(*v));
  }
  if (!cfg.issuer.empty() && c.iss != cfg.issuer) {
    set_detail(detail, c.iss.empty() ? std::string{"iss is required"} : "iss is not the configured issuer");
    return jwt_error::wrong_issuer;
  }
  if (!cfg.audience.empty()) {
    bool found = false;
    if ((v = find(doc, "aud")) != nullptr) {
      if (v->IsString()) {
        found = view(*v) == cfg.audience;
      } else if (v->IsArray()) {
        for (auto& a : v->GetArray())
          found = found || (a.IsString() && view(a) == cfg.audience);
      }
    }
    if (!found) {
      set_detail(detail, v == nullptr ? "aud is required" : "aud does not name this server's audience");
      return jwt_error::wrong_audience;
    }
  }

  // Chorus's claims.
  if ((v = find(doc, "sub")) == nullptr)
    return bad("sub is required");
  if (!v->IsString() || !text::valid_label(view(*v), max_label))
    return bad("sub must be a string of 1 to 128 bytes without control characters");
  c.sub.assign(view(*v));
  if ((v = find(doc, "name")) != nullptr) {
    if (!v->IsString() || (v->GetStringLength() > 0 && !text::valid_label(view(*v), max_label)))
      return bad("name must be a string of at most 128 bytes without control characters");
    c.name.assign(view(*v));
  }
  const auto* room = find(doc, "room");
  const auto* rooms = find(doc, "rooms");
  if (room != nullptr && rooms != nullptr)
    return bad("room and rooms are exclusive");
  if (room != nullptr) {
    if (!room->IsString() || !text::valid_label(view(*room), max_label))
      return bad("room must be a room id (1 to 128 bytes) or \"*\"");
    c.rooms.emplace_back(view(*room));
  }
  if (rooms != nullptr) {
    if (!rooms->IsArray() || rooms->Size() > max_rooms)
      return bad("rooms must be an array of at most 64 room ids");
    for (auto& r : rooms->GetArray()) {
      if (!r.IsString() || !text::valid_label(view(r), max_label))
        return bad("rooms must hold room ids (1 to 128 bytes) or \"*\"");
      c.rooms.emplace_back(view(r));
    }
  }
  if ((v = find(doc, "role")) != nullptr) {
    if (!v->IsString() || !text::valid_label(view(*v), max_role))
      return bad("role must be a string of 1 to 64 bytes");
    c.role.assign(view(*v));
  }
  if ((v = find(doc, "permissions")) != nullptr) {
    if (!v->IsArray() || v->Size() > 32)
      return bad("permissions must be an array of permission names");
    std::vector<std::string> names;
    for (auto& p : v->GetArray()) {
      if (!p.IsString())
        return bad("permissions must be an array of permission names");
      names.emplace_back(view(p).substr(0, 64));
    }
    auto set = parse_permissions(names);
    if (!set)
      return bad("permissions: " + set.error());
    c.permissions = *set;
  }
  return c;
}

// ---- claims ----------------------------------------------------------------------------

bool token_claims::covers_all_rooms() const noexcept {
  for (auto& r : rooms)
    if (r == "*")
      return true;
  return false;
}

bool token_claims::covers_room(std::string_view room) const noexcept {
  for (auto& r : rooms)
    if (r == "*" || r == room)
      return true;
  return false;
}

} // namespace chorus::protocol
