#!/usr/bin/env bash
# Mints a signed test token (JWT) for a Chorus server in mode jwt, with `chorus token`
# (build/chorus; builds nothing):
#
#   scripts/make-token.sh [--secret-file F | --private-key-file K] --sub ID
#                         (--room ROOM | --rooms A,B | --room '*') [--name N] [--role R]
#                         [--permissions A,B] [--ttl-s 3600] [--issuer I] [--audience A]
#
# Without --secret-file or --private-key-file it uses the HS256 secret in
# ./chorus-jwt-secret, and makes that file (openssl rand -hex 32, mode 600) when it is
# missing. Try it in a minute:
#
#   scripts/make-token.sh --sub teacher1 --name "Ms T" --room math --role teacher
#   build/chorus --auth-mode jwt --auth-hs256-secret-file ./chorus-jwt-secret
#
# and connect with the printed token (docs/operations.md, "Tokens and roles"). All the
# options are chorus token's (build/chorus token --help). CHORUS_BIN overrides the binary.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CHORUS_BIN:-$root/build/chorus}"

has_key=0
for arg in "$@"; do
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --secret-file | --private-key-file) has_key=1 ;;
  esac
done

if [[ ! -x "$bin" ]]; then
  echo "make-token.sh: no chorus binary at $bin; build it first (scripts/run.sh, or cmake --build build --target chorus)" >&2
  exit 2
fi

args=("$@")
if [[ $has_key -eq 0 ]]; then
  secret=./chorus-jwt-secret
  if [[ ! -e "$secret" ]]; then
    (umask 077 && openssl rand -hex 32 >"$secret")
    echo "make-token.sh: wrote a new HS256 secret to $secret; run the server with" >&2
    echo "  --auth-mode jwt --auth-hs256-secret-file $secret" >&2
  fi
  args=(--secret-file "$secret" "${args[@]}")
fi

exec "$bin" token "${args[@]}"
