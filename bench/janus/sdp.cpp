#include "bench/janus/sdp.hpp"

#include <sstream>

namespace chorus::janus {

// ---- build -----------------------------------------------------------------------------

namespace {

void write_transport(std::ostringstream& o, const local_transport_params& t) {
  o << "a=ice-ufrag:" << t.ice_ufrag << "\r\n";
  o << "a=ice-pwd:" << t.ice_pwd << "\r\n";
  o << "a=ice-options:trickle\r\n";
  o << "a=fingerprint:" << t.fingerprint.algorithm << ' ' << t.fingerprint.value << "\r\n";
}

void write_connection(std::ostringstream& o, std::string_view kind, std::string_view formats,
                      const local_transport_params& t, bool rejected = false) {
  const uint16_t port = rejected ? 0 : (t.candidate ? t.candidate->port : 9);
  const std::string addr = t.candidate ? t.candidate->address : "0.0.0.0";
  o << "m=" << kind << ' ' << port << " UDP/TLS/RTP/SAVPF " << formats << "\r\n";
  o << "c=IN IP4 " << addr << "\r\n";
}

void write_candidates(std::ostringstream& o, const local_transport_params& t) {
  if (t.candidate)
    o << "a=" << t.candidate->to_attribute() << "\r\n";
  if (t.end_of_candidates)
    o << "a=end-of-candidates\r\n";
}

void write_session(std::ostringstream& o, uint64_t session_id, std::string_view bundle) {
  o << "v=0\r\n";
  o << "o=- " << session_id << " 2 IN IP4 127.0.0.1\r\n";
  o << "s=-\r\n";
  o << "t=0 0\r\n";
  o << "a=group:BUNDLE" << bundle << "\r\n";
  o << "a=extmap-allow-mixed\r\n";
  o << "a=msid-semantic: WMS\r\n";
}

} // namespace

std::string build_publisher_offer(const publisher_offer_params& p) {
  std::ostringstream o;
  std::string bundle;
  if (p.audio)
    bundle += " 0";
  if (p.video)
    bundle += " 1";
  write_session(o, p.session_id, bundle);
  const auto& t = p.transport;
  auto extmaps = [&] {
    o << "a=extmap:" << int(p.ext_mid_id) << ' ' << ext_mid << "\r\n";
    o << "a=extmap:" << int(p.ext_abs_send_time_id) << ' ' << ext_abs_send_time << "\r\n";
    o << "a=extmap:" << int(p.ext_transport_cc_id) << ' ' << ext_transport_cc << "\r\n";
  };
  auto ssrc_lines = [&](uint32_t ssrc, std::string_view track) {
    o << "a=msid:" << p.stream_id << ' ' << track << "\r\n";
    if (ssrc) {
      o << "a=ssrc:" << ssrc << " cname:" << p.cname << "\r\n";
      o << "a=ssrc:" << ssrc << " msid:" << p.stream_id << ' ' << track << "\r\n";
    }
  };
  if (p.audio) {
    const int pt = p.audio_pt;
    write_connection(o, "audio", std::to_string(pt), t);
    write_candidates(o, t);
    write_transport(o, t);
    o << "a=setup:actpass\r\n";
    o << "a=mid:0\r\n";
    extmaps();
    o << "a=sendonly\r\n";
    ssrc_lines(p.audio_ssrc, "audio0");
    o << "a=rtcp-mux\r\n";
    o << "a=rtcp-rsize\r\n";
    o << "a=rtpmap:" << pt << " opus/48000/2\r\n";
    o << "a=rtcp-fb:" << pt << " transport-cc\r\n";
    o << "a=fmtp:" << pt << " minptime=10;useinbandfec=1\r\n";
  }
  if (p.video) {
    const int pt = p.video_pt;
    write_connection(o, "video", std::to_string(pt), t);
    if (!p.audio)
      write_candidates(o, t); // BUNDLE: candidates once, on the first m-line
    write_transport(o, t);
    o << "a=setup:actpass\r\n";
    o << "a=mid:1\r\n";
    extmaps();
    o << "a=sendonly\r\n";
    ssrc_lines(p.video_ssrc, "video0");
    o << "a=rtcp-mux\r\n";
    o << "a=rtcp-rsize\r\n";
    o << "a=rtpmap:" << pt << " VP8/90000\r\n";
    o << "a=rtcp-fb:" << pt << " goog-remb\r\n";
    o << "a=rtcp-fb:" << pt << " transport-cc\r\n";
    o << "a=rtcp-fb:" << pt << " ccm fir\r\n";
    o << "a=rtcp-fb:" << pt << " nack\r\n";
    o << "a=rtcp-fb:" << pt << " nack pli\r\n";
  }
  return o.str();
}

result<std::string> build_subscriber_answer(const session_description& offer,
                                            const subscriber_answer_params& p) {
  if (offer.media.empty())
    return failure{"the offer has no m-lines"};
  struct choice {
    const sdp_codec* codec = nullptr;
  };
  std::vector<choice> chosen(offer.media.size());
  std::string bundle;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    auto& m = offer.media[i];
    if (m.rejected() || m.mid.empty())
      continue;
    if (m.kind == "audio")
      chosen[i].codec = m.codec("opus");
    else if (m.kind == "video")
      chosen[i].codec = m.codec("VP8");
    if (!chosen[i].codec)
      continue;
    if (offer.effective_ufrag(i).empty() || offer.effective_pwd(i).empty())
      return failure{"m-line " + m.mid + " has no ICE credentials"};
    if (!offer.effective_fingerprint(i))
      return failure{"m-line " + m.mid + " has no DTLS fingerprint"};
    bundle += " " + m.mid;
  }
  if (bundle.empty())
    return failure{"the offer has no Opus or VP8 m-line"};

  std::ostringstream o;
  write_session(o, p.session_id, bundle);
  const auto& t = p.transport;
  bool first = true;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    auto& m = offer.media[i];
    const sdp_codec* c = chosen[i].codec;
    if (!c) {
      // Rejected (RFC 8829 §5.3.1): port 0, the offer's format list kept.
      std::string formats;
      for (auto& f : m.formats)
        formats += (formats.empty() ? "" : " ") + f;
      o << "m=" << m.kind << " 0 " << m.protocol << ' ' << formats << "\r\n";
      o << "c=IN IP4 0.0.0.0\r\n";
      if (!m.mid.empty())
        o << "a=mid:" << m.mid << "\r\n";
      o << "a=inactive\r\n";
      continue;
    }
    const int pt = c->payload_type;
    write_connection(o, m.kind, std::to_string(pt), t);
    if (first)
      write_candidates(o, t); // BUNDLE: one transport; candidates once (JSEP §5.3.1)
    first = false;
    write_transport(o, t);
    o << "a=setup:active\r\n";
    o << "a=mid:" << m.mid << "\r\n";
    for (auto& e : m.extmaps)
      if (e.uri == ext_mid || e.uri == ext_abs_send_time || e.uri == ext_transport_cc)
        o << "a=extmap:" << int(e.id) << ' ' << e.uri << "\r\n";
    const bool offer_sends = m.direction.empty() || m.direction == "sendonly" ||
                             m.direction == "sendrecv";
    o << (offer_sends ? "a=recvonly\r\n" : "a=inactive\r\n");
    const uint32_t ssrc = m.kind == "audio" ? p.audio_ssrc : p.video_ssrc;
    if (ssrc)
      o << "a=ssrc:" << ssrc << " cname:" << p.cname << "\r\n";
    o << "a=rtcp-mux\r\n";
    if (m.rtcp_rsize)
      o << "a=rtcp-rsize\r\n";
    o << "a=rtpmap:" << pt << ' ' << c->name << '/' << c->clock_rate;
    if (c->channels)
      o << '/' << int(c->channels);
    o << "\r\n";
    for (auto& fb : c->feedback)
      if (fb == "nack" || fb == "nack pli" || fb == "ccm fir" || fb == "goog-remb" ||
          fb == "transport-cc")
        o << "a=rtcp-fb:" << pt << ' ' << fb << "\r\n";
    if (!c->fmtp.empty())
      o << "a=fmtp:" << pt << ' ' << c->fmtp << "\r\n";
  }
  return o.str();
}

} // namespace chorus::janus
