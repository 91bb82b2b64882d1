#include "protocol/meetings.hpp"

#include "common/text.hpp"
#include "protocol/json_reader.hpp"
#include "protocol/reply_json.hpp"

#include <cmath>

namespace chorus::protocol {

std::optional<meeting> parse_meeting_request(std::string_view body, std::string& error) {
  rapidjson::Document doc;
  if (auto e = json::parse_text(body, doc); !e.empty()) {
    error = "the body is not valid JSON: " + e;
    return std::nullopt;
  }
  if (!doc.IsObject()) {
    error = "the body must be a JSON object";
    return std::nullopt;
  }
  json::issue err;
  json::object_reader r(doc, "", err);
  meeting m;
  r.text("id", m.id, true, 1, 128);
  r.text("userId", m.creator_id, true, 1, 128);
  r.text("description", m.description, false, 0, 2000);
  if (const auto* s = r.member("startsAt", false); s != nullptr && s->IsNumber())
  {
    // A double out of int64's range would be undefined to convert: ignored, like a non-number.
    if (s->IsInt64())
      m.starts_at = s->GetInt64();
    else if (std::fabs(s->GetDouble()) < 9.2e18)
      m.starts_at = static_cast<int64_t>(s->GetDouble());
  }
  if (!err.failed && (!text::valid_label(m.id) || !text::valid_label(m.creator_id)))
    err.fail("id and userId must be printable (no control characters)");
  if (err.failed) {
    error = err.message;
    return std::nullopt;
  }
  return m;
}

std::string meeting_json(const meeting& m) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  w.Key("success");
  w.Bool(true);
  w.Key("meeting");
  w.StartObject();
  w.Key("id");
  write_string(w, m.id);
  w.Key("creatorId");
  write_string(w, m.creator_id);
  w.Key("description");
  write_string(w, m.description);
  if (m.starts_at != 0) {
    w.Key("startsAt");
    w.Int64(m.starts_at);
  }
  w.Key("createdAt");
  w.Int64(m.created_at);
  w.EndObject();
  w.EndObject();
  return text_of(buf);
}

std::string meeting_error_json(std::string_view message) {
  rapidjson::StringBuffer buf;
  json_writer w(buf);
  w.StartObject();
  w.Key("success");
  w.Bool(false);
  w.Key("error");
  write_string(w, message);
  w.EndObject();
  return text_of(buf);
}

} // namespace chorus::protocol
