#include "net/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace chorus::net {

namespace {

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, int(size));
  out.resize(n > 0 ? std::size_t(n) : 0);
  return out;
}

} // namespace

std::string turn_password(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!HMAC(EVP_sha1(), secret.data(), int(secret.size()),
            reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &size))
    return {};
  return base64(mac, size);
}

turn_credential make_turn_credential(std::string_view secret, std::string_view id, int64_t now_s,
                                     int64_t ttl_s) {
  turn_credential c;
  c.expires_s = now_s + ttl_s;
  c.username = std::to_string(c.expires_s);
  c.username += ':';
  c.username += id;
  c.password = turn_password(secret, c.username);
  return c;
}

std::optional<int64_t> turn_username_expiry(std::string_view username) noexcept {
  const auto colon = username.find(':');
  const std::string_view number = username.substr(0, colon);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc{} || end != number.data() + number.size() || value < 0)
    return std::nullopt;
  return value;
}

std::string long_term_key(std::string_view username, std::string_view realm,
                          std::string_view password) {
  std::string input;
  input.reserve(username.size() + realm.size() + password.size() + 2);
  input.append(username).append(1, ':').append(realm).append(1, ':').append(password);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &size, EVP_md5(), nullptr) != 1)
    return {};
  return std::string(reinterpret_cast<const char*>(digest), size);
}

} // namespace chorus::net
