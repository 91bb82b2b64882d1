// The media side of one PeerConnection with Janus: one UDP socket (BUNDLE, rtcp-mux), a
// full-ICE agent for the single pair towards Janus's host candidate (net::ice_client: it
// sends checks and answers Janus's, in either role), DTLS in the role the SDP settled
// (Janus answers "active" to our actpass offer, so a publisher is the DTLS server; a
// subscriber answers "active" to Janus's actpass offer, so it is the DTLS client), then
// SRTP from the exported keys.
//
// Poll-driven like bench/client/webrtc_client_transport (whose client-only DTLS role and
// ICE-lite assumptions do not fit Janus): the owner polls fd(), calls on_readable() and
// on_timer() at next_deadline_ms(), on its own steady clock in ms.
#pragma once

#include "bench/janus/sdp.hpp"
#include "common/result.hpp"
#include "net/dtls_engine.hpp"
#include "net/ice_client.hpp"
#include "rtp/srtp_session.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace chorus::janus {

enum class janus_transport_state : uint8_t { new_, checking, connecting, connected, failed, closed };
std::string_view to_string(janus_transport_state s) noexcept;

struct janus_transport_counters {
  uint64_t stun_in = 0;
  uint64_t dtls_in = 0;
  uint64_t rtp_in = 0;
  uint64_t rtp_bytes_in = 0;
  uint64_t rtcp_in = 0;
  uint64_t srtp_in_failed = 0;
  uint64_t rtp_out = 0;
  uint64_t rtp_bytes_out = 0;
  uint64_t rtcp_out = 0;
  uint64_t send_failed = 0;
};

class janus_transport {
public:
  using media_handler = std::function<void(std::span<const uint8_t> packet, bool rtcp)>;

  // Opens a UDP socket bound to local_ip (port 0: ephemeral); local ICE credentials are
  // generated. Call local_params() for the SDP, then start() with the peer's description.
  static result<std::unique_ptr<janus_transport>>
  create(const std::string& local_ip, std::shared_ptr<const net::dtls_context> dtls);

  ~janus_transport();
  janus_transport(const janus_transport&) = delete;
  janus_transport& operator=(const janus_transport&) = delete;

  // Our ICE credentials, fingerprint and host candidate, for the SDP we write.
  local_transport_params local_params() const;

  // The peer's description is known: pick its first UDP candidate, connect the socket,
  // configure ICE (controlling when we were the offerer) and DTLS (`remote_setup` is the
  // peer's a=setup: "active" -> we serve; "passive"/"actpass" -> we are the client).
  bool start(const session_description& remote, bool we_offered, uint64_t now_ms,
             std::string* error = nullptr);

  int fd() const noexcept { return fd_; }
  void on_readable(uint64_t now_ms);
  void on_timer(uint64_t now_ms);
  std::optional<uint64_t> next_deadline_ms() const;

  bool send_rtp(std::span<const uint8_t> rtp_packet);
  bool send_rtcp(std::span<const uint8_t> rtcp_packet);
  void set_media_handler(media_handler h) { on_media_ = std::move(h); }

  void close(uint64_t now_ms);

  janus_transport_state state() const noexcept { return state_; }
  bool connected() const noexcept { return state_ == janus_transport_state::connected; }
  bool finished() const noexcept {
    return state_ == janus_transport_state::failed || state_ == janus_transport_state::closed;
  }
  const std::string& failure_reason() const noexcept { return failure_; }
  net::dtls_role dtls_role() const noexcept { return dtls_role_; }
  net::dtls_srtp_profile srtp_profile() const noexcept;
  const janus_transport_counters& counters() const noexcept { return counters_; }
  const net::ice_client_counters* ice_counters() const {
    return ice_ ? &ice_->counters() : nullptr;
  }
  uint16_t local_port() const noexcept { return local_port_; }
  // The kernel's receive stamp (SO_TIMESTAMPNS, CLOCK_REALTIME ns) of the datagram being
  // handled (valid inside the media handler); 0 when the kernel gave none.
  uint64_t last_receive_ns() const noexcept { return last_receive_ns_; }

private:
  janus_transport() = default;
  void send_datagram(std::span<const uint8_t> bytes);
  void apply_ice(net::ice_client_output&& out, uint64_t now_ms);
  void apply_dtls(net::dtls_output&& out);
  void handle_packet(std::span<const uint8_t> bytes, uint64_t now_ms);
  void fail(std::string why);

  int fd_ = -1;
  std::string local_ip_;
  net::transport_address remote_;
  uint16_t local_port_ = 0;
  std::string ufrag_, pwd_;
  std::shared_ptr<const net::dtls_context> dtls_ctx_;
  net::dtls_fingerprint local_fp_;
  std::optional<net::ice_client> ice_;
  std::optional<net::dtls_engine> dtls_;
  net::dtls_role dtls_role_ = net::dtls_role::auto_;
  bool dtls_started_ = false;
  std::optional<rtp::srtp_session> srtp_out_, srtp_in_;
  janus_transport_state state_ = janus_transport_state::new_;
  std::string failure_;
  janus_transport_counters counters_;
  media_handler on_media_;
  std::vector<uint8_t> rx_, tx_;
  uint64_t last_receive_ns_ = 0;
};

} // namespace chorus::janus
