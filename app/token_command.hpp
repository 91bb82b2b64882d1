// `chorus token ...`: mints a signed test token (JWT) for mode jwt, so that an operator can
// try tokens in a minute (docs/operations.md, "Tokens and roles"; scripts/make-token.sh).
#pragma once

#include "common/result.hpp"
#include "protocol/jwt.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chorus::app {

struct token_command {
  bool help = false;
  std::string secret_file;      // HS256: the secret is the file's first line
  std::string private_key_file; // RS256 / ES256: PEM private key
  std::optional<protocol::jwt_algorithm> algorithm; // nullopt: after the key
  std::string sub;
  std::string name;
  std::string room;               // a room id or "*"
  std::vector<std::string> rooms; // --rooms a,b
  std::string role;
  std::optional<std::vector<std::string>> permissions;
  int64_t ttl_s = 3600;
  std::string issuer;
  std::string audience;
};

// Parses the arguments after "token" (argv[0] is "token"); fails naming the flag.
result<token_command> parse_token_command(int argc, const char* const* argv);

// Reads the key and signs: iat = now, exp = now + ttl. Fails naming the flag or file.
result<std::string> mint_token(const token_command& cmd, int64_t now_unix_s);

std::string token_usage();

// The subcommand: prints the token (and a newline) to stdout; errors to stderr. Exit code.
int token_main(int argc, const char* const* argv);

} // namespace chorus::app
