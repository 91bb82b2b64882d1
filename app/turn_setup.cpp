#include "app/turn_setup.hpp"

#include "common/ids.hpp"

namespace chorus::app {

namespace {

std::string url_host(const config& cfg) {
  std::string host = !cfg.turn.host.empty()        ? cfg.turn.host
                     : !cfg.announced_ip.empty() ? cfg.announced_ip
                                                 : cfg.media_io.listen_ip;
  if (host.find(':') != std::string::npos) // an IPv6 literal
    host = "[" + host + "]";
  return host;
}

} // namespace

void configure_turn_server(const config& cfg, net::media_io_options& media,
                           actors::turn_settings& out) {
  out.secret = cfg.turn.secret;
  if (!cfg.turn.enabled)
    return;
  if (out.secret.empty())
    out.secret = ids::random_base64url(30);
  auto& t = media.turn;
  t.enabled = true;
  t.udp_port = cfg.turn.udp_port;
  t.server.secret = out.secret;
  t.server.nonce_key = ids::random_base64url(30);
  t.server.relay_rate_kbps = cfg.turn.relay_rate_kbps;
  // Clients name the transports by the announced address; the relayed addresses carry it.
  if (net::transport_address::from_string(cfg.announced_ip, 0)) {
    t.peer_ips.push_back(cfg.announced_ip);
    t.relay_ip = cfg.announced_ip;
  }
}

void configure_ice_servers(const config& cfg, const net::media_io& media,
                           actors::turn_settings& out) {
  out.ice_transport_policy = cfg.turn.ice_transport_policy;
  if (!cfg.turn.external_urls.empty())
    out.urls = cfg.turn.external_urls;
  else if (media.turn_port() != 0) {
    const std::string base = "turn:" + url_host(cfg) + ":" + std::to_string(media.turn_port());
    out.urls = {base + "?transport=udp", base + "?transport=tcp"};
    out.host = cfg.turn.host;
    out.signaling_tls = signaling_port_takes_turn(cfg) && !cfg.signaling.tls_certificate_file.empty();
  }
}

bool signaling_port_takes_turn(const config& cfg) {
  return cfg.turn.enabled && cfg.turn.tls_on_signaling_port && cfg.turn.external_urls.empty();
}

} // namespace chorus::app
