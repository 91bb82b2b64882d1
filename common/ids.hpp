// Identifiers: random UUIDv4 strings (mediasoup's id format) and random tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace chorus::ids {

// Fills `buf` with cryptographically secure random bytes (getrandom).
void random_bytes(void* buf, std::size_t len);

// A random 32-bit value (random_bytes): SSRCs, and seeds of the actors' own generators.
// In place of std::random_device, whose every construction probes the CPU (CPUID, a
// hypervisor exit under a VM: 1.4 % of the server's CPU in a join storm of 300).
uint32_t random_u32();

// "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx"
std::string uuid4();

// `len` characters from [a-z0-9] (ICE ufrag/password style tokens).
std::string random_token(std::size_t len);

// `bytes` random bytes (a multiple of 3) as URL-safe base64 without padding: 4 characters
// per 3 bytes (Engine.IO sids and Socket.IO socket ids: 15 bytes, 20 characters).
std::string random_base64url(std::size_t bytes);

} // namespace chorus::ids
