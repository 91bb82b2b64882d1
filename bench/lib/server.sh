# Starting and stopping a chorus server for a bench script (sourced by bench/ab.sh and
# scripts/pgo-train.sh; bench/janus/compare.sh does the same inline). Every wait is bounded.

# chorus_server_start LOG COMMAND...: starts COMMAND (a chorus binary with its flags, after
# `taskset -c N` if wanted) in the background with its output in LOG, and waits until
# 127.0.0.1:PORT accepts a connection, PORT from COMMAND's `--listen 127.0.0.1:PORT`. Sets
# CHORUS_SERVER_PID. Returns 1 (after printing LOG) if the server exits or does not listen
# within 10 s.
chorus_server_start() {
  local log=$1 port="" arg prev=""
  shift
  for arg in "$@"; do
    [[ "$prev" == --listen ]] && port=${arg##*:}
    prev=$arg
  done
  [[ -n "$port" ]] || { echo "chorus_server_start: no --listen HOST:PORT in: $*" >&2; return 1; }
  "$@" >"$log" 2>&1 &
  CHORUS_SERVER_PID=$!
  local _
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$CHORUS_SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  echo "chorus did not listen on 127.0.0.1:$port within 10 s" >&2
  return 1
}

# chorus_server_stop: SIGTERM to CHORUS_SERVER_PID and a wait of up to 10 s for it to exit
# (a profiling build writes its profile then); SIGKILL and return 1 if it did not.
chorus_server_stop() {
  [[ -n "${CHORUS_SERVER_PID:-}" ]] || return 0
  local pid=$CHORUS_SERVER_PID _ rc=0
  CHORUS_SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "chorus (pid $pid) did not stop within 10 s of SIGTERM" >&2
    kill -9 "$pid" 2>/dev/null || true
    rc=1
  fi
  wait "$pid" 2>/dev/null || true
  return "$rc"
}

# The configuration both use: room and per-address limits high enough for the scenarios.
chorus_bench_config() {
  echo '{"limits":{"maxPeersPerRoom":5000},"signaling":{"maxConnectionsPerIp":5000}}' >"$1"
}
