#include "rtp/receiver_numbering.hpp"

#include "common/text.hpp"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>

namespace chorus::rtp {

namespace {

bool is_rtx(std::string_view mime) {
  return text::iends_with(mime, "/rtx");
}

// The payload type an rtx codec's apt names; nullopt when absent or not one.
std::optional<uint8_t> apt_of(const codec_params& ps) {
  const auto* p = find_param(ps, "apt");
  if (p == nullptr)
    return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p->value.data(), p->value.data() + p->value.size(), v);
  if (ec != std::errc{} || end != p->value.data() + p->value.size() || v > 127)
    return std::nullopt;
  return uint8_t(v);
}

// The codec as ortc's matching takes it.
codec_parameters as_parameters(const codec_capability& c) {
  return {c.mime_type, uint8_t(c.preferred_payload_type < 0 ? 0 : c.preferred_payload_type),
          c.clock_rate, c.channels, c.parameters, c.rtcp_feedback};
}

bool router_sends(const header_extension_capability& e) {
  return e.direction == hdrext_direction::sendrecv || e.direction == hdrext_direction::sendonly;
}

} // namespace

std::optional<uint8_t> numbering::receiver_payload_type(uint8_t router) const {
  for (const auto& e : payload_types)
    if (e.router == router)
      return e.client;
  return std::nullopt;
}

std::optional<uint8_t> numbering::receiver_extension_id(uint8_t router) const {
  for (const auto& e : extensions)
    if (e.router == router)
      return e.client;
  return std::nullopt;
}

renumbered_capabilities router_numbered(const rtp_capabilities& router,
                                        const rtp_capabilities& receiver) {
  renumbered_capabilities out;
  auto& caps = out.capabilities;
  auto& map = out.map;
  // Media codecs first: the rtx codecs refer to them.
  for (const auto& c : receiver.codecs) {
    if (is_rtx(c.mime_type) || c.preferred_payload_type < 0)
      continue;
    const auto* r = router_codec_for(router, as_parameters(c));
    if (r == nullptr || r->kind != c.kind || r->preferred_payload_type < 0 ||
        map.receiver_payload_type(uint8_t(r->preferred_payload_type)))
      continue;
    auto kept = c;
    kept.preferred_payload_type = r->preferred_payload_type;
    caps.codecs.push_back(std::move(kept));
    map.payload_types.push_back({uint8_t(c.preferred_payload_type), uint8_t(r->preferred_payload_type)});
  }
  const std::size_t media_codecs = caps.codecs.size();
  for (const auto& c : receiver.codecs) {
    if (!is_rtx(c.mime_type) || c.preferred_payload_type < 0)
      continue;
    const auto apt = apt_of(c.parameters);
    if (!apt)
      continue;
    // The kept media codec the receiver's apt names, then the router's rtx for it.
    const codec_capability* media = nullptr;
    for (std::size_t i = 0; i < media_codecs; ++i)
      if (map.payload_types[i].client == *apt)
        media = &caps.codecs[i];
    if (media == nullptr)
      continue;
    const auto* rtx = router_rtx_codec_for(router, *media);
    if (rtx == nullptr || rtx->preferred_payload_type < 0 ||
        map.receiver_payload_type(uint8_t(rtx->preferred_payload_type)))
      continue;
    auto kept = *rtx;
    kept.kind = c.kind;
    kept.rtcp_feedback = c.rtcp_feedback;
    caps.codecs.push_back(std::move(kept));
    map.payload_types.push_back({uint8_t(c.preferred_payload_type), uint8_t(rtx->preferred_payload_type)});
  }
  for (const auto& e : receiver.header_extensions) {
    auto r = std::find_if(router.header_extensions.begin(), router.header_extensions.end(),
                          [&](const header_extension_capability& x) {
                            return x.kind == e.kind && x.uri == e.uri && router_sends(x);
                          });
    if (r == router.header_extensions.end())
      continue;
    auto kept = e;
    kept.preferred_id = r->preferred_id;
    caps.header_extensions.push_back(std::move(kept));
    // One map entry per router id (audio and video share the router's ids).
    if (!map.receiver_extension_id(r->preferred_id))
      map.extensions.push_back({e.preferred_id, r->preferred_id, e.uri});
  }
  return out;
}

rtp_parameters receiver_numbered(const rtp_parameters& consumer, const numbering& map) {
  auto out = consumer;
  for (auto& c : out.codecs) {
    if (auto pt = map.receiver_payload_type(c.payload_type))
      c.payload_type = *pt;
    if (is_rtx(c.mime_type))
      for (auto& p : c.parameters)
        if (p.key == "apt")
          if (auto apt = apt_of({p}); apt)
            if (auto pt = map.receiver_payload_type(*apt))
              p.value = std::to_string(*pt);
  }
  for (auto& e : out.header_extensions)
    if (auto id = map.receiver_extension_id(e.id))
      e.id = *id;
  for (auto& e : out.encodings)
    if (e.codec_payload_type >= 0)
      if (auto pt = map.receiver_payload_type(uint8_t(e.codec_payload_type)))
        e.codec_payload_type = *pt;
  return out;
}

} // namespace chorus::rtp
