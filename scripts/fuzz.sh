#!/usr/bin/env bash
# Build the mapper's libFuzzer targets (tests/fuzz/, clang with
# -fsanitize=fuzzer,address,undefined) and run each for SECONDS (default 60).
#   scripts/fuzz.sh [SECONDS] [TARGET...]     TARGET: import walk smime export edit
#
# Build directory: build-fuzz (MAPIFS_FUZZ_BUILD overrides).  Below it, fuzz/:
#   seeds/             the seed corpus, made on every run from the unit tests'
#                      messages, the sample mailbox, the crypto fixtures and
#                      ../shared/corpus when it is there (nothing is copied
#                      into the source tree)
#   sample/, crypto/   scripts/make-sample-mailbox.sh and the bats crypto
#                      fixtures, made once: their PKIs are fuzz-smime's keys
#   corpus/TARGET/     what libFuzzer found, kept from run to run
#   artifacts/TARGET/  crash-*, leak-*, timeout-*, oom-* inputs
#   logs/TARGET.log    libFuzzer's output
# Every run ends with libFuzzer's coverage figures (cov: edges, ft: features)
# per target; the exit status is 1 if any target found a problem.
#
# Reproduce a finding (full stacks through GLib with fast_unwind_on_malloc=0):
#   MAPIFS_FUZZ_PKI=build-fuzz/fuzz/crypto/pki:build-fuzz/fuzz/sample/pki \
#   ASAN_OPTIONS=fast_unwind_on_malloc=0 build-fuzz/tests/fuzz/fuzz-TARGET FILE
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

all_targets=(import walk smime export edit)
seconds=60
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz: unknown target '$t' (${all_targets[*]})" >&2; exit 2; }
done

build=${MAPIFS_FUZZ_BUILD:-$root/build-fuzz}
work=$build/fuzz
command -v clang >/dev/null || { echo "fuzz: clang is needed (scripts/setup.sh installs it)" >&2; exit 1; }

# ---- build -------------------------------------------------------------------
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "fuzz: failed: $*" >&2; exit 1; }; }
if [ -f "$build/build.ninja" ]; then
  run meson configure "$build" -Dfuzz=true
else
  CC=clang run meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
fi
run ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz-}"

# ---- seeds and keys ------------------------------------------------------------
mkdir -p "$work"/{logs,corpus,artifacts}
if [ ! -f "$work/sample/.complete" ]; then
  rm -rf "$work/sample"
  run "$root/scripts/make-sample-mailbox.sh" "$work/sample"
  touch "$work/sample/.complete"
fi
# the crypto fixtures of the e2e tests: a CA and RSA/EC identities, and
# messages signed and encrypted every way (made once, ~20 s)
if ! bash -c 'source "$1/tests/bats/crypto_fixtures.bash" && make_crypto_fixtures "$2"' _ \
  "$root" "$work/crypto" >"$log" 2>&1; then
  echo "fuzz: no crypto fixtures (fuzz-smime uses the sample's keys only):" >&2
  tail -5 "$log" >&2
fi
seed_dirs=("$work/sample")
pki=$work/sample/pki
[ -d "$work/crypto/Maildir" ] && { seed_dirs+=("$work/crypto/Maildir" "$work/crypto/plain"); pki=$work/crypto/pki:$pki; }
[ -d "$root/../shared/corpus" ] && seed_dirs+=("$root/../shared/corpus")
# TNEF streams (winmail.dat) as Outlook writes them: the corpus has none
rm -rf "$work/tnef"
run python3 "$root/tests/bats/tnef.py" make "$work/tnef"
seed_dirs+=("$work/tnef")
rm -rf "$work/seeds"
run python3 "$root/tests/fuzz/seeds.py" "$work/seeds" --unit "$root/tests/unit" "${seed_dirs[@]}"
echo "fuzz: $(find "$work/seeds" -type f | wc -l) seeds from the unit tests and ${seed_dirs[*]#"$root/"}"
export MAPIFS_FUZZ_PKI=$pki

# ---- run -------------------------------------------------------------------------
# hangs: an input that takes more than 10 s is a finding (-timeout=10);
# real mail: inputs up to 256 KiB (a few corpus messages are larger)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  echo "fuzz: fuzz-$t for ${seconds} s ..."
  rc=0
  "$build/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -max_len=262144 \
    -rss_limit_mb=4096 -dict="$root/tests/fuzz/mime.dict" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t/" "$work/corpus/$t" "$work/seeds" \
    >"$work/logs/$t.log" 2>&1 || rc=$?
  # the last status line: "#RUNS DONE cov: N ft: N corp: N/SIZE ..." (or the
  # last pulse/NEW line when it stopped early)
  stats=$(grep -aE '^#[0-9]+.*cov: ' "$work/logs/$t.log" | tail -1 || true)
  runs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$stats")
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$stats")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$stats")
  corp=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$stats")
  eps=$(sed -nE 's/.*stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$work/logs/$t.log" | tail -1)
  if ((rc != 0)); then
    failed+=("$t")
    echo "fuzz: fuzz-$t FAILED (exit $rc); the input is in $work/artifacts/$t/:" >&2
    ls -t "$work/artifacts/$t" | head -3 | sed "s|^|    $work/artifacts/$t/|" >&2
    grep -aE -m1 -A12 'ERROR: |broken promise|runtime error|Timeout|out-of-memory' "$work/logs/$t.log" >&2 || tail -20 "$work/logs/$t.log" >&2
  fi
  summary+=("$(printf '%-8s %6s s  %10s runs  %6s exec/s  cov: %-6s ft: %-7s corp: %-6s %s' \
    "$t" "$seconds" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" \
    "$( ((rc)) && echo FAILED || echo clean)")")
done

echo "fuzz: coverage (libFuzzer's figures at the end of each run):"
printf '    %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: findings in: ${failed[*]} (logs in $work/logs/)" >&2
  exit 1
fi
