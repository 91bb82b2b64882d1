#include "actors/transport.hpp"
#include "actors/ticker.hpp"
#include "actors/fault.hpp"
#include "rtp/rtp_packet.hpp"

#include "actors/clock.hpp"
#include "actors/lane.hpp"
#include "actors/process_load.hpp"
#include "actors/messages.hpp"
#include "actors/rtp_sender.hpp"
#include "actors/transport_data.hpp"
#include "actors/transport_media.hpp"
#include "rtp/bandwidth_plan.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/demux.hpp"
#include "net/dtls_engine.hpp"
#include "net/ice_server.hpp"
#include "net/media_io.hpp"
#include "rtp/srtp_session.hpp"

#include <caf/all.hpp>
#include <algorithm>

#include <chrono>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

namespace chorus::actors {

namespace {

using protocol::error_code;

constexpr const char* component = "transport";
constexpr std::size_t max_early_dtls = 8; // DTLS datagrams kept until connect-transport
// The bandwidth feedback's fallback (start_media_tick), at the ticker's resolution: feedback
// due during a pause in arrivals (the recorder's interval is 50 ms) waits up to this much
// longer; libwebrtc's own receivers send theirs every 50 to 250 ms.
constexpr auto media_tick_interval = std::chrono::milliseconds(100);

uint64_t now_ms() {
  return static_cast<uint64_t>(mono_ms());
}

// The media I/O thread delivers to whatever actor this names (set once it is spawned).
struct sink_target {
  std::mutex mutex;
  caf::actor_addr addr;
  caf::abstract_actor* lane = nullptr; // the same actor, for enter_transport_lane
};

struct transport_counters {
  uint64_t packets_in = 0, bytes_in = 0, packets_out = 0, bytes_out = 0;
  uint64_t stun_in = 0, stun_out = 0, dtls_in = 0, dtls_out = 0;
  uint64_t rtp_in = 0, rtp_bytes_in = 0, rtcp_in = 0;
  // dropped, by reason
  uint64_t dropped_unknown = 0;       // not STUN, DTLS, RTP or RTCP
  uint64_t dropped_not_selected = 0;  // media from a tuple ICE has not validated
  uint64_t dropped_no_srtp = 0;       // media before DTLS has produced keys
  uint64_t dropped_srtp_auth = 0;
  uint64_t dropped_srtp_replay = 0;
  uint64_t dropped_srtp_other = 0;
  uint64_t dropped_dtls_early = 0;    // DTLS before connect-transport beyond the buffer
  uint64_t dropped_dtls_malformed = 0; // DTLS's first byte, but not whole DTLS records
  uint64_t stun_rejected = 0;         // answered with an error (400/401/420/487)
  uint64_t stun_unanswered = 0;       // of which not answered (over the error rate)
};

// What a transport last added to the node's media totals (publish_totals).
struct published_totals {
  transport_counters t;
  transport_media_counters m;
  uint64_t rtp_sent = 0, rtp_bytes_sent = 0, rtcp_sent = 0, not_ready = 0, protect_failed = 0;
};

// Adds what changed since the last call to the node's totals (relaxed atomics; never per
// packet: on the transport's totals tick and when it ends).
void publish_totals(const transport_counters& t, const transport_media_counters& m,
                    const send_shared* shared, published_totals& last, media_totals& out) {
  auto add = [](std::atomic<uint64_t>& to, uint64_t now, uint64_t& before) {
    if (now > before)
      to.fetch_add(now - before, std::memory_order_relaxed);
    before = now;
  };
  auto& l = last.t;
  add(out.packets_in, t.packets_in, l.packets_in);
  add(out.bytes_in, t.bytes_in, l.bytes_in);
  add(out.packets_out, t.packets_out, l.packets_out);
  add(out.bytes_out, t.bytes_out, l.bytes_out);
  add(out.rtp_in, t.rtp_in, l.rtp_in);
  add(out.rtcp_in, t.rtcp_in, l.rtcp_in);
  add(out.stun_in, t.stun_in, l.stun_in);
  add(out.dtls_in, t.dtls_in, l.dtls_in);
  add(out.dropped_unknown, t.dropped_unknown, l.dropped_unknown);
  add(out.dropped_not_selected, t.dropped_not_selected, l.dropped_not_selected);
  add(out.dropped_no_srtp, t.dropped_no_srtp, l.dropped_no_srtp);
  add(out.dropped_dtls_early, t.dropped_dtls_early, l.dropped_dtls_early);
  add(out.dtls_malformed, t.dropped_dtls_malformed, l.dropped_dtls_malformed);
  add(out.srtp_auth_failures, t.dropped_srtp_auth, l.dropped_srtp_auth);
  add(out.srtp_replays, t.dropped_srtp_replay, l.dropped_srtp_replay);
  add(out.srtp_other_failures, t.dropped_srtp_other, l.dropped_srtp_other);
  add(out.stun_rejected, t.stun_rejected, l.stun_rejected);
  add(out.stun_unanswered, t.stun_unanswered, l.stun_unanswered);
  auto& lm = last.m;
  add(out.dropped_rtp_malformed, m.rtp_malformed, lm.rtp_malformed);
  add(out.dropped_rtp_unknown_ssrc, m.rtp_unknown_ssrc, lm.rtp_unknown_ssrc);
  add(out.dropped_injected, m.rtp_injected_drops, lm.rtp_injected_drops);
  add(out.rtcp_malformed, m.rtcp_malformed, lm.rtcp_malformed);
  add(out.nacks_in, m.nacks, lm.nacks);
  add(out.plis_in, m.plis, lm.plis);
  add(out.firs_in, m.firs, lm.firs);
  if (shared) {
    // Consumers send RTP themselves through the transport's shared sender state.
    uint64_t sent = shared->rtp_sent.load(std::memory_order_relaxed);
    uint64_t bytes = shared->rtp_bytes_sent.load(std::memory_order_relaxed);
    add(out.packets_out, sent, last.rtp_sent);
    add(out.bytes_out, bytes, last.rtp_bytes_sent);
    add(out.rtcp_out, shared->rtcp_sent.load(std::memory_order_relaxed), last.rtcp_sent);
    add(out.send_dropped_not_ready, shared->dropped_not_ready.load(std::memory_order_relaxed),
        last.not_ready);
    add(out.send_protect_failed, shared->protect_failed.load(std::memory_order_relaxed),
        last.protect_failed);
  }
}

constexpr auto totals_interval = std::chrono::seconds(1);
using totals_tick_atom = caf::atom_constant<caf::atom("trtotals")>;

struct transport_state {
  std::string id;
  uint64_t io_lane_batches = 0; // receive batches the media I/O thread handled itself
  protocol::transport_direction direction = protocol::transport_direction::unspecified;
  node_context_ptr ctx;
  caf::actor_addr peer;
  std::shared_ptr<net::media_endpoint> endpoint;
  std::unique_ptr<net::ice_server> ice;
  std::string ice_password;
  std::optional<net::dtls_engine> dtls;
  net::dtls_role dtls_role = net::dtls_role::auto_;
  bool connect_requested = false;
  std::vector<std::pair<net::ice_tuple, std::vector<uint8_t>>> early_dtls;
  std::optional<rtp::srtp_session> srtp_in;
  std::shared_ptr<send_shared> shared; // socket, transport-wide seq, send counters
  std::optional<rtp_sender> sender;    // ours (RTCP); consumers have their own
  sending_state sending;               // what consumers need to send themselves
  transport_counters counters;
  uint64_t tick_at = 0; // when the pending timer fires (0: none pending)
  bool closed = false;
  transport_media media;
  transport_data data; // SCTP (data channels), when the transport was created with it
  bool media_ticking = false;
  bool media_tick_started = false; // once: the ticker's subscription stays
  std::minstd_rand rng{ids::random_u32()};
  std::vector<std::vector<uint8_t>> feedback;        // reused
  published_totals published;
  // The bandwidth plan over this transport's consumers (rtp/bandwidth_plan.hpp): each
  // consumer's demand and layers, and beside it (same index) the consumer to tell.
  std::vector<rtp::plan_consumer> alloc;
  std::vector<caf::actor> alloc_consumers;
  rtp::bandwidth_plan plan;
  uint64_t alloc_budget = 0;                   // the estimate of the last allocation
  uint64_t alloc_desired = 0;                  // what the consumers wanted then
  uint64_t forwarded_bps = 0;                  // what their layers cost then, at peak
  uint64_t probe_bytes_out = 0;                // probe padding asked for, in bytes
  bool egress_draining = false;                // the egress cap's timer runs
  static inline const char* name = "chorus.transport";

  ~transport_state() {
    if (ctx)
      publish_totals(counters, media.counters(), shared.get(), published, ctx->counters->media);
    if (endpoint)
      endpoint->close();
    if (ctx)
      ctx->counters->transports.fetch_sub(1);
  }
};

using transport_actor = laned_actor<transport_state>;

void schedule_timer(transport_actor* self);
void reallocate(transport_actor* self);
using egress_tick_atom = caf::atom_constant<caf::atom("egresstk")>;
void close_transport(transport_actor* self, const std::string& why);

// Keys or tuple changed: our sender and every consumer's take the new state.
void publish_sending_state(transport_actor* self) {
  auto& st = self->state;
  st.sender->apply(st.sending);
  for (auto& consumer : st.media.consumer_actors())
    self->send(consumer, st.sending);
}

void send_to(transport_actor* self, const net::ice_tuple& to, const std::vector<uint8_t>& bytes) {
  auto& st = self->state;
  if (!st.endpoint || bytes.empty())
    return;
  if (st.endpoint->send(to, bytes.data(), bytes.size())) {
    ++st.counters.packets_out;
    st.counters.bytes_out += bytes.size();
  }
}

void apply_dtls(transport_actor* self, net::dtls_output&& out);

// One SCTP packet out as DTLS application data.
void send_sctp_packet(transport_actor* self, std::span<const uint8_t> packet) {
  auto& st = self->state;
  if (!st.dtls || st.dtls->state() != net::dtls_state::connected)
    return;
  apply_dtls(self, st.dtls->send_application_data(packet, now_ms()));
}

transport_data::packet_sink sctp_sink(transport_actor* self) {
  return [self](std::span<const uint8_t> packet) { send_sctp_packet(self, packet); };
}

void apply_dtls_state(transport_actor* self, net::dtls_output& out);

// Sends DTLS output to the selected tuple; applies state changes; hands application data
// (SCTP packets) to the data half.
void apply_dtls(transport_actor* self, net::dtls_output&& out) {
  auto& st = self->state;
  const bool connected_now = out.state_changed && out.state == net::dtls_state::connected;
  apply_dtls_state(self, out);
  if (st.closed || !st.data.enabled())
    return;
  if (connected_now)
    st.data.start(self, sctp_sink(self));
  for (auto& record : out.application_data)
    if (!st.closed)
      st.data.on_packet(self, record, sctp_sink(self));
}

void apply_dtls_state(transport_actor* self, net::dtls_output& out) {
  auto& st = self->state;
  if (auto& sel = st.ice->selected_tuple(); sel) {
    for (auto& d : out.datagrams) {
      send_to(self, *sel, d);
      ++st.counters.dtls_out;
    }
  }
  if (!out.state_changed)
    return;
  LOG_INFO_IDS(component, (log::ids{.transport = st.id}), "dtls " << net::to_string(out.state));
  if (out.state == net::dtls_state::connected) {
    auto& keys = st.dtls->srtp_keys();
    if (!keys) {
      close_transport(self, "DTLS connected without SRTP keys");
      return;
    }
    auto profile = rtp::srtp_profile_from_id(static_cast<uint16_t>(keys->profile));
    if (!profile) {
      close_transport(self, "unsupported SRTP profile");
      return;
    }
    auto in = rtp::srtp_session::create(*profile, rtp::srtp_direction::inbound, keys->remote_key,
                                        keys->remote_salt);
    // (made only to check the local keys: the senders make their own, rtp_sender::apply)
    auto outb = rtp::srtp_session::create(*profile, rtp::srtp_direction::outbound,
                                          keys->local_key, keys->local_salt, {.rtcp_only = true});
    if (!in || !outb) {
      close_transport(self, "cannot create SRTP sessions: " + (in ? outb.error() : in.error()));
      return;
    }
    st.srtp_in.emplace(std::move(*in));
    st.sending.has_keys = true;
    st.sending.srtp_profile = static_cast<uint16_t>(keys->profile);
    st.sending.key.assign(keys->local_key.begin(), keys->local_key.end());
    st.sending.salt.assign(keys->local_salt.begin(), keys->local_salt.end());
    publish_sending_state(self);
    LOG_INFO_IDS(component, (log::ids{.transport = st.id}),
                 "connected (" << net::to_string(keys->profile) << ")");
  } else if (out.state == net::dtls_state::failed) {
    st.ctx->counters->media.dtls_failures.fetch_add(1, std::memory_order_relaxed);
    LOG_INFO_IDS(component, (log::ids{.transport = st.id}),
                 "DTLS failed: " << net::to_string(st.dtls->error()));
    close_transport(self, "DTLS failed");
  } else if (out.state == net::dtls_state::closed) {
    close_transport(self, "DTLS closed by the remote side");
  }
}

// Once ICE has a selected tuple and connect-transport arrived, DTLS can run.
void maybe_start_dtls(transport_actor* self) {
  auto& st = self->state;
  if (!st.dtls || !st.ice->selected_tuple())
    return;
  auto now = now_ms();
  if (st.dtls->state() == net::dtls_state::new_ && st.dtls_role == net::dtls_role::client)
    apply_dtls(self, st.dtls->start(now));
  auto early = std::move(st.early_dtls);
  st.early_dtls.clear();
  for (auto& [tuple, bytes] : early)
    if (st.dtls && !st.closed)
      apply_dtls(self, st.dtls->handle(bytes, now));
  schedule_timer(self);
}

void apply_ice_events(transport_actor* self, const std::vector<net::ice_event>& events) {
  auto& st = self->state;
  for (auto& ev : events) {
    if (ev.kind == net::ice_event_kind::state_changed) {
      LOG_INFO_IDS(component, (log::ids{.transport = st.id}), "ice " << net::to_string(ev.state));
      if (ev.state == net::ice_state::closed) {
        close_transport(self, "ICE consent expired");
        return;
      }
    } else if (ev.kind == net::ice_event_kind::selected_tuple_changed && ev.tuple) {
      st.sending.has_tuple = true;
      st.sending.tuple = *ev.tuple;
      publish_sending_state(self);
      LOG_DEBUG(component, st.id << ": selected tuple " << ev.tuple->remote.to_string()
                                 << (ev.tuple->protocol == net::ice_protocol::tcp ? "/tcp"
                                                                                   : "/udp"));
      maybe_start_dtls(self);
    }
  }
}

void handle_stun(transport_actor* self, const net::ice_tuple& source,
                 std::span<const uint8_t> bytes, uint64_t now) {
  auto& st = self->state;
  ++st.counters.stun_in;
  auto decision = st.ice->handle(bytes, source, now);
  if (!decision.response.empty()) {
    send_to(self, source, decision.response);
    ++st.counters.stun_out;
  }
  if (decision.verdict != net::ice_verdict::success &&
      decision.verdict != net::ice_verdict::dropped_malformed &&
      decision.verdict != net::ice_verdict::dropped_unexpected &&
      decision.verdict != net::ice_verdict::dropped_closed) {
    ++st.counters.stun_rejected;
    if (decision.response.empty())
      ++st.counters.stun_unanswered;
  }
  apply_ice_events(self, decision.events);
}

void handle_dtls(transport_actor* self, const net::ice_tuple& source,
                 std::span<const uint8_t> bytes, uint64_t now) {
  auto& st = self->state;
  ++st.counters.dtls_in;
  if (!net::is_well_formed_dtls(bytes)) {
    ++st.counters.dropped_dtls_malformed;
    return;
  }
  auto& sel = st.ice->selected_tuple();
  if (!sel || !(*sel == source)) {
    ++st.counters.dropped_not_selected;
    return;
  }
  if (!st.dtls) { // connect-transport has not arrived yet: keep a few
    if (st.early_dtls.size() < max_early_dtls)
      st.early_dtls.emplace_back(source, std::vector<uint8_t>(bytes.begin(), bytes.end()));
    else
      ++st.counters.dropped_dtls_early;
    return;
  }
  apply_dtls(self, st.dtls->handle(bytes, now));
  schedule_timer(self);
}

void count_srtp_failure(transport_counters& c, rtp::srtp_error e) {
  switch (e) {
    case rtp::srtp_error::auth_fail:
      ++c.dropped_srtp_auth;
      break;
    case rtp::srtp_error::replay_fail:
    case rtp::srtp_error::replay_old:
      ++c.dropped_srtp_replay;
      break;
    default:
      ++c.dropped_srtp_other;
  }
}

void handle_media(transport_actor* self, const net::ice_tuple& source, uint8_t* data,
                  std::size_t size, bool rtcp, int64_t arrival_us) {
  auto& st = self->state;
  auto& sel = st.ice->selected_tuple();
  if (!sel || !(*sel == source)) {
    ++st.counters.dropped_not_selected;
    return;
  }
  if (!st.srtp_in) {
    ++st.counters.dropped_no_srtp;
    return;
  }
  // Fault injection (tests only): lose RTP as the network would, before decryption.
  if (!rtcp && st.ctx->media.drop_rtp_fraction > 0 &&
      std::uniform_real_distribution<double>(0, 1)(st.rng) < st.ctx->media.drop_rtp_fraction) {
    ++st.media.counters().rtp_injected_drops;
    return;
  }
  std::span<uint8_t> buf{data, size};
  auto r = rtcp ? st.srtp_in->unprotect_rtcp(buf, size) : st.srtp_in->unprotect_rtp(buf, size);
  if (!r) {
    count_srtp_failure(st.counters, r.error);
    return;
  }
  if (rtcp) {
    ++st.counters.rtcp_in;
    st.media.note_rtcp_sender(std::span<const uint8_t>(data, r.length), *st.srtp_in);
    const auto feedbacks = st.media.bwe().stats().feedbacks;
    const auto remb = st.media.bwe().stats().remb_bps;
    st.media.on_rtcp(self, std::span<const uint8_t>(data, r.length), mono_ms());
    // A new estimate: share it out again when it moved by 5 % or more.
    if ((st.media.bwe().stats().feedbacks != feedbacks || st.media.bwe().stats().remb_bps != remb) &&
        !st.alloc.empty()) {
      const uint64_t now = st.media.bwe().target_bps(), last = st.alloc_budget;
      if (last == 0 || now * 20 < last * 19 || now * 20 > last * 21 || st.alloc_desired > now)
        reallocate(self);
    }
  } else {
    ++st.counters.rtp_in;
    st.counters.rtp_bytes_in += r.length;
    // The kernel's arrival time when the I/O layer had it (on the same steady clock, and
    // never later than the I/O thread's reading of it).
    if (!st.media.on_rtp(std::span<const uint8_t>(data, r.length), mono_ms(),
                         arrival_us > 0 ? arrival_us : mono_us()))
      st.media.note_unrouted(rtp::rtp_ssrc_of(std::span<const uint8_t>(data, r.length)),
                             *st.srtp_in);
  }
}

// Protects one RTCP packet and sends it to the selected tuple.
// Counted in send_shared::rtcp_sent.
void send_rtcp(transport_actor* self, std::span<const uint8_t> bytes) {
  if (self->state.sender)
    self->state.sender->send_rtcp(bytes);
}

void send_feedback(transport_actor* self) {
  auto& st = self->state;
  st.feedback.clear();
  st.media.feedback(mono_ms(), mono_us(), st.feedback);
  for (auto& fb : st.feedback)
    send_rtcp(self, fb);
}

// The node's ticker (actors/ticker.hpp); none without a context (unit tests).
const caf::actor& ticker_of(const transport_state& st) {
  static const caf::actor none;
  return st.ctx ? st.ctx->ticker : none;
}

// Feedback goes out after each received batch when it is due (transport_media::feedback);
// this tick sends what a pause in the arrivals left due, while something is published.
void start_media_tick(transport_actor* self) {
  auto& st = self->state;
  if (st.media_ticking)
    return;
  st.media_ticking = true;
  tick_every(self, ticker_of(st), media_tick_atom::value, media_tick_interval,
             st.media_tick_started);
  st.media_tick_started = true;
}

void handle_batch(transport_actor* self, net::packet_batch& batch) {
  auto& st = self->state;
  if (st.closed)
    return;
  auto now = now_ms();
  for (auto& p : batch.packets) {
    if (st.closed)
      return;
    if (p.offset + p.size > batch.data.size())
      continue;
    uint8_t* data = batch.data.data() + p.offset;
    if (p.connection_closed) { // the socket layer: a TCP connection of ours closed
      apply_ice_events(self, st.ice->remove_tuple(p.source, now));
      continue;
    }
    ++st.counters.packets_in;
    st.counters.bytes_in += p.size;
    std::span<const uint8_t> bytes{data, p.size};
    switch (net::classify(bytes)) {
      case net::packet_kind::stun:
        handle_stun(self, p.source, bytes, now);
        break;
      case net::packet_kind::dtls:
        handle_dtls(self, p.source, bytes, now);
        break;
      case net::packet_kind::rtp:
        handle_media(self, p.source, data, p.size, false, p.arrival_us);
        break;
      case net::packet_kind::rtcp:
        handle_media(self, p.source, data, p.size, true, p.arrival_us);
        break;
      default:
        ++st.counters.dropped_unknown;
    }
  }
  st.media.flush(self, mono_ms());
  send_feedback(self);
  schedule_timer(self);
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

// The transport is of no further use: tell the peer and end.
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
  opts.handshake_timeout_ms = st.ctx->transport.dtls_handshake_timeout_ms;
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

std::string tuple_json(const net::ice_tuple& t, uint16_t local_port) {
  std::ostringstream os;
  os << "{\"protocol\":\"" << (t.protocol == net::ice_protocol::tcp ? "tcp" : "udp")
     << "\",\"remoteIp\":\"" << t.remote.ip_string() << "\",\"remotePort\":" << t.remote.port
     << ",\"localPort\":" << local_port << "}";
  return os.str();
}

// Runs the bandwidth plan (rtp/bandwidth_plan.hpp) and carries out what it decides: the
// pacing rate, layer_allocation to each consumer whose layers changed, and a probe, sent as
// padding by a video consumer with RTX, when the consumers want more than the estimate.
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
  st.id = std::move(id);
  st.direction = direction;
  st.ctx = std::move(ctx);
  st.peer = std::move(peer);
  st.endpoint = std::move(endpoint);
  st.shared = std::move(shared);
  st.media.set_send_log(st.shared);
  st.sender.emplace(st.shared, rtp_sender::use::rtcp);
  st.ice_password = password;
  net::ice_server_config ice_cfg;
  ice_cfg.local_ufrag = std::move(ufrag);
  ice_cfg.local_password = std::move(password);
  ice_cfg.consent_timeout_ms = st.ctx->transport.ice_consent_timeout_ms;
  ice_cfg.disconnected_timeout_ms = st.ctx->transport.ice_disconnected_timeout_ms;
  ice_cfg.max_error_responses_per_s = st.ctx->transport.stun_error_rate;
  st.ice = std::make_unique<net::ice_server>(ice_cfg);
  st.ctx->counters->transports.fetch_add(1);
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
  tick_every(self, ticker_of(self->state), totals_tick_atom::value, totals_interval, false);
  return {
    [self](const fault_command& f) { fail_now(self, f); },
    [self](totals_tick_atom) {
      auto& st = self->state;
      publish_totals(st.counters, st.media.counters(), st.shared.get(), st.published,
                     st.ctx->counters->media);
      if (!st.closed)
        tick_every(self, ticker_of(st), totals_tick_atom::value, totals_interval, true);
    },
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
      auto& st = self->state;
      if (!st.media.add_producer(r))
        return make_error(error_code::invalid_field,
                          "rtpParameters.encodings[0].ssrc " + std::to_string(r.ssrc) +
                            " is already used on transport '" + st.id + "'");
      self->monitor(r.producer);
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
    [self](consumer_route& r) {
      auto& st = self->state;
      st.media.add_consumer(r);
      self->monitor(r.consumer);
      if (st.sending.has_keys || st.sending.has_tuple)
        self->send(r.consumer, st.sending);
    },
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
      tick_every(self, ticker_of(st), media_tick_atom::value, media_tick_interval, true);
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

result<transport_spawn_result> spawn_transport(caf::event_based_actor* peer,
                                               protocol::transport_direction direction,
                                               node_context_ptr ctx,
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
  auto endpoint = ctx->media_io->open(ufrag, std::move(sink), &error);
  if (!endpoint)
    return failure{"no media port available: " + error};
  transport_spawn_result out;
  auto& p = out.params;
  p.id = ids::uuid4();
  p.ice_parameters = {ufrag, password, true};
  auto& address = ctx->transport.announced_address;
  p.ice_candidates.push_back(
    {"udpcandidate", candidate_priority(true), address, endpoint->udp_port(), "udp", "host", ""});
  p.ice_candidates.push_back({"tcpcandidate", candidate_priority(false), address,
                              endpoint->tcp_port(), "tcp", "host", "passive"});
  p.dtls_parameters.role = net::dtls_role::auto_;
  for (auto& f : ctx->dtls_context->certificate().fingerprints())
    if (f.algorithm == "sha-256" || f.algorithm == "sha-384" || f.algorithm == "sha-512")
      p.dtls_parameters.fingerprints.push_back(f);
  out.send = std::make_shared<send_shared>(endpoint);
  std::optional<net::sctp_options> sctp;
  if (sctp_request.enable) {
    const auto& ts = ctx->transport;
    net::sctp_options o;
    // Our outgoing streams at most what the client accepts, and the reverse.
    o.os = static_cast<uint16_t>(std::min<uint32_t>(
      sctp_request.mis ? sctp_request.mis : ts.sctp_max_streams, ts.sctp_max_streams));
    o.mis = static_cast<uint16_t>(std::min<uint32_t>(
      sctp_request.os ? sctp_request.os : ts.sctp_max_streams, ts.sctp_max_streams));
    o.max_message_size = ts.sctp_max_message_size;
    o.send_buffer = ts.sctp_send_buffer;
    p.has_sctp = true;
    p.sctp_parameters = {5000, o.os, o.mis, static_cast<uint32_t>(o.max_message_size)};
    out.data_send = std::make_shared<data_send_shared>();
    out.data_send->limit = static_cast<int64_t>(ts.sctp_send_buffer);
    sctp = std::move(o);
  }
  out.actor = peer->spawn<caf::linked>(transport_impl, p.id, direction, std::move(ctx),
                                       peer->address(), std::move(endpoint), ufrag, password,
                                       std::move(target), out.send, std::move(sctp),
                                       out.data_send);
  return out;
}

} // namespace chorus::actors
