#include "protocol/sdp.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <sstream>

namespace chorus::protocol {

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

// A token as RFC 8866 §9 allows in the fields written back (no space, no control byte):
// what is written again must not break a line or a field.
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f;
  });
}

// Text of a value written back (a=msid, a=simulcast, fmtp): printable, spaces allowed.
bool is_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
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

sdp_codec* find_codec(sdp_media& m, uint8_t pt) {
  for (auto& c : m.codecs)
    if (c.payload_type == pt)
      return &c;
  return nullptr;
}

void add_ssrc(sdp_media& m, uint32_t ssrc) {
  if (std::find(m.ssrcs.begin(), m.ssrcs.end(), ssrc) == m.ssrcs.end())
    m.ssrcs.push_back(ssrc);
}

bool add_options(std::vector<std::string>& to, std::string_view v) {
  for (auto o : split_ws(v)) {
    if (!is_token(o))
      return false;
    if (std::find(to.begin(), to.end(), o) == to.end())
      to.emplace_back(o);
  }
  return true;
}

bool is_setup(std::string_view v) {
  return v == "actpass" || v == "active" || v == "passive" || v == "holdconn";
}

} // namespace

// ---- codecs and m-lines -----------------------------------------------------------------

std::vector<std::pair<std::string_view, std::string_view>> fmtp_parameters(std::string_view fmtp) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  while (!fmtp.empty()) {
    auto semi = fmtp.find(';');
    auto item = fmtp.substr(0, semi);
    fmtp = semi == std::string_view::npos ? std::string_view{} : fmtp.substr(semi + 1);
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && eq > 0)
      out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

std::optional<std::string_view> sdp_codec::parameter(std::string_view key) const {
  for (auto [k, v] : fmtp_parameters(fmtp))
    if (k == key)
      return v;
  return std::nullopt;
}

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

std::vector<std::pair<uint32_t, uint32_t>> sdp_media::fid_pairs() const {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (auto& g : ssrc_groups)
    if (g.semantics == "FID" && g.ssrcs.size() == 2)
      out.emplace_back(g.ssrcs[0], g.ssrcs[1]);
  return out;
}

std::vector<std::string> sdp_media::send_rids() const {
  std::vector<std::string> out;
  // "send q;h;f [recv ...]": alternatives (",") keep their first; "~" marks one paused.
  auto f = split_ws(simulcast);
  for (std::size_t i = 0; i + 1 < f.size(); i += 2) {
    if (f[i] != "send")
      continue;
    std::string_view list = f[i + 1];
    while (!list.empty()) {
      auto semi = list.find(';');
      auto item = list.substr(0, semi);
      list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
      item = item.substr(0, item.find(','));
      if (!item.empty() && item.front() == '~')
        item.remove_prefix(1);
      if (!item.empty())
        out.emplace_back(item);
    }
  }
  if (out.empty())
    for (auto& r : rids)
      if (r.direction == "send")
        out.push_back(r.id);
  return out;
}

// ---- candidates ------------------------------------------------------------------------

std::string sdp_candidate::to_attribute() const {
  std::ostringstream o;
  o << "candidate:" << foundation << ' ' << component << ' ' << transport << ' ' << priority
    << ' ' << address << ' ' << port << " typ " << type;
  if (!related_address.empty())
    o << " raddr " << related_address << " rport " << related_port;
  if (!tcp_type.empty())
    o << " tcptype " << tcp_type;
  return o.str();
}

result<sdp_candidate> parse_candidate(std::string_view line) {
  if (line.starts_with("a="))
    line.remove_prefix(2);
  if (!line.starts_with("candidate:"))
    return failure{"not a candidate attribute"};
  line.remove_prefix(10);
  auto f = split_ws(line);
  // foundation component transport priority address port "typ" type [name value]...
  if (f.size() < 8 || f[6] != "typ")
    return failure{"malformed candidate"};
  sdp_candidate c;
  c.foundation = std::string(f[0]);
  c.transport = lower(f[2]);
  c.address = std::string(f[4]);
  c.type = std::string(f[7]);
  if (!to_num(f[1], c.component) || !to_num(f[3], c.priority) || !to_num(f[5], c.port))
    return failure{"malformed candidate numbers"};
  if (!is_token(c.foundation) || !is_token(c.address) || !is_token(c.type) ||
      (c.transport != "udp" && c.transport != "tcp"))
    return failure{"malformed candidate fields"};
  for (std::size_t i = 8; i + 1 < f.size(); i += 2) {
    if (f[i] == "raddr") {
      if (!is_token(f[i + 1]))
        return failure{"malformed candidate raddr"};
      c.related_address = std::string(f[i + 1]);
    } else if (f[i] == "rport") {
      if (!to_num(f[i + 1], c.related_port))
        return failure{"malformed candidate rport"};
    } else if (f[i] == "tcptype") {
      if (f[i + 1] != "active" && f[i + 1] != "passive" && f[i + 1] != "so")
        return failure{"malformed candidate tcptype"};
      c.tcp_type = std::string(f[i + 1]);
    } // generation, network-id, ufrag, ...: not needed
  }
  if (c.related_address.empty())
    c.related_port = 0; // a related port means nothing without its address
  return c;
}

// ---- the session -----------------------------------------------------------------------

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

const sdp_media* session_description::find_mid(std::string_view mid) const {
  for (auto& m : media)
    if (!m.mid.empty() && m.mid == mid)
      return &m;
  return nullptr;
}

// ---- parse -----------------------------------------------------------------------------

namespace {

// One a= line of an m-section; an error names what is wrong.
std::optional<std::string> media_attribute(sdp_media& m, std::string_view key,
                                           std::string_view val, std::string_view whole) {
  if (key == "mid") {
    if (!is_token(val))
      return "malformed mid";
    m.mid = std::string(val);
  } else if (is_direction(key)) {
    m.direction = std::string(key);
  } else if (key == "rtcp-mux") {
    m.rtcp_mux = true;
  } else if (key == "rtcp-mux-only") {
    m.rtcp_mux_only = true;
  } else if (key == "rtcp-rsize") {
    m.rtcp_rsize = true;
  } else if (key == "bundle-only") {
    m.bundle_only = true;
  } else if (key == "ice-ufrag" || key == "ice-pwd") {
    if (!is_token(val))
      return "malformed " + std::string(key);
    (key == "ice-ufrag" ? m.ice_ufrag : m.ice_pwd) = std::string(val);
  } else if (key == "ice-options") {
    if (!add_options(m.ice_options, val))
      return "malformed ice-options";
  } else if (key == "fingerprint") {
    m.fingerprint = parse_fingerprint(val);
    if (!m.fingerprint || !is_token(m.fingerprint->algorithm) || !is_token(m.fingerprint->value))
      return "malformed fingerprint";
  } else if (key == "setup") {
    if (!is_setup(val))
      return "malformed setup";
    m.setup = std::string(val);
  } else if (key == "candidate") {
    auto c = parse_candidate(whole);
    if (!c)
      return c.error();
    m.candidates.push_back(std::move(*c));
  } else if (key == "end-of-candidates") {
    m.end_of_candidates = true;
  } else if (key == "msid") {
    if (!is_text(val))
      return "malformed msid";
    m.msid = std::string(val);
  } else if (key == "rtpmap") {
    // <pt> <name>/<rate>[/<channels>]
    auto f = split_ws(val);
    if (f.size() != 2)
      return "malformed rtpmap";
    sdp_codec c;
    if (!to_num(f[0], c.payload_type) || c.payload_type > 127)
      return "bad rtpmap payload type";
    auto enc = f[1];
    auto s1 = enc.find('/');
    if (s1 == std::string_view::npos || s1 == 0)
      return "rtpmap without clock rate";
    c.name = std::string(enc.substr(0, s1));
    if (!is_token(c.name))
      return "bad rtpmap encoding name";
    auto rest = enc.substr(s1 + 1);
    auto s2 = rest.find('/');
    if (!to_num(rest.substr(0, s2), c.clock_rate) || c.clock_rate == 0)
      return "bad rtpmap clock rate";
    if (s2 != std::string_view::npos && !to_num(rest.substr(s2 + 1), c.channels))
      return "bad rtpmap channels";
    if (sdp_codec* existing = find_codec(m, c.payload_type)) {
      if (!existing->name.empty())
        return "duplicate rtpmap";
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
      return "malformed " + std::string(key);
    auto pts = val.substr(0, sp);
    auto rest = val.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);
    if (rest.empty() || !is_text(rest))
      return "malformed " + std::string(key);
    if (pts == "*") {
      if (key == "rtcp-fb")
        for (auto& c : m.codecs)
          c.feedback.emplace_back(rest);
      return std::nullopt;
    }
    uint8_t pt = 0;
    if (!to_num(pts, pt) || pt > 127)
      return "bad payload type in " + std::string(key);
    // a=rtcp-fb / a=fmtp may precede a=rtpmap in some writers (Firefox): create the entry.
    sdp_codec* c = find_codec(m, pt);
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
    if (f.size() < 2 || !is_token(f[1]))
      return "malformed extmap";
    sdp_extmap e;
    auto slash = f[0].find('/'); // "<id>[/<direction>]"
    if (!to_num(f[0].substr(0, slash), e.id) || e.id == 0)
      return "bad extmap id";
    if (slash != std::string_view::npos) {
      auto dir = f[0].substr(slash + 1);
      if (!is_direction(dir))
        return "bad extmap direction";
      e.direction = std::string(dir);
    }
    for (auto& other : m.extmaps)
      if (other.id == e.id)
        return "duplicate extmap id";
    e.uri = std::string(f[1]);
    m.extmaps.push_back(std::move(e));
  } else if (key == "ssrc") {
    auto sp = val.find(' ');
    uint32_t ssrc = 0;
    if (!to_num(val.substr(0, sp), ssrc))
      return "bad ssrc";
    add_ssrc(m, ssrc);
    if (sp != std::string_view::npos) {
      auto attr = val.substr(sp + 1);
      if (attr.starts_with("cname:") && m.cname.empty()) {
        if (!is_token(attr.substr(6)))
          return "malformed cname";
        m.cname = std::string(attr.substr(6));
      }
    }
  } else if (key == "ssrc-group") {
    auto f = split_ws(val);
    if (f.size() < 2 || !is_token(f[0]))
      return "malformed ssrc-group";
    sdp_ssrc_group g{std::string(f[0]), {}};
    for (std::size_t i = 1; i < f.size(); ++i) {
      uint32_t s = 0;
      if (!to_num(f[i], s))
        return "bad ssrc in ssrc-group";
      g.ssrcs.push_back(s);
      add_ssrc(m, s);
    }
    m.ssrc_groups.push_back(std::move(g));
  } else if (key == "rid") {
    // <id> <send|recv> [restrictions]
    auto f = split_ws(val);
    if (f.size() < 2 || f.size() > 3 || !is_token(f[0]) || (f[1] != "send" && f[1] != "recv") ||
        (f.size() == 3 && !is_token(f[2])))
      return "malformed rid";
    for (auto& r : m.rids)
      if (r.id == f[0])
        return "duplicate rid";
    m.rids.push_back(sdp_rid{std::string(f[0]), std::string(f[1]),
                             f.size() == 3 ? std::string(f[2]) : std::string{}});
  } else if (key == "simulcast") {
    // "send q;h;f recv ..." (RFC 8853): each field a token, so that the rid ids it names
    // are ids an a=rid line can carry.
    const auto fields = split_ws(val);
    if (val.empty() || !is_text(val) || fields.empty() ||
        !std::all_of(fields.begin(), fields.end(), [](std::string_view f) { return is_token(f); }))
      return "malformed simulcast";
    m.simulcast = std::string(val);
  } else if (key == "sctp-port") {
    if (!to_num(val, m.sctp_port))
      return "bad sctp-port";
  } else if (key == "max-message-size") {
    if (!to_num(val, m.max_message_size))
      return "bad max-message-size";
  }
  return std::nullopt;
}

} // namespace

result<session_description> parse_sdp(std::string_view text) {
  if (text.size() > max_sdp_bytes)
    return failure{"SDP over " + std::to_string(max_sdp_bytes) + " bytes"};
  session_description d;
  bool saw_version = false, saw_origin = false, saw_bundle = false;
  sdp_media* cur = nullptr;
  std::string session_address = "0.0.0.0"; // a session-level c= (the media's default)
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
    if (line.size() > max_line_bytes)
      return fail("line over " + std::to_string(max_line_bytes) + " bytes");
    if (line.size() < 2 || line[1] != '=')
      return fail("not a type=value line");
    const char type = line[0];
    std::string_view value = line.substr(2);

    if (type == 'v') {
      if (value != "0" || saw_version)
        return fail("unsupported version");
      saw_version = true;
      continue;
    }
    if (!saw_version)
      return fail("v=0 must come first");

    if (type == 'o') {
      auto f = split_ws(value);
      if (f.size() != 6 || saw_origin || cur ||
          !std::all_of(f.begin(), f.end(), [](std::string_view x) { return is_token(x); }))
        return fail("malformed o= line");
      saw_origin = true;
      d.origin_username = std::string(f[0]);
      d.origin_session_id = std::string(f[1]);
      d.origin_version = std::string(f[2]);
      d.origin_address = std::string(f[5]);
      continue;
    }
    if (type == 's') {
      if (!cur && !value.empty() && is_text(value))
        d.name = std::string(value);
      continue;
    }
    if (type == 'm') {
      if (d.media.size() >= max_media)
        return fail("more than " + std::to_string(max_media) + " m-lines");
      auto f = split_ws(value);
      if (f.size() < 3 ||
          !std::all_of(f.begin(), f.end(), [](std::string_view x) { return is_token(x); }))
        return fail("malformed m= line");
      sdp_media m;
      m.kind = std::string(f[0]);
      auto port = f[1].substr(0, f[1].find('/'));
      if (!to_num(port, m.port))
        return fail("bad m= port");
      m.protocol = std::string(f[2]);
      m.connection_address = session_address; // unless it has its own
      for (std::size_t i = 3; i < f.size(); ++i)
        m.formats.emplace_back(f[i]);
      d.media.push_back(std::move(m));
      cur = &d.media.back();
      continue;
    }
    if (type == 'c') {
      auto f = split_ws(value); // IN IP4 <address>
      if (f.size() != 3 || !is_token(f[2]))
        return fail("malformed c= line");
      (cur ? cur->connection_address : session_address) = std::string(f[2]);
      continue;
    }
    if (type == 'b') {
      auto [kind, amount] = split_attr(value);
      uint32_t v = 0;
      if ((kind == "AS" || kind == "TIAS") && !to_num(amount, v))
        return fail("bad b= value");
      if (cur && kind == "AS")
        cur->bandwidth_as = v;
      else if (cur && kind == "TIAS")
        cur->bandwidth_tias = v;
      continue;
    }
    if (type != 'a')
      continue; // t=, i=, u=, e=, p=, k=, r=, z=: not needed

    auto [key, val] = split_attr(value);
    if (key == "extmap-allow-mixed") { // at either level (Firefox: each m-line; RFC 8285 §6)
      d.extmap_allow_mixed = true;
      continue;
    }
    if (cur) {
      if (auto error = media_attribute(*cur, key, val, value))
        return fail(*error);
      continue;
    }
    // session level
    if (key == "group") {
      auto f = split_ws(val);
      if (!f.empty() && f[0] == "BUNDLE" && !saw_bundle) {
        saw_bundle = true;
        for (std::size_t i = 1; i < f.size(); ++i)
          d.bundle_mids.emplace_back(f[i]);
      }
    } else if (key == "ice-lite") {
      d.ice_lite = true;
    } else if (key == "ice-options") {
      if (!add_options(d.ice_options, val))
        return fail("malformed ice-options");
    } else if (key == "ice-ufrag" || key == "ice-pwd") {
      if (!is_token(val))
        return fail("malformed " + std::string(key));
      (key == "ice-ufrag" ? d.ice_ufrag : d.ice_pwd) = std::string(val);
    } else if (key == "fingerprint") {
      d.fingerprint = parse_fingerprint(val);
      if (!d.fingerprint || !is_token(d.fingerprint->algorithm) || !is_token(d.fingerprint->value))
        return fail("malformed fingerprint");
    } else if (key == "setup") {
      if (!is_setup(val))
        return fail("malformed setup");
      d.setup = std::string(val);
    } else if (key == "msid-semantic") {
      if (!is_text(val))
        return fail("malformed msid-semantic");
      d.msid_semantic = std::string(val);
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

// ---- write -----------------------------------------------------------------------------

namespace {

void write_fingerprint(std::ostringstream& o, const sdp_fingerprint& f) {
  o << "a=fingerprint:" << f.algorithm << ' ' << f.value << "\r\n";
}

void write_options(std::ostringstream& o, const std::vector<std::string>& options) {
  if (options.empty())
    return;
  o << "a=ice-options:";
  for (std::size_t i = 0; i < options.size(); ++i)
    o << (i ? " " : "") << options[i];
  o << "\r\n";
}

std::string ip_kind(std::string_view address) {
  return address.find(':') != std::string_view::npos ? "IP6" : "IP4";
}

void write_media(std::ostringstream& o, const sdp_media& m) {
  o << "m=" << m.kind << ' ' << m.port << ' ' << m.protocol;
  for (auto& f : m.formats)
    o << ' ' << f;
  o << "\r\n";
  const std::string& address = m.connection_address.empty() ? "0.0.0.0" : m.connection_address;
  o << "c=IN " << ip_kind(address) << ' ' << address << "\r\n";
  if (m.bandwidth_as)
    o << "b=AS:" << m.bandwidth_as << "\r\n";
  if (m.bandwidth_tias)
    o << "b=TIAS:" << m.bandwidth_tias << "\r\n";
  if (!m.ice_ufrag.empty())
    o << "a=ice-ufrag:" << m.ice_ufrag << "\r\n";
  if (!m.ice_pwd.empty())
    o << "a=ice-pwd:" << m.ice_pwd << "\r\n";
  write_options(o, m.ice_options);
  if (m.fingerprint)
    write_fingerprint(o, *m.fingerprint);
  if (!m.setup.empty())
    o << "a=setup:" << m.setup << "\r\n";
  if (!m.mid.empty())
    o << "a=mid:" << m.mid << "\r\n";
  for (auto& e : m.extmaps) {
    o << "a=extmap:" << int(e.id);
    if (!e.direction.empty())
      o << '/' << e.direction;
    o << ' ' << e.uri << "\r\n";
  }
  if (!m.direction.empty())
    o << "a=" << m.direction << "\r\n";
  if (!m.msid.empty())
    o << "a=msid:" << m.msid << "\r\n";
  if (m.rtcp_mux)
    o << "a=rtcp-mux\r\n";
  if (m.rtcp_mux_only)
    o << "a=rtcp-mux-only\r\n";
  if (m.rtcp_rsize)
    o << "a=rtcp-rsize\r\n";
  if (m.bundle_only)
    o << "a=bundle-only\r\n";
  for (auto& c : m.codecs) {
    o << "a=rtpmap:" << int(c.payload_type) << ' ' << c.name << '/' << c.clock_rate;
    if (c.channels)
      o << '/' << int(c.channels);
    o << "\r\n";
    for (auto& fb : c.feedback)
      o << "a=rtcp-fb:" << int(c.payload_type) << ' ' << fb << "\r\n";
    if (!c.fmtp.empty())
      o << "a=fmtp:" << int(c.payload_type) << ' ' << c.fmtp << "\r\n";
  }
  for (auto s : m.ssrcs) {
    o << "a=ssrc:" << s;
    if (!m.cname.empty())
      o << " cname:" << m.cname;
    o << "\r\n";
  }
  for (auto& g : m.ssrc_groups) {
    o << "a=ssrc-group:" << g.semantics;
    for (auto s : g.ssrcs)
      o << ' ' << s;
    o << "\r\n";
  }
  for (auto& r : m.rids) {
    o << "a=rid:" << r.id << ' ' << r.direction;
    if (!r.restrictions.empty())
      o << ' ' << r.restrictions;
    o << "\r\n";
  }
  if (!m.simulcast.empty())
    o << "a=simulcast:" << m.simulcast << "\r\n";
  if (m.sctp_port)
    o << "a=sctp-port:" << m.sctp_port << "\r\n";
  if (m.max_message_size)
    o << "a=max-message-size:" << m.max_message_size << "\r\n";
  for (auto& c : m.candidates)
    o << "a=" << c.to_attribute() << "\r\n";
  if (m.end_of_candidates)
    o << "a=end-of-candidates\r\n";
}

} // namespace

std::string write_sdp(const session_description& d) {
  std::ostringstream o;
  o << "v=0\r\n";
  o << "o=" << d.origin_username << ' ' << d.origin_session_id << ' ' << d.origin_version
    << " IN " << ip_kind(d.origin_address) << ' ' << d.origin_address << "\r\n";
  o << "s=" << (d.name.empty() ? "-" : d.name) << "\r\n";
  o << "t=0 0\r\n";
  if (!d.bundle_mids.empty()) {
    o << "a=group:BUNDLE";
    for (auto& mid : d.bundle_mids)
      o << ' ' << mid;
    o << "\r\n";
  }
  if (d.ice_lite)
    o << "a=ice-lite\r\n";
  write_options(o, d.ice_options);
  if (!d.ice_ufrag.empty())
    o << "a=ice-ufrag:" << d.ice_ufrag << "\r\n";
  if (!d.ice_pwd.empty())
    o << "a=ice-pwd:" << d.ice_pwd << "\r\n";
  if (d.fingerprint)
    write_fingerprint(o, *d.fingerprint);
  if (!d.setup.empty())
    o << "a=setup:" << d.setup << "\r\n";
  if (d.extmap_allow_mixed)
    o << "a=extmap-allow-mixed\r\n";
  if (!d.msid_semantic.empty())
    o << "a=msid-semantic:" << d.msid_semantic << "\r\n";
  for (auto& m : d.media)
    write_media(o, m);
  return o.str();
}

} // namespace chorus::protocol
