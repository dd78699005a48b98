#!/usr/bin/env bash
# Install what mapifs needs on Debian 12 and build it into build/.
#   scripts/setup.sh [BUILD_DIR [meson options...]]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential meson ninja-build pkg-config
  libfuse3-dev fuse3 libgmime-3.0-dev libglib2.0-dev libssl-dev openssl libxml2-dev libical-dev
  bats bats-support bats-assert attr mblaze python3 w3m python3-icalendar tzdata tnef
  scdoc man-db notmuch shared-mime-info file libjson-glib-dev sleuthkit
  clang libclang-rt-14-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

build=${1:-build}
shift || true
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# quiet when it works, the whole story when it does not
run() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "setup: failed: $*" >&2; exit 1; }; }
if [ -f "$build/build.ninja" ]; then
  run meson configure "$build" "$@"
else
  run meson setup "$build" "$@"
fi
run ninja -C "$build"
echo "setup: built $build/fs/mapifs"
