#!/usr/bin/env bats
# Exit codes and odd starts (issue 13, point 8), as FUSE daemons have them:
# 0 after a clean unmount (also by a signal), 1 for failures at run time, 2
# for usage errors; one clear line for a mount point that is already a
# mapifs mount and for a source with no mail.  mapper-tool verify exits as
# `openssl cms -verify` does.

load common

setup() {
    require_mapifs
    M=$BATS_TEST_TMPDIR/m
    mkdir -p "$M"
}

@test "usage errors exit 2, failures at run time 1" {
    run --separate-stderr timeout 10 "$MAPIFS"
    assert_failure 2
    run --separate-stderr timeout 10 "$MAPIFS" -f "$SAMPLE_MD"
    assert_failure 2
    run --separate-stderr timeout 10 "$MAPIFS" -f --no-such-option "$SAMPLE_MD" "$M"
    assert_failure 2
    run --separate-stderr timeout 10 "$MAPIFS" -f -o no_such_option "$SAMPLE_MD" "$M"
    assert_failure 2
    run --separate-stderr timeout 10 "$MAPIFS" -f -o cache_mb=lots "$SAMPLE_MD" "$M"
    assert_failure 2
    run --separate-stderr timeout 10 "$MAPIFS" -f --key "$SAMPLE_MD" "$M"
    assert_failure 2
    # the command line is fine; the world is not
    run --separate-stderr timeout 10 "$MAPIFS" -f "$BATS_TEST_TMPDIR/no-such-mailbox" "$M"
    assert_failure 1
    # libfuse's own check of the mount point is part of reading the command
    # line (fuse_parse_cmdline): a usage error, as in every libfuse daemon
    run --separate-stderr timeout 10 "$MAPIFS" -f "$SAMPLE_MD" "$BATS_TEST_TMPDIR/no-such-dir"
    assert_failure 2
    run mountpoint -q "$M"
    assert_failure
    # a file is no mount point for a directory tree (root could mount there)
    touch "$BATS_TEST_TMPDIR/a-file"
    run --separate-stderr timeout 10 "$MAPIFS" -f "$SAMPLE_MD" "$BATS_TEST_TMPDIR/a-file"
    assert_failure 2
    assert_equal "$stderr" "mapifs: $BATS_TEST_TMPDIR/a-file is not a directory"
    is_mounted "$BATS_TEST_TMPDIR/a-file" && fail "mounted on a file"
    true
}

# SIGNAL: the daemon, started with SIGNAL at its default disposition (a
# non-interactive shell starts background jobs with SIGINT ignored), ends
# on SIGNAL with status 0 and the mount gone.
signal_exit() {
    env --default-signal="$1" "$MAPIFS" -f "$SAMPLE_MD" "$M" 2>"$BATS_TEST_TMPDIR/sig.log" 3>&- &
    local pid=$!
    wait_until 10 mountpoint -q "$M" || fail "not mounted"
    kill -"$1" "$pid"
    local rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 0
    run mountpoint -q "$M"
    assert_failure
}

@test "SIGINT and SIGTERM unmount and exit 0" {
    signal_exit INT
    signal_exit TERM
}

@test "mounting over a mapifs mount is refused in one line; the first one keeps serving" {
    mount_mapifs "$SAMPLE_MD"
    run --separate-stderr timeout 10 "$MAPIFS" -f "$SAMPLE_MD" "$MNT"
    assert_failure 1
    [[ $stderr == *"already a mapifs mount"* ]] || fail "stderr: $stderr"
    assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
    assert_equal "$(findmnt -n -o TARGET "$MNT" | wc -l)" 1
    run ls "$MNT/INBOX"
    assert_success
    [[ -n $output ]] || fail "the first mount shows nothing"
}

@test "a source with no mail mounts with a one-line warning; a Maildir without one" {
    local empty=$BATS_TEST_TMPDIR/empty junk=$BATS_TEST_TMPDIR/junk
    mkdir -p "$empty" "$junk/photos"
    echo x >"$junk/notes.txt"
    echo y >"$junk/photos/a.jpg"
    local src
    for src in "$empty" "$junk"; do
        mount_mapifs "$src"
        unmount_mapifs
        run grep -c 'no Maildir' "$MAPIFS_LOG"
        assert_output 1
        : >"$MAPIFS_LOG"
    done
    mount_mapifs "$SAMPLE_MD"
    unmount_mapifs
    run grep -c 'no Maildir' "$MAPIFS_LOG"
    assert_output 0
    # an .eml tree is mail too
    mkdir -p "$junk/deep/er"
    cp "$(sample_file 1700000001.M1P1.plain)" "$junk/deep/er/x.eml"
    : >"$MAPIFS_LOG"
    mount_mapifs "$junk"
    unmount_mapifs
    run grep -c 'no Maildir' "$MAPIFS_LOG"
    assert_output 0
}

@test "mapper-tool verify exits as openssl cms -verify: 0 good, 4 not; 1 unreadable, 2 usage" {
    require_mapper_tool
    local signed pki
    signed=$(sample_file 1700000004.M4P1.signed)
    pki=$SAMPLE/pki
    # the same verdict as openssl's, with the sample's CA as the anchor
    run openssl cms -verify -in "$signed" -CAfile "$pki/ca.pem" -out /dev/null
    assert_success
    run "$MAPPER_TOOL" verify --ca "$pki/ca.pem" "$signed"
    assert_success
    assert_output good
    # no anchor: untrusted, as openssl without -CAfile fails
    run "$MAPPER_TOOL" verify "$signed"
    assert_failure 4
    assert_output untrusted
    run "$MAPPER_TOOL" verify "$(sample_file 1700000001.M1P1.plain)"
    assert_failure 4
    run "$MAPPER_TOOL" verify "$BATS_TEST_TMPDIR/no-such.eml"
    assert_failure 1
    run "$MAPPER_TOOL" verify
    assert_failure 2
}
