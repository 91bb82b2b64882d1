// Messages of the media path (producers, consumers, their transports) and of media
// signaling between peers and rooms. Registered in register_message_types() like every
// other message, so that a consumer on another node could subscribe to a producer.
//
//   transport --rtp_in--> producer --media_packets--> consumer --rtp_out--> transport
//   transport --sender_report_in--> producer --source_clock--> consumer
//   transport --nack_in / keyframe_feedback / report_block_in--> consumer
//   consumer --keyframe_request_atom [, uint8_t spatial]--> producer --rtcp_out--> transport
//   producer --layer_bitrates--> consumer (producers with layers)
//   consumer --layer_demand--> producer (simulcast: the encodings it needs)
#pragma once

#include "actors/message_declaration.hpp"
#include "rtp/bandwidth_plan.hpp"

#include "actors/messages.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtp_packet.hpp"

#include <caf/meta/load_callback.hpp>

namespace chorus::actors {

// ---- atoms --------------------------------------------------------------------------
using keyframe_request_atom = caf::atom_constant<caf::atom("kfreq")>;
using media_tick_atom = caf::atom_constant<caf::atom("mtick")>;
using report_tick_atom = caf::atom_constant<caf::atom("rtick")>;
using fanout_flush_atom = caf::atom_constant<caf::atom("fanflush")>; // a producer's held batches

// ---- transport <- peer: who owns which SSRC ------------------------------------------------
// A producer's incoming SSRCs on this transport; the transport replies `true`, or an
// invalid-field error when an SSRC is already taken. The transport monitors the producer
// and drops its routes when it ends.
struct producer_route {
  caf::actor producer;
  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;
  uint8_t tcc_ext_id = 0;           // the client's transport-wide-cc id (0: none)
  uint8_t abs_send_time_ext_id = 0; // the client's abs-send-time id (0: none)
  // Streams whose SSRCs are learnt (rid-based simulcast): a packet of an unknown SSRC whose
  // mid element names `mid` (or, without a mid element, whose rid / repaired-rid element
  // names one of `rids`) binds its SSRC to this producer, at most `max_ssrcs` of them.
  std::string mid;
  uint8_t mid_ext_id = 0;
  uint8_t rid_ext_id = 0;
  uint8_t rrid_ext_id = 0;
  std::vector<std::string> rids;
  uint8_t max_ssrcs = 0;
  std::vector<uint32_t> ssrcs; // further known SSRCs (simulcast by SSRC, their RTX)
};

// A consumer's outgoing SSRCs on this transport (for the RTCP feedback about them). Sent by
// the consumer itself; the transport monitors it.
struct consumer_route {
  caf::actor consumer;
  uint32_t ssrc = 0;
  uint32_t rtx_ssrc = 0;
};

// ---- transport -> producer -------------------------------------------------------------------
// Decrypted RTP packets of one producer from one receive batch (each packet its own buffer:
// the producer rewrites it in place and then shares it without a copy).
struct rtp_in {
  std::vector<std::vector<uint8_t>> packets;
  int64_t arrival_ms = 0;
};

struct sender_report_in {
  uint32_t ssrc = 0;
  uint64_t ntp = 0;
  uint32_t rtp_timestamp = 0;
  int64_t arrival_ms = 0;
};

// ---- producer -> consumers ---------------------------------------------------------------------
// One packet in router space (router payload type and extension ids), immutable and shared
// by every consumer. Serialized by value.
// The layer fields are read once by the producer for the consumers that select layers:
// spatial = the simulcast encoding's index (lowest first) or the SVC spatial id; temporal =
// the temporal id (0 when the stream tells none); sync = a frame a receiver may switch up
// to this temporal layer at (VP8 Y, VP9 U or a TL0 frame); frame_start = the first packet
// of a frame (layers change only there); end_of_frame = the marker bit (VP9 SVC: the end
// of one spatial layer's frame is its E bit, carried in end_of_layer).
struct forwarded_packet {
  rtp::shared_packet packet;
  bool keyframe = false;
  uint8_t spatial = 0;
  uint8_t temporal = 0;
  bool sync = false;
  bool frame_start = false;
  bool end_of_layer = false;
  uint8_t switch_mask = 0; // the Dependency Descriptor's: see rtp::layer_packet
};

// The packets of one receive batch. The producer builds ONE message and sends the same
// message to all its consumers (CAF messages are reference counted).
struct media_packets {
  std::vector<forwarded_packet> packets;
};

// The producer's sender clock (from its last SR), for the consumers' SRs (lip sync). One
// per encoding of a simulcast producer (`spatial` = the encoding's index).
struct source_clock {
  uint64_t ntp = 0;
  uint32_t rtp_timestamp = 0;
  int64_t received_ms = 0;
  bool valid = false;
  uint8_t spatial = 0;
};

// producer -> its consumers, about once a second for a producer with layers: what each
// layer costs now. bps[s * 3 + t] = the bitrate of spatial layer s up to temporal layer t
// (cumulative over t); 0 = not received now. spatial_layers / temporal_layers = how many
// the producer has (as signalled).
struct layer_bitrates {
  std::vector<uint32_t> bps;
  uint8_t spatial_layers = 1;
  uint8_t temporal_layers = 1;
  std::vector<uint8_t> scores; // per encoding, 0-10 from its receive loss (0: not received)
  // Per spatial layer: the bytes of its last keyframe (SVC: with the layers below it, what
  // a receiver switching up to it gets); 0 = none seen yet. A switch up costs one.
  std::vector<uint32_t> keyframe_bytes;
  // bps' layout: the highest of the last three updates (what a switch up must expect).
  std::vector<uint32_t> peak_bps;
};

// transport -> a consumer with layers: the best layers its share of the transport's send
// estimate pays for (-1 spatial: none). Without it a consumer is not capped.
struct layer_allocation {
  int8_t spatial = -1;
  int8_t temporal = -1;
  // The highest spatial layer the budget would pay for if every layer were received, an
  // absent one at what it cost when it was last there (127: no limit). A consumer demands
  // the absent layers up to it (layer_demand): a publisher that stopped sending a layer is
  // told it is wanted again only when some receiver's link would carry it.
  int8_t wanted_spatial = 127;
};

// consumer -> its transport: what the transport's bandwidth allocation needs to know of it
// (sent when any of it changes, and with each layer_bitrates). A consumer without layers is
// a fixed cost: bps[0] = what it sends now.
struct alloc_info {
  caf::actor consumer;
  rtp::consumer_demand demand;
};

// transport -> a video consumer with RTX: send a probe cluster (its newest packets again,
// over RTX) in `chunks` chunks of at least `bytes` (and at least one packet) each,
// `interval_ms` apart, marked with probe_id in the transport's send log (rtp/send_bwe.hpp
// evaluates what the receiver saw of it).
struct probe_padding {
  uint32_t bytes = 0;
  uint16_t interval_ms = 0;
  int16_t probe_id = -1;
  uint8_t chunks = 0;
};

// Producer paused or resumed.
struct producer_state {
  bool paused = false;
};

// consumer -> producer (request): attach to the fan-out. Reply: attach_reply.
struct attach_consumer {
  caf::actor consumer;
};
struct attach_reply {
  bool paused = false;
  std::vector<source_clock> clocks; // the valid ones, one per encoding at most
};

// consumer -> producer, relay -> producer, consumer -> relay: the encodings of a simulcast
// producer it needs now (bit s = encoding s); sent when that changes. The producer sends
// an attached actor only the packets of the encodings it needs (an actor that never said
// gets all of them), so a relay carries across the link only what its node's consumers
// select, and it tells its publisher which encodings nobody selects
// (producer-layers-unused). Producers without simulcast ignore it.
struct layer_demand {
  caf::actor from;
  uint8_t spatial_mask = 0xff;
};

// ---- transport -> consumer --------------------------------------------------------------------
struct nack_in {
  std::vector<uint16_t> seqs;
};
struct keyframe_feedback {
  bool fir = false;
};
struct report_block_in {
  rtp::report_block block;
};

// transport -> its consumers: what they need to send on its socket themselves (see
// rtp_sender.hpp): the outbound SRTP keys once DTLS has them, and the ICE-selected tuple.
// Sent when DTLS connects, when the tuple changes, and to a consumer registering late.
struct sending_state {
  bool has_keys = false;
  uint16_t srtp_profile = 0; // IANA id
  std::vector<uint8_t> key;
  std::vector<uint8_t> salt;
  bool has_tuple = false;
  net::ice_tuple tuple;
};

// ---- consumer / producer -> transport ------------------------------------------------------------
// RTP packets to protect and send: packet i is data[offsets[i] .. offsets[i] + sizes[i]),
// followed by room for the SRTP trailer. The transport writes its transport-wide sequence
// number and abs-send-time into the elements with these ids (0: none).
struct rtp_out {
  std::vector<uint8_t> data;
  std::vector<uint32_t> offsets;
  std::vector<uint16_t> sizes;
  uint8_t tcc_ext_id = 0;
  uint8_t abs_send_time_ext_id = 0;
  int16_t probe_id = -1; // packets of a probe cluster (probe_padding)
  // The monotonic time (us) its handler started at, read once for a whole fan-out through
  // the lanes (a clock read per consumer and packet was 2 % of a paced class's I/O thread);
  // 0: whoever needs the time reads the clock.
  int64_t now_us = 0;
  // Where packet i's header ends and its sending elements are, found by whoever wrote it
  // (the consumer, as it rewrote the packet), so that the sender does not parse it again:
  // offsets from the packet's start, 0 for an element it lacks. Used only when there is one
  // per packet (layouts.size() == offsets.size()), and then checked against the packet's
  // size; otherwise the sender parses. Not carried between processes.
  struct layout {
    uint16_t header = 0;   // fixed header, CSRCs and extension block
    uint16_t tcc_at = 0;   // the transport-wide sequence number's 2 bytes
    uint16_t abs_at = 0;   // abs-send-time's 3 bytes
  };
  std::vector<layout> layouts;
};

// One (compound) RTCP packet to protect and send.
struct rtcp_out {
  std::vector<uint8_t> bytes;
};

// ---- peer <-> room -------------------------------------------------------------------------------
// A producer as the room lists it (also the reply of find_producer).
struct producer_info {
  std::string producer_id;
  std::string peer_id;
  rtp::media_kind kind = rtp::media_kind::audio;
  bool paused = false;
  caf::actor producer;
  rtp::rtp_parameters consumable; // router-space parameters
  bool is_screen_share = false;
  std::string app_data; // compact JSON, "" if none
  std::string source;   // appData.source, when a short string
  // Filled by the room when it answers find_producer: the producing participant.
  std::string user_id;
  std::string user_name;
};

struct producer_removed {
  std::string producer_id;
};

struct producer_paused_update {
  std::string producer_id;
  bool paused = false;
};

// Consume lookup (request to the room): by id, or (id empty) the oldest producer of
// another peer whose id is not in `exclude`. Reply: producer_info, or unknown-producer.
// peer -> room: the producer to consume. With producer_id empty, the oldest producer of
// another peer that is not in `exclude` and that `rtp_capabilities` can receive (when
// has_rtp_capabilities); nothing-to-consume when there is none.
struct find_producer {
  std::string producer_id;
  std::string peer_id;
  std::vector<std::string> exclude;
  std::string from_participant; // only this participant's (peer or user id; "": anyone's)
  bool has_rtp_capabilities = false;
  rtp::rtp_capabilities rtp_capabilities;
};

// ---- active speaker and audio levels (room, producers, speaker observer) -------------------------
//   room --attach_speaker_observer--> audio producer (one with ssrc-audio-level)
//   room --observe_producer / producer_removed--> speaker observer
//   producer --audio_level_batch--> speaker observer (about every 100 ms while it receives)
//   speaker observer --dominant_speaker / audio_levels_report--> room

// room -> audio producer: where to send its levels (see speaker_observer.hpp).
struct attach_speaker_observer {
  caf::actor observer;
};

// room -> speaker observer: a new audio producer to observe (producer_removed ends it).
struct observe_producer {
  std::string producer_id;
};

// producer -> speaker observer: the RFC 6464 levels of the packets it received since its
// last batch. levels[i] is the element's byte (V bit << 7 | level in -dBov), times_ms[i]
// the packet's arrival (mono_ms).
struct audio_level_batch {
  std::string producer_id;
  std::vector<uint8_t> levels;
  std::vector<int64_t> times_ms;
};

// speaker observer -> room: the dominant speaker changed to this producer.
struct dominant_speaker {
  std::string producer_id;
};

// speaker observer -> room: the loudest producers over the last levels interval, loudest
// first (never empty). volumes_dbov[i] belongs to producer_ids[i].
struct audio_levels_report {
  std::vector<std::string> producer_ids;
  std::vector<int32_t> volumes_dbov;
};

// ---- inspect ---------------------------------------------------------------------------------
CHORUS_MESSAGE(producer_route, x.producer, x.ssrc, x.rtx_ssrc, x.tcc_ext_id, x.abs_send_time_ext_id,
               x.mid, x.mid_ext_id, x.rid_ext_id, x.rrid_ext_id, x.rids, x.max_ssrcs, x.ssrcs);
CHORUS_MESSAGE(consumer_route, x.consumer, x.ssrc, x.rtx_ssrc);
CHORUS_MESSAGE(rtp_in, x.packets, x.arrival_ms);
CHORUS_MESSAGE(sender_report_in, x.ssrc, x.ntp, x.rtp_timestamp, x.arrival_ms);
// The shared buffer travels by value: a remote consumer gets its own copy.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forwarded_packet& x) {
  std::vector<uint8_t> bytes;
  if (x.packet)
    bytes = *x.packet;
  auto load = caf::meta::load_callback([&]() -> caf::error {
    x.packet = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    return caf::none;
  });
  return f(caf::meta::type_name("forwarded_packet"), bytes, x.keyframe, x.spatial, x.temporal,
           x.sync, x.frame_start, x.end_of_layer, x.switch_mask, load);
}
CHORUS_MESSAGE(media_packets, x.packets);
CHORUS_MESSAGE(source_clock, x.ntp, x.rtp_timestamp, x.received_ms, x.valid, x.spatial);
CHORUS_MESSAGE(alloc_info, x.consumer, x.demand);
CHORUS_MESSAGE(probe_padding, x.bytes, x.interval_ms, x.probe_id, x.chunks);
CHORUS_MESSAGE(layer_allocation, x.spatial, x.temporal, x.wanted_spatial);
CHORUS_MESSAGE(layer_bitrates, x.bps, x.spatial_layers, x.temporal_layers, x.scores,
               x.keyframe_bytes, x.peak_bps);
CHORUS_MESSAGE(producer_state, x.paused);
CHORUS_MESSAGE(layer_demand, x.from, x.spatial_mask);
CHORUS_MESSAGE(attach_consumer, x.consumer);
CHORUS_MESSAGE(attach_reply, x.paused, x.clocks);
CHORUS_MESSAGE(nack_in, x.seqs);
CHORUS_MESSAGE(keyframe_feedback, x.fir);
CHORUS_MESSAGE(report_block_in, x.block.ssrc, x.block.fraction_lost, x.block.cumulative_lost,
               x.block.extended_highest_seq, x.block.jitter, x.block.last_sr,
               x.block.delay_since_last_sr);
CHORUS_MESSAGE(sending_state, x.has_keys, x.srtp_profile, x.key, x.salt, x.has_tuple, x.tuple);
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rtp_out& x) {
  // now_us is this process's monotonic clock: not carried (0 elsewhere: read there); nor
  // are the layouts (the receiving sender parses).
  return f(caf::meta::type_name("rtp_out"), x.data, x.offsets, x.sizes, x.tcc_ext_id,
           x.abs_send_time_ext_id, x.probe_id);
}
CHORUS_MESSAGE(rtcp_out, x.bytes);
CHORUS_MESSAGE(producer_info, x.producer_id, x.peer_id, x.kind, x.paused, x.producer, x.consumable,
               x.is_screen_share, x.app_data, x.source, x.user_id, x.user_name);
CHORUS_MESSAGE(producer_removed, x.producer_id);
CHORUS_MESSAGE(producer_paused_update, x.producer_id, x.paused);
CHORUS_MESSAGE(find_producer, x.producer_id, x.peer_id, x.exclude, x.from_participant, x.has_rtp_capabilities,
               x.rtp_capabilities);

CHORUS_MESSAGE(attach_speaker_observer, x.observer);
CHORUS_MESSAGE(observe_producer, x.producer_id);
CHORUS_MESSAGE(audio_level_batch, x.producer_id, x.levels, x.times_ms);
CHORUS_MESSAGE(dominant_speaker, x.producer_id);
CHORUS_MESSAGE(audio_levels_report, x.producer_ids, x.volumes_dbov);

} // namespace chorus::actors
