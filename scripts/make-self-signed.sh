#!/usr/bin/env bash
# Makes a self-signed certificate and private key (ECDSA P-256, PEM) for trying Chorus
# over HTTPS/WSS on a LAN:
#
#   scripts/make-self-signed.sh [--out DIR] [--days N] [HOST_OR_IP ...]
#
# Writes DIR/chorus-cert.pem and DIR/chorus-key.pem (DIR: the current directory by
# default). The certificate's subjectAltName lists every HOST_OR_IP given (IP addresses as
# IP entries, anything else as DNS names); without any, localhost and 127.0.0.1. Browsers
# check the name they connected to against this list, so give the LAN address clients
# use, e.g.: scripts/make-self-signed.sh --out /tmp/tls 192.168.1.20 chorus.local
# Then: chorus --listen 0.0.0.0:8443 --tls-cert /tmp/tls/chorus-cert.pem \
#              --tls-key /tmp/tls/chorus-key.pem ...
# Browsers warn about a self-signed certificate once; accept it (or import the
# certificate) and open https://HOST:8443/.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

out=.
days=365
names=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out)
      [[ $# -ge 2 && -n "$2" ]] || { echo "make-self-signed.sh: --out expects a DIR" >&2; exit 2; }
      out="$2"
      shift 2
      ;;
    --days)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "make-self-signed.sh: --days expects a positive number" >&2; exit 2; }
      days="$2"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    --)
      shift
      names+=("$@")
      break
      ;;
    -*)
      echo "make-self-signed.sh: unknown option $1 (see --help)" >&2
      exit 2
      ;;
    *)
      names+=("$1")
      shift
      ;;
  esac
done
if [[ ${#names[@]} -eq 0 ]]; then
  names=(localhost 127.0.0.1)
fi

command -v openssl >/dev/null || { echo "make-self-signed.sh: openssl is not installed" >&2; exit 1; }

san=""
for n in "${names[@]}"; do
  if [[ -z "$n" || "$n" =~ [[:space:],/] ]]; then
    echo "make-self-signed.sh: '$n' is not a host name or IP address" >&2
    exit 2
  fi
  if [[ "$n" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || "$n" == *:* ]]; then
    entry="IP:$n"
  else
    entry="DNS:$n"
  fi
  san="${san:+$san,}$entry"
done

mkdir -p "$out"
cert="$out/chorus-cert.pem"
key="$out/chorus-key.pem"
umask 077 # the private key is readable by its owner only
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
  -days "$days" -subj "/CN=${names[0]}" \
  -addext "subjectAltName=$san" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$key" -out "$cert" ||
  { echo "make-self-signed.sh: openssl failed (it needs -addext: OpenSSL 1.1.1 or newer)" >&2; exit 1; }
chmod 644 "$cert"

echo "certificate: $cert"
echo "private key: $key"
echo "names:       $san"
echo "run:         chorus --tls-cert $cert --tls-key $key"
