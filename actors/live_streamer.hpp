// The live streamer actor: one live stream of one room (live-stream), to an RTMP endpoint
// or as HLS. Docs: docs/design/live-streaming.md; docs/operations.md, "Live streaming".
//
// One FFmpeg child composes the room's stage (protocol/live_layout.hpp: the speaker view,
// a screen share large with the speaker in a corner; up to four microphones mixed) and
// encodes it (protocol/live_stream.hpp). It reads fixed inputs over RTP on the loopback,
// each a spliced stream (rtp/spliced_stream.hpp) that this actor keeps going: the stage's
// producers are consumed onto loopback sockets of this actor's own (ordered_rtp_input; a
// video source through a frame gate), and each input follows the source the layout names,
// taking a video source at its keyframe; between sources, a filler frame or silence. So a
// change of speaker, a screen share that starts or ends, a participant who leaves, never
// restart the composer: its output to the RTMP server or the playlist goes on unbroken.
//
// A composer that exits on its own (the RTMP server refused or dropped it, a crash) is
// reported (live-stream-error, reason "ffmpeg-exited", webhook live-stream-failed) and
// started again after a backoff (0.5 s doubling up to recording.maxRestartBackoffMs); five
// runs in a row that end within 10 s end the stream (live-stream-stopped, reason
// "failed"). Stopped (stop-live-stream, or the room ends): SIGINT (FFmpeg finishes its
// output: the FLV stream closed, the playlist ended), SIGKILL 5 s later.
//
// Messages:
//   producer_info, producer_removed, producer_paused_update, dominant_speaker <- room
//   live_stop_atom -> live_stream_event (stopped) once the composer has exited; then quits
//   protocol::consumer_closed_event <- its consumers (their producer ended)
// To the room: protocol::live_stream_event (error, and stopped when it gives up). Linked
// to the room.
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

using live_stop_atom = caf::atom_constant<caf::atom("livestop")>;
using live_tick_atom = caf::atom_constant<caf::atom("livetick")>;

struct live_streamer_args {
  std::string room_id;
  std::string stream_id;
  std::string rtmp_url; // "": HLS
};

// Prepares the stream's directory and spawns the streamer linked to `room`. Fails with a
// message when live streaming is off, FFmpeg is missing or the directory cannot be made.
result<caf::actor> spawn_live_streamer(caf::event_based_actor* room, live_streamer_args args,
                                       node_context_ptr ctx, caf::actor node);

} // namespace chorus::actors
