// ORTC mapping in the way of mediasoup's ortc module (getProducerRtpParametersMapping,
// getConsumableRtpParameters, canConsume, getConsumerRtpParameters), reduced to what Chorus
// forwards today: one stream per producer (no simulcast, no spatial SVC), consumers that get
// one media codec plus its rtx.
//
// Unlike mediasoup, the router keeps the producer's SSRC and rewrites payload types and
// header extension ids itself, so the mapping carries both directions' numbers explicitly.
#include "rtp/ortc.hpp"

#include "common/text.hpp"
#include "rtp/h264_profile.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/scalability.hpp"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>

namespace chorus::rtp {

namespace {

using text::iequals;

constexpr std::string_view uri_transport_cc =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr std::string_view uri_abs_send_time =
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
constexpr std::string_view uri_rid = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

// "video" of "video/VP8"; empty when there is no slash.
std::string_view type_of(std::string_view mime) noexcept {
  auto slash = mime.find('/');
  return slash == std::string_view::npos ? std::string_view{} : mime.substr(0, slash);
}

std::string_view subtype_of(std::string_view mime) noexcept {
  auto slash = mime.find('/');
  return slash == std::string_view::npos ? std::string_view{} : mime.substr(slash + 1);
}

bool is_rtx(std::string_view mime) noexcept {
  return !type_of(mime).empty() && iequals(subtype_of(mime), "rtx");
}

// RED (RFC 2198) wraps Opus: it travels only together with Opus.
bool is_red(std::string_view mime) noexcept {
  return iequals(mime, "audio/red");
}

bool is_opus(std::string_view mime) noexcept {
  return iequals(mime, "audio/opus");
}

bool is_audio(std::string_view mime) noexcept {
  return iequals(type_of(mime), "audio");
}

bool of_kind(std::string_view mime, media_kind kind) noexcept {
  return !subtype_of(mime).empty() && iequals(type_of(mime), to_string(kind));
}

// The integer value of a parameter, `fallback` when absent; nullopt when present but not
// an integer (numeric or a string of digits: SDP parsers differ in which they produce).
std::optional<long long> int_param(const codec_params& ps, std::string_view key,
                                   long long fallback) {
  const auto* p = find_param(ps, key);
  if (p == nullptr)
    return fallback;
  long long v = 0;
  const auto* first = p->value.data();
  const auto* last = first + p->value.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (p->value.empty() || ec != std::errc{} || ptr != last)
    return std::nullopt;
  return v;
}

// ---- H264 profile (RFC 6184 section 8.1, ITU-T H.264 Annex A) ------------------------------
// Two H264 formats are compatible when their profile is the same; the level only bounds the
// decoder and may differ (level-asymmetry-allowed). rtp/h264_profile decodes the profile
// with the same level list capabilities.cpp accepts for the router, so that every
// configured profile-level-id can match.

// The profile of a codec's profile-level-id; nullopt when it is not a valid one. Absent
// means constrained baseline (what libwebrtc assumes, level 3.1), not RFC 6184's baseline
// level 1: browsers and mediasoup-client follow libwebrtc. The value is read as hex text
// whether or not it was numeric in JSON (sdp-transform turns "640032" into a number).
std::optional<h264_profile> h264_profile_of(const codec_params& ps) {
  const auto* p = find_param(ps, "profile-level-id");
  if (p == nullptr || p->value.empty())
    return h264_profile::constrained_baseline;
  if (auto pl = parse_h264_profile_level_id(p->value))
    return pl->profile;
  return std::nullopt;
}

// ---- codec matching (mediasoup's matchCodecs with strict = true) ---------------------------

// What matching needs of a codec, whether it is a capability or a parameter set.
struct codec_view {
  std::string_view mime_type;
  uint32_t clock_rate;
  uint16_t channels;
  const codec_params& parameters;
};

codec_view view_of(const codec_parameters& c) {
  return {c.mime_type, c.clock_rate, c.channels, c.parameters};
}

codec_view view_of(const codec_capability& c) {
  return {c.mime_type, c.clock_rate, c.channels, c.parameters};
}

uint16_t channels_of(const codec_view& c) noexcept {
  return c.channels == 0 ? 1 : c.channels;
}

bool same_int_param(const codec_params& a, const codec_params& b, std::string_view key,
                    long long fallback) {
  auto va = int_param(a, key, fallback);
  auto vb = int_param(b, key, fallback);
  return va && vb && *va == *vb;
}

// Whether a stream of format `a` can be received as format `b` (symmetric). Rtx codecs
// match on mimeType and clock rate only; their apt is checked by the callers.
bool codecs_match(const codec_view& a, const codec_view& b) {
  if (!iequals(a.mime_type, b.mime_type) || a.clock_rate != b.clock_rate)
    return false;
  // Channels only mean something for audio (mediasoup drops them from video codecs).
  if (is_audio(a.mime_type) && channels_of(a) != channels_of(b))
    return false;
  if (iequals(a.mime_type, "video/H264")) {
    if (!same_int_param(a.parameters, b.parameters, "packetization-mode", 0))
      return false;
    auto pa = h264_profile_of(a.parameters);
    auto pb = h264_profile_of(b.parameters);
    return pa && pb && *pa == *pb;
  }
  if (iequals(a.mime_type, "video/VP9"))
    return same_int_param(a.parameters, b.parameters, "profile-id", 0);
  return true;
}

// The values matching looked at, for error messages: "clockRate 90000, profile-id 2".
std::string match_details(const codec_parameters& c) {
  std::string out = "clockRate " + std::to_string(c.clock_rate);
  if (is_audio(c.mime_type))
    out += ", channels " + std::to_string(c.channels == 0 ? 1 : c.channels);
  auto add = [&](const char* key, const char* absent) {
    const auto* p = find_param(c.parameters, key);
    out += std::string(", ") + key + " " + (p ? p->value : std::string(absent));
  };
  if (iequals(c.mime_type, "video/H264")) {
    add("packetization-mode", "absent");
    add("profile-level-id", "absent");
  } else if (iequals(c.mime_type, "video/VP9")) {
    add("profile-id", "absent");
  }
  return out;
}

// The payload type an rtx codec's apt names; nullopt when absent or not a payload type.
std::optional<uint8_t> apt_of(const codec_params& ps) {
  if (find_param(ps, "apt") == nullptr)
    return std::nullopt;
  auto v = int_param(ps, "apt", 0);
  if (!v || *v < 0 || *v > 127)
    return std::nullopt;
  return static_cast<uint8_t>(*v);
}

// Whether an rtx codec's apt names payload type `pt`.
bool apt_is(const codec_params& ps, int pt) {
  auto apt = apt_of(ps);
  return apt && *apt == pt;
}

// The router's rtx codec for router media payload type `pt`, or nullptr.
const codec_capability* router_rtx_for(const rtp_capabilities& router, int pt) {
  for (const auto& c : router.codecs)
    if (is_rtx(c.mime_type) && apt_is(c.parameters, pt))
      return &c;
  return nullptr;
}

const codec_capability* router_codec_with_pt(const rtp_capabilities& router, int32_t pt) {
  for (const auto& c : router.codecs)
    if (c.preferred_payload_type == pt)
      return &c;
  return nullptr;
}

// ---- scalability modes ----------------------------------------------------------------------
// The W3C modes (rtp/scalability.hpp), and two single-layer spellings outside that list that
// clients send and mediasoup takes: S1Tn and L1Tn_KEY, both meaning L1Tn.
std::optional<scalability> scalability_of(std::string_view mode) {
  if (auto s = parse_scalability_mode(mode))
    return s;
  constexpr std::string_view key = "_KEY";
  if (mode.size() == 4 && mode[0] == 'S' && mode[1] == '1') {
    const char l1[] = {'L', '1', 'T', mode[3]};
    return parse_scalability_mode(std::string_view(l1, sizeof l1));
  }
  if (mode.size() == 4 + key.size() && mode.starts_with("L1") && mode.ends_with(key))
    return parse_scalability_mode(mode.substr(0, 4));
  return std::nullopt;
}

// ---- map_producer pieces --------------------------------------------------------------------

std::string codec_field(std::size_t i) {
  return "rtpParameters.codecs[" + std::to_string(i) + "]";
}

// Finds the router codec for one producer media codec; an error text (with the field
// prefix) when there is none.
std::string match_router_codec(const rtp_capabilities& router, const codec_parameters& c,
                               std::size_t index, const codec_capability*& matched) {
  bool mime_known = false;
  for (const auto& r : router.codecs) {
    if (is_rtx(r.mime_type))
      continue;
    mime_known = mime_known || iequals(r.mime_type, c.mime_type);
    if (codecs_match(view_of(c), view_of(r))) {
      matched = &r;
      return {};
    }
  }
  // Name the values that decided, unless the router has no such codec at all.
  if (!mime_known)
    return codec_field(index) + ": " + c.mime_type + " is not supported by the router";
  return codec_field(index) + ": " + c.mime_type + " (" + match_details(c) +
         ") is not supported by the router";
}

std::string check_codecs(const rtp_capabilities& router, media_kind kind,
                         const rtp_parameters& params, producer_mapping& mapping) {
  const auto& codecs = params.codecs;
  bool any_media = false;
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    const auto& c = codecs[i];
    if (subtype_of(c.mime_type).empty())
      return codec_field(i) + ": mimeType \"" + c.mime_type +
             "\" is not a mimeType (\"video/VP8\")";
    if (!of_kind(c.mime_type, kind))
      return codec_field(i) + ": mimeType \"" + c.mime_type + "\" does not match kind " +
             std::string(to_string(kind));
    if (c.payload_type > 127)
      return codec_field(i) + ".payloadType " + std::to_string(c.payload_type) +
             " is not a valid payload type";
    for (std::size_t j = 0; j < i; ++j)
      if (codecs[j].payload_type == c.payload_type)
        return codec_field(i) + ".payloadType " + std::to_string(c.payload_type) +
               " duplicates rtpParameters.codecs[" + std::to_string(j) + "]";
    any_media = any_media || !is_rtx(c.mime_type);
  }
  if (!any_media)
    return "rtpParameters.codecs: at least one media codec is required";

  // Media codecs first: rtx codecs map through the media codec their apt names.
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    if (is_rtx(codecs[i].mime_type))
      continue;
    const codec_capability* matched = nullptr;
    if (auto err = match_router_codec(router, codecs[i], i, matched); !err.empty())
      return err;
    mapping.codecs.push_back({codecs[i].payload_type,
                              static_cast<uint8_t>(matched->preferred_payload_type)});
  }
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    if (!is_red(codecs[i].mime_type))
      continue;
    bool opus = false;
    for (const auto& c : codecs)
      opus = opus || is_opus(c.mime_type);
    if (!opus)
      return codec_field(i) + ": audio/red needs audio/opus in rtpParameters.codecs (the "
                              "payload type of its blocks)";
  }
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    const auto& c = codecs[i];
    if (!is_rtx(c.mime_type))
      continue;
    auto apt = apt_of(c.parameters);
    if (!apt)
      return codec_field(i) + ": " + c.mime_type + " needs an apt parameter (a payload type)";
    const payload_type_map_entry* media = nullptr;
    for (const auto& m : mapping.codecs)
      if (m.client == *apt)
        media = &m;
    if (media == nullptr)
      return codec_field(i) + ": " + c.mime_type + " apt " + std::to_string(*apt) +
             " names no media codec of rtpParameters.codecs";
    const auto* router_rtx = router_rtx_for(router, media->router);
    if (router_rtx == nullptr)
      return codec_field(i) + ": the router has no rtx codec for payload type " +
             std::to_string(media->router);
    mapping.rtx.push_back({c.payload_type,
                           static_cast<uint8_t>(router_rtx->preferred_payload_type)});
  }
  return {};
}

// Whether the router receives extension `uri` on streams of `kind`.
const header_extension_capability* router_extension(const rtp_capabilities& router,
                                                    media_kind kind, std::string_view uri) {
  for (const auto& e : router.header_extensions)
    if (e.kind == kind && e.uri == uri &&
        (e.direction == hdrext_direction::sendrecv ||
         e.direction == hdrext_direction::recvonly))
      return &e;
  return nullptr;
}

std::string check_header_extensions(const rtp_capabilities& router, media_kind kind,
                                    const rtp_parameters& params, producer_mapping& mapping) {
  const auto& exts = params.header_extensions;
  for (std::size_t i = 0; i < exts.size(); ++i) {
    const auto field = "rtpParameters.headerExtensions[" + std::to_string(i) + "]";
    const auto& e = exts[i];
    if (e.id == 0)
      return field + ".id 0 is not a valid extension id";
    for (std::size_t j = 0; j < i; ++j) {
      if (exts[j].id == e.id)
        return field + ".id " + std::to_string(e.id) +
               " duplicates rtpParameters.headerExtensions[" + std::to_string(j) + "]";
      if (exts[j].uri == e.uri)
        return field + ": " + e.uri + " duplicates rtpParameters.headerExtensions[" +
               std::to_string(j) + "]";
    }
    // Extensions the router does not know are not an error: the sender may add them, the
    // router strips them when forwarding.
    const auto* known = router_extension(router, kind, e.uri);
    if (known != nullptr)
      mapping.header_extensions.push_back({e.id, known->preferred_id, e.uri});
  }
  return {};
}

// The first media codec's mime type of a producer's parameters.
std::string_view first_media_mime(const rtp_parameters& params) {
  for (const auto& c : params.codecs)
    if (!is_rtx(c.mime_type))
      return c.mime_type;
  return {};
}

bool has_extension(const producer_mapping& mapping, std::string_view uri) {
  for (const auto& e : mapping.header_extensions)
    if (e.uri == uri)
      return true;
  return false;
}

// AV1's payload tells no layer ids: its spatial layers are read from this extension.
bool has_dependency_descriptor(const rtp_parameters& params) {
  for (const auto& e : params.header_extensions)
    if (e.uri == dependency_descriptor_uri)
      return true;
  return false;
}

// Encodings: one stream, or simulcast of up to four (by ssrc, or by rid with the SSRCs
// learnt from the first packets), video only; spatial layers inside one encoding (SVC)
// for VP9, and AV1 with the Dependency Descriptor.
std::string check_encodings(const rtp_parameters& params, producer_mapping& mapping) {
  const auto& encodings = params.encodings;
  if (encodings.empty())
    return "rtpParameters.encodings: at least one encoding (with an ssrc or a rid) is required";
  if (encodings.size() > max_encodings)
    return "rtpParameters.encodings: at most " + std::to_string(max_encodings) +
           " encodings (simulcast streams), got " + std::to_string(encodings.size());
  if (encodings.size() > 1 && mapping.kind != media_kind::video)
    return "rtpParameters.encodings: simulcast (" + std::to_string(encodings.size()) +
           " encodings) is for video only";
  const auto mime = first_media_mime(params);
  for (std::size_t i = 0; i < encodings.size(); ++i) {
    const auto& e = encodings[i];
    const std::string field = "rtpParameters.encodings[" + std::to_string(i) + "]";
    encoding_mapping m;
    if (e.ssrc == 0 && e.rid.empty())
      return field + ": an ssrc or a rid is required";
    if (e.ssrc == 0 && !has_extension(mapping, uri_rid))
      return field + ": rid \"" + e.rid + "\" needs the " + std::string(uri_rid) +
             " header extension";
    for (std::size_t j = 0; j < i; ++j) {
      const auto& o = encodings[j];
      const std::string other = "rtpParameters.encodings[" + std::to_string(j) + "]";
      if (!e.rid.empty() && e.rid == o.rid)
        return field + ".rid \"" + e.rid + "\" duplicates " + other;
      for (auto ssrc : {e.ssrc, e.rtx_ssrc})
        if (ssrc != 0 && (ssrc == o.ssrc || ssrc == o.rtx_ssrc))
          return field + ": ssrc " + std::to_string(ssrc) + " duplicates one of " + other;
    }
    if (!e.scalability_mode.empty()) {
      auto mode = scalability_of(e.scalability_mode);
      if (!mode)
        return field + ".scalabilityMode \"" + e.scalability_mode +
               "\" is not a scalability mode";
      if (mode->spatial > 1 && encodings.size() > 1)
        return field + ".scalabilityMode \"" + e.scalability_mode +
               "\": spatial layers inside a simulcast stream are not supported";
      if (mode->spatial > 1 && !text::iequals(mime, "video/VP9") &&
          !(text::iequals(mime, "video/AV1") && has_dependency_descriptor(params)))
        return field + ".scalabilityMode \"" + e.scalability_mode +
               "\": spatial layers (SVC) are supported for VP9, and AV1 with the Dependency "
               "Descriptor extension, not " + std::string(mime);
      m.spatial_layers = mode->spatial;
      m.temporal_layers = mode->temporal;
      m.ksvc = mode->ksvc;
    }
    if (e.codec_payload_type >= 0) {
      bool found = false;
      for (const auto& c : mapping.codecs)
        found = found || c.client == e.codec_payload_type;
      if (!found)
        return field + ".codecPayloadType " + std::to_string(e.codec_payload_type) +
               " names no media codec of rtpParameters.codecs";
    }
    if (e.rtx_ssrc != 0) {
      if (mapping.rtx.empty())
        return field + ".rtx.ssrc needs an rtx codec in rtpParameters.codecs";
      if (e.rtx_ssrc == e.ssrc)
        return field + ".rtx.ssrc must differ from the ssrc";
    }
    m.ssrc = e.ssrc;
    m.rtx_ssrc = e.rtx_ssrc;
    m.rid = e.rid;
    m.max_bitrate = e.max_bitrate;
    mapping.encodings.push_back(std::move(m));
  }
  mapping.ssrc = encodings[0].ssrc;
  mapping.rtx_ssrc = encodings[0].rtx_ssrc;
  mapping.mid = params.mid;
  return {};
}

// The media kind of a consumable (all its codecs share it).
std::optional<media_kind> kind_of(const rtp_parameters& params) {
  for (const auto& c : params.codecs) {
    if (of_kind(c.mime_type, media_kind::audio))
      return media_kind::audio;
    if (of_kind(c.mime_type, media_kind::video))
      return media_kind::video;
  }
  return std::nullopt;
}

// The first media codec of `consumable` that `caps` can receive, with the caps codec it
// matched; nullptr when none.
const codec_parameters* first_consumable_codec(const rtp_parameters& consumable,
                                               const rtp_capabilities& caps,
                                               const codec_capability** caps_codec) {
  for (const auto& c : consumable.codecs) {
    if (is_rtx(c.mime_type) || is_red(c.mime_type)) // RED only goes with Opus (below)
      continue;
    for (const auto& cap : caps.codecs) {
      if (!is_rtx(cap.mime_type) && codecs_match(view_of(c), view_of(cap))) {
        if (caps_codec != nullptr)
          *caps_codec = &cap;
        return &c;
      }
    }
  }
  return nullptr;
}

void add_red_after_opus(const rtp_capabilities& router, rtp_parameters& out) {
  const codec_capability* red = nullptr;
  for (const auto& c : router.codecs)
    if (is_red(c.mime_type))
      red = &c;
  std::erase_if(out.codecs, [](const codec_parameters& c) { return is_red(c.mime_type); });
  auto opus = std::find_if(out.codecs.begin(), out.codecs.end(),
                      [](const codec_parameters& c) { return is_opus(c.mime_type); });
  if (red == nullptr || opus == out.codecs.end())
    return;
  codec_parameters codec;
  codec.mime_type = red->mime_type;
  codec.payload_type = static_cast<uint8_t>(red->preferred_payload_type);
  codec.clock_rate = red->clock_rate;
  codec.channels = red->channels;
  codec.rtcp_feedback = red->rtcp_feedback; // (a producer's RED parameters name its own types)
  out.codecs.insert(opus + 1, std::move(codec));
}

bool has_feedback(const std::vector<rtcp_feedback>& list, const rtcp_feedback& fb) {
  for (const auto& f : list)
    if (f == fb)
      return true;
  return false;
}

void drop_feedback(std::vector<rtcp_feedback>& list, std::string_view type) {
  std::erase_if(list, [&](const rtcp_feedback& f) { return f.type == type; });
}

} // namespace

result<producer_mapping> map_producer(const rtp_capabilities& router, media_kind kind,
                                      const rtp_parameters& params) {
  producer_mapping mapping;
  mapping.kind = kind;
  if (auto err = check_codecs(router, kind, params, mapping); !err.empty())
    return failure{std::move(err)};
  if (auto err = check_header_extensions(router, kind, params, mapping); !err.empty())
    return failure{std::move(err)};
  if (auto err = check_encodings(params, mapping); !err.empty())
    return failure{std::move(err)};
  mapping.cname = params.rtcp.cname;
  return mapping;
}

rtp_parameters consumable_parameters(const rtp_capabilities& router,
                                     const rtp_parameters& producer,
                                     const producer_mapping& mapping) {
  rtp_parameters out;
  for (const auto& entry : mapping.codecs) {
    // Two producer codecs may map to one router codec (e.g. two H264 levels of one
    // profile): the router forwards it once.
    bool seen = false;
    for (const auto& c : out.codecs)
      seen = seen || c.payload_type == entry.router;
    const auto* cap = router_codec_with_pt(router, entry.router);
    const codec_parameters* source = nullptr;
    for (const auto& c : producer.codecs)
      if (c.payload_type == entry.client && !is_rtx(c.mime_type))
        source = &c;
    if (seen || cap == nullptr || source == nullptr)
      continue;
    codec_parameters codec;
    codec.mime_type = cap->mime_type;
    codec.payload_type = entry.router;
    codec.clock_rate = cap->clock_rate;
    codec.channels = cap->kind == media_kind::audio ? cap->channels : 0;
    // The producer's parameters describe the stream actually sent (its level, stereo,
    // useinbandfec, ...); consumers need those, not the router's.
    codec.parameters = source->parameters;
    codec.rtcp_feedback = cap->rtcp_feedback;
    out.codecs.push_back(std::move(codec));
    // The router's rtx codec follows whether or not the producer uses rtx: the router
    // retransmits to its consumers from its own buffer.
    if (const auto* rtx = router_rtx_for(router, entry.router)) {
      codec_parameters r;
      r.mime_type = rtx->mime_type;
      r.payload_type = static_cast<uint8_t>(rtx->preferred_payload_type);
      r.clock_rate = rtx->clock_rate;
      r.parameters = rtx->parameters;
      r.rtcp_feedback = rtx->rtcp_feedback;
      out.codecs.push_back(std::move(r));
    }
  }
  // An Opus stream is offered with RED too when the router has it: RED that the producer
  // sends is unwrapped for receivers without it, plain Opus wrapped for those with it. RED
  // comes after Opus: the consumable's first codec is what the stream carries.
  add_red_after_opus(router, out);
  // In the router's order: the extensions the producer sends that the router may send
  // (recvonly ones, such as rid or audio transport-cc, stay between the producer and the
  // router), and those the router writes itself (sendonly: it never receives them).
  for (const auto& cap : router.header_extensions) {
    if (cap.kind != mapping.kind || (cap.direction != hdrext_direction::sendrecv &&
                                     cap.direction != hdrext_direction::sendonly))
      continue;
    bool mapped = cap.direction == hdrext_direction::sendonly;
    for (const auto& e : mapping.header_extensions)
      mapped = mapped || (e.uri == cap.uri && e.router == cap.preferred_id);
    if (mapped)
      out.header_extensions.push_back({cap.uri, cap.preferred_id, cap.preferred_encrypt, {}});
  }
  // One encoding per received stream, with its layers spelled out (the consumers' layer
  // selection and the type read them); the producer's ssrc where it gave one.
  for (const auto& m : mapping.encodings) {
    encoding_parameters encoding;
    encoding.ssrc = m.ssrc;
    if (m.spatial_layers > 1 || m.temporal_layers > 1)
      encoding.scalability_mode = "L" + std::to_string(m.spatial_layers) + "T" +
                                  std::to_string(m.temporal_layers) + (m.ksvc ? "_KEY" : "");
    encoding.max_bitrate = m.max_bitrate;
    out.encodings.push_back(std::move(encoding));
  }
  if (mapping.encodings.empty()) {
    encoding_parameters encoding;
    encoding.ssrc = mapping.ssrc;
    out.encodings.push_back(encoding);
  }
  out.rtcp.cname = mapping.cname.empty() ? producer.rtcp.cname : mapping.cname;
  out.rtcp.reduced_size = true;
  return out;
}

layering layering_of(const rtp_parameters& consumable) {
  layering out;
  out.simulcast = consumable.encodings.size() > 1;
  if (out.simulcast)
    out.spatial = uint8_t(consumable.encodings.size());
  for (const auto& e : consumable.encodings) {
    if (e.scalability_mode.empty())
      continue;
    if (auto mode = scalability_of(e.scalability_mode)) {
      out.temporal = std::max(out.temporal, mode->temporal);
      if (!out.simulcast)
        out.spatial = mode->spatial;
    }
  }
  return out;
}

std::optional<red_payload_types> red_payload_types_of(const rtp_parameters& consumable) {
  red_payload_types pts;
  bool red = false, opus = false;
  for (const auto& c : consumable.codecs) {
    if (is_red(c.mime_type)) {
      pts.red = c.payload_type;
      red = true;
    } else if (is_opus(c.mime_type)) {
      pts.opus = c.payload_type;
      opus = true;
    }
  }
  return red && opus ? std::optional(pts) : std::nullopt;
}

const codec_capability* router_codec_for(const rtp_capabilities& router,
                                         const codec_parameters& codec) {
  if (is_rtx(codec.mime_type))
    return nullptr;
  for (const auto& r : router.codecs)
    if (!is_rtx(r.mime_type) && codecs_match(view_of(codec), view_of(r)))
      return &r;
  return nullptr;
}

const codec_capability* router_rtx_codec_for(const rtp_capabilities& router,
                                             const codec_capability& media) {
  return router_rtx_for(router, media.preferred_payload_type);
}

bool router_receives_extension(const rtp_capabilities& router, media_kind kind,
                               std::string_view uri) {
  return router_extension(router, kind, uri) != nullptr;
}

bool can_consume(const rtp_parameters& consumable, const rtp_capabilities& caps) {
  return first_consumable_codec(consumable, caps, nullptr) != nullptr;
}

result<rtp_parameters> consumer_parameters(const rtp_parameters& consumable,
                                           const rtp_capabilities& caps,
                                           const consumer_options& options) {
  const codec_capability* cap = nullptr;
  const auto* media = first_consumable_codec(consumable, caps, &cap);
  if (media == nullptr) {
    std::string names;
    for (const auto& c : consumable.codecs) {
      if (is_rtx(c.mime_type))
        continue;
      names += (names.empty() ? "" : ", ") + c.mime_type;
    }
    return failure{"rtpCapabilities: no codec of the producer (" + names +
                   ") can be received"};
  }
  if (options.ssrc == 0)
    return failure{"consumer ssrc is required"};
  const auto kind = kind_of(consumable).value_or(media_kind::audio);

  rtp_parameters out;
  out.mid = options.mid;
  codec_parameters codec = *media;
  // Feedback both ends implement: the router's list reduced to what the receiver lists.
  std::erase_if(codec.rtcp_feedback,
                [&](const rtcp_feedback& fb) { return !has_feedback(cap->rtcp_feedback, fb); });
  // RED before Opus when the consumable offers it and the receiver lists it: the receiver
  // gets RED (whatever the producer sends) and decodes the Opus inside.
  if (is_opus(media->mime_type))
    for (const auto& c : consumable.codecs) {
      if (!is_red(c.mime_type))
        continue;
      for (const auto& rc : caps.codecs) {
        if (!codecs_match(view_of(c), view_of(rc)))
          continue;
        codec_parameters red = c;
        std::erase_if(red.rtcp_feedback,
                      [&](const rtcp_feedback& fb) { return !has_feedback(rc.rtcp_feedback, fb); });
        // RFC 2198's fmtp names the blocks' payload type ("100/100"); a receiver matches RED
        // by it (libwebrtc drops RED from its answer without it). It has no name: the
        // stock client writes a parameter as "name=value", and an empty name makes
        // "=100/100", which SDP parsers read as the unnamed value.
        const auto opus = std::to_string(media->payload_type);
        red.parameters = {codec_param{"", opus + "/" + opus, false}};
        out.codecs.push_back(std::move(red));
        break;
      }
    }
  out.codecs.push_back(std::move(codec));

  // rtx only when the receiver has an rtx codec bound to this very payload type (that is
  // how mediasoup-client lists it: apt = the router's payload type).
  const codec_parameters* rtx = nullptr;
  for (const auto& c : consumable.codecs) {
    if (is_rtx(c.mime_type) && apt_is(c.parameters, media->payload_type)) {
      rtx = &c;
      break;
    }
  }
  bool with_rtx = false;
  for (const auto& c : caps.codecs)
    with_rtx = with_rtx || (rtx != nullptr && is_rtx(c.mime_type) &&
                            c.clock_rate == rtx->clock_rate &&
                            apt_is(c.parameters, media->payload_type));
  if (with_rtx) {
    if (options.rtx_ssrc == 0 || options.rtx_ssrc == options.ssrc)
      return failure{"consumer rtx ssrc is required (and must differ from the ssrc) when rtx "
                     "is negotiated"};
    out.codecs.push_back(*rtx);
  }

  // Extensions the receiver lists with the same id for this kind, and can receive.
  for (const auto& e : consumable.header_extensions) {
    for (const auto& c : caps.header_extensions) {
      if (c.kind == kind && c.uri == e.uri && c.preferred_id == e.id &&
          c.direction != hdrext_direction::sendonly &&
          c.direction != hdrext_direction::inactive) {
        out.header_extensions.push_back(e);
        break;
      }
    }
  }

  // Bandwidth feedback follows the extension it relies on: transport-cc feedback needs the
  // transport-wide sequence numbers; REMB needs abs-send-time and is redundant (and
  // confusing to the sender) next to transport-cc.
  bool twcc = false;
  bool abs_send_time = false;
  for (const auto& e : out.header_extensions) {
    twcc = twcc || e.uri == uri_transport_cc;
    abs_send_time = abs_send_time || e.uri == uri_abs_send_time;
  }
  for (auto& c : out.codecs) {
    if (!twcc)
      drop_feedback(c.rtcp_feedback, "transport-cc");
    if (twcc || !abs_send_time)
      drop_feedback(c.rtcp_feedback, "goog-remb");
  }

  encoding_parameters encoding;
  encoding.ssrc = options.ssrc;
  if (with_rtx)
    encoding.rtx_ssrc = options.rtx_ssrc;
  // The receiver gets one stream; its layers as mediasoup spells them: simulcast of n
  // streams with t temporal layers is "LnTt", an SVC stream keeps its mode.
  const auto layers = layering_of(consumable);
  if (layers.simulcast)
    encoding.scalability_mode =
      "L" + std::to_string(layers.spatial) + "T" + std::to_string(layers.temporal);
  else if (!consumable.encodings.empty())
    encoding.scalability_mode = consumable.encodings[0].scalability_mode;
  out.encodings.push_back(encoding);
  out.rtcp.cname = options.cname.empty() ? consumable.rtcp.cname : options.cname;
  out.rtcp.reduced_size = consumable.rtcp.reduced_size;
  return out;
}

} // namespace chorus::rtp
