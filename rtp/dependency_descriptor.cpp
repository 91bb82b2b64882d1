#include "rtp/dependency_descriptor.hpp"

#include "rtp/bit_reader.hpp"

#include <algorithm>

namespace chorus::rtp {

int dd_structure::decode_target_of(uint8_t spatial, uint8_t temporal) const noexcept {
  for (size_t d = 0; d < decode_targets; ++d)
    if (target_spatial[d] == spatial && target_temporal[d] == temporal)
      return int(d);
  return -1;
}

namespace {

// template_layers(): the templates' ids, in order, each followed by how the next one's
// ids step (same layer, next temporal, next spatial, or the end).
bool read_template_layers(bit_reader& r, dd_structure& s) noexcept {
  uint8_t spatial = 0, temporal = 0;
  for (;;) {
    if (s.templates == dd_structure::max_templates)
      return false;
    s.template_spatial[s.templates] = spatial;
    s.template_temporal[s.templates] = temporal;
    ++s.templates;
    uint32_t next = 0;
    if (!r.read(2, next))
      return false;
    if (next == 3)
      return true;
    if (next == 1) {
      if (++temporal >= dd_structure::max_temporal)
        return false;
    } else if (next == 2) {
      temporal = 0;
      if (++spatial >= dd_structure::max_spatial)
        return false;
    }
  }
}

// template_dependency_structure(): the structure, whole, into `s`; false when it is cut
// short or out of the limits.
bool read_structure(bit_reader& r, dd_structure& s) noexcept {
  uint32_t v = 0;
  if (!r.read(6, v))
    return false;
  s.template_id_offset = uint8_t(v);
  if (!r.read(5, v))
    return false;
  s.decode_targets = uint8_t(v + 1);
  s.templates = 0;
  if (!read_template_layers(r, s))
    return false;
  for (size_t t = 0; t < s.templates; ++t)
    for (size_t d = 0; d < s.decode_targets; ++d) {
      if (!r.read(2, v))
        return false;
      s.template_dti[t][d] = dd_indication(v);
    }
  for (size_t t = 0; t < s.templates; ++t) { // fdiffs: a flag before each, 4 bits each
    uint8_t n = 0;
    for (;;) {
      if (!r.read(1, v))
        return false;
      if (v == 0)
        break;
      if (!r.read(4, v))
        return false;
      ++n; // (a template lists at most a few; 8 bits count more than 255 bytes can hold)
    }
    s.template_references[t] = n;
  }
  if (!r.read_ns(uint32_t(s.decode_targets) + 1, v))
    return false;
  s.chains = uint8_t(v);
  if (s.chains > 0) {
    for (size_t d = 0; d < s.decode_targets; ++d)
      if (!r.read_ns(s.chains, v)) // the chain protecting target d
        return false;
    for (size_t t = 0; t < s.templates; ++t)
      for (size_t c = 0; c < s.chains; ++c)
        if (!r.read(4, v))
          return false;
  }
  uint8_t top_spatial = 0;
  for (size_t t = 0; t < s.templates; ++t)
    top_spatial = std::max(top_spatial, s.template_spatial[t]);
  if (!r.read(1, v))
    return false;
  s.width = {};
  s.height = {};
  if (v == 1)
    for (size_t sp = 0; sp <= top_spatial; ++sp) {
      uint32_t w = 0, h = 0;
      if (!r.read(16, w) || !r.read(16, h))
        return false;
      s.width[sp] = uint16_t(w + 1);
      s.height[sp] = uint16_t(h + 1);
    }
  for (size_t d = 0; d < s.decode_targets; ++d) {
    uint8_t sp = 0, tp = 0;
    for (size_t t = 0; t < s.templates; ++t)
      if (s.template_dti[t][d] != dd_indication::not_present) {
        sp = std::max(sp, s.template_spatial[t]);
        tp = std::max(tp, s.template_temporal[t]);
      }
    s.target_spatial[d] = sp;
    s.target_temporal[d] = tp;
  }
  return true;
}

} // namespace

value_or_error<dd_frame, dd_error> read_dependency_descriptor(std::span<const uint8_t> value,
                                                              dd_structure& structure) noexcept {
  bit_reader r(value);
  dd_frame f;
  uint32_t v = 0;
  if (value.size() < 3)
    return dd_error::truncated;
  r.read(1, v);
  f.start_of_frame = v != 0;
  r.read(1, v);
  f.end_of_frame = v != 0;
  r.read(6, v);
  f.template_id = uint8_t(v);
  r.read(16, v);
  f.frame_number = uint16_t(v);

  bool custom_dtis = false, custom_fdiffs = false, custom_chains = false;
  if (value.size() > 3) {
    uint32_t has_structure = 0, has_active = 0, flag = 0;
    if (!r.read(1, has_structure) || !r.read(1, has_active))
      return dd_error::truncated;
    if (!r.read(1, flag))
      return dd_error::truncated;
    custom_dtis = flag != 0;
    if (!r.read(1, flag))
      return dd_error::truncated;
    custom_fdiffs = flag != 0;
    if (!r.read(1, flag))
      return dd_error::truncated;
    custom_chains = flag != 0;
    if (has_structure != 0) {
      dd_structure next;
      if (!read_structure(r, next)) {
        structure.templates = 0; // what follows cannot be read against the old one
        return r.remaining() == 0 ? dd_error::truncated : dd_error::bad_structure;
      }
      structure = next;
      f.structure_attached = true;
      f.active_targets_present = true;
      f.active_targets = structure.decode_targets == 32
                           ? 0xFFFFFFFFu
                           : (uint32_t(1) << structure.decode_targets) - 1;
    }
    if (has_active != 0) {
      if (!structure.known())
        return dd_error::no_structure;
      if (!r.read(structure.decode_targets, v))
        return dd_error::truncated;
      f.active_targets_present = true;
      f.active_targets = v;
    }
  }
  if (!structure.known())
    return dd_error::no_structure;
  const size_t t = (size_t(f.template_id) + 64 - structure.template_id_offset) % 64;
  if (t >= structure.templates)
    return dd_error::unknown_template;
  f.spatial = structure.template_spatial[t];
  f.temporal = structure.template_temporal[t];
  f.references = structure.template_references[t];
  std::array<dd_indication, dd_structure::max_decode_targets> dti = structure.template_dti[t];
  if (custom_dtis)
    for (size_t d = 0; d < structure.decode_targets; ++d) {
      if (!r.read(2, v))
        return dd_error::truncated;
      dti[d] = dd_indication(v);
    }
  if (const int own = structure.decode_target_of(f.spatial, f.temporal); own >= 0)
    f.own_indication = dti[size_t(own)];
  for (uint8_t tl = 0; tl < dd_structure::max_temporal; ++tl)
    if (const int d = structure.decode_target_of(f.spatial, tl);
        d >= 0 && dti[size_t(d)] == dd_indication::switching)
      f.switch_mask = uint8_t(f.switch_mask | (1u << tl));
  if (custom_fdiffs) {
    f.references = 0;
    for (;;) {
      uint32_t size = 0;
      if (!r.read(2, size))
        return dd_error::truncated;
      if (size == 0)
        break;
      if (!r.read(int(size) * 4, v))
        return dd_error::truncated;
      if (f.references < 255)
        ++f.references;
    }
  }
  if (custom_chains)
    for (size_t c = 0; c < structure.chains; ++c)
      if (!r.read(8, v))
        return dd_error::truncated;
  return f;
}

bool write_dd_frame_number(std::span<uint8_t> value, uint16_t frame_number) noexcept {
  if (value.size() < 3)
    return false;
  value[1] = uint8_t(frame_number >> 8);
  value[2] = uint8_t(frame_number);
  return true;
}

} // namespace chorus::rtp
