#include "actors/transport_actor.hpp"

#include <functional>

namespace chorus::actors::transports {

namespace {

// Feedback goes out after each received batch when it is due (transport_media::feedback);
// this tick sends what a pause in the arrivals left due, while something is published.
void start_media_tick(transport_actor* self) {
  auto& st = self->state;
  if (st.media_ticking)
    return;
  st.media_ticking = true;
  tick_every(self, st.ticker(), media_tick_atom::value, tuning::media_tick_interval,
             st.media_tick_started);
  st.media_tick_started = true;
}

void on_tick(transport_actor* self) {
  auto& st = self->state;
  st.tick_at = 0;
  if (st.closed)
    return;
  auto now = now_ms();
  apply_ice_events(self, st.ice->tick(now));
  if (st.closed)
    return;
  if (st.dtls)
    if (auto d = st.dtls->next_timeout_ms(); d && *d <= now)
      apply_dtls(self, st.dtls->on_timer(now));
  schedule_timer(self);
}

// Picks the strongest fingerprint algorithm we can check.
std::optional<net::dtls_fingerprint> pick_fingerprint(const net::dtls_parameters& p) {
  for (auto alg : {"sha-512", "sha-384", "sha-256", "sha-224", "sha-1"})
    for (auto& f : p.fingerprints)
      if (f.algorithm == alg)
        return f;
  return std::nullopt;
}

caf::result<protocol::empty_reply> on_connect(transport_actor* self,
                                              protocol::connect_transport_request& req) {
  auto& st = self->state;
  if (st.connect_requested)
    return make_error(error_code::invalid_state,
                      "transport '" + st.id + "' is already connected");
  auto fp = pick_fingerprint(req.dtls_parameters);
  if (!fp)
    return make_error(error_code::invalid_field,
                      "dtlsParameters.fingerprints has no usable algorithm");
  // The remote side's role decides ours; `auto` makes us the DTLS server.
  st.dtls_role = req.dtls_parameters.role == net::dtls_role::server ? net::dtls_role::client
                                                                      : net::dtls_role::server;
  net::dtls_engine_options opts;
  opts.handshake_timeout_ms = st.ctx->rtc.dtls_handshake_timeout_ms;
  auto engine = net::dtls_engine::create(st.ctx->dtls_context, st.dtls_role, opts);
  if (!engine)
    return make_error(error_code::internal, "cannot create the DTLS engine: " + engine.error());
  st.dtls.emplace(std::move(*engine));
  if (!st.dtls->set_remote_fingerprint(*fp)) {
    st.dtls.reset();
    return make_error(error_code::invalid_field,
                      "dtlsParameters.fingerprints: unusable " + fp->algorithm + " value");
  }
  st.connect_requested = true;
  maybe_start_dtls(self);
  return protocol::empty_reply{};
}

caf::behavior transport_impl(transport_actor* self, std::string id,
                             protocol::transport_direction direction, node_context_ptr ctx,
                             caf::actor_addr peer, std::shared_ptr<net::media_endpoint> endpoint,
                             std::string ufrag, std::string password,
                             std::shared_ptr<sink_target> target,
                             std::shared_ptr<send_shared> shared,
                             std::optional<net::sctp_options> sctp,
                             std::shared_ptr<data_send_shared> data_send) {
  auto& st = self->state;
  if (sctp)
    st.data.enable(std::move(*sctp), std::move(data_send));
  st.start(std::move(id), std::move(ctx));
  st.direction = direction;
  st.peer = std::move(peer);
  st.endpoint = std::move(endpoint);
  st.shared = std::move(shared);
  st.media.set_send_log(st.shared);
  st.sender.emplace(st.shared, rtp_sender::use::rtcp);
  st.ice_password = password;
  net::ice_server_config ice_cfg;
  ice_cfg.local_ufrag = std::move(ufrag);
  ice_cfg.local_password = std::move(password);
  ice_cfg.consent_timeout_ms = st.ctx->rtc.ice_consent_timeout_ms;
  ice_cfg.disconnected_timeout_ms = st.ctx->rtc.ice_disconnected_timeout_ms;
  ice_cfg.max_error_responses_per_s = st.ctx->rtc.stun_error_rate;
  st.ice = std::make_unique<net::ice_server>(ice_cfg);
  {
    std::lock_guard<std::mutex> g{target->mutex};
    target->addr = self->address();
    target->lane = self;
  }
  // Producers and consumers on this transport are monitored: their routes end with them.
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    auto gone = std::find_if(st.alloc_consumers.begin(), st.alloc_consumers.end(),
                             [&](const caf::actor& c) { return c.address() == dm.source; });
    if (gone != st.alloc_consumers.end()) {
      st.alloc.erase(st.alloc.begin() + (gone - st.alloc_consumers.begin()));
      st.alloc_consumers.erase(gone);
      reallocate(self);
    }
    // A producer's SSRCs join the unrouted ones (transport_media::remove).
    st.media.remove(dm.source, st.srtp_in ? &*st.srtp_in : nullptr);
    self->state.data.remove(self, dm.source, sctp_sink(self));
  });
  self->state.start_totals(self);
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](totals_tick_atom) { self->state.on_totals_tick(self, !self->state.closed); },
    [self](net::packet_batch& batch) { handle_batch(self, batch); },
    [self](protocol::connect_transport_request& req) { return on_connect(self, req); },
    [self](protocol::restart_ice_request&) -> protocol::restart_ice_reply {
      auto& st = self->state;
      auto ufrag = ids::random_token(16);
      auto password = ids::random_token(32);
      st.ice->restart(ufrag, password);
      st.endpoint->set_ufrag(ufrag);
      st.ice_password = password;
      return protocol::restart_ice_reply{{ufrag, password, true}};
    },
    [self](protocol::get_transport_stats_request&) {
      return protocol::stats_reply{stats_json(self)};
    },
    [self](transport_tick_atom) { on_tick(self); },
    [self](producer_route& r) -> caf::result<bool> {
      if (auto err = self->state.route_producer(self, r))
        return err;
      start_media_tick(self);
      return true;
    },
    [self](alloc_info& info) {
      auto& st = self->state;
      auto it = std::find(st.alloc_consumers.begin(), st.alloc_consumers.end(), info.consumer);
      if (it == st.alloc_consumers.end()) {
        st.alloc_consumers.push_back(info.consumer);
        st.alloc.push_back({std::move(info.demand)});
      } else {
        st.alloc[size_t(it - st.alloc_consumers.begin())].demand = std::move(info.demand);
      }
      reallocate(self);
    },
    [self](const protocol::set_egress_cap_request& r) {
      auto& st = self->state;
      st.shared->set_egress_cap(r.bitrate);
      LOG_WARN_IDS("transport", (log::ids{.transport = st.id}),
                   "fault injection: egress cap " << r.bitrate << " bps");
      if (!st.egress_draining) {
        st.egress_draining = true;
        self->send(self, egress_tick_atom::value);
      }
      return protocol::empty_reply{};
    },
    // The injected thin link: what its queue releases, every 2 ms while it holds any.
    [self](egress_tick_atom) {
      auto& st = self->state;
      const size_t left = st.shared->drain_egress(mono_us());
      if (left > 0 || st.shared->egress_cap_bps.load() != 0)
        self->delayed_send(self, std::chrono::milliseconds(2), egress_tick_atom::value);
      else
        st.egress_draining = false;
    },
    [self](consumer_route& r) { self->state.route_consumer(self, r); },
    [self](rtcp_out& out) { send_rtcp(self, out.bytes); },
    [self](const data_producer_route& r) -> caf::result<bool> {
      auto& st = self->state;
      if (!st.data.enabled())
        return make_error(error_code::invalid_state,
                          "transport '" + st.id + "' has no SCTP (create it with sctpCapabilities)");
      if (!st.data.add_producer(r))
        return make_error(error_code::invalid_field,
                          "sctpStreamParameters.streamId " + std::to_string(r.stream) +
                            " is taken or beyond the streams of transport '" + st.id + "'");
      self->monitor(r.data_producer);
      return true;
    },
    [self](const data_consumer_route& r) -> caf::result<bool> {
      auto& st = self->state;
      if (!st.data.enabled())
        return make_error(error_code::invalid_state,
                          "transport '" + st.id + "' has no SCTP (create it with sctpCapabilities)");
      if (!st.data.add_consumer(r))
        return make_error(error_code::limit_exceeded,
                          "no free SCTP stream on transport '" + st.id + "'");
      self->monitor(r.data_consumer);
      return true;
    },
    [self](const data_out& out) {
      if (!self->state.closed)
        self->state.data.send(self, out, sctp_sink(self));
    },
    [self](sctp_pending_atom) {
      if (!self->state.closed)
        self->state.data.on_pending(self, sctp_sink(self));
    },
    [self](sctp_tick_atom) {
      if (!self->state.closed)
        self->state.data.on_tick(self, sctp_sink(self));
    },
    [self](media_tick_atom) {
      auto& st = self->state;
      if (!st.media_ticking)
        return; // (the ticker's, while nothing is published)
      if (st.closed || !st.media.has_producers()) {
        st.media_ticking = false;
        return;
      }
      send_feedback(self);
      tick_every(self, st.ticker(), media_tick_atom::value, tuning::media_tick_interval, true);
    },
  };
}

// The I/O thread's lane into the transport (actors/lane.hpp): an idle transport's receive
// batch is handled on the media I/O thread itself, the transport then handing the media
// on through its producers' lanes and they through their consumers': at small fan-outs a
// packet then costs one thread's wake-up (the I/O thread's) instead of two (a worker's as
// well). Only media (RTP, RTCP): ICE, DTLS handshakes and closed connections take the
// message path, so that no handshake holds up the receiving of other transports' packets;
// and not while this thread is busy (lanes_busy: the process, or with several I/O threads
// this one), when the workers' turns spread the load over the cores and take several
// batches each.
// `lane`: the transport, alive while the caller holds a handle to it.
bool enter_transport_lane(caf::abstract_actor* lane, net::packet_batch& batch) {
  for (const auto& p : batch.packets) {
    if (p.connection_closed || p.offset + p.size > batch.data.size())
      return false;
    const auto kind = net::classify({batch.data.data() + p.offset, p.size});
    if (kind != net::packet_kind::rtp && kind != net::packet_kind::rtcp)
      return false;
  }
  if (lanes_busy(mono_ms()))
    return false;
  auto* self = static_cast<transport_actor*>(lane);
  lane_entry<transport_actor> entry{self, nullptr}; // no worker: what it sends wakes one
  if (!entry)
    return false;
  ++self->state.io_lane_batches;
  handle_batch(self, batch);
  return true;
}

uint32_t candidate_priority(bool udp) {
  // RFC 8445 §5.1.2.1: type preference 126 (host), local preference (UDP over TCP),
  // component 1.
  uint32_t local_pref = udp ? 65535 : 32767;
  return (126u << 24) | (local_pref << 8) | (256 - 1);
}

} // namespace

uint64_t now_ms() {
  return static_cast<uint64_t>(mono_ms());
}

void schedule_timer(transport_actor* self) {
  auto& st = self->state;
  if (st.closed)
    return;
  std::optional<uint64_t> next = st.ice->next_deadline_ms();
  if (st.dtls)
    if (auto d = st.dtls->next_timeout_ms(); d && (!next || *d < *next))
      next = d;
  if (!next)
    return;
  if (st.tick_at != 0 && st.tick_at <= *next)
    return; // an earlier timer is pending; it reschedules
  auto now = now_ms();
  auto delay = *next > now ? *next - now : 0;
  st.tick_at = *next;
  self->delayed_send(self, std::chrono::milliseconds(delay), transport_tick_atom::value);
}

void close_transport(transport_actor* self, const std::string& why) {
  auto& st = self->state;
  if (st.closed)
    return;
  st.closed = true;
  LOG_INFO_IDS(component, (log::ids{.transport = st.id}), "closed: " << why);
  if (st.dtls && st.dtls->state() == net::dtls_state::connected) {
    st.data.close(self, sctp_sink(self)); // SCTP SHUTDOWN, then DTLS close_notify
    apply_dtls(self, st.dtls->close(now_ms()));
  }
  if (auto peer = caf::actor_cast<caf::actor>(st.peer))
    self->send(peer, transport_closed{st.id, why});
  self->quit();
}

// v[i], or 0 where `v` has no such entry (a layer not reported; none or uncapped layers).
uint32_t entry_or_zero(const std::vector<uint32_t>& v, int i) {
  return i >= 0 && size_t(i) < v.size() ? v[size_t(i)] : 0;
}

void reallocate(transport_actor* self) {
  auto& st = self->state;
  const auto& b = st.media.bwe().stats();
  // The consumers' sends are paced (send_shared::claim_pacing); set once per allocation.
  if (st.alloc.empty()) {
    st.shared->pacing_bps.store(rtp::bandwidth_plan::pacing_alone(b), std::memory_order_relaxed);
    return;
  }
  const auto& out = st.plan.plan(st.alloc, b, mono_ms());
  st.shared->pacing_bps.store(out.pacing_bps, std::memory_order_relaxed);
  for (auto i : out.told) {
    const auto& e = st.alloc[i];
    // The demand's per-layer vectors hold three temporal layers per spatial one.
    const int layer = e.spatial < 0 || e.temporal < 0 ? -1 : e.spatial * 3 + e.temporal;
    LOG_DEBUG_IDS(component, (log::ids{.transport = st.id}),
                  "layers " << int(e.spatial) << "/" << int(e.temporal) << " (wanted "
                            << int(e.wanted) << ") at estimate " << b.target_bps
                            << " budget " << out.budget_bps << " probe capacity "
                            << b.probe_capacity_bps.value_or(0) << " loss " << b.last_loss
                            << " cost " << entry_or_zero(e.demand.bps, layer) << " peak "
                            << entry_or_zero(e.demand.peak_bps, layer) << " keyframe "
                            << entry_or_zero(e.demand.keyframe_bytes, e.spatial));
    self->send(st.alloc_consumers[i], layer_allocation{e.spatial, e.temporal, e.wanted});
  }
  st.alloc_budget = out.budget_bps;
  st.alloc_desired = out.desired_bps;
  if (!out.estimated)
    return;
  st.forwarded_bps = out.forwarded_bps;
  const int64_t now_us = mono_us();
  // Told every time (a demand that went away must stop the exponential probing); plans a
  // probe only when the demand is above the estimate.
  st.media.bwe().request_probe(out.probe_bps, now_us);
  const auto prober = std::find_if(st.alloc.begin(), st.alloc.end(), [](const auto& e) {
    return e.demand.can_probe && e.demand.active;
  });
  if (prober == st.alloc.end())
    return; // nobody to send a probe: none is taken from the plan
  if (auto probe = st.media.bwe().next_probe(now_us)) {
    // Five chunks over the cluster's duration (at least five packets, what the estimator
    // needs to judge it).
    constexpr uint64_t chunks = 5;
    const uint64_t bytes = probe->bps * uint64_t(probe->duration_us) / 8'000'000;
    st.probe_bytes_out += bytes;
    self->send(st.alloc_consumers[size_t(prober - st.alloc.begin())],
               probe_padding{uint32_t(std::min<uint64_t>(bytes / chunks, 200'000)),
                             uint16_t(std::max<int64_t>(1, probe->duration_us / 1000 / int64_t(chunks - 1))),
                             int16_t(probe->id), uint8_t(chunks)});
  }
}

} // namespace chorus::actors::transports

namespace chorus::actors {

using transports::transport_actor;
using transports::sink_target;
using transports::candidate_priority;
using transports::enter_transport_lane;
using transports::transport_impl;


result<transport_spawn_result> spawn_transport(caf::event_based_actor* peer,
                                               protocol::transport_direction direction,
                                               node_context_ptr ctx, std::string_view room,
                                               const transport_sctp_request& sctp_request) {
  auto ufrag = ids::random_token(16);
  auto password = ids::random_token(32);
  auto target = std::make_shared<sink_target>();
  std::string error;
  auto sink = [target](net::packet_batch&& batch) {
    caf::actor dest;
    caf::abstract_actor* lane = nullptr;
    {
      std::lock_guard<std::mutex> g{target->mutex};
      dest = caf::actor_cast<caf::actor>(target->addr);
      lane = target->lane;
    }
    if (dest && !enter_transport_lane(lane, batch))
      caf::anon_send(dest, std::move(batch));
  };
  // A room's placement group: any non-zero number the same for all its transports.
  const uint64_t group = room.empty() ? 0 : std::hash<std::string_view>{}(room) | 1;
  auto endpoint = ctx->media_io->open(ufrag, std::move(sink), &error, group);
  if (!endpoint)
    return failure{"no media port available: " + error};
  transport_spawn_result out;
  auto& p = out.params;
  p.id = ids::uuid4();
  p.ice_parameters = {ufrag, password, true};
  auto& address = ctx->settings.announced_address;
  p.ice_candidates.push_back(
    {"udpcandidate", candidate_priority(true), address, endpoint->udp_port(), "udp", "host", ""});
  p.ice_candidates.push_back({"tcpcandidate", candidate_priority(false), address,
                              endpoint->tcp_port(), "tcp", "host", "passive"});
  // For networks that pass TCP to the signaling port (443) only; after the others.
  if (const uint16_t port = ctx->signaling_tcp_port->load(std::memory_order_relaxed))
    p.ice_candidates.push_back({"tcpsignaling", candidate_priority(false) - (1u << 8),
                                address, port, "tcp", "host", "passive"});
  p.dtls_parameters.role = net::dtls_role::auto_;
  for (auto& f : ctx->dtls_context->certificate().fingerprints())
    if (f.algorithm == "sha-256" || f.algorithm == "sha-384" || f.algorithm == "sha-512")
      p.dtls_parameters.fingerprints.push_back(f);
  out.send = std::make_shared<send_shared>(endpoint);
  std::optional<net::sctp_options> sctp;
  if (sctp_request.enable) {
    const auto& sc = ctx->sctp;
    net::sctp_options o;
    // Our outgoing streams at most what the client accepts, and the reverse.
    o.os = static_cast<uint16_t>(std::min<uint32_t>(
      sctp_request.mis ? sctp_request.mis : sc.max_streams, sc.max_streams));
    o.mis = static_cast<uint16_t>(std::min<uint32_t>(
      sctp_request.os ? sctp_request.os : sc.max_streams, sc.max_streams));
    o.max_message_size = sc.max_message_size;
    o.send_buffer = sc.send_buffer_size;
    p.has_sctp = true;
    p.sctp_parameters = {5000, o.os, o.mis, static_cast<uint32_t>(o.max_message_size)};
    out.data_send = std::make_shared<data_send_shared>();
    out.data_send->limit = static_cast<int64_t>(sc.send_buffer_size);
    sctp = std::move(o);
  }
  out.actor = peer->spawn<caf::linked>(transport_impl, p.id, direction, std::move(ctx),
                                       peer->address(), std::move(endpoint), ufrag, password,
                                       std::move(target), out.send, std::move(sctp),
                                       out.data_send);
  return out;
}

} // namespace chorus::actors
