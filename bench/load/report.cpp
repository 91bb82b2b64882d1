#include "bench/load/report.hpp"

#include "bench/client/json_fields.hpp"

#include <rapidjson/prettywriter.h>
#include <cmath>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace chorus::bench {

namespace {

figures::latency_subset subset_of(const latency_histogram& h) {
  return {h.count(), double(h.quantile_us(0.50)) / 1000, double(h.quantile_us(0.99)) / 1000,
          double(h.max_us()) / 1000};
}

} // namespace

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
  f.audio_latency = subset_of(r.audio_latency);
  f.keyframe_latency = subset_of(r.keyframe_latency);
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

std::optional<storm_figures> compute_storm(const bench_result& r, const figures& f) {
  if (!r.options.storm || r.storm_start_us == 0)
    return std::nullopt;
  storm_figures s;
  s.subscribers = r.options.subscribers;
  s.concurrency = r.options.threads - 1;
  s.with_media = r.storm_with_media;
  const uint64_t t0 = r.storm_start_us;
  auto quantiles = [&](auto pick) {
    std::vector<uint64_t> v;
    for (auto& m : r.storm_marks)
      if (uint64_t t = pick(m); t >= t0)
        v.push_back(t - t0);
    std::sort(v.begin(), v.end());
    stage_quantiles q;
    q.count = uint32_t(v.size());
    if (v.empty())
      return q;
    auto at = [&](double p) {
      const std::size_t rank = std::size_t(std::ceil(p * double(v.size())));
      return double(v[std::min(v.size() - 1, rank > 0 ? rank - 1 : 0)]) / 1000;
    };
    q.p50_ms = at(0.50);
    q.p90_ms = at(0.90);
    q.p99_ms = at(0.99);
    q.max_ms = double(v.back()) / 1000;
    return q;
  };
  // A stage not reached is 0 in the marks, before t0: left out.
  s.connected = quantiles([](const setup_marks& m) { return m.connected_us; });
  s.transport = quantiles([](const setup_marks& m) { return m.transport_us; });
  s.consumed = quantiles([](const setup_marks& m) { return m.consumed_us; });
  s.first_audio = quantiles([](const setup_marks& m) { return m.first_audio_us; });
  s.first_video = quantiles([](const setup_marks& m) { return m.first_video_us; });
  s.first_media = quantiles([](const setup_marks& m) {
    return m.first_audio_us && m.first_video_us ? std::max(m.first_audio_us, m.first_video_us)
                                                : uint64_t(0);
  });
  for (auto& m : r.storm_marks)
    if (m.first_audio_us && m.first_video_us &&
        std::max(m.first_audio_us, m.first_video_us) - t0 <= 3'000'000)
      ++s.within_3s;
  s.seconds = s.first_media.count == s.subscribers ? s.first_media.max_ms / 1000
                                                    : double(r.storm_end_us - t0) / 1e6;
  s.joins_per_s = s.seconds > 0 ? double(s.with_media) / s.seconds : 0;
  if (r.server_storm_start && r.server_storm_end) {
    const double cpu = r.server_storm_end->cpu_s - r.server_storm_start->cpu_s;
    const double wall = double(r.storm_end_us - t0) / 1e6;
    s.server_cpu_s = cpu;
    if (s.subscribers > 0)
      s.server_cpu_ms_per_join = 1000 * cpu / double(s.subscribers);
    if (wall > 0)
      s.server_cpu_percent = 100 * cpu / wall;
    if (f.server_us_per_packet && s.subscribers > 0 && f.window_s > 0) {
      double receiving_s = 0;
      for (auto& m : r.storm_marks) {
        const uint64_t first = std::min(m.first_audio_us ? m.first_audio_us : ~uint64_t(0),
                                        m.first_video_us ? m.first_video_us : ~uint64_t(0));
        if (first < r.storm_end_us)
          receiving_s += double(r.storm_end_us - first) / 1e6;
      }
      const double pps_per_subscriber = f.delivered_pps / double(s.subscribers);
      s.media_packets_estimate = receiving_s * pps_per_subscriber;
      const double media_cpu = *s.media_packets_estimate * *f.server_us_per_packet / 1e6;
      s.setup_cpu_ms_per_join = 1000 * std::max(0.0, cpu - media_cpu) / double(s.subscribers);
    }
  }
  if (r.client_storm_start && r.client_storm_end && r.storm_end_us > t0)
    s.client_cpu_percent = 100 * (r.client_storm_end->cpu_s - r.client_storm_start->cpu_s) /
                           (double(r.storm_end_us - t0) / 1e6);
  return s;
}

namespace {

// The storm's stages, as the table and the JSON name them.
struct storm_stage {
  const char* table;
  const char* json;
  stage_quantiles storm_figures::*field;
};
constexpr storm_stage storm_stages[] = {
  {"  joined (from the start)", "joined", &storm_figures::connected},
  {"  transport connected", "transportConnected", &storm_figures::transport},
  {"  consuming", "consuming", &storm_figures::consumed},
  {"  first audio", "firstAudio", &storm_figures::first_audio},
  {"  first video", "firstVideo", &storm_figures::first_video},
  {"  first audio and video", "firstMedia", &storm_figures::first_media},
};

// The simulcast encodings of a publisher (--simulcast), lowest first.
std::vector<video_config> encodings_of(const bench_options& o) {
  video_config top;
  top.kbps = o.video_kbps;
  return o.simulcast ? simulcast_ladder(top) : std::vector<video_config>{};
}

std::string scenario_line(const bench_result& r) {
  const auto& o = r.options;
  // "1000 kbps video", or with --simulcast "simulcast video (3 encodings, top 1000 kbps)".
  const std::string video = o.simulcast ? "simulcast video (3 encodings, top " +
                                            std::to_string(o.video_kbps) + " kbps)"
                                        : std::to_string(o.video_kbps) + " kbps video";
  switch (o.kind) {
    case scenario::class_:
      if (o.storm)
        return "storm: 1 publisher (audio + " + video + ") sending, " +
               std::to_string(o.subscribers) + " subscribers joining at once";
      return "class: 1 publisher (audio + " + video + "), " + std::to_string(o.subscribers) +
             " subscribers";
    case scenario::meeting:
      return "meeting: " + std::to_string(o.participants) + " participants (audio + " + video +
             " each), all receiving all";
    case scenario::rooms:
      return "rooms: " + std::to_string(o.rooms) + " rooms x " + std::to_string(o.participants) +
             " meeting participants (audio + " + video + ")";
  }
  return "";
}

} // namespace

std::vector<node_figure> node_figures(const bench_result& r) {
  std::vector<node_figure> out;
  const auto urls = split_urls(r.options.url);
  if (r.nodes_start.size() != urls.size() || r.nodes_end.size() != urls.size() || r.window_s <= 0)
    return out;
  // The packets that crossed links: what every node's relays received.
  uint64_t crossed = 0;
  for (std::size_t i = 0; i < urls.size(); ++i)
    if (r.nodes_start[i].relays && r.nodes_end[i].relays)
      crossed += r.nodes_end[i].relays->packets_in - r.nodes_start[i].relays->packets_in;
  for (std::size_t i = 0; i < urls.size(); ++i) {
    node_figure n;
    n.url = urls[i];
    auto& a = r.nodes_start[i];
    auto& z = r.nodes_end[i];
    uint64_t in = 0, relayed_out = 0;
    if (a.relays && z.relays) {
      in = z.relays->packets_in - a.relays->packets_in;
      relayed_out = z.relays->packets_out - a.relays->packets_out;
      n.relay_in_pps = double(in) / r.window_s;
      n.relay_out_pps = double(relayed_out) / r.window_s;
    }
    if (a.cpu && z.cpu) {
      const double cpu = z.cpu->cpu_s - a.cpu->cpu_s;
      n.cpu_percent = 100 * cpu / r.window_s;
      // A receiving node of a class with --remote-subscribers does nothing else; the
      // publisher's node (no relays in) sends every packet over its links.
      if (relayed_out > 0)
        n.us_per_relayed_out = cpu * 1e6 / double(relayed_out);
      else if (in == 0 && crossed > 0 && r.options.remote_subscribers && i == 0)
        n.us_per_link_packet = cpu * 1e6 / double(crossed);
    }
    out.push_back(std::move(n));
  }
  return out;
}

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
  if (r.sampled < r.subscribers)
    std::fprintf(out, "  decrypted and timed: %u of %u receivers (--decrypt-sample %u)\n",
                 r.sampled, r.subscribers, r.options.decrypt_sample);
  if (r.options.receiver_gro)
    std::fprintf(out, "  receivers take segmented messages whole (--receiver-gro)\n");
  for (auto& e : r.errors)
    std::fprintf(out, "    error: %s\n", e.c_str());
  std::fprintf(out, "\n");
  auto row = [&](const char* name, const std::string& value) {
    std::fprintf(out, "  %-30s %s\n", name, value.c_str());
  };
  char b[256];
  if (auto s = compute_storm(r, f)) {
    std::snprintf(b, sizeof b, "%u of %u subscribers with audio and video, %u within 3 s; "
                  "%.2f s, %.1f joins/s (%u at a time)",
                  s->with_media, s->subscribers, s->within_3s, s->seconds, s->joins_per_s,
                  s->concurrency);
    row("storm", b);
    auto stage = [&](const char* name, const stage_quantiles& q) {
      std::snprintf(b, sizeof b, "p50 %.0f ms, p90 %.0f, p99 %.0f, max %.0f (%u)", q.p50_ms,
                    q.p90_ms, q.p99_ms, q.max_ms, q.count);
      row(name, b);
    };
    for (auto& st : storm_stages)
      stage(st.table, (*s).*st.field);
    if (s->server_cpu_s) {
      std::snprintf(b, sizeof b, "%.3f s (%.1f %% of one core), %.2f ms per join",
                    *s->server_cpu_s, s->server_cpu_percent.value_or(0),
                    s->server_cpu_ms_per_join.value_or(0));
      row("  server CPU in the storm", b);
    }
    if (s->setup_cpu_ms_per_join) {
      std::snprintf(b, sizeof b, "%.2f ms per join (%.0f packets forwarded meanwhile, "
                    "at the window's CPU per packet, taken out)",
                    *s->setup_cpu_ms_per_join, *s->media_packets_estimate);
      row("  of which the joins", b);
    }
    if (s->client_cpu_percent) {
      std::snprintf(b, sizeof b, "%.1f %% of one core", *s->client_cpu_percent);
      row("  generator CPU in the storm", b);
    }
    std::fprintf(out, "\n  then the measured window:\n");
  }
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
  for (auto [name, l] : {std::pair{"  audio alone", &f.audio_latency},
                         std::pair{"  video keyframes alone", &f.keyframe_latency}}) {
    if (l->samples == 0)
      continue;
    std::snprintf(b, sizeof b, "p50 %.3f ms, p99 %.3f ms, max %.3f ms (%llu samples)", l->p50_ms,
                  l->p99_ms, l->max_ms, (unsigned long long)l->samples);
    row(name, b);
  }
  if (const auto& a = r.class_activity; r.options.chat_per_s > 0 || r.options.poll) {
    const uint64_t expected = a.chat_sent * r.subscribers;
    std::snprintf(b, sizeof b, "%llu sent, %llu of %llu deliveries; p50 %.1f ms, p99 %.1f, max %.1f",
                  (unsigned long long)a.chat_sent, (unsigned long long)a.chat.count(),
                  (unsigned long long)expected, double(a.chat.quantile_us(0.5)) / 1000,
                  double(a.chat.quantile_us(0.99)) / 1000, double(a.chat.max_us()) / 1000);
    row("chat to every subscriber", b);
    if (r.options.poll) {
      std::snprintf(b, sizeof b, "%llu votes; %llu of %u saw every vote counted, p50 %.0f ms, "
                    "p99 %.0f, max %.0f after the poll opened",
                    (unsigned long long)a.votes_sent, (unsigned long long)a.tally.count(),
                    r.subscribers, double(a.tally.quantile_us(0.5)) / 1000,
                    double(a.tally.quantile_us(0.99)) / 1000, double(a.tally.max_us()) / 1000);
      row("poll tally", b);
    }
  }
  std::snprintf(b, sizeof b, "%llu NACK (%llu seqs), %llu PLI, %llu RR; %llu resent, %llu RTX in",
                (unsigned long long)d.nack_packets, (unsigned long long)d.nack_seqs,
                (unsigned long long)d.plis_sent, (unsigned long long)d.rr_sent,
                (unsigned long long)d.tx_retransmissions, (unsigned long long)d.rx_rtx);
  row("feedback", b);
  std::snprintf(b, sizeof b, "%llu sent (%llu on request), %llu received",
                (unsigned long long)d.tx_keyframes, (unsigned long long)d.keyframe_requests_received,
                (unsigned long long)d.rx_keyframes);
  row("keyframes", b);
  if (r.options.simulcast) {
    const auto enc = encodings_of(r.options);
    const double w = f.window_s > 0 ? f.window_s : 1;
    std::string sent, delivered, kbps;
    for (std::size_t i = 0; i < enc.size(); ++i) {
      std::snprintf(b, sizeof b, "%sL%zu %.1f", i ? ", " : "", i, double(d.tx_encoding_packets[i]) / w);
      sent += b;
      std::snprintf(b, sizeof b, "%sL%zu %.1f", i ? ", " : "", i, double(d.rx_encoding_packets[i]) / w);
      delivered += b;
      std::snprintf(b, sizeof b, "%s%u", i ? "/" : "", enc[i].kbps);
      kbps += b;
    }
    std::snprintf(b, sizeof b, "%zu encodings (%s kbps, L1T3); %u of %u receivers ask for layer 0",
                  enc.size(), kbps.c_str(), r.low_layer_receivers, r.subscribers);
    row("simulcast", b);
    row("  sent by encoding (packets/s)", sent);
    std::snprintf(b, sizeof b, "%s; %llu off target%s", delivered.c_str(),
                  (unsigned long long)d.rx_off_target,
                  r.sampled < r.subscribers ? " (decrypted receivers only)" : "");
    row("  delivered by encoding", b);
    for (auto& v : r.server_views) {
      const char* name = v.low ? "  server: a layer-0 receiver" : "  server: a top receiver";
      if (!v.error.empty()) {
        row(name, v.error);
        continue;
      }
      std::snprintf(b, sizeof b,
                    "feedback in: %llu transport-cc, %llu REMB, %llu RR; estimate: %llu "
                    "feedbacks, %llu bps; allocation budget %s; layers preferred %d, current %d/%d",
                    (unsigned long long)v.transport_cc_in, (unsigned long long)v.remb_in,
                    (unsigned long long)v.receiver_reports, (unsigned long long)v.bwe_feedbacks,
                    (unsigned long long)v.bwe_target_bps,
                    v.alloc_budget_bps ? std::to_string(v.alloc_budget_bps).c_str() : "none (uncapped)",
                    v.preferred_spatial, v.current_spatial, v.current_temporal);
      row(name, b);
    }
  }
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
  for (auto& n : node_figures(r)) {
    std::string line = n.url + ": ";
    if (n.relay_in_pps) {
      std::snprintf(b, sizeof b, "relays in %.1f packets/s (the link into it), out %.1f packets/s",
                    *n.relay_in_pps, *n.relay_out_pps);
      line += b;
    } else {
      line += "no relay counters";
    }
    if (n.cpu_percent) {
      std::snprintf(b, sizeof b, "; CPU %.1f %%", *n.cpu_percent);
      line += b;
      if (n.us_per_relayed_out) {
        std::snprintf(b, sizeof b, ", %.2f us per relayed packet handed out", *n.us_per_relayed_out);
        line += b;
      }
      if (n.us_per_link_packet) {
        std::snprintf(b, sizeof b, ", %.2f us per packet sent over its links", *n.us_per_link_packet);
        line += b;
      }
    }
    row("node", line);
  }
  std::fflush(out);
}

std::string to_json(const bench_result& r, const figures& f) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  client::json_fields j(w);
  auto sample = [&](const char* k, const std::optional<proc_sample>& s) {
    j.key(k);
    if (!s) {
      w.Null();
      return;
    }
    w.StartObject();
    j.num("cpuSeconds", s->cpu_s);
    j.boolean("cpuClock", s->cpu_precise);
    j.u64("rssKiB", s->rss_kib);
    j.u64("hwmKiB", s->hwm_kib);
    j.u64("threads", s->threads);
    w.EndObject();
  };
  const auto& o = r.options;
  const auto& d = r.delta;
  w.StartObject();
  j.boolean("ok", r.ok());
  j.str("scenario", o.storm ? "storm" : to_string(o.kind));
  j.str("url", o.url);
  j.str("target", o.target);
  j.str("runId", r.run_id);
  j.key("params");
  w.StartObject();
  if (o.kind == scenario::class_) {
    j.u64("subscribers", o.subscribers);
    if (!o.subscriber_role.empty())
      j.str("subscriberRole", o.subscriber_role);
  } else
    j.u64("participants", o.participants);
  if (o.kind == scenario::rooms)
    j.u64("rooms", o.rooms);
  j.num("durationS", o.duration_s);
  j.num("warmupS", o.warmup_s);
  j.u64("videoKbps", o.video_kbps);
  j.num("keyframeIntervalS", o.keyframe_interval_s);
  j.u64("audioBytes", o.audio_bytes);
  j.u64("threads", o.threads);
  j.u64("decryptSample", o.decrypt_sample);
  j.boolean("busyPoll", o.busy_poll);
  j.boolean("receiverGro", o.receiver_gro);
  j.boolean("simulcast", o.simulcast);
  j.u64("simulcastLowPercent", o.simulcast_low_percent);
  j.num("paceFactor", o.pace_factor);
  j.opt_int("serverPid", o.server_pid);
  w.EndObject();

  j.key("setup");
  w.StartObject();
  j.u64("participants", r.participants);
  j.u64("publishers", r.publishers);
  j.u64("subscribers", r.subscribers);
  j.u64("sampled", r.sampled); // receivers that decrypt and time their media (--decrypt-sample)
  j.u64("consumers", r.consumers);
  j.u64("expectedConsumers", r.expected_consumers);
  j.u64("consumedById", r.consumed_by_id);
  j.u64("consumedOldest", r.consumed_oldest);
  j.u64("failed", r.failed);
  j.num("seconds", r.setup_s);
  j.boolean("timedOut", r.setup_timed_out);
  j.key("errors");
  w.StartArray();
  for (auto& e : r.errors)
    w.String(e.c_str(), rapidjson::SizeType(e.size()));
  w.EndArray();
  w.EndObject();

  j.num("windowS", f.window_s);
  if (const auto& a = r.class_activity; r.options.chat_per_s > 0 || r.options.poll) {
    auto quantiles = [&](const char* k, const latency_histogram& h) {
      j.key(k);
      w.StartObject();
      j.u64("count", h.count());
      j.num("p50Ms", double(h.quantile_us(0.5)) / 1000);
      j.num("p99Ms", double(h.quantile_us(0.99)) / 1000);
      j.num("maxMs", double(h.max_us()) / 1000);
      w.EndObject();
    };
    j.key("classActivity");
    w.StartObject();
    j.num("chatPerS", r.options.chat_per_s);
    j.u64("chatSent", a.chat_sent);
    j.u64("chatExpected", a.chat_sent * r.subscribers);
    quantiles("chat", a.chat);
    j.boolean("poll", r.options.poll);
    j.u64("votesSent", a.votes_sent);
    quantiles("tally", a.tally);
    w.EndObject();
  }
  if (auto s = compute_storm(r, f)) {
    j.key("storm");
    w.StartObject();
    j.u64("subscribers", s->subscribers);
    j.u64("concurrency", s->concurrency);
    j.u64("withMedia", s->with_media);
    j.u64("within3s", s->within_3s);
    j.num("seconds", s->seconds);
    j.num("joinsPerSec", s->joins_per_s);
    auto stage = [&](const char* k, const stage_quantiles& q) {
      j.key(k);
      w.StartObject();
      j.u64("count", q.count);
      j.num("p50Ms", q.p50_ms);
      j.num("p90Ms", q.p90_ms);
      j.num("p99Ms", q.p99_ms);
      j.num("maxMs", q.max_ms);
      w.EndObject();
    };
    for (auto& st : storm_stages)
      stage(st.json, (*s).*st.field);
    j.opt("serverCpuSeconds", s->server_cpu_s);
    j.opt("serverCpuMsPerJoin", s->server_cpu_ms_per_join);
    j.opt("serverCpuPercent", s->server_cpu_percent);
    j.opt("mediaPacketsEstimate", s->media_packets_estimate);
    j.opt("setupCpuMsPerJoin", s->setup_cpu_ms_per_join);
    j.opt("clientCpuPercent", s->client_cpu_percent);
    w.EndObject();
  }

  j.key("sent");
  w.StartObject();
  j.u64("packets", d.tx_packets);
  j.num("packetsPerSec", f.sent_pps);
  j.u64("bytes", d.tx_bytes);
  j.num("bitrateKbps", f.sent_kbps);
  j.u64("audioPackets", d.tx_audio_packets);
  j.u64("videoPackets", d.tx_video_packets);
  j.u64("frames", d.tx_frames);
  j.u64("keyframes", d.tx_keyframes);
  j.u64("retransmissions", d.tx_retransmissions);
  j.u64("nacksReceived", d.nacks_received);
  j.u64("keyframeRequestsReceived", d.keyframe_requests_received);
  j.u64("failed", d.tx_failed);
  w.EndObject();

  j.key("delivered");
  w.StartObject();
  j.u64("packets", d.rx_packets);
  j.num("packetsPerSec", f.delivered_pps);
  j.u64("bytes", d.rx_bytes);
  j.num("bitrateMbps", f.delivered_mbps);
  j.u64("videoPackets", d.rx_video_packets);
  j.u64("videoBytes", d.rx_video_bytes);
  j.u64("audioPackets", d.rx_audio_packets);
  j.u64("audioBytes", d.rx_audio_bytes);
  j.u64("rtxPackets", d.rx_rtx);
  j.u64("late", d.rx_late);
  j.u64("duplicates", d.rx_duplicates);
  j.u64("keyframes", d.rx_keyframes);
  w.EndObject();

  // --simulcast: per encoding (lowest first) the bitrate, the video packets the publishers
  // sent and those the receivers got (from the tag in the payload: decrypted receivers
  // only), and delivered packets of an encoding other than the receiver's intended one.
  j.key("simulcast");
  if (!o.simulcast) {
    w.Null();
  } else {
    const auto enc = encodings_of(o);
    w.StartObject();
    j.u64("encodings", enc.size());
    j.u64("lowLayerReceivers", r.low_layer_receivers);
    auto list = [&](const char* k, auto value) {
      j.key(k);
      w.StartArray();
      for (std::size_t i = 0; i < enc.size(); ++i)
        w.Uint64(value(i));
      w.EndArray();
    };
    list("kbps", [&](std::size_t i) { return uint64_t(enc[i].kbps); });
    list("sentPackets", [&](std::size_t i) { return d.tx_encoding_packets[i]; });
    list("deliveredPackets", [&](std::size_t i) { return d.rx_encoding_packets[i]; });
    j.u64("offTarget", d.rx_off_target);
    // The server's stats of one receiver of each kind, read after the window.
    j.key("serverView");
    w.StartArray();
    for (auto& v : r.server_views) {
      w.StartObject();
      j.str("peer", v.peer);
      j.boolean("lowLayer", v.low);
      if (!v.error.empty()) {
        j.str("error", v.error);
      } else {
        j.u64("transportCcIn", v.transport_cc_in);
        j.u64("rembIn", v.remb_in);
        j.u64("receiverReports", v.receiver_reports);
        j.u64("bweFeedbacks", v.bwe_feedbacks);
        j.u64("bweTargetBps", v.bwe_target_bps);
        j.u64("allocationBudgetBps", v.alloc_budget_bps);
        j.u64("allocationDesiredBps", v.alloc_desired_bps);
        j.opt_int("preferredSpatialLayer", std::optional<int>(v.preferred_spatial));
        j.opt_int("currentSpatialLayer", std::optional<int>(v.current_spatial));
        j.opt_int("currentTemporalLayer", std::optional<int>(v.current_temporal));
        j.opt_int("allocatedSpatialLayer", std::optional<int>(v.allocated_spatial));
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }

  j.key("loss");
  w.StartObject();
  j.u64("expected", f.expected);
  j.u64("received", f.received);
  j.u64("lost", f.expected > f.received ? f.expected - f.received : 0);
  j.num("percent", f.loss_percent);
  w.EndObject();

  j.key("latencyMs");
  w.StartObject();
  j.u64("samples", f.latency_samples);
  j.num("p50", f.latency_p50_ms);
  j.num("p99", f.latency_p99_ms);
  j.num("max", f.latency_max_ms);
  j.num("mean", f.latency_mean_ms);
  for (auto [key, l] : {std::pair{"audio", &f.audio_latency},
                        std::pair{"keyframes", &f.keyframe_latency}}) {
    j.key(key);
    w.StartObject();
    j.u64("samples", l->samples);
    j.num("p50", l->p50_ms);
    j.num("p99", l->p99_ms);
    j.num("max", l->max_ms);
    w.EndObject();
  }
  j.u64("badStamps", d.rx_bad_stamp);
  // Where arrival times come from: the kernel's receive stamps, or (some packets) the
  // generator's own clock reading, which includes its queueing.
  j.str("arrivalClock", d.rx_app_stamped == 0                ? "kernel"
                      : d.rx_app_stamped >= d.rx_packets ? "application"
                                                         : "mixed");
  j.u64("appStampedPackets", d.rx_app_stamped);
  w.EndObject();

  j.key("feedback");
  w.StartObject();
  j.u64("nackPackets", d.nack_packets);
  j.u64("nackSeqs", d.nack_seqs);
  j.u64("plis", d.plis_sent);
  j.u64("receiverReports", d.rr_sent);
  j.u64("senderReportsReceived", d.sr_received);
  w.EndObject();

  j.key("server");
  w.StartObject();
  j.opt("cpuSeconds", f.server_cpu_s);
  j.opt("cpuPercent", f.server_cpu_percent);
  j.opt("cpuUsPerPacket", f.server_us_per_packet);
  j.opt("rssKiB", f.server_rss_kib);
  j.opt("rssDeltaKiB", f.server_rss_delta_kib);
  j.opt("memoryPerConsumerKiB", f.server_kib_per_consumer);
  j.opt("memoryPerConsumerAloneKiB", f.server_kib_per_consumer_alone);
  j.opt("cpuPerPacketRatioToFloor", f.cpu_per_packet_ratio_to_floor);
  j.boolean("alive", r.server_alive_after);
  sample("beforeSetup", r.server_before);
  sample("afterTransports", r.server_transports);
  sample("afterSetup", r.server_setup);
  sample("windowStart", r.server_start);
  sample("windowEnd", r.server_end);
  w.EndObject();

  j.key("nodes");
  w.StartArray();
  for (auto& n : node_figures(r)) {
    w.StartObject();
    j.str("url", n.url);
    j.opt("relayInPacketsPerSecond", n.relay_in_pps);
    j.opt("relayOutPacketsPerSecond", n.relay_out_pps);
    j.opt("cpuPercent", n.cpu_percent);
    j.opt("cpuUsPerRelayedPacketOut", n.us_per_relayed_out);
    j.opt("cpuUsPerLinkPacket", n.us_per_link_packet);
    w.EndObject();
  }
  w.EndArray();

  j.key("client");
  w.StartObject();
  j.opt("cpuPercent", f.client_cpu_percent);
  w.EndObject();

  j.key("floor");
  if (!f.floor_us && !r.floor) {
    w.Null();
  } else {
    w.StartObject();
    j.str("source", r.options.floor_us ? "--floor-us" : "measured");
    j.opt("usPerForwardedPacket", f.floor_us);
    j.opt("videoUs", f.floor_video_us);
    j.opt("audioUs", f.floor_audio_us);
    j.opt("fanout", f.floor_fanout);
    j.opt("cpuPerPacketRatioToFloor", f.cpu_per_packet_ratio_to_floor);
    if (r.floor) {
      j.raw_object("measurement", floor_to_json(*r.floor));
    }
    w.EndObject();
  }
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

bool write_file(const std::string& path, const std::string& text, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f && std::fclose(f) != 0)
    ok = false;
  if (!ok)
    error = "cannot write " + path + ": " + std::strerror(errno);
  return ok;
}

} // namespace chorus::bench
