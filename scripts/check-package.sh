#!/usr/bin/env bash
# Installs a Chorus .deb into a fresh temporary root with dpkg (as on a clean Debian 12,
# minus the libraries, which this host provides), checks what it installed, and runs the
# installed binary with the installed configuration until it is ready, then stops it with
# SIGTERM (it must exit 0). Prints "package OK" at the end.
#   scripts/check-package.sh build/chorus_0.1.0_amd64.deb
set -euo pipefail
DEB="$1"
TMP="$(mktemp -d /tmp/chorus-pkg-XXXXXX)"
PID=
# Whatever happens, the server started below does not outlive the script.
trap '[[ -n "$PID" ]] && kill -9 "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
ROOTFS="$TMP/root"
mkdir -p "$ROOTFS/var/lib/dpkg/updates" "$ROOTFS/var/lib/dpkg/info" "$ROOTFS/etc"
touch "$ROOTFS/var/lib/dpkg/status"
dpkg-deb --info "$DEB" | sed -n '1,40p'
# Dependencies are the host's (libcaf, libssl, ...): a clean machine gets them from apt.
dpkg --root="$ROOTFS" --force-script-chrootless --force-depends --log=/dev/null -i "$DEB"
for f in usr/bin/chorus etc/chorus/chorus.json etc/chorus/admin-token \
         lib/systemd/system/chorus.service usr/share/doc/chorus/operations.md \
         usr/share/doc/chorus/admin-api.yaml usr/share/chorus/grafana/chorus-dashboard.json; do
  [[ -e "$ROOTFS/$f" ]] || { echo "missing after install: /$f" >&2; exit 1; }
done
dpkg --root="$ROOTFS" -s chorus | grep -q '^Status: install ok installed'
grep -q '^ExecStart=/usr/bin/chorus --config /etc/chorus/chorus.json$' "$ROOTFS/lib/systemd/system/chorus.service"
grep -q '^User=chorus$' "$ROOTFS/lib/systemd/system/chorus.service"
grep -q '^TimeoutStopSec=' "$ROOTFS/lib/systemd/system/chorus.service"
dpkg-deb -I "$DEB" conffiles | grep -qx '/etc/chorus/chorus.json'
[[ "$(head -n1 "$ROOTFS/etc/chorus/admin-token" | wc -c)" -ge 33 ]] || { echo "admin token too short" >&2; exit 1; }
# The installed binary with the installed config (paths rewritten into the temporary root,
# ports on loopback chosen by the kernel).
sed -e "s#/etc/chorus/#$ROOTFS/etc/chorus/#; s#/var/lib/chorus/#$ROOTFS/var/lib/chorus/#" \
    -e 's#"127.0.0.1:8080"#"127.0.0.1:0"#; s#"127.0.0.1:8081"#"127.0.0.1:0"#' \
    "$ROOTFS/etc/chorus/chorus.json" > "$TMP/chorus.json"
mkdir -p "$ROOTFS/var/lib/chorus"
"$ROOTFS/usr/bin/chorus" --config "$TMP/chorus.json" --rtc-ports 47000-47099 >"$TMP/out" 2>"$TMP/err" &
PID=$!
for _ in $(seq 1 100); do
  grep -q '^chorus listening on ' "$TMP/out" && break
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/err" >&2; exit 1; }
  sleep 0.1
done
grep -q '^chorus listening on ' "$TMP/out" || { kill -9 "$PID"; cat "$TMP/err" >&2; exit 1; }
cat "$TMP/out"
URL="$(sed -n 's/^chorus listening on //p' "$TMP/out")"
ADMIN="$(sed -n 's/^chorus admin API on //p' "$TMP/out")"
curl -fsS "$URL/healthz" >/dev/null
curl -fsS -H "Authorization: Bearer $(head -n1 "$ROOTFS/etc/chorus/admin-token")" "$ADMIN/rooms" | grep -q '"rooms"'
kill -TERM "$PID"
# Bounded: a drain that never ends fails here instead of holding the script.
for _ in $(seq 1 100); do
  kill -0 "$PID" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$PID" 2>/dev/null && { echo "chorus did not exit within 10 s of SIGTERM" >&2; exit 1; }
wait "$PID"
PID=
echo "package OK ($DEB)"
