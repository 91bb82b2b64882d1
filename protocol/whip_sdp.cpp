#include "protocol/whip_sdp.hpp"

#include "rtp/ortc.hpp"

#include <algorithm>
#include <string_view>

namespace chorus::protocol {

namespace {

constexpr std::string_view uri_rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

std::string m_line(const sdp_media& m, std::size_t i) {
  return "m-line " + std::to_string(i) + (m.mid.empty() ? "" : " (mid " + m.mid + ")");
}

bool takes_part(const sdp_media& m) {
  return !m.rejected() && (m.kind == "audio" || m.kind == "video") &&
         (m.direction.empty() || m.direction == "sendonly" || m.direction == "sendrecv");
}

// "a=b;c=d" as codec parameters; a value of digits alone is a number, as mediasoup-client
// reads fmtp (sdp-transform), so the router's matching sees the same thing.
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

rtp::rtcp_feedback feedback_of(std::string_view fb) {
  auto sp = fb.find(' ');
  if (sp == std::string_view::npos)
    return {std::string(fb), ""};
  return {std::string(fb.substr(0, sp)), std::string(fb.substr(sp + 1))};
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

// The offer's feedback that the router codec lists too.
std::vector<rtp::rtcp_feedback> common_feedback(const sdp_codec& offered,
                                                const rtp::codec_capability& router) {
  std::vector<rtp::rtcp_feedback> out;
  for (const auto& text : offered.feedback) {
    auto fb = feedback_of(text);
    if (std::find(router.rtcp_feedback.begin(), router.rtcp_feedback.end(), fb) !=
          router.rtcp_feedback.end() &&
        std::find(out.begin(), out.end(), fb) == out.end())
      out.push_back(std::move(fb));
  }
  return out;
}

// The offer's retransmission codec for payload type `pt`, or nullptr.
const sdp_codec* offered_rtx_for(const sdp_media& m, uint8_t pt) {
  for (const auto& c : m.codecs)
    if (c.name == "rtx" || c.name == "RTX")
      if (auto apt = c.parameter("apt"); apt && *apt == std::to_string(pt))
        return &c;
  return nullptr;
}

// The track of one m-line, or what is wrong with it.
result<whip_track> read_track(const sdp_media& m, std::size_t index,
                              const rtp::rtp_capabilities& router) {
  const auto where = m_line(m, index);
  whip_track t;
  t.m_line = index;
  t.kind = m.kind == "audio" ? rtp::media_kind::audio : rtp::media_kind::video;
  auto& p = t.parameters;
  if (!m.rtcp_mux)
    return failure{where + ": no a=rtcp-mux"};
  p.mid = m.mid;

  // The codec: the first the offer lists that the router receives.
  const sdp_codec* chosen = nullptr;
  const rtp::codec_capability* router_codec = nullptr;
  for (const auto& c : m.codecs) {
    if (c.name == "rtx" || c.name == "RTX" || c.name == "red" || c.name == "ulpfec" ||
        c.name == "flexfec-03")
      continue;
    if (const auto* r = rtp::router_codec_for(router, codec_of(c, t.kind))) {
      chosen = &c;
      router_codec = r;
      break;
    }
  }
  if (!chosen)
    return failure{where + ": none of its codecs is one the server receives"};
  auto media = codec_of(*chosen, t.kind);
  media.rtcp_feedback = common_feedback(*chosen, *router_codec);
  p.codecs.push_back(std::move(media));
  const sdp_codec* rtx = nullptr;
  if (rtp::router_rtx_codec_for(router, *router_codec))
    rtx = offered_rtx_for(m, chosen->payload_type);
  if (rtx)
    p.codecs.push_back(codec_of(*rtx, t.kind));

  // The header extensions the router receives, at the offer's ids, that the client sends.
  for (const auto& e : m.extmaps)
    if ((e.direction.empty() || e.direction == "sendonly" || e.direction == "sendrecv") &&
        rtp::router_receives_extension(router, t.kind, e.uri))
      p.header_extensions.push_back({e.uri, e.id, false, {}});

  // The encodings: simulcast by rid, simulcast by SSRC (a=ssrc-group:SIM), or one SSRC.
  const auto rids = m.send_rids();
  const auto fid = m.fid_pairs();
  auto rtx_of = [&](uint32_t ssrc) -> uint32_t {
    if (!rtx)
      return 0;
    for (auto [media_ssrc, rtx_ssrc] : fid)
      if (media_ssrc == ssrc)
        return rtx_ssrc;
    return 0;
  };
  const sdp_ssrc_group* sim = nullptr;
  for (const auto& g : m.ssrc_groups)
    if (g.semantics == "SIM")
      sim = &g;
  if (!rids.empty()) {
    if (t.kind != rtp::media_kind::video)
      return failure{where + ": simulcast (a=rid) on audio"};
    if (rids.size() > rtp::max_encodings)
      return failure{where + ": " + std::to_string(rids.size()) + " simulcast layers (at most " +
                     std::to_string(rtp::max_encodings) + ")"};
    if (!m.extmap_id(uri_rid))
      return failure{where + ": simulcast by rid without the rtp-stream-id header extension"};
    for (const auto& rid : rids) {
      rtp::encoding_parameters e;
      e.rid = rid;
      p.encodings.push_back(std::move(e));
    }
  } else if (sim && !sim->ssrcs.empty()) {
    for (auto ssrc : sim->ssrcs) {
      rtp::encoding_parameters e;
      e.ssrc = ssrc;
      e.rtx_ssrc = rtx_of(ssrc);
      p.encodings.push_back(std::move(e));
    }
  } else {
    uint32_t ssrc = !fid.empty() ? fid.front().first : (m.ssrcs.empty() ? 0 : m.ssrcs.front());
    if (ssrc == 0)
      return failure{where + ": neither a=ssrc nor a=rid: the stream cannot be told apart"};
    rtp::encoding_parameters e;
    e.ssrc = ssrc;
    e.rtx_ssrc = rtx_of(ssrc);
    p.encodings.push_back(std::move(e));
  }
  p.rtcp.cname = m.cname;
  p.rtcp.reduced_size = m.rtcp_rsize;

  // What a produce request would be told.
  if (auto mapped = rtp::map_producer(router, t.kind, p); !mapped)
    return failure{where + ": " + mapped.error()};
  return t;
}

// The transport's candidates as SDP writes them.
std::vector<sdp_candidate> candidates_of(const transport_params& transport) {
  std::vector<sdp_candidate> out;
  for (const auto& c : transport.ice_candidates)
    out.push_back({c.foundation, 1, c.protocol, c.priority, c.address, c.port, c.type, c.tcp_type, {}, 0});
  return out;
}

} // namespace

result<whip_offer> read_whip_offer(const session_description& offer,
                                   const rtp::rtp_capabilities& router) {
  whip_offer out;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    if (!takes_part(m))
      continue;
    const auto where = m_line(m, i);
    const auto& ufrag = offer.effective_ufrag(i);
    const auto& pwd = offer.effective_pwd(i);
    const auto& fp = offer.effective_fingerprint(i);
    if (ufrag.empty() || pwd.empty())
      return failure{where + ": no ICE credentials"};
    if (!fp)
      return failure{where + ": no DTLS fingerprint"};
    if (out.tracks.empty()) {
      out.ice_ufrag = ufrag;
      out.ice_pwd = pwd;
      out.dtls.fingerprints = {{fp->algorithm, fp->value}};
      const auto& setup = offer.effective_setup(i);
      if (setup == "passive")
        out.dtls.role = net::dtls_role::server;
      else if (setup.empty() || setup == "actpass" || setup == "active")
        out.dtls.role = net::dtls_role::client;
      else
        return failure{where + ": a=setup:" + setup + " (actpass, active or passive)"};
    } else if (ufrag != out.ice_ufrag || pwd != out.ice_pwd ||
               out.dtls.fingerprints.front().value != fp->value) {
      return failure{where + ": its ICE credentials or fingerprint differ from the first "
                             "track's (one transport: BUNDLE)"};
    }
    if (m.mid.empty())
      return failure{where + ": no a=mid (the tracks share one transport by BUNDLE)"};
    if (!offer.bundle_mids.empty() &&
        std::find(offer.bundle_mids.begin(), offer.bundle_mids.end(), m.mid) ==
          offer.bundle_mids.end())
      return failure{where + ": not in the BUNDLE group"};
    auto track = read_track(m, i, router);
    if (!track)
      return failure{track.error()};
    out.bundle_mids.push_back(m.mid);
    out.tracks.push_back(std::move(*track));
  }
  if (out.tracks.empty())
    return failure{"the offer has no audio or video to send"};
  if (out.tracks.size() > 1 && offer.bundle_mids.empty())
    return failure{"several tracks without a BUNDLE group"};
  return out;
}

std::string write_whip_answer(const session_description& offer, const whip_offer& accepted,
                              const transport_params& transport, uint64_t session_id) {
  session_description a;
  a.origin_session_id = std::to_string(session_id);
  a.origin_version = "2";
  a.bundle_mids = accepted.bundle_mids;
  a.ice_lite = transport.ice_parameters.ice_lite;
  a.extmap_allow_mixed = offer.extmap_allow_mixed;
  a.msid_semantic = " WMS";

  // Our fingerprint in the client's algorithm when we have it, else the first.
  std::optional<sdp_fingerprint> ours;
  const auto& fps = transport.dtls_parameters.fingerprints;
  for (const auto& f : fps)
    if (!ours || (!accepted.dtls.fingerprints.empty() &&
                  f.algorithm == accepted.dtls.fingerprints.front().algorithm))
      ours = sdp_fingerprint{f.algorithm, f.value};
  const auto candidates = candidates_of(transport);
  const sdp_candidate* first_udp = nullptr;
  for (const auto& c : candidates)
    if (!first_udp && c.transport == "udp")
      first_udp = &c;

  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& offered = offer.media[i];
    sdp_media m;
    m.kind = offered.kind;
    m.protocol = offered.protocol;
    m.mid = offered.mid;
    const auto track = std::find_if(accepted.tracks.begin(), accepted.tracks.end(),
                                    [&](const whip_track& t) { return t.m_line == i; });
    if (track == accepted.tracks.end()) {
      // Rejected (RFC 8829 §5.3.1): port 0, the offer's formats kept.
      m.port = 0;
      m.formats = offered.formats;
      m.direction = "inactive";
      a.media.push_back(std::move(m));
      continue;
    }
    const auto& p = track->parameters;
    m.port = first_udp ? first_udp->port : 9;
    m.connection_address = first_udp ? first_udp->address : "0.0.0.0";
    m.ice_ufrag = transport.ice_parameters.username_fragment;
    m.ice_pwd = transport.ice_parameters.password;
    m.fingerprint = ours;
    m.setup = accepted.dtls.role == net::dtls_role::server ? "active" : "passive";
    m.direction = "recvonly";
    m.rtcp_mux = true;
    m.rtcp_rsize = p.rtcp.reduced_size;
    for (const auto& e : p.header_extensions)
      m.extmaps.push_back({e.id, "", e.uri});
    for (const auto& c : p.codecs) {
      m.formats.push_back(std::to_string(c.payload_type));
      const auto* o = offered.codec(c.payload_type);
      sdp_codec out{c.payload_type, o ? o->name : std::string(c.mime_type.substr(c.mime_type.find('/') + 1)),
                    c.clock_rate, o ? o->channels : uint8_t(c.channels), {}, o ? o->fmtp : std::string{}};
      for (const auto& fb : c.rtcp_feedback)
        out.feedback.push_back(fb.parameter.empty() ? fb.type : fb.type + " " + fb.parameter);
      m.codecs.push_back(std::move(out));
    }
    std::string simulcast;
    for (const auto& e : p.encodings)
      if (!e.rid.empty()) {
        m.rids.push_back({e.rid, "recv", {}});
        simulcast += (simulcast.empty() ? "" : ";") + e.rid;
      }
    if (!simulcast.empty())
      m.simulcast = "recv " + simulcast;
    m.candidates = candidates;
    m.end_of_candidates = true;
    a.media.push_back(std::move(m));
  }
  return write_sdp(a);
}

std::string write_ice_fragment(const whip_offer& accepted, const transport_params& transport) {
  const auto& ice = transport.ice_parameters;
  std::string out = "a=ice-lite\r\na=ice-ufrag:" + ice.username_fragment + "\r\na=ice-pwd:" +
                    ice.password + "\r\n";
  const auto candidates = candidates_of(transport);
  for (const auto& mid : accepted.bundle_mids) {
    out += "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:" + mid + "\r\n";
    for (const auto& c : candidates)
      out += "a=" + c.to_attribute() + "\r\n";
    out += "a=end-of-candidates\r\n";
  }
  return out;
}

} // namespace chorus::protocol
