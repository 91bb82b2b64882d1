#include "bench/janus/sdp.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <sstream>

namespace chorus::janus {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::string upper(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return r;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
      ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t')
      ++j;
    if (j > i)
      out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

template <class T>
bool to_num(std::string_view s, T& out) {
  if (s.empty())
    return false;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v > uint64_t(std::numeric_limits<T>::max()))
    return false;
  out = static_cast<T>(v);
  return true;
}

// "key:value" attribute split; value empty for flags ("a=rtcp-mux").
std::pair<std::string_view, std::string_view> split_attr(std::string_view a) {
  auto c = a.find(':');
  if (c == std::string_view::npos)
    return {a, {}};
  return {a.substr(0, c), a.substr(c + 1)};
}

std::optional<sdp_fingerprint> parse_fingerprint(std::string_view v) {
  auto parts = split_ws(v);
  if (parts.size() != 2)
    return std::nullopt;
  return sdp_fingerprint{lower(parts[0]), upper(parts[1])};
}

bool is_direction(std::string_view a) {
  return a == "sendrecv" || a == "sendonly" || a == "recvonly" || a == "inactive";
}

sdp_codec* find_or_add_codec(sdp_media& m, uint8_t pt) {
  for (auto& c : m.codecs)
    if (c.payload_type == pt)
      return &c;
  return nullptr;
}

void add_ssrc(sdp_media& m, uint32_t ssrc) {
  if (std::find(m.ssrcs.begin(), m.ssrcs.end(), ssrc) == m.ssrcs.end())
    m.ssrcs.push_back(ssrc);
}

} // namespace

// ---- candidates ------------------------------------------------------------------------

std::string sdp_candidate::to_attribute() const {
  std::ostringstream o;
  o << "candidate:" << foundation << ' ' << component << ' ' << transport << ' ' << priority
    << ' ' << address << ' ' << port << " typ " << type;
  return o.str();
}

result<sdp_candidate> parse_candidate(std::string_view line) {
  if (line.starts_with("a="))
    line.remove_prefix(2);
  if (!line.starts_with("candidate:"))
    return failure{"not a candidate attribute"};
  line.remove_prefix(10);
  auto f = split_ws(line);
  // foundation component transport priority address port "typ" type [extensions]
  if (f.size() < 8 || f[6] != "typ")
    return failure{"malformed candidate: " + std::string(line)};
  sdp_candidate c;
  c.foundation = std::string(f[0]);
  c.transport = lower(f[2]);
  c.address = std::string(f[4]);
  c.type = std::string(f[7]);
  if (!to_num(f[1], c.component) || !to_num(f[3], c.priority) || !to_num(f[5], c.port))
    return failure{"malformed candidate numbers: " + std::string(line)};
  return c;
}

// ---- parse -----------------------------------------------------------------------------

const sdp_codec* sdp_media::codec(std::string_view name) const {
  for (auto& c : codecs)
    if (iequals(c.name, name))
      return &c;
  return nullptr;
}

const sdp_codec* sdp_media::codec(uint8_t payload_type) const {
  for (auto& c : codecs)
    if (c.payload_type == payload_type)
      return &c;
  return nullptr;
}

std::optional<uint8_t> sdp_media::extmap_id(std::string_view uri) const {
  for (auto& e : extmaps)
    if (e.uri == uri)
      return e.id;
  return std::nullopt;
}

const std::string& session_description::effective_ufrag(std::size_t m) const {
  return m < media.size() && !media[m].ice_ufrag.empty() ? media[m].ice_ufrag : ice_ufrag;
}
const std::string& session_description::effective_pwd(std::size_t m) const {
  return m < media.size() && !media[m].ice_pwd.empty() ? media[m].ice_pwd : ice_pwd;
}
const std::optional<sdp_fingerprint>&
session_description::effective_fingerprint(std::size_t m) const {
  return m < media.size() && media[m].fingerprint ? media[m].fingerprint : fingerprint;
}
const std::string& session_description::effective_setup(std::size_t m) const {
  return m < media.size() && !media[m].setup.empty() ? media[m].setup : setup;
}

std::vector<sdp_candidate> session_description::all_candidates() const {
  std::vector<sdp_candidate> out;
  for (auto& m : media)
    for (auto& c : m.candidates) {
      bool dup = std::any_of(out.begin(), out.end(), [&](const sdp_candidate& o) {
        return o.address == c.address && o.port == c.port && o.transport == c.transport &&
               o.component == c.component;
      });
      if (!dup)
        out.push_back(c);
    }
  return out;
}

const sdp_media* session_description::find_kind(std::string_view kind) const {
  for (auto& m : media)
    if (m.kind == kind)
      return &m;
  return nullptr;
}

result<session_description> parse_sdp(std::string_view text) {
  session_description d;
  bool saw_version = false;
  sdp_media* cur = nullptr;
  std::size_t line_no = 0;
  auto fail = [&](std::string why) {
    return failure{"SDP line " + std::to_string(line_no) + ": " + why};
  };

  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos)
      end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      continue;
    if (line.size() < 2 || line[1] != '=')
      return fail("not a type=value line");
    const char type = line[0];
    std::string_view value = line.substr(2);

    if (type == 'v') {
      if (value != "0")
        return fail("unsupported version");
      saw_version = true;
      continue;
    }
    if (!saw_version)
      return fail("v=0 must come first");

    if (type == 'o') {
      auto f = split_ws(value);
      if (f.size() != 6)
        return fail("malformed o= line");
      d.origin_session_id = std::string(f[1]);
      d.origin_version = std::string(f[2]);
      continue;
    }
    if (type == 'm') {
      auto f = split_ws(value);
      if (f.size() < 3)
        return fail("malformed m= line");
      sdp_media m;
      m.kind = std::string(f[0]);
      auto port = f[1].substr(0, f[1].find('/'));
      if (!to_num(port, m.port))
        return fail("bad m= port");
      m.protocol = std::string(f[2]);
      for (std::size_t i = 3; i < f.size(); ++i)
        m.formats.emplace_back(f[i]);
      d.media.push_back(std::move(m));
      cur = &d.media.back();
      continue;
    }
    if (type != 'a')
      continue; // s=, t=, c=, b= ...: not needed

    auto [key, val] = split_attr(value);
    if (!cur) {
      // session level
      if (key == "group") {
        auto f = split_ws(val);
        if (!f.empty() && f[0] == "BUNDLE")
          for (std::size_t i = 1; i < f.size(); ++i)
            d.bundle_mids.emplace_back(f[i]);
      } else if (key == "ice-lite") {
        d.ice_lite = true;
      } else if (key == "ice-ufrag") {
        d.ice_ufrag = std::string(val);
      } else if (key == "ice-pwd") {
        d.ice_pwd = std::string(val);
      } else if (key == "fingerprint") {
        d.fingerprint = parse_fingerprint(val);
        if (!d.fingerprint)
          return fail("malformed fingerprint");
      } else if (key == "setup") {
        d.setup = std::string(val);
      } else if (key == "msid-semantic") {
        d.msid_semantic = std::string(val);
      }
      continue;
    }

    sdp_media& m = *cur;
    if (key == "mid") {
      m.mid = std::string(val);
    } else if (is_direction(key)) {
      m.direction = std::string(key);
    } else if (key == "rtcp-mux") {
      m.rtcp_mux = true;
    } else if (key == "rtcp-rsize") {
      m.rtcp_rsize = true;
    } else if (key == "ice-ufrag") {
      m.ice_ufrag = std::string(val);
    } else if (key == "ice-pwd") {
      m.ice_pwd = std::string(val);
    } else if (key == "fingerprint") {
      m.fingerprint = parse_fingerprint(val);
      if (!m.fingerprint)
        return fail("malformed fingerprint");
    } else if (key == "setup") {
      m.setup = std::string(val);
    } else if (key == "candidate") {
      auto c = parse_candidate(value);
      if (!c)
        return fail(c.error());
      m.candidates.push_back(std::move(*c));
    } else if (key == "end-of-candidates") {
      m.end_of_candidates = true;
    } else if (key == "msid") {
      m.msid = std::string(val);
    } else if (key == "rtpmap") {
      // <pt> <name>/<rate>[/<channels>]
      auto f = split_ws(val);
      if (f.size() != 2)
        return fail("malformed rtpmap");
      sdp_codec c;
      if (!to_num(f[0], c.payload_type) || c.payload_type > 127)
        return fail("bad rtpmap payload type");
      auto enc = f[1];
      auto s1 = enc.find('/');
      if (s1 == std::string_view::npos)
        return fail("rtpmap without clock rate");
      c.name = std::string(enc.substr(0, s1));
      auto rest = enc.substr(s1 + 1);
      auto s2 = rest.find('/');
      if (!to_num(rest.substr(0, s2), c.clock_rate))
        return fail("bad rtpmap clock rate");
      if (s2 != std::string_view::npos && !to_num(rest.substr(s2 + 1), c.channels))
        return fail("bad rtpmap channels");
      if (sdp_codec* existing = find_or_add_codec(m, c.payload_type)) {
        if (!existing->name.empty())
          return fail("duplicate rtpmap");
        // created by an earlier a=rtcp-fb / a=fmtp: keep its feedback and parameters
        existing->name = std::move(c.name);
        existing->clock_rate = c.clock_rate;
        existing->channels = c.channels;
      } else {
        m.codecs.push_back(std::move(c));
      }
    } else if (key == "rtcp-fb" || key == "fmtp") {
      auto sp = val.find(' ');
      if (sp == std::string_view::npos)
        return fail("malformed " + std::string(key));
      uint8_t pt = 0;
      auto pts = val.substr(0, sp);
      auto rest = val.substr(sp + 1);
      if (pts == "*") {
        if (key == "rtcp-fb")
          for (auto& c : m.codecs)
            c.feedback.emplace_back(rest);
        continue;
      }
      if (!to_num(pts, pt))
        return fail("bad payload type in " + std::string(key));
      // a=rtcp-fb / a=fmtp may precede a=rtpmap in some writers: create the entry.
      sdp_codec* c = find_or_add_codec(m, pt);
      if (!c) {
        m.codecs.push_back(sdp_codec{pt, {}, 0, 0, {}, {}});
        c = &m.codecs.back();
      }
      if (key == "rtcp-fb")
        c->feedback.emplace_back(rest);
      else
        c->fmtp = std::string(rest);
    } else if (key == "extmap") {
      auto f = split_ws(val);
      if (f.size() < 2)
        return fail("malformed extmap");
      sdp_extmap e;
      auto id = f[0].substr(0, f[0].find('/')); // "<id>/<direction>"
      if (!to_num(id, e.id) || e.id == 0 || e.id > 14)
        return fail("bad extmap id");
      e.uri = std::string(f[1]);
      m.extmaps.push_back(std::move(e));
    } else if (key == "ssrc") {
      auto sp = val.find(' ');
      uint32_t ssrc = 0;
      if (!to_num(val.substr(0, sp), ssrc))
        return fail("bad ssrc");
      add_ssrc(m, ssrc);
      if (sp != std::string_view::npos) {
        auto attr = val.substr(sp + 1);
        if (attr.starts_with("cname:") && m.cname.empty())
          m.cname = std::string(attr.substr(6));
      }
    } else if (key == "ssrc-group") {
      auto f = split_ws(val);
      if (f.size() == 3 && f[0] == "FID") {
        uint32_t a = 0, b = 0;
        if (!to_num(f[1], a) || !to_num(f[2], b))
          return fail("bad ssrc-group");
        m.fid_groups.emplace_back(a, b);
        add_ssrc(m, a);
        add_ssrc(m, b);
      }
    }
  }
  if (!saw_version)
    return failure{"empty SDP"};
  // Formats listed on the m-line only (static payload types without rtpmap) are ignored;
  // entries created by rtcp-fb/fmtp without an rtpmap are dropped.
  for (auto& m : d.media)
    std::erase_if(m.codecs, [](const sdp_codec& c) { return c.name.empty(); });
  return d;
}

// ---- build -----------------------------------------------------------------------------

namespace {

void write_transport(std::ostringstream& o, const local_transport_params& t) {
  o << "a=ice-ufrag:" << t.ice_ufrag << "\r\n";
  o << "a=ice-pwd:" << t.ice_pwd << "\r\n";
  o << "a=ice-options:trickle\r\n";
  o << "a=fingerprint:" << t.fingerprint.algorithm << ' ' << t.fingerprint.value << "\r\n";
}

void write_connection(std::ostringstream& o, std::string_view kind, std::string_view formats,
                      const local_transport_params& t, bool rejected = false) {
  const uint16_t port = rejected ? 0 : (t.candidate ? t.candidate->port : 9);
  const std::string addr = t.candidate ? t.candidate->address : "0.0.0.0";
  o << "m=" << kind << ' ' << port << " UDP/TLS/RTP/SAVPF " << formats << "\r\n";
  o << "c=IN IP4 " << addr << "\r\n";
}

void write_candidates(std::ostringstream& o, const local_transport_params& t) {
  if (t.candidate)
    o << "a=" << t.candidate->to_attribute() << "\r\n";
  if (t.end_of_candidates)
    o << "a=end-of-candidates\r\n";
}

void write_session(std::ostringstream& o, uint64_t session_id, std::string_view bundle) {
  o << "v=0\r\n";
  o << "o=- " << session_id << " 2 IN IP4 127.0.0.1\r\n";
  o << "s=-\r\n";
  o << "t=0 0\r\n";
  o << "a=group:BUNDLE" << bundle << "\r\n";
  o << "a=extmap-allow-mixed\r\n";
  o << "a=msid-semantic: WMS\r\n";
}

} // namespace

std::string build_publisher_offer(const publisher_offer_params& p) {
  std::ostringstream o;
  std::string bundle;
  if (p.audio)
    bundle += " 0";
  if (p.video)
    bundle += " 1";
  write_session(o, p.session_id, bundle);
  const auto& t = p.transport;
  auto extmaps = [&] {
    o << "a=extmap:" << int(p.ext_mid_id) << ' ' << ext_mid << "\r\n";
    o << "a=extmap:" << int(p.ext_abs_send_time_id) << ' ' << ext_abs_send_time << "\r\n";
    o << "a=extmap:" << int(p.ext_transport_cc_id) << ' ' << ext_transport_cc << "\r\n";
  };
  auto ssrc_lines = [&](uint32_t ssrc, std::string_view track) {
    o << "a=msid:" << p.stream_id << ' ' << track << "\r\n";
    if (ssrc) {
      o << "a=ssrc:" << ssrc << " cname:" << p.cname << "\r\n";
      o << "a=ssrc:" << ssrc << " msid:" << p.stream_id << ' ' << track << "\r\n";
    }
  };
  if (p.audio) {
    const int pt = p.audio_pt;
    write_connection(o, "audio", std::to_string(pt), t);
    write_candidates(o, t);
    write_transport(o, t);
    o << "a=setup:actpass\r\n";
    o << "a=mid:0\r\n";
    extmaps();
    o << "a=sendonly\r\n";
    ssrc_lines(p.audio_ssrc, "audio0");
    o << "a=rtcp-mux\r\n";
    o << "a=rtcp-rsize\r\n";
    o << "a=rtpmap:" << pt << " opus/48000/2\r\n";
    o << "a=rtcp-fb:" << pt << " transport-cc\r\n";
    o << "a=fmtp:" << pt << " minptime=10;useinbandfec=1\r\n";
  }
  if (p.video) {
    const int pt = p.video_pt;
    write_connection(o, "video", std::to_string(pt), t);
    if (!p.audio)
      write_candidates(o, t); // BUNDLE: candidates once, on the first m-line
    write_transport(o, t);
    o << "a=setup:actpass\r\n";
    o << "a=mid:1\r\n";
    extmaps();
    o << "a=sendonly\r\n";
    ssrc_lines(p.video_ssrc, "video0");
    o << "a=rtcp-mux\r\n";
    o << "a=rtcp-rsize\r\n";
    o << "a=rtpmap:" << pt << " VP8/90000\r\n";
    o << "a=rtcp-fb:" << pt << " goog-remb\r\n";
    o << "a=rtcp-fb:" << pt << " transport-cc\r\n";
    o << "a=rtcp-fb:" << pt << " ccm fir\r\n";
    o << "a=rtcp-fb:" << pt << " nack\r\n";
    o << "a=rtcp-fb:" << pt << " nack pli\r\n";
  }
  return o.str();
}

result<std::string> build_subscriber_answer(const session_description& offer,
                                            const subscriber_answer_params& p) {
  if (offer.media.empty())
    return failure{"the offer has no m-lines"};
  struct choice {
    const sdp_codec* codec = nullptr;
  };
  std::vector<choice> chosen(offer.media.size());
  std::string bundle;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    auto& m = offer.media[i];
    if (m.rejected() || m.mid.empty())
      continue;
    if (m.kind == "audio")
      chosen[i].codec = m.codec("opus");
    else if (m.kind == "video")
      chosen[i].codec = m.codec("VP8");
    if (!chosen[i].codec)
      continue;
    if (offer.effective_ufrag(i).empty() || offer.effective_pwd(i).empty())
      return failure{"m-line " + m.mid + " has no ICE credentials"};
    if (!offer.effective_fingerprint(i))
      return failure{"m-line " + m.mid + " has no DTLS fingerprint"};
    bundle += " " + m.mid;
  }
  if (bundle.empty())
    return failure{"the offer has no Opus or VP8 m-line"};

  std::ostringstream o;
  write_session(o, p.session_id, bundle);
  const auto& t = p.transport;
  bool first = true;
  for (std::size_t i = 0; i < offer.media.size(); ++i) {
    auto& m = offer.media[i];
    const sdp_codec* c = chosen[i].codec;
    if (!c) {
      // Rejected (RFC 8829 §5.3.1): port 0, the offer's format list kept.
      std::string formats;
      for (auto& f : m.formats)
        formats += (formats.empty() ? "" : " ") + f;
      o << "m=" << m.kind << " 0 " << m.protocol << ' ' << formats << "\r\n";
      o << "c=IN IP4 0.0.0.0\r\n";
      if (!m.mid.empty())
        o << "a=mid:" << m.mid << "\r\n";
      o << "a=inactive\r\n";
      continue;
    }
    const int pt = c->payload_type;
    write_connection(o, m.kind, std::to_string(pt), t);
    if (first)
      write_candidates(o, t); // BUNDLE: one transport; candidates once (JSEP §5.3.1)
    first = false;
    write_transport(o, t);
    o << "a=setup:active\r\n";
    o << "a=mid:" << m.mid << "\r\n";
    for (auto& e : m.extmaps)
      if (e.uri == ext_mid || e.uri == ext_abs_send_time || e.uri == ext_transport_cc)
        o << "a=extmap:" << int(e.id) << ' ' << e.uri << "\r\n";
    const bool offer_sends = m.direction.empty() || m.direction == "sendonly" ||
                             m.direction == "sendrecv";
    o << (offer_sends ? "a=recvonly\r\n" : "a=inactive\r\n");
    const uint32_t ssrc = m.kind == "audio" ? p.audio_ssrc : p.video_ssrc;
    if (ssrc)
      o << "a=ssrc:" << ssrc << " cname:" << p.cname << "\r\n";
    o << "a=rtcp-mux\r\n";
    if (m.rtcp_rsize)
      o << "a=rtcp-rsize\r\n";
    o << "a=rtpmap:" << pt << ' ' << c->name << '/' << c->clock_rate;
    if (c->channels)
      o << '/' << int(c->channels);
    o << "\r\n";
    for (auto& fb : c->feedback)
      if (fb == "nack" || fb == "nack pli" || fb == "ccm fir" || fb == "goog-remb" ||
          fb == "transport-cc")
        o << "a=rtcp-fb:" << pt << ' ' << fb << "\r\n";
    if (!c->fmtp.empty())
      o << "a=fmtp:" << pt << ' ' << c->fmtp << "\r\n";
  }
  return o.str();
}

} // namespace chorus::janus
