// rtp_sender's repairs without RTX (remember_headers): a packet sent again leaves as the
// original did, byte for byte, on a real loopback socket. Without it the transport-wide
// number and abs-send-time are new, so AES-GCM would protect two different headers under
// one IV (the SSRC and index are the same): the case this guards against.
#include <optional>

#include "actors/media_messages.hpp"
#include "actors/rtp_sender.hpp"

#include "net_media_io_util.hpp"

using namespace media_io_test;
using chorus::actors::rtp_out;
using chorus::actors::rtp_sender;
using chorus::actors::send_shared;
using chorus::actors::sending_state;

namespace {

constexpr uint8_t abs_id = 2;
constexpr uint8_t tcc_id = 3;
constexpr size_t tcc_at = 21; // the transport-wide number's offset in the packets below

// Opus-like RTP with abs-send-time (id 2) and transport-wide seq (id 3), one-byte form:
// 12 header bytes, BEDE + length 2, [0x22 a b c] [0x31 t t] pad, then a 20-byte payload.
rtp_out packet(uint16_t seq, uint32_t timestamp) {
  rtp_out out;
  bytes p{0x90, 111, uint8_t(seq >> 8), uint8_t(seq), uint8_t(timestamp >> 24),
          uint8_t(timestamp >> 16), uint8_t(timestamp >> 8), uint8_t(timestamp),
          0x11, 0x22, 0x33, 0x44, 0xBE, 0xDE, 0x00, 0x02,
          0x22, 0, 0, 0, 0x31, 0, 0, 0};
  for (int i = 0; i < 20; ++i)
    p.push_back(uint8_t(0xA0 + i));
  out.offsets.push_back(0);
  out.sizes.push_back(uint16_t(p.size()));
  out.data = p;
  out.data.resize(p.size() + 64); // room for the SRTP trailer
  out.tcc_ext_id = tcc_id;
  out.abs_send_time_ext_id = abs_id;
  return out;
}

uint16_t tcc_of(const bytes& b) { return uint16_t((b[tcc_at] << 8) | b[tcc_at + 1]); }

struct fixture {
  media_io io{port_mode_options(uint16_t(port_base() + 20), 10)};
  std::shared_ptr<media_endpoint> endpoint;
  udp_client receiver;
  std::shared_ptr<send_shared> shared;

  fixture() {
    io.start();
    endpoint = io.open("s", [](packet_batch&&) {});
    REQUIRE(endpoint);
    shared = std::make_shared<send_shared>(endpoint);
  }
  rtp_sender sender() {
    rtp_sender s{shared, rtp_sender::use::rtp};
    sending_state st;
    st.has_keys = true;
    st.srtp_profile = uint16_t(chorus::rtp::srtp_profile::aead_aes_128_gcm);
    st.key.assign(16, 0x5A);
    st.salt.assign(12, 0xC3);
    st.has_tuple = true;
    st.tuple = ice_tuple{ice_protocol::udp, receiver.address(), 0};
    CHECK(s.apply(st));
    return s;
  }
  // `now_us`: the send time the sender stamps (abs-send-time); 0: its clock's.
  bytes send(rtp_sender& s, uint16_t seq, uint32_t ts,
             std::optional<rtp_out::layout> layout = std::nullopt, int64_t now_us = 0) {
    auto out = packet(seq, ts);
    out.now_us = now_us;
    if (layout)
      out.layouts.push_back(*layout);
    REQUIRE(s.send_rtp(out) == 1);
    auto got = receiver.recv();
    REQUIRE(got);
    return *got;
  }
};

} // namespace

TEST_CASE("rtp_sender: a repair without RTX leaves as the original did, byte for byte") {
  fixture f;
  auto s = f.sender();
  s.remember_headers(50); // rounded up to 64
  const bytes first = f.send(s, 100, 48000);
  const bytes second = f.send(s, 101, 48960);
  CHECK(tcc_of(second) == uint16_t(tcc_of(first) + 1));
  const bytes again = f.send(s, 100, 48000); // NACKed: the same packet from the ring
  CHECK(again == first);
  CHECK(s.resent_as_sent() == 1);
  // The repair took no new number: the next packet's follows the second's.
  const bytes third = f.send(s, 102, 49920);
  CHECK(tcc_of(third) == uint16_t(tcc_of(second) + 1));
  // 64 packets later the slot holds another packet: the old one is new again, numbered.
  for (uint16_t seq = 103; seq < 164; ++seq)
    f.send(s, seq, 48000 + 960u * (seq - 100u));
  const bytes reused = f.send(s, 164, 48000 + 960u * 64); // slot 164 & 63 == 100 & 63
  CHECK(s.resent_as_sent() == 1);
  // Another timestamp under a sequence number seen before (a munger's restart) is new.
  const bytes other = f.send(s, 164, 1);
  CHECK(other != reused);
  CHECK(tcc_of(other) == uint16_t(tcc_of(reused) + 1));
  CHECK(s.resent_as_sent() == 1);
}

TEST_CASE("rtp_sender: without remember_headers a packet sent again gets new header values") {
  fixture f;
  auto s = f.sender();
  const bytes first = f.send(s, 100, 48000);
  const bytes again = f.send(s, 100, 48000);
  CHECK(again != first); // a new transport-wide number: another tag under the same IV
  CHECK(tcc_of(again) == uint16_t(tcc_of(first) + 1));
  CHECK(s.resent_as_sent() == 0);
}

TEST_CASE("rtp_sender: a packet whose layout came with it leaves as the same packet parsed") {
  // Each row from a fresh transport (numbers from 1), so that its bytes can be compared
  // with the parsed packet's: the same keys, number, abs-send-time slot and payload.
  fixture f;
  auto parsed_sender = f.sender();
  constexpr int64_t now_us = 5'000'000; // one send time for all: the same abs-send-time
  const bytes parsed = f.send(parsed_sender, 100, 48000, std::nullopt, now_us);
  struct row {
    const char* name;
    rtp_out::layout layout;
    bool same; // as parsed (else: the sending elements were not written)
  };
  const row rows[] = {
    {"the packet's own layout", {24, tcc_at, 17}, true},
    {"a header past the packet: parsed instead", {200, tcc_at, 17}, true},
    {"an element past the header: parsed instead", {24, 23, 17}, true},
    {"an element in the fixed header: parsed instead", {24, 4, 17}, true},
    {"a header shorter than the fixed one: parsed instead", {8, 0, 0}, true},
    {"the writer found no elements: none written", {24, 0, 0}, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    f.shared = std::make_shared<send_shared>(f.endpoint);
    auto s = f.sender();
    const bytes got = f.send(s, 100, 48000, r.layout, now_us);
    if (r.same) {
      CHECK(got == parsed);
    } else {
      CHECK(got != parsed);
      CHECK(tcc_of(got) == 0); // no number written, and none used:
      CHECK(tcc_of(f.send(s, 101, 48960, std::nullopt, now_us)) == tcc_of(parsed));
    }
  }
}
