#include "rtp/send_bwe.hpp"

#include <algorithm>
#include <cmath>

namespace chorus::rtp {

namespace {
constexpr std::size_t max_history = 16384;
constexpr double threshold_min_ms = 6, threshold_max_ms = 600;
constexpr int64_t overuse_decrease_interval_us = 100'000; // without an acknowledged rate
} // namespace

send_bwe::send_bwe(send_bwe_config config)
    : c_(config), delay_bps_(config.start_bps), loss_bps_(config.max_bps) {
  stats_.threshold_ms = c_.initial_threshold_ms;
  update_target();
}

send_bwe::sent_packet* send_bwe::find(uint16_t seq) noexcept {
  if (history_.empty())
    return nullptr;
  const std::size_t i = uint16_t(seq - history_.front().seq);
  if (i >= history_.size() || history_[i].seq != seq)
    return nullptr;
  return &history_[i];
}

void send_bwe::on_packet_sent(uint16_t seq, std::size_t bytes, int64_t send_us, int probe_id) {
  if (!history_.empty() && uint16_t(seq - history_.back().seq) != 1)
    history_.clear(); // not the next transport-wide number: start over
  history_.push_back({seq, uint32_t(bytes), send_us, probe_id});
  newest_send_us_ = std::max(newest_send_us_, send_us);
  while (history_.size() > max_history ||
         (history_.size() > 1 && send_us - history_.front().send_us > c_.history_us))
    history_.pop_front();
  if (probe_id >= 0)
    for (auto& cl : clusters_)
      if (cl.id == probe_id) {
        if (cl.packets == 0)
          cl.first_send = send_us;
        else
          cl.bytes += cl.last_bytes; // every packet but the last counts for the send rate
        cl.last_send = send_us;
        cl.last_bytes = uint32_t(bytes);
        ++cl.packets;
      }
}

void send_bwe::on_feedback(const transport_cc_feedback& fb, int64_t now_us) {
  ++stats_.feedbacks;
  std::size_t received = 0, lost = 0;
  std::size_t window_received = 0, window_lost = 0; // sent after the last loss decrease
  int64_t newest_acked_send_us = -1;
  for (auto& pa : fb.packets) {
    auto* p = find(pa.seq);
    if (!p || p->acked)
      continue;
    const bool in_window = p->send_us > loss_cutoff_send_us_;
    if (!pa.received) {
      // What left before the receiver took its first packet was not lost on the path: it
      // came before the receiver was ready for it (a new transport, a new stream). A packet
      // reported missing again counts once.
      if (any_acked_ && !p->counted_lost) {
        ++lost;
        p->counted_lost = true;
        if (in_window) {
          ++window_lost;
          p->lost_in_window = window_id_;
        }
      }
      if (p->probe_id >= 0 && !p->reported_missing)
        for (auto& cl : clusters_)
          if (cl.id == p->probe_id)
            ++cl.lost_packets;
      p->reported_missing = true;
      continue;
    }
    if (p->counted_lost) { // it came after all: late, not lost
      ++stats_.packets_late;
      --stats_.packets_lost;
      if (p->lost_in_window == window_id_ && window_lost_ > 0)
        --window_lost_;
      p->counted_lost = false;
    }
    if (p->reported_missing && p->probe_id >= 0)
      for (auto& cl : clusters_)
        if (cl.id == p->probe_id && cl.lost_packets > 0)
          --cl.lost_packets;
    any_acked_ = true;
    p->acked = true;
    ++received;
    window_received += in_window ? 1 : 0;
    newest_acked_send_us = std::max(newest_acked_send_us, p->send_us);
    on_arrival(*p, pa.arrival_us);
  }
  if (newest_acked_send_us >= 0) // about a round trip, queueing included
    feedback_delay_us_ = std::clamp<int64_t>(now_us - newest_acked_send_us, 0, 2'000'000);
  stats_.packets_acked += received;
  stats_.packets_lost += lost;
  // Loss over enough packets to mean something: one lost in a feedback of eight is not 12 %.
  window_received_ += window_received;
  window_lost_ += window_lost;
  for (auto& cl : clusters_)
    // Judged once the whole cluster was sent (its packets reach this log only with the
    // feedback, chunk by chunk) and reported.
    if (!cl.done && cl.first_arrival != 0 && received > 0 &&
        cl.last_send - cl.first_send >= cl.duration_us * 3 / 4 &&
        cl.recv_packets + cl.lost_packets >= cl.packets)
      probe_result(cl, now_us);
  std::erase_if(clusters_, [&](const probe_cluster& cl) {
    return cl.done || (cl.packets > 0 && now_us - cl.last_send > 1'000'000) ||
           (cl.packets == 0 && now_us - cl.created_us > 1'000'000); // never sent
  });
  // A capacity a probe found is stale after two probe spacings without another (probes
  // stop when the estimate covers what the consumers want, and only a probe that goes
  // through would clear it), or once the media alone were acknowledged well above it.
  if (stats_.probe_capacity_bps &&
      (now_us - probe_capacity_us_ > 2 * c_.probe_spacing_us ||
       (stats_.acked_bps && *stats_.acked_bps > *stats_.probe_capacity_bps * 6 / 5)))
    stats_.probe_capacity_bps.reset();
  rate_control(now_us);
  if (window_received_ + window_lost_ >= c_.loss_window_packets) {
    const double loss = double(window_lost_) / double(window_received_ + window_lost_);
    stats_.last_loss = loss;
    loss_control(loss, now_us);
    window_received_ = window_lost_ = 0;
    ++window_id_;
  }
  update_target();
}

void send_bwe::on_arrival(const sent_packet& p, int64_t arrival_us) {
  // The acknowledged bitrate: received bytes over the last acked_window_us of arrivals.
  // Arrival times are the receiver's: a clock that went back by more than the window (its
  // 24-bit reference time wrapped, or a receiver that reports nonsense) starts the window
  // again, and the window holds at most max_acked entries whatever the times say.
  if (!acked_.empty() && arrival_us < acked_.back().first - c_.acked_window_us) {
    acked_.clear();
    acked_bytes_ = 0;
  }
  acked_.emplace_back(arrival_us, p.bytes);
  acked_bytes_ += p.bytes;
  while (acked_.size() > max_acked) {
    acked_bytes_ -= acked_.front().second;
    acked_.pop_front();
  }
  while (!acked_.empty() && arrival_us - acked_.front().first > c_.acked_window_us) {
    acked_bytes_ -= acked_.front().second;
    acked_.pop_front();
  }
  const int64_t span = arrival_us - acked_.front().first;
  if (span >= 100'000)
    stats_.acked_bps = uint64_t(double(acked_bytes_ - acked_.front().second) * 8e6 / double(span));

  if (p.probe_id >= 0)
    for (auto& cl : clusters_)
      if (cl.id == p.probe_id && !cl.done) {
        if (cl.first_arrival == 0) {
          cl.first_arrival = arrival_us;
        } else {
          cl.last_arrival = std::max(cl.last_arrival, arrival_us);
          cl.probe_recv_bytes += p.bytes; // all but the first count for the receive rate
        }
        ++cl.recv_packets;
      }

  // Groups of packets sent within burst_us; each completed group against the one before.
  if (!current_.valid) {
    current_ = {p.send_us, p.send_us, arrival_us, true};
    return;
  }
  if (p.send_us - current_.first_send_us <= c_.burst_us) {
    current_.last_send_us = std::max(current_.last_send_us, p.send_us);
    current_.last_arrival_us = std::max(current_.last_arrival_us, arrival_us);
    return;
  }
  if (previous_.valid) {
    const double send_delta = double(current_.last_send_us - previous_.last_send_us);
    const double arrival_delta = double(current_.last_arrival_us - previous_.last_arrival_us);
    update_trend((arrival_delta - send_delta) / 1000.0, current_.last_arrival_us);
  }
  previous_ = current_;
  current_ = {p.send_us, p.send_us, arrival_us, true};
}

void send_bwe::update_trend(double delta_ms, int64_t arrival_us) {
  if (first_arrival_us_ < 0)
    first_arrival_us_ = arrival_us;
  ++deltas_;
  accumulated_ms_ += delta_ms;
  smoothed_ms_ = c_.smoothing * smoothed_ms_ + (1 - c_.smoothing) * accumulated_ms_;
  trend_points_.emplace_back(double(arrival_us - first_arrival_us_) / 1000.0, smoothed_ms_);
  if (trend_points_.size() > c_.trendline_window)
    trend_points_.pop_front();
  double slope = 0;
  if (trend_points_.size() == c_.trendline_window) {
    double mx = 0, my = 0;
    for (auto& [x, y] : trend_points_) {
      mx += x;
      my += y;
    }
    mx /= double(trend_points_.size());
    my /= double(trend_points_.size());
    double num = 0, den = 0;
    for (auto& [x, y] : trend_points_) {
      num += (x - mx) * (y - my);
      den += (x - mx) * (x - mx);
    }
    if (den > 0)
      slope = num / den;
  }
  const double modified = double(std::min<std::size_t>(deltas_, 60)) * slope * c_.trend_gain;
  stats_.trend = modified;
  detect(arrival_us);
}

void send_bwe::detect(int64_t t) {
  const double modified = stats_.trend;
  double& threshold = stats_.threshold_ms;
  const bwe_usage before = stats_.usage;
  if (modified > threshold) {
    if (overuse_since_us_ < 0)
      overuse_since_us_ = t;
    if (t - overuse_since_us_ >= c_.overuse_time_us && modified >= prev_trend_)
      stats_.usage = bwe_usage::overusing;
  } else if (modified < -threshold) {
    overuse_since_us_ = -1;
    stats_.usage = bwe_usage::underusing;
  } else {
    overuse_since_us_ = -1;
    stats_.usage = bwe_usage::normal;
  }
  if (stats_.usage == bwe_usage::overusing && before != bwe_usage::overusing)
    ++stats_.overuses;
  prev_trend_ = modified;
  // The threshold follows |trend| (fast down, slowly up) unless the trend is far above it.
  if (last_threshold_update_us_ < 0)
    last_threshold_update_us_ = t;
  const double magnitude = std::fabs(modified);
  if (magnitude < threshold + 15) {
    const double k = magnitude < threshold ? c_.threshold_down : c_.threshold_up;
    const double dt_ms = std::min(double(t - last_threshold_update_us_) / 1000.0, 100.0);
    threshold = std::clamp(threshold + k * (magnitude - threshold) * dt_ms, threshold_min_ms,
                           threshold_max_ms);
  }
  last_threshold_update_us_ = t;
}

void send_bwe::rate_control(int64_t now_us) {
  if (last_rate_update_us_ < 0)
    last_rate_update_us_ = now_us;
  const double dt_s = std::min(double(now_us - last_rate_update_us_) / 1e6, 1.0);
  last_rate_update_us_ = now_us;
  double rate = double(delay_bps_);
  const auto acked = stats_.acked_bps;
  switch (stats_.usage) {
    case bwe_usage::overusing:
      if (acked) {
        const double lowered = c_.decrease_factor * double(*acked);
        if (lowered < rate) {
          rate = lowered;
          last_congestion_bps_ = double(*acked);
        }
      } else if (last_overuse_decrease_us_ < 0 ||
                 now_us - last_overuse_decrease_us_ >= overuse_decrease_interval_us) {
        rate *= c_.decrease_factor;
        last_overuse_decrease_us_ = now_us;
      }
      break;
    case bwe_usage::underusing: // queues drain: hold
      break;
    case bwe_usage::normal: {
      const bool near_congestion = last_congestion_bps_ && rate > 0.8 * *last_congestion_bps_ &&
                                   rate < 1.25 * *last_congestion_bps_;
      if (near_congestion)
        rate += std::max(1000.0, 1200.0 * 8 / 0.1 * dt_s); // about a packet per 100 ms
      else
        rate *= std::pow(1 + c_.increase_per_second, dt_s);
      // Never far above what the receiver acknowledged; the cap limits the increase, it
      // does not take back what a probe found.
      if (acked)
        rate = std::max(double(delay_bps_), std::min(rate, 1.5 * double(*acked) + 10'000));
      break;
    }
  }
  delay_bps_ = uint64_t(std::clamp(rate, double(c_.min_bps), double(c_.max_bps)));
}

void send_bwe::loss_control(double loss, int64_t now_us) {
  if (last_loss_update_us_ < 0)
    last_loss_update_us_ = now_us;
  const double dt_s = std::min(double(now_us - last_loss_update_us_) / 1e6, 1.0);
  last_loss_update_us_ = now_us;
  if (loss > c_.loss_high) {
    // At most once per interval plus a round trip (the time a decrease takes to show), and
    // never below half of what the path delivered over the last half second: loss says
    // the rate is too high, not that the path carries nothing.
    if (last_loss_decrease_us_ < 0 ||
        now_us - last_loss_decrease_us_ >= c_.loss_decrease_interval_us + feedback_delay_us_) {
      loss_bps_ = uint64_t(double(stats_.target_bps) * (1 - 0.5 * loss));
      if (stats_.acked_bps)
        loss_bps_ = std::max(loss_bps_, *stats_.acked_bps / 2);
      last_loss_decrease_us_ = now_us;
      loss_cutoff_send_us_ = newest_send_us_;
    }
  } else if (loss < c_.loss_low) {
    const double base = double(std::max(loss_bps_, stats_.target_bps));
    loss_bps_ = uint64_t(std::min(double(c_.max_bps), base * std::pow(1 + c_.increase_per_second, dt_s)));
  }
  loss_bps_ = std::clamp(loss_bps_, c_.min_bps, c_.max_bps);
}

void send_bwe::probe_result(probe_cluster& cl, int64_t now_us) {
  if (cl.packets < c_.probe_min_packets)
    return;
  if (cl.recv_packets < c_.probe_min_packets) {
    // Too few arrived to time (a short queue dropped most of a small cluster): the path's
    // limit is below the cluster's rate, and what it delivered lately is the best measure.
    if (cl.lost_packets > 0 && stats_.acked_bps) {
      cl.done = true;
      stats_.probe_capacity_bps = *stats_.acked_bps;
      probe_capacity_us_ = now_us;
    }
    return;
  }
  cl.done = true;
  const int64_t send_span = cl.last_send - cl.first_send;
  const int64_t recv_span = cl.last_arrival - cl.first_arrival;
  if (send_span <= 0 || recv_span <= 0)
    return;
  const double send_bps = double(cl.bytes) * 8e6 / double(send_span);
  const double recv_bps = double(cl.probe_recv_bytes) * 8e6 / double(recv_span);
  // Arrived much faster than it left: the path held the cluster and let it go in a burst
  // (a queue behind a stall, Wi-Fi's aggregation), so its arrivals time the burst, not the
  // path; it tells nothing, neither a rate nor a limit.
  if (recv_bps > c_.probe_max_arrival_ratio * send_bps)
    return;
  // What the path carried: the receive rate, unless the sender was slower than planned.
  const double carried = std::min(send_bps, recv_bps);
  // Arrived slower than it left, or lost some: the cluster found the path's limit, which is
  // what arrived meanwhile (the media's packets shared the path with the probe's).
  if (recv_bps < 0.9 * send_bps || cl.lost_packets > 0) {
    stats_.probe_capacity_bps =
      uint64_t(std::max(carried, arrival_rate(cl.first_arrival, cl.last_arrival).value_or(0)));
    probe_capacity_us_ = now_us;
  } else {
    stats_.probe_capacity_bps.reset();
  }
  if (stats_.usage != bwe_usage::overusing && carried * 0.95 > double(stats_.target_bps)) {
    const auto found = uint64_t(std::min(carried * 0.95, double(c_.max_bps)));
    delay_bps_ = std::max(delay_bps_, found);
    // Every packet of the cluster arrived and the last loss window was clean: the path
    // carries this much, whatever loss lowered the loss-based part before (a cap that was
    // lifted, a burst that is over).
    if (cl.lost_packets == 0 && stats_.last_loss < c_.loss_low)
      loss_bps_ = std::max(loss_bps_, found);
    ++stats_.probes_succeeded;
    update_target();
    // Exponential probing: while the sender wants more, the next cluster doubles at once.
    if (probe_desired_bps_ > stats_.target_bps && planned_.empty())
      planned_.push_back({next_probe_id_++, std::min(probe_desired_bps_, 2 * stats_.target_bps),
                          c_.probe_duration_us, c_.probe_min_packets});
  }
}

std::optional<double> send_bwe::arrival_rate(int64_t from_us, int64_t to_us) const {
  if (to_us <= from_us || acked_.empty() || acked_.front().first > from_us)
    return std::nullopt;
  uint64_t bytes = 0;
  for (const auto& [arrival, size] : acked_)
    if (arrival > from_us && arrival <= to_us)
      bytes += size;
  return double(bytes) * 8e6 / double(to_us - from_us);
}

void send_bwe::on_remb(uint64_t bps, int64_t) {
  stats_.remb_bps = bps;
  update_target();
}

void send_bwe::on_loss_report(double fraction_lost, int64_t now_us) {
  stats_.last_loss = fraction_lost;
  loss_control(fraction_lost, now_us);
  update_target();
}

void send_bwe::request_probe(uint64_t desired_bps, int64_t now_us) {
  probe_desired_bps_ = desired_bps;
  if (desired_bps <= stats_.target_bps || stats_.usage == bwe_usage::overusing ||
      !planned_.empty() || (last_probe_us_ >= 0 && now_us - last_probe_us_ < c_.probe_spacing_us))
    return;
  planned_.push_back({next_probe_id_++, std::min(desired_bps, 2 * stats_.target_bps),
                      c_.probe_duration_us, c_.probe_min_packets});
}

std::optional<probe_request> send_bwe::next_probe(int64_t now_us) {
  if (!initial_probes_planned_) {
    initial_probes_planned_ = true;
    for (uint64_t k : {3u, 6u})
      planned_.push_back({next_probe_id_++, std::min(c_.max_bps, k * c_.start_bps),
                          c_.probe_duration_us, c_.probe_min_packets});
  }
  if (planned_.empty())
    return std::nullopt;
  probe_request r = planned_.front();
  planned_.erase(planned_.begin());
  probe_cluster cl;
  cl.id = r.id;
  cl.bps = r.bps;
  cl.created_us = now_us;
  cl.duration_us = r.duration_us;
  clusters_.push_back(cl);
  last_probe_us_ = now_us;
  ++stats_.probes_sent;
  return r;
}

void send_bwe::update_target() {
  // A receiver that sends REMB and no transport-cc feedback: its REMB is the delay-based
  // part (the receiver ran the delay detector); the start rate would otherwise hold it.
  const bool remb_only = stats_.feedbacks == 0 && stats_.remb_bps.has_value();
  uint64_t t = std::min(remb_only ? *stats_.remb_bps : delay_bps_, loss_bps_);
  if (stats_.remb_bps)
    t = std::min(t, *stats_.remb_bps);
  stats_.target_bps = std::clamp(t, c_.min_bps, c_.max_bps);
  stats_.delay_based_bps = delay_bps_;
  stats_.loss_based_bps = loss_bps_;
}

} // namespace chorus::rtp
