#!/usr/bin/env bash
# The whole series behind docs/performance.md's "Scaling over cores" table, for one call on
# a lent machine without Debian's packages (bench/scale.sh, ../shared/tools/device-bundle.sh):
# both socket modes, K = 1, 2, 4, 8, classes and meetings, with the default placement (a
# room's transports on one I/O thread while they fit); then the reference at K=8 with
# `--room-transports-per-thread 0` (each transport on its own least loaded thread, or where
# the kernel steers it), and the default at K=8 with each media I/O thread pinned to a
# CPU of its own (CHORUS_SCALE_PIN_IO). Raw results go to OUT_DIR/scale.tgz after every
# part (a run cut short still brings back what it did); print them with
# bench/scale.sh --summarize.
# usage: bench/scale-series.sh OUT_DIR [DURATION_S MEASURE_S]
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out=${1:?usage: bench/scale-series.sh OUT_DIR [DURATION_S MEASURE_S]}
duration=${2:-10}
measure=${3:-6}
keep=/tmp/chorus-scale-series
rm -rf "$keep"
mkdir -p "$keep" "$out"
{ lscpu; uname -r; nproc; } >"$out/machine.txt" 2>&1
part() { # NAME [scale.sh args...]
  local name=$1
  shift
  echo "== $name $(date -u +%T)"
  "$ROOT/bench/scale.sh" --duration-s "$duration" --measure-s "$measure" --keep "$keep/$name" "$@" \
    >"$keep/$name.log" 2>&1
  cat "$keep/$name.log"
  tar czf "$out/scale.tgz" -C "$keep" .
}
part single --ks 1,2,4,8
part range --range --ks 1,2,4,8
CHORUS_SERVER_ARGS="--room-transports-per-thread 0 ${CHORUS_SERVER_ARGS:-}" part single-spread --ks 8
CHORUS_SERVER_ARGS="--room-transports-per-thread 0 ${CHORUS_SERVER_ARGS:-}" part range-spread --range --ks 8 --loads class
CHORUS_SCALE_PIN_IO=1 part single-pinned --ks 8
echo "== done $(date -u +%T)"
