#include "bench/load/ramp.hpp"

#include "bench/client/json_fields.hpp"
#include "common/ids.hpp"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <thread>

namespace chorus::bench {

namespace {

constexpr double pause_between_steps_s = 2; // the server drops the last step's peers

std::string num(const std::optional<double>& v, const char* fmt = "%.4f") {
  if (!v)
    return "NaN";
  char b[64];
  std::snprintf(b, sizeof b, fmt, *v);
  return b;
}

} // namespace

ramp_result run_ramp(const bench_options& o, const step_runner& run_step, std::FILE* out) {
  ramp_result rr;
  rr.options = o;
  rr.date = utc_now();
  const std::string base = o.run_id.empty() ? ids::random_token(6) : o.run_id;
  for (uint32_t n = o.ramp_step; n <= o.ramp_max; n += o.ramp_step) {
    if (!rr.steps.empty())
      std::this_thread::sleep_for(std::chrono::duration<double>(pause_between_steps_s));
    bench_options so = o;
    so.subscribers = n;
    so.ramp_step = so.ramp_max = 0;
    so.run_id = base + "-s" + std::to_string(n);
    so.json_file.clear();
    std::optional<floor_result> floor;
    if (o.floor)
      floor = run_scenario_floor(o.profile, n, 1200, 100, o.floor_duration_s, o.server_cpu);
    ramp_step step;
    step.subscribers = n;
    step.result = run_step(so);
    step.result.floor = std::move(floor);
    step.f = compute_figures(step.result);
    std::fprintf(out, "--- ramp step %zu: %u subscribers (%s)\n", rr.steps.size() + 1, n,
                 o.target.c_str());
    print_table(step.result, step.f, out);
    std::fprintf(out, "\n");
    char why[160];
    if (!step.result.ok()) {
      step.verdict = "run not ok (setup failures, nothing delivered or the server exited)";
    } else if (step.f.loss_percent > o.ramp_max_loss_percent) {
      std::snprintf(why, sizeof why, "loss %.3f %% > %.3g %%", step.f.loss_percent, o.ramp_max_loss_percent);
      step.verdict = why;
    } else if (step.f.latency_p99_ms > o.ramp_max_p99_ms) {
      std::snprintf(why, sizeof why, "p99 latency %.3f ms > %.3g ms", step.f.latency_p99_ms, o.ramp_max_p99_ms);
      step.verdict = why;
    } else {
      step.good = true;
      step.verdict = "good";
    }
    const bool good = step.good;
    const bool server_gone = !step.result.server_alive_after;
    rr.steps.push_back(std::move(step));
    if (good) {
      rr.capacity = n;
    } else {
      rr.stop_reason = rr.steps.back().verdict + " at " + std::to_string(n) + " subscribers";
      break;
    }
    if (server_gone)
      break;
  }
  if (rr.stop_reason.empty())
    rr.stop_reason = "--ramp-max " + std::to_string(o.ramp_max) + " reached";
  rr.machine = read_machine_info();
  return rr;
}

void print_ramp_summary(const ramp_result& r, std::FILE* out) {
  std::fprintf(out, "chorus-bench ramp: class against %s, +%u subscribers per step up to %u (%s)\n",
               r.options.target.c_str(), r.options.ramp_step, r.options.ramp_max, r.date.c_str());
  std::fprintf(out, "  %11s %12s %8s %9s %9s %10s %9s %9s %8s  %s\n", "subscribers", "delivered/s",
               "loss %", "p50 ms", "p99 ms", "server CPU", "us/pkt", "floor us", "ratio", "verdict");
  // A figure not measured (no --server-pid, no floor) is a dash in the table.
  auto cell = [](const std::optional<double>& v, const char* fmt) {
    return v ? num(v, fmt) : std::string("-");
  };
  for (auto& s : r.steps) {
    const auto& f = s.f;
    std::fprintf(out, "  %11u %12.0f %8.3f %9.3f %9.3f %9s%% %9s %9s %8s  %s\n", s.subscribers,
                 f.delivered_pps, f.loss_percent, f.latency_p50_ms, f.latency_p99_ms,
                 cell(f.server_cpu_percent, "%.1f").c_str(), cell(f.server_us_per_packet, "%.2f").c_str(),
                 cell(f.floor_us, "%.2f").c_str(), cell(f.cpu_per_packet_ratio_to_floor, "%.2fx").c_str(),
                 s.verdict.c_str());
  }
  if (r.capacity)
    std::fprintf(out, "  capacity (last good step): %u subscribers; stopped: %s\n", *r.capacity,
                 r.stop_reason.c_str());
  else
    std::fprintf(out, "  no good step; stopped: %s\n", r.stop_reason.c_str());
  std::fprintf(out, "  load average at the end: %s\n", r.machine.loadavg.c_str());
  std::fflush(out);
}

std::string ramp_to_json(const ramp_result& r) {
  rapidjson::StringBuffer sb;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(sb);
  w.SetIndent(' ', 2);
  client::json_fields j(w);
  w.StartObject();
  j.boolean("ok", r.ok());
  j.str("mode", "ramp");
  j.str("scenario", "class");
  j.str("target", r.options.target);
  j.str("date", r.date);
  j.u64("rampStep", r.options.ramp_step);
  j.u64("rampMax", r.options.ramp_max);
  j.num("maxLossPercent", r.options.ramp_max_loss_percent);
  j.num("maxP99Ms", r.options.ramp_max_p99_ms);
  j.opt_int("capacitySubscribers", r.capacity);
  j.str("stopReason", r.stop_reason);
  j.key("machine");
  w.StartObject();
  j.str("cpuModel", r.machine.cpu_model);
  j.u64("onlineCpus", r.machine.online_cpus);
  j.str("kernel", r.machine.kernel);
  j.str("loadavgAtEnd", r.machine.loadavg);
  w.EndObject();
  j.key("steps");
  w.StartArray();
  for (auto& s : r.steps) {
    const auto& f = s.f;
    w.StartObject();
    j.u64("subscribers", s.subscribers);
    j.boolean("good", s.good);
    j.str("verdict", s.verdict);
    j.num("deliveredPacketsPerSec", f.delivered_pps);
    j.num("deliveredMbps", f.delivered_mbps);
    j.num("lossPercent", f.loss_percent);
    j.num("latencyP50Ms", f.latency_p50_ms);
    j.num("latencyP99Ms", f.latency_p99_ms);
    j.num("latencyMaxMs", f.latency_max_ms);
    j.opt("serverCpuPercent", f.server_cpu_percent);
    j.opt("serverCpuUsPerPacket", f.server_us_per_packet);
    j.opt("floorUsPerForwardedPacket", f.floor_us);
    j.opt("cpuPerPacketRatioToFloor", f.cpu_per_packet_ratio_to_floor);
    j.opt("serverRssKiB", f.server_rss_kib);
    j.opt("memoryPerConsumerKiB", f.server_kib_per_consumer);
    j.opt("clientCpuPercent", f.client_cpu_percent);
    j.raw_object("report", to_json(s.result, s.f));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

bool write_ramp_plot(const ramp_result& r, const std::string& prefix, std::string& svg,
                     std::string& error) {
  svg.clear();
  std::string dat = "# chorus-bench ramp, class against " + r.options.target + ", " + r.date + "\n"
                    "# subscribers delivered_pps server_us_per_packet p99_ms loss_percent "
                    "floor_us ratio_to_floor p50_ms server_cpu_percent good\n";
  for (auto& s : r.steps) {
    const auto& f = s.f;
    char line[512];
    std::snprintf(line, sizeof line, "%u %.1f %s %.4f %.4f %s %s %.4f %s %d\n", s.subscribers,
                  f.delivered_pps, num(f.server_us_per_packet).c_str(), f.latency_p99_ms,
                  f.loss_percent, num(f.floor_us).c_str(),
                  num(f.cpu_per_packet_ratio_to_floor).c_str(), f.latency_p50_ms,
                  num(f.server_cpu_percent).c_str(), s.good ? 1 : 0);
    dat += line;
  }
  // The data file is referred to by its name relative to the script's directory.
  const auto slash = prefix.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : prefix.substr(0, slash);
  const std::string stem = slash == std::string::npos ? prefix : prefix.substr(slash + 1);
  std::string title = "chorus-bench ramp (class against " + r.options.target + ", " +
                      std::to_string(r.options.video_kbps) +
                      " kbps video + audio), " + r.date;
  if (r.capacity)
    title += ", capacity " + std::to_string(*r.capacity) + " subscribers";
  std::string gp =
    "# gnuplot script written by chorus-bench (ramp). Run: cd " + dir + " && gnuplot " + stem + ".gp\n"
    "set terminal svg size 900,1000 dynamic font 'sans,11'\n"
    "set output '" + stem + ".svg'\n"
    "set multiplot layout 3,1 title '" + title + "'\n"
    "set grid\n"
    "set key left top\n"
    "set xlabel 'subscribers'\n"
    "set ylabel 'packets/s'\n"
    "plot '" + stem + ".dat' using 1:2 with linespoints lw 2 title 'delivered packets/s'\n"
    "set ylabel 'us per packet'\n"
    "plot '" + stem + ".dat' using 1:3 with linespoints lw 2 title 'server CPU per delivered packet', \\\n"
    "     '' using 1:6 with linespoints lw 2 dt 2 title 'floor'\n"
    "set ylabel 'ms'\n"
    "plot '" + stem + ".dat' using 1:4 with linespoints lw 2 title 'p99 one-way latency', \\\n"
    "     '' using 1:8 with linespoints lw 2 dt 2 title 'p50'\n"
    "unset multiplot\n";
  if (!write_file(prefix + ".dat", dat, error) || !write_file(prefix + ".gp", gp, error))
    return false;
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    // Bounded like every child process of the bench (coreutils `timeout`).
    const std::string cmd = "cd '" + dir + "' && timeout -k 5 60 gnuplot '" + stem + ".gp'";
    if (std::system(cmd.c_str()) == 0)
      svg = prefix + ".svg";
    else
      error = "gnuplot failed on " + prefix + ".gp";
  }
  return true;
}

} // namespace chorus::bench
