#!/usr/bin/env bash
# Janus (Debian's package) in a network namespace, for the side-by-side bench.
#
#   bench/janus/run-janus.sh [start]   install janus if missing, make the namespace and the
#                                      veth pair, write a minimal config, start Janus, wait
#                                      until its WebSocket API answers; prints
#                                      "janus ready ws://10.77.0.2:8188 pid <PID>"
#   bench/janus/run-janus.sh stop      kill that Janus by its PID, delete the namespace
#   bench/janus/run-janus.sh status    is it running?
#
# Janus skips loopback interfaces when it gathers candidates, so it runs in the namespace
# $CHORUS_JANUS_NETNS on the namespace end of a veth pair (host 10.77.0.1/24, namespace
# 10.77.0.2/24). The clients (janus_probe, chorus-bench) run on the host and reach it there.
# Root required. Every wait is bounded; only the PID recorded here is ever killed.
#
# Environment: CHORUS_JANUS_DIR (state: config, log, pid; default /tmp/chorus-janus),
# CHORUS_JANUS_NETNS (default chorus-janus), CHORUS_JANUS_CPU (taskset CPU list for Janus,
# optional), CHORUS_JANUS_DEBUG (Janus debug level 0..7, default 3),
# CHORUS_JANUS_READY_TIMEOUT (seconds, default 20).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

NS="${CHORUS_JANUS_NETNS:-chorus-janus}"
DIR="${CHORUS_JANUS_DIR:-/tmp/chorus-janus}"
HOST_IF="cjanus-host"
NS_IF="cjanus-ns"
HOST_IP="10.77.0.1"
NS_IP="10.77.0.2"
WS_PORT=8188
RTP_RANGE="${CHORUS_JANUS_RTP_RANGE:-20000-20999}"
READY_TIMEOUT="${CHORUS_JANUS_READY_TIMEOUT:-20}"
DEBUG_LEVEL="${CHORUS_JANUS_DEBUG:-3}"
PIDFILE="$DIR/janus.pid"
LOG="$DIR/janus.log"

die() { echo "run-janus: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (network namespace, apt-get)"

# ---- helpers ---------------------------------------------------------------------------
running_pid() {
  # The recorded PID, if that process is still alive and is a janus.
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -q janus "/proc/$pid/comm" 2>/dev/null || return 1
  echo "$pid"
}

# One {"janus":"info"} request over the WebSocket API (subprotocol janus-protocol);
# exit status 0 when Janus answers with "server_info". Bounded by its own 2 s timer.
probe_ws() {
  NODE_PATH="$repo/node_modules" timeout 5 node -e '
    const WebSocket = require("ws");
    const ws = new WebSocket(process.argv[1], "janus-protocol");
    const t = setTimeout(() => { ws.terminate(); process.exit(1); }, 2000);
    ws.on("open", () => ws.send(JSON.stringify({ janus: "info", transaction: "ready" })));
    ws.on("message", (m) => {
      const j = JSON.parse(m.toString());
      if (j.janus === "server_info") {
        clearTimeout(t);
        console.log(j.name + " " + j.version_string);
        ws.close();
        process.exit(0);
      }
    });
    ws.on("error", () => { clearTimeout(t); process.exit(1); });
  ' "ws://$NS_IP:$WS_PORT" 2>/dev/null
}

# The readiness probe is a Node script using `ws` from the repository's node_modules: make
# sure both are there (scripts/setup.sh installs them idempotently) and say so if not.
ensure_probe_tools() {
  if [ -f "$repo/node_modules/ws/package.json" ] && command -v node >/dev/null 2>&1; then
    return 0
  fi
  echo "run-janus: installing the Node modules the readiness probe needs (scripts/setup.sh)" >&2
  # shellcheck source=scripts/setup.sh
  source "$repo/scripts/setup.sh"
  chorus_setup >&2 || die "cannot install node and the npm modules (scripts/setup.sh failed)"
  [ -f "$repo/node_modules/ws/package.json" ] || die "node_modules/ws is still missing after npm ci"
}

install_janus() {
  if dpkg -s janus >/dev/null 2>&1 && command -v janus >/dev/null 2>&1; then
    return 0
  fi
  echo "run-janus: installing Debian's janus package" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y janus >&2 ||
    { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y janus >&2; } ||
    die "cannot install janus"
}

janus_lib_dir() {
  # Where the package put plugins/ and transports/ (multiarch path).
  local d
  for d in /usr/lib/*/janus /usr/lib/janus; do
    [ -f "$d/plugins/libjanus_videoroom.so" ] && { echo "$d"; return 0; }
  done
  return 1
}

make_netns() {
  if ! ip netns list | grep -qw "^$NS"; then
    ip netns add "$NS"
  fi
  ip netns exec "$NS" ip link set lo up
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$NS_IF"
    ip link set "$NS_IF" netns "$NS"
  fi
  ip addr replace "$HOST_IP/24" dev "$HOST_IF"
  ip link set "$HOST_IF" up
  ip netns exec "$NS" ip addr replace "$NS_IP/24" dev "$NS_IF"
  ip netns exec "$NS" ip link set "$NS_IF" up
  # Bounded wait until both ends report the link up (veth is up at once in practice).
  local i
  for i in $(seq 1 25); do
    if ip -o link show "$HOST_IF" | grep -q 'state UP' &&
       ip -n "$NS" -o link show "$NS_IF" | grep -q 'state UP'; then
      return 0
    fi
    sleep 0.2
  done
  echo "run-janus: warning: the veth pair is not up yet (continuing)" >&2
}

delete_netns() {
  ip link del "$HOST_IF" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}

write_config() {
  local lib="$1"
  mkdir -p "$DIR/cfg" "$DIR/plugins" "$DIR/transports" "$DIR/events" "$DIR/loggers"
  # Only the VideoRoom plugin and the WebSockets transport are loadable: the folders
  # Janus scans hold just those two (events/loggers folders stay empty).
  rm -f "$DIR/plugins/"* "$DIR/transports/"*
  ln -s "$lib/plugins/libjanus_videoroom.so" "$DIR/plugins/"
  ln -s "$lib/transports/libjanus_websockets.so" "$DIR/transports/"

  cat >"$DIR/cfg/janus.jcfg" <<EOF
general: {
	configs_folder = "$DIR/cfg"
	plugins_folder = "$DIR/plugins"
	transports_folder = "$DIR/transports"
	events_folder = "$DIR/events"
	loggers_folder = "$DIR/loggers"
	debug_level = $DEBUG_LEVEL
	admin_secret = "chorus-bench-admin"
	protected_folders = []
	session_timeout = 60
	reclaim_session_timeout = 0
	hide_dependencies = true
	interface = "$NS_IP"
}
certificates: {
	dtls_accept_selfsigned = true
}
media: {
	ipv6 = false
	rtp_port_range = "$RTP_RANGE"
	dtls_mtu = 1200
	no_media_timer = 5
	slowlink_threshold = 0
	nack_optimizations = false
}
nat: {
	nice_debug = false
	full_trickle = false
	ice_lite = false
	ice_tcp = false
	ice_enforce_list = "$NS_IF"
	ignore_mdns = true
}
plugins: {
	disable = "libjanus_audiobridge.so,libjanus_echotest.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_nosip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so,libjanus_duktape.so,libjanus_lua.so"
}
transports: {
	disable = "libjanus_http.so,libjanus_pfunix.so,libjanus_rabbitmq.so,libjanus_mqtt.so,libjanus_nanomsg.so"
}
events: {
	broadcast = false
}
loggers: {
}
EOF

  cat >"$DIR/cfg/janus.transport.websockets.jcfg" <<EOF
general: {
	json = "compact"
	ws = true
	ws_port = $WS_PORT
	ws_ip = "$NS_IP"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
EOF

  cat >"$DIR/cfg/janus.plugin.videoroom.jcfg" <<EOF
general: {
	admin_key = "chorus-bench-admin"
	lock_rtp_forward = true
	string_ids = false
}
room-1234: {
	description = "chorus bench"
	is_private = false
	publishers = 1000
	bitrate = 0
	fir_freq = 0
	audiocodec = "opus"
	videocodec = "vp8"
	record = false
	notify_joining = false
}
EOF
}

cmd_start() {
  ensure_probe_tools
  if pid="$(running_pid)"; then
    if probe_ws >/dev/null; then
      echo "janus ready ws://$NS_IP:$WS_PORT pid $pid"
      return 0
    fi
    die "janus pid $pid is running but its WebSocket API does not answer (run: $0 stop)"
  fi
  install_janus
  local lib
  lib="$(janus_lib_dir)" || die "janus plugins not found under /usr/lib/*/janus"
  make_netns
  mkdir -p "$DIR"
  write_config "$lib"

  local pin=()
  [ -n "${CHORUS_JANUS_CPU:-}" ] && pin=(taskset -c "$CHORUS_JANUS_CPU")
  # `ip netns exec` execs its command: the PID of this background job is Janus's own.
  setsid ip netns exec "$NS" "${pin[@]}" janus -C "$DIR/cfg/janus.jcfg" -F "$DIR/cfg" \
    </dev/null >"$LOG" 2>&1 &
  local pid=$!
  echo "$pid" >"$PIDFILE"

  local deadline=$((SECONDS + READY_TIMEOUT)) version
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -20 "$LOG" >&2 || true
      rm -f "$PIDFILE"
      die "janus exited during startup (log: $LOG)"
    fi
    if version="$(probe_ws)"; then
      echo "run-janus: $version in namespace $NS, log $LOG" >&2
      echo "janus ready ws://$NS_IP:$WS_PORT pid $pid"
      return 0
    fi
    sleep 0.3
  done
  tail -20 "$LOG" >&2 || true
  cmd_stop >&2 || true # bounded TERM/KILL of the pid, and the namespace removed
  die "janus did not answer on ws://$NS_IP:$WS_PORT within ${READY_TIMEOUT}s (log: $LOG)"
}

cmd_stop() {
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do # up to 5 s, then SIGKILL
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    echo "run-janus: stopped janus pid $pid" >&2
  fi
  rm -f "$PIDFILE"
  delete_netns
}

cmd_status() {
  if pid="$(running_pid)"; then
    echo "janus running pid $pid ws://$NS_IP:$WS_PORT"
  else
    echo "janus not running"
    return 1
  fi
}

case "${1:-start}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) die "usage: $0 [start|stop|status]" ;;
esac
