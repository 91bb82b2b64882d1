#include "protocol/permissions.hpp"

#include <array>

namespace chorus::protocol {

namespace {

constexpr std::array<std::string_view, permission_count> permission_names{
  "publish-audio", "publish-video", "publish-screen", "subscribe", "chat", "moderate", "record",
};

} // namespace

std::string_view to_string(permission p) noexcept {
  auto i = static_cast<std::size_t>(p);
  return i < permission_names.size() ? permission_names[i] : std::string_view{"unknown"};
}

std::optional<permission> parse_permission(std::string_view name) noexcept {
  for (std::size_t i = 0; i < permission_names.size(); ++i)
    if (permission_names[i] == name)
      return static_cast<permission>(i);
  return std::nullopt;
}

std::vector<std::string_view> permission_set::names() const {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < permission_count; ++i)
    if (has(static_cast<permission>(i)))
      out.push_back(permission_names[i]);
  return out;
}

std::string permission_set::to_string() const {
  std::string out;
  for (auto n : names()) {
    if (!out.empty())
      out.push_back(',');
    out += n;
  }
  return out;
}

result<permission_set> parse_permissions(const std::vector<std::string>& names) {
  permission_set out;
  for (auto& n : names) {
    auto p = parse_permission(n);
    if (!p) {
      std::string msg = "unknown permission '" + n.substr(0, 64) + "' (known:";
      for (auto k : permission_names) {
        msg += ' ';
        msg += k;
      }
      msg += ')';
      return failure{std::move(msg)};
    }
    out.add(*p);
  }
  return out;
}

role_table role_table::defaults() {
  using enum permission;
  role_table t;
  t.set("teacher", permission_set::all());
  t.set("moderator", permission_set::all() - permission_set{record});
  t.set("student", {subscribe, chat});
  t.set("viewer", {subscribe});
  return t;
}

const permission_set* role_table::find(std::string_view role) const noexcept {
  for (auto& [name, set] : roles_)
    if (name == role)
      return &set;
  return nullptr;
}

void role_table::set(std::string role, permission_set permissions) {
  for (auto& [name, set] : roles_)
    if (name == role) {
      set = permissions;
      return;
    }
  roles_.emplace_back(std::move(role), permissions);
}

std::vector<std::string> role_table::names() const {
  std::vector<std::string> out;
  out.reserve(roles_.size());
  for (auto& r : roles_)
    out.push_back(r.first);
  return out;
}

std::optional<permission_set> resolve_permissions(std::string_view role,
                                                  const std::optional<permission_set>& claimed,
                                                  const role_table& roles) {
  if (claimed)
    return *claimed;
  const auto* set = roles.find(role.empty() ? default_token_role : role);
  if (set == nullptr)
    return std::nullopt;
  return *set;
}

std::optional<permission> permission_for_produce(std::string_view kind,
                                                 std::string_view source) noexcept {
  if (kind != "audio" && kind != "video")
    return std::nullopt;
  if (source == "screen")
    return permission::publish_screen;
  return kind == "audio" ? permission::publish_audio : permission::publish_video;
}

} // namespace chorus::protocol
