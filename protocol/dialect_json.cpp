// Seed 001's plain WebSocket JSON dialect (docs/protocol.md, "Messages"):
//   client: { "type": NAME, "data"?: {...}, "requestId"?: string|number }
//   server: { "type": REPLY, "data"?: ..., "requestId"? }, { "type": "error", ... },
//           { "type": EVENT, "data": ... }
// The envelope is read here; the request's data by request_parser, replies and events by
// reply_json, so that other dialects can reuse both.
#include "protocol/dialect.hpp"

#include "protocol/json_reader.hpp"
#include "protocol/reply_json.hpp"
#include "protocol/request_parser.hpp"

namespace chorus::protocol {

namespace {

using rapidjson::Value;

const Value* find_member(const Value& obj, std::string_view key) {
  for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it)
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == key)
      return &it->value;
  return nullptr;
}

decode_result failed(decode_result out, error_code code, std::string message) {
  out.ok = false;
  out.kind = decode_kind::error;
  out.error = {code, std::move(message)};
  return out;
}

// The envelope's checks, in the order docs/protocol.md lists them. Fills `meta` with
// whatever could be read so that an error reply can echo it.
decode_result decode_envelope(const Value& root) {
  decode_result out;
  const Value* type = find_member(root, "type");
  const Value* data = find_member(root, "data");
  const Value* request_id = find_member(root, "requestId");
  if (type != nullptr && type->IsString())
    out.meta.type.assign(type->GetString(), type->GetStringLength());
  if (request_id != nullptr) {
    if (!request_id->IsString() && !request_id->IsNumber())
      return failed(std::move(out), error_code::invalid_message,
                    "requestId must be a string or a number");
    out.meta.request_id = json::compact(*request_id);
    out.meta.has_request_id = true;
  }
  if (type == nullptr)
    return failed(std::move(out), error_code::invalid_message, "type is required");
  if (!type->IsString())
    return failed(std::move(out), error_code::invalid_message, "type must be a string");
  if (!acceptable_data(out.meta.type, data))
    return failed(std::move(out), error_code::invalid_message, "data must be an object");
  auto parsed = parse_request(out.meta.type, data);
  // Seed 000's alias names answer with seed 004's response objects in this dialect.
  out.meta.style =
    parsed.style == request_style::seed000 ? request_style::seed004 : parsed.style;
  if (!parsed.ok)
    return failed(std::move(out), parsed.error.code, std::move(parsed.error.message));
  out.ok = true;
  out.kind = decode_kind::request;
  out.req.meta = out.meta;
  out.req.body = std::move(parsed.body);
  return out;
}

void write_request_id(json_writer& w, const request_meta& meta) {
  if (!meta.has_request_id || meta.request_id.empty())
    return;
  w.Key("requestId");
  w.RawValue(meta.request_id.data(), meta.request_id.size(), rapidjson::kStringType);
}

void write_type(json_writer& w, std::string_view type) {
  w.Key("type");
  write_string(w, type);
}

class json_dialect final : public dialect {
public:
  std::string_view name() const noexcept override { return "json"; }

  decode_result decode(std::string_view text) override {
    rapidjson::Document doc;
    if (auto err = json::parse_text(text, doc); !err.empty())
      return failed({}, error_code::malformed_json, "the message is not valid JSON: " + err);
    if (!doc.IsObject())
      return failed({}, error_code::malformed_json, "the message must be a JSON object");
    return decode_envelope(doc);
  }

  std::string encode_reply(const request_meta& meta, const reply_body& reply) override {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    write_type(w, reply_type_name(meta));
    if (reply_has_data(meta.style, reply)) {
      w.Key("data");
      write_reply_data(w, meta.style, reply, frontend_);
    }
    write_request_id(w, meta);
    w.EndObject();
    return text_of(buf);
  }

  std::string encode_error(const request_meta& meta, const error_info& err) override {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    write_type(w, "error");
    w.Key("data");
    w.StartObject();
    w.Key("message");
    w.String(err.message.data(), static_cast<rapidjson::SizeType>(err.message.size()));
    w.Key("code");
    const auto code = to_string(err.code);
    w.String(code.data(), static_cast<rapidjson::SizeType>(code.size()));
    w.Key("request");
    if (meta.type.empty())
      w.Null();
    else
      w.String(meta.type.data(), static_cast<rapidjson::SizeType>(meta.type.size()));
    w.EndObject();
    write_request_id(w, meta);
    w.EndObject();
    return text_of(buf);
  }

  std::string encode_event(const event_body& ev) override {
    rapidjson::StringBuffer buf;
    json_writer w(buf);
    w.StartObject();
    write_type(w, event_type_name(ev, frontend_));
    w.Key("data");
    write_event_data(w, ev, frontend_);
    w.EndObject();
    return text_of(buf);
  }
};

} // namespace

std::unique_ptr<dialect> make_json_dialect() {
  return std::make_unique<json_dialect>();
}

} // namespace chorus::protocol
