#include "actors/producer.hpp"
#include "actors/batch_join.hpp"
#include "actors/lane.hpp"
#include "actors/fault.hpp"

#include "actors/clock.hpp"
#include "actors/consumer.hpp"
#include "actors/process_load.hpp"
#include "actors/scheduler.hpp"
#include "actors/media_messages.hpp"
#include "actors/thread_fanout.hpp"
#include "net/send_outbox.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "rtp/keyframe.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/rtcp_feedback.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtp_stream.hpp"
#include "rtp/vp8_descriptor.hpp"
#include "rtp/vp9_frames.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <array>
#include <random>
#include <span>
#include <sstream>

namespace chorus::actors {

namespace {

// The producer's timer runs every tick_interval_ms only while NACK retries or a throttled
// keyframe request are pending; while audio levels for the speaker observer keep coming,
// every level_batch_interval_ms (the receive path sends a batch once it is that old; the
// timer ends one the packets stopped); otherwise it wakes for the next receiver report
// (pending_delay). Each timer is a wake-up of CAF's clock thread and of a worker: at 20 ms
// for every producer, they were a large part of an idle-ish server's CPU
// (docs/design/scheduler-wakeups.md, "Fewer timers"), and an audio producer whose packets carry
// levels (every browser's) had them all the time.
constexpr int64_t tick_interval_ms = 20;
constexpr int64_t receiver_report_interval_ms = 1000;
// Audio levels go to the room's speaker observer in batches: at most every this many ms
// (checked per receive batch and per tick), or when this many samples wait.
constexpr int64_t level_batch_interval_ms = 100;
// An audio packet's interval (Opus's usual 20 ms frames): on its steady beat the timer
// finds the batch up to this much younger than level_batch_interval_ms (on_tick).
constexpr int64_t level_packet_interval_ms = 20;
constexpr size_t level_batch_max = 32;
constexpr std::string_view audio_level_uri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
constexpr std::string_view rid_uri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
constexpr std::string_view rrid_uri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

constexpr size_t max_temporal_layers = 3;

struct producer_counters {
  uint64_t malformed = 0;
  uint64_t unknown_payload_type = 0;
  uint64_t unknown_ssrc = 0;
  uint64_t unknown_rid = 0; // a learnt SSRC whose rid names no encoding (or a taken one)
  uint64_t rtx_padding = 0; // RTX packets without an original (bandwidth probes)
  uint64_t rtx_bad = 0;
  uint64_t keyframes = 0;
  uint64_t nack_packets = 0; // NACK RTCP packets sent
  uint64_t nack_seqs = 0;    // sequence numbers asked for
  uint64_t plis = 0;
  uint64_t firs = 0;
  uint64_t keyframe_requests = 0; // from consumers
  uint64_t forwarded = 0;         // packets handed to the fan-out
  uint64_t duplicates = 0;        // not forwarded: already came (receive_stream::on_packet)
  uint64_t direct = 0;            // batches handed to a consumer through its direct lane
  uint64_t messaged = 0;          // batches sent to a consumer as a message
  uint64_t lane_in = 0;           // batches its transport handed over through this lane
  uint64_t ticks = 0;             // timer turns (on_tick)
};

// One encoding as received: a simulcast stream, or the producer's only stream. Its SSRC
// is known from the rtpParameters or learnt from the first packet carrying its rid.
struct encoding_state {
  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;
  std::string rid;
  std::optional<rtp::receive_stream> stream; // once the SSRC is known
  rtp::nack_generator nack;
  uint64_t abandoned_seen = 0; // nack.counters().abandoned at the last tick
  std::optional<rtp::keyframe_throttle> keyframe_throttle;
  uint8_t fir_seq = 0;
  source_clock clock;
  // The keyframe being received (its RTP timestamp) and its bytes so far per spatial layer.
  bool keyframe_open = false;
  uint32_t keyframe_ts = 0;
  std::array<uint32_t, 4> keyframe_acc{};
};

// Bytes per layer since the last rate update ([spatial][temporal]: spatial = the encoding
// of a simulcast producer, the spatial id of an SVC one), and the rates they gave.
constexpr size_t max_spatial_layers = 4;
using layer_table = std::array<std::array<uint64_t, max_temporal_layers>, max_spatial_layers>;

struct producer_data {
  std::string id;
  std::string peer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  std::string mime_type;
  rtp::producer_mapping mapping;
  node_context_ptr ctx;
  caf::actor transport;
  caf::actor_addr peer;
  std::vector<caf::actor> consumers;
  // Parallel to consumers: the encodings each needs (layer_demand; all until it says) and
  // the packets handed to it.
  std::vector<uint8_t> demand;
  std::vector<uint64_t> fanout_packets;
  // Parallel to consumers: each one's direct lane (consumer_lane; nullptr: messages only).
  std::vector<caf::abstract_actor*> lanes;
  // producer-layers-unused: the encodings last reported unused (bit s), and the set that
  // is unused now with the time it became so (reported once it held for a while).
  uint8_t reported_unused = 0, unused_now = 0;
  int64_t unused_since_ms = 0;
  bool paused = false;

  std::array<int16_t, 128> router_pt{};       // client pt -> router pt (-1: unknown)
  std::array<rtp::payload_codec, 128> codec{}; // client pt -> codec (keyframe detection)
  std::array<int16_t, 128> rtx_apt{};          // client rtx pt -> client media pt
  rtp::extension_id_map ext_map;               // client id -> router id
  bool nack_enabled = false;
  bool pli_enabled = false;
  bool fir_enabled = false;
  uint32_t clock_rate = 90000;
  uint32_t rtcp_ssrc = 0; // ours, as the sender of RR / NACK / PLI

  std::vector<encoding_state> encodings;
  uint8_t rid_ext_id = 0, rrid_ext_id = 0; // the client's ids (0: none)
  uint8_t spatial_layers = 1;  // simulcast: the encodings; SVC: the scalability mode's
  uint8_t temporal_layers = 1;
  bool layered = false;        // consumers select layers: send them layer_bitrates
  layer_table layer_bytes{};
  // The last keyframes' bytes per layer (a ring of 4; reported: the largest of them, as
  // an encoder's keyframes vary with its rate control and a switch must expect a large one).
  std::array<std::array<uint32_t, 4>, max_spatial_layers> keyframe_bytes{};
  std::array<uint8_t, max_spatial_layers> keyframe_next{};
  std::array<std::vector<uint32_t>, 3> recent_bps; // the last three layer_bitrates::bps
  uint8_t recent_next = 0;
  std::array<std::array<uint32_t, max_temporal_layers>, max_spatial_layers> layer_bps{};
  int64_t last_rate_ms = 0;
  std::vector<uint16_t> to_nack; // reused
  int64_t last_rr_ms = 0;
  int64_t tick_at_ms = 0; // when the armed timer fires (0: none armed)
  producer_counters counters;

  // Active speaker: the router's ssrc-audio-level id (0: none, levels are not read) and the
  // samples not yet sent to the room's speaker observer (set by attach_speaker_observer).
  uint8_t audio_level_id = 0;
  caf::actor speaker_observer;
  audio_level_batch levels;
  int64_t levels_since_ms = 0; // arrival of the batch's first sample
  int64_t levels_last_ms = 0;  // arrival of the last sample (sent or not)
  uint64_t published_nacks = 0, published_keyframe_requests = 0; // node totals so far
  uint64_t published_direct = 0, published_messaged = 0, published_joined = 0;
  // The received batches held while more mail waits (fan_out_or_join).
  batch_join<forwarded_packet> join;
  // The consumers grouped by their media I/O thread, for a fan-out handed to those threads
  // (by_thread).
  thread_fanout threads;
  bool entered_lanes = false; // a fan-out entered consumers' lanes since the last hand-off
  uint64_t published_thread_lane = 0, published_thread_messaged = 0, published_handoffs = 0;
  static inline const char* name = "chorus.producer";

  // NACKs and PLI/FIR sent toward the publisher, and the fan-out's batches by path, since
  // the last call, to the node's totals (on the tick and at the end; never per packet).
  void publish_totals() {
    if (!ctx)
      return;
    auto& m = ctx->counters->media;
    uint64_t nacks = counters.nack_packets, requests = counters.plis + counters.firs;
    if (nacks > published_nacks)
      m.nacks_out.fetch_add(nacks - published_nacks, std::memory_order_relaxed);
    if (requests > published_keyframe_requests)
      m.keyframe_requests_out.fetch_add(requests - published_keyframe_requests,
                                        std::memory_order_relaxed);
    if (counters.direct > published_direct)
      m.fanout_lane_batches.fetch_add(counters.direct - published_direct, std::memory_order_relaxed);
    if (counters.messaged > published_messaged)
      m.fanout_message_batches.fetch_add(counters.messaged - published_messaged,
                                         std::memory_order_relaxed);
    if (join.joined() > published_joined)
      m.joined_batches.fetch_add(join.joined() - published_joined, std::memory_order_relaxed);
    if (threads.enabled()) {
      const auto& t = threads.stats();
      auto publish = [](std::atomic<uint64_t>& total, uint64_t now, uint64_t& published) {
        if (now > published)
          total.fetch_add(now - published, std::memory_order_relaxed);
        published = now;
      };
      publish(m.fanout_lane_batches, t.lane_batches.load(std::memory_order_relaxed),
              published_thread_lane);
      publish(m.fanout_message_batches, t.message_batches.load(std::memory_order_relaxed),
              published_thread_messaged);
      publish(m.fanout_handoffs, t.handoffs.load(std::memory_order_relaxed), published_handoffs);
    }
    published_joined = join.joined();
    published_nacks = nacks;
    published_keyframe_requests = requests;
    published_direct = counters.direct;
    published_messaged = counters.messaged;
  }

  ~producer_data() {
    publish_totals();
    if (ctx)
      ctx->counters->producers.fetch_sub(1);
  }
};

using producer_actor = laned_actor<producer_data>;

rtp::payload_codec codec_of(std::string_view mime) {
  if (text::iequals(mime, "audio/opus"))
    return rtp::payload_codec::opus;
  if (text::iequals(mime, "video/VP8"))
    return rtp::payload_codec::vp8;
  if (text::iequals(mime, "video/VP9"))
    return rtp::payload_codec::vp9;
  if (text::iequals(mime, "video/H264"))
    return rtp::payload_codec::h264;
  return rtp::payload_codec::other;
}

bool has_feedback(const rtp::codec_parameters& c, std::string_view type,
                  std::string_view param) {
  for (auto& fb : c.rtcp_feedback)
    if (fb.type == type && fb.parameter == param)
      return true;
  return false;
}

void send_rtcp(producer_actor* self, std::vector<uint8_t> bytes) {
  self->send(self->state.transport, rtcp_out{std::move(bytes)});
}

void send_nack(producer_actor* self, const encoding_state& e, const std::vector<uint16_t>& seqs) {
  auto& st = self->state;
  std::vector<uint8_t> buf(rtp::nack_size(seqs));
  auto n = rtp::write_nack(st.rtcp_ssrc, e.ssrc, seqs, buf);
  if (!n)
    return;
  buf.resize(*n);
  ++st.counters.nack_packets;
  st.counters.nack_seqs += seqs.size();
  send_rtcp(self, std::move(buf));
}

// PLI when the sender negotiated it, FIR otherwise; rate-limited by the encoding's throttle
// (requests inside its interval are merged into one sent when it ends, from the tick).
void send_keyframe_request(producer_actor* self, encoding_state& e) {
  auto& st = self->state;
  if (e.ssrc == 0)
    return; // not received yet: nothing to name
  if (st.pli_enabled) {
    rtp::picture_loss_indication pli{st.rtcp_ssrc, e.ssrc};
    if (auto bytes = rtp::to_bytes(pli)) {
      ++st.counters.plis;
      send_rtcp(self, std::move(*bytes));
    }
  } else {
    rtp::full_intra_request fir;
    fir.sender_ssrc = st.rtcp_ssrc;
    fir.entries.push_back({e.ssrc, ++e.fir_seq});
    if (auto bytes = rtp::to_bytes(fir)) {
      ++st.counters.firs;
      send_rtcp(self, std::move(*bytes));
    }
  }
}

// Arms the timer to fire in delay_ms unless one is armed to fire no later. Timers cannot be
// cancelled: one armed later than a new one still fires and is then a plain extra tick.
void arm_tick(producer_actor* self, int64_t now, int64_t delay_ms) {
  auto& st = self->state;
  const int64_t at = now + std::max<int64_t>(delay_ms, 1);
  if (st.tick_at_ms != 0 && st.tick_at_ms <= at)
    return;
  st.tick_at_ms = at;
  self->delayed_send(self, std::chrono::milliseconds(at - now), media_tick_atom::value, at);
}

// When the tick must follow something up, in ms from now: NACK retries and a throttled
// keyframe request within tick_interval_ms; audio levels when their batch is due, and
// while samples keep coming every level_batch_interval_ms, so that the timer keeps one
// steady beat with the batches (a timer cannot be cancelled: one armed for the next
// receiver report and overtaken by the next batch would fire for nothing); nullopt when
// nothing waits.
std::optional<int64_t> pending_delay(const producer_data& st, int64_t now) {
  for (auto& e : st.encodings)
    if (e.nack.missing_count() != 0 || e.keyframe_throttle->pending())
      return tick_interval_ms;
  if (st.speaker_observer) {
    if (!st.levels.levels.empty())
      return st.levels_since_ms + level_batch_interval_ms - now;
    if (st.levels_last_ms != 0 && now - st.levels_last_ms < level_batch_interval_ms)
      return level_batch_interval_ms;
  }
  return std::nullopt;
}

// Arms the timer for what is pending, if anything (a timer armed no later stays).
void arm_pending_tick(producer_actor* self, int64_t now) {
  if (auto delay = pending_delay(self->state, now))
    arm_tick(self, now, *delay);
}

void arm_next_tick(producer_actor* self, int64_t now) {
  auto& st = self->state;
  const int64_t report = st.last_rr_ms + receiver_report_interval_ms - now;
  arm_tick(self, now, std::min(report, pending_delay(st, now).value_or(report)));
}

void request_keyframe(producer_actor* self, encoding_state& e, int64_t now) {
  auto& st = self->state;
  if (st.kind != rtp::media_kind::video || (!st.pli_enabled && !st.fir_enabled))
    return;
  if (e.keyframe_throttle->request(now))
    send_keyframe_request(self, e);
  else
    arm_tick(self, now, tick_interval_ms);
}

void flush_levels(producer_actor* self) {
  auto& st = self->state;
  if (st.levels.levels.empty())
    return;
  audio_level_batch out;
  out.producer_id = st.id;
  out.levels.reserve(level_batch_max);
  out.times_ms.reserve(level_batch_max);
  std::swap(out, st.levels);
  self->send(st.speaker_observer, std::move(out));
}

// Sends the batch once its first sample is `age_ms` old (or it is full).
void maybe_flush_levels(producer_actor* self, int64_t now, int64_t age_ms = level_batch_interval_ms) {
  auto& st = self->state;
  if (!st.levels.levels.empty() &&
      (now - st.levels_since_ms >= age_ms || st.levels.levels.size() >= level_batch_max))
    flush_levels(self);
}

// The encoding a packet's SSRC belongs to, learning it from the rid (or repaired rid)
// element when the SSRC is new; `rtx` tells whether it is the encoding's RTX stream.
encoding_state* encoding_of(producer_data& st, const rtp::rtp_packet& pkt, bool& rtx) {
  const uint32_t ssrc = pkt.ssrc();
  if (ssrc == 0) { // an encoding not learnt yet has ssrc 0: never a match
    ++st.counters.unknown_ssrc;
    return nullptr;
  }
  for (auto& e : st.encodings) {
    if (e.ssrc == ssrc) {
      rtx = false;
      return &e;
    }
    if (e.rtx_ssrc != 0 && e.rtx_ssrc == ssrc) {
      rtx = true;
      return &e;
    }
  }
  // A new SSRC: its rid binds it (the transport only routes SSRCs whose mid or rid names
  // this producer).
  std::optional<std::string_view> rid;
  rtx = false;
  if (st.rid_ext_id != 0)
    rid = pkt.rid(st.rid_ext_id);
  if (!rid && st.rrid_ext_id != 0) {
    rid = pkt.rid(st.rrid_ext_id);
    rtx = rid.has_value();
  }
  if (!rid) {
    ++st.counters.unknown_ssrc;
    return nullptr;
  }
  for (auto& e : st.encodings) {
    if (e.rid != *rid)
      continue;
    if (rtx ? e.rtx_ssrc != 0 : e.ssrc != 0)
      break; // bound to another SSRC already: a new SSRC for a rid is not followed
    if (rtx) {
      e.rtx_ssrc = ssrc;
    } else {
      e.ssrc = ssrc;
      e.stream.emplace(ssrc, st.clock_rate);
    }
    return &e;
  }
  ++st.counters.unknown_rid;
  return nullptr;
}

// Reads the layer fields of a video packet (see forwarded_packet).
void read_layers(const producer_data& st, rtp::payload_codec codec, const rtp::rtp_packet& pkt,
                 uint8_t encoding, forwarded_packet& out) {
  out.spatial = encoding;
  out.frame_start = out.keyframe;
  out.sync = out.keyframe;
  out.end_of_layer = pkt.marker();
  const auto payload = pkt.payload();
  switch (codec) {
    case rtp::payload_codec::vp8:
      if (auto d = rtp::parse_vp8_descriptor(payload)) {
        out.frame_start = d->start_of_frame;
        if (d->has_tid) {
          out.temporal = std::min<uint8_t>(d->tid, max_temporal_layers - 1);
          out.sync = out.keyframe || d->layer_sync || d->tid == 0;
        } else {
          out.sync = true;
        }
      }
      break;
    case rtp::payload_codec::vp9:
      if (auto d = rtp::parse_vp9_descriptor(payload)) {
        out.frame_start = d->begin;
        out.end_of_layer = d->end;
        if (d->layer_indices) {
          out.temporal = std::min<uint8_t>(d->temporal_id, max_temporal_layers - 1);
          out.sync = out.keyframe || d->switching_up || d->temporal_id == 0;
          if (!st.mapping.simulcast())
            out.spatial = d->spatial_id;
        } else {
          out.sync = true;
        }
      }
      break;
    default: // H264 and others: one temporal layer as far as the stream tells
      out.frame_start = true;
      out.sync = true;
      break;
  }
}

void fan_out(producer_actor* self, media_packets out);
void fan_out_or_join(producer_actor* self, media_packets out);

// The size of each encoding's (SVC: each spatial layer's) last keyframe: its packets are
// those with the keyframe's RTP timestamp; it is complete when the next frame starts.
void measure_keyframe(producer_data& st, encoding_state& e, uint32_t timestamp,
                      const forwarded_packet& fwd, size_t bytes) {
  // A keyframe starts at its first flagged packet; more flagged packets with the same
  // timestamp (H.264: the SPS, each slice of the IDR) belong to it.
  if (fwd.keyframe && !(e.keyframe_open && timestamp == e.keyframe_ts)) {
    e.keyframe_open = true;
    e.keyframe_ts = timestamp;
    e.keyframe_acc = {};
  } else if (e.keyframe_open && timestamp != e.keyframe_ts) {
    e.keyframe_open = false;
    for (size_t s = 0; s < e.keyframe_acc.size(); ++s)
      if (e.keyframe_acc[s] != 0) {
        st.keyframe_bytes[s][st.keyframe_next[s]] = e.keyframe_acc[s];
        st.keyframe_next[s] = uint8_t((st.keyframe_next[s] + 1) % st.keyframe_bytes[s].size());
      }
  }
  if (e.keyframe_open && timestamp == e.keyframe_ts && fwd.spatial < e.keyframe_acc.size())
    e.keyframe_acc[fwd.spatial] += uint32_t(bytes);
}

void handle_rtp(producer_actor* self, rtp_in& in) {
  auto& st = self->state;
  media_packets out;
  out.packets.reserve(in.packets.size());
  const auto now = in.arrival_ms;
  for (auto& buf : in.packets) {
    auto parsed = rtp::rtp_packet::parse(buf);
    if (!parsed) {
      ++st.counters.malformed;
      continue;
    }
    auto pkt = *parsed;
    bool is_rtx = false;
    auto* enc = encoding_of(st, pkt, is_rtx);
    if (enc == nullptr || !enc->stream)
      continue;
    auto origin = rtp::packet_origin::media;
    if (is_rtx) {
      auto apt = st.rtx_apt[pkt.payload_type()];
      if (apt < 0) {
        ++st.counters.unknown_payload_type;
        continue;
      }
      if (pkt.payload().size() < 2) { // padding only: the sender probing bandwidth
        ++st.counters.rtx_padding;
        continue;
      }
      if (enc->ssrc == 0) { // a repair of a stream not seen yet
        ++st.counters.rtx_bad;
        continue;
      }
      auto original = rtp::unwrap_rtx(pkt, uint8_t(apt), enc->ssrc);
      if (!original) {
        ++st.counters.rtx_bad;
        continue;
      }
      buf.resize(original->size());
      pkt = *original;
      origin = rtp::packet_origin::rtx;
    }
    const auto pt = pkt.payload_type();
    const auto router_pt = st.router_pt[pt];
    if (router_pt < 0) {
      ++st.counters.unknown_payload_type;
      continue;
    }
    const auto codec = st.codec[pt];
    const bool keyframe =
      st.kind == rtp::media_kind::video && rtp::is_keyframe(codec, pkt.payload());
    if (keyframe)
      ++st.counters.keyframes;
    const bool fresh = enc->stream->on_packet(pkt.sequence_number(), pkt.timestamp(),
                                              pkt.size(), now, origin == rtp::packet_origin::rtx);
    if (st.nack_enabled) {
      enc->nack.on_packet(pkt.sequence_number(), now, keyframe, origin, st.to_nack);
      if (!st.to_nack.empty())
        send_nack(self, *enc, st.to_nack);
      if (keyframe) // losses a keyframe made moot are not a reason to ask for another one
        enc->abandoned_seen = enc->nack.counters().abandoned;
    }
    if (!fresh) { // the consumers have it already
      ++st.counters.duplicates;
      continue;
    }
    forwarded_packet fwd;
    fwd.keyframe = keyframe;
    if (st.kind == rtp::media_kind::video)
      read_layers(st, codec, pkt, uint8_t(enc - st.encodings.data()), fwd);
    if (origin == rtp::packet_origin::media && fwd.spatial < max_spatial_layers) {
      st.layer_bytes[fwd.spatial][fwd.temporal] += pkt.size();
      if (st.layered)
        measure_keyframe(st, *enc, pkt.timestamp(), fwd, pkt.size());
    }
    pkt.set_payload_type(uint8_t(router_pt));
    pkt.remap_extension_ids(st.ext_map);
    if (st.paused)
      continue;
    // The level of a new packet (not a retransmission) of an observed audio producer: one
    // header-extension lookup, the sample kept in a reused buffer.
    if (st.audio_level_id != 0 && st.speaker_observer && origin == rtp::packet_origin::media)
      if (auto level = pkt.audio_level_of(st.audio_level_id)) {
        if (st.levels.levels.empty())
          st.levels_since_ms = now;
        st.levels_last_ms = now;
        st.levels.levels.push_back(uint8_t((level->voice ? 0x80 : 0) | level->level));
        st.levels.times_ms.push_back(now);
      }
    fwd.packet = std::make_shared<const std::vector<uint8_t>>(std::move(buf));
    out.packets.push_back(std::move(fwd));
  }
  if (st.speaker_observer)
    maybe_flush_levels(self, now);
  arm_pending_tick(self, now);
  if (out.packets.empty() || st.consumers.empty())
    return;
  st.counters.forwarded += out.packets.size();
  fan_out_or_join(self, std::move(out));
}

// One message for all consumers: CAF messages are reference counted, so every consumer
// reads the same vector of the same shared packets. A simulcast producer's consumer that
// needs only some encodings (layer_demand) gets a message of just those packets, built
// once per distinct need in the batch, or nothing when the batch has none of them.
// Idle consumers take a batch through their direct lanes (fan_out_through_lanes): on one
// usable CPU at any fan-out and load; on several only while the process is not busy
// (lanes_busy) and the fan-out has at most this many consumers. The lane saves a message
// and a turn per consumer and batch; it runs the whole fan-out on the producer's thread,
// where messages spread it over the workers' cores. A consumer behind messages (a busy
// one) is sent the batch, and takes several in one turn: entered once per packet, a
// consumer would pay its cold state for every packet. The figures behind the limit:
// docs/design/lanes.md, "The gates".
constexpr size_t direct_lane_max_consumers = 256;
// The producer's lane from the media I/O thread: see enter_producer_lane.
constexpr size_t io_lane_max_consumers = 32;

// A producer behind its mail (its fan-out took longer than the gap to the next packets, as
// a keyframe's to a class of 1000 on one core does) joins the batches waiting behind it
// (actors/batch_join.hpp) and fans them out together: each consumer then takes the packets
// in one entry and sends its run of them to its receiver as one segmented message (UDP
// GSO), so that a producer that fell behind in a burst catches up at a lower cost per
// packet instead of paying a consumer entry and a send per packet it is late with, or, on
// several CPUs, a message per consumer. Entered through its lane it has no mail when the
// call begins (a message sent to it meanwhile makes it hold the batch, and that message's
// turn comes before the flush). docs/design/lanes.md, "A producer behind its mail joins what
// waits".
void fan_out_or_join(producer_actor* self, media_packets out) {
  auto& st = self->state;
  switch (st.join.offer(out.packets, !mailbox_idle(self))) {
    case batch_join<forwarded_packet>::step::now:
      fan_out(self, std::move(out));
      break;
    case batch_join<forwarded_packet>::step::held_flush:
      self->send(self, fanout_flush_atom::value);
      break;
    case batch_join<forwarded_packet>::step::held:
      break;
  }
}

// Whether the fan-out may be handed to the consumers' media I/O threads
// (actors/thread_fanout.hpp): with several of them, for a producer whose consumers take
// batches through their lanes (not one whose consumers select layers: they take messages).
bool by_thread(const producer_data& st) {
  return st.threads.enabled() && !st.layered && !st.mapping.simulcast();
}

void fan_out(producer_actor* self, media_packets out) {
  auto& st = self->state;
  uint8_t present = 0;
  if (st.mapping.simulcast())
    for (auto& p : out.packets)
      present |= uint8_t(1u << (p.spatial & 7));
  const size_t n = out.packets.size();
  auto msg = caf::make_message(std::move(out));
  const auto& batch = msg.get_as<media_packets>(0);
  // An idle consumer takes the batch through its direct lane (no message, no turn of its
  // own): on one CPU always, on several not when more messages wait here, when the process
  // is busy nor for a large fan-out (fan_out_through_lanes, direct_lane_max_consumers; on
  // one CPU no other core would take part of the fan-out, and what mail brought is joined:
  // fan_out_or_join).
  // The consumers entered through their lanes share one clock reading (their munger,
  // retransmission ring, statistics, pacing and send stamps: fanout_clock).
  fanout_clock clock{n, mono_us()};
  const bool mail_waiting = !mailbox_idle(self);
  const bool direct =
    fan_out_through_lanes(st.consumers.size(), direct_lane_max_consumers, usable_cpu_count(),
                          lanes_busy(clock.now_us() / 1000), mail_waiting);
  // With several media I/O threads, what would otherwise be a message per consumer goes to
  // the consumers' threads instead: one task per thread, which enters its consumers'
  // lanes there. A thread that still has an earlier batch of this producer to hand over
  // gets this one too, whatever the path, so that no consumer's batches overtake.
  uint64_t to_threads = 0; // a bit per thread
  if (by_thread(st)) {
    st.threads.refresh(st.consumers, st.lanes, clock.now_us() / 1000);
    for (size_t t = 0; t < st.threads.threads(); ++t) {
      if (!st.threads.has_group(int(t)) || (direct && !st.threads.pending(int(t))))
        continue;
      // What the last fan-out sent through the lanes here may still wait in this
      // thread's outbox: it leaves before the consumers' threads send this batch.
      if (st.entered_lanes) {
        net::send_outbox::flush_current();
        st.entered_lanes = false;
      }
      if (st.threads.hand_off(int(t), msg))
        to_threads |= uint64_t(1) << t;
    }
  }
  std::array<std::pair<uint8_t, caf::message>, 4> filtered{}; // need -> its message
  size_t filtered_count = 0;
  // Each consumer's memory is cold at small fan-outs (one packet apart): warmed ahead
  // (prefetch_lanes_ahead), its misses overlap with the work of the ones before it
  // instead of stalling it one after the other.
  const size_t count = st.consumers.size();
  const std::span<caf::abstract_actor* const> lanes{st.lanes};
  for (size_t i = 0; i < count; ++i) {
    if (to_threads != 0) {
      const int h = st.threads.home(i);
      if (h >= 0 && (to_threads >> h) & 1) { // handed to its thread
        st.fanout_packets[i] += n;
        continue;
      }
    }
    if (direct)
      prefetch_lanes_ahead(lanes, i);
    const uint8_t need = st.demand[i] & present;
    if (need == present) {
      st.fanout_packets[i] += n;
      if (direct && st.lanes[i] &&
          enter_consumer_lane(st.lanes[i], batch, self->context(), clock.before(i))) {
        st.entered_lanes = true;
        ++st.counters.direct;
        continue;
      }
      self->send(st.consumers[i], msg);
      ++st.counters.messaged;
      continue;
    }
    if (need == 0)
      continue;
    caf::message* m = nullptr;
    for (size_t k = 0; k < filtered_count; ++k)
      if (filtered[k].first == need)
        m = &filtered[k].second;
    media_packets part;
    if (!m) {
      for (auto& p : msg.get_as<media_packets>(0).packets)
        if (need & (1u << (p.spatial & 7)))
          part.packets.push_back(p);
      if (filtered_count < filtered.size()) {
        filtered[filtered_count] = {need, caf::make_message(std::move(part))};
        m = &filtered[filtered_count++].second;
      }
    }
    ++st.counters.messaged;
    if (m) {
      st.fanout_packets[i] += m->get_as<media_packets>(0).packets.size();
      self->send(st.consumers[i], *m);
    } else { // more distinct needs than a batch of 4 encodings can have: never, but safe
      st.fanout_packets[i] += part.packets.size();
      self->send(st.consumers[i], std::move(part));
    }
  }
}

// producer-layers-unused: the encodings no attached consumer or relay needs. A layer
// needed again is reported at once; one that stopped being needed only once that held for
// unused_hold_ms, so that a consumer passing through does not make the publisher turn
// encodings off and on.
constexpr int64_t unused_hold_ms = 4000;

void check_unused_layers(producer_actor* self, int64_t now) {
  auto& st = self->state;
  if (!st.mapping.simulcast() || st.spatial_layers < 2)
    return;
  uint8_t used = 0;
  for (auto d : st.demand)
    used |= d;
  const uint8_t all = uint8_t((1u << st.spatial_layers) - 1);
  uint8_t unused = uint8_t(~used & all);
  if (unused != st.unused_now) {
    st.unused_now = unused;
    st.unused_since_ms = now;
  }
  uint8_t report = uint8_t(st.reported_unused & unused); // layers needed again: at once
  if (now - st.unused_since_ms >= unused_hold_ms)
    report = unused;
  if (report == st.reported_unused)
    return;
  st.reported_unused = report;
  unused = report;
  protocol::producer_layers_unused_event ev{st.id, {}};
  for (uint8_t s = 0; s < st.spatial_layers; ++s)
    if (unused & (1u << s))
      ev.spatial_layers.push_back(s);
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, std::move(ev));
}

void send_receiver_report(producer_actor* self, int64_t now) {
  auto& st = self->state;
  std::array<rtp::report_block, 4> blocks{};
  size_t count = 0;
  for (auto& e : st.encodings)
    if (e.stream && e.stream->started() && count < blocks.size())
      blocks[count++] = e.stream->make_report_block(now);
  if (count == 0)
    return;
  std::array<uint8_t, 8 + 4 * rtp::report_block::size> buf{};
  auto n = rtp::write_receiver_report(st.rtcp_ssrc, std::span(blocks.data(), count), buf);
  if (!n)
    return;
  send_rtcp(self, std::vector<uint8_t>(buf.begin(), buf.begin() + *n));
}

uint32_t largest_keyframe(const producer_data& st, size_t s) {
  return *std::max_element(st.keyframe_bytes[s].begin(), st.keyframe_bytes[s].end());
}

// The layers' bitrates over the time since the last update, to the consumers that select
// layers (they and their transport's allocator read them).
void update_layer_rates(producer_actor* self, int64_t now) {
  auto& st = self->state;
  const int64_t elapsed = now - st.last_rate_ms;
  if (elapsed <= 0)
    return;
  st.last_rate_ms = now;
  layer_bitrates msg;
  msg.spatial_layers = st.spatial_layers;
  msg.temporal_layers = st.temporal_layers;
  const size_t spatial = std::min<size_t>(st.spatial_layers, max_spatial_layers);
  msg.bps.assign(spatial * max_temporal_layers, 0);
  // What forwarding layer (s, t) costs: its temporal layers up to t, and for SVC, whose
  // spatial layers build on each other, every spatial layer up to s as well.
  const bool svc = !st.mapping.simulcast();
  for (size_t s = 0; s < spatial; ++s) {
    for (size_t t = 0; t < max_temporal_layers; ++t) {
      // A layer that sent nothing is absent (0), even when lower ones are there.
      if (st.layer_bytes[s][t] == 0) {
        st.layer_bps[s][t] = 0;
        continue;
      }
      uint64_t bytes = 0;
      for (size_t s2 = svc ? 0 : s; s2 <= s; ++s2)
        for (size_t t2 = 0; t2 <= t; ++t2)
          bytes += st.layer_bytes[s2][t2];
      st.layer_bps[s][t] = uint32_t(bytes * 8000 / uint64_t(elapsed));
      msg.bps[s * max_temporal_layers + t] = st.layer_bps[s][t];
    }
  }
  st.layer_bytes = {};
  st.recent_bps[st.recent_next] = msg.bps;
  st.recent_next = uint8_t((st.recent_next + 1) % st.recent_bps.size());
  msg.peak_bps = msg.bps;
  for (auto& r : st.recent_bps)
    for (size_t i = 0; i < r.size() && i < msg.peak_bps.size(); ++i)
      msg.peak_bps[i] = std::max(msg.peak_bps[i], r[i]);
  // What a receiver switching up to layer s gets first: SVC sends the layers below with it.
  msg.keyframe_bytes.assign(spatial, 0);
  for (size_t s = 0; s < spatial; ++s)
    msg.keyframe_bytes[s] = largest_keyframe(st, s) + (svc && s > 0 ? msg.keyframe_bytes[s - 1] : 0);
  for (auto& e : st.encodings)
    msg.scores.push_back(e.stream && e.stream->started()
                           ? rtp::score_from_loss(e.stream->stats(now).fraction_lost)
                           : uint8_t(0));
  if (!st.layered || st.consumers.empty())
    return;
  auto m = caf::make_message(std::move(msg));
  for (auto& c : st.consumers)
    self->send(c, m);
}

// `armed_at` is the deadline the timer was armed for: only the armed one re-arms; one that
// a newer, earlier timer overtook only ticks.
void on_tick(producer_actor* self, int64_t armed_at) {
  auto& st = self->state;
  auto now = mono_ms();
  const bool rearm = armed_at == st.tick_at_ms;
  ++st.counters.ticks;
  for (auto& e : st.encodings) {
    if (st.nack_enabled) {
      e.nack.tick(now, st.to_nack);
      if (!st.to_nack.empty())
        send_nack(self, e, st.to_nack);
      // Loss NACK could not repair breaks the picture until the next keyframe: ask for one
      // at once, for the receivers that never ask themselves (the recorder's ffmpeg, an
      // FFmpeg behind a plain transport) as for browsers (one throttle for all requests).
      if (auto abandoned = e.nack.counters().abandoned; abandoned > e.abandoned_seen) {
        e.abandoned_seen = abandoned;
        request_keyframe(self, e, now);
      }
    }
    if (e.keyframe_throttle->due(now))
      send_keyframe_request(self, e);
  }
  // On the steady beat (pending_delay) the tick comes up to a packet interval before the
  // batch it ends is level_batch_interval_ms old (its first sample came just after the
  // tick before): that batch goes now, not on a second tick moments later.
  if (st.speaker_observer)
    maybe_flush_levels(self, now, level_batch_interval_ms - level_packet_interval_ms);
  if (now - st.last_rr_ms >= receiver_report_interval_ms) {
    st.last_rr_ms = now;
    send_receiver_report(self, now);
    if (st.kind == rtp::media_kind::video) {
      update_layer_rates(self, now);
      check_unused_layers(self, now);
    }
  }
  if (rearm) {
    st.tick_at_ms = 0;
    arm_next_tick(self, now);
  }
}

// Per attached consumer or relay (remote: on another node): the encodings it takes (null:
// all) and the packets handed to it; and the encodings last reported unused.
std::string fanout_json(producer_actor* self) {
  auto& st = self->state;
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < st.consumers.size(); ++i) {
    os << (i ? "," : "") << "{\"remote\":"
       << (st.consumers[i]->node() != self->node() ? "true" : "false") << ",\"spatialLayers\":";
    if (st.demand[i] == 0xff) {
      os << "null";
    } else {
      os << "[";
      bool first = true;
      for (unsigned s = 0; s < 8; ++s)
        if (st.demand[i] & (1u << s)) {
          os << (first ? "" : ",") << s;
          first = false;
        }
      os << "]";
    }
    os << ",\"packets\":" << st.fanout_packets[i] << "}";
  }
  os << "]";
  if (st.mapping.simulcast()) {
    os << ",\"unusedLayers\":[";
    bool first = true;
    for (unsigned s = 0; s < st.spatial_layers; ++s)
      if (st.reported_unused & (1u << s)) {
        os << (first ? "" : ",") << s;
        first = false;
      }
    os << "]";
  }
  return os.str();
}

void encoding_stats_json(std::ostringstream& os, producer_actor* self, const encoding_state& e,
                         size_t index, int64_t now) {
  auto& st = self->state;
  auto s = e.stream ? e.stream->stats(now) : rtp::receive_stream_stats{};
  auto& c = st.counters;
  auto& n = e.nack.counters();
  os << "{\"type\":\"inbound-rtp\",\"producerId\":\"" << st.id << "\",\"timestamp\":"
     << wall_ms() << ",\"ssrc\":" << e.ssrc;
  if (e.rtx_ssrc)
    os << ",\"rtxSsrc\":" << e.rtx_ssrc;
  if (!e.rid.empty())
    os << ",\"rid\":\"" << e.rid << "\"";
  os << ",\"kind\":\"" << rtp::to_string(st.kind) << "\",\"mimeType\":\"" << st.mime_type
     << "\",\"paused\":" << (st.paused ? "true" : "false")
     << ",\"packetCount\":" << s.packets << ",\"byteCount\":" << s.bytes
     << ",\"bitrate\":" << s.bitrate_bps << ",\"packetsLost\":" << s.lost
     << ",\"fractionLost\":" << unsigned(s.fraction_lost) << ",\"jitter\":" << s.jitter
     << ",\"packetsRetransmitted\":" << s.retransmitted
     << ",\"packetsDuplicated\":" << s.duplicates << ",\"nackRecovered\":" << n.recovered
     << ",\"nackAbandoned\":" << n.abandoned
     << ",\"score\":" << unsigned(rtp::score_from_loss(s.fraction_lost));
  if (st.kind == rtp::media_kind::video) {
    // mediasoup's shape: "spatial.temporal" -> bps, cumulative over temporal layers.
    os << ",\"bitrateByLayer\":{";
    bool first = true;
    for (size_t s = 0; s < max_spatial_layers; ++s) {
      if (st.mapping.simulcast() ? s != index : s >= st.spatial_layers)
        continue;
      for (size_t t = 0; t < st.temporal_layers && t < max_temporal_layers; ++t) {
        os << (first ? "" : ",") << "\"" << s << "." << t << "\":" << st.layer_bps[s][t];
        first = false;
      }
    }
    os << "}";
    if (st.layered) { // the last keyframe's bytes per spatial layer of this encoding
      os << ",\"keyframeBytes\":[";
      bool first = true;
      for (size_t s = 0; s < max_spatial_layers; ++s) {
        if (st.mapping.simulcast() ? s != index : s >= st.spatial_layers)
          continue;
        os << (first ? "" : ",") << largest_keyframe(st, s);
        first = false;
      }
      os << "]";
    }
  }
  if (index == 0) // the producer's own totals, once
    os << ",\"nackCount\":" << c.nack_packets << ",\"nackPacketCount\":" << c.nack_seqs
       << ",\"pliCount\":" << c.plis << ",\"firCount\":" << c.firs
       << ",\"keyframes\":" << c.keyframes << ",\"keyframeRequests\":" << c.keyframe_requests
       << ",\"consumers\":" << st.consumers.size() << ",\"forwarded\":" << c.forwarded
       << ",\"fanout\":" << fanout_json(self) << ",\"directBatches\":" << c.direct
       << ",\"messageBatches\":" << c.messaged << ",\"laneBatchesIn\":" << c.lane_in
       << ",\"joinedBatches\":" << st.join.joined()
       << ",\"threadHandoffs\":" << st.threads.stats().handoffs.load(std::memory_order_relaxed)
       << ",\"ticks\":" << c.ticks
       << ",\"dropped\":{\"malformed\":" << c.malformed
       << ",\"unknownPayloadType\":" << c.unknown_payload_type
       << ",\"unknownSsrc\":" << c.unknown_ssrc << ",\"unknownRid\":" << c.unknown_rid
       << ",\"rtxPadding\":" << c.rtx_padding << ",\"rtxMalformed\":" << c.rtx_bad
       << ",\"duplicates\":" << c.duplicates << "}";
  os << "}";
}

std::string stats_json(producer_actor* self) {
  auto& st = self->state;
  const auto now = mono_ms();
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < st.encodings.size(); ++i) {
    if (i)
      os << ",";
    encoding_stats_json(os, self, st.encodings[i], i, now);
  }
  os << "]";
  return os.str();
}

// Fans out what the join handed back, if anything: at its flush message, and (take) before
// the consumers are told of a pause or resume (a packet received before a pause must not
// arrive after it, and one held across a pause and resume would become the resumed
// stream's first) and before the producer ends.
void fan_out_joined(producer_actor* self, std::vector<forwarded_packet> packets) {
  if (!packets.empty())
    fan_out(self, media_packets{std::move(packets)});
}

void set_paused(producer_actor* self, bool paused) {
  auto& st = self->state;
  if (st.paused == paused)
    return;
  fan_out_joined(self, st.join.take());
  st.paused = paused;
  for (auto& c : st.consumers)
    self->send(c, producer_state{paused});
}

void init_tables(producer_data& st, const rtp::rtp_parameters& params) {
  st.router_pt.fill(-1);
  st.rtx_apt.fill(-1);
  st.codec.fill(rtp::payload_codec::other);
  for (auto& m : st.mapping.codecs)
    if (m.client < 128)
      st.router_pt[m.client] = m.router;
  for (auto& c : params.codecs) {
    if (c.payload_type >= 128)
      continue;
    st.codec[c.payload_type] = codec_of(c.mime_type);
    if (text::iends_with(c.mime_type, "/rtx")) {
      if (auto* apt = rtp::find_param(c.parameters, "apt"))
        st.rtx_apt[c.payload_type] = static_cast<int16_t>(std::atoi(apt->value.c_str()));
      continue;
    }
    if (st.mime_type.empty()) {
      st.mime_type = c.mime_type;
      st.clock_rate = c.clock_rate;
      st.nack_enabled = has_feedback(c, "nack", "");
      st.pli_enabled = has_feedback(c, "nack", "pli");
      st.fir_enabled = has_feedback(c, "ccm", "fir");
    }
  }
  for (auto& e : st.mapping.header_extensions) {
    st.ext_map.set(e.client, e.router);
    if (e.uri == rid_uri)
      st.rid_ext_id = e.client;
    else if (e.uri == rrid_uri)
      st.rrid_ext_id = e.client;
  }
  if (st.kind == rtp::media_kind::audio)
    for (auto& e : params.header_extensions)
      if (e.uri == audio_level_uri)
        for (auto& m : st.mapping.header_extensions)
          if (m.client == e.id)
            st.audio_level_id = m.router; // read after the remap: the router's id
}

void init_encodings(producer_data& st) {
  auto encodings = st.mapping.encodings;
  if (encodings.empty()) // a mapping made without encodings: the single ssrc
    encodings.push_back({st.mapping.ssrc, st.mapping.rtx_ssrc, {}, 1, 1, false, 0});
  for (auto& m : encodings) {
    auto& e = st.encodings.emplace_back();
    e.ssrc = m.ssrc;
    e.rtx_ssrc = m.rtx_ssrc;
    e.rid = m.rid;
    if (e.ssrc != 0)
      e.stream.emplace(e.ssrc, st.clock_rate);
    e.keyframe_throttle.emplace(int64_t(st.ctx->media.keyframe_request_interval_ms));
    e.clock.spatial = uint8_t(st.encodings.size() - 1);
    st.temporal_layers =
      std::max<uint8_t>(st.temporal_layers, std::min<uint8_t>(m.temporal_layers, max_temporal_layers));
  }
  st.spatial_layers = st.mapping.simulcast() ? uint8_t(encodings.size())
                                             : encodings[0].spatial_layers;
  st.layered = st.kind == rtp::media_kind::video &&
               (st.spatial_layers > 1 || st.temporal_layers > 1);
}

// The valid sender clocks, one per encoding.
std::vector<source_clock> clocks_of(const producer_data& st) {
  std::vector<source_clock> out;
  for (auto& e : st.encodings)
    if (e.clock.valid)
      out.push_back(e.clock);
  return out;
}

caf::behavior producer_impl(producer_actor* self, producer_spawn_args args, caf::actor transport,
                            caf::actor_addr peer, node_context_ptr ctx) {
  auto& st = self->state;
  st.id = std::move(args.id);
  st.peer_id = std::move(args.peer_id);
  st.kind = args.kind;
  if (st.kind == rtp::media_kind::audio)
    mark_urgent(self); // audio first (actors/scheduler.hpp)
  st.mapping = std::move(args.mapping);
  st.paused = args.paused;
  st.transport = std::move(transport);
  st.peer = std::move(peer);
  st.ctx = std::move(ctx);
  st.ctx->counters->producers.fetch_add(1);
  if (st.ctx->media.thread_fanout)
    st.threads = thread_fanout{st.ctx->media_io};
  init_tables(st, args.parameters);
  init_encodings(st);
  st.rtcp_ssrc = ids::random_u32() | 1u;
  st.last_rr_ms = mono_ms();
  st.last_rate_ms = st.last_rr_ms;
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (size_t i = 0; i < st.consumers.size(); ++i)
      if (st.consumers[i].address() == dm.source) {
        st.consumers.erase(st.consumers.begin() + ptrdiff_t(i));
        st.demand.erase(st.demand.begin() + ptrdiff_t(i));
        st.fanout_packets.erase(st.fanout_packets.begin() + ptrdiff_t(i));
        st.lanes.erase(st.lanes.begin() + ptrdiff_t(i));
        st.threads.consumers_changed();
        check_unused_layers(self, mono_ms());
        return;
      }
  });
  // Ended (closed by its peer, or the peer ended): what the join holds was received before
  // the end and goes out first. (An injected fault drops it, as a crash would.)
  self->set_exit_handler([self](caf::exit_msg& em) {
    fan_out_joined(self, self->state.join.take());
    if (em.reason)
      self->quit(std::move(em.reason));
  });
  arm_next_tick(self, st.last_rr_ms);
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](rtp_in& in) { handle_rtp(self, in); },
    [self](fanout_flush_atom) { fan_out_joined(self, self->state.join.flush()); },
    [self](sender_report_in& sr) {
      auto& st = self->state;
      for (auto& e : st.encodings) {
        if (e.ssrc == 0 || sr.ssrc != e.ssrc)
          continue;
        e.stream->on_sender_report(sr.ntp, sr.rtp_timestamp, sr.arrival_ms);
        e.clock = source_clock{sr.ntp, sr.rtp_timestamp, sr.arrival_ms, true, e.clock.spatial};
        if (!st.consumers.empty()) {
          auto msg = caf::make_message(e.clock);
          for (auto& c : st.consumers)
            self->send(c, msg);
        }
        return;
      }
    },
    [self](attach_consumer& a) -> attach_reply {
      auto& st = self->state;
      self->monitor(a.consumer);
      st.consumers.push_back(a.consumer);
      st.demand.push_back(0xff);
      st.fanout_packets.push_back(0);
      st.lanes.push_back(consumer_lane(a.consumer)); // kept alive by st.consumers' handle
      st.threads.consumers_changed();
      check_unused_layers(self, mono_ms());
      return attach_reply{st.paused, clocks_of(st)};
    },
    [self](const layer_demand& d) {
      auto& st = self->state;
      for (size_t i = 0; i < st.consumers.size(); ++i)
        if (st.consumers[i] == d.from) {
          st.demand[i] = d.spatial_mask;
          check_unused_layers(self, mono_ms());
          return;
        }
    },
    [self](attach_speaker_observer& a) {
      auto& st = self->state;
      if (st.audio_level_id == 0)
        return; // no levels to report
      st.speaker_observer = std::move(a.observer);
      st.levels.producer_id = st.id;
      st.levels.levels.reserve(level_batch_max);
      st.levels.times_ms.reserve(level_batch_max);
    },
    // A keyframe of every encoding (the simple consumers, the recorder) ...
    [self](keyframe_request_atom) {
      auto& st = self->state;
      ++st.counters.keyframe_requests;
      const auto now = mono_ms();
      for (auto& e : st.encodings)
        request_keyframe(self, e, now);
    },
    // ... or of the one a layer-selecting consumer switches to.
    [self](keyframe_request_atom, uint8_t spatial) {
      auto& st = self->state;
      ++st.counters.keyframe_requests;
      if (st.encodings.size() > 1 && spatial < st.encodings.size())
        request_keyframe(self, st.encodings[spatial], mono_ms());
      else
        request_keyframe(self, st.encodings[0], mono_ms()); // SVC: one stream
    },
    [self](media_tick_atom, int64_t armed_at) {
      on_tick(self, armed_at);
      self->state.publish_totals();
    },
    [self](protocol::producer_request& r) -> caf::result<caf::message> {
      switch (r.op) {
        case protocol::producer_op::pause:
          set_paused(self, true);
          return caf::make_message(protocol::empty_reply{});
        case protocol::producer_op::resume:
          set_paused(self, false);
          return caf::make_message(protocol::empty_reply{});
        case protocol::producer_op::get_stats:
          return caf::make_message(protocol::stats_reply{stats_json(self)});
        default:
          return make_error(protocol::error_code::invalid_state,
                            "the peer handles close-producer");
      }
    },
  };
}

} // namespace

caf::abstract_actor* producer_lane(const caf::actor& producer) {
  return lane_of<producer_actor>(producer);
}

bool enter_producer_lane(caf::abstract_actor* lane, rtp_in& in, caf::execution_unit* eu) {
  auto* self = static_cast<producer_actor*>(lane);
  lane_entry<producer_actor> entry{self, eu};
  // Off the workers (a media I/O thread: no execution unit) a large fan-out only while
  // the whole process's work fits in half of one CPU (lanes_light; with several I/O
  // threads, this thread's own work): then the I/O thread
  // has the time, and a worker's wake-up and turn would cost more than the fan-out. Above
  // that it runs on a worker (its consumers through their lanes there, or spread over the
  // workers), so that the I/O thread goes back to receiving for the other transports; a
  // small one (the common meeting) it runs itself up to lanes_busy.
  // With several I/O threads, a fan-out this producer hands to its consumers' threads costs
  // this one a post per thread: it runs here at any size.
  if (!entry || (eu == nullptr && self->state.consumers.size() > io_lane_max_consumers &&
                 !by_thread(self->state) &&
                 !lanes_light(in.arrival_ms))) // the transport's clock reading of this batch
    return false;
  ++self->state.counters.lane_in;
  handle_rtp(self, in);
  return true;
}

caf::actor spawn_producer(caf::event_based_actor* peer, producer_spawn_args args,
                          caf::actor transport, node_context_ptr ctx) {
  return peer->spawn<caf::linked>(producer_impl, std::move(args), std::move(transport),
                                  peer->address(), std::move(ctx));
}

} // namespace chorus::actors
