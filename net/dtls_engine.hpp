// One DTLS 1.2 endpoint for DTLS-SRTP (RFC 5763, RFC 5764) on OpenSSL 3 with plain memory
// BIOs. Pure: datagrams and the time (`now_ms`) go in; datagrams to send, decrypted
// application data, state changes and, once connected, the SRTP keying material come out.
// No sockets, no clock, no threads: the owner (the transport actor) feeds it and runs
// its timer from next_timeout_ms().
//
// Retransmission (RFC 6347 §4.2.4) runs on the caller's clock, not on OpenSSL's internal
// gettimeofday timer (which is parked far in the future): the engine keeps the datagrams
// of its last flight and sends them again, byte for byte, when the timer expires
// (1 s, doubling up to 8 s by default). As the sender of the final flight (server role)
// it sends that flight again whenever the peer repeats handshake records after the
// handshake, since a byte-identical copy of the peer's Finished would be discarded by
// OpenSSL's replay window.
//
// The peer's certificate is self-signed and checked only against the fingerprint from
// signaling, as soon as it arrives (a mismatch aborts the handshake with a
// bad_certificate alert, so the peer fails too) and again when the handshake completes.
// No fingerprint by then, a mismatch, or no common SRTP profile -> failed, no keys.
#pragma once

#include "common/result.hpp"
#include "net/dtls_certificate.hpp"
#include "net/dtls_parameters.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct ssl_ctx_st;

namespace chorus::net {

// DTLS-SRTP protection profiles by their IANA ids (RFC 5764 §4.1.2, RFC 7714 §14.2);
// rtp::srtp_profile uses the same numbers.
enum class dtls_srtp_profile : uint16_t {
  none = 0,
  aes128_cm_sha1_80 = 0x0001,
  aes128_cm_sha1_32 = 0x0002,
  aead_aes_128_gcm = 0x0007,
  aead_aes_256_gcm = 0x0008,
};

std::string_view to_string(dtls_srtp_profile p) noexcept; // "SRTP_AEAD_AES_256_GCM", ...

struct srtp_key_lengths {
  size_t key = 0;
  size_t salt = 0;
};
srtp_key_lengths key_lengths(dtls_srtp_profile p) noexcept;

// GCM first: far cheaper per packet with Debian's libsrtp2 (see docs, architecture guide).
inline constexpr std::string_view default_srtp_profiles =
  "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32";

struct dtls_context_options {
  std::string srtp_profiles{default_srtp_profiles}; // OpenSSL use_srtp list, preferred first
};

// The OpenSSL SSL_CTX for one certificate and one option set, shared by every engine
// (client or server) that uses them. Immutable after creation.
class dtls_context {
public:
  static result<std::shared_ptr<const dtls_context>>
  create(std::shared_ptr<const dtls_certificate> certificate, dtls_context_options options = {});

  dtls_context(const dtls_context&) = delete;
  dtls_context& operator=(const dtls_context&) = delete;
  ~dtls_context();

  const dtls_certificate& certificate() const noexcept { return *certificate_; }
  ssl_ctx_st* native() const noexcept { return ctx_; }

private:
  dtls_context(ssl_ctx_st* ctx, std::shared_ptr<const dtls_certificate> certificate);

  ssl_ctx_st* ctx_;
  std::shared_ptr<const dtls_certificate> certificate_;
};

enum class dtls_state : uint8_t { new_, connecting, connected, failed, closed };
std::string_view to_string(dtls_state s) noexcept; // "new", "connecting", ...

// Why the engine failed, or why one call was refused (dtls_output::refused).
enum class dtls_error : uint8_t {
  none,
  no_remote_fingerprint, // peer certificate arrived before set_remote_fingerprint()
  fingerprint_mismatch,  // peer certificate does not match the signaled fingerprint
  no_srtp_profile,       // peer offered no profile we accept
  key_export_failed,
  handshake_timeout,
  handshake_failed, // OpenSSL error or fatal alert during the handshake
  connection_error, // fatal error or alert after the handshake
  not_connected,    // send_application_data() before connected
  message_too_large // application data that does not fit one datagram
};
std::string_view to_string(dtls_error e) noexcept;

struct dtls_engine_options {
  size_t mtu = 1200;                     // largest datagram handed out (records packed)
  uint64_t handshake_timeout_ms = 30'000; // from start() until connected (at most 10 min)
  uint64_t initial_retransmit_ms = 1'000; // RFC 6347 §4.2.4.1
  uint64_t max_retransmit_ms = 8'000;
};

// RFC 5764 §4.2: keying material = client_write_key | server_write_key |
// client_write_salt | server_write_salt, assigned to local/remote by our role.
struct dtls_srtp_keys {
  dtls_srtp_profile profile = dtls_srtp_profile::none;
  std::vector<uint8_t> local_key;   // we protect (send) with local_key + local_salt
  std::vector<uint8_t> local_salt;
  std::vector<uint8_t> remote_key;  // we unprotect (receive) with remote_key + remote_salt
  std::vector<uint8_t> remote_salt;
};

// What one call produced.
struct dtls_output {
  std::vector<std::vector<uint8_t>> datagrams;        // send in order; each <= mtu
  std::vector<std::vector<uint8_t>> application_data; // one entry per received record
  dtls_state state = dtls_state::new_;                // state after the call
  bool state_changed = false;
  dtls_error refused = dtls_error::none; // set when this call's request was refused
};

struct dtls_counters {
  uint64_t datagrams_in = 0;
  uint64_t bytes_in = 0;
  uint64_t datagrams_out = 0;
  uint64_t bytes_out = 0;
  uint64_t malformed_in = 0;     // not a well-formed run of DTLS records: dropped unread
  uint64_t dropped_in_state = 0; // arrived after failed/closed
  uint64_t retransmissions = 0;  // flights sent again (timer or peer's repeat)
  uint64_t application_in = 0;   // decrypted application data records
  uint64_t application_out = 0;
  uint64_t application_refused = 0;
};

// RFC 7983 §7 demultiplexing: first byte 20..63 is DTLS.
bool is_dtls_datagram(std::span<const uint8_t> datagram) noexcept;

// Whether a datagram is a sequence of whole DTLS 1.0/1.2 records (RFC 6347 §4.1: content
// type 20..23, version major 0xFE, a 13-byte header whose length the datagram holds, and
// nothing after the last record). Anything else is not DTLS, whatever its first byte: the
// transport drops and counts it instead of handing it to OpenSSL, which discards it
// silently.
bool is_well_formed_dtls(std::span<const uint8_t> datagram) noexcept;

class dtls_engine {
public:
  // role must be client or server (resolve `auto` before: remote client -> we serve).
  static result<dtls_engine> create(std::shared_ptr<const dtls_context> context, dtls_role role,
                                    dtls_engine_options options = {});

  dtls_engine(dtls_engine&&) noexcept;
  dtls_engine& operator=(dtls_engine&&) noexcept;
  dtls_engine(const dtls_engine&) = delete;
  dtls_engine& operator=(const dtls_engine&) = delete;
  ~dtls_engine();

  // The fingerprint from the remote dtlsParameters. False (and ignored) for an unknown
  // algorithm or an empty value. Must come before the peer's certificate arrives
  // (in practice: before start()), else the handshake fails (no_remote_fingerprint).
  [[nodiscard]] bool set_remote_fingerprint(const dtls_fingerprint& fingerprint);

  // new -> connecting; a client sends its ClientHello. A no-op in any other state.
  dtls_output start(uint64_t now_ms);
  // One received datagram. In state new it starts the engine first.
  dtls_output handle(std::span<const uint8_t> datagram, uint64_t now_ms);
  // Call when next_timeout_ms() is reached: retransmission and the handshake timeout.
  dtls_output on_timer(uint64_t now_ms);
  // When on_timer() is next needed (absolute, caller's clock); nothing when idle.
  std::optional<uint64_t> next_timeout_ms() const noexcept;

  // One application data record (DTLS is the carrier for SCTP; one packet per call).
  dtls_output send_application_data(std::span<const uint8_t> data, uint64_t now_ms);
  // Largest application data record that fits one datagram (0 before connected).
  size_t max_application_data() const noexcept;

  // Sends close_notify when connected; -> closed.
  dtls_output close(uint64_t now_ms);

  dtls_state state() const noexcept;
  dtls_role role() const noexcept;
  dtls_error error() const noexcept; // why failed; none otherwise
  const std::optional<dtls_srtp_keys>& srtp_keys() const noexcept; // set when connected
  const dtls_counters& counters() const noexcept;

  struct impl; // public only for OpenSSL's verify callback in the .cpp

private:
  explicit dtls_engine(std::unique_ptr<impl> p) noexcept;
  std::unique_ptr<impl> impl_;
};

} // namespace chorus::net
