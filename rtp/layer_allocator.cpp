#include "rtp/layer_allocator.hpp"

#include <algorithm>

namespace chorus::rtp {

namespace {

constexpr int spatial_layers = 4;
constexpr int temporal_layers = 3;

// Layers are numbered s * temporal_layers + t, so their (spatial, temporal) order is the
// order of the numbers; -1 is "nothing".
constexpr int none = -1;

struct limits {
  int max_s = -1, max_t = -1;
  bool any() const noexcept { return max_s >= 0 && max_t >= 0; }
};

limits limits_of(const alloc_consumer& c) noexcept {
  return {std::min<int>(c.max_spatial, spatial_layers - 1),
          std::min<int>(c.max_temporal, temporal_layers - 1)};
}

uint32_t cost(const alloc_consumer& c, int layer) noexcept {
  return layer < 0 ? 0 : c.bitrates[layer / temporal_layers][layer % temporal_layers];
}

bool allowed(const alloc_consumer& c, limits l, int layer) noexcept {
  const int s = layer / temporal_layers, t = layer % temporal_layers;
  return s <= l.max_s && t <= l.max_t && c.bitrates[s][t] != 0;
}

// The first available layer within the preferences.
int lowest(const alloc_consumer& c, limits l) noexcept {
  if (!l.any()) return none;
  for (int layer = 0; layer < spatial_layers * temporal_layers; ++layer)
    if (allowed(c, l, layer)) return layer;
  return none;
}

// The last available layer within the preferences.
int highest(const alloc_consumer& c, limits l) noexcept {
  if (!l.any()) return none;
  for (int layer = spatial_layers * temporal_layers - 1; layer >= 0; --layer)
    if (allowed(c, l, layer)) return layer;
  return none;
}

// The cheapest available layer strictly above `current` (ties: the lower layer).
int next_up(const alloc_consumer& c, limits l, int current) noexcept {
  int best = none;
  for (int layer = current + 1; layer < spatial_layers * temporal_layers; ++layer)
    if (allowed(c, l, layer) && (best == none || cost(c, layer) < cost(c, best)))
      best = layer;
  return best;
}

void set_layer(alloc_result& r, const alloc_consumer& c, int layer) noexcept {
  r.spatial = static_cast<int8_t>(layer / temporal_layers);
  r.temporal = static_cast<int8_t>(layer % temporal_layers);
  r.bps = cost(c, layer);
}

int layer_of(const alloc_result& r) noexcept {
  return r.spatial < 0 ? none : r.spatial * temporal_layers + r.temporal;
}

unsigned attempts_of(const alloc_consumer& c) noexcept { return c.priority == 0 ? 1u : c.priority; }

} // namespace

uint64_t desired_bps(const alloc_consumer& c) noexcept {
  if (!c.active) return 0;
  if (c.audio) return c.audio_bps;
  return cost(c, highest(c, limits_of(c)));
}

void layer_allocator::allocate(uint64_t budget_bps, std::span<const alloc_consumer> in,
                               std::vector<alloc_result>& out) {
  out.resize(in.size());
  order_.clear();
  uint64_t left = budget_bps;

  // Audio first, always; video candidates collected.
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto& c = in[i];
    out[i] = alloc_result{c.key, -1, -1, 0};
    if (!c.active) continue;
    if (c.audio) {
      out[i].spatial = 0;
      out[i].temporal = 0;
      out[i].bps = c.audio_bps;
      left = left > c.audio_bps ? left - c.audio_bps : 0;
    } else {
      order_.push_back(static_cast<uint32_t>(i));
    }
  }

  // Priority order: higher first, then input order (a total order: std::sort is enough and
  // allocates nothing).
  std::sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
    const unsigned pa = attempts_of(in[a]), pb = attempts_of(in[b]);
    return pa != pb ? pa > pb : a < b;
  });

  // First pass: the lowest available layer, if it fits.
  for (const uint32_t i : order_) {
    const auto& c = in[i];
    const int layer = lowest(c, limits_of(c));
    if (layer == none) continue;
    const uint64_t price = cost(c, layer);
    if (price > left) continue;
    left -= price;
    set_layer(out[i], c, layer);
  }

  // Upgrade rounds. Each step moves a consumer strictly up among 12 layers, so this ends.
  for (bool changed = true; changed;) {
    changed = false;
    for (const uint32_t i : order_) {
      const auto& c = in[i];
      auto& r = out[i];
      if (r.spatial < 0) continue; // left out by the first pass
      const limits l = limits_of(c);
      for (unsigned attempt = 0, n = attempts_of(c); attempt < n; ++attempt) {
        const int current = layer_of(r);
        const int next = next_up(c, l, current);
        if (next == none) break;
        const uint64_t from = cost(c, current), to = cost(c, next);
        if (to <= from) {
          left += from - to;
        } else if (to - from <= left) {
          left -= to - from;
        } else {
          break;
        }
        set_layer(r, c, next);
        changed = true;
      }
    }
  }
}

} // namespace chorus::rtp
