#include "app/token_command.hpp"

#include "app/config.hpp"
#include "common/text.hpp"
#include "protocol/jwt_sign.hpp"
#include "protocol/permissions.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string_view>

namespace chorus::app {

namespace {

failure fail(std::string_view option, std::string_view what) {
  return failure{std::string{option} + ": " + std::string{what}};
}

} // namespace

result<token_command> parse_token_command(int argc, const char* const* argv) {
  token_command cmd;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto flag = args[i];
    std::string_view v;
    auto value = [&]() {
      if (i + 1 >= args.size())
        return false;
      v = args[++i];
      return true;
    };
    if (flag == "--help" || flag == "-h") {
      cmd.help = true;
      return cmd;
    } else if (flag == "--secret-file" || flag == "--private-key-file") {
      if (!value() || v.empty())
        return fail(flag, "expects a FILE");
      (flag == "--secret-file" ? cmd.secret_file : cmd.private_key_file) = v;
    } else if (flag == "--alg") {
      if (!value() || !protocol::parse_jwt_algorithm(v))
        return fail(flag, "expects HS256, RS256 or ES256");
      cmd.algorithm = protocol::parse_jwt_algorithm(v);
    } else if (flag == "--sub") {
      if (!value() || !text::valid_label(v))
        return fail(flag, "expects a peer ID of 1 to 128 printable bytes");
      cmd.sub = v;
    } else if (flag == "--name") {
      if (!value() || !text::valid_label(v))
        return fail(flag, "expects a NAME of 1 to 128 printable bytes");
      cmd.name = v;
    } else if (flag == "--room") {
      if (!value() || !text::valid_label(v))
        return fail(flag, "expects a ROOM id, or '*' for every room");
      cmd.room = v;
    } else if (flag == "--rooms") {
      if (!value())
        return fail(flag, "expects ROOM,ROOM,...");
      cmd.rooms = text::split_list(v);
      if (cmd.rooms.empty())
        return fail(flag, "expects ROOM,ROOM,...");
      for (auto& r : cmd.rooms)
        if (!text::valid_label(r))
          return fail(flag, "'" + r + "' is not a room id of 1 to 128 printable bytes");
    } else if (flag == "--role") {
      if (!value() || !text::valid_label(v, 64))
        return fail(flag, "expects a ROLE (teacher, moderator, student, viewer, ...)");
      cmd.role = v;
    } else if (flag == "--permissions") {
      if (!value())
        return fail(flag, "expects PERMISSION,PERMISSION,... (may be empty)");
      auto names = text::split_list(v);
      if (auto set = protocol::parse_permissions(names); !set)
        return fail(flag, set.error());
      cmd.permissions = std::move(names);
    } else if (flag == "--ttl-s") {
      int64_t ttl = 0;
      bool ok = value();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), ttl);
      if (!ok || ec != std::errc{} || p != v.data() + v.size() || ttl < 1 || ttl > 31536000)
        return fail(flag, "expects SECONDS from 1 to 31536000");
      cmd.ttl_s = ttl;
    } else if (flag == "--issuer" || flag == "--audience") {
      if (!value() || v.empty())
        return fail(flag, flag == "--issuer" ? "expects the ISSUER (iss)" : "expects the AUDIENCE (aud)");
      (flag == "--issuer" ? cmd.issuer : cmd.audience) = v;
    } else {
      return fail(flag, "unknown option (see chorus token --help)");
    }
  }
  if (cmd.secret_file.empty() == cmd.private_key_file.empty())
    return fail("--secret-file", "give either --secret-file (HS256) or --private-key-file (RS256, ES256)");
  if (cmd.sub.empty())
    return fail("--sub", "required: the peer id the token admits");
  if (!cmd.room.empty() && !cmd.rooms.empty())
    return fail("--room", "--room and --rooms are exclusive");
  if (cmd.room.empty() && cmd.rooms.empty())
    return fail("--room", "required: a token names its rooms (--room ROOM, --rooms A,B or --room '*')");
  return cmd;
}

result<std::string> mint_token(const token_command& cmd, int64_t now_unix_s) {
  std::string key;
  protocol::jwt_algorithm alg = protocol::jwt_algorithm::hs256;
  if (!cmd.secret_file.empty()) {
    if (cmd.algorithm && *cmd.algorithm != protocol::jwt_algorithm::hs256)
      return fail("--alg", "RS256 and ES256 sign with --private-key-file");
    auto secret = read_secret_file(cmd.secret_file);
    if (!secret)
      return fail("--secret-file", secret.error());
    key = std::move(*secret);
  } else {
    std::ifstream in{cmd.private_key_file};
    if (!in)
      return fail("--private-key-file", "cannot read '" + cmd.private_key_file + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    key = ss.str();
    auto inferred = cmd.algorithm ? cmd.algorithm : protocol::jwt_algorithm_for_key(key);
    if (!inferred)
      return fail("--private-key-file", "'" + cmd.private_key_file + "' is not a PEM RSA or EC private key");
    if (*inferred == protocol::jwt_algorithm::hs256)
      return fail("--alg", "HS256 signs with --secret-file");
    alg = *inferred;
  }
  auto signer = protocol::jwt_signer::make(alg, key);
  if (!signer)
    return fail(cmd.secret_file.empty() ? "--private-key-file" : "--secret-file", signer.error());
  protocol::token_spec spec;
  spec.sub = cmd.sub;
  spec.name = cmd.name;
  spec.room = cmd.room;
  spec.rooms = cmd.rooms;
  spec.role = cmd.role;
  spec.permissions = cmd.permissions;
  spec.iat = now_unix_s;
  spec.exp = now_unix_s + cmd.ttl_s;
  spec.iss = cmd.issuer;
  spec.aud = cmd.audience;
  return signer->sign(protocol::token_payload_json(spec));
}

std::string token_usage() {
  return R"(Usage: chorus token (--secret-file F | --private-key-file K) --sub ID
                    (--room ROOM | --rooms A,B | --room '*') [OPTIONS]

Mints a signed token (JWT) for a Chorus server in mode jwt and prints it on stdout.
For trying tokens; a real deployment mints them on its own website.

  --secret-file F        HS256: the shared secret, the first line of F (32 bytes at
                         least; the server's --auth-hs256-secret-file)
  --private-key-file K   RS256 / ES256: the PEM private key (RSA >= 2048 bits or EC
                         P-256) whose public key the server has (--auth-public-key-file)
  --alg ALG              HS256, RS256 or ES256 (default: after the key)
  --sub ID               the peer id (required)
  --name NAME            the display name
  --room ROOM            the room the token admits to, or '*' for every room
  --rooms A,B            several rooms
  --role ROLE            teacher, moderator, student, viewer or a configured role
  --permissions A,B      permissions overriding the role's (publish-audio,
                         publish-video, publish-screen, subscribe, chat, moderate,
                         record; '' for none)
  --ttl-s SECONDS        lifetime (default 3600)
  --issuer I             iss (the server's --auth-issuer)
  --audience A           aud (the server's --auth-audience)
  --help                 this text
)";
}

int token_main(int argc, const char* const* argv) {
  auto cmd = parse_token_command(argc, argv);
  if (!cmd) {
    std::fprintf(stderr, "chorus token: %s\n", cmd.error().c_str());
    return 2;
  }
  if (cmd->help) {
    std::fputs(token_usage().c_str(), stdout);
    return 0;
  }
  auto token = mint_token(*cmd, static_cast<int64_t>(std::time(nullptr)));
  if (!token) {
    std::fprintf(stderr, "chorus token: %s\n", token.error().c_str());
    return 2;
  }
  std::fprintf(stdout, "%s\n", token->c_str());
  return 0;
}

} // namespace chorus::app
