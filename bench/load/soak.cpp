#include "bench/load/soak.hpp"

#include "bench/client/cli_flags.hpp"
#include "bench/client/client_driver.hpp"
#include "bench/client/clock.hpp"
#include "bench/load/node_sampler.hpp"
#include "bench/load/participant.hpp"
#include "bench/load/report.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>

namespace chorus::bench {

const char* const soak_usage =
  "usage: chorus-bench soak [--url ws://HOST:PORT] [--server-pid PID] [--duration-s S]\n"
  "         [--report-every-s S] [--rooms N] [--participants N] [--life-s MIN,MAX]\n"
  "         [--publish-percent P] [--video-kbps K] [--warmup-s S] [--settle-s S]\n"
  "         [--rss-slack-mib M]\n"
  "         [--seed N] [--json FILE] [--verbose]\n"
  "Churn for --duration-s (default 120): --participants (12) in --rooms (3) join, publish\n"
  "(--publish-percent, 40), subscribe, and after a lifetime in --life-s (2,8) leave, are cut\n"
  "off, switch rooms or reconnect; a row every --report-every-s (60) with the server's RSS,\n"
  "descriptors (--server-pid) and /healthz counts. The idle reference is taken after a\n"
  "warm-up churn of --warmup-s (20). Then every count must return to its idle value within\n"
  "--settle-s (30) and RSS to within --rss-slack-mib (4) of idle: exit 0, else 1.\n";

std::optional<soak_options> parse_soak_options(int argc, char** argv, std::string& error,
                                               bool& help) {
  using client::parse_double;
  using client::parse_u32;
  soak_options o;
  help = false;
  static constexpr std::string_view known[] = {
    "--url", "--server-pid", "--duration-s", "--report-every-s", "--rooms", "--participants",
    "--life-s", "--publish-percent", "--video-kbps", "--settle-s", "--warmup-s",
    "--rss-slack-mib", "--seed", "--json"};
  auto on_switch = [&](std::string_view flag) {
    if (flag != "--verbose")
      return false;
    o.verbose = true;
    return true;
  };
  auto on_value = [&](std::string_view flag, std::string_view v) {
    uint32_t u = 0;
    if (flag == "--url") {
      o.url = std::string(v);
      return o.url.rfind("ws://", 0) == 0;
    }
    if (flag == "--server-pid") {
      if (!parse_u32(v, u) || u == 0)
        return false;
      o.server_pid = int(u);
      return true;
    }
    if (flag == "--duration-s")
      return parse_double(v, o.duration_s) && o.duration_s > 0 && o.duration_s <= 7 * 86400;
    if (flag == "--report-every-s")
      return parse_double(v, o.report_every_s) && o.report_every_s >= 1;
    if (flag == "--rooms")
      return parse_u32(v, o.rooms) && o.rooms >= 1 && o.rooms <= 1000;
    if (flag == "--participants")
      return parse_u32(v, o.participants) && o.participants >= 1 && o.participants <= 1000;
    if (flag == "--life-s") {
      const auto comma = v.find(',');
      return comma != std::string_view::npos && parse_double(v.substr(0, comma), o.min_life_s) &&
             parse_double(v.substr(comma + 1), o.max_life_s) && o.min_life_s > 0 &&
             o.max_life_s >= o.min_life_s;
    }
    if (flag == "--publish-percent")
      return parse_u32(v, o.publish_percent) && o.publish_percent <= 100;
    if (flag == "--video-kbps")
      return parse_u32(v, o.video_kbps) && o.video_kbps >= 50 && o.video_kbps <= 20000;
    if (flag == "--settle-s")
      return parse_double(v, o.settle_s) && o.settle_s > 0 && o.settle_s <= 3600;
    if (flag == "--warmup-s")
      return parse_double(v, o.warmup_s) && o.warmup_s >= 0 && o.warmup_s <= 3600;
    if (flag == "--rss-slack-mib")
      return parse_u32(v, o.rss_slack_mib);
    if (flag == "--seed")
      return client::parse_u64(v, o.seed);
    if (flag == "--json") {
      o.json_file = std::string(v);
      return !o.json_file.empty();
    }
    return false;
  };
  if (!client::parse_flags(argc, argv, 2, known, on_switch, on_value, error, &help))
    return std::nullopt;
  return o;
}

server_counts parse_server_counts(const std::string& body) {
  server_counts c;
  rapidjson::Document doc;
  doc.Parse(body.c_str(), body.size());
  if (doc.HasParseError() || !doc.IsObject())
    return c;
  auto get = [&](const char* key, int64_t& out) {
    auto m = doc.FindMember(key);
    if (m != doc.MemberEnd() && m->value.IsInt64())
      out = m->value.GetInt64();
  };
  get("rooms", c.rooms);
  get("peers", c.peers);
  get("sessions", c.sessions);
  get("transports", c.transports);
  get("producers", c.producers);
  get("consumers", c.consumers);
  get("dataProducers", c.data_producers);
  get("dataConsumers", c.data_consumers);
  get("actors", c.actors);
  return c;
}

void print_row(const soak_sample& s, std::FILE* out);

namespace {

int64_t count_fds(int pid) {
  std::error_code ec;
  int64_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
       !ec && it != end; it.increment(ec))
    ++n;
  return ec ? -1 : n;
}

// What each open descriptor of `pid` is ("7 -> socket:[123]"), sorted; for a socket also
// its TCP endpoints and state, when /proc/PID/net/tcp{,6} lists its inode.
std::vector<std::string> fd_targets(int pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::map<std::string, std::string> tcp; // inode -> "local remote state" (hex, as listed)
  for (const char* table : {"/net/tcp", "/net/tcp6"}) {
    std::ifstream in(proc + table);
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string slot, local, remote, state, queues, timer, retr, uid, timeout, inode;
      if (f >> slot >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode)
        tcp[inode] = local + " " + remote + " state " + state;
    }
  }
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(proc + "/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code rec;
    auto target = std::filesystem::read_symlink(it->path(), rec).string();
    std::string row = it->path().filename().string() + " -> " + target;
    if (target.starts_with("socket:[")) {
      auto inode = target.substr(8, target.size() - 9);
      if (auto t = tcp.find(inode); t != tcp.end())
        row += " (tcp " + t->second + ")";
    }
    out.push_back(std::move(row));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The counts that must come back exactly, by name.
std::vector<std::pair<const char*, int64_t>> exact_counts(const soak_sample& s) {
  const auto& c = s.counts;
  return {{"rooms", c.rooms},         {"peers", c.peers},
          {"sessions", c.sessions},   {"transports", c.transports},
          {"producers", c.producers}, {"consumers", c.consumers},
          {"dataProducers", c.data_producers}, {"dataConsumers", c.data_consumers},
          {"actors", c.actors},       {"fds", s.fds}};
}

class soak_run {
public:
  explicit soak_run(const soak_options& o) : o_(o), rng_(o.seed) {
    url_ = o.url;
    while (!url_.empty() && url_.back() == '/')
      url_.pop_back();
  }

  soak_result run() {
    soak_result r;
    r.options = o_;
    r.cold = sample(0);
    if (o_.server_pid)
      cold_fds_ = fd_targets(*o_.server_pid);
    if (r.cold.counts.sessions < 0) {
      r.errors.push_back("cannot read " + url_ + "'s /healthz");
      return r;
    }
    if (o_.server_pid && (!r.cold.proc || r.cold.fds < 0)) {
      r.errors.push_back("cannot read /proc of --server-pid " + std::to_string(*o_.server_pid));
      return r;
    }
    client::signaling_loop loop;
    client::transport_set transports;
    client::client_driver driver(loop, transports, 1);
    ctx_.driver = &driver;
    ctx_.url_base = url_;
    ctx_.video.kbps = o_.video_kbps;
    ctx_.video.keyframe_interval_s = 3;
    ctx_.audio_bytes = 100;
    ctx_.verbose = o_.verbose;
    auto dtls = client::make_client_dtls_context();
    if (!dtls) {
      r.errors.push_back("DTLS context: " + dtls.error());
      return r;
    }
    ctx_.dtls = std::move(*dtls);
    start_us_ = mono_us();

    // The warm-up: a churn like the measured one, so that the idle reference is a server
    // that has served (its first-use allocations, thread caches and pools made), not a
    // cold one; its own return to idle is the first check of the counts.
    if (o_.warmup_s > 0) {
      churn(driver, o_.warmup_s, nullptr);
      wind_down(driver);
      if (!settle(driver, r.cold, r.idle, r.differences, false)) {
        r.errors.push_back("the warm-up did not return to idle");
        r.errors.insert(r.errors.end(), errors_.begin(), errors_.end());
        return r;
      }
    } else {
      r.idle = r.cold;
    }
    // The measured churn.
    start_us_ = mono_us();
    r.end = churn(driver, o_.duration_s, &r.rows);
    wind_down(driver);
    // Back to idle: every count exactly, memory within the slack.
    const uint64_t settle_start = mono_us();
    if (settle(driver, r.idle, r.after, r.differences, true))
      r.settle_s = double(mono_us() - settle_start) / 1e6;
    ctx_.driver = nullptr;
    r.errors.insert(r.errors.end(), errors_.begin(), errors_.end());
    return r;
  }

private:
  // Churns for duration_s (rows: a sample every --report-every-s); the sample at its end.
  soak_sample churn(client::client_driver& driver, double duration_s,
                    std::vector<soak_sample>* rows) {
    const uint64_t begin_us = mono_us();
    const uint64_t end_us = begin_us + uint64_t(duration_s * 1e6);
    const uint64_t report_us = uint64_t(o_.report_every_s * 1e6);
    uint64_t next_report = begin_us + report_us;
    while (mono_us() < end_us) {
      const uint64_t now = mono_us();
      uint64_t next = now + 10'000;
      for (auto& l : live_)
        next = std::min(next, l.p->service(ctx_, now));
      for (auto& l : live_)
        l.p->drain_events();
      end_lifetimes(now);
      // One join per pass, so that the media of the others keeps going between setups: a
      // room switch or reconnect that is due, else a newcomer.
      if (!pending_.empty() && pending_.front().at_us <= now) {
        auto j = pending_.front();
        pending_.erase(pending_.begin());
        join(j.id, j.room);
      } else if (live_.size() + pending_.size() < o_.participants) {
        join(next_peer_id(), pick_room(uint32_t(-1)));
      }
      release_closed(now);
      if (rows && now >= next_report) {
        rows->push_back(sample(double(now - start_us_) / 1e6));
        print_row(rows->back(), stderr);
        next_report += report_us;
      }
      const uint64_t after = mono_us();
      driver.step(next > after ? std::min<uint64_t>((next - after) / 1000, 10) : 0);
    }
    return sample(double(mono_us() - start_us_) / 1e6);
  }

  // The churn stops: half of those left leave, half are cut off; pending rejoins dropped.
  void wind_down(client::client_driver& driver) {
    bool cut = false;
    for (auto& l : live_) {
      if ((cut = !cut)) {
        retire(l.p);
        l.p->cut(ctx_);
        ++cuts_;
      } else {
        leave(std::move(l.p), mono_us());
      }
    }
    live_.clear();
    pending_.clear();
    driver.run_for(300); // close_notify and close frames out
    for (auto& c : closing_) {
      retire(c.p);
      c.p->release();
    }
    closing_.clear();
  }

  // Polls until `now` matches `reference` (every count exact, RSS within the slack) or
  // --settle-s passed; true when it matched.
  bool settle(client::client_driver& driver, const soak_sample& reference, soak_sample& now,
              std::vector<std::string>& differences, bool memory) {
    const uint64_t settle_end = mono_us() + uint64_t(o_.settle_s * 1e6);
    for (;;) {
      now = sample(double(mono_us() - start_us_) / 1e6);
      differences = compare(reference, now, memory);
      if (differences.empty())
        return true;
      if (mono_us() >= settle_end) {
        // Which descriptors are open that were not when cold: what did not go back (told
        // apart by descriptor and target; a socket's TCP state may have changed meanwhile).
        auto open_as = [](const std::string& row) { return row.substr(0, row.find(" (tcp ")); };
        if (o_.server_pid && now.fds != reference.fds)
          for (auto& fd : fd_targets(*o_.server_pid))
            if (std::none_of(cold_fds_.begin(), cold_fds_.end(),
                             [&](const std::string& cold) { return open_as(cold) == open_as(fd); }))
              errors_.push_back("open, not when cold: " + fd);
        return false;
      }
      driver.run_for(200); // nothing left to drive: a bounded wait between polls
    }
  }

  struct live_participant {
    std::unique_ptr<participant> p;
    uint64_t end_us = 0;
    uint32_t room = 0;
  };
  struct pending_join {
    std::string id;
    uint32_t room = 0;
    uint64_t at_us = 0;
  };
  struct closing_participant {
    std::unique_ptr<participant> p;
    uint64_t release_us = 0;
  };

  std::string next_peer_id() { return "soak-" + std::to_string(++peer_counter_); }
  uint32_t pick_room(uint32_t not_this) {
    if (o_.rooms == 1)
      return 0;
    for (;;) {
      const uint32_t r = uint32_t(rng_() % o_.rooms);
      if (r != not_this)
        return r;
    }
  }
  uint64_t lifetime_us() {
    std::uniform_real_distribution<double> d(o_.min_life_s, o_.max_life_s);
    return uint64_t(d(rng_) * 1e6);
  }

  bool join(const std::string& id, uint32_t room) {
    const bool publishes = rng_() % 100 < o_.publish_percent;
    auto p = std::make_unique<participant>(id, "soak-room-" + std::to_string(room), publishes,
                                           true, participant::any_consumers);
    const uint64_t deadline = client::steady_now_ms() + 5000;
    const bool ok = p->connect(ctx_, deadline) && (!publishes || p->publish(ctx_, deadline)) &&
                    p->open_receive(ctx_, deadline) && p->consume_all(ctx_, deadline);
    if (!ok) {
      ++failures_;
      if (errors_.size() < 10)
        errors_.push_back(id + ": " + p->error());
      leave(std::move(p), mono_us());
      return false;
    }
    p->start_media(ctx_, mono_us());
    ++joins_;
    live_.push_back({std::move(p), mono_us() + lifetime_us(), room});
    return true;
  }

  void leave(std::unique_ptr<participant> p, uint64_t now) {
    p->close(ctx_);
    closing_.push_back({std::move(p), now + 300'000}); // its close frames go out meanwhile
  }

  // Counts what a participant did before it goes.
  void retire(const std::unique_ptr<participant>& p) { p->add_totals(gone_); }

  void end_lifetimes(uint64_t now) {
    for (std::size_t i = 0; i < live_.size();) {
      if (live_[i].end_us > now) {
        ++i;
        continue;
      }
      auto l = std::move(live_[i]);
      live_.erase(live_.begin() + std::ptrdiff_t(i));
      const std::string id = l.p->peer_id();
      switch (rng_() % 4) {
        case 0:
          ++leaves_;
          leave(std::move(l.p), now);
          break;
        case 1:
          ++cuts_;
          retire(l.p);
          l.p->cut(ctx_);
          break;
        case 2: // another room, the same peer id, once the old connection is gone (the
                // server refuses a second connection of one peer id in another room)
          ++switches_;
          leave(std::move(l.p), now);
          pending_.push_back({id, pick_room(l.room), now + 600'000});
          break;
        default: // a reconnect after a network change: the old connection dies without a
                 // word, the same peer id comes back to the same room (once the server saw
                 // the old one go: a second connection of a peer id is refused without a
                 // token for it)
          ++replaces_;
          retire(l.p);
          l.p->cut(ctx_);
          pending_.push_back({id, l.room, now + 600'000});
          break;
      }
      return; // at most one per pass (and live_ changed)
    }
  }

  void release_closed(uint64_t now) {
    for (std::size_t i = 0; i < closing_.size();) {
      if (closing_[i].release_us > now) {
        ++i;
        continue;
      }
      retire(closing_[i].p);
      closing_[i].p->release();
      closing_.erase(closing_.begin() + std::ptrdiff_t(i));
    }
  }

  soak_sample sample(double t_s) {
    soak_sample s;
    s.t_s = t_s;
    if (o_.server_pid) {
      s.proc = sample_process(*o_.server_pid);
      s.fds = count_fds(*o_.server_pid);
    }
    if (auto body = fetch_healthz(url_))
      s.counts = parse_server_counts(*body);
    s.live = uint32_t(live_.size());
    s.joins = joins_;
    s.leaves = leaves_;
    s.cuts = cuts_;
    s.switches = switches_;
    s.replaces = replaces_;
    s.failures = failures_;
    totals t = gone_;
    for (auto& l : live_)
      l.p->add_totals(t);
    for (auto& c : closing_)
      c.p->add_totals(t);
    s.rx_packets = t.rx_packets;
    s.tx_packets = t.tx_packets;
    return s;
  }

  std::vector<std::string> compare(const soak_sample& idle, const soak_sample& now,
                                   bool memory) const {
    std::vector<std::string> out;
    const auto a = exact_counts(idle), b = exact_counts(now);
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].second != b[i].second)
        out.push_back(std::string(a[i].first) + " " + std::to_string(b[i].second) + " (idle " +
                      std::to_string(a[i].second) + ")");
    if (memory && idle.proc && now.proc &&
        now.proc->rss_kib > idle.proc->rss_kib + uint64_t(o_.rss_slack_mib) * 1024)
      out.push_back("RSS " + std::to_string(now.proc->rss_kib / 1024) + " MiB (idle " +
                    std::to_string(idle.proc->rss_kib / 1024) + " MiB, slack " +
                    std::to_string(o_.rss_slack_mib) + ")");
    return out;
  }

  const soak_options& o_;
  std::string url_;
  std::mt19937_64 rng_;
  worker_context ctx_;
  std::vector<live_participant> live_;
  std::vector<closing_participant> closing_;
  std::vector<pending_join> pending_;
  uint64_t start_us_ = 0;
  uint64_t peer_counter_ = 0;
  std::vector<std::string> cold_fds_; // fd_targets when cold
  uint64_t joins_ = 0, leaves_ = 0, cuts_ = 0, switches_ = 0, replaces_ = 0, failures_ = 0;
  std::vector<std::string> errors_;
  totals gone_;
};

} // namespace

soak_result run_soak(const soak_options& o) { return soak_run(o).run(); }

void print_row(const soak_sample& s, std::FILE* out) {
  const auto& c = s.counts;
  std::fprintf(out,
               "%8.1f s  rss %7.1f MiB  fds %4lld  rooms %3lld peers %4lld sessions %4lld "
               "transports %4lld producers %4lld consumers %5lld actors %5lld | live %3u joins "
               "%5llu leaves %4llu cuts %4llu switches %4llu replaces %4llu failed %3llu  rx %llu "
               "tx %llu\n",
               s.t_s, s.proc ? double(s.proc->rss_kib) / 1024 : -1.0, (long long)s.fds,
               (long long)c.rooms, (long long)c.peers, (long long)c.sessions,
               (long long)c.transports, (long long)c.producers, (long long)c.consumers,
               (long long)c.actors, s.live, (unsigned long long)s.joins,
               (unsigned long long)s.leaves, (unsigned long long)s.cuts,
               (unsigned long long)s.switches, (unsigned long long)s.replaces,
               (unsigned long long)s.failures, (unsigned long long)s.rx_packets,
               (unsigned long long)s.tx_packets);
}

void print_soak(const soak_result& r, std::FILE* out) {
  std::fprintf(out, "chorus-bench soak: %.0f s, %u participants in %u rooms, seed %llu\n",
               r.options.duration_s, r.options.participants, r.options.rooms,
               (unsigned long long)r.options.seed);
  std::fprintf(out, "cold:   ");
  print_row(r.cold, out);
  std::fprintf(out, "idle:   ");
  print_row(r.idle, out);
  for (const auto& s : r.rows) {
    std::fprintf(out, "churn:  ");
    print_row(s, out);
  }
  std::fprintf(out, "end:    ");
  print_row(r.end, out);
  std::fprintf(out, "after:  ");
  print_row(r.after, out);
  if (r.ok())
    std::fprintf(out, "back to idle after %.1f s: every count exact, RSS %+.1f MiB\n", r.settle_s,
                 r.after.proc && r.idle.proc
                   ? (double(r.after.proc->rss_kib) - double(r.idle.proc->rss_kib)) / 1024
                   : 0.0);
  else
    for (const auto& d : r.differences)
      std::fprintf(out, "NOT back to idle within %.0f s: %s\n", r.options.settle_s, d.c_str());
  for (const auto& e : r.errors)
    std::fprintf(out, "setup failure: %s\n", e.c_str());
}

std::string soak_to_json(const soak_result& r) {
  std::ostringstream os;
  auto row = [&](const soak_sample& s) {
    const auto& c = s.counts;
    os << "{\"t\":" << s.t_s << ",\"rssKiB\":" << (s.proc ? int64_t(s.proc->rss_kib) : -1)
       << ",\"fds\":" << s.fds << ",\"rooms\":" << c.rooms << ",\"peers\":" << c.peers
       << ",\"sessions\":" << c.sessions << ",\"transports\":" << c.transports
       << ",\"producers\":" << c.producers << ",\"consumers\":" << c.consumers
       << ",\"actors\":" << c.actors << ",\"live\":" << s.live << ",\"joins\":" << s.joins
       << ",\"leaves\":" << s.leaves << ",\"cuts\":" << s.cuts << ",\"switches\":" << s.switches
       << ",\"replaces\":" << s.replaces << ",\"failures\":" << s.failures
       << ",\"rxPackets\":" << s.rx_packets << ",\"txPackets\":" << s.tx_packets << "}";
  };
  os << "{\"durationS\":" << r.options.duration_s << ",\"participants\":" << r.options.participants
     << ",\"rooms\":" << r.options.rooms << ",\"warmupS\":" << r.options.warmup_s
     << ",\"cold\":";
  row(r.cold);
  os << ",\"idle\":";
  row(r.idle);
  os << ",\"rows\":[";
  for (std::size_t i = 0; i < r.rows.size(); ++i) {
    if (i)
      os << ",";
    row(r.rows[i]);
  }
  os << "],\"end\":";
  row(r.end);
  os << ",\"after\":";
  row(r.after);
  os << ",\"settleS\":" << r.settle_s << ",\"ok\":" << (r.ok() ? "true" : "false")
     << ",\"differences\":[";
  for (std::size_t i = 0; i < r.differences.size(); ++i)
    os << (i ? "," : "") << "\"" << r.differences[i] << "\"";
  os << "]}";
  return os.str();
}

int soak_main(int argc, char** argv) {
  std::string error;
  bool help = false;
  auto o = parse_soak_options(argc, argv, error, help);
  if (help) {
    std::fputs(soak_usage, stdout);
    return 0;
  }
  if (!o) {
    std::fprintf(stderr, "chorus-bench soak: %s\n%s", error.c_str(), soak_usage);
    return 2;
  }
  const soak_result r = run_soak(*o);
  print_soak(r, stdout);
  if (!o->json_file.empty() && !write_file(o->json_file, soak_to_json(r) + "\n", error)) {
    std::fprintf(stderr, "chorus-bench soak: %s\n", error.c_str());
    return 1;
  }
  return r.ok() ? 0 : 1;
}

} // namespace chorus::bench
