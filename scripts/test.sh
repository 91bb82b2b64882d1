#!/usr/bin/env bash
# Sets up and builds Chorus (scripts/setup.sh), then runs every test: the doctest unit
# suites and the Node integration tests (tests/integration/*.test.mjs) that drive the real
# binary on loopback. Serial on purpose: integration tests start their own servers.
# Arguments go to ctest, e.g. ./scripts/test.sh -R integration_signaling.
# The exit code is ctest's.
set -euo pipefail

# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

chorus_setup_and_build
exec ctest --test-dir "$CHORUS_BUILD_DIR" --output-on-failure "$@"
