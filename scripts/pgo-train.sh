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
# shellcheck source=bench/lib/server.sh
source "$CHORUS_ROOT/bench/lib/server.sh"
WORK="$(mktemp -d /tmp/chorus-pgo-run.XXXXXX)"
trap 'chorus_server_stop || true; rm -rf "$WORK"' EXIT
# The sources the profile is of (the manifest hashes them; CMakeLists.txt's PGO check
# globs the same directories).
SOURCE_DIRS=(actors app common net protocol rtp store)

cmake -S "$CHORUS_ROOT" -B "$GEN_DIR" -DCMAKE_BUILD_TYPE=Release \
  -DCHORUS_PGO_GENERATE="$PROFILE_DIR" >/dev/null
cmake --build "$GEN_DIR" -j2 --target chorus

BENCH="$CHORUS_BUILD_DIR/chorus-bench"
chorus_bench_config "$WORK/config.json"

# A fresh instrumented server (start_server MODE); chorus_server_stop's SIGTERM makes it
# write its counts as it exits (a stop that needs SIGKILL fails the run).
# MODE one-cpu: single port, the server pinned to the first CPU this script may use (a
# process on one CPU takes any fan-out through the consumers' lanes, actors/process_load).
port=18600
FIRST_CPU=$(awk '/^Cpus_allowed_list:/ {split($2, a, /[,-]/); print a[1]}' /proc/self/status)
start_server() {
  port=$((port + 2))
  local rtc=(--rtc-single-port $((port + 1))) pin=()
  [[ "$1" == range ]] && rtc=(--rtc-ports $((port + 100))-$((port + 1099)))
  [[ "$1" == one-cpu ]] && pin=(taskset -c "$FIRST_CPU")
  chorus_server_start "$WORK/server.$port.log" "${pin[@]}" "$GEN_DIR/chorus" --listen "127.0.0.1:$port" \
    --log-level warn "${rtc[@]}" --config "$WORK/config.json" || exit 1
}
stop_server() {
  chorus_server_stop || exit 1
}
# One bench scenario (train MODE ARGS...), bounded: each takes well under a minute.
train() {
  start_server "$1"
  shift
  echo "[pgo] chorus-bench $*" >&2
  timeout 300 "$BENCH" --url "ws://127.0.0.1:$port" --server-pid "$CHORUS_SERVER_PID" "$@" >"$WORK/bench.$port.log" 2>&1 \
    || { cat "$WORK/bench.$port.log" >&2; exit 1; }
  stop_server
}

# The scenarios: a class and a meeting paced as browsers send (the case the profile is
# for), in both socket modes; a large class at once; classes of 200 and 300 paced (the
# second on one CPU, through the lanes); a join storm (the signalling and
# setup path); real libwebrtc senders.
train single --scenario class --subscribers 20 --pace-factor 2.5 --duration-s 15
train range --scenario class --subscribers 20 --pace-factor 2.5 --duration-s 10
train single --scenario meeting --participants 6 --pace-factor 2.5 --duration-s 15
train single --scenario class --subscribers 100 --duration-s 10
train single --scenario class --subscribers 200 --pace-factor 2.5 --decrypt-sample 10 --duration-s 10
train one-cpu --scenario class --subscribers 300 --pace-factor 2.5 --decrypt-sample 10 --duration-s 10
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
  echo "commit $(git -C "$CHORUS_ROOT" rev-parse HEAD)$(git -C "$CHORUS_ROOT" diff --quiet HEAD -- "${SOURCE_DIRS[@]}" || echo ' (with changes)')"
  echo "gcc $("${CXX:-g++}" -dumpfullversion)"
  echo "files $count"
  (cd "$CHORUS_ROOT" && for d in "${SOURCE_DIRS[@]}"; do printf '%s\n' "$d"/*.cpp; done \
    | LC_ALL=C sort | xargs sha256sum)
} >"$OUT/manifest.txt"
echo "[pgo] $count profile files into bench/pgo/profile.tar.xz" >&2
