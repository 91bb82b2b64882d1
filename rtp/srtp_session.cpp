#include "rtp/srtp_session.hpp"

#include "rtp/srtp_gcm.hpp"

#include <srtp2/srtp.h>

#include <array>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace chorus::rtp {

namespace {

constexpr size_t rtp_header_min = 12; // RFC 3550 §5.1: fixed header
constexpr size_t rtcp_header_min = 8; // RFC 3550 §6.4.1: V/P/RC, PT, length, SSRC
constexpr uint8_t rtp_version = 2;    // top two bits of the first byte
constexpr uint32_t min_replay_window = 64;
constexpr uint32_t max_replay_window = 0x7fff;

// libsrtp keeps global state (crypto kernel); srtp_init() once per process. A function
// local static is initialised exactly once even when sessions are created on several
// threads at the same time.
bool srtp_library_ready() noexcept {
  static const srtp_err_status_t status = srtp_init();
  return status == srtp_err_status_ok;
}

bool version_ok(std::span<const uint8_t> packet) noexcept {
  return !packet.empty() && (packet[0] >> 6) == rtp_version;
}

// libsrtp compares stream SSRCs as they sit in the packet (network order).
unsigned int ssrc_as_in_packet(uint32_t ssrc) noexcept {
  const uint8_t bytes[4] = {static_cast<uint8_t>(ssrc >> 24), static_cast<uint8_t>(ssrc >> 16),
                            static_cast<uint8_t>(ssrc >> 8), static_cast<uint8_t>(ssrc)};
  uint32_t raw;
  std::memcpy(&raw, bytes, sizeof(raw));
  return raw;
}

} // namespace

srtp_profile_info profile_info(srtp_profile p) noexcept {
  switch (p) {
    case srtp_profile::aes_cm_128_hmac_sha1_80:
      return {"SRTP_AES128_CM_SHA1_80", 16, 14, 10, 4 + 10};
    case srtp_profile::aes_cm_128_hmac_sha1_32:
      // RFC 5764 §4.1.2: SRTCP keeps the 80-bit tag with this profile.
      return {"SRTP_AES128_CM_SHA1_32", 16, 14, 4, 4 + 10};
    case srtp_profile::aead_aes_128_gcm:
      return {"SRTP_AEAD_AES_128_GCM", 16, 12, 16, 4 + 16}; // RFC 7714 §14.2
    case srtp_profile::aead_aes_256_gcm:
      return {"SRTP_AEAD_AES_256_GCM", 32, 12, 16, 4 + 16};
  }
  return {"unknown", 0, 0, 0, 0};
}

std::optional<srtp_profile> srtp_profile_from_id(uint16_t iana_id) noexcept {
  switch (iana_id) {
    case 0x0001:
      return srtp_profile::aes_cm_128_hmac_sha1_80;
    case 0x0002:
      return srtp_profile::aes_cm_128_hmac_sha1_32;
    case 0x0007:
      return srtp_profile::aead_aes_128_gcm;
    case 0x0008:
      return srtp_profile::aead_aes_256_gcm;
    default:
      return std::nullopt;
  }
}

std::string_view to_string(srtp_error e) noexcept {
  switch (e) {
    case srtp_error::none:
      return "none";
    case srtp_error::bad_param:
      return "bad_param";
    case srtp_error::too_short:
      return "too_short";
    case srtp_error::no_capacity:
      return "no_capacity";
    case srtp_error::wrong_direction:
      return "wrong_direction";
    case srtp_error::auth_fail:
      return "auth_fail";
    case srtp_error::replay_fail:
      return "replay_fail";
    case srtp_error::replay_old:
      return "replay_old";
    case srtp_error::cipher_fail:
      return "cipher_fail";
    case srtp_error::key_expired:
      return "key_expired";
    case srtp_error::other:
      return "other";
  }
  return "other";
}

result<srtp_session> srtp_session::create(srtp_profile profile, srtp_direction direction,
                                          std::span<const uint8_t> key,
                                          std::span<const uint8_t> salt, srtp_options options) {
  const auto info = profile_info(profile);
  if (info.key_length == 0)
    return failure{"srtp: unknown profile"};
  if (key.size() != info.key_length || salt.size() != info.salt_length)
    return failure{"srtp: key or salt length does not match " + std::string(info.name)};
  if (options.rtcp_only && direction != srtp_direction::outbound)
    return failure{"srtp: an SRTCP-only session is outbound"};
  if (options.replay_window != 0 &&
      (options.replay_window < min_replay_window || options.replay_window > max_replay_window))
    return failure{"srtp: replay window must be 64..32767 packets"};
  if (options.openssl_gcm && srtp_gcm_sender::supports(profile)) {
    const uint32_t window = options.replay_window ? options.replay_window : 128; // libsrtp's
    srtp_session session{nullptr, profile, direction};
    auto g = srtcp_gcm::create(profile, direction, key, salt);
    if (!g)
      return failure{g.error()};
    session.rtcp_gcm_ = std::make_unique<srtcp_gcm>(std::move(*g));
    if (options.rtcp_only)
      return session;
    if (direction == srtp_direction::inbound) {
      auto r = srtp_gcm_receiver::create(profile, key, salt, window);
      if (!r)
        return failure{r.error()};
      session.rtp_gcm_in_ = std::make_unique<srtp_gcm_receiver>(std::move(*r));
    } else {
      // libsrtp's outbound judgement (its window, allow_repeat_tx), as without openssl_gcm.
      auto s = srtp_gcm_sender::create(profile, key, salt, {window, options.allow_repeat_tx});
      if (!s)
        return failure{s.error()};
      session.rtp_gcm_out_ = std::make_unique<srtp_gcm_sender>(std::move(*s));
    }
    return session;
  }
  if (!srtp_library_ready())
    return failure{"srtp: srtp_init failed"};

  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  switch (profile) {
    case srtp_profile::aes_cm_128_hmac_sha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case srtp_profile::aes_cm_128_hmac_sha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
      break;
    case srtp_profile::aead_aes_128_gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
      break;
    case srtp_profile::aead_aes_256_gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
      break;
  }
  policy.ssrc.type = direction == srtp_direction::inbound ? ssrc_any_inbound : ssrc_any_outbound;
  // libsrtp takes the master key followed by the master salt.
  std::array<unsigned char, 32 + 14> key_salt{};
  std::memcpy(key_salt.data(), key.data(), key.size());
  std::memcpy(key_salt.data() + key.size(), salt.data(), salt.size());
  policy.key = key_salt.data();
  policy.window_size = options.replay_window;
  policy.allow_repeat_tx = direction == srtp_direction::outbound && options.allow_repeat_tx;
  policy.next = nullptr;

  srtp_t ctx = nullptr;
  const srtp_err_status_t status = srtp_create(&ctx, &policy);
  std::memset(key_salt.data(), 0, key_salt.size());
  if (status != srtp_err_status_ok) {
    if (ctx != nullptr)
      srtp_dealloc(ctx);
    return failure{"srtp: srtp_create failed with status " + std::to_string(status)};
  }
  return srtp_session{ctx, profile, direction};
}

srtp_session::srtp_session(srtp_ctx_t_* ctx, srtp_profile profile,
                           srtp_direction direction) noexcept
  : ctx_(ctx), profile_(profile), direction_(direction) {}

srtp_session::srtp_session(srtp_session&& other) noexcept
  : ctx_(std::exchange(other.ctx_, nullptr)),
    profile_(other.profile_),
    direction_(other.direction_),
    counters_(other.counters_),
    rtcp_gcm_(std::move(other.rtcp_gcm_)),
    rtp_gcm_in_(std::move(other.rtp_gcm_in_)),
    rtp_gcm_out_(std::move(other.rtp_gcm_out_)) {}

srtp_session& srtp_session::operator=(srtp_session&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr)
      srtp_dealloc(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
    rtcp_gcm_ = std::move(other.rtcp_gcm_);
    rtp_gcm_in_ = std::move(other.rtp_gcm_in_);
    rtp_gcm_out_ = std::move(other.rtp_gcm_out_);
    profile_ = other.profile_;
    direction_ = other.direction_;
    counters_ = other.counters_;
  }
  return *this;
}

srtp_session::~srtp_session() {
  if (ctx_ != nullptr)
    srtp_dealloc(ctx_);
}

srtp_result srtp_session::refuse(srtp_error e) noexcept {
  counters_.bad_param++;
  return {e, 0};
}

srtp_result srtp_session::count(srtp_result r, bool rtcp) noexcept {
  switch (r.error) {
    case srtp_error::none:
      (rtcp ? counters_.rtcp_ok : counters_.rtp_ok)++;
      break;
    case srtp_error::auth_fail:
      counters_.auth_fail++;
      break;
    case srtp_error::replay_fail:
      counters_.replay_fail++;
      break;
    case srtp_error::replay_old:
      counters_.replay_old++;
      break;
    case srtp_error::bad_param:
    case srtp_error::too_short:
    case srtp_error::no_capacity:
    case srtp_error::wrong_direction:
      counters_.bad_param++;
      break;
    default:
      counters_.other++;
  }
  return r;
}

// libsrtp's status as our error, counted like the OpenSSL path's.
srtp_result srtp_session::finish(int status, int new_length, bool rtcp) noexcept {
  srtp_error e = srtp_error::other;
  switch (static_cast<srtp_err_status_t>(status)) {
    case srtp_err_status_ok:
      return count({srtp_error::none, static_cast<size_t>(new_length)}, rtcp);
    case srtp_err_status_auth_fail:
      e = srtp_error::auth_fail;
      break;
    case srtp_err_status_replay_fail:
      e = srtp_error::replay_fail;
      break;
    case srtp_err_status_replay_old:
      e = srtp_error::replay_old;
      break;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      e = srtp_error::bad_param;
      break;
    case srtp_err_status_cipher_fail:
      e = srtp_error::cipher_fail;
      break;
    case srtp_err_status_key_expired:
      e = srtp_error::key_expired;
      break;
    default:
      break;
  }
  return count({e, 0}, rtcp);
}

srtp_result srtp_session::protect_rtp(std::span<uint8_t> buffer, size_t length) {
  if (!usable() || direction_ != srtp_direction::outbound)
    return refuse(srtp_error::wrong_direction);
  if (length > buffer.size() || buffer.size() > INT_MAX)
    return refuse(srtp_error::bad_param);
  if (length < rtp_header_min)
    return refuse(srtp_error::too_short);
  if (!version_ok(buffer))
    return refuse(srtp_error::bad_param);
  if (buffer.size() - length < profile_info(profile_).rtp_trailer)
    return refuse(srtp_error::no_capacity);
  if (rtp_gcm_out_)
    return count(rtp_gcm_out_->protect_rtp(buffer, length), false);
  if (ctx_ == nullptr) // SRTCP only (srtp_options::rtcp_only)
    return refuse(srtp_error::wrong_direction);
  int len = static_cast<int>(length);
  const auto status = srtp_protect(ctx_, buffer.data(), &len);
  return finish(status, len, false);
}

srtp_result srtp_session::unprotect_rtp(std::span<uint8_t> buffer, size_t length) {
  if (!usable() || direction_ != srtp_direction::inbound)
    return refuse(srtp_error::wrong_direction);
  if (length > buffer.size() || length > INT_MAX)
    return refuse(srtp_error::bad_param);
  if (length < rtp_header_min + profile_info(profile_).rtp_trailer)
    return refuse(srtp_error::too_short);
  if (!version_ok(buffer))
    return refuse(srtp_error::bad_param);
  if (rtp_gcm_in_)
    return count(rtp_gcm_in_->unprotect_rtp(buffer, length), false);
  int len = static_cast<int>(length);
  const auto status = srtp_unprotect(ctx_, buffer.data(), &len);
  return finish(status, len, false);
}

srtp_result srtp_session::protect_rtcp(std::span<uint8_t> buffer, size_t length) {
  if (!usable() || direction_ != srtp_direction::outbound)
    return refuse(srtp_error::wrong_direction);
  if (length > buffer.size() || buffer.size() > INT_MAX)
    return refuse(srtp_error::bad_param);
  if (length < rtcp_header_min)
    return refuse(srtp_error::too_short);
  if (!version_ok(buffer))
    return refuse(srtp_error::bad_param);
  if (buffer.size() - length < profile_info(profile_).rtcp_trailer)
    return refuse(srtp_error::no_capacity);
  if (rtcp_gcm_)
    return count(rtcp_gcm_->protect_rtcp(buffer, length), true);
  int len = static_cast<int>(length);
  const auto status = srtp_protect_rtcp(ctx_, buffer.data(), &len);
  return finish(status, len, true);
}

srtp_result srtp_session::unprotect_rtcp(std::span<uint8_t> buffer, size_t length) {
  if (!usable() || direction_ != srtp_direction::inbound)
    return refuse(srtp_error::wrong_direction);
  if (length > buffer.size() || length > INT_MAX)
    return refuse(srtp_error::bad_param);
  if (length < rtcp_header_min + profile_info(profile_).rtcp_trailer)
    return refuse(srtp_error::too_short);
  if (!version_ok(buffer))
    return refuse(srtp_error::bad_param);
  if (rtcp_gcm_)
    return count(rtcp_gcm_->unprotect_rtcp(buffer, length), true);
  int len = static_cast<int>(length);
  const auto status = srtp_unprotect_rtcp(ctx_, buffer.data(), &len);
  return finish(status, len, true);
}

bool srtp_session::remove_stream(uint32_t ssrc) noexcept {
  bool removed =
    ctx_ != nullptr && srtp_remove_stream(ctx_, ssrc_as_in_packet(ssrc)) == srtp_err_status_ok;
  if (rtcp_gcm_ && rtcp_gcm_->remove_stream(ssrc))
    removed = true;
  if (rtp_gcm_in_ && rtp_gcm_in_->remove_stream(ssrc))
    removed = true;
  if (rtp_gcm_out_ && rtp_gcm_out_->remove_stream(ssrc))
    removed = true;
  return removed;
}

} // namespace chorus::rtp
