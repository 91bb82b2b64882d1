#!/usr/bin/env bash
# Makes the profile the server is compiled with (bench/pgo/: profile.tar.xz and manifest.txt;
# CMakeLists.txt's CHORUS_PGO, bench/pgo/README.md). Builds an instrumented server in
# build-pgo-gen/, runs it under the bench's scenarios on loopback (the generator is the
# normal build's chorus-bench, so that only the server's own work is counted), stops it
# with SIGTERM after each (the profile is written when it exits), and packs what it wrote.
# Run it after changing the media path; the configure step says how many sources changed
# since the profile was made. About 15 minutes on two cores, most of it the two builds.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

chorus_setup_and_build
GEN_DIR="${CHORUS_PGO_GEN_DIR:-$CHORUS_ROOT/build-pgo-gen}"
PROFILE_DIR="$GEN_DIR/profile" # a fixed path: the instrumented objects stay in ccache
rm -rf "$PROFILE_DIR"
mkdir -p "$PROFILE_DIR"
WORK="$(mktemp -d /tmp/chorus-pgo-run.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill -9 "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cmake -S "$CHORUS_ROOT" -B "$GEN_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DCHORUS_PGO_GENERATE="$PROFILE_DIR" >/dev/null
cmake --build "$GEN_DIR" -j2 --target chorus

BENCH="$CHORUS_BUILD_DIR/chorus-bench"
cat >"$WORK/config.json" <<'JSON'
{"limits":{"maxPeersPerRoom":5000},"signaling":{"maxConnectionsPerIp":5000}}
JSON

# A fresh instrumented server (start_server MODE), and its stop: SIGTERM and a bounded wait
# for the exit that writes the counts.
port=18600
start_server() {
  port=$((port + 2))
  local rtc=(--rtc-single-port $((port + 1)))
  [[ "$1" == range ]] && rtc=(--rtc-ports $((port + 100))-$((port + 1099)))
  "$GEN_DIR/chorus" --listen "127.0.0.1:$port" --log-level warn "${rtc[@]}" \
    --config "$WORK/config.json" >"$WORK/server.$port.log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/server.$port.log" >&2
  echo "[pgo] the server did not listen within 10 s" >&2
  exit 1
}
stop_server() {
  kill -TERM "$SERVER_PID"
  local i
  for i in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "[pgo] the server did not stop within 10 s" >&2
    exit 1
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
# One bench scenario (train MODE ARGS...).
train() {
  start_server "$1"
  shift
  echo "[pgo] chorus-bench $*" >&2
  "$BENCH" --url "ws://127.0.0.1:$port" --server-pid "$SERVER_PID" "$@" >"$WORK/bench.$port.log" 2>&1 \
    || { cat "$WORK/bench.$port.log" >&2; exit 1; }
  stop_server
}

# The scenarios: a class and a meeting paced as browsers send (the case the profile is
# for), in both socket modes; a large class at once; a join storm (the signalling and
# setup path); real libwebrtc senders.
train single --scenario class --subscribers 20 --pace-factor 2.5 --duration-s 15
train range --scenario class --subscribers 20 --pace-factor 2.5 --duration-s 10
train single --scenario meeting --participants 6 --pace-factor 2.5 --duration-s 15
train single --scenario class --subscribers 100 --duration-s 10
train single --scenario storm --subscribers 100 --duration-s 5
# Browsers' send path: libwebrtc senders (Opus with audio levels, their RTCP and feedback).
start_server single
echo "[pgo] 6 libwebrtc speakers" >&2
timeout 120 node "$CHORUS_ROOT/bench/pgo/speakers.mjs" "$port" 6 15 >"$WORK/speakers.log" 2>&1 \
  || { cat "$WORK/speakers.log" >&2; exit 1; }
stop_server

count=$(find "$PROFILE_DIR" -name '*.gcda' | wc -l)
if [[ "$count" -lt 50 ]]; then
  echo "[pgo] only $count profile files were written" >&2
  exit 1
fi
OUT="$CHORUS_ROOT/bench/pgo"
mkdir -p "$OUT"
(cd "$PROFILE_DIR" && find . -name '*.gcda' -printf '%P\n' | LC_ALL=C sort \
  | tar --owner=0 --group=0 --numeric-owner --mtime='2000-01-01' -cf - -T - | xz -9 >"$OUT/profile.tar.xz")
{
  echo "# The profile in profile.tar.xz (scripts/pgo-train.sh); CMakeLists.txt reads this."
  echo "commit $(git -C "$CHORUS_ROOT" rev-parse HEAD)$(git -C "$CHORUS_ROOT" diff --quiet HEAD -- actors app common net protocol rtp store || echo ' (with changes)')"
  echo "gcc $("${CXX:-g++}" -dumpfullversion)"
  echo "files $count"
  (cd "$CHORUS_ROOT" && LC_ALL=C ls actors/*.cpp app/*.cpp common/*.cpp net/*.cpp protocol/*.cpp \
    rtp/*.cpp store/*.cpp | xargs sha256sum)
} >"$OUT/manifest.txt"
echo "[pgo] $count profile files into bench/pgo/profile.tar.xz" >&2
