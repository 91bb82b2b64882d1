#include "actors/transport_media.hpp"

#include "actors/consumer.hpp"
#include "actors/process_load.hpp"
#include "actors/producer.hpp"
#include "common/ids.hpp"

#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/srtp_session.hpp"
#include "rtp/transport_cc.hpp"

#include <caf/all.hpp>

#include <algorithm>

namespace chorus::actors {

transport_media::transport_media() : rtcp_ssrc_(ids::random_u32() | 1u) {}

bool transport_media::add_producer(const producer_route& r) {
  auto taken = [&](uint32_t ssrc) {
    auto it = producers_.find(ssrc);
    return ssrc != 0 && it != producers_.end() && it->second.producer != r.producer;
  };
  if (taken(r.ssrc) || taken(r.rtx_ssrc))
    return false;
  for (auto ssrc : r.ssrcs)
    if (taken(ssrc))
      return false;
  in_route route{r.producer, producer_lane(r.producer), r.tcc_ext_id, r.abs_send_time_ext_id};
  for (auto ssrc : r.ssrcs)
    if (ssrc != 0)
      producers_[ssrc] = route;
  if (r.ssrc != 0)
    producers_[r.ssrc] = route;
  if (r.rtx_ssrc != 0)
    producers_[r.rtx_ssrc] = route;
  if (r.tcc_ext_id != 0)
    tcc_seen_ = true;
  remb_needed_ = !tcc_seen_ && (remb_needed_ || r.abs_send_time_ext_id != 0);
  if (media_ssrc_ == 0)
    media_ssrc_ = r.ssrc;
  if (r.max_ssrcs != 0 && (!r.mid.empty() || !r.rids.empty()))
    learners_.push_back(
      {route, r.mid, r.mid_ext_id, r.rid_ext_id, r.rrid_ext_id, r.rids, r.max_ssrcs, 0});
  return true;
}

transport_media::in_route* transport_media::learn(uint32_t ssrc,
                                                  std::span<const uint8_t> packet) {
  if (learners_.empty() || ssrc == 0) // 0 names no stream (and marks unlearnt encodings)
    return nullptr;
  // parse() takes writable bytes: a reused copy (a stray SSRC must not cost an allocation).
  thread_local std::vector<uint8_t> copy;
  copy.assign(packet.begin(), packet.end());
  auto view = rtp::rtp_packet::parse(copy);
  if (!view)
    return nullptr;
  learner* found = nullptr;
  for (auto& l : learners_) {
    std::optional<std::string_view> rid;
    if (l.rid_ext_id != 0)
      rid = view->rid(l.rid_ext_id);
    if (!rid && l.rrid_ext_id != 0)
      rid = view->rid(l.rrid_ext_id);
    const bool listed_rid = rid && std::find(l.rids.begin(), l.rids.end(), *rid) != l.rids.end();
    if (l.mid_ext_id != 0 && !l.mid.empty()) {
      if (auto mid = view->mid(l.mid_ext_id)) {
        // This producer's mid; with rids, also one of its rids: a stream the producer does
        // not list must not take one of its bounded slots.
        if (*mid == l.mid && (l.rids.empty() || listed_rid)) {
          found = &l;
          break;
        }
        continue; // another producer's mid, or a rid it does not list
      }
    }
    // No mid element: a rid (or repaired rid) that only this producer lists.
    if (listed_rid) {
      if (found != nullptr)
        return nullptr; // ambiguous
      found = &l;
    }
  }
  if (found == nullptr || found->bound >= found->max_ssrcs)
    return nullptr;
  ++found->bound;
  ++counters_.ssrcs_learnt;
  if (media_ssrc_ == 0)
    media_ssrc_ = ssrc;
  return &(producers_[ssrc] = found->route);
}

void transport_media::add_consumer(const consumer_route& r) {
  const out_route route{r.consumer, consumer_lane(r.consumer)};
  consumers_[r.ssrc] = route;
  if (r.rtx_ssrc != 0)
    consumers_[r.rtx_ssrc] = route;
}

std::vector<caf::actor> transport_media::consumer_actors() const {
  std::vector<caf::actor> out;
  for (auto& [ssrc, route] : consumers_)
    if (std::find(out.begin(), out.end(), route.consumer) == out.end())
      out.push_back(route.consumer);
  return out;
}

void transport_media::remove(const caf::actor_addr& who, rtp::srtp_session* srtp_in) {
  std::vector<uint32_t> freed;
  std::erase_if(producers_, [&](auto& kv) {
    const bool ends = kv.second.producer.address() == who;
    if (ends) {
      if (kv.second.seen)
        freed.push_back(kv.first);
      else if (srtp_in != nullptr) // no RTP came: nothing of a stream to keep
        srtp_in->remove_stream(kv.first);
    }
    return ends;
  });
  // Joined only now that every SSRC of the actor is routed nowhere (note_unrouted asks).
  if (srtp_in != nullptr)
    for (const uint32_t ssrc : freed)
      note_unrouted(ssrc, *srtp_in);
  std::erase_if(learners_, [&](auto& l) { return l.route.producer.address() == who; });
  if (!producers_.count(media_ssrc_)) // the feedback names a producer that is still here
    media_ssrc_ = producers_.empty() ? 0 : producers_.begin()->first;
  std::erase_if(consumers_, [&](auto& kv) { return kv.second.consumer.address() == who; });
}

void transport_media::note_unrouted(uint32_t ssrc, rtp::srtp_session& srtp_in) {
  if (const auto out = unrouted_.touch(ssrc); out && !routes(*out))
    srtp_in.remove_stream(*out);
}

void transport_media::note_rtcp_sender(std::span<const uint8_t> rtcp,
                                       rtp::srtp_session& srtp_in) {
  if (rtcp.size() < rtp::rtcp_header_size + 4)
    return;
  const uint32_t ssrc = rtp::rtcp_sender_ssrc_of(rtcp);
  if (routes(ssrc)) // a producer's own SRs: its state lives with its route
    return;
  const auto out = rtcp_senders_.touch(ssrc);
  if (out && !routes(*out) && !unrouted_.contains(*out))
    srtp_in.remove_stream(*out);
}

bool transport_media::on_rtp(std::span<const uint8_t> packet, int64_t now_ms, int64_t now_us) {
  if (packet.size() < rtp::rtp_fixed_header_size) {
    ++counters_.rtp_malformed;
    return true;
  }
  const uint32_t ssrc = rtp::rtp_ssrc_of(packet);
  in_route* found = nullptr;
  if (auto it = producers_.find(ssrc); it != producers_.end())
    found = &it->second;
  else
    found = learn(ssrc, packet);
  if (found == nullptr) {
    ++counters_.rtp_unknown_ssrc;
    return false;
  }
  if (!found->seen)
    found->seen = true;
  const auto& route = *found;
  // The extensions are read here, before the producer maps them: the ids are the client's.
  std::vector<uint8_t> copy(packet.begin(), packet.end());
  auto view = rtp::rtp_packet::parse(copy);
  if (!view) {
    ++counters_.rtp_malformed;
    return true;
  }
  if (route.tcc_ext_id != 0)
    if (auto seq = view->transport_wide_seq(route.tcc_ext_id))
      tcc_.on_packet(*seq, now_us);
  if (remb_needed_)
    remb_.on_packet(copy.size(), now_ms, view->abs_send_time(route.abs_send_time_ext_id));
  for (auto& p : pending_)
    if (p.producer == route.producer) {
      p.batch.packets.push_back(std::move(copy));
      return true;
    }
  rtp_in batch;
  if (!spare_lists_.empty()) {
    batch.packets = std::move(spare_lists_.back());
    spare_lists_.pop_back();
  }
  batch.packets.push_back(std::move(copy));
  pending_.push_back({route.producer, route.lane, std::move(batch)});
  return true;
}

void transport_media::flush(caf::event_based_actor* self, int64_t now_ms) {
  // An idle producer takes its batch through its lane (actors/lane.hpp), not while this
  // thread is busy (lanes_busy; the workers then spread producers and transports over the
  // cores).
  const bool lanes = !pending_.empty() && !lanes_busy(now_ms);
  for (auto& p : pending_) {
    p.batch.arrival_ms = now_ms;
    if (lanes && p.lane && enter_producer_lane(p.lane, p.batch, self->context())) {
      if (spare_lists_.size() < spare_lists_max &&
          p.batch.packets.capacity() <= spare_list_max_packets) {
        p.batch.packets.clear(); // what the producer left (packets it dropped) goes now
        spare_lists_.push_back(std::move(p.batch.packets));
      }
      continue;
    }
    self->send(p.producer, std::move(p.batch));
  }
  pending_.clear();
}

void transport_media::on_rtcp(caf::event_based_actor* self, std::span<const uint8_t> datagram,
                              int64_t now_ms) {
  auto to_consumer = [&](uint32_t ssrc) -> const out_route* {
    auto it = consumers_.find(ssrc);
    if (it == consumers_.end()) {
      ++counters_.rtcp_unknown_ssrc;
      return nullptr;
    }
    return &it->second;
  };
  // Through an idle consumer's lane (consumer.hpp), else as a message.
  auto deliver = [&](const out_route& c, auto&& msg) {
    if (c.lane && enter_consumer_lane(c.lane, msg, self->context()))
      ++counters_.rtcp_through_lanes;
    else
      self->send(c.consumer, std::move(msg));
  };
  auto report_blocks = [&](const std::vector<rtp::report_block>& blocks) {
    for (auto& b : blocks)
      if (auto c = to_consumer(b.ssrc)) {
        deliver(*c, report_block_in{b});
        if (send_log_ && !send_log_->send_log_on.load(std::memory_order_relaxed)) // no transport-cc: loss from the reports
          bwe_.on_loss_report(double(b.fraction_lost) / 256.0, now_ms * 1000);
      }
  };
  rtp::rtcp_compound_reader reader{datagram};
  while (auto p = reader.next()) {
    switch (p->header.type) {
      case uint8_t(rtp::rtcp_type::sr): {
        auto sr = rtp::sender_report::parse(*p);
        if (!sr) {
          ++counters_.rtcp_malformed;
          break;
        }
        ++counters_.sender_reports;
        if (auto it = producers_.find(sr->ssrc); it != producers_.end())
          self->send(it->second.producer,
                     sender_report_in{sr->ssrc, sr->ntp_timestamp, sr->rtp_timestamp, now_ms});
        report_blocks(sr->reports);
        break;
      }
      case uint8_t(rtp::rtcp_type::rr): {
        auto rr = rtp::receiver_report::parse(*p);
        if (!rr) {
          ++counters_.rtcp_malformed;
          break;
        }
        ++counters_.receiver_reports;
        report_blocks(rr->reports);
        break;
      }
      case uint8_t(rtp::rtcp_type::rtpfb):
        if (p->header.count == rtp::rtpfb_nack) {
          auto nack = rtp::generic_nack::parse(*p);
          if (!nack) {
            ++counters_.rtcp_malformed;
            break;
          }
          ++counters_.nacks;
          if (auto c = to_consumer(nack->media_ssrc))
            deliver(*c, nack_in{nack->lost_sequence_numbers()});
        } else if (p->header.count == rtp::rtpfb_transport_cc) {
          ++counters_.tcc_feedback_in;
          auto fb = rtp::transport_cc_feedback::parse(*p);
          if (!fb) {
            ++counters_.rtcp_malformed;
            break;
          }
          if (send_log_) {
            send_log_->send_log_on.store(true, std::memory_order_relaxed);
            {
              std::lock_guard<std::mutex> g(send_log_->send_log_mutex);
              sent_.swap(send_log_->send_log);
            }
            for (auto& r : sent_)
              bwe_.on_packet_sent(r.seq, r.bytes, r.send_us, r.probe_id);
            sent_.clear();
            bwe_.on_feedback(*fb, now_ms * 1000);
          }
        }
        break;
      case uint8_t(rtp::rtcp_type::psfb):
        if (p->header.count == rtp::psfb_pli) {
          auto pli = rtp::picture_loss_indication::parse(*p);
          if (!pli) {
            ++counters_.rtcp_malformed;
            break;
          }
          ++counters_.plis;
          if (auto c = to_consumer(pli->media_ssrc))
            self->send(c->consumer, keyframe_feedback{false});
        } else if (p->header.count == rtp::psfb_fir) {
          auto fir = rtp::full_intra_request::parse(*p);
          if (!fir) {
            ++counters_.rtcp_malformed;
            break;
          }
          ++counters_.firs;
          for (auto& e : fir->entries)
            if (auto c = to_consumer(e.ssrc))
              self->send(c->consumer, keyframe_feedback{true});
        } else if (rtp::is_remb(*p)) {
          ++counters_.remb_in;
          if (auto r = rtp::remb::parse(*p); r && send_log_)
            bwe_.on_remb(r->bitrate_bps, now_ms * 1000);
        }
        break;
      default: // SDES, BYE, APP, XR: nothing to act on
        break;
    }
  }
  if (reader.error())
    ++counters_.rtcp_malformed;
}

void transport_media::feedback(int64_t now_ms, int64_t now_us,
                               std::vector<std::vector<uint8_t>>& out) {
  if (tcc_seen_ && tcc_.due(now_us)) {
    auto before = out.size();
    tcc_.build(rtcp_ssrc_, media_ssrc_, now_us, out);
    counters_.tcc_feedback_out += out.size() - before;
  }
  if (remb_needed_ && remb_.update(now_ms)) {
    rtp::remb r;
    r.sender_ssrc = rtcp_ssrc_;
    r.bitrate_bps = remb_.estimate_bps();
    for (auto& [ssrc, route] : producers_)
      if (r.ssrcs.size() < 255)
        r.ssrcs.push_back(ssrc);
    if (auto bytes = rtp::to_bytes(r)) {
      out.push_back(std::move(*bytes));
      ++counters_.remb_out;
    }
  }
}

} // namespace chorus::actors
