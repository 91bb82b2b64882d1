// The client side's one clock: a steady millisecond count, read by the drivers and passed
// to the pure engines (net::ice_client, net::dtls_engine) as `now_ms`.
#pragma once

#include <chrono>
#include <cstdint>

namespace chorus::client {

inline uint64_t steady_now_ms() noexcept {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

} // namespace chorus::client
