#include "actors/live_streamer.hpp"

#include "actors/child_process.hpp"
#include "actors/clock.hpp"
#include "actors/consumer.hpp"
#include "actors/events.hpp"
#include "actors/exit_request.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/ordered_rtp_input.hpp"
#include "actors/loopback_consumer.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "protocol/live_layout.hpp"
#include "protocol/live_stream.hpp"
#include "rtp/frame_gate.hpp"
#include "rtp/ortc.hpp"
#include "rtp/spliced_stream.hpp"

#include <caf/all.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

namespace chorus::actors {

// Named, not anonymous: the actors are compiled in unity batches beside the media recorder.
namespace live_impl {

namespace fs = std::filesystem;

constexpr const char* component = "live";
constexpr auto tick_interval = std::chrono::milliseconds(20);
constexpr int64_t bind_timeout_ms = 5000;  // the composer has this long to bind its ports
constexpr int64_t kill_after_ms = 5000;    // after the SIGINT of a stop
constexpr int64_t first_backoff_ms = 500;
constexpr int64_t short_run_ms = 10000;    // a run this short counts toward giving up
constexpr uint32_t max_short_runs = 5;
constexpr int64_t keyframe_ask_ms = 1000;  // a source waited on is asked at most this often
constexpr int64_t cpu_read_ms = 1000;
constexpr std::size_t inputs = protocol::live_video_inputs + protocol::live_audio_inputs;
constexpr std::size_t max_sources = 16;    // producers consumed at once (the layout needs 6)

// One producer of the stage consumed onto a socket of ours.
struct source {
  uint64_t key = 0;
  producer_info info;
  loopback_consumer media;
  std::unique_ptr<ordered_rtp_input> input;
  std::optional<rtp::frame_gate> gate; // video
  int64_t keyframe_asked = 0;
};

enum class child_phase : uint8_t { none, binding, running, stopping };

struct streamer_state {
  std::string room_id, stream_id, rtmp_url;
  node_context_ptr ctx;
  caf::actor room, node;
  std::string ffmpeg;
  fs::path dir;
  protocol::live_destination destination;
  // The stage: every producer of the room (in arrival order), the speaker's producer.
  std::map<std::string, producer_info> stage;
  std::map<std::string, uint64_t> order;
  uint64_t next_order = 1;
  std::string speaker_producer;
  protocol::live_layout layout;
  // Consumed producers by id; a source's key is what the spliced streams follow.
  std::map<std::string, source> sources;
  uint64_t next_key = 1;
  std::vector<std::unique_ptr<rtp::spliced_stream>> streams; // one per input
  std::array<int, inputs> out_fd{};
  std::array<uint64_t, protocol::live_video_inputs> video_wanted{}; // the layout's, per input
  std::vector<uint16_t> ports;
  // The composer.
  pid_t pid = -1;
  child_phase phase = child_phase::none;
  int64_t started_mono = 0, stop_mono = 0, restart_at = 0, backoff_ms = first_backoff_ms;
  uint32_t short_runs = 0;
  uint32_t runs = 0; // composers started
  uint64_t cpu_ms_counted = 0; // of this run, already added to the node's counter
  uint64_t cpu_ms_total = 0;   // of every run
  int64_t next_cpu_read = 0;
  bool stopping = false;
  bool gave_up = false;
  bool counted = false; // in the node's live_streams gauge
  caf::response_promise stop_promise;
  bool has_stop_promise = false;
  static inline const char* name = "chorus.live_streamer";

  ~streamer_state() {
    for (int fd : out_fd)
      if (fd > 0)
        ::close(fd);
    if (pid > 0)
      child_process::stop_orphans({pid}, kill_after_ms);
    if (counted)
      ctx->counters->live_streams.fetch_sub(1, std::memory_order_relaxed);
  }
};

using streamer_actor = caf::stateful_actor<streamer_state>;

protocol::live_stream_event make_event(const streamer_state& st,
                                       protocol::live_stream_event_kind kind) {
  protocol::live_stream_event ev;
  ev.kind = kind;
  ev.stream_id = st.stream_id;
  ev.target = st.destination.target;
  ev.where = st.destination.where;
  return ev;
}

void webhook(const streamer_state& st, const char* type, const std::string& message,
             int64_t cpu_ms = -1) {
  ops_event ev;
  ev.type = type;
  ev.room_id = st.room_id;
  ev.node_id = st.ctx->settings.node_id;
  ev.at_ms = wall_ms();
  ev.live_stream_id = st.stream_id;
  ev.target = st.destination.target;
  ev.where = st.destination.where;
  ev.reason = message;
  ev.cpu_ms = cpu_ms;
  emit_event(*st.ctx, std::move(ev));
}

void report(streamer_actor* self, const std::string& reason, const std::string& message) {
  auto& st = self->state;
  LOG_WARN(component, st.room_id << " " << st.stream_id << ": " << reason << ": " << message);
  auto ev = make_event(st, protocol::live_stream_event_kind::error);
  ev.reason = reason;
  ev.message = message;
  self->send(st.room, std::move(ev));
  webhook(st, "live-stream-failed", reason + ": " + message);
}

// ---- the composer's inputs ----------------------------------------------------------------

void make_streams(streamer_state& st) {
  st.streams.clear();
  for (std::size_t i = 0; i < inputs; ++i) {
    const auto in = protocol::live_input_at(i);
    rtp::spliced_stream::config c;
    c.ssrc = 0x4C490000u + uint32_t(i); // "LI" and the input's index
    c.payload_type = in.payload_type;
    c.clock_rate = in.clock_rate;
    c.codec = !in.video ? rtp::payload_codec::opus
                        : in.h264 ? rtp::payload_codec::h264 : rtp::payload_codec::vp8;
    st.streams.push_back(std::make_unique<rtp::spliced_stream>(c));
  }
}

bool open_outputs(streamer_state& st) {
  for (std::size_t i = 0; i < inputs; ++i) {
    if (st.out_fd[i] > 0)
      ::close(st.out_fd[i]);
    st.out_fd[i] = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (st.out_fd[i] < 0)
      return false;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(st.ports[i]);
    if (::connect(st.out_fd[i], reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      return false;
  }
  return true;
}

void send_to_input(streamer_state& st, std::size_t i, std::span<const uint8_t> p) {
  // Best effort, as a consumer's send: a full socket buffer drops it.
  [[maybe_unused]] auto n = ::send(st.out_fd[i], p.data(), p.size(), MSG_DONTWAIT);
}

// ---- the stage and its layout ---------------------------------------------------------------

bool readable(rtp::payload_codec c) {
  return c == rtp::payload_codec::vp8 || c == rtp::payload_codec::h264 ||
         c == rtp::payload_codec::opus;
}

rtp::payload_codec codec_of(const producer_info& info) {
  return info.consumable.codecs.empty()
           ? rtp::payload_codec::other
           : rtp::payload_codec_of(info.consumable.codecs[0].mime_type);
}

// Ends every consumer of the stage.
void detach_all(streamer_actor* self) {
  for (auto& [id, s] : self->state.sources)
    s.media.end(self);
  self->state.sources.clear();
}

// Consumes `info` onto a socket of ours; nullptr when it cannot.
source* attach(streamer_actor* self, const producer_info& info) {
  auto& st = self->state;
  if (auto it = st.sources.find(info.producer_id); it != st.sources.end())
    return &it->second;
  if (st.sources.size() >= max_sources)
    return nullptr;
  source s;
  s.key = st.next_key++;
  s.info = info;
  auto params = loopback_parameters(info, *st.ctx, 0x20000000u + uint32_t(s.key));
  if (!params) {
    report(self, "consume-failed", "producer " + info.producer_id + ": " + params.error());
    return nullptr;
  }
  auto input = ordered_rtp_input::open(params->codecs[0].payload_type);
  if (!input) {
    report(self, "consume-failed", "producer " + info.producer_id + ": " + input.error());
    return nullptr;
  }
  s.input = std::move(*input);
  if (info.kind == rtp::media_kind::video)
    s.gate.emplace(codec_of(info));
  consumer_spawn_args args{ids::uuid4(), info.producer_id, info.kind, *params, false};
  const auto layering = rtp::layering_of(info.consumable);
  args.simulcast = layering.simulcast; // the consumer takes the best layer the link allows
  args.spatial_layers = layering.spatial;
  args.temporal_layers = layering.temporal;
  args.red = rtp::red_payload_types_of(info.consumable);
  args.producer_paused = info.paused;
  auto media = consume_to_loopback(self, std::move(args), info.producer, s.input->port(), st.ctx);
  if (!media) {
    report(self, "consume-failed", "producer " + info.producer_id + ": " + media.error());
    return nullptr;
  }
  s.media = std::move(*media);
  auto [it, _] = st.sources.emplace(info.producer_id, std::move(s));
  return &it->second;
}

std::vector<protocol::stage_producer> stage_of(const streamer_state& st) {
  std::vector<protocol::stage_producer> out;
  for (const auto& [id, info] : st.stage) {
    protocol::stage_producer p;
    p.producer_id = id;
    p.peer_id = info.peer_id;
    p.video = info.kind == rtp::media_kind::video;
    p.screen = info.is_screen_share || info.source == "screen";
    p.paused = info.paused;
    p.readable = readable(codec_of(info));
    p.order = st.order.at(id);
    out.push_back(std::move(p));
  }
  return out;
}

// The key of the source of producer `id` for `codec` inputs (0: none, or another codec).
uint64_t key_for(streamer_actor* self, const std::string& id, rtp::payload_codec codec) {
  auto& st = self->state;
  if (id.empty())
    return 0;
  auto it = st.stage.find(id);
  if (it == st.stage.end() || codec_of(it->second) != codec)
    return 0;
  auto* s = attach(self, it->second);
  return s ? s->key : 0;
}

// Lets go of the sources that no input follows or is fed by.
void release_unused(streamer_actor* self) {
  auto& st = self->state;
  for (auto it = st.sources.begin(); it != st.sources.end();) {
    bool used = false;
    for (auto& s : st.streams)
      used = used || s->following() == it->second.key || s->feeding() == it->second.key;
    if (!used) {
      it->second.media.end(self);
      it = st.sources.erase(it);
    } else {
      ++it;
    }
  }
}

// A place (main, pip) has a VP8 and an H264 input: the one of the source's codec follows
// it; the other keeps its picture until the new source is taken, then goes to the filler
// (which the composer does not show). True when an input changed.
bool settle_places(streamer_state& st) {
  bool changed = false;
  for (std::size_t i = 0; i < protocol::live_video_inputs; ++i) {
    auto& input = *st.streams[i];
    auto& sibling = *st.streams[i ^ 1];
    const uint64_t wanted = st.video_wanted[i];
    if (wanted != 0 || input.following() == 0)
      continue;
    const uint64_t sibling_wanted = st.video_wanted[i ^ 1];
    if (sibling_wanted != 0 && sibling.feeding() != sibling_wanted)
      continue; // the new source is not taken yet: this picture stays
    input.follow(0);
    changed = true;
  }
  return changed;
}

// Points the inputs at the layout's producers.
void apply_layout(streamer_actor* self) {
  auto& st = self->state;
  if (st.streams.empty() || st.phase != child_phase::running)
    return;
  const std::string* places[] = {&st.layout.main, &st.layout.pip};
  for (std::size_t place = 0; place < 2; ++place) {
    st.video_wanted[place * 2] = key_for(self, *places[place], rtp::payload_codec::vp8);
    st.video_wanted[place * 2 + 1] = key_for(self, *places[place], rtp::payload_codec::h264);
  }
  for (std::size_t i = 0; i < protocol::live_video_inputs; ++i)
    if (st.video_wanted[i] != 0)
      st.streams[i]->follow(st.video_wanted[i]);
  settle_places(st);
  for (std::size_t i = 0; i < protocol::live_audio_inputs; ++i) {
    const auto& id = i < st.layout.audio.size() ? st.layout.audio[i] : std::string();
    st.streams[protocol::live_video_inputs + i]->follow(key_for(self, id, rtp::payload_codec::opus));
  }
  release_unused(self);
}

void review_layout(streamer_actor* self) {
  auto& st = self->state;
  std::string speaker_peer;
  if (auto it = st.stage.find(st.speaker_producer); it != st.stage.end())
    speaker_peer = it->second.peer_id;
  auto next = protocol::choose_live_layout(stage_of(st), speaker_peer, st.layout,
                                           protocol::live_audio_inputs);
  if (next == st.layout)
    return;
  st.layout = std::move(next);
  apply_layout(self);
}

// ---- the composer -----------------------------------------------------------------------------

bool start_composer(streamer_actor* self) {
  auto& st = self->state;
  st.ports.clear();
  for (std::size_t i = 0; i < inputs; ++i) {
    uint16_t p = 0;
    for (int tries = 0; tries < 8 && p == 0; ++tries) {
      p = child_process::free_port_pair();
      for (auto taken : st.ports)
        if (p == taken || p == taken + 1 || p + 1 == taken)
          p = 0;
    }
    if (p == 0) {
      report(self, "ffmpeg-failed", "no free UDP port pairs on the loopback");
      return false;
    }
    st.ports.push_back(p);
  }
  const auto sdp_path = st.dir / "inputs.sdp";
  {
    std::ofstream sdp(sdp_path, std::ios::trunc);
    sdp << protocol::live_inputs_sdp(st.ports);
    if (!sdp) {
      report(self, "disk-error", "cannot write " + sdp_path.string());
      return false;
    }
  }
  if (!open_outputs(st)) {
    report(self, "ffmpeg-failed", std::string("no socket toward the composer: ") + std::strerror(errno));
    return false;
  }
  protocol::live_encoding enc;
  enc.video_kbps = st.ctx->live.video_kbps;
  enc.hls_list_size = st.ctx->live.hls_list_size;
  enc.continuing = st.runs > 0;
  ++st.runs;
  auto args = protocol::live_ffmpeg_args(sdp_path.string(), st.rtmp_url,
                                         st.rtmp_url.empty() ? st.dir.string() : std::string(), enc);
  args.insert(args.begin(), st.ffmpeg);
  st.pid = child_process::start_child(st.ffmpeg, args, (st.dir / "ffmpeg.log").string());
  if (st.pid <= 0) {
    report(self, "ffmpeg-failed", std::string("cannot start ffmpeg: ") + std::strerror(errno));
    return false;
  }
  st.phase = child_phase::binding;
  st.started_mono = mono_ms();
  st.cpu_ms_counted = 0;
  make_streams(st);
  detach_all(self); // consumed again: each source starts at a keyframe for the new composer
  LOG_INFO(component, st.room_id << " " << st.stream_id << ": ffmpeg " << st.pid << " composes the stage to "
                                 << st.destination.where);
  return true;
}

bool all_bound(const streamer_state& st) {
  for (auto p : st.ports)
    if (!child_process::port_taken(p))
      return false;
  return true;
}

// The composer's CPU time (utime + stime of /proc/PID/stat), in ms; 0 when unreadable.
uint64_t child_cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  std::getline(in, text);
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14)
      utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15)
      stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  const long hz = ::sysconf(_SC_CLK_TCK);
  return hz > 0 ? (utime + stime) * 1000 / uint64_t(hz) : 0;
}

void count_cpu(streamer_state& st) {
  if (st.pid <= 0)
    return;
  const auto now = child_cpu_ms(st.pid);
  if (now > st.cpu_ms_counted) {
    st.ctx->counters->live_cpu_ms.fetch_add(now - st.cpu_ms_counted, std::memory_order_relaxed);
    st.cpu_ms_total += now - st.cpu_ms_counted;
    st.cpu_ms_counted = now;
  }
}

void finish(streamer_actor* self, const std::string& reason) {
  auto& st = self->state;
  auto ev = make_event(st, protocol::live_stream_event_kind::stopped);
  ev.reason = reason;
  LOG_INFO(component, st.room_id << " " << st.stream_id << ": stopped (" << reason << ")");
  webhook(st, "live-stream-stopped", reason, int64_t(st.cpu_ms_total));
  detach_all(self);
  if (st.has_stop_promise)
    st.stop_promise.deliver(ev);
  else
    self->send(st.room, ev);
  self->quit();
}

void on_exit(streamer_actor* self, int status) {
  auto& st = self->state;
  const bool asked = st.phase == child_phase::stopping;
  st.pid = -1;
  st.phase = child_phase::none;
  if (st.stopping || asked) {
    finish(self, st.gave_up ? "failed" : "stopped");
    return;
  }
  const int64_t ran = mono_ms() - st.started_mono;
  st.ctx->counters->live_failures.fetch_add(1, std::memory_order_relaxed);
  st.short_runs = ran < short_run_ms ? st.short_runs + 1 : 0;
  if (ran >= short_run_ms)
    st.backoff_ms = first_backoff_ms;
  if (st.short_runs >= max_short_runs) {
    report(self, "gave-up", std::to_string(st.short_runs) + " ffmpeg runs in a row ended within " +
                              std::to_string(short_run_ms / 1000) + " s (see " +
                              (st.dir / "ffmpeg.log").string() + ")");
    st.gave_up = true;
    finish(self, "failed");
    return;
  }
  report(self, "ffmpeg-exited",
         "the composer exited (status " + std::to_string(child_process::exit_code_of(status)) +
           "); restarting in " + std::to_string(st.backoff_ms) + " ms");
  st.restart_at = mono_ms() + st.backoff_ms;
  st.backoff_ms = std::min<int64_t>(st.backoff_ms * 2, st.ctx->recording.max_restart_backoff_ms);
}

// Reads what the sources sent and feeds the inputs that follow them; then the filler.
void pump(streamer_actor* self, int64_t now) {
  auto& st = self->state;
  for (auto& entry : st.sources) {
    auto& s = entry.second; // (a lambda below takes it: not a structured binding)
    if (!s.input)
      continue;
    auto to_inputs = [&](std::span<const uint8_t> p) {
      for (std::size_t i = 0; i < st.streams.size(); ++i) {
        auto& stream = *st.streams[i];
        if (stream.following() == s.key || stream.feeding() == s.key)
          stream.push(s.key, p, now, [&](std::span<const uint8_t> out) { send_to_input(st, i, out); });
      }
    };
    s.input->pump(
      now,
      [&](rtp::rtp_packet& pkt) {
        if (s.gate)
          s.gate->push(pkt.sequence_number(), pkt.timestamp(), pkt.marker(), pkt.payload(),
                       pkt.bytes(), to_inputs);
        else
          to_inputs(pkt.bytes());
      },
      [](std::span<const uint8_t>) {}); // RTCP: the composer needs none
    bool wants = s.gate && s.gate->waiting_for_keyframe();
    for (auto& stream : st.streams)
      wants = wants || (stream->following() == s.key && stream->waiting_for_keyframe());
    if (wants && now - s.keyframe_asked >= keyframe_ask_ms) {
      s.keyframe_asked = now;
      self->send(s.info.producer, keyframe_request_atom::value);
    }
  }
  for (std::size_t i = 0; i < st.streams.size(); ++i)
    st.streams[i]->tick(now, [&](std::span<const uint8_t> out) { send_to_input(st, i, out); });
  if (settle_places(st))
    release_unused(self);
}

void on_tick(streamer_actor* self) {
  auto& st = self->state;
  const int64_t now = mono_ms();
  if (st.pid > 0) {
    // An exited child's CPU time is read before it is reaped (its /proc entry goes then).
    siginfo_t info{};
    const bool gone = ::waitid(P_PID, id_t(st.pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
                      info.si_pid == st.pid;
    if (gone) {
      count_cpu(st);
      int status = 0;
      const pid_t r = ::waitpid(st.pid, &status, WNOHANG);
      on_exit(self, r == st.pid ? status : 0);
      if (st.stopping || st.gave_up)
        return; // finished (quit)
    } else if (st.phase == child_phase::binding) {
      if (all_bound(st)) {
        st.phase = child_phase::running;
        apply_layout(self);
      } else if (now - st.started_mono > bind_timeout_ms) {
        ::kill(st.pid, SIGKILL); // reaped next tick, restarted as a failure
      }
    } else if (st.phase == child_phase::running) {
      pump(self, now);
    } else if (st.phase == child_phase::stopping) {
      // Its inputs go on (the filler, silence): FFmpeg sees the SIGINT between packets.
      pump(self, now);
      if (now - st.stop_mono > kill_after_ms)
        ::kill(st.pid, SIGKILL);
    }
    if (now >= st.next_cpu_read) {
      st.next_cpu_read = now + cpu_read_ms;
      count_cpu(st);
    }
  } else if (!st.stopping && st.restart_at != 0 && now >= st.restart_at) {
    st.restart_at = 0;
    if (!start_composer(self))
      st.restart_at = now + st.backoff_ms;
  }
  self->delayed_send(self, tick_interval, live_tick_atom::value);
}

void stop_composer(streamer_actor* self) {
  auto& st = self->state;
  st.stopping = true;
  if (st.pid > 0 && st.phase != child_phase::stopping) {
    ::kill(st.pid, SIGINT); // FFmpeg finishes its output (FLV closed, the playlist ended)
    st.phase = child_phase::stopping;
    st.stop_mono = mono_ms();
  }
  detach_all(self);
}

caf::behavior streamer_impl(streamer_actor* self, live_streamer_args args, node_context_ptr ctx,
                            caf::actor room, caf::actor node, std::string ffmpeg, fs::path dir) {
  auto& st = self->state;
  st.room_id = std::move(args.room_id);
  st.stream_id = std::move(args.stream_id);
  st.rtmp_url = std::move(args.rtmp_url);
  st.ctx = std::move(ctx);
  st.room = std::move(room);
  st.node = std::move(node);
  st.ffmpeg = std::move(ffmpeg);
  st.dir = std::move(dir);
  st.destination = protocol::live_destination_of(st.room_id, st.rtmp_url);
  st.ctx->counters->live_streams.fetch_add(1, std::memory_order_relaxed);
  st.counted = true;
  webhook(st, "live-stream-started", {});
  if (!start_composer(self))
    st.restart_at = mono_ms() + st.backoff_ms;
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (em.source == self->state.room.address() || anonymous_exit(self, em)) {
      // The room ended: the composer is stopped by the state's destructor (SIGINT, then
      // SIGKILL), its consumers with it.
      count_cpu(self->state);
      webhook(self->state, "live-stream-stopped", "room-closed", int64_t(self->state.cpu_ms_total));
      detach_all(self);
      self->quit(em.reason);
    }
  });
  self->set_default_handler(caf::drop);
  self->send(self, live_tick_atom::value);
  return {
    [self](producer_info& info) {
      auto& st = self->state;
      if (st.stopping || info.producer_id.empty())
        return;
      if (info.producer && info.producer.node() != self->node() && st.node) {
        self->request(st.node, std::chrono::seconds(5), get_relay{info.producer})
          .then(
            [self, info](caf::actor& relay) mutable {
              info.producer = relay;
              auto& st = self->state;
              st.order.emplace(info.producer_id, st.next_order++);
              st.stage[info.producer_id] = std::move(info);
              review_layout(self);
            },
            [self, id = info.producer_id](caf::error& err) {
              report(self, "relay-failed", "producer " + id + ": " + to_string(err));
            });
        return;
      }
      st.order.emplace(info.producer_id, st.next_order++);
      st.stage[info.producer_id] = std::move(info);
      review_layout(self);
    },
    [self](producer_removed& r) {
      auto& st = self->state;
      st.stage.erase(r.producer_id);
      st.order.erase(r.producer_id);
      review_layout(self);
    },
    [self](producer_paused_update& u) {
      auto& st = self->state;
      if (auto it = st.stage.find(u.producer_id); it != st.stage.end()) {
        it->second.paused = u.paused;
        review_layout(self);
      }
    },
    [self](dominant_speaker& d) {
      self->state.speaker_producer = std::move(d.producer_id);
      review_layout(self);
    },
    [self](protocol::consumer_closed_event& ev) {
      auto& st = self->state;
      st.stage.erase(ev.producer_id);
      review_layout(self);
    },
    [](protocol::producer_paused_event&) {},
    [](const protocol::consumer_layers_event&) {},
    [](const protocol::consumer_score_event&) {},
    [self](live_tick_atom) { on_tick(self); },
    [self](live_stop_atom) -> caf::result<protocol::live_stream_event> {
      auto& st = self->state;
      if (st.has_stop_promise)
        return make_error(protocol::error_code::invalid_state, "the live stream is stopping");
      st.stop_promise = self->make_response_promise();
      st.has_stop_promise = true;
      stop_composer(self);
      if (st.pid <= 0) // none runs (between restarts): over now
        finish(self, "stopped");
      return st.stop_promise;
    },
  };
}

} // namespace live_impl

namespace fs = std::filesystem;

result<caf::actor> spawn_live_streamer(caf::event_based_actor* room, live_streamer_args args,
                                       node_context_ptr ctx, caf::actor node) {
  if (ctx->live.directory.empty())
    return failure{"live streaming is off on this server (live.directory is not set)"};
  auto ffmpeg = child_process::resolve_binary(ctx->recording.ffmpeg);
  if (ffmpeg.empty())
    return failure{"live streaming needs ffmpeg: '" + ctx->recording.ffmpeg + "' was not found"};
  fs::path dir = protocol::live_room_directory(ctx->live.directory, args.room_id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return failure{"cannot create " + dir.string() + ": " + ec.message()};
  // A new stream of the room starts a new playlist: the files of the one before go.
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto name = entry.path().filename().string();
    if (name == "index.m3u8" || name.ends_with(".ts") || name == "inputs.sdp" ||
        name == "ffmpeg.log")
      fs::remove(entry.path(), ec);
  }
  return room->spawn<caf::linked>(live_impl::streamer_impl, std::move(args), std::move(ctx),
                                  caf::actor_cast<caf::actor>(room), std::move(node),
                                  std::move(ffmpeg), std::move(dir));
}

} // namespace chorus::actors
