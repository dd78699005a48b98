#!/usr/bin/env bash
# Set up mapifs and run every test: the mapper's unit tests and the
# end-to-end bats tests against real mounts, first in a normal build, then
# in a build with AddressSanitizer + UndefinedBehaviorSanitizer and -Werror,
# then each libFuzzer target for 45 s (scripts/fuzz.sh).
#   scripts/test.sh [meson test arguments, e.g. a test name]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/setup.sh" build
meson test -C build --print-errorlogs "$@"

"$root/scripts/setup.sh" build-asan -Db_sanitize=address,undefined -Dwerror=true -Db_lundef=false
# leaks are checked too; fail on the first UBSan report
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --print-errorlogs "$@"

# then a short run of every fuzz target (scripts/fuzz.sh, clang, build-fuzz/):
# MAPIFS_FUZZ_SECONDS each (default 45; 0 skips them); not when only some
# tests were asked for
fuzz_seconds=${MAPIFS_FUZZ_SECONDS:-45}
if (($# == 0 && fuzz_seconds > 0)); then
  "$root/scripts/fuzz.sh" "$fuzz_seconds"
fi
