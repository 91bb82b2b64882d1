// The consumer actor's state, and its handlers by concept, each in its own file:
//   consumer.cpp          the behaviour (consumer_impl: what each message does), its setup,
//                         and what it asks of its producer and transport (keyframes, layers)
//   consumer_media.cpp    the media path: rewriting, pacing, retransmissions and probes, and
//                         the lane its producer and transport enter directly
//   consumer_reports.cpp  what it tells its peer and receiver: layers, score, sender
//                         reports, stats
// What it forwards and as what is decided by its kind's stream logic, rtp/consumer_stream.
#pragma once

#include "actors/clock.hpp"
#include "actors/consumer.hpp"
#include "actors/fault.hpp"
#include "actors/lane.hpp"
#include "actors/media_tuning.hpp"
#include "actors/media_messages.hpp"
#include "actors/monitor.hpp"
#include "actors/rtp_sender.hpp"
#include "actors/scheduler.hpp"
#include "actors/ticker.hpp"
#include "rtp/audio_red.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "net/media_io.hpp"
#include "net/send_outbox.hpp"
#include "rtp/aes_gcm.hpp"
#include "rtp/consumer_stream.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/frame_number_continuity.hpp"
#include "rtp/playout_delay.hpp"
#include "rtp/rate_cap.hpp"
#include "rtp/retransmission_buffer.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtp_stream.hpp"
#include "rtp/srtp_session.hpp"

#include <caf/all.hpp>

#include <array>
#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace chorus::actors::consumers {

// In a retransmission-ring tag: the packet was sent with the marker set (the top forwarded
// SVC layer); the low bits are the VP8 picture id rewrite (vp8_continuity::tag).
inline constexpr uint32_t marker_tag = 0x80000000u;
inline constexpr size_t trailer_room = rtp::srtp_session::max_trailer;
inline constexpr const char* twcc_uri =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
inline constexpr const char* mid_uri = "urn:ietf:params:rtp-hdrext:sdes:mid";
inline constexpr const char* abs_send_time_uri =
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
  uint64_t rtx_copies = 0;      // second copies of repairs to a lossy receiver (repair_copies)
  uint64_t paced_held = 0;      // packets that waited for the paced link (send_shared)
  uint64_t paced_flushed = 0;   // times the pacing queue was sent at once (over its bound)
  uint64_t red_converted = 0;   // packets sent in the other audio form (RED or plain Opus)
  uint64_t red_bad = 0;         // RED that could not be unwrapped (dropped)
  uint64_t playout_delay_hints = 0; // frames that carried the playout delay (playout_delay)
  uint64_t playout_delay_changes = 0;
};

// What the producer reports of its layers beside their rates (layer_bitrates), and what
// this consumer last told (the layered kinds).
struct layer_reports {
  std::vector<uint32_t> keyframe_bytes; // per spatial layer
  std::vector<uint32_t> peak_bps;
  std::vector<uint8_t> producer_scores; // per encoding
  int8_t reported_spatial = -2, reported_temporal = -2; // last consumer-layers-changed
  uint8_t sent_demand = 0xff;                            // the last layer_demand (simulcast)
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
  uint8_t payload_type = 0;        // on the wire, in the receiver's numbers
  uint8_t rtx_payload_type = 0;
  uint8_t router_payload_type = 0; // what the producer's packets carry
  bool rtx = false;
  std::unique_ptr<rtp::red_converter> red; // an Opus stream on a router with RED
  uint32_t clock_rate = 90000;
  std::string cname;
  rtp::extension_id_map ext_map; // router id -> consumer id (0: disabled)
  // The ids of the elements the consumer writes or reads after the remap (the receiver's).
  uint8_t tcc_ext_id = 0;
  uint8_t abs_send_time_ext_id = 0;
  uint8_t mid_ext_id = 0;
  uint8_t dd_ext_id = 0;
  uint8_t playout_delay_ext_id = 0;
  // A simulcast stream with the Dependency Descriptor: its frame numbers go on across
  // switches (the offset is kept in the retransmission tag, as VP8's picture ids are).
  std::optional<rtp::frame_number_continuity> dd_numbers;
  std::string mid; // ours: the receiver demultiplexes by it, so never forward the producer's
  // What a lossy receiver's video is told to hold frames for (rtp/playout_delay.hpp), and
  // the output timestamp of the last frame it was written on (once per frame).
  std::optional<rtp::playout_delay_policy> playout;
  uint32_t playout_written_ts = 0;
  bool playout_written = false;
  uint64_t playout_sent_packets = 0, playout_nacked = 0; // at the last reading

  bool paused = true;
  bool producer_paused = false;
  std::optional<rtp::consumer_stream> forwarding; // what to forward, as what (its kind)
  uint16_t rtx_seq = 0;
  std::optional<rtp::retransmission_buffer> rtx_buffer;
  std::optional<rtp::send_stream> stream;
  std::vector<rtp::stored_packet> resend; // reused
  // The retransmission budget (tuning::rtx_budget_divisor), measured on the media without
  // the repairs, which would feed back into it.
  rtp::rate_cap rtx_budget{tuning::rtx_budget_min_bps,
                           rtp::rate_cap::suggested_burst(tuning::rtx_budget_min_bps) * 4};
  uint64_t budget_media_bytes = 0; // media bytes sent at the last budget update
  int64_t budget_ms = 0;
  source_clock clock; // of the forwarded encoding
  std::array<source_clock, 4> clocks{}; // per encoding (simulcast)
  layer_reports layers; // used by the layered kinds (simulcast, svc)
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

// The pacing timer's message (drain_paced).
using pace_atom = caf::atom_constant<caf::atom("cpace")>;

inline bool is_video(const consumer_state& st) {
  return st.kind == rtp::media_kind::video;
}

inline bool active(const consumer_state& st) {
  return !st.paused && !st.producer_paused;
}

// ---- consumer.cpp ---------------------------------------------------------------------------
void ask_keyframe(consumer_actor* self);
// (Re)start after a pause, at the first resume, or when the sender becomes ready.
void restart(consumer_actor* self);
void send_demand(consumer_actor* self);
void update_target(consumer_actor* self);
void send_alloc_info(consumer_actor* self);

// ---- consumer_media.cpp ---------------------------------------------------------------------
void publish_home(consumer_actor* self);
void publish_rtx_slot(consumer_actor* self);
void publish_far(consumer_actor* self);
// `now_us`: the monotonic time, read by the caller (once for a fan-out through the lanes).
void handle_media(consumer_actor* self, const media_packets& in, int64_t now_us);
void flush_after_turn(consumer_actor* self);
void drain_paced(consumer_actor* self, bool force);
void send_probe(consumer_actor* self, const probe_padding& p);
void handle_nack(consumer_actor* self, const nack_in& nack);
void handle_report_block(consumer_actor* self, const report_block_in& rb);

// ---- consumer_reports.cpp -------------------------------------------------------------------
void report_layers(consumer_actor* self);
void report_score(consumer_actor* self, const rtp::send_stream_stats& s);
void send_sender_report(consumer_actor* self);
// The playout delay a lossy receiver's video is told, from this report interval's reading.
void update_playout_delay(consumer_actor* self, const rtp::send_stream_stats& s);
std::string stats_json(consumer_actor* self);

} // namespace chorus::actors::consumers
