#include "protocol/class_json.hpp"
#include "protocol/json_members.hpp"

namespace chorus::protocol {

using namespace json;

void write_hand(json_writer& w, const hand_item& h) {
  w.StartObject();
  member(w, "peerId", h.peer_id);
  member(w, "userId", h.user_id.empty() ? h.peer_id : h.user_id);
  member(w, "name", h.name);
  key(w, "raisedAt");
  w.Int64(h.raised_at);
  w.EndObject();
}

void write_frontend_message(json_writer& w, const chat_item& m) {
  w.StartObject();
  member(w, "id", m.client_id.empty() ? m.id : m.client_id);
  member(w, "text", m.text);
  key(w, "createdAt");
  w.Int64(m.at);
  key(w, "pinned");
  w.Bool(m.pinned);
  key(w, "sender");
  w.StartObject();
  member(w, "id", m.user_id.empty() ? m.from : m.user_id);
  member(w, "name", m.name);
  if (!m.avatar_url.empty())
    member(w, "avatarUrl", m.avatar_url);
  w.EndObject();
  if (!m.reply_to.empty()) {
    key(w, "replyTo");
    write_raw(w, m.reply_to);
  }
  if (!m.reactions.empty()) {
    key(w, "reactions");
    w.StartObject();
    for (const auto& r : m.reactions) {
      key(w, r.emoji);
      write_string_array(w, r.user_ids);
    }
    w.EndObject();
  }
  w.EndObject();
}

void write_chat(json_writer& w, const chat_item& m, bool frontend,
                std::string_view socket_id) {
  if (frontend) {
    w.StartObject();
    member(w, "socketId", socket_id.empty() ? std::string_view{m.from} : socket_id);
    key(w, "message");
    write_frontend_message(w, m);
    w.EndObject();
    return;
  }
  w.StartObject();
  member(w, "id", m.id);
  member(w, "from", m.from);
  member(w, "userId", m.user_id.empty() ? m.from : m.user_id);
  member(w, "name", m.name);
  member(w, "text", m.text);
  if (!m.to.empty())
    member(w, "to", m.to);
  key(w, "at");
  w.Int64(m.at);
  w.EndObject();
}

void write_poll(json_writer& w, const poll_item& p) {
  w.StartObject();
  member(w, "pollId", p.id);
  member(w, "question", p.question);
  key(w, "options");
  write_string_array(w, p.options);
  key(w, "multiple");
  w.Bool(p.multiple);
  key(w, "anonymous");
  w.Bool(p.anonymous);
  key(w, "closed");
  w.Bool(p.closed);
  key(w, "counts");
  w.StartArray();
  for (auto c : p.counts)
    w.Uint(c);
  w.EndArray();
  key(w, "voters");
  w.Uint(p.voters);
  member(w, "by", p.by);
  key(w, "createdAt");
  w.Int64(p.created_at);
  w.EndObject();
}

} // namespace chorus::protocol
