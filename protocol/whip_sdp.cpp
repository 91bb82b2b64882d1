#include "protocol/whip_sdp.hpp"

#include "rtp/ortc.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

namespace chorus::protocol {

namespace {

constexpr std::string_view uri_rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

bool takes_part(const sdp_media& m) {
  return !m.rejected() && (m.kind == "audio" || m.kind == "video") &&
         (m.direction.empty() || m.direction == "sendonly" || m.direction == "sendrecv");
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

// The track of one m-line, or what is wrong with it.
result<whip_track> read_track(const sdp_media& m, std::size_t index,
                              const rtp::rtp_capabilities& router) {
  const auto where = m_line_name(m, index);
  whip_track t;
  t.m_line = index;
  t.kind = m.kind == "audio" ? rtp::media_kind::audio : rtp::media_kind::video;
  auto& p = t.parameters;
  p.mid = m.mid;

  // The codec: the first the offer lists that the router receives.
  const sdp_codec* chosen = nullptr;
  const rtp::codec_capability* router_codec = nullptr;
  for (const auto& c : m.codecs) {
    if (is_repair_format(c.name))
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

} // namespace

result<whip_offer> read_whip_offer(const session_description& offer,
                                   const rtp::rtp_capabilities& router) {
  whip_offer out;
  std::optional<offer_transport> transport;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& m = offer.media[i];
    if (!takes_part(m))
      continue;
    if (auto wrong = take_transport(offer, i, transport, out.bundle_mids); !wrong.empty())
      return failure{std::move(wrong)};
    auto track = read_track(m, i, router);
    if (!track)
      return failure{track.error()};
    out.tracks.push_back(std::move(*track));
  }
  if (out.tracks.empty())
    return failure{"the offer has no audio or video to send"};
  if (out.tracks.size() > 1 && offer.bundle_mids.empty())
    return failure{"several tracks without a BUNDLE group"};
  out.transport = std::move(*transport);
  return out;
}

std::string write_whip_answer(const session_description& offer, const whip_offer& accepted,
                              const transport_params& transport, uint64_t session_id) {
  auto a = answer_session(offer, accepted.bundle_mids, transport, session_id);
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    const auto& offered = offer.media[i];
    const auto track = std::find_if(accepted.tracks.begin(), accepted.tracks.end(),
                                    [&](const whip_track& t) { return t.m_line == i; });
    if (track == accepted.tracks.end()) {
      a.media.push_back(rejected_media(offered));
      continue;
    }
    const auto& p = track->parameters;
    auto m = answer_media(offered, accepted.transport, transport);
    m.direction = "recvonly";
    answer_rtp(m, p, offered);
    std::string simulcast;
    for (const auto& e : p.encodings)
      if (!e.rid.empty()) {
        m.rids.push_back({e.rid, "recv", {}});
        simulcast += (simulcast.empty() ? "" : ";") + e.rid;
      }
    if (!simulcast.empty())
      m.simulcast = "recv " + simulcast;
    a.media.push_back(std::move(m));
  }
  return write_sdp(a);
}

} // namespace chorus::protocol
