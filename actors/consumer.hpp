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
#include "rtp/rtp_parameters.hpp"

#include <caf/fwd.hpp>

#include <memory>
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

} // namespace chorus::actors
