#!/usr/bin/env bats
# Names absent from a message object are remembered by the kernel (issue 11:
# a grep over every PidTagBody asked again, on every pass, for each message
# without one), yet a name that appears when another program replaces the
# message is seen; and a small property file read after its lookup gives
# the message's current value.

load common

CHANGE_TIMEOUT=5

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    MD=$BATS_TEST_TMPDIR/src/Maildir
    UNIQ=1700000001.M1P1.plain
    FILE=$MD/cur/$UNIQ:2,S
}

# replace_with_headers LINES...: another program rewrites the message, as a
# mail client does: a new file renamed over the old one.
replace_with_headers() {
    { printf '%s\n' "$@"; cat "$FILE"; } >"$MD/tmp/new-version"
    mv "$MD/tmp/new-version" "$FILE"
}

absent() { [[ ! -e $1 ]]; }
present_is() { [[ -e $1 ]] && cmp -s "$1" <(printf '%s\n' "$2"); }

@test "a name absent from a message is looked up once, not on every access" {
    mount_mapifs "$MD" -d -o ro
    local m=$MNT/INBOX/$UNIQ
    grep -q . "$m/PidTagSubject"
    for _ in 1 2 3; do
        run cat "$m/PidTagReplyRecipientNames"
        assert_failure
        run cat "$m/PS_INTERNET_HEADERS/X-Case"
        assert_failure
    done
    # libfuse -d does not print names: no LOOKUP at all may reach the daemon
    local n
    n=$(grep -a -c "opcode: LOOKUP " "$MAPIFS_LOG")
    for _ in 1 2 3; do
        stat "$m/PidTagReplyRecipientNames" "$m/PS_INTERNET_HEADERS/X-Case" 2>/dev/null && fail "they exist"
    done
    assert_equal "$(grep -a -c "opcode: LOOKUP " "$MAPIFS_LOG")" "$n"
}

@test "a name that appears when another program rewrites the message is seen (read-only mount)" {
    mount_mapifs "$MD" -o ro
    local m=$MNT/INBOX/$UNIQ
    absent "$m/PidTagReplyRecipientNames"
    absent "$m/PS_INTERNET_HEADERS/X-Case"
    replace_with_headers 'Reply-To: Someone <someone@example.org>' 'X-Case: 7'
    wait_until $CHANGE_TIMEOUT present_is "$m/PidTagReplyRecipientNames" Someone \
        || fail "PidTagReplyRecipientNames still absent ${CHANGE_TIMEOUT}s after the rewrite"
    assert_file_is "$m/PS_INTERNET_HEADERS/X-Case" 7
}

@test "a name that appears when another program rewrites the message is seen (writable mount)" {
    mount_mapifs "$MD"
    local m=$MNT/INBOX/$UNIQ
    absent "$m/PS_INTERNET_HEADERS/X-Case"
    replace_with_headers 'X-Case: 8'
    wait_until $CHANGE_TIMEOUT present_is "$m/PS_INTERNET_HEADERS/X-Case" 8 \
        || fail "X-Case still absent ${CHANGE_TIMEOUT}s after the rewrite"
}

@test "a header written through the mount where none was can be read back at once" {
    mount_mapifs "$MD"
    local m=$MNT/INBOX/$UNIQ
    absent "$m/PS_INTERNET_HEADERS/X-Case"
    echo 9 >"$m/PS_INTERNET_HEADERS/X-Case"
    assert_file_is "$m/PS_INTERNET_HEADERS/X-Case" 9
    grep -q '^X-Case: 9' "$m/message.eml"
}

@test "a small property looked up, then changed by another program, reads as the new value" {
    mount_mapifs "$MD" -o ro
    local m=$MNT/INBOX/$UNIQ
    stat "$m/PidTagSubject" >/dev/null          # remembered with the lookup
    local old
    old=$(cat "$FILE" | sed -n 's/^Subject: //p')
    sed "s/^Subject: .*/Subject: Changed by another program/" "$FILE" >"$MD/tmp/v2"
    mv "$MD/tmp/v2" "$FILE"
    wait_until $CHANGE_TIMEOUT present_is "$m/PidTagSubject" "Changed by another program" \
        || fail "PidTagSubject still '$(cat "$m/PidTagSubject")' (was '$old')"
    assert_file_is "$m/PidTagNormalizedSubject" "Changed by another program"
}

@test "a folder listing gives each entry the inode number stat gives it, before and after lookup" {
    mount_mapifs "$MD"
    python3 - "$MNT" <<'PY'
import os, sys
root = sys.argv[1]
bad = []
for folder in (root, os.path.join(root, "INBOX")):
    listed = {e.name: e.inode() for e in os.scandir(folder)}   # before any lookup
    again = {e.name: e.inode() for e in os.scandir(folder)}
    for name, ino in listed.items():
        st = os.stat(os.path.join(folder, name))
        if st.st_ino != ino or again[name] != ino:
            bad.append((folder, name, ino, again[name], st.st_ino))
assert listed, "no entries"
sys.exit(print(bad) or 1 if bad else 0)
PY
}

@test "read-ahead never serves a message as it was before another program rewrote it" {
    mount_mapifs "$MD" -o ro
    local inbox=$MNT/INBOX third
    # a walk in listing order starts the read-ahead of the next messages
    mapfile -t names < <(ls "$inbox")
    cat "$inbox/${names[0]}/PidTagSubject" "$inbox/${names[1]}/PidTagSubject" >/dev/null
    third=$(sample_file "${names[2]}" "$MD")
    sed "s/^Subject: .*/Subject: Rewritten ahead of the walk/" "$third" >"$MD/tmp/v3"
    mv "$MD/tmp/v3" "$third"
    wait_until $CHANGE_TIMEOUT present_is "$inbox/${names[2]}/PidTagSubject" "Rewritten ahead of the walk" \
        || fail "the walk read '$(cat "$inbox/${names[2]}/PidTagSubject")'"
}
