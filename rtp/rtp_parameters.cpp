#include "rtp/rtp_parameters.hpp"

namespace chorus::rtp {

std::string_view to_string(media_kind k) noexcept {
  switch (k) {
    case media_kind::audio:
      return "audio";
    case media_kind::video:
      return "video";
  }
  return "audio";
}

std::string_view to_string(hdrext_direction d) noexcept {
  switch (d) {
    case hdrext_direction::sendrecv:
      return "sendrecv";
    case hdrext_direction::sendonly:
      return "sendonly";
    case hdrext_direction::recvonly:
      return "recvonly";
    case hdrext_direction::inactive:
      return "inactive";
  }
  return "sendrecv";
}

const codec_param* find_param(const codec_params& ps, std::string_view key) noexcept {
  for (const auto& p : ps)
    if (p.key == key)
      return &p;
  return nullptr;
}

} // namespace chorus::rtp
