// Reply fixtures shared by the dialect tests (JSON and Socket.IO): one transport's
// parameters as a typed value and as the JSON every dialect must write for it, and one
// audio consumer's parameters.
#pragma once

#include "protocol/messages.hpp"

#include <string>

namespace chorus::test {

inline const std::string sample_fingerprint =
  "E5:57:7F:36:3E:63:6A:F9:48:F9:FF:C0:BB:1A:84:C4:23:67:F3:B2:63:7E:BE:DD:11:1D:8E:99:51:"
  "B7:1A:15";

inline protocol::transport_params sample_transport() {
  protocol::transport_params tp;
  tp.id = "t1";
  tp.ice_parameters = {"uf", "pw", true};
  tp.ice_candidates.push_back({"udpcandidate", 1076302079, "127.0.0.1", 40000, "udp", "host", ""});
  tp.dtls_parameters = {net::dtls_role::auto_, {{"sha-256", sample_fingerprint}}};
  return tp;
}

inline const std::string sample_transport_json =
  R"({"id":"t1","iceParameters":{"usernameFragment":"uf","password":"pw","iceLite":true},)"
  R"("iceCandidates":[{"foundation":"udpcandidate","priority":1076302079,"address":"127.0.0.1",)"
  R"("ip":"127.0.0.1","port":40000,"protocol":"udp","type":"host"}],"dtlsParameters":)"
  R"({"role":"auto","fingerprints":[{"algorithm":"sha-256","value":")" + sample_fingerprint +
  R"("}]}})";

// An audio consumer (opus, one encoding) of producer "p1" of peer "alice".
inline protocol::consumer_params_reply sample_consumer() {
  protocol::consumer_params_reply c;
  c.id = "c1";
  c.producer_id = "p1";
  c.kind = rtp::media_kind::audio;
  rtp::codec_parameters opus;
  opus.mime_type = "audio/opus";
  opus.payload_type = 100;
  opus.clock_rate = 48000;
  opus.channels = 2;
  c.rtp_parameters.mid = "0";
  c.rtp_parameters.codecs.push_back(opus);
  rtp::encoding_parameters enc;
  enc.ssrc = 11111111;
  c.rtp_parameters.encodings.push_back(enc);
  c.rtp_parameters.rtcp = {"chorus", true};
  c.peer_id = "alice";
  return c;
}

} // namespace chorus::test
