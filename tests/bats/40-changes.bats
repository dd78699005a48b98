#!/usr/bin/env bats
# Changes made to the Maildir by other programs while it is mounted show up
# without remounting (design.md sections 2 and 4): new mail, flag renames,
# deletions, new Maildir++ folders.  Every wait is a poll with a 5 s limit.

load common

CHANGE_TIMEOUT=5

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    MD=$BATS_TEST_TMPDIR/src/Maildir
    mount_mapifs "$MD"
    INBOX=$MNT/INBOX
}

# deliver DIR UNIQUE SUBJECT: write a message the Maildir way (tmp/, then
# rename into DIR, which is "new" or "cur/…:2,FLAGS").
deliver() {
    local folder=$1 target=$2 subject=$3 uniq=${2##*/}
    uniq=${uniq%%:2,*}
    printf '%s\r\n' \
        "From: Dave Example <dave@example.org>" \
        "To: Bob Example <bob@example.org>" \
        "Subject: $subject" \
        "Date: Wed, 15 Nov 2023 10:00:00 +0000" \
        "Message-ID: <$uniq@example.org>" \
        "MIME-Version: 1.0" \
        "Content-Type: text/plain; charset=us-ascii" \
        "" \
        "Delivered while mounted." >"$folder/tmp/$uniq"
    mv "$folder/tmp/$uniq" "$folder/$target"
}

listed() { # listed DIR NAME
    ls -A "$1" 2>/dev/null | grep -qxF -- "$2"
}

not_listed() {
    ! listed "$@"
}

file_is() { # file_is FILE TEXT: like assert_file_is, as a condition
    cmp -s "$1" <(printf '%s\n' "$2")
}

gone() {
    ! stat "$1" >/dev/null 2>&1
}

@test "a message delivered to new/ appears within ${CHANGE_TIMEOUT}s" {
    ls -A "$INBOX" >/dev/null  # the listing is cached now, if it ever is
    deliver "$MD" new/1700000100.M10P1.fresh 'Fresh mail'
    wait_until $CHANGE_TIMEOUT listed "$INBOX" 1700000100.M10P1.fresh \
        || fail "new/1700000100.M10P1.fresh not listed after ${CHANGE_TIMEOUT}s: $(ls "$INBOX")"
    assert_file_is "$INBOX/1700000100.M10P1.fresh/PidTagSubject" 'Fresh mail'
    assert_file_is "$INBOX/1700000100.M10P1.fresh/PidTagRead" 'false'
    assert_same_bytes "$MD/new/1700000100.M10P1.fresh" "$INBOX/1700000100.M10P1.fresh/message.eml"
    run ls -A "$INBOX"
    assert_equal "$(echo "$output" | wc -l)" 8
}

@test "a message delivered straight into cur/ with flags appears" {
    ls -A "$INBOX" >/dev/null
    deliver "$MD" 'cur/1700000101.M11P1.direct:2,S' 'Direct to cur'
    wait_until $CHANGE_TIMEOUT listed "$INBOX" 1700000101.M11P1.direct \
        || fail "cur/1700000101.M11P1.direct:2,S not listed after ${CHANGE_TIMEOUT}s"
    assert_file_is "$INBOX/1700000101.M11P1.direct/PidTagSubject" 'Direct to cur'
    assert_file_is "$INBOX/1700000101.M11P1.direct/PidTagMessageFlags" '1'
}

@test "flag rename :2,S -> :2,FS -> :2,F keeps name and inode, flags follow" {
    local m=$INBOX/1700000001.M1P1.plain ino
    # read everything first so any cache holds the old state
    assert_file_is "$m/PidTagMessageFlags" '1'
    assert_file_is "$m/PidTagRead" 'true'
    run test -e "$m/PidTagFlagStatus"
    assert_failure
    assert_xattr_is "$m" user.mapifs.source 'cur/1700000001.M1P1.plain:2,S'
    ino=$(stat -c %i "$m")

    # a mail reader flags the message
    mv "$MD/cur/1700000001.M1P1.plain:2,S" "$MD/cur/1700000001.M1P1.plain:2,FS"
    wait_until $CHANGE_TIMEOUT file_is "$m/PidTagFlagStatus" 2 \
        || fail "PidTagFlagStatus not 2 ${CHANGE_TIMEOUT}s after :2,S -> :2,FS"
    assert_file_is "$m/PidTagMessageFlags" '1'
    run ls -A "$INBOX"
    assert_output "$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}")"
    assert_equal "$(stat -c %i "$m")" "$ino"
    assert_xattr_is "$m" user.mapifs.source 'cur/1700000001.M1P1.plain:2,FS'

    # ... and marks it unread
    mv "$MD/cur/1700000001.M1P1.plain:2,FS" "$MD/cur/1700000001.M1P1.plain:2,F"
    wait_until $CHANGE_TIMEOUT file_is "$m/PidTagMessageFlags" 0 \
        || fail "PidTagMessageFlags not 0 ${CHANGE_TIMEOUT}s after :2,FS -> :2,F (is $(cat "$m/PidTagMessageFlags"))"
    assert_file_is "$m/PidTagRead" 'false'
    assert_file_is "$m/PidTagFlagStatus" '2'
    assert_equal "$(stat -c %i "$m")" "$ino"
    run ls -A "$INBOX"
    assert_output "$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}")"
    # the content did not change, so neither does the hash
    assert_xattr_is "$m" user.mapifs.sha256 "$(sha256sum <"$MD/cur/1700000001.M1P1.plain:2,F" | cut -d' ' -f1)"
}

@test "new/ -> cur/ with :2,S (message seen) keeps the name; PidTagRead turns true" {
    local m=$INBOX/1700000003.M3P1.attachments ino
    assert_file_is "$m/PidTagRead" 'false'
    assert_file_is "$m/PidTagMessageFlags" '16'
    ino=$(stat -c %i "$m")
    mv "$MD/new/1700000003.M3P1.attachments" "$MD/cur/1700000003.M3P1.attachments:2,S"
    wait_until $CHANGE_TIMEOUT file_is "$m/PidTagRead" true \
        || fail "PidTagRead not true ${CHANGE_TIMEOUT}s after new/ -> cur/:2,S"
    assert_file_is "$m/PidTagMessageFlags" '17'
    assert_equal "$(stat -c %i "$m")" "$ino"
    assert_xattr_is "$m" user.mapifs.source 'cur/1700000003.M3P1.attachments:2,S'
    run ls -A "$INBOX"
    assert_output "$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}")"
}

@test "a deleted message disappears within ${CHANGE_TIMEOUT}s" {
    local m=$INBOX/1700000002.M2P1.alternative
    assert_file_is "$m/PidTagSubject" 'Re: Quarterly planning'
    rm "$MD/cur/1700000002.M2P1.alternative:2,FS"
    wait_until $CHANGE_TIMEOUT not_listed "$INBOX" 1700000002.M2P1.alternative \
        || fail "still listed ${CHANGE_TIMEOUT}s after deletion"
    wait_until $CHANGE_TIMEOUT gone "$m" || fail "$m still stat-able after deletion"
    run cat "$m/PidTagSubject"
    assert_failure
    assert_output --partial 'No such file or directory'
    run ls -A "$INBOX"
    assert_equal "$(echo "$output" | wc -l)" 6
}

@test "a message deleted in the subfolder disappears too" {
    local m=$MNT/Archive.2024/1704103200.M8P1.archived
    assert_file_is "$m/PidTagSubject" 'Happy new year'
    rm "$MD/.Archive.2024/cur/1704103200.M8P1.archived:2,RS"
    wait_until $CHANGE_TIMEOUT not_listed "$MNT/Archive.2024" 1704103200.M8P1.archived \
        || fail "still listed ${CHANGE_TIMEOUT}s after deletion"
    run ls -A "$MNT/Archive.2024"
    assert_output ''
}

@test "a new Maildir++ folder appears with its messages" {
    ls -A "$MNT" >/dev/null
    mkdir -p "$MD/.Projects.2025/tmp" "$MD/.Projects.2025/new" "$MD/.Projects.2025/cur"
    deliver "$MD/.Projects.2025" new/1700000200.M20P1.project 'Project kickoff'
    wait_until $CHANGE_TIMEOUT listed "$MNT" Projects.2025 \
        || fail "Projects.2025 not listed ${CHANGE_TIMEOUT}s after creating .Projects.2025: $(ls "$MNT")"
    wait_until $CHANGE_TIMEOUT listed "$MNT/Projects.2025" 1700000200.M20P1.project \
        || fail "message of the new folder not listed"
    assert_file_is "$MNT/Projects.2025/1700000200.M20P1.project/PidTagSubject" 'Project kickoff'
    # a second message in the new folder is seen as well (the folder is watched)
    deliver "$MD/.Projects.2025" 'cur/1700000201.M21P1.followup:2,S' 'Project follow-up'
    wait_until $CHANGE_TIMEOUT listed "$MNT/Projects.2025" 1700000201.M21P1.followup \
        || fail "second message of the new folder not listed after ${CHANGE_TIMEOUT}s"
    assert_file_is "$MNT/Projects.2025/1700000201.M21P1.followup/PidTagSubject" 'Project follow-up'
}

@test "files in tmp/ never show up" {
    printf 'Subject: half written\r\n\r\n' >"$MD/tmp/1700000300.M30P1.partial"
    # a delivery after it: once that is seen, the tmp/ file had its chance
    deliver "$MD" new/1700000301.M31P1.sentinel 'Sentinel'
    wait_until $CHANGE_TIMEOUT listed "$INBOX" 1700000301.M31P1.sentinel \
        || fail "sentinel delivery not listed after ${CHANGE_TIMEOUT}s"
    run ls -A "$INBOX"
    refute_line 1700000300.M30P1.partial
    run stat "$INBOX/1700000300.M30P1.partial"
    assert_failure
}

@test "the daemon survives a burst of deliveries and deletions" {
    local i
    for i in $(seq 1 50); do
        deliver "$MD" "new/17000010$(printf '%02d' "$i").M$((100 + i))P1.burst" "Burst $i"
    done
    wait_until $CHANGE_TIMEOUT listed "$INBOX" 1700001050.M150P1.burst \
        || fail "the last of 50 deliveries not listed after ${CHANGE_TIMEOUT}s"
    for i in $(seq 1 50); do
        rm "$MD/new/17000010$(printf '%02d' "$i").M$((100 + i))P1.burst"
    done
    wait_until $CHANGE_TIMEOUT not_listed "$INBOX" 1700001050.M150P1.burst \
        || fail "deleted messages still listed after ${CHANGE_TIMEOUT}s"
    wait_until $CHANGE_TIMEOUT eval '[ "$(ls -A "$INBOX" | wc -l)" -eq 7 ]' \
        || fail "INBOX does not settle back to 7 messages: $(ls -A "$INBOX" | wc -l)"
    daemon_alive
    unmount_mapifs
}
