// The Dependency Descriptor RTP header extension (AV1 RTP specification, appendix A):
// what a router needs of a layered stream without parsing its codec's payload. libwebrtc
// sends it with AV1 (the payload has no layer ids of its own) and H264 when negotiated.
//
// Every packet carries three mandatory bytes:
//    0                   1                   2
//   |S|E| template id (6)|     frame number (16)          |
// S / E: first / last packet of a frame (one spatial layer's); the template id names one of
// the templates of the current template dependency structure. Longer descriptors add flags,
// the structure itself (a keyframe's packets carry it; it then holds until replaced), the
// active decode targets, and a frame's own indications, references and chains where they
// differ from its template's.
//
// A template says a frame's spatial and temporal id and, per decode target (a layer a
// receiver may decode up to), how the frame matters to it: not present, discardable,
// switch (a receiver may start this target here), required. The router uses the ids to
// pick layers and the switch indications to move up a temporal layer.
//
// Pure code: descriptors in, frames and structures out. A structure is kept in the
// caller's dd_structure (about 2.5 KB, one per received stream); nothing is allocated.
#pragma once

#include "common/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace chorus::rtp {

inline constexpr const char* dependency_descriptor_uri =
  "https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension";

enum class dd_indication : uint8_t { not_present = 0, discardable = 1, switching = 2, required = 3 };

struct dd_structure {
  static constexpr size_t max_templates = 64, max_decode_targets = 32;
  static constexpr uint8_t max_spatial = 4, max_temporal = 8; // AV1's limits

  uint8_t template_id_offset = 0;
  uint8_t templates = 0; // 0: no structure known yet
  uint8_t decode_targets = 0;
  uint8_t chains = 0;
  std::array<uint8_t, max_templates> template_spatial{};
  std::array<uint8_t, max_templates> template_temporal{};
  std::array<uint8_t, max_templates> template_references{}; // the number of fdiffs
  std::array<std::array<dd_indication, max_decode_targets>, max_templates> template_dti{};
  // The layer each decode target decodes up to: the highest spatial and temporal ids of the
  // templates present in it.
  std::array<uint8_t, max_decode_targets> target_spatial{};
  std::array<uint8_t, max_decode_targets> target_temporal{};
  // Render resolution per spatial layer (0 where the structure gives none).
  std::array<uint16_t, max_spatial> width{}, height{};

  bool known() const noexcept { return templates != 0; }
  // The decode target whose top layer is (spatial, temporal); -1 when none is.
  int decode_target_of(uint8_t spatial, uint8_t temporal) const noexcept;
};

struct dd_frame {
  bool start_of_frame = false;
  bool end_of_frame = false;
  uint8_t template_id = 0;
  uint16_t frame_number = 0;
  uint8_t spatial = 0;
  uint8_t temporal = 0;
  uint8_t references = 0;          // frames this one depends on (0: independent)
  bool structure_attached = false; // this descriptor carried the structure it was read with
  bool active_targets_present = false;
  uint32_t active_targets = 0;     // bit d: decode target d is active (when present)
  // This frame's indication for its own layer's decode target: switching means a receiver
  // may move up to this layer here.
  dd_indication own_indication = dd_indication::not_present;
  // Bit t: the frame is a switching point for the decode target of its spatial layer and
  // temporal layer t (a receiver below t may move up to t here).
  uint8_t switch_mask = 0;
};

enum class dd_error : uint8_t {
  truncated,        // fewer bytes than the fields need
  no_structure,     // a frame before any structure (or after a structure that failed)
  unknown_template, // a template id the current structure does not hold
  bad_structure,    // a structure out of the limits above
};

// Reads one descriptor (the extension element's value). A descriptor that carries a
// structure replaces `structure` when the structure parses whole; the frame is read against
// the structure in force after that.
value_or_error<dd_frame, dd_error> read_dependency_descriptor(std::span<const uint8_t> value,
                                                              dd_structure& structure) noexcept;

// Writes a frame number into a descriptor's value in place (a consumer switched between
// simulcast streams keeps its frame numbers continuous); false when too short.
bool write_dd_frame_number(std::span<uint8_t> value, uint16_t frame_number) noexcept;

} // namespace chorus::rtp
