#!/usr/bin/env bash
# Sets up and builds Chorus (scripts/setup.sh), then runs every test: the doctest unit
# suites and the Node integration tests (tests/integration/*.test.mjs) that drive the real
# binary on loopback. Serial on purpose: integration tests start their own servers. Then,
# for the whole suite, the sanitizer run (scripts/sanitize.sh: the unit suites and a subset
# of the integration tests against an ASan + UBSan build) and the fuzz targets for 20 s
# each (scripts/fuzz.sh).
# Arguments go to ctest, e.g. ./scripts/test.sh -R integration_signaling (then neither the
# sanitizer run nor the fuzzers run).
# The exit code is non-zero when ctest, the sanitizer run or a fuzz target failed.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

chorus_setup_and_build
status=0
ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure "$@" || status=$?
# The whole suite (no arguments) also runs the sanitizer run and every libFuzzer target
# for a bounded time (scripts/fuzz.sh; CHORUS_FUZZ_SECONDS per target, default 20); both
# use the sanitizer build (build-san/).
if [[ $# -eq 0 ]]; then
  bash "$CHORUS_ROOT/scripts/sanitize.sh" || status=$?
  bash "$CHORUS_ROOT/scripts/fuzz.sh" --seconds "${CHORUS_FUZZ_SECONDS:-20}" || status=$?
fi
exit "$status"
