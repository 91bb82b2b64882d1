#include "bench/load/runner.hpp"

#include "bench/client/clock.hpp"
#include "common/ids.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>

namespace chorus::bench {

namespace {

constexpr uint64_t never = std::numeric_limits<uint64_t>::max();
constexpr uint64_t max_wait_ms = 10;     // the media loop wakes at least this often
constexpr std::size_t max_errors = 10;

// What the main thread and the workers share.
struct shared_state {
  uint32_t workers = 0;
  uint64_t setup_deadline_ms = 0; // steady ms
  std::atomic<uint32_t> arrived_publish{0};
  std::atomic<uint32_t> arrived_transports{0}; // subscribers' receive transports open
  std::atomic<bool> consume{false};             // the main thread has sampled the server
  std::atomic<uint32_t> arrived_subscribe{0};
  std::atomic<bool> go{false};
  std::atomic<bool> abort{false};
  std::atomic<bool> stop{false};
  std::atomic<int> epoch{0}; // 0 warm-up, 1 window open, 2 window closed
  std::atomic<uint32_t> closed{0}; // workers that took their snapshot at the window's close
  std::atomic<uint64_t> media_start_us{0};
  std::atomic<uint32_t> failed{0}; // participants whose setup failed
  // storm
  std::atomic<bool> storm_go{false};
  std::atomic<uint32_t> storm_failed{0};   // subscribers whose setup failed
  std::atomic<uint32_t> first_media{0};    // subscribers with their first audio and video
};

void log_line(bool verbose, const std::string& s) {
  if (verbose)
    std::fprintf(stderr, "[chorus-bench %8.3f] %s\n", double(mono_us() % 100000000000ull) / 1e6,
                 s.c_str());
}

class worker {
public:
  worker(uint32_t index, const bench_options& o, shared_state& shared)
      : index_(index), o_(o), shared_(shared) {
    activity_.voters = o.subscribers;
  }

  void add(std::unique_ptr<participant> p) {
    if (o_.chat_per_s > 0 || o_.poll)
      p->set_activity(&activity_, uint32_t(participants_.size() % 2));
    participants_.push_back(std::move(p));
  }
  std::size_t size() const noexcept { return participants_.size(); }

  void run() {
    client::signaling_loop loop;
    client::transport_set transports;
    client::client_driver driver(loop, transports, 1);
    ctx_.driver = &driver;
    ctx_.url_base = split_urls(o_.url).front();
    while (!ctx_.url_base.empty() && ctx_.url_base.back() == '/')
      ctx_.url_base.pop_back();
    ctx_.video.kbps = o_.video_kbps;
    ctx_.video.pace_factor = o_.pace_factor;
    ctx_.video.keyframe_interval_s = o_.keyframe_interval_s;
    ctx_.simulcast = o_.simulcast;
    ctx_.receiver_gro = o_.receiver_gro;
    ctx_.audio_bytes = o_.audio_bytes;
    ctx_.verbose = o_.verbose;
    ctx_.worker_index = index_;
    auto dtls = client::make_client_dtls_context();
    if (!dtls) {
      for (auto& p : participants_)
        setup_errors_.push_back(p->peer_id() + ": setup: " + dtls.error());
      shared_.abort = true;
    } else {
      ctx_.dtls = std::move(*dtls);
    }
    ctx_.first_media = &shared_.first_media;
    if (o_.storm) {
      run_storm(loop, transports);
    } else {
      run_phases(loop, transports);
    }
    // Simulcast: what the server thinks of a receiver that takes the top encoding and of
    // one that asked for layer 0 (the first of each on this thread), after the window.
    if (o_.simulcast && !shared_.abort) {
      bool top = false, low = false;
      for (auto& p : participants_) {
        if (!p->subscribes() || p->failed() || !p->has_simulcast_consumer() ||
            (p->prefers_low_layer() ? low : top))
          continue;
        (p->prefers_low_layer() ? low : top) = true;
        views_.push_back(p->query_server_view(ctx_, client::steady_now_ms() + 2000));
      }
    }
    for (auto& p : participants_)
      p->close(ctx_);
    driver.run_for(20); // close_notify and close frames out
    for (auto& p : participants_)
      p->release(); // the signaling loop must outlive its clients
    ctx_.driver = nullptr;
  }

  // The publishers, then every subscriber's transport, then their consumers, each phase
  // waiting for every worker; media starts once all are set up.
  void run_phases(client::signaling_loop& loop, client::transport_set& transports) {
    // Phase 1: publishers connect and produce.
    if (!shared_.abort)
      for (auto& p : participants_)
        if (p->publishes() && !shared_.abort) {
          const bool ok = p->connect(ctx_, shared_.setup_deadline_ms) &&
                          p->publish(ctx_, shared_.setup_deadline_ms);
          log_line(o_.verbose, p->peer_id() + (ok ? " publishing" : " failed: " + p->error()));
          drain_others(*p);
        }
    shared_.arrived_publish.fetch_add(1);
    wait_serviced([&] { return shared_.arrived_publish.load() >= shared_.workers; });

    // Phase 2: subscribers connect and open their receive transports; then (once the main
    // thread has read the server's memory: what consumers cost is told apart from what
    // participants and transports cost) they consume every producer of their room and
    // resume.
    for (auto& p : participants_)
      if (p->subscribes() && !p->failed() && !shared_.abort) {
        const bool ok = p->connect(ctx_, shared_.setup_deadline_ms) &&
                        p->open_receive(ctx_, shared_.setup_deadline_ms);
        if (!ok)
          log_line(o_.verbose, p->peer_id() + " failed: " + p->error());
        drain_others(*p);
      }
    shared_.arrived_transports.fetch_add(1);
    wait_serviced([&] { return shared_.consume.load(); });
    for (auto& p : participants_)
      if (p->subscribes() && !p->failed() && !shared_.abort) {
        const bool ok = p->consume_all(ctx_, shared_.setup_deadline_ms);
        log_line(o_.verbose, p->peer_id() + (ok ? " consuming " + std::to_string(p->consumers())
                                                : " failed: " + p->error()));
        drain_others(*p);
      }
    for (auto& p : participants_)
      if (p->failed()) {
        setup_errors_.push_back(p->peer_id() + ": " + p->error());
        shared_.failed.fetch_add(1);
      }
    shared_.arrived_subscribe.fetch_add(1);
    wait_serviced([&] { return shared_.go.load(); });

    if (!shared_.abort)
      media_loop(loop, transports);
  }

  // The storm: worker 0 holds the publisher, which publishes and starts its media at once;
  // every other worker waits for the storm to start, then sets up its subscribers one after
  // the other (connect, receive transport, consume all, resume) while those set up already
  // receive, and goes on receiving.
  void run_storm(client::signaling_loop& loop, client::transport_set& transports) {
    if (index_ == 0) {
      for (auto& p : participants_) {
        const bool ok = p->connect(ctx_, shared_.setup_deadline_ms) &&
                        p->publish(ctx_, shared_.setup_deadline_ms);
        log_line(o_.verbose, p->peer_id() + (ok ? " publishing" : " failed: " + p->error()));
        if (!ok) {
          setup_errors_.push_back(p->peer_id() + ": " + p->error());
          shared_.failed.fetch_add(1);
          shared_.abort = true;
        }
      }
      shared_.media_start_us = mono_us();
      shared_.arrived_publish.fetch_add(1);
      if (!shared_.abort)
        media_loop(loop, transports);
      return;
    }
    wait_serviced([&] { return shared_.storm_go.load(); });
    for (auto& p : participants_) {
      if (shared_.abort || shared_.stop)
        break;
      const bool ok = p->connect(ctx_, shared_.setup_deadline_ms) &&
                      p->open_receive(ctx_, shared_.setup_deadline_ms) &&
                      p->consume_all(ctx_, shared_.setup_deadline_ms);
      if (!ok) {
        log_line(o_.verbose, p->peer_id() + " failed: " + p->error());
        setup_errors_.push_back(p->peer_id() + ": " + p->error());
        shared_.failed.fetch_add(1);
        shared_.storm_failed.fetch_add(1);
      }
      drain_others(*p);
    }
    if (!shared_.abort)
      media_loop(loop, transports);
  }

  const totals& at_open() const noexcept { return open_; }
  const totals& at_close() const noexcept { return close_; }
  const latency_histogram& latency() const noexcept { return latency_; } // video
  const latency_histogram& audio_latency() const noexcept { return audio_latency_; }
  const latency_histogram& keyframe_latency() const noexcept { return keyframe_latency_; }
  const class_activity_figures& activity() const noexcept { return activity_; }
  const std::vector<std::string>& errors() const noexcept { return setup_errors_; }
  const std::vector<server_view>& views() const noexcept { return views_; }
  const std::vector<std::unique_ptr<participant>>& participants() const noexcept {
    return participants_;
  }

private:
  // Waits for `done` while the transports and WebSocket connections keep running.
  template <class F>
  void wait_serviced(F done) {
    while (!done() && !shared_.abort && !shared_.stop) {
      ctx_.driver->step(5);
      for (auto& p : participants_)
        p->drain_events();
    }
  }

  // Every join sends participant-list-update to every peer of the room: the events of the
  // participants already set up are dropped as they come (the one being set up keeps its
  // own, it reads new-producer events from them).
  void drain_others(const participant& current) {
    for (auto& p : participants_)
      if (p.get() != &current)
        p->drain_events();
  }

  totals collect() const {
    totals t;
    for (auto& p : participants_)
      p->add_totals(t);
    return t;
  }

  void media_loop(client::signaling_loop& loop, client::transport_set& transports) {
    const uint64_t start = shared_.media_start_us.load();
    // Publishers do not start in the same microsecond: spread them over one video frame.
    std::size_t publishers = 0;
    for (auto& p : participants_)
      if (p->publishes())
        ++publishers;
    std::size_t k = 0;
    const uint64_t spread_us = 33000;
    for (auto& p : participants_) {
      uint64_t offset = 0;
      if (p->publishes()) {
        offset = publishers > 1 ? (spread_us * k / publishers) : 0;
        offset += spread_us * index_ / std::max<uint32_t>(shared_.workers, 1) / 8;
        ++k;
      }
      p->start_media(ctx_, start + offset);
    }

    int seen_epoch = 0;
    uint64_t next_due = 0;
    uint64_t next_drain = 0;
    while (!shared_.stop.load(std::memory_order_relaxed)) {
      const int e = shared_.epoch.load(std::memory_order_acquire);
      if (e != seen_epoch) {
        if (seen_epoch == 0 && e >= 1) {
          open_ = collect();
          ctx_.latency = &latency_;
          ctx_.audio_latency = &audio_latency_;
          ctx_.keyframe_latency = &keyframe_latency_;
        }
        if (e >= 2) {
          close_ = collect();
          ctx_.latency = nullptr;
          ctx_.audio_latency = nullptr;
          ctx_.keyframe_latency = nullptr;
          shared_.closed.fetch_add(1, std::memory_order_release);
        }
        seen_epoch = e;
      }
      uint64_t now = mono_us();
      if (now >= next_due) {
        next_due = never;
        for (auto& p : participants_)
          next_due = std::min(next_due, p->service(ctx_, now));
      }
      // The class's activity (--chat-per-s, --poll) while the window is open; its events
      // are timed when drained, so they are drained often then.
      const bool activity = o_.chat_per_s > 0 || o_.poll;
      if (activity && seen_epoch == 1)
        for (auto& p : participants_)
          if (p->publishes())
            p->class_tick(now, o_.chat_per_s, o_.poll);
      loop.poll();
      if (now >= next_drain) {
        for (auto& p : participants_)
          p->drain_events();
        next_drain = now + (activity ? 5'000 : 1'000'000);
      }
      now = mono_us();
      uint64_t wait_ms = max_wait_ms;
      if (next_due != never)
        wait_ms = next_due > now ? std::min<uint64_t>(max_wait_ms, (next_due - now + 999) / 1000)
                                 : 0;
      transports.poll_once(o_.busy_poll ? 0 : wait_ms);
    }
    if (seen_epoch < 2)
      close_ = collect();
  }

  uint32_t index_;
  const bench_options& o_;
  shared_state& shared_;
  worker_context ctx_;
  std::vector<std::unique_ptr<participant>> participants_;
  std::vector<std::string> setup_errors_;
  std::vector<server_view> views_;
  totals open_, close_;
  latency_histogram latency_, audio_latency_, keyframe_latency_;
  class_activity_figures activity_;
};

// Sleeps until `deadline_us` (mono_us) unless a worker aborts.
void sleep_until_us(uint64_t deadline_us, const shared_state& shared) {
  while (!shared.abort) {
    const uint64_t now = mono_us();
    if (now >= deadline_us)
      return;
    std::this_thread::sleep_for(std::chrono::microseconds(std::min<uint64_t>(deadline_us - now, 50000)));
  }
}

// Waits until `done` (polled every millisecond) or the steady clock passes `deadline_ms`, or
// a worker aborts; returns done().
template <class F>
bool wait_bounded(F done, uint64_t deadline_ms, const shared_state& shared) {
  while (!done()) {
    if (shared.abort || client::steady_now_ms() > deadline_ms)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Setup of the class, meeting and rooms scenarios: every worker has its subscribers'
// transports open, then consuming (bounded by the setup deadline; the workers' own requests
// are bounded by it too, so these waits end).
void run_setup_main(const bench_options& o, shared_state& shared, bench_result& r,
                    uint64_t setup_start) {
  auto wait_workers = [&](const std::atomic<uint32_t>& arrived) {
    if (!wait_bounded([&] { return arrived.load() >= o.threads; },
                      shared.setup_deadline_ms + 5000, shared) && !shared.abort) {
      r.setup_timed_out = true;
      shared.abort = true;
    }
  };
  wait_workers(shared.arrived_transports);
  if (o.server_pid && !shared.abort)
    r.server_transports = sample_process(*o.server_pid);
  shared.consume = true;
  wait_workers(shared.arrived_subscribe);
  r.setup_s = double(mono_us() - setup_start) / 1e6;
  if (shared.failed.load() >= r.participants)
    shared.abort = true; // nobody to measure
  if (o.server_pid)
    r.server_setup = sample_process(*o.server_pid);
}

// The storm: once the publisher sends (and half a second of its media has gone out), the
// subscribers' workers are released together; the storm ends when every subscriber has its
// first audio and video or has failed (bounded by the setup deadline).
void run_storm_main(const bench_options& o, shared_state& shared, bench_result& r) {
  if (!wait_bounded([&] { return shared.arrived_publish.load() >= 1; },
                    shared.setup_deadline_ms, shared)) {
    r.setup_timed_out = !shared.abort;
    shared.abort = true;
    return;
  }
  const uint64_t settle_until = mono_us() + 500000;
  wait_bounded([&] { return mono_us() >= settle_until; }, shared.setup_deadline_ms, shared);
  if (o.server_pid)
    r.server_storm_start = sample_process(*o.server_pid);
  r.client_storm_start = sample_self();
  r.storm_start_us = mono_us();
  shared.storm_go = true;
  const bool all = wait_bounded(
    [&] { return shared.first_media.load() + shared.storm_failed.load() >= o.subscribers; },
    shared.setup_deadline_ms, shared);
  r.storm_end_us = mono_us();
  if (o.server_pid)
    r.server_storm_end = sample_process(*o.server_pid);
  r.client_storm_end = sample_self();
  r.storm_with_media = shared.first_media.load();
  r.setup_timed_out = !all && !shared.abort;
  r.setup_s = double(r.storm_end_us - r.storm_start_us) / 1e6;
  r.server_setup = r.server_storm_end;
  if (shared.failed.load() >= r.participants || r.storm_with_media == 0)
    shared.abort = true;
}

} // namespace

uint32_t scenario_fanout(const bench_options& o) noexcept {
  return o.kind == scenario::class_ ? o.subscribers : (o.participants > 1 ? o.participants - 1 : 1);
}

bool bench_result::ok() const noexcept {
  return failed == 0 && !setup_timed_out && delta.rx_packets > 0 && server_alive_after;
}

bench_result run_bench(const bench_options& o) {
  bench_result r;
  r.options = o;
  r.run_id = o.run_id.empty() ? ids::random_token(6) : o.run_id;

  shared_state shared;
  shared.workers = o.threads;
  std::vector<std::unique_ptr<worker>> workers;
  for (uint32_t i = 0; i < o.threads; ++i)
    workers.push_back(std::make_unique<worker>(i, o, shared));

  // Participants: rooms of the scenario, dealt over the workers round-robin (a class's
  // publisher on worker 0, its subscribers starting on the next worker).
  uint32_t next = 0;
  const auto urls = split_urls(o.url);
  uint32_t next_url = 0;
  auto deal = [&](std::unique_ptr<participant> p) {
    // Several nodes: participants dealt over them (with --remote-subscribers, a class's
    // subscribers over all but the publisher's).
    if (o.remote_subscribers && next_url > 0 && next_url % urls.size() == 0)
      ++next_url;
    p->set_url(urls[next_url % urls.size()]);
    ++next_url;
    // The storm keeps worker 0 for the publisher alone (it sends while the others set up).
    const uint32_t w = !o.storm ? next % o.threads : next == 0 ? 0 : 1 + (next - 1) % (o.threads - 1);
    workers[w]->add(std::move(p));
    ++next;
  };
  const std::string prefix = "bench-" + r.run_id;
  if (o.kind == scenario::class_) {
    const std::string room = prefix + "-class";
    deal(std::make_unique<participant>(prefix + "-pub", room, true, false, 0));
    for (uint32_t i = 0; i < o.subscribers; ++i) {
      auto p = std::make_unique<participant>(prefix + "-sub" + std::to_string(i), room, false, true, 2);
      p->set_sampled(i % o.decrypt_sample == 0);
      r.sampled += p->sampled() ? 1 : 0;
      p->set_prefers_low_layer(o.prefers_low_layer(i));
      p->set_role(o.subscriber_role);
      r.low_layer_receivers += p->prefers_low_layer() ? 1 : 0;
      deal(std::move(p));
    }
    r.publishers = 1;
    r.subscribers = o.subscribers;
    r.expected_consumers = uint64_t(o.subscribers) * 2;
  } else {
    const uint32_t n = o.participants;
    for (uint32_t room = 0; room < o.room_count(); ++room) {
      const std::string name = prefix + "-r" + std::to_string(room);
      for (uint32_t i = 0; i < n; ++i) {
        auto p = std::make_unique<participant>(name + "-p" + std::to_string(i), name, true, true,
                                               2 * (n - 1));
        p->set_sampled((room * n + i) % o.decrypt_sample == 0);
        r.sampled += p->sampled() ? 1 : 0;
        p->set_prefers_low_layer(o.prefers_low_layer(room * n + i));
        r.low_layer_receivers += p->prefers_low_layer() ? 1 : 0;
        deal(std::move(p));
      }
    }
    r.publishers = r.subscribers = o.room_count() * n;
    r.expected_consumers = uint64_t(o.room_count()) * n * 2 * (n - 1);
  }
  r.participants = o.total_participants();

  if (o.server_pid)
    r.server_before = sample_process(*o.server_pid);

  const uint64_t setup_start = mono_us();
  shared.setup_deadline_ms = client::steady_now_ms() + uint64_t(o.setup_timeout_s * 1000);
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&w] { w->run(); });
  if (o.storm)
    run_storm_main(o, shared, r);
  else
    run_setup_main(o, shared, r, setup_start);

  if (!shared.abort) {
    uint64_t media_start = shared.media_start_us.load();
    if (!o.storm) {
      media_start = mono_us() + 20000;
      shared.media_start_us = media_start;
    }
    shared.go = true;
    log_line(o.verbose, "media started; warm-up " + std::to_string(o.warmup_s) + " s");
    sleep_until_us(media_start + uint64_t(o.warmup_s * 1e6), shared);

    // The server's and our CPU and memory, then the workers' counters (`epoch`).
    auto window_edge = [&](std::optional<proc_sample>& server, std::optional<proc_sample>& self,
                           int epoch) {
      if (o.server_pid)
        server = sample_process(*o.server_pid);
      if (urls.size() > 1)
        (epoch == 1 ? r.nodes_start : r.nodes_end) = sample_nodes(urls, o.node_pids);
      self = sample_self();
      const uint64_t at = mono_us();
      shared.epoch.store(epoch, std::memory_order_release);
      return at;
    };
    const uint64_t open = window_edge(r.server_start, r.client_start, 1);
    log_line(o.verbose, "window open for " + std::to_string(o.duration_s) + " s");
    sleep_until_us(open + uint64_t(o.duration_s * 1e6), shared);
    const uint64_t close = window_edge(r.server_end, r.client_end, 2);
    r.window_s = double(close - open) / 1e6;
    log_line(o.verbose, "window closed");
    // Every worker takes its closing snapshot before they stop (bounded polling: one that
    // does not answer takes it when it stops).
    const uint64_t snapshots_deadline = mono_us() + 1'000'000;
    while (shared.closed.load(std::memory_order_acquire) < shared.workers && !shared.abort &&
           mono_us() < snapshots_deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  } else {
    shared.go = true;
  }
  shared.stop = true;
  for (auto& t : threads)
    t.join();

  totals open_sum, close_sum;
  for (auto& w : workers) {
    open_sum += w->at_open();
    close_sum += w->at_close();
    r.latency.merge(w->latency());
    r.latency.merge(w->audio_latency());
    r.audio_latency.merge(w->audio_latency());
    r.keyframe_latency.merge(w->keyframe_latency());
    r.class_activity.merge(w->activity());
    for (auto& e : w->errors())
      if (r.errors.size() < max_errors)
        r.errors.push_back(e);
    for (auto& v : w->views()) // one receiver of each kind is enough
      if (std::none_of(r.server_views.begin(), r.server_views.end(),
                       [&](const server_view& x) { return x.low == v.low; }))
        r.server_views.push_back(v);
    for (auto& p : w->participants()) {
      if (o.storm && p->subscribes())
        r.storm_marks.push_back(p->marks());
      r.consumers += p->consumers();
      r.consumed_by_id += p->consumed_by_id();
      r.consumed_oldest += p->consumed_oldest();
      if (p->failed())
        ++r.failed;
    }
  }
  r.delta = close_sum - open_sum;
  if (o.server_pid)
    r.server_alive_after = sample_process(*o.server_pid).has_value();
  return r;
}

} // namespace chorus::bench
