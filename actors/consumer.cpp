#include "actors/consumer.hpp"
#include "actors/ticker.hpp"
#include "actors/monitor.hpp"
#include "actors/fault.hpp"

#include "actors/clock.hpp"
#include "actors/scheduler.hpp"
#include "actors/media_messages.hpp"
#include "actors/rtp_sender.hpp"
#include "actors/lane.hpp"
#include "net/media_io.hpp"
#include "net/send_outbox.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "rtp/aes_gcm.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/layer_selector.hpp"
#include "rtp/rtp_stream.hpp"
#include "rtp/vp8_descriptor.hpp"
#include "rtp/seq_munger.hpp"
#include "rtp/srtp_session.hpp"
#include "rtp/rate_cap.hpp"

#include <caf/all.hpp>

#include <deque>

#include <cstring>
#include <sstream>

namespace chorus::actors {

namespace {

constexpr auto report_interval = std::chrono::milliseconds(1000);
constexpr uint64_t rtx_budget_min_bps = 32'000;
// In a retransmission-ring tag: the packet was sent with the marker set (the top forwarded
// SVC layer); the low bits are the VP8 picture id rewrite (vp8_continuity::tag).
constexpr uint32_t marker_tag = 0x80000000u;
constexpr size_t trailer_room = rtp::srtp_session::max_trailer;
constexpr const char* twcc_uri =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr const char* mid_uri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr const char* abs_send_time_uri =
  "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";

struct consumer_counters {
  uint64_t skipped_paused = 0;        // packets while the consumer or producer is paused
  uint64_t skipped_wait_keyframe = 0; // video before the first keyframe after a (re)start
  uint64_t dropped_payload_type = 0;  // a codec the consumer did not negotiate
  uint64_t dropped_old = 0;           // older than the current base (munger)
  uint64_t malformed = 0;
  uint64_t keyframe_requests = 0;
  uint64_t other_layers = 0;   // packets of encodings this consumer does not forward now
  uint64_t dropped_layers = 0; // packets of layers above the forwarded ones
  uint64_t layer_switches = 0;
  uint64_t rtx_over_budget = 0; // retransmissions skipped: over the retransmission budget
  uint64_t paced_held = 0;      // packets that waited for the paced link (send_shared)
  uint64_t paced_flushed = 0;   // times the pacing queue was sent at once (over its bound)
};

// What a consumer of a producer with layers (simulcast, SVC, temporal layers) tracks.
struct layer_state {
  bool simulcast = false;
  uint8_t spatial_layers = 1, temporal_layers = 1;
  int8_t preferred_spatial = 0, preferred_temporal = 0; // the receiver's wish
  int8_t allocated_spatial = 127, allocated_temporal = 127; // its transport's budget
  std::optional<rtp::layer_selector> selector;
  std::vector<uint32_t> bps; // the producer's layer bitrates (layer_bitrates)
  std::vector<uint32_t> keyframe_bytes; // per spatial layer (layer_bitrates)
  std::vector<uint32_t> peak_bps;       // layer_bitrates::peak_bps
  std::vector<uint32_t> known_bps;      // bps, an absent layer at its last nonzero rate
  int8_t wanted_spatial = 127;          // layer_allocation::wanted_spatial
  std::vector<uint8_t> producer_scores; // per encoding (layer_bitrates)
  int8_t reported_spatial = -2, reported_temporal = -2; // last consumer-layers-changed
  int8_t keyframe_asked_for = -1; // the target whose keyframe was last asked for
  uint8_t sent_demand = 0xff;     // the last layer_demand (simulcast)
  bool vp8 = false;
  rtp::vp8_continuity continuity;
};

struct consumer_state {
  std::string id;
  std::string producer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  std::string mime_type;
  caf::actor_addr peer;
  caf::actor producer;
  caf::actor transport;
  std::optional<rtp_sender> sender; // ours, on the transport's socket
  node_context_ptr ctx;

  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;
  uint8_t payload_type = 0;
  uint8_t rtx_payload_type = 0;
  bool rtx = false;
  uint32_t clock_rate = 90000;
  std::string cname;
  rtp::extension_id_map ext_map; // router id -> consumer id (0: disabled)
  uint8_t tcc_ext_id = 0;
  uint8_t abs_send_time_ext_id = 0;
  uint8_t mid_ext_id = 0;
  std::string mid; // ours: the receiver demultiplexes by it, so never forward the producer's

  bool paused = true;
  bool producer_paused = false;
  bool waiting_keyframe = true;
  rtp::seq_munger munger;
  uint16_t rtx_seq = 0;
  std::optional<rtp::retransmission_buffer> rtx_buffer;
  std::optional<rtp::send_stream> stream;
  std::vector<rtp::stored_packet> resend; // reused
  // Retransmissions may take at most a quarter of what the stream sends as media (at least
  // 32 kbps; measured without the repairs, which would feed back into it): on a thin link,
  // resending what the link dropped must not crowd out new media.
  rtp::rate_cap rtx_budget{rtx_budget_min_bps, rtp::rate_cap::suggested_burst(rtx_budget_min_bps) * 4};
  uint64_t budget_media_bytes = 0; // media bytes sent at the last budget update
  int64_t budget_ms = 0;
  source_clock clock; // of the forwarded encoding
  std::array<source_clock, 4> clocks{}; // per encoding (simulcast)
  std::optional<layer_state> layers; // a producer with layers
  // What waits for the transport's paced link (send_paced), oldest first.
  struct paced_packet {
    std::vector<uint8_t> bytes;
    int16_t probe_id = -1;
  };
  std::deque<paced_packet> paced;
  size_t paced_bytes = 0;
  bool pace_timer = false;
  // It has taken a batch through its lane: its batches may come on several threads.
  bool lane_seen = false;
  // Its producer may hand its batches to its transport's I/O thread (several I/O threads,
  // rtc.threadFanout): it publishes that thread (consumer_actor::home).
  bool by_thread = false;
  uint8_t priority = 1;
  int reported_score = -1, reported_producer_score = -1; // last consumer-score
  consumer_counters counters;
  uint64_t published_retransmitted = 0; // added to the node's media totals so far
  static inline const char* name = "chorus.consumer";

  // The retransmissions since the last call, to the node's totals (on the report tick and
  // at the end; never per packet).
  void publish_totals(int64_t now_ms) {
    if (!ctx || !stream)
      return;
    auto sent = stream->stats(now_ms).retransmitted;
    if (sent > published_retransmitted)
      ctx->counters->media.retransmissions.fetch_add(sent - published_retransmitted,
                                                     std::memory_order_relaxed);
    published_retransmitted = sent;
  }

  ~consumer_state() {
    publish_totals(mono_ms());
    if (ctx)
      ctx->counters->consumers.fetch_sub(1);
  }
};

// The consumer actor, with a lane its producer may enter directly (consumer_lane in
// consumer.hpp): every turn of the actor holds lane_mutex, so the producer's handle_media
// and the actor's own handlers never overlap.
class consumer_actor : public laned_actor<consumer_state> {
public:
  explicit consumer_actor(caf::actor_config& cfg) : laned_actor<consumer_state>(cfg) {}

  // Where a batch through the lane goes beyond this object: kept by handle_media (under
  // the lane's lock), read without it by the producer only to prefetch them
  // (prefetch_consumer_lane): a stale address is harmless, a prefetch never faults.
  enum far_slot : size_t { shared_head, shared_pacing, endpoint, endpoint_state, cipher,
                           cipher_streams, rtx_slot, far_count };
  std::array<std::atomic<const void*>, far_count> far{};
  // The media I/O thread of its transport (net::media_endpoint::home_thread), once known:
  // read by its producer to group its consumers by thread (actors/thread_fanout.hpp).
  std::atomic<int> home{-1};
};

// Keeps consumer_actor::home: read from the endpoint until it is known (it is set once).
void publish_home(consumer_actor* self) {
  if (!self->state.by_thread || self->home.load(std::memory_order_relaxed) >= 0 ||
      !self->state.sender)
    return;
  const auto& ep = self->state.sender->shared().endpoint;
  if (const int h = ep ? ep->home_thread() : -1; h >= 0)
    self->home.store(h, std::memory_order_relaxed);
}

// Keeps consumer_actor::far current: all of it when the sender is set up or its keys or
// tuple change, the retransmission slot (it moves with every packet) after each batch.
void publish_rtx_slot(consumer_actor* self) {
  if (self->state.rtx_buffer)
    self->far[consumer_actor::rtx_slot].store(self->state.rtx_buffer->next_slot_address(),
                                              std::memory_order_relaxed);
}

void publish_far(consumer_actor* self) {
  auto& st = self->state;
  auto put = [self](consumer_actor::far_slot k, const void* p) {
    self->far[k].store(p, std::memory_order_relaxed);
  };
  if (st.sender) {
    const auto& sh = st.sender->shared();
    put(consumer_actor::shared_head, &sh.tcc_seq);
    put(consumer_actor::shared_pacing, &sh.pacing_bps);
    put(consumer_actor::endpoint, sh.endpoint.get());
    put(consumer_actor::endpoint_state, sh.endpoint ? sh.endpoint->state_address() : nullptr);
    if (const auto* p = st.sender->protector()) {
      put(consumer_actor::cipher, p->context_address());
      put(consumer_actor::cipher_streams, p->streams_address());
    }
  }
  publish_rtx_slot(self);
}

bool is_video(const consumer_state& st) {
  return st.kind == rtp::media_kind::video;
}

bool active(const consumer_state& st) {
  return !st.paused && !st.producer_paused;
}

// Asked only once the sender can send: a keyframe asked for earlier would pass while the
// sender has no keys or tuple yet and be lost, and the request that follows would wait out
// the producer's throttle (in a join storm every newcomer would wait its interval).
// A consumer with layers asks for a keyframe of the encoding it switches to, only.
void ask_keyframe(consumer_actor* self) {
  auto& st = self->state;
  if (!is_video(st) || !st.sender->ready())
    return;
  ++st.counters.keyframe_requests;
  if (st.layers && st.layers->selector->target_spatial() >= 0) {
    st.layers->keyframe_asked_for = st.layers->selector->target_spatial();
    self->send(st.producer, keyframe_request_atom::value,
               uint8_t(st.layers->keyframe_asked_for));
  } else if (!st.layers) {
    self->send(st.producer, keyframe_request_atom::value);
  }
}

// (Re)start after a pause or at the first resume: the next packet is a new base for the
// munger (no sequence gap on the wire), and video waits for a keyframe.
void restart(consumer_actor* self) {
  auto& st = self->state;
  st.munger.mark_discontinuity();
  if (st.layers) {
    st.layers->selector->reset();
    st.layers->continuity.mark_switch();
  }
  if (is_video(st)) {
    st.waiting_keyframe = true;
    ask_keyframe(self);
  }
}

// Whether spatial layer s is being received from the producer now (as far as its last
// layer_bitrates tells; everything is, before the first).
bool layer_present(const layer_state& l, int s) {
  const size_t i = size_t(s) * 3;
  return l.bps.empty() || (i < l.bps.size() && l.bps[i] != 0);
}

// The encodings this consumer needs now (layer_demand, simulcast only): the one it forwards
// and the one it switches to (while it forwards nothing yet, every one up to the target: it
// starts on the first keyframe at or below it); and the encodings up to its preference that
// the producer does not send now but that its transport's budget would pay for at what they
// last cost (layer_allocation::wanted_spatial: it would take them if they came back). A
// paused consumer needs none.
uint8_t demand_of(const consumer_state& st) {
  auto& l = *st.layers;
  if (st.paused)
    return 0;
  uint8_t mask = 0;
  const int current = l.selector->current_spatial(), target = l.selector->target_spatial();
  if (current >= 0)
    mask |= uint8_t(1u << current);
  if (target >= 0)
    mask |= uint8_t(1u << target);
  if (current < 0)
    for (int s = 0; s < target; ++s)
      mask |= uint8_t(1u << s);
  const int wanted = std::min<int>({l.preferred_spatial, l.wanted_spatial, l.spatial_layers - 1});
  for (int s = 0; s <= wanted; ++s)
    if (!layer_present(l, s))
      mask |= uint8_t(1u << s);
  return mask;
}

void send_demand(consumer_actor* self) {
  auto& st = self->state;
  if (!st.layers || !st.layers->simulcast)
    return;
  const uint8_t mask = demand_of(st);
  if (mask == st.layers->sent_demand)
    return;
  st.layers->sent_demand = mask;
  self->send(st.producer, layer_demand{caf::actor_cast<caf::actor>(self), mask});
}

// The target: the receiver's preference capped by the allocation, on a layer that is
// being received (the best one present at or below the cap). Asks for a keyframe of a new
// spatial target.
void update_target(consumer_actor* self) {
  auto& st = self->state;
  if (!st.layers)
    return;
  auto& l = *st.layers;
  int spatial = std::min<int>({l.preferred_spatial, l.allocated_spatial, l.spatial_layers - 1});
  while (spatial > 0 && !layer_present(l, spatial))
    --spatial;
  if (l.allocated_spatial < 0)
    spatial = -1;
  int temporal = std::min<int>({l.preferred_temporal, l.allocated_temporal, l.temporal_layers - 1});
  if (spatial >= 0 && !l.bps.empty())
    while (temporal > 0 && size_t(spatial * 3 + temporal) < l.bps.size() &&
           l.bps[size_t(spatial * 3 + temporal)] == 0)
      --temporal;
  l.selector->set_target(int8_t(spatial), int8_t(std::max(temporal, 0)));
  send_demand(self); // before the keyframe request: the producer sends us that encoding
  if (l.selector->wants_keyframe() && l.keyframe_asked_for != spatial && active(st))
    ask_keyframe(self);
}

// consumer-layers-changed to the peer when the forwarded layers changed since the last.
void report_layers(consumer_actor* self) {
  auto& st = self->state;
  auto& l = *st.layers;
  const auto s = l.selector->current_spatial(), t = l.selector->current_temporal();
  if (s == l.reported_spatial && t == l.reported_temporal)
    return;
  l.reported_spatial = s;
  l.reported_temporal = t;
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, protocol::consumer_layers_event{st.id, s, t});
}


// Copies `src` into out.data and rewrites it for this consumer; returns the view. A VP8
// stream switched between encodings gets its picture ids rewritten: by the continuity's
// current offsets for a new packet (`tag` returns them), by the stored ones (`use_tag`) for
// a retransmission.
std::optional<rtp::rtp_packet> append_rewritten(consumer_state& st, rtp_out& out,
                                                const std::vector<uint8_t>& src, uint16_t seq,
                                                uint32_t timestamp, uint32_t* tag = nullptr,
                                                const uint32_t* use_tag = nullptr) {
  const size_t offset = out.data.size();
  // Appended, not resized and then copied over: a resize would zero the bytes first.
  out.data.insert(out.data.end(), src.begin(), src.end());
  out.data.resize(offset + src.size() + trailer_room);
  auto view = rtp::rtp_packet::parse(std::span(out.data.data() + offset, src.size()));
  if (!view) {
    out.data.resize(offset);
    ++st.counters.malformed;
    return std::nullopt;
  }
  view->set_ssrc(st.ssrc);
  view->set_payload_type(st.payload_type);
  view->set_sequence_number(seq);
  view->set_timestamp(timestamp);
  // The remap also finds the elements the sender writes (rtp_out::layout).
  rtp::rtp_packet::extension_values sending;
  view->remap_extension_ids(st.ext_map, st.tcc_ext_id, st.abs_send_time_ext_id, sending);
  if (st.mid_ext_id != 0)
    view->rewrite_extension(st.mid_ext_id,
                            std::span(reinterpret_cast<const uint8_t*>(st.mid.data()), st.mid.size()));
  if (st.layers && st.layers->vp8) {
    const size_t header = size_t(view->payload().data() - view->bytes().data());
    std::span<uint8_t> payload(out.data.data() + offset + header, view->payload().size());
    if (use_tag != nullptr) {
      rtp::vp8_continuity::apply_tag(payload, *use_tag & ~marker_tag);
    } else {
      st.layers->continuity.rewrite(payload);
      if (tag != nullptr)
        *tag = st.layers->continuity.tag();
    }
  }
  if (use_tag != nullptr && (*use_tag & marker_tag) != 0)
    view->set_marker(true);
  if (out.layouts.size() == out.offsets.size()) { // (else the sender parses them all)
    rtp_out::layout l;
    l.header = uint16_t(view->header_size());
    const uint8_t* start = out.data.data() + offset;
    // Well-sized only, as the sender writes them; none that the MID's rewrite could have
    // disabled (an id the MID shares: a mapping no negotiation makes).
    if (sending.a.size() == 2 && st.tcc_ext_id != st.mid_ext_id)
      l.tcc_at = uint16_t(sending.a.data() - start);
    if (sending.b.size() == 3 && st.abs_send_time_ext_id != st.mid_ext_id)
      l.abs_at = uint16_t(sending.b.data() - start);
    out.layouts.push_back(l);
  }
  out.offsets.push_back(uint32_t(offset));
  out.sizes.push_back(uint16_t(src.size()));
  return *view;
}

// Output buffers: a packet is rewritten, protected and sent within one handler, so the
// buffers are per worker thread, not per consumer (a consumer's own would keep the capacity
// of its largest burst, a keyframe, for its whole life).
enum class scratch { media, rtx };
rtp_out& scratch_out(scratch which) {
  thread_local rtp_out media, rtx;
  return which == scratch::media ? media : rtx;
}

// Clears a reused output buffer and reserves room for `packets` packets.
rtp_out& reset_out(const consumer_state& st, rtp_out& out, size_t packets) {
  out.data.clear();
  out.offsets.clear();
  out.sizes.clear();
  out.layouts.clear();
  out.data.reserve(packets * (1200 + trailer_room));
  out.offsets.reserve(packets);
  out.sizes.reserve(packets);
  out.layouts.reserve(packets);
  out.tcc_ext_id = st.tcc_ext_id;
  out.abs_send_time_ext_id = st.abs_send_time_ext_id;
  out.probe_id = -1;
  out.now_us = 0;
  return out;
}

using pace_atom = caf::atom_constant<caf::atom("cpace")>;

// At most this much of the pacing rate waits in a consumer's pacing queue. Beyond, the
// estimate is behind what is being sent (its allocation comes down soon): holding more
// would only add delay, dropping would add loss, so the queue leaves at once.
constexpr int64_t max_paced_us = 1'000'000;

void arm_pace_timer(consumer_actor* self, int64_t wait_us) {
  auto& st = self->state;
  if (st.pace_timer)
    return;
  st.pace_timer = true;
  self->delayed_send(self, std::chrono::microseconds(std::clamp<int64_t>(wait_us, 1000, 100'000)),
                     pace_atom::value);
}

// Sends `out` through the transport's paced link (send_shared::claim_pacing): what may
// leave now leaves now; the rest waits in order in this consumer's queue for its timer.
// Audio is never held (it is small and late audio is lost audio); it only claims its share.
void drain_paced(consumer_actor* self, bool force);

void send_paced(consumer_actor* self, rtp_out& out) {
  auto& st = self->state;
  auto& sh = st.sender->shared();
  if (st.paced.empty() && sh.pacing_bps.load(std::memory_order_relaxed) == 0) {
    st.sender->send_rtp(out);
    return;
  }
  const int64_t now = mono_us_or(out.now_us);
  const size_t n = out.offsets.size();
  if (out.probe_id >= 0) { // a probe goes at the rate it was planned at, past any queue
    for (size_t i = 0; i < n; ++i)
      sh.claim_pacing(out.sizes[i], now, true);
    st.sender->send_rtp(out);
    return;
  }
  size_t k = 0;
  int64_t wait = 0;
  if (st.paced.empty())
    for (; k < n; ++k)
      if ((wait = sh.claim_pacing(out.sizes[k], now, !is_video(st))) > 0)
        break;
  bool flush = false;
  if (k < n) {
    const uint64_t bps = std::max<uint64_t>(sh.pacing_bps.load(std::memory_order_relaxed), 100'000);
    const size_t limit = size_t(bps * uint64_t(max_paced_us) / 8'000'000);
    for (size_t i = k; i < n; ++i) {
      flush = flush || st.paced_bytes + out.sizes[i] > limit;
      auto* p = out.data.data() + out.offsets[i];
      st.paced.push_back({std::vector<uint8_t>(p, p + out.sizes[i]), out.probe_id});
      st.paced_bytes += out.sizes[i];
      ++st.counters.paced_held;
    }
    out.data.resize(k < n ? out.offsets[k] : out.data.size());
    out.offsets.resize(k);
    out.sizes.resize(k);
    out.layouts.resize(std::min(out.layouts.size(), k));
  }
  if (k > 0)
    st.sender->send_rtp(out);
  if (flush) {
    ++st.counters.paced_flushed;
    drain_paced(self, true);
  } else if (!st.paced.empty()) {
    arm_pace_timer(self, wait);
  }
}

// The pacing timer: what the paced link takes now, in order (one batch per probe id);
// `force`: all of it.
void drain_paced(consumer_actor* self, bool force) {
  auto& st = self->state;
  auto& sh = st.sender->shared();
  auto& out = reset_out(st, scratch_out(scratch::media), std::min<size_t>(st.paced.size(), 64));
  const int64_t now = mono_us();
  int64_t wait = 0;
  while (!st.paced.empty()) {
    auto& p = st.paced.front();
    if (!out.offsets.empty() && (p.probe_id != out.probe_id || out.offsets.size() >= 64)) {
      st.sender->send_rtp(out);
      reset_out(st, out, 64);
    }
    if ((wait = sh.claim_pacing(p.bytes.size(), now, force)) > 0)
      break;
    out.probe_id = p.probe_id;
    out.offsets.push_back(uint32_t(out.data.size()));
    out.sizes.push_back(uint16_t(p.bytes.size()));
    out.data.insert(out.data.end(), p.bytes.begin(), p.bytes.end());
    out.data.resize(out.data.size() + trailer_room);
    st.paced_bytes -= p.bytes.size();
    st.paced.pop_front();
  }
  if (!out.offsets.empty())
    st.sender->send_rtp(out);
  if (!st.paced.empty())
    arm_pace_timer(self, wait);
}


// What a consumer sends waits in its thread's send outbox until that thread flushes it. A
// consumer whose producer hands batches to its I/O thread (by_thread) may take its next
// batch there, through its lane, and that thread's outbox can leave first: its packets
// would overtake these. So such a consumer's turn of its own (a worker's), once it took a
// batch through a lane or its home is known, sends what that worker's outbox holds at once.
void flush_after_turn(consumer_actor* self) {
  const auto& st = self->state;
  if (st.by_thread && (st.lane_seen || self->home.load(std::memory_order_relaxed) >= 0))
    net::send_outbox::flush_current();
}

// `now_us`: the monotonic time, read by the caller (once for a fan-out through the lanes).
void handle_media(consumer_actor* self, const media_packets& in, int64_t now_us) {
  auto& st = self->state;
  publish_home(self);
  if (!active(st)) {
    st.counters.skipped_paused += in.packets.size();
    return;
  }
  const int64_t now = now_us / 1000;
  auto& out = reset_out(st, scratch_out(scratch::media), in.packets.size());
  out.now_us = now_us;
  bool layers_changed = false;
  for (auto& p : in.packets) {
    auto& src = *p.packet;
    if (src.size() < rtp::rtp_fixed_header_size || src.size() > 0xFFFF) {
      ++st.counters.malformed;
      continue;
    }
    if ((src[1] & 0x7F) != st.payload_type) {
      ++st.counters.dropped_payload_type;
      continue;
    }
    const uint16_t seq = uint16_t((src[2] << 8) | src[3]);
    const uint32_t ts = (uint32_t(src[4]) << 24) | (uint32_t(src[5]) << 16) |
                        (uint32_t(src[6]) << 8) | src[7];
    if (st.layers) {
      if (!st.sender->ready()) { // a keyframe the sender cannot send yet is no start
        ++st.counters.skipped_wait_keyframe;
        continue;
      }
      auto& l = *st.layers;
      auto d = l.selector->on_packet({p.spatial, p.temporal, p.keyframe, p.sync, p.frame_start});
      if (d.verdict == rtp::layer_verdict::other) {
        ++st.counters.other_layers;
        continue;
      }
      if (d.switched_stream) {
        ++st.counters.layer_switches;
        st.munger.mark_discontinuity();
        l.continuity.mark_switch();
        if (size_t(p.spatial) < st.clocks.size())
          st.clock = st.clocks[p.spatial];
        l.keyframe_asked_for = -1;
      }
      layers_changed = layers_changed || d.layers_changed;
      if (d.layers_changed && !l.selector->wants_keyframe())
        l.keyframe_asked_for = -1; // reached: a later target asks again at once
      if (d.verdict == rtp::layer_verdict::drop) {
        if (st.munger.started() && !st.waiting_keyframe)
          st.munger.drop(seq, ts, now);
        ++st.counters.dropped_layers;
        continue;
      }
      st.waiting_keyframe = false;
    } else if (st.waiting_keyframe && is_video(st)) {
      if (!p.keyframe || !st.sender->ready()) { // (a keyframe the sender cannot send yet)
        ++st.counters.skipped_wait_keyframe;
        continue;
      }
      st.waiting_keyframe = false;
    }
    auto d = st.munger.process(seq, ts, now);
    if (!d.forward()) {
      ++st.counters.dropped_old;
      continue;
    }
    uint32_t tag = 0;
    auto view = append_rewritten(st, out, src, d.seq, d.timestamp, &tag);
    if (!view)
      continue;
    if (st.layers && p.end_of_layer && !st.layers->simulcast &&
        p.spatial == uint8_t(st.layers->selector->current_spatial())) {
      view->set_marker(true); // SVC: the top forwarded layer ends the picture
      tag |= marker_tag;      // ... and so does its retransmission
    }
    if (st.rtx_buffer)
      st.rtx_buffer->insert(d.seq, d.timestamp, p.packet, now, tag);
    st.stream->on_packet_sent(d.timestamp, view->payload().size(), view->size(), now);
  }
  if (!out.offsets.empty())
    send_paced(self, out);
  if (layers_changed) {
    report_layers(self);
    send_demand(self); // the encoding switched from is no longer needed
  }
  publish_rtx_slot(self);
}

// What the transport's allocation needs to know of this consumer (see alloc_info).
void send_alloc_info(consumer_actor* self) {
  auto& st = self->state;
  alloc_info info;
  info.consumer = caf::actor_cast<caf::actor>(self);
  info.demand.active = active(st);
  info.demand.priority = st.priority;
  info.demand.can_probe = is_video(st) && st.rtx;
  if (st.layers) {
    info.demand.layered = true;
    info.demand.max_spatial = st.layers->preferred_spatial;
    info.demand.max_temporal = st.layers->preferred_temporal;
    info.demand.bps = st.layers->bps;
    info.demand.keyframe_bytes = st.layers->keyframe_bytes;
    info.demand.peak_bps = st.layers->peak_bps;
    info.demand.known_bps = st.layers->known_bps;
  } else {
    info.demand.bps.push_back(uint32_t(st.stream->stats(mono_ms()).bitrate_bps));
  }
  self->send(st.transport, std::move(info));
  send_demand(self); // paused or resumed
}

// RFC 4588: `r` (a stored packet, rewritten for this consumer into `out`) again on the RTX
// SSRC with its own sequence number, appended to `wrapped`. False when it does not fit.
bool append_rtx(consumer_state& st, rtp_out& out, rtp_out& wrapped, const rtp::stored_packet& r) {
  auto view = append_rewritten(st, out, *r.packet, r.seq, r.timestamp, nullptr, &r.tag);
  if (!view)
    return false;
  const size_t offset = wrapped.data.size();
  const size_t need = rtp::rtx_size(*view);
  wrapped.data.resize(offset + need + trailer_room);
  auto n = rtp::write_rtx(*view, {st.rtx_payload_type, st.rtx_ssrc, st.rtx_seq},
                          std::span(wrapped.data.data() + offset, need));
  if (!n) {
    wrapped.data.resize(offset);
    return false;
  }
  ++st.rtx_seq;
  wrapped.offsets.push_back(uint32_t(offset));
  wrapped.sizes.push_back(uint16_t(*n));
  return true;
}

// A probe cluster: the newest stored packets resent over RTX (the receiver discards the
// duplicates; its feedback reports their arrival), chunk by chunk (see probe_padding),
// marked with the probe's id in the transport's send log.
void send_probe(consumer_actor* self, const probe_padding& p) {
  auto& st = self->state;
  if (!st.rtx || !st.rtx_buffer || !st.sender->ready() || st.tcc_ext_id == 0 || p.chunks == 0)
    return;
  st.rtx_buffer->recent(std::max<uint32_t>(1, p.bytes), mono_ms(), st.resend);
  if (st.resend.empty())
    return;
  auto& out = reset_out(st, scratch_out(scratch::media), st.resend.size());
  auto& wrapped = reset_out(st, scratch_out(scratch::rtx), st.resend.size());
  wrapped.probe_id = p.probe_id;
  uint32_t sent = 0;
  for (size_t i = 0; (sent < p.bytes || i == 0) && i < 64; ++i) { // cycles if they are few
    const auto& r = st.resend[i % st.resend.size()];
    if (append_rtx(st, out, wrapped, r))
      sent += uint32_t(r.packet->size());
  }
  if (!wrapped.offsets.empty())
    send_paced(self, wrapped);
  wrapped.probe_id = -1;
  if (p.chunks > 1)
    self->delayed_send(self, std::chrono::milliseconds(std::max<int>(1, p.interval_ms)),
                       probe_padding{p.bytes, p.interval_ms, p.probe_id, uint8_t(p.chunks - 1)});
}

// consumer-score to the peer when the stream's score (from the receiver's reports) or its
// producer's (known for producers with layers: the forwarded encoding's) changed.
void report_score(consumer_actor* self, int64_t now) {
  auto& st = self->state;
  protocol::consumer_score_event ev;
  ev.consumer_id = st.id;
  ev.score = st.stream->stats(now).score;
  if (st.layers && !st.layers->producer_scores.empty()) {
    ev.producer_scores = st.layers->producer_scores;
    const int current = st.layers->simulcast ? st.layers->selector->current_spatial() : 0;
    ev.producer_score = current >= 0 && size_t(current) < ev.producer_scores.size()
                          ? ev.producer_scores[size_t(current)]
                          : 0;
  }
  if (ev.score == st.reported_score && ev.producer_score == st.reported_producer_score)
    return;
  st.reported_score = ev.score;
  st.reported_producer_score = ev.producer_score;
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, std::move(ev));
}

void handle_nack(consumer_actor* self, const nack_in& nack) {
  auto& st = self->state;
  st.stream->on_nack(nack.seqs.size());
  if (!st.rtx_buffer)
    return;
  const auto now = mono_ms();
  auto rtt_ms = st.stream->round_trip_us().value_or(0) / 1000;
  st.rtx_buffer->on_nack(nack.seqs, now, rtt_ms, st.resend);
  if (st.resend.empty())
    return;
  auto& out = reset_out(st, scratch_out(scratch::media), st.resend.size());
  auto& wrapped = reset_out(st, scratch_out(scratch::rtx), st.rtx ? st.resend.size() : 0);
  const int64_t now_us = mono_us();
  for (auto& r : st.resend) {
    if (!st.rtx_budget.admit(r.packet->size(), now_us)) {
      ++st.counters.rtx_over_budget;
      continue;
    }
    if (!st.rtx) {
      if (auto view = append_rewritten(st, out, *r.packet, r.seq, r.timestamp, nullptr, &r.tag))
        st.stream->on_retransmitted(view->size(), now);
      continue;
    }
    if (append_rtx(st, out, wrapped, r))
      st.stream->on_retransmitted(wrapped.sizes.back(), now);
  }
  if (st.rtx) {
    if (!wrapped.offsets.empty())
      send_paced(self, wrapped);
  } else if (!out.offsets.empty()) {
    send_paced(self, out);
  }
}

void handle_report_block(consumer_actor* self, const report_block_in& rb) {
  self->state.stream->on_report_block(rb.block, mono_us());
}

rtp::sender_clock as_sender_clock(const source_clock& c) {
  rtp::sender_clock s;
  s.ntp = c.ntp;
  s.rtp = c.rtp_timestamp;
  s.received_ms = c.received_ms;
  s.valid = c.valid;
  return s;
}

// NTP "now" on the timeline our SRs use: the producer's sender clock when known (so that
// the audio and video of one sender stay in sync at the receiver), the wall clock before.
uint64_t ntp_now(const consumer_state& st, int64_t now_ms) {
  if (st.clock.valid)
    return rtp::project_sender_clock(as_sender_clock(st.clock), now_ms, st.clock_rate).ntp;
  return rtp::ntp_from_ms(wall_ms(), rtp::ntp_unix_offset_ms);
}

void send_sender_report(consumer_actor* self) {
  auto& st = self->state;
  if (!st.stream->sent_anything() || !st.munger.started())
    return;
  const auto now = mono_ms();
  uint64_t ntp = 0;
  uint32_t rtp_now = 0;
  if (st.clock.valid) {
    // The sender's reading now, its RTP timestamp mapped into our output space.
    auto reading = rtp::project_sender_clock(as_sender_clock(st.clock), now, st.clock_rate);
    ntp = reading.ntp;
    rtp_now = st.munger.output_timestamp(reading.rtp_timestamp);
  } else if (auto ts = st.stream->last_sent_extrapolated(now)) {
    ntp = ntp_now(st, now);
    rtp_now = *ts;
  } else {
    return;
  }
  auto sr = st.stream->make_sender_report(ntp, rtp_now, mono_us());
  auto sdes = rtp::source_description::with_cname(st.ssrc, st.cname);
  std::vector<uint8_t> bytes(sr.size() + sdes.size());
  auto n1 = sr.write(bytes);
  if (!n1)
    return;
  auto n2 = sdes.write(std::span(bytes).subspan(*n1));
  if (!n2)
    return;
  bytes.resize(*n1 + *n2);
  // Protected and sent by the transport (once a second; consumers keep no RTCP context).
  self->send(st.transport, rtcp_out{std::move(bytes)});
}

std::string stats_json(consumer_actor* self) {
  auto& st = self->state;
  const auto now = mono_ms();
  auto s = st.stream->stats(now);
  auto& c = st.counters;
  std::ostringstream os;
  os << "[{\"type\":\"outbound-rtp\",\"consumerId\":\"" << st.id << "\",\"producerId\":\""
     << st.producer_id << "\",\"timestamp\":" << wall_ms() << ",\"ssrc\":" << st.ssrc;
  if (st.rtx)
    os << ",\"rtxSsrc\":" << st.rtx_ssrc;
  os << ",\"kind\":\"" << rtp::to_string(st.kind) << "\",\"mimeType\":\"" << st.mime_type
     << "\",\"paused\":" << (st.paused ? "true" : "false")
     << ",\"producerPaused\":" << (st.producer_paused ? "true" : "false")
     << ",\"packetCount\":" << s.packets << ",\"byteCount\":" << s.bytes
     << ",\"bitrate\":" << s.bitrate_bps << ",\"packetsLost\":" << s.lost
     << ",\"fractionLost\":" << unsigned(s.fraction_lost) << ",\"jitter\":" << s.jitter
     << ",\"nackCount\":" << s.nacks_received << ",\"nackPacketCount\":" << s.nacked_packets
     << ",\"packetsRetransmitted\":" << s.retransmitted
     << ",\"bytesRetransmitted\":" << s.retransmitted_bytes << ",\"pliCount\":" << s.plis_received
     << ",\"firCount\":" << s.firs_received << ",\"score\":" << unsigned(s.score);
  if (s.rtt_us)
    os << ",\"roundTripTime\":" << double(*s.rtt_us) / 1000.0;
  if (st.rtx_buffer) {
    auto& r = st.rtx_buffer->counters();
    os << ",\"retransmissionBuffer\":{\"capacity\":" << st.rtx_buffer->capacity()
       << ",\"stored\":" << st.rtx_buffer->stored() << ",\"missing\":" << r.missing
       << ",\"rateLimited\":" << r.rate_limited << ",\"overBudget\":" << c.rtx_over_budget
       << "}";
  }
  os << ",\"paced\":{\"held\":" << c.paced_held << ",\"flushed\":" << c.paced_flushed
     << ",\"queued\":" << st.paced.size() << "}";
  os << ",\"skipped\":{\"paused\":" << c.skipped_paused
     << ",\"waitingKeyframe\":" << c.skipped_wait_keyframe << "},\"dropped\":{\"payloadType\":"
     << c.dropped_payload_type << ",\"old\":" << c.dropped_old << ",\"malformed\":" << c.malformed
     << "},\"keyframeRequests\":" << c.keyframe_requests << ",\"priority\":" << unsigned(st.priority);
  if (st.layers) {
    auto& l = *st.layers;
    auto layers = [&](const char* name, int s, int t) {
      os << ",\"" << name << "\":";
      if (s < 0)
        os << "null";
      else
        os << "{\"spatialLayer\":" << s << ",\"temporalLayer\":" << t << "}";
    };
    os << ",\"consumerType\":\"" << (l.simulcast ? "simulcast" : "svc") << "\"";
    layers("preferredLayers", l.preferred_spatial, l.preferred_temporal);
    layers("targetLayers", l.selector->target_spatial(), l.selector->target_temporal());
    layers("currentLayers", l.selector->current_spatial(), l.selector->current_temporal());
    if (l.allocated_spatial != 127)
      layers("allocatedLayers", l.allocated_spatial, l.allocated_temporal);
    os << ",\"layerSwitches\":" << c.layer_switches << ",\"otherLayers\":" << c.other_layers
       << ",\"droppedLayers\":" << c.dropped_layers;
  }
  os << "}]";
  return os.str();
}

void init(consumer_state& st, const rtp::rtp_parameters& p) {
  if (!p.codecs.empty()) {
    st.payload_type = p.codecs[0].payload_type;
    st.mime_type = p.codecs[0].mime_type;
    st.clock_rate = p.codecs[0].clock_rate;
  }
  for (size_t i = 1; i < p.codecs.size(); ++i) {
    if (text::iends_with(p.codecs[i].mime_type, "/rtx")) {
      st.rtx_payload_type = p.codecs[i].payload_type;
      st.rtx = true;
    }
  }
  if (!p.encodings.empty()) {
    st.ssrc = p.encodings[0].ssrc;
    st.rtx_ssrc = p.encodings[0].rtx_ssrc;
  }
  if (st.rtx_ssrc == 0)
    st.rtx = false;
  // Consumer parameters carry router ids: keep those, disable every other element.
  for (auto& e : p.header_extensions) {
    st.ext_map.set(e.id, e.id);
    if (e.uri == twcc_uri)
      st.tcc_ext_id = e.id;
    else if (e.uri == abs_send_time_uri)
      st.abs_send_time_ext_id = e.id;
    else if (e.uri == mid_uri)
      st.mid_ext_id = e.id;
  }
  st.mid = p.mid;
  st.cname = p.rtcp.cname.empty() ? "chorus" : p.rtcp.cname;
  st.munger = rtp::seq_munger({st.clock_rate, 1000});
  st.waiting_keyframe = st.kind == rtp::media_kind::video;
}

void init_layers(consumer_state& st, const consumer_spawn_args& args) {
  if (st.kind != rtp::media_kind::video || (args.spatial_layers <= 1 && args.temporal_layers <= 1))
    return;
  auto& l = st.layers.emplace();
  l.simulcast = args.simulcast;
  l.spatial_layers = std::clamp<uint8_t>(args.spatial_layers, 1, 4);
  l.temporal_layers = std::clamp<uint8_t>(args.temporal_layers, 1, 3);
  l.preferred_spatial = int8_t(l.spatial_layers - 1);
  l.preferred_temporal = int8_t(l.temporal_layers - 1);
  l.selector.emplace(l.simulcast); // one stream (SVC, temporal layers only): never "other"
  l.vp8 = text::iequals(st.mime_type, "video/VP8");
  l.selector->set_target(l.preferred_spatial, l.preferred_temporal);
}

caf::behavior consumer_impl(consumer_actor* self, consumer_spawn_args args, caf::actor producer,
                            caf::actor transport, std::shared_ptr<send_shared> send,
                            caf::actor_addr peer, node_context_ptr ctx) {
  auto& st = self->state;
  st.id = std::move(args.id);
  st.producer_id = std::move(args.producer_id);
  st.kind = args.kind;
  if (st.kind == rtp::media_kind::audio)
    mark_urgent(self); // audio first (actors/scheduler.hpp)
  st.producer = std::move(producer);
  st.transport = std::move(transport);
  st.sender.emplace(std::move(send), rtp_sender::use::rtp);
  st.peer = std::move(peer);
  st.ctx = std::move(ctx);
  st.ctx->counters->consumers.fetch_add(1);
  st.by_thread = st.ctx->media.thread_fanout && st.ctx->media_io && st.ctx->media_io->threads() > 1;
  init(st, args.parameters);
  init_layers(st, args);
  st.stream.emplace(st.ssrc, st.clock_rate);
  // Audio retransmissions are of little use (late audio is concealed): keep a small ring.
  bool nack = false;
  if (!args.parameters.codecs.empty())
    for (auto& fb : args.parameters.codecs[0].rtcp_feedback)
      if (fb.type == "nack" && fb.parameter.empty())
        nack = true;
  if (nack)
    // 512 video slots hold the last second up to ~5 Mbit/s of 1200-byte packets (older
    // packets are not resent anyway: max age 1 s).
    st.rtx_buffer.emplace(rtp::retransmission_config{is_video(st) ? size_t(512) : size_t(64),
                                                     1000, 10});
  if (nack && !st.rtx) // repairs go out as the originals did (rtp_sender::remember_headers)
    st.sender->remember_headers(is_video(st) ? 512 : 64);
  publish_far(self);
  // The producer going away (closed, or its peer left) ends this consumer.
  monitor_for_life(self, st.producer);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (dm.source != st.producer.address())
      return;
    if (auto peer = caf::actor_cast<caf::actor>(st.peer))
      self->send(peer, protocol::consumer_closed_event{st.id, st.producer_id});
    self->quit();
  });
  self->send(st.transport, consumer_route{caf::actor_cast<caf::actor>(self), st.ssrc,
                                          st.rtx ? st.rtx_ssrc : 0});
  self->request(st.producer, std::chrono::seconds(10), attach_consumer{caf::actor_cast<caf::actor>(self)})
    .then([self](attach_reply& r) {
      auto& st = self->state;
      st.producer_paused = r.paused;
      for (auto& c : r.clocks)
        if (c.spatial < st.clocks.size())
          st.clocks[c.spatial] = c;
      if (!st.layers)
        st.clock = st.clocks[0];
    }, [](caf::error&) { /* the producer is gone: the down message ends us */ });
  if (!args.paused) { // created running: start at once (keyframe requested)
    st.paused = false;
    restart(self);
  }
  tick_every(self, self->state.ctx->ticker, report_tick_atom::value, report_interval, false);
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](const media_packets& in) {
      handle_media(self, in, mono_us());
      flush_after_turn(self);
    },
    [self](const source_clock& c) {
      auto& st = self->state;
      if (c.spatial < st.clocks.size())
        st.clocks[c.spatial] = c;
      // The SRs follow the forwarded encoding's clock (SVC and simple: the only one).
      const int current = st.layers && st.layers->simulcast
                            ? st.layers->selector->current_spatial() : 0;
      if (int(c.spatial) == current || (!st.layers && c.spatial == 0))
        st.clock = c;
    },
    [self](layer_bitrates& b) {
      auto& st = self->state;
      if (!st.layers)
        return;
      st.layers->bps = std::move(b.bps);
      st.layers->keyframe_bytes = std::move(b.keyframe_bytes);
      st.layers->peak_bps = std::move(b.peak_bps);
      auto& known = st.layers->known_bps;
      known.resize(st.layers->bps.size(), 0);
      for (size_t i = 0; i < known.size(); ++i)
        if (st.layers->bps[i] != 0)
          known[i] = st.layers->bps[i];
      st.layers->producer_scores = std::move(b.scores);
      update_target(self);
      send_alloc_info(self);
    },
    [self](const probe_padding& p) { send_probe(self, p); },
    [self](pace_atom) {
      self->state.pace_timer = false;
      drain_paced(self, false);
      flush_after_turn(self);
    },
    [self](const layer_allocation& a) {
      auto& st = self->state;
      if (!st.layers)
        return;
      st.layers->allocated_spatial = a.spatial;
      st.layers->allocated_temporal = a.temporal;
      st.layers->wanted_spatial = a.wanted_spatial;
      update_target(self); // and the demand that follows from it
    },
    [self](producer_state& ps) {
      auto& st = self->state;
      if (st.producer_paused == ps.paused)
        return;
      st.producer_paused = ps.paused;
      if (!ps.paused && !st.paused)
        restart(self);
      if (auto peer = caf::actor_cast<caf::actor>(st.peer))
        self->send(peer, protocol::producer_paused_event{st.producer_id, ps.paused});
    },
    [self](nack_in& n) { handle_nack(self, n); },
    // Keys and tuple from the transport. What was forwarded before this sender was ready
    // never left: start over from a keyframe (asked for now, see ask_keyframe).
    [self](const sending_state& s) {
      const bool now_ready = self->state.sender->apply(s);
      publish_far(self); // the keys or the tuple may be new
      if (now_ready && active(self->state))
        restart(self);
    },
    [self](keyframe_feedback& k) {
      auto& st = self->state;
      if (k.fir)
        st.stream->on_fir();
      else
        st.stream->on_pli();
      if (!active(st))
        return;
      if (st.layers) { // the encoding it receives (or waits for), not all of them
        const int s = st.layers->selector->current_spatial() >= 0
                        ? st.layers->selector->current_spatial()
                        : st.layers->selector->target_spatial();
        if (s >= 0)
          self->send(st.producer, keyframe_request_atom::value, uint8_t(s));
      } else {
        self->send(st.producer, keyframe_request_atom::value);
      }
    },
    [self](report_block_in& rb) { handle_report_block(self, rb); },
    [self](report_tick_atom) {
      auto& st = self->state;
      st.publish_totals(mono_ms());
      {
        const auto now = mono_ms();
        const uint64_t media = st.stream->stats(now).bytes;
        if (st.budget_ms != 0 && now > st.budget_ms) {
          const uint64_t bps = (media - st.budget_media_bytes) * 8000 / uint64_t(now - st.budget_ms);
          st.rtx_budget.set_rate(std::max<uint64_t>(rtx_budget_min_bps, bps / 4), mono_us());
        }
        st.budget_media_bytes = media;
        st.budget_ms = now;
      }
      if (!st.layers)
        send_alloc_info(self); // its bitrate, a fixed cost in the transport's allocation
      if (st.stream->sent_anything())
        report_score(self, mono_ms());
      if (active(st)) {
        send_sender_report(self);
        // The requested keyframe may have been lost (or, for a layer switch, not sent).
        if ((st.waiting_keyframe && is_video(st)) || (st.layers && st.layers->selector->wants_keyframe()))
          ask_keyframe(self);
      }
      tick_every(self, st.ctx->ticker, report_tick_atom::value, report_interval, true);
    },
    [self](protocol::consumer_request& r) -> caf::result<caf::message> {
      auto& st = self->state;
      switch (r.op) {
        case protocol::consumer_op::pause:
          st.paused = true;
          send_alloc_info(self);
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::resume:
          if (st.paused) {
            st.paused = false;
            if (!st.producer_paused)
              restart(self);
            send_alloc_info(self);
          }
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::get_stats:
          return caf::make_message(protocol::stats_reply{stats_json(self)});
        case protocol::consumer_op::set_preferred_layers:
          // Without layers there is nothing to choose (mediasoup ignores it too).
          if (st.layers) {
            auto& l = *st.layers;
            l.preferred_spatial = int8_t(std::clamp(r.spatial_layer, 0, l.spatial_layers - 1));
            l.preferred_temporal = r.temporal_layer < 0
                                     ? int8_t(l.temporal_layers - 1)
                                     : int8_t(std::clamp(r.temporal_layer, 0, l.temporal_layers - 1));
            update_target(self);
            send_alloc_info(self);
          }
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::set_priority:
          st.priority = uint8_t(std::clamp(r.priority, 1, 255));
          send_alloc_info(self);
          return caf::make_message(protocol::empty_reply{});
        case protocol::consumer_op::request_keyframe:
          if (active(st))
            ask_keyframe(self);
          return caf::make_message(protocol::empty_reply{});
      }
      return make_error(protocol::error_code::internal, "unknown consumer operation");
    },
  };
}

} // namespace

caf::abstract_actor* consumer_lane(const caf::actor& consumer) {
  return lane_of<consumer_actor>(consumer);
}

namespace {
constexpr size_t cache_line = 64;

// The lines of [p, p + bytes), at most max_lines of them.
void prefetch_lines(const void* p, size_t bytes, size_t max_lines) noexcept {
  if (!p)
    return;
  const auto first = reinterpret_cast<uintptr_t>(p) & ~uintptr_t(cache_line - 1);
  const auto end = reinterpret_cast<uintptr_t>(p) + bytes;
  for (uintptr_t a = first; a < end && max_lines > 0; a += cache_line, --max_lines)
    __builtin_prefetch(reinterpret_cast<const void*>(a), 1, 3);
}

template <class T>
void prefetch_member(const T& m, size_t max_lines = 1) noexcept {
  prefetch_lines(&m, sizeof(T), max_lines);
}
} // namespace

void prefetch_consumer_lane(caf::abstract_actor* lane, lane_prefetch depth) noexcept {
  auto* self = static_cast<consumer_actor*>(lane);
  if (depth == lane_prefetch::near) {
    // The actor itself: its lock, mailbox and the state a batch reads and writes (at fixed
    // offsets from the pointer the producer holds: nothing is loaded to find them).
    prefetch_member(self->lane_mutex);
    prefetch_member(self->far, 2);
    __builtin_prefetch(&self->mailbox(), 0, 3);
    const auto& st = self->state;
    prefetch_member(st.kind);
    prefetch_member(st.ssrc, 2);
    prefetch_member(st.ext_map, 2);
    prefetch_member(st.paused);
    prefetch_member(st.munger, 2);
    prefetch_member(st.rtx_buffer, 3);
    prefetch_member(st.stream, 4);
    prefetch_member(st.sender, 4);
    prefetch_member(st.paced, 2);
    prefetch_member(st.layers, 1);
    prefetch_member(st.counters, 3);
    return;
  }
  // What the actor points to (far: read from the lines the near pass warmed).
  // The cipher's keys: aes_gcm's schedule and hash powers (rtp::aes_gcm::state_bytes, all
  // read for a packet of a thousand bytes), or the head of OpenSSL's context.
  for (size_t k = 0; k < consumer_actor::far_count; ++k) {
    const void* p = self->far[k].load(std::memory_order_relaxed);
    if (k == consumer_actor::cipher)
      prefetch_lines(p, rtp::aes_gcm::state_bytes, 8);
    else
      prefetch_lines(p, k == consumer_actor::rtx_slot ? 2 * cache_line : 1, 2);
  }
}

void prefetch_lanes_ahead(std::span<caf::abstract_actor* const> lanes, std::size_t i) noexcept {
  auto warm = [&](std::size_t k, lane_prefetch depth) {
    if (k < lanes.size() && lanes[k])
      prefetch_consumer_lane(lanes[k], depth);
  };
  if (i == 0) {
    warm(0, lane_prefetch::near);
    warm(1, lane_prefetch::near);
    warm(0, lane_prefetch::far);
  }
  warm(i + 2, lane_prefetch::near);
  warm(i + 1, lane_prefetch::far);
}

int64_t fanout_clock::before(std::size_t i) {
  if (i != 0 && (every_ || i % refresh_consumers == 0))
    now_us_ = mono_us();
  return now_us_;
}

int consumer_home_thread(caf::abstract_actor* lane) noexcept {
  return lane ? static_cast<consumer_actor*>(lane)->home.load(std::memory_order_relaxed) : -1;
}

bool enter_consumer_lane(caf::abstract_actor* lane, const media_packets& in,
                         caf::execution_unit* eu, int64_t now_us) {
  auto* self = static_cast<consumer_actor*>(lane);
  // Only an idle consumer (actors/lane.hpp) that does not select layers (that path sends
  // messages from the consumer's own turn).
  lane_entry<consumer_actor> entry{self, eu};
  if (!entry || self->state.layers)
    return false;
  self->state.lane_seen = true;
  handle_media(self, in, now_us);
  return true;
}

namespace {
// Runs `handler(self, in)` through an idle consumer's lane; false, doing nothing, otherwise.
template <class Message>
bool feedback_through_lane(caf::abstract_actor* lane, const Message& in, caf::execution_unit* eu,
                           void (*handler)(consumer_actor*, const Message&)) {
  auto* self = static_cast<consumer_actor*>(lane);
  lane_entry<consumer_actor> entry{self, eu};
  if (!entry)
    return false;
  handler(self, in);
  return true;
}
} // namespace

bool enter_consumer_lane(caf::abstract_actor* lane, const report_block_in& in,
                         caf::execution_unit* eu) {
  return feedback_through_lane(lane, in, eu, &handle_report_block);
}

bool enter_consumer_lane(caf::abstract_actor* lane, const nack_in& in, caf::execution_unit* eu) {
  return feedback_through_lane(lane, in, eu, &handle_nack);
}

caf::actor spawn_consumer(caf::event_based_actor* peer, consumer_spawn_args args,
                          caf::actor producer, caf::actor transport,
                          std::shared_ptr<send_shared> send, node_context_ptr ctx) {
  return peer->spawn<caf::linked>(consumer_impl, std::move(args), std::move(producer),
                                  std::move(transport), std::move(send), peer->address(),
                                  std::move(ctx));
}

} // namespace chorus::actors
