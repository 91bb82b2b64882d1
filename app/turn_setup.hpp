// TURN at start (turn.* options, docs/operations.md "Behind firewalls"): the built-in
// server's media I/O options, and the iceServers every transport reply hands out.
#pragma once

#include "actors/settings.hpp"
#include "app/config.hpp"
#include "net/media_io.hpp"

namespace chorus::app {

// Before media I/O starts: the built-in server's options (its secret, a random one when
// none is configured, also becomes out.secret).
void configure_turn_server(const config& cfg, net::media_io_options& media,
                           actors::turn_settings& out);

// The signaling port takes TURN connections too (turn.tlsOnSignalingPort with the built-in
// server).
bool signaling_port_takes_turn(const config& cfg);

// After it started: the URLs handed out (turn.externalUrls, or the built-in server's with
// the port it bound) and the policy hint.
void configure_ice_servers(const config& cfg, const net::media_io& media,
                           actors::turn_settings& out);

} // namespace chorus::app
