#include "bench/client/webrtc_client_transport.hpp"

#include "common/ids.hpp"
#include "net/demux.hpp"
#include "rtp/rtp_packet.hpp"

#include <algorithm>
#include <ctime>
#include <utility>

namespace chorus::client {

namespace {

constexpr std::size_t max_media_packet = 1500;

// The fingerprint the engine checks the server's certificate against: the first
// algorithm of this list that the server announced.
std::optional<net::dtls_fingerprint> pick_remote_fingerprint(const net::dtls_parameters& p) {
  for (auto alg : {"sha-256", "sha-384", "sha-512", "sha-224", "sha-1"})
    for (auto& f : p.fingerprints)
      if (f.algorithm == alg)
        return f;
  return std::nullopt;
}

} // namespace

std::string_view to_string(client_transport_state s) noexcept {
  switch (s) {
    case client_transport_state::new_: return "new";
    case client_transport_state::checking: return "checking";
    case client_transport_state::ice_connected: return "ice-connected";
    case client_transport_state::dtls_connecting: return "dtls-connecting";
    case client_transport_state::connected: return "connected";
    case client_transport_state::failed: return "failed";
    case client_transport_state::closed: return "closed";
  }
  return "failed";
}

result<std::shared_ptr<const net::dtls_context>> make_client_dtls_context() {
  auto cert = net::dtls_certificate::generate(static_cast<int64_t>(std::time(nullptr)));
  if (!cert)
    return failure{"cannot generate the client certificate: " + cert.error()};
  auto shared = std::make_shared<const net::dtls_certificate>(std::move(*cert));
  return net::dtls_context::create(std::move(shared));
}

webrtc_client_transport::webrtc_client_transport(protocol::transport_params remote,
                                                 protocol::ice_candidate candidate,
                                                 media_socket socket, net::ice_client ice,
                                                 net::dtls_engine dtls,
                                                 net::dtls_fingerprint local_fingerprint)
    : remote_(std::move(remote)), candidate_(std::move(candidate)), socket_(std::move(socket)),
      ice_(std::move(ice)), dtls_(std::move(dtls)),
      local_fingerprint_(std::move(local_fingerprint)) {
  rx_scratch_.reserve(max_media_packet + rtp::srtp_session::max_trailer);
  tx_scratch_.reserve(max_media_packet + rtp::srtp_session::max_trailer);
}

webrtc_client_transport::~webrtc_client_transport() = default;

result<std::unique_ptr<webrtc_client_transport>>
webrtc_client_transport::create(const protocol::transport_params& remote,
                                std::shared_ptr<const net::dtls_context> dtls,
                                client_transport_options options) {
  if (!dtls)
    return failure{"no DTLS context"};
  const std::string_view wanted = to_string(options.protocol);
  const protocol::ice_candidate* candidate = nullptr;
  for (auto& c : remote.ice_candidates)
    if (c.protocol == wanted) {
      candidate = &c;
      break;
    }
  if (!candidate)
    return failure{"the server offers no " + std::string(wanted) + " candidate"};
  auto address = net::transport_address::from_string(candidate->address, candidate->port);
  if (!address)
    return failure{"candidate address is not an IP literal: " + candidate->address};

  auto local_fp = dtls->certificate().fingerprint("sha-256");
  if (!local_fp)
    return failure{"cannot compute our certificate fingerprint"};
  auto remote_fp = pick_remote_fingerprint(remote.dtls_parameters);
  if (!remote_fp)
    return failure{"the server announced no usable DTLS fingerprint"};

  net::dtls_engine_options dtls_options;
  dtls_options.handshake_timeout_ms = options.dtls_handshake_timeout_ms;
  dtls_options.initial_retransmit_ms = options.dtls_initial_retransmit_ms;
  auto engine = net::dtls_engine::create(std::move(dtls), net::dtls_role::client, dtls_options);
  if (!engine)
    return failure{"cannot create the DTLS client: " + engine.error()};
  if (!engine->set_remote_fingerprint(*remote_fp))
    return failure{"unusable server fingerprint " + remote_fp->algorithm};

  auto socket = media_socket::open(options.protocol, *address, options.tcp_connect_timeout_ms);
  if (!socket)
    return failure{socket.error()};

  net::ice_client_config ice;
  ice.local_ufrag = ids::random_token(8);
  ice.local_password = ids::random_token(24);
  ice.remote_ufrag = remote.ice_parameters.username_fragment;
  ice.remote_password = remote.ice_parameters.password;
  ice.remote = *address;
  ids::random_bytes(&ice.tie_breaker, sizeof ice.tie_breaker);
  ice.controlling = true; // the server is ICE-lite: always controlled
  ice.initial_rto_ms = options.ice_initial_rto_ms;
  ice.consent_interval_ms = options.consent_interval_ms;

  std::string ufrag = ice.local_ufrag;
  std::string password = ice.local_password;
  auto t = std::unique_ptr<webrtc_client_transport>(new webrtc_client_transport(
    remote, *candidate, std::move(*socket), net::ice_client(std::move(ice)), std::move(*engine),
    std::move(*local_fp)));
  t->local_ufrag_ = std::move(ufrag);
  t->local_password_ = std::move(password);
  t->tcp_connect_timeout_ms_ = options.tcp_connect_timeout_ms;
  t->receive_timestamps_ = options.receive_timestamps;
  t->receive_segments_ = options.receive_segments;
  if (options.receive_timestamps)
    t->socket_.enable_receive_timestamps();
  if (options.receive_segments)
    t->socket_.enable_receive_segments();
  return t;
}

bool webrtc_client_transport::restart_ice(const protocol::ice_parameters& remote,
                                          uint64_t now_ms, bool new_socket, std::string* error) {
  auto refuse = [&](std::string why) {
    if (error)
      *error = std::move(why);
    return false;
  };
  if (finished())
    return refuse("the transport is " + std::string(to_string(state_)));
  if (remote.username_fragment.empty() || remote.password.empty())
    return refuse("empty remote ICE credentials");
  if (new_socket) {
    auto s = media_socket::open(socket_.protocol(), socket_.remote(), tcp_connect_timeout_ms_);
    if (!s)
      return refuse("cannot open a new socket: " + s.error());
    socket_.flush();
    socket_ = std::move(*s); // the old socket closes here
    if (receive_timestamps_)
      socket_.enable_receive_timestamps();
    if (receive_segments_)
      socket_.enable_receive_segments();
  }
  local_ufrag_ = ids::random_token(8);
  local_password_ = ids::random_token(24);
  remote_.ice_parameters = remote;
  ice_.restart(local_ufrag_, local_password_, remote.username_fragment, remote.password);
  ++ice_restarts_;
  apply_ice(ice_.poll(now_ms)); // the first check with the new credentials, now
  return true;
}

net::dtls_parameters webrtc_client_transport::local_dtls_parameters() const {
  return {net::dtls_role::client, {local_fingerprint_}};
}

net::dtls_state webrtc_client_transport::dtls_state() const noexcept { return dtls_.state(); }

net::dtls_srtp_profile webrtc_client_transport::srtp_profile() const noexcept {
  auto& keys = dtls_.srtp_keys();
  return keys ? keys->profile : net::dtls_srtp_profile::none;
}

void webrtc_client_transport::fail(std::string why) {
  if (finished())
    return;
  state_ = client_transport_state::failed;
  failure_ = std::move(why);
  socket_.close();
}

void webrtc_client_transport::apply_ice(net::ice_client_output&& out) {
  for (auto& m : out.to_send)
    socket_.send(m);
  if (!out.state_changed || finished())
    return;
  switch (out.state) {
    case net::ice_client_state::checking:
      if (state_ == client_transport_state::new_)
        state_ = client_transport_state::checking;
      break;
    case net::ice_client_state::connected:
      if (state_ == client_transport_state::new_ || state_ == client_transport_state::checking)
        state_ = client_transport_state::ice_connected;
      break;
    case net::ice_client_state::failed:
      fail(out.error_code != 0
             ? "ICE failed: the server answered with error " + std::to_string(out.error_code)
             : (state_ == client_transport_state::checking ? "ICE failed: no response"
                                                           : "ICE failed: consent expired"));
      break;
    case net::ice_client_state::new_:
      break;
  }
}

void webrtc_client_transport::apply_dtls(net::dtls_output&& out) {
  for (auto& d : out.datagrams)
    socket_.send(d);
  if (!out.state_changed || finished())
    return;
  if (out.state == net::dtls_state::connected) {
    auto& keys = dtls_.srtp_keys();
    auto profile = keys ? rtp::srtp_profile_from_id(static_cast<uint16_t>(keys->profile))
                        : std::nullopt;
    if (!profile)
      return fail("DTLS connected without a usable SRTP profile");
    auto outb = rtp::srtp_session::create(*profile, rtp::srtp_direction::outbound,
                                          keys->local_key, keys->local_salt);
    auto in = rtp::srtp_session::create(*profile, rtp::srtp_direction::inbound, keys->remote_key,
                                        keys->remote_salt);
    if (!outb || !in)
      return fail("cannot create SRTP sessions: " + (outb ? in.error() : outb.error()));
    srtp_out_.emplace(std::move(*outb));
    srtp_in_.emplace(std::move(*in));
    state_ = client_transport_state::connected;
  } else if (out.state == net::dtls_state::failed) {
    fail("DTLS failed: " + std::string(net::to_string(dtls_.error())));
  } else if (out.state == net::dtls_state::closed) {
    fail("DTLS closed by the server");
  }
}

void webrtc_client_transport::on_timer(uint64_t now_ms) {
  if (finished())
    return;
  if (auto next = ice_.next_poll_ms(); next && *next <= now_ms)
    apply_ice(ice_.poll(now_ms));
  if (finished() || !dtls_started_)
    return;
  if (auto next = dtls_.next_timeout_ms(); next && *next <= now_ms)
    apply_dtls(dtls_.on_timer(now_ms));
}

std::optional<uint64_t> webrtc_client_transport::next_deadline_ms() const {
  if (finished())
    return std::nullopt;
  auto next = ice_.next_poll_ms();
  if (dtls_started_)
    if (auto d = dtls_.next_timeout_ms(); d && (!next || *d < *next))
      next = d;
  return next;
}

void webrtc_client_transport::on_readable(uint64_t now_ms) {
  if (finished())
    return;
  const bool open = socket_.receive([&](std::span<const uint8_t> p) { handle_packet(p, now_ms); });
  if (!open && !finished())
    fail("media connection closed: " + socket_.close_reason());
}

void webrtc_client_transport::handle_packet(std::span<const uint8_t> bytes, uint64_t now_ms) {
  if (finished())
    return;
  switch (net::classify(bytes)) {
    case net::packet_kind::stun:
      ++counters_.stun_in;
      if (on_stun_)
        on_stun_(bytes);
      if (finished())
        return;
      apply_ice(ice_.handle(bytes, socket_.remote(), now_ms));
      return;
    case net::packet_kind::dtls:
      ++counters_.dtls_in;
      if (dtls_started_)
        apply_dtls(dtls_.handle(bytes, now_ms));
      return;
    case net::packet_kind::rtp:
    case net::packet_kind::rtcp: {
      const bool rtcp = net::classify(bytes) == net::packet_kind::rtcp;
      if (!srtp_in_ || bytes.size() > max_media_packet) {
        ++counters_.srtp_in_failed;
        return;
      }
      if (!rtcp && decrypt_filter_ && bytes.size() >= 12) {
        const uint32_t ssrc = rtp::rtp_ssrc_of(bytes);
        if (!decrypt_filter_(ssrc)) {
          ++counters_.rtp_in_opaque;
          if (on_media_)
            on_media_(bytes, false);
          return;
        }
      }
      rx_scratch_.assign(bytes.begin(), bytes.end());
      auto r = rtcp ? srtp_in_->unprotect_rtcp(rx_scratch_, rx_scratch_.size())
                    : srtp_in_->unprotect_rtp(rx_scratch_, rx_scratch_.size());
      if (!r) {
        ++counters_.srtp_in_failed;
        return;
      }
      ++(rtcp ? counters_.rtcp_in : counters_.rtp_in);
      if (on_media_)
        on_media_(std::span<const uint8_t>(rx_scratch_.data(), r.length), rtcp);
      return;
    }
    case net::packet_kind::unknown:
      ++counters_.unknown_in;
      return;
  }
}

bool webrtc_client_transport::start_dtls(uint64_t now_ms) {
  if (state_ != client_transport_state::ice_connected)
    return false;
  dtls_started_ = true;
  state_ = client_transport_state::dtls_connecting;
  apply_dtls(dtls_.start(now_ms));
  return true;
}

bool webrtc_client_transport::send_rtp(const rtp_header_fields& header,
                                       std::span<const uint8_t> payload) {
  if (!connected() || rtp_header_size + payload.size() > max_media_packet) {
    ++counters_.srtp_out_failed;
    return false;
  }
  tx_scratch_.resize(rtp_header_size + payload.size() + rtp::srtp_session::max_trailer);
  const std::size_t len = write_rtp(tx_scratch_, header, payload);
  if (len == 0) {
    ++counters_.srtp_out_failed;
    return false;
  }
  return protect_and_send(len, false);
}

bool webrtc_client_transport::send_rtp_packet(std::span<const uint8_t> rtp_packet) {
  if (!connected() || rtp_packet.size() < rtp_header_size || rtp_packet.size() > max_media_packet) {
    ++counters_.srtp_out_failed;
    return false;
  }
  tx_scratch_.resize(rtp_packet.size() + rtp::srtp_session::max_trailer);
  std::copy(rtp_packet.begin(), rtp_packet.end(), tx_scratch_.begin());
  return protect_and_send(rtp_packet.size(), false);
}

bool webrtc_client_transport::send_rtcp(std::span<const uint8_t> rtcp_packet) {
  if (!connected() || rtcp_packet.size() > max_media_packet) {
    ++counters_.srtp_out_failed;
    return false;
  }
  tx_scratch_.resize(rtcp_packet.size() + rtp::srtp_session::max_trailer);
  std::copy(rtcp_packet.begin(), rtcp_packet.end(), tx_scratch_.begin());
  return protect_and_send(rtcp_packet.size(), true);
}

bool webrtc_client_transport::protect_and_send(std::size_t len, bool rtcp) {
  auto r = rtcp ? srtp_out_->protect_rtcp(tx_scratch_, len) : srtp_out_->protect_rtp(tx_scratch_, len);
  if (!r) {
    ++counters_.srtp_out_failed;
    return false;
  }
  if (!socket_.send(std::span<const uint8_t>(tx_scratch_.data(), r.length)))
    return false;
  if (rtcp) {
    ++counters_.rtcp_out;
  } else {
    ++counters_.rtp_out;
    counters_.rtp_bytes_out += len;
  }
  return true;
}

bool webrtc_client_transport::send_raw(std::span<const uint8_t> bytes) {
  if (finished() || !socket_.send(bytes))
    return false;
  ++counters_.raw_out;
  return true;
}

void webrtc_client_transport::close(uint64_t now_ms) {
  if (finished())
    return;
  const bool was_connected = dtls_started_ && dtls_.state() == net::dtls_state::connected;
  state_ = client_transport_state::closed;
  if (was_connected)
    for (auto& d : dtls_.close(now_ms).datagrams)
      socket_.send(d);
  socket_.flush();
  socket_.close();
}

} // namespace chorus::client
