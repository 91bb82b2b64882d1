// `chorus token`: the arguments, and tokens the server's verifier accepts.
#include "app/config.hpp"
#include "app/token_command.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace chorus;

namespace {

std::string fixture_path(const std::string& name) {
  return std::string{CHORUS_SOURCE_DIR} + "/tests/fixtures/jwt/" + name;
}

result<app::token_command> parse_token(std::vector<std::string> args) {
  std::vector<const char*> argv{"token"};
  for (auto& a : args)
    argv.push_back(a.c_str());
  return app::parse_token_command(static_cast<int>(argv.size()), argv.data());
}

constexpr int64_t now = 1'800'000'000;

protocol::jwt_verifier server_verifier(std::vector<std::string> flags) {
  std::vector<const char*> argv{"chorus", "--auth-mode", "jwt"};
  for (auto& f : flags)
    argv.push_back(f.c_str());
  auto cli = app::parse_command_line(static_cast<int>(argv.size()), argv.data());
  REQUIRE_MESSAGE(cli.ok(), (cli.ok() ? "" : cli.error()));
  auto v = app::make_jwt_verifier(cli->cfg.auth);
  REQUIRE(v.ok());
  return *v;
}

} // namespace

TEST_CASE("chorus token: an HS256 token the server accepts") {
  auto cmd = parse_token({"--secret-file", fixture_path("hs256_secret.txt"), "--sub", "t1",
                          "--name", "Ms Teacher", "--room", "math", "--role", "teacher",
                          "--ttl-s", "600", "--issuer", "school", "--audience", "chorus"});
  REQUIRE_MESSAGE(cmd.ok(), (cmd.ok() ? "" : cmd.error()));
  auto token = app::mint_token(*cmd, now);
  REQUIRE_MESSAGE(token.ok(), (token.ok() ? "" : token.error()));
  auto v = server_verifier({"--auth-hs256-secret-file", fixture_path("hs256_secret.txt"),
                            "--auth-issuer", "school", "--auth-audience", "chorus"});
  auto claims = v.verify(*token, now);
  REQUIRE(claims.ok());
  CHECK(claims->sub == "t1");
  CHECK(claims->name == "Ms Teacher");
  CHECK(claims->covers_room("math"));
  CHECK(claims->role == "teacher");
  CHECK(claims->iat == now);
  CHECK(claims->exp == now + 600);
  CHECK(v.verify(*token, now + 600 + 30).error() == protocol::jwt_error::expired);
}

TEST_CASE("chorus token: RS256 and ES256 from a private key") {
  for (auto c : {std::tuple{"rs256_private.pem", "rs256_public.pem", protocol::jwt_algorithm::rs256},
                 std::tuple{"es256_private.pem", "es256_public.pem", protocol::jwt_algorithm::es256}}) {
    // (no structured binding: clang 14 cannot capture one in CAPTURE's lambda)
    const char* key = std::get<0>(c);
    const char* pub = std::get<1>(c);
    const auto alg = std::get<2>(c);
    CAPTURE(std::string{key});
    auto cmd = parse_token({"--private-key-file", fixture_path(key), "--sub", "s1", "--rooms",
                            "a,b", "--role", "student", "--permissions", "subscribe,chat,publish-audio"});
    REQUIRE(cmd.ok());
    auto token = app::mint_token(*cmd, now);
    REQUIRE_MESSAGE(token.ok(), (token.ok() ? "" : token.error()));
    auto v = server_verifier({"--auth-public-key-file", fixture_path(pub)});
    CHECK(v.algorithm() == alg);
    auto claims = v.verify(*token, now);
    REQUIRE(claims.ok());
    CHECK(claims->rooms == std::vector<std::string>{"a", "b"});
    REQUIRE(claims->permissions.has_value());
    CHECK(claims->permissions->has(protocol::permission::publish_audio));
    CHECK_FALSE(claims->permissions->has(protocol::permission::publish_video));
  }
  auto every = parse_token({"--private-key-file", fixture_path("es256_private.pem"), "--sub", "x",
                            "--room", "*", "--alg", "ES256", "--permissions", ""});
  REQUIRE(every.ok());
  auto token = app::mint_token(*every, now);
  REQUIRE(token.ok());
  auto claims = server_verifier({"--auth-public-key-file", fixture_path("es256_public.pem")})
                  .verify(*token, now);
  REQUIRE(claims.ok());
  CHECK(claims->covers_all_rooms());
  CHECK(claims->permissions == protocol::permission_set{});
}

TEST_CASE("chorus token: --help and errors naming the flag") {
  auto help = parse_token({"--help"});
  REQUIRE(help.ok());
  CHECK(help->help);
  CHECK(app::token_usage().find("--secret-file") != std::string::npos);
  const auto secret = fixture_path("hs256_secret.txt");
  struct tcase {
    const char* name;
    std::vector<std::string> args;
    const char* expected;
  };
  std::vector<tcase> cases{
    {"no key", {"--sub", "a", "--room", "r"}, "--secret-file"},
    {"both keys",
     {"--secret-file", secret, "--private-key-file", fixture_path("rs256_private.pem"), "--sub",
      "a", "--room", "r"},
     "--secret-file"},
    {"no sub", {"--secret-file", secret, "--room", "r"}, "--sub"},
    {"no room", {"--secret-file", secret, "--sub", "a"}, "--room"},
    {"room and rooms", {"--secret-file", secret, "--sub", "a", "--room", "r", "--rooms", "x"},
     "--room"},
    {"unknown permission",
     {"--secret-file", secret, "--sub", "a", "--room", "r", "--permissions", "fly"},
     "--permissions"},
    {"bad alg", {"--alg", "none"}, "--alg"},
    {"ttl zero", {"--ttl-s", "0"}, "--ttl-s"},
    {"ttl not a number", {"--ttl-s", "1h"}, "--ttl-s"},
    {"unknown flag", {"--exp", "5"}, "--exp"},
    {"sub empty", {"--sub", ""}, "--sub"},
  };
  for (auto& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    auto r = parse_token(c.args);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(c.expected) != std::string::npos, r.error());
  }
  struct mcase {
    const char* name;
    std::vector<std::string> args;
    const char* expected;
  };
  std::vector<mcase> mint_cases{
    {"secret file missing", {"--secret-file", "/nonexistent", "--sub", "a", "--room", "r"},
     "--secret-file"},
    {"secret too short",
     {"--secret-file", fixture_path("short_secret.txt"), "--sub", "a", "--room", "r"},
     "--secret-file"},
    {"RS256 with a secret", {"--secret-file", secret, "--alg", "RS256", "--sub", "a", "--room", "r"},
     "--alg"},
    {"public key as private key",
     {"--private-key-file", fixture_path("rs256_public.pem"), "--sub", "a", "--room", "r"},
     "--private-key-file"},
    {"ES256 with an RSA key",
     {"--private-key-file", fixture_path("rs256_private.pem"), "--alg", "ES256", "--sub", "a",
      "--room", "r"},
     "--private-key-file"},
  };
  for (auto& c : mint_cases) {
    std::string name = c.name;
    CAPTURE(name);
    auto cmd = parse_token(c.args);
    REQUIRE_MESSAGE(cmd.ok(), (cmd.ok() ? "" : cmd.error()));
    auto r = app::mint_token(*cmd, now);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().find(c.expected) != std::string::npos, r.error());
  }
}
