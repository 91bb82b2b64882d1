// The TURN-over-TLS URL handed to a client when the signaling port also takes TURN inside
// its TLS: "turns:NAME:PORT?transport=tcp". NAME is the configured host (turn.host), else
// the host the client named in its signaling request's Host header; never an IP address
// (browsers check the server's certificate against a name, and Firefox refuses TURN over
// TLS to an address). PORT is the one the client reached the signaling port at: the Host
// header's, or 443 when it names none.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chorus::net {

std::optional<std::string> turns_url(std::string_view configured_host,
                                     std::string_view host_header);

} // namespace chorus::net
