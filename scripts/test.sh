#!/usr/bin/env bash
# Sets up Chorus (scripts/setup.sh) and runs the whole test suite, each test once:
#   1. the build's packages and node_modules, then the release build (build/: the server,
#      chorus-bench, the bench's unit tests) while the tests' packages (browsers, ffmpeg,
#      PostgreSQL, GStreamer) install beside it;
#   2. the tests labelled `release` against it (those that judge memory, loss or timing,
#      which the sanitizer changes, or need the bench: CMakeLists.txt CHORUS_SANITIZE_SKIP;
#      the package test and the docs check), beside the sanitizer build (build-san/, at the
#      lowest CPU priority: those tests leave most of the two cores idle); then those
#      labelled `alone` (they load the machine to measure it) with no other test beside
#      them, and every libFuzzer target for CHORUS_FUZZ_SECONDS (default 30) each
#      (scripts/fuzz.sh) under SCHED_IDLE: the fuzzers run only on CPU time nothing else
#      wants (a task of any other policy preempts them at once), which those tests leave
#      at about 60 % of the two cores; 30 s there is about the CPU time 20 s had alone;
#   3. the sanitizer run (scripts/sanitize.sh): the unit suites and every other integration
#      test against the ASan + UBSan build (it keeps both cores busy: nothing beside it).
# Release tests run two at a time (CHORUS_TEST_JOBS), sanitizer tests two as well
# (CHORUS_SAN_TEST_JOBS: three at a time on a slower 2-vCPU machine starved a cluster node's
# heartbeat and a recording's ffmpeg; real browsers and real-time ffmpeg encodes run one at a
# time); those that measure the machine run alone (RUN_SERIAL in CMakeLists.txt).
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
chorus_install_packages "${CHORUS_APT_BUILD_PACKAGES[@]}"
chorus_install_node_modules
mkdir -p "$CHORUS_BUILD_DIR"
chorus_install_packages "${CHORUS_APT_TEST_PACKAGES[@]}" >"$CHORUS_BUILD_DIR/apt-tests.log" 2>&1 &
apt_tests=$!
phase "the release build, the tests' packages installing beside it"
(
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  chorus_build chorus chorus-bench unit_bench unit_bench_janus
) 9>"$CHORUS_BUILD_DIR/.setup.lock"
if ! wait "$apt_tests"; then
  cat "$CHORUS_BUILD_DIR/apt-tests.log" >&2
  echo "test.sh: installing the tests' packages failed" >&2
  exit 1
fi
phase "the release tests beside the sanitizer build"
mkdir -p "$CHORUS_SAN_DIR"
(
  renice -n 19 -p "$BASHPID" >/dev/null
  chorus_sanitize_build "${CHORUS_SAN_TARGETS[@]}" fuzz_targets
) >"$CHORUS_SAN_DIR/build.log" 2>&1 &
san_build=$!
ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure -j "$jobs" -L release -LE alone ||
  status=$?
# A failed build is reported by the sanitizer run, which builds what is missing.
wait "$san_build" || true
phase "the release tests that run alone, the fuzzers beside them at idle priority"
chrt --idle 0 bash "$CHORUS_ROOT/scripts/fuzz.sh" --seconds "${CHORUS_FUZZ_SECONDS:-30}" \
  >"$CHORUS_SAN_DIR/fuzz-run.log" 2>&1 &
fuzzers=$!
ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure -L alone || status=$?
phase "the fuzzers' end"
wait "$fuzzers" || status=$?
cat "$CHORUS_SAN_DIR/fuzz-run.log"
phase "the sanitizer run"
CHORUS_TEST_JOBS="${CHORUS_SAN_TEST_JOBS:-2}" bash "$CHORUS_ROOT/scripts/sanitize.sh" || status=$?
phase "done, status $status"
exit "$status"
