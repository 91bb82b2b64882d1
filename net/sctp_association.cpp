#include "net/sctp_association.hpp"

#include <usrsctp.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace chorus::net {

// ---- DCEP ----------------------------------------------------------------------------

std::string_view to_string(dcep_error e) noexcept {
  switch (e) {
    case dcep_error::truncated: return "truncated";
    case dcep_error::unknown_type: return "unknown-type";
    case dcep_error::bad_channel_type: return "bad-channel-type";
    case dcep_error::length_mismatch: return "length-mismatch";
  }
  return "?";
}

namespace {

constexpr size_t dcep_open_header = 12;

uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
void wr16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(static_cast<uint8_t>(x >> 8));
  v.push_back(static_cast<uint8_t>(x));
}
void wr32(std::vector<uint8_t>& v, uint32_t x) {
  wr16(v, static_cast<uint16_t>(x >> 16));
  wr16(v, static_cast<uint16_t>(x));
}

// RFC 8832 §5.1 channel types: bit 7 = unordered, low bits = reliability.
constexpr uint8_t channel_unordered = 0x80;

} // namespace

value_or_error<dcep_open, dcep_error> parse_dcep_open(std::span<const uint8_t> b) {
  if (b.empty())
    return dcep_error::truncated;
  if (b[0] != dcep_open_type)
    return dcep_error::unknown_type;
  if (b.size() < dcep_open_header)
    return dcep_error::truncated;
  dcep_open o;
  const uint8_t type = b[1];
  o.options.ordered = (type & channel_unordered) == 0;
  switch (type & 0x7f) {
    case 0x00: o.options.reliability = sctp_reliability::reliable; break;
    case 0x01: o.options.reliability = sctp_reliability::max_retransmits; break;
    case 0x02: o.options.reliability = sctp_reliability::max_packet_lifetime; break;
    default: return dcep_error::bad_channel_type;
  }
  o.priority = rd16(&b[2]);
  o.options.reliability_value = rd32(&b[4]);
  const size_t label_len = rd16(&b[8]);
  const size_t protocol_len = rd16(&b[10]);
  if (b.size() != dcep_open_header + label_len + protocol_len)
    return dcep_error::length_mismatch;
  o.label.assign(reinterpret_cast<const char*>(&b[12]), label_len);
  o.protocol.assign(reinterpret_cast<const char*>(&b[12 + label_len]), protocol_len);
  if (o.options.reliability == sctp_reliability::reliable)
    o.options.reliability_value = 0;
  return o;
}

std::vector<uint8_t> build_dcep_open(const dcep_open& o) {
  std::vector<uint8_t> v;
  v.reserve(dcep_open_header + o.label.size() + o.protocol.size());
  v.push_back(dcep_open_type);
  uint8_t type = o.options.ordered ? 0 : channel_unordered;
  if (o.options.reliability == sctp_reliability::max_retransmits)
    type |= 0x01;
  else if (o.options.reliability == sctp_reliability::max_packet_lifetime)
    type |= 0x02;
  v.push_back(type);
  wr16(v, o.priority);
  wr32(v, o.options.reliability == sctp_reliability::reliable ? 0 : o.options.reliability_value);
  wr16(v, static_cast<uint16_t>(o.label.size()));
  wr16(v, static_cast<uint16_t>(o.protocol.size()));
  v.insert(v.end(), o.label.begin(), o.label.end());
  v.insert(v.end(), o.protocol.begin(), o.protocol.end());
  return v;
}

std::string_view to_string(sctp_state s) noexcept {
  switch (s) {
    case sctp_state::new_: return "new";
    case sctp_state::connecting: return "connecting";
    case sctp_state::connected: return "connected";
    case sctp_state::closed: return "closed";
    case sctp_state::failed: return "failed";
  }
  return "?";
}

std::string_view to_string(sctp_error e) noexcept {
  switch (e) {
    case sctp_error::none: return "none";
    case sctp_error::not_connected: return "not-connected";
    case sctp_error::too_large: return "too-large";
    case sctp_error::buffer_full: return "buffer-full";
    case sctp_error::bad_stream: return "bad-stream";
    case sctp_error::send_failed: return "send-failed";
  }
  return "?";
}

bool looks_like_sctp(std::span<const uint8_t> b) noexcept {
  // RFC 4960 §3.1: source port, destination port, verification tag, checksum; then chunks.
  return b.size() >= 16;
}

// ---- the association -------------------------------------------------------------------

struct sctp_association::impl {
  sctp_options opt;
  struct socket* sock = nullptr;
  sctp_state state = sctp_state::new_;
  uint16_t os = 0, mis = 0;
  sctp_counters counters;
  sctp_output out; // the current owner call's output
  // Reassembly of messages that usrsctp delivers in parts, by stream.
  struct partial {
    std::vector<uint8_t> data;
    bool overflow = false;
  };
  std::unordered_map<uint16_t, partial> partials;
  std::vector<uint16_t> reset_outgoing; // streams whose outgoing side we reset already
  // Output produced on other threads (timers), taken by take_pending().
  std::mutex pending_mutex;
  sctp_output pending;
  std::atomic<bool> has_pending{false};
  bool wakeup_sent = false; // guarded by pending_mutex
};

namespace {

using impl = sctp_association::impl;

thread_local impl* tl_current = nullptr;

// Live associations, for callbacks that arrive on a thread that does not own them.
std::mutex registry_mutex;
std::unordered_set<impl*>& registry() {
  static std::unordered_set<impl*> r;
  return r;
}

struct current_guard {
  impl* saved;
  explicit current_guard(impl* p) : saved(tl_current) { tl_current = p; }
  ~current_guard() { tl_current = saved; }
};

void set_state(impl& p, sctp_output& o, sctp_state s) {
  if (o.state == s && o.state_changed)
    return;
  o.state = s;
  o.state_changed = true;
}

void handle_notification(impl& p, sctp_output& o, const uint8_t* data, size_t len) {
  if (len < sizeof(sctp_notification::sctp_tlv))
    return;
  const auto* n = reinterpret_cast<const sctp_notification*>(data);
  switch (n->sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      if (len < sizeof(sctp_assoc_change))
        return;
      const auto& ac = n->sn_assoc_change;
      switch (ac.sac_state) {
        case SCTP_COMM_UP:
        case SCTP_RESTART:
          p.os = ac.sac_outbound_streams;
          p.mis = ac.sac_inbound_streams;
          set_state(p, o, sctp_state::connected);
          break;
        case SCTP_COMM_LOST:
        case SCTP_CANT_STR_ASSOC:
          set_state(p, o, sctp_state::failed);
          break;
        case SCTP_SHUTDOWN_COMP:
          set_state(p, o, sctp_state::closed);
          break;
        default:
          break;
      }
      break;
    }
    case SCTP_STREAM_RESET_EVENT: {
      const auto& ev = n->sn_strreset_event;
      if (len < sizeof(sctp_stream_reset_event) || ev.strreset_length > len)
        return;
      if (ev.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED))
        return;
      if (!(ev.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN))
        return;
      const size_t count = (ev.strreset_length - sizeof(sctp_stream_reset_event)) / sizeof(uint16_t);
      for (size_t i = 0; i < count; ++i) {
        o.streams_closed.push_back(ev.strreset_stream_list[i]);
        p.partials.erase(ev.strreset_stream_list[i]); // a half message of the old stream
      }
      break;
    }
    case SCTP_PARTIAL_DELIVERY_EVENT:
      // usrsctp gave up a message it had begun to hand over: its prefix is dropped.
      if (len >= sizeof(sctp_pdapi_event) &&
          n->sn_pdapi_event.pdapi_indication == SCTP_PARTIAL_DELIVERY_ABORTED)
        p.partials.erase(static_cast<uint16_t>(n->sn_pdapi_event.pdapi_stream));
      break;
    default:
      break;
  }
}

void deliver(impl& p, sctp_output& o, uint16_t sid, uint32_t ppid, std::vector<uint8_t>&& data) {
  if (ppid == static_cast<uint32_t>(sctp_ppid::dcep)) {
    ++p.counters.dcep_in;
    if (!data.empty() && data[0] == dcep_ack_type)
      return; // our open was acknowledged
    auto open = parse_dcep_open(data);
    if (!open) {
      ++p.counters.dcep_malformed;
      return;
    }
    o.opened.emplace_back(sid, std::move(*open)); // acked after the usrsctp call returns
    return;
  }
  if (ppid == static_cast<uint32_t>(sctp_ppid::string_empty) ||
      ppid == static_cast<uint32_t>(sctp_ppid::binary_empty))
    data.clear();
  ++p.counters.messages_in;
  p.counters.message_bytes_in += data.size();
  o.messages.push_back(sctp_message{sid, ppid, std::move(data)});
}

void handle_data(impl& p, sctp_output& o, const uint8_t* data, size_t len,
                 const sctp_rcvinfo& info, int flags) {
  const uint16_t sid = info.rcv_sid;
  const uint32_t ppid = ntohl(info.rcv_ppid);
  const bool complete = (flags & MSG_EOR) != 0;
  auto it = p.partials.find(sid);
  if (it == p.partials.end() && complete) { // the usual case: one whole message
    if (len > p.opt.max_message_size) {
      ++p.counters.dropped_too_large;
      return;
    }
    deliver(p, o, sid, ppid, std::vector<uint8_t>(data, data + len));
    return;
  }
  auto& part = p.partials[sid];
  if (!part.overflow) {
    if (part.data.size() + len > p.opt.max_message_size) {
      part.overflow = true;
      part.data = {};
    } else {
      part.data.insert(part.data.end(), data, data + len);
    }
  }
  if (!complete)
    return;
  auto whole = std::move(part);
  p.partials.erase(sid);
  if (whole.overflow) {
    ++p.counters.dropped_too_large;
    return;
  }
  deliver(p, o, sid, ppid, std::move(whole.data));
}

// Runs `fn(output)` on the owner's output or, from a foreign thread, on the pending one
// under its lock (and wakes the owner). False when the association is gone.
template <class F>
void with_output(impl* p, F&& fn) {
  if (tl_current == p) {
    fn(p->out);
    return;
  }
  std::lock_guard<std::mutex> reg{registry_mutex};
  if (!registry().count(p))
    return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> g{p->pending_mutex};
    fn(p->pending);
    p->has_pending.store(true, std::memory_order_release);
    wake = !p->wakeup_sent;
    p->wakeup_sent = true;
  }
  if (wake && p->opt.wakeup)
    p->opt.wakeup();
}

int on_output(void* addr, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*set_df*/) {
  auto* p = static_cast<impl*>(addr);
  auto* bytes = static_cast<const uint8_t*>(buffer);
  with_output(p, [&](sctp_output& o) {
    o.packets.emplace_back(bytes, bytes + length);
  });
  return 0;
}

int on_receive(struct socket*, union sctp_sockstore, void* data, size_t len,
               struct sctp_rcvinfo info, int flags, void* ulp_info) {
  auto* p = static_cast<impl*>(ulp_info);
  if (!data)
    return 1;
  const auto* bytes = static_cast<const uint8_t*>(data);
  with_output(p, [&](sctp_output& o) {
    if (flags & MSG_NOTIFICATION)
      handle_notification(*p, o, bytes, len);
    else
      handle_data(*p, o, bytes, len, info, flags);
  });
  std::free(data);
  return 1;
}

void init_stack() {
  static std::once_flag once;
  std::call_once(once, [] {
    usrsctp_init_nothreads(0, &on_output, nullptr);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    usrsctp_sysctl_set_sctp_enable_sack_immediately(1);
  });
}

sockaddr_conn conn_address(impl* p, uint16_t port) {
  sockaddr_conn a{};
#ifdef HAVE_SCONN_LEN
  a.sconn_len = sizeof(sockaddr_conn);
#endif
  a.sconn_family = AF_CONN;
  a.sconn_port = htons(port);
  a.sconn_addr = p;
  return a;
}

template <class T>
bool set_option(struct socket* s, int level, int name, const T& value) {
  return usrsctp_setsockopt(s, level, name, &value, static_cast<socklen_t>(sizeof value)) == 0;
}

bool reset_stream(impl& p, uint16_t sid) {
  for (auto s : p.reset_outgoing)
    if (s == sid)
      return true;
  std::vector<uint8_t> buf(sizeof(sctp_reset_streams) + sizeof(uint16_t));
  auto* srs = reinterpret_cast<sctp_reset_streams*>(buf.data());
  srs->srs_assoc_id = SCTP_ALL_ASSOC;
  srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  srs->srs_number_streams = 1;
  srs->srs_stream_list[0] = sid;
  if (usrsctp_setsockopt(p.sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs,
                         static_cast<socklen_t>(buf.size())) != 0)
    return false;
  p.reset_outgoing.push_back(sid);
  return true;
}

sctp_error send_raw(impl& p, uint16_t sid, uint32_t ppid, const uint8_t* data, size_t len,
                    const sctp_stream_options& so) {
  sctp_sendv_spa spa{};
  spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
  spa.sendv_sndinfo.snd_sid = sid;
  spa.sendv_sndinfo.snd_ppid = htonl(ppid);
  spa.sendv_sndinfo.snd_flags = SCTP_EOR | (so.ordered ? 0 : SCTP_UNORDERED);
  if (so.reliability != sctp_reliability::reliable) {
    spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
    spa.sendv_prinfo.pr_policy =
      so.reliability == sctp_reliability::max_retransmits ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
    spa.sendv_prinfo.pr_value = so.reliability_value;
  }
  const ssize_t n = usrsctp_sendv(p.sock, data, len, nullptr, 0, &spa,
                                  static_cast<socklen_t>(sizeof spa), SCTP_SENDV_SPA, 0);
  if (n >= 0)
    return sctp_error::none;
  if (errno == EWOULDBLOCK || errno == EAGAIN || errno == ENOBUFS)
    return sctp_error::buffer_full;
  return sctp_error::send_failed;
}

} // namespace

void sctp_advance_timers(uint64_t now_ms) {
  static std::mutex timer_mutex;
  static uint64_t last_ms = 0;
  std::unique_lock<std::mutex> g{timer_mutex, std::try_to_lock};
  if (!g.owns_lock())
    return; // another owner is running them right now
  if (last_ms == 0 || now_ms < last_ms) {
    last_ms = now_ms;
    return;
  }
  const uint64_t elapsed = now_ms - last_ms;
  if (elapsed < 10)
    return;
  last_ms = now_ms;
  current_guard cg{nullptr}; // everything it produces goes to the pending queues
  usrsctp_handle_timers(static_cast<uint32_t>(elapsed));
}

sctp_association::sctp_association(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}

result<std::unique_ptr<sctp_association>> sctp_association::create(sctp_options options) {
  init_stack();
  if (options.os == 0 || options.mis == 0)
    return failure{"SCTP streams must be at least 1"};
  if (options.max_message_size == 0)
    return failure{"SCTP maxMessageSize must be positive"};
  if (options.send_buffer < options.max_message_size)
    options.send_buffer = options.max_message_size;
  auto p = std::make_unique<impl>();
  p->opt = std::move(options);
  auto* raw = p.get();
  {
    std::lock_guard<std::mutex> reg{registry_mutex};
    registry().insert(raw);
  }
  usrsctp_register_address(raw);
  current_guard cg{raw};
  auto fail = [&](const char* what) -> result<std::unique_ptr<sctp_association>> {
    std::string msg = std::string("usrsctp: ") + what + ": " + std::strerror(errno);
    if (raw->sock)
      usrsctp_close(raw->sock);
    raw->sock = nullptr;
    usrsctp_deregister_address(raw);
    std::lock_guard<std::mutex> reg{registry_mutex};
    registry().erase(raw);
    return failure{msg};
  };
  raw->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, &on_receive, nullptr, 0, raw);
  if (!raw->sock)
    return fail("socket");
  if (usrsctp_set_non_blocking(raw->sock, 1) != 0)
    return fail("non-blocking");
  linger lg{1, 0}; // close aborts at once: nothing lingers after the transport
  if (!set_option(raw->sock, SOL_SOCKET, SO_LINGER, lg))
    return fail("SO_LINGER");
  const int sndbuf = static_cast<int>(raw->opt.send_buffer);
  const int rcvbuf = static_cast<int>(std::max<size_t>(raw->opt.max_message_size * 2, 262'144));
  if (!set_option(raw->sock, SOL_SOCKET, SO_SNDBUF, sndbuf) ||
      !set_option(raw->sock, SOL_SOCKET, SO_RCVBUF, rcvbuf))
    return fail("buffers");
  sctp_assoc_value reset{};
  reset.assoc_id = SCTP_ALL_ASSOC;
  reset.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ;
  if (!set_option(raw->sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, reset))
    return fail("stream reset");
  const int one = 1;
  if (!set_option(raw->sock, IPPROTO_SCTP, SCTP_NODELAY, one))
    return fail("nodelay");
  for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SEND_FAILED_EVENT,
                        SCTP_PARTIAL_DELIVERY_EVENT}) {
    sctp_event ev{};
    ev.se_assoc_id = SCTP_ALL_ASSOC;
    ev.se_type = type;
    ev.se_on = 1;
    if (!set_option(raw->sock, IPPROTO_SCTP, SCTP_EVENT, ev))
      return fail("events");
  }
  sctp_initmsg init{};
  init.sinit_num_ostreams = raw->opt.os;
  init.sinit_max_instreams = raw->opt.mis;
  if (!set_option(raw->sock, IPPROTO_SCTP, SCTP_INITMSG, init))
    return fail("initmsg");
  auto local = conn_address(raw, raw->opt.port);
  if (usrsctp_bind(raw->sock, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
    return fail("bind");
  return std::unique_ptr<sctp_association>(new sctp_association(std::move(p)));
}

sctp_association::~sctp_association() {
  if (!impl_)
    return;
  auto* raw = impl_.get();
  {
    current_guard cg{raw};
    if (raw->sock)
      usrsctp_close(raw->sock); // SO_LINGER 0: ABORT, dropped with this output
    raw->sock = nullptr;
    usrsctp_deregister_address(raw);
  }
  std::lock_guard<std::mutex> reg{registry_mutex};
  registry().erase(raw);
}

namespace {

// Runs one owner call: collects its output, then does what usrsctp must not be re-entered
// for from inside its callbacks (DCEP acks, resetting our side of closed streams).
template <class F>
sctp_output run(impl& p, F&& fn) {
  current_guard cg{&p};
  p.out = sctp_output{};
  fn();
  for (auto& [sid, open] : p.out.opened) {
    const uint8_t ack = dcep_ack_type;
    send_raw(p, sid, static_cast<uint32_t>(sctp_ppid::dcep), &ack, 1, sctp_stream_options{});
  }
  if (p.sock)
    for (auto sid : p.out.streams_closed)
      reset_stream(p, sid);
  sctp_output o = std::move(p.out);
  p.out = sctp_output{};
  if (p.has_pending.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> g{p.pending_mutex};
    auto& q = p.pending;
    o.packets.insert(o.packets.begin(), std::make_move_iterator(q.packets.begin()),
                     std::make_move_iterator(q.packets.end()));
    if (q.state_changed && !o.state_changed) {
      o.state = q.state;
      o.state_changed = true;
    }
    o.streams_closed.insert(o.streams_closed.end(), q.streams_closed.begin(), q.streams_closed.end());
    q = sctp_output{};
    p.has_pending.store(false, std::memory_order_release);
    p.wakeup_sent = false;
  }
  if (o.state_changed) {
    if (o.state == p.state)
      o.state_changed = false;
    else
      p.state = o.state;
  }
  o.state = p.state;
  for (auto& pkt : o.packets) {
    ++p.counters.packets_out;
    p.counters.bytes_out += pkt.size();
  }
  return o;
}

} // namespace

sctp_output sctp_association::connect() {
  auto& p = *impl_;
  return run(p, [&] {
    if (p.state != sctp_state::new_ || !p.sock)
      return;
    auto remote = conn_address(&p, p.opt.port);
    const int rc = usrsctp_connect(p.sock, reinterpret_cast<sockaddr*>(&remote), sizeof remote);
    if (rc != 0 && errno != EINPROGRESS) {
      set_state(p, p.out, sctp_state::failed);
      return;
    }
    // Our packets must fit one DTLS record: fixed path MTU, no discovery.
    sctp_paddrparams pp{};
    std::memcpy(&pp.spp_address, &remote, sizeof remote);
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = static_cast<uint32_t>(p.opt.mtu);
    set_option(p.sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, pp);
    if (p.out.state != sctp_state::connected)
      set_state(p, p.out, sctp_state::connecting);
  });
}

bool sctp_packet_well_formed(std::span<const uint8_t> packet) noexcept {
  constexpr std::size_t common_header = 12, init_fixed = 20; // chunk header + 16
  const auto u16 = [](const uint8_t* b) { return std::size_t((b[0] << 8) | b[1]); };
  if (packet.size() < common_header)
    return false;
  std::size_t at = common_header;
  while (at < packet.size()) {
    if (packet.size() - at < 4)
      return false;
    const uint8_t type = packet[at];
    const std::size_t len = u16(&packet[at + 2]);
    if (len < 4 || len > packet.size() - at)
      return false;
    if (type == 1 || type == 2) { // INIT, INIT ACK: their parameters
      if (len < init_fixed)
        return false;
      std::size_t q = init_fixed;
      while (q < len) {
        if (len - q < 4)
          return false;
        const std::size_t plen = u16(&packet[at + q + 2]);
        if (plen < 4 || plen > len - q)
          return false;
        q += (plen + 3) & ~std::size_t{3};
      }
    }
    at += (len + 3) & ~std::size_t{3}; // (the last chunk's padding may be left out)
  }
  return true;
}

sctp_output sctp_association::handle_packet(std::span<const uint8_t> packet) {
  auto& p = *impl_;
  ++p.counters.packets_in;
  p.counters.bytes_in += packet.size();
  if (!sctp_packet_well_formed(packet)) {
    ++p.counters.dropped_malformed;
    return run(p, [] {}); // nothing to do; the output carries the state as it is
  }
  return run(p, [&] {
    if (!p.sock || p.state == sctp_state::failed)
      return; // (closed still reads: the SHUTDOWN exchange completes)
    usrsctp_conninput(&p, packet.data(), packet.size(), 0);
  });
}

sctp_output sctp_association::send(uint16_t stream, sctp_ppid ppid, std::span<const uint8_t> data,
                                   const sctp_stream_options& options) {
  auto& p = *impl_;
  sctp_error refused = sctp_error::none;
  auto o = run(p, [&] {
    if (p.state != sctp_state::connected || !p.sock) {
      refused = sctp_error::not_connected;
      return;
    }
    if (data.size() > p.opt.max_message_size) {
      refused = sctp_error::too_large;
      return;
    }
    if (stream >= p.os) {
      refused = sctp_error::bad_stream;
      return;
    }
    uint32_t id = static_cast<uint32_t>(ppid);
    static const uint8_t zero = 0;
    const uint8_t* bytes = data.data();
    size_t len = data.size();
    if (len == 0) { // RFC 8831 §6.6: an empty message is one byte with the *_empty PPID
      id = (ppid == sctp_ppid::string || ppid == sctp_ppid::string_empty)
             ? static_cast<uint32_t>(sctp_ppid::string_empty)
             : static_cast<uint32_t>(sctp_ppid::binary_empty);
      bytes = &zero;
      len = 1;
    }
    refused = send_raw(p, stream, id, bytes, len, options);
    if (refused == sctp_error::none) {
      ++p.counters.messages_out;
      p.counters.message_bytes_out += data.size();
    }
  });
  if (refused != sctp_error::none)
    ++p.counters.refused_out;
  o.refused = refused;
  return o;
}

sctp_output sctp_association::send_dcep_open(uint16_t stream, const dcep_open& open) {
  auto& p = *impl_;
  sctp_error refused = sctp_error::none;
  auto o = run(p, [&] {
    if (p.state != sctp_state::connected || !p.sock) {
      refused = sctp_error::not_connected;
      return;
    }
    auto bytes = build_dcep_open(open);
    refused = send_raw(p, stream, static_cast<uint32_t>(sctp_ppid::dcep), bytes.data(),
                       bytes.size(), sctp_stream_options{});
  });
  o.refused = refused;
  return o;
}

sctp_output sctp_association::close_stream(uint16_t stream) {
  auto& p = *impl_;
  return run(p, [&] {
    if (p.state == sctp_state::connected && p.sock)
      reset_stream(p, stream);
  });
}

sctp_output sctp_association::close() {
  auto& p = *impl_;
  return run(p, [&] {
    if (p.sock && p.state == sctp_state::connected)
      usrsctp_shutdown(p.sock, SHUT_RDWR);
    if (p.out.state != sctp_state::failed)
      set_state(p, p.out, sctp_state::closed);
  });
}

sctp_output sctp_association::take_pending() {
  return run(*impl_, [] {});
}

void sctp_association::forget_stream(uint16_t stream) noexcept {
  auto& v = impl_->reset_outgoing;
  for (auto it = v.begin(); it != v.end(); ++it)
    if (*it == stream) {
      v.erase(it);
      return;
    }
}

sctp_state sctp_association::state() const noexcept { return impl_->state; }
uint16_t sctp_association::outgoing_streams() const noexcept { return impl_->os; }
uint16_t sctp_association::incoming_streams() const noexcept { return impl_->mis; }
const sctp_counters& sctp_association::counters() const noexcept { return impl_->counters; }
const sctp_options& sctp_association::options() const noexcept { return impl_->opt; }

} // namespace chorus::net
