#!/usr/bin/env bash
# Runs a command in a new, loopback-only network namespace (root required): real
# browsers then see only 127.0.0.1, and nothing the test starts can reach another host.
set -euo pipefail
exec unshare --net sh -c 'ip link set lo up && exec "$0" "$@"' "$@"
