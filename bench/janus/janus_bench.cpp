#include "bench/janus/janus_bench.hpp"

#include "bench/janus/janus_client.hpp"
#include "bench/janus/janus_transport.hpp"
#include "bench/janus/sdp.hpp"
#include "bench/load/media.hpp"
#include "bench/load/publisher_rtcp.hpp"
#include "bench/load/receive_side.hpp"
#include "common/ids.hpp"
#include "net/dtls_certificate.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"

#include <dirent.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace chorus::bench {

namespace {

using namespace chorus::janus;

constexpr uint64_t never = std::numeric_limits<uint64_t>::max();
constexpr uint64_t max_wait_ms = 10;
constexpr std::size_t max_errors = 10;
// Teardown: the "destroy" of a session waits this long plus per handle for Janus's reply;
// then Janus's handle loops get this long plus per subscriber to end.
constexpr uint64_t destroy_timeout_ms = 5000, destroy_ms_per_handle = 10;
constexpr double drain_timeout_s = 10, drain_s_per_subscriber = 0.02;

uint64_t wall_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count());
}
uint32_t random_u32() {
  uint32_t v = 0;
  while (v == 0)
    ids::random_bytes(&v, sizeof v);
  return v;
}

void log_line(bool verbose, const std::string& s) {
  if (verbose)
    std::fprintf(stderr, "[chorus-bench janus %8.3f] %s\n",
                 double(mono_us() % 100000000000ull) / 1e6, s.c_str());
}

// Janus (event_loops = 0, the default) runs each handle's ICE agent on a thread of its own
// named "hloop <handle id>", from attach until the handle is freed after its hangup. Their
// count in /proc/PID/task tells whether Janus has let go of a run's PeerConnections; nullopt
// when the process cannot be read.
std::optional<uint32_t> janus_handle_loops(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (!d)
    return std::nullopt;
  uint32_t n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.')
      continue;
    std::FILE* f = std::fopen((dir + "/" + e->d_name + "/comm").c_str(), "r");
    if (!f)
      continue; // the thread ended meanwhile
    char comm[32] = {};
    if (std::fgets(comm, sizeof comm, f) && std::strncmp(comm, "hloop", 5) == 0)
      ++n;
    std::fclose(f);
  }
  ::closedir(d);
  return n;
}

// The publisher: one PeerConnection sending audio + video, answering NACK and PLI/FIR.
struct publisher {
  std::unique_ptr<janus_transport> t;
  uint32_t audio_ssrc = 0, video_ssrc = 0;
  uint8_t audio_pt = 111, video_pt = 96;
  extension_ids audio_ids, video_ids;
  std::optional<audio_source> audio;
  std::optional<video_source> video;
  send_history audio_history{128}, video_history{1024};
  uint16_t transport_seq = 0;
  uint64_t next_sr_us = 0;
  uint64_t audio_sent = 0, audio_octets = 0, video_sent = 0, video_octets = 0;
  std::vector<uint8_t> buf = std::vector<uint8_t>(max_rtp_packet + 64);
  std::vector<uint8_t> rtcp_buf = std::vector<uint8_t>(1500);
  totals own;

  void start_media(const bench_options& o, uint64_t start_us) {
    uint16_t seq_a = 0, seq_v = 0;
    ids::random_bytes(&seq_a, 2);
    ids::random_bytes(&seq_v, 2);
    audio.emplace(rtp_fields{audio_pt, false, seq_a, random_u32(), audio_ssrc}, audio_ids, "0",
                  start_us, o.audio_bytes);
    video_config vc;
    vc.kbps = o.video_kbps;
    vc.keyframe_interval_s = o.keyframe_interval_s;
    video.emplace(vc, rtp_fields{video_pt, false, seq_v, random_u32(), video_ssrc}, video_ids,
                  "1", start_us + 3000);
    ids::random_bytes(&transport_seq, 2);
    next_sr_us = start_us + rtcp_interval_us;
  }

  void send_packet(std::span<uint8_t> packet, std::size_t payload_offset, bool is_video) {
    write_send_stamp(packet.subspan(payload_offset), stamp_clock_us());
    const uint16_t seq = uint16_t((packet[2] << 8) | packet[3]);
    (is_video ? video_history : audio_history).store(seq, packet);
    if (!t->send_rtp(packet)) {
      ++own.tx_failed;
      return;
    }
    ++own.tx_packets;
    own.tx_bytes += packet.size();
    const std::size_t payload = packet.size() - payload_offset;
    if (is_video) {
      ++own.tx_video_packets;
      ++video_sent;
      video_octets += payload;
    } else {
      ++own.tx_audio_packets;
      ++audio_sent;
      audio_octets += payload;
    }
  }

  void send_sender_reports(uint64_t now_us) {
    const uint64_t ntp = rtp::ntp_from_ms(int64_t(wall_ms()), rtp::ntp_unix_offset_ms);
    auto one = [&](uint32_t ssrc, uint32_t rtp_ts, uint64_t packets, uint64_t octets) {
      rtp::sender_report sr;
      sr.ssrc = ssrc;
      sr.ntp_timestamp = ntp;
      sr.rtp_timestamp = rtp_ts;
      sr.packet_count = uint32_t(packets);
      sr.octet_count = uint32_t(octets);
      auto sdes = rtp::source_description::with_cname(ssrc, "chorus-bench");
      auto n1 = sr.write(rtcp_buf);
      if (!n1)
        return;
      auto n2 = sdes.write(std::span<uint8_t>(rtcp_buf).subspan(*n1));
      if (!n2)
        return;
      t->send_rtcp(std::span<const uint8_t>(rtcp_buf.data(), *n1 + *n2));
    };
    if (audio_sent)
      one(audio_ssrc, audio->rtp_timestamp_at(now_us), audio_sent, audio_octets);
    if (video_sent)
      one(video_ssrc, video->rtp_timestamp_at(now_us), video_sent, video_octets);
  }

  uint64_t service(uint64_t now_us) {
    if (!t->connected() || !audio || !video)
      return never;
    while (audio->next_packet_us() <= now_us) {
      auto b = audio->build_packet(now_us, buf, transport_seq);
      if (b.size == 0)
        break;
      send_packet(std::span<uint8_t>(buf.data(), b.size), b.payload_offset, false);
    }
    while (video->next_frame_us() <= now_us) {
      const std::size_t n = video->begin_frame(now_us);
      ++own.tx_frames;
      if (video->frame_is_key())
        ++own.tx_keyframes;
      for (std::size_t i = 0; i < n; ++i) {
        auto b = video->build_packet(i, buf, transport_seq);
        if (b.size == 0)
          break;
        send_packet(std::span<uint8_t>(buf.data(), b.size), b.payload_offset, true);
      }
    }
    if (now_us >= next_sr_us) {
      send_sender_reports(now_us);
      next_sr_us = now_us + rtcp_interval_us;
    }
    return std::min({audio->next_packet_us(), video->next_frame_us(), next_sr_us});
  }

  void on_rtcp(std::span<const uint8_t> packet) {
    publisher_rtcp_actions a;
    read_publisher_rtcp(packet, audio_ssrc, video_ssrc, a);
    own.nacks_received += a.nack_packets;
    for (uint16_t seq : a.video_nacked)
      if (auto stored = video_history.find(seq); stored && t->send_rtp(*stored))
        ++own.tx_retransmissions;
    for (uint16_t seq : a.audio_nacked)
      if (auto stored = audio_history.find(seq); stored && t->send_rtp(*stored))
        ++own.tx_retransmissions;
    own.keyframe_requests_received += a.keyframe_requests;
    if (a.keyframe_requests > 0 && video)
      video->request_keyframe();
  }
};

// A subscriber: one PeerConnection receiving the publisher's audio and video through Janus,
// answering like a browser (receiver reports every second, NACK, PLI) with the accounting of
// bench/load/receiver.hpp.
struct subscriber {
  std::string name;
  uint64_t handle = 0;
  std::unique_ptr<janus_transport> t;
  receive_side rx{[this](std::span<const uint8_t> p) { return t && t->send_rtcp(p); }};
  std::string error;

  uint64_t service(uint64_t now_us) {
    if (!t || !t->connected())
      return never;
    return rx.service(now_us);
  }
};

struct run_state {
  const bench_options& o;
  publisher pub;
  std::vector<std::unique_ptr<subscriber>> subs;
  latency_histogram* latency = nullptr; // set while the window is open
  std::vector<pollfd> fds;
  std::vector<janus_transport*> ts;
  bool media_on = false;

  explicit run_state(const bench_options& opt) : o(opt) {}

  void rebuild() {
    ts.clear();
    if (pub.t)
      ts.push_back(pub.t.get());
    for (auto& s : subs)
      if (s->t)
        ts.push_back(s->t.get());
    fds.assign(ts.size(), pollfd{});
    for (std::size_t i = 0; i < ts.size(); ++i)
      fds[i] = {ts[i]->fd(), POLLIN, 0};
  }

  // Runs every transport, the publisher's media and the subscribers' RTCP until until_us
  // (mono_us) or done().
  template <class Done>
  void pump(uint64_t until_us, Done done) {
    uint64_t next_due = 0;
    while (!done()) {
      uint64_t now = mono_us();
      if (now >= until_us)
        return;
      if (now >= next_due) {
        next_due = never;
        if (media_on)
          next_due = std::min(next_due, pub.service(now));
        for (auto& s : subs)
          next_due = std::min(next_due, s->service(now));
      }
      const uint64_t now_ms = now / 1000;
      uint64_t wait_ms = std::min<uint64_t>(max_wait_ms, (until_us - now + 999) / 1000);
      if (next_due != never)
        wait_ms = std::min<uint64_t>(wait_ms, next_due > now ? (next_due - now + 999) / 1000 : 0);
      for (auto* t : ts)
        if (auto d = t->next_deadline_ms())
          wait_ms = std::min<uint64_t>(wait_ms, *d > now_ms ? *d - now_ms : 0);
      for (auto& f : fds)
        f.revents = 0;
      ::poll(fds.data(), fds.size(), int(wait_ms));
      const uint64_t after_ms = mono_us() / 1000;
      for (std::size_t i = 0; i < ts.size(); ++i) {
        if (fds[i].revents & POLLIN)
          ts[i]->on_readable(after_ms);
        ts[i]->on_timer(after_ms);
      }
    }
  }
  void pump_for(uint64_t us) { pump(mono_us() + us, [] { return false; }); }

  totals collect() const {
    totals t = pub.own;
    for (auto& s : subs)
      s->rx.add_totals(t);
    return t;
  }
};

// A transport's clock (janus_transport works in ms of the steady clock; mono_us/1000).
uint64_t now_ms() { return mono_us() / 1000; }

} // namespace

bench_result run_janus_bench(const bench_options& o) {
  bench_result r;
  r.options = o;
  r.run_id = o.run_id.empty() ? ids::random_token(6) : o.run_id;
  r.participants = 1 + o.subscribers;
  r.publishers = 1;
  r.subscribers = o.subscribers;
  r.expected_consumers = uint64_t(o.subscribers) * 2;
  auto error = [&](std::string e) {
    if (r.errors.size() < max_errors)
      r.errors.push_back(std::move(e));
  };

  std::optional<uint32_t> loops_before;
  if (o.server_pid) {
    r.server_before = sample_process(*o.server_pid);
    loops_before = janus_handle_loops(*o.server_pid);
  }
  const uint64_t setup_start = mono_us();
  const uint64_t setup_deadline = setup_start + uint64_t(o.setup_timeout_s * 1e6);
  run_state st(o);

  auto cert = net::dtls_certificate::generate(static_cast<int64_t>(std::time(nullptr)));
  if (!cert) {
    error("dtls certificate: " + cert.error());
    r.failed = r.participants;
    return r;
  }
  auto ctx = net::dtls_context::create(
    std::make_shared<const net::dtls_certificate>(std::move(*cert)));
  if (!ctx) {
    error("dtls context: " + ctx.error());
    r.failed = r.participants;
    return r;
  }

  // ---- publisher ---------------------------------------------------------------------------
  const std::string prefix = "bench-" + r.run_id;
  std::unique_ptr<janus_session> pub_session, sub_session;
  uint64_t pub_id = 0;
  auto setup_publisher = [&]() -> std::string {
    auto s = janus_session::create(o.url);
    if (!s)
      return "session: " + s.error();
    pub_session = std::move(*s);
    auto h = pub_session->attach_videoroom();
    if (!h)
      return "attach: " + h.error();
    if (auto e = pub_session->ensure_room(*h, o.janus_room); !e)
      return "room: " + e.error();
    auto id = pub_session->join_publisher(*h, o.janus_room, prefix + "-pub");
    if (!id)
      return "join: " + id.error();
    pub_id = *id;
    auto t = janus_transport::create(o.local_ip, *ctx);
    if (!t)
      return "transport: " + t.error();
    st.pub.t = std::move(*t);
    st.pub.audio_ssrc = random_u32();
    st.pub.video_ssrc = random_u32();
    publisher_offer_params op;
    op.transport = st.pub.t->local_params();
    op.session_id = 1000 + (st.pub.audio_ssrc & 0xffff);
    op.audio_ssrc = st.pub.audio_ssrc;
    op.video_ssrc = st.pub.video_ssrc;
    auto answer_text = pub_session->configure_publisher(*h, build_publisher_offer(op));
    if (!answer_text)
      return "configure: " + answer_text.error();
    auto answer = parse_sdp(*answer_text);
    if (!answer)
      return "answer: " + answer.error();
    if (auto* a = answer->find_kind("audio")) {
      if (auto* c = a->codec("opus"))
        st.pub.audio_pt = c->payload_type;
      st.pub.audio_ids.mid = a->extmap_id(ext_mid).value_or(0);
      st.pub.audio_ids.transport_cc = a->extmap_id(ext_transport_cc).value_or(0);
    }
    if (auto* v = answer->find_kind("video")) {
      if (auto* c = v->codec("VP8"))
        st.pub.video_pt = c->payload_type;
      st.pub.video_ids.mid = v->extmap_id(ext_mid).value_or(0);
      st.pub.video_ids.transport_cc = v->extmap_id(ext_transport_cc).value_or(0);
    }
    std::string err;
    if (!st.pub.t->start(*answer, /*we_offered=*/true, now_ms(), &err))
      return "transport start: " + err;
    st.pub.t->set_media_handler([&st](std::span<const uint8_t> p, bool rtcp) {
      if (rtcp)
        st.pub.on_rtcp(p);
    });
    st.rebuild();
    st.pump(setup_deadline, [&] { return st.pub.t->connected() || st.pub.t->finished(); });
    if (!st.pub.t->connected())
      return "ice/dtls: " + std::string(to_string(st.pub.t->state())) + " " +
             st.pub.t->failure_reason();
    return {};
  };
  if (auto e = setup_publisher(); !e.empty()) {
    error(prefix + "-pub: " + e);
    r.failed = r.participants;
    r.setup_s = double(mono_us() - setup_start) / 1e6;
    return r;
  }
  log_line(o.verbose, "publisher " + std::to_string(pub_id) + " connected");
  // Janus offers a subscription once the publisher's streams are active: media starts now
  // (the setup of the subscribers is part of the warm-up).
  st.pub.start_media(o, mono_us());
  st.media_on = true;
  st.pump_for(200'000);

  // ---- subscribers: one session, a handle each ----------------------------------------------
  if (auto s = janus_session::create(o.url); s)
    sub_session = std::move(*s);
  else
    error("subscriber session: " + s.error());
  for (uint32_t i = 0; i < o.subscribers && sub_session; ++i) {
    auto sub = std::make_unique<subscriber>();
    sub->name = prefix + "-sub" + std::to_string(i);
    auto setup = [&]() -> std::string {
      if (mono_us() > setup_deadline)
        return "setup deadline passed";
      auto h = sub_session->attach_videoroom();
      if (!h)
        return "attach: " + h.error();
      sub->handle = *h;
      auto offer_text = sub_session->join_subscriber(*h, o.janus_room, pub_id);
      if (!offer_text)
        return "join: " + offer_text.error();
      auto offer = parse_sdp(*offer_text);
      if (!offer)
        return "offer: " + offer.error();
      auto t = janus_transport::create(o.local_ip, *ctx);
      if (!t)
        return "transport: " + t.error();
      sub->t = std::move(*t);
      subscriber_answer_params ap;
      ap.transport = sub->t->local_params();
      ap.audio_ssrc = random_u32();
      ap.video_ssrc = random_u32();
      sub->rx.set_rtcp_ssrc(ap.video_ssrc);
      auto answer = build_subscriber_answer(*offer, ap);
      if (!answer)
        return "answer: " + answer.error();
      // The streams we accept (the answer's rule: first Opus / VP8 of an audio / video m-line).
      for (auto& m : offer->media) {
        if (m.rejected() || (m.kind != "audio" && m.kind != "video"))
          continue;
        const sdp_codec* c = m.codec(m.kind == "audio" ? "opus" : "VP8");
        if (!c)
          continue;
        inbound_stream::params p;
        p.consumer_id = sub->name + "-" + m.mid;
        p.producer_id = std::to_string(pub_id) + "-" + m.kind;
        p.kind = m.kind == "audio" ? stream_kind::audio : stream_kind::video;
        p.payload_type = c->payload_type;
        p.clock_rate = c->clock_rate;
        for (auto& fb : c->feedback) {
          p.nack = p.nack || fb == "nack";
          p.pli = p.pli || fb == "nack pli";
        }
        // The media SSRC: the first of a FID group (its RTX is not negotiated: our answer
        // leaves rtx out, so Janus retransmits on the media SSRC), else the first a=ssrc.
        if (!m.fid_pairs().empty())
          p.ssrc = m.fid_pairs().front().first;
        else if (!m.ssrcs.empty())
          p.ssrc = m.ssrcs.front();
        if (p.ssrc)
          sub->rx.add_stream(std::move(p));
        else
          sub->rx.add_pending(std::move(p));
      }
      std::string err;
      if (!sub->t->start(*offer, /*we_offered=*/false, now_ms(), &err))
        return "transport start: " + err;
      subscriber* raw = sub.get();
      sub->t->set_media_handler([raw, &st](std::span<const uint8_t> p, bool rtcp) {
        raw->rx.on_packet(p, rtcp, raw->t->last_receive_ns(), st.latency);
      });
      if (auto s = sub_session->start_subscriber(*h, *answer); !s)
        return "start: " + s.error();
      sub->rx.start(mono_us());
      return {};
    };
    sub->error = setup();
    if (!sub->error.empty()) {
      error(sub->name + ": " + sub->error);
      sub->t.reset();
      ++r.failed;
    }
    st.subs.push_back(std::move(sub));
    st.rebuild();
    st.pump_for(2000); // keep the transports and the media running between requests
  }
  r.failed += o.subscribers - uint32_t(st.subs.size()); // no subscriber session
  // Every subscriber's ICE + DTLS done (bounded by the setup deadline).
  auto all_done = [&] {
    for (auto& s : st.subs)
      if (s->t && !s->t->connected() && !s->t->finished())
        return false;
    return true;
  };
  st.pump(setup_deadline, all_done);
  if (!all_done())
    r.setup_timed_out = true;
  for (auto& s : st.subs)
    if (s->t && !s->t->connected()) {
      error(s->name + ": ice/dtls: " + std::string(to_string(s->t->state())) + " " +
            s->t->failure_reason());
      s->t.reset();
      ++r.failed;
    }
  st.rebuild();
  for (auto& s : st.subs)
    r.consumers += s->rx.streams().size() + s->rx.pending();
  r.consumed_by_id = r.consumers;
  r.setup_s = double(mono_us() - setup_start) / 1e6;
  log_line(o.verbose, "subscribers connected: " + std::to_string(st.subs.size()) + ", failed " +
                        std::to_string(r.failed));
  if (o.server_pid)
    r.server_setup = sample_process(*o.server_pid);

  // ---- warm-up and the measured window -------------------------------------------------------
  if (r.failed < r.participants) {
    st.pump_for(uint64_t(o.warmup_s * 1e6));
    // Events Janus sent meanwhile (webrtcup, media, slowlink...): dropped.
    (void)pub_session->connection().poll_events();
    if (sub_session)
      (void)sub_session->connection().poll_events();
    if (o.server_pid)
      r.server_start = sample_process(*o.server_pid);
    r.client_start = sample_self();
    const uint64_t open = mono_us();
    const totals at_open = st.collect();
    st.latency = &r.latency;
    st.pump(open + uint64_t(o.duration_s * 1e6), [] { return false; });
    if (o.server_pid)
      r.server_end = sample_process(*o.server_pid);
    r.client_end = sample_self();
    const uint64_t close = mono_us();
    st.latency = nullptr;
    r.delta = st.collect() - at_open;
    r.window_s = double(close - open) / 1e6;
  }

  // ---- teardown -------------------------------------------------------------------------------
  const uint64_t t = now_ms();
  for (auto& s : st.subs)
    if (s->t)
      s->t->close(t);
  if (st.pub.t)
    st.pub.t->close(t);
  st.media_on = false;
  st.pump_for(20'000); // close_notify out
  // "destroy" (bounded): Janus hangs up and detaches every handle of the session, the
  // VideoRoom drops its subscribers and the publisher, before it answers.
  const uint64_t sub_destroy_ms = destroy_timeout_ms + destroy_ms_per_handle * st.subs.size();
  if (sub_session)
    if (auto d = sub_session->destroy(sub_destroy_ms); !d)
      error("teardown: subscriber session: " + d.error());
  if (auto d = pub_session->destroy(destroy_timeout_ms); !d)
    error("teardown: publisher session: " + d.error());
  sub_session.reset();
  pub_session.reset();
  // Janus frees the handles (ICE agent, loop thread) after the hangup, asynchronously: wait,
  // bounded, until its handle loops are back to their count before this run, so that the
  // next run (the next ramp step) starts on a Janus without this run's PeerConnections.
  if (o.server_pid && loops_before) {
    const uint64_t drain_start = mono_us();
    const uint64_t drain_deadline =
      drain_start + uint64_t((drain_timeout_s + drain_s_per_subscriber * o.subscribers) * 1e6);
    std::optional<uint32_t> loops = janus_handle_loops(*o.server_pid);
    while (loops && *loops > *loops_before && mono_us() < drain_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      loops = janus_handle_loops(*o.server_pid);
    }
    if (loops && *loops > *loops_before) {
      char why[160];
      std::snprintf(why, sizeof why,
                    "teardown: Janus still runs %u handle loops of this run after %.1f s",
                    *loops - *loops_before, double(mono_us() - drain_start) / 1e6);
      std::fprintf(stderr, "chorus-bench janus: %s\n", why);
      error(why);
    } else if (loops) {
      log_line(o.verbose, "janus handles freed in " +
                            std::to_string((mono_us() - drain_start) / 1000) + " ms");
    }
  }
  if (o.server_pid)
    r.server_alive_after = sample_process(*o.server_pid).has_value();
  return r;
}

} // namespace chorus::bench
