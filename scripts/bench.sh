#!/usr/bin/env bash
# shellcheck disable=SC2016 # sh -c scripts take their arguments as $1...
# The benchmark of mapifs (issue 11): each row times mapifs against a
# reference measured in the same run, on mailboxes it makes itself with
# Python's email package and openssl, and prints one markdown table (also
# written to $BENCH_DIR/results.md).  Figures are ratios, not pass/fail:
# this is never part of scripts/test.sh.
#
#   scripts/bench.sh [-n N] [--drop-caches] [--only ROWS] [ROW...]
#   scripts/bench.sh --million          1,000,000 messages (not by default)
#
#   -n N            the main mailbox size (rows 1-4, 10-11, 13; default 20000)
#   ROW..., --only 1,5,12    run only these rows (1-14; 8 and 9 run together)
#   --drop-caches   drop the page cache before every 1st pass, ours and the
#                   reference alike (needs root)
#   --million       build a 1,000,000-message Maildir; report mount time,
#                   ls -f INBOX vs ls -f cur, RSS after cat of every subject
# Environment: BENCH_DIR (work dir and mailbox cache, default
# /tmp/mapifs-bench), N_SMALL (1000), N_LARGE (100000), N_MILLION (1000000),
# MAPIFS (the daemon, default build/fs/mapifs), MAPPER_TOOL (row 14, default
# build/mapper/mapper-tool).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/scripts/bench
BENCH_DIR=${BENCH_DIR:-/tmp/mapifs-bench}
MAPIFS=${MAPIFS:-$root/build/fs/mapifs}
MAPPER_TOOL=${MAPPER_TOOL:-$root/build/mapper/mapper-tool}
N_MAIN=20000
N_SMALL=${N_SMALL:-1000}
N_LARGE=${N_LARGE:-100000}
N_SIGNED=1000
N_MILLION=${N_MILLION:-1000000}
BIG_EDIT_BYTES=10150000       # a 13.7 MB message
BIG_READ_BYTES=$((100 << 20)) # 100 MiB
GREP_WORD=quasar              # in about 1% of the bodies (make-mailbox.py)
drop_caches=no
million=no
rows=()
res= # what the last measuring function found

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (($#)); do
  case $1 in
    -n) N_MAIN=${2:?}; shift 2 ;;
    --only) IFS=, read -ra more <<<"${2:?}"; rows+=("${more[@]}"); shift 2 ;;
    --drop-caches) drop_caches=yes; shift ;;
    --million) million=yes; shift ;;
    -h | --help) usage ;;
    [0-9]*) rows+=("$1"); shift ;;
    *) usage ;;
  esac
done
if ((${#rows[@]} == 0)) && [ "$million" = no ]; then rows=(1 2 3 4 5 6 7 8 9 10 11 12 13 14); fi
want() { local r; for r in "${rows[@]}"; do [ "$r" = "$1" ] && return 0; done; return 1; }

export LC_ALL=C
[ -x "$MAPIFS" ] || { echo "bench: no $MAPIFS; run scripts/setup.sh build" >&2; exit 1; }
data=$BENCH_DIR/v1 # the mailbox cache; bump when make-mailbox.py changes what it makes
mkdir -p "$data" "$BENCH_DIR/mnt"
log=$BENCH_DIR/mapifs.log
: >"$log"
started=$EPOCHREALTIME

k() { if (($1 % 1000 == 0)); then echo "$(($1 / 1000))k"; else echo "$1"; fi; } # 20000 -> 20k
say() { printf 'bench: %s\n' "$*" >&2; }

# --- mounts: every one is unmounted on exit, also on failure ----------------
registry=$BENCH_DIR/mounts # "PID MNT" a line, of this run
: >"$registry"
cleanup() {
  local p m
  while read -r p m; do
    if mountpoint -q "$m"; then fusermount3 -u "$m" 2>/dev/null || true; fi
    if kill -0 "$p" 2>/dev/null; then sleep 0.2; kill "$p" 2>/dev/null || true; fi
  done <"$registry"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pid= # of the last mounted daemon
wait_mounted() { # MNT PID
  local i
  for ((i = 0; i < 600; i++)); do
    mountpoint -q "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "bench: the daemon for $1 died; log: $log" >&2; tail -5 "$log" >&2; exit 1; }
    sleep 0.02
  done
  echo "bench: $1 not mounted after 12 s" >&2
  exit 1
}
# mount_mapifs NAME SOURCE [mapifs options...]: mount at $BENCH_DIR/mnt/NAME
mount_mapifs() {
  local mnt=$BENCH_DIR/mnt/$1 src=$2
  shift 2
  mkdir -p "$mnt"
  mountpoint -q "$mnt" && fusermount3 -u "$mnt"
  "$MAPIFS" -f "$@" "$src" "$mnt" 2>>"$log" &
  pid=$!
  echo "$pid $mnt" >>"$registry"
  wait_mounted "$mnt" "$pid"
}
mount_floor() { # NAME SHAPE.tsv
  local mnt=$BENCH_DIR/mnt/$1
  mkdir -p "$mnt"
  mountpoint -q "$mnt" && fusermount3 -u "$mnt"
  "$BENCH_DIR/floor" "$2" "$mnt" 2>>"$log" &
  pid=$!
  echo "$pid $mnt" >>"$registry"
  wait_mounted "$mnt" "$pid"
}
unmount() { # NAME: unmount, wait for the daemon to exit, say if it failed
  local mnt=$BENCH_DIR/mnt/$1 p rc=0
  fusermount3 -u "$mnt"
  p=$(awk -v m="$mnt" '$2 == m { p = $1 } END { print p }' "$registry")
  wait "$p" || rc=$?
  ((rc == 0)) || odd "the daemon of $(basename "$mnt") exited $rc"
}

# --- measuring ---------------------------------------------------------------
usec() { local t=${1/./}; echo $((10#$t)); }
# seconds (float) that "$@" takes; its stdout goes to /dev/null
timed() {
  local t0 t1
  t0=$EPOCHREALTIME
  "$@" >/dev/null
  t1=$EPOCHREALTIME
  awk -v a="$(usec "$t0")" -v b="$(usec "$t1")" 'BEGIN { printf "%.4f\n", (b - a) / 1e6 }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
drop() {
  [ "$drop_caches" = yes ] || return 0
  sync
  echo 3 >/proc/sys/vm/drop_caches
}

# --- the table ---------------------------------------------------------------
table=()
oddfile=$BENCH_DIR/odd # things that went wrong, for the end of the table
: >"$oddfile"
odd() { say "warning: $*"; echo "$*" >>"$oddfile"; }
# row ID WORK OURS REFERENCE RATIO TARGET MET
row() {
  table+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |")
  say "row $1: $2: ours $3, reference $4, ratio $5 (target $6: $7)"
}
# ratio_row ID WORK OURS_S REF_S MAX: ours/reference in seconds, target ≤ MAX×
ratio_row() {
  local r
  r=$(calc "$3 / $4")
  row "$1" "$2" "$(calc "$3" 3) s" "$(calc "$4" 3) s" "${r}×" "≤ $5×" "$(awk -v r="$r" -v m="$5" 'BEGIN { print (r <= m) ? "yes" : "**no**" }')"
}

# --- mailboxes, cached under $data -------------------------------------------
maildir() { # N -> path of a Maildir of N realistic messages
  local d=$data/maildir-$1
  if [ ! -d "$d" ]; then
    say "making $d ($1 messages)"
    python3 "$bench/make-mailbox.py" maildir "$d" "$1"
  fi
  echo "$d"
}
native() { # N -> a native tree INBOX/NAME/PidTagSubject of the same shape
  local d=$data/native-$1 m
  m=$(maildir "$1")
  [ -d "$d" ] || python3 "$bench/make-mailbox.py" native "$m/shape.tsv" "$d"
  echo "$d"
}
bigmail() { # BYTES -> a one-message Maildir with an attachment of BYTES
  local d=$data/big-$1
  if [ ! -d "$d" ]; then
    say "making $d"
    python3 "$bench/make-mailbox.py" big "$d" "$1"
  fi
  echo "$d"
}
signed() { # N -> a Maildir of N signed messages, CA in pki/ca.pem
  local d=$data/signed-$1
  if [ ! -d "$d" ]; then
    say "making $d ($1 openssl cms -sign)"
    python3 "$bench/make-mailbox.py" signed "$d" "$1"
  fi
  echo "$d"
}
build_floor() {
  local src=$bench/floor.c bin=$BENCH_DIR/floor
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    # shellcheck disable=SC2046 # pkg-config output is a word list
    cc -O2 -Wall -o "$bin" "$src" $(pkg-config --cflags --libs fuse3)
  fi
}

# --- workloads (run inside a mount or tree) ----------------------------------
cat_subjects() { printf '%s\0' INBOX/*/PidTagSubject | xargs -0 cat; }
grep_bodies() { printf '%s\0' INBOX/*/PidTagBody | xargs -0 grep -l "$GREP_WORD" || true; }
in_dir() { (cd "$1" && shift && "$@"); }

# --- rows ---------------------------------------------------------------------
rows_1_to_4() {
  local n=$N_MAIN src nat t p1=() p2=() p3=() f1=() nt=() mb=() i
  src=$(maildir "$n")
  nat=$(native "$n")
  build_floor
  for i in 1 2 3; do
    drop
    mount_mapifs main "$src" -o ro
    p1+=("$(timed in_dir "$BENCH_DIR/mnt/main" cat_subjects)")
    p2+=("$(timed in_dir "$BENCH_DIR/mnt/main" cat_subjects)")
    p3+=("$(timed in_dir "$BENCH_DIR/mnt/main" cat_subjects)")
    unmount main
    drop
    mount_floor floor "$src/shape.tsv"
    f1+=("$(timed in_dir "$BENCH_DIR/mnt/floor" cat_subjects)")
    unmount floor
    nt+=("$(timed in_dir "$nat" cat_subjects)")
    mb+=("$(timed sh -c 'mlist "$1" | mhdr -h subject' sh "$src")")
  done
  say "subjects: ours ${p1[*]} / ${p2[*]} / ${p3[*]}; floor ${f1[*]}; native ${nt[*]}; mblaze ${mb[*]}"
  local k
  k=$(k "$n")
  if want 1; then ratio_row 1 "\`cat INBOX/*/PidTagSubject\`, $k, 1st pass / floor server 1st pass" "$(median "${p1[@]}")" "$(median "${f1[@]}")" 1.5; fi
  if want 2; then ratio_row 2 "same, 2nd pass / native tree" "$(median "${p2[@]}")" "$(median "${nt[@]}")" 1.5; fi
  if want 3; then ratio_row 3 "same, 3rd pass / native tree" "$(median "${p3[@]}")" "$(median "${nt[@]}")" 1.2; fi
  if want 4; then
    t=$(median "${mb[@]}")
    row 4 "same, 1st pass / \`mlist \| mhdr -h subject\` (mblaze, no FUSE)" "$(calc "$(median "${p1[@]}")" 3) s" "$(calc "$t" 3) s" "$(calc "$(median "${p1[@]}") / $t" 1)×" "none" "–"
  fi
}

row_5() {
  local src ours=() ref=() i
  src=$(maildir "$N_LARGE")
  for i in 1 2 3; do
    drop
    mount_mapifs large "$src" -o ro
    ours+=("$(timed ls -f "$BENCH_DIR/mnt/large/INBOX")")
    unmount large
    ref+=("$(timed ls -f "$src/cur")")
  done
  ratio_row 5 "\`ls -f INBOX\`, $(k "$N_LARGE"), first after mount / \`ls -f cur\`" "$(median "${ours[@]}")" "$(median "${ref[@]}")" 2
}

# edit_time N: res = median seconds of one `echo > PidTagSubject` in an N mailbox
edit_time() {
  local n=$1 src mnt names t=() m k=0
  src=$(maildir "$n")
  mapfile -t names < <(sed -n '11,15p' "$src/shape.tsv" | cut -f1)
  mount_mapifs edit "$src"
  mnt=$BENCH_DIR/mnt/edit
  ls -f "$mnt/INBOX" >/dev/null
  for m in "${names[@]}"; do cat "$mnt/INBOX/$m/PidTagSubject" >/dev/null; done
  for m in "${names[@]}"; do
    k=$((k + 1))
    t+=("$(timed sh -c 'echo "$1" > "$2"' sh "Benchmark edit $k $EPOCHREALTIME" "$mnt/INBOX/$m/PidTagSubject")")
    grep -q "^Benchmark edit $k " "$mnt/INBOX/$m/PidTagSubject" || odd "edit $k of $m at $n not read back"
  done
  unmount edit
  say "edits at $n: ${t[*]}"
  res=$(median "${t[@]}")
}
row_6() {
  local t1 t20 t100 r
  edit_time "$N_SMALL"
  t1=$res
  edit_time "$N_MAIN"
  t20=$res
  edit_time "$N_LARGE"
  t100=$res
  ratio_row 6a "one edit (\`echo x > PidTagSubject\`, median of 5) at $(k "$N_MAIN") / at $(k "$N_SMALL")" "$t20" "$t1" 1.2
  ratio_row 6b "one edit at $(k "$N_LARGE") / at $(k "$N_SMALL")" "$t100" "$t1" 1.2
}

row_7() {
  local src mnt name file scratch ours=() ref=() i
  src=$(bigmail "$BIG_EDIT_BYTES")
  name=$(cut -f1 "$src/shape.tsv")
  mount_mapifs bigedit "$src"
  mnt=$BENCH_DIR/mnt/bigedit
  cat "$mnt/INBOX/$name/PidTagSubject" >/dev/null
  for i in 1 2 3; do
    ours+=("$(timed sh -c 'echo "$1" > "$2"' sh "Benchmark big edit $i" "$mnt/INBOX/$name/PidTagSubject")")
  done
  unmount bigedit
  file=$(find "$src/cur" "$src/new" -type f | head -1)
  scratch=$BENCH_DIR/scratch
  rm -rf "$scratch"
  mkdir -p "$scratch/tmp" "$scratch/cur"
  for i in 1 2 3; do
    ref+=("$(timed sh -c 'cp "$1" "$2/tmp/m" && sync "$2/tmp/m" && mv "$2/tmp/m" "$2/cur/m:2,S"' sh "$file" "$scratch")")
  done
  rm -rf "$scratch"
  ratio_row 7 "one edit of a $(calc "$(stat -c %s "$file") / 1e6" 1) MB message / \`cp\` + \`sync\` + \`mv\` of it" "$(median "${ours[@]}")" "$(median "${ref[@]}")" 2
}

rows_8_9() {
  local src mnt att ours=() ref=() idle=() peak=() after=() i spid
  src=$(bigmail "$BIG_READ_BYTES")
  mnt=$BENCH_DIR/mnt/bigread
  att=INBOX/$(cut -f1 "$src/shape.tsv")/attachments/0/PidTagAttachDataBinary
  for i in 1 2 3; do
    drop
    mount_mapifs bigread "$src" -o ro
    ls -f "$mnt/INBOX" >/dev/null
    idle+=("$(rss_kb "$pid")")
    python3 "$bench/rss-peak.py" "$pid" "$BENCH_DIR/peak" &
    spid=$!
    ours+=("$(timed cat "$mnt/$att")")
    kill -TERM "$spid"
    wait "$spid"
    peak+=("$(cat "$BENCH_DIR/peak")")
    sleep 0.5
    after+=("$(rss_kb "$pid")")
    cmp -s <(cat "$mnt/$att") <(base64 -d "$src/part.b64") || odd "the 100 MiB attachment differs from its decoded part"
    unmount bigread
    ref+=("$(timed base64 -d "$src/part.b64")")
  done
  say "rss kB idle ${idle[*]} peak ${peak[*]} after ${after[*]}"
  if want 8; then ratio_row 8 "first read of a 100 MiB attachment / \`base64 -d\` of its part" "$(median "${ours[@]}")" "$(median "${ref[@]}")" 1.5; fi
  if want 9; then
    local i0 p a d
    i0=$(median "${idle[@]}")
    p=$(median "${peak[@]}")
    a=$(median "${after[@]}")
    d=$(calc "($p - $i0) * 1024 / 1e6" 0)
    row 9 "daemon RSS streaming it: peak / after, vs idle" "peak $(calc "$p * 1024 / 1e6" 0) MB, after $(calc "$a * 1024 / 1e6" 0) MB" "idle $(calc "$i0 * 1024 / 1e6" 0) MB" "+$d MB peak, +$(calc "($a - $i0) * 1024 / 1e6" 0) MB after" "≤ +64 MB" "$( ((d <= 64)) && echo yes || echo '**no**')"
  fi
}

# rss_after_all N: res = "IDLE_KB AFTER_KB SECONDS FILES" after reading every file of N messages
rss_after_all() {
  local src mnt idle after t files
  src=$(maildir "$1")
  mount_mapifs all "$src" -o ro
  mnt=$BENCH_DIR/mnt/all
  idle=$(rss_kb "$pid")
  # two readers, as many as cores here: the row is about memory, not speed
  t=$(timed in_dir "$mnt" sh -c 'find INBOX -type f -print0 >"$1" && xargs -0 -P 2 -n 2000 cat <"$1"' sh "$BENCH_DIR/files")
  files=$(tr -cd '\0' <"$BENCH_DIR/files" | wc -c)
  rm -f "$BENCH_DIR/files"
  after=$(rss_kb "$pid")
  unmount all
  res="$idle $after $t $files"
}
row_10() {
  local n idle after t files mib
  for n in "$N_SMALL" "$N_MAIN"; do
    rss_after_all "$n"
    read -r idle after t files <<<"$res"
    mib=$(calc "$after / 1024" 0)
    row "10 ($(k "$n"))" "RSS after reading every file of $(k "$n") messages ($files files, $(calc "$t" 1) s)" "$mib MiB" "idle $(calc "$idle / 1024" 0) MiB" "+$(calc "($after - $idle) / $n" 1) KiB per message" "≤ 256 MiB" "$( ((mib <= 256)) && echo yes || echo '**no**')"
  done
}

row_11() {
  local src mnt g1=() g2=() ref=() i
  src=$(maildir "$N_MAIN")
  mnt=$BENCH_DIR/mnt/grep
  for i in 1 2 3; do
    drop
    mount_mapifs grep "$src" -o ro
    g1+=("$(timed in_dir "$mnt" grep_bodies)")
    g2+=("$(timed in_dir "$mnt" grep_bodies)")
    unmount grep
    ref+=("$(timed sh -c 'grep -rl "$1" "$2" || true' sh "$GREP_WORD" "$src/cur")")
  done
  local k
  k=$(k "$N_MAIN")
  ratio_row 11a "\`grep -l WORD INBOX/*/PidTagBody\`, $k, 1st pass / \`grep -rl WORD cur\`" "$(median "${g1[@]}")" "$(median "${ref[@]}")" 10
  ratio_row 11b "same, 2nd pass / \`grep -rl WORD cur\`" "$(median "${g2[@]}")" "$(median "${ref[@]}")" 3
}

row_12() {
  local src mnt ours ref good total speed
  src=$(signed "$N_SIGNED")
  mnt=$BENCH_DIR/mnt/signed
  mount_mapifs signed "$src" -o ro --ca "$src/pki/ca.pem"
  ours=$(timed in_dir "$mnt" sh -c 'cat INBOX/*/smime/status')
  good=$(cat "$mnt"/INBOX/*/smime/status | grep -c '^good$' || true)
  unmount signed
  ref=$(timed sh -c 'for f in "$1"/cur/*; do openssl cms -verify -CAfile "$2" -in "$f" -out /dev/null 2>/dev/null || echo "fail $f"; done' sh "$src" "$src/pki/ca.pem")
  total=$(find "$src/cur" -type f | wc -l)
  ((good == total)) || odd "smime/status: $good of $total good"
  speed=$(calc "$ref / $ours" 1)
  row 12 "\`cat */smime/status\` of $total signed messages ($good good) / one \`openssl cms -verify\` each" "$(calc "$ours" 3) s" "$(calc "$ref" 3) s" "$(calc "$ours / $ref" 3)× (${speed}× faster)" "≥ 10× faster" "$(awk -v s="$speed" 'BEGIN { print (s >= 10) ? "yes" : "**no**" }')"
}

# readers SRC K: res = "SECONDS FAILED LINES" for K processes, each cat-ing 1/K of the subjects
readers() {
  local src=$1 k=$2 mnt=$BENCH_DIR/mnt/par lists=$BENCH_DIR/lists t i pids=() bad=0 t0 t1
  rm -rf "$lists"
  mkdir -p "$lists"
  awk -F'\t' -v k="$k" -v d="$lists" '{ print "INBOX/" $1 "/PidTagSubject" > (d "/" (NR % k)) }' "$src/shape.tsv"
  mount_mapifs par "$src" -o ro
  ls -f "$mnt/INBOX" >/dev/null
  t0=$EPOCHREALTIME
  for ((i = 0; i < k; i++)); do
    (cd "$mnt" && xargs -d '\n' cat <"$lists/$i" >"$lists/out$i") &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || bad=$((bad + 1)); done
  t1=$EPOCHREALTIME
  unmount par
  t=$(awk -v a="$(usec "$t0")" -v b="$(usec "$t1")" 'BEGIN { printf "%.4f\n", (b - a) / 1e6 }')
  res="$t $bad $(cat "$lists"/out* | wc -l)"
  rm -rf "$lists"
}
row_13() {
  local src t1 t8 b1 b8 l1 l8 n cores r target
  src=$(maildir "$N_MAIN")
  n=$(wc -l <"$src/shape.tsv")
  readers "$src" 1
  read -r t1 b1 l1 <<<"$res"
  readers "$src" 8
  read -r t8 b8 l8 <<<"$res"
  cores=$(nproc)
  r=$(calc "$t1 / $t8")
  target=$(calc "0.9 * ($cores < 8 ? $cores : 8)" 1)
  ((b1 + b8 == 0 && l1 == n && l8 == n)) || odd "parallel readers: $b1/$b8 failed, $l1/$l8 of $n lines"
  row 13 "8 parallel readers vs 1, $(k "$N_MAIN") subjects, fresh mounts ($cores cores; errors: $((b1 + b8)), lines $l1/$l8 of $n)" "$(calc "$n / $t8" 0)/s (8)" "$(calc "$n / $t1" 0)/s (1)" "${r}×" "≥ ${target}× (0.9 × cores)" "$(awk -v r="$r" -v m="$target" 'BEGIN { print (r >= m) ? "yes" : "**no**" }')"
}

# export_peak N: res = "PEAK_KB LINES STATUS SECONDS" of mapper-tool export
# --jsonl over the N-message Maildir, its output read and counted by Python;
# the peak is the kernel's (getrusage of the child), not a sample
export_peak() {
  local src
  src=$(maildir "$1")
  res=$(python3 - "$MAPPER_TOOL" "$src" <<'PY'
import resource, subprocess, sys, time
t = time.time()
p = subprocess.Popen([sys.argv[1], "export", "--jsonl", sys.argv[2]], stdout=subprocess.PIPE)
lines = sum(1 for _ in p.stdout)
rc = p.wait()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, lines, rc, "%.2f" % (time.time() - t))
PY
)
}
# issue 14: the export's memory stays flat whatever the number of messages
row_14() {
  local p1 l1 r1 t1 p2 l2 r2 t2 ratio
  [ -x "$MAPPER_TOOL" ] || { odd "no $MAPPER_TOOL: row 14 not run"; return 0; }
  export_peak "$N_SMALL"
  read -r p1 l1 r1 t1 <<<"$res"
  export_peak "$N_LARGE"
  read -r p2 l2 r2 t2 <<<"$res"
  ((r1 == 0 && r2 == 0 && l1 == N_SMALL && l2 == N_LARGE)) || odd "export --jsonl: status $r1/$r2, lines $l1/$l2"
  ratio=$(calc "$p2 / $p1")
  row 14 "peak RSS of \`mapper-tool export --jsonl\`, $(k "$N_LARGE") / $(k "$N_SMALL") messages ($t2 s / $t1 s, $l2 / $l1 lines)" "$(calc "$p2 / 1024" 1) MiB" "$(calc "$p1 / 1024" 1) MiB" "${ratio}×" "≤ 1.2×" "$(awk -v r="$ratio" 'BEGIN { print (r <= 1.2) ? "yes" : "**no**" }')"
}

million() {
  local n=$N_MILLION src mnt t0 mount_s ours ref rss idle
  src=$(maildir "$n")
  mnt=$BENCH_DIR/mnt/million
  t0=$EPOCHREALTIME
  mount_mapifs million "$src" -o ro
  mount_s=$(awk -v a="$(usec "$t0")" -v b="$(usec "$EPOCHREALTIME")" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }')
  idle=$(rss_kb "$pid")
  ours=$(timed ls -f "$mnt/INBOX")
  in_dir "$mnt" sh -c 'find INBOX -mindepth 2 -maxdepth 2 -name PidTagSubject -print0 | xargs -0 cat' >/dev/null
  rss=$(rss_kb "$pid")
  unmount million
  ref=$(timed ls -f "$src/cur")
  # issue 11: mounting stays instant (here: live within 1 s), RSS <= 256 MiB
  local m1="**no**" m3="**no**"
  awk -v s="$mount_s" 'BEGIN { exit !(s < 1) }' && m1=yes
  ((rss <= 256 * 1024)) && m3=yes
  row M1 "mount of $(k "$n") messages (until mountpoint)" "$(calc "$mount_s" 3) s" "–" "–" "instant (< 1 s)" "$m1"
  ratio_row M2 "\`ls -f INBOX\` first after mount / \`ls -f cur\`, $(k "$n")" "$ours" "$ref" 2
  row M3 "RSS after \`cat\` of every PidTagSubject, $(k "$n")" "$(calc "$rss / 1024" 0) MiB" "idle $(calc "$idle / 1024" 0) MiB" "+$(calc "($rss - $idle) / $n" 2) KiB per message" "≤ 256 MiB" "$m3"
}

# --- run ---------------------------------------------------------------------
rev=$(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)
say "mapifs $rev; rows ${rows[*]}${million:+; million $million}; work dir $BENCH_DIR; drop caches: $drop_caches"
if [ "$drop_caches" = yes ] && ! { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
  say "cannot drop the page cache (not root?); going on without"
  drop_caches=no
fi
if want 1 || want 2 || want 3 || want 4; then rows_1_to_4; fi
if want 5; then row_5; fi
if want 6; then row_6; fi
if want 7; then row_7; fi
if want 8 || want 9; then rows_8_9; fi
if want 10; then row_10; fi
if want 11; then row_11; fi
if want 12; then row_12; fi
if want 13; then row_13; fi
if want 14; then row_14; fi
if [ "$million" = yes ]; then million; fi

duration=$(awk -v a="$(usec "$started")" -v b="$(usec "$EPOCHREALTIME")" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
errors=$(grep -c 'mapifs: error:' "$log" || true)
{
  echo "| # | work | ours | reference | ratio | target | met? |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${table[@]}"
  echo
  echo "Machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r), libfuse $(pkg-config --modversion fuse3)."
  echo "mapifs $rev (binary built $(date -u -r "$MAPIFS" +%H:%MZ)), $(date -u +%Y-%m-%dT%H:%MZ); page cache dropped before 1st passes: $drop_caches; run took ${duration} s (mailboxes cached in $data)."
  echo "Daemon log: $errors \`mapifs: error:\` lines."
  sed 's/^/Odd: /' "$oddfile"
} | tee "$BENCH_DIR/results.md"
