// The client side of one WebRTC transport, as a browser runs it against Chorus (ICE-lite
// server): an ICE controlling agent with aggressive nomination (net::ice_client), then
// the DTLS client handshake (net::dtls_engine), then SRTP sessions from the exported keys
// (rtp::srtp_session), all over one media_socket to one server candidate.
//
// It is glue around the pure engines: it owns no thread and no timer. Its driver (see
// transport_set) polls fd(), calls on_readable()/on_writable() when the socket is ready and
// on_timer() when next_deadline_ms() has passed, with the steady clock of clock.hpp.
// The flow: create() -> ICE starts on the first on_timer() and reaches ice_connected
// (consent checks then run every consent_interval_ms while the transport lives) ->
// the owner sends connect-transport with local_dtls_parameters() -> start_dtls() ->
// connected: send_rtp()/send_rtcp() protect with SRTP; received SRTP is unprotected and
// handed to the media handler.
#pragma once

#include "bench/client/media_socket.hpp"
#include "bench/client/rtp_packet.hpp"
#include "common/result.hpp"
#include "net/dtls_engine.hpp"
#include "net/ice_client.hpp"
#include "protocol/messages.hpp"
#include "rtp/srtp_session.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::client {

// One DTLS identity for all client transports of a process: a fresh ECDSA P-256
// certificate and its context (offering the GCM SRTP profiles first, as Chromium does).
result<std::shared_ptr<const net::dtls_context>> make_client_dtls_context();

struct client_transport_options {
  media_protocol protocol = media_protocol::udp; // which server candidate to use
  uint64_t tcp_connect_timeout_ms = 2000;
  uint64_t ice_initial_rto_ms = 100;       // STUN retransmission (RFC 5389 §7.2.1)
  uint64_t consent_interval_ms = 5000;     // RFC 7675 consent checks once connected
  uint64_t dtls_handshake_timeout_ms = 10000;
  uint64_t dtls_initial_retransmit_ms = 1000;
  bool receive_timestamps = false; // UDP: kernel arrival stamps (media_socket::last_receive_ns)
  bool receive_segments = false;   // UDP: segmented messages taken whole (UDP_GRO, media_socket)
};

enum class client_transport_state : uint8_t {
  new_,            // nothing sent yet
  checking,        // ICE check in flight
  ice_connected,   // ICE succeeded; waiting for start_dtls()
  dtls_connecting, // DTLS handshake running
  connected,       // SRTP keys in place
  failed,          // see failure_reason()
  closed,          // close() was called
};
std::string_view to_string(client_transport_state s) noexcept;

struct client_transport_counters {
  uint64_t stun_in = 0;
  uint64_t dtls_in = 0;
  uint64_t rtp_in = 0;  // unprotected successfully
  uint64_t rtp_in_opaque = 0; // passed on without unprotecting (set_decrypt_filter)
  uint64_t rtcp_in = 0;
  uint64_t unknown_in = 0;
  uint64_t srtp_in_failed = 0; // unprotect failures, and media before keys
  uint64_t rtp_out = 0;
  uint64_t rtp_bytes_out = 0; // before protection
  uint64_t rtcp_out = 0;
  uint64_t srtp_out_failed = 0; // protect failures, or sending before connected
  uint64_t raw_out = 0;
};

class webrtc_client_transport {
public:
  // Called with each unprotected packet (valid during the call only).
  using media_handler = std::function<void(std::span<const uint8_t> packet, bool rtcp)>;
  // Called with each STUN message received, before the ICE agent handles it (tests: the
  // answers to requests sent with send_raw(), which the agent ignores as unknown).
  using stun_handler = std::function<void(std::span<const uint8_t> message)>;

  // Picks the first candidate of options.protocol in `remote` and opens its socket (a TCP
  // connection is made here, bounded by tcp_connect_timeout_ms).
  static result<std::unique_ptr<webrtc_client_transport>>
  create(const protocol::transport_params& remote, std::shared_ptr<const net::dtls_context> dtls,
         client_transport_options options = {});

  webrtc_client_transport(const webrtc_client_transport&) = delete;
  webrtc_client_transport& operator=(const webrtc_client_transport&) = delete;
  ~webrtc_client_transport();

  const std::string& id() const noexcept { return remote_.id; }
  const protocol::transport_params& remote() const noexcept { return remote_; }
  const protocol::ice_candidate& candidate() const noexcept { return candidate_; }
  // Our dtlsParameters for connect-transport: role client, the sha-256 fingerprint.
  net::dtls_parameters local_dtls_parameters() const;

  // ---- driving --------------------------------------------------------------------------
  int fd() const noexcept { return socket_.fd(); }
  bool wants_write() const noexcept { return socket_.wants_write(); }
  void on_readable(uint64_t now_ms);
  void on_writable() { socket_.flush(); }
  void on_timer(uint64_t now_ms);
  // When on_timer() is next due (absolute); nullopt when nothing is pending.
  std::optional<uint64_t> next_deadline_ms() const;

  // Starts the DTLS client handshake; valid once ICE is connected. False otherwise.
  bool start_dtls(uint64_t now_ms);

  // ICE restart (RFC 8445 §9), as a browser does after restartIce(): new local credentials,
  // `remote` as the server's restart-ice reply gave them; checks and nomination start over
  // (ice_state() goes back to new, then connected), DTLS and SRTP are kept. With
  // `new_socket`, a new socket to the same server candidate replaces the current one first
  // (a network change: a new local port, UDP; a new connection, TCP). False (and why) when
  // the transport is finished or the new socket cannot be opened; nothing changes then.
  bool restart_ice(const protocol::ice_parameters& remote, uint64_t now_ms,
                   bool new_socket = false, std::string* error = nullptr);
  // Our current ICE credentials (they change with restart_ice()).
  const std::string& local_ufrag() const noexcept { return local_ufrag_; }
  const std::string& local_password() const noexcept { return local_password_; }
  uint64_t ice_restarts() const noexcept { return ice_restarts_; }

  // ---- media (once connected) -------------------------------------------------------------
  bool send_rtp(const rtp_header_fields& header, std::span<const uint8_t> payload);
  // A whole RTP packet built by the caller (header extensions included), protected and sent.
  bool send_rtp_packet(std::span<const uint8_t> rtp_packet);
  bool send_rtcp(std::span<const uint8_t> rtcp_packet);
  // Bytes as they are, on the transport's socket (tests: garbage, replays).
  bool send_raw(std::span<const uint8_t> bytes);
  void set_media_handler(media_handler handler) { on_media_ = std::move(handler); }
  // Which received RTP packets are unprotected, by SSRC (none set: all). The others reach
  // the media handler as they arrived: the header in the clear (SRTP encrypts only the
  // payload), the payload encrypted, the tag attached. A load generator decrypts a sample
  // of its receivers so that the server, not the generator, is what a ramp measures.
  void set_decrypt_filter(std::function<bool(uint32_t ssrc)> filter) {
    decrypt_filter_ = std::move(filter);
  }
  void set_stun_handler(stun_handler handler) { on_stun_ = std::move(handler); }

  // close_notify when DTLS is connected, then the socket closes. Idempotent.
  void close(uint64_t now_ms);

  // ---- state ------------------------------------------------------------------------------
  client_transport_state state() const noexcept { return state_; }
  bool connected() const noexcept { return state_ == client_transport_state::connected; }
  bool finished() const noexcept {
    return state_ == client_transport_state::failed || state_ == client_transport_state::closed;
  }
  const std::string& failure_reason() const noexcept { return failure_; }
  net::ice_client_state ice_state() const noexcept { return ice_.state(); }
  net::dtls_state dtls_state() const noexcept;
  net::dtls_srtp_profile srtp_profile() const noexcept;
  const client_transport_counters& counters() const noexcept { return counters_; }
  const net::ice_client_counters& ice_counters() const noexcept { return ice_.counters(); }
  const media_socket& socket() const noexcept { return socket_; }

private:
  webrtc_client_transport(protocol::transport_params remote, protocol::ice_candidate candidate,
                          media_socket socket, net::ice_client ice, net::dtls_engine dtls,
                          net::dtls_fingerprint local_fingerprint);

  void apply_ice(net::ice_client_output&& out);
  void apply_dtls(net::dtls_output&& out);
  void handle_packet(std::span<const uint8_t> bytes, uint64_t now_ms);
  void fail(std::string why);
  // Protects tx_scratch_[0, len) (RTP, or RTCP) in place and sends it; counts the outcome.
  bool protect_and_send(std::size_t len, bool rtcp);

  protocol::transport_params remote_;
  protocol::ice_candidate candidate_;
  media_socket socket_;
  net::ice_client ice_;
  net::dtls_engine dtls_;
  net::dtls_fingerprint local_fingerprint_;
  std::optional<rtp::srtp_session> srtp_out_;
  std::optional<rtp::srtp_session> srtp_in_;
  client_transport_state state_ = client_transport_state::new_;
  bool dtls_started_ = false;
  std::string failure_;
  client_transport_counters counters_;
  media_handler on_media_;
  std::function<bool(uint32_t ssrc)> decrypt_filter_;
  stun_handler on_stun_;
  std::string local_ufrag_;
  std::string local_password_;
  uint64_t ice_restarts_ = 0;
  uint64_t tcp_connect_timeout_ms_ = 2000;
  bool receive_timestamps_ = false;
  bool receive_segments_ = false;
  std::vector<uint8_t> rx_scratch_; // one received packet being unprotected
  std::vector<uint8_t> tx_scratch_; // one packet being protected
};

} // namespace chorus::client
