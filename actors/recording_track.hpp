// One track of a media recording (actors/media_recorder.hpp): a producer, the ffmpeg child
// that writes it now, the feed between the recorder's consumer and that child, the segment
// being written, and the restart backoff. State only: the recorder actor drives it.
#pragma once

#include "actors/context.hpp"
#include "actors/ivf_feed.hpp"
#include "actors/media_messages.hpp"
#include "actors/rtp_recording_feed.hpp"
#include "actors/loopback_consumer.hpp"
#include "actors/rtp_sender.hpp"
#include "protocol/recording.hpp"
#include "rtp/ortc.hpp"

#include <caf/actor.hpp>

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

namespace chorus::actors::recording {

// The first restart's backoff; it doubles up to recording.maxRestartBackoffMs.
constexpr int64_t first_backoff_ms = 500;

enum class phase : uint8_t {
  idle,       // no child (not started yet, waiting to restart, or disk full)
  binding,    // child started, its port not bound yet
  running,    // consumer sending to it
  stopping,   // SIGINT sent
  ended,      // producer gone or recording stopped, child reaped
};

struct track {
  producer_info info;
  rtp::rtp_parameters params;         // the recorder's consumer parameters
  protocol::recording_container container;
  std::size_t manifest_index = 0;     // into manifest.tracks
  phase state = phase::idle;
  bool finished = false;              // no new segment (producer gone / stopping)
  std::string finish_reason;          // for the segment being closed
  // the current child and segment
  pid_t pid = -1;
  uint16_t port = 0;
  std::string file;                   // relative to the recording's directory
  int64_t started_mono = 0;           // child started
  int64_t stop_mono = 0;              // asked to stop (0: not)
  bool sigint_sent = false;
  int64_t segment_start_wall = 0;
  int64_t first_media_wall = 0;       // 0: nothing sent to this child yet
  int64_t end_wall = 0;
  loopback_consumer media; // the consumer and its plain transport, while running
  int64_t keyframe_again_mono = 0;    // a second keyframe request (0: done)
  // VP9, AV1 (container.ivf_input): the socket the consumer sends to and the child's stdin.
  std::unique_ptr<ivf_feed> ivf;
  // The others: the socket the consumer sends to, on to the child's port (whole video
  // frames; audio without gaps).
  std::unique_ptr<rtp_recording_feed> feed;
  int64_t feed_keyframe_next = 0;     // the next keyframe request a feed may make (mono ms)
  // restarts
  int64_t restart_at_mono = 0;        // 0: none pending
  int64_t backoff_ms = first_backoff_ms;
  uint32_t restarts = 0;
  uint32_t fruitless = 0;             // child exits in a row that recorded nothing
};

} // namespace chorus::actors::recording
