#include "actors/rtmp_ingest.hpp"

#include "actors/child_process.hpp"
#include "actors/messages.hpp"
#include "actors/session.hpp"
#include "actors/typed_connection.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "protocol/rtmp_video_plan.hpp"
#include "protocol/typed_dialect.hpp"

#include <caf/all.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <system_error>
#include <variant>

namespace chorus::actors {

namespace {

using rtmp_known_atom = caf::atom_constant<caf::atom("rtmpknown")>;
using rtmp_ended_atom = caf::atom_constant<caf::atom("rtmpended")>;
using rtmp_timeout_atom = caf::atom_constant<caf::atom("rtmptime")>;
using rtmp_watch_atom = caf::atom_constant<caf::atom("rtmpwatch")>;

constexpr const char* component = "rtmp";
constexpr auto watch_interval = std::chrono::milliseconds(500);
constexpr int64_t child_kill_after_ms = 3000;
// The payload types FFmpeg is told to send with (the producer declares the same).
constexpr uint8_t video_payload_type = 102;
constexpr uint8_t audio_payload_type = 100;

// In order: the video transport, the publish accepted and the stream probed, the audio
// transport, the producers, then running (FFmpeg fed).
enum class step : uint8_t { video_transport, probing, audio_transport, produce, running };

struct ingest_state {
  rtmp_start start;
  node_context_ptr ctx;
  caf::actor session;
  std::shared_ptr<protocol::typed_exchange> exchange;
  step at = step::video_transport;
  uint64_t step_number = 0;
  std::map<std::string, int> pending; // staged text -> the kind it is for (0 video, 1 audio)
  protocol::plain_transport_reply transports[2];
  uint32_t ssrcs[2] = {0, 0};
  rtmp_media_known media;
  protocol::rtmp_video_plan video;
  pid_t child = -1;
  std::string child_log;
  bool ended = false;
  static inline const char* name = "chorus.rtmp";

  // However the actor ends: FFmpeg (its input closed with the connection, so it is ending)
  // is stopped and reaped.
  ~ingest_state() {
    if (child > 0)
      child_process::stop_orphans({child}, child_kill_after_ms);
  }
};

using ingest_actor = caf::stateful_actor<ingest_state>;

void ask(ingest_actor* self, protocol::request_body body, int kind) {
  auto& st = self->state;
  auto text = st.exchange->stage(std::move(body));
  st.pending[text] = kind;
  self->send(st.session, ws_text{std::move(text)});
}

void next_step(ingest_actor* self, step s) {
  auto& st = self->state;
  st.at = s;
  ++st.step_number;
  if (s != step::running)
    self->delayed_send(self, std::chrono::milliseconds(rtmp_step_timeout_ms), rtmp_timeout_atom::value,
                       st.step_number);
}

enum class ending : uint8_t { error, normal };

// Ends the ingest: the publisher is refused (before the publish was accepted, with
// `refusal_code`) or disconnected, the session leaves the room, FFmpeg is stopped (at the
// actor's exit). An error (a step refused or timed out, FFmpeg gone) is counted as a refusal.
void end(ingest_actor* self, const std::string& why, std::string refusal_code = {},
         ending kind = ending::error) {
  auto& st = self->state;
  if (st.ended)
    return;
  st.ended = true;
  LOG_INFO(component, "'" << st.start.peer_id << "' in room '" << st.start.room_id << "' ends: " << why);
  if (kind == ending::normal && !st.child_log.empty()) {
    std::error_code ec;
    std::filesystem::remove(st.child_log, ec); // kept only when something went wrong
  }
  if (!refusal_code.empty()) {
    st.start.link->refuse(std::move(refusal_code), why); // (counted by the connection)
  } else {
    if (kind == ending::error)
      st.ctx->counters->rtmp_refused.fetch_add(1, std::memory_order_relaxed);
    st.start.link->close(why);
  }
  self->quit();
}

std::string rtp_url(const protocol::plain_transport_reply& t) {
  const std::string host = t.ip.find(':') != std::string::npos ? "[" + t.ip + "]" : t.ip;
  const auto port = std::to_string(t.port);
  return "rtp://" + host + ":" + port + "?rtcpport=" + port + "&pkt_size=1200";
}

// FFmpeg reads the stream as FLV on its stdin and sends each kind as RTP to its transport.
void start_ffmpeg(ingest_actor* self) {
  auto& st = self->state;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return end(self, std::string("no pipe for ffmpeg: ") + std::strerror(errno));
  const auto binary = child_process::resolve_binary(st.ctx->recording.ffmpeg);
  // What the stream carries is known from its first tags (the publisher's sequence
  // headers): a short probe, so that the room sees the first picture soon.
  std::vector<std::string> args{binary};
  for (const char* a : {"-hide_banner", "-nostdin", "-loglevel", "warning", "-probesize", "500000",
                        "-analyzeduration", "1000000", "-f", "flv", "-i", "pipe:0"})
    args.emplace_back(a);
  if (st.media.video && st.video.copy) {
    for (const char* a : {"-map", "0:v:0", "-c:v", "copy", "-bsf:v", "h264_mp4toannexb"})
      args.emplace_back(a);
  } else if (st.media.video) {
    // What every browser decodes: constrained baseline (or main), no B-frames, a keyframe
    // every two seconds (a receiver that joins waits at most that long: RTMP has no PLI).
    for (const char* a : {"-map", "0:v:0", "-c:v", "libx264", "-preset", "veryfast", "-tune",
                          "zerolatency", "-bf", "0", "-pix_fmt", "yuv420p", "-crf", "23", "-maxrate",
                          "3M", "-bufsize", "3M", "-force_key_frames", "expr:gte(t,n_forced*2)"})
      args.emplace_back(a);
    args.insert(args.end(), {"-profile:v", st.video.x264_profile});
  }
  if (st.media.video) {
    args.insert(args.end(), {"-payload_type", std::to_string(video_payload_type), "-ssrc",
                             std::to_string(st.ssrcs[0]), "-f", "rtp", rtp_url(st.transports[0])});
  }
  if (st.media.audio) {
    for (const char* a : {"-map", "0:a:0", "-c:a", "libopus", "-b:a", "96k", "-ar", "48000", "-ac", "2"})
      args.emplace_back(a);
    args.insert(args.end(), {"-payload_type", std::to_string(audio_payload_type), "-ssrc",
                             std::to_string(st.ssrcs[1]), "-f", "rtp", rtp_url(st.transports[1])});
  }
  std::error_code ec;
  st.child_log = (std::filesystem::temp_directory_path(ec) / ("chorus-rtmp-" + st.start.peer_id + ".log")).string();
  std::filesystem::remove(st.child_log, ec); // a former ingest's of this peer
  st.child = child_process::start_child(binary, args, st.child_log, fds[0]);
  ::close(fds[0]);
  if (st.child < 0) {
    ::close(fds[1]);
    return end(self, std::string("cannot start ffmpeg: ") + std::strerror(errno));
  }
  LOG_INFO(component, "'" << st.start.peer_id << "' in room '" << st.start.room_id << "': ffmpeg "
                          << st.child << " takes the stream ("
                          << (!st.media.video ? std::string("no video")
                              : st.video.copy ? "H.264 " + st.media.profile_level_id + " passed through"
                                              : "H.264 " + st.media.profile_level_id + " transcoded to " +
                                                  st.video.profile_level_id)
                          << (st.media.audio ? ", audio to Opus" : ", no audio") << ")");
  st.start.link->feed(fds[1]);
  next_step(self, step::running);
  self->delayed_send(self, watch_interval, rtmp_watch_atom::value);
}

void produce(ingest_actor* self, int kind) {
  auto& st = self->state;
  protocol::produce_request p;
  p.room_id = st.start.room_id;
  p.transport_id = st.transports[kind].id;
  rtp::codec_parameters codec;
  if (kind == 0) {
    p.kind = rtp::media_kind::video;
    codec.mime_type = "video/H264";
    codec.payload_type = video_payload_type;
    codec.clock_rate = 90000;
    codec.parameters = {rtp::codec_param{"packetization-mode", "1", true},
                        rtp::codec_param{"profile-level-id", st.video.profile_level_id, false},
                        rtp::codec_param{"level-asymmetry-allowed", "1", true}};
    codec.rtcp_feedback = {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"}};
    p.source = "webcam";
  } else {
    p.kind = rtp::media_kind::audio;
    codec.mime_type = "audio/opus";
    codec.payload_type = audio_payload_type;
    codec.clock_rate = 48000;
    codec.channels = 2;
    p.source = "mic";
  }
  p.rtp_parameters.codecs.push_back(std::move(codec));
  rtp::encoding_parameters enc;
  enc.ssrc = st.ssrcs[kind];
  p.rtp_parameters.encodings.push_back(enc);
  p.app_data = "{\"source\":\"" + p.source + "\",\"rtmp\":true}";
  ask(self, std::move(p), kind);
}

void create_transport(ingest_actor* self, int kind) {
  auto& st = self->state;
  protocol::plain_transport_request r;
  r.room_id = st.start.room_id;
  r.op = protocol::plain_op::create;
  r.listen_ip = "127.0.0.1"; // FFmpeg runs beside the server
  r.rtcp_mux = true;
  r.comedia = true;
  ask(self, std::move(r), kind);
}

// What the connection found in the stream: the audio transport, then the producers.
void on_known(ingest_actor* self, rtmp_media_known info) {
  auto& st = self->state;
  if (st.at != step::probing)
    return;
  st.media = std::move(info);
  if (!st.media.audio && !st.media.video)
    return end(self, "the stream carries neither audio nor video");
  if (st.media.video) {
    auto plan = protocol::plan_rtmp_video(
      protocol::parse_rtmp_video_mode(st.ctx->rtmp.video).value_or(protocol::rtmp_video_mode::automatic),
      st.media.profile_level_id, st.media.b_frames, st.ctx->router_capabilities);
    if (!plan)
      return end(self, plan.error());
    st.video = std::move(*plan);
    if (!st.video.copy)
      LOG_INFO(component, "'" << st.start.peer_id << "': its H.264 (" << st.media.profile_level_id
                              << ") is transcoded to " << st.video.x264_profile << ": " << st.video.reason);
  }
  if (st.media.audio) {
    next_step(self, step::audio_transport);
    return create_transport(self, 1);
  }
  next_step(self, step::produce);
  produce(self, 0);
}

void on_answer(ingest_actor* self, const std::string& text) {
  auto& st = self->state;
  auto it = st.pending.find(text);
  auto a = st.exchange->take(text);
  if (it == st.pending.end() || !a || st.ended)
    return;
  const int kind = it->second;
  st.pending.erase(it);
  const char* what = kind == 0 ? "video" : "audio";
  switch (st.at) {
    case step::video_transport:
    case step::audio_transport: {
      const bool first = st.at == step::video_transport;
      if (!a->ok)
        return end(self, std::string("create-plain-transport (") + what + "): " + a->error.message,
                   first ? (a->error.code == protocol::error_code::unauthorized ||
                                    a->error.code == protocol::error_code::forbidden
                              ? "NetStream.Publish.Unauthorized"
                              : "NetStream.Publish.Failed")
                         : std::string{});
      const auto* made = std::get_if<protocol::plain_transport_reply>(&a->reply);
      if (!made)
        return end(self, "create-plain-transport: an unexpected reply");
      st.transports[kind] = *made;
      if (first) {
        LOG_INFO(component, st.start.address << ": '" << st.start.peer_id << "' publishes into room '"
                                             << st.start.room_id << "'");
        next_step(self, step::probing);
        st.start.link->accept();
        return;
      }
      next_step(self, step::produce);
      return produce(self, st.media.video ? 0 : 1);
    }
    case step::produce: {
      if (!a->ok)
        return end(self, std::string("produce (") + what + "): " + a->error.message);
      if (kind == 0 && st.media.audio)
        return produce(self, 1);
      return start_ffmpeg(self);
    }
    case step::probing:
    case step::running:
      return;
  }
}

caf::behavior ingest_impl(ingest_actor* self, caf::actor node, node_context_ptr ctx, rtmp_start start) {
  auto& st = self->state;
  st.start = std::move(start);
  st.ctx = ctx;
  // FFmpeg's -ssrc is a signed 32-bit option: SSRCs below 2^31, never 0.
  st.ssrcs[0] = (ids::random_u32() & 0x7fffffff) | 1;
  st.ssrcs[1] = (ids::random_u32() & 0x7fffffff) | 2;
  ctx->counters->rtmp_ingests.fetch_add(1, std::memory_order_relaxed);
  st.exchange = std::make_shared<protocol::typed_exchange>();
  session_params params;
  params.peer_id = st.start.peer_id;
  params.name = st.start.name;
  params.room_id = st.start.room_id; // joined at start
  params.ticket = st.start.ticket;
  st.session = spawn_session(self->system(), std::move(node), ctx,
                             std::make_shared<typed_connection>(self->address()),
                             std::shared_ptr<protocol::dialect>{protocol::make_typed_dialect(st.exchange)},
                             std::move(params));
  self->monitor(st.session);
  // At the end, whatever ends it: the session leaves, FFmpeg is stopped, the connection
  // closed.
  self->attach_functor([session = st.session, counters = ctx->counters,
                        link = st.start.link](const caf::error&) {
    counters->rtmp_ingests.fetch_sub(1, std::memory_order_relaxed);
    caf::anon_send(session, ws_closed{1000});
    link->close("the ingest ended");
  });
  next_step(self, step::video_transport);
  create_transport(self, 0);
  return {
    [=](typed_text_atom, std::string& text) { on_answer(self, text); },
    [=](typed_closed_atom, uint16_t code, std::string& reason) {
      // The session's close codes (docs/protocol.md): kicked, room closed, limits.
      const bool first = self->state.at == step::video_transport;
      end(self, "the session was closed (" + std::to_string(code) + " " + reason + ")",
          first ? "NetStream.Publish.Failed" : "", first ? ending::error : ending::normal);
    },
    [=](rtmp_known_atom, bool audio, bool video, bool b_frames, std::string& profile) {
      on_known(self, rtmp_media_known{audio, video, std::move(profile), b_frames});
    },
    [=](rtmp_ended_atom, std::string& why) { end(self, "the publisher: " + why, {}, ending::normal); },
    [=](rtmp_watch_atom) {
      auto& s = self->state;
      if (s.child <= 0 || s.ended)
        return;
      int status = 0;
      if (::waitpid(s.child, &status, WNOHANG) == s.child) {
        s.child = -1;
        return end(self, "ffmpeg exited with " + std::to_string(child_process::exit_code_of(status)) +
                           " (its log: " + s.child_log + ")");
      }
      self->delayed_send(self, watch_interval, rtmp_watch_atom::value);
    },
    [=](rtmp_timeout_atom, uint64_t n) {
      auto& s = self->state;
      if (n != s.step_number || s.at == step::running)
        return;
      end(self, s.at == step::probing ? "no audio or video within the probe's time"
                                      : "the room did not answer in time",
          s.at == step::video_transport ? "NetStream.Publish.Failed" : "");
    },
    [=](caf::down_msg& m) {
      if (m.source == self->state.session)
        end(self, "the session ended");
    },
  };
}

} // namespace

caf::actor spawn_rtmp_ingest(caf::actor_system& sys, caf::actor node, node_context_ptr ctx,
                             rtmp_start start) {
  auto a = sys.spawn(ingest_impl, std::move(node), std::move(ctx), std::move(start));
  return caf::actor_cast<caf::actor>(a);
}

void rtmp_media_known_to(const caf::actor& ingest, rtmp_media_known info) {
  caf::anon_send(ingest, rtmp_known_atom::value, info.audio, info.video, info.b_frames,
                 std::move(info.profile_level_id));
}

void rtmp_ended_to(const caf::actor& ingest, std::string why) {
  caf::anon_send(ingest, rtmp_ended_atom::value, std::move(why));
}

} // namespace chorus::actors
