#include "protocol/live_stream.hpp"

#include "protocol/recording.hpp"

#include <filesystem>
#include <string>

namespace chorus::protocol {

namespace {

constexpr std::size_t max_url_bytes = 2048;

std::string_view scheme_of(std::string_view url) {
  for (std::string_view s : {"rtmp://", "rtmps://"})
    if (url.size() > s.size() && url.substr(0, s.size()) == s)
      return s;
  return {};
}

} // namespace

live_input live_input_at(std::size_t index) {
  live_input in;
  if (index < live_video_inputs) {
    in.video = true;
    in.h264 = index % 2 == 1;
    in.payload_type = in.h264 ? live_h264_payload_type : live_vp8_payload_type;
    in.clock_rate = 90000;
  } else {
    in.payload_type = live_opus_payload_type;
    in.clock_rate = 48000;
  }
  return in;
}

result<std::string> check_live_url(std::string_view url) {
  if (url.size() > max_url_bytes)
    return failure{"url is longer than " + std::to_string(max_url_bytes) + " bytes"};
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7F)
      return failure{"url has a space or a control character"};
  const auto scheme = scheme_of(url);
  if (scheme.empty())
    return failure{"url must start with rtmp:// or rtmps://"};
  const auto rest = url.substr(scheme.size());
  const auto host_end = rest.find('/');
  const auto host = rest.substr(0, host_end);
  if (host.empty() || host.front() == ':' || host.find('@') != std::string_view::npos)
    return failure{"url has no host (or names a user)"};
  if (host_end == std::string_view::npos || host_end + 1 >= rest.size())
    return failure{"url has no application path (rtmp://HOST/APP/KEY)"};
  return std::string(url);
}

std::string redact_live_url(std::string_view url) {
  const auto scheme = scheme_of(url);
  if (scheme.empty())
    return "(not an RTMP URL)";
  const auto rest = url.substr(scheme.size());
  const auto host_end = rest.find('/');
  if (host_end == std::string_view::npos)
    return std::string(url);
  const auto app_end = rest.find('/', host_end + 1);
  if (app_end == std::string_view::npos)
    return std::string(url);
  return std::string(scheme) + std::string(rest.substr(0, app_end)) + "/...";
}

live_destination live_destination_of(std::string_view room_id, std::string_view rtmp_url) {
  if (rtmp_url.empty())
    return {"hls", "/live/" + std::string(room_id) + "/index.m3u8"};
  return {"rtmp", redact_live_url(rtmp_url)};
}

std::string live_room_directory(std::string_view directory, std::string_view room_id) {
  return (std::filesystem::path(directory) / file_part(room_id)).string();
}

std::string live_inputs_sdp(const std::vector<uint16_t>& ports) {
  std::string s = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=chorus live\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n";
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const auto in = live_input_at(i);
    const auto pt = std::to_string(in.payload_type);
    s += std::string(in.video ? "m=video " : "m=audio ") + std::to_string(ports[i]) +
         " RTP/AVP " + pt + "\r\n";
    if (!in.video)
      s += "a=rtpmap:" + pt + " opus/48000/2\r\n";
    else if (in.h264)
      s += "a=rtpmap:" + pt + " H264/90000\r\na=fmtp:" + pt + " packetization-mode=1\r\n";
    else
      s += "a=rtpmap:" + pt + " VP8/90000\r\n";
    s += "a=recvonly\r\n";
  }
  return s;
}

std::vector<std::string> live_ffmpeg_args(const std::string& sdp_path, const std::string& rtmp_url,
                                          const std::string& hls_dir, const live_encoding& enc) {
  const auto fps = std::to_string(enc.fps);
  std::vector<std::string> a{
    "-hide_banner", "-nostdin", "-loglevel", "warning", "-y",
    "-protocol_whitelist", "file,udp,rtp",
    // Every input is fed from the start (filler, silence): a short probe is enough.
    "-analyzeduration", "1000000", "-probesize", "5000000",
    // A source's size changes (simulcast, another sender): the scalers follow it in place.
    "-reinit_filter", "0",
    "-i", sdp_path,
    "-f", "lavfi", "-i", "color=c=black:s=1280x720:r=" + fps};
  // Each video input: scaled to its box (a filler to 2x2), then placed; a 2x2 picture goes
  // off the canvas. `eval=frame`: re-evaluated as the input's size changes.
  std::string g;
  auto box = [](std::size_t i, int w, int h) {
    const auto W = std::to_string(w), H = std::to_string(h);
    return "[0:" + std::to_string(i) + "]scale=w='if(lte(iw,16),2," + W + ")':h='if(lte(ih,16),2," +
           H + ")':force_original_aspect_ratio=decrease:eval=frame[v" + std::to_string(i) + "];";
  };
  g += box(0, 1280, 720) + box(1, 1280, 720) + box(2, 320, 180) + box(3, 320, 180);
  const std::string hidden = "if(lte(w,2),-64,";
  const std::string main_xy = "=x='" + hidden + "(W-w)/2)':y='" + hidden + "(H-h)/2)'";
  const std::string pip_xy = "=x='" + hidden + "W-w-24)':y='" + hidden + "H-h-24)'";
  const std::string common = ":eof_action=repeat:repeatlast=1:eval=frame";
  g += "[1:v][v0]overlay" + main_xy + common + "[c0];";
  g += "[c0][v1]overlay" + main_xy + common + "[c1];";
  g += "[c1][v2]overlay" + pip_xy + common + "[c2];";
  g += "[c2][v3]overlay" + pip_xy + common + ",fps=" + fps + ",format=yuv420p[vout];";
  for (std::size_t i = 0; i < live_audio_inputs; ++i)
    g += "[0:" + std::to_string(live_video_inputs + i) + "]";
  g += "amix=inputs=" + std::to_string(live_audio_inputs) +
       ":duration=longest:dropout_transition=0:normalize=0,aresample=async=1000[aout]";
  const auto gop = std::to_string(enc.fps * 2);
  const auto vk = std::to_string(enc.video_kbps) + "k";
  for (std::string s : {"-filter_complex", g.c_str(), "-map", "[vout]", "-map", "[aout]",
                        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
                        "-profile:v", "main"})
    a.push_back(std::move(s));
  for (std::string s : {"-g", gop.c_str(), "-keyint_min", gop.c_str(), "-sc_threshold", "0",
                        "-b:v", vk.c_str(), "-maxrate", vk.c_str()})
    a.push_back(std::move(s));
  a.push_back("-bufsize");
  a.push_back(std::to_string(enc.video_kbps * 2) + "k");
  for (std::string s : {"-c:a", "aac", "-ar", "48000", "-ac", "2", "-b:a"})
    a.push_back(std::move(s));
  a.push_back(std::to_string(enc.audio_kbps) + "k");
  if (!rtmp_url.empty()) {
    for (std::string s : {"-f", "flv", "-flvflags", "no_duration_filesize"})
      a.push_back(std::move(s));
    a.push_back(rtmp_url);
    return a;
  }
  for (std::string s : {"-f", "hls", "-hls_time", "2", "-hls_list_size"})
    a.push_back(std::move(s));
  a.push_back(std::to_string(enc.hls_list_size));
  a.push_back("-hls_flags");
  std::string flags = "independent_segments";
  if (enc.continuing)
    flags += "+append_list+discont_start";
  if (enc.hls_list_size != 0)
    flags += "+delete_segments";
  a.push_back(flags);
  if (enc.hls_list_size == 0) {
    a.push_back("-hls_playlist_type");
    a.push_back("event");
  }
  a.push_back("-hls_segment_filename");
  a.push_back(hls_dir + "/segment_%05d.ts");
  a.push_back(hls_dir + "/index.m3u8");
  return a;
}

} // namespace chorus::protocol
