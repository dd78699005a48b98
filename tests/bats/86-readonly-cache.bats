#!/usr/bin/env bats
# A read-only mount lets the kernel serve re-reads itself (issue 11; design.md
# 6): with -o ro (and no allow_other) files are opened without a request to
# the daemon, so a second pass over the mount sends nothing per file; yet a
# change of the source still reaches every reader, the watcher telling the
# kernel to drop what it keeps.

load common

CHANGE_TIMEOUT=5

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    MD=$BATS_TEST_TMPDIR/src/Maildir
    INBOX=
}

file_is() { # file_is FILE TEXT
    cmp -s "$1" <(printf '%s\n' "$2")
}

# requests NAME: how many requests of opcode NAME the -d log holds.
requests() {
    grep -c "opcode: $1 " "$MAPIFS_LOG" || true
}

@test "-o ro: a second pass over every property file sends no OPEN, RELEASE, FLUSH or GETATTR" {
    mount_mapifs "$MD" -d -o ro
    INBOX=$MNT/INBOX
    local first second
    first=$(find "$INBOX" -maxdepth 2 -name 'Pid*' -type f -exec cat {} + | md5sum)
    # the kernel's read-ahead may still send a READ of the first pass after
    # cat is done: count once the log has been still for a moment
    local before=-1 i
    for ((i = 0; i < 20 && before != $(requests READ); i++)); do
        before=$(requests READ)
        sleep 0.2
    done
    local open=$(requests OPEN) release=$(requests RELEASE) flush=$(requests FLUSH)
    local getattr=$(requests GETATTR) read=$(requests READ)
    second=$(find "$INBOX" -maxdepth 2 -name 'Pid*' -type f -exec cat {} + | md5sum)
    assert_equal "$second" "$first"
    assert_equal "$(requests OPEN)" "$open"
    assert_equal "$(requests RELEASE)" "$release"
    assert_equal "$(requests FLUSH)" "$flush"
    assert_equal "$(requests READ)" "$read"
    # find itself stats the directories: none of the files is asked about
    (( $(requests GETATTR) - getattr <= $(find "$INBOX" -maxdepth 1 | wc -l) )) ||
        fail "GETATTR went from $getattr to $(requests GETATTR)"
    (( open <= 1 )) || fail "$open OPEN requests in the first pass: opens are not free"
}

@test "-o ro: a flag rename by another program still reaches a file read before (same size)" {
    mount_mapifs "$MD" -o ro
    INBOX=$MNT/INBOX
    local m=$INBOX/1700000003.M3P1.attachments
    assert_file_is "$m/PidTagMessageFlags" '16'
    assert_file_is "$m/PidTagRead" 'false'
    mv "$MD/new/1700000003.M3P1.attachments" "$MD/cur/1700000003.M3P1.attachments:2,S"
    wait_until $CHANGE_TIMEOUT file_is "$m/PidTagMessageFlags" 17 \
        || fail "PidTagMessageFlags still $(cat "$m/PidTagMessageFlags") ${CHANGE_TIMEOUT}s after the rename"
    assert_file_is "$m/PidTagRead" 'true'
}

@test "-o ro: message.eml and a property read the same as the source after it is replaced" {
    mount_mapifs "$MD" -o ro
    INBOX=$MNT/INBOX
    local m=$INBOX/1700000001.M1P1.plain src
    src=$(ls "$MD"/cur/1700000001.M1P1.plain*)
    # both read (and so kept by the kernel) before the change
    cmp "$m/message.eml" "$src"
    [[ $(cat "$m/PidTagSubject") != 'Replaced while mounted' ]]
    sed 's/^Subject: .*/Subject: Replaced while mounted/' "$src" >"$MD/tmp/x"
    mv "$MD/tmp/x" "$src"
    wait_until $CHANGE_TIMEOUT file_is "$m/PidTagSubject" 'Replaced while mounted' \
        || fail "PidTagSubject is $(cat "$m/PidTagSubject")"
    wait_until $CHANGE_TIMEOUT cmp -s "$m/message.eml" "$src" \
        || fail "message.eml still differs from the source ${CHANGE_TIMEOUT}s after it was replaced"
}
