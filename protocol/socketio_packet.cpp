#include "protocol/socketio_packet.hpp"

#include "common/ids.hpp"

#include <array>

namespace chorus::protocol::socketio {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

parse_result failed(parse_result out, std::string error) {
  out.ok = false;
  out.error = std::move(error);
  return out;
}

// A character for an error message: printable ASCII as is, anything else as \xNN.
std::string shown(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f)
    return std::string(1, c);
  static constexpr char hex[] = "0123456789abcdef";
  return std::string{'\\', 'x', hex[u >> 4], hex[u & 0xf]};
}

} // namespace

std::string_view to_string(packet_type t) noexcept {
  switch (t) {
    case packet_type::connect:
      return "CONNECT";
    case packet_type::disconnect:
      return "DISCONNECT";
    case packet_type::event:
      return "EVENT";
    case packet_type::ack:
      return "ACK";
    case packet_type::connect_error:
      return "CONNECT_ERROR";
    case packet_type::binary_event:
      return "BINARY_EVENT";
    case packet_type::binary_ack:
      return "BINARY_ACK";
  }
  return "UNKNOWN";
}

parse_result parse_packet(std::string_view text) {
  parse_result out;
  if (text.empty())
    return failed(std::move(out), "empty packet");
  if (text[0] < '0' || text[0] > '6')
    return failed(std::move(out), "unknown packet type '" + shown(text[0]) + "'");
  out.pkt.type = static_cast<packet_type>(text[0] - '0');
  std::size_t i = 1;

  // <attachments>- (binary packets only)
  if (out.pkt.type == packet_type::binary_event || out.pkt.type == packet_type::binary_ack) {
    const std::size_t start = i;
    uint32_t count = 0;
    while (i < text.size() && is_digit(text[i])) {
      if (i - start >= max_attachment_digits)
        return failed(std::move(out), "attachment count too large");
      count = count * 10 + static_cast<uint32_t>(text[i] - '0');
      ++i;
    }
    if (i == start || i >= text.size() || text[i] != '-')
      return failed(std::move(out), "binary packet without \"<attachments>-\"");
    out.pkt.attachments = count;
    ++i;
  }

  // <namespace>, : from a '/' up to the first ',' or the end of the text.
  if (i < text.size() && text[i] == '/') {
    const std::size_t start = i;
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    if (end - start > max_namespace_bytes)
      return failed(std::move(out), "namespace longer than " +
                                      std::to_string(max_namespace_bytes) + " bytes");
    out.pkt.nsp.assign(text.substr(start, end - start));
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  // <ackId>
  if (i < text.size() && is_digit(text[i])) {
    uint64_t id = 0;
    while (i < text.size() && is_digit(text[i])) {
      const auto digit = static_cast<uint64_t>(text[i] - '0');
      if (id > (max_ack_id - digit) / 10)
        return failed(std::move(out), "ack id out of range");
      id = id * 10 + digit;
      ++i;
    }
    out.pkt.ack_id = id;
  }

  out.pkt.payload = text.substr(i);
  out.ok = true;
  return out;
}

std::string encode_packet(packet_type type, std::string_view nsp,
                          std::optional<uint64_t> ack_id, std::string_view payload,
                          uint32_t attachments) {
  std::string out;
  out.reserve(1 + nsp.size() + 24 + payload.size());
  out += static_cast<char>('0' + static_cast<int>(type));
  if (type == packet_type::binary_event || type == packet_type::binary_ack) {
    out += std::to_string(attachments);
    out += '-';
  }
  if (!nsp.empty() && nsp != default_namespace) {
    out += nsp;
    out += ',';
  }
  if (ack_id)
    out += std::to_string(*ack_id);
  out += payload;
  return out;
}

std::string make_socket_id() {
  return ids::random_base64url(15);
}

} // namespace chorus::protocol::socketio
