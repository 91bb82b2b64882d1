// janus_probe: one publisher and one subscriber through Janus's VideoRoom, end to end.
// The publisher sends synthetic Opus-like audio (50 packets/s) and VP8 video (correct
// payload descriptors, a keyframe every second and on PLI/FIR) for --seconds; the
// subscriber receives them. Prints what was sent and received, and the one-way latency
// (send time carried in the last 8 bytes of each payload; same host, same clock).
//
//   bench/janus/run-janus.sh            # Janus in its namespace, ws://10.77.0.2:8188
//   janus_probe [--url ws://10.77.0.2:8188] [--local-ip 10.77.0.1] [--room 1234]
//               [--seconds 5] [--video-kbps 1000] [--dump-sdp DIR]
// Exit status 0 when the subscriber received video and audio.
#include "bench/janus/janus_client.hpp"
#include "bench/janus/janus_transport.hpp"
#include "bench/janus/sdp.hpp"
#include "common/ids.hpp"
#include "net/dtls_certificate.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::janus;

namespace {

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}
uint64_t now_ms() { return now_ns() / 1'000'000; }

struct options {
  std::string url = "ws://10.77.0.2:8188";
  std::string local_ip = "10.77.0.1";
  uint64_t room = 1234;
  double seconds = 5;
  int video_kbps = 1000;
  std::string dump_dir;
};

void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
}
void put64(uint8_t* p, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    p[i] = uint8_t(v);
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | p[i];
  return v;
}

// RTP with one one-byte header extension (RFC 8285): the mid. Returns the header length.
std::size_t write_rtp_header(std::vector<uint8_t>& out, uint8_t pt, bool marker, uint16_t seq,
                             uint32_t ts, uint32_t ssrc, uint8_t mid_id, char mid) {
  out.resize(20);
  out[0] = 0x90; // V=2, X=1
  out[1] = uint8_t((marker ? 0x80 : 0) | pt);
  put16(&out[2], seq);
  put32(&out[4], ts);
  put32(&out[8], ssrc);
  out[12] = 0xBE; out[13] = 0xDE; put16(&out[14], 1); // one 32-bit word of extensions
  out[16] = uint8_t(mid_id << 4);                     // id, length-1 = 0
  out[17] = uint8_t(mid);
  out[18] = 0; out[19] = 0; // padding
  return 20;
}

struct publisher_media {
  uint32_t audio_ssrc = 0, video_ssrc = 0;
  uint8_t audio_pt = 111, video_pt = 96, mid_id = 4;
  uint16_t audio_seq = 1, video_seq = 1;
  uint32_t audio_ts = 0, video_ts = 0;
  uint64_t audio_sent = 0, video_sent = 0, keyframes = 0, frames = 0;
  bool keyframe_wanted = true;
  uint64_t last_keyframe_ms = 0;
  std::vector<uint8_t> pkt;

  void send_audio(janus_transport& t) {
    write_rtp_header(pkt, audio_pt, false, audio_seq++, audio_ts, audio_ssrc, mid_id, '0');
    audio_ts += 960;
    pkt.resize(20 + 100, 0xA5);
    put64(&pkt[pkt.size() - 8], now_ns());
    if (t.send_rtp(pkt))
      ++audio_sent;
  }

  // One frame of `bytes`, split into packets of at most 1100 payload bytes.
  void send_frame(janus_transport& t, std::size_t bytes, uint64_t ms) {
    const bool key = keyframe_wanted || ms >= last_keyframe_ms + 1000;
    if (key) {
      keyframe_wanted = false;
      last_keyframe_ms = ms;
      ++keyframes;
      bytes *= 4;
    }
    const std::size_t per = 1100;
    const std::size_t n = std::max<std::size_t>(1, (bytes + per - 1) / per);
    for (std::size_t i = 0; i < n; ++i) {
      const bool last = i + 1 == n;
      auto h = write_rtp_header(pkt, video_pt, last, video_seq++, video_ts, video_ssrc, mid_id,
                                '1');
      std::size_t body = std::max<std::size_t>(24, std::min(per, bytes - i * per));
      pkt.resize(h + body, 0x5A);
      uint8_t* p = &pkt[h];
      p[0] = i == 0 ? 0x10 : 0x00; // VP8 descriptor: S=1 on the first packet, PID 0
      if (i == 0) {
        // VP8 payload header (RFC 6386 §9.1): P=0 keyframe / 1 interframe, show_frame=1.
        const uint32_t size0 = 0;
        p[1] = uint8_t((size0 << 5) | 0x10 | (key ? 0 : 1));
        p[2] = 0; p[3] = 0;
        if (key) { // start code and 640x480
          p[4] = 0x9d; p[5] = 0x01; p[6] = 0x2a;
          p[7] = 0x80; p[8] = 0x02; p[9] = 0xe0; p[10] = 0x01;
        }
      }
      put64(&pkt[pkt.size() - 8], now_ns());
      if (t.send_rtp(pkt))
        ++video_sent;
    }
    video_ts += 3000; // 30 fps
    ++frames;
  }
};

// PLI (PT 206 FMT 1) or FIR (PT 206 FMT 4) anywhere in a compound RTCP packet.
bool asks_keyframe(std::span<const uint8_t> rtcp) {
  std::size_t off = 0;
  while (off + 4 <= rtcp.size()) {
    const uint8_t fmt = rtcp[off] & 0x1f, pt = rtcp[off + 1];
    const std::size_t len = (std::size_t(rtcp[off + 2]) << 8 | rtcp[off + 3]) * 4 + 4;
    if (pt == 206 && (fmt == 1 || fmt == 4))
      return true;
    off += len;
  }
  return false;
}

void dump(const options& o, const std::string& name, const std::string& text) {
  if (o.dump_dir.empty())
    return;
  std::ofstream(o.dump_dir + "/" + name) << text;
}

// Drives transports (and nothing else) until pred() or timeout; false on timeout.
template <class Pred>
bool drive(std::vector<janus_transport*> ts, uint64_t timeout_ms, Pred pred) {
  const uint64_t end = now_ms() + timeout_ms;
  while (!pred()) {
    uint64_t now = now_ms();
    if (now >= end)
      return false;
    uint64_t wait = end - now;
    std::vector<pollfd> fds;
    for (auto* t : ts) {
      fds.push_back({t->fd(), POLLIN, 0});
      if (auto d = t->next_deadline_ms())
        wait = std::min(wait, *d > now ? *d - now : 0);
    }
    ::poll(fds.data(), fds.size(), int(std::min<uint64_t>(wait, 20)));
    now = now_ms();
    for (std::size_t i = 0; i < ts.size(); ++i) {
      if (fds[i].revents & POLLIN)
        ts[i]->on_readable(now);
      ts[i]->on_timer(now);
    }
  }
  return true;
}

int run(const options& o) {
  auto cert = net::dtls_certificate::generate(static_cast<int64_t>(std::time(nullptr)));
  if (!cert)
    return std::fprintf(stderr, "certificate: %s\n", cert.error().c_str()), 1;
  auto ctx = net::dtls_context::create(std::make_shared<const net::dtls_certificate>(std::move(*cert)));
  if (!ctx)
    return std::fprintf(stderr, "dtls context: %s\n", ctx.error().c_str()), 1;

  // ---- publisher -----------------------------------------------------------------------
  auto pub_session = janus_session::create(o.url);
  if (!pub_session)
    return std::fprintf(stderr, "publisher session: %s\n", pub_session.error().c_str()), 1;
  auto pub_handle = (*pub_session)->attach_videoroom();
  if (!pub_handle)
    return std::fprintf(stderr, "%s\n", pub_handle.error().c_str()), 1;
  if (auto r = (*pub_session)->ensure_room(*pub_handle, o.room); !r)
    return std::fprintf(stderr, "%s\n", r.error().c_str()), 1;
  auto pub_id = (*pub_session)->join_publisher(*pub_handle, o.room, "chorus-probe");
  if (!pub_id)
    return std::fprintf(stderr, "%s\n", pub_id.error().c_str()), 1;

  auto pt = janus_transport::create(o.local_ip, *ctx);
  if (!pt)
    return std::fprintf(stderr, "publisher transport: %s\n", pt.error().c_str()), 1;
  publisher_media media;
  ids::random_bytes(&media.audio_ssrc, 4);
  ids::random_bytes(&media.video_ssrc, 4);
  publisher_offer_params op;
  op.transport = (*pt)->local_params();
  op.session_id = 1000 + (media.audio_ssrc & 0xffff);
  op.audio_ssrc = media.audio_ssrc;
  op.video_ssrc = media.video_ssrc;
  const std::string offer = build_publisher_offer(op);
  dump(o, "publisher-offer.sdp", offer);
  auto answer_text = (*pub_session)->configure_publisher(*pub_handle, offer);
  if (!answer_text)
    return std::fprintf(stderr, "%s\n", answer_text.error().c_str()), 1;
  dump(o, "janus-answer.sdp", *answer_text);
  auto answer = parse_sdp(*answer_text);
  if (!answer)
    return std::fprintf(stderr, "answer: %s\n", answer.error().c_str()), 1;
  if (auto* a = answer->find_kind("audio"); a && a->codec("opus"))
    media.audio_pt = a->codec("opus")->payload_type;
  if (auto* v = answer->find_kind("video"); v && v->codec("VP8"))
    media.video_pt = v->codec("VP8")->payload_type;
  if (auto* v = answer->find_kind("video"))
    if (auto id = v->extmap_id(ext_mid))
      media.mid_id = *id;
  std::string err;
  if (!(*pt)->start(*answer, /*we_offered=*/true, now_ms(), &err))
    return std::fprintf(stderr, "publisher start: %s\n", err.c_str()), 1;
  const uint64_t t0 = now_ms();
  if (!drive({pt->get()}, 10000, [&] { return (*pt)->connected() || (*pt)->finished(); }) ||
      !(*pt)->connected())
    return std::fprintf(stderr, "publisher transport not connected: %s (%s)\n",
                        std::string(to_string((*pt)->state())).c_str(),
                        (*pt)->failure_reason().c_str()),
           1;
  std::printf("publisher %llu connected in %llu ms (dtls %s, %s)\n",
              (unsigned long long)*pub_id, (unsigned long long)(now_ms() - t0),
              std::string(net::to_string((*pt)->dtls_role())).c_str(),
              std::string(net::to_string((*pt)->srtp_profile())).c_str());

  // Janus offers a subscription only once the publisher's streams are active: send a few
  // packets first (the first keyframe), then subscribe.
  media.send_audio(**pt);
  media.send_frame(**pt, 4000, now_ms());

  // ---- subscriber ----------------------------------------------------------------------
  auto sub_session = janus_session::create(o.url);
  if (!sub_session)
    return std::fprintf(stderr, "subscriber session: %s\n", sub_session.error().c_str()), 1;
  auto sub_handle = (*sub_session)->attach_videoroom();
  if (!sub_handle)
    return std::fprintf(stderr, "%s\n", sub_handle.error().c_str()), 1;
  auto sub_offer_text = (*sub_session)->join_subscriber(*sub_handle, o.room, *pub_id);
  if (!sub_offer_text)
    return std::fprintf(stderr, "%s\n", sub_offer_text.error().c_str()), 1;
  dump(o, "janus-subscriber-offer.sdp", *sub_offer_text);
  auto sub_offer = parse_sdp(*sub_offer_text);
  if (!sub_offer)
    return std::fprintf(stderr, "subscriber offer: %s\n", sub_offer.error().c_str()), 1;
  auto st = janus_transport::create(o.local_ip, *ctx);
  if (!st)
    return std::fprintf(stderr, "subscriber transport: %s\n", st.error().c_str()), 1;
  subscriber_answer_params ap;
  ap.transport = (*st)->local_params();
  ids::random_bytes(&ap.audio_ssrc, 4);
  ids::random_bytes(&ap.video_ssrc, 4);
  auto sub_answer = build_subscriber_answer(*sub_offer, ap);
  if (!sub_answer)
    return std::fprintf(stderr, "subscriber answer: %s\n", sub_answer.error().c_str()), 1;
  dump(o, "subscriber-answer.sdp", *sub_answer);
  if (!(*st)->start(*sub_offer, /*we_offered=*/false, now_ms(), &err))
    return std::fprintf(stderr, "subscriber start: %s\n", err.c_str()), 1;
  if (auto r = (*sub_session)->start_subscriber(*sub_handle, *sub_answer); !r)
    return std::fprintf(stderr, "%s\n", r.error().c_str()), 1;

  // Receive accounting by payload type (the subscriber offer's numbering).
  std::map<uint8_t, std::string> kind_of_pt;
  for (auto& m : sub_offer->media)
    for (auto& c : m.codecs)
      kind_of_pt[c.payload_type] = m.kind;
  uint64_t audio_in = 0, video_in = 0, video_bytes_in = 0;
  std::vector<uint64_t> latency_us;
  (*st)->set_media_handler([&](std::span<const uint8_t> p, bool rtcp) {
    if (rtcp || p.size() < 20)
      return;
    const std::string& kind = kind_of_pt[p[1] & 0x7f];
    if (kind == "audio")
      ++audio_in;
    else if (kind == "video") {
      ++video_in;
      video_bytes_in += p.size();
    }
    const uint64_t sent = get64(&p[p.size() - 8]);
    const uint64_t now = now_ns();
    if (sent <= now && now - sent < 10'000'000'000ull)
      latency_us.push_back((now - sent) / 1000);
  });
  uint64_t plis = 0;
  (*pt)->set_media_handler([&](std::span<const uint8_t> p, bool rtcp) {
    if (rtcp && asks_keyframe(p)) {
      ++plis;
      media.keyframe_wanted = true;
    }
  });

  const uint64_t t1 = now_ms();
  if (!drive({pt->get(), st->get()}, 10000,
             [&] { return (*st)->connected() || (*st)->finished(); }) ||
      !(*st)->connected())
    return std::fprintf(stderr, "subscriber transport not connected: %s (%s)\n",
                        std::string(to_string((*st)->state())).c_str(),
                        (*st)->failure_reason().c_str()),
           1;
  std::printf("subscriber connected in %llu ms (dtls %s, %s)\n",
              (unsigned long long)(now_ms() - t1),
              std::string(net::to_string((*st)->dtls_role())).c_str(),
              std::string(net::to_string((*st)->srtp_profile())).c_str());

  // ---- media ---------------------------------------------------------------------------
  const uint64_t start = now_ms();
  const uint64_t end = start + uint64_t(o.seconds * 1000);
  const std::size_t frame_bytes = std::size_t(o.video_kbps) * 1000 / 8 / 30;
  uint64_t next_audio = start, next_video = start;
  const uint64_t sent_audio0 = media.audio_sent, sent_video0 = media.video_sent;
  while (now_ms() < end) {
    const uint64_t now = now_ms();
    if (now >= next_audio) {
      media.send_audio(**pt);
      next_audio += 20;
    }
    if (now >= next_video) {
      media.send_frame(**pt, frame_bytes, now);
      next_video += 33;
    }
    const uint64_t until = std::min(next_audio, next_video);
    drive({pt->get(), st->get()}, until > now_ms() ? until - now_ms() : 0, [] { return false; });
    if ((*pt)->finished() || (*st)->finished())
      break;
  }
  drive({pt->get(), st->get()}, 500, [] { return false; }); // drain

  for (auto& e : (*sub_session)->connection().poll_events())
    if (e.janus != "media" && e.janus != "webrtcup")
      std::fprintf(stderr, "subscriber event: %s\n", e.text.substr(0, 200).c_str());

  std::sort(latency_us.begin(), latency_us.end());
  auto pct = [&](double q) {
    return latency_us.empty() ? 0.0
                              : latency_us[std::size_t(q * double(latency_us.size() - 1))] / 1000.0;
  };
  const auto& pc = (*pt)->counters();
  const auto& sc = (*st)->counters();
  std::printf("sent:     audio %llu  video %llu packets (%llu frames, %llu keyframes, %llu PLI/FIR "
              "from Janus) in %.1f s\n",
              (unsigned long long)(media.audio_sent - sent_audio0),
              (unsigned long long)(media.video_sent - sent_video0),
              (unsigned long long)media.frames, (unsigned long long)media.keyframes,
              (unsigned long long)plis, o.seconds);
  std::printf("received: audio %llu  video %llu packets (%.0f kbit/s video), srtp failures %llu\n",
              (unsigned long long)audio_in, (unsigned long long)video_in,
              double(video_bytes_in) * 8 / o.seconds / 1000,
              (unsigned long long)sc.srtp_in_failed);
  std::printf("latency:  p50 %.3f ms  p99 %.3f ms  max %.3f ms (%zu samples)\n", pct(0.5),
              pct(0.99), pct(1.0), latency_us.size());
  std::printf("publisher transport: rtp out %llu, rtcp in %llu; subscriber: rtp in %llu, "
              "rtcp in %llu\n",
              (unsigned long long)pc.rtp_out, (unsigned long long)pc.rtcp_in,
              (unsigned long long)sc.rtp_in, (unsigned long long)sc.rtcp_in);

  (*st)->close(now_ms());
  (*pt)->close(now_ms());
  (*sub_session)->detach(*sub_handle);
  (*pub_session)->detach(*pub_handle);
  return audio_in > 0 && video_in > 0 ? 0 : 2;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--url") o.url = next();
    else if (a == "--local-ip") o.local_ip = next();
    else if (a == "--room") o.room = std::stoull(next());
    else if (a == "--seconds") o.seconds = std::stod(next());
    else if (a == "--video-kbps") o.video_kbps = std::stoi(next());
    else if (a == "--dump-sdp") o.dump_dir = next();
    else {
      std::fprintf(stderr,
                   "usage: janus_probe [--url ws://10.77.0.2:8188] [--local-ip 10.77.0.1] "
                   "[--room 1234] [--seconds 5] [--video-kbps 1000] [--dump-sdp DIR]\n");
      return 64;
    }
  }
  return run(o);
}
