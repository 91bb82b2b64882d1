// The Socket.IO v4 dialect of seeds 004 and 000 (docs/protocol.md, "Socket.IO dialect"):
//   client: 0[/ns,][{auth}]                 CONNECT (only "/" is served)
//           1[/ns,]                          DISCONNECT
//           2[/ns,][ackId]["event",{data}]   EVENT: a request; the ack id is its requestId
//   server: 0{"sid":ID}                      CONNECT answer
//           4/ns,{"message":"..."}           CONNECT_ERROR
//           3<ackId>[{response}]             the reply, or [{"error":..,"code":..}]
//           2["event",data]                  events
// The packet framing is socketio_packet's; the event's data object goes through the same
// request_parser as the JSON dialect's `data`, replies and events through reply_json.
#include "protocol/dialect.hpp"

#include "protocol/json_reader.hpp"
#include "protocol/reply_json.hpp"
#include "protocol/request_parser.hpp"
#include "protocol/socketio_packet.hpp"

#include <charconv>

namespace chorus::protocol {

namespace {

using rapidjson::Value;
using socketio::packet;
using socketio::packet_type;

// `{"message": TEXT}`, the payload of CONNECT_ERROR.
std::string message_object(std::string_view message) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  w.Key("message");
  write_string(w, message);
  w.EndObject();
  return text_of(buf);
}

// The ack id of a request_meta: the decimal digits this dialect stored. Anything else
// (a meta made by another dialect) is no ack id.
std::optional<uint64_t> ack_id_of(const request_meta& meta) {
  if (!meta.has_request_id || meta.request_id.empty())
    return std::nullopt;
  uint64_t id = 0;
  const char* first = meta.request_id.data();
  const char* last = first + meta.request_id.size();
  auto [ptr, ec] = std::from_chars(first, last, id);
  if (ec != std::errc{} || ptr != last)
    return std::nullopt;
  return id;
}

// Socket.IO answers every name with seed 004's objects, except seed 000's aliases, which
// answer with seed 000's shapes. (Seed 001 has no Socket.IO flavour: its names, such as
// create-transport, are accepted here too and answer like seed 004's.)
request_style socketio_style(request_style parsed) noexcept {
  return parsed == request_style::seed000 ? request_style::seed000 : request_style::seed004;
}

decode_result result_of(decode_kind kind) {
  decode_result out;
  out.kind = kind;
  return out;
}

// A problem with the packet: answered through the ack when the packet carried an ack id
// (and was addressed to the served namespace), otherwise dropped.
decode_result problem(decode_result out, bool answerable, error_code code,
                      std::string message) {
  out.ok = false;
  out.kind = answerable && out.meta.has_request_id ? decode_kind::error : decode_kind::dropped;
  out.error = {code, std::move(message)};
  return out;
}

class socketio_dialect final : public dialect {
public:
  explicit socketio_dialect(std::string socket_id)
    : socket_id_(socket_id.empty() ? socketio::make_socket_id() : std::move(socket_id)) {}

  std::string_view name() const noexcept override { return "socket.io"; }

  decode_result decode(std::string_view text) override {
    auto parsed = socketio::parse_packet(text);
    if (!parsed.ok)
      return problem({}, false, error_code::invalid_message,
                     "invalid Socket.IO packet: " + parsed.error);
    const packet& p = parsed.pkt;
    switch (p.type) {
      case packet_type::connect:
        return on_connect(p);
      case packet_type::disconnect:
        return on_disconnect(p);
      case packet_type::event:
        return on_event(p);
      case packet_type::binary_event:
      case packet_type::binary_ack:
        return on_binary(p);
      case packet_type::ack:
        return problem({}, false, error_code::invalid_message,
                       "unexpected ACK: the server asks for no acknowledgements");
      case packet_type::connect_error:
        return problem({}, false, error_code::invalid_message,
                       "CONNECT_ERROR is a server-to-client packet");
    }
    return problem({}, false, error_code::invalid_message, "unknown packet type");
  }

  std::string encode_reply(const request_meta& meta, const reply_body& reply) override {
    const auto id = ack_id_of(meta);
    if (!id)
      return {};
    const auto style = meta.style == request_style::seed000 ? request_style::seed000
                                                             : request_style::seed004;
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartArray();
    write_reply_data(w, style, reply, frontend_);
    w.EndArray();
    return socketio::encode_packet(packet_type::ack, socketio::default_namespace, id,
                                   text_of(buf));
  }

  std::string encode_error(const request_meta& meta, const error_info& err) override {
    const auto id = ack_id_of(meta);
    if (!id)
      return {};
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartArray();
    w.StartObject();
    w.Key("error");
    write_string(w, err.message);
    w.Key("code");
    write_string(w, to_string(err.code));
    w.EndObject();
    w.EndArray();
    return socketio::encode_packet(packet_type::ack, socketio::default_namespace, id,
                                   text_of(buf));
  }

  std::string encode_event(const event_body& ev) override {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartArray();
    write_string(w, event_type_name(ev, frontend_));
    write_event_data(w, ev, frontend_);
    w.EndArray();
    return socketio::encode_packet(packet_type::event, socketio::default_namespace,
                                   std::nullopt, text_of(buf));
  }

  // The session refuses the CONNECT it was handed (a missing or bad token): the client's
  // `connect_error` gets `message`, and `code` on the error object (Socket.IO copies the
  // packet's `data` onto it). Events count as before CONNECT again.
  std::string encode_connect_refusal(const error_info& err) override {
    connected_ = false;
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("message");
    write_string(w, err.message);
    w.Key("data");
    w.StartObject();
    w.Key("code");
    write_string(w, to_string(err.code));
    w.EndObject();
    w.EndObject();
    return socketio::encode_packet(packet_type::connect_error, socketio::default_namespace,
                                   std::nullopt, text_of(buf));
  }

  std::string encode_disconnect() override {
    return socketio::encode_packet(packet_type::disconnect, socketio::default_namespace,
                                   std::nullopt, {});
  }

private:
  static bool served(const packet& p) noexcept { return p.nsp == socketio::default_namespace; }

  decode_result on_connect(const packet& p) {
    if (!served(p)) {
      auto out = result_of(decode_kind::control);
      out.immediate.push_back(socketio::encode_packet(packet_type::connect_error, p.nsp,
                                                      std::nullopt,
                                                      message_object("Invalid namespace")));
      return out;
    }
    // The payload, if any, is the client's `auth` object. It must be a JSON object; its
    // `roomId` (or `channelId`) and `name`, when present, say where the connection
    // belongs (the implicit join). The peer id is the socket id.
    connection_hints hints;
    if (!p.payload.empty()) {
      rapidjson::Document doc;
      std::string err = json::parse_text(p.payload, doc);
      if (err.empty() && !doc.IsObject())
        err = "the auth payload must be a JSON object";
      auto code = error_code::malformed_json;
      error_info bad;
      if (err.empty() && !parse_connection_hints(doc, hints, bad)) {
        err = bad.message;
        code = bad.code;
      }
      if (!err.empty()) {
        auto out = problem({}, false, code, "invalid CONNECT payload: " + err);
        out.immediate.push_back(socketio::encode_packet(
          packet_type::connect_error, p.nsp, std::nullopt, message_object("Invalid payload")));
        return out;
      }
    }
    connected_ = true;
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    w.Key("sid");
    write_string(w, socket_id_);
    w.EndObject();
    auto out = result_of(decode_kind::control);
    out.has_connection_hints = true;
    out.hints = std::move(hints);
    out.immediate.push_back(socketio::encode_packet(packet_type::connect,
                                                    socketio::default_namespace,
                                                    std::nullopt, text_of(buf)));
    return out;
  }

  decode_result on_disconnect(const packet& p) {
    if (!served(p))
      return problem({}, false, error_code::invalid_message,
                     "DISCONNECT from namespace " + p.nsp + ", which is not served");
    connected_ = false;
    auto out = result_of(decode_kind::control);
    out.disconnect = true;
    return out;
  }

  decode_result on_binary(const packet& p) {
    decode_result out;
    const bool answerable = p.type == packet_type::binary_event && served(p) && connected_;
    if (answerable)
      set_ack(out, p);
    return problem(std::move(out), answerable, error_code::unsupported,
                   "binary packets are not supported");
  }

  static void set_ack(decode_result& out, const packet& p) {
    if (p.ack_id) {
      out.meta.has_request_id = true;
      out.meta.request_id = std::to_string(*p.ack_id);
    }
  }

  decode_result on_event(const packet& p) {
    decode_result out;
    if (!served(p))
      return problem(std::move(out), false, error_code::invalid_message,
                     "EVENT for namespace " + p.nsp + ", which is not served");
    if (!connected_)
      return problem(std::move(out), false, error_code::invalid_message,
                     "EVENT before CONNECT");
    set_ack(out, p);
    rapidjson::Document doc;
    if (auto err = json::parse_text(p.payload, doc); !err.empty())
      return problem(std::move(out), true, error_code::malformed_json,
                     "the event is not valid JSON: " + err);
    if (!doc.IsArray())
      return problem(std::move(out), true, error_code::malformed_json,
                     "the event must be a JSON array");
    if (doc.Empty())
      return problem(std::move(out), true, error_code::invalid_message,
                     "the event name is required");
    const Value& name = doc[0];
    if (!name.IsString())
      return problem(std::move(out), true, error_code::invalid_message,
                     "the event name must be a string");
    out.meta.type.assign(name.GetString(), name.GetStringLength());
    // The first argument is the request's data; `null` (an `undefined` argument) counts
    // as none. Further arguments are ignored.
    const Value* data = doc.Size() > 1 && !doc[1].IsNull() ? &doc[1] : nullptr;
    if (!acceptable_data(out.meta.type, data))
      return problem(std::move(out), true, error_code::invalid_message,
                     "the event's data must be an object");
    auto parsed = parse_request(out.meta.type, data);
    out.meta.style = socketio_style(parsed.style);
    // A client that speaks seed 000's names follows seed 000's flow, whose produce step
    // reads `producerId`: from then on its produce replies carry it next to `id`.
    if (out.meta.style == request_style::seed000)
      seed000_client_ = true;
    else if (seed000_client_ && std::holds_alternative<produce_request>(parsed.body))
      out.meta.style = request_style::seed000;
    if (!parsed.ok)
      return problem(std::move(out), true, parsed.error.code, std::move(parsed.error.message));
    out.ok = true;
    out.kind = decode_kind::request;
    out.req.meta = out.meta;
    out.req.body = std::move(parsed.body);
    return out;
  }

  std::string socket_id_;
  bool connected_ = false;
  bool seed000_client_ = false; // has used a seed 000 name on this connection
};

} // namespace

std::unique_ptr<dialect> make_socketio_dialect(std::string socket_id) {
  return std::make_unique<socketio_dialect>(std::move(socket_id));
}

} // namespace chorus::protocol
