#!/usr/bin/env bash
# Runs the libFuzzer targets of the parsers that take outside bytes (tests/fuzz/fuzz_*.cpp):
#   scripts/fuzz.sh [--seconds N] [--cpu] [--jobs J] [TARGET ...]
#   (default: 20 s each, every target, as many at once as there are cores)
# --cpu: N seconds of each fuzzer's own CPU time rather than of the clock, for a run that
# shares the machine at a low priority (scripts/test.sh runs them beside the sanitizer run
# under nice 19): each target gets the run it would get alone, whenever the CPU is free.
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
cpu=0
jobs=$(nproc 2>/dev/null || echo 1)
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --cpu) cpu=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#*=}"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
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
# CPU seconds (utime + stime) that process $1 has used, 0 when it is gone.
cpu_seconds() {
  local stat
  local -a f
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  stat="${stat##*) }"
  read -r -a f <<<"$stat"
  echo $(((f[11] + f[12]) / ticks))
}
ticks=$(getconf CLK_TCK)

# Runs target $1 on corpus $2 into log $3 and returns its status. By the clock:
# -max_total_time bounds the run and the outer timeout a hang of the harness itself. With
# --cpu: interrupted (SIGINT: libFuzzer prints its statistics and exits 72) once it has
# used `seconds` of CPU; the clock bounds it at an hour, the longest a shared run may wait.
run_target() {
  local t="$1" work="$2" log="$3" limit=$seconds
  [[ $cpu -eq 1 ]] && limit=3600
  timeout $((limit + 60)) "$out/$t" -max_total_time="$limit" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/artifacts/$t-" -print_final_stats=1 "$work" >"$log" 2>&1 &
  local pid=$! status=0 stopped=0
  if [[ $cpu -eq 1 ]]; then
    # The fuzzer is the timeout's child; its CPU time is what counts.
    local child=""
    while kill -0 "$pid" 2>/dev/null; do
      [[ -n "$child" ]] || child="$(pgrep -P "$pid" | head -1 || true)"
      if [[ -n "$child" && $(cpu_seconds "$child") -ge $seconds ]]; then
        kill -INT "$child" 2>/dev/null && stopped=1
        break
      fi
      sleep 0.5
    done
  fi
  wait "$pid" || status=$?
  if [[ $stopped -eq 1 && $status -eq 72 ]] && grep -q 'libFuzzer: run interrupted' "$log"; then
    status=0
  fi
  return "$status"
}

# One target: its summary (or its findings) in $out/$t.summary, its status as the exit code.
# Each fuzzer is one process on one core; --jobs of them run at once.
fuzz_one() {
  local t="$1" work="$out/corpus/$1" log="$out/$1.log"
  mkdir -p "$work"
  [[ -d "tests/fuzz/corpus/$t" ]] && cp -n "tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null || true
  if run_target "$t" "$work" "$log"; then
    { echo "fuzz: $t for ${seconds} ${unit}"
      { grep -E '^stat::number_of_executed_units|^Done' "$log" || true; } | tr '\n' ' ' | sed 's/^/  /'; echo
    } >"$out/$t.summary"
  else
    { echo "fuzz: $t for ${seconds} ${unit}"
      echo "  FAILED: $t (log: $log)"
      { grep -E 'ERROR|SUMMARY|Test unit written to' "$log" || true; } | head -5 | sed 's/^/  /'
    } >"$out/$t.summary"
    return 1
  fi
}
unit="s"
[[ $cpu -eq 1 ]] && unit="s of CPU"
echo "fuzz: ${#targets[@]} targets, ${seconds} ${unit} each, ${jobs} at once"
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
echo "fuzz: ${#targets[@]} targets, ${seconds} ${unit} each, nothing found"
