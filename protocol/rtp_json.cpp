// rtp/ and net/ signaling objects -> JSON with mediasoup's field names. Optional fields
// that are absent (0 / empty / -1 in the structs) are omitted. The parsers live in
// rtp_json_parse.cpp.
#include "protocol/rtp_json.hpp"

#include <charconv>
#include <cmath>

namespace chorus::protocol {

namespace {

void key(json_writer& w, std::string_view k) {
  w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
}

void str(json_writer& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void member(json_writer& w, std::string_view k, std::string_view s) {
  key(w, k);
  str(w, s);
}

// Finite doubles only: RapidJSON writes nothing for NaN or infinity.
void finite_double(json_writer& w, double d) {
  w.Double(std::isfinite(d) ? d : 0.0);
}

template <class T>
bool parse_all(const std::string& text, T& out) {
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), last, out);
  return !text.empty() && ec == std::errc{} && ptr == last;
}

// A numeric parameter is written as a JSON number when its text is one, else as a
// string, so that a hand-built codec_param can never produce invalid JSON.
void write_param_value(json_writer& w, const rtp::codec_param& p) {
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;
  if (p.numeric && parse_all(p.value, i))
    w.Int64(i);
  else if (p.numeric && parse_all(p.value, u))
    w.Uint64(u);
  else if (p.numeric && parse_all(p.value, d) && std::isfinite(d))
    w.Double(d);
  else
    str(w, p.value);
}

void write_params(json_writer& w, const rtp::codec_params& ps) {
  key(w, "parameters");
  w.StartObject();
  for (const auto& p : ps) {
    key(w, p.key);
    write_param_value(w, p);
  }
  w.EndObject();
}

void write_feedback(json_writer& w, const std::vector<rtp::rtcp_feedback>& fbs) {
  key(w, "rtcpFeedback");
  w.StartArray();
  for (const auto& fb : fbs) {
    w.StartObject();
    member(w, "type", fb.type);
    member(w, "parameter", fb.parameter);
    w.EndObject();
  }
  w.EndArray();
}

void write_codec(json_writer& w, const rtp::codec_capability& c) {
  w.StartObject();
  member(w, "kind", rtp::to_string(c.kind));
  member(w, "mimeType", c.mime_type);
  if (c.preferred_payload_type >= 0) {
    key(w, "preferredPayloadType");
    w.Int(c.preferred_payload_type);
  }
  key(w, "clockRate");
  w.Uint(c.clock_rate);
  if (c.channels > 0) {
    key(w, "channels");
    w.Uint(c.channels);
  }
  write_params(w, c.parameters);
  write_feedback(w, c.rtcp_feedback);
  w.EndObject();
}

void write_ext(json_writer& w, const rtp::header_extension_capability& e) {
  w.StartObject();
  member(w, "kind", rtp::to_string(e.kind));
  member(w, "uri", e.uri);
  key(w, "preferredId");
  w.Uint(e.preferred_id);
  key(w, "preferredEncrypt");
  w.Bool(e.preferred_encrypt);
  member(w, "direction", rtp::to_string(e.direction));
  w.EndObject();
}

void write_codec(json_writer& w, const rtp::codec_parameters& c) {
  w.StartObject();
  member(w, "mimeType", c.mime_type);
  key(w, "payloadType");
  w.Uint(c.payload_type);
  key(w, "clockRate");
  w.Uint(c.clock_rate);
  if (c.channels > 0) {
    key(w, "channels");
    w.Uint(c.channels);
  }
  write_params(w, c.parameters);
  write_feedback(w, c.rtcp_feedback);
  w.EndObject();
}

void write_ext(json_writer& w, const rtp::header_extension_parameters& e) {
  w.StartObject();
  member(w, "uri", e.uri);
  key(w, "id");
  w.Uint(e.id);
  key(w, "encrypt");
  w.Bool(e.encrypt);
  write_params(w, e.parameters);
  w.EndObject();
}

void write_encoding(json_writer& w, const rtp::encoding_parameters& e) {
  w.StartObject();
  if (e.ssrc != 0) {
    key(w, "ssrc");
    w.Uint(e.ssrc);
  }
  if (!e.rid.empty())
    member(w, "rid", e.rid);
  if (e.codec_payload_type >= 0) {
    key(w, "codecPayloadType");
    w.Int(e.codec_payload_type);
  }
  if (e.rtx_ssrc != 0) {
    key(w, "rtx");
    w.StartObject();
    key(w, "ssrc");
    w.Uint(e.rtx_ssrc);
    w.EndObject();
  }
  if (e.dtx) {
    key(w, "dtx");
    w.Bool(true);
  }
  if (!e.scalability_mode.empty())
    member(w, "scalabilityMode", e.scalability_mode);
  if (e.max_bitrate != 0) {
    key(w, "maxBitrate");
    w.Uint(e.max_bitrate);
  }
  if (e.scale_resolution_down_by > 0) {
    key(w, "scaleResolutionDownBy");
    finite_double(w, e.scale_resolution_down_by);
  }
  w.EndObject();
}

void write_rtcp(json_writer& w, const rtp::rtcp_parameters& r) {
  key(w, "rtcp");
  w.StartObject();
  if (!r.cname.empty())
    member(w, "cname", r.cname);
  key(w, "reducedSize");
  w.Bool(r.reduced_size);
  w.EndObject();
}

template <class T>
void write_array(json_writer& w, std::string_view k, const std::vector<T>& items) {
  key(w, k);
  w.StartArray();
  for (const auto& item : items)
    write_json(w, item);
  w.EndArray();
}

} // namespace

void write_json(json_writer& w, const rtp::rtp_capabilities& caps) {
  w.StartObject();
  key(w, "codecs");
  w.StartArray();
  for (const auto& c : caps.codecs)
    write_codec(w, c);
  w.EndArray();
  key(w, "headerExtensions");
  w.StartArray();
  for (const auto& e : caps.header_extensions)
    write_ext(w, e);
  w.EndArray();
  w.EndObject();
}

void write_json(json_writer& w, const rtp::rtp_parameters& params) {
  w.StartObject();
  if (!params.mid.empty())
    member(w, "mid", params.mid);
  key(w, "codecs");
  w.StartArray();
  for (const auto& c : params.codecs)
    write_codec(w, c);
  w.EndArray();
  key(w, "headerExtensions");
  w.StartArray();
  for (const auto& e : params.header_extensions)
    write_ext(w, e);
  w.EndArray();
  key(w, "encodings");
  w.StartArray();
  for (const auto& e : params.encodings)
    write_encoding(w, e);
  w.EndArray();
  write_rtcp(w, params.rtcp);
  w.EndObject();
}

void write_json(json_writer& w, const net::dtls_parameters& params) {
  w.StartObject();
  member(w, "role", net::to_string(params.role));
  key(w, "fingerprints");
  w.StartArray();
  for (const auto& f : params.fingerprints) {
    w.StartObject();
    member(w, "algorithm", f.algorithm);
    member(w, "value", f.value);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

void write_json(json_writer& w, const ice_parameters& params) {
  w.StartObject();
  member(w, "usernameFragment", params.username_fragment);
  member(w, "password", params.password);
  key(w, "iceLite");
  w.Bool(params.ice_lite);
  w.EndObject();
}

// mediasoup-client reads `address`; `ip` is its older name, kept for older clients.
void write_json(json_writer& w, const ice_candidate& cand) {
  w.StartObject();
  member(w, "foundation", cand.foundation);
  key(w, "priority");
  w.Uint(cand.priority);
  member(w, "address", cand.address);
  member(w, "ip", cand.address);
  key(w, "port");
  w.Uint(cand.port);
  member(w, "protocol", cand.protocol);
  member(w, "type", cand.type);
  if (!cand.tcp_type.empty())
    member(w, "tcpType", cand.tcp_type);
  w.EndObject();
}

void write_json(json_writer& w, const rtc_ice_server& server) {
  w.StartObject();
  key(w, "urls");
  w.StartArray();
  for (const auto& url : server.urls)
    w.String(url.data(), rapidjson::SizeType(url.size()));
  w.EndArray();
  member(w, "username", server.username);
  member(w, "credential", server.credential);
  w.EndObject();
}

void write_json(json_writer& w, const transport_params& params) {
  w.StartObject();
  member(w, "id", params.id);
  key(w, "iceParameters");
  write_json(w, params.ice_parameters);
  write_array(w, "iceCandidates", params.ice_candidates);
  if (!params.ice_servers.empty())
    write_array(w, "iceServers", params.ice_servers);
  if (!params.ice_transport_policy.empty())
    member(w, "iceTransportPolicy", params.ice_transport_policy);
  key(w, "dtlsParameters");
  write_json(w, params.dtls_parameters);
  if (params.has_sctp) {
    const auto& p = params.sctp_parameters;
    key(w, "sctpParameters");
    w.StartObject();
    key(w, "port");
    w.Uint(p.port);
    key(w, "OS");
    w.Uint(p.os);
    key(w, "MIS");
    w.Uint(p.mis);
    key(w, "maxMessageSize");
    w.Uint(p.max_message_size);
    w.EndObject();
  }
  w.EndObject();
}

namespace {

// get-participants' flags, only where true (the participant lists never set them).
void write_page_flags(json_writer& w, const participant& p) {
  if (p.in_audience) {
    key(w, "inAudience");
    w.Bool(true);
  }
  if (p.hand_raised) {
    key(w, "handRaised");
    w.Bool(true);
  }
}

} // namespace

void write_json(json_writer& w, const participant& p, bool frontend) {
  w.StartObject();
  if (!frontend) {
    member(w, "id", p.id);
    member(w, "name", p.name);
    key(w, "isAudioMuted");
    w.Bool(p.is_audio_muted);
    key(w, "isVideoPaused");
    w.Bool(p.is_video_paused);
    if (!p.role.empty())
      member(w, "role", p.role);
    if (p.is_screen_sharing) {
      key(w, "isScreenSharing");
      w.Bool(true);
    }
    write_page_flags(w, p);
    w.EndObject();
    return;
  }
  member(w, "id", p.user_id.empty() ? p.id : p.user_id);
  member(w, "name", p.name);
  member(w, "imageUrl", p.image_url);
  key(w, "isHost");
  w.Bool(p.is_host);
  key(w, "isCoHost");
  w.Bool(p.is_co_host);
  key(w, "isAudioMuted");
  w.Bool(p.is_audio_muted);
  key(w, "isVideoPaused");
  w.Bool(p.is_video_paused);
  key(w, "audioLocked");
  w.Bool(p.audio_locked);
  key(w, "screenShareLocked");
  w.Bool(p.screen_share_locked);
  // The seed 004 frontend's items keep exactly its fields (it learns of screen shares from
  // new-producer's isScreenShare).
  if (!p.role.empty())
    member(w, "role", p.role);
  write_page_flags(w, p);
  w.EndObject();
}

std::string to_json(const rtp::rtp_capabilities& caps) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  write_json(w, caps);
  return std::string(buf.GetString(), buf.GetSize());
}

} // namespace chorus::protocol
