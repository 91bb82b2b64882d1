#include "actors/media_recorder.hpp"
#include "actors/recording_track.hpp"

#include "actors/child_process.hpp"
#include "actors/clock.hpp"
#include "actors/consumer.hpp"
#include "actors/events.hpp"
#include "actors/exit_request.hpp"
#include "actors/media_messages.hpp"
#include "actors/messages.hpp"
#include "actors/recorder.hpp"
#include "actors/rtp_sender.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "protocol/recording.hpp"
#include "protocol/recording_segment.hpp"
#include "rtp/ortc.hpp"

#include <caf/all.hpp>

#include <signal.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>
#include <random>

namespace chorus::actors {

namespace {

constexpr const char* recorder_component = "media-recorder";
constexpr auto tick_interval = std::chrono::milliseconds(100);
constexpr int64_t bind_timeout_ms = 5000;    // ffmpeg has this long to bind its port
// A child asked to stop (a BYE, or the end of its pipe) that still runs this long after
// gets a SIGINT; this long after the ask, a SIGKILL.
constexpr int64_t bye_grace_ms = 1500;
constexpr int64_t kill_after_ms = 5000;
constexpr int64_t stable_after_ms = 30000;   // a segment this long resets the backoff
constexpr int64_t disk_check_ms = 1000;
// Open segments' numbers are written this often, so that a home that dies leaves a manifest
// that accounts for its part up to a moment before.
constexpr int64_t manifest_refresh_ms = 2000;
// A recording going on at a new home reads its former home's manifest this long after it
// started here: a home that handed the room over has closed its part by then.
constexpr int64_t resume_join_ms = 1500;
constexpr uint32_t max_fruitless = 5; // children in a row that recorded nothing: give up
constexpr const char* loopback = "127.0.0.1";

namespace fs = std::filesystem;
using child_process::exit_code_of;
using child_process::free_port_pair;
using child_process::port_taken;
using child_process::resolve_binary;
using child_process::send_bye;
using recording::phase;
using recording::track;
using recording::first_backoff_ms;

// ---- the actor ----------------------------------------------------------------------------

struct recorder_state {
  std::string room_id;
  std::string recording_id;
  node_context_ptr ctx;
  caf::actor room, node;
  std::string ffmpeg;       // resolved path
  fs::path dir;             // this recording's directory
  protocol::recording_manifest manifest;
  std::vector<track> tracks;
  std::minstd_rand rng{ids::random_u32()};
  bool stopping = false;
  bool moving = false; // the room moves: the recording goes on at its new home
  caf::response_promise stop_promise;
  bool has_stop_promise = false;
  bool disk_full = false;
  int64_t next_disk_check = 0;
  int64_t next_refresh = 0;
  // Going on after a change of home: the former home, when it went on here (Unix ms), and
  // when to join the former part's manifest (mono ms; 0: done, or not resumed). Until then
  // nothing is written over that manifest.
  std::string resumed_from;
  int64_t resumed_at_ms = 0;
  int64_t join_at = 0;
  static inline const char* name = "chorus.media_recorder";

  ~recorder_state() {
    std::vector<pid_t> pids;
    for (auto& t : tracks)
      if (t.pid > 0) {
        send_bye(t.port, t.params.encodings.empty() ? 0 : t.params.encodings[0].ssrc);
        pids.push_back(t.pid);
      }
    child_process::stop_orphans(std::move(pids), kill_after_ms);
  }
};

using recorder_actor = caf::stateful_actor<recorder_state>;

void write_manifest(recorder_actor* self) {
  auto& st = self->state;
  if (st.join_at != 0)
    return; // the former home's part is not joined yet: its manifest stays as it is
  st.manifest.updated_at_ms = wall_ms();
  auto path = st.dir / "manifest.json";
  auto tmp = st.dir / "manifest.json.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << protocol::manifest_json(st.manifest, true) << "\n";
    if (!out) {
      LOG_WARN(recorder_component, st.recording_id << ": cannot write " << path.string());
      return;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
}

// The size of a file a child wrote; nullopt when there is none.
std::optional<uint64_t> file_bytes(const fs::path& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? std::nullopt : std::optional<uint64_t>(n);
}

// The former home's part joined to what was recorded here (a recording that goes on after
// a change of home): its manifest from the shared directory, or, when it is not there, the
// gap alone (from an unknown moment) and an error saying so.
void join_earlier_part(recorder_actor* self) {
  auto& st = self->state;
  if (st.join_at == 0)
    return;
  st.join_at = 0;
  std::optional<protocol::recording_manifest> earlier;
  {
    std::ifstream in(st.dir / "manifest.json");
    std::stringstream text;
    text << in.rdbuf();
    if (in)
      earlier = protocol::manifest_from_json(text.str());
  }
  protocol::recording_manifest joined;
  if (earlier && earlier->recording_id == st.recording_id) {
    // Segments the former home left open (it was lost): their files as they are now.
    for (auto& t : earlier->tracks)
      for (auto& seg : t.segments)
        if (seg.ended.empty())
          protocol::drop_unwritten(seg, file_bytes(st.dir / seg.file));
    joined = protocol::resume_manifest(std::move(*earlier), st.resumed_at_ms, st.resumed_from);
  } else {
    joined.recording_id = st.recording_id;
    joined.room_id = st.room_id;
    joined.started_by = st.manifest.started_by;
    joined.started_at_ms = st.manifest.started_at_ms;
    joined.gaps.push_back({-1, st.resumed_at_ms - st.manifest.started_at_ms, st.resumed_from,
                           "home-changed"});
    joined.errors.push_back(protocol::iso_utc(wall_ms()) + " part-missing: the recording's part "
                            "on " + st.resumed_from + " is not in " + st.dir.string() +
                            " (recording.directory is not shared)");
  }
  std::vector<std::size_t> index_map;
  st.manifest = protocol::join_manifests(std::move(joined), st.manifest, index_map);
  for (auto& t : st.tracks)
    t.manifest_index = index_map[t.manifest_index];
  LOG_INFO(recorder_component, st.recording_id << ": joined the part recorded on "
                                               << st.resumed_from
                                               << (earlier ? "" : " (its manifest was not found)"));
  write_manifest(self);
}

// The numbers of the segments being recorded, as they stand (written every
// manifest_refresh_ms).
void refresh_open_segments(recorder_actor* self) {
  auto& st = self->state;
  bool changed = false;
  const int64_t now = wall_ms();
  for (auto& t : st.tracks)
    if (t.pid > 0 && t.state == phase::running && t.first_media_wall != 0) {
      auto& seg = st.manifest.tracks[t.manifest_index].segments.back();
      seg.has_media = true;
      seg.start_offset_ms = t.first_media_wall - st.manifest.started_at_ms;
      seg.duration_ms = now - t.first_media_wall;
      changed = true;
    }
  if (changed)
    write_manifest(self);
}

void report(recorder_actor* self, const std::string& reason, const std::string& message) {
  auto& st = self->state;
  LOG_WARN(recorder_component, st.recording_id << ": " << reason << ": " << message);
  // Bounded: an ffmpeg that cannot be started is retried for as long as the recording runs.
  constexpr std::size_t max_listed_errors = 200;
  if (st.manifest.errors.size() < max_listed_errors)
    st.manifest.errors.push_back(protocol::iso_utc(wall_ms()) + " " + reason + ": " + message);
  else if (st.manifest.errors.size() == max_listed_errors)
    st.manifest.errors.push_back("further errors are not listed (see the server's log)");
  protocol::recording_event ev;
  ev.kind = protocol::recording_event_kind::error;
  ev.recording_id = st.recording_id;
  ev.reason = reason;
  ev.message = message;
  self->send(st.room, std::move(ev));
}

protocol::manifest_segment& current_segment(recorder_actor* self, track& t) {
  return self->state.manifest.tracks[t.manifest_index].segments.back();
}

// Takes the consumer and the transport of the current child away (the child keeps running).
void detach_media(recorder_actor* self, track& t) {
  t.media.end(self);
}

// Closes the current segment's numbers once its child has exited, against the file it left.
void close_segment(recorder_actor* self, track& t, const std::string& ended, int status) {
  auto& st = self->state;
  auto& seg = current_segment(self, t);
  const int64_t end = t.end_wall != 0 ? t.end_wall : wall_ms();
  protocol::settle_segment(seg, st.manifest.started_at_ms, t.first_media_wall, end,
                           file_bytes(st.dir / seg.file));
  if (t.first_media_wall != 0 && !seg.has_media)
    LOG_INFO(recorder_component, st.recording_id << ": " << seg.file
                                        << " was not written (its ffmpeg got packets but left no "
                                           "file); the manifest lists it without media");
  if (seg.ended.empty())
    seg.ended = ended;
  seg.exit_status = status;
}

// Ends the child: an RTCP BYE behind the last media (see send_bye), or the end of its IVF
// pipe; it writes its trailer and exits, the tick reaps it (and sends a SIGINT to one that
// has not exited within bye_grace_ms, a SIGKILL after kill_after_ms).
void stop_child(recorder_actor* self, track& t, const std::string& reason) {
  if (t.pid > 0 && t.state != phase::stopping) {
    if (t.ivf) {
      t.ivf->end_input(mono_ms()); // EOF once written out (the tick pumps): it finishes on its own
    } else {
      if (t.feed)
        t.feed->pump(mono_ms(), true); // what still waited for a repair
      send_bye(t.port, t.params.encodings.empty() ? 0 : t.params.encodings[0].ssrc);
    }
    t.stop_mono = mono_ms();
    t.end_wall = wall_ms();
    current_segment(self, t).ended = reason;
    t.state = phase::stopping;
  }
  detach_media(self, t);
}

void child_started(recorder_actor* self, track& t, int64_t now_wall);
bool start_ivf_child(recorder_actor* self, track& t, const std::string& base, int64_t now_wall);

// The output of a child: the track's file, whose writes reach the disk within a second
// (clusters of at most a second, each flushed at once): a child that dies without its
// trailer (its server killed: the death signal interrupts it) leaves a file that plays up
// to a second before.
void add_output(std::vector<std::string>& args, const recorder_state& st, const track& t) {
  for (std::string a : {"-flush_packets", "1", "-cluster_time_limit", "1000", "-f"})
    args.push_back(std::move(a));
  args.push_back(std::string(t.container.format));
  args.push_back((st.dir / t.file).string());
}

bool start_child(recorder_actor* self, track& t) {
  auto& st = self->state;
  const auto& info = t.info;
  auto& mt = st.manifest.tracks[t.manifest_index];
  const int64_t now_wall = wall_ms();
  std::string base = protocol::file_part(st.room_id) + "_" +
                     protocol::file_part(info.user_name.empty() ? info.peer_id : info.user_name) +
                     "_" + protocol::file_part(mt.source) + "_" +
                     protocol::compact_utc(now_wall);
  t.file = base + "." + std::string(t.container.extension);
  if (t.container.ivf_input)
    return start_ivf_child(self, t, base, now_wall);
  t.port = free_port_pair();
  if (t.port == 0) {
    report(self, "ffmpeg-failed", "no free UDP port pair on the loopback for " + info.producer_id);
    return false;
  }
  auto sdp_path = st.dir / (base + ".sdp");
  {
    std::ofstream sdp(sdp_path, std::ios::trunc);
    sdp << protocol::recording_sdp(info.kind, t.params.codecs[0], loopback, t.port);
    if (!sdp) {
      report(self, "disk-error", "cannot write " + sdp_path.string());
      return false;
    }
  }
  std::vector<std::string> args{
    st.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
    "-protocol_whitelist", "file,udp,rtp",
    // ffmpeg reads an SDP input for the whole analyzeduration before it writes anything (and
    // ignores SIGINT meanwhile): long enough for the requested keyframe, no longer.
    "-analyzeduration", info.kind == rtp::media_kind::video ? "2000000" : "1000000",
    "-i", sdp_path.string(), "-map", "0", "-c", "copy"};
  add_output(args, st, t);
  auto feed = rtp_recording_feed::open(t.params.codecs[0].payload_type,
                                       rtp::payload_codec_of(t.params.codecs[0].mime_type), t.port);
  if (!feed) {
    report(self, "ffmpeg-failed", "no input for " + info.producer_id + ": " + feed.error());
    return false;
  }
  t.feed = std::move(*feed);
  t.feed_keyframe_next = 0;
  t.pid = child_process::start_child(st.ffmpeg, args, (st.dir / (base + ".log")).string());
  if (t.pid <= 0) {
    t.feed.reset();
    report(self, "ffmpeg-failed", std::string("cannot start ffmpeg: ") + std::strerror(errno));
    return false;
  }
  child_started(self, t, now_wall);
  return true;
}

// The rest of a start, once the child runs: a new segment in the manifest.
void child_started(recorder_actor* self, track& t, int64_t now_wall) {
  auto& st = self->state;
  auto& mt = st.manifest.tracks[t.manifest_index];
  t.state = phase::binding;
  t.started_mono = mono_ms();
  t.stop_mono = 0;
  t.sigint_sent = false;
  t.segment_start_wall = now_wall;
  t.first_media_wall = 0;
  t.end_wall = 0;
  protocol::manifest_segment seg;
  seg.file = t.file;
  mt.segments.push_back(seg);
  write_manifest(self);
  LOG_INFO(recorder_component, st.recording_id << ": ffmpeg " << t.pid << " records "
                                      << t.info.producer_id << " to " << t.file
                                      << (t.ivf ? " (depacketized here, IVF on its stdin)" : ""));
}

// VP9, AV1: the consumer sends to a socket of ours (ivf_feed), ffmpeg reads IVF from a pipe.
bool start_ivf_child(recorder_actor* self, track& t, const std::string& base, int64_t now_wall) {
  auto& st = self->state;
  auto feed = ivf_feed::open(t.params.codecs[0].payload_type,
                             rtp::payload_codec_of(t.params.codecs[0].mime_type));
  if (!feed) {
    report(self, "ffmpeg-failed", "no IVF input for " + t.info.producer_id + ": " + feed.error());
    return false;
  }
  t.port = (*feed)->port();
  std::vector<std::string> args{
    st.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
    "-f", "ivf", "-i", "pipe:0", "-map", "0", "-c", "copy"};
  add_output(args, st, t);
  t.pid = child_process::start_child(st.ffmpeg, args, (st.dir / (base + ".log")).string(),
                      (*feed)->child_stdin());
  (*feed)->close_child_end();
  if (t.pid <= 0) {
    report(self, "ffmpeg-failed", std::string("cannot start ffmpeg: ") + std::strerror(errno));
    return false;
  }
  t.ivf = std::move(*feed);
  t.feed_keyframe_next = 0;
  child_started(self, t, now_wall);
  return true;
}

// The child listens: open a plain transport to it and consume the producer onto it.
void attach_media(recorder_actor* self, track& t) {
  auto& st = self->state;
  consumer_spawn_args args{ids::uuid4(), t.info.producer_id, t.info.kind, t.params, false};
  args.red = rtp::red_payload_types_of(t.info.consumable);
  auto media = consume_to_loopback(self, std::move(args), t.info.producer,
                                   t.feed ? t.feed->port() : t.port, // a feed's, the child's
                                   st.ctx);
  if (!media) {
    report(self, "ffmpeg-failed", "no plain transport for " + t.info.producer_id + ": " +
                                    media.error());
    stop_child(self, t, "failed");
    return;
  }
  t.media = std::move(*media);
  t.keyframe_again_mono = mono_ms() + 1000;
  t.state = phase::running;
}

// A child exited: close its segment; restart unless the track is finished.
void on_child_exit(recorder_actor* self, track& t, int status) {
  auto& st = self->state;
  const bool expected = t.state == phase::stopping;
  const int code = exit_code_of(status);
  t.pid = -1;
  t.ivf.reset();
  t.feed.reset();
  detach_media(self, t);
  if (!expected) {
    t.end_wall = wall_ms();
    close_segment(self, t, st.disk_full ? "disk-full" : "ffmpeg-exited", code);
    report(self, "ffmpeg-exited",
           "the ffmpeg recording " + t.info.producer_id + " exited (status " +
             std::to_string(code) + "); restarting in " + std::to_string(t.backoff_ms) + " ms");
  } else {
    close_segment(self, t, current_segment(self, t).ended, 0); // 255 after our SIGINT: no news
  }
  const bool had_media = current_segment(self, t).has_media;
  const bool disk = current_segment(self, t).ended == "disk-full";
  if (t.finished || st.stopping) {
    t.state = phase::ended;
    write_manifest(self);
    return;
  }
  t.state = phase::idle;
  t.fruitless = had_media || disk ? 0 : t.fruitless + 1;
  if (t.fruitless >= max_fruitless) { // e.g. a stream ffmpeg cannot parse: stop trying
    t.finished = true;
    t.state = phase::ended;
    report(self, "gave-up",
           "producer " + t.info.producer_id + ": " + std::to_string(t.fruitless) +
             " ffmpeg runs in a row recorded nothing (see the .log files); not retried");
    write_manifest(self);
    return;
  }
  write_manifest(self);
  if (disk) { // stopped while the disk was full: again as soon as there is room
    t.restart_at_mono = mono_ms();
    return;
  }
  if (t.segment_start_wall != 0 && wall_ms() - t.segment_start_wall > stable_after_ms)
    t.backoff_ms = first_backoff_ms;
  t.restart_at_mono = mono_ms() + t.backoff_ms;
  t.backoff_ms = std::min<int64_t>(t.backoff_ms * 2, st.ctx->recording.max_restart_backoff_ms);
  ++t.restarts;
}

void check_disk(recorder_actor* self) {
  auto& st = self->state;
  struct statvfs vfs {};
  if (::statvfs(st.dir.c_str(), &vfs) != 0)
    return;
  const uint64_t free_bytes = uint64_t(vfs.f_bavail) * vfs.f_frsize;
  const bool full = free_bytes < (uint64_t(st.ctx->recording.min_free_mb) << 20);
  if (full && !st.disk_full) {
    st.disk_full = true;
    report(self, "disk-full",
           std::to_string(free_bytes >> 20) + " MiB free under " + st.dir.string() +
             " (recording.minFreeMb " + std::to_string(st.ctx->recording.min_free_mb) +
             "): recording paused, the class goes on");
    for (auto& t : st.tracks)
      if (t.pid > 0)
        stop_child(self, t, "disk-full");
  } else if (!full && st.disk_full) {
    st.disk_full = false;
    LOG_INFO(recorder_component, st.recording_id << ": disk space is back; recording resumes");
  }
}

// The class record's row for this recording (store/record.hpp), when storage is on.
void record_stopped(recorder_actor* self) {
  auto& st = self->state;
  uint32_t files = 0;
  for (auto& t : st.manifest.tracks)
    for (auto& seg : t.segments)
      files += seg.has_media ? 1 : 0;
  record(self, *st.ctx,
         store::recording_stopped{st.room_id, st.recording_id, (st.dir / "manifest.json").string(),
                                  files, st.manifest.stopped_at_ms - st.manifest.started_at_ms,
                                  st.manifest.stopped_at_ms});
}

void finish_stop(recorder_actor* self) {
  auto& st = self->state;
  join_earlier_part(self);
  st.manifest.stopped_at_ms = wall_ms();
  write_manifest(self);
  record_stopped(self);
  protocol::recording_event ev;
  ev.kind = protocol::recording_event_kind::stopped;
  ev.recording_id = st.recording_id;
  ev.manifest_path = (st.dir / "manifest.json").string();
  ev.manifest_json = protocol::manifest_json(st.manifest, false);
  LOG_INFO(recorder_component, st.recording_id << ": stopped, manifest " << ev.manifest_path);
  // recording-finished to the webhooks: the manifest (what a later step mixes) and the
  // bytes of the files it lists.
  int64_t bytes = 0;
  for (auto& t : st.manifest.tracks)
    for (auto& seg : t.segments) {
      std::error_code ec;
      auto n = std::filesystem::file_size(st.dir / seg.file, ec);
      if (!ec && seg.has_media)
        bytes += static_cast<int64_t>(n);
    }
  recording_finished(*st.ctx, st.room_id, st.recording_id, ev.manifest_path, bytes,
                     st.manifest.stopped_at_ms - st.manifest.started_at_ms,
                     st.manifest.stopped_at_ms);
  if (st.has_stop_promise)
    st.stop_promise.deliver(std::move(ev));
  self->quit();
}

void on_tick(recorder_actor* self) {
  auto& st = self->state;
  const int64_t now = mono_ms();
  if (now >= st.next_disk_check) {
    st.next_disk_check = now + disk_check_ms;
    check_disk(self);
  }
  if (st.join_at != 0 && now >= st.join_at)
    join_earlier_part(self);
  if (now >= st.next_refresh) {
    st.next_refresh = now + manifest_refresh_ms;
    refresh_open_segments(self);
  }
  bool all_done = true;
  for (auto& t : st.tracks) {
    if (t.pid > 0) {
      int status = 0;
      pid_t r = ::waitpid(t.pid, &status, WNOHANG);
      if (r == t.pid || (r < 0 && errno == ECHILD)) {
        on_child_exit(self, t, r == t.pid ? status : 0);
      } else if (t.state == phase::binding) {
        if (port_taken(t.port))
          attach_media(self, t);
        else if (now - t.started_mono > bind_timeout_ms)
          stop_child(self, t, "failed");
      } else if (t.state == phase::running) {
        if (t.first_media_wall == 0 && t.media.send && t.media.send->rtp_sent.load() > 0)
          t.first_media_wall = wall_ms();
        // A loss, or no keyframe yet: ask (the producer's throttle merges requests), at
        // most once a second from here.
        const bool wants_keyframe =
          t.ivf ? t.ivf->pump(now).wants_keyframe : t.feed && t.feed->pump(now);
        if (wants_keyframe && now >= t.feed_keyframe_next && t.first_media_wall != 0) {
          t.feed_keyframe_next = now + 1000;
          self->send(t.info.producer, keyframe_request_atom::value);
        }
        if (t.keyframe_again_mono != 0 && now >= t.keyframe_again_mono) {
          t.keyframe_again_mono = 0;
          if (t.info.kind == rtp::media_kind::video)
            self->send(t.info.producer, keyframe_request_atom::value);
        }
      } else if (t.state == phase::stopping && now - t.stop_mono > kill_after_ms) {
        ::kill(t.pid, SIGKILL);
      } else if (t.state == phase::stopping && !t.ivf && !t.sigint_sent &&
                 now - t.stop_mono > bye_grace_ms) {
        t.sigint_sent = true; // the BYE was lost (a full socket) or not read
        LOG_WARN(recorder_component, st.recording_id << ": ffmpeg " << t.pid << " still runs "
                                                     << bye_grace_ms << " ms after its BYE: SIGINT");
        ::kill(t.pid, SIGINT);
      } else if (t.state == phase::stopping && t.ivf) {
        t.ivf->pump(now); // writes out what is pending, then EOF
      }
    } else if (t.state == phase::idle && !t.finished && !st.stopping && !st.disk_full &&
               t.restart_at_mono != 0 && now >= t.restart_at_mono) {
      t.restart_at_mono = 0;
      if (!start_child(self, t)) {
        t.restart_at_mono = now + t.backoff_ms;
        t.backoff_ms = std::min<int64_t>(t.backoff_ms * 2, st.ctx->recording.max_restart_backoff_ms);
      }
    }
    if (t.pid > 0)
      all_done = false;
  }
  if (st.stopping && all_done) {
    finish_stop(self);
    return;
  }
  self->delayed_send(self, tick_interval, recording_tick_atom::value);
}

void add_track(recorder_actor* self, producer_info info, std::string node = {}) {
  auto& st = self->state;
  for (auto& t : st.tracks)
    if (t.info.producer_id == info.producer_id)
      return;
  if (info.consumable.codecs.empty())
    return;
  auto container = protocol::container_for(info.consumable.codecs[0].mime_type);
  if (!container) {
    report(self, "codec-unsupported",
           "producer " + info.producer_id + " (" + info.consumable.codecs[0].mime_type +
             ") cannot be recorded without transcoding");
    return;
  }
  auto params = loopback_parameters(info, *st.ctx, static_cast<uint32_t>(st.rng()) | 1u);
  if (!params) {
    report(self, "consume-failed", "producer " + info.producer_id + ": " + params.error());
    return;
  }
  track t;
  t.container = *container;
  t.params = std::move(*params);
  protocol::manifest_track mt;
  mt.producer_id = info.producer_id;
  mt.peer_id = info.peer_id;
  mt.user_id = info.user_id;
  mt.name = info.user_name.empty() ? info.peer_id : info.user_name;
  mt.kind = info.kind == rtp::media_kind::audio ? "audio" : "video";
  mt.source = !info.source.empty() ? info.source : info.is_screen_share ? "screen" : mt.kind;
  mt.codec = t.params.codecs[0].mime_type;
  mt.node = std::move(node);
  t.manifest_index = st.manifest.tracks.size();
  st.manifest.tracks.push_back(std::move(mt));
  t.info = std::move(info);
  st.tracks.push_back(std::move(t));
  auto& added = st.tracks.back();
  if (!st.disk_full && !start_child(self, added)) {
    added.restart_at_mono = mono_ms() + added.backoff_ms;
    added.backoff_ms *= 2;
  }
}

// A producer on another node is recorded through this node's relay of it.
void on_producer(recorder_actor* self, producer_info& info) {
  auto& st = self->state;
  if (st.stopping)
    return;
  if (info.producer && info.producer.node() != self->node() && st.node) {
    auto node = to_string(info.producer.node());
    self->request(st.node, std::chrono::seconds(5), get_relay{info.producer})
      .then(
        [self, info, node](caf::actor& relay) mutable {
          info.producer = relay;
          add_track(self, std::move(info), node);
        },
        [self, id = info.producer_id](caf::error& err) {
          report(self, "relay-failed", "producer " + id + ": " + to_string(err));
        });
    return;
  }
  add_track(self, std::move(info));
}

void on_producer_gone(recorder_actor* self, const std::string& producer_id) {
  for (auto& t : self->state.tracks)
    if (t.info.producer_id == producer_id && !t.finished) {
      t.finished = true;
      t.restart_at_mono = 0;
      if (t.pid > 0)
        stop_child(self, t, "producer-closed");
      else if (t.state == phase::idle)
        t.state = phase::ended;
    }
}

caf::behavior recorder_impl(recorder_actor* self, media_recorder_args args, node_context_ptr ctx,
                            caf::actor room, caf::actor node, std::string ffmpeg, fs::path dir) {
  auto& st = self->state;
  st.room_id = std::move(args.room_id);
  st.recording_id = std::move(args.recording_id);
  st.ctx = std::move(ctx);
  st.room = std::move(room);
  st.node = std::move(node);
  st.ffmpeg = std::move(ffmpeg);
  st.dir = std::move(dir);
  st.manifest.recording_id = st.recording_id;
  st.manifest.room_id = st.room_id;
  st.manifest.started_by = std::move(args.started_by);
  st.manifest.started_at_ms = args.started_at_ms != 0 ? args.started_at_ms : wall_ms();
  st.resumed_from = std::move(args.resumed_from);
  if (!st.resumed_from.empty()) {
    st.resumed_at_ms = wall_ms();
    st.join_at = mono_ms() + resume_join_ms;
    LOG_INFO(recorder_component, st.recording_id << ": goes on here after its home "
                                                 << st.resumed_from << " changed");
  } else {
    write_manifest(self);
    record(self, *st.ctx,
           store::recording_started{st.room_id, st.recording_id, st.manifest.started_by,
                                    st.ctx->settings.node_id, st.manifest.started_at_ms});
  }
  // Consumers and transports are linked: one that ends is not the recorder's end.
  self->set_exit_handler([self](caf::exit_msg& em) {
    if (em.source == self->state.room.address() || anonymous_exit(self, em)) {
      // The room ended without a stop: write what we have; the children are stopped by the
      // state's destructor. A room that moved goes on recording at its new home: this part
      // ends there (the new home joins it, with the gap), and the record's row stays open.
      auto& st = self->state;
      join_earlier_part(self);
      for (auto& t : st.tracks)
        if (t.pid > 0) { // stopping or not: its segment's numbers are final now
          if (t.end_wall == 0)
            t.end_wall = wall_ms();
          close_segment(self, t, st.moving ? "home-changed" : "room-closed", 0);
        }
      st.manifest.stopped_at_ms = wall_ms();
      write_manifest(self);
      if (!st.moving)
        record_stopped(self);
      // Its consumers and transports end with it, whatever the room's reason: a room that
      // ends normally (its last participant left, or it moved) would not take them along.
      for (auto& t : st.tracks)
        detach_media(self, t);
      self->quit(em.reason);
    }
  });
  self->set_default_handler(caf::drop);
  self->send(self, recording_tick_atom::value);
  LOG_INFO(recorder_component, st.recording_id << ": recording room '" << st.room_id << "' to "
                                      << st.dir.string());
  return {
    [self](producer_info& info) { on_producer(self, info); },
    [self](producer_removed& r) { on_producer_gone(self, r.producer_id); },
    [self](protocol::consumer_closed_event& ev) { on_producer_gone(self, ev.producer_id); },
    [](protocol::producer_paused_event&) {},
    // What a consumer tells its owner about itself (a message without a handler here would
    // come back to the consumer as an error and end it).
    [](const protocol::consumer_layers_event&) {},
    [](const protocol::consumer_score_event&) {},
    [self](recording_tick_atom) { on_tick(self); },
    [self](recording_moves_atom) {
      LOG_INFO(recorder_component, self->state.recording_id << ": the room moves; the recording goes on at its new home");
      self->state.moving = true;
    },
    [self](recording_stop_atom) -> caf::result<caf::message> {
      auto& st = self->state;
      if (st.stopping)
        return make_error(protocol::error_code::invalid_state, "the recording is stopping");
      st.stopping = true;
      for (auto& t : st.tracks) {
        t.finished = true;
        if (t.pid > 0)
          stop_child(self, t, "stopped");
        else if (t.state != phase::ended)
          t.state = phase::ended;
      }
      st.stop_promise = self->make_response_promise();
      st.has_stop_promise = true;
      return st.stop_promise;
    },
  };
}

} // namespace

result<caf::actor> spawn_media_recorder(caf::event_based_actor* room, media_recorder_args args,
                                        node_context_ptr ctx, caf::actor node) {
  if (ctx->recording.directory.empty())
    return failure{"recording is off on this server (recording.directory is not set)"};
  auto ffmpeg = resolve_binary(ctx->recording.ffmpeg);
  if (ffmpeg.empty())
    return failure{"recording needs ffmpeg: '" + ctx->recording.ffmpeg + "' was not found"};
  const int64_t started = args.started_at_ms != 0 ? args.started_at_ms : wall_ms();
  fs::path dir = fs::path(ctx->recording.directory) / protocol::file_part(args.room_id) /
                 (protocol::compact_utc(started) + "_" + args.recording_id.substr(0, 8));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return failure{"cannot create " + dir.string() + ": " + ec.message()};
  return room->spawn<caf::linked>(recorder_impl, std::move(args), std::move(ctx), caf::actor_cast<caf::actor>(room),
                                  std::move(node), std::move(ffmpeg), std::move(dir));
}

} // namespace chorus::actors
