#include "app/turn_status.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace chorus::app {

std::string turn_status_json(const net::media_io& media, const actors::turn_settings& turn,
                             const signaling_port_sharing& sharing) {
  const auto c = media.turn_stats();
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  auto number = [&](const char* name, uint64_t v) {
    w.Key(name);
    w.Uint64(v);
  };
  w.StartObject();
  w.Key("enabled");
  w.Bool(media.turn_port() != 0);
  number("port", media.turn_port());
  w.Key("urls");
  w.StartArray();
  for (const auto& url : turn.urls)
    w.String(url.c_str(), rapidjson::SizeType(url.size()));
  w.EndArray();
  w.Key("iceTransportPolicy");
  w.String(turn.ice_transport_policy.c_str(), rapidjson::SizeType(turn.ice_transport_policy.size()));
  w.Key("signalingPort");
  w.StartObject();
  w.Key("turn");
  w.Bool(sharing.turn);
  w.Key("turnTls");
  w.Bool(sharing.turn_tls);
  number("iceTcpPort", sharing.ice_tcp_port);
  w.EndObject();
  number("allocations", c.allocations);
  number("allocationsCreated", c.allocations_created);
  number("allocationsEnded", c.allocations_ended);
  number("challenges", c.challenges);
  w.Key("refusals");
  w.StartObject();
  number("credentials", c.refused_credentials);
  number("staleNonce", c.stale_nonces);
  number("quota", c.refused_quota);
  number("rate", c.refused_rate);
  number("capacity", c.refused_capacity);
  number("peer", c.refused_peer);
  number("badRequest", c.bad_requests);
  w.EndObject();
  w.Key("relayed");
  w.StartObject();
  w.Key("toTransport");
  w.StartObject();
  number("packets", c.relayed_to_peer_packets);
  number("bytes", c.relayed_to_peer_bytes);
  w.EndObject();
  w.Key("toClient");
  w.StartObject();
  number("packets", c.relayed_to_client_packets);
  number("bytes", c.relayed_to_client_bytes);
  w.EndObject();
  w.EndObject();
  w.Key("dropped");
  w.StartObject();
  number("unroutable", c.dropped);
  number("rateLimit", c.rate_limited);
  number("unanswered", c.unanswered);
  w.EndObject();
  w.EndObject();
  return buf.GetString();
}

} // namespace chorus::app
