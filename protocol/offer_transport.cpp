#include "protocol/offer_transport.hpp"

#include <algorithm>

namespace chorus::protocol {

namespace {

// The transport's candidates as SDP writes them.
std::vector<sdp_candidate> candidates_of(const transport_params& transport) {
  std::vector<sdp_candidate> out;
  for (const auto& c : transport.ice_candidates)
    out.push_back({c.foundation, 1, c.protocol, c.priority, c.address, c.port, c.type, c.tcp_type, {}, 0});
  return out;
}

} // namespace

std::string m_line_name(const sdp_media& m, std::size_t index) {
  return "m-line " + std::to_string(index) + (m.mid.empty() ? "" : " (mid " + m.mid + ")");
}

std::string take_transport(const session_description& offer, std::size_t index,
                           std::optional<offer_transport>& first,
                           std::vector<std::string>& bundle_mids) {
  const auto& m = offer.media[index];
  const auto where = m_line_name(m, index);
  const auto& ufrag = offer.effective_ufrag(index);
  const auto& pwd = offer.effective_pwd(index);
  const auto& fp = offer.effective_fingerprint(index);
  if (ufrag.empty() || pwd.empty())
    return where + ": no ICE credentials";
  if (!fp)
    return where + ": no DTLS fingerprint";
  if (!m.rtcp_mux)
    return where + ": no a=rtcp-mux";
  if (!first) {
    offer_transport t;
    t.ice_ufrag = ufrag;
    t.ice_pwd = pwd;
    t.dtls.fingerprints = {{fp->algorithm, fp->value}};
    const auto& setup = offer.effective_setup(index);
    if (setup == "passive")
      t.dtls.role = net::dtls_role::server;
    else if (setup.empty() || setup == "actpass" || setup == "active")
      t.dtls.role = net::dtls_role::client;
    else
      return where + ": a=setup:" + setup + " (actpass, active or passive)";
    first = std::move(t);
  } else if (ufrag != first->ice_ufrag || pwd != first->ice_pwd ||
             first->dtls.fingerprints.front().value != fp->value) {
    return where + ": its ICE credentials or fingerprint differ from the first track's "
                   "(one transport: BUNDLE)";
  }
  if (m.mid.empty())
    return where + ": no a=mid (the tracks share one transport by BUNDLE)";
  if (!offer.bundle_mids.empty() &&
      std::find(offer.bundle_mids.begin(), offer.bundle_mids.end(), m.mid) == offer.bundle_mids.end())
    return where + ": not in the BUNDLE group";
  bundle_mids.push_back(m.mid);
  return {};
}

rtp::codec_params parameters_of(std::string_view fmtp) {
  rtp::codec_params out;
  for (auto [key, value] : fmtp_parameters(fmtp)) {
    const bool digits = !value.empty() && value.size() <= 15 &&
                        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                        (value.size() == 1 || value.front() != '0');
    out.push_back({std::string(key), std::string(value), digits});
  }
  return out;
}

rtp::rtcp_feedback feedback_of(std::string_view value) {
  auto sp = value.find(' ');
  if (sp == std::string_view::npos)
    return {std::string(value), ""};
  return {std::string(value.substr(0, sp)), std::string(value.substr(sp + 1))};
}

rtp::codec_parameters codec_of(const sdp_codec& c, rtp::media_kind kind) {
  rtp::codec_parameters out;
  out.mime_type = std::string(rtp::to_string(kind)) + "/" + c.name;
  out.payload_type = c.payload_type;
  out.clock_rate = c.clock_rate;
  out.channels = kind == rtp::media_kind::audio ? c.channels : 0;
  out.parameters = parameters_of(c.fmtp);
  return out;
}

namespace {

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

} // namespace

bool is_rtx_format(std::string_view name) {
  return same_name(name, "rtx");
}

bool is_repair_format(std::string_view name) {
  return is_rtx_format(name) || same_name(name, "red") || same_name(name, "ulpfec") ||
         same_name(name, "flexfec-03");
}

const sdp_codec* offered_rtx_for(const sdp_media& m, uint8_t pt) {
  for (const auto& c : m.codecs)
    if (is_rtx_format(c.name))
      if (auto apt = c.parameter("apt"); apt && *apt == std::to_string(pt))
        return &c;
  return nullptr;
}

session_description answer_session(const session_description& offer,
                                   const std::vector<std::string>& bundle_mids,
                                   const transport_params& transport, uint64_t session_id) {
  session_description a;
  a.origin_session_id = std::to_string(session_id);
  a.origin_version = "2";
  a.bundle_mids = bundle_mids;
  a.ice_lite = transport.ice_parameters.ice_lite;
  a.extmap_allow_mixed = offer.extmap_allow_mixed;
  a.msid_semantic = " WMS";
  return a;
}

sdp_media rejected_media(const sdp_media& offered) {
  sdp_media m;
  m.kind = offered.kind;
  m.protocol = offered.protocol;
  m.mid = offered.mid;
  m.port = 0;
  m.formats = offered.formats;
  m.direction = "inactive";
  return m;
}

sdp_media answer_media(const sdp_media& offered, const offer_transport& client,
                       const transport_params& transport) {
  sdp_media m;
  m.kind = offered.kind;
  m.protocol = offered.protocol;
  m.mid = offered.mid;
  // Our fingerprint in the client's algorithm when we have it, else the first.
  const auto& fps = transport.dtls_parameters.fingerprints;
  for (const auto& f : fps)
    if (!m.fingerprint || (!client.dtls.fingerprints.empty() &&
                           f.algorithm == client.dtls.fingerprints.front().algorithm))
      m.fingerprint = sdp_fingerprint{f.algorithm, f.value};
  m.candidates = candidates_of(transport);
  const auto first_udp = std::find_if(m.candidates.begin(), m.candidates.end(),
                                      [](const sdp_candidate& c) { return c.transport == "udp"; });
  const bool udp = first_udp != m.candidates.end();
  m.port = udp ? first_udp->port : 9;
  m.connection_address = udp ? first_udp->address : "0.0.0.0";
  m.ice_ufrag = transport.ice_parameters.username_fragment;
  m.ice_pwd = transport.ice_parameters.password;
  m.setup = client.dtls.role == net::dtls_role::server ? "active" : "passive";
  m.rtcp_mux = true;
  m.end_of_candidates = true;
  return m;
}

void answer_rtp(sdp_media& m, const rtp::rtp_parameters& p, const sdp_media& offered) {
  m.rtcp_rsize = p.rtcp.reduced_size;
  for (const auto& e : p.header_extensions)
    m.extmaps.push_back({e.id, "", e.uri});
  for (const auto& c : p.codecs) {
    m.formats.push_back(std::to_string(c.payload_type));
    const auto* o = offered.codec(c.payload_type);
    sdp_codec out{c.payload_type,
                  o ? o->name : std::string(c.mime_type.substr(c.mime_type.find('/') + 1)),
                  c.clock_rate,
                  o ? o->channels : uint8_t(c.channels),
                  {},
                  o ? o->fmtp : std::string{}};
    for (const auto& fb : c.rtcp_feedback)
      out.feedback.push_back(fb.parameter.empty() ? fb.type : fb.type + " " + fb.parameter);
    m.codecs.push_back(std::move(out));
  }
}

std::string write_ice_fragment(const std::vector<std::string>& bundle_mids,
                               const transport_params& transport) {
  const auto& ice = transport.ice_parameters;
  std::string out = "a=ice-lite\r\na=ice-ufrag:" + ice.username_fragment + "\r\na=ice-pwd:" +
                    ice.password + "\r\n";
  const auto candidates = candidates_of(transport);
  for (const auto& mid : bundle_mids) {
    out += "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:" + mid + "\r\n";
    for (const auto& c : candidates)
      out += "a=" + c.to_attribute() + "\r\n";
    out += "a=end-of-candidates\r\n";
  }
  return out;
}

} // namespace chorus::protocol
