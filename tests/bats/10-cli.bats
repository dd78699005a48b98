#!/usr/bin/env bats
# Command line: --help, --version, bad arguments, bad SOURCE, basic life-cycle.

load common

setup() {
    require_mapifs
}

@test "--help exits 0 and prints the usage on stdout" {
    run --separate-stderr "$MAPIFS" --help
    assert_success
    assert_output --regexp '[Uu]sage'
    assert_output --partial 'mapifs'
    assert_output --partial 'SOURCE'
    assert_output --partial 'MOUNTPOINT'
}

@test "--help documents -o ro and its alias --forensic" {
    run --separate-stderr "$MAPIFS" --help
    assert_success
    assert_output --partial '--forensic'
    assert_output --regexp '(^|[^a-z_])ro([^a-z_]|$)'
}

@test "--version exits 0 and prints 'mapifs VERSION' (the meson project version)" {
    run --separate-stderr "$MAPIFS" --version
    assert_success
    assert_line --index 0 --regexp '^mapifs [0-9]+\.[0-9]+(\.[0-9]+)?'
    local version
    version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$SOURCE_ROOT/meson.build" | head -1)
    if [[ -n $version ]]; then
        assert_line --index 0 --regexp "^mapifs ${version//./\\.}( |$)"
    fi
}

@test "no arguments: nonzero exit and a message on stderr" {
    run --separate-stderr timeout 10 "$MAPIFS"
    assert_failure
    [ "$status" -ne 124 ] || fail "mapifs hung without arguments"
    [ -n "$stderr" ] || fail "nothing on stderr"
}

@test "missing MOUNTPOINT: nonzero exit, message on stderr" {
    run --separate-stderr timeout 10 "$MAPIFS" -f "$SAMPLE_MD"
    assert_failure
    [ "$status" -ne 124 ] || fail "mapifs hung with a missing mount point"
    [ -n "$stderr" ] || fail "nothing on stderr"
    [ -z "$output" ] || fail "the error went to stdout: $output"
}

@test "unknown option: nonzero exit, message on stderr" {
    mkdir -p "$BATS_TEST_TMPDIR/mnt"
    run --separate-stderr timeout 10 "$MAPIFS" -f --no-such-option "$SAMPLE_MD" "$BATS_TEST_TMPDIR/mnt"
    assert_failure
    [ "$status" -ne 124 ] || fail "mapifs hung on an unknown option"
    [ -n "$stderr" ] || fail "nothing on stderr"
    run mountpoint -q "$BATS_TEST_TMPDIR/mnt"
    assert_failure
}

@test "nonexistent SOURCE: clear error naming it, nonzero exit, nothing mounted" {
    local mnt=$BATS_TEST_TMPDIR/mnt missing=$BATS_TEST_TMPDIR/no-such-mailbox
    mkdir -p "$mnt"
    run --separate-stderr timeout 10 "$MAPIFS" -f "$missing" "$mnt"
    if mountpoint -q "$mnt"; then
        fusermount3 -u "$mnt"
        fail "mapifs mounted a nonexistent SOURCE"
    fi
    assert_failure
    [ "$status" -ne 124 ] || fail "mapifs hung (or served) with a nonexistent SOURCE"
    [[ $stderr == *"mapifs: "* ]] || fail "stderr lacks the 'mapifs: ' prefix: $stderr"
    [[ $stderr == *"$missing"* || $stderr == *no-such-mailbox* ]] \
        || fail "the error does not name the SOURCE: $stderr"
    [[ $stderr =~ [Nn]o\ such\ file|not\ found|does\ not\ exist ]] \
        || fail "the error does not say what is wrong: $stderr"
}

@test "SOURCE that is a regular file: nonzero exit, message on stderr" {
    local mnt=$BATS_TEST_TMPDIR/mnt
    mkdir -p "$mnt"
    run --separate-stderr timeout 10 "$MAPIFS" -f "$(sample_file 1700000001.M1P1.plain)" "$mnt"
    if mountpoint -q "$mnt"; then
        fusermount3 -u "$mnt"
        fail "mapifs mounted a regular file as SOURCE"
    fi
    assert_failure
    [ "$status" -ne 124 ] || fail "mapifs hung with a regular file as SOURCE"
    [[ $stderr == *"mapifs: "* ]] || fail "stderr lacks the 'mapifs: ' prefix: $stderr"
}

@test "nonexistent MOUNTPOINT: nonzero exit, message on stderr" {
    run --separate-stderr timeout 10 "$MAPIFS" -f "$SAMPLE_MD" "$BATS_TEST_TMPDIR/no-such-dir"
    assert_failure
    [ "$status" -ne 124 ] || fail "mapifs hung with a nonexistent mount point"
    [ -n "$stderr" ] || fail "nothing on stderr"
}

@test "mount -f, unmount with fusermount3 -u: the daemon exits 0" {
    mount_mapifs "$SAMPLE_MD"
    run ls "$MNT"
    assert_success
    unmount_mapifs
    run mountpoint -q "$MNT"
    assert_failure
}

@test "every log line on stderr starts with 'mapifs: '" {
    mount_mapifs "$SAMPLE_MD"
    find "$MNT" >/dev/null
    cat "$MNT"/INBOX/*/PidTagSubject >/dev/null
    run cat "$MNT/INBOX/no-such-message/PidTagSubject"
    assert_failure
    unmount_mapifs
    run grep -v '^mapifs: ' "$BATS_TEST_TMPDIR/mapifs.log"
    assert_output ''
}

@test "-d (debug) mounts, logs something, and unmounts cleanly" {
    mount_mapifs "$SAMPLE_MD" -d
    ls "$MNT/INBOX" >/dev/null
    unmount_mapifs
    [ -s "$BATS_TEST_TMPDIR/mapifs.log" ] || fail "-d produced no log output"
}

@test "-o ro mounts, serves reads and refuses writes with EROFS" {
    mount_mapifs "$SAMPLE_MD" -o ro
    assert_file_is "$MNT/INBOX/1700000001.M1P1.plain/PidTagSubject" 'Grüße aus Köln'
    run touch "$MNT/INBOX/1700000001.M1P1.plain/PidTagSubject"
    assert_failure
    assert_output --partial 'Read-only file system'
    unmount_mapifs
}

@test "--forensic mounts and refuses writes like -o ro" {
    mount_mapifs "$SAMPLE_MD" --forensic
    run ls "$MNT/INBOX"
    assert_success
    assert_line 1700000001.M1P1.plain
    run touch "$MNT/INBOX/1700000001.M1P1.plain/PidTagSubject"
    assert_failure
    assert_output --partial 'Read-only file system'
    unmount_mapifs
}

@test "-o allow_other is accepted and reaches the kernel mount" {
    [ "$(id -u)" -eq 0 ] || grep -q '^user_allow_other' /etc/fuse.conf 2>/dev/null \
        || skip "allow_other needs root or user_allow_other in /etc/fuse.conf"
    mount_mapifs "$SAMPLE_MD" -o allow_other
    run findmnt -n -o OPTIONS --mountpoint "$MNT"
    assert_success
    assert_output --partial 'allow_other'
    run ls "$MNT/INBOX"
    assert_success
    unmount_mapifs
}

@test "df and findmnt show the mailbox as the source (issue 13), commas and spaces kept" {
    local src=$BATS_TEST_TMPDIR/mail,box one
    copy_sample "$src"
    mount_mapifs "$src/Maildir"
    run findmnt -n -o SOURCE,FSTYPE --mountpoint "$MNT"
    assert_output "$src/Maildir fuse.mapifs"
    run bash -c "df --output=source '$MNT' | tail -1"
    assert_output "$src/Maildir"
}
