// JSON <-> rtp/ and net/ signaling objects in mediasoup's shapes, with validation that
// names the offending path ("rtpParameters.codecs[1].payloadType must be ...").
// Uses RapidJSON: include only from .cpp files.
#pragma once

#include "common/result.hpp"
#include "net/dtls_parameters.hpp"
#include "protocol/messages.hpp"
#include "rtp/capabilities.hpp"
#include "rtp/rtp_parameters.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

namespace chorus::protocol {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Parsers: `path` is the name of `v` used in error messages.
result<rtp::rtp_capabilities> parse_rtp_capabilities(const rapidjson::Value& v,
                                                     std::string_view path);
result<rtp::rtp_parameters> parse_rtp_parameters(const rapidjson::Value& v,
                                                 std::string_view path);
result<net::dtls_parameters> parse_dtls_parameters(const rapidjson::Value& v,
                                                   std::string_view path);
// One entry of the configuration's `mediaCodecs`.
result<rtp::media_codec_config> parse_media_codec(const rapidjson::Value& v,
                                                  std::string_view path);

// Writers (mediasoup's JSON field names; absent optional fields are omitted).
void write_json(json_writer& w, const rtp::rtp_capabilities& caps);
void write_json(json_writer& w, const rtp::rtp_parameters& params);
void write_json(json_writer& w, const net::dtls_parameters& params);
void write_json(json_writer& w, const ice_parameters& params);
void write_json(json_writer& w, const ice_candidate& cand);
void write_json(json_writer& w, const rtc_ice_server& server);
void write_json(json_writer& w, const transport_params& params);
// A participant-list-update item: seed 004's { id, name, isAudioMuted, isVideoPaused }, or
// with `frontend` the seed 004 frontend's { id (the user id), name, imageUrl, isHost,
// isCoHost, isAudioMuted, isVideoPaused, audioLocked, screenShareLocked }.
void write_json(json_writer& w, const participant& p, bool frontend = false);

// Convenience: render a whole object to a compact JSON string.
std::string to_json(const rtp::rtp_capabilities& caps);

} // namespace chorus::protocol
