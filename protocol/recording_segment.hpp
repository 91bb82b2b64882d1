#pragma once
// A recording segment's numbers settled against the file its ffmpeg child left: the
// manifest lists a file as holding media only when the file is there.
#include "protocol/recording.hpp"

#include <cstdint>
#include <optional>

namespace chorus::protocol {

// A segment whose file is missing or empty (`file_bytes`: its size, nullopt when there is
// none) holds no media, whatever its numbers said: a child stopped while it still analysed
// its input writes nothing, and the manifest must not list a file that a later step (a mix)
// would fail to open.
void drop_unwritten(manifest_segment& seg, std::optional<uint64_t> file_bytes);

// A segment's numbers once its ffmpeg child has exited: `first_media_ms` is when the first
// packet reached the child (Unix ms, 0: none did), `end_ms` when the segment ended,
// `file_bytes` as for drop_unwritten. It holds media when a packet reached the child and
// its file was written.
void settle_segment(manifest_segment& seg, int64_t started_at_ms, int64_t first_media_ms,
                    int64_t end_ms, std::optional<uint64_t> file_bytes);

} // namespace chorus::protocol
