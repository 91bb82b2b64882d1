// The consumer actor: one producer's stream sent to one peer over its receive transport.
//
// It gets the producer's shared packets (media_packets) and writes each into its own output
// buffer with its SSRC, payload type, sequence number and timestamp (continuous across
// pauses, resumes and producer restarts: rtp::seq_munger) and with the extensions the
// receiver did not negotiate disabled; the transport then adds its transport-wide sequence
// number, protects and sends. After a (re)start of video it forwards nothing until a
// keyframe, which it asks the producer for. It answers NACKs from a bounded retransmission
// buffer (over RTX when negotiated), forwards PLI/FIR to the producer, reads receiver
// reports into its stats and sends sender reports whose NTP/RTP mapping follows the
// producer's sender clock (lip sync across the audio and video of one sender).
//
// Messages:
//   media_packets, source_clock, producer_state   <- producer (monitored)
//   nack_in, keyframe_feedback, report_block_in,
//   sending_state                                 <- its transport
//   layer_bitrates                                <- producer (one with layers)
//   layer_allocation                              <- its transport (bandwidth allocation)
//   protocol::consumer_request                    <- peer: pause / resume / get_stats,
//                                                    preferred layers, priority, keyframe
// It starts paused (unless created with paused = false). When its producer ends it tells its peer consumer_closed_event and
// quits. It is linked to its peer.
#pragma once

#include "actors/context.hpp"
#include "rtp/ortc.hpp"
#include "rtp/receiver_numbering.hpp"
#include "rtp/rtp_parameters.hpp"

#include <caf/fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace chorus::actors {

struct consumer_spawn_args {
  std::string id;
  std::string producer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  rtp::rtp_parameters parameters; // the consumer's (as sent to the client)
  bool paused = true;             // consumers start paused unless the request says not
  // A producer with layers: simulcast (spatial_layers encodings) or SVC (one stream), and
  // temporal layers. Such a consumer selects layers (rtp/layer_selector.hpp).
  bool simulcast = false;
  uint8_t spatial_layers = 1;
  uint8_t temporal_layers = 1;
  // An Opus producer on a router with RED: the packets of the form this consumer did not
  // negotiate are converted (rtp::red_converter).
  std::optional<rtp::red_payload_types> red{};
  // The receiver's own numbers for `parameters`' payload types and header extensions (an
  // SDP offerer: WHEP); empty when it takes the router's (mediasoup-client).
  rtp::numbering numbering{};
  bool producer_paused = false; // what the consume's reply told the receiver
};

struct send_shared;

// `send` is what the transport shares with its consumers (see rtp_sender.hpp): the consumer
// sends with its own rtp_sender once the transport has told it the keys and the tuple.
caf::actor spawn_consumer(caf::event_based_actor* peer, consumer_spawn_args args,
                          caf::actor producer, caf::actor transport,
                          std::shared_ptr<send_shared> send, node_context_ptr ctx);

struct media_packets;

// The direct lane (docs/design/lanes.md): a producer hands a batch to an
// idle local consumer by running the consumer's media handler itself, in the producer's
// turn, instead of a message and a turn of the consumer's. consumer_lane is the handle's
// lane (nullptr for anything but a local consumer actor; ask once, at attach);
// enter_consumer_lane runs the batch through it and is false, doing nothing, unless the
// consumer is idle (not in a turn, an empty mailbox, alive): then send the message.
caf::abstract_actor* consumer_lane(const caf::actor& consumer);
// `eu`: the caller's execution unit, lent to the consumer for what it sends meanwhile.
// `now_us`: the caller's monotonic time (mono_us), read once for the whole fan-out.
bool enter_consumer_lane(caf::abstract_actor* lane, const media_packets& in,
                         caf::execution_unit* eu, int64_t now_us);
// The transport's RTCP feedback about what the consumer sent (a report block, a NACK), run
// through an idle consumer's lane the same way, by the transport's lane on the media I/O
// thread or its own turn, so that a receiver's reports wake no worker; false, doing
// nothing, unless the consumer is idle: then send the message.
struct report_block_in;
struct nack_in;
bool enter_consumer_lane(caf::abstract_actor* lane, const report_block_in& in,
                         caf::execution_unit* eu);
bool enter_consumer_lane(caf::abstract_actor* lane, const nack_in& in, caf::execution_unit* eu);
// Warms a lane's memory ahead of enter_consumer_lane, in two passes: `near` (the actor's
// own lines, at fixed offsets from `lane`) for the consumer after next, then `far` (what
// the actor points to, read from the lines the near pass warmed) for the next one.
// Reads nothing it depends on: any lane held alive may be passed, in any state.
enum class lane_prefetch { near, far };
void prefetch_consumer_lane(caf::abstract_actor* lane, lane_prefetch depth) noexcept;
// Before entering lanes[i] of a fan-out that enters them in order: warms the own lines of
// lanes[i + 2] and what lanes[i + 1] points to (at i == 0 the first two as well), so that
// one consumer's cache misses overlap with the work on the one before. Null lanes are
// skipped.
void prefetch_lanes_ahead(std::span<caf::abstract_actor* const> lanes, std::size_t i) noexcept;

// The clock reading a fan-out through the lanes hands its consumers (`now_us` of
// enter_consumer_lane): read once, again every refresh_consumers consumers, and for every
// consumer when the batch has more than refresh_packets packets, so that a send stamp is at
// most a few tens of microseconds older than its send even when the outbox flushes within
// the fan-out (abs-send-time counts 3.8 us, transport-cc feedback 250 us, the send-side
// estimate groups 5 ms).
class fanout_clock {
public:
  static constexpr std::size_t refresh_consumers = 8;
  static constexpr std::size_t refresh_packets = 4;
  fanout_clock(std::size_t packets, int64_t now_us)
    : every_(packets > refresh_packets), now_us_(now_us) {}
  // The reading for the i-th consumer of the fan-out (i counts from 0).
  int64_t before(std::size_t i);
  int64_t now_us() const noexcept { return now_us_; }

private:
  bool every_;
  int64_t now_us_;
};

// The media I/O thread of a local consumer's transport, once it is known (-1 before, and
// for a null lane): where its producer hands it batches (actors/thread_fanout.hpp).
int consumer_home_thread(caf::abstract_actor* lane) noexcept;

} // namespace chorus::actors
