#!/usr/bin/env bash
# The relay cost between Chorus nodes (docs/performance.md, "Cluster relays"): a class whose
# publisher is on node a and whose subscribers are on nodes b and c (every packet crosses a
# link), next to the same class on one node, in one run:
#
#   bench/cluster.sh [SUBSCRIBERS] [DURATION_S]        (default 40 subscribers, 10 s)
#
# Runs, in order: one node; three nodes with plain links; three nodes with TLS links
# (certificates made by scripts/make-cluster-certs.sh in a temporary directory). Each run
# prints chorus-bench's table, whose "node" rows give each node's relay rates (the packets
# its relays received crossed the link into it), CPU, and CPU per relayed packet handed
# out (b, c) or per packet sent over the links (a). Needs build/chorus and
# build/chorus-bench (./scripts/test.sh or cmake --build build) and curl. Every node is
# started here on loopback and stopped by its PID.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${CHORUS_BUILD_DIR:-$ROOT/build}"
SUBS="${1:-40}"
DURATION="${2:-10}"
missing=()
[[ -x "$BUILD/chorus" ]] || missing+=("$BUILD/chorus (build it: cmake --build build)")
[[ -x "$BUILD/chorus-bench" ]] || missing+=("$BUILD/chorus-bench (build it: cmake --build build)")
command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
if [[ ${#missing[@]} -gt 0 ]]; then
  printf 'bench/cluster.sh: missing %s\n' "${missing[@]}" >&2
  exit 1
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
SECRET="bench cluster secret $(date +%s%N)"

# start_node ID HTTP_PORT CLUSTER_PORT RTC_PORTS [extra args...]: prints nothing, records the PID.
start_node() {
  local id="$1" http="$2" cport="$3" ports="$4"
  shift 4
  "$BUILD/chorus" --listen "127.0.0.1:$http" --rtc-ports "$ports" --log-level warn \
    --node-id "$id" --cluster-listen "127.0.0.1:$cport" --cluster-secret "$SECRET" "$@" \
    >"$work/$id.log" 2>&1 &
  pids+=("$!")
}

# wait_for URL JQ_TEST: polls /healthz (bounded: 20 s).
wait_nodes() {
  local url="$1" want="$2"
  for _ in $(seq 1 200); do
    local n
    n="$(curl -fsS "$url/healthz" 2>/dev/null | grep -o '"nodeId":"node-[abc]"' | sort -u | wc -l || true)"
    [[ "$n" -ge "$want" ]] && return 0
    sleep 0.1
  done
  echo "bench/cluster.sh: $url did not see $want nodes" >&2
  exit 1
}

stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

echo "== one node: class of $SUBS"
"$BUILD/chorus" --listen 127.0.0.1:18080 --rtc-ports 40000-40999 --log-level warn >"$work/single.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do curl -fsS http://127.0.0.1:18080/healthz >/dev/null 2>&1 && break; sleep 0.1; done
"$BUILD/chorus-bench" --url ws://127.0.0.1:18080 --scenario class --subscribers "$SUBS" \
  --duration-s "$DURATION" --warmup-s 2 --decrypt-sample 4 --server-pid "${pids[0]}"
stop_all

for mode in plain tls; do
  extra_a=() extra_b=() extra_c=()
  if [[ "$mode" == tls ]]; then
    bash "$ROOT/scripts/make-cluster-certs.sh" --out "$work/certs" node-a node-b node-c >/dev/null
    for n in a b c; do
      declare -n arr="extra_$n"
      arr=(--cluster-cert "$work/certs/node-$n.pem" --cluster-key "$work/certs/node-$n.key" --cluster-ca "$work/certs/ca.pem")
    done
  fi
  echo
  echo "== three nodes ($mode links): publisher on a, $SUBS subscribers on b and c"
  start_node node-a 18081 17001 40000-40999 "${extra_a[@]}"
  start_node node-b 18082 17002 41000-41999 --cluster-peers 127.0.0.1:17001 "${extra_b[@]}"
  start_node node-c 18083 17003 42000-42999 --cluster-peers 127.0.0.1:17001 "${extra_c[@]}"
  for port in 18081 18082 18083; do wait_nodes "http://127.0.0.1:$port" 2; done
  "$BUILD/chorus-bench" --url ws://127.0.0.1:18081,ws://127.0.0.1:18082,ws://127.0.0.1:18083 \
    --scenario class --subscribers "$SUBS" --remote-subscribers --duration-s "$DURATION" \
    --warmup-s 2 --decrypt-sample 4 --node-pids "${pids[0]},${pids[1]},${pids[2]}"
  stop_all
done
