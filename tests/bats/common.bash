# common.bash - harness for the mapifs end-to-end tests (bats-core).
#
# Load it first in every test file:   load common
#
# Environment (all optional):
#   SOURCE_ROOT   the project checkout (default: two levels above this file)
#   BUILD_DIR     the meson build directory (default: $SOURCE_ROOT/build)
#   MAPIFS        the daemon (default: $BUILD_DIR/fs/mapifs)
#   MAPPER_TOOL   the mapper CLI (default: $BUILD_DIR/mapper/mapper-tool)
#   CORPUS_DIR    the external corpus (default: $SOURCE_ROOT/../shared/corpus)
#   CI            "true" on the CI machine: a missing prerequisite (the corpus,
#                 a second user) fails the test instead of skipping it
#
# Modelled on libfuse's test runner: the daemon runs in the foreground (-f) as
# a background job of the test, its stderr goes to $BATS_TEST_TMPDIR/mapifs.log,
# the test waits until the mount is live, and teardown always unmounts, waits
# for the daemon and fails the test on sanitizer reports in the log and on
# error-level log lines ("mapifs: error: ...") the test did not declare with
# expect_log_error.

bats_require_minimum_version 1.5.0

# Debian's bats-support / bats-assert packages install here.
_bats_lib=${BATS_LIB_DIR:-/usr/lib/bats}
load "$_bats_lib/bats-support/load"
load "$_bats_lib/bats-assert/load"

SOURCE_ROOT=${SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BUILD_DIR=${BUILD_DIR:-$SOURCE_ROOT/build}
MAPIFS=${MAPIFS:-$BUILD_DIR/fs/mapifs}
MAPPER_TOOL=${MAPPER_TOOL:-$BUILD_DIR/mapper/mapper-tool}
HELPER="$BATS_TEST_DIRNAME/helper.py"
CORPUS_DIR=${CORPUS_DIR:-$SOURCE_ROOT/../shared/corpus}
export SOURCE_ROOT BUILD_DIR MAPIFS MAPPER_TOOL HELPER CORPUS_DIR

# The sample mailbox of scripts/make-sample-mailbox.sh, built once per file
# by build_sample (called from setup_file).  Read-only for the tests: a test
# that changes a mailbox works on a copy (copy_sample).
SAMPLE=$BATS_FILE_TMPDIR/sample
SAMPLE_MD=$SAMPLE/Maildir
SAMPLE_EML=$SAMPLE/eml-tree
PKI=$SAMPLE/pki

# Unique names of the sample INBOX and the subfolder, sorted.
SAMPLE_INBOX_NAMES=(
    1700000001.M1P1.plain
    1700000002.M2P1.alternative
    1700000003.M3P1.attachments
    1700000004.M4P1.signed
    1700000005.M5P1.opaque
    1700000006.M6P1.encrypted
    1700000007.M7P1.nested
)
SAMPLE_ARCHIVE_NAMES=(1704103200.M8P1.archived)

# How long a mount may take to come up / a daemon to exit after unmount.
MOUNT_TIMEOUT=${MOUNT_TIMEOUT:-10}
EXIT_TIMEOUT=${EXIT_TIMEOUT:-10}

# ---------------------------------------------------------------------------
# prerequisites and fixtures

# require_mapifs: fail (not skip) when the binary is missing; skip only when
# the machine cannot do FUSE at all.
require_mapifs() {
    [[ -x $MAPIFS ]] || fail "mapifs binary not found at '$MAPIFS' (set MAPIFS or BUILD_DIR)"
    [[ -e /dev/fuse ]] || skip "no /dev/fuse on this machine"
    command -v fusermount3 >/dev/null || skip "fusermount3 is not installed"
}

require_mapper_tool() {
    [[ -x $MAPPER_TOOL ]] || fail "mapper-tool not found at '$MAPPER_TOOL' (set MAPPER_TOOL or BUILD_DIR)"
}

# missing_prerequisite MESSAGE: skip the test on a developer's machine; with
# CI=true fail it instead, so that CI never passes on silent skips.
missing_prerequisite() {
    if [[ ${CI:-} == true ]]; then
        fail "$1 (CI=true: a missing prerequisite is a failure, not a skip)"
    fi
    skip "$1"
}

# corpus_present: ../shared/corpus (CORPUS_DIR) is there and not empty.
corpus_present() {
    [[ -d $CORPUS_DIR && -n $(ls -A "$CORPUS_DIR" 2>/dev/null) ]]
}

# require_corpus: the one gate of every test that needs the external corpus
# (call it in setup() or in the test, not in setup_file: bats cannot skip
# there).  Skips with a clear message when the corpus is absent, fails when
# CI=true.
require_corpus() {
    corpus_present || missing_prerequisite \
        "no corpus: CORPUS_DIR=$CORPUS_DIR is missing or empty (it is ../shared/corpus, not part of the repository; see tests/corpus)"
}

# build_sample: scripts/make-sample-mailbox.sh into $SAMPLE (once per file).
build_sample() {
    if [[ ! -d $SAMPLE_MD ]]; then
        "$SOURCE_ROOT/scripts/make-sample-mailbox.sh" "$SAMPLE" >/dev/null \
            || fail "scripts/make-sample-mailbox.sh $SAMPLE failed"
    fi
}

# copy_sample DEST: a private copy of the sample (times preserved).
copy_sample() {
    mkdir -p "$1"
    cp -a "$SAMPLE/." "$1/"
}

# sample_file UNIQUE [MAILDIR]: path of the backing file of a message.
sample_file() {
    local uniq=$1 md=${2:-$SAMPLE_MD} f
    for f in "$md"/cur/"$uniq":2,* "$md"/new/"$uniq" "$md"/cur/"$uniq"; do
        if [[ -f $f ]]; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    echo "sample_file: no message $uniq in $md" >&2
    return 1
}

# maildir_flags PATH: the flag letters after ":2," ("" when there are none).
maildir_flags() {
    local base=${1##*/}
    if [[ $base == *:2,* ]]; then
        printf '%s\n' "${base##*:2,}"
    else
        printf '\n'
    fi
}

# ---------------------------------------------------------------------------
# a second user (tests run as root)

NOBODY_UID=65534
NOBODY_GID=65534

# shared_tmpdir: a new 0755 directory under /tmp that every user can reach
# (BATS_TEST_TMPDIR and its parents may not be), in SHARED_DIR; removed by
# mapifs_teardown.  Not in a command substitution (it registers the dir):
#   shared_tmpdir; d=$SHARED_DIR
shared_tmpdir() {
    SHARED_DIR=$(mktemp -d /tmp/mapifs-e2e.XXXXXX) || fail "mktemp -d /tmp/mapifs-e2e.XXXXXX failed"
    chmod 0755 "$SHARED_DIR"
    MAPIFS_SHARED_DIRS+=("$SHARED_DIR")
}

# as_user UID GID CMD...: run CMD as UID:GID without supplementary groups or
# capabilities, from /.
as_user() {
    local uid=$1 gid=$2
    shift 2
    (cd / && setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$@")
}

# as_nobody CMD...: as_user 65534 65534 CMD...
as_nobody() {
    as_user "$NOBODY_UID" "$NOBODY_GID" "$@"
}

# require_second_user: setpriv is there and root can use it.
require_second_user() {
    command -v setpriv >/dev/null || missing_prerequisite "setpriv (util-linux) is not installed"
    (($(id -u) == 0)) || missing_prerequisite "a second user needs the tests to run as root (they run as $(id -un))"
    as_nobody true || missing_prerequisite "setpriv cannot switch to uid $NOBODY_UID"
}

# nobody_python: print a python3 that nobody can run (the one on root's PATH
# may live under /root, e.g. pyenv's shims); fails when there is none.
nobody_python() {
    local p
    for p in "$(command -v python3)" /usr/bin/python3 /usr/local/bin/python3; do
        if [[ -n $p ]] && as_nobody "$p" -c 'pass' 2>/dev/null; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

# nobody_path FILE DIR: print a path of FILE that nobody can use (read, and
# execute when FILE is executable): FILE itself, or a copy in DIR (a
# shared_tmpdir; a checkout under /root is out of nobody's reach).
nobody_path() {
    local file=$1 dir=$2 copy
    local want=(-r "$file")
    [[ -x $file ]] && want+=(-a -x "$file")
    if as_nobody test "${want[@]}" 2>/dev/null; then
        printf '%s\n' "$file"
        return 0
    fi
    copy=$dir/${file##*/}
    cp -p "$file" "$copy" || return 1
    chmod a+rX "$copy"
    want=(-r "$copy")
    [[ -x $copy ]] && want+=(-a -x "$copy")
    as_nobody test "${want[@]}" || return 1
    printf '%s\n' "$copy"
}

# ---------------------------------------------------------------------------
# daemon life-cycle

MAPIFS_PID=
MNT=
# MAPIFS_LAUNCHER: a command (array) that mount_mapifs puts in front of
# "$MAPIFS -f ... SOURCE MOUNTPOINT", e.g. to run the daemon as another user.
# It must exec the daemon (MAPIFS_PID is its pid).
MAPIFS_LAUNCHER=()
# Regular expressions of the error-level log lines this test expects
# (expect_log_error); any other "mapifs: error: " line fails it in teardown.
MAPIFS_EXPECTED_ERRORS=()
# Directories of this test outside BATS_TEST_TMPDIR (shared_tmpdir), removed
# by mapifs_teardown after the unmount.
MAPIFS_SHARED_DIRS=()

_pid_alive() {
    # kill -0 also succeeds for a zombie, so look at the process state
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# wait_until TIMEOUT CMD...: run CMD every 0.1 s until it succeeds; 1 on timeout.
wait_until() {
    local timeout=$1 deadline
    shift
    deadline=$(($(date +%s%N) + timeout * 1000000000))
    while true; do
        if "$@"; then
            return 0
        fi
        if (($(date +%s%N) > deadline)); then
            return 1
        fi
        sleep 0.1
    done
}

show_log() {
    local log=${MAPIFS_LOG:-$BATS_TEST_TMPDIR/mapifs.log}
    echo "---- mapifs log ($log) ----"
    [[ -f $log ]] && cat "$log"
    echo "---- end of log ----"
}

# mount_mapifs SOURCE [OPTION...]: start "mapifs -f OPTION... SOURCE $MNT" in
# the background and wait until $MNT is a live mount point.  MNT defaults to
# $BATS_TEST_TMPDIR/mnt.  Sets MAPIFS_PID.
mount_mapifs() {
    local src=$1
    shift
    require_mapifs
    [[ -z $MAPIFS_PID ]] || fail "mount_mapifs: a daemon (pid $MAPIFS_PID) is still running"
    MNT=${MNT:-$BATS_TEST_TMPDIR/mnt}
    MAPIFS_LOG=$BATS_TEST_TMPDIR/mapifs.log
    mkdir -p "$MNT"
    echo "+ ${MAPIFS_LAUNCHER[*]}${MAPIFS_LAUNCHER[*]:+ }$MAPIFS -f $* $src $MNT" >>"$BATS_TEST_TMPDIR/mapifs.cmds"
    # fd 3 is bats' own output channel: a background job must not keep it open
    "${MAPIFS_LAUNCHER[@]}" "$MAPIFS" -f "$@" "$src" "$MNT" </dev/null \
        >>"$BATS_TEST_TMPDIR/mapifs.out" 2>>"$MAPIFS_LOG" 3>&- &
    MAPIFS_PID=$!
    local deadline=$(($(date +%s%N) + MOUNT_TIMEOUT * 1000000000))
    while ! mountpoint -q "$MNT"; do
        if ! _pid_alive "$MAPIFS_PID"; then
            local rc=0
            wait "$MAPIFS_PID" || rc=$?
            MAPIFS_PID=
            show_log
            fail "mapifs exited with status $rc before the mount was live"
        fi
        if (($(date +%s%N) > deadline)); then
            show_log
            fail "mount at $MNT not live after ${MOUNT_TIMEOUT}s"
        fi
        sleep 0.05
    done
}

# _wait_exit PID TIMEOUT: wait for PID (a child of this shell: no command
# substitution around this); its exit status goes to EXIT_RC; 1 on timeout.
_wait_exit() {
    local pid=$1 timeout=$2
    EXIT_RC=
    if ! wait_until "$timeout" eval '! _pid_alive '"$pid"; then
        return 1
    fi
    EXIT_RC=0
    wait "$pid" || EXIT_RC=$?
}

# unmount_mapifs: fusermount3 -u, wait for the daemon, assert it exited 0.
unmount_mapifs() {
    [[ -n $MAPIFS_PID ]] || fail "unmount_mapifs: no daemon running"
    local pid=$MAPIFS_PID
    if ! fusermount3 -u "$MNT"; then
        show_log
        fail "fusermount3 -u $MNT failed"
    fi
    if ! _wait_exit "$pid" "$EXIT_TIMEOUT"; then
        show_log
        fail "mapifs (pid $pid) still running ${EXIT_TIMEOUT}s after fusermount3 -u"
    fi
    MAPIFS_PID=
    if [[ $EXIT_RC != 0 ]]; then
        show_log
        fail "mapifs exited with status $EXIT_RC after fusermount3 -u (expected 0)"
    fi
}

# is_mounted DIR: something is mounted on DIR, even when its daemon died
# (mountpoint(1) cannot stat such a mount point: ENOTCONN).
is_mounted() {
    findmnt -rn --mountpoint "$1" >/dev/null 2>&1
}

# daemon_alive: the daemon process runs and the mount answers.
daemon_alive() {
    [[ -n $MAPIFS_PID ]] && _pid_alive "$MAPIFS_PID" && mountpoint -q "$MNT" && ls "$MNT" >/dev/null
}

# check_sanitizers [LOG]: fail when a sanitizer reported anything.
check_sanitizers() {
    local log=${1:-$BATS_TEST_TMPDIR/mapifs.log}
    [[ -f $log ]] || return 0
    local re='AddressSanitizer|LeakSanitizer|runtime error:|ThreadSanitizer|MemorySanitizer'
    if grep -qaE "$re" "$log"; then
        echo "sanitizer report in $log (first ones):"
        grep -aE -A 12 "$re" "$log" | head -60
        return 1
    fi
}

# ---------------------------------------------------------------------------
# log levels: error-level lines are "mapifs: error: <text>", the others
# "mapifs: <text>".

# expect_log_error REGEX: this test may log error-level lines whose <text>
# matches the extended regular expression REGEX (bash =~, unanchored).  Call
# it as often as needed, before or after mounting.  It only permits: assert
# with assert_log_error that the line did appear.
expect_log_error() {
    (($# == 1)) || fail "usage: expect_log_error REGEX"
    MAPIFS_EXPECTED_ERRORS+=("$1")
}

# log_errors [LOG]: the <text> of every error-level line of the daemon log.
log_errors() {
    local log=${1:-$BATS_TEST_TMPDIR/mapifs.log}
    [[ -f $log ]] || return 0
    grep -a '^mapifs: error: ' "$log" | sed 's/^mapifs: error: //'
}

_log_error_count() { # _log_error_count REGEX: error lines matching REGEX
    local line n=0
    while IFS= read -r line; do
        [[ $line =~ $1 ]] && n=$((n + 1))
    done < <(log_errors)
    echo "$n"
}

# assert_log_error REGEX [MIN]: at least MIN (1) error-level lines match REGEX
# (waits up to 5 s for them); declares them expected as well.
assert_log_error() {
    local re=$1 min=${2:-1}
    expect_log_error "$re"
    if ! wait_until 5 eval '(($(_log_error_count "$re") >= min))'; then
        fail "$(
            echo "expected $min error-level log line(s) ('mapifs: error: ' + /$re/), found $(_log_error_count "$re")"
            show_log | tail -30
        )"
    fi
}

# refute_log_error REGEX: no error-level line matches REGEX.
refute_log_error() {
    local n
    n=$(_log_error_count "$1")
    ((n == 0)) || fail "$n error-level log line(s) match /$1/: $(log_errors | head -5)"
}

# check_log_errors [LOG]: fail (print them) on error-level lines that match
# no expect_log_error REGEX.
check_log_errors() {
    local log=${1:-$BATS_TEST_TMPDIR/mapifs.log} line re ok bad=()
    while IFS= read -r line; do
        ok=
        for re in "${MAPIFS_EXPECTED_ERRORS[@]}"; do
            if [[ $line =~ $re ]]; then
                ok=1
                break
            fi
        done
        [[ -n $ok ]] || bad+=("$line")
    done < <(log_errors "$log")
    if ((${#bad[@]})); then
        echo "unexpected error-level lines in $log (a test that expects them declares them with expect_log_error REGEX):"
        printf '  mapifs: error: %s\n' "${bad[@]}" | head -40
        return 1
    fi
}

# mapifs_teardown: always unmount (lazily if need be), reap the daemon, then
# check its log for sanitizer reports and unexpected error-level lines, and
# remove the test's shared_tmpdir directories.  Used by the default teardown
# below.
mapifs_teardown() {
    local status=0
    if [[ -n $MAPIFS_PID ]]; then
        local pid=$MAPIFS_PID
        if is_mounted "$MNT"; then
            fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null || true
        fi
        if ! _wait_exit "$pid" "$EXIT_TIMEOUT"; then
            echo "teardown: mapifs (pid $pid) did not exit after unmount; sending SIGTERM"
            kill -TERM "$pid" 2>/dev/null || true
            if ! _wait_exit "$pid" 5; then
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
            fi
            status=1
        fi
        MAPIFS_PID=
    fi
    # a mount left behind by a daemon that died must not survive the test
    if [[ -n $MNT ]] && is_mounted "$MNT"; then
        fusermount3 -uz "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
    fi
    if ((status)); then
        show_log
    fi
    check_sanitizers "$BATS_TEST_TMPDIR/mapifs.log" || status=1
    check_log_errors "$BATS_TEST_TMPDIR/mapifs.log" || status=1
    local d
    for d in "${MAPIFS_SHARED_DIRS[@]}"; do
        # never into a mount that is still there
        if findmnt -rn -o TARGET | grep -qF -- "$d/"; then
            echo "teardown: a mount is still active under $d; not removing it"
            status=1
            continue
        fi
        rm -rf --one-file-system -- "$d"
    done
    MAPIFS_SHARED_DIRS=()
    return "$status"
}

setup_file() {
    build_sample
}

teardown() {
    mapifs_teardown
}

# ---------------------------------------------------------------------------
# assertions on files of the mount

# rows_of DIR: the row directories of recipients/ or attachments/ (0, 1,
# ...), in order; names_in DIR: the rest (attachments' file names), sorted
# bytewise.
rows_of() {
    ls -A "$1" | grep -E '^[0-9]+$' | sort -n
}
names_in() {
    ls -A "$1" | grep -vE '^[0-9]+$' | LC_ALL=C sort
}

# assert_file_is FILE TEXT: FILE holds exactly TEXT followed by "\n" (the
# representation of a single-line property value, design.md section 3).
assert_file_is() {
    local file=$1 want=$2
    [[ -f $file ]] || fail "$file: no such file"
    if ! cmp -s "$file" <(printf '%s\n' "$want"); then
        fail "$(
            echo "$file: content differs"
            echo "-- expected (plus one \\n) --"
            printf '%s\n' "$want"
            echo "-- actual (od -c) --"
            head -c 400 "$file" | od -c | head -20
        )"
    fi
}

# assert_same_bytes A B: A and B hold the same bytes.
assert_same_bytes() {
    if ! cmp "$1" "$2"; then
        fail "$1 and $2 differ ($(wc -c <"$1") vs $(wc -c <"$2") bytes)"
    fi
}

# xattr FILE NAME: the raw value of an extended attribute.
xattr() {
    getfattr -n "$2" --only-values --absolute-names -- "$1"
}

# assert_xattr_is FILE NAME VALUE: the attribute holds exactly VALUE.
assert_xattr_is() {
    local file=$1 name=$2 want=$3
    if ! cmp -s <(xattr "$file" "$name" 2>/dev/null) <(printf '%s' "$want"); then
        fail "$file: xattr $name: expected '$want', got '$(xattr "$file" "$name" 2>&1 | od -c | head -5)'"
    fi
}

# iso_time EPOCH: "2024-05-01T09:30:00Z"
iso_time() {
    date -u -d "@$1" '+%Y-%m-%dT%H:%M:%SZ'
}

# compare_with_mapper SOURCEFILE MSGDIR: the message directory shows exactly
# the tree "mapper-tool export --flags <the file's Maildir flags>" writes, plus
# message.eml, byte for byte (and the daemon's hashes files, issue 14); smime/ too, when both run without keys.
compare_with_mapper() {
    local src=$1 dir=$2 exp
    require_mapper_tool
    exp=$(mktemp -d "$BATS_TEST_TMPDIR/export.XXXXXX")
    rmdir "$exp"
    "$MAPPER_TOOL" export --flags "$(maildir_flags "$src")" "$src" "$exp" \
        || fail "mapper-tool export $src failed"
    local want got
    want=$(cd "$exp" && find . -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort)
    got=$(cd "$dir" && find . -mindepth 1 -printf '%y %P\n' | LC_ALL=C sort \
        | grep -v -e '^f message\.eml$' -e '^f hashes$' -e '^f attachments/[0-9]*/hashes$')
    if [[ $want != "$got" ]]; then
        fail "$(
            echo "$dir: tree differs from mapper-tool export of $src (< mapper, > mount):"
            diff <(printf '%s\n' "$want") <(printf '%s\n' "$got") | sed 's/^/  /'
        )"
    fi
    local f bad=()
    while IFS= read -r f; do
        cmp -s "$exp/$f" "$dir/$f" || bad+=("$f")
    done < <(cd "$exp" && find . -type f -printf '%P\n' | LC_ALL=C sort)
    if ((${#bad[@]})); then
        fail "$dir: content differs from mapper-tool export for: ${bad[*]}"
    fi
}
