// What the webhook sender (app/webhooks.hpp) is given: where to POST, the signing key, and
// its queue, retry and timeout bounds. The options webhooks.* fill it (app/config.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chorus::app {

struct webhook_options {
  std::vector<std::string> urls; // http(s)://HOST:PORT/PATH
  std::string key;               // HMAC-SHA256 key
  std::string ca_file;           // https: PEM CAs to verify receivers ("" : the system's)
  uint32_t queue_size = 1000; // events waiting per url; older ones are dropped beyond
  uint32_t max_attempts = 5;  // per event and url (backoff 0.5 s, 1 s, 2 s, ...)
  std::chrono::milliseconds timeout{5000}; // per attempt (connect, send, answer)
};

} // namespace chorus::app
