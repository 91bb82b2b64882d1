// RTP capabilities and parameters, in the shape mediasoup and mediasoup-client use
// (RtpCapabilities, RtpCodecCapability, RtpParameters, ...). Plain structs: the JSON
// mapping lives in protocol/rtp_json, the CAF serialization in actors/serialization.
//
// Optional wire fields are modelled without std::optional (CAF 0.17 cannot serialize
// it): 0 / empty / -1 mean "absent", as documented per field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::rtp {

enum class media_kind : uint8_t { audio, video };

std::string_view to_string(media_kind k) noexcept;

// One entry of a codec's `parameters` object. mediasoup allows string and number
// values; `numeric` remembers which, so that JSON round trips keep the type.
struct codec_param {
  std::string key;
  std::string value; // decimal text when numeric
  bool numeric = false;

  friend bool operator==(const codec_param&, const codec_param&) = default;
};
using codec_params = std::vector<codec_param>;

// Looks a parameter up; nullptr when absent.
const codec_param* find_param(const codec_params& ps, std::string_view key) noexcept;

struct rtcp_feedback {
  std::string type;      // "nack", "ccm", "goog-remb", "transport-cc", ...
  std::string parameter; // "", "pli", "fir"

  friend bool operator==(const rtcp_feedback&, const rtcp_feedback&) = default;
};

// RtpCodecCapability
struct codec_capability {
  media_kind kind = media_kind::audio;
  std::string mime_type;              // "audio/opus", "video/VP8", ...
  int32_t preferred_payload_type = -1; // -1: absent
  uint32_t clock_rate = 0;
  uint16_t channels = 0;               // 0: absent (audio defaults to 1)
  codec_params parameters;
  std::vector<chorus::rtp::rtcp_feedback> rtcp_feedback;

  friend bool operator==(const codec_capability&, const codec_capability&) = default;
};

enum class hdrext_direction : uint8_t { sendrecv, sendonly, recvonly, inactive };

std::string_view to_string(hdrext_direction d) noexcept;

// RtpHeaderExtension (capability)
struct header_extension_capability {
  media_kind kind = media_kind::audio;
  std::string uri;
  uint8_t preferred_id = 0;
  bool preferred_encrypt = false;
  hdrext_direction direction = hdrext_direction::sendrecv;

  friend bool operator==(const header_extension_capability&,
                         const header_extension_capability&) = default;
};

// RtpCapabilities
struct rtp_capabilities {
  std::vector<codec_capability> codecs;
  std::vector<header_extension_capability> header_extensions;

  friend bool operator==(const rtp_capabilities&, const rtp_capabilities&) = default;
};

// RtpCodecParameters
struct codec_parameters {
  std::string mime_type;
  uint8_t payload_type = 0;
  uint32_t clock_rate = 0;
  uint16_t channels = 0; // 0: absent
  codec_params parameters;
  std::vector<chorus::rtp::rtcp_feedback> rtcp_feedback;

  friend bool operator==(const codec_parameters&, const codec_parameters&) = default;
};

// RtpHeaderExtensionParameters
struct header_extension_parameters {
  std::string uri;
  uint8_t id = 0;
  bool encrypt = false;
  codec_params parameters;

  friend bool operator==(const header_extension_parameters&,
                         const header_extension_parameters&) = default;
};

// RtpEncodingParameters
struct encoding_parameters {
  uint32_t ssrc = 0;           // 0: absent
  std::string rid;             // empty: absent
  int32_t codec_payload_type = -1; // -1: absent
  uint32_t rtx_ssrc = 0;       // 0: no rtx object
  bool dtx = false;
  std::string scalability_mode; // empty: absent
  uint32_t max_bitrate = 0;     // 0: absent
  double scale_resolution_down_by = 0; // 0: absent

  friend bool operator==(const encoding_parameters&, const encoding_parameters&) = default;
};

// RtcpParameters
struct rtcp_parameters {
  std::string cname;
  bool reduced_size = true;

  friend bool operator==(const rtcp_parameters&, const rtcp_parameters&) = default;
};

// RtpParameters
struct rtp_parameters {
  std::string mid; // empty: absent
  std::vector<codec_parameters> codecs;
  std::vector<header_extension_parameters> header_extensions;
  std::vector<encoding_parameters> encodings;
  rtcp_parameters rtcp;

  friend bool operator==(const rtp_parameters&, const rtp_parameters&) = default;
};

} // namespace chorus::rtp
