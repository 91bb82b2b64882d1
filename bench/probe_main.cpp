// chorus-probe: one WebRTC transport against a Chorus server, end to end, as a browser
// would open it, with optional abuse on the side; prints one JSON line and exits 0 on
// success, 1 on failure (2 for bad usage).
//
//   chorus-probe --url ws://127.0.0.1:PORT [--room R] [--peer P] [--protocol udp|tcp]
//                [--packets N] [--garbage N] [--bad-credentials N] [--timeout-ms T]
//                [--interval-ms I] [--payload-bytes B] [--hold-ms H]
//                [--consent-interval-ms C] [--after-close-ms A] [--restart-ice]
//                [--restart-new-socket] [--first-seq S] [--verbose]
//
// Steps: WebSocket /socket?auth=P&channelId=R; get-rtp-capabilities; create-transport;
// --bad-credentials N binding requests with a wrong password from a separate socket (their
// error responses are counted); --garbage N random datagrams (TCP: RFC 4571 frames on a
// separate connection), half before ICE and half right after the first check; ICE;
// connect-transport (role client, our fingerprint); DTLS; N SRTP packets, one every I ms;
// get-transport-stats until rtp.received >= N; hold H ms (ICE consent checks every C ms) and
// read the stats again; DTLS close_notify; with --after-close-ms, wait A ms and check that the
// signaling connection survived the transport (get-transport-stats, get-rtp-capabilities);
// WebSocket close.
//
// --restart-ice: after half of the packets (and the server counted them), restart-ice; the
// client takes the server's new credentials and new ones of its own and checks again
// (USE-CANDIDATE) until its ICE is connected with them (bounded); then one binding request
// with the OLD credentials on the transport's socket, whose answer must be a 401; then the
// other half of the packets. --restart-new-socket (implies --restart-ice): the restarted
// client checks from a new socket (UDP: a new local port; TCP: a new connection), as after
// a network change, and the server must follow it to the new tuple.
// --first-seq S: the stream's first RTP sequence number (default random), e.g. 65530 so
// that it wraps to 0 within the run and the server must carry the rollover counter.
#include "bench/client/cli_flags.hpp"
#include "bench/client/client_driver.hpp"
#include "bench/client/clock.hpp"
#include "bench/client/json_fields.hpp"
#include "bench/client/signaling_json.hpp"
#include "common/ids.hpp"
#include "net/stun.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace chorus;
using namespace chorus::client;

namespace {

struct probe_options {
  std::string url;
  std::string room = "probe";
  std::string peer;
  media_protocol protocol = media_protocol::udp;
  uint64_t packets = 50;
  uint64_t garbage = 0;
  uint64_t bad_credentials = 0;
  uint64_t timeout_ms = 15000;
  uint64_t interval_ms = 5;
  uint64_t payload_bytes = 160;
  uint64_t hold_ms = 0;
  uint64_t consent_interval_ms = 5000;
  std::optional<uint64_t> after_close_ms;
  bool restart_ice = false;
  bool restart_new_socket = false;
  std::optional<uint16_t> first_seq; // random when not given
  bool verbose = false;
};

constexpr const char* usage =
  "usage: chorus-probe --url ws://HOST:PORT [--room R] [--peer P] [--protocol udp|tcp]\n"
  "                    [--packets N] [--garbage N] [--bad-credentials N] [--timeout-ms T]\n"
  "                    [--interval-ms I] [--payload-bytes B] [--hold-ms H]\n"
  "                    [--consent-interval-ms C] [--after-close-ms A] [--restart-ice]\n"
  "                    [--restart-new-socket] [--first-seq S] [--verbose]\n";

std::optional<probe_options> parse_args(int argc, char** argv, std::string& error) {
  using client::parse_u64;
  probe_options o;
  static constexpr std::string_view known[] = {
    "--url", "--room", "--peer", "--protocol", "--packets", "--garbage", "--bad-credentials",
    "--timeout-ms", "--interval-ms", "--payload-bytes", "--hold-ms",
    "--consent-interval-ms", "--after-close-ms", "--first-seq"};
  auto on_switch = [&](std::string_view flag) {
    if (flag == "--verbose")
      o.verbose = true;
    else if (flag == "--restart-ice")
      o.restart_ice = true;
    else if (flag == "--restart-new-socket")
      o.restart_ice = o.restart_new_socket = true;
    else
      return false;
    return true;
  };
  auto on_value = [&](std::string_view flag, std::string_view v) {
    bool ok = true;
    if (flag == "--url") o.url = v;
    else if (flag == "--room") o.room = v;
    else if (flag == "--peer") o.peer = v;
    else if (flag == "--protocol") {
      ok = v == "udp" || v == "tcp";
      o.protocol = v == "tcp" ? media_protocol::tcp : media_protocol::udp;
    }
    else if (flag == "--packets") ok = parse_u64(v, o.packets) && o.packets <= 1000000;
    else if (flag == "--garbage") ok = parse_u64(v, o.garbage) && o.garbage <= 1000000;
    else if (flag == "--bad-credentials") ok = parse_u64(v, o.bad_credentials) && o.bad_credentials <= 10000;
    else if (flag == "--timeout-ms") ok = parse_u64(v, o.timeout_ms) && o.timeout_ms > 0;
    else if (flag == "--interval-ms") ok = parse_u64(v, o.interval_ms);
    else if (flag == "--payload-bytes") ok = parse_u64(v, o.payload_bytes) && o.payload_bytes <= 1200;
    else if (flag == "--hold-ms") ok = parse_u64(v, o.hold_ms);
    else if (flag == "--consent-interval-ms") ok = parse_u64(v, o.consent_interval_ms) && o.consent_interval_ms > 0;
    else if (flag == "--after-close-ms") ok = parse_u64(v, o.after_close_ms.emplace());
    else if (flag == "--first-seq") {
      uint64_t seq = 0;
      ok = parse_u64(v, seq) && seq <= 65535;
      o.first_seq = uint16_t(seq);
    }
    return ok;
  };
  if (!client::parse_flags(argc, argv, 1, known, on_switch, on_value, error))
    return std::nullopt;
  if (o.url.empty()) {
    error = "--url is required";
    return std::nullopt;
  }
  if (o.peer.empty())
    o.peer = "probe-" + ids::random_token(8);
  return o;
}

// The probe's result, rendered as one JSON line at the end.
struct report {
  bool ok = false;
  std::string reason;
  std::string stage;
  std::string transport_id;
  std::string stats_json; // the server's last get-transport-stats data
  std::string ice_state, dtls_state, srtp_profile, selected_protocol;
  uint64_t rtp_received = 0;
  std::string client_state, client_ice_state, client_dtls_state, client_srtp_profile;
  uint64_t ice_ms = 0, dtls_ms = 0, elapsed_ms = 0;
  uint64_t packets_sent = 0, garbage_sent = 0, bad_sent = 0;
  std::string garbage_closed; // TCP: why the server closed the garbage connection, if it did
  std::string signaling_closed; // why the server closed the WebSocket, if it did
  bool after_close = false;     // --after-close-ms: outcomes after our close_notify
  std::string after_close_stats, after_close_caps; // reply type, or "error:CODE", or why not
  std::map<uint16_t, uint64_t> bad_responses; // STUN error code -> count (0: success!)
  net::ice_client_counters ice{};
  uint64_t consent_checks = 0;

  // --restart-ice
  struct restart_outcome {
    bool requested = false;
    bool new_socket = false;
    std::string old_ufrag, new_ufrag;             // the server's
    std::string old_local_ufrag, new_local_ufrag; // ours
    uint16_t old_local_port = 0, new_local_port = 0;
    uint64_t ice_ms = 0;                // from restart_ice() to connected again
    bool reconnected = false;
    std::optional<uint16_t> old_credentials_response; // error code, 0: success, none: no answer
    uint64_t stun_valid_before = 0, stun_valid_after = 0;
    uint64_t errors401_before = 0, errors401_after = 0;
    uint64_t rtp_received_before = 0;
    uint64_t packets_before = 0, packets_after = 0;
    std::string selected_after; // the server's iceSelectedTuple after the restart
  } restart;
};

// A datagram of random bytes and random length (1 to 1200).
std::vector<uint8_t> random_garbage() {
  uint16_t len = 0;
  ids::random_bytes(&len, sizeof len);
  std::vector<uint8_t> g(1 + len % 1200);
  ids::random_bytes(g.data(), g.size());
  return g;
}

// Sends garbage and wrong-password checks on sockets of their own, and counts answers.
class side_channel {
public:
  static result<side_channel> open(media_protocol protocol, const net::transport_address& to) {
    auto s = media_socket::open(protocol, to, 2000);
    if (!s)
      return failure{s.error()};
    return side_channel{std::move(*s)};
  }
  bool send(std::span<const uint8_t> bytes) { return socket_.send(bytes); }
  // Reads what arrived; STUN responses are tallied by error code (0 for success).
  void drain(std::map<uint16_t, uint64_t>& responses) {
    socket_.flush();
    socket_.receive([&](std::span<const uint8_t> p) {
      auto parsed = net::stun::parse(p);
      if (!parsed.ok())
        return;
      if (parsed.msg.cls == net::stun::message_class::error_response && parsed.msg.error_code)
        ++responses[parsed.msg.error_code->code];
      else if (parsed.msg.cls == net::stun::message_class::success_response)
        ++responses[0];
    });
  }
  bool closed() const noexcept { return socket_.closed(); }
  const std::string& close_reason() const noexcept { return socket_.close_reason(); }
  uint64_t answered(const std::map<uint16_t, uint64_t>& responses) const {
    uint64_t n = 0;
    for (auto& [code, count] : responses)
      n += count;
    return n;
  }

private:
  explicit side_channel(media_socket s) : socket_(std::move(s)) {}
  media_socket socket_;
};

std::string string_member(const rapidjson::Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsString() ? it->value.GetString() : "";
}

uint64_t uint_at(const rapidjson::Value& v, const char* object, const char* name) {
  auto o = v.FindMember(object);
  if (o == v.MemberEnd() || !o->value.IsObject())
    return 0;
  auto m = o->value.FindMember(name);
  return m != o->value.MemberEnd() && m->value.IsUint64() ? m->value.GetUint64() : 0;
}

// Reads the fields the probe judges by from the server's stats.
void read_stats(report& r, const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject())
    return;
  r.stats_json = json;
  r.ice_state = string_member(d, "iceState");
  r.dtls_state = string_member(d, "dtlsState");
  r.srtp_profile = string_member(d, "srtpProfile");
  if (auto it = d.FindMember("iceSelectedTuple"); it != d.MemberEnd() && it->value.IsObject())
    r.selected_protocol = string_member(it->value, "protocol");
  if (auto it = d.FindMember("rtp"); it != d.MemberEnd() && it->value.IsObject())
    if (auto rec = it->value.FindMember("received");
        rec != it->value.MemberEnd() && rec->value.IsUint64())
      r.rtp_received = rec->value.GetUint64();
}

void print_report(const report& r) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  client::json_fields j(w);
  w.StartObject();
  j.boolean("ok", r.ok);
  if (!r.ok) {
    j.str("reason", r.reason);
    j.str("stage", r.stage);
  }
  j.str("transportId", r.transport_id);
  j.str("iceState", r.ice_state);
  j.str("dtlsState", r.dtls_state);
  j.str("srtpProfile", r.srtp_profile);
  j.str("selectedProtocol", r.selected_protocol);
  j.u64("rtpReceived", r.rtp_received);
  j.u64("packetsSent", r.packets_sent);
  j.u64("garbageSent", r.garbage_sent);
  if (!r.garbage_closed.empty())
    j.str("garbageConnectionClosed", r.garbage_closed);
  w.Key("badCredentials");
  w.StartObject();
  j.u64("sent", r.bad_sent);
  w.Key("responses");
  w.StartObject();
  for (auto& [code, count] : r.bad_responses)
    j.u64(std::to_string(code).c_str(), count);
  w.EndObject();
  w.EndObject();
  if (!r.signaling_closed.empty())
    j.str("signalingClosed", r.signaling_closed);
  if (r.after_close) {
    w.Key("afterClose");
    w.StartObject();
    j.str("stats", r.after_close_stats);
    j.str("capabilities", r.after_close_caps);
    w.EndObject();
  }
  if (r.restart.requested) {
    auto& x = r.restart;
    w.Key("restart");
    w.StartObject();
    j.boolean("newSocket", x.new_socket);
    j.str("oldUfrag", x.old_ufrag);
    j.str("newUfrag", x.new_ufrag);
    j.str("oldLocalUfrag", x.old_local_ufrag);
    j.str("newLocalUfrag", x.new_local_ufrag);
    j.u64("oldLocalPort", x.old_local_port);
    j.u64("newLocalPort", x.new_local_port);
    j.boolean("reconnected", x.reconnected);
    j.u64("iceMs", x.ice_ms);
    j.opt_int("oldCredentialsResponse", x.old_credentials_response);
    j.boolean("oldCredentials401", x.old_credentials_response == uint16_t{401});
    j.u64("stunValidBefore", x.stun_valid_before);
    j.u64("stunValidAfter", x.stun_valid_after);
    j.u64("errors401Before", x.errors401_before);
    j.u64("errors401After", x.errors401_after);
    j.u64("rtpReceivedBefore", x.rtp_received_before);
    j.u64("packetsBefore", x.packets_before);
    j.u64("packetsAfter", x.packets_after);
    j.raw_object("selectedTupleAfter", x.selected_after);
    w.EndObject();
  }
  w.Key("client");
  w.StartObject();
  j.str("state", r.client_state);
  j.str("iceState", r.client_ice_state);
  j.str("dtlsState", r.client_dtls_state);
  j.str("srtpProfile", r.client_srtp_profile);
  j.u64("iceMs", r.ice_ms);
  j.u64("dtlsMs", r.dtls_ms);
  j.u64("checksSent", r.ice.requests_sent);
  j.u64("retransmissions", r.ice.retransmissions);
  j.u64("successes", r.ice.successes);
  j.u64("errorResponses", r.ice.error_responses);
  w.EndObject();
  j.raw_object("stats", r.stats_json);
  j.u64("elapsedMs", r.elapsed_ms);
  w.EndObject();
  std::fwrite(sb.GetString(), 1, sb.GetSize(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

class probe {
public:
  explicit probe(probe_options o) : o_(std::move(o)), driver_(loop_, transports_) {}

  int run() {
    const uint64_t start = steady_now_ms();
    deadline_ = start + o_.timeout_ms;
    if (!steps())
      r_.ok = false;
    teardown();
    r_.elapsed_ms = steady_now_ms() - start;
    print_report(r_);
    return r_.ok ? 0 : 1;
  }

private:
  void log(const std::string& what) {
    if (o_.verbose)
      std::fprintf(stderr, "[probe %6llu ms] %s\n",
                   static_cast<unsigned long long>(steady_now_ms() - (deadline_ - o_.timeout_ms)),
                   what.c_str());
  }

  bool fail(std::string stage, std::string reason) {
    r_.stage = std::move(stage);
    r_.reason = std::move(reason);
    log("failed at " + r_.stage + ": " + r_.reason);
    return false;
  }

  bool steps() {
    auto dtls = make_client_dtls_context();
    if (!dtls)
      return fail("setup", dtls.error());
    std::string base = o_.url;
    while (!base.empty() && base.back() == '/')
      base.pop_back();
    const std::string url =
      base + "/socket?auth=" + url_encode(o_.peer) + "&channelId=" + url_encode(o_.room);
    auto ws = signaling_client::connect(loop_, url, std::chrono::milliseconds(remaining()));
    if (!ws)
      return fail("signaling", ws.error());
    ws_ = std::move(*ws);
    log("signaling connected: " + url);

    auto caps = driver_.request(*ws_, "get-rtp-capabilities", "", deadline_);
    if (!caps)
      return fail("get-rtp-capabilities", caps.error());
    if (caps->type != "rtp-capabilities")
      return fail("get-rtp-capabilities", caps->type + " " + caps->data);

    connect_options copts;
    copts.transport.protocol = o_.protocol;
    copts.transport.consent_interval_ms = o_.consent_interval_ms;
    copts.ice_timeout_ms = std::min<uint64_t>(5000, o_.timeout_ms);
    connect_hooks hooks;
    hooks.before_ice = [this](webrtc_client_transport& t) { before_ice(t); };
    hooks.ice_started = [this](webrtc_client_transport& t) { send_garbage(t, o_.garbage - o_.garbage / 2); };
    auto c = open_webrtc_transport(driver_, *ws_, std::move(*dtls), copts, deadline_, hooks);
    transport_ = std::move(c.transport);
    if (transport_)
      r_.transport_id = transport_->id();
    r_.ice_ms = c.ice_ms;
    r_.dtls_ms = c.dtls_ms;
    if (!c.ok()) {
      fetch_stats();
      return fail(c.stage, c.error);
    }
    log("transport connected: ice " + std::to_string(c.ice_ms) + " ms, dtls " +
        std::to_string(c.dtls_ms) + " ms");
    drain_side_channels();

    const uint64_t first = o_.restart_ice ? o_.packets / 2 : o_.packets;
    if (!send_media(first))
      return false;
    if (o_.restart_ice) {
      if (!restart_ice())
        return false;
      if (!send_media(o_.packets - first))
        return false;
      r_.restart.packets_after = o_.packets - first;
    }
    // The server counts what it decrypted: poll its stats (bounded).
    while (true) {
      fetch_stats();
      drain_side_channels();
      if (r_.rtp_received >= o_.packets)
        break;
      if (steady_now_ms() >= deadline_)
        return fail("stats", "the server counted " + std::to_string(r_.rtp_received) + " of " +
                               std::to_string(r_.packets_sent) + " RTP packets");
      driver_.run_for(std::min<uint64_t>(50, remaining()));
    }
    if (o_.hold_ms > 0) {
      driver_.run_until([] { return false; }, std::min(deadline_, steady_now_ms() + o_.hold_ms));
      if (transport_->finished())
        return fail("hold", transport_->failure_reason());
      if (std::string error; !fetch_stats(&error))
        return fail("hold", error);
    }
    return judge();
  }

  void before_ice(webrtc_client_transport& t) {
    auto to = net::transport_address::from_string(t.candidate().address, t.candidate().port);
    if (o_.bad_credentials > 0 && to) {
      auto side = side_channel::open(o_.protocol, *to);
      if (side) {
        bad_ = std::move(*side);
        // The right username, a wrong password: the server must answer 401 (RFC 5389 §10.1.2).
        for (uint64_t i = 0; i < o_.bad_credentials; ++i) {
          net::stun::binding_request_params p;
          p.tid = net::stun::random_transaction_id();
          p.username = t.remote().ice_parameters.username_fragment + ":probe";
          p.key = "wrong-" + ids::random_token(26);
          p.priority = net::default_check_priority;
          ids::random_bytes(&p.tie_breaker, sizeof p.tie_breaker);
          p.use_candidate = true;
          if (bad_->send(net::stun::binding_request(p)))
            ++r_.bad_sent;
        }
        // Their answers (bounded): every request should be answered before ICE starts.
        driver_.run_until(
          [&] {
            bad_->drain(r_.bad_responses);
            return bad_->answered(r_.bad_responses) >= r_.bad_sent;
          },
          std::min(deadline_, steady_now_ms() + 1000));
        log("bad credentials: " + std::to_string(r_.bad_sent) + " sent, " +
            std::to_string(bad_->answered(r_.bad_responses)) + " answered");
      } else {
        log("bad credentials: cannot open a socket: " + side.error());
      }
    }
    if (o_.garbage > 0 && o_.protocol == media_protocol::tcp && to) {
      auto side = side_channel::open(o_.protocol, *to);
      if (side)
        garbage_ = std::move(*side);
      else
        log("garbage: cannot open a connection: " + side.error());
    }
    send_garbage(t, o_.garbage / 2);
  }

  void send_garbage(webrtc_client_transport& t, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      auto g = random_garbage();
      const bool sent = o_.protocol == media_protocol::tcp ? (garbage_ && garbage_->send(g))
                                                           : t.send_raw(g);
      r_.garbage_sent += sent ? 1 : 0;
    }
    if (count > 0)
      log("garbage: " + std::to_string(r_.garbage_sent) + " sent so far");
  }

  void drain_side_channels() {
    std::map<uint16_t, uint64_t> ignored;
    if (bad_)
      bad_->drain(r_.bad_responses);
    if (garbage_)
      garbage_->drain(ignored);
  }

  // `count` more packets of our one stream (sequence numbers continue across calls).
  bool send_media(uint64_t count) {
    std::vector<uint8_t> payload(o_.payload_bytes);
    if (!media_header_) {
      auto& h = media_header_.emplace();
      h.payload_type = 100; // the router's Opus; no producer exists, the transport counts it
      ids::random_bytes(&h.ssrc, sizeof h.ssrc);
      if (o_.first_seq)
        h.sequence = *o_.first_seq;
      else
        ids::random_bytes(&h.sequence, sizeof h.sequence);
      ids::random_bytes(&h.timestamp, sizeof h.timestamp);
    }
    auto& h = *media_header_;
    for (uint64_t i = 0; i < count; ++i) {
      ids::random_bytes(payload.data(), payload.size());
      if (!transport_->send_rtp(h, payload))
        return fail("media", transport_->finished() ? transport_->failure_reason()
                                                    : "send_rtp refused packet " + std::to_string(i));
      ++r_.packets_sent;
      ++h.sequence;
      h.timestamp += 960; // 20 ms at 48 kHz
      if (o_.interval_ms > 0)
        driver_.run_for(o_.interval_ms);
      else
        driver_.step(0);
      if (steady_now_ms() >= deadline_)
        return fail("media", "timeout while sending");
    }
    log("sent " + std::to_string(r_.packets_sent) + " RTP packets");
    return true;
  }

  // The server's stats until it counted every packet sent so far (bounded by the deadline).
  bool wait_received(const char* stage) {
    while (true) {
      if (std::string error; !fetch_stats(&error))
        return fail(stage, error);
      if (r_.rtp_received >= r_.packets_sent)
        return true;
      if (steady_now_ms() >= deadline_)
        return fail(stage, "the server counted " + std::to_string(r_.rtp_received) + " of " +
                             std::to_string(r_.packets_sent) + " RTP packets");
      driver_.run_for(std::min<uint64_t>(50, remaining()));
    }
  }

  void read_restart_counters(uint64_t& valid, uint64_t& errors401) {
    rapidjson::Document d;
    d.Parse(r_.stats_json.data(), r_.stats_json.size());
    if (d.HasParseError() || !d.IsObject())
      return;
    valid = uint_at(d, "stun", "valid");
    errors401 = uint_at(d, "stun", "errors401");
  }

  // --restart-ice: see the top of the file.
  bool restart_ice() {
    auto& t = *transport_;
    auto& x = r_.restart;
    x.requested = true;
    x.new_socket = o_.restart_new_socket;
    if (!wait_received("restart-before"))
      return false;
    x.packets_before = r_.packets_sent;
    x.rtp_received_before = r_.rtp_received;
    read_restart_counters(x.stun_valid_before, x.errors401_before);

    const protocol::ice_parameters old_remote = t.remote().ice_parameters;
    const std::string old_local_ufrag = t.local_ufrag();
    x.old_ufrag = old_remote.username_fragment;
    x.old_local_ufrag = old_local_ufrag;
    x.old_local_port = t.socket().local().port;

    auto reply = driver_.request(*ws_, "restart-ice", transport_id_data(r_.transport_id), deadline_);
    if (!reply)
      return fail("restart-ice", reply.error());
    if (reply->type != "restart-ice")
      return fail("restart-ice", reply->type + " " + reply->data);
    protocol::ice_parameters fresh;
    {
      rapidjson::Document d;
      d.Parse(reply->data.data(), reply->data.size());
      auto ice = d.IsObject() ? d.FindMember("iceParameters") : d.MemberEnd();
      if (!d.IsObject() || ice == d.MemberEnd() || !ice->value.IsObject())
        return fail("restart-ice", "no iceParameters in " + reply->data);
      fresh.username_fragment = string_member(ice->value, "usernameFragment");
      fresh.password = string_member(ice->value, "password");
      if (auto lite = ice->value.FindMember("iceLite");
          lite != ice->value.MemberEnd() && lite->value.IsBool())
        fresh.ice_lite = lite->value.GetBool();
      if (fresh.username_fragment.empty() || fresh.password.empty())
        return fail("restart-ice", "empty credentials in " + reply->data);
    }
    x.new_ufrag = fresh.username_fragment;
    if (x.new_ufrag == x.old_ufrag)
      return fail("restart-ice", "the server kept its ufrag " + x.old_ufrag);

    const uint64_t successes_before = t.ice_counters().successes;
    const uint64_t started = steady_now_ms();
    if (std::string error; !t.restart_ice(fresh, started, o_.restart_new_socket, &error))
      return fail("restart-ice", error);
    x.new_local_ufrag = t.local_ufrag();
    x.new_local_port = t.socket().local().port;
    log("ice restart: server ufrag " + x.old_ufrag + " -> " + x.new_ufrag + ", ours " +
        x.old_local_ufrag + " -> " + x.new_local_ufrag + ", local port " +
        std::to_string(x.old_local_port) + " -> " + std::to_string(x.new_local_port));
    x.reconnected = driver_.run_until(
      [&] {
        return t.finished() || (t.ice_state() == net::ice_client_state::connected &&
                                t.ice_counters().successes > successes_before);
      },
      std::min(deadline_, started + 5000)) && !t.finished();
    x.ice_ms = steady_now_ms() - started;
    if (!x.reconnected)
      return fail("restart-ice", t.finished() ? t.failure_reason()
                                              : "ICE not connected again after " +
                                                  std::to_string(x.ice_ms) + " ms (client ICE " +
                                                  std::string(net::to_string(t.ice_state())) + ")");
    log("ice restart: connected again in " + std::to_string(x.ice_ms) + " ms");

    // One check with the old credentials on the transport's socket: the server must refuse
    // it (401). Its answer goes to our STUN handler (the ICE agent ignores it).
    net::stun::binding_request_params p;
    p.tid = net::stun::random_transaction_id();
    p.username = old_remote.username_fragment + ":" + old_local_ufrag;
    p.key = old_remote.password;
    p.priority = net::default_check_priority;
    ids::random_bytes(&p.tie_breaker, sizeof p.tie_breaker);
    p.use_candidate = true;
    t.set_stun_handler([&x, tid = p.tid](std::span<const uint8_t> bytes) {
      auto parsed = net::stun::parse(bytes);
      if (!parsed.ok() || parsed.msg.tid != tid)
        return;
      if (parsed.msg.cls == net::stun::message_class::error_response)
        x.old_credentials_response = parsed.msg.error_code ? parsed.msg.error_code->code : 1;
      else if (parsed.msg.cls == net::stun::message_class::success_response)
        x.old_credentials_response = 0;
    });
    if (!t.send_raw(net::stun::binding_request(p)))
      return fail("restart-ice", "cannot send the check with the old credentials");
    driver_.run_until([&] { return x.old_credentials_response.has_value() || t.finished(); },
                      std::min(deadline_, steady_now_ms() + 1000));
    t.set_stun_handler({});
    if (t.finished())
      return fail("restart-ice", t.failure_reason());
    log("ice restart: the check with the old credentials got " +
        (x.old_credentials_response ? std::to_string(*x.old_credentials_response)
                                    : std::string("no answer")));

    std::string error;
    if (!fetch_stats(&error))
      return fail("restart-ice", error);
    read_restart_counters(x.stun_valid_after, x.errors401_after);
    {
      rapidjson::Document d;
      d.Parse(r_.stats_json.data(), r_.stats_json.size());
      if (d.IsObject())
        if (auto sel = d.FindMember("iceSelectedTuple");
            sel != d.MemberEnd() && sel->value.IsObject()) {
          rapidjson::StringBuffer sb;
          rapidjson::Writer<rapidjson::StringBuffer> w(sb);
          sel->value.Accept(w);
          x.selected_after.assign(sb.GetString(), sb.GetSize());
        }
    }
    return true;
  }

  // The server's stats of our transport into the report; false (and why) when it has none.
  bool fetch_stats(std::string* error = nullptr) {
    std::string why;
    if (!ws_ || r_.transport_id.empty()) {
      why = "no signaling connection";
    } else if (!ws_->is_open()) {
      why = "signaling closed: " + ws_->close_reason();
    } else {
      auto reply = driver_.request(*ws_, "get-transport-stats",
                                   transport_id_data(r_.transport_id),
                                   std::max(deadline_, steady_now_ms() + 1000));
      if (reply && reply->type == "get-transport-stats") {
        read_stats(r_, reply->data);
        return true;
      }
      why = "get-transport-stats: " + (reply ? reply->type + " " + reply->data : reply.error());
    }
    log(why);
    if (error)
      *error = why;
    return false;
  }

  bool judge() {
    if (r_.restart.requested) {
      auto& x = r_.restart;
      if (x.old_credentials_response != uint16_t{401})
        return fail("judge", "the check with the old credentials got " +
                               (x.old_credentials_response
                                  ? std::to_string(*x.old_credentials_response)
                                  : std::string("no answer")));
      if (x.stun_valid_after <= x.stun_valid_before)
        return fail("judge", "stun.valid did not grow after the restart: " +
                               std::to_string(x.stun_valid_before) + " -> " +
                               std::to_string(x.stun_valid_after));
      if (x.errors401_after <= x.errors401_before)
        return fail("judge", "stun.errors401 did not grow after the restart");
    }
    if (r_.ice_state != "connected" && r_.ice_state != "completed")
      return fail("judge", "server iceState is " + r_.ice_state);
    if (r_.dtls_state != "connected")
      return fail("judge", "server dtlsState is " + r_.dtls_state);
    if (r_.selected_protocol != to_string(o_.protocol))
      return fail("judge", "server selected protocol is " + r_.selected_protocol);
    r_.ok = true;
    return true;
  }

  void teardown() {
    if (transport_) {
      r_.client_state = to_string(transport_->state());
      r_.client_ice_state = net::to_string(transport_->ice_state());
      r_.client_dtls_state = net::to_string(transport_->dtls_state());
      r_.client_srtp_profile = net::to_string(transport_->srtp_profile());
      r_.ice = transport_->ice_counters();
      transports_.remove(*transport_);
      transport_->close(steady_now_ms());
    }
    if (o_.after_close_ms && ws_ && ws_->is_open())
      check_after_close();
    if (garbage_) {
      drain_side_channels();
      if (garbage_->closed())
        r_.garbage_closed = garbage_->close_reason();
    }
    bad_.reset();
    garbage_.reset();
    if (ws_) {
      if (!ws_->is_open())
        r_.signaling_closed = ws_->close_reason();
      ws_->close(std::chrono::milliseconds(1000));
    }
  }

  // After our close_notify the server closes the transport; the peer and its signaling
  // connection must stay (a transport is not the peer).
  void check_after_close() {
    r_.after_close = true;
    driver_.run_for(*o_.after_close_ms);
    auto outcome = [&](const char* type, const std::string& data) {
      auto reply = driver_.request(*ws_, type, data, steady_now_ms() + 2000);
      if (!reply)
        return reply.error();
      if (!reply->is_error())
        return reply->type;
      rapidjson::Document d;
      d.Parse(reply->data.data(), reply->data.size());
      return "error:" + (d.IsObject() ? string_member(d, "code") : std::string("?"));
    };
    r_.after_close_stats = outcome("get-transport-stats", transport_id_data(r_.transport_id));
    r_.after_close_caps = outcome("get-rtp-capabilities", "");
    log("after close: stats " + r_.after_close_stats + ", capabilities " + r_.after_close_caps);
  }

  uint64_t remaining() const {
    const uint64_t now = steady_now_ms();
    return deadline_ > now ? deadline_ - now : 0;
  }

  probe_options o_;
  report r_;
  uint64_t deadline_ = 0;
  signaling_loop loop_;
  transport_set transports_;
  client_driver driver_;
  std::unique_ptr<signaling_client> ws_;
  std::unique_ptr<webrtc_client_transport> transport_;
  std::optional<rtp_header_fields> media_header_;
  std::optional<side_channel> bad_;
  std::optional<side_channel> garbage_;
};

} // namespace

int main(int argc, char** argv) {
  std::string error;
  auto options = parse_args(argc, argv, error);
  if (!options) {
    std::fprintf(stderr, "chorus-probe: %s\n%s", error.c_str(), usage);
    return 2;
  }
  return probe(std::move(*options)).run();
}
