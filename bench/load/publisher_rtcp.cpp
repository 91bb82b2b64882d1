#include "bench/load/publisher_rtcp.hpp"

#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"

namespace chorus::bench {

void read_publisher_rtcp(std::span<const uint8_t> packet, uint32_t audio_ssrc,
                         uint32_t video_ssrc, publisher_rtcp_actions& out) {
  rtp::rtcp_compound_reader reader(packet);
  while (auto p = reader.next()) {
    if (p->header.type == uint8_t(rtp::rtcp_type::rtpfb) && p->header.count == rtp::rtpfb_nack) {
      auto nack = rtp::generic_nack::parse(*p);
      if (!nack)
        continue;
      const bool video = nack->media_ssrc == video_ssrc;
      if (!video && nack->media_ssrc != audio_ssrc)
        continue;
      ++out.nack_packets;
      auto& to = video ? out.video_nacked : out.audio_nacked;
      for (uint16_t seq : nack->lost_sequence_numbers())
        to.push_back(seq);
    } else if (p->header.type == uint8_t(rtp::rtcp_type::psfb)) {
      bool wanted = false;
      if (p->header.count == rtp::psfb_pli) {
        auto pli = rtp::picture_loss_indication::parse(*p);
        wanted = pli && pli->media_ssrc == video_ssrc;
      } else if (p->header.count == rtp::psfb_fir) {
        if (auto fir = rtp::full_intra_request::parse(*p))
          for (auto& e : fir->entries)
            wanted = wanted || e.ssrc == video_ssrc;
      }
      if (wanted)
        ++out.keyframe_requests;
    }
  }
}

} // namespace chorus::bench
