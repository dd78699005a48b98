#!/usr/bin/env bats
# Storing a change fails (issue 9 D): the Maildir's tmp/ is missing, is a
# regular file, is not writable (the daemon runs as a non-root user), or the
# file system is full.  The edit fails at close() with the errno of the cause
# (ENOENT, ENOTDIR, EACCES, ENOSPC), the message file keeps its bytes and
# name, no temp file is left anywhere, one error-level line is logged, the
# daemon lives on, and once the cause is gone a later edit works and shows.
# On a full file system, a delivery, a mkdir'ed message and a flag change
# (a rename only) fail cleanly or succeed completely.  The old code had a
# use-after-free on this path: the ASan run of this file must stay clean.

load common
load write_common

PLAIN=1700000001.M1P1.plain
UNREAD=1800000600.M600P1.unread
LAUNCHER="$BATS_TEST_DIRNAME/28-store-failures-as-user.py"

setup() {
    SMALL=
}

teardown() {
    local status=0
    mapifs_teardown || status=1
    if [[ -n $SMALL ]] && is_mounted "$SMALL"; then
        umount "$SMALL" 2>/dev/null || umount -l "$SMALL" || status=1
    fi
    return "$status"
}

# ---------------------------------------------------------------------------
# helpers

# md_state: every directory and file of the Maildir copy (but FILLER), with
# the size, mtime and sha256 of each file.  Directory mtimes are left out: a
# temp file made and removed again changes them without leaving anything.
md_state() {
    (
        cd "$MD" || exit 1
        find . -mindepth 1 ! -path ./filler \( -type d -printf '%P/\n' -o -printf '%P %y %s %T@\n' \) |
            LC_ALL=C sort
        find . -type f ! -path ./filler -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

error_count() {
    log_errors | wc -l
}

# assert_unchanged BEFORE: the Maildir is as in BEFORE (an md_state).
assert_unchanged() {
    local now
    now=$(md_state)
    [[ $now == "$1" ]] || fail "$(
        echo "the Maildir changed (< before, > after):"
        diff <(printf '%s\n' "$1") <(printf '%s\n' "$now")
    )"
}

# edit_fails ERRNO STRERROR: "echo Bye > PidTagSubject" of PLAIN fails at
# close() with ERRNO (seen by write_helper.py, then by /bin/echo), changes
# nothing, logs an error-level line; the daemon lives on and still shows the
# old Subject.
edit_fails() {
    local errno=$1 text=$2 before
    expect_log_error "$text|$errno"
    before=$(md_state)
    run wh write "$INBOX/$PLAIN/PidTagSubject" Bye
    if [[ $output != "close $errno" ]]; then
        show_log | tail -20
        fail "echo Bye > PidTagSubject: expected 'close $errno', got '$output' (status $status)"
    fi
    assert_unchanged "$before"
    assert_log_error "$text|$errno"
    daemon_alive || fail "the daemon did not survive a failed store ($errno)"
    # coreutils' echo reports the error of close() too
    run bash -c "/bin/echo Bye > '$INBOX/$PLAIN/PidTagSubject'"
    daemon_alive || fail "the daemon did not survive a second failed store ($errno); /bin/echo: $output"
    assert_failure
    assert_output --partial "$text"
    assert_unchanged "$before"
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'Grüße aus Köln'
    assert_file_is "$INBOX/$PLAIN/PidTagMessageClass" 'IPM.Note'
}

# edit_works_again: with the cause gone, an edit goes through and shows.
edit_works_again() {
    assert_op_ok write "$INBOX/$PLAIN/PidTagSubject" 'Stored later'
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'Stored later'
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    assert_header "$MD/cur/$PLAIN:2,S" Subject 'Stored later'
    run wh check "$MD/cur/$PLAIN:2,S"
    assert_success
    run ls -A "$MD/tmp"
    assert_output ''
}

# ---------------------------------------------------------------------------

@test "tmp/ missing: the edit fails with ENOENT, nothing changes, a later edit works" {
    setup_rw_mount
    ls "$INBOX/$PLAIN" >/dev/null
    rmdir "$MD/tmp"
    edit_fails ENOENT 'No such file or directory'
    [[ ! -e $MD/tmp ]] || fail "tmp/ came back: $(ls -la "$MD/tmp")"
    mkdir "$MD/tmp"
    edit_works_again
    unmount_mapifs
}

@test "tmp/ a regular file: the edit fails with ENOTDIR, nothing changes, a later edit works" {
    setup_rw_mount
    ls "$INBOX/$PLAIN" >/dev/null
    rmdir "$MD/tmp"
    printf 'not a directory\n' >"$MD/tmp"
    edit_fails ENOTDIR 'Not a directory'
    [[ $(cat "$MD/tmp") == 'not a directory' ]] || fail "the file tmp was changed"
    rm "$MD/tmp"
    mkdir "$MD/tmp"
    edit_works_again
    unmount_mapifs
}

@test "tmp/ not writable by the daemon's user: the edit fails with EACCES, nothing changes, a later edit works" {
    require_second_user
    shared_tmpdir
    # the daemon runs as nobody over nobody's Maildir; root (the tests)
    # is the user the kernel lets use the mount
    local bin
    bin=$(nobody_path "$MAPIFS" "$SHARED_DIR") ||
        missing_prerequisite "uid $NOBODY_UID cannot run $MAPIFS (nor a copy in $SHARED_DIR)"
    python3 -c 'import ctypes, ctypes.util; ctypes.CDLL(ctypes.util.find_library("c")).mount' ||
        missing_prerequisite "python3 cannot call mount(2)"
    SRC=$SHARED_DIR/src
    copy_sample "$SRC"
    MD=$SRC/Maildir
    chown -R "$NOBODY_UID:$NOBODY_GID" "$SRC"
    MAPIFS=$bin
    MAPIFS_LAUNCHER=(python3 "$LAUNCHER" "$NOBODY_UID" "$NOBODY_GID" "$(id -u)" "$(id -g)")
    mount_mapifs "$MD"
    INBOX=$MNT/INBOX
    run ps -o user= -p "$MAPIFS_PID"
    assert_output "$(id -nu "$NOBODY_UID")"
    ls "$INBOX/$PLAIN" >/dev/null
    # control: the daemon stores a change as that user
    assert_op_ok write "$INBOX/$PLAIN/PidTagImportance" 2
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    assert_header_ci "$MD/cur/$PLAIN:2,S" Importance high
    run stat -c %U "$MD/cur/$PLAIN:2,S"
    assert_output "$(id -nu "$NOBODY_UID")"
    chmod 0555 "$MD/tmp"
    edit_fails EACCES 'Permission denied'
    chmod 0755 "$MD/tmp"
    edit_works_again
    run stat -c %U "$MD/cur/$PLAIN:2,S"
    assert_output "$(id -nu "$NOBODY_UID")"
    unmount_mapifs
}

# mount_full: the sample Maildir (plus the unread message UNREAD) on a
# 1 MiB tmpfs, mounted, then the tmpfs filled up.
mount_full() {
    SMALL=$BATS_TEST_TMPDIR/small
    mkdir -p "$SMALL"
    mount -t tmpfs -o size=1m,mode=0755 mapifs-e2e-small "$SMALL" ||
        { SMALL=; missing_prerequisite "cannot mount a tmpfs (mount -t tmpfs -o size=1m)"; }
    MD=$SMALL/Maildir
    cp -a "$SAMPLE_MD" "$MD"
    make_eml "$MD/cur/$UNREAD:2," 'Unread until now' unread
    mount_mapifs "$MD"
    INBOX=$MNT/INBOX
    ls "$INBOX" "$INBOX/$PLAIN" "$INBOX/$UNREAD" >/dev/null
    fill_up
}

# fill_up: the file system of MD has no byte left.
fill_up() {
    head -c 2M /dev/zero >"$MD/filler" 2>/dev/null || true
    if printf x >"$MD/probe" 2>/dev/null; then
        rm -f "$MD/probe"
        fail "could not fill the tmpfs at $SMALL: $(df -h "$SMALL" | tail -1)"
    fi
    rm -f "$MD/probe"
    echo "# full: $(df -k "$SMALL" | tail -1)" >&3
}

@test "full file system: the edit fails with ENOSPC, nothing changes, a later edit works" {
    mount_full
    edit_fails ENOSPC 'No space left on device'
    rm "$MD/filler"
    edit_works_again
    unmount_mapifs
}

@test "full file system: delivery, mkdir of a message and a flag change fail cleanly or succeed completely" {
    mount_full
    expect_log_error 'No space left on device|ENOSPC'
    local eml=$BATS_TEST_TMPDIR/deliver.eml before n f
    make_eml "$eml" 'Delivered to a full disk' deliver
    local listing
    listing=$(ls -A "$INBOX")

    # cp x.eml INBOX/
    before=$(md_state)
    n=$(error_count)
    if cp "$eml" "$INBOX/" 2>"$BATS_TEST_TMPDIR/cp.err"; then
        echo "# cp x.eml INBOX/ on a full disk succeeded" >&3
        f=$(grep -rlF 'Delivered to a full disk' "$MD/new" "$MD/cur" | head -1)
        [[ -n $f ]] || fail "cp succeeded but no message file holds the delivered message"
        assert_same_bytes "$eml" "$f"
        [[ $(ls -A "$INBOX" | wc -l) == $(($(wc -l <<<"$listing") + 1)) ]] ||
            fail "cp succeeded but the folder does not list one more message"
    else
        echo "# cp x.eml INBOX/ on a full disk failed: $(head -1 "$BATS_TEST_TMPDIR/cp.err")" >&3
        assert_unchanged "$before"
        run ls -A "$INBOX"
        assert_output "$listing"
        wait_until 5 eval '(($(error_count) > n))' || fail "a failed delivery logged no error-level line"
    fi
    daemon_alive

    # mkdir INBOX/newmsg
    before=$(md_state)
    listing=$(ls -A "$INBOX")
    n=$(error_count)
    if mkdir "$INBOX/1800000700.M700P1.newmsg" 2>"$BATS_TEST_TMPDIR/mkdir.err"; then
        echo "# mkdir INBOX/newmsg on a full disk succeeded" >&3
        run find "$MD/cur" "$MD/new" -name '1800000700.M700P1.newmsg*'
        [[ $(grep -c . <<<"$output") == 1 ]] || fail "mkdir succeeded, message files: '$output'"
        [[ -d $INBOX/1800000700.M700P1.newmsg ]] || fail "mkdir succeeded but the message is not there"
        run ls -A "$MD/tmp"
        assert_output ''
    else
        echo "# mkdir INBOX/newmsg on a full disk failed: $(head -1 "$BATS_TEST_TMPDIR/mkdir.err")" >&3
        assert_unchanged "$before"
        run ls -A "$INBOX"
        assert_output "$listing"
        wait_until 5 eval '(($(error_count) > n))' || fail "a failed mkdir logged no error-level line"
    fi
    daemon_alive

    # printf 1 > PidTagMessageFlags: a rename only
    local sum
    sum=$(sha "$MD/cur/$UNREAD:2,")
    before=$(md_state)
    n=$(error_count)
    run wh write "$INBOX/$UNREAD/PidTagMessageFlags" 1
    if [[ $output == ok ]]; then
        echo "# the flag change on a full disk succeeded" >&3
        assert_backing_is $UNREAD "cur/$UNREAD:2,S"
        [[ $(sha "$MD/cur/$UNREAD:2,S") == "$sum" ]] || fail "the flag change changed the message's bytes"
        assert_file_is "$INBOX/$UNREAD/PidTagMessageFlags" 1
    else
        echo "# the flag change on a full disk failed: $output" >&3
        assert_unchanged "$before"
        assert_file_is "$INBOX/$UNREAD/PidTagMessageFlags" 0
        wait_until 5 eval '(($(error_count) > n))' || fail "a failed flag change logged no error-level line"
    fi
    daemon_alive
    run ls -A "$MD/tmp"
    assert_output ''

    # space again: the same three work
    rm "$MD/filler"
    assert_op_ok write "$INBOX/$UNREAD/PidTagMessageFlags" 1
    assert_backing_is $UNREAD "cur/$UNREAD:2,S"
    [[ $(sha "$MD/cur/$UNREAD:2,S") == "$sum" ]] || fail "the flag change changed the message's bytes"
    edit_works_again
    unmount_mapifs
}
