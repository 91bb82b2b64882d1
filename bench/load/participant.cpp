#include "bench/load/participant.hpp"

#include "bench/load/publisher_rtcp.hpp"
#include "rtp/rtp_packet.hpp"

#include "bench/client/clock.hpp"
#include "bench/client/json_members.hpp"
#include "common/ids.hpp"
#include "rtp/rtcp.hpp"
#include "rtp/rtcp_feedback.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

namespace chorus::bench {

namespace {

using rapidjson::Value;

constexpr const char* mid_uri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr const char* tcc_uri =
  "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr uint64_t never = std::numeric_limits<uint64_t>::max();

std::string lower(std::string s) {
  for (auto& c : s)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

using client::string_member_copy;

std::optional<uint64_t> uint_member(const Value& v, const char* name) {
  auto it = v.FindMember(name);
  if (it == v.MemberEnd())
    return std::nullopt;
  if (it->value.IsUint64())
    return it->value.GetUint64();
  if (it->value.IsString()) { // parameters may carry numbers as strings
    char* end = nullptr;
    const unsigned long long n = std::strtoull(it->value.GetString(), &end, 10);
    if (end && *end == 0 && end != it->value.GetString())
      return n;
  }
  return std::nullopt;
}

const Value* obj_member(const Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsObject() ? &it->value : nullptr;
}

const Value* arr_member(const Value& v, const char* name) {
  auto it = v.FindMember(name);
  return it != v.MemberEnd() && it->value.IsArray() ? &it->value : nullptr;
}

std::string to_json(const Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

// JSON string literal of a plain token (ids, URIs, cnames: no quotes or controls here).
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    out += c;
  }
  return out + "\"";
}

uint32_t random_ssrc() {
  uint32_t v = 0;
  while (v == 0)
    ids::random_bytes(&v, sizeof v);
  return v;
}

uint16_t random_u16() {
  uint16_t v = 0;
  ids::random_bytes(&v, sizeof v);
  return v;
}

std::string describe(const client::signaling_message& m) {
  return m.type + " " + (m.data.empty() ? std::string("(no data)") : m.data);
}

std::string error_code(const client::signaling_message& m) {
  rapidjson::Document d;
  d.Parse(m.data.data(), m.data.size());
  return d.IsObject() ? string_member_copy(d, "code") : std::string();
}

std::string header_extensions_json(uint8_t mid_id, uint8_t tcc_id) {
  std::string out = "[";
  if (mid_id)
    out += "{\"uri\":\"" + std::string(mid_uri) + "\",\"id\":" + std::to_string(mid_id) +
           ",\"encrypt\":false,\"parameters\":{}}";
  if (tcc_id) {
    if (mid_id)
      out += ",";
    out += "{\"uri\":\"" + std::string(tcc_uri) + "\",\"id\":" + std::to_string(tcc_id) +
           ",\"encrypt\":false,\"parameters\":{}}";
  }
  return out + "]";
}

uint64_t wall_ms() {
  return uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count());
}

} // namespace

// ---- router capabilities -----------------------------------------------------------------

result<router_info> parse_router_capabilities(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.data(), json.size());
  if (d.HasParseError() || !d.IsObject())
    return failure{"rtp-capabilities: not a JSON object"};
  const Value* codecs = arr_member(d, "codecs");
  if (!codecs)
    return failure{"rtp-capabilities: no codecs"};
  router_info r;
  const Value* opus = nullptr;
  const Value* vp8 = nullptr;
  const Value* rtx = nullptr;
  for (auto& c : codecs->GetArray()) {
    if (!c.IsObject())
      continue;
    const std::string mime = lower(string_member_copy(c, "mimeType"));
    auto pt = uint_member(c, "preferredPayloadType");
    if (!pt || *pt > 127)
      continue;
    if (mime == "audio/opus" && !opus) {
      opus = &c;
      r.opus_pt = uint8_t(*pt);
      r.opus_clock_rate = uint32_t(uint_member(c, "clockRate").value_or(48000));
      r.opus_channels = uint32_t(uint_member(c, "channels").value_or(2));
    } else if (mime == "video/vp8" && !vp8) {
      vp8 = &c;
      r.vp8_pt = uint8_t(*pt);
    }
  }
  if (!opus || !vp8)
    return failure{"rtp-capabilities: the router offers no audio/opus or no video/VP8"};
  for (auto& c : codecs->GetArray()) {
    if (!c.IsObject() || lower(string_member_copy(c, "mimeType")) != "video/rtx")
      continue;
    if (const Value* params = obj_member(c, "parameters"))
      if (uint_member(*params, "apt") == uint64_t(r.vp8_pt))
        rtx = &c;
  }
  rapidjson::Document caps;
  caps.SetObject();
  auto& a = caps.GetAllocator();
  Value list(rapidjson::kArrayType);
  // A browser's device capabilities: Chromium offers no NACK for Opus (only transport-cc),
  // so audio is not retransmitted, as with a browser receiver.
  Value opus_cap(*opus, a);
  if (auto fb = opus_cap.FindMember("rtcpFeedback"); fb != opus_cap.MemberEnd() && fb->value.IsArray()) {
    Value kept(rapidjson::kArrayType);
    for (auto& f : fb->value.GetArray())
      if (f.IsObject() && string_member_copy(f, "type") == "transport-cc")
        kept.PushBack(Value(f, a), a);
    fb->value = kept;
  }
  list.PushBack(opus_cap, a);
  list.PushBack(Value(*vp8, a), a);
  if (rtx)
    list.PushBack(Value(*rtx, a), a);
  caps.AddMember("codecs", list, a);
  Value exts(rapidjson::kArrayType);
  if (const Value* he = arr_member(d, "headerExtensions")) {
    for (auto& e : he->GetArray()) {
      if (!e.IsObject())
        continue;
      exts.PushBack(Value(e, a), a);
      const std::string uri = string_member_copy(e, "uri");
      const std::string kind = string_member_copy(e, "kind");
      auto id = uint_member(e, "preferredId");
      if (!id || *id > 14) // one-byte form only
        continue;
      if (uri == mid_uri)
        (kind == "audio" ? r.mid_audio : r.mid_video) = uint8_t(*id);
      else if (uri == tcc_uri)
        (kind == "audio" ? r.tcc_audio : r.tcc_video) = uint8_t(*id);
    }
  }
  caps.AddMember("headerExtensions", exts, a);
  r.consume_capabilities = to_json(caps);
  return r;
}

// ---- totals ------------------------------------------------------------------------------

#define CHORUS_BENCH_TOTALS(X)                                                                  \
  X(rx_packets) X(rx_bytes) X(rx_audio_packets) X(rx_audio_bytes) X(rx_video_packets)           \
  X(rx_video_bytes) X(rx_rtx) X(rx_late) X(rx_duplicates) X(rx_keyframes) X(rx_bad_stamp)       \
  X(expected) X(unique) X(nack_packets) X(nack_seqs) X(plis_sent) X(rr_sent) X(sr_received)     \
  X(tx_packets) X(tx_bytes) X(tx_audio_packets) X(tx_video_packets) X(tx_frames)                \
  X(tx_keyframes) X(tx_retransmissions) X(nacks_received) X(keyframe_requests_received)         \
  X(tx_failed) X(rx_app_stamped)

totals& totals::operator+=(const totals& o) noexcept {
#define X(f) f += o.f;
  CHORUS_BENCH_TOTALS(X)
#undef X
  for (std::size_t i = 0; i < max_simulcast_encodings; ++i) {
    tx_encoding_packets[i] += o.tx_encoding_packets[i];
    rx_encoding_packets[i] += o.rx_encoding_packets[i];
  }
  rx_off_target += o.rx_off_target;
  return *this;
}

totals totals::operator-(const totals& o) const noexcept {
  totals r;
#define X(f) r.f = f >= o.f ? f - o.f : 0;
  CHORUS_BENCH_TOTALS(X)
  X(rx_off_target)
  for (std::size_t i = 0; i < max_simulcast_encodings; ++i) {
    X(tx_encoding_packets[i])
    X(rx_encoding_packets[i])
  }
#undef X
  return r;
}

// ---- participant: setup ------------------------------------------------------------------

participant::participant(std::string peer_id, std::string room, bool publishes, bool subscribes,
                         uint32_t expected_consumers)
    : peer_(std::move(peer_id)), room_(std::move(room)), publishes_(publishes),
      subscribes_(subscribes), expected_consumers_(expected_consumers),
      cname_(ids::random_token(16)),
      receive_([this](std::span<const uint8_t> p) { return recv_ && recv_->send_rtcp(p); }) {
  receive_.set_rtcp_ssrc(random_ssrc());
  buf_.resize(max_rtp_packet + 64);
  rtcp_buf_.resize(1500);
}

participant::~participant() = default;

bool participant::fail(std::string stage, std::string why) {
  if (error_.empty())
    error_ = stage + ": " + why;
  return false;
}

bool participant::connect(worker_context& w, uint64_t deadline_ms) {
  if (ws_)
    return true;
  marks_.start_us = mono_us();
  auto& d = *w.driver;
  const std::string url = (url_.empty() ? w.url_base : url_) + "/socket?auth=" +
                          client::url_encode(peer_) +
                          "&channelId=" + client::url_encode(room_) +
                          (role_.empty() ? "" : "&role=" + client::url_encode(role_));
  const uint64_t now = client::steady_now_ms();
  auto ws = client::signaling_client::connect(
    d.signaling(), url, std::chrono::milliseconds(deadline_ms > now ? deadline_ms - now : 1));
  if (!ws)
    return fail("signaling", ws.error());
  ws_ = std::move(*ws);
  // Every participant loads the router's capabilities, as a browser's Device does.
  auto caps = d.request(*ws_, "get-rtp-capabilities", "", deadline_ms);
  if (!caps)
    return fail("get-rtp-capabilities", caps.error());
  if (caps->type != "rtp-capabilities")
    return fail("get-rtp-capabilities", describe(*caps));
  if (!w.router) {
    auto r = parse_router_capabilities(caps->data);
    if (!r)
      return fail("get-rtp-capabilities", r.error());
    w.router = std::move(*r);
  }
  marks_.connected_us = mono_us();
  return true;
}

bool participant::publish(worker_context& w, uint64_t deadline_ms) {
  if (failed() || !ws_ || !w.router)
    return false;
  auto& d = *w.driver;
  client::connect_options copts;
  copts.direction = "send";
  auto c = client::open_webrtc_transport(d, *ws_, w.dtls, copts, deadline_ms);
  if (!c.ok())
    return fail(c.stage + " (send)", c.error);
  send_ = std::move(c.transport);
  send_->set_media_handler([this](std::span<const uint8_t> p, bool rtcp) {
    if (rtcp)
      on_send_rtcp(p);
  });

  const router_info& r = *w.router;
  audio_ssrc_ = random_ssrc();
  video_configs_ = w.simulcast ? simulcast_ladder(w.video) : std::vector<video_config>{w.video};
  video_ssrcs_.clear();
  while (video_ssrcs_.size() < video_configs_.size()) {
    const uint32_t ssrc = random_ssrc();
    if (ssrc != audio_ssrc_ &&
        std::find(video_ssrcs_.begin(), video_ssrcs_.end(), ssrc) == video_ssrcs_.end())
      video_ssrcs_.push_back(ssrc);
  }
  // One encoding: its SSRC. Simulcast: one per encoding, lowest first (as mediasoup-client
  // lists them), each with its temporal layers and its maximum bitrate, as a browser
  // application passes them.
  std::string video_encodings = "[";
  for (std::size_t i = 0; i < video_ssrcs_.size(); ++i) {
    if (i)
      video_encodings += ",";
    video_encodings += "{\"ssrc\":" + std::to_string(video_ssrcs_[i]);
    if (w.simulcast)
      video_encodings += ",\"scalabilityMode\":\"L1T" +
                         std::to_string(video_configs_[i].temporal_layers) +
                         "\",\"maxBitrate\":" + std::to_string(video_configs_[i].kbps * 1000ull);
    video_encodings += "}";
  }
  video_encodings += "]";
  const std::string rtcp = ",\"rtcp\":{\"cname\":" + quoted(cname_) + ",\"reducedSize\":true}";
  const std::string audio =
    "{\"transportId\":" + quoted(send_->id()) + ",\"kind\":\"audio\",\"rtpParameters\":{"
    "\"mid\":\"0\",\"codecs\":[{\"mimeType\":\"audio/opus\",\"payloadType\":" +
    std::to_string(r.opus_pt) + ",\"clockRate\":" + std::to_string(r.opus_clock_rate) +
    ",\"channels\":" + std::to_string(r.opus_channels) +
    ",\"parameters\":{\"minptime\":10,\"useinbandfec\":1},\"rtcpFeedback\":[{\"type\":"
    "\"transport-cc\",\"parameter\":\"\"}]}],\"headerExtensions\":" +
    header_extensions_json(r.mid_audio, r.tcc_audio) + ",\"encodings\":[{\"ssrc\":" +
    std::to_string(audio_ssrc_) + "}]" + rtcp + "}}";
  const std::string video =
    "{\"transportId\":" + quoted(send_->id()) + ",\"kind\":\"video\",\"rtpParameters\":{"
    "\"mid\":\"1\",\"codecs\":[{\"mimeType\":\"video/VP8\",\"payloadType\":" +
    std::to_string(r.vp8_pt) + ",\"clockRate\":90000,\"parameters\":{},\"rtcpFeedback\":["
    "{\"type\":\"goog-remb\",\"parameter\":\"\"},{\"type\":\"transport-cc\",\"parameter\":\"\"},"
    "{\"type\":\"ccm\",\"parameter\":\"fir\"},{\"type\":\"nack\",\"parameter\":\"\"},"
    "{\"type\":\"nack\",\"parameter\":\"pli\"}]}],\"headerExtensions\":" +
    header_extensions_json(r.mid_video, r.tcc_video) + ",\"encodings\":" + video_encodings +
    rtcp + "}}";
  for (const std::string* data : {&audio, &video}) {
    const char* kind = data == &audio ? "produce audio" : "produce video";
    auto reply = d.request(*ws_, "produce", *data, deadline_ms);
    if (!reply)
      return fail(kind, reply.error());
    if (reply->type != "producer-id")
      return fail(kind, describe(*reply));
  }
  return true;
}

bool participant::consume(worker_context& w, const std::string& producer_id,
                          uint64_t deadline_ms, bool& none_left) {
  auto& d = *w.driver;
  std::string data = "{\"transportId\":" + quoted(recv_->id()) +
                     ",\"rtpCapabilities\":" + w.router->consume_capabilities;
  if (!producer_id.empty())
    data += ",\"producerId\":" + quoted(producer_id);
  data += "}";
  auto reply = d.request(*ws_, "consume", data, deadline_ms);
  if (!reply)
    return fail("consume", reply.error());
  if (reply->is_error()) {
    if (producer_id.empty() && (error_code(*reply) == "nothing-to-consume" ||
                                error_code(*reply) == "unknown-producer")) {
      // No producer left that this peer does not consume (nothing-to-consume; servers
      // before it answered unknown-producer).
      none_left = true;
      return true;
    }
    // Churn (any_consumers): an announced producer may be gone by the time it is asked for.
    if (expected_consumers_ == any_consumers && error_code(*reply) == "unknown-producer")
      return true;
    return fail("consume", describe(*reply));
  }
  if (reply->type != "consumer-params")
    return fail("consume", describe(*reply));

  rapidjson::Document doc;
  doc.Parse(reply->data.data(), reply->data.size());
  if (doc.HasParseError() || !doc.IsObject())
    return fail("consume", "consumer-params is not an object");
  inbound_stream::params p;
  p.consumer_id = string_member_copy(doc, "id");
  p.producer_id = string_member_copy(doc, "producerId");
  p.kind = string_member_copy(doc, "kind") == "video" ? stream_kind::video : stream_kind::audio;
  const Value* rp = obj_member(doc, "rtpParameters");
  const Value* codecs = rp ? arr_member(*rp, "codecs") : nullptr;
  const Value* encodings = rp ? arr_member(*rp, "encodings") : nullptr;
  if (p.consumer_id.empty() || !codecs || !encodings || encodings->Empty() ||
      !(*encodings)[0].IsObject())
    return fail("consume", "consumer-params without id, codecs or encodings: " + reply->data);
  bool have_codec = false;
  for (auto& c : codecs->GetArray()) {
    if (!c.IsObject())
      continue;
    const std::string mime = lower(string_member_copy(c, "mimeType"));
    auto pt = uint_member(c, "payloadType");
    if (!pt || *pt > 127)
      continue;
    if (mime.ends_with("/rtx")) {
      p.rtx_payload_type = uint8_t(*pt);
      continue;
    }
    if (have_codec)
      continue;
    have_codec = true;
    p.payload_type = uint8_t(*pt);
    p.clock_rate = uint32_t(uint_member(c, "clockRate").value_or(90000));
    if (const Value* fb = arr_member(c, "rtcpFeedback"))
      for (auto& f : fb->GetArray()) {
        if (!f.IsObject())
          continue;
        const std::string type = string_member_copy(f, "type");
        const std::string param = string_member_copy(f, "parameter");
        if (type == "nack" && param.empty())
          p.nack = true;
        else if (type == "nack" && param == "pli")
          p.pli = true;
      }
  }
  const Value& enc = (*encodings)[0];
  p.ssrc = uint32_t(uint_member(enc, "ssrc").value_or(0));
  if (const Value* rtx = obj_member(enc, "rtx"))
    p.rtx_ssrc = uint32_t(uint_member(*rtx, "ssrc").value_or(0));
  if (!have_codec || p.ssrc == 0)
    return fail("consume", "consumer-params without a media codec or ssrc: " + reply->data);
  if (p.kind == stream_kind::video && string_member_copy(doc, "type") == "simulcast") {
    // One stream of the encoding the server picks: "LnTt" says there are n to pick from.
    // This receiver wants the top one (the server's default), or the lowest: asked for
    // before resuming, as an application does.
    const std::string mode = string_member_copy(enc, "scalabilityMode");
    uint32_t spatial = 1;
    if (mode.size() >= 2 && mode[0] == 'L' && mode[1] >= '1' && mode[1] <= '4')
      spatial = uint32_t(mode[1] - '0');
    p.intended_encoding = int8_t(prefers_low_ ? 0 : spatial - 1);
    if (prefers_low_) {
      auto r = d.request(*ws_, "set-consumer-preferred-layers",
                         "{\"consumerId\":" + quoted(p.consumer_id) + ",\"spatialLayer\":0}",
                         deadline_ms);
      if (!r)
        return fail("set-consumer-preferred-layers", r.error());
      if (r->type != "set-consumer-preferred-layers")
        return fail("set-consumer-preferred-layers", describe(*r));
    }
  }
  consumed_producers_.push_back(p.producer_id);
  ++(producer_id.empty() ? consumed_oldest_ : consumed_by_id_);
  receive_.add_stream(std::move(p));
  return true;
}

bool participant::open_receive(worker_context& w, uint64_t deadline_ms) {
  if (failed() || !ws_ || !w.router)
    return false;
  client::connect_options copts;
  copts.direction = "recv";
  copts.transport.receive_timestamps = true;
  copts.transport.receive_segments = w.receiver_gro;
  auto c = client::open_webrtc_transport(*w.driver, *ws_, w.dtls, copts, deadline_ms);
  if (!c.ok())
    return fail(c.stage + " (recv)", c.error);
  recv_ = std::move(c.transport);
  recv_->set_media_handler(
    [this, &w](std::span<const uint8_t> p, bool rtcp) {
      receive_.on_packet(p, rtcp, recv_->socket().last_receive_ns(), w.latency, w.audio_latency,
                         w.keyframe_latency);
      if (!rtcp && (marks_.first_audio_us == 0 || marks_.first_video_us == 0))
        note_first_media(p, w);
    });
  if (!receive_.sampled())
    recv_->set_decrypt_filter([this](uint32_t ssrc) { return receive_.must_decrypt(ssrc); });
  marks_.transport_us = mono_us();
  return true;
}

void participant::note_first_media(std::span<const uint8_t> packet, worker_context& w) {
  if (packet.size() < 12)
    return;
  const uint32_t ssrc = rtp::rtp_ssrc_of(packet);
  for (auto& s : receive_.streams()) {
    if (s->info().ssrc != ssrc)
      continue;
    uint64_t& mark = s->info().kind == stream_kind::video ? marks_.first_video_us
                                                          : marks_.first_audio_us;
    if (mark == 0) {
      mark = mono_us();
      if (marks_.first_audio_us && marks_.first_video_us && w.first_media)
        w.first_media->fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
}

bool participant::consume_all(worker_context& w, uint64_t deadline_ms) {
  if (failed() || !ws_ || !recv_)
    return false;
  auto& d = *w.driver;

  // Producers announced by new-producer events, then (seed 001) consume without producerId:
  // the oldest producer of the room this peer does not consume yet, until none is left.
  drain_events();
  const std::vector<std::string> announced = std::move(announced_producers_);
  announced_producers_.clear();
  bool none_left = false;
  for (auto& id : announced) {
    if (consumers() >= expected_consumers_)
      break;
    if (std::find(consumed_producers_.begin(), consumed_producers_.end(), id) !=
        consumed_producers_.end())
      continue;
    if (!consume(w, id, deadline_ms, none_left))
      return false;
  }
  while (!none_left && consumers() < expected_consumers_)
    if (!consume(w, "", deadline_ms, none_left))
      return false;
  if (expected_consumers_ != any_consumers && consumers() < expected_consumers_)
    return fail("consume", "found " + std::to_string(consumers()) + " of " +
                             std::to_string(expected_consumers_) + " producers");

  const uint64_t now_us = mono_us();
  for (auto& s : receive_.streams()) {
    auto reply = d.request(*ws_, "resume-consumer",
                           "{\"consumerId\":" + quoted(s->info().consumer_id) + "}", deadline_ms);
    if (!reply)
      return fail("resume-consumer", reply.error());
    // Churn (any_consumers): the consumer may have closed with its producer meanwhile.
    if (expected_consumers_ == any_consumers && reply->is_error() &&
        error_code(*reply) == "unknown-consumer")
      continue;
    if (reply->type != "resume-consumer")
      return fail("resume-consumer", describe(*reply));
    receive_.on_resumed(*s, now_us);
  }
  marks_.consumed_us = mono_us();
  return true;
}

// ---- participant: media ------------------------------------------------------------------

void participant::start_media(worker_context& w, uint64_t start_us) {
  receive_.start(mono_us());
  if (!publishes_ || failed() || !send_ || !w.router)
    return;
  const router_info& r = *w.router;
  rtp_fields a{r.opus_pt, false, random_u16(), random_ssrc(), audio_ssrc_};
  audio_.emplace(a, extension_ids{r.mid_audio, r.tcc_audio}, "0", start_us, w.audio_bytes);
  // Video frames a little after the audio packet, as capture pipelines are not aligned;
  // the encodings of a simulcast producer capture the same frames (each with its own
  // sequence numbers, RTP timestamp offset, picture ids and TL0PICIDX).
  video_.clear();
  video_.reserve(video_ssrcs_.size());
  for (std::size_t i = 0; i < video_ssrcs_.size(); ++i) {
    rtp_fields v{r.vp8_pt, false, random_u16(), random_ssrc(), video_ssrcs_[i]};
    video_.emplace_back(video_configs_[i], v, extension_ids{r.mid_video, r.tcc_video},
                        start_us + 3000);
  }
  transport_seq_ = random_u16();
  next_sr_us_ = start_us + rtcp_interval_us;
}

void participant::send_packet(std::span<uint8_t> packet, std::size_t payload_offset,
                              video_encoding* video) {
  write_send_stamp(packet.subspan(payload_offset), stamp_clock_us());
  const uint16_t seq = uint16_t((packet[2] << 8) | packet[3]);
  (video ? video->history : audio_history_).store(seq, packet);
  if (!send_->send_rtp_packet(packet)) {
    ++own_.tx_failed;
    return;
  }
  ++own_.tx_packets;
  own_.tx_bytes += packet.size();
  const std::size_t payload = packet.size() - payload_offset;
  if (video) {
    ++own_.tx_video_packets;
    ++video->sent;
    video->octets += payload;
    if (const int8_t e = video->source.config().encoding; e >= 0)
      ++own_.tx_encoding_packets[std::size_t(e)];
  } else {
    ++own_.tx_audio_packets;
    ++audio_sent_;
    audio_octets_ += payload;
  }
}

void participant::send_video_frame(video_encoding& e, uint64_t now_us) {
  const std::size_t n = e.source.begin_frame(now_us);
  ++own_.tx_frames;
  if (e.source.frame_is_key())
    ++own_.tx_keyframes;
  if (const double factor = e.source.config().pace_factor; factor > 0 && !pacer_) {
    double bps = 0;
    for (auto& v : video_)
      bps += double(v.source.config().kbps) * 1000.0;
    pacer_.emplace(factor * bps);
  }
  for (std::size_t i = 0; i < n; ++i) {
    auto b = e.source.build_packet(i, buf_, transport_seq_);
    if (b.size == 0)
      break;
    const std::span<uint8_t> packet(buf_.data(), b.size);
    if (pacer_)
      pacer_->push(now_us, packet, b.payload_offset, std::size_t(&e - video_.data()));
    else
      send_packet(packet, b.payload_offset, &e);
  }
  release_paced(now_us);
}

void participant::release_paced(uint64_t now_us) {
  if (pacer_)
    pacer_->release(now_us, [&](std::span<uint8_t> p, std::size_t payload_offset, std::size_t e) {
      send_packet(p, payload_offset, &video_[e]);
    });
}

void participant::send_sender_reports(uint64_t now_us) {
  const uint64_t ntp = rtp::ntp_from_ms(int64_t(wall_ms()), rtp::ntp_unix_offset_ms);
  auto one = [&](uint32_t ssrc, uint32_t rtp_ts, uint64_t packets, uint64_t octets) {
    rtp::sender_report sr;
    sr.ssrc = ssrc;
    sr.ntp_timestamp = ntp;
    sr.rtp_timestamp = rtp_ts;
    sr.packet_count = uint32_t(packets);
    sr.octet_count = uint32_t(octets);
    auto sdes = rtp::source_description::with_cname(ssrc, cname_);
    auto n1 = sr.write(rtcp_buf_);
    if (!n1)
      return;
    auto n2 = sdes.write(std::span<uint8_t>(rtcp_buf_).subspan(*n1));
    if (!n2)
      return;
    send_->send_rtcp(std::span<const uint8_t>(rtcp_buf_.data(), *n1 + *n2));
  };
  if (audio_ && audio_sent_)
    one(audio_ssrc_, audio_->rtp_timestamp_at(now_us), audio_sent_, audio_octets_);
  for (auto& e : video_) // one per encoding
    if (e.sent)
      one(e.source.ssrc(), e.source.rtp_timestamp_at(now_us), e.sent, e.octets);
}

void participant::on_send_rtcp(std::span<const uint8_t> packet) {
  publisher_rtcp_actions a;
  read_publisher_rtcp(packet, audio_ssrc_, video_ssrcs_, a);
  own_.nacks_received += a.nack_packets;
  for (std::size_t i = 0; i < a.video_nacked.size(); ++i) {
    const std::size_t e = a.video_nacked_encoding[i];
    if (e >= video_.size())
      continue;
    if (auto stored = video_[e].history.find(a.video_nacked[i]);
        stored && send_->send_rtp_packet(*stored))
      ++own_.tx_retransmissions;
  }
  for (uint16_t seq : a.audio_nacked)
    if (auto stored = audio_history_.find(seq); stored && send_->send_rtp_packet(*stored))
      ++own_.tx_retransmissions;
  own_.keyframe_requests_received += a.keyframe_requests;
  // The encodings named (a receiver's PLI reaches only the encoding it is forwarded).
  for (std::size_t e = 0; e < video_.size(); ++e)
    if (a.keyframe_encodings & (1u << e))
      video_[e].source.request_keyframe();
}

uint64_t participant::service(worker_context&, uint64_t now_us) {
  if (failed())
    return never;
  uint64_t next = never;
  if (send_ && send_->connected() && audio_ && !video_.empty()) {
    while (audio_->next_packet_us() <= now_us) {
      auto b = audio_->build_packet(now_us, buf_, transport_seq_);
      if (b.size == 0)
        break;
      send_packet(std::span<uint8_t>(buf_.data(), b.size), b.payload_offset, nullptr);
    }
    release_paced(now_us);
    for (auto& e : video_) { // lowest encoding first
      while (e.source.next_frame_us() <= now_us)
        send_video_frame(e, now_us);
      next = std::min(next, e.source.next_frame_us());
    }
    if (pacer_ && !pacer_->empty())
      next = std::min(next, pacer_->next_us());
    if (now_us >= next_sr_us_) {
      send_sender_reports(now_us);
      next_sr_us_ = now_us + rtcp_interval_us;
    }
    next = std::min({next, audio_->next_packet_us(), next_sr_us_});
  }
  if (recv_ && recv_->connected())
    next = std::min(next, receive_.service(now_us));
  return next;
}

void participant::add_totals(totals& t) const noexcept {
  t += own_;
  receive_.add_totals(t);
}

bool participant::has_simulcast_consumer() const noexcept {
  for (auto& st : receive_.streams())
    if (st->info().intended_encoding >= 0)
      return true;
  return false;
}

server_view participant::query_server_view(worker_context& w, uint64_t deadline_ms) {
  server_view v;
  v.peer = peer_;
  v.low = prefers_low_;
  const inbound_stream* video = nullptr;
  for (auto& st : receive_.streams())
    if (!video && st->info().intended_encoding >= 0)
      video = st.get();
  if (failed() || !ws_ || !recv_ || !video) {
    v.error = "no simulcast consumer";
    return v;
  }
  auto u64 = [](const Value* o, const char* name) {
    return o ? uint_member(*o, name).value_or(0) : uint64_t(0);
  };
  auto t = w.driver->request(*ws_, "get-transport-stats",
                             "{\"transportId\":" + quoted(recv_->id()) + "}", deadline_ms);
  if (!t || t->type != "get-transport-stats") {
    v.error = "get-transport-stats: " + (t ? describe(*t) : t.error());
    return v;
  }
  rapidjson::Document td;
  td.Parse(t->data.data(), t->data.size());
  if (!td.IsObject()) {
    v.error = "get-transport-stats: not an object";
    return v;
  }
  const Value* media = obj_member(td, "media");
  const Value* bwe = obj_member(td, "bwe");
  const Value* alloc = obj_member(td, "allocation");
  v.transport_cc_in = u64(media, "transportCcIn");
  v.remb_in = u64(media, "rembIn");
  v.receiver_reports = u64(media, "receiverReports");
  v.bwe_feedbacks = u64(bwe, "feedbacks");
  v.bwe_target_bps = u64(bwe, "targetBps");
  v.alloc_budget_bps = u64(alloc, "budgetBps");
  v.alloc_desired_bps = u64(alloc, "desiredBps");
  auto c = w.driver->request(*ws_, "get-consumer-stats",
                             "{\"consumerId\":" + quoted(video->info().consumer_id) + "}",
                             deadline_ms);
  if (!c || c->type != "get-consumer-stats") {
    v.error = "get-consumer-stats: " + (c ? describe(*c) : c.error());
    return v;
  }
  rapidjson::Document cd;
  cd.Parse(c->data.data(), c->data.size());
  if (!cd.IsArray() || cd.Empty() || !cd[0].IsObject()) {
    v.error = "get-consumer-stats: not an array of one object";
    return v;
  }
  auto layer = [&](const char* name, int& spatial, int* temporal) {
    if (const Value* l = obj_member(cd[0], name)) {
      spatial = int(u64(l, "spatialLayer"));
      if (temporal)
        *temporal = int(u64(l, "temporalLayer"));
    }
  };
  layer("preferredLayers", v.preferred_spatial, nullptr);
  layer("currentLayers", v.current_spatial, &v.current_temporal);
  layer("allocatedLayers", v.allocated_spatial, nullptr);
  return v;
}

void participant::drain_events() {
  if (!ws_)
    return;
  for (auto& ev : ws_->take_events()) {
    if (activity_ && subscribes_ && !ev.request_id) {
      auto r = on_class_event(ev.type, ev.data, mono_us(), vote_option_, voted_, tallied_,
                              *activity_);
      if (r.vote_json)
        send_and_forget("vote", *r.vote_json);
    }
    // Kept until subscribe() reads them (bounded: later ones are not consumed anyway).
    if (ev.type != "new-producer" || !subscribes_ || consumers() > 0 ||
        announced_producers_.size() >= 4 * std::size_t(expected_consumers_) + 16)
      continue;
    rapidjson::Document doc;
    doc.Parse(ev.data.data(), ev.data.size());
    if (doc.IsObject())
      if (auto id = string_member_copy(doc, "producerId"); !id.empty())
        announced_producers_.push_back(std::move(id));
  }
}

void participant::send_and_forget(std::string_view type, const std::string& data_json) {
  if (!ws_ || !ws_->is_open())
    return;
  ws_->forget_request(ws_->send_request(type, data_json)); // the reply becomes an event
}

void participant::class_tick(uint64_t now_us, double chat_per_s, bool poll) {
  if (!activity_ || !ws_)
    return;
  if (poll && !poll_opened_) {
    poll_opened_ = true;
    send_and_forget("create-poll", R"({"question":")" + poll_question(now_us) +
                                     R"(","options":["yes","no"]})");
  }
  if (chat_per_s <= 0)
    return;
  if (next_chat_us_ == 0)
    next_chat_us_ = now_us;
  if (now_us < next_chat_us_)
    return;
  next_chat_us_ += uint64_t(1e6 / chat_per_s);
  ++activity_->chat_sent;
  send_and_forget("chat-message", R"({"text":")" + chat_text(now_us) + R"("})");
}

void participant::close(worker_context& w) {
  const uint64_t now = client::steady_now_ms();
  for (auto* t : {&send_, &recv_})
    if (*t) {
      w.driver->transports().remove(**t);
      (*t)->close(now);
    }
  if (ws_ && ws_->is_open())
    ws_->close(std::chrono::milliseconds(500));
}

void participant::cut(worker_context& w) noexcept {
  for (auto* t : {&send_, &recv_})
    if (*t)
      w.driver->transports().remove(**t);
  release();
}

void participant::release() noexcept {
  send_.reset();
  recv_.reset();
  ws_.reset();
}

} // namespace chorus::bench
