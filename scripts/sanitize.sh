#!/usr/bin/env bash
# The sanitizer run (docs/reliability.md, "Sanitizers"): builds build-san/ (clang,
# AddressSanitizer with leak detection and UndefinedBehaviorSanitizer, every UB check fatal;
# CMakeLists.txt CHORUS_SANITIZE), then runs the unit suites and the integration tests
# labelled `sanitize` (all but CMakeLists.txt CHORUS_SANITIZE_SKIP) against the sanitized server:
#   scripts/sanitize.sh [CTEST ARGS ...]      (default: -L sanitize -j CHORUS_TEST_JOBS, 2)
# Every sanitizer report of every process (the server, its tools, the unit suites) is
# written to build-san/reports/; a report fails the run, whatever the tests said, and is
# printed. Leak suppressions, each with its reason: tests/sanitize/lsan-suppressions.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

chorus_setup
mkdir -p "$CHORUS_SAN_DIR"
echo "sanitize: building $CHORUS_SAN_DIR (log: $CHORUS_SAN_DIR/build.log)"
if ! chorus_sanitize_build "${CHORUS_SAN_TARGETS[@]}" >"$CHORUS_SAN_DIR/build.log" 2>&1; then
  grep -E "error|Error" "$CHORUS_SAN_DIR/build.log" | head -40 >&2
  echo "sanitize: the build failed" >&2
  exit 1
fi

reports="$CHORUS_SAN_DIR/reports"
rm -rf "$reports"
mkdir -p "$reports"
export ASAN_OPTIONS="detect_leaks=1:log_path=$reports/asan:log_exe_name=1:strict_init_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan:log_exe_name=1"
export LSAN_OPTIONS="suppressions=$CHORUS_ROOT/tests/sanitize/lsan-suppressions.txt:print_suppressions=0"

status=0
if [[ $# -eq 0 ]]; then
  set -- -L sanitize -j "${CHORUS_TEST_JOBS:-2}"
fi
ctest --test-dir "$CHORUS_SAN_DIR" --output-on-failure "$@" || status=$?

shopt -s nullglob
found=("$reports"/*)
if [[ ${#found[@]} -gt 0 ]]; then
  echo "sanitize: ${#found[@]} sanitizer report(s) in $reports:" >&2
  for f in "${found[@]}"; do
    echo "---- $f" >&2
    head -c 20000 "$f" >&2
  done
  status=1
else
  echo "sanitize: no sanitizer report"
fi
exit "$status"
