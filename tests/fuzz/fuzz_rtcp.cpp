// libFuzzer: compound RTCP (rtp/rtcp.hpp, rtcp_feedback.hpp, transport_cc.hpp): every packet
// of the compound parsed as each type it claims to be (SR, RR, SDES, BYE, NACK, PLI, FIR,
// REMB, transport-cc). A transport-cc feedback that parsed is written again
// (build_transport_cc) and that must parse to the same received/not-received pattern.
#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"
#include "rtp/transport_cc.hpp"

#include <cstdlib>
#include <cstddef>
#include <cstdint>

using namespace chorus::rtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rtcp_compound_reader reader({data, size});
  while (auto p = reader.next()) {
    (void)sender_report::parse(*p);
    (void)receiver_report::parse(*p);
    (void)source_description::parse(*p);
    (void)goodbye::parse(*p);
    if (auto n = generic_nack::parse(*p))
      (void)n->lost_sequence_numbers();
    (void)picture_loss_indication::parse(*p);
    (void)full_intra_request::parse(*p);
    (void)remb::parse(*p);
    if (auto fb = transport_cc_feedback::parse(*p)) {
      if (fb->packets.empty() || !fb->packets.front().received)
        continue; // the writer starts at a received packet's time base; nothing to compare
      auto again = build_transport_cc({fb->sender_ssrc, fb->media_ssrc, fb->fb_pkt_count}, fb->packets, 1500);
      if (!again)
        continue; // deltas the writer cannot carry (the parser takes what it may not write)
      size_t i = 0;
      for (auto& bytes : *again) {
        rtcp_compound_reader r2({bytes.data(), bytes.size()});
        auto p2 = r2.next();
        if (!p2)
          std::abort();
        auto fb2 = transport_cc_feedback::parse(*p2);
        if (!fb2)
          std::abort();
        for (auto& pa : fb2->packets) {
          if (i >= fb->packets.size() || pa.seq != fb->packets[i].seq ||
              pa.received != fb->packets[i].received)
            std::abort(); // parse(write(x)) must give x's pattern back
          ++i;
        }
      }
    }
  }
  return 0;
}
