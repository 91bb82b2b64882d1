#include "net/dtls_engine.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <utility>

namespace chorus::net {

namespace {

// RFC 6347 §4.1: DTLS record header.
//   0      content type (20 change_cipher_spec, 21 alert, 22 handshake, 23 application)
//   1..2   version {254, 253} (DTLS 1.2) or {254, 255} (DTLS 1.0, in ClientHello records)
//   3..4   epoch
//   5..10  sequence number (48 bits)
//   11..12 length of the fragment that follows
constexpr size_t record_header_len = 13;
constexpr size_t max_record_fragment = 16384 + 2048; // RFC 6347 §4.1: 2^14 + 2048
constexpr uint8_t ct_change_cipher_spec = 20;
constexpr uint8_t ct_handshake = 22;
constexpr uint8_t ct_application_data = 23;

// RFC 6347 §4.2.2: handshake message header inside a plaintext (epoch 0) record.
//   0 msg_type, 1..3 length, 4..5 message_seq, 6..8 fragment_offset, 9..11 fragment_length
constexpr size_t handshake_header_len = 12;

// OpenSSL's own retransmission timer reads gettimeofday(); park it one hour out so that
// only this engine's clock-driven timer retransmits (the callback's unit is microseconds).
constexpr unsigned openssl_timer_us = 3'600'000'000u;
constexpr uint64_t max_handshake_timeout_ms = 600'000;
// Server: at most one repeat of the final flight per this interval (the peer's repeated
// flight arrives as several datagrams).
constexpr uint64_t final_flight_repeat_gap_ms = 100;

constexpr char exporter_label[] = "EXTRACTOR-dtls_srtp"; // RFC 5764 §4.2

uint32_t read_u24(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}

struct record_view {
  uint8_t type;
  uint16_t epoch;
  std::span<const uint8_t> whole; // header + fragment
  std::span<const uint8_t> fragment;
};

// Calls f(record) for each record; false when the bytes are not a well-formed run of
// records (then f may have seen some of them).
template <class F>
bool for_each_record(std::span<const uint8_t> bytes, F&& f) {
  if (bytes.empty())
    return false;
  while (!bytes.empty()) {
    if (bytes.size() < record_header_len)
      return false;
    const uint8_t type = bytes[0];
    if (type < ct_change_cipher_spec || type > ct_application_data || bytes[1] != 0xfe ||
        (bytes[2] != 0xfd && bytes[2] != 0xff))
      return false;
    const size_t len = (size_t{bytes[11]} << 8) | bytes[12];
    if (len > max_record_fragment || bytes.size() < record_header_len + len)
      return false;
    const uint16_t epoch = static_cast<uint16_t>((bytes[3] << 8) | bytes[4]);
    f(record_view{type, epoch, bytes.first(record_header_len + len),
                  bytes.subspan(record_header_len, len)});
    bytes = bytes.subspan(record_header_len + len);
  }
  return true;
}

// Plaintext handshake records must hold whole fragment headers whose fragment lies
// inside its message; OpenSSL treats a broken one as fatal, so it is dropped here.
bool plaintext_record_ok(const record_view& r) noexcept {
  if (r.epoch != 0)
    return true; // encrypted: OpenSSL silently discards what does not authenticate
  if (r.type == ct_application_data)
    return false;
  if (r.type != ct_handshake)
    return !r.fragment.empty();
  auto f = r.fragment;
  if (f.empty())
    return false;
  while (!f.empty()) {
    if (f.size() < handshake_header_len)
      return false;
    const uint32_t msg_len = read_u24(&f[1]);
    const uint32_t frag_off = read_u24(&f[6]);
    const uint32_t frag_len = read_u24(&f[9]);
    if (uint64_t{frag_off} + frag_len > msg_len || f.size() < handshake_header_len + frag_len)
      return false;
    f = f.subspan(handshake_header_len + frag_len);
  }
  return true;
}

bool well_formed(std::span<const uint8_t> datagram) noexcept {
  bool ok = true;
  const bool parsed =
    for_each_record(datagram, [&](const record_view& r) { ok = ok && plaintext_record_ok(r); });
  return parsed && ok;
}

bool has_handshake_records(std::span<const uint8_t> bytes) noexcept {
  bool found = false;
  for_each_record(bytes, [&](const record_view& r) {
    found = found || r.type == ct_handshake || r.type == ct_change_cipher_spec;
  });
  return found;
}

int engine_ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

unsigned park_openssl_timer(SSL*, unsigned) { return openssl_timer_us; }

int verify_peer(int, X509_STORE_CTX* store);

} // namespace

// ---- names ------------------------------------------------------------------------------

namespace {

struct profile_row {
  dtls_srtp_profile id;
  std::string_view name;
  srtp_key_lengths lengths;
};
constexpr profile_row profile_rows[] = {
  {dtls_srtp_profile::aes128_cm_sha1_80, "SRTP_AES128_CM_SHA1_80", {16, 14}}, // RFC 5764 §4.1.2
  {dtls_srtp_profile::aes128_cm_sha1_32, "SRTP_AES128_CM_SHA1_32", {16, 14}},
  {dtls_srtp_profile::aead_aes_128_gcm, "SRTP_AEAD_AES_128_GCM", {16, 12}}, // RFC 7714 §14.2
  {dtls_srtp_profile::aead_aes_256_gcm, "SRTP_AEAD_AES_256_GCM", {32, 12}},
};

const profile_row* find_profile(dtls_srtp_profile p) noexcept {
  for (const auto& row : profile_rows)
    if (row.id == p)
      return &row;
  return nullptr;
}

// Names indexed by the enumerator's value.
template <class Enum, size_t N>
std::string_view name_of(Enum e, const std::string_view (&names)[N]) noexcept {
  const auto i = static_cast<size_t>(e);
  return i < N ? names[i] : names[0];
}

} // namespace

std::string_view to_string(dtls_srtp_profile p) noexcept {
  const auto* row = find_profile(p);
  return row ? row->name : "none";
}

srtp_key_lengths key_lengths(dtls_srtp_profile p) noexcept {
  const auto* row = find_profile(p);
  return row ? row->lengths : srtp_key_lengths{};
}

std::string_view to_string(dtls_state s) noexcept {
  static constexpr std::string_view names[] = {"new", "connecting", "connected", "failed",
                                               "closed"};
  return name_of(s, names);
}

std::string_view to_string(dtls_error e) noexcept {
  static constexpr std::string_view names[] = {
    "none",           "no remote fingerprint", "fingerprint mismatch", "no common SRTP profile",
    "key export failed", "handshake timeout",  "handshake failed",     "connection error",
    "not connected",  "message too large"};
  return name_of(e, names);
}

bool is_dtls_datagram(std::span<const uint8_t> datagram) noexcept {
  return !datagram.empty() && datagram[0] >= 20 && datagram[0] <= 63;
}

bool is_well_formed_dtls(std::span<const uint8_t> datagram) noexcept {
  //  0                   1                   2                   3
  // | type (1) | version (2) | epoch (2) | sequence number (6) | length (2) | fragment |
  constexpr size_t header = 13;
  size_t at = 0;
  if (datagram.empty())
    return false;
  while (at < datagram.size()) {
    if (datagram.size() - at < header)
      return false;
    const uint8_t type = datagram[at];
    const uint8_t major = datagram[at + 1];
    const size_t length = (size_t(datagram[at + 11]) << 8) | datagram[at + 12];
    if (type < 20 || type > 23 || major != 0xFE)
      return false;
    if (datagram.size() - at - header < length)
      return false;
    at += header + length;
  }
  return true;
}

// ---- context ----------------------------------------------------------------------------

dtls_context::dtls_context(ssl_ctx_st* ctx, std::shared_ptr<const dtls_certificate> certificate)
  : ctx_(ctx), certificate_(std::move(certificate)) {}

dtls_context::~dtls_context() { SSL_CTX_free(ctx_); }

result<std::shared_ptr<const dtls_context>>
dtls_context::create(std::shared_ptr<const dtls_certificate> certificate,
                     dtls_context_options options) {
  if (!certificate || certificate->x509() == nullptr)
    return failure{"dtls context: no certificate"};
  SSL_CTX* ctx = SSL_CTX_new(DTLS_method());
  if (ctx == nullptr)
    return failure{"dtls context: SSL_CTX_new failed"};
  std::shared_ptr<const dtls_context> out{new dtls_context(ctx, std::move(certificate))};
  const auto& cert = out->certificate();

  auto bad = [](const char* what) {
    ERR_clear_error();
    return failure{std::string("dtls context: ") + what};
  };
  // After the handshake a WebRTC DTLS association is mostly idle (media is SRTP; only
  // alerts, close_notify or the occasional application record follow): let OpenSSL free
  // its record buffers while they are empty instead of keeping them for every transport.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1)
    return bad("cannot restrict to DTLS 1.2");
  if (SSL_CTX_use_certificate(ctx, cert.x509()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx, cert.private_key()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return bad("certificate or key refused");
  SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:ECDHE+AES:!aNULL:!eNULL") != 1)
    return bad("cipher list refused");
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384") != 1)
    return bad("groups refused");
  // Self-signed peers are expected: trust comes from the signaled fingerprint.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
  SSL_CTX_set_verify_depth(ctx, 4);
  // Unlike most of OpenSSL, this one returns 0 on success.
  if (options.srtp_profiles.empty() ||
      SSL_CTX_set_tlsext_use_srtp(ctx, options.srtp_profiles.c_str()) != 0)
    return bad("SRTP profile list refused");
  return out;
}

// ---- engine state -----------------------------------------------------------------------

struct dtls_engine::impl {
  std::shared_ptr<const dtls_context> context;
  SSL* ssl = nullptr;
  BIO* rbio = nullptr; // owned by ssl
  BIO* wbio = nullptr; // owned by ssl
  dtls_role role = dtls_role::server;
  dtls_engine_options options;

  dtls_state state = dtls_state::new_;
  dtls_error error = dtls_error::none;
  std::optional<dtls_fingerprint> remote_fingerprint;
  dtls_error certificate_rejected = dtls_error::none; // set by verify_peer
  std::optional<dtls_srtp_keys> keys;
  dtls_counters counters;

  uint64_t handshake_deadline_ms = 0;
  std::vector<std::vector<uint8_t>> last_flight;
  std::optional<uint64_t> retransmit_at_ms;
  uint64_t retransmit_interval_ms = 0;
  std::optional<uint64_t> last_repeat_ms;
  std::vector<uint8_t> read_buffer;

  ~impl() {
    if (ssl != nullptr)
      SSL_free(ssl);
  }

  void set_state(dtls_output& out, dtls_state s) {
    if (s != state) {
      state = s;
      out.state_changed = true;
    }
  }

  void stop_retransmission() {
    retransmit_at_ms.reset();
    if (role == dtls_role::client || state != dtls_state::connected)
      last_flight.clear();
  }

  void fail(dtls_output& out, dtls_error e) {
    error = e;
    keys.reset();
    set_state(out, dtls_state::failed);
    stop_retransmission();
  }

  void send(dtls_output& out, std::vector<uint8_t> datagram) {
    counters.datagrams_out++;
    counters.bytes_out += datagram.size();
    out.datagrams.push_back(std::move(datagram));
  }

  // Moves what OpenSSL wrote into datagrams of at most mtu bytes, records kept whole.
  // True when it included handshake records (a flight).
  bool flush(dtls_output& out) {
    const size_t pending = BIO_ctrl_pending(wbio);
    if (pending == 0)
      return false;
    std::vector<uint8_t> bytes(pending);
    const int n = BIO_read(wbio, bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0)
      return false;
    bytes.resize(static_cast<size_t>(n));
    const bool flight = has_handshake_records(bytes);
    std::vector<uint8_t> current;
    const bool parsed = for_each_record(bytes, [&](const record_view& r) {
      if (!current.empty() && current.size() + r.whole.size() > options.mtu)
        send(out, std::exchange(current, {}));
      current.insert(current.end(), r.whole.begin(), r.whole.end());
    });
    if (!parsed) // cannot happen with OpenSSL's output; hand it out unsplit
      current = std::move(bytes);
    if (!current.empty())
      send(out, std::move(current));
    return flight;
  }

  void resend_last_flight(dtls_output& out) {
    if (last_flight.empty())
      return;
    counters.retransmissions++;
    for (const auto& d : last_flight)
      send(out, d);
  }

  void closed_by_peer(dtls_output& out) {
    set_state(out, dtls_state::closed);
    stop_retransmission();
  }

  void drive_handshake(dtls_output& out, uint64_t now_ms) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl);
    const int err = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, r);
    ERR_clear_error();
    const size_t first = out.datagrams.size();
    if (flush(out)) {
      last_flight.assign(out.datagrams.begin() + static_cast<std::ptrdiff_t>(first),
                         out.datagrams.end());
      retransmit_interval_ms = options.initial_retransmit_ms;
      retransmit_at_ms = now_ms + retransmit_interval_ms;
    }
    if (err == SSL_ERROR_NONE)
      finish_handshake(out);
    else if (err == SSL_ERROR_ZERO_RETURN)
      closed_by_peer(out);
    else if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
      fail(out, certificate_rejected != dtls_error::none ? certificate_rejected
                                                       : dtls_error::handshake_failed);
  }

  // Handshake done: check the peer against signaling, then export the SRTP keys.
  void finish_handshake(dtls_output& out) {
    retransmit_at_ms.reset();
    if (role == dtls_role::client)
      last_flight.clear();
    const dtls_error e = check_and_export();
    if (e == dtls_error::none) {
      set_state(out, dtls_state::connected);
      return;
    }
    fail(out, e);
    SSL_shutdown(ssl); // close_notify, so that the peer stops too
    ERR_clear_error();
    flush(out);
  }

  dtls_error check_and_export() {
    if (!remote_fingerprint)
      return dtls_error::no_remote_fingerprint;
    X509* peer = SSL_get1_peer_certificate(ssl);
    auto fp = certificate_fingerprint(peer, remote_fingerprint->algorithm);
    X509_free(peer);
    if (!fp || !fingerprint_values_equal(*fp, remote_fingerprint->value))
      return dtls_error::fingerprint_mismatch;

    const SRTP_PROTECTION_PROFILE* selected = SSL_get_selected_srtp_profile(ssl);
    if (selected == nullptr)
      return dtls_error::no_srtp_profile;
    const auto profile = static_cast<dtls_srtp_profile>(selected->id);
    const auto len = key_lengths(profile);
    if (len.key == 0)
      return dtls_error::no_srtp_profile;

    std::vector<uint8_t> material(2 * (len.key + len.salt));
    if (SSL_export_keying_material(ssl, material.data(), material.size(), exporter_label,
                                   sizeof(exporter_label) - 1, nullptr, 0, 0) != 1) {
      ERR_clear_error();
      return dtls_error::key_export_failed;
    }
    auto part = [&](size_t offset, size_t n) {
      return std::vector<uint8_t>(material.begin() + static_cast<std::ptrdiff_t>(offset),
                                  material.begin() + static_cast<std::ptrdiff_t>(offset + n));
    };
    // client_write_key | server_write_key | client_write_salt | server_write_salt
    const size_t client_part = role == dtls_role::client ? 0 : 1; // which half is ours
    dtls_srtp_keys k{profile, part(client_part * len.key, len.key),
                     part(2 * len.key + client_part * len.salt, len.salt),
                     part((1 - client_part) * len.key, len.key),
                     part(2 * len.key + (1 - client_part) * len.salt, len.salt)};
    OPENSSL_cleanse(material.data(), material.size());
    keys = std::move(k);
    return dtls_error::none;
  }

  void read_application_data(dtls_output& out) {
    if (read_buffer.empty())
      read_buffer.resize(SSL3_RT_MAX_PLAIN_LENGTH);
    for (;;) {
      ERR_clear_error();
      const int n = SSL_read(ssl, read_buffer.data(), static_cast<int>(read_buffer.size()));
      if (n > 0) {
        counters.application_in++;
        out.application_data.emplace_back(read_buffer.begin(), read_buffer.begin() + n);
        continue;
      }
      const int err = SSL_get_error(ssl, n);
      ERR_clear_error();
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        break;
      if (err == SSL_ERROR_ZERO_RETURN) { // close_notify: answer it, then closed
        SSL_shutdown(ssl);
        ERR_clear_error();
        closed_by_peer(out);
        break;
      }
      fail(out, dtls_error::connection_error);
      break;
    }
    flush(out);
  }

  void start(dtls_output& out, uint64_t now_ms) {
    set_state(out, dtls_state::connecting);
    handshake_deadline_ms = now_ms + options.handshake_timeout_ms;
    if (role == dtls_role::client) {
      SSL_set_connect_state(ssl);
      drive_handshake(out, now_ms);
    } else {
      SSL_set_accept_state(ssl);
    }
  }
};

namespace {

int verify_peer(int, X509_STORE_CTX* store) {
  auto* ssl =
    static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* self =
    ssl ? static_cast<dtls_engine::impl*>(SSL_get_ex_data(ssl, engine_ex_index())) : nullptr;
  if (self == nullptr)
    return 0;
  // Chain errors (self-signed) are accepted; the leaf must match the signaled fingerprint,
  // which must be known by now.
  if (X509_STORE_CTX_get_error_depth(store) != 0)
    return 1;
  if (self->remote_fingerprint) {
    auto fp = certificate_fingerprint(X509_STORE_CTX_get_current_cert(store),
                                      self->remote_fingerprint->algorithm);
    if (fp && fingerprint_values_equal(*fp, self->remote_fingerprint->value))
      return 1;
    self->certificate_rejected = dtls_error::fingerprint_mismatch;
  } else {
    self->certificate_rejected = dtls_error::no_remote_fingerprint;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  return 0;
}

} // namespace

// ---- engine API -------------------------------------------------------------------------

result<dtls_engine> dtls_engine::create(std::shared_ptr<const dtls_context> context,
                                        dtls_role role, dtls_engine_options options) {
  if (!context)
    return failure{"dtls engine: no context"};
  if (role != dtls_role::client && role != dtls_role::server)
    return failure{"dtls engine: role must be client or server"};
  // The handshake must end well before OpenSSL's parked timer (one hour) could fire.
  if (options.mtu < 256 || options.mtu > 65'535 || options.initial_retransmit_ms == 0 ||
      options.max_retransmit_ms < options.initial_retransmit_ms ||
      options.handshake_timeout_ms == 0 || options.handshake_timeout_ms > max_handshake_timeout_ms)
    return failure{"dtls engine: bad options"};

  auto p = std::make_unique<impl>();
  p->context = std::move(context);
  p->role = role;
  p->options = options;
  p->ssl = SSL_new(p->context->native());
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (p->ssl == nullptr || rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    ERR_clear_error();
    return failure{"dtls engine: out of memory"};
  }
  // An empty memory BIO reports "retry", which OpenSSL reads as "want more data".
  BIO_set_mem_eof_return(rbio, -1);
  BIO_set_mem_eof_return(wbio, -1);
  SSL_set_bio(p->ssl, rbio, wbio);
  p->rbio = rbio;
  p->wbio = wbio;
  SSL_set_options(p->ssl, SSL_OP_NO_QUERY_MTU);
  if (SSL_set_mtu(p->ssl, static_cast<long>(options.mtu)) <= 0) {
    ERR_clear_error();
    return failure{"dtls engine: MTU refused"};
  }
  DTLS_set_timer_cb(p->ssl, park_openssl_timer);
  SSL_set_ex_data(p->ssl, engine_ex_index(), p.get());
  return dtls_engine{std::move(p)};
}

dtls_engine::dtls_engine(std::unique_ptr<impl> p) noexcept : impl_(std::move(p)) {}
dtls_engine::dtls_engine(dtls_engine&&) noexcept = default;
dtls_engine& dtls_engine::operator=(dtls_engine&&) noexcept = default;
dtls_engine::~dtls_engine() = default;

bool dtls_engine::set_remote_fingerprint(const dtls_fingerprint& fingerprint) {
  if (!is_fingerprint_algorithm(fingerprint.algorithm) || fingerprint.value.empty())
    return false;
  impl_->remote_fingerprint = fingerprint;
  return true;
}

dtls_output dtls_engine::start(uint64_t now_ms) {
  dtls_output out;
  if (impl_->state == dtls_state::new_)
    impl_->start(out, now_ms);
  out.state = impl_->state;
  return out;
}

dtls_output dtls_engine::handle(std::span<const uint8_t> datagram, uint64_t now_ms) {
  auto& s = *impl_;
  dtls_output out;
  s.counters.datagrams_in++;
  s.counters.bytes_in += datagram.size();
  if (s.state == dtls_state::failed || s.state == dtls_state::closed) {
    s.counters.dropped_in_state++;
  } else if (!well_formed(datagram)) {
    s.counters.malformed_in++;
  } else {
    if (s.state == dtls_state::new_)
      s.start(out, now_ms);
    const bool was_connected = s.state == dtls_state::connected;
    BIO_write(s.rbio, datagram.data(), static_cast<int>(datagram.size()));
    if (s.state == dtls_state::connecting)
      s.drive_handshake(out, now_ms);
    if (s.state == dtls_state::connected) {
      const size_t before = out.datagrams.size();
      s.read_application_data(out);
      // The peer repeats its last flight: our final flight was lost. OpenSSL answers a
      // repeated Finished with fresh records itself; otherwise send ours again.
      if (was_connected && s.role == dtls_role::server && out.datagrams.size() == before &&
          s.state == dtls_state::connected && has_handshake_records(datagram) &&
          (!s.last_repeat_ms || now_ms >= *s.last_repeat_ms + final_flight_repeat_gap_ms)) {
        s.last_repeat_ms = now_ms;
        s.resend_last_flight(out);
      }
    }
    if (BIO_ctrl_pending(s.rbio) > 0) // never mix leftovers into the next datagram
      (void)BIO_reset(s.rbio);
  }
  out.state = s.state;
  return out;
}

dtls_output dtls_engine::on_timer(uint64_t now_ms) {
  auto& s = *impl_;
  dtls_output out;
  if (s.state == dtls_state::connecting) {
    if (now_ms >= s.handshake_deadline_ms) {
      s.fail(out, dtls_error::handshake_timeout);
    } else if (s.retransmit_at_ms && now_ms >= *s.retransmit_at_ms) {
      s.resend_last_flight(out);
      s.retransmit_interval_ms = std::min(s.retransmit_interval_ms * 2, s.options.max_retransmit_ms);
      s.retransmit_at_ms = now_ms + s.retransmit_interval_ms;
    }
  }
  out.state = s.state;
  return out;
}

std::optional<uint64_t> dtls_engine::next_timeout_ms() const noexcept {
  const auto& s = *impl_;
  if (s.state != dtls_state::connecting)
    return std::nullopt;
  uint64_t t = s.handshake_deadline_ms;
  if (s.retransmit_at_ms)
    t = std::min(t, *s.retransmit_at_ms);
  return t;
}

size_t dtls_engine::max_application_data() const noexcept {
  if (impl_->state != dtls_state::connected)
    return 0;
  return DTLS_get_data_mtu(impl_->ssl);
}

dtls_output dtls_engine::send_application_data(std::span<const uint8_t> data, uint64_t) {
  auto& s = *impl_;
  dtls_output out;
  if (s.state != dtls_state::connected) {
    out.refused = dtls_error::not_connected;
  } else if (data.empty() || data.size() > max_application_data()) {
    out.refused = dtls_error::message_too_large;
  } else {
    ERR_clear_error();
    const int n = SSL_write(s.ssl, data.data(), static_cast<int>(data.size()));
    if (n <= 0) {
      ERR_clear_error();
      s.fail(out, dtls_error::connection_error);
    } else {
      s.counters.application_out++;
    }
    s.flush(out);
  }
  if (out.refused != dtls_error::none)
    s.counters.application_refused++;
  out.state = s.state;
  return out;
}

dtls_output dtls_engine::close(uint64_t) {
  auto& s = *impl_;
  dtls_output out;
  if (s.state == dtls_state::connected) {
    ERR_clear_error();
    SSL_shutdown(s.ssl);
    ERR_clear_error();
    s.flush(out);
  }
  if (s.state != dtls_state::failed) {
    s.set_state(out, dtls_state::closed);
    s.stop_retransmission();
  }
  out.state = s.state;
  return out;
}

dtls_state dtls_engine::state() const noexcept { return impl_->state; }
dtls_role dtls_engine::role() const noexcept { return impl_->role; }
dtls_error dtls_engine::error() const noexcept { return impl_->error; }
const std::optional<dtls_srtp_keys>& dtls_engine::srtp_keys() const noexcept {
  return impl_->keys;
}
const dtls_counters& dtls_engine::counters() const noexcept { return impl_->counters; }

} // namespace chorus::net
