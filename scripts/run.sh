#!/usr/bin/env bash
# Sets up and builds Chorus (scripts/setup.sh), then runs the server in the foreground.
# Arguments go to chorus, e.g. ./scripts/run.sh --listen 127.0.0.1:9000 --log-level debug.
# Without arguments it runs on its embedded default configuration: open
# http://127.0.0.1:8080/ once it prints "chorus listening on ...".
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

# Setup and build output goes to stderr: stdout is the server's own.
chorus_setup_and_build >&2
exec "$CHORUS_BUILD_DIR/chorus" "$@"
