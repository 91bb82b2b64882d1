#include "rtp/srtp_gcm.hpp"

#include "rtp/rtp_packet.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>
#include <string_view>

namespace chorus::rtp {

namespace {

constexpr size_t session_salt_length = 12;
constexpr size_t kdf_salt_length = 14; // RFC 3711 §4.3.1: x is 112 bits
constexpr uint8_t label_rtp_encryption = 0x00;
constexpr uint8_t label_rtp_salt = 0x02;
constexpr uint8_t label_rtcp_encryption = 0x03;
constexpr uint8_t label_rtcp_salt = 0x05;
constexpr size_t rtcp_header_size = 8; // V/P/RC, PT, length, sender SSRC
constexpr uint32_t e_flag = 0x80000000u;
constexpr uint32_t max_srtcp_index = 0x7fffffffu;
constexpr uint64_t seq_median = 1u << 15;
constexpr uint64_t index_mask = (uint64_t(1) << 48) - 1;

const EVP_CIPHER* gcm_cipher_for(size_t key_length) noexcept {
  return key_length == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
}

// RFC 3711 §4.3.1 and §4.3.3 (AES-CM PRF), key derivation rate 0: the keystream of AES in
// counter mode under the master key, starting at IV = (master salt XOR label << 48) << 16.
bool derive(std::span<const uint8_t> master_key, std::span<const uint8_t> master_salt,
            uint8_t label, std::span<uint8_t> out) {
  std::array<uint8_t, 16> iv{};
  std::copy(master_salt.begin(), master_salt.end(), iv.begin()); // 12 bytes, rest zero
  iv[7] ^= label;
  const EVP_CIPHER* ctr = master_key.size() == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> c(EVP_CIPHER_CTX_new(),
                                                                     &EVP_CIPHER_CTX_free);
  std::vector<uint8_t> zeros(out.size(), 0);
  int len = 0;
  return c && EVP_EncryptInit_ex(c.get(), ctr, nullptr, master_key.data(), iv.data()) == 1 &&
         EVP_EncryptUpdate(c.get(), out.data(), &len, zeros.data(), int(zeros.size())) == 1 &&
         size_t(len) == out.size();
}

// RFC 3711 §3.3.1 / libsrtp's srtp_rdbx_estimate_index: the packet's 48-bit index from its
// sequence number and the highest index so far (ROC 0 while that is at most 2^15).
uint64_t estimate_index(uint64_t highest, uint16_t seq) noexcept {
  if (highest <= seq_median)
    return seq;
  const uint64_t roc = highest >> 16;
  const uint16_t high_seq = uint16_t(highest);
  uint64_t guess_roc = roc;
  if (high_seq < seq_median) {
    if (uint64_t(seq) > high_seq + seq_median)
      guess_roc = roc - 1;
  } else if (uint64_t(high_seq) - seq_median > seq) {
    guess_roc = roc + 1;
  }
  return ((guess_roc << 16) | seq) & index_mask;
}

std::atomic<gcm_impl> process_gcm_impl{gcm_impl::native};

// Checks the profile and the master pair, derives the session key and salt for `labels`
// (encryption, salt) and keys `cipher`, to encrypt or to decrypt. Returns why it could not
// (empty: done).
std::string_view make_gcm(srtp_profile profile, std::span<const uint8_t> key,
                          std::span<const uint8_t> salt, std::pair<uint8_t, uint8_t> labels,
                          bool encrypt, gcm_cipher& cipher, std::array<uint8_t, 12>& session_salt) {
  static_assert(session_salt_length <= kdf_salt_length);
  if (!srtp_gcm_sender::supports(profile))
    return "not an AEAD GCM profile";
  if (key.size() != profile_info(profile).key_length || salt.size() != session_salt_length)
    return "key or salt of the wrong length";
  std::array<uint8_t, 32> session_key{};
  auto skey = std::span(session_key).first(key.size());
  const bool ok = derive(key, salt, labels.first, skey) &&
                  derive(key, salt, labels.second, session_salt) && cipher.make(skey, encrypt);
  OPENSSL_cleanse(session_key.data(), session_key.size());
  return ok ? std::string_view{} : "key derivation or cipher setup failed";
}

// RFC 7714 §8.1: an RTP packet's IV = (00 00 || SSRC || ROC || SEQ) XOR session salt.
std::array<uint8_t, 12> rtp_iv(uint32_t ssrc, uint32_t roc, uint16_t seq,
                               const std::array<uint8_t, 12>& session_salt) noexcept {
  std::array<uint8_t, 12> iv = {0,
                                0,
                                uint8_t(ssrc >> 24),
                                uint8_t(ssrc >> 16),
                                uint8_t(ssrc >> 8),
                                uint8_t(ssrc),
                                uint8_t(roc >> 24),
                                uint8_t(roc >> 16),
                                uint8_t(roc >> 8),
                                uint8_t(roc),
                                uint8_t(seq >> 8),
                                uint8_t(seq)};
  for (size_t i = 0; i < iv.size(); ++i)
    iv[i] ^= session_salt[i];
  return iv;
}

} // namespace

void evp_ctx_free::operator()(evp_cipher_ctx_st* c) const noexcept {
  EVP_CIPHER_CTX_free(c);
}

void set_gcm_impl(gcm_impl impl) noexcept { process_gcm_impl.store(impl, std::memory_order_relaxed); }
bool gcm_uses_native() noexcept {
  return process_gcm_impl.load(std::memory_order_relaxed) == gcm_impl::native &&
         aes_gcm::available();
}

bool gcm_cipher::make(std::span<const uint8_t> key, bool encrypt) {
  fast_.reset();
  ctx_.reset();
  if (gcm_uses_native()) {
    fast_ = std::make_unique<aes_gcm>();
    if (!fast_->set_key(key))
      fast_.reset();
    return keyed();
  }
  ctx_.reset(EVP_CIPHER_CTX_new());
  auto init = encrypt ? &EVP_EncryptInit_ex : &EVP_DecryptInit_ex;
  if (!ctx_ || init(ctx_.get(), gcm_cipher_for(key.size()), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      init(ctx_.get(), nullptr, nullptr, key.data(), nullptr) != 1)
    ctx_.reset();
  return keyed();
}

bool gcm_cipher::seal(const std::array<uint8_t, 12>& iv, std::span<const uint8_t> aad,
                      std::span<const uint8_t> aad_tail, std::span<uint8_t> text, uint8_t* tag) {
  if (fast_)
    return fast_->seal(iv.data(), aad, aad_tail, text, tag);
  auto* c = ctx_.get();
  int len = 0;
  return c && EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, iv.data()) == 1 &&
         (aad.empty() || EVP_EncryptUpdate(c, nullptr, &len, aad.data(), int(aad.size())) == 1) &&
         (aad_tail.empty() ||
          EVP_EncryptUpdate(c, nullptr, &len, aad_tail.data(), int(aad_tail.size())) == 1) &&
         (text.empty() || EVP_EncryptUpdate(c, text.data(), &len, text.data(), int(text.size())) == 1) &&
         EVP_EncryptFinal_ex(c, text.data() + text.size(), &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, int(aes_gcm::tag_size), tag) == 1;
}

srtp_error gcm_cipher::open(const std::array<uint8_t, 12>& iv, std::span<const uint8_t> aad,
                            std::span<const uint8_t> aad_tail, std::span<uint8_t> text,
                            const uint8_t* tag) {
  if (fast_)
    return fast_->open(iv.data(), aad, aad_tail, text, tag) ? srtp_error::none : srtp_error::auth_fail;
  auto* c = ctx_.get();
  int len = 0;
  if (!c || EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, iv.data()) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(c, nullptr, &len, aad.data(), int(aad.size())) != 1) ||
      (!aad_tail.empty() &&
       EVP_DecryptUpdate(c, nullptr, &len, aad_tail.data(), int(aad_tail.size())) != 1) ||
      (!text.empty() && EVP_DecryptUpdate(c, text.data(), &len, text.data(), int(text.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, int(aes_gcm::tag_size), const_cast<uint8_t*>(tag)) != 1)
    return srtp_error::cipher_fail;
  if (EVP_DecryptFinal_ex(c, text.data() + text.size(), &len) != 1)
    return srtp_error::auth_fail;
  return srtp_error::none;
}

srtp_gcm_sender::srtp_gcm_sender(srtp_gcm_sender&&) noexcept = default;
srtp_gcm_sender& srtp_gcm_sender::operator=(srtp_gcm_sender&&) noexcept = default;
srtp_gcm_sender::~srtp_gcm_sender() = default;

bool srtp_gcm_sender::supports(srtp_profile profile) noexcept {
  return profile == srtp_profile::aead_aes_128_gcm || profile == srtp_profile::aead_aes_256_gcm;
}

result<srtp_gcm_sender> srtp_gcm_sender::create(srtp_profile profile,
                                                std::span<const uint8_t> key,
                                                std::span<const uint8_t> salt,
                                                outbound_checks checks) {
  srtp_gcm_sender s;
  s.checks_ = checks;
  if (auto why = make_gcm(profile, key, salt, {label_rtp_encryption, label_rtp_salt}, true,
                          s.cipher_, s.session_salt_);
      !why.empty())
    return failure{"srtp_gcm_sender: " + std::string(why)};
  return s;
}

srtp_gcm_sender::stream& srtp_gcm_sender::stream_for(uint32_t ssrc) {
  for (auto& s : streams_)
    if (s.ssrc == ssrc)
      return s;
  streams_.push_back(stream{ssrc, 0, nullptr});
  if (checks_.window != 0)
    streams_.back().sent = std::make_unique<replay_window>(checks_.window);
  return streams_.back();
}

bool srtp_gcm_sender::remove_stream(uint32_t ssrc) noexcept {
  return std::erase_if(streams_, [ssrc](const stream& s) { return s.ssrc == ssrc; }) != 0;
}

srtp_result srtp_gcm_sender::protect_rtp(std::span<uint8_t> buffer, size_t length,
                                         size_t header_size) {
  if (!cipher_.keyed() || length > buffer.size() || buffer.size() - length < tag_size)
    return {srtp_error::bad_param, 0};
  const auto packet = buffer.first(length);
  size_t header = header_size;
  if (header == 0) {
    const auto view = rtp_packet::parse(packet);
    if (!view)
      return {srtp_error::bad_param, 0};
    header = view->header_size();
  } else if (header < rtp_fixed_header_size || header > length ||
             (packet[0] & 0xC0) != 0x80) {
    return {srtp_error::bad_param, 0};
  }
  const uint32_t ssrc = rtp_ssrc_of(packet);
  const uint16_t seq = rtp_sequence_number_of(packet);
  auto& st = stream_for(ssrc);
  const uint64_t index = estimate_index(st.highest, seq);
  if (st.sent) {
    const auto verdict = st.sent->check(index);
    if (verdict == srtp_error::replay_old ||
        (verdict == srtp_error::replay_fail && !checks_.allow_repeat))
      return {verdict, 0};
  }
  const uint32_t roc = uint32_t(index >> 16);

  const auto iv = rtp_iv(ssrc, roc, seq, session_salt_);

  // The header (with CSRCs and extensions) is the associated data; the payload is encrypted
  // in place and the tag follows it.
  if (!cipher_.seal(iv, packet.first(header), {}, packet.subspan(header), buffer.data() + length))
    return {srtp_error::other, 0};
  if (index > st.highest)
    st.highest = index;
  if (st.sent)
    st.sent->accept(index);
  return {srtp_error::none, length + tag_size};
}

srtcp_gcm::srtcp_gcm(srtcp_gcm&&) noexcept = default;
srtcp_gcm& srtcp_gcm::operator=(srtcp_gcm&&) noexcept = default;
srtcp_gcm::~srtcp_gcm() = default;

result<srtcp_gcm> srtcp_gcm::create(srtp_profile profile, srtp_direction direction,
                                    std::span<const uint8_t> key, std::span<const uint8_t> salt) {
  srtcp_gcm s;
  s.direction_ = direction;
  if (auto why = make_gcm(profile, key, salt, {label_rtcp_encryption, label_rtcp_salt},
                          direction == srtp_direction::outbound, s.cipher_, s.session_salt_);
      !why.empty())
    return failure{"srtcp_gcm: " + std::string(why)};
  return s;
}

srtcp_gcm::stream& srtcp_gcm::stream_for(uint32_t ssrc) {
  for (auto& s : streams_)
    if (s.ssrc == ssrc)
      return s;
  streams_.push_back(stream{ssrc});
  return streams_.back();
}

bool srtcp_gcm::remove_stream(uint32_t ssrc) noexcept {
  return std::erase_if(streams_, [ssrc](const stream& s) { return s.ssrc == ssrc; }) > 0;
}

// RFC 7714 §9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR session salt.
void srtcp_gcm::make_iv(uint32_t ssrc, uint32_t index, std::array<uint8_t, 12>& iv) const noexcept {
  iv = {0,
        0,
        uint8_t(ssrc >> 24),
        uint8_t(ssrc >> 16),
        uint8_t(ssrc >> 8),
        uint8_t(ssrc),
        0,
        0,
        uint8_t(index >> 24),
        uint8_t(index >> 16),
        uint8_t(index >> 8),
        uint8_t(index)};
  for (size_t i = 0; i < iv.size(); ++i)
    iv[i] ^= session_salt_[i];
}

namespace {
uint32_t read_u32(const uint8_t* p) noexcept {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}

} // namespace

srtp_result srtcp_gcm::protect_rtcp(std::span<uint8_t> buffer, size_t length) {
  if (!cipher_.keyed() || direction_ != srtp_direction::outbound)
    return {srtp_error::wrong_direction, 0};
  if (length > buffer.size())
    return {srtp_error::bad_param, 0};
  if (length < rtcp_header_size)
    return {srtp_error::too_short, 0};
  if (buffer.size() - length < trailer_size)
    return {srtp_error::no_capacity, 0};
  uint8_t* p = buffer.data();
  const uint32_t ssrc = read_u32(p + 4);
  auto& st = stream_for(ssrc);
  if (st.index >= max_srtcp_index)
    return {srtp_error::key_expired, 0};
  const uint32_t index = ++st.index;
  const uint32_t word = e_flag | index;
  uint8_t* trailer = p + length + tag_size;
  const uint8_t w[4] = {uint8_t(word >> 24), uint8_t(word >> 16), uint8_t(word >> 8), uint8_t(word)};
  std::array<uint8_t, 12> iv;
  make_iv(ssrc, index, iv);
  if (!cipher_.seal(iv, std::span<const uint8_t>(p, rtcp_header_size), std::span<const uint8_t>(w, 4),
                    std::span(p + rtcp_header_size, length - rtcp_header_size), p + length))
    return {srtp_error::cipher_fail, 0};
  std::memcpy(trailer, w, 4);
  return {srtp_error::none, length + trailer_size};
}

srtp_result srtcp_gcm::unprotect_rtcp(std::span<uint8_t> buffer, size_t length) {
  if (!cipher_.keyed() || direction_ != srtp_direction::inbound)
    return {srtp_error::wrong_direction, 0};
  if (length > buffer.size())
    return {srtp_error::bad_param, 0};
  if (length < rtcp_header_size + trailer_size)
    return {srtp_error::too_short, 0};
  uint8_t* p = buffer.data();
  const uint32_t ssrc = read_u32(p + 4);
  const size_t plain = length - trailer_size; // header + body
  uint8_t* tag = p + plain;
  const uint8_t* w = tag + tag_size;
  const uint32_t word = read_u32(w);
  const bool encrypted = (word & e_flag) != 0;
  const uint32_t index = word & max_srtcp_index;

  // The replay check first (nothing to decrypt for a packet seen already), the window
  // advanced only once the packet authenticated.
  stream* known = nullptr;
  for (auto& s : streams_)
    if (s.ssrc == ssrc)
      known = &s;
  if (known)
    if (auto e = known->seen.check(index); e != srtp_error::none)
      return {e, 0};
  std::array<uint8_t, 12> iv;
  make_iv(ssrc, index, iv);
  const size_t aad = encrypted ? rtcp_header_size : plain; // E = 0: all of it authenticated
  if (auto e = cipher_.open(iv, std::span<const uint8_t>(p, aad), std::span<const uint8_t>(w, 4),
                            std::span(p + aad, plain - aad), tag);
      e != srtp_error::none)
    return {e, 0};

  if (!known && streams_.size() >= max_inbound_streams)
    streams_.erase(streams_.begin());
  (known ? *known : stream_for(ssrc)).seen.accept(index);
  return {srtp_error::none, plain};
}

srtp_error replay_window::check(uint64_t index) const noexcept {
  if (!started_)
    return srtp_error::none;
  if (index + size_ <= highest_)
    return srtp_error::replay_old;
  if (index <= highest_ && bit(index))
    return srtp_error::replay_fail;
  return srtp_error::none;
}

bool replay_window::bit(uint64_t index) const noexcept {
  const uint64_t i = index % (bits_.size() * 64);
  return (bits_[i / 64] >> (i % 64)) & 1u;
}

void replay_window::set(uint64_t index, bool on) noexcept {
  const uint64_t i = index % (bits_.size() * 64);
  if (on)
    bits_[i / 64] |= uint64_t(1) << (i % 64);
  else
    bits_[i / 64] &= ~(uint64_t(1) << (i % 64));
}

void replay_window::accept(uint64_t index) noexcept {
  if (!started_ || index > highest_) {
    // The indexes passed over were not received: their bits (left from a lap ago) cleared.
    const uint64_t ring = bits_.size() * 64;
    if (!started_ || index - highest_ >= ring)
      std::fill(bits_.begin(), bits_.end(), 0);
    else
      for (uint64_t i = highest_ + 1; i < index; ++i)
        set(i, false);
    started_ = true;
    highest_ = index;
  }
  set(index, true);
}

srtp_gcm_receiver::srtp_gcm_receiver(srtp_gcm_receiver&&) noexcept = default;
srtp_gcm_receiver& srtp_gcm_receiver::operator=(srtp_gcm_receiver&&) noexcept = default;
srtp_gcm_receiver::~srtp_gcm_receiver() = default;

result<srtp_gcm_receiver> srtp_gcm_receiver::create(srtp_profile profile,
                                                    std::span<const uint8_t> key,
                                                    std::span<const uint8_t> salt,
                                                    uint32_t window) {
  srtp_gcm_receiver r;
  r.window_ = window;
  if (auto why = make_gcm(profile, key, salt, {label_rtp_encryption, label_rtp_salt}, false,
                          r.cipher_, r.session_salt_);
      !why.empty())
    return failure{"srtp_gcm_receiver: " + std::string(why)};
  return r;
}

bool srtp_gcm_receiver::remove_stream(uint32_t ssrc) noexcept {
  return std::erase_if(streams_, [ssrc](const stream& s) { return s.ssrc == ssrc; }) > 0;
}

srtp_result srtp_gcm_receiver::unprotect_rtp(std::span<uint8_t> buffer, size_t length) {
  if (!cipher_.keyed() || length > buffer.size() ||
      length < rtp_fixed_header_size + srtp_gcm_sender::tag_size)
    return {srtp_error::bad_param, 0};
  // The header only: with P = 1 the padding count is the plaintext's last byte, still
  // encrypted here; the tag is no part of the packet.
  uint8_t* p = buffer.data();
  const auto view = rtp_packet::parse_header(buffer.first(length - srtp_gcm_sender::tag_size));
  if (!view)
    return {srtp_error::bad_param, 0};
  const size_t header = view->header_size(); // within length - tag (parsed so)
  const uint32_t ssrc = view->ssrc();
  const uint16_t seq = view->sequence_number();
  stream* st = nullptr;
  for (auto& s : streams_)
    if (s.ssrc == ssrc)
      st = &s;
  const uint64_t index = estimate_index(st ? st->seen.highest() : 0, seq);
  if (st)
    if (auto e = st->seen.check(index); e != srtp_error::none)
      return {e, 0};
  const uint32_t roc = uint32_t(index >> 16);
  const auto iv = rtp_iv(ssrc, roc, seq, session_salt_);
  const size_t plain = length - srtp_gcm_sender::tag_size;
  if (auto e = cipher_.open(iv, std::span<const uint8_t>(p, header), {},
                            std::span(p + header, plain - header), p + plain);
      e != srtp_error::none)
    return {e, 0};
  if (!st) {
    if (streams_.size() >= max_streams)
      streams_.erase(streams_.begin());
    streams_.push_back(stream{ssrc, replay_window(window_)});
    st = &streams_.back();
  }
  st->seen.accept(index);
  return {srtp_error::none, plain};
}

result<rtp_protector> rtp_protector::create(srtp_profile profile, std::span<const uint8_t> key,
                                            std::span<const uint8_t> salt) {
  rtp_protector p;
  if (srtp_gcm_sender::supports(profile)) {
    auto g = srtp_gcm_sender::create(profile, key, salt);
    if (!g)
      return failure{g.error()};
    p.gcm_.emplace(std::move(*g));
  } else {
    auto s = srtp_session::create(profile, srtp_direction::outbound, key, salt);
    if (!s)
      return failure{s.error()};
    p.srtp_.emplace(std::move(*s));
  }
  return p;
}

} // namespace chorus::rtp
