// The media recorder actor: one recording of one room (start-recording, or
// recording.autoStart), not to be confused with actors/recorder.hpp (the class record in
// SQL). Docs: docs/design/plain-rtp-and-recording.md, "The media recorder"; docs/operations.md, "Recording".
//
// Per producer of the room (those present at the start, those that arrive later, those on
// other nodes through this node's relay of them) it runs one `ffmpeg` child that reads an
// SDP (one m= line, 127.0.0.1:port) and writes the stream with `-c copy` (Opus, VP8, VP9 to
// WebM; H264 to Matroska) under recording.directory/<room>/<start>_<id>/. Once the child has
// bound its port, the recorder opens a plain RTP transport (actors/plain_transport.hpp) to
// it and consumes the producer onto it like any consumer (a keyframe is requested at the
// start and again a second later). Each stretch of a producer is a segment in the manifest
// (manifest.json beside the files; protocol/recording.hpp): a producer that ends closes its
// file, one that comes back (a participant who rejoins) gets a new file.
//
// A child that exits on its own (crashed, killed) is reported to the room (recording-error
// reason "ffmpeg-exited") and restarted after a backoff (0.5 s doubling up to
// recording.maxRestartBackoffMs) into a new segment; the manifest shows the gap. Free
// space below recording.minFreeMb is reported (reason "disk-full"): the children are
// stopped so their files stay whole, and restarted when space is back. The class's media
// never waits on any of this: the recorder is one more consumer of each producer.
//
// Children: fork + execve with PR_SET_PDEATHSIG (SIGINT, so that a crashed server leaves no
// ffmpeg behind), stdout to /dev/null, stderr to <file>.log; reaped with waitpid(WNOHANG)
// on a 100 ms tick; stopped by an RTCP BYE behind the last packet (or the end of the IVF
// pipe), upon which ffmpeg writes its trailer and exits; SIGINT 1.5 s later, SIGKILL 5 s later.
//
// Messages:
//   producer_info                 <- room: record this producer (user_id / user_name filled)
//   producer_removed              <- room
//   recording_stop_atom           -> recording_event (stopped, with the manifest) once every
//                                    child has exited; then the recorder quits
//   protocol::consumer_closed_event <- its consumers (their producer ended)
// To the room: protocol::recording_event (error). Linked to the room; when the room ends
// without a stop, its children are stopped and the manifest written as it stands.
#pragma once

#include "actors/context.hpp"
#include "common/result.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>

#include <string>

namespace caf {
class event_based_actor;
}

namespace chorus::actors {

using recording_stop_atom = caf::atom_constant<caf::atom("recstop")>;
using recording_tick_atom = caf::atom_constant<caf::atom("rectick")>;
// room -> its recorder: the room moves to another node in good order, where the recording
// goes on under the same id; this part ends "home-changed", and the recording is not over.
using recording_moves_atom = caf::atom_constant<caf::atom("recmoves")>;

struct media_recorder_args {
  std::string room_id;
  std::string recording_id;
  std::string started_by; // the public id of who started it ("" for autoStart)
  // When it started (Unix ms; its directory's name; 0: now). A recording that goes on here
  // after its room's home changed (lost or moved) names the node it ran on. The recorder writes into the
  // same directory (the same files where recording.directory is shared) and, once the
  // former home has had time to close its part, joins that part's manifest to its own with
  // the gap between them (protocol::resume_manifest).
  int64_t started_at_ms = 0;
  std::string resumed_from;
};

// Creates the recording's directory and spawns the recorder linked to `room`. Fails with a
// message when the directory cannot be made.
result<caf::actor> spawn_media_recorder(caf::event_based_actor* room, media_recorder_args args,
                                        node_context_ptr ctx, caf::actor node);

} // namespace chorus::actors
