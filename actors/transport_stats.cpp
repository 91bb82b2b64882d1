#include "actors/transport_actor.hpp"

namespace chorus::actors::transports {

namespace {

std::string tuple_json(const net::ice_tuple& t, uint16_t local_port) {
  std::ostringstream os;
  os << "{\"protocol\":\"" << (t.protocol == net::ice_protocol::tcp ? "tcp" : "udp")
     << "\",\"remoteIp\":\"" << t.remote.ip_string() << "\",\"remotePort\":" << t.remote.port
     << ",\"localPort\":" << local_port << "}";
  return os.str();
}

} // namespace

std::string stats_json(transport_actor* self) {
  auto& st = self->state;
  auto& c = st.counters;
  const auto& sc = *st.shared;
  std::ostringstream os;
  os << "{\"type\":\"webrtc-transport\",\"transportId\":\"" << st.id << "\",\"timestamp\":"
     << now_ms() << ",\"iceRole\":\"controlled\",\"iceState\":\""
     << net::to_string(st.ice->state()) << "\"";
  if (auto& sel = st.ice->selected_tuple())
    os << ",\"iceSelectedTuple\":"
       << tuple_json(*sel, sel->protocol == net::ice_protocol::tcp ? st.endpoint->tcp_port()
                                                                   : st.endpoint->udp_port());
  os << ",\"dtlsState\":\"" << (st.dtls ? net::to_string(st.dtls->state()) : "new") << "\"";
  if (st.dtls)
    os << ",\"dtlsRole\":\"" << net::to_string(st.dtls_role) << "\"";
  if (st.dtls && st.dtls->srtp_keys())
    os << ",\"srtpProfile\":\"" << net::to_string(st.dtls->srtp_keys()->profile) << "\"";
  os << ",\"bytesReceived\":" << c.bytes_in
     << ",\"bytesSent\":" << c.bytes_out + sc.rtp_bytes_sent.load()
     << ",\"packetsReceived\":" << c.packets_in << ",\"ioLaneBatches\":" << st.io_lane_batches
     << ",\"packetsSent\":" << c.packets_out + sc.rtp_sent.load() + sc.rtcp_sent.load()
     << ",\"stun\":{\"received\":" << c.stun_in << ",\"sent\":" << c.stun_out
     << ",\"rejected\":" << c.stun_rejected << ",\"valid\":" << st.ice->counters().valid
     << ",\"errors401\":" << st.ice->counters().errors_401
     << ",\"errors400\":" << st.ice->counters().errors_400
     << ",\"errors487\":" << st.ice->counters().errors_487
     << ",\"unanswered\":" << c.stun_unanswered << "}"
     << ",\"dtls\":{\"received\":" << c.dtls_in << ",\"sent\":" << c.dtls_out << "}"
     << ",\"rtp\":{\"received\":" << c.rtp_in << ",\"bytesReceived\":" << c.rtp_bytes_in
     << ",\"sent\":" << sc.rtp_sent.load() << "}"
     << ",\"rtcp\":{\"received\":" << c.rtcp_in << ",\"sent\":" << sc.rtcp_sent.load() << "}"
     << ",\"dropped\":{\"unknown\":" << c.dropped_unknown
     << ",\"notSelected\":" << c.dropped_not_selected << ",\"noSrtp\":" << c.dropped_no_srtp
     << ",\"srtpAuth\":" << c.dropped_srtp_auth << ",\"srtpReplay\":" << c.dropped_srtp_replay
     << ",\"srtpOther\":" << c.dropped_srtp_other << ",\"dtlsEarly\":" << c.dropped_dtls_early
     << ",\"dtlsMalformed\":" << c.dropped_dtls_malformed
     << ",\"stunMalformed\":" << st.ice->counters().dropped_malformed << "}";
  auto& m = st.media.counters();
  auto& t = st.media.tcc_counters();
  os << ",\"media\":{\"unknownSsrc\":" << m.rtp_unknown_ssrc << ",\"ssrcsLearnt\":" << m.ssrcs_learnt
     << ",\"malformed\":" << m.rtp_malformed
     << ",\"injectedDrops\":" << m.rtp_injected_drops << ",\"rtcpMalformed\":" << m.rtcp_malformed
     << ",\"rtcpUnknownSsrc\":" << m.rtcp_unknown_ssrc << ",\"senderReports\":" << m.sender_reports
     << ",\"receiverReports\":" << m.receiver_reports << ",\"nacks\":" << m.nacks
     << ",\"plis\":" << m.plis << ",\"firs\":" << m.firs
     << ",\"transportCcIn\":" << m.tcc_feedback_in << ",\"rembIn\":" << m.remb_in
     << ",\"transportCcOut\":" << m.tcc_feedback_out << ",\"transportCcRecorded\":" << t.recorded
     << ",\"rembOut\":" << m.remb_out << ",\"rtcpThroughLanes\":" << m.rtcp_through_lanes
     << ",\"rtpSent\":" << sc.rtp_sent.load()
     << ",\"rtpSendDropped\":" << sc.dropped_not_ready.load() << ",\"protectFailed\":" << sc.protect_failed.load()
     << "}";
  // The send-side estimate toward this transport's receiver (rtp/send_bwe.hpp).
  const auto& b = st.media.bwe().stats();
  const char* usage = b.usage == rtp::bwe_usage::overusing    ? "overusing"
                      : b.usage == rtp::bwe_usage::underusing ? "underusing"
                                                               : "normal";
  os << ",\"bwe\":{\"targetBps\":" << b.target_bps << ",\"delayBasedBps\":" << b.delay_based_bps
     << ",\"lossBasedBps\":" << b.loss_based_bps << ",\"ackedBps\":";
  if (b.acked_bps)
    os << *b.acked_bps;
  else
    os << "null";
  os << ",\"rembBps\":";
  if (b.remb_bps)
    os << *b.remb_bps;
  else
    os << "null";
  os << ",\"usage\":\"" << usage << "\",\"lossFraction\":" << b.last_loss
     << ",\"feedbacks\":" << b.feedbacks << ",\"packetsAcked\":" << b.packets_acked
     << ",\"packetsLost\":" << b.packets_lost << ",\"packetsLate\":" << b.packets_late
     << ",\"overuses\":" << b.overuses
     << ",\"probesSent\":" << b.probes_sent << ",\"probesSucceeded\":" << b.probes_succeeded
     << ",\"probeCapacityBps\":"
     << (b.probe_capacity_bps ? std::to_string(*b.probe_capacity_bps) : std::string("null"))
     << ",\"probeBytes\":" << st.probe_bytes_out
     << ",\"pacingBps\":" << st.shared->pacing_bps.load(std::memory_order_relaxed) << "}";
  // The allocation over the consumers (layered ones get their layers from it).
  os << ",\"allocation\":{\"consumers\":" << st.alloc.size()
     << ",\"budgetBps\":" << st.alloc_budget << ",\"desiredBps\":" << st.alloc_desired
     << ",\"forwardedBps\":" << st.forwarded_bps << "}";
  if (st.shared->egress_cap_bps.load(std::memory_order_relaxed) != 0 ||
      st.shared->egress_dropped.load(std::memory_order_relaxed) != 0)
    os << ",\"egressCap\":{\"bps\":" << st.shared->egress_cap_bps.load()
       << ",\"dropped\":" << st.shared->egress_dropped.load()
       << ",\"delayed\":" << st.shared->egress_delayed.load() << "}";
  os << st.data.stats_json() << "}";
  return os.str();
}

} // namespace chorus::actors::transports
