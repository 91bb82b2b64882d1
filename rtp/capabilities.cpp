// Router capabilities in the way of mediasoup's ortc.generateRouterRtpCapabilities:
// every configured codec is matched against a supported one, gets that codec's RTCP
// feedback and a dynamic payload type; each video codec is followed by its rtx codec.
#include "rtp/capabilities.hpp"

#include "common/text.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/h264_profile.hpp"
#include "rtp/playout_delay.hpp"

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>

namespace chorus::rtp {

namespace {

using text::iequals;
using text::lowercase;

// ---- the supported capabilities ------------------------------------------------------

codec_param num_param(std::string key, int value) {
  return codec_param{std::move(key), std::to_string(value), true};
}

std::vector<rtcp_feedback> audio_feedback() {
  return {{"nack", ""}, {"transport-cc", ""}};
}

std::vector<rtcp_feedback> video_feedback() {
  return {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}, {"goog-remb", ""},
          {"transport-cc", ""}};
}

codec_capability supported_codec(media_kind kind, std::string mime, uint32_t clock_rate,
                                 uint16_t channels, codec_params params,
                                 std::vector<rtcp_feedback> feedback) {
  codec_capability c;
  c.kind = kind;
  c.mime_type = std::move(mime);
  c.clock_rate = clock_rate;
  c.channels = channels;
  c.parameters = std::move(params);
  c.rtcp_feedback = std::move(feedback);
  return c;
}

std::vector<codec_capability> supported_codecs() {
  const auto v = media_kind::video;
  return {
    supported_codec(media_kind::audio, "audio/opus", 48000, 2, {}, audio_feedback()),
    supported_codec(v, "video/VP8", 90000, 0, {}, video_feedback()),
    supported_codec(v, "video/VP9", 90000, 0, {}, video_feedback()),
    supported_codec(v, "video/H264", 90000, 0,
                    {num_param("packetization-mode", 1),
                     num_param("level-asymmetry-allowed", 1)},
                    video_feedback()),
    supported_codec(v, "video/AV1", 90000, 0, {}, video_feedback()),
    supported_codec(v, "video/rtx", 90000, 0, {}, {}),
    // RFC 2198 redundancy around Opus: no feedback of its own (a receiver of RED recovers
    // from the next packets, not by NACK).
    supported_codec(media_kind::audio, "audio/red", 48000, 2, {}, {}),
  };
}

header_extension_capability ext(media_kind kind, std::string uri, uint8_t id,
                                hdrext_direction dir = hdrext_direction::sendrecv) {
  return header_extension_capability{kind, std::move(uri), id, false, dir};
}

std::vector<header_extension_capability> supported_header_extensions() {
  const auto a = media_kind::audio;
  const auto v = media_kind::video;
  const auto recvonly = hdrext_direction::recvonly;
  const std::string mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
  const std::string abs_send_time =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
  const std::string twcc =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
  const std::string abs_capture_time =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
  return {
    ext(a, mid, 1),
    ext(v, mid, 1),
    ext(v, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", 2, recvonly),
    ext(v, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", 3, recvonly),
    ext(a, abs_send_time, 4),
    ext(v, abs_send_time, 4),
    ext(a, twcc, 5, recvonly),
    ext(v, twcc, 5),
    ext(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 10),
    ext(v, "urn:3gpp:video-orientation", 11),
    ext(v, "urn:ietf:params:rtp-hdrext:toffset", 12),
    ext(a, abs_capture_time, 13),
    ext(v, abs_capture_time, 13),
    ext(v, dependency_descriptor_uri, 8),
    // Written by the router itself (sendonly): what a lossy receiver is told
    // (rtp/playout_delay.hpp); a publisher's own is not taken.
    ext(v, playout_delay_uri, 6, hdrext_direction::sendonly),
  };
}

// The integer value of a parameter (numeric, or a string of digits); nullopt when the
// parameter is absent; `bad` is set when present but not an integer.
std::optional<long long> int_param(const codec_params& ps, std::string_view key, bool& bad) {
  const auto* p = find_param(ps, key);
  if (p == nullptr)
    return std::nullopt;
  long long v = 0;
  const auto* first = p->value.data();
  const auto* last = first + p->value.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc{} || ptr != last || p->value.empty()) {
    bad = true;
    return std::nullopt;
  }
  return v;
}

// ---- matching a configured codec ---------------------------------------------------------

std::string codec_prefix(std::size_t index, const media_codec_config& c) {
  return "mediaCodecs[" + std::to_string(index) + "] (" + c.mime_type + "): ";
}

std::string_view subtype_of(std::string_view mime) noexcept {
  auto slash = mime.find('/');
  return slash == std::string_view::npos ? std::string_view{} : mime.substr(slash + 1);
}

// Checks kind/mimeType consistency; returns an error text or "".
std::string check_mime(const media_codec_config& c) {
  auto slash = c.mime_type.find('/');
  if (c.mime_type.empty() || slash == std::string::npos || slash + 1 == c.mime_type.size())
    return "mimeType must look like \"audio/opus\"";
  if (!iequals(std::string_view(c.mime_type).substr(0, slash), to_string(c.kind)))
    return "kind " + std::string(to_string(c.kind)) + " does not match the mimeType";
  if (iequals(subtype_of(c.mime_type), "rtx"))
    return "rtx cannot be configured: it is added after each video codec";
  return {};
}

const codec_capability* find_supported(const media_codec_config& c) {
  for (const auto& s : supported_capabilities().codecs)
    if (s.kind == c.kind && iequals(s.mime_type, c.mime_type))
      return &s;
  return nullptr;
}

std::string check_h264(const codec_params& ps) {
  bool bad = false;
  auto mode = int_param(ps, "packetization-mode", bad);
  if (bad || mode.value_or(0) != 1)
    return "packetization-mode must be 1";
  const auto* plid = find_param(ps, "profile-level-id");
  if (plid == nullptr)
    return "profile-level-id is required";
  if (plid->numeric || !parse_h264_profile_level_id(plid->value))
    return "profile-level-id \"" + plid->value + "\" is not a valid H264 profile-level-id";
  return {};
}

std::string check_vp9(const codec_params& ps) {
  bool bad = false;
  auto profile = int_param(ps, "profile-id", bad);
  if (bad || profile.value_or(0) < 0 || profile.value_or(0) > 3)
    return "profile-id must be 0, 1, 2 or 3";
  return {};
}

std::string check_against(const media_codec_config& c, const codec_capability& s) {
  if (c.clock_rate != s.clock_rate)
    return "clockRate must be " + std::to_string(s.clock_rate);
  if (c.kind == media_kind::audio) {
    const uint16_t channels = c.channels == 0 ? 1 : c.channels;
    if (channels != s.channels)
      return "channels must be " + std::to_string(s.channels);
  } else if (c.channels != 0) {
    return "channels is only valid for audio codecs";
  }
  for (const auto& p : c.parameters)
    if (p.key.empty())
      return "parameter names must not be empty";
  if (iequals(c.mime_type, "video/H264"))
    return check_h264(c.parameters);
  if (iequals(c.mime_type, "video/VP9"))
    return check_vp9(c.parameters);
  return {};
}

// What makes two configured codecs the same codec: mimeType, clock rate, channels and
// the parameters that select a profile.
std::string identity_of(const media_codec_config& c) {
  std::string id = lowercase(c.mime_type) + "/" + std::to_string(c.clock_rate) + "/" +
                   std::to_string(c.channels == 0 ? 1 : c.channels);
  if (iequals(c.mime_type, "video/H264")) {
    const auto* plid = find_param(c.parameters, "profile-level-id");
    id.append("/").append(plid ? lowercase(plid->value) : std::string{});
  } else if (iequals(c.mime_type, "video/VP9")) {
    bool bad = false;
    id.append("/").append(std::to_string(int_param(c.parameters, "profile-id", bad).value_or(0)));
  }
  return id;
}

// Dynamic payload types in mediasoup's order of preference (RFC 3551 section 3:
// 96-127 are dynamic; 35-63 are unassigned and used by browsers when 96-127 run out).
std::vector<uint8_t> dynamic_payload_types() {
  std::vector<uint8_t> pts;
  for (int pt = 100; pt <= 127; ++pt)
    pts.push_back(static_cast<uint8_t>(pt));
  for (int pt = 96; pt <= 99; ++pt)
    pts.push_back(static_cast<uint8_t>(pt));
  for (int pt = 35; pt <= 63; ++pt)
    pts.push_back(static_cast<uint8_t>(pt));
  return pts;
}

codec_params merged_parameters(const codec_params& configured, const codec_params& base) {
  codec_params out = configured;
  for (const auto& p : base)
    if (find_param(out, p.key) == nullptr)
      out.push_back(p);
  return out;
}

codec_capability rtx_for(const codec_capability& video, uint8_t pt) {
  codec_capability rtx;
  rtx.kind = media_kind::video;
  rtx.mime_type = "video/rtx";
  rtx.preferred_payload_type = pt;
  rtx.clock_rate = video.clock_rate;
  rtx.parameters = {num_param("apt", video.preferred_payload_type)};
  return rtx;
}

// Validates one configured codec; returns an error text (without prefix) or "".
std::string validate_codec(const media_codec_config& c, const codec_capability*& matched) {
  if (auto err = check_mime(c); !err.empty())
    return err;
  matched = find_supported(c);
  if (matched == nullptr)
    return "codec not supported";
  return check_against(c, *matched);
}

} // namespace

const rtp_capabilities& supported_capabilities() {
  static const rtp_capabilities caps{supported_codecs(), supported_header_extensions()};
  return caps;
}

std::vector<media_codec_config> default_media_codecs() {
  auto h264 = [](const char* profile) {
    return media_codec_config{media_kind::video, "video/H264", 90000, 0,
                              {num_param("packetization-mode", 1),
                               num_param("level-asymmetry-allowed", 1),
                               codec_param{"profile-level-id", profile, false}}};
  };
  return {
    media_codec_config{media_kind::audio, "audio/opus", 48000, 2, {}},
    media_codec_config{media_kind::video, "video/VP8", 90000, 0, {}},
    media_codec_config{media_kind::video, "video/VP9", 90000, 0, {num_param("profile-id", 0)}},
    h264("42e01f"),
    h264("4d0032"),
    media_codec_config{media_kind::video, "video/AV1", 90000, 0, {}},
    media_codec_config{media_kind::audio, "audio/red", 48000, 2, {}},
  };
}

result<rtp_capabilities> generate_router_capabilities(
  const std::vector<media_codec_config>& media_codecs) {
  if (media_codecs.empty())
    return failure{"mediaCodecs must name at least one codec"};
  rtp_capabilities caps;
  caps.header_extensions = supported_capabilities().header_extensions;
  auto pts = dynamic_payload_types();
  std::size_t next_pt = 0;
  std::vector<std::string> identities;
  for (std::size_t i = 0; i < media_codecs.size(); ++i) {
    const auto& c = media_codecs[i];
    const codec_capability* matched = nullptr;
    if (auto err = validate_codec(c, matched); !err.empty())
      return failure{codec_prefix(i, c) + err};
    auto identity = identity_of(c);
    for (std::size_t j = 0; j < identities.size(); ++j)
      if (identities[j] == identity)
        return failure{codec_prefix(i, c) + "duplicates mediaCodecs[" + std::to_string(j) +
                       "]"};
    identities.push_back(std::move(identity));
    const std::size_t needed = c.kind == media_kind::video ? 2 : 1;
    if (next_pt + needed > pts.size())
      return failure{codec_prefix(i, c) + "no dynamic payload type left"};
    codec_capability codec = *matched;
    codec.preferred_payload_type = pts[next_pt++];
    codec.parameters = merged_parameters(c.parameters, matched->parameters);
    caps.codecs.push_back(codec);
    if (codec.kind == media_kind::video)
      caps.codecs.push_back(rtx_for(codec, pts[next_pt++]));
  }
  // RED carries Opus: without Opus there is nothing to wrap or unwrap.
  for (std::size_t i = 0; i < media_codecs.size(); ++i)
    if (iequals(media_codecs[i].mime_type, "audio/red")) {
      bool opus = false;
      for (const auto& c : media_codecs)
        opus = opus || iequals(c.mime_type, "audio/opus");
      if (!opus)
        return failure{codec_prefix(i, media_codecs[i]) + "needs audio/opus in mediaCodecs"};
    }
  return caps;
}

} // namespace chorus::rtp
