// libFuzzer: STUN (net/stun.hpp): parsing with FINGERPRINT, MESSAGE-INTEGRITY checked with
// a fixed key, the demultiplexing test, the address attributes of what parsed.
#include "net/stun.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  (void)chorus::net::stun::is_stun(bytes);
  auto r = chorus::net::stun::parse(bytes);
  if (r.ok())
    (void)chorus::net::stun::verify_integrity(bytes, r.msg, "pwd-pwd-pwd-pwd-pwd-pwd");
  return 0;
}
