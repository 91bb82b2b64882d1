// JSON -> rtp/ and net/ signaling objects, following mediasoup-client's ortc validation
// (validateAndNormalizeRtpCapabilities, validateAndNormalizeRtpParameters and friends):
// the same fields are required and typed the same way, plus bounds on every array,
// string and integer. Null members count as absent, as `x && typeof x ...` does there.
#include "protocol/json_reader.hpp"
#include "protocol/rtp_json.hpp"

#include <array>
#include <cctype>
#include <cmath>

namespace chorus::protocol {

namespace {

using json::issue;
using json::object_reader;
using rapidjson::Value;

constexpr int64_t max_u32 = 4294967295LL;

// Calls `each(entry, path)` for every entry of the array member `key`.
template <class F>
void for_each_entry(object_reader& r, std::string_view key, bool required, issue& err,
                    F&& each) {
  const Value* arr = r.member(key, required);
  if (arr == nullptr || !json::check_array(*arr, r.path(key), err))
    return;
  for (rapidjson::SizeType i = 0; i < arr->Size() && !err.failed; ++i) {
    const auto path = json::join(r.path(key), i);
    if (json::check_object((*arr)[i], path, err))
      each((*arr)[i], path);
  }
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

bool parse_kind(std::string_view text, rtp::media_kind& out) {
  if (text == "audio")
    out = rtp::media_kind::audio;
  else if (text == "video")
    out = rtp::media_kind::video;
  else
    return false;
  return true;
}

// mimeType: "(audio|video)/<subtype>", case-insensitive; yields the kind.
bool read_mime_type(object_reader& r, std::string& out, rtp::media_kind& kind) {
  if (!r.text("mimeType", out, true, 1))
    return false;
  auto slash = out.find('/');
  bool ok = slash != std::string::npos && slash + 1 < out.size();
  if (ok) {
    const std::string_view type = std::string_view(out).substr(0, slash);
    ok = iequals(type, "audio") || iequals(type, "video");
    kind = iequals(type, "audio") ? rtp::media_kind::audio : rtp::media_kind::video;
  }
  return ok || r.fail("mimeType", "must look like \"audio/opus\" or \"video/VP8\"");
}

// A `parameters` object: values are strings or numbers; `apt` must be a payload type.
void read_params(object_reader& r, rtp::codec_params& out, issue& err) {
  const Value* obj = r.member("parameters", false);
  const auto path = r.path("parameters");
  if (obj == nullptr || !json::check_object(*obj, path, err))
    return;
  if (obj->MemberCount() > json::max_entries) {
    err.fail(path + " must have at most " + std::to_string(json::max_entries) + " members");
    return;
  }
  for (auto it = obj->MemberBegin(); it != obj->MemberEnd() && !err.failed; ++it) {
    rtp::codec_param p;
    p.key.assign(it->name.GetString(), it->name.GetStringLength());
    const auto key_path = json::join(path, p.key);
    if (p.key.empty() || p.key.size() > json::max_text) {
      err.fail(path + " has a member name that is empty or longer than 256 bytes");
      return;
    }
    const Value& v = it->value;
    if (p.key == "apt") {
      int64_t pt = 0;
      if (!json::read_int(v, key_path, 0, 127, pt, err))
        return;
    }
    if (v.IsString()) {
      json::read_text(v, key_path, 0, json::max_text, p.value, err);
    } else if (v.IsNumber() && (!v.IsDouble() || std::isfinite(v.GetDouble()))) {
      p.value = json::number_text(v);
      p.numeric = true;
    } else {
      err.fail(key_path + " must be a string or a number");
    }
    out.push_back(std::move(p));
  }
}

void read_feedback(object_reader& r, std::vector<rtp::rtcp_feedback>& out, issue& err) {
  for_each_entry(r, "rtcpFeedback", false, err, [&](const Value& v, const std::string& p) {
    object_reader fr(v, p, err);
    rtp::rtcp_feedback fb;
    fr.text("type", fb.type, true, 1);
    fr.text("parameter", fb.parameter, false);
    out.push_back(std::move(fb));
  });
}

// clockRate and channels; channels only for audio (mediasoup-client drops it for video).
void read_clock_and_channels(object_reader& r, rtp::media_kind kind, uint32_t& clock_rate,
                             uint16_t& channels) {
  r.integer("clockRate", clock_rate, true, 1, max_u32);
  if (kind == rtp::media_kind::audio)
    r.integer("channels", channels, false, 1, 255);
}

rtp::codec_capability read_codec_capability(const Value& v, const std::string& path,
                                            issue& err) {
  object_reader r(v, path, err);
  rtp::codec_capability c;
  read_mime_type(r, c.mime_type, c.kind);
  // `kind` is optional (mediasoup-client derives it) but must agree with the mimeType.
  std::string kind_text;
  rtp::media_kind kind{};
  if (r.text("kind", kind_text, false) && (!parse_kind(kind_text, kind) || kind != c.kind))
    r.fail("kind", "must be \"audio\" or \"video\", matching mimeType");
  r.integer("preferredPayloadType", c.preferred_payload_type, true, 0, 127);
  read_clock_and_channels(r, c.kind, c.clock_rate, c.channels);
  read_params(r, c.parameters, err);
  read_feedback(r, c.rtcp_feedback, err);
  return c;
}

bool parse_direction(std::string_view text, rtp::hdrext_direction& out) {
  using d = rtp::hdrext_direction;
  static constexpr std::array<std::pair<std::string_view, d>, 4> names{{
    {"sendrecv", d::sendrecv},
    {"sendonly", d::sendonly},
    {"recvonly", d::recvonly},
    {"inactive", d::inactive},
  }};
  for (const auto& [name, value] : names)
    if (name == text) {
      out = value;
      return true;
    }
  return false;
}

rtp::header_extension_capability read_ext_capability(const Value& v, const std::string& path,
                                                     issue& err) {
  object_reader r(v, path, err);
  rtp::header_extension_capability e;
  std::string text;
  if (r.text("kind", text, true) && !parse_kind(text, e.kind))
    r.fail("kind", "must be \"audio\" or \"video\"");
  r.text("uri", e.uri, true, 1);
  r.integer("preferredId", e.preferred_id, true, 1, 255);
  r.boolean("preferredEncrypt", e.preferred_encrypt, false);
  if (r.text("direction", text, false) && !parse_direction(text, e.direction))
    r.fail("direction", "must be one of sendrecv, sendonly, recvonly, inactive");
  return e;
}

rtp::codec_parameters read_codec_parameters(const Value& v, const std::string& path,
                                            issue& err) {
  object_reader r(v, path, err);
  rtp::codec_parameters c;
  rtp::media_kind kind = rtp::media_kind::audio;
  read_mime_type(r, c.mime_type, kind);
  r.integer("payloadType", c.payload_type, true, 0, 127);
  read_clock_and_channels(r, kind, c.clock_rate, c.channels);
  read_params(r, c.parameters, err);
  read_feedback(r, c.rtcp_feedback, err);
  return c;
}

rtp::header_extension_parameters read_ext_parameters(const Value& v, const std::string& path,
                                                     issue& err) {
  object_reader r(v, path, err);
  rtp::header_extension_parameters e;
  r.text("uri", e.uri, true, 1);
  r.integer("id", e.id, true, 1, 255);
  r.boolean("encrypt", e.encrypt, false);
  read_params(r, e.parameters, err);
  return e;
}

rtp::encoding_parameters read_encoding(const Value& v, const std::string& path, issue& err) {
  object_reader r(v, path, err);
  rtp::encoding_parameters e;
  r.integer("ssrc", e.ssrc, false, 1, max_u32);
  r.text("rid", e.rid, false);
  r.integer("codecPayloadType", e.codec_payload_type, false, 0, 127);
  if (const Value* rtx = r.member("rtx", false);
      rtx != nullptr && json::check_object(*rtx, r.path("rtx"), err)) {
    object_reader rr(*rtx, r.path("rtx"), err);
    rr.integer("ssrc", e.rtx_ssrc, true, 1, max_u32);
  }
  r.boolean("dtx", e.dtx, false);
  r.text("scalabilityMode", e.scalability_mode, false);
  r.integer("maxBitrate", e.max_bitrate, false, 1, max_u32);
  r.number("scaleResolutionDownBy", e.scale_resolution_down_by, false, 1.0, 1024.0);
  return e;
}

void read_rtcp(object_reader& r, rtp::rtcp_parameters& out, issue& err) {
  const Value* v = r.member("rtcp", false);
  if (v == nullptr || !json::check_object(*v, r.path("rtcp"), err))
    return;
  object_reader rr(*v, r.path("rtcp"), err);
  rr.text("cname", out.cname, false);
  rr.boolean("reducedSize", out.reduced_size, false);
}

// sha-1: 20 bytes ... sha-512: 64 bytes, written as "AB:CD:...".
std::size_t digest_bytes(std::string_view algorithm) {
  static constexpr std::array<std::pair<std::string_view, std::size_t>, 5> sizes{{
    {"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64},
  }};
  for (const auto& [name, size] : sizes)
    if (name == algorithm)
      return size;
  return 0;
}

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

// Validates "AB:CD:..." with `bytes` pairs and upper-cases it.
bool normalize_fingerprint(std::string& value, std::size_t bytes) {
  if (value.size() != bytes * 3 - 1)
    return false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const bool colon_slot = i % 3 == 2;
    if (colon_slot ? value[i] != ':' : !is_hex(value[i]))
      return false;
    value[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(value[i])));
  }
  return true;
}

net::dtls_fingerprint read_fingerprint(const Value& v, const std::string& path, issue& err) {
  object_reader r(v, path, err);
  net::dtls_fingerprint f;
  std::size_t bytes = 0;
  if (r.text("algorithm", f.algorithm, true, 1)) {
    for (auto& c : f.algorithm)
      c = lower(c);
    bytes = digest_bytes(f.algorithm);
    if (bytes == 0)
      r.fail("algorithm", "must be one of sha-1, sha-224, sha-256, sha-384, sha-512");
  }
  if (r.text("value", f.value, true, 1) && !normalize_fingerprint(f.value, bytes))
    r.fail("value", "must be " + std::to_string(bytes) +
                      " hex bytes separated by ':' for " + f.algorithm);
  return f;
}

template <class T>
result<T> finish(T value, const issue& err) {
  if (err.failed)
    return failure{err.message};
  return value;
}

} // namespace

result<rtp::rtp_capabilities> parse_rtp_capabilities(const Value& v, std::string_view path) {
  issue err;
  rtp::rtp_capabilities caps;
  if (!json::check_object(v, std::string(path), err))
    return failure{err.message};
  object_reader r(v, std::string(path), err);
  for_each_entry(r, "codecs", false, err, [&](const Value& c, const std::string& p) {
    caps.codecs.push_back(read_codec_capability(c, p, err));
  });
  for_each_entry(r, "headerExtensions", false, err, [&](const Value& e, const std::string& p) {
    caps.header_extensions.push_back(read_ext_capability(e, p, err));
  });
  return finish(std::move(caps), err);
}

result<rtp::rtp_parameters> parse_rtp_parameters(const Value& v, std::string_view path) {
  issue err;
  rtp::rtp_parameters params;
  if (!json::check_object(v, std::string(path), err))
    return failure{err.message};
  object_reader r(v, std::string(path), err);
  r.text("mid", params.mid, false);
  for_each_entry(r, "codecs", true, err, [&](const Value& c, const std::string& p) {
    params.codecs.push_back(read_codec_parameters(c, p, err));
  });
  for_each_entry(r, "headerExtensions", false, err, [&](const Value& e, const std::string& p) {
    params.header_extensions.push_back(read_ext_parameters(e, p, err));
  });
  for_each_entry(r, "encodings", false, err, [&](const Value& e, const std::string& p) {
    params.encodings.push_back(read_encoding(e, p, err));
  });
  read_rtcp(r, params.rtcp, err);
  return finish(std::move(params), err);
}

result<net::dtls_parameters> parse_dtls_parameters(const Value& v, std::string_view path) {
  issue err;
  net::dtls_parameters params;
  if (!json::check_object(v, std::string(path), err))
    return failure{err.message};
  object_reader r(v, std::string(path), err);
  std::string role;
  if (r.text("role", role, false)) {
    if (role == "auto")
      params.role = net::dtls_role::auto_;
    else if (role == "client")
      params.role = net::dtls_role::client;
    else if (role == "server")
      params.role = net::dtls_role::server;
    else
      r.fail("role", "must be \"auto\", \"client\" or \"server\"");
  }
  for_each_entry(r, "fingerprints", true, err, [&](const Value& f, const std::string& p) {
    params.fingerprints.push_back(read_fingerprint(f, p, err));
  });
  if (!err.failed && params.fingerprints.empty())
    r.fail("fingerprints", "must have at least one entry");
  return finish(std::move(params), err);
}

result<rtp::media_codec_config> parse_media_codec(const Value& v, std::string_view path) {
  issue err;
  rtp::media_codec_config c;
  if (!json::check_object(v, std::string(path), err))
    return failure{err.message};
  object_reader r(v, std::string(path), err);
  rtp::media_kind mime_kind = rtp::media_kind::audio;
  read_mime_type(r, c.mime_type, mime_kind);
  c.kind = mime_kind;
  std::string kind;
  if (r.text("kind", kind, false) && !parse_kind(kind, c.kind))
    r.fail("kind", "must be \"audio\" or \"video\"");
  r.integer("clockRate", c.clock_rate, true, 1, max_u32);
  r.integer("channels", c.channels, false, 1, 255);
  read_params(r, c.parameters, err);
  if (r.member("preferredPayloadType", false) != nullptr)
    r.fail("preferredPayloadType", "cannot be configured: payload types are assigned");
  if (r.member("rtcpFeedback", false) != nullptr)
    r.fail("rtcpFeedback", "cannot be configured: it comes from the supported codec");
  return finish(std::move(c), err);
}

} // namespace chorus::protocol
