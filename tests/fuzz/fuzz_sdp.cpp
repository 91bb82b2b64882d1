// libFuzzer: SDP (protocol/sdp.hpp), the offers WHIP and WHEP clients post. Whatever parses
// is written and must parse again to a description that writes the same text (a round-trip
// property: the writer never emits what the parser refuses or reads differently). What
// parses is also read as a WHIP and as a WHEP offer (protocol/whip_sdp.hpp,
// protocol/whep_sdp.hpp); an offer either reads, the answer written for it must parse.
#include "protocol/sdp.hpp"
#include "protocol/whep_sdp.hpp"
#include "protocol/whip_sdp.hpp"
#include "rtp/capabilities.hpp"
#include "rtp/ortc.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

using namespace chorus;

const rtp::rtp_capabilities& router() {
  static const rtp::rtp_capabilities caps = *rtp::generate_router_capabilities(rtp::default_media_codecs());
  return caps;
}

const protocol::transport_params& transport() {
  static const protocol::transport_params t = [] {
    protocol::transport_params p;
    p.ice_parameters = {"fuzzufrag", "fuzz-password-0123456789", true};
    p.ice_candidates = {{"udp1", 2130706431, "192.0.2.10", 40000, "udp", "host", ""}};
    p.dtls_parameters.fingerprints = {{"sha-256", "AA:BB"}};
    return p;
  }();
  return t;
}

// The answers to what reads as a WHIP or a WHEP offer parse.
void answer(const protocol::session_description& offer) {
  if (auto whip = protocol::read_whip_offer(offer, router()); whip.ok())
    if (!protocol::parse_sdp(protocol::write_whip_answer(offer, *whip, transport(), 1)).ok())
      std::abort();
  if (auto whep = protocol::read_whep_offer(offer, router()); whep.ok()) {
    std::vector<protocol::whep_stream> streams;
    uint32_t ssrc = 1000;
    for (const auto& slot : whep->slots) {
      // A consumer of the slot's first codec the router has, as the router would forward it.
      const auto& caps = slot.receive.capabilities;
      rtp::rtp_parameters consumable;
      for (const auto& c : caps.codecs)
        if (consumable.codecs.empty() && c.mime_type.find("/rtx") == std::string::npos)
          consumable.codecs.push_back({c.mime_type, uint8_t(c.preferred_payload_type), c.clock_rate,
                                       c.channels, c.parameters, c.rtcp_feedback});
      rtp::encoding_parameters e;
      e.ssrc = 1;
      consumable.encodings = {e};
      auto p = rtp::consumer_parameters(consumable, caps, {ssrc, ssrc + 1, slot.mid, "fuzz"});
      if (!p.ok())
        std::abort(); // a slot always has a codec the router forwards
      streams.push_back({slot.m_line, rtp::receiver_numbered(*p, slot.receive.map), "s t"});
      ssrc += 2;
    }
    if (!protocol::parse_sdp(protocol::write_whep_answer(offer, *whep, streams, transport(), 1)).ok())
      std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto d = chorus::protocol::parse_sdp(text);
  if (!d.ok())
    return 0;
  for (std::size_t i = 0; i < d->media.size(); ++i) {
    (void)d->effective_fingerprint(i);
    (void)d->media[i].send_rids();
    (void)d->media[i].fid_pairs();
    for (auto& c : d->media[i].codecs)
      (void)c.parameter("apt");
  }
  (void)d->all_candidates();
  const std::string written = chorus::protocol::write_sdp(*d);
  auto again = chorus::protocol::parse_sdp(written);
  if (!again.ok() || chorus::protocol::write_sdp(*again) != written)
    std::abort();
  answer(*d);
  return 0;
}
