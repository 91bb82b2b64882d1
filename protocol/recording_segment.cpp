#include "protocol/recording_segment.hpp"

#include <algorithm>

namespace chorus::protocol {

void drop_unwritten(manifest_segment& seg, std::optional<uint64_t> file_bytes) {
  if (file_bytes && *file_bytes > 0)
    return;
  seg.has_media = false;
  seg.start_offset_ms = 0;
  seg.duration_ms = 0;
}

void settle_segment(manifest_segment& seg, int64_t started_at_ms, int64_t first_media_ms,
                    int64_t end_ms, std::optional<uint64_t> file_bytes) {
  seg.has_media = first_media_ms != 0;
  seg.start_offset_ms = seg.has_media ? first_media_ms - started_at_ms : 0;
  seg.duration_ms = seg.has_media ? std::max<int64_t>(0, end_ms - first_media_ms) : 0;
  drop_unwritten(seg, file_bytes);
}

} // namespace chorus::protocol
