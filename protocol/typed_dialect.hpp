// A dialect for a client inside the server (a WHIP resource, actors/whip.hpp): it hands the
// session typed requests and takes its typed replies, through an exchange both sides hold.
// The texts the session moves are only request ids: the client stages a request and gives
// its text to the session as if it had come over a WebSocket; the session's reply to it comes
// back as the same text on the client's connection, and take() returns the typed reply.
// Events are not sent (the client reads the room through its replies). Thread-safe: the
// client stages and takes on its thread, the session decodes and encodes on its own.
#pragma once

#include "protocol/dialect.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace chorus::protocol {

class typed_exchange {
public:
  struct answer {
    bool ok = false;
    reply_body reply; // when ok
    error_info error; // when not
  };

  // Stages a request; returns the text to give the session.
  std::string stage(request_body body);
  // The answer to the request of `text` once the session encoded it, else nullopt.
  std::optional<answer> take(const std::string& text);

  // The dialect's side.
  std::optional<request> staged(std::string_view text);
  void answered(const std::string& text, answer a);

private:
  std::mutex mutex_;
  uint64_t next_ = 1;
  std::map<std::string, request, std::less<>> staged_;
  std::map<std::string, answer, std::less<>> answers_;
};

std::unique_ptr<dialect> make_typed_dialect(std::shared_ptr<typed_exchange> exchange);

} // namespace chorus::protocol
