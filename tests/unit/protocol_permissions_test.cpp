// Permissions, roles and their resolution (protocol/permissions.hpp).
#include "protocol/permissions.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace chorus;
using namespace chorus::protocol;
using enum chorus::protocol::permission;

TEST_CASE("permission names round trip") {
  for (std::size_t i = 0; i < permission_count; ++i) {
    auto p = static_cast<permission>(i);
    CAPTURE(to_string(p));
    CHECK(parse_permission(to_string(p)) == p);
  }
  CHECK(to_string(publish_screen) == "publish-screen");
  CHECK(to_string(moderate) == "moderate");
  CHECK_FALSE(parse_permission("Publish-Audio").has_value());
  CHECK_FALSE(parse_permission("publish_audio").has_value());
  CHECK_FALSE(parse_permission("").has_value());
}

TEST_CASE("permission_set operations") {
  permission_set s{chat, subscribe};
  CHECK(s.has(chat));
  CHECK(s.has(subscribe));
  CHECK_FALSE(s.has(moderate));
  s.add(publish_audio);
  s.remove(chat);
  CHECK(s == permission_set{subscribe, publish_audio});
  CHECK(s.names() == std::vector<std::string_view>{"publish-audio", "subscribe"});
  CHECK(s.to_string() == "publish-audio,subscribe");
  CHECK(permission_set{}.empty());
  CHECK(permission_set{}.to_string().empty());
  CHECK(permission_set::all().names().size() == permission_count);
  CHECK((permission_set::all() - permission_set{record}).has(moderate));
  CHECK_FALSE((permission_set::all() - permission_set{record}).has(record));
  CHECK((permission_set{chat} | permission_set{record}) == permission_set{record, chat});
  CHECK(permission_set::from_bits(0xff) == permission_set::all()); // unknown bits dropped
  CHECK(permission_set::from_bits(s.bits()) == s);
}

TEST_CASE("parse_permissions: names into a set, unknown names refused") {
  auto ok = parse_permissions({"chat", "subscribe", "chat"});
  REQUIRE(ok.ok());
  CHECK(*ok == permission_set{chat, subscribe});
  auto empty = parse_permissions({});
  REQUIRE(empty.ok());
  CHECK(empty->empty());
  auto bad = parse_permissions({"chat", "teleport"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("teleport") != std::string::npos);
  CHECK(bad.error().find("publish-audio") != std::string::npos); // lists the known ones
}

TEST_CASE("default roles") {
  auto t = role_table::defaults();
  struct tcase {
    const char* role;
    permission_set expected;
  };
  std::vector<tcase> cases{
    {"teacher", permission_set::all()},
    {"moderator", {publish_audio, publish_video, publish_screen, subscribe, chat, moderate}},
    {"student", {subscribe, chat}},
    {"viewer", {subscribe}},
  };
  for (auto& c : cases) {
    CAPTURE(c.role);
    const auto* set = t.find(c.role);
    REQUIRE(set != nullptr);
    CHECK(*set == c.expected);
  }
  CHECK(t.find("Teacher") == nullptr);
  CHECK(t.find("admin") == nullptr);
  CHECK(t.names() == std::vector<std::string>{"teacher", "moderator", "student", "viewer"});
  // What each role may do, spelled out.
  auto may = [&](const char* role, permission p) { return t.find(role)->has(p); };
  CHECK(may("teacher", record));
  CHECK(may("teacher", moderate));
  CHECK_FALSE(may("moderator", record));
  CHECK(may("moderator", moderate));
  CHECK(may("moderator", publish_screen));
  CHECK_FALSE(may("student", publish_audio));
  CHECK_FALSE(may("student", publish_video));
  CHECK_FALSE(may("student", moderate));
  CHECK(may("student", chat));
  CHECK(may("viewer", subscribe));
  CHECK_FALSE(may("viewer", chat));
}

TEST_CASE("role overrides and new roles") {
  auto t = role_table::defaults();
  t.set("student", {subscribe, chat, publish_audio});
  t.set("assistant", {subscribe, chat, moderate});
  CHECK(*t.find("student") == permission_set{subscribe, chat, publish_audio});
  CHECK(*t.find("assistant") == permission_set{subscribe, chat, moderate});
  CHECK(t.names().size() == 5);
  CHECK(t.names().back() == "assistant");
  CHECK_FALSE(t == role_table::defaults());
}

TEST_CASE("resolve_permissions: claim, role, default role, unknown role") {
  auto t = role_table::defaults();
  CHECK(resolve_permissions("teacher", std::nullopt, t) == permission_set::all());
  CHECK(resolve_permissions("student", std::nullopt, t) == permission_set{subscribe, chat});
  // The permissions claim overrides the role, and the role may then be unknown.
  CHECK(resolve_permissions("student", permission_set{publish_video}, t) ==
        permission_set{publish_video});
  CHECK(resolve_permissions("guest", permission_set{chat}, t) == permission_set{chat});
  CHECK(resolve_permissions("teacher", permission_set{}, t) == permission_set{});
  // No role: the default token role (viewer).
  CHECK(default_token_role == "viewer");
  CHECK(resolve_permissions("", std::nullopt, t) == permission_set{subscribe});
  // Unknown role without a claim: refused.
  CHECK_FALSE(resolve_permissions("guest", std::nullopt, t).has_value());
  // Overrides apply.
  t.set("viewer", {subscribe, chat});
  CHECK(resolve_permissions("", std::nullopt, t) == permission_set{subscribe, chat});
}

TEST_CASE("permission_for_produce") {
  CHECK(permission_for_produce("audio", "") == publish_audio);
  CHECK(permission_for_produce("video", "") == publish_video);
  CHECK(permission_for_produce("video", "camera") == publish_video);
  CHECK(permission_for_produce("video", "screen") == publish_screen);
  CHECK(permission_for_produce("audio", "screen") == publish_screen);
  CHECK(permission_for_produce("video", "Screen") == publish_video);
  CHECK_FALSE(permission_for_produce("data", "").has_value());
  CHECK_FALSE(permission_for_produce("", "screen").has_value());
}
