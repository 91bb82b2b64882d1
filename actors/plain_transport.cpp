#include "actors/plain_transport.hpp"

#include "actors/clock.hpp"
#include "actors/media_transport.hpp"
#include "actors/messages.hpp"
#include "actors/rtp_sender.hpp"
#include "actors/transport_media.hpp"
#include "common/ids.hpp"
#include "common/log.hpp"
#include "net/demux.hpp"
#include "net/media_io.hpp"
#include "rtp/rtp_packet.hpp"
#include "rtp/srtp_session.hpp"

#include <caf/all.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <mutex>
#include <optional>
#include <random>
#include <sstream>

namespace chorus::actors {

namespace {

using protocol::error_code;

constexpr const char* plain_component = "plain-transport";

struct suite_name {
  std::string_view name;
  rtp::srtp_profile profile;
};
constexpr suite_name suites[] = {
  {"AES_CM_128_HMAC_SHA1_80", rtp::srtp_profile::aes_cm_128_hmac_sha1_80},
  {"AES_CM_128_HMAC_SHA1_32", rtp::srtp_profile::aes_cm_128_hmac_sha1_32},
  {"AEAD_AES_128_GCM", rtp::srtp_profile::aead_aes_128_gcm},
  {"AEAD_AES_256_GCM", rtp::srtp_profile::aead_aes_256_gcm},
};

std::optional<rtp::srtp_profile> suite_profile(std::string_view name) {
  for (auto& s : suites)
    if (s.name == name)
      return s.profile;
  return std::nullopt;
}

std::string_view suite_of(rtp::srtp_profile p) {
  for (auto& s : suites)
    if (s.profile == p)
      return s.name;
  return {};
}

std::string base64_encode(const std::vector<uint8_t>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                          static_cast<int>(bytes.size()));
  out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
  return out;
}

// Standard base64 with padding; nullopt when malformed.
std::optional<std::vector<uint8_t>> base64_decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0)
    return std::nullopt;
  std::vector<uint8_t> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  std::size_t len = static_cast<std::size_t>(n);
  if (text.ends_with("=="))
    len -= 2;
  else if (text.ends_with("="))
    len -= 1;
  out.resize(len);
  return out;
}

struct sink_target {
  std::mutex mutex;
  caf::actor_addr addr;
};

// A plain transport's own drops (the rest: its media half's transport_counters).
struct plain_counters {
  uint64_t dropped_not_connected = 0; // before connect / the first comedia packet
  uint64_t dropped_wrong_source = 0;  // not from the connected address
};

struct plain_state : media_transport_state {
  std::shared_ptr<net::media_endpoint> rtp_ep, rtcp_ep; // rtcp_ep: null with rtcpMux
  bool comedia = false;
  bool rtcp_mux = true;
  bool connected = false;
  std::optional<rtp::srtp_profile> srtp_profile;
  std::vector<uint8_t> local_key, local_salt;
  std::optional<rtp::srtp_session> srtp_in, srtcp_out;
  std::optional<net::ice_tuple> tuple, rtcp_tuple;
  plain_counters plain;
  std::vector<uint8_t> rtcp_buffer; // reused
  static inline const char* name = "chorus.plain_transport";

  ~plain_state() { // (the media half then adds its last totals)
    if (rtp_ep)
      rtp_ep->close();
    if (rtcp_ep)
      rtcp_ep->close();
  }
};

using plain_actor = caf::stateful_actor<plain_state>;

void publish_sending_state(plain_actor* self) {
  auto& st = self->state;
  for (auto& consumer : st.media.consumer_actors())
    self->send(consumer, st.sending);
}

void set_tuple(plain_actor* self, const net::transport_address& remote) {
  auto& st = self->state;
  st.tuple = net::ice_tuple{net::ice_protocol::udp, remote, 0};
  st.sending.has_tuple = true;
  st.sending.tuple = *st.tuple;
  publish_sending_state(self);
}

void send_rtcp(plain_actor* self, std::span<const uint8_t> bytes) {
  auto& st = self->state;
  const auto& to = st.rtcp_mux ? st.tuple : st.rtcp_tuple;
  auto& ep = st.rtcp_mux ? st.rtp_ep : st.rtcp_ep;
  if (!to || !ep || bytes.empty())
    return;
  if (st.srtcp_out) {
    st.rtcp_buffer.resize(bytes.size() + rtp::srtp_session::max_trailer);
    std::copy(bytes.begin(), bytes.end(), st.rtcp_buffer.begin());
    auto r = st.srtcp_out->protect_rtcp(st.rtcp_buffer, bytes.size());
    if (!r)
      return;
    if (ep->send(*to, st.rtcp_buffer.data(), r.length))
      st.shared->rtcp_sent.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (ep->send(*to, bytes.data(), bytes.size()))
    st.shared->rtcp_sent.fetch_add(1, std::memory_order_relaxed);
}

void handle_batch(plain_actor* self, net::packet_batch& batch) {
  auto& st = self->state;
  for (auto& p : batch.packets) {
    if (p.connection_closed || p.offset + p.size > batch.data.size())
      continue;
    uint8_t* data = batch.data.data() + p.offset;
    ++st.counters.packets_in;
    st.counters.bytes_in += p.size;
    auto kind = net::classify({data, p.size});
    if (kind != net::packet_kind::rtp && kind != net::packet_kind::rtcp) {
      ++st.counters.dropped_unknown;
      continue;
    }
    const bool rtcp = kind == net::packet_kind::rtcp;
    const auto& from = p.source.remote;
    if (st.comedia) {
      if (!rtcp && !st.tuple)
        set_tuple(self, from);
      if (rtcp && !st.rtcp_mux && !st.rtcp_tuple)
        st.rtcp_tuple = net::ice_tuple{net::ice_protocol::udp, from, 0};
    }
    if (!st.tuple && !(rtcp && st.rtcp_tuple)) {
      ++st.plain.dropped_not_connected;
      continue;
    }
    const bool from_rtp = st.tuple && st.tuple->remote == from;
    const bool from_rtcp = st.rtcp_tuple && st.rtcp_tuple->remote == from;
    // RTCP from the sender's address but another port is taken too: FFmpeg and GStreamer
    // send their SRs from the port after their RTP port even when told to send them to our
    // one (rtcpMux), and without SRs the consumers could not keep audio and video in sync.
    const bool rtcp_same_host =
      rtcp && st.tuple && st.tuple->remote.family == from.family && st.tuple->remote.bytes == from.bytes;
    if (!(from_rtp || (rtcp && (from_rtcp || rtcp_same_host)))) {
      ++st.plain.dropped_wrong_source;
      continue;
    }
    if (st.injected_loss(rtcp))
      continue;
    std::size_t length = p.size;
    if (st.srtp_in) {
      std::span<uint8_t> buf{data, p.size};
      auto r = rtcp ? st.srtp_in->unprotect_rtcp(buf, p.size) : st.srtp_in->unprotect_rtp(buf, p.size);
      if (!r) {
        count_srtp_failure(st.counters, r.error);
        continue;
      }
      length = r.length;
    } else if (st.srtp_profile) { // SRTP enabled but not connected yet: no keys
      ++st.plain.dropped_not_connected;
      continue;
    }
    rtp::srtp_session* srtp = st.srtp_in ? &*st.srtp_in : nullptr;
    if (rtcp)
      st.on_rtcp(self, {data, length}, srtp);
    else
      st.on_rtp({data, length}, srtp, mono_us());
  }
  st.media.flush(self, mono_ms());
}

caf::result<protocol::empty_reply> on_connect(plain_actor* self,
                                              protocol::plain_transport_request& req) {
  auto& st = self->state;
  if (st.connected)
    return make_error(error_code::invalid_state,
                      "plain transport '" + st.id + "' is already connected");
  std::optional<net::transport_address> remote, remote_rtcp;
  if (!st.comedia || !req.ip.empty()) {
    if (req.ip.empty() || req.port == 0)
      return make_error(error_code::missing_field,
                        "ip and port are required (the transport was created without comedia)");
    remote = net::transport_address::from_string(req.ip, req.port);
    if (!remote)
      return make_error(error_code::invalid_field, "ip is not an IP literal: " + req.ip);
    if (!st.rtcp_mux) {
      if (req.rtcp_port == 0 && !st.comedia)
        return make_error(error_code::missing_field,
                          "rtcpPort is required (the transport was created with rtcpMux false)");
      if (req.rtcp_port != 0)
        remote_rtcp = net::transport_address::from_string(req.ip, req.rtcp_port);
    }
  }
  if (st.srtp_profile) {
    if (!req.has_srtp_parameters)
      return make_error(error_code::missing_field,
                        "srtpParameters is required (the transport was created with enableSrtp)");
    auto profile = suite_profile(req.srtp_suite);
    if (!profile || *profile != *st.srtp_profile)
      return make_error(error_code::invalid_field,
                        "srtpParameters.cryptoSuite must be the transport's, " +
                          std::string(suite_of(*st.srtp_profile)));
    auto info = rtp::profile_info(*profile);
    auto key = base64_decode(req.srtp_key_base64);
    if (!key || key->size() != info.key_length + info.salt_length)
      return make_error(error_code::invalid_field,
                        "srtpParameters.keyBase64 must be base64 of " +
                          std::to_string(info.key_length + info.salt_length) + " bytes");
    std::vector<uint8_t> k(key->begin(), key->begin() + info.key_length);
    std::vector<uint8_t> s(key->begin() + info.key_length, key->end());
    auto in = rtp::srtp_session::create(*profile, rtp::srtp_direction::inbound, k, s);
    if (!in)
      return make_error(error_code::invalid_field, "srtpParameters: " + in.error());
    st.srtp_in.emplace(std::move(*in));
  } else if (req.has_srtp_parameters) {
    return make_error(error_code::invalid_field,
                      "srtpParameters given, but the transport was created without enableSrtp");
  }
  st.connected = true;
  if (remote_rtcp)
    st.rtcp_tuple = net::ice_tuple{net::ice_protocol::udp, *remote_rtcp, 0};
  if (remote)
    set_tuple(self, *remote);
  LOG_INFO(plain_component, st.id << ": connected"
                            << (remote ? " to " + remote->to_string() : std::string(" (comedia)")));
  return protocol::empty_reply{};
}

std::string stats_json(plain_actor* self) {
  auto& st = self->state;
  auto& c = st.counters;
  auto& pc = st.plain;
  auto& sc = *st.shared;
  auto& m = st.media.counters();
  std::ostringstream os;
  os << "[{\"type\":\"plain-rtp-transport\",\"transportId\":\"" << st.id << "\""
     << ",\"timestamp\":" << wall_ms() << ",\"rtcpMux\":" << (st.rtcp_mux ? "true" : "false")
     << ",\"comedia\":" << (st.comedia ? "true" : "false");
  if (st.tuple)
    os << ",\"tuple\":{\"localPort\":" << st.rtp_ep->udp_port() << ",\"remoteIp\":\""
       << st.tuple->remote.ip_string() << "\",\"remotePort\":" << st.tuple->remote.port
       << ",\"protocol\":\"udp\"}";
  if (st.rtcp_tuple && st.rtcp_ep)
    os << ",\"rtcpTuple\":{\"localPort\":" << st.rtcp_ep->udp_port() << ",\"remoteIp\":\""
       << st.rtcp_tuple->remote.ip_string() << "\",\"remotePort\":" << st.rtcp_tuple->remote.port
       << ",\"protocol\":\"udp\"}";
  if (st.srtp_profile)
    os << ",\"srtpCryptoSuite\":\"" << suite_of(*st.srtp_profile) << "\"";
  os << ",\"bytesReceived\":" << c.bytes_in << ",\"packetsReceived\":" << c.packets_in
     << ",\"bytesSent\":" << sc.rtp_bytes_sent.load()
     << ",\"rtp\":{\"received\":" << c.rtp_in << ",\"sent\":" << sc.rtp_sent.load() << "}"
     << ",\"rtcp\":{\"received\":" << c.rtcp_in << ",\"sent\":" << sc.rtcp_sent.load() << "}"
     << ",\"dropped\":{\"notConnected\":" << pc.dropped_not_connected
     << ",\"wrongSource\":" << pc.dropped_wrong_source << ",\"unknown\":" << c.dropped_unknown
     << ",\"srtp\":" << c.dropped_srtp_auth + c.dropped_srtp_replay + c.dropped_srtp_other
     << ",\"sendNotReady\":" << sc.dropped_not_ready.load()
     << "}"
     << ",\"media\":{\"unknownSsrc\":" << m.rtp_unknown_ssrc
     << ",\"injectedDrops\":" << m.rtp_injected_drops << ",\"malformed\":" << m.rtp_malformed
     << ",\"senderReports\":" << m.sender_reports << ",\"receiverReports\":" << m.receiver_reports
     << ",\"nacks\":" << m.nacks << ",\"plis\":" << m.plis << ",\"firs\":" << m.firs << "}}]";
  return os.str();
}

caf::behavior plain_impl(plain_actor* self, std::string id, node_context_ptr ctx,
                         std::shared_ptr<net::media_endpoint> rtp_ep,
                         std::shared_ptr<net::media_endpoint> rtcp_ep, bool comedia,
                         std::optional<rtp::srtp_profile> profile, std::vector<uint8_t> key,
                         std::vector<uint8_t> salt, std::shared_ptr<sink_target> target,
                         std::shared_ptr<send_shared> shared) {
  auto& st = self->state;
  st.start(std::move(id), std::move(ctx));
  st.rtp_ep = std::move(rtp_ep);
  st.rtcp_ep = std::move(rtcp_ep);
  st.rtcp_mux = st.rtcp_ep == nullptr;
  st.comedia = comedia;
  st.srtp_profile = profile;
  st.shared = std::move(shared);
  st.sending.has_keys = true; // profile 0: plain RTP (rtp_sender)
  if (profile) {
    st.sending.srtp_profile = static_cast<uint16_t>(*profile);
    st.sending.key = key;
    st.sending.salt = salt;
    if (auto out = rtp::srtp_session::create(*profile, rtp::srtp_direction::outbound, key, salt,
                                             {.rtcp_only = true})) // (SRTP: the consumers' rtp_sender)
      st.srtcp_out.emplace(std::move(*out));
  }
  {
    std::lock_guard<std::mutex> g{target->mutex};
    target->addr = self->address();
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    st.media.remove(dm.source, st.srtp_in ? &*st.srtp_in : nullptr);
  });
  st.start_totals(self);
  return {
    [self](totals_tick_atom) { self->state.on_totals_tick(self, true); },
    [self](net::packet_batch& batch) { handle_batch(self, batch); },
    [self](protocol::plain_transport_request& req) -> caf::result<protocol::empty_reply> {
      if (req.op != protocol::plain_op::connect)
        return make_error(error_code::invalid_state, "not a connect request");
      return on_connect(self, req);
    },
    [self](protocol::get_transport_stats_request&) {
      return protocol::stats_reply{stats_json(self)};
    },
    // Plain RTP has no transport-wide feedback: no estimate to share out, nothing capped.
    [](const alloc_info&) {},
    [self](producer_route& r) -> caf::result<bool> {
      if (auto err = self->state.route_producer(self, r))
        return err;
      return true;
    },
    [self](consumer_route& r) { self->state.route_consumer(self, r); },
    [self](rtcp_out& out) { send_rtcp(self, out.bytes); },
  };
}

} // namespace

result<plain_spawn_result> spawn_plain_transport(caf::event_based_actor* owner,
                                                 const protocol::plain_transport_request& req,
                                                 node_context_ptr ctx) {
  std::optional<rtp::srtp_profile> profile;
  std::vector<uint8_t> key, salt;
  if (req.enable_srtp) {
    std::string name = req.srtp_crypto_suite.empty() ? "AES_CM_128_HMAC_SHA1_80"
                                                     : req.srtp_crypto_suite;
    profile = suite_profile(name);
    if (!profile)
      return failure{"srtpCryptoSuite must be one of AES_CM_128_HMAC_SHA1_80, "
                     "AES_CM_128_HMAC_SHA1_32, AEAD_AES_128_GCM, AEAD_AES_256_GCM"};
    auto info = rtp::profile_info(*profile);
    key.resize(info.key_length);
    salt.resize(info.salt_length);
    if (RAND_bytes(key.data(), int(key.size())) != 1 ||
        RAND_bytes(salt.data(), int(salt.size())) != 1)
      return failure{"no randomness for the SRTP key"};
  }
  auto target = std::make_shared<sink_target>();
  auto sink = [target](net::packet_batch&& batch) {
    caf::actor dest;
    {
      std::lock_guard<std::mutex> g{target->mutex};
      dest = caf::actor_cast<caf::actor>(target->addr);
    }
    if (dest)
      caf::anon_send(dest, std::move(batch));
  };
  std::string error;
  auto rtp_ep = ctx->media_io->open_udp(sink, req.listen_ip, &error);
  if (!rtp_ep)
    return failure{"no media port available: " + error};
  std::shared_ptr<net::media_endpoint> rtcp_ep;
  if (!req.rtcp_mux) {
    rtcp_ep = ctx->media_io->open_udp(sink, req.listen_ip, &error);
    if (!rtcp_ep)
      return failure{"no media port available for RTCP: " + error};
  }
  plain_spawn_result out;
  auto& p = out.params;
  p.id = ids::uuid4();
  p.ip = !req.listen_ip.empty() ? req.listen_ip : ctx->settings.announced_address;
  p.port = rtp_ep->udp_port();
  p.rtcp_port = rtcp_ep ? rtcp_ep->udp_port() : 0;
  if (profile) {
    p.has_srtp = true;
    p.srtp_suite = std::string(suite_of(*profile));
    std::vector<uint8_t> both = key;
    both.insert(both.end(), salt.begin(), salt.end());
    p.srtp_key_base64 = base64_encode(both);
  }
  out.send = std::make_shared<send_shared>(rtp_ep);
  out.actor = owner->spawn<caf::linked>(plain_impl, p.id, std::move(ctx), std::move(rtp_ep),
                                        std::move(rtcp_ep), req.comedia, profile,
                                        std::move(key), std::move(salt), std::move(target),
                                        out.send);
  return out;
}

} // namespace chorus::actors
