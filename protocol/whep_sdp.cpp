#include "protocol/whep_sdp.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <optional>

namespace chorus::protocol {

namespace {

bool receives(const sdp_media& m) {
  return !m.rejected() && (m.kind == "audio" || m.kind == "video") &&
         (m.direction.empty() || m.direction == "recvonly" || m.direction == "sendrecv");
}

bool extension_received(const sdp_extmap& e) {
  return e.direction.empty() || e.direction == "recvonly" || e.direction == "sendrecv";
}

// What m-line `m` receives, in its own numbers.
rtp::rtp_capabilities receive_capabilities(const sdp_media& m, rtp::media_kind kind) {
  rtp::rtp_capabilities caps;
  for (const auto& c : m.codecs) {
    if (is_repair_format(c.name) && !is_rtx_format(c.name))
      continue;
    auto p = codec_of(c, kind);
    rtp::codec_capability cap;
    cap.kind = kind;
    cap.mime_type = std::move(p.mime_type);
    cap.preferred_payload_type = c.payload_type;
    cap.clock_rate = c.clock_rate;
    cap.channels = p.channels;
    cap.parameters = std::move(p.parameters);
    for (const auto& fb : c.feedback)
      cap.rtcp_feedback.push_back(feedback_of(fb));
    caps.codecs.push_back(std::move(cap));
  }
  for (const auto& e : m.extmaps)
    if (extension_received(e))
      caps.header_extensions.push_back({kind, e.uri, e.id, false, rtp::hdrext_direction::sendrecv});
  return caps;
}

bool has_media_codec(const rtp::rtp_capabilities& caps) {
  return std::any_of(caps.codecs.begin(), caps.codecs.end(), [](const rtp::codec_capability& c) {
    return !text::iends_with(c.mime_type, "/rtx");
  });
}

} // namespace

result<whep_offer> read_whep_offer(const session_description& offer,
                                   const rtp::rtp_capabilities& router) {
  whep_offer out;
  std::optional<offer_transport> transport;
  std::vector<std::string> mids;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    if (!receives(m))
      continue;
    const auto kind = m.kind == "audio" ? rtp::media_kind::audio : rtp::media_kind::video;
    auto receive = rtp::router_numbered(router, receive_capabilities(m, kind));
    if (!has_media_codec(receive.capabilities))
      continue; // rejected in the answer: nothing the router forwards plays there
    if (auto wrong = take_transport(offer, i, transport, mids); !wrong.empty())
      return failure{std::move(wrong)};
    out.slots.push_back({i, kind, m.mid, std::move(receive)});
  }
  if (out.slots.empty())
    return failure{"the offer has no audio or video m-line to receive with a codec the server "
                   "forwards"};
  if (out.slots.size() > 1 && offer.bundle_mids.empty())
    return failure{"several m-lines without a BUNDLE group"};
  out.transport = std::move(*transport);
  return out;
}

std::string write_whep_answer(const session_description& offer, const whep_offer& accepted,
                              const std::vector<whep_stream>& streams,
                              const transport_params& transport, uint64_t session_id) {
  std::vector<std::string> bundle;
  for (const auto& s : streams)
    bundle.push_back(offer.media[s.m_line].mid);
  auto a = answer_session(offer, bundle, transport, session_id);
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& offered = offer.media[i];
    const auto stream = std::find_if(streams.begin(), streams.end(),
                                     [&](const whep_stream& s) { return s.m_line == i; });
    if (stream == streams.end()) {
      a.media.push_back(rejected_media(offered));
      continue;
    }
    const auto& p = stream->parameters;
    auto m = answer_media(offered, accepted.transport, transport);
    m.direction = "sendonly";
    m.msid = stream->msid;
    answer_rtp(m, p, offered);
    m.cname = p.rtcp.cname;
    if (!p.encodings.empty()) {
      const auto& e = p.encodings.front();
      m.ssrcs.push_back(e.ssrc);
      if (e.rtx_ssrc != 0) {
        m.ssrcs.push_back(e.rtx_ssrc);
        m.ssrc_groups.push_back({"FID", {e.ssrc, e.rtx_ssrc}});
      }
    }
    a.media.push_back(std::move(m));
  }
  return write_sdp(a);
}

} // namespace chorus::protocol
