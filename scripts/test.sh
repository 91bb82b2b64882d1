#!/usr/bin/env bash
# Sets up Chorus (scripts/setup.sh) and runs the whole test suite, each test once:
#   1. setup, then the release build (build/: the server, chorus-bench, the bench's unit
#      tests); the sanitizer build (build-san/: the server, its probe, the unit suites, the
#      libFuzzer targets) starts beside it under SCHED_IDLE and keeps that policy until it
#      is done: it runs only on CPU time nothing else wants (a task of any other policy
#      preempts it at once), so it takes what the release tests leave idle;
#   2. the release tests labelled `alone` (they load the machine to measure it), one at a
#      time with no other test beside them;
#   3. the other tests labelled `release` (those that judge memory, loss or timing, which
#      the sanitizer changes, or need the bench: CMakeLists.txt CHORUS_SANITIZE_SKIP; the
#      package test and the docs check), two at a time (CHORUS_TEST_JOBS);
#   4. once the sanitizer build is done, the sanitizer run (scripts/sanitize.sh): the unit
#      suites and every other integration test against the ASan + UBSan build, two at a
#      time (CHORUS_SAN_TEST_JOBS: three at a time on a slower 2-vCPU machine starved a
#      cluster node's heartbeat and a recording's ffmpeg there), with every libFuzzer target
#      beside it for CHORUS_FUZZ_SECONDS (default 40) each (scripts/fuzz.sh), two at a time
#      under SCHED_IDLE, on the CPU time those tests leave idle.
# Real browsers and real-time ffmpeg encodes run one at a time (RESOURCE_LOCK), and those
# that measure the machine alone (RUN_SERIAL), in CMakeLists.txt.
# With arguments, everything is built into build/ and the arguments go to ctest there, e.g.
# ./scripts/test.sh -R integration_signaling (then neither the sanitizer run nor the
# fuzzers run).
# The exit code is non-zero when a test, the sanitizer run or a fuzz target failed.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

status=0
if [[ $# -gt 0 ]]; then
  chorus_setup_and_build
  ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure "$@" || status=$?
  exit "$status"
fi

jobs="${CHORUS_TEST_JOBS:-2}"
started=$SECONDS
phase() { echo "test.sh: $1 ($((SECONDS - started)) s in)"; }
phase "setup"
chorus_with_lock "$CHORUS_BUILD_DIR" chorus_setup
phase "the release build, the sanitizer build beside it under SCHED_IDLE"
mkdir -p "$CHORUS_SAN_DIR"
# In a process group of its own (setsid), stopped with the script if it ends first.
setsid chrt --idle 0 bash -c "source '$CHORUS_ROOT/scripts/setup.sh' &&
  chorus_sanitize_build ${CHORUS_SAN_TARGETS[*]} fuzz_targets" >"$CHORUS_SAN_DIR/build.log" 2>&1 &
san_build=$!
trap 'kill -- -"$san_build" 2>/dev/null || true' EXIT
chorus_setup_and_build chorus chorus-bench unit_bench unit_bench_janus
phase "the release tests that run alone"
ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure -L alone || status=$?
phase "the other release tests"
ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure -j "$jobs" -L release -LE alone ||
  status=$?
phase "the sanitizer build's end"
# A failed build is reported by the sanitizer run, which builds what is missing.
wait "$san_build" || true
trap - EXIT
phase "the sanitizer run, the fuzzers beside it under SCHED_IDLE"
chrt --idle 0 bash "$CHORUS_ROOT/scripts/fuzz.sh" --seconds "${CHORUS_FUZZ_SECONDS:-40}" --jobs 2 \
  >"$CHORUS_SAN_DIR/fuzz-run.log" 2>&1 &
fuzzers=$!
CHORUS_TEST_JOBS="${CHORUS_SAN_TEST_JOBS:-2}" bash "$CHORUS_ROOT/scripts/sanitize.sh" || status=$?
phase "the fuzzers' end"
wait "$fuzzers" || status=$?
cat "$CHORUS_SAN_DIR/fuzz-run.log"
phase "done, status $status"
exit "$status"
