// chorus: the server binary. Reads configuration, starts the actor system and the
// signaling edge, and shuts both down cleanly on SIGINT / SIGTERM.
#include "actors/clock.hpp"
#include "actors/cluster.hpp"
#include "actors/gateway.hpp"
#include "actors/meetings.hpp"
#include "actors/messages.hpp"
#include "actors/node.hpp"
#include "actors/scheduler.hpp"
#include "actors/operations.hpp"
#include "actors/process_load.hpp"
#include "actors/recorder.hpp"
#include "actors/ticker.hpp"
#include "actors/rehome_messages.hpp"
#include "app/admin_api.hpp"
#include "app/config.hpp"
#include "app/options.hpp"
#include "app/webhooks.hpp"
#include "app/meetings_api.hpp"
#include "app/metrics.hpp"
#include "app/rtmp_server.hpp"
#include "app/live_files.hpp"
#include "app/whip_api.hpp"
#include "app/node_report.hpp"
#include "app/token_command.hpp"
#include "app/turn_setup.hpp"
#include "app/turn_status.hpp"
#include "app/web_assets.hpp"
#include "common/log.hpp"
#include "common/text.hpp"
#include "net/cluster.hpp"
#include "net/dtls_certificate.hpp"
#include "net/dtls_engine.hpp"
#include "net/http_admission.hpp"
#include "net/http_server.hpp"
#include "protocol/meetings.hpp"
#include "net/media_io.hpp"
#include "net/send_outbox.hpp"
#include "protocol/dialect.hpp"
#include "protocol/rtp_json.hpp"
#include "rtp/srtp_gcm.hpp"
#include "store/record_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <ctime>
#include <mutex>
#include <optional>
#include <variant>
#include <string_view>
#include <thread>
#include <unistd.h>

using namespace chorus;

namespace {

constexpr auto shutdown_grace = std::chrono::milliseconds(1000);
// What the teardown after the edge may take before the watchdog calls it a hang. It is
// well under a second on an idle machine, but the class recorder's last commit waits on
// the disk (its fsync queues behind a busy disk's writeback), and a record cut short is
// lost: the bound is for a hang, not for a slow disk.
constexpr auto shutdown_deadline = std::chrono::milliseconds(10000);
// SIGTERM in a cluster: how long each step of handing the rooms over may take.
constexpr auto hand_over_timeout = std::chrono::seconds(4);

// The cluster's secret: cluster.secret, else the first line of cluster.secretFile.
std::optional<std::string> cluster_secret(const app::cluster_config& c) {
  if (!c.secret.empty())
    return c.secret;
  std::ifstream in{c.secret_file};
  std::string line;
  if (!in || !std::getline(in, line))
    return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  return line;
}

// CPUs in this process's affinity mask (at least 1).
size_t usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0)
    return 2;
  return std::max<size_t>(1, size_t(CPU_COUNT(&set)));
}

// What the lean scheduler's workers do besides running actors: each has a send outbox
// (net/send_outbox.hpp), flushed before it sleeps and after a turn once it has held a
// datagram for send_outbox::max_wait_ns.
actors::lean_scheduler_hooks lean_hooks() {
  actors::lean_scheduler_hooks h;
  h.on_worker_start = [] { net::send_outbox::install(); };
  h.on_worker_idle = [] { net::send_outbox::flush_current(); };
  h.on_job_done = [] {
    auto* outbox = net::send_outbox::current();
    if (outbox && outbox->size() != 0)
      net::send_outbox::flush_current_if_waited(actors::mono_ns());
  };
  return h;
}

// Stops the edge (and the cluster actor) from any thread, until the edge is gone.
struct stop_gate {
  std::mutex mutex;
  net::http_server* server = nullptr; // null once run() has returned
  caf::actor cluster;
  std::shared_ptr<actors::node_counters> counters;
  std::atomic<bool> drain_started{false};

  void stop() {
    std::lock_guard<std::mutex> g{mutex};
    if (counters)
      counters->stopping.store(true);
    if (cluster)
      caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
    if (server)
      server->shutdown(1001, shutdown_grace);
  }
  void close() {
    std::lock_guard<std::mutex> g{mutex};
    server = nullptr;
    cluster = nullptr;
  }
};

// Ends the process if shutdown hangs: a bug, reported with a distinct exit code and the
// step that had not finished.
class shutdown_watchdog {
public:
  explicit shutdown_watchdog(std::chrono::milliseconds limit)
    : thread_([this, limit] {
        std::unique_lock<std::mutex> lock{mutex_};
        if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
          LOG_ERROR("main", "shutdown did not finish in " << limit.count() << " ms (still "
                                                          << stage_.load() << ")");
          std::fflush(stderr);
          _exit(3);
        }
      }) {}
  ~shutdown_watchdog() {
    {
      std::lock_guard<std::mutex> g{mutex_};
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void stage(const char* what) { stage_.store(what); }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<const char*> stage_{"stopping the admin API and the cluster"};
  std::thread thread_;
};

// Names the shutdown's next step for the watchdog when destroyed: declared right after the
// object whose destruction is that step.
struct shutdown_stage {
  std::optional<shutdown_watchdog>& watchdog;
  const char* what;
  ~shutdown_stage() {
    if (watchdog)
      watchdog->stage(what);
  }
};

} // namespace

// `chorus home ROOM --nodes ID,ID,...`: the node that homes ROOM when those nodes are live
// (rendezvous placement, the rule every node applies; docs/operations.md).
int home_main(int argc, char** argv) {
  std::string room;
  std::vector<std::string> nodes;
  for (int i = 1; i < argc; ++i) {
    std::string_view a{argv[i]};
    if (a == "--nodes" && i + 1 < argc)
      nodes = text::split_list(argv[++i]);
    else if (room.empty() && !a.starts_with("--"))
      room = a;
    else {
      std::fprintf(stderr, "usage: chorus home ROOM --nodes NODE_ID,NODE_ID,...\n");
      return 2;
    }
  }
  if (room.empty() || nodes.empty()) {
    std::fprintf(stderr, "usage: chorus home ROOM --nodes NODE_ID,NODE_ID,...\n");
    return 2;
  }
  std::printf("%s\n", net::cluster::home_node(room, nodes).c_str());
  return 0;
}

int main(int argc, char** argv) {
  // A write to a pipe whose reader is gone (a recording's ffmpeg child that died) must be
  // an EPIPE error, not the end of the server. Sockets already send with MSG_NOSIGNAL.
  // Children get every disposition back to the default before they execve.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && std::string_view{argv[1]} == "token")
    return app::token_main(argc - 1, argv + 1);
  if (argc > 1 && std::string_view{argv[1]} == "home")
    return home_main(argc - 1, argv + 1);
  auto cli = app::parse_command_line(argc, argv);
  if (!cli) {
    std::fprintf(stderr, "chorus: %s\n", cli.error().c_str());
    return 2;
  }
  if (cli->action == app::cli_action::help) {
    std::fputs(app::usage().c_str(), stdout);
    return 0;
  }
  if (cli->action == app::cli_action::help_markdown) {
    std::fputs(app::options_markdown().c_str(), stdout);
    return 0;
  }
  const auto& cfg = cli->cfg;
  log::level lvl = log::level::info;
  log::parse_level(cfg.log_level, lvl);
  log::set_level(lvl);
  log::set_format(cfg.log_format == "json" ? log::format::json : log::format::text);

  auto caps = rtp::generate_router_capabilities(cfg.media_codecs);
  if (!caps) { // validate() checked this already
    std::fprintf(stderr, "chorus: mediaCodecs: %s\n", caps.error().c_str());
    return 2;
  }
  auto ctx = std::make_shared<actors::node_context>();
  ctx->meetings = std::make_shared<actors::meeting_book>();
  ctx->signaling = cfg.signaling;
  ctx->limits = cfg.limits;
  ctx->classroom = cfg.classroom;
  ctx->rtc = cfg.rtc;
  ctx->sctp = cfg.sctp;
  ctx->recording = cfg.recording;
  ctx->rtmp = cfg.rtmp;
  ctx->live = cfg.live;
  ctx->settings.node_id = cfg.cluster.node_id;
  if (ctx->settings.node_id.empty()) {
    char host_name[256] = {};
    gethostname(host_name, sizeof(host_name) - 1);
    ctx->settings.node_id = host_name;
  }
  ctx->settings.announced_address =
    cfg.announced_ip.empty() ? cfg.media_io.listen_ip : cfg.announced_ip;
  ctx->auth.roles = cfg.auth.roles;
  ctx->auth.default_role = cfg.auth.default_role;
  if (cfg.auth.jwt()) {
    auto verifier = app::make_jwt_verifier(cfg.auth); // validate() checked this already
    if (!verifier) {
      std::fprintf(stderr, "chorus: auth: %s\n", verifier.error().c_str());
      return 2;
    }
    ctx->auth.verifier = std::make_shared<const protocol::jwt_verifier>(std::move(*verifier));
  }
  ctx->router_capabilities_json = protocol::to_json(*caps);
  ctx->router_capabilities = *caps;

  // DTLS: one certificate for the node, loaded or generated.
  auto cert = cfg.rtc.dtls_certificate_file.empty()
                ? net::dtls_certificate::generate(static_cast<int64_t>(std::time(nullptr)))
                : net::dtls_certificate::load_pem_files(cfg.rtc.dtls_certificate_file,
                                                        cfg.rtc.dtls_private_key_file);
  if (!cert) {
    std::fprintf(stderr, "chorus: rtc.dtlsCertificateFile: %s\n", cert.error().c_str());
    return 2;
  }
  auto dtls_ctx =
    net::dtls_context::create(std::make_shared<const net::dtls_certificate>(std::move(*cert)));
  if (!dtls_ctx) {
    std::fprintf(stderr, "chorus: DTLS: %s\n", dtls_ctx.error().c_str());
    return 2;
  }
  ctx->dtls_context = *dtls_ctx;
  if (cfg.rtc.fault_injection)
    LOG_WARN("main", "fault injection requests are enabled (set-transport-egress-cap)");
  if (cfg.rtc.drop_rtp_percent > 0)
    LOG_WARN("main", "fault injection: dropping " << cfg.rtc.drop_rtp_percent
                                                  << " % of received RTP");

  // SRTP's AES-GCM, before any transport keys one.
  rtp::set_gcm_impl(cfg.rtc.gcm == "openssl" ? rtp::gcm_impl::openssl : rtp::gcm_impl::native);
  LOG_INFO("main", "SRTP AES-GCM: " << (rtp::gcm_uses_native() ? "the CPU's AES instructions"
                                                                : "OpenSSL"));

  // Media sockets: a port pair per transport, or one shared port.
  net::media_io_options media_opts = cfg.media_io;
  media_opts.single_port = cfg.rtc.single_port != 0;
  media_opts.single_port_number = cfg.rtc.single_port;
  media_opts.io_threads = cfg.rtc.io_threads != 0 ? cfg.rtc.io_threads : usable_cpus();
  app::configure_turn_server(cfg, media_opts, ctx->turn);
  ctx->media_io = std::make_shared<net::media_io>(media_opts);
  try {
    ctx->media_io->start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "chorus: %s: %s\n",
                 media_opts.single_port ? "--rtc-single-port" : "--rtc-ip", e.what());
    return 1;
  }
  app::configure_ice_servers(cfg, *ctx->media_io, ctx->turn);
  if (ctx->media_io->turn_port() != 0)
    LOG_INFO("main", "TURN on port " << ctx->media_io->turn_port() << " (UDP and TCP)");
  LOG_INFO("main", "media I/O threads: " << ctx->media_io->threads());
  actors::set_io_thread_count(ctx->media_io->threads());

  // The class record (storage.path): opened before anything runs, so that a file that
  // cannot be used stops the start with a message instead of a class without its record.
  // A PostgreSQL server (storage.url) is another matter: it may be down or restarting when
  // a node starts, and a class must not wait for it. Its url was checked with the
  // configuration; the recorder connects, logs an error and shows it in /healthz while the
  // server cannot be reached, and tries again.
  std::shared_ptr<store::record_store> record_store;
  if (!cfg.storage.path.empty()) {
    auto opened = store::open_sqlite_store(cfg.storage.path);
    if (!opened) {
      std::fprintf(stderr, "chorus: storage.path (--storage-path): %s\n", opened.error().c_str());
      return 2;
    }
    record_store = std::move(*opened);
  } else if (!cfg.storage.url.empty()) {
    auto opened = store::open_postgres_store(cfg.storage.url);
    if (!opened) {
      std::fprintf(stderr, "chorus: storage.url (--storage-url): %s\n", opened.error().c_str());
      return 2;
    }
    record_store = std::move(*opened);
  }

  // Webhooks: the sender outlives the actor system (rooms that end at shutdown still
  // report room-finished), and gets a short time to deliver at the end.
  std::shared_ptr<app::webhook_sender> webhooks;
  if (cfg.webhooks.enabled()) {
    app::webhook_options wo = cfg.webhooks;
    if (!cfg.webhooks.key_file.empty()) {
      auto key = app::read_secret_file(cfg.webhooks.key_file); // validate() read it too
      if (!key) {
        std::fprintf(stderr, "chorus: webhooks.keyFile: %s\n", key.error().c_str());
        return 2;
      }
      wo.key = *key;
    }
    webhooks = std::make_shared<app::webhook_sender>(std::move(wo));
    try {
      webhooks->start();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chorus: %s\n", e.what());
      return 2;
    }
    ctx->events = webhooks;
  }
  if (cfg.metrics.per_room)
    ctx->room_metrics = std::make_shared<actors::room_registry>();
  struct stop_webhooks_at_end {
    std::shared_ptr<app::webhook_sender> sender;
    ~stop_webhooks_at_end() {
      if (sender)
        sender->stop(std::chrono::milliseconds(500));
    }
  } stop_webhooks{webhooks};

  int exit_code = 0;
  {
    std::optional<shutdown_watchdog> watchdog; // declared first: outlives the teardown
    caf::actor_system_config caf_cfg;
    actors::register_message_types(caf_cfg);
    // The middleman (CAF's network layer, BASP) only in a cluster: a single node opens no
    // port and starts no thread for it.
    std::optional<std::string> secret;
    std::shared_ptr<actors::cluster_status> cluster_status;
    if (cfg.cluster.enabled()) {
      secret = cluster_secret(cfg.cluster);
      if (!secret || secret->size() < 16) {
        std::fprintf(stderr, "chorus: --cluster-secret-file (cluster.secretFile): %s\n",
                     secret ? "the secret must be at least 16 bytes" : "cannot read the file");
        return 2;
      }
      caf_cfg.load<caf::io::middleman>();
      caf_cfg.set("middleman.app-identifiers", std::vector<std::string>{"chorus-cluster-v1"});
      if (cfg.cluster.tls()) {
        // Every node link is TLS, and both sides must present a certificate of the CA.
        caf_cfg.load<caf::openssl::manager>();
        caf_cfg.openssl_certificate = cfg.cluster.cert_file;
        caf_cfg.openssl_key = cfg.cluster.key_file;
        caf_cfg.openssl_cafile = cfg.cluster.ca_file;
      }
      cluster_status = std::make_shared<actors::cluster_status>();
    }
    // Two scheduler workers at least, even when pinned to one CPU: with one, a long turn
    // (a large room's participant list encoded for every session) stalls the media path
    // (measured: p99 latency 983 ms instead of 25 ms at 150 subscribers); more than the
    // usable CPUs only adds context switches.
    caf_cfg.set("scheduler.max-threads", cfg.scheduler.threads != 0
                                           ? size_t(cfg.scheduler.threads)
                                           : std::max<size_t>(2, usable_cpus()));
    // Work stealing's idle workers poll for work (spin, then 50 us sleeps) and that polling
    // was most of the CPU at small and moderate load; the sharing policy's idle workers
    // wait on a condition variable instead, and the lean one (the default) wakes them only
    // when there is work for two (docs/design/scheduler-wakeups.md, "Fewer wake-ups").
    if (cfg.scheduler.policy == "lean")
      actors::use_lean_scheduler(caf_cfg, usable_cpus(), lean_hooks(),
                                 cfg.scheduler.timers != "caf");
    else
      caf_cfg.set("scheduler.policy", caf::atom_from_string(cfg.scheduler.policy));
    // At most this many messages per actor turn (CAF's default is unbounded): an actor with
    // a deep mailbox (a transport receiving a data-channel flood, one sending it into
    // usrsctp at tens of microseconds a message) then yields its worker to the others
    // instead of holding it until its mailbox is empty. 256 let a calm room's data wait up
    // to 95 ms inside the server behind such turns; 32 up to 49 ms (docs/performance.md,
    // "The flood test"). Media actors rarely have more than a few messages queued.
    caf_cfg.set("scheduler.max-throughput", size_t{32});
    caf::actor_system sys{caf_cfg};
    shutdown_stage stage_actors{watchdog, "waiting for the actors to end (the recorder writes "
                                          "what waits)"};
    // The actors' timers run on the media I/O thread's wake-ups (actors/scheduler.hpp),
    // and go back to the clock's own thread before the actor system ends (this guard is
    // destroyed first).
    struct timers_on_io {
      caf::actor_system& sys;
      net::media_io* io = nullptr;
      ~timers_on_io() {
        if (io) {
          io->set_timer_hook(nullptr);
          actors::stop_driving_timers(sys);
        }
      }
    } timers_guard{sys};
    if (cfg.scheduler.policy == "lean" && cfg.scheduler.timers == "io" && ctx->media_io) {
      auto io = ctx->media_io;
      if (auto* hook = actors::drive_timers(sys, [io] { io->wake(); })) {
        if (io->set_timer_hook(hook))
          timers_guard.io = io.get();
        else
          actors::stop_driving_timers(sys);
      }
    }
    // The recorder, which the rooms reach through their context, and the ticker
    // (actors/ticker.hpp). The actors get a copy of the context that holds them, made in
    // this scope: no handle to them may outlive the actor system, and `ctx` does. At the end
    // of this scope both are told to stop; the recorder writes what the closing rooms still
    // send, then quits.
    auto actor_ctx = std::make_shared<actors::node_context>(*ctx);
    std::shared_ptr<actors::recorder_counters> record_counters;
    std::string record_store_name;
    caf::actor recorder;
    if (record_store) {
      record_store_name = record_store->describe();
      // Meetings registered before a restart (or by another node sharing the store).
      if (auto loaded = record_store->load_meetings(); loaded) {
        for (auto& m : *loaded)
          ctx->meetings->add({m.room_id, m.creator_id, m.description, m.starts_at_ms, m.at_ms});
        if (!loaded->empty())
          LOG_INFO("main", loaded->size() << " meetings loaded from " << record_store_name);
      } else {
        LOG_ERROR("main", "meetings not loaded: " << loaded.error());
      }
      actors::recorder_settings rs;
      rs.flush_interval = std::chrono::milliseconds(cfg.storage.flush_interval_ms);
      record_counters = std::make_shared<actors::recorder_counters>();
      recorder = actors::spawn_recorder(sys, std::move(record_store), rs, record_counters);
      actor_ctx->recorder = recorder;
    }
    struct stop_on_scope_end {
      caf::actor actor;
      ~stop_on_scope_end() {
        if (actor)
          caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
      }
    } stop_recorder{recorder};
    actor_ctx->ticker = actors::spawn_ticker(sys);
    stop_on_scope_end stop_ticker{actor_ctx->ticker}; // (stopped before the recorder)
    auto node = actors::spawn_node(sys, actor_ctx);

    net::http_server_options opts = cfg.edge;
    opts.threads = cfg.signaling.threads != 0 ? cfg.signaling.threads
                                              : std::max<size_t>(1, usable_cpus() / 4);

    auto started = std::chrono::steady_clock::now();
    const net::http_server* edge = nullptr; // set below, before the server runs
    auto on_http = [ctx, started, cluster_status, record_counters, record_store_name, &edge, webhooks, &sys,
                    allowed = cfg.edge.allowed_origins, recorder, node](
                     const net::http_request_info& req) -> net::http_response {
      if (auto r = app::meetings_api(req, *ctx->meetings, allowed, recorder, node))
        return *r;
      if (req.path == "/healthz" && (req.method == "GET" || req.method == "HEAD"))
        // 503 while draining: a load balancer stops sending clients here.
        return {ctx->counters->draining.load() ? 503u : 200u, "application/json",
                app::healthz(*ctx, started, cluster_status.get(), edge->counters(),
                        record_counters.get(), record_store_name, sys.registry().running()),
                {}};
      if ((req.path == "/" || req.path == "/index.html") &&
          (req.method == "GET" || req.method == "HEAD"))
        return {200, "text/html; charset=utf-8", std::string{app::index_html()}, {}};
      if (req.path == "/favicon.ico") // browsers ask for it; there is none
        return {204, "image/x-icon", "", {}};
      if (req.path == "/metrics" && (req.method == "GET" || req.method == "HEAD"))
        return {200, "text/plain; version=0.0.4; charset=utf-8",
                app::metrics_text(*ctx, edge->counters(), record_counters.get(),
                             webhooks ? &webhooks->counters() : nullptr),
                {}};
      if (auto r = app::live_files(req, ctx->live.directory))
        return *r;
      if (req.path == "/app.js" && (req.method == "GET" || req.method == "HEAD"))
        return {200, "text/javascript; charset=utf-8", std::string{app::app_js()}, {}};
      return {404, "application/json", "{\"error\":\"not found\"}", {}};
    };
    net::http_server server{opts, on_http, actors::make_ws_gateway(sys, node, actor_ctx)};
    // WHIP and WHEP (app/whip_api.hpp): publishers and players that POST an SDP offer; one
    // pool of resources, one set of bounds.
    auto whip_route = [api = app::whip_api_context{&sys, node, actor_ctx,
                                                   std::make_shared<actors::whip_resources>(actors::whip_resources::bounds{}),
                                                   cfg.edge.allowed_origins}](const net::http_request_info& req,
                                                                               actors::http_responder respond) {
      app::whip_request(api, req, std::move(respond));
    };
    server.set_deferred_route(std::string(app::whip_prefix), whip_route);
    server.set_deferred_route(std::string(app::whep_prefix), whip_route);
    shutdown_stage stage_edge{watchdog, "closing the edge's connections"};
    edge = &server;
    // Engine.IO sessions at /socket.io/ speak the Socket.IO dialect; the Engine.IO sid is
    // the Socket.IO socket id and the peer id.
    server.set_engineio_acceptor(actors::make_engineio_gateway(
      sys, node, actor_ctx,
      [](const std::string& sid) -> std::unique_ptr<protocol::dialect> {
        return protocol::make_socketio_dialect(sid);
      }));
    if (!cfg.signaling.tls_certificate_file.empty()) {
      auto tls = server.use_tls(cfg.signaling.tls_certificate_file,
                                cfg.signaling.tls_private_key_file);
      if (tls.problem != net::http_server::tls_problem::none) {
        std::fprintf(stderr, "chorus: %s: %s\n",
                     tls.problem == net::http_server::tls_problem::certificate
                       ? "--tls-cert (signaling.tlsCertificateFile)"
                       : "--tls-key (signaling.tlsPrivateKeyFile)",
                     tls.message.c_str());
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        return 2;
      }
    }
    // ICE-TCP and TURN on the signaling port: told from HTTP by their first bytes.
    if (const bool turn = app::signaling_port_takes_turn(cfg);
        cfg.rtc.tcp_on_signaling_port || turn)
      server.set_stream_handoff(ctx->media_io->handoff(cfg.rtc.tcp_on_signaling_port, turn));
    uint16_t port = 0;
    try {
      port = server.listen();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "chorus: --listen: %s\n", e.what());
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      return 1;
    }
    if (cfg.rtc.tcp_on_signaling_port) // before run(): no transport is made before this
      ctx->signaling_tcp_port->store(port, std::memory_order_relaxed);
    auto host =
      cfg.edge.host.find(':') != std::string::npos ? "[" + cfg.edge.host + "]" : cfg.edge.host;
    caf::actor cluster;
    if (cfg.cluster.enabled()) {
      actors::cluster_settings cs;
      cs.node_id = cfg.cluster.node_id;
      if (cs.node_id.empty()) {
        char name[256] = {};
        gethostname(name, sizeof(name) - 1);
        cs.node_id = std::string{name} + ":" + std::to_string(port);
      }
      cs.secret = *secret;
      cs.client_url = std::string{server.uses_tls() ? "https" : "http"} + "://" + host + ":" +
                      std::to_string(port);
      cs.peers = cfg.cluster.peers;
      cs.heartbeat_interval_ms = cfg.cluster.heartbeat_interval_ms;
      cs.heartbeat_timeout_ms = cfg.cluster.heartbeat_timeout_ms;
      cs.tls = cfg.cluster.tls();
      if (!cs.tls)
        LOG_WARN("main", "cluster: links between nodes are not encrypted, and relayed media "
                         "crosses them decrypted: use --cluster-cert, --cluster-key and "
                         "--cluster-ca outside a trusted network");
      std::string chost; // validate() checked cluster.listen
      uint16_t cport = 0;
      if (!cfg.cluster.listen.empty())
        text::split_host_port(cfg.cluster.listen, chost, cport);
      cluster = actors::spawn_cluster(sys, std::move(cs), actor_ctx, cluster_status, node);
      if (!chost.empty()) {
        // The actor dials its peers on its first tick, after this: by then it knows the
        // bound address (port 0 picks one) that it tells the other nodes.
        auto bound = cfg.cluster.tls()
                       ? caf::openssl::publish(cluster, cport, chost.c_str(), true)
                       : sys.middleman().publish(cluster, cport, chost.c_str(), true);
        if (!bound) {
          std::fprintf(stderr, "chorus: --cluster-listen (cluster.listen): %s\n",
                       sys.render(bound.error()).c_str());
          caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
          caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
          return 1;
        }
        auto chost_text = chost.find(':') != std::string::npos ? "[" + chost + "]" : chost;
        cluster_status->set_address(chost_text + ":" + std::to_string(*bound));
        LOG_INFO("main", "cluster: node '" << cfg.cluster.node_id << "' listening on "
                                           << chost_text << ":" << *bound);
      } else {
        LOG_WARN("main", "cluster: this node listens for no other node (--cluster-listen)");
      }
    }
    // Stopping, from the signal handler or at the end of a drain (any thread): the cluster
    // actor first (it must not dial nodes that are going away too), then the edge.
    auto gate = std::make_shared<stop_gate>();
    gate->counters = ctx->counters;
    gate->server = &server;
    gate->cluster = cluster;
    // The drain (drain.timeoutMs, SIGTERM, the admin API's POST /drain): the node's
    // drain_begin (actors/operations.hpp), then the stop when its answer comes.
    auto drain_here = [&sys, node, gate](uint64_t timeout_ms) {
      sys.spawn([node, gate, timeout_ms](caf::event_based_actor* self) {
        // The node's end (shutdown) ends this too.
        self->monitor(node);
        self->set_down_handler([self](caf::down_msg&) { self->quit(); });
        self
          ->request(node,
                    timeout_ms == actors::drain_until_rooms_end
                      ? caf::duration{caf::infinite}
                      : caf::duration{std::chrono::milliseconds(timeout_ms) + std::chrono::seconds(10)},
                    actors::drain_begin{timeout_ms})
          .then(
            [self, gate](actors::drain_report& r) {
              LOG_INFO("main", "drain over (" << r.rooms_left << " rooms still open): stopping");
              gate->stop();
              self->quit();
            },
            [self, gate](caf::error& err) {
              LOG_WARN("main", "drain: " << to_string(err) << ": stopping");
              gate->stop();
              self->quit();
            });
        return caf::behavior{[](int32_t) {}};
      });
    };
    // In a cluster a drain or a stop hands the rooms homed here to the other nodes first
    // (bounded), so that their participants elsewhere never notice this node leaving; then
    // the drain (timeout_ms > 0) or the stop.
    // Asked again during a drain (POST /drain), the new timeout applies too: the node
    // ends the drain at the earliest deadline, at once for 0.
    auto start_drain = [&sys, node, gate, cluster, drain_here](uint64_t timeout_ms) {
      if (gate->drain_started.exchange(true)) {
        drain_here(timeout_ms);
        return;
      }
      if (!cluster) {
        drain_here(timeout_ms);
        return;
      }
      sys.spawn([cluster, node, gate, timeout_ms, drain_here](caf::event_based_actor* self) {
        auto next = [gate, timeout_ms, drain_here] {
          if (timeout_ms > 0)
            drain_here(timeout_ms);
          else
            gate->stop();
        };
        self->request(cluster, hand_over_timeout, actors::hand_over_atom::value)
          .then(
            [self, node, next](bool) {
              self->request(node, hand_over_timeout, actors::hand_over_atom::value)
                .then([next](bool) { next(); }, [next](caf::error&) { next(); });
            },
            [next](caf::error&) { next(); });
      });
    };
    server.on_signal([gate, start_drain, cluster, drain_ms = cfg.drain.timeout_ms](int sig) {
      if (sig == SIGTERM && (drain_ms > 0 || cluster) && !gate->drain_started.load()) {
        if (drain_ms > 0)
          LOG_INFO("main", "signal " << sig << ": draining for up to " << drain_ms
                                     << " ms (a second signal stops at once)");
        else
          LOG_INFO("main", "signal " << sig << ": handing the rooms over, then shutting down"
                                     << " (a second signal stops at once)");
        start_drain(drain_ms);
        return;
      }
      LOG_INFO("main", "signal " << sig << ": shutting down");
      gate->stop();
    });
    std::optional<app::admin_api> admin;
    if (!cfg.admin.listen.empty()) {
      app::admin_options ao;
      text::split_host_port(cfg.admin.listen, ao.host, ao.port); // validate() checked it
      auto token = app::read_secret_file(cfg.admin.token_file);
      if (!token) {
        std::fprintf(stderr, "chorus: admin.tokenFile: %s\n", token.error().c_str());
        gate->stop();
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        return 2;
      }
      ao.token = *token;
      ao.turn_view = [media = ctx->media_io, turn = ctx->turn, tcp = ctx->signaling_tcp_port,
                      shares_turn = app::signaling_port_takes_turn(cfg) && ctx->media_io->turn_port() != 0] {
        return app::turn_status_json(*media, turn, {shares_turn, turn.signaling_tls, tcp->load()});
      };
      auto ahost = ao.host.find(':') != std::string::npos ? "[" + ao.host + "]" : ao.host;
      admin.emplace(sys, node, std::move(ao), start_drain, cfg.drain.timeout_ms);
      try {
        auto admin_port = admin->start();
        std::printf("chorus admin API on http://%s:%u\n", ahost.c_str(), admin_port);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "chorus: --admin-listen (admin.listen): %s\n", e.what());
        admin.reset();
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        if (cluster)
          caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
        return 1;
      }
    }
    // RTMP ingest (app/rtmp_server.hpp): encoders publish into rooms on its own address.
    std::optional<app::rtmp_server> rtmp;
    if (!cfg.rtmp.listen.empty()) {
      app::rtmp_server_options ro;
      text::split_host_port(cfg.rtmp.listen, ro.host, ro.port); // validate() checked it
      auto rhost = ro.host.find(':') != std::string::npos ? "[" + ro.host + "]" : ro.host;
      rtmp.emplace(sys, node, actor_ctx, ro);
      try {
        auto rtmp_port = rtmp->start();
        std::printf("chorus RTMP ingest on rtmp://%s:%u\n", rhost.c_str(), rtmp_port);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "chorus: --rtmp-listen (rtmp.listen): %s\n", e.what());
        rtmp.reset();
        caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
        if (cluster)
          caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
        return 1;
      }
    }
    std::printf("chorus listening on %s://%s:%u\n", server.uses_tls() ? "https" : "http",
                host.c_str(), port);
    std::fflush(stdout);
    if (cfg.rtc.single_port != 0)
      LOG_INFO("main", "ready: signaling on " << host << ":" << port << ", media on "
                                              << cfg.media_io.listen_ip << " port "
                                              << cfg.rtc.single_port << " (udp+tcp, shared)");
    else
      LOG_INFO("main", "ready: signaling on " << host << ":" << port << ", media on "
                                              << cfg.media_io.listen_ip << " ports "
                                              << cfg.media_io.min_port << "-"
                                              << cfg.media_io.max_port);
    server.run();
    gate->close();
    watchdog.emplace(shutdown_deadline);
    if (admin)
      admin->stop();
    if (rtmp)
      rtmp->stop(); // the encoders' connections close, their ingests end
    if (cluster)
      caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    // Leaving this scope destroys the server (sessions notified) and then waits for
    // every actor to finish.
  }
  LOG_INFO("main", "stopped");
  return exit_code;
}
