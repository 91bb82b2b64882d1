#include "actors/consumer.hpp"
#include "actors/consumer_actor.hpp"
#include "rtp/repair_copies.hpp"

#include <caf/all.hpp>

#include <algorithm>
#include <cstring>

namespace chorus::actors::consumers {

namespace {

// The packet `src`, just appended to out.data at `offset`, of the other audio form (RED or
// plain Opus): its payload converted in place, padding dropped; its new size, 0 when it
// cannot be converted. `again`: a retransmission.
size_t convert_red(consumer_state& st, rtp_out& out, const std::vector<uint8_t>& src,
                   size_t offset, uint16_t seq, uint32_t timestamp, bool again) {
  auto view = rtp::rtp_packet::parse(std::span(out.data.data() + offset, src.size()));
  if (!view)
    return 0;
  const size_t header = view->header_size();
  const auto payload = std::span(src).subspan(header, view->payload().size());
  thread_local std::vector<uint8_t> converted;
  converted.resize(rtp::red_converter::max_output(payload.size()));
  const auto n = st.red->convert(seq, timestamp, payload, again, mono_ms(), converted);
  if (!n) {
    ++st.counters.red_bad;
    return 0;
  }
  ++st.counters.red_converted;
  out.data.resize(offset + header + *n + trailer_room);
  out.data[offset] &= uint8_t(~0x20); // the padding stayed behind
  std::memcpy(out.data.data() + offset + header, converted.data(), *n);
  return header + *n;
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
  // The playout delay goes on the first packet of each new frame (not on repairs).
  const bool hint = st.playout && use_tag == nullptr && st.playout->hint() &&
                    (!st.playout_written || timestamp != st.playout_written_ts);
  const size_t room = trailer_room + (hint ? rtp::added_extension_bytes(3) : 0);
  // Appended, not resized and then copied over: a resize would zero the bytes first.
  out.data.insert(out.data.end(), src.begin(), src.end());
  out.data.resize(offset + src.size() + room);
  size_t size = src.size();
  if (st.red && st.red->converts(src[1] & 0x7F) &&
      (size = convert_red(st, out, src, offset, seq, timestamp, use_tag != nullptr)) == 0) {
    out.data.resize(offset);
    return std::nullopt;
  }
  auto view = rtp::rtp_packet::parse(std::span(out.data.data() + offset, size));
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
  if (auto* continuity = st.forwarding->continuity()) {
    const size_t header = size_t(view->payload().data() - view->bytes().data());
    std::span<uint8_t> payload(out.data.data() + offset + header, view->payload().size());
    if (use_tag != nullptr) {
      rtp::vp8_continuity::apply_tag(payload, *use_tag & ~marker_tag);
    } else {
      continuity->rewrite(payload);
      if (tag != nullptr)
        *tag = continuity->tag();
    }
  }
  if (st.dd_numbers)
    if (auto dd = view->find_extension(st.dd_ext_id); dd && dd->size() >= 3) {
      const size_t at = size_t(dd->data() - view->bytes().data());
      std::span<uint8_t> value(out.data.data() + offset + at, dd->size());
      const auto in = uint16_t((value[1] << 8) | value[2]);
      if (use_tag != nullptr) {
        rtp::write_dd_frame_number(value, uint16_t(in + uint16_t(*use_tag)));
      } else {
        rtp::write_dd_frame_number(value, st.dd_numbers->on_packet(in));
        if (tag != nullptr)
          *tag |= st.dd_numbers->offset();
      }
    }
  if (use_tag != nullptr && (*use_tag & marker_tag) != 0)
    view->set_marker(true);
  if (hint) {
    // After the block's other elements, which keep their places (`sending` stays valid).
    // Never already there: the router lists the extension sendonly, so no producer maps it.
    const auto value = rtp::write_playout_delay(*st.playout->hint());
    const size_t grown = rtp::add_extension(std::span(out.data.data() + offset, size + room - trailer_room),
                                            size, st.playout_delay_ext_id, value);
    if (grown != 0) {
      size = grown;
      out.data.resize(offset + size + trailer_room);
      view = rtp::rtp_packet::parse(std::span(out.data.data() + offset, size));
      if (!view) { // (add_extension keeps a packet whole: not reached)
        out.data.resize(offset);
        ++st.counters.malformed;
        return std::nullopt;
      }
    }
    st.playout_written = true;
    st.playout_written_ts = timestamp;
    ++st.counters.playout_delay_hints;
  }
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
  out.sizes.push_back(uint16_t(size));
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
    const size_t limit = size_t(bps * uint64_t(tuning::max_paced_us) / 8'000'000);
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

} // namespace

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
    if ((src[1] & 0x7F) != st.router_payload_type && !(st.red && st.red->converts(src[1] & 0x7F))) {
      ++st.counters.dropped_payload_type;
      continue;
    }
    rtp::forward_input fin;
    fin.seq = uint16_t((src[2] << 8) | src[3]);
    fin.timestamp = (uint32_t(src[4]) << 24) | (uint32_t(src[5]) << 16) |
                    (uint32_t(src[6]) << 8) | src[7];
    fin.layer = {p.spatial, p.temporal, p.keyframe, p.sync, p.frame_start, p.switch_mask};
    fin.end_of_layer = p.end_of_layer;
    const auto d = st.forwarding->on_packet(fin, st.sender->ready(), now);
    if (d.switched_stream) {
      ++st.counters.layer_switches;
      if (st.dd_numbers)
        st.dd_numbers->restart();
      if (size_t(p.spatial) < st.clocks.size())
        st.clock = st.clocks[p.spatial];
    }
    layers_changed = layers_changed || d.layers_changed;
    switch (d.verdict) {
      case rtp::forward_verdict::forward: break;
      case rtp::forward_verdict::wait_keyframe: ++st.counters.skipped_wait_keyframe; continue;
      case rtp::forward_verdict::other_layer: ++st.counters.other_layers; continue;
      case rtp::forward_verdict::dropped_layer: ++st.counters.dropped_layers; continue;
      case rtp::forward_verdict::old: ++st.counters.dropped_old; continue;
    }
    uint32_t tag = 0;
    auto view = append_rewritten(st, out, src, d.seq, d.timestamp, &tag);
    if (!view)
      continue;
    if (d.end_of_picture) {
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

void handle_nack(consumer_actor* self, const nack_in& nack) {
  auto& st = self->state;
  st.stream->on_nack(nack.seqs.size());
  if (st.red)
    st.red->on_loss(mono_ms()); // RED's redundancy is needed now
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
  const uint8_t copies = rtp::repair_copies(st.stream->fraction_lost());
  for (auto& r : st.resend)
    for (uint8_t copy = 0; copy < copies; ++copy) {
      if (!st.rtx_budget.admit(r.packet->size(), now_us)) {
        ++st.counters.rtx_over_budget;
        break;
      }
      if (copy > 0)
        ++st.counters.rtx_copies;
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
  if (self->state.red && rb.block.fraction_lost > 0)
    self->state.red->on_loss(mono_ms());
  self->state.stream->on_report_block(rb.block, mono_us());
}

} // namespace chorus::actors::consumers

namespace chorus::actors {

using consumers::consumer_actor;

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
}} // namespace

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
    prefetch_member(st.forwarding, 2);
    prefetch_member(st.rtx_buffer, 3);
    prefetch_member(st.stream, 4);
    prefetch_member(st.sender, 4);
    prefetch_member(st.paced, 2);
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
  if (!entry || self->state.forwarding->layered())
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
}} // namespace

bool enter_consumer_lane(caf::abstract_actor* lane, const report_block_in& in,
                         caf::execution_unit* eu) {
  return feedback_through_lane(lane, in, eu, &consumers::handle_report_block);
}

bool enter_consumer_lane(caf::abstract_actor* lane, const nack_in& in, caf::execution_unit* eu) {
  return feedback_through_lane(lane, in, eu, &consumers::handle_nack);
}

} // namespace chorus::actors
