#!/usr/bin/env bash
# Prepares a Debian 12 machine for Chorus and builds it. Idempotent, and quick when
# everything is already there:
#   1. Debian packages (apt-get update/install only when one is missing),
#   2. Node.js + npm from Debian, only when `node` is not on PATH,
#   3. `npm ci` when node_modules is missing or older than package-lock.json,
#   4. CMake configure + build into build/.
# Runs as root (or with sudo available), needs no standard input (CI=true is fine), and
# touches the network only for Debian's apt repositories and the npm registry.
#
# Executed: does all of the above. Sourced (scripts/run.sh, scripts/test.sh): only defines
# the functions chorus_setup, chorus_build and chorus_setup_and_build.

set -euo pipefail

CHORUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHORUS_BUILD_DIR="${CHORUS_BUILD_DIR:-$CHORUS_ROOT/build}"
# ccache (when installed) keys objects by paths relative to the checkout, so that another
# clone of the same sources (CI's) reuses what this one built; the sanitizer build's line
# tables then name the first clone's directory, which only symbolized reports show.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$CHORUS_ROOT}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"

# What the build needs (both builds: the release one with GCC, the sanitizer one with clang).
CHORUS_APT_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache
  libcaf-dev libboost-dev libssl-dev libsrtp2-dev libusrsctp-dev rapidjson-dev doctest-dev
  libsqlite3-dev sqlite3 libpq-dev
  clang libclang-rt-14-dev  # the sanitizer build and the libFuzzer targets (scripts/fuzz.sh)
  lld  # links the sanitizer build (its executables are 300 MB; GNU ld takes 4x as long)
)
# What the server's optional parts and the tests run (scripts/test.sh installs these while
# the release build compiles).
CHORUS_APT_TEST_PACKAGES=(
  postgresql  # storage.url; the PostgreSQL test starts a server from it
  chromium iproute2 util-linux openssl
  firefox-esr  # the Firefox browser tests (puppeteer-core over WebDriver BiDi)
  nftables  # browser tests behind a firewall made inside their network namespace
  ffmpeg jq  # recording (an ffmpeg child per recorded producer), plain RTP tests, mix-recording.sh
  # GStreamer's own WebRTC stack (webrtcbin, libnice), a WHIP publisher in the tests
  # (tests/integration/lib/gst_whip.py)
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-good gstreamer1.0-plugins-base gstreamer1.0-nice
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0
)
CHORUS_APT_PACKAGES=("${CHORUS_APT_BUILD_PACKAGES[@]}" "${CHORUS_APT_TEST_PACKAGES[@]}")

chorus_log() {
  printf '[setup] %s\n' "$*" >&2
}

# Packages of "$@" that dpkg does not report as installed.
chorus_missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

chorus_as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    chorus_log "need root to run: $*"
    return 1
  fi
}

# Installs the packages given (default: all of CHORUS_APT_PACKAGES), and Node.js with npm
# when `node` is not on PATH. The package lists are read once per process tree: a second
# call (scripts/test.sh's, in the background) does not update them again.
chorus_install_packages() {
  local wanted=("${CHORUS_APT_PACKAGES[@]}")
  if [[ $# -gt 0 ]]; then
    wanted=("$@")
  fi
  if ! command -v node >/dev/null 2>&1; then
    wanted+=(nodejs npm)
  elif ! command -v npm >/dev/null 2>&1; then
    chorus_log "node is on PATH ($(command -v node)) but npm is not: install npm for that node"
    return 1
  fi
  local missing
  mapfile -t missing < <(chorus_missing_packages "${wanted[@]}")
  if [[ ${#missing[@]} -eq 0 ]]; then
    return 0
  fi
  chorus_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [[ -z "${CHORUS_APT_UPDATED:-}" ]]; then
    chorus_as_root apt-get update -q </dev/null
    export CHORUS_APT_UPDATED=1
  fi
  chorus_as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
  hash -r
}

# `npm ci` when node_modules is missing or older than package-lock.json. npm records each
# install in node_modules/.package-lock.json, which is what is compared.
chorus_install_node_modules() {
  local lock="$CHORUS_ROOT/package-lock.json"
  local stamp="$CHORUS_ROOT/node_modules/.package-lock.json"
  if [[ ! -f "$lock" ]]; then
    chorus_log "no package-lock.json: skipping npm ci"
    return 0
  fi
  if [[ -d "$CHORUS_ROOT/node_modules" && -f "$stamp" && ! "$lock" -nt "$stamp" ]]; then
    return 0
  fi
  chorus_log "npm ci"
  (cd "$CHORUS_ROOT" && npm ci --no-audit --no-fund </dev/null)
  # npm ci keeps the lock's mtime; make sure the stamp is newer so the next run is quick.
  [[ -f "$stamp" ]] && touch "$stamp"
  return 0
}

chorus_setup() {
  chorus_install_packages
  chorus_install_node_modules
}

# "-G Ninja" for a build tree that is new or was made with Ninja (CMake keeps a tree's
# generator): Ninja keeps both cores busy across targets, where make waits at each one.
chorus_generator() {
  local dir="$1"
  if command -v ninja >/dev/null 2>&1 && { [[ ! -f "$dir/CMakeCache.txt" ]] ||
       grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$dir/CMakeCache.txt"; }; then
    printf '%s\n' -G Ninja
  fi
}

# Configure (cheap when cached; it also picks up a node_modules that appeared) and build
# the given targets, or all of them.
chorus_build() {
  local generator
  mapfile -t generator < <(chorus_generator "$CHORUS_BUILD_DIR")
  cmake "${generator[@]}" -S "$CHORUS_ROOT" -B "$CHORUS_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  if [[ $# -gt 0 ]]; then
    cmake --build "$CHORUS_BUILD_DIR" -j2 --target "$@"
  else
    cmake --build "$CHORUS_BUILD_DIR" -j2
  fi
}

# The sanitizer build (CMakeLists.txt, CHORUS_SANITIZE): clang, ASan + UBSan, into
# build-san/, of the given targets (scripts/sanitize.sh, scripts/fuzz.sh). Under the same
# lock as the normal build, so that two scripts never build at once.
CHORUS_SAN_DIR="${CHORUS_SAN_DIR:-$CHORUS_ROOT/build-san}"
# What the sanitizer run (scripts/sanitize.sh) tests: the server, the probe its tests use,
# and the unit suites.
CHORUS_SAN_TARGETS=(chorus chorus-probe unit_rtp unit_net unit_protocol unit_store unit_app
                    unit_actors)
chorus_sanitize_build() {
  mkdir -p "$CHORUS_BUILD_DIR" "$CHORUS_SAN_DIR"
  (
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    local generator
    mapfile -t generator < <(chorus_generator "$CHORUS_SAN_DIR")
    CC=clang CXX=clang++ cmake "${generator[@]}" -S "$CHORUS_ROOT" -B "$CHORUS_SAN_DIR" -DCHORUS_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -gline-tables-only" >/dev/null
    cmake --build "$CHORUS_SAN_DIR" -j2 --target "$@"
  ) 9>"$CHORUS_BUILD_DIR/.setup.lock"
}

# Setup and build (the given targets, or all) under a lock, so that two scripts started
# together never build at once.
chorus_setup_and_build() {
  mkdir -p "$CHORUS_BUILD_DIR"
  if command -v flock >/dev/null 2>&1; then
    (
      flock 9
      chorus_setup
      chorus_build "$@"
    ) 9>"$CHORUS_BUILD_DIR/.setup.lock"
  else
    chorus_setup
    chorus_build "$@"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  chorus_setup_and_build
fi
