#!/usr/bin/env bats
# Issue 14, for examiners at the mount root (design.md 9): timeline.body, a
# Sleuth Kit body file that mactime -b (sleuthkit) reads, with every
# message's sent time, Received hops, Maildir delivery and file times;
# duplicates/ grouping messages by Message-ID and by SHA-256 across folders;
# and -o audit=FILE, the custody log of a forensic mount.  The oracle is
# Python's email package on the source files (examiner.py), find(1) for
# the listing hash, and mactime itself.

load common

setup() {
    require_mapifs
    EXAMINER=$BATS_TEST_DIRNAME/examiner.py
    SRC=$BATS_TEST_TMPDIR/md
    python3 "$EXAMINER" make "$SRC"
}

teardown() {
    mapifs_teardown
}

@test "timeline.body: every Date, Received hop, delivery and file time, as mactime -b reads it" {
    command -v mactime >/dev/null || missing_prerequisite mactime sleuthkit
    mount_mapifs "$SRC" -o ro
    run ls "$MNT"
    assert_line timeline.body
    assert_line duplicates
    local body=$BATS_TEST_TMPDIR/timeline.body
    cp "$MNT/timeline.body" "$body"
    # the size stat gives is the bytes read
    assert_equal "$(stat -c %s "$MNT/timeline.body")" "$(stat -c %s "$body")"
    run python3 "$EXAMINER" timeline "$SRC" "$body"
    assert_success
    # Date, two readable hops (the third has no date), delivery: 4; no Date
    # and no hop: 1; the archived one: 3
    assert_output --partial "8 events"
    run --separate-stderr mactime -b "$MNT/timeline.body" -d -z UTC
    assert_success
    assert_equal "$stderr" ""
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/mactime.csv"
    run python3 "$EXAMINER" mactime "$body" "$BATS_TEST_TMPDIR/mactime.csv"
    assert_success
    # a hop names the host that received it
    grep -q 'hop 2, by mx.example.org' "$body" || fail "no host in the hop events: $(cat "$body")"
    # a | in a subject does not break the fields
    grep -q 'Three hops %7C one bad' "$body"
    unmount_mapifs
}

@test "timeline.body follows the mailbox: a delivered message is in it" {
    mount_mapifs "$SRC"
    local before after
    before=$(grep -c . "$MNT/timeline.body")
    cp "$SRC/cur/1700000200.M2P1.nodate:2,S" "$MNT/INBOX/"
    wait_until 5 bash -c "[[ \$(grep -c . '$MNT/timeline.body') -gt $before ]]" ||
        fail "the timeline did not grow: $(cat "$MNT/timeline.body")"
    run python3 "$EXAMINER" timeline "$SRC" "$MNT/timeline.body"
    assert_success
    unmount_mapifs
}

@test "duplicates/: copies across folders, by Message-ID and by content" {
    mount_mapifs "$SRC"
    run ls "$MNT/duplicates"
    assert_output $'message-id\nsha256'
    run ls -A "$MNT/duplicates/sha256"
    assert_output ""
    # the same bytes in the archive, and the same Message-ID with other bytes
    cp "$MNT/INBOX/1700000100.M1P1.hops/message.eml" "$MNT/Archive/"
    sed 's/^Subject: .*/Subject: changed/' "$SRC/cur/1700000200.M2P1.nodate:2,S" >"$BATS_TEST_TMPDIR/other.eml"
    cp "$BATS_TEST_TMPDIR/other.eml" "$MNT/Archive/"
    run python3 "$EXAMINER" duplicates "$SRC" "$MNT"
    assert_success
    local sum
    sum=$(sha256sum <"$SRC/cur/1700000100.M1P1.hops:2,S" | cut -d' ' -f1)
    run ls "$MNT/duplicates/sha256/$sum"
    assert_success
    assert_line 'INBOX%2F1700000100.M1P1.hops'
    [[ ${#lines[@]} == 2 ]] || fail "want 2 copies: $output"
    # a link leads to the message: its hashes agree
    assert_equal "$(cat "$MNT/duplicates/sha256/$sum/INBOX%2F1700000100.M1P1.hops/hashes")" \
        "$(cat "$MNT/INBOX/1700000100.M1P1.hops/hashes")"
    run ls "$MNT/duplicates/message-id"
    assert_output $'hops.1@example.com\nnodate.2@example.com'
    # deleting a copy (design.md 4: rmdir) ends its group
    local copy
    copy=$(ls "$MNT/duplicates/sha256/$sum" | grep -v INBOX)
    rmdir "$MNT/${copy//%2F//}"
    run ls -A "$MNT/duplicates/sha256"
    assert_output ""
    run python3 "$EXAMINER" duplicates "$SRC" "$MNT"
    assert_success
    unmount_mapifs
}

@test "timeline.body and duplicates/ are read-only" {
    mount_mapifs "$SRC"
    run bash -c "echo x >'$MNT/timeline.body'"
    assert_failure
    run mkdir "$MNT/duplicates/sha256/x"
    assert_failure
    run mkdir "$MNT/duplicates"
    assert_failure
    unmount_mapifs
}

@test "a folder of the mailbox named duplicates wins over the examiner's" {
    mkdir -p "$SRC/.duplicates/cur" "$SRC/.duplicates/new" "$SRC/.duplicates/tmp"
    cp "$SRC/cur/1700000200.M2P1.nodate:2,S" "$SRC/.duplicates/cur/"
    mount_mapifs "$SRC" -o ro
    run bash -c "ls '$MNT' | grep -c '^duplicates\$'"
    assert_output 1
    run ls "$MNT/duplicates"
    assert_output 1700000200.M2P1.nodate
    assert [ -f "$MNT/duplicates/1700000200.M2P1.nodate/PidTagSubject" ]
    assert [ -f "$MNT/timeline.body" ]
    unmount_mapifs
}

@test "a message named timeline.body in a tree of .eml files is a message directory" {
    local tree=$BATS_TEST_TMPDIR/tree
    mkdir -p "$tree"
    cp "$SRC/cur/1700000200.M2P1.nodate:2,S" "$tree/timeline.body.eml"
    mount_mapifs "$tree" -o ro
    # the type readdir gives (d_type), as the lookup's
    run python3 -c 'import os, sys; print([e.is_dir(follow_symlinks=False) for e in os.scandir(sys.argv[1]) if e.name == "timeline.body"])' "$MNT"
    assert_output '[True]'
    assert [ -f "$MNT/timeline.body/PidTagSubject" ]
    unmount_mapifs
}

@test "-o audit=FILE: the mount with the listing's hash, and every refused write" {
    local log=$BATS_TEST_TMPDIR/custody.log
    mount_mapifs "$SRC" -o ro,audit="$log"
    local m=$MNT/INBOX/1700000100.M1P1.hops
    run bash -c "echo x >'$m/PidTagSubject'"
    assert_failure
    assert_output --partial 'Read-only file system'
    run mkdir "$MNT/INBOX/new-one"
    assert_failure
    run mv "$m" "$MNT/Archive/"
    assert_failure
    run touch "$m/PidTagSubject"
    assert_failure
    run setfattr -n user.x -v 1 "$m"
    assert_failure
    run cat "$MNT/timeline.body"
    assert_success
    unmount_mapifs
    local want
    want=$(cd "$SRC" && find . -mindepth 1 -printf '%P\t%y\t%s\t%T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)
    run head -1 "$log"
    assert_output --regexp "^[0-9T:.-]+Z mount version=\"[^\"]+\" source=\"$SRC\" mountpoint=\"$MNT\" .* entries=[0-9]+ listing-sha256=$want\$"
    run grep -c ' refused ' "$log"
    (( output >= 5 )) || fail "$(cat "$log")"
    grep -q "refused op=open-write path=\"INBOX/1700000100.M1P1.hops/PidTagSubject\" uid=$(id -u) pid=[0-9]* error=EROFS" "$log"
    grep -q 'refused op=mkdir path="INBOX/new-one"' "$log"
    grep -q 'refused op=rename path="INBOX/1700000100.M1P1.hops"' "$log"
    grep -q 'refused op=setxattr path="INBOX/1700000100.M1P1.hops"' "$log"
    run tail -1 "$log"
    assert_output --regexp ' unmount refused=[0-9]+$'
    # a second mount appends
    mount_mapifs "$SRC" -o ro,audit="$log"
    unmount_mapifs
    run grep -c ' mount ' "$log"
    assert_output 2
}

@test "-o audit=FILE needs -o ro, and a file outside the evidence" {
    run "$MAPIFS" -f -o audit="$BATS_TEST_TMPDIR/a.log" "$SRC" "$BATS_TEST_TMPDIR"
    assert_failure 2
    assert_output --partial 'read-only'
    run "$MAPIFS" -f --forensic -o audit="$SRC/cur/audit.log" "$SRC" "$BATS_TEST_TMPDIR"
    assert_failure 2
    assert_output --partial 'outside the evidence'
    [[ ! -e $SRC/cur/audit.log ]] || fail "a log was made in the evidence"
}

@test "-o ro: reading the timeline, duplicates, hashes and received paths changes nothing" {
    local before=$BATS_TEST_TMPDIR/before after=$BATS_TEST_TMPDIR/after
    find "$SRC" -printf '%P %y %s %i %m %T@ %C@\n' | LC_ALL=C sort >"$before"
    mount_mapifs "$SRC" -o ro,audit="$BATS_TEST_TMPDIR/audit.log"
    cat "$MNT/timeline.body" >/dev/null
    ls -lR "$MNT/duplicates" >/dev/null
    find "$MNT" -name hashes -exec cat {} + >/dev/null
    find "$MNT" -path '*/received/*' -type f -exec cat {} + >/dev/null
    unmount_mapifs
    find "$SRC" -printf '%P %y %s %i %m %T@ %C@\n' | LC_ALL=C sort >"$after"
    diff "$before" "$after" || fail "the source changed"
}
