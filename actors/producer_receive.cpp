#include "actors/producer_actor.hpp"

#include "actors/consumer.hpp"
#include "actors/process_load.hpp"
#include "net/send_outbox.hpp"
#include "rtp/audio_red.hpp"
#include "rtp/dependency_descriptor.hpp"
#include "rtp/vp8_descriptor.hpp"
#include "rtp/vp9_frames.hpp"

#include <algorithm>
#include <span>

namespace chorus::actors::producers {

namespace {

void fan_out(producer_actor* self, media_packets out);
void fan_out_or_join(producer_actor* self, media_packets out);

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
// The layer fields from a Dependency Descriptor (the codecs whose payload tells none:
// AV1, H264); false when the packet has none or it could not be read.
bool read_dependency_descriptor(producer_data& st, encoding_state& e, const rtp::rtp_packet& pkt,
                                forwarded_packet& out) {
  const auto value = pkt.find_extension(st.dd_ext_id);
  if (!value)
    return false;
  if (!e.dd)
    e.dd = std::make_unique<rtp::dd_structure>();
  const auto f = rtp::read_dependency_descriptor(*value, *e.dd);
  if (!f) {
    ++st.counters.dd_unread;
    return false;
  }
  if (f->structure_attached)
    ++st.counters.dd_structures;
  out.frame_start = f->start_of_frame;
  out.end_of_layer = f->end_of_frame;
  out.temporal = std::min<uint8_t>(f->temporal, max_temporal_layers - 1);
  if (!st.mapping.simulcast())
    out.spatial = f->spatial;
  out.sync = out.keyframe || f->own_indication == rtp::dd_indication::switching;
  // (capped as the temporal id: a layer above max_temporal_layers is never forwarded)
  out.switch_mask = uint8_t(f->switch_mask & ((1u << max_temporal_layers) - 1));
  return true;
}

void read_layers(producer_data& st, encoding_state& e, rtp::payload_codec codec,
                 const rtp::rtp_packet& pkt, uint8_t encoding, forwarded_packet& out) {
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
    default: // AV1, H264: the Dependency Descriptor, else one temporal layer
      if (st.dd_ext_id != 0 && read_dependency_descriptor(st, e, pkt, out))
        break;
      out.frame_start = true;
      out.sync = true;
      break;
  }
}

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

// One message for all consumers: CAF messages are reference counted, so every consumer
// reads the same vector of the same shared packets. A simulcast producer's consumer that
// needs only some encodings (layer_demand) gets a message of just those packets, built
// once per distinct need in the batch, or nothing when the batch has none of them.
// Idle consumers take a batch through their direct lanes (fan_out_through_lanes): on one
// usable CPU at any fan-out and load; on several only while the process is not busy
// (lanes_busy) and the fan-out has at most tuning::direct_lane_max_consumers. The lane
// saves a message and a turn per consumer and batch; it runs the whole fan-out on the
// producer's thread, where messages spread it over the workers' cores. A consumer behind
// messages (a busy one) is sent the batch, and takes several in one turn: entered once per
// packet, a consumer would pay its cold state for every packet. The figures behind the
// limit: docs/design/lanes.md, "The gates".
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
  // is busy nor for a large fan-out (fan_out_through_lanes,
  // tuning::direct_lane_max_consumers; on one CPU no other core would take part of the
  // fan-out, and what mail brought is joined: fan_out_or_join).
  // The consumers entered through their lanes share one clock reading (their munger,
  // retransmission ring, statistics, pacing and send stamps: fanout_clock).
  fanout_clock clock{n, mono_us()};
  const bool mail_waiting = !mailbox_idle(self);
  const bool direct =
    fan_out_through_lanes(st.consumers.size(), tuning::direct_lane_max_consumers,
                          usable_cpu_count(), lanes_busy(clock.now_us() / 1000), mail_waiting);
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

} // namespace

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
    // RED's blocks name the client's Opus payload type: into router space, as the header.
    if (st.red[pt] && !rtp::map_red_payload_types(
                        pkt.mutable_bytes().subspan(pkt.header_size(), pkt.payload().size()),
                        st.router_pt)) {
      ++st.counters.red_bad;
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
      read_layers(st, *enc, codec, pkt, uint8_t(enc - st.encodings.data()), fwd);
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

// Whether the fan-out may be handed to the consumers' media I/O threads
// (actors/thread_fanout.hpp): with several of them, for a producer whose consumers take
// batches through their lanes (not one whose consumers select layers: they take messages).
bool by_thread(const producer_data& st) {
  return st.threads.enabled() && !st.layered && !st.mapping.simulcast();
}

// Fans out what the join handed back, if anything: at its flush message, and (take) before
// the consumers are told of a pause or resume (a packet received before a pause must not
// arrive after it, and one held across a pause and resume would become the resumed
// stream's first) and before the producer ends.
void fan_out_joined(producer_actor* self, std::vector<forwarded_packet> packets) {
  if (!packets.empty())
    fan_out(self, media_packets{std::move(packets)});
}

} // namespace chorus::actors::producers

namespace chorus::actors {

using producers::producer_actor;

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
  if (!entry || (eu == nullptr && self->state.consumers.size() > tuning::io_lane_max_consumers &&
                 !producers::by_thread(self->state) &&
                 !lanes_light(in.arrival_ms))) // the transport's clock reading of this batch
    return false;
  ++self->state.counters.lane_in;
  producers::handle_rtp(self, in);
  return true;
}

} // namespace chorus::actors
