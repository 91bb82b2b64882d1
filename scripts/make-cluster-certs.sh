#!/usr/bin/env bash
# Makes a certificate authority and one certificate per node (ECDSA P-256, PEM) for the
# encrypted links between Chorus nodes (CAF's OpenSSL module, mutual verification):
#
#   scripts/make-cluster-certs.sh [--out DIR] [--days N] NODE [NODE ...]
#
# Writes DIR/ca.pem and DIR/ca.key (the CA; keep ca.key offline once the nodes have their
# certificates), and DIR/NODE.pem and DIR/NODE.key for every NODE name (DIR: ./cluster-certs
# by default). An existing CA in DIR is reused, so nodes added later join the same cluster.
# Then, on node a:
#   chorus --node-id a --cluster-listen 10.0.0.1:7001 --cluster-secret-file /etc/chorus/secret \
#          --cluster-cert DIR/a.pem --cluster-key DIR/a.key --cluster-ca DIR/ca.pem
# A node whose certificate was not signed by this CA, or that has none, is refused.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

out=./cluster-certs
days=825
nodes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out)
      [[ $# -ge 2 && -n "$2" ]] || { echo "make-cluster-certs.sh: --out expects a DIR" >&2; exit 2; }
      out="$2"
      shift 2
      ;;
    --days)
      [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || { echo "make-cluster-certs.sh: --days expects a positive number" >&2; exit 2; }
      days="$2"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*)
      echo "make-cluster-certs.sh: unknown option $1" >&2
      exit 2
      ;;
    *)
      [[ "$1" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || { echo "make-cluster-certs.sh: a NODE name is 1 to 64 of A-Z a-z 0-9 . _ -" >&2; exit 2; }
      nodes+=("$1")
      shift
      ;;
  esac
done
if [[ ${#nodes[@]} -eq 0 ]]; then
  usage >&2
  exit 2
fi
command -v openssl >/dev/null || { echo "make-cluster-certs.sh: openssl is not installed (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$out"
umask 077
if [[ ! -f "$out/ca.pem" || ! -f "$out/ca.key" ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/ca.key" -out "$out/ca.pem" -days "$days" -subj "/CN=chorus cluster CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || { echo "make-cluster-certs.sh: openssl could not make the CA" >&2; exit 1; }
fi
for node in "${nodes[@]}"; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/$node.key" -out "$out/$node.csr" -subj "/CN=$node" 2>/dev/null ||
    { echo "make-cluster-certs.sh: openssl could not make the key of $node" >&2; exit 1; }
  printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:%s\n' "$node" > "$out/$node.ext"
  openssl x509 -req -in "$out/$node.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" -CAcreateserial \
    -out "$out/$node.pem" -days "$days" -extfile "$out/$node.ext" 2>/dev/null ||
    { echo "make-cluster-certs.sh: openssl could not sign the certificate of $node" >&2; exit 1; }
  rm -f "$out/$node.csr" "$out/$node.ext"
done
chmod 644 "$out/ca.pem"
for node in "${nodes[@]}"; do chmod 644 "$out/$node.pem"; done
echo "make-cluster-certs.sh: CA $out/ca.pem; nodes: ${nodes[*]} ($out/NODE.pem, $out/NODE.key)"
