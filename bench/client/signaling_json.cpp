#include "bench/client/signaling_json.hpp"

#include "protocol/rtp_json.hpp"

#include <rapidjson/document.h>

namespace chorus::client {

namespace {

using rapidjson::Value;

const Value* member(const Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

bool read_string(const Value& v, const char* name, std::string& out) {
  const Value* m = member(v, name);
  if (!m || !m->IsString())
    return false;
  out.assign(m->GetString(), m->GetStringLength());
  return true;
}

result<protocol::ice_candidate> parse_candidate(const Value& v, std::size_t index) {
  const std::string path = "iceCandidates[" + std::to_string(index) + "]";
  if (!v.IsObject())
    return failure{path + " must be an object"};
  protocol::ice_candidate c;
  // mediasoup-client reads `address`; `ip` is the older name of the same value.
  if (!read_string(v, "address", c.address) && !read_string(v, "ip", c.address))
    return failure{path + ".address is required"};
  const Value* port = member(v, "port");
  if (!port || !port->IsUint() || port->GetUint() == 0 || port->GetUint() > 65535)
    return failure{path + ".port must be an integer 1-65535"};
  c.port = static_cast<uint16_t>(port->GetUint());
  if (!read_string(v, "protocol", c.protocol) || (c.protocol != "udp" && c.protocol != "tcp"))
    return failure{path + ".protocol must be \"udp\" or \"tcp\""};
  read_string(v, "foundation", c.foundation);
  read_string(v, "type", c.type);
  read_string(v, "tcpType", c.tcp_type);
  if (const Value* prio = member(v, "priority"); prio && prio->IsUint())
    c.priority = prio->GetUint();
  return c;
}

} // namespace

result<protocol::transport_params> parse_transport_params(std::string_view data_json) {
  rapidjson::Document d;
  d.Parse(data_json.data(), data_json.size());
  if (d.HasParseError() || !d.IsObject())
    return failure{"transport params are not a JSON object"};
  const Value* root = &d;
  if (const Value* params = member(d, "params"); params && params->IsObject())
    root = params;

  protocol::transport_params out;
  if (!read_string(*root, "id", out.id) || out.id.empty())
    return failure{"id is required"};
  const Value* ice = member(*root, "iceParameters");
  if (!ice || !ice->IsObject() ||
      !read_string(*ice, "usernameFragment", out.ice_parameters.username_fragment) ||
      !read_string(*ice, "password", out.ice_parameters.password))
    return failure{"iceParameters { usernameFragment, password } is required"};
  if (const Value* lite = member(*ice, "iceLite"); lite && lite->IsBool())
    out.ice_parameters.ice_lite = lite->GetBool();
  const Value* cands = member(*root, "iceCandidates");
  if (!cands || !cands->IsArray())
    return failure{"iceCandidates must be an array"};
  for (rapidjson::SizeType i = 0; i < cands->Size(); ++i) {
    auto c = parse_candidate((*cands)[i], i);
    if (!c)
      return failure{c.error()};
    out.ice_candidates.push_back(std::move(*c));
  }
  const Value* dtls = member(*root, "dtlsParameters");
  if (!dtls)
    return failure{"dtlsParameters is required"};
  auto parsed = protocol::parse_dtls_parameters(*dtls, "dtlsParameters");
  if (!parsed)
    return failure{parsed.error()};
  out.dtls_parameters = std::move(*parsed);
  return out;
}

std::string connect_transport_data(std::string_view transport_id,
                                   const net::dtls_parameters& local) {
  rapidjson::StringBuffer sb;
  protocol::json_writer w(sb);
  w.StartObject();
  w.Key("transportId");
  w.String(transport_id.data(), rapidjson::SizeType(transport_id.size()));
  w.Key("dtlsParameters");
  protocol::write_json(w, local);
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

std::string transport_id_data(std::string_view transport_id) {
  rapidjson::StringBuffer sb;
  protocol::json_writer w(sb);
  w.StartObject();
  w.Key("transportId");
  w.String(transport_id.data(), rapidjson::SizeType(transport_id.size()));
  w.EndObject();
  return {sb.GetString(), sb.GetSize()};
}

} // namespace chorus::client
