#include "protocol/recording.hpp"

#include "common/text.hpp"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

namespace chorus::protocol {

namespace {

using text::iequals;

std::string_view codec_name(std::string_view mime) noexcept {
  auto slash = mime.find('/');
  return slash == std::string_view::npos ? mime : mime.substr(slash + 1);
}

template <class Writer>
void write_manifest(Writer& w, const recording_manifest& m) {
  auto str = [&](std::string_view k, std::string_view v) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto num = [&](std::string_view k, int64_t v) {
    w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    w.Int64(v);
  };
  w.StartObject();
  str("version", "1");
  str("recordingId", m.recording_id);
  str("roomId", m.room_id);
  if (!m.started_by.empty())
    str("startedBy", m.started_by);
  str("startedAt", iso_utc(m.started_at_ms));
  num("startedAtMs", m.started_at_ms);
  if (m.stopped_at_ms != 0) {
    str("stoppedAt", iso_utc(m.stopped_at_ms));
    num("stoppedAtMs", m.stopped_at_ms);
    num("durationMs", m.stopped_at_ms - m.started_at_ms);
  }
  if (m.updated_at_ms != 0)
    num("updatedAtMs", m.updated_at_ms);
  w.Key("tracks");
  w.StartArray();
  for (auto& t : m.tracks) {
    w.StartObject();
    str("producerId", t.producer_id);
    str("peerId", t.peer_id);
    if (!t.user_id.empty())
      str("userId", t.user_id);
    str("name", t.name);
    str("kind", t.kind);
    str("source", t.source);
    str("codec", t.codec);
    if (!t.node.empty())
      str("node", t.node);
    w.Key("segments");
    w.StartArray();
    for (auto& s : t.segments) {
      w.StartObject();
      str("file", s.file);
      w.Key("hasMedia");
      w.Bool(s.has_media);
      num("startOffsetMs", s.start_offset_ms);
      num("durationMs", s.duration_ms);
      if (!s.ended.empty())
        str("ended", s.ended);
      if (s.exit_status != 0)
        num("exitStatus", s.exit_status);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  if (!m.gaps.empty()) {
    w.Key("gaps");
    w.StartArray();
    for (auto& g : m.gaps) {
      w.StartObject();
      if (g.from_ms >= 0)
        num("fromMs", g.from_ms);
      num("toMs", g.to_ms);
      str("node", g.node);
      str("reason", g.reason);
      w.EndObject();
    }
    w.EndArray();
  }
  w.Key("errors");
  w.StartArray();
  for (auto& e : m.errors)
    w.String(e.data(), static_cast<rapidjson::SizeType>(e.size()));
  w.EndArray();
  w.EndObject();
}

} // namespace

std::optional<recording_container> container_for(std::string_view mime) noexcept {
  auto name = codec_name(mime);
  if (iequals(name, "opus") || iequals(name, "vp8"))
    return recording_container{"webm", "webm"};
  // Debian 12's FFmpeg (5.1) reads VP9 over RTP only as an experimental feature, and even
  // FFmpeg's own VP9 RTP stream came out of it as an empty WebM file: Chorus depacketizes
  // VP9 itself and hands ffmpeg IVF.
  if (iequals(name, "vp9"))
    return recording_container{"webm", "webm", true};
  // FFmpeg 5.1 has no AV1 RTP reader at all: the same, into Matroska.
  if (iequals(name, "av1"))
    return recording_container{"mkv", "matroska", true};
  if (iequals(name, "h264") || iequals(name, "h265"))
    return recording_container{"mkv", "matroska"};
  return std::nullopt;
}

std::string recording_sdp(rtp::media_kind kind, const rtp::codec_parameters& codec,
                          std::string_view ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string_view::npos;
  const std::string addr = std::string(v6 ? "IP6 " : "IP4 ") + std::string(ip);
  const auto pt = std::to_string(codec.payload_type);
  std::string s;
  s += "v=0\r\n";
  s += "o=- 0 0 IN " + addr + "\r\n";
  s += "s=chorus recording\r\n";
  s += "c=IN " + addr + "\r\n";
  s += "t=0 0\r\n";
  s += std::string("m=") + (kind == rtp::media_kind::audio ? "audio " : "video ") +
       std::to_string(port) + " RTP/AVP " + pt + "\r\n";
  s += "a=rtpmap:" + pt + " " + std::string(codec_name(codec.mime_type)) + "/" +
       std::to_string(codec.clock_rate);
  if (kind == rtp::media_kind::audio && codec.channels > 1)
    s.append("/").append(std::to_string(codec.channels));
  s += "\r\n";
  if (!codec.parameters.empty()) {
    std::string fmtp;
    for (auto& p : codec.parameters) {
      if (!fmtp.empty())
        fmtp += ";";
      fmtp += p.key + "=" + p.value;
    }
    s += "a=fmtp:" + pt + " " + fmtp + "\r\n";
  }
  s += "a=recvonly\r\n";
  return s;
}

std::string file_part(std::string_view text, std::size_t max) {
  std::string out;
  for (char ch : text) {
    if (out.size() >= max)
      break;
    auto c = static_cast<unsigned char>(ch);
    out.push_back(std::isalnum(c) || c == '-' || c == '_' || c == '.' ? ch : '_');
  }
  if (!out.empty() && out.front() == '.')
    out.front() = '_';
  return out.empty() ? "unnamed" : out;
}

namespace {
std::tm utc_of(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
} // namespace

std::string compact_utc(int64_t unix_ms) {
  auto tm = utc_of(unix_ms);
  char buf[64]; // room for any int in each field, as GCC checks the format
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string iso_utc(int64_t unix_ms) {
  auto tm = utc_of(unix_ms);
  char buf[64]; // room for any int in each field, as GCC checks the format
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

std::string manifest_json(const recording_manifest& m, bool pretty) {
  rapidjson::StringBuffer buf;
  if (pretty) {
    rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buf);
    w.SetIndent(' ', 2);
    write_manifest(w, m);
  } else {
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    write_manifest(w, m);
  }
  return std::string(buf.GetString(), buf.GetSize());
}

namespace {

std::string member_string(const rapidjson::Value& o, const char* key) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsString()
           ? std::string(it->value.GetString(), it->value.GetStringLength())
           : std::string{};
}

int64_t member_int(const rapidjson::Value& o, const char* key, int64_t otherwise = 0) {
  auto it = o.FindMember(key);
  return it != o.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : otherwise;
}

} // namespace

std::optional<recording_manifest> manifest_from_json(std::string_view json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject() || member_string(d, "version") != "1")
    return std::nullopt;
  recording_manifest m;
  m.recording_id = member_string(d, "recordingId");
  m.room_id = member_string(d, "roomId");
  m.started_by = member_string(d, "startedBy");
  m.started_at_ms = member_int(d, "startedAtMs");
  m.stopped_at_ms = member_int(d, "stoppedAtMs");
  m.updated_at_ms = member_int(d, "updatedAtMs");
  if (m.recording_id.empty() || m.started_at_ms <= 0)
    return std::nullopt;
  if (auto tracks = d.FindMember("tracks"); tracks != d.MemberEnd() && tracks->value.IsArray())
    for (auto& t : tracks->value.GetArray()) {
      if (!t.IsObject())
        return std::nullopt;
      manifest_track mt;
      mt.producer_id = member_string(t, "producerId");
      mt.peer_id = member_string(t, "peerId");
      mt.user_id = member_string(t, "userId");
      mt.name = member_string(t, "name");
      mt.kind = member_string(t, "kind");
      mt.source = member_string(t, "source");
      mt.codec = member_string(t, "codec");
      mt.node = member_string(t, "node");
      if (auto segs = t.FindMember("segments"); segs != t.MemberEnd() && segs->value.IsArray())
        for (auto& x : segs->value.GetArray()) {
          if (!x.IsObject())
            return std::nullopt;
          manifest_segment seg;
          seg.file = member_string(x, "file");
          auto media = x.FindMember("hasMedia");
          seg.has_media = media != x.MemberEnd() && media->value.IsBool() && media->value.GetBool();
          seg.start_offset_ms = member_int(x, "startOffsetMs");
          seg.duration_ms = member_int(x, "durationMs");
          seg.ended = member_string(x, "ended");
          seg.exit_status = static_cast<int>(member_int(x, "exitStatus"));
          mt.segments.push_back(std::move(seg));
        }
      m.tracks.push_back(std::move(mt));
    }
  if (auto gaps = d.FindMember("gaps"); gaps != d.MemberEnd() && gaps->value.IsArray())
    for (auto& g : gaps->value.GetArray()) {
      if (!g.IsObject())
        return std::nullopt;
      m.gaps.push_back({member_int(g, "fromMs", -1), member_int(g, "toMs"),
                        member_string(g, "node"), member_string(g, "reason")});
    }
  if (auto errors = d.FindMember("errors"); errors != d.MemberEnd() && errors->value.IsArray())
    for (auto& e : errors->value.GetArray())
      if (e.IsString())
        m.errors.emplace_back(e.GetString(), e.GetStringLength());
  return m;
}

recording_manifest resume_manifest(recording_manifest earlier, int64_t now_ms,
                                   const std::string& node) {
  // The last moment the earlier part accounts for: its stop (a move), else the later of its
  // last write and the end of its segments (a lost home).
  int64_t last = earlier.stopped_at_ms;
  if (last == 0) {
    last = earlier.updated_at_ms;
    for (auto& t : earlier.tracks)
      for (auto& seg : t.segments) {
        if (seg.has_media)
          last = std::max(last, earlier.started_at_ms + seg.start_offset_ms + seg.duration_ms);
        if (seg.ended.empty())
          seg.ended = "home-lost";
      }
  }
  if (last == 0)
    last = earlier.started_at_ms;
  earlier.stopped_at_ms = 0;
  // A move's parts may overlap (the new home starts before the former one has stopped its
  // own): then the gap is a seam, from and to the same moment.
  const int64_t from = std::max<int64_t>(0, last - earlier.started_at_ms);
  earlier.gaps.push_back({from, std::max<int64_t>(from, now_ms - earlier.started_at_ms), node,
                          "home-changed"});
  return earlier;
}

recording_manifest join_manifests(recording_manifest joined, const recording_manifest& later,
                                  std::vector<std::size_t>& index_map) {
  index_map.clear();
  for (auto& t : later.tracks) {
    auto it = std::find_if(joined.tracks.begin(), joined.tracks.end(),
                           [&](const manifest_track& x) { return x.producer_id == t.producer_id; });
    if (it == joined.tracks.end()) {
      index_map.push_back(joined.tracks.size());
      joined.tracks.push_back(t);
      continue;
    }
    index_map.push_back(static_cast<std::size_t>(it - joined.tracks.begin()));
    it->node = t.node;
    it->segments.insert(it->segments.end(), t.segments.begin(), t.segments.end());
  }
  for (auto& e : later.errors)
    joined.errors.push_back(e);
  return joined;
}

} // namespace chorus::protocol
