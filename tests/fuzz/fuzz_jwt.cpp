// libFuzzer: JWT tokens (protocol/jwt.hpp). The input as a token (base64url parts, header,
// signature: what any client can send), and the input as the payload of a token signed
// with the verifier's own HS256 secret, so that the claims reader is reached too.
#include "protocol/jwt.hpp"
#include "protocol/jwt_sign.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace chorus::protocol;

namespace {
const std::string secret = "fuzz-secret-fuzz-secret-fuzz-secret-0123";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto verifier = [] {
    jwt_config cfg;
    cfg.secret = secret;
    cfg.issuer = "chorus";
    auto v = jwt_verifier::make(cfg);
    if (!v)
      std::abort();
    return std::move(*v);
  }();
  static const auto signer = [] {
    auto s = jwt_signer::make(jwt_algorithm::hs256, secret);
    if (!s)
      std::abort();
    return std::move(*s);
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string detail;
  (void)verifier.verify(text, 1'800'000'000, &detail);
  if (auto token = signer.sign(text)) {
    auto r = verifier.verify(*token, 1'800'000'000, &detail);
    // A token it signed itself never fails on the signature.
    if (!r && r.error() == jwt_error::bad_signature)
      std::abort();
  }
  std::string out;
  (void)base64url_decode(text, out);
  return 0;
}
