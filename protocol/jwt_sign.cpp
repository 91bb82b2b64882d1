#include "protocol/jwt_sign.hpp"

#include "protocol/jwt_internal.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace chorus::protocol {

using namespace jwt_detail;

struct jwt_signer::state {
  std::string secret; // HS256
  pkey_ptr key;       // RS256, ES256
};

result<jwt_signer> jwt_signer::make(jwt_algorithm alg, std::string_view key) {
  auto st = std::make_shared<state>();
  if (alg == jwt_algorithm::hs256) {
    if (key.size() < 32)
      return failure{"the HS256 secret must be at least 32 bytes (RFC 7518 3.2)"};
    st->secret.assign(key);
  } else {
    auto k = read_private_key(key);
    if (!k)
      return failure{k.error()};
    if (auto e = check_key_for(alg, k->get()); !e.empty())
      return failure{e};
    st->key = std::move(*k);
  }
  return jwt_signer{alg, std::move(st)};
}

namespace {

result<std::string> digest_sign(EVP_PKEY* key, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  std::size_t len = 0;
  auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1)
    return failure{openssl_error()};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in,
                     input.size()) != 1)
    return failure{openssl_error()};
  sig.resize(len);
  return sig;
}

// OpenSSL's DER ECDSA signature into JWS's R || S, 32 bytes each.
result<std::string> es256_der_to_raw(const std::string& der) {
  auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig{
    d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free};
  if (!sig)
    return failure{openssl_error()};
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
    return failure{"ECDSA signature values longer than 32 bytes"};
  return raw;
}

} // namespace

result<std::string> jwt_signer::sign_with_header(std::string_view header_json,
                                                 std::string_view payload_json) const {
  std::string token = base64url_encode(header_json);
  token.push_back('.');
  token += base64url_encode(payload_json);
  std::string sig;
  switch (alg_) {
    case jwt_algorithm::hs256: {
      std::array<unsigned char, 32> mac{};
      if (!hmac_sha256(state_->secret, token, mac))
        return failure{"HMAC-SHA256 failed"};
      sig.assign(reinterpret_cast<const char*>(mac.data()), mac.size());
      break;
    }
    case jwt_algorithm::rs256: {
      auto s = digest_sign(state_->key.get(), token);
      if (!s)
        return s;
      sig = std::move(*s);
      break;
    }
    case jwt_algorithm::es256: {
      auto der = digest_sign(state_->key.get(), token);
      if (!der)
        return der;
      auto raw = es256_der_to_raw(*der);
      if (!raw)
        return raw;
      sig = std::move(*raw);
      break;
    }
  }
  token.push_back('.');
  token += base64url_encode(sig);
  return token;
}

result<std::string> jwt_signer::sign(std::string_view payload_json) const {
  std::string header = R"({"alg":")";
  header += to_string(alg_);
  header += R"(","typ":"JWT"})";
  return sign_with_header(header, payload_json);
}

std::string token_payload_json(const token_spec& spec) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto str = [&](const char* key, const std::string& value) {
    if (value.empty())
      return;
    w.Key(key);
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  };
  auto list = [&](const char* key, const std::vector<std::string>& values) {
    w.Key(key);
    w.StartArray();
    for (auto& v : values)
      w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    w.EndArray();
  };
  w.StartObject();
  str("sub", spec.sub);
  str("name", spec.name);
  str("room", spec.room);
  if (!spec.rooms.empty())
    list("rooms", spec.rooms);
  str("role", spec.role);
  if (spec.permissions)
    list("permissions", *spec.permissions);
  if (spec.iat != 0) {
    w.Key("iat");
    w.Int64(spec.iat);
  }
  w.Key("exp");
  w.Int64(spec.exp);
  if (spec.nbf) {
    w.Key("nbf");
    w.Int64(*spec.nbf);
  }
  str("iss", spec.iss);
  str("aud", spec.aud);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

} // namespace chorus::protocol
