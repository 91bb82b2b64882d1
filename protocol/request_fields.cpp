#include "protocol/request_fields.hpp"

#include "common/text.hpp"

namespace chorus::protocol::fields {

using rapidjson::Value;

void read_label(object_reader& r, std::string_view key, std::string& out, bool required,
                std::size_t max) {
  std::string tmp;
  if (!r.text(key, tmp, required, 1, max))
    return;
  if (text::has_control_chars(tmp)) {
    r.fail(key, "must not contain control characters");
    return;
  }
  out = std::move(tmp);
}

void read_room(object_reader& r, std::string& out) {
  read_label(r, "roomId", out, false, max_room_id_bytes);
}

void read_id(object_reader& r, std::string_view key, std::string& out, bool required) {
  r.text(key, out, required, 1, max_entity_id_bytes);
}

void read_kind(object_reader& r, rtp::media_kind& out) {
  std::string text;
  if (!r.text("kind", text, true))
    return;
  if (text == "audio")
    out = rtp::media_kind::audio;
  else if (text == "video")
    out = rtp::media_kind::video;
  else
    r.fail("kind", "must be \"audio\" or \"video\"");
}

void read_direction(object_reader& r, transport_direction& out, bool required) {
  std::string text;
  if (!r.text("direction", text, required))
    return;
  if (text == "send")
    out = transport_direction::send;
  else if (text == "recv")
    out = transport_direction::recv;
  else
    r.fail("direction", "must be \"send\" or \"recv\"");
}


void read_app_data(object_reader& r, std::string& out, bool& is_screen_share,
                   std::string& source_out, issue& err) {
  const Value* v = r.member("appData", false);
  if (v == nullptr || !json::check_object(*v, r.path("appData"), err))
    return;
  out = json::compact(*v);
  auto share = v->FindMember("share");
  auto source = v->FindMember("source");
  std::string_view src;
  if (source != v->MemberEnd() && source->value.IsString())
    src = std::string_view(source->value.GetString(), source->value.GetStringLength());
  is_screen_share =
    (share != v->MemberEnd() && share->value.IsBool() && share->value.GetBool()) ||
    src == "screen";
  if (text::valid_label(src, max_source_bytes)) // announced in new-producer
    source_out = std::string(src);
}

void read_user_id(object_reader& r, std::string& out, bool required) {
  read_label(r, "userId", out, required, max_user_id_bytes);
}

uint8_t publish_kind_bit(std::string_view s) noexcept {
  if (s == "audio")
    return publish_kinds::audio;
  if (s == "video")
    return publish_kinds::video;
  if (s == "screen")
    return publish_kinds::screen;
  return 0;
}

void read_publish_kinds(object_reader& r, issue& err, uint8_t& out, bool all_by_default) {
  std::string one;
  if (r.text("kind", one, false)) {
    out = publish_kind_bit(one);
    if (out == 0)
      r.fail("kind", "must be \"audio\", \"video\" or \"screen\"");
    return;
  }
  const Value* list = r.member("kinds", false);
  if (list == nullptr) {
    if (all_by_default)
      out = publish_kinds::all;
    else if (r.ok())
      err.fail("kind (or kinds) is required", true);
    return;
  }
  if (!json::check_array(*list, r.path("kinds"), err))
    return;
  if (list->Empty() || list->Size() > 3) {
    r.fail("kinds", "must list 1 to 3 of \"audio\", \"video\", \"screen\"");
    return;
  }
  out = 0;
  for (auto& v : list->GetArray()) {
    uint8_t bit =
      v.IsString() ? publish_kind_bit(std::string_view(v.GetString(), v.GetStringLength())) : 0;
    if (bit == 0) {
      r.fail("kinds", "must list 1 to 3 of \"audio\", \"video\", \"screen\"");
      return;
    }
    out |= bit;
  }
}

void read_reason(object_reader& r, std::string& out) {
  read_label(r, "reason", out, false, max_reason_bytes);
}

} // namespace chorus::protocol::fields
