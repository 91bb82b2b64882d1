// The server's side of one RTMP connection from an encoder that publishes (OBS, FFmpeg,
// hardware encoders): the simple handshake (C0 C1 -> S0 S1 S2, then C2), the chunk stream
// (protocol/rtmp_chunks.hpp), and the commands of a publish in AMF0 (protocol/amf0.hpp):
// connect, releaseStream, FCPublish, createStream, publish, then audio and video messages
// until FCUnpublish, deleteStream or the connection's end. Pure: bytes in; bytes to send,
// the publish to decide, and the media out.
//
// The application decides a publish (the stream key is a token): accept() answers
// NetStream.Publish.Start, refuse() NetStream.Publish.BadName / Unauthorized (then the
// connection is closed). Audio and video are given out only after accept(), as FLV tag
// bodies with their timestamps; media before it, or on another message stream, is dropped
// and counted. Acknowledgements follow the peer's window (its Window Acknowledgement Size),
// and pings are answered. Play requests are refused: this endpoint only takes streams in.
#pragma once

#include "common/result.hpp"
#include "protocol/amf0.hpp"
#include "protocol/rtmp_chunks.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chorus::protocol {

inline constexpr std::size_t rtmp_handshake_bytes = 1536;
// The chunk size Chorus sends with (it says so first, with Set Chunk Size).
inline constexpr uint32_t rtmp_out_chunk_size = 4096;
// The acknowledgement window and peer bandwidth Chorus announces.
inline constexpr uint32_t rtmp_window = 2500000;

struct rtmp_publish_request {
  std::string app;        // connect's app ("live" in rtmp://host/live/KEY)
  std::string tc_url;     // connect's tcUrl
  std::string stream_key; // publish's name (KEY)
};

// An audio or video message: an FLV tag's type and body (protocol/flv.hpp).
struct rtmp_media {
  uint8_t type = 0; // rtmp_type::audio or rtmp_type::video
  uint32_t timestamp = 0;
  std::vector<uint8_t> data;
};

struct rtmp_output {
  std::vector<uint8_t> send;                   // to write to the peer, in order
  std::optional<rtmp_publish_request> publish; // asked now: accept() or refuse() it
  std::vector<rtmp_media> media;
  bool unpublished = false; // the peer ended its stream (FCUnpublish, deleteStream, closeStream)
};

class rtmp_publish_session {
public:
  enum class phase : uint8_t { c0c1, c2, commands, publish_asked, publishing, ended };

  // The bytes the peer sent, in order. An error (a broken handshake or chunk stream, a
  // command that does not parse) means the connection must be closed.
  result<bool> receive(std::span<const uint8_t> bytes, rtmp_output& out);
  void accept(rtmp_output& out);
  void refuse(std::string_view code, std::string_view description, rtmp_output& out);

  phase at() const noexcept { return phase_; }
  const rtmp_publish_request& request() const noexcept { return request_; }
  uint64_t media_dropped() const noexcept { return media_dropped_; }

private:
  result<bool> read_messages(std::span<const uint8_t> bytes, rtmp_output& out);
  result<bool> on_message(rtmp_message& m, rtmp_output& out);
  result<bool> on_command(const std::vector<amf0_value>& values, const rtmp_message& m, rtmp_output& out);
  void send_command(rtmp_output& out, uint32_t chunk_stream, uint32_t stream_id,
                    const std::vector<amf0_value>& values);
  void send_control(rtmp_output& out, uint8_t type, std::span<const uint8_t> payload);

  phase phase_ = phase::c0c1;
  std::vector<uint8_t> handshake_;
  rtmp_chunk_reader reader_;
  uint32_t out_chunk_size_ = 128;
  uint64_t received_ = 0;
  uint64_t acknowledged_ = 0;
  uint32_t peer_window_ = 0; // 0: the peer set none, no acknowledgements
  uint32_t publish_stream_ = 0;
  rtmp_publish_request request_;
  uint64_t media_dropped_ = 0;
};

} // namespace chorus::protocol
