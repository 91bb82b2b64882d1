// libFuzzer: TURN (net/turn_message.hpp, net/turn_server.hpp). Each input gets a fresh
// server in which one client already holds an allocation with a permission and a channel to
// the one allowed peer. First byte, mode 0: the rest is a TCP stream, cut with
// stream_frame_size; each frame is parsed as TURN and as ChannelData and handed to the
// server from the client and as a packet from a peer. Mode 1: the rest is a request's
// method (2 bytes) and attributes (type, length, value), which the harness signs with valid
// credentials, to reach what lies behind authentication. Relayed payloads must lie inside
// the input; anything the server answers must parse.
#include "net/turn_credentials.hpp"
#include "net/turn_message.hpp"
#include "net/turn_server.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

using namespace chorus::net;

namespace {

constexpr int64_t now_ms = 1'700'000'000'000;
const transport_address peer = transport_address::v4(10, 0, 0, 1, 40000);
const transport_address relay = transport_address::v4(10, 0, 0, 1, 50000);
const turn_client me{turn_protocol::tls, transport_address::v4(198, 51, 100, 7, 61000), 3};

struct session {
  turn_server server{config(), [](const transport_address& a) { return a == peer; },
                     [](ip_family) -> std::optional<transport_address> { return relay; },
                     [](const transport_address&) {}};
  turn_credential cred = make_turn_credential("secret", "peer-1", now_ms / 1000, 600);
  std::string nonce;

  static turn_server_config config() {
    turn_server_config c;
    c.secret = "secret";
    c.nonce_key = "nonce";
    return c;
  }
  std::string key() const { return long_term_key(cred.username, "chorus", cred.password); }

  template <class Add>
  std::vector<uint8_t> signed_request(uint16_t method, Add add) {
    stun::builder b{stun::message_class::request, method, stun::transaction_id{1, 2, 3}};
    add(b);
    b.add_username(cred.username).add_realm("chorus").add_nonce(nonce).add_message_integrity(key());
    return std::move(b).finish();
  }

  session() {
    auto challenge = server.on_client(me, signed_request(turn::method_allocate, [](auto&) {}), now_ms);
    auto p = turn::parse(challenge.reply);
    if (!p.ok() || !p.msg.stun.nonce)
      std::abort();
    nonce = *p.msg.stun.nonce;
    auto ok = [&](const std::vector<uint8_t>& request) {
      auto r = turn::parse(server.on_client(me, request, now_ms).reply);
      if (!r.ok() || r.msg.stun.cls != stun::message_class::success_response)
        std::abort();
    };
    ok(signed_request(turn::method_allocate, [](stun::builder& b) {
      b.add_uint32(turn::attr::requested_transport, uint32_t(turn::protocol_udp) << 24);
    }));
    ok(signed_request(turn::method_channel_bind, [](stun::builder& b) {
      b.add_uint32(turn::attr::channel_number, 0x4000u << 16)
        .add_xor_address(turn::attr::xor_peer_address, peer);
    }));
  }
};

void check_result(const turn_server::client_result& r, std::span<const uint8_t> input) {
  if (!r.reply.empty() && !turn::parse(r.reply).ok())
    std::abort();
  if (r.relay && (r.relay->payload.data() < input.data() ||
                  r.relay->payload.data() + r.relay->payload.size() > input.data() + input.size() ||
                  !(r.relay->peer == peer)))
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  session s;
  const std::span<const uint8_t> rest(data + 1, size - 1);
  if (data[0] & 1) {
    if (rest.size() < 2)
      return 0;
    const uint16_t method = uint16_t((rest[0] << 8 | rest[1]) & 0x0FFF);
    const auto request = s.signed_request(method, [&](stun::builder& b) {
      std::size_t off = 2;
      while (off + 4 <= rest.size()) {
        const uint16_t type = uint16_t(rest[off] << 8 | rest[off + 1]);
        const std::size_t length = std::min<std::size_t>(rest[off + 2], rest.size() - off - 4);
        // rest[off + 3]: padding of the harness's format
        if (type != stun::attr::message_integrity && type != stun::attr::fingerprint)
          b.add_raw(type, rest.subspan(off + 4, length));
        off += 4 + length;
      }
    });
    check_result(s.server.on_client(me, request, now_ms), request);
    s.server.expire(now_ms + 400'000);
    return 0;
  }
  std::size_t off = 0;
  while (off < rest.size()) {
    auto frame_size = turn::stream_frame_size(rest.subspan(off));
    if (!frame_size || *frame_size == 0 || *frame_size > rest.size() - off)
      break;
    const auto frame = rest.subspan(off, *frame_size);
    (void)turn::parse(frame);
    (void)turn::parse_channel_data(frame);
    check_result(s.server.on_client(me, frame, now_ms), frame);
    if (auto back = s.server.on_peer(relay, peer, frame, now_ms); back && back->to != me)
      std::abort();
    off += *frame_size;
  }
  // Whatever is left, as one datagram.
  check_result(s.server.on_client(turn_client{turn_protocol::udp, me.remote, 0}, rest, now_ms), rest);
  return 0;
}
