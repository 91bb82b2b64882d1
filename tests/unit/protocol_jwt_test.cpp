// JWT verification and signing (protocol/jwt.hpp, protocol/jwt_sign.hpp): the RFC 7515
// examples, tokens minted here for each algorithm, and a table of refused tokens.
#include "protocol/jwt.hpp"
#include "protocol/jwt_sign.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace chorus;
using namespace chorus::protocol;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in{std::string{CHORUS_SOURCE_DIR} + "/tests/fixtures/jwt/" + name};
  REQUIRE_MESSAGE(in.good(), name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string b64(std::string_view s) { return base64url_encode(s); }

std::string unb64(std::string_view s) {
  std::string out;
  REQUIRE(base64url_decode(s, out));
  return out;
}

constexpr int64_t now = 1'800'000'000; // a fixed "now" for minted tokens

const std::string secret = "0123456789abcdef0123456789abcdef-test-secret";

jwt_verifier verifier(jwt_config cfg) {
  auto v = jwt_verifier::make(std::move(cfg));
  REQUIRE_MESSAGE(v.ok(), (v.ok() ? "" : v.error()));
  return *v;
}

jwt_verifier hs_verifier(std::string issuer = {}, std::string audience = {}) {
  jwt_config c;
  c.algorithm = jwt_algorithm::hs256;
  c.secret = secret;
  c.issuer = std::move(issuer);
  c.audience = std::move(audience);
  return verifier(std::move(c));
}

jwt_verifier pk_verifier(jwt_algorithm alg, const std::string& pem_file) {
  jwt_config c;
  c.algorithm = alg;
  c.public_key_pem = fixture(pem_file);
  return verifier(std::move(c));
}

jwt_signer signer(jwt_algorithm alg, const std::string& key) {
  auto s = jwt_signer::make(alg, key);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error()));
  return *s;
}

jwt_signer hs_signer() { return signer(jwt_algorithm::hs256, secret); }
jwt_signer rs_signer() { return signer(jwt_algorithm::rs256, fixture("rs256_private.pem")); }
jwt_signer es_signer() { return signer(jwt_algorithm::es256, fixture("es256_private.pem")); }

token_spec basic_spec() {
  token_spec s;
  s.sub = "alice";
  s.name = "Alice";
  s.room = "math-101";
  s.role = "teacher";
  s.iat = now - 10;
  s.exp = now + 3600;
  return s;
}

std::string mint(const jwt_signer& s, std::string_view payload) {
  auto t = s.sign(payload);
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error()));
  return *t;
}

std::string mint(const jwt_signer& s, const token_spec& spec) {
  return mint(s, token_payload_json(spec));
}

std::string mint_with_header(const jwt_signer& s, std::string_view header,
                             std::string_view payload) {
  auto t = s.sign_with_header(header, payload);
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error()));
  return *t;
}

// The token with one bit of its signature flipped.
std::string flip_signature_bit(const std::string& token, std::size_t byte = 0) {
  auto dot = token.rfind('.');
  auto sig = unb64(token.substr(dot + 1));
  REQUIRE(byte < sig.size());
  sig[byte] = static_cast<char>(sig[byte] ^ 0x01);
  return token.substr(0, dot + 1) + b64(sig);
}

// RFC 7515 Appendix A: the payload shared by A.1, A.2 and A.3, and their tokens.
const std::string rfc_payload =
  "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
const std::string rfc_a1 =
  "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const std::string rfc_a1_key =
  "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const std::string rfc_a2 =
  "eyJhbGciOiJSUzI1NiJ9."
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
  "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujG"
  "bds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
  "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6"
  "LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
const std::string rfc_a3 =
  "eyJhbGciOiJFUzI1NiJ9."
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
  "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr int64_t rfc_exp = 1300819380;

jwt_verifier rfc_a1_verifier() {
  jwt_config c;
  c.algorithm = jwt_algorithm::hs256;
  c.secret = unb64(rfc_a1_key);
  return verifier(std::move(c));
}

} // namespace

TEST_CASE("base64url: round trips and strict decoding") {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    std::string back;
    CHECK(base64url_decode(b64(s), back));
    CHECK(back == s);
  }
  CHECK(b64("\xfb\xff") == "-_8");
  std::string out;
  CHECK_FALSE(base64url_decode("Zm9v=", out));  // padding
  CHECK_FALSE(base64url_decode("Zg==", out));   // padding
  CHECK_FALSE(base64url_decode("+_8", out));    // base64, not base64url
  CHECK_FALSE(base64url_decode("/_8", out));
  CHECK_FALSE(base64url_decode("Zm9 v", out));  // space
  CHECK_FALSE(base64url_decode("Zm9vY", out));  // 4n+1 characters
  CHECK(base64url_decode("Zg", out));
  CHECK_FALSE(base64url_decode("Zh", out));     // non-zero unused bits: not canonical
  CHECK(base64url_decode("Zm8", out));
  CHECK_FALSE(base64url_decode("Zm9", out));
}

TEST_CASE("RFC 7515 Appendix A.1: HS256 example verifies with the RFC's key") {
  auto v = rfc_a1_verifier();
  auto payload = v.verify_signature(rfc_a1);
  REQUIRE(payload.ok());
  CHECK(*payload == rfc_payload);
  // Before its exp, the full check passes the signature and times and stops at the claims
  // Chorus needs (the example has no sub).
  std::string why;
  auto r = v.verify(rfc_a1, rfc_exp - 100, &why);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == jwt_error::bad_claims);
  CHECK(why == "sub is required");
  // After its exp (plus leeway) it has expired.
  CHECK(v.verify(rfc_a1, rfc_exp + 30).error() == jwt_error::expired);
  CHECK(v.verify_signature(flip_signature_bit(rfc_a1, 31)).error() == jwt_error::bad_signature);
}

TEST_CASE("RFC 7515 Appendix A.2: RS256 example verifies with the RFC's public key") {
  auto v = pk_verifier(jwt_algorithm::rs256, "rfc7515_a2_public.pem");
  auto payload = v.verify_signature(rfc_a2);
  REQUIRE(payload.ok());
  CHECK(*payload == rfc_payload);
  CHECK(v.verify(rfc_a2, rfc_exp - 100).error() == jwt_error::bad_claims);
  CHECK(v.verify_signature(flip_signature_bit(rfc_a2, 100)).error() == jwt_error::bad_signature);
  // The A.1 token (HS256) to this RS256 verifier: refused on its header alone.
  CHECK(v.verify_signature(rfc_a1).error() == jwt_error::alg_mismatch);
}

TEST_CASE("RFC 7515 Appendix A.3: ES256 example verifies with the RFC's public key") {
  auto v = pk_verifier(jwt_algorithm::es256, "rfc7515_a3_public.pem");
  auto payload = v.verify_signature(rfc_a3);
  REQUIRE(payload.ok());
  CHECK(*payload == rfc_payload);
  CHECK(v.verify(rfc_a3, rfc_exp - 100).error() == jwt_error::bad_claims);
  CHECK(v.verify_signature(flip_signature_bit(rfc_a3, 40)).error() == jwt_error::bad_signature);
}

TEST_CASE("valid tokens minted here verify with each algorithm") {
  struct tcase {
    const char* name;
    jwt_signer signer;
    jwt_verifier verifier;
  };
  std::vector<tcase> cases{
    {"HS256", hs_signer(), hs_verifier()},
    {"RS256", rs_signer(), pk_verifier(jwt_algorithm::rs256, "rs256_public.pem")},
    {"ES256", es_signer(), pk_verifier(jwt_algorithm::es256, "es256_public.pem")},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    auto spec = basic_spec();
    spec.permissions = std::vector<std::string>{"publish-audio", "chat"};
    auto token = mint(c.signer, spec);
    std::string why;
    auto r = c.verifier.verify(token, now, &why);
    REQUIRE_MESSAGE(r.ok(), why);
    CHECK(r->sub == "alice");
    CHECK(r->name == "Alice");
    CHECK(r->rooms == std::vector<std::string>{"math-101"});
    CHECK(r->role == "teacher");
    REQUIRE(r->permissions.has_value());
    CHECK(*r->permissions == permission_set{permission::publish_audio, permission::chat});
    CHECK(r->exp == now + 3600);
    CHECK(r->iat == now - 10);
    CHECK_FALSE(r->nbf.has_value());
    CHECK(r->covers_room("math-101"));
    CHECK_FALSE(r->covers_room("math-102"));
    CHECK_FALSE(r->covers_all_rooms());
    // One bit of the signature flipped.
    CHECK(c.verifier.verify(flip_signature_bit(token), now).error() == jwt_error::bad_signature);
    // The payload swapped for another one under the same signature.
    auto other = basic_spec();
    other.sub = "mallory";
    auto dot1 = token.find('.'), dot2 = token.rfind('.');
    auto forged = token.substr(0, dot1 + 1) + b64(token_payload_json(other)) + token.substr(dot2);
    CHECK(c.verifier.verify(forged, now).error() == jwt_error::bad_signature);
  }
  // The RS256 signature is deterministic: the same input gives the same token.
  CHECK(mint(rs_signer(), basic_spec()) == mint(rs_signer(), basic_spec()));
}

TEST_CASE("refused tokens, by name") {
  auto hs = hs_signer();
  auto rs = rs_signer();
  auto es = es_signer();
  auto spec = basic_spec();
  auto payload = token_payload_json(spec);
  auto with = [&](auto edit) {
    auto s = basic_spec();
    edit(s);
    return token_payload_json(s);
  };
  // An HS256 token whose secret is the RS256 verifier's public key (PEM text): the classic
  // algorithm confusion attack.
  auto confusion = mint(signer(jwt_algorithm::hs256, fixture("rs256_public.pem")), payload);
  auto valid = mint(hs, payload);
  auto header_of = [](const std::string& t) { return t.substr(0, t.find('.')); };
  auto payload_and_sig = [](const std::string& t) { return t.substr(t.find('.')); };

  struct tcase {
    const char* name;
    std::string token;
    jwt_error expected;
    jwt_algorithm verifier = jwt_algorithm::hs256;
    std::string issuer = {};
    std::string audience = {};
  };
  std::vector<tcase> cases{
    {"empty token", "", jwt_error::missing},
    {"a 100 KB token", std::string(100 * 1024, 'a'), jwt_error::too_large},
    {"one byte over the limit", std::string(8193, 'a'), jwt_error::too_large},
    {"two dots missing", "abcdef", jwt_error::malformed},
    {"one dot missing", "abc.def", jwt_error::malformed},
    {"four parts", valid + ".x", jwt_error::malformed},
    {"empty header", payload_and_sig(valid), jwt_error::malformed},
    {"header with padding", header_of(valid) + "=" + payload_and_sig(valid), jwt_error::malformed},
    {"header with a character outside base64url",
     header_of(valid).substr(1) + "+" + payload_and_sig(valid), jwt_error::malformed},
    {"header not JSON", b64("{\"alg\":\"HS256\"") + payload_and_sig(valid), jwt_error::malformed},
    {"header not an object", mint_with_header(hs, "[\"HS256\"]", payload), jwt_error::malformed},
    {"header repeating alg", mint_with_header(hs, R"({"alg":"HS256","alg":"none"})", payload),
     jwt_error::malformed},
    {"alg none", b64(R"({"alg":"none"})") + "." + b64(payload) + ".", jwt_error::unsupported_alg},
    {"alg none with a signature", mint_with_header(hs, R"({"alg":"none"})", payload),
     jwt_error::unsupported_alg},
    {"alg missing", mint_with_header(hs, R"({"typ":"JWT"})", payload), jwt_error::unsupported_alg},
    {"alg not implemented", mint_with_header(hs, R"({"alg":"HS512"})", payload),
     jwt_error::unsupported_alg},
    {"alg in lower case", mint_with_header(hs, R"({"alg":"hs256"})", payload),
     jwt_error::unsupported_alg},
    {"RS256 token to an HS256 verifier", mint(rs, payload), jwt_error::alg_mismatch},
    {"ES256 token to an RS256 verifier", mint(es, payload), jwt_error::alg_mismatch,
     jwt_algorithm::rs256},
    {"HS256 token signed with the public key PEM to an RS256 verifier", confusion,
     jwt_error::alg_mismatch, jwt_algorithm::rs256},
    {"crit", mint_with_header(hs, R"({"alg":"HS256","crit":["exp"],"exp":1})", payload),
     jwt_error::unsupported_header},
    {"typ other than JWT", mint_with_header(hs, R"({"alg":"HS256","typ":"JOSE+JSON"})", payload),
     jwt_error::unsupported_header},
    {"empty signature", header_of(valid) + "." + b64(payload) + ".", jwt_error::bad_signature},
    {"signature not base64url", valid + "=", jwt_error::malformed},
    {"wrong secret", mint(signer(jwt_algorithm::hs256, secret + "x"), payload),
     jwt_error::bad_signature},
    {"payload not JSON", mint(hs, "{\"sub\":\"alice\""), jwt_error::malformed},
    {"payload not an object", mint(hs, "[1,2]"), jwt_error::malformed},
    {"payload repeating sub", mint(hs, R"({"sub":"a","sub":"b","exp":1900000000})"),
     jwt_error::malformed},
    {"expired", mint(hs, with([](auto& s) { s.exp = now - 3600; })), jwt_error::expired},
    {"not yet valid (nbf)", mint(hs, with([](auto& s) { s.nbf = now + 600; })),
     jwt_error::not_yet_valid},
    {"issued in the future (iat)", mint(hs, with([](auto& s) { s.iat = now + 600; })),
     jwt_error::not_yet_valid},
    {"wrong issuer", mint(hs, with([](auto& s) { s.iss = "https://evil.example"; })),
     jwt_error::wrong_issuer, jwt_algorithm::hs256, "https://school.example"},
    {"issuer missing", valid, jwt_error::wrong_issuer, jwt_algorithm::hs256,
     "https://school.example"},
    {"wrong audience (string)", mint(hs, with([](auto& s) { s.aud = "other"; })),
     jwt_error::wrong_audience, jwt_algorithm::hs256, "", "chorus"},
    {"wrong audience (array)",
     mint(hs, R"({"sub":"alice","room":"*","exp":1900000000,"aud":["a","b"]})"),
     jwt_error::wrong_audience, jwt_algorithm::hs256, "", "chorus"},
    {"audience missing", valid, jwt_error::wrong_audience, jwt_algorithm::hs256, "", "chorus"},
    {"exp missing", mint(hs, R"({"sub":"alice","room":"*"})"), jwt_error::bad_claims},
    {"exp a string", mint(hs, R"({"sub":"alice","exp":"1900000000"})"), jwt_error::bad_claims},
    {"sub missing", mint(hs, with([](auto& s) { s.sub.clear(); })), jwt_error::bad_claims},
    {"sub empty", mint(hs, R"({"sub":"","exp":1900000000})"), jwt_error::bad_claims},
    {"sub a number", mint(hs, R"({"sub":42,"exp":1900000000})"), jwt_error::bad_claims},
    {"sub with a control character", mint(hs, R"({"sub":"a\nb","exp":1900000000})"),
     jwt_error::bad_claims},
    {"sub too long", mint(hs, with([](auto& s) { s.sub.assign(129, 's'); })),
     jwt_error::bad_claims},
    {"room and rooms", mint(hs, with([](auto& s) { s.rooms = {"a", "b"}; })),
     jwt_error::bad_claims},
    {"room empty", mint(hs, R"({"sub":"a","room":"","exp":1900000000})"), jwt_error::bad_claims},
    {"rooms not an array", mint(hs, R"({"sub":"a","rooms":"a,b","exp":1900000000})"),
     jwt_error::bad_claims},
    {"role not a string", mint(hs, R"({"sub":"a","role":["teacher"],"exp":1900000000})"),
     jwt_error::bad_claims},
    {"unknown permission",
     mint(hs, with([](auto& s) { s.permissions = std::vector<std::string>{"fly"}; })),
     jwt_error::bad_claims},
    {"permissions not an array",
     mint(hs, R"({"sub":"a","permissions":"chat","exp":1900000000})"), jwt_error::bad_claims},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    jwt_config cfg;
    cfg.algorithm = c.verifier;
    if (c.verifier == jwt_algorithm::hs256)
      cfg.secret = secret;
    else
      cfg.public_key_pem =
        fixture(c.verifier == jwt_algorithm::rs256 ? "rs256_public.pem" : "es256_public.pem");
    cfg.issuer = c.issuer;
    cfg.audience = c.audience;
    auto v = verifier(std::move(cfg));
    std::string why;
    auto r = v.verify(c.token, now, &why);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(to_string(r.error()) == to_string(c.expected), why);
    CHECK(!why.empty());
  }
}

TEST_CASE("an ES256 signature of the wrong length is a bad signature") {
  auto v = pk_verifier(jwt_algorithm::es256, "es256_public.pem");
  auto token = mint(es_signer(), basic_spec());
  auto cut = token.substr(0, token.rfind('.') + 1);
  auto sig = unb64(token.substr(token.rfind('.') + 1));
  CHECK(v.verify(cut + b64(sig.substr(0, 63)), now).error() == jwt_error::bad_signature);
  CHECK(v.verify(cut + b64(sig + "x"), now).error() == jwt_error::bad_signature);
  CHECK(v.verify(cut + b64(std::string(64, '\0')), now).error() == jwt_error::bad_signature);
}

TEST_CASE("time checks: the leeway's edges") {
  auto v = hs_verifier(); // leeway 30 s
  auto hs = hs_signer();
  auto at = [&](auto edit) {
    auto s = basic_spec();
    s.iat = 0;
    edit(s);
    return v.verify(mint(hs, s), now);
  };
  // exp: valid while now < exp + leeway.
  CHECK(at([](auto& s) { s.exp = now - 29; }).ok());
  CHECK(at([](auto& s) { s.exp = now - 30; }).error() == jwt_error::expired);
  CHECK(at([](auto& s) { s.exp = now; }).ok());
  // nbf: valid once now + leeway >= nbf.
  CHECK(at([](auto& s) { s.nbf = now + 30; }).ok());
  CHECK(at([](auto& s) { s.nbf = now + 31; }).error() == jwt_error::not_yet_valid);
  // iat likewise.
  CHECK(at([](auto& s) { s.iat = now + 30; }).ok());
  CHECK(at([](auto& s) { s.iat = now + 31; }).error() == jwt_error::not_yet_valid);
  // Fractional NumericDates are allowed.
  auto frac = mint(hs, R"({"sub":"a","room":"*","exp":1800000000.5})");
  jwt_config strict;
  strict.secret = secret;
  strict.leeway_s = 0;
  auto v0 = verifier(strict);
  CHECK(v0.verify(frac, now).ok());
  CHECK(v0.verify(frac, now + 1).error() == jwt_error::expired);
  CHECK(v0.verify(frac, now).value().exp == now);
}

TEST_CASE("issuer and audience when configured") {
  auto hs = hs_signer();
  auto v = hs_verifier("https://school.example", "chorus");
  auto spec = basic_spec();
  spec.iss = "https://school.example";
  spec.aud = "chorus";
  auto r = v.verify(mint(hs, spec), now);
  REQUIRE(r.ok());
  CHECK(r->iss == "https://school.example");
  auto arr = mint(hs, R"({"sub":"a","room":"*","exp":1900000000,"iss":"https://school.example",)"
                      R"("aud":["lms","chorus"]})");
  CHECK(v.verify(arr, now).ok());
  // Unconfigured: neither is checked.
  CHECK(hs_verifier().verify(arr, now).ok());
}

TEST_CASE("rooms: room, rooms, \"*\" and none") {
  auto hs = hs_signer();
  auto v = hs_verifier();
  auto claims = [&](std::string_view payload) {
    auto r = v.verify(mint(hs, payload), now);
    REQUIRE(r.ok());
    return *r;
  };
  auto any = claims(R"({"sub":"a","room":"*","exp":1900000000})");
  CHECK(any.covers_all_rooms());
  CHECK(any.covers_room("anything"));
  auto list = claims(R"({"sub":"a","rooms":["r1","r2"],"exp":1900000000})");
  CHECK(list.covers_room("r1"));
  CHECK(list.covers_room("r2"));
  CHECK_FALSE(list.covers_room("r3"));
  CHECK_FALSE(list.covers_room(""));
  auto none = claims(R"({"sub":"a","exp":1900000000})");
  CHECK(none.rooms.empty());
  CHECK_FALSE(none.covers_room("r1"));
  CHECK_FALSE(none.covers_all_rooms());
  auto empty_list = claims(R"({"sub":"a","rooms":[],"exp":1900000000})");
  CHECK_FALSE(empty_list.covers_room("r1"));
  // Optional claims may be null (absent).
  auto nulls = claims(R"({"sub":"a","name":null,"role":null,"nbf":null,"exp":1900000000})");
  CHECK(nulls.name.empty());
  CHECK(nulls.role.empty());
  CHECK_FALSE(nulls.permissions.has_value());
  // typ is optional and compared without case; unknown members are ignored.
  auto t = mint_with_header(hs, R"({"alg":"HS256","typ":"jwt","kid":"k1"})",
                            R"({"sub":"a","exp":1900000000,"x":{"y":[1]}})");
  CHECK(v.verify(t, now).ok());
  auto media_type = mint_with_header(hs, R"({"alg":"HS256","typ":"application/jwt"})",
                                     R"({"sub":"a","exp":1900000000})");
  CHECK(v.verify(media_type, now).ok());
  // Details quote untrusted text without its control characters.
  std::string why;
  auto odd = mint_with_header(hs, "{\"alg\":\"x\\ny\"}", R"({"sub":"a","exp":1900000000})");
  CHECK(v.verify(odd, now, &why).error() == jwt_error::unsupported_alg);
  CHECK(why == "alg 'x?y' is not accepted");
}

TEST_CASE("the size limit is configurable and checked before decoding") {
  jwt_config c;
  c.secret = secret;
  c.max_bytes = 200;
  auto v = verifier(c);
  auto t = mint(hs_signer(), basic_spec());
  REQUIRE(t.size() > 200);
  CHECK(v.verify(t, now).error() == jwt_error::too_large);
  c.max_bytes = t.size();
  CHECK(verifier(c).verify(t, now).ok());
}

TEST_CASE("verifier configuration errors") {
  struct tcase {
    const char* name;
    jwt_algorithm alg;
    std::string secret;
    std::string pem;
    const char* expected;
  };
  std::vector<tcase> cases{
    {"HS256 secret too short", jwt_algorithm::hs256, std::string(31, 's'), "", "32 bytes"},
    {"HS256 with a public key", jwt_algorithm::hs256, secret, fixture("rs256_public.pem"),
     "not a public key"},
    {"RS256 with a secret", jwt_algorithm::rs256, secret, fixture("rs256_public.pem"),
     "not a secret"},
    {"RS256 without a key", jwt_algorithm::rs256, "", "", "PEM public key"},
    {"RS256 with garbage", jwt_algorithm::rs256, "", "-----BEGIN PUBLIC KEY-----\nxx\n", "PEM"},
    {"RS256 with a private key", jwt_algorithm::rs256, "", fixture("rs256_private.pem"), "PEM"},
    {"RS256 with an EC key", jwt_algorithm::rs256, "", fixture("es256_public.pem"), "RSA"},
    {"RS256 with a 1024-bit key", jwt_algorithm::rs256, "", fixture("rsa1024_public.pem"),
     "2048"},
    {"ES256 with an RSA key", jwt_algorithm::es256, "", fixture("rs256_public.pem"), "P-256"},
    {"ES256 with a P-384 key", jwt_algorithm::es256, "", fixture("ec_p384_public.pem"), "P-256"},
  };
  for (auto& c : cases) {
    CAPTURE(c.name);
    jwt_config cfg;
    cfg.algorithm = c.alg;
    cfg.secret = c.secret;
    cfg.public_key_pem = c.pem;
    auto v = jwt_verifier::make(cfg);
    REQUIRE_FALSE(v.ok());
    CHECK_MESSAGE(v.error().find(c.expected) != std::string::npos, v.error());
  }
  jwt_config bad_leeway;
  bad_leeway.secret = secret;
  bad_leeway.leeway_s = -1;
  CHECK_FALSE(jwt_verifier::make(bad_leeway).ok());
}

TEST_CASE("signer configuration errors") {
  CHECK_FALSE(jwt_signer::make(jwt_algorithm::hs256, "short").ok());
  CHECK_FALSE(jwt_signer::make(jwt_algorithm::rs256, fixture("es256_private.pem")).ok());
  CHECK_FALSE(jwt_signer::make(jwt_algorithm::es256, fixture("rs256_private.pem")).ok());
  CHECK_FALSE(jwt_signer::make(jwt_algorithm::rs256, fixture("rs256_public.pem")).ok());
  CHECK_FALSE(jwt_signer::make(jwt_algorithm::es256, "not a key").ok());
}

TEST_CASE("names of algorithms and errors are stable") {
  CHECK(to_string(jwt_algorithm::hs256) == "HS256");
  CHECK(parse_jwt_algorithm("ES256") == jwt_algorithm::es256);
  CHECK_FALSE(parse_jwt_algorithm("none").has_value());
  CHECK_FALSE(parse_jwt_algorithm("rs256").has_value());
  CHECK(to_string(jwt_error::too_large) == "too-large");
  CHECK(to_string(jwt_error::alg_mismatch) == "alg-mismatch");
  CHECK(to_string(jwt_error::not_yet_valid) == "not-yet-valid");
  CHECK(to_string(jwt_error::bad_claims) == "bad-claims");
  CHECK(describe(jwt_error::expired) == "the token has expired");
}

TEST_CASE("token_payload_json writes the claims it is given") {
  token_spec s;
  s.sub = "bob \"b\"";
  s.rooms = {"r1", "r2"};
  s.permissions = std::vector<std::string>{};
  s.exp = 5;
  s.nbf = 1;
  s.aud = "chorus";
  CHECK(token_payload_json(s) ==
        R"({"sub":"bob \"b\"","rooms":["r1","r2"],"permissions":[],"exp":5,"nbf":1,"aud":"chorus"})");
}

TEST_CASE("one verifier, several threads at once") {
  auto rs_v = pk_verifier(jwt_algorithm::rs256, "rs256_public.pem");
  auto es_v = pk_verifier(jwt_algorithm::es256, "es256_public.pem");
  auto rs_t = mint(rs_signer(), basic_spec());
  auto es_t = mint(es_signer(), basic_spec());
  auto bad_t = flip_signature_bit(rs_t);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, copy = rs_v] {
      for (int k = 0; k < 100; ++k) {
        if (!copy.verify(rs_t, now).ok() || !es_v.verify(es_t, now).ok() ||
            rs_v.verify(bad_t, now).ok())
          ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(failures.load() == 0);
}
