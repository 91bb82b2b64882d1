#include "bench/load/report.hpp"

#include <rapidjson/prettywriter.h>
#include <cmath>
#include <rapidjson/stringbuffer.h>

#include <string>

namespace chorus::bench {

figures compute_figures(const bench_result& r) {
  figures f;
  const totals& d = r.delta;
  f.window_s = r.window_s;
  const double w = r.window_s > 0 ? r.window_s : 1;
  f.delivered_packets = d.rx_packets;
  f.delivered_pps = double(d.rx_packets) / w;
  f.delivered_mbps = double(d.rx_bytes) * 8 / w / 1e6;
  f.video_pps = double(d.rx_video_packets) / w;
  f.audio_pps = double(d.rx_audio_packets) / w;
  f.sent_pps = double(d.tx_packets) / w;
  f.sent_kbps = double(d.tx_bytes) * 8 / w / 1e3;
  f.expected = d.expected;
  f.received = d.unique;
  f.loss_percent =
    d.expected > 0 && d.expected > d.unique ? 100.0 * double(d.expected - d.unique) / double(d.expected) : 0.0;
  f.latency_samples = r.latency.count();
  f.latency_p50_ms = double(r.latency.quantile_us(0.50)) / 1000;
  f.latency_p99_ms = double(r.latency.quantile_us(0.99)) / 1000;
  f.latency_max_ms = double(r.latency.max_us()) / 1000;
  f.latency_mean_ms = r.latency.mean_us() / 1000;
  if (r.server_start && r.server_end) {
    const double cpu = r.server_end->cpu_s - r.server_start->cpu_s;
    f.server_cpu_s = cpu;
    f.server_cpu_percent = 100.0 * cpu / w;
    if (d.rx_packets > 0)
      f.server_us_per_packet = cpu * 1e6 / double(d.rx_packets);
    f.server_rss_kib = r.server_end->rss_kib;
    if (r.server_before) {
      const uint64_t before = r.server_before->rss_kib;
      const uint64_t after = r.server_end->rss_kib;
      f.server_rss_delta_kib = after > before ? after - before : 0;
      if (r.consumers > 0)
        f.server_kib_per_consumer = double(*f.server_rss_delta_kib) / double(r.consumers);
    }
    if (r.server_transports && r.consumers > 0) {
      const uint64_t before = r.server_transports->rss_kib;
      const uint64_t after = r.server_end->rss_kib;
      f.server_kib_per_consumer_alone =
        double(after > before ? after - before : 0) / double(r.consumers);
    }
  }
  if (r.options.floor_us) {
    f.floor_us = *r.options.floor_us;
  } else if (r.floor && r.floor->ok()) {
    const uint32_t fanout = r.floor->options.fanouts.empty() ? 1 : r.floor->options.fanouts[0];
    const floor_case* v = r.floor->find("video", fanout);
    const floor_case* a = r.floor->find("audio", fanout);
    if (v && a) {
      f.floor_fanout = fanout;
      f.floor_video_us = v->us_per_packet_out();
      f.floor_audio_us = a->us_per_packet_out();
      // The floor of the delivered mix: video and audio packets weighted as delivered.
      const double nv = double(d.rx_video_packets), na = double(d.rx_audio_packets);
      f.floor_us = nv + na > 0 ? (nv * *f.floor_video_us + na * *f.floor_audio_us) / (nv + na)
                               : *f.floor_video_us;
    }
  }
  if (f.floor_us && f.server_us_per_packet && *f.floor_us > 0)
    f.cpu_per_packet_ratio_to_floor = *f.server_us_per_packet / *f.floor_us;
  if (r.client_start && r.client_end)
    f.client_cpu_percent = 100.0 * (r.client_end->cpu_s - r.client_start->cpu_s) / w;
  return f;
}

namespace {

std::string scenario_line(const bench_result& r) {
  const auto& o = r.options;
  switch (o.kind) {
    case scenario::class_:
      return "class: 1 publisher (audio + " + std::to_string(o.video_kbps) + " kbps video), " +
             std::to_string(o.subscribers) + " subscribers";
    case scenario::meeting:
      return "meeting: " + std::to_string(o.participants) + " participants (audio + " +
             std::to_string(o.video_kbps) + " kbps video each), all receiving all";
    case scenario::rooms:
      return "rooms: " + std::to_string(o.rooms) + " rooms x " + std::to_string(o.participants) +
             " meeting participants (audio + " + std::to_string(o.video_kbps) + " kbps video)";
  }
  return "";
}

} // namespace

void print_table(const bench_result& r, const figures& f, std::FILE* out) {
  const auto& d = r.delta;
  std::fprintf(out, "chorus-bench %s\n", scenario_line(r).c_str());
  std::fprintf(out, "  server %s, run %s, %u client thread%s, window %.2f s after %.1f s warm-up\n",
               r.options.url.c_str(), r.run_id.c_str(), r.options.threads,
               r.options.threads == 1 ? "" : "s", f.window_s, r.options.warmup_s);
  std::fprintf(out, "  setup: %u participants (%u publishing, %u receiving), %llu/%llu consumers, "
               "%u failed, %.2f s%s\n",
               r.participants, r.publishers, r.subscribers, (unsigned long long)r.consumers,
               (unsigned long long)r.expected_consumers, r.failed, r.setup_s,
               r.setup_timed_out ? " (timed out)" : "");
  for (auto& e : r.errors)
    std::fprintf(out, "    error: %s\n", e.c_str());
  std::fprintf(out, "\n");
  auto row = [&](const char* name, const std::string& value) {
    std::fprintf(out, "  %-30s %s\n", name, value.c_str());
  };
  char b[256];
  std::snprintf(b, sizeof b, "%.1f packets/s, %.2f Mbit/s", f.sent_pps, f.sent_kbps / 1000);
  row("sent by publishers", b);
  std::snprintf(b, sizeof b, "%.1f packets/s (video %.1f, audio %.1f), %.2f Mbit/s",
                f.delivered_pps, f.video_pps, f.audio_pps, f.delivered_mbps);
  row("delivered to receivers", b);
  std::snprintf(b, sizeof b, "%.3f %% (%llu of %llu expected not received)", f.loss_percent,
                (unsigned long long)(f.expected - std::min(f.expected, f.received)),
                (unsigned long long)f.expected);
  row("loss", b);
  std::snprintf(b, sizeof b, "p50 %.3f ms, p99 %.3f ms, max %.3f ms (%llu samples)",
                f.latency_p50_ms, f.latency_p99_ms, f.latency_max_ms,
                (unsigned long long)f.latency_samples);
  row("one-way latency", b);
  std::snprintf(b, sizeof b, "%llu NACK (%llu seqs), %llu PLI, %llu RR; %llu resent, %llu RTX in",
                (unsigned long long)d.nack_packets, (unsigned long long)d.nack_seqs,
                (unsigned long long)d.plis_sent, (unsigned long long)d.rr_sent,
                (unsigned long long)d.tx_retransmissions, (unsigned long long)d.rx_rtx);
  row("feedback", b);
  std::snprintf(b, sizeof b, "%llu sent (%llu on request), %llu received",
                (unsigned long long)d.tx_keyframes, (unsigned long long)d.keyframe_requests_received,
                (unsigned long long)d.rx_keyframes);
  row("keyframes", b);
  if (f.server_cpu_s) {
    std::snprintf(b, sizeof b, "%.3f s = %.1f %% of one core", *f.server_cpu_s, *f.server_cpu_percent);
    row("server CPU", b);
    if (f.server_us_per_packet) {
      std::snprintf(b, sizeof b, "%.2f us", *f.server_us_per_packet);
      row("server CPU per delivered packet", b);
    }
    std::snprintf(b, sizeof b, "%.1f MiB", double(*f.server_rss_kib) / 1024);
    row("server RSS", b);
    if (f.server_kib_per_consumer) {
      std::snprintf(b, sizeof b, "%.1f KiB (RSS +%.1f MiB since before setup, %llu consumers)",
                    *f.server_kib_per_consumer, double(*f.server_rss_delta_kib) / 1024,
                    (unsigned long long)r.consumers);
      row("server memory per consumer", b);
    }
    if (f.server_kib_per_consumer_alone) {
      std::snprintf(b, sizeof b, "%.1f KiB (RSS growth since every transport was open)",
                    *f.server_kib_per_consumer_alone);
      row("  consumers alone", b);
    }
  } else {
    row("server", r.options.server_pid ? "no /proc readings" : "no --server-pid");
  }
  if (f.floor_us) {
    if (f.floor_video_us)
      std::snprintf(b, sizeof b, "%.2f us (video %.2f, audio %.2f; fan-out %u, measured on CPU %d)",
                    *f.floor_us, *f.floor_video_us, *f.floor_audio_us, *f.floor_fanout, r.floor->cpu);
    else
      std::snprintf(b, sizeof b, "%.2f us (--floor-us)", *f.floor_us);
    row("floor per forwarded packet", b);
    if (f.cpu_per_packet_ratio_to_floor) {
      std::snprintf(b, sizeof b, "%.2fx", *f.cpu_per_packet_ratio_to_floor);
      row("CPU per packet / floor", b);
    }
  } else if (r.floor) {
    row("floor", ("not measured: " + r.floor->error).c_str());
  }
  if (f.client_cpu_percent) {
    std::snprintf(b, sizeof b, "%.1f %% of one core", *f.client_cpu_percent);
    row("generator CPU", b);
  }
  if (!r.server_alive_after)
    row("server", "EXITED during the run");
  std::fflush(out);
}

std::string to_json(const bench_result& r, const figures& f) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  auto key = [&](const char* k) { w.Key(k); };
  auto str = [&](const char* k, const std::string& v) {
    key(k);
    w.String(v.c_str(), rapidjson::SizeType(v.size()));
  };
  auto u64 = [&](const char* k, uint64_t v) {
    key(k);
    w.Uint64(v);
  };
  auto dbl = [&](const char* k, double v) {
    key(k);
    if (std::isfinite(v)) // rapidjson refuses NaN / infinity: the document would be cut
      w.Double(v);
    else
      w.Null();
  };
  auto opt = [&](const char* k, const auto& v) {
    key(k);
    if (v && std::isfinite(double(*v)))
      w.Double(double(*v));
    else
      w.Null();
  };
  auto sample = [&](const char* k, const std::optional<proc_sample>& s) {
    key(k);
    if (!s) {
      w.Null();
      return;
    }
    w.StartObject();
    dbl("cpuSeconds", s->cpu_s);
    u64("rssKiB", s->rss_kib);
    u64("hwmKiB", s->hwm_kib);
    u64("threads", s->threads);
    w.EndObject();
  };
  const auto& o = r.options;
  const auto& d = r.delta;
  w.StartObject();
  key("ok");
  w.Bool(r.ok());
  str("scenario", to_string(o.kind));
  str("url", o.url);
  str("target", o.target);
  str("runId", r.run_id);
  key("params");
  w.StartObject();
  if (o.kind == scenario::class_)
    u64("subscribers", o.subscribers);
  else
    u64("participants", o.participants);
  if (o.kind == scenario::rooms)
    u64("rooms", o.rooms);
  dbl("durationS", o.duration_s);
  dbl("warmupS", o.warmup_s);
  u64("videoKbps", o.video_kbps);
  dbl("keyframeIntervalS", o.keyframe_interval_s);
  u64("audioBytes", o.audio_bytes);
  u64("threads", o.threads);
  key("serverPid");
  if (o.server_pid)
    w.Int(*o.server_pid);
  else
    w.Null();
  w.EndObject();

  key("setup");
  w.StartObject();
  u64("participants", r.participants);
  u64("publishers", r.publishers);
  u64("subscribers", r.subscribers);
  u64("consumers", r.consumers);
  u64("expectedConsumers", r.expected_consumers);
  u64("consumedById", r.consumed_by_id);
  u64("consumedOldest", r.consumed_oldest);
  u64("failed", r.failed);
  dbl("seconds", r.setup_s);
  key("timedOut");
  w.Bool(r.setup_timed_out);
  key("errors");
  w.StartArray();
  for (auto& e : r.errors)
    w.String(e.c_str(), rapidjson::SizeType(e.size()));
  w.EndArray();
  w.EndObject();

  dbl("windowS", f.window_s);
  key("sent");
  w.StartObject();
  u64("packets", d.tx_packets);
  dbl("packetsPerSec", f.sent_pps);
  u64("bytes", d.tx_bytes);
  dbl("bitrateKbps", f.sent_kbps);
  u64("audioPackets", d.tx_audio_packets);
  u64("videoPackets", d.tx_video_packets);
  u64("frames", d.tx_frames);
  u64("keyframes", d.tx_keyframes);
  u64("retransmissions", d.tx_retransmissions);
  u64("nacksReceived", d.nacks_received);
  u64("keyframeRequestsReceived", d.keyframe_requests_received);
  u64("failed", d.tx_failed);
  w.EndObject();

  key("delivered");
  w.StartObject();
  u64("packets", d.rx_packets);
  dbl("packetsPerSec", f.delivered_pps);
  u64("bytes", d.rx_bytes);
  dbl("bitrateMbps", f.delivered_mbps);
  u64("videoPackets", d.rx_video_packets);
  u64("videoBytes", d.rx_video_bytes);
  u64("audioPackets", d.rx_audio_packets);
  u64("audioBytes", d.rx_audio_bytes);
  u64("rtxPackets", d.rx_rtx);
  u64("late", d.rx_late);
  u64("duplicates", d.rx_duplicates);
  u64("keyframes", d.rx_keyframes);
  w.EndObject();

  key("loss");
  w.StartObject();
  u64("expected", f.expected);
  u64("received", f.received);
  u64("lost", f.expected > f.received ? f.expected - f.received : 0);
  dbl("percent", f.loss_percent);
  w.EndObject();

  key("latencyMs");
  w.StartObject();
  u64("samples", f.latency_samples);
  dbl("p50", f.latency_p50_ms);
  dbl("p99", f.latency_p99_ms);
  dbl("max", f.latency_max_ms);
  dbl("mean", f.latency_mean_ms);
  u64("badStamps", d.rx_bad_stamp);
  // Where arrival times come from: the kernel's receive stamps, or (some packets) the
  // generator's own clock reading, which includes its queueing.
  str("arrivalClock", d.rx_app_stamped == 0                ? "kernel"
                      : d.rx_app_stamped >= d.rx_packets ? "application"
                                                         : "mixed");
  u64("appStampedPackets", d.rx_app_stamped);
  w.EndObject();

  key("feedback");
  w.StartObject();
  u64("nackPackets", d.nack_packets);
  u64("nackSeqs", d.nack_seqs);
  u64("plis", d.plis_sent);
  u64("receiverReports", d.rr_sent);
  u64("senderReportsReceived", d.sr_received);
  w.EndObject();

  key("server");
  w.StartObject();
  opt("cpuSeconds", f.server_cpu_s);
  opt("cpuPercent", f.server_cpu_percent);
  opt("cpuUsPerPacket", f.server_us_per_packet);
  opt("rssKiB", f.server_rss_kib);
  opt("rssDeltaKiB", f.server_rss_delta_kib);
  opt("memoryPerConsumerKiB", f.server_kib_per_consumer);
  opt("memoryPerConsumerAloneKiB", f.server_kib_per_consumer_alone);
  opt("cpuPerPacketRatioToFloor", f.cpu_per_packet_ratio_to_floor);
  key("alive");
  w.Bool(r.server_alive_after);
  sample("beforeSetup", r.server_before);
  sample("afterTransports", r.server_transports);
  sample("afterSetup", r.server_setup);
  sample("windowStart", r.server_start);
  sample("windowEnd", r.server_end);
  w.EndObject();

  key("client");
  w.StartObject();
  opt("cpuPercent", f.client_cpu_percent);
  w.EndObject();

  key("floor");
  if (!f.floor_us && !r.floor) {
    w.Null();
  } else {
    w.StartObject();
    str("source", r.options.floor_us ? "--floor-us" : "measured");
    opt("usPerForwardedPacket", f.floor_us);
    opt("videoUs", f.floor_video_us);
    opt("audioUs", f.floor_audio_us);
    opt("fanout", f.floor_fanout);
    opt("cpuPerPacketRatioToFloor", f.cpu_per_packet_ratio_to_floor);
    if (r.floor) {
      key("measurement");
      const std::string m = floor_to_json(*r.floor);
      w.RawValue(m.c_str(), m.size(), rapidjson::kObjectType);
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

} // namespace chorus::bench
