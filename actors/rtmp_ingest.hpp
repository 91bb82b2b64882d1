// An RTMP publisher (OBS, FFmpeg, a hardware encoder) as a participant of a room. The
// connection (app/rtmp_server.hpp) speaks RTMP; this actor joins the room through a session
// actor speaking the typed dialect, as a WHIP resource does (actors/whip.hpp), so rights,
// limits, moderation and the cluster treat it as any client. In order:
//   1. created at the publish (the stream key, a token, admitted): a plain transport for
//      video; once made, the publish is accepted (NetStream.Publish.Start), else refused;
//   2. what the stream carries (protocol::flv_stream_probe): whether its H.264 is passed
//      through or transcoded (protocol/rtmp_video_plan.hpp, rtmp.video), a plain transport
//      for audio, then `produce` for each kind it has (H.264 in the profile the plan says;
//      Opus);
//   3. an FFmpeg child (recording.ffmpeg) reads the stream as FLV on its stdin, copies the
//      H.264 (SPS and PPS put before every keyframe) or transcodes it, transcodes the audio
//      to Opus, and sends both as RTP to the transports (comedia); the connection is told
//      to feed it.
// The end of any of them (the encoder disconnects or unpublishes, FFmpeg exits, the room
// ends the participant) ends the others. Every step has a bound (rtmp_step_timeout_ms).
#pragma once

#include "actors/auth.hpp"
#include "actors/context.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace chorus::actors {

inline constexpr int64_t rtmp_step_timeout_ms = 10000;

// The connection as the actor sees it (thread-safe; every call may come from any thread).
class rtmp_link {
public:
  virtual ~rtmp_link() = default;
  // NetStream.Publish.Start; from then on the connection probes the stream and reports it
  // (rtmp_media_known).
  virtual void accept() = 0;
  // An onStatus error with `code` and `description`, then the connection is closed.
  virtual void refuse(std::string code, std::string description) = 0;
  // The stream, from its FLV header and the tags held since the publish, goes to `fd`
  // (a pipe's write end, the connection's from now on).
  virtual void feed(int fd) = 0;
  virtual void close(std::string why) = 0;
};

// What the stream carries (protocol::flv_stream_probe), sent by the connection.
struct rtmp_media_known {
  bool audio = false;
  bool video = false;
  std::string profile_level_id; // H.264's, e.g. "64001f"
  bool b_frames = false;
};

struct rtmp_start {
  std::shared_ptr<rtmp_link> link;
  admission_ticket ticket;
  std::string room_id;
  std::string peer_id;
  std::string name;
  std::string address; // the encoder's "ip:port"
};

// Spawns the ingest's actor; the connection sends it rtmp_media_known once, and
// rtmp_ended_atom when the encoder is gone.
caf::actor spawn_rtmp_ingest(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                             rtmp_start start);
void rtmp_media_known_to(const caf::actor& ingest, rtmp_media_known info);
void rtmp_ended_to(const caf::actor& ingest, std::string why);

} // namespace chorus::actors
