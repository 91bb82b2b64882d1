#include "actors/producer_actor.hpp"

#include <sstream>

namespace chorus::actors::producers {

namespace {

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
       << ",\"dependencyDescriptor\":{\"structures\":" << c.dd_structures
       << ",\"unread\":" << c.dd_unread << "}"
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
       << ",\"redMalformed\":" << c.red_bad
       << ",\"duplicates\":" << c.duplicates << "}";
  os << "}";
}

} // namespace

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

} // namespace chorus::actors::producers
