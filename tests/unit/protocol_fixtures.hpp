// Signaling fixtures captured from stock clients: mediasoup-client 3.18 (Chrome111 handler)
// over libwebrtc (@roamhq/wrtc), loaded with Chorus's default router capabilities. The
// producer payload types and header extension ids are the client's own (opus 111,
// VP8 96 / rtx 97, mid 4, ...); the device capabilities carry the router's.
#pragma once

#include <string>

namespace chorus::test {

inline const std::string wrtc_audio_rtp_parameters =
  R"_({"mid":"0","codecs":[{"mimeType":"audio/opus","payloadType":111,"clockRate":48000,"chann)_"
  R"_(els":2,"parameters":{"minptime":10,"useinbandfec":1},"rtcpFeedback":[{"type":"transport-)_"
  R"_(cc","parameter":""},{"type":"nack","parameter":""}]}],"headerExtensions":[{"uri":"urn:ie)_"
  R"_(tf:params:rtp-hdrext:sdes:mid","id":4,"encrypt":false,"parameters":{}},{"uri":"http://ww)_"
  R"_(w.webrtc.org/experiments/rtp-hdrext/abs-send-time","id":2,"encrypt":false,"parameters":{)_"
  R"_(}},{"uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01","i)_"
  R"_(d":3,"encrypt":false,"parameters":{}},{"uri":"urn:ietf:params:rtp-hdrext:ssrc-audio-leve)_"
  R"_(l","id":1,"encrypt":false,"parameters":{}},{"uri":"http://www.webrtc.org/experiments/rtp)_"
  R"_(-hdrext/abs-capture-time","id":5,"encrypt":false,"parameters":{}}],"encodings":[{"ssrc":)_"
  R"_(3152182575,"dtx":false}],"rtcp":{"cname":"ls0Gf2RqdGSh1VJh","reducedSize":true},"msid":")_"
  R"_(8ac34c83-13ea-4f5a-97ab-3c952e7549cd d4655d08-90f1-4046-b386-7caeb4d1b194"})_";

inline const std::string wrtc_video_rtp_parameters =
  R"_({"mid":"1","codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"paramet)_"
  R"_(ers":{},"rtcpFeedback":[{"type":"goog-remb","parameter":""},{"type":"transport-cc","para)_"
  R"_(meter":""},{"type":"ccm","parameter":"fir"},{"type":"nack","parameter":""},{"type":"nack)_"
  R"_(","parameter":"pli"}]},{"mimeType":"video/rtx","payloadType":97,"clockRate":90000,"param)_"
  R"_(eters":{"apt":96},"rtcpFeedback":[]}],"headerExtensions":[{"uri":"urn:ietf:params:rtp-hd)_"
  R"_(rext:sdes:mid","id":4,"encrypt":false,"parameters":{}},{"uri":"urn:ietf:params:rtp-hdrex)_"
  R"_(t:sdes:rtp-stream-id","id":10,"encrypt":false,"parameters":{}},{"uri":"urn:ietf:params:r)_"
  R"_(tp-hdrext:sdes:repaired-rtp-stream-id","id":11,"encrypt":false,"parameters":{}},{"uri":")_"
  R"_(http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time","id":2,"encrypt":false,"para)_"
  R"_(meters":{}},{"uri":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensio)_"
  R"_(ns-01","id":3,"encrypt":false,"parameters":{}},{"uri":"urn:3gpp:video-orientation","id":)_"
  R"_(13,"encrypt":false,"parameters":{}},{"uri":"urn:ietf:params:rtp-hdrext:toffset","id":14,)_"
  R"_("encrypt":false,"parameters":{}},{"uri":"http://www.webrtc.org/experiments/rtp-hdrext/ab)_"
  R"_(s-capture-time","id":9,"encrypt":false,"parameters":{}}],"encodings":[{"ssrc":3765408254)_"
  R"_(,"rtx":{"ssrc":859808516},"dtx":false}],"rtcp":{"cname":"ls0Gf2RqdGSh1VJh","reducedSize")_"
  R"_(:true},"msid":"8ac34c83-13ea-4f5a-97ab-3c952e7549cd ba92bc1b-b6dd-42c7-bb00-ed66cb91f8d1)_"
  R"_("})_";

inline const std::string wrtc_dtls_parameters =
  R"_({"role":"client","fingerprints":[{"algorithm":"sha-256","value":"E5:57:7F:36:3E:63:6A:F9)_"
  R"_(:48:F9:FF:C0:BB:1A:84:C4:23:67:F3:B2:63:7E:BE:DD:11:1D:8E:99:51:B7:1A:15"}]})_";

inline const std::string wrtc_device_rtp_capabilities =
  R"_({"codecs":[{"kind":"audio","mimeType":"audio/opus","preferredPayloadType":100,"clockRate)_"
  R"_(":48000,"channels":2,"parameters":{"minptime":10,"useinbandfec":1},"rtcpFeedback":[{"typ)_"
  R"_(e":"transport-cc","parameter":""},{"type":"nack","parameter":""}]},{"kind":"video","mime)_"
  R"_(Type":"video/VP8","preferredPayloadType":101,"clockRate":90000,"parameters":{},"rtcpFeed)_"
  R"_(back":[{"type":"goog-remb","parameter":""},{"type":"transport-cc","parameter":""},{"type)_"
  R"_(":"ccm","parameter":"fir"},{"type":"nack","parameter":""},{"type":"nack","parameter":"pl)_"
  R"_(i"}]},{"kind":"video","mimeType":"video/rtx","preferredPayloadType":102,"clockRate":9000)_"
  R"_(0,"parameters":{"apt":101},"rtcpFeedback":[]},{"kind":"video","mimeType":"video/VP9","pr)_"
  R"_(eferredPayloadType":103,"clockRate":90000,"parameters":{"profile-id":0},"rtcpFeedback":[)_"
  R"_({"type":"goog-remb","parameter":""},{"type":"transport-cc","parameter":""},{"type":"ccm")_"
  R"_(,"parameter":"fir"},{"type":"nack","parameter":""},{"type":"nack","parameter":"pli"}]},{)_"
  R"_("kind":"video","mimeType":"video/rtx","preferredPayloadType":104,"clockRate":90000,"para)_"
  R"_(meters":{"apt":103},"rtcpFeedback":[]}],"headerExtensions":[{"kind":"video","uri":"urn:i)_"
  R"_(etf:params:rtp-hdrext:sdes:mid","preferredId":1,"preferredEncrypt":false,"direction":"se)_"
  R"_(ndrecv"},{"kind":"video","uri":"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-ti)_"
  R"_(me","preferredId":4,"preferredEncrypt":false,"direction":"sendrecv"},{"kind":"video","ur)_"
  R"_(i":"http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01","preferre)_"
  R"_(dId":5,"preferredEncrypt":false,"direction":"sendrecv"},{"kind":"audio","uri":"urn:ietf:)_"
  R"_(params:rtp-hdrext:ssrc-audio-level","preferredId":10,"preferredEncrypt":false,"direction)_"
  R"_(":"sendrecv"},{"kind":"video","uri":"urn:3gpp:video-orientation","preferredId":11,"prefe)_"
  R"_(rredEncrypt":false,"direction":"sendrecv"},{"kind":"video","uri":"urn:ietf:params:rtp-hd)_"
  R"_(rext:toffset","preferredId":12,"preferredEncrypt":false,"direction":"sendrecv"}]})_";

} // namespace chorus::test
