#include "protocol/rtmp_publish.hpp"

#include <algorithm>

namespace chorus::protocol {

namespace {

constexpr uint8_t rtmp_version = 3;
constexpr uint32_t control_chunk_stream = 2;
constexpr uint32_t command_chunk_stream = 3;
constexpr uint32_t stream_chunk_stream = 5;
constexpr uint32_t published_stream_id = 1;

// User control events (RTMP 1.0 §7.1.7).
constexpr uint16_t stream_begin = 0;
constexpr uint16_t ping_request = 6;
constexpr uint16_t ping_response = 7;

std::vector<uint8_t> be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

uint32_t read_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
}

amf0_value status(std::string_view level, std::string_view code, std::string_view description) {
  return amf0_value::object({"level", "code", "description"},
                            {amf0_value::of(level), amf0_value::of(code), amf0_value::of(description)});
}

} // namespace

void rtmp_publish_session::send_control(rtmp_output& out, uint8_t type,
                                        std::span<const uint8_t> payload) {
  write_rtmp_message(out.send, control_chunk_stream, type, 0, 0, payload, out_chunk_size_);
}

void rtmp_publish_session::send_command(rtmp_output& out, uint32_t chunk_stream, uint32_t stream_id,
                                        const std::vector<amf0_value>& values) {
  std::vector<uint8_t> body;
  for (const auto& v : values)
    write_amf0(v, body);
  write_rtmp_message(out.send, chunk_stream, rtmp_type::command_amf0, stream_id, 0, body,
                     out_chunk_size_);
}

result<bool> rtmp_publish_session::receive(std::span<const uint8_t> bytes, rtmp_output& out) {
  if (phase_ == phase::ended)
    return true;
  received_ += bytes.size();
  if (phase_ == phase::c0c1 || phase_ == phase::c2) {
    handshake_.insert(handshake_.end(), bytes.begin(), bytes.end());
    if (phase_ == phase::c0c1) {
      if (handshake_.empty())
        return true;
      if (handshake_[0] != rtmp_version)
        return failure{"RTMP version " + std::to_string(handshake_[0]) +
                       " (only 3, unencrypted, is served)"};
      if (handshake_.size() < 1 + rtmp_handshake_bytes)
        return true;
      // S0, S1 (our time 0, zeros, a filler that is ours), S2 (C1 echoed, read at time 0).
      out.send.push_back(rtmp_version);
      out.send.insert(out.send.end(), 8, 0);
      for (std::size_t i = 8; i < rtmp_handshake_bytes; ++i)
        out.send.push_back(static_cast<uint8_t>(i * 31 + 7));
      const auto c1 = handshake_.begin() + 1;
      out.send.insert(out.send.end(), c1, c1 + 4);
      out.send.insert(out.send.end(), 4, 0);
      out.send.insert(out.send.end(), c1 + 8, c1 + static_cast<std::ptrdiff_t>(rtmp_handshake_bytes));
      handshake_.erase(handshake_.begin(), c1 + static_cast<std::ptrdiff_t>(rtmp_handshake_bytes));
      phase_ = phase::c2;
    }
    if (handshake_.size() < rtmp_handshake_bytes)
      return true;
    std::vector<uint8_t> rest(handshake_.begin() + static_cast<std::ptrdiff_t>(rtmp_handshake_bytes),
                              handshake_.end());
    handshake_.clear();
    handshake_.shrink_to_fit();
    phase_ = phase::commands;
    if (auto r = read_messages(rest, out); !r)
      return r;
  } else if (auto r = read_messages(bytes, out); !r) {
    return r;
  }
  // Acknowledge the peer's window of bytes (its sequence number: the bytes received).
  if (peer_window_ > 0 && received_ - acknowledged_ >= peer_window_) {
    acknowledged_ = received_;
    send_control(out, rtmp_type::acknowledgement, be32(static_cast<uint32_t>(received_)));
  }
  return true;
}

result<bool> rtmp_publish_session::read_messages(std::span<const uint8_t> bytes, rtmp_output& out) {
  std::vector<rtmp_message> messages;
  if (auto r = reader_.read(bytes, messages); !r)
    return r;
  for (auto& m : messages) {
    if (phase_ == phase::ended)
      break;
    if (auto r = on_message(m, out); !r)
      return r;
  }
  return true;
}

result<bool> rtmp_publish_session::on_message(rtmp_message& m, rtmp_output& out) {
  switch (m.type) {
    case rtmp_type::window_ack_size:
      if (m.payload.size() < 4)
        return failure{"a Window Acknowledgement Size shorter than 4 bytes"};
      peer_window_ = read_be32(m.payload.data());
      return true;
    case rtmp_type::user_control:
      if (m.payload.size() >= 6 && (m.payload[0] << 8 | m.payload[1]) == ping_request) {
        std::vector<uint8_t> pong{0, static_cast<uint8_t>(ping_response)};
        pong.insert(pong.end(), m.payload.begin() + 2, m.payload.begin() + 6);
        send_control(out, rtmp_type::user_control, pong);
      }
      return true;
    case rtmp_type::command_amf3:
    case rtmp_type::command_amf0: {
      std::span<const uint8_t> body = m.payload;
      if (m.type == rtmp_type::command_amf3 && !body.empty())
        body = body.subspan(1); // AMF3 commands carry AMF0 after a format byte
      auto values = read_amf0(body);
      if (!values)
        return failure{"a command that does not parse: " + values.error()};
      return on_command(*values, m, out);
    }
    case rtmp_type::audio:
    case rtmp_type::video:
      if (phase_ != phase::publishing || m.stream_id != publish_stream_ || m.payload.empty()) {
        ++media_dropped_;
        return true;
      }
      out.media.push_back(rtmp_media{m.type, m.timestamp, std::move(m.payload)});
      return true;
    default: // chunk size and abort (taken by the reader), acknowledgements, metadata
      return true;
  }
}

result<bool> rtmp_publish_session::on_command(const std::vector<amf0_value>& values,
                                              const rtmp_message& m, rtmp_output& out) {
  if (values.size() < 2 || values[0].type != amf0_value::kind::string ||
      values[1].type != amf0_value::kind::number)
    return failure{"a command without its name and transaction id"};
  const std::string& name = values[0].text;
  const double txn = values[1].number;
  auto arg_text = [&](std::size_t i) {
    return values.size() > i && values[i].type == amf0_value::kind::string ? values[i].text
                                                                          : std::string{};
  };
  if (name == "connect") {
    if (phase_ != phase::commands || !request_.app.empty())
      return failure{"connect sent twice"};
    const amf0_value* command = values.size() > 2 ? &values[2] : nullptr;
    request_.app = command ? command->text_of("app") : std::string{};
    request_.tc_url = command ? command->text_of("tcUrl") : std::string{};
    const auto* encoding = command ? command->member("objectEncoding") : nullptr;
    send_control(out, rtmp_type::window_ack_size, be32(rtmp_window));
    auto bandwidth = be32(rtmp_window);
    bandwidth.push_back(2); // dynamic
    send_control(out, rtmp_type::set_peer_bandwidth, bandwidth);
    send_control(out, rtmp_type::set_chunk_size, be32(rtmp_out_chunk_size));
    out_chunk_size_ = rtmp_out_chunk_size;
    auto result = status("status", "NetConnection.Connect.Success", "Connection succeeded.");
    result.names.push_back("objectEncoding");
    result.members.push_back(amf0_value::of(encoding && encoding->type == amf0_value::kind::number
                                              ? encoding->number
                                              : 0.0));
    send_command(out, command_chunk_stream, 0,
                 {amf0_value::of("_result"), amf0_value::of(txn),
                  amf0_value::object({"fmsVer", "capabilities"},
                                     {amf0_value::of("FMS/3,0,1,123"), amf0_value::of(31.0)}),
                  std::move(result)});
    return true;
  }
  if (request_.app.empty() && name != "connect")
    return failure{"'" + name + "' before connect"};
  if (name == "createStream") {
    send_command(out, command_chunk_stream, 0,
                 {amf0_value::of("_result"), amf0_value::of(txn), amf0_value::null_value(),
                  amf0_value::of(static_cast<double>(published_stream_id))});
    return true;
  }
  if (name == "publish") {
    if (phase_ != phase::commands)
      return failure{"publish sent twice"};
    request_.stream_key = arg_text(3);
    publish_stream_ = m.stream_id;
    phase_ = phase::publish_asked;
    out.publish = request_;
    return true;
  }
  if (name == "play" || name == "play2") {
    send_command(out, stream_chunk_stream, m.stream_id,
                 {amf0_value::of("onStatus"), amf0_value::of(0.0), amf0_value::null_value(),
                  status("error", "NetStream.Play.Failed", "this endpoint takes streams in, it plays none")});
    return failure{"a play request (this endpoint only takes streams in)"};
  }
  if (name == "FCUnpublish" || name == "deleteStream" || name == "closeStream") {
    if (phase_ == phase::publishing || phase_ == phase::publish_asked)
      out.unpublished = true;
    return true;
  }
  // releaseStream, FCPublish, getStreamLength and the like: acknowledged, nothing to do.
  if (txn > 0)
    send_command(out, command_chunk_stream, 0,
                 {amf0_value::of("_result"), amf0_value::of(txn), amf0_value::null_value()});
  return true;
}

void rtmp_publish_session::accept(rtmp_output& out) {
  if (phase_ != phase::publish_asked)
    return;
  phase_ = phase::publishing;
  std::vector<uint8_t> begin{0, static_cast<uint8_t>(stream_begin)};
  auto id = be32(publish_stream_);
  begin.insert(begin.end(), id.begin(), id.end());
  send_control(out, rtmp_type::user_control, begin);
  auto s = status("status", "NetStream.Publish.Start", request_.stream_key.size() > 8
                                                         ? "the stream is published"
                                                         : "'" + request_.stream_key + "' is published");
  send_command(out, stream_chunk_stream, publish_stream_,
               {amf0_value::of("onStatus"), amf0_value::of(0.0), amf0_value::null_value(), std::move(s)});
}

void rtmp_publish_session::refuse(std::string_view code, std::string_view description,
                                  rtmp_output& out) {
  if (phase_ == phase::ended)
    return;
  if (phase_ == phase::publish_asked || phase_ == phase::publishing)
    send_command(out, stream_chunk_stream, publish_stream_,
                 {amf0_value::of("onStatus"), amf0_value::of(0.0), amf0_value::null_value(),
                  status("error", code, description)});
  phase_ = phase::ended;
}

} // namespace chorus::protocol
