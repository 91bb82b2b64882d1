#include "net/media_io_demux.hpp"

namespace chorus::net {

std::optional<std::string> binding_request_local_ufrag(std::span<const uint8_t> bytes) {
  if (!stun::is_stun(bytes))
    return std::nullopt;
  auto r = stun::parse(bytes);
  if (!r.ok() || r.msg.cls != stun::message_class::request ||
      r.msg.method != stun::method_binding || !r.msg.username)
    return std::nullopt;
  const std::string& username = *r.msg.username;
  const auto colon = username.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == username.size())
    return std::nullopt;
  return username.substr(0, colon);
}

} // namespace chorus::net
