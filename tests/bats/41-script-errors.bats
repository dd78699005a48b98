#!/usr/bin/env bats
# A failed edit fails in a shell script (issue 13, point 1): bash's builtin
# echo and printf report the error of write(2) but ignore that of close(2),
# so a value that can already be judged is refused at write; close stays
# the final check (/bin/echo and tee see it).  The last refused change of a
# message is its xattr user.mapifs.error; -o log=FILE keeps the log in a
# file (point 9).

load common

setup() {
    MD=$BATS_TEST_TMPDIR/src/Maildir
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
    printf 'From: a@example.com\r\nTo: b@example.com\r\nSubject: Plan\r\nImportance: high\r\n\r\nbody\r\n' \
        >"$MD/cur/m:2,S"
    D=$BATS_TEST_TMPDIR/mnt/INBOX/m
}

# unchanged: the message file is what setup() wrote
unchanged() {
    grep -q '^Subject: Plan' "$MD/cur/m:2,S" || fail "the message file changed"
    assert_file_is "$D/PidTagImportance" 2
    assert_file_is "$D/PidTagSubject" Plan
}

@test "bash builtins fail on a value that cannot be stored, and nothing changes" {
    mount_mapifs "$MD"
    # text in a number: refused at the first byte, before any newline
    run bash -c "printf x >'$D/PidTagImportance'"
    assert_failure
    assert_output --partial 'write error: Invalid argument'
    # a complete line out of range
    run bash -c "echo 5 >'$D/PidTagImportance'"
    assert_failure
    # a line break inside a single-line value; appending a second line
    run bash -c "printf 'two\nlines\n' >'$D/PidTagSubject'"
    assert_failure
    run bash -c "echo more >>'$D/PidTagSubject'"
    assert_failure
    unchanged
    # /bin/echo and tee report it too (close is the final check)
    run bash -c "/bin/echo 5 >'$D/PidTagImportance'"
    assert_failure
    run bash -c "echo 5 | tee '$D/PidTagImportance'"
    assert_failure
    unchanged
    # a good value still goes through, also when written in pieces
    run bash -c "echo 0 >'$D/PidTagImportance'"
    assert_success
    assert_file_is "$D/PidTagImportance" 0
    run python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
for piece in (b"Pl", b"an B", b"\n"):
    os.write(fd, piece)
os.close(fd)' "$D/PidTagSubject"
    assert_success
    assert_file_is "$D/PidTagSubject" 'Plan B'
}

@test "the last refused change is the message's xattr user.mapifs.error until an edit succeeds" {
    mount_mapifs "$MD"
    run getfattr --absolute-names --only-values -n user.mapifs.error "$D"
    assert_failure   # none yet
    run bash -c "printf x >'$D/PidTagImportance'"
    assert_failure
    run getfattr --absolute-names --only-values -n user.mapifs.error "$D"
    assert_success
    assert_output 'writing PidTagImportance: "x" is not a 32-bit integer'
    # listed with the others
    run getfattr --absolute-names -d "$D"
    assert_output --partial 'user.mapifs.error='
    # a change refused at open (a derived property) is kept too
    run bash -c "echo 1 >'$D/PidTagMessageSize'"
    assert_failure
    run getfattr --absolute-names --only-values -n user.mapifs.error "$D"
    assert_output --partial 'PidTagMessageSize'
    echo 1 >"$D/PidTagImportance"
    run getfattr --absolute-names --only-values -n user.mapifs.error "$D"
    assert_failure
    # a long value quoted in the error is cut: the xattr stays small
    local long
    long=$(printf '%*s' 20000 '' | tr ' ' x)
    run bash -c 'printf "%s\n" "$1" >"$2"' _ "$long" "$D/PidTagSentRepresentingEmailAddress"
    assert_failure
    run getfattr --absolute-names --only-values -n user.mapifs.error "$D"
    assert_success
    assert_output --regexp '^writing PidTagSentRepresentingEmailAddress: "x+\.\.\.$'
    ((${#output} <= 1024 + 3)) || fail "user.mapifs.error is ${#output} bytes"
}

@test "-o log=FILE: the log, refused changes included, goes to FILE with time and pid" {
    local log=$BATS_TEST_TMPDIR/logs/mapifs.log
    mkdir -p "${log%/*}"
    mount_mapifs "$MD" -o log="$log"
    run bash -c "echo 7 >'$D/PidTagImportance'"
    assert_failure
    wait_until 5 grep -q 'PidTagImportance is 0 (low), 1 (normal) or 2 (high)' "$log" ||
        fail "no log line in $log: $(cat "$log")"
    run grep 'PidTagImportance is 0' "$log"
    assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z mapifs\[[0-9]+\]: INBOX/m: writing PidTagImportance'
    # and not on stderr
    run grep -c 'PidTagImportance is 0' "$BATS_TEST_TMPDIR/mapifs.log"
    assert_output 0
    # a log file that cannot be opened is said at once, before mounting
    mkdir -p "$BATS_TEST_TMPDIR/mnt2"
    run "$MAPIFS" -f -o log=/nonexistent/dir/x.log "$MD" "$BATS_TEST_TMPDIR/mnt2"
    assert_failure
    assert_output --partial 'log=/nonexistent/dir/x.log'
}
