#!/usr/bin/env bats
# -o max_inodes=N (issue 11): the daemon's memory does not grow with all
# that was ever looked up.  Beyond about N inodes it asks the kernel to
# forget the least recently looked up entries (the kernel answers with
# FORGET), and whatever is read again afterwards is the same.

load common

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    MD=$BATS_TEST_TMPDIR/src/Maildir
}

# all_files_digest: one digest of the names and contents of every file.
all_files_digest() {
    (cd "$MNT" && find . -type f ! -path './certificates/*' | LC_ALL=C sort |
        xargs -d '\n' md5sum | md5sum)
}

@test "-o max_inodes=50: the kernel is asked to forget, and every file reads the same again" {
    mount_mapifs "$MD" -d -o max_inodes=50
    local first second third forgets
    first=$(all_files_digest)
    second=$(all_files_digest)
    assert_equal "$second" "$first"
    forgets=$(grep -cE 'opcode: (BATCH_)?FORGET' "$MAPIFS_LOG" || true)
    ((forgets > 50)) || fail "only $forgets FORGET requests after reading every file twice"
    # an entry forgotten and looked up again keeps its inode number
    local m=$MNT/INBOX/1700000001.M1P1.plain ino
    ino=$(stat -c %i "$m/PidTagSubject")
    third=$(all_files_digest)
    assert_equal "$third" "$first"
    assert_equal "$(stat -c %i "$m/PidTagSubject")" "$ino"
}

@test "-o max_inodes=0 turns the limit off; a value that is not a number is refused" {
    mount_mapifs "$MD" -d -o max_inodes=0
    all_files_digest >/dev/null
    all_files_digest >/dev/null
    local forgets
    forgets=$(grep -cE 'opcode: (BATCH_)?FORGET' "$MAPIFS_LOG" || true)
    assert_equal "$forgets" 0
    unmount_mapifs
    mkdir -p "$BATS_TEST_TMPDIR/mnt2"
    run --separate-stderr timeout 10 "$MAPIFS" -f -o max_inodes=lots "$MD" "$BATS_TEST_TMPDIR/mnt2"
    assert_failure
    [[ $stderr == *max_inodes* ]] || fail "stderr: $stderr"
}
