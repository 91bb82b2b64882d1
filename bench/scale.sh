#!/usr/bin/env bash
# How one Chorus process scales over cores (docs/performance.md, "Scaling over cores"): for
# K = 1, 2, 4, ... it runs a fresh server on cores 0..K-1 (--scheduler-threads K
# --io-threads K) and K chorus-bench generators, each on a core of its own from the upper
# half of the machine, each with its own load: a class of 500 (--decrypt-sample 8) and 10
# meetings of 6 (--scenario rooms). Once every generator's window is open, the server's CPU
# is read from /proc over --measure-s seconds (and each of its threads', to show how the
# work spread); the delivered packets are the generators' together. Prints a row per load
# and K: the server's CPU, delivered packets/s, us of server CPU per delivered packet, its
# ratio to K=1's, loss and the generators' p99 (worst and best), and the busiest media I/O
# threads.
# K doubles while 2K fits the machine's CPUs (server and generators on cores of their own):
# a 2-core machine runs K=1 only, and says so. --spread instead runs one server on every
# CPU with an I/O thread each and one generator of meetings beside it (sharing the CPUs),
# and prints each thread's CPU: whether the media I/O threads share the work.
# Each run's raw results (the generators' JSON, the server's ticks) can be kept (--keep DIR)
# and their rows printed later on another machine (--summarize DIR): where node is missing
# (a machine with none of Debian's packages), the rows are not printed and the raw results
# are all there is.
# CHORUS_SERVER_ARGS: more flags for every server (word-split), e.g. "--thread-fanout off".
# CHORUS_SCALE_PIN_IO=1: each media I/O thread N pinned to the server's CPU N (taskset).
# usage: bench/scale.sh [--ks 1,2,4,8] [--loads class,rooms] [--range] [--duration-s S]
#                       [--measure-s S] [--spread] [--keep DIR] [-- CHORUS_BENCH_ARGS...]
#        bench/scale.sh --summarize DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER="${CHORUS_SERVER:-$ROOT/build/chorus}"
BENCH="${CHORUS_BENCH:-$ROOT/build/chorus-bench}"
RUN=() # a loader to run both under (the device bundle's build-device/run)
[[ -n "${CHORUS_RUN:-}" ]] && RUN=("$CHORUS_RUN")
ks=""
loads="class,rooms"
range=0
duration=20
measure=10
spread=0
keep=""
summarize=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ks) ks=$2; shift 2 ;;
    --loads) loads=$2; shift 2 ;;
    --range) range=1; shift ;;
    --duration-s) duration=$2; shift 2 ;;
    --measure-s) measure=$2; shift 2 ;;
    --spread) spread=1; shift ;;
    --keep) keep=$2; shift 2 ;;
    --summarize) summarize=$2; shift 2 ;;
    --) shift; break ;;
    *) sed -n '2,25p' "$0" >&2; exit 2 ;;
  esac
done
extra=("$@")
read -ra server_extra <<<"${CHORUS_SERVER_ARGS:-}"

# summarize_run RUNDIR: prints the row of one kept run (meta: load k generators ticks hz
# measure mode; gen*.json; threads0 and threads1) and appends it to rows.jsonl beside
# RUNDIR, where later rows of the same load and mode find K=1's for their ratio.
summarize_run() {
  node -e '
    const fs = require("fs");
    const path = require("path");
    const dir = process.argv[1];
    const [load, k, n, ticks, hz, measure, mode] = fs.readFileSync(`${dir}/meta`, "utf8").trim().split(" ");
    const gens = [...Array(Number(n)).keys()].map((j) => JSON.parse(fs.readFileSync(`${dir}/gen${j}.json`, "utf8")));
    const pps = gens.reduce((a, g) => a + (g.delivered?.packetsPerSec ?? 0), 0);
    const expected = gens.reduce((a, g) => a + (g.loss?.expected ?? 0), 0);
    const lost = gens.reduce((a, g) => a + (g.loss?.lost ?? 0), 0);
    const p99 = gens.map((g) => g.latencyMs?.p99 ?? NaN);
    const cpuS = Number(ticks) / Number(hz);
    const us = (cpuS * 1e6) / (pps * Number(measure));
    const read = (f) => Object.fromEntries(fs.readFileSync(f, "utf8").trim().split("\n")
      .map((l) => l.split(" ")).map(([tid, name, t]) => [`${name}#${tid}`, Number(t)]));
    const t0 = read(`${dir}/threads0`), t1 = read(`${dir}/threads1`);
    const io = Object.keys(t1).filter((x) => x.startsWith("chorus-io"))
      .map((x) => ({ name: x.split("#")[0], pct: (100 * ((t1[x] - (t0[x] ?? 0)) / Number(hz))) / Number(measure) }))
      .sort((a, b) => b.pct - a.pct);
    const row = { load, mode, k: Number(k), cpuPercent: (100 * cpuS) / Number(measure), pps, us,
      lossPercent: expected ? (100 * lost) / expected : NaN, p99Max: Math.max(...p99), p99Min: Math.min(...p99),
      io: io.slice(0, 4) };
    const rows = path.join(dir, "..", "rows.jsonl");
    fs.appendFileSync(rows, JSON.stringify(row) + "\n");
    const base = fs.readFileSync(rows, "utf8").trim().split("\n").map(JSON.parse)
      .find((r) => r.load === load && r.mode === mode && r.k === 1);
    const f = (x, d) => (Number.isFinite(x) ? x.toFixed(d) : "-");
    console.log(`${load.padEnd(5)} K=${String(k).padEnd(2)} server ${f(row.cpuPercent, 0).padStart(4)} %  ` +
      `${f(pps, 0).padStart(8)} pkt/s  ${f(us, 2)} us/pkt  x${base ? f(us / base.us, 2) : "-"} of K=1  ` +
      `loss ${f(row.lossPercent, 2)} %  p99 ${f(row.p99Max, 1)} (best ${f(row.p99Min, 1)}) ms  ` +
      `io threads: ${io.slice(0, 4).map((t) => `${t.name} ${t.pct.toFixed(0)} %`).join(", ")}`);
  ' "$1"
}

if [[ -n "$summarize" ]]; then
  command -v node >/dev/null || { echo "bench/scale.sh: --summarize needs node" >&2; exit 1; }
  [[ -f "$summarize/header" ]] || { echo "bench/scale.sh: $summarize holds no kept runs" >&2; exit 1; }
  cat "$summarize/header"
  rm -f "$summarize/rows.jsonl"
  for d in "$summarize"/run-*; do
    if [[ -f "$d/meta" ]]; then summarize_run "$d"; else cat "$d/failed"; fi
  done
  exit 0
fi

for b in "$SERVER" "$BENCH"; do
  [[ -x "$b" ]] || { echo "bench/scale.sh: $b is not an executable (build it first)" >&2; exit 1; }
done
for tool in taskset timeout; do
  command -v "$tool" >/dev/null || { echo "bench/scale.sh: needs $tool" >&2; exit 1; }
done
have_node=1
if ! command -v node >/dev/null; then
  [[ -n "$keep" ]] || { echo "bench/scale.sh: needs node, or --keep DIR to print the rows elsewhere" >&2; exit 1; }
  have_node=0
  echo "# node is missing: no rows here; print them with bench/scale.sh --summarize on what $keep holds"
fi
(( measure + 2 <= duration )) || { echo "bench/scale.sh: --measure-s must fit in --duration-s" >&2; exit 2; }
cpus=$(nproc)
if [[ -z "$ks" && $spread -eq 0 ]]; then
  k=1
  while (( 2 * k <= cpus )); do ks+="${ks:+,}$k"; k=$((k * 2)); done
  if (( cpus < 4 )); then
    echo "# $cpus CPUs: K=1 only (K=2 needs 2 server cores and 2 generator cores of their own)"
  fi
fi
# shellcheck source=bench/lib/server.sh
source "$ROOT/bench/lib/server.sh"
work="$(mktemp -d /tmp/chorus-scale.XXXXXX)"
runs="$work/runs"
mkdir -p "$runs"
if [[ -n "$keep" ]]; then
  mkdir -p "$keep"
  runs="$(cd "$keep" && pwd)"
  rm -rf "$runs"/run-* "$runs/rows.jsonl" "$runs/header"
fi
gen_pids=()
stop_all() {
  local p
  for p in "${gen_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${gen_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  gen_pids=()
  chorus_server_stop || true
}
trap 'stop_all; rm -rf "$work"' EXIT
chorus_bench_config "$work/config.json"

# Prints a header line and keeps it with the runs.
header() { echo "$1" | tee -a "$runs/header"; }

# CPU ticks (user + system) of a process, and per thread "name ticks" lines.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    [[ -r "$t/stat" ]] || continue
    # the name may hold spaces: the fields after the closing parenthesis
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm")" \
      "$(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')"
  done
}
hz=$(getconf CLK_TCK)

load_args() {
  case "$1" in
    class) echo "--scenario class --subscribers 500 --decrypt-sample 8" ;;
    rooms) echo "--scenario rooms --rooms 10 --participants 6" ;;
    *) echo "bench/scale.sh: unknown load '$1' (class, rooms)" >&2; return 1 ;;
  esac
}

# run LOAD K SERVER_CPUS GEN_CPU...: one run, kept in $runs/run-NN, and its row.
port=${CHORUS_SCALE_PORT:-19600}
seq_no=0
mode="single"
[[ $range -eq 1 ]] && mode="range"
run() {
  local load=$1 k=$2 server_cpus=$3
  shift 3
  local gen_cpus=("$@") args
  args=$(load_args "$load")
  port=$((port + 2))
  seq_no=$((seq_no + 1))
  local dir
  dir="$runs/run-$(printf %02d "$seq_no")"
  mkdir -p "$dir"
  local rtc=(--rtc-single-port $((port + 1)))
  [[ $range -eq 1 ]] && rtc=()
  if ! chorus_server_start "$work/server.log" taskset -c "$server_cpus" "${RUN[@]}" "$SERVER" \
      --listen "127.0.0.1:$port" --log-level warn --scheduler-threads "$k" --io-threads "$k" \
      "${rtc[@]}" --config "$work/config.json" "${server_extra[@]}"; then
    echo "$load K=$k: the server did not start" | tee "$dir/failed"
    return 0
  fi
  local spid=$CHORUS_SERVER_PID j
  if [[ -n "${CHORUS_SCALE_PIN_IO:-}" ]]; then # media I/O thread N on server CPU N
    local t name
    for t in /proc/"$spid"/task/*; do
      name=$(cat "$t/comm" 2>/dev/null) || continue
      [[ $name =~ ^chorus-io-([0-9]+)$ ]] || continue
      taskset -pc "${BASH_REMATCH[1]}" "${t##*/}" >/dev/null
    done
  fi
  for j in "${!gen_cpus[@]}"; do
    # shellcheck disable=SC2086
    timeout $((duration + 240)) taskset -c "${gen_cpus[$j]}" "${RUN[@]}" "$BENCH" \
      --url "ws://127.0.0.1:$port" --server-pid "$spid" --busy-poll --verbose \
      --duration-s "$duration" --json "$dir/gen$j.json" $args "${extra[@]}" \
      >"$work/gen$j.log" 2>&1 &
    gen_pids+=($!)
  done
  # Every generator's window open (bounded: setup_timeout-like 180 s), then the server's
  # CPU over measure-s inside all of them.
  local deadline=$((SECONDS + 180)) open=0
  while (( SECONDS < deadline )); do
    open=0
    for j in "${!gen_cpus[@]}"; do grep -q "window open" "$work/gen$j.log" && open=$((open + 1)); done
    (( open == ${#gen_cpus[@]} )) && break
    local alive=0 p
    for p in "${gen_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.2
  done
  local before after
  if (( open == ${#gen_cpus[@]} )); then
    before=$(proc_ticks "$spid"); thread_ticks "$spid" >"$dir/threads0"
    sleep "$measure" # the measured interval itself
    after=$(proc_ticks "$spid"); thread_ticks "$spid" >"$dir/threads1"
  fi
  local rc=0 p
  for p in "${gen_pids[@]}"; do wait "$p" || rc=1; done
  gen_pids=()
  chorus_server_stop || true
  if (( open != ${#gen_cpus[@]} || rc != 0 )); then
    {
      echo "$load K=$k: a generator failed:"
      for j in "${!gen_cpus[@]}"; do tail -3 "$work/gen$j.log"; done
    } | tee "$dir/failed"
    return 0
  fi
  echo "$load $k ${#gen_cpus[@]} $((after - before)) $hz $measure $mode" >"$dir/meta"
  if (( have_node )); then summarize_run "$dir"; else echo "$load K=$k: kept in $dir"; fi
}

if (( spread )); then
  all="0-$((cpus - 1))"
  header "# spread: server on CPUs $all with $cpus I/O threads, one generator of meetings on CPU $((cpus - 1))"
  # (the generator shares a CPU with the server: the figures show the split, not the cost)
  run rooms "$cpus" "$all" "$((cpus - 1))"
  exit 0
fi
header "# $(date -u +%FT%TZ) $(uname -r), $cpus CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
header "# mode: $([[ $range -eq 1 ]] && echo 'port range' || echo 'single port'), ${duration} s windows, server CPU over ${measure} s${CHORUS_SERVER_ARGS:+, server flags: $CHORUS_SERVER_ARGS}${CHORUS_SCALE_PIN_IO:+, I/O threads pinned}"
IFS=, read -ra load_list <<<"$loads"
IFS=, read -ra k_list <<<"$ks"
half=$((cpus / 2))
for load in "${load_list[@]}"; do
  load_args "$load" >/dev/null
  for k in "${k_list[@]}"; do
    if (( 2 * k > cpus )); then
      echo "$load K=$k: skipped ($cpus CPUs cannot give server and generators $k cores each)"
      continue
    fi
    gens=()
    for j in $(seq 0 $((k - 1))); do gens+=($((half + j))); done
    run "$load" "$k" "0-$((k - 1))" "${gens[@]}"
  done
done
