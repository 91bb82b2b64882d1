// The producer actor's state, and its handlers by concept, each in its own file:
//   producer.cpp           the behaviour (producer_impl: what each message does), its setup,
//                          pause and resume
//   producer_receive.cpp   the media path: each received packet (its encoding, RTX, layers,
//                          keyframes, audio level) and the fan-out to the consumers, and the
//                          lane its transport enters directly
//   producer_feedback.cpp  toward the publisher (NACK, PLI/FIR, receiver reports) and its
//                          consumers (layer rates, unused layers), and the timer that drives them
//   producer_stats.cpp     its stats
#pragma once

#include "actors/batch_join.hpp"
#include "actors/clock.hpp"
#include "actors/lane.hpp"
#include "actors/media_tuning.hpp"
#include "actors/media_messages.hpp"
#include "actors/producer.hpp"
#include "actors/thread_fanout.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/keyframe.hpp"
#include "rtp/nack_generator.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/rtp_stream.hpp"

#include <caf/all.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::actors::producers {

inline constexpr std::string_view audio_level_uri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
inline constexpr std::string_view rid_uri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
inline constexpr std::string_view rrid_uri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

inline constexpr size_t max_temporal_layers = 3;

struct producer_counters {
  uint64_t malformed = 0;
  uint64_t unknown_payload_type = 0;
  uint64_t unknown_ssrc = 0;
  uint64_t unknown_rid = 0; // a learnt SSRC whose rid names no encoding (or a taken one)
  uint64_t rtx_padding = 0; // RTX packets without an original (bandwidth probes)
  uint64_t rtx_bad = 0;
  uint64_t red_bad = 0; // RED whose blocks do not parse, or carry a payload type not known
  uint64_t keyframes = 0;
  uint64_t dd_structures = 0; // Dependency Descriptors that carried a structure
  uint64_t dd_unread = 0;     // ... that did not parse, or named no known template: the
                              // packet goes on with the layers its codec alone tells
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
  // The Dependency Descriptor's structure in force (allocated when the producer has the
  // extension; its layer ids are read from it).
  std::unique_ptr<rtp::dd_structure> dd;
};

// Bytes per layer since the last rate update ([spatial][temporal]: spatial = the encoding
// of a simulcast producer, the spatial id of an SVC one), and the rates they gave.
inline constexpr size_t max_spatial_layers = 4;
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
  std::array<bool, 128> red{};                 // client pt is RED (its blocks are mapped too)
  rtp::extension_id_map ext_map;               // client id -> router id
  bool nack_enabled = false;
  bool pli_enabled = false;
  bool fir_enabled = false;
  uint32_t clock_rate = 90000;
  uint32_t rtcp_ssrc = 0; // ours, as the sender of RR / NACK / PLI

  std::vector<encoding_state> encodings;
  uint8_t rid_ext_id = 0, rrid_ext_id = 0; // the client's ids (0: none)
  uint8_t dd_ext_id = 0;                   // the client's Dependency Descriptor id
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

// ---- producer_feedback.cpp ------------------------------------------------------------------
void send_nack(producer_actor* self, const encoding_state& e, const std::vector<uint16_t>& seqs);
void send_keyframe_request(producer_actor* self, encoding_state& e);
// Arms the timer for what is pending, if anything (a timer armed no later stays).
void arm_pending_tick(producer_actor* self, int64_t now);
void arm_next_tick(producer_actor* self, int64_t now);
void request_keyframe(producer_actor* self, encoding_state& e, int64_t now);
// Sends the audio-level batch once its first sample is `age_ms` old (or it is full).
void maybe_flush_levels(producer_actor* self, int64_t now,
                        int64_t age_ms = tuning::level_batch_interval_ms);
void check_unused_layers(producer_actor* self, int64_t now);
uint32_t largest_keyframe(const producer_data& st, size_t s);
void on_tick(producer_actor* self, int64_t armed_at);

// ---- producer_receive.cpp -------------------------------------------------------------------
void handle_rtp(producer_actor* self, rtp_in& in);
void fan_out_joined(producer_actor* self, std::vector<forwarded_packet> packets);
bool by_thread(const producer_data& st);

// ---- producer_stats.cpp ---------------------------------------------------------------------
std::string stats_json(producer_actor* self);

} // namespace chorus::actors::producers
