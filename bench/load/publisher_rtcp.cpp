#include "bench/load/publisher_rtcp.hpp"

#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"

namespace chorus::bench {

namespace {

// The index of `ssrc` among the video SSRCs, or -1.
int video_index(std::span<const uint32_t> video_ssrcs, uint32_t ssrc) {
  for (std::size_t i = 0; i < video_ssrcs.size() && i < 32; ++i)
    if (video_ssrcs[i] == ssrc)
      return int(i);
  return -1;
}

} // namespace

void read_publisher_rtcp(std::span<const uint8_t> packet, uint32_t audio_ssrc,
                         uint32_t video_ssrc, publisher_rtcp_actions& out) {
  read_publisher_rtcp(packet, audio_ssrc, std::span<const uint32_t>(&video_ssrc, 1), out);
}

void read_publisher_rtcp(std::span<const uint8_t> packet, uint32_t audio_ssrc,
                         std::span<const uint32_t> video_ssrcs, publisher_rtcp_actions& out) {
  rtp::rtcp_compound_reader reader(packet);
  while (auto p = reader.next()) {
    if (p->header.type == uint8_t(rtp::rtcp_type::rtpfb) && p->header.count == rtp::rtpfb_nack) {
      auto nack = rtp::generic_nack::parse(*p);
      if (!nack)
        continue;
      const int video = video_index(video_ssrcs, nack->media_ssrc);
      if (video < 0 && nack->media_ssrc != audio_ssrc)
        continue;
      ++out.nack_packets;
      for (uint16_t seq : nack->lost_sequence_numbers()) {
        if (video < 0) {
          out.audio_nacked.push_back(seq);
        } else {
          out.video_nacked.push_back(seq);
          out.video_nacked_encoding.push_back(uint8_t(video));
        }
      }
    } else if (p->header.type == uint8_t(rtp::rtcp_type::psfb)) {
      uint32_t wanted = 0; // video SSRCs named
      if (p->header.count == rtp::psfb_pli) {
        if (auto pli = rtp::picture_loss_indication::parse(*p))
          if (int i = video_index(video_ssrcs, pli->media_ssrc); i >= 0)
            wanted |= 1u << i;
      } else if (p->header.count == rtp::psfb_fir) {
        if (auto fir = rtp::full_intra_request::parse(*p))
          for (auto& e : fir->entries)
            if (int i = video_index(video_ssrcs, e.ssrc); i >= 0)
              wanted |= 1u << i;
      }
      if (wanted) {
        ++out.keyframe_requests;
        out.keyframe_encodings |= wanted;
      }
    }
  }
}

} // namespace chorus::bench
