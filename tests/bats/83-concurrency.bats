#!/usr/bin/env bats
# Write path (issue 3): concurrency and crashes.  Two writers never produce
# a torn file (the later one gets ESTALE), a change by another program wins
# over an open edit (ESTALE), SIGKILL in the middle of a stream of edits
# leaves every message complete (old or new), mapifs's temp files are cleaned
# at the next writable mount, and -o ro refuses every kind of write (EROFS).

load common
load write_common

PLAIN=1700000001.M1P1.plain
ALT=1700000002.M2P1.alternative
ATT=1700000003.M3P1.attachments
SIGNED=1700000004.M4P1.signed
NESTED=1700000007.M7P1.nested
ARCHIVED=1704103200.M8P1.archived

setup() {
    SRC=$BATS_TEST_TMPDIR/src
    copy_sample "$SRC"
    MD=$SRC/Maildir
    ARCH=$MD/.Archive.2024
    PKI=$SRC/pki
    LOOP_PIDS=()
}

teardown() {
    local p
    for p in "${LOOP_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    mapifs_teardown
}

# ---------------------------------------------------------------------------

@test "two writers on one message: the first close wins, the second gets ESTALE" {
    mount_mapifs "$MD"
    INBOX=$MNT/INBOX
    local f=$MD/cur/$PLAIN:2,S
    run wh two-writers "$INBOX/$PLAIN/PidTagSubject" 'First writer' "$INBOX/$PLAIN/PidTagImportance" 2
    assert_line --index 0 'first ok'
    assert_line --index 1 'second close ESTALE'
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    run wh check "$f"
    assert_success
    assert_header "$f" Subject 'First writer'
    assert_no_header "$f" Importance
    run wh text "$f"
    assert_output --partial 'Grüße aus Köln!'
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'First writer'
    assert_file_is "$INBOX/$PLAIN/PidTagImportance" 1

    # the same property twice
    run wh two-writers "$INBOX/$ALT/PidTagSubject" 'Writer A' "$INBOX/$ALT/PidTagSubject" 'Writer B'
    assert_line --index 0 'first ok'
    assert_line --index 1 'second close ESTALE'
    assert_header "$MD/cur/$ALT:2,FS" Subject 'Writer A'
    assert_file_is "$INBOX/$ALT/PidTagSubject" 'Writer A'
    # and a write after that works again
    echo 'Writer C' >"$INBOX/$ALT/PidTagSubject"
    assert_header "$MD/cur/$ALT:2,FS" Subject 'Writer C'
}

@test "another program rewrites the file while a handle is open: ESTALE, its version stays" {
    mount_mapifs "$MD"
    INBOX=$MNT/INBOX
    local ext=$BATS_TEST_TMPDIR/external.eml
    make_eml "$ext" 'External rewrite' external.1
    # the Maildir way: tmp/ then rename over the file
    run -1 wh write-during "$INBOX/$PLAIN/PidTagSubject" 'Mine' \
        "cp '$ext' '$MD/tmp/ext' && mv '$MD/tmp/ext' '$MD/cur/$PLAIN:2,S'"
    assert_output 'close ESTALE'
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    assert_same_bytes "$ext" "$MD/cur/$PLAIN:2,S"
    wait_until 5 file_is "$INBOX/$PLAIN/PidTagSubject" 'External rewrite' \
        || fail "PidTagSubject is '$(cat "$INBOX/$PLAIN/PidTagSubject")'"

    # in place
    make_eml "$ext" 'Rewritten in place' external.2
    run -1 wh write-during "$INBOX/$ALT/PidTagImportance" 0 "cat '$ext' > '$MD/cur/$ALT:2,FS'"
    assert_output 'close ESTALE'
    assert_same_bytes "$ext" "$MD/cur/$ALT:2,FS"
    run ls -A "$MD/tmp"
    assert_output ''
}

# edit_loop TAG DIR UNIQUE...: set the subjects of the messages to
# "Crash N" for N = 1, 2, ... until a write fails; after every round,
# N goes to $BATS_TEST_TMPDIR/progress.TAG.
edit_loop() {
    local tag=$1 dir=$2 i u
    shift 2
    for ((i = 1; i <= 5000; i++)); do
        echo "$i" >"$BATS_TEST_TMPDIR/started.$tag"
        for u in "$@"; do
            echo "Crash $i" >"$dir/$u/PidTagSubject" 2>/dev/null || return 0
        done
        echo "$i" >"$BATS_TEST_TMPDIR/progress.$tag"
    done
}

progress_at_least() { # progress_at_least TAG N
    [[ -f $BATS_TEST_TMPDIR/progress.$1 ]] && (($(cat "$BATS_TEST_TMPDIR/progress.$1") >= $2))
}

@test "SIGKILL during a stream of edits: every file complete, old or new; temp files cleaned at the next mount" {
    mount_mapifs "$MD"
    INBOX=$MNT/INBOX
    local loop1=($PLAIN $ALT $ATT) loop2=($NESTED $SIGNED) all u f
    all=("${loop1[@]}" "${loop2[@]}" $ARCHIVED)
    # a first edit of every message; its rebuilt form (but for the Subject)
    # is what every later state must equal
    for u in "${loop1[@]}" "${loop2[@]}"; do
        echo 'Crash 0' >"$INBOX/$u/PidTagSubject"
    done
    echo 'Crash 0' >"$MNT/Archive.2024/$ARCHIVED/PidTagSubject"
    for u in "${all[@]}"; do
        f=$(backing $u "$MD" 2>/dev/null || backing $u "$ARCH")
        assert_header "$f" Subject 'Crash 0'
        wh digest "$f" Subject >"$BATS_TEST_TMPDIR/ref.$u"
    done

    edit_loop a "$INBOX" "${loop1[@]}" 3>&- &
    LOOP_PIDS+=($!)
    edit_loop b "$INBOX" "${loop2[@]}" 3>&- &
    LOOP_PIDS+=($!)
    edit_loop c "$MNT/Archive.2024" $ARCHIVED 3>&- &
    LOOP_PIDS+=($!)
    wait_until 60 progress_at_least a 5 || fail "the edit loop made no progress: $(cat "$BATS_TEST_TMPDIR"/progress.* 2>&1)"
    wait_until 30 progress_at_least b 5 || fail "the second edit loop made no progress"
    sleep 0.$((RANDOM % 10))

    kill -KILL "$MAPIFS_PID"
    _wait_exit "$MAPIFS_PID" 10 || fail "mapifs did not die on SIGKILL"
    MAPIFS_PID=
    fusermount3 -u -z "$MNT" || umount -l "$MNT"
    local p
    for p in "${LOOP_PIDS[@]}"; do
        _wait_exit "$p" 20 || fail "an edit loop did not stop after the daemon died"
    done
    LOOP_PIDS=()
    echo "# killed after rounds: a=$(cat "$BATS_TEST_TMPDIR/started.a") b=$(cat "$BATS_TEST_TMPDIR/started.b") c=$(cat "$BATS_TEST_TMPDIR/started.c")" >&3

    # every message: exactly one file, parses, Subject one of the values
    # written, everything else as after the first edit
    local max subj bad=()
    local -A tag_of=()
    for u in "${loop1[@]}"; do tag_of[$u]=a; done
    for u in "${loop2[@]}"; do tag_of[$u]=b; done
    tag_of[$ARCHIVED]=c
    for u in "${all[@]}"; do
        max=$(cat "$BATS_TEST_TMPDIR/started.${tag_of[$u]}")
        if [[ $u == "$ARCHIVED" ]]; then
            [[ $(backing_count $u "$ARCH") == 1 ]] || { bad+=("$u: $(backing_count $u "$ARCH") files"); continue; }
            f=$(backing $u "$ARCH")
        else
            [[ $(backing_count $u) == 1 ]] || { bad+=("$u: $(backing_count $u) files"); continue; }
            f=$(backing $u)
        fi
        wh check "$f" >/dev/null || bad+=("$u: $(wh check "$f" | head -3)")
        subj=$(wh header "$f" Subject) || { bad+=("$u: no Subject"); continue; }
        if [[ ! $subj =~ ^Crash\ ([0-9]+)$ ]] || ((BASH_REMATCH[1] > max)); then
            bad+=("$u: Subject '$subj' was never written (last round started: $max)")
        fi
        wh digest "$f" Subject >"$BATS_TEST_TMPDIR/now.$u"
        cmp -s "$BATS_TEST_TMPDIR/ref.$u" "$BATS_TEST_TMPDIR/now.$u" \
            || bad+=("$u: content differs: $(diff "$BATS_TEST_TMPDIR/ref.$u" "$BATS_TEST_TMPDIR/now.$u" | head -5 | tr '\n' ' ')")
    done
    openssl smime -verify -CAfile "$PKI/ca.pem" -in "$(backing $SIGNED)" -out /dev/null 2>/dev/null \
        || bad+=("$SIGNED: signature does not verify")
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}")"

    # leftovers: plant one more mapifs temp file per folder, and a foreign file
    echo "# mapifs temp files left by the crash: $(find "$MD" -path '*/tmp/*.mapifs-tmp' | wc -l)" >&3
    printf 'Subject: torn' >"$MD/tmp/1700000001.M1P1.plain.4242.mapifs-tmp"
    printf 'Subject: torn' >"$ARCH/tmp/$ARCHIVED.4242.mapifs-tmp"
    make_eml "$MD/tmp/1700009999.M99P1.foreign" 'Being delivered by someone else'
    cp "$MD/tmp/1700009999.M99P1.foreign" "$BATS_TEST_TMPDIR/foreign"

    mount_mapifs "$MD"
    ls "$INBOX" "$MNT/Archive.2024" >/dev/null
    wait_until 5 eval '[[ -z $(find "$MD" -path "*/tmp/*.mapifs-tmp") ]]' \
        || fail "mapifs temp files still there after the remount: $(find "$MD" -path '*/tmp/*')"
    assert_same_bytes "$BATS_TEST_TMPDIR/foreign" "$MD/tmp/1700009999.M99P1.foreign"
    # and the mount works: the files show what is stored, edits go through
    for u in "${loop1[@]}" "${loop2[@]}"; do
        assert_file_is "$INBOX/$u/PidTagSubject" "$(wh header "$(backing $u)" Subject)"
    done
    echo 'After the crash' >"$INBOX/$PLAIN/PidTagSubject"
    assert_header "$(backing $PLAIN)" Subject 'After the crash'
    unmount_mapifs
}

# ---------------------------------------------------------------------------

# snapshot DIR: names, types, sizes, inodes, mtimes and sha256 of everything.
snapshot() {
    (cd "$1" && find . -mindepth 1 -printf '%P %y %s %i %T@\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

@test "-o ro: every kind of write fails with EROFS and the tree is unchanged" {
    printf 'Subject: torn' >"$MD/tmp/1700000001.M1P1.plain.4242.mapifs-tmp"
    snapshot "$SRC" >"$BATS_TEST_TMPDIR/before"
    mount_mapifs "$MD" -o ro
    local I=$MNT/INBOX m=$MNT/INBOX/$PLAIN eml=$BATS_TEST_TMPDIR/x.eml bin=$BATS_TEST_TMPDIR/bin
    make_eml "$eml" 'Refused'
    head -c 100 /dev/urandom >"$bin"
    local ops=(
        "write $m/PidTagSubject New"
        "write-notrunc $m/PidTagSubject New"
        "truncate $m/PidTagSubject"
        "ftruncate $m/PidTagSubject"
        "write $m/PidTagImportance 2"
        "write $m/PidTagClientSubmitTime 2024-05-01T09:30:00Z"
        "write $m/PidTagMessageFlags 0"
        "write $m/recipients/0/PidTagEmailAddress x@example.org"
        "write $m/PidTagNoSuchThing x"
        "write $m/PidTagMessageClass IPM.Note"
        "create $m/PidTagInternetReferences"
        "write $I/$ALT/PS_INTERNET_HEADERS/X-Foo v"
        "truncate $I/$ALT/PS_INTERNET_HEADERS/X-Mailer"
        "write-file $m/message.eml $eml"
        "write-file $I/$ATT/attachments/0/PidTagAttachDataBinary $bin"
        "write-file $I/$SIGNED/attachments/0/PidTagAttachDataBinary $bin"
        "mkdir $m/recipients/3"
        "rmdir $m/recipients/2"
        "mkdir $m/attachments/0"
        "rmdir $I/$ATT/attachments/1"
        "mkdir $I/1700000900.M90P1.draft"
        "write-file $I/1700000500.M50P1.copied.eml $eml"
        "rmdir $m"
        "unlink $m/PidTagSubject"
        "rename $m $MNT/Archive.2024/$PLAIN"
        "rename $m $I/1700000901.M91P1.renamed"
        "rename $m/PidTagSubject $m/PidTagBody"
        "setxattr $m/PidTagSubject user.test 1"
        "chmod $m/PidTagSubject 600"
        "utime $m/PidTagSubject"
        "symlink target $I/link"
        "link $m/PidTagSubject $m/hardlink"
    )
    local op bad=() out
    for op in "${ops[@]}"; do
        # shellcheck disable=SC2086
        out=$(wh $op) && bad+=("SUCCEEDED: $op") && continue
        [[ $out == *" EROFS" ]] || bad+=("$op: $out")
    done
    # the same with the tools people use
    run -1 bash -c "echo x > '$m/PidTagSubject'"
    assert_output --partial 'Read-only file system'
    run -1 cp "$eml" "$I/"
    assert_output --partial 'Read-only file system'
    run -1 mv "$m" "$MNT/Archive.2024/"
    assert_output --partial 'Read-only file system'
    run -1 rmdir "$m"
    assert_output --partial 'Read-only file system'
    ((${#bad[@]} == 0)) || fail "not refused with EROFS:"$'\n'"$(printf '%s\n' "${bad[@]}")"
    assert_file_is "$m/PidTagSubject" 'Grüße aus Köln'
    unmount_mapifs
    snapshot "$SRC" >"$BATS_TEST_TMPDIR/after"
    run diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
    assert_success
}
