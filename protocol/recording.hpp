// The pure parts of recording in the server (actors/media_recorder.hpp drives them): the
// SDP an ffmpeg child reads one producer's RTP with, the container a codec is written to
// without transcoding, file-name parts, and the manifest (JSON) that lists a recording's
// files on one timeline for a later mixing step (scripts/mix-recording.sh).
#pragma once

#include "rtp/rtp_parameters.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

// The output of one codec with `-c copy`: Opus, VP8, VP9 -> WebM; H264, AV1 -> Matroska.
struct recording_container {
  std::string_view extension; // "webm", "mkv"
  std::string_view format;    // ffmpeg's -f: "webm", "matroska"
  // The child reads IVF that Chorus writes from the RTP (actors/ivf_feed.hpp), not RTP from
  // an SDP: VP9, which Debian 12's FFmpeg 5.1 reads over RTP only experimentally, and AV1,
  // which it does not read over RTP at all.
  bool ivf_input = false;
};
// nullopt for a codec we cannot store without transcoding (or an RTX/FEC entry).
std::optional<recording_container> container_for(std::string_view mime_type) noexcept;

// An SDP for ffmpeg's RTP/SDP demuxer: one m= line receiving `codec` on `ip`:`port`
// (IPv4 or IPv6 literal; ffmpeg also binds port + 1 for RTCP). The codec's fmtp
// parameters are kept (H264's packetization-mode and profile).
std::string recording_sdp(rtp::media_kind kind, const rtp::codec_parameters& codec,
                          std::string_view ip, uint16_t port);

// A name part that is safe in a file name: [A-Za-z0-9._-], others become '_', at most
// `max` bytes, never empty ("unnamed"), never starting with '.'.
std::string file_part(std::string_view text, std::size_t max = 48);

// YYYYMMDDTHHMMSS.mmmZ (UTC, from Unix ms): sorts as time, no ':' in file names.
std::string compact_utc(int64_t unix_ms);
// YYYY-MM-DDTHH:MM:SS.mmmZ (UTC, from Unix ms)
std::string iso_utc(int64_t unix_ms);

// One file of a recording: a stretch of one producer, from its first packet until the
// producer ended, the recording stopped, or its ffmpeg died (then a next segment follows
// after a gap).
struct manifest_segment {
  std::string file;            // relative to the manifest's directory
  int64_t start_offset_ms = 0; // first media, from the recording's start
  int64_t duration_ms = 0;     // first media to the end of this file (wall clock)
  std::string ended;           // "stopped", "producer-closed", "ffmpeg-exited", "disk-full"
  int exit_status = 0;         // ffmpeg's exit code (or 128 + signal)
  bool has_media = false;      // false: ffmpeg never got a packet (no file expected)
};

struct manifest_track {
  std::string producer_id;
  std::string peer_id;
  std::string user_id;
  std::string name;   // the participant's display name
  std::string kind;   // "audio" / "video"
  std::string source; // appData.source ("mic", "webcam", "screen") or the kind
  std::string codec;  // mime type
  std::string node;   // the node the producer is on (cluster)
  std::vector<manifest_segment> segments;
};

// A stretch of the recording's timeline with nothing recorded because the room's home
// changed: the home was lost (its segments end "home-lost") or the room moved, and the
// recording went on at the new home.
struct manifest_gap {
  int64_t from_ms = -1; // from the recording's start; -1: unknown (the earlier part's
                        // manifest was not found where the recording went on)
  int64_t to_ms = 0;
  std::string node;   // the former home
  std::string reason; // "home-changed"
};

struct recording_manifest {
  std::string recording_id;
  std::string room_id;
  std::string started_by;
  int64_t started_at_ms = 0; // Unix ms
  int64_t stopped_at_ms = 0; // 0 while recording
  int64_t updated_at_ms = 0; // when these numbers were written (an open segment's stand)
  std::vector<manifest_track> tracks;
  std::vector<manifest_gap> gaps;
  std::vector<std::string> errors; // what went wrong, in order ("disk-full at ...")
};

// Pretty JSON (the file) or compact (the recording-stopped event).
std::string manifest_json(const recording_manifest& m, bool pretty);

// A manifest as manifest_json writes it; nullopt for anything else.
std::optional<recording_manifest> manifest_from_json(std::string_view json);

// The recording goes on at a new home at `now_ms` (Unix ms) after its former home `node`
// ended (lost: segments it left open end "home-lost", their numbers as last written; or
// moved: it stopped the recording there): the earlier part, open again, with the gap from
// the last moment it accounts for until now.
recording_manifest resume_manifest(recording_manifest earlier, int64_t now_ms,
                                   const std::string& node);

// What the new home recorded before it read the earlier part (`later`, same recording),
// joined to it (`joined`, from resume_manifest): a producer's new segments follow its
// earlier ones in the same track. `index_map[i]` is where later's track i is in the result.
recording_manifest join_manifests(recording_manifest joined, const recording_manifest& later,
                                  std::vector<std::size_t>& index_map);

} // namespace chorus::protocol
