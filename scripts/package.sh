#!/usr/bin/env bash
# Builds the Debian package of Chorus with CPack: build/chorus_VERSION_ARCH.deb installing
# /usr/bin/chorus, /etc/chorus/chorus.json (a conffile), /lib/systemd/system/chorus.service,
# the docs and the Grafana dashboard. With --check, also installs it into a temporary root
# (dpkg --root, maintainer scripts run chrootless) and runs the installed binary there.
#   scripts/package.sh [--check]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${CHORUS_BUILD_DIR:-$ROOT/build}"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target chorus -j"${CHORUS_JOBS:-2}"
(cd "$BUILD" && cpack -G DEB >/dev/null)
DEB="$(ls -t "$BUILD"/chorus_*.deb | head -n1)"
echo "built $DEB"
if [[ "${1:-}" == "--check" ]]; then
  exec "$ROOT/scripts/check-package.sh" "$DEB"
fi
