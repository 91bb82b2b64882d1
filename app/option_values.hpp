// The formats of option values, shared by the option table (app/options.cpp) and the
// cross-option checks (app/config.cpp): addresses, ports, counts, origin lists.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::app {

// An IPv4 or IPv6 address (no host names).
bool valid_ip(const std::string& ip);

// A decimal unsigned 32-bit integer, nothing else.
bool parse_u32(std::string_view text, uint32_t& out);

// "MIN-MAX" with 1024 <= MIN <= MAX <= 65535.
bool parse_port_range(std::string_view text, uint16_t& lo, uint16_t& hi);

// "HOST:PORT" or "[V6]:PORT" with an IP address.
bool parse_host_port(std::string_view text, std::string& host, uint16_t& port);

// A cluster peer: HOST:PORT where HOST is an IP address or a host name.
bool valid_peer_address(std::string_view text);

// 127.0.0.0/8, ::1 or "localhost": an address only this host reaches.
bool loopback_host(const std::string& host);

// The first entry of an origin list that is not valid, as a message ("" when all are).
std::string invalid_origin(const std::vector<std::string>& origins);

} // namespace chorus::app
