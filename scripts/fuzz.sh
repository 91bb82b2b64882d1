#!/usr/bin/env bash
# Runs the libFuzzer targets of the parsers that take outside bytes (tests/fuzz/fuzz_*.cpp):
#   scripts/fuzz.sh [--seconds N] [--jobs J] [TARGET ...]
#   (default: 20 s each, every target, as many at once as there are cores; scripts/test.sh
#   runs them 30 s each at idle priority beside the tests that run alone)
# Builds them first (scripts/setup.sh's packages, clang; the sanitizer build build-san/:
# ASan + UBSan, CMakeLists.txt CHORUS_SANITIZE). Each target starts from its checked-in
# corpus (tests/fuzz/corpus/TARGET), copied to build-san/corpus/TARGET so the run's finds
# stay out of the tree, and runs for N seconds. A crash, a leak, a timeout or a sanitizer
# report fails the script; the reproducer is kept in build-san/artifacts/ and named
# (replay it: build-san/TARGET FILE).
# docs/reliability.md records what was run and found.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

seconds=20
jobs=$(nproc 2>/dev/null || echo 1)
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#*=}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "fuzz.sh: --seconds wants a whole number >= 1" >&2; exit 2; }
[[ "$jobs" =~ ^[0-9]+$ && "$jobs" -ge 1 ]] || { echo "fuzz.sh: --jobs wants a whole number >= 1" >&2; exit 2; }

chorus_install_packages
out="$CHORUS_SAN_DIR"
if [[ ${#targets[@]} -eq 0 ]]; then
  for f in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
mkdir -p "$out"
if ! chorus_sanitize_build "${targets[@]}" >"$out/fuzz-build.log" 2>&1; then
  grep -E "error|Error" "$out/fuzz-build.log" | head -40 >&2
  echo "fuzz.sh: the build failed (log: $out/fuzz-build.log)" >&2
  exit 1
fi
mkdir -p "$out/artifacts"
for t in "${targets[@]}"; do
  [[ -x "$out/$t" ]] || { echo "fuzz.sh: no target $t" >&2; exit 2; }
done
# One target: its summary (or its findings) in $out/$t.summary, its status as the exit code.
# Each fuzzer is one process on one core; --jobs of them run at once.
fuzz_one() {
  local t="$1" work="$out/corpus/$1" log="$out/$1.log"
  mkdir -p "$work"
  [[ -d "tests/fuzz/corpus/$t" ]] && cp -n "tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true
  # -max_total_time bounds the run; the outer timeout bounds a hang of the harness itself.
  if timeout $((seconds + 60)) "$out/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 "$work" >"$log" 2>&1; then
    { echo "fuzz: $t for ${seconds} s"
      { grep -E '^stat::number_of_executed_units|^Done' "$log" || true; } | tr '\n' ' ' | sed 's/^/  /'; echo
    } >"$out/$t.summary"
  else
    { echo "fuzz: $t for ${seconds} s"
      echo "  FAILED: $t (log: $log)"
      { grep -E 'ERROR|SUMMARY|Test unit written to' "$log" || true; } | head -5 | sed 's/^/  /'
    } >"$out/$t.summary"
    return 1
  fi
}
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, ${jobs} at once"
declare -A pid_of=()
failed=()
# Waits for one running target and prints what it found.
reap() {
  local done_pid status=0 t
  wait -n -p done_pid "${!pid_of[@]}" || status=$?
  t="${pid_of[$done_pid]}"
  unset "pid_of[$done_pid]"
  cat "$out/$t.summary"
  [[ $status -eq 0 ]] || failed+=("$t")
}
for t in "${targets[@]}"; do
  while [[ ${#pid_of[@]} -ge $jobs ]]; do reap; done
  fuzz_one "$t" &
  pid_of[$!]="$t"
done
while [[ ${#pid_of[@]} -gt 0 ]]; do reap; done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: findings in ${failed[*]} (reproducers in $out/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, nothing found"
