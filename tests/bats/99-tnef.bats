#!/usr/bin/env bats
# TNEF (winmail.dat) in a mount (issue 12; MS-OXCMAIL 2.1.3.2.26, MS-OXTNEF,
# MS-OXRTFCP).  Fixtures are TNEF streams built by tnef.py as Outlook and
# Exchange write them; what the mount shows is checked against Debian's
# `tnef` (attachment names and bytes, the decompressed RTF body) and the
# values tnef.py put in (manifest.json).

load common

setup() {
    command -v tnef >/dev/null || missing_prerequisite "tnef (Debian package tnef)"
    MD=$BATS_TEST_TMPDIR/src/Maildir
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
    MADE=$BATS_TEST_TMPDIR/made
    python3 "$BATS_TEST_DIRNAME/tnef.py" make "$MADE"
}

# add NAME...: fixture NAME.eml as message NAME of the Maildir.
add() {
    local n
    for n in "$@"; do
        cp "$MADE/$n.eml" "$MD/cur/$n:2,S"
    done
}

# manifest FIXTURE EXPR: a value of manifest.json (Python expression on m).
manifest() {
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))[sys.argv[2]]; print(eval(sys.argv[3]))' \
        "$MADE/manifest.json" "$1.eml" "$2"
}

# winmail NAME: the fixture's TNEF part, decoded, in $BATS_TEST_TMPDIR/NAME.dat
winmail() {
    python3 "$BATS_TEST_DIRNAME/tnef.py" winmail "$MADE/$1.eml" "$BATS_TEST_TMPDIR/$1.dat"
}

# files_of_mount NAME: "sha256  name" of every file attachment (method 1)
# of message NAME, sorted.
files_of_mount() {
    local d=$MNT/INBOX/$1 a
    for a in "$d"/attachments/[0-9]*; do
        [[ $(cat "$a/PidTagAttachMethod") == 1 ]] || continue
        printf '%s  %s\n' "$(sha256sum <"$a/PidTagAttachDataBinary" | cut -d' ' -f1)" \
            "$(cat "$a/PidTagAttachLongFilename")"
    done | sort
}

# files_of_tnef NAME: the same for what `tnef` unpacks from its winmail.dat
# (names it writes in the stream's code page, cp1252, are read as such;
# objects, which tnef saves with their IID, are left out).
files_of_tnef() {
    local out=$BATS_TEST_TMPDIR/unpacked-$1
    winmail "$1"
    mkdir -p "$out"
    tnef -C "$out" -f "$BATS_TEST_TMPDIR/$1.dat" || fail "tnef cannot unpack $1.eml"
    python3 - "$out" "$MADE/manifest.json" "$1.eml" <<'PY'
import hashlib, json, os, sys
objects = {a["title"] for a in json.load(open(sys.argv[2]))[sys.argv[3]]["attachments"] if a["method"] == 5}
rows = []
for name in os.listdir(sys.argv[1].encode()):
    shown = name.decode("utf-8") if all(b < 0x80 for b in name) else name.decode("cp1252")
    if shown in objects:
        continue
    data = open(os.path.join(sys.argv[1].encode(), name), "rb").read()
    rows.append("%s  %s" % (hashlib.sha256(data).hexdigest(), shown))
print("\n".join(sorted(rows)))
PY
}

@test "a TNEF stream's attachments are attachment objects, as Debian's tnef unpacks them" {
    add matched keyless toplevel string8
    mount_mapifs "$MD" -o ro
    local n
    for n in matched keyless toplevel string8; do
        assert_equal "$(files_of_mount "$n")" "$(files_of_tnef "$n")"
        [[ -n $(files_of_mount "$n") ]] || fail "$n: no attachments"
        # winmail.dat itself is gone: decoded into the message (MS-OXCMAIL 2.1.3.2.26)
        run grep -l 'application/ms-tnef' "$MNT/INBOX/$n"/attachments/*/PidTagAttachMimeTag
        assert_failure
    done
    local d=$MNT/INBOX/matched
    run rows_of "$d/attachments"
    assert_output "$(printf '0\n1\n2\n3')"
    # the 8.3 title, dates and type the stream gives (MS-OXTNEF 2.1.3.4)
    assert_file_is "$d/attachments/0/PidTagAttachFilename" "$(manifest matched 'm["attachments"][0]["title"]')"
    assert_file_is "$d/attachments/0/PidTagAttachMimeTag" application/pdf
    assert_file_is "$d/attachments/0/PidTagCreationTime" "$(manifest matched 'm["attachments"][0]["created"]')"
    assert_file_is "$d/attachments/0/PidTagLastModificationTime" \
        "$(manifest matched 'm["attachments"][0]["modified"]')"
    assert_file_is "$d/attachments/2/PidTagAttachSize" 0
    # the embedded message is a message object (PidTagAttachDataObject)
    assert_file_is "$d/attachments/3/PidTagAttachMethod" 5
    assert_file_is "$d/attachments/3/PidTagAttachDataObject/PidTagSubject" Inner\ subject
    assert_file_is "$d/attachments/3/PidTagAttachDataObject/PidTagMessageClass" IPM.Note
    assert_file_is "$d/PidTagHasAttachments" true
}

@test "the stream's properties win over the MIME ones; body.rtf is tnef's RTF body" {
    add matched string8 toplevel
    mount_mapifs "$MD" -o ro
    local d=$MNT/INBOX/matched
    assert_file_is "$d/PidTagSubject" "$(manifest matched 'm["subject"]')"
    [[ $(cat "$d/PidTagSubject") != "$(manifest matched 'm["mime_subject"]')" ]] || fail "the MIME subject won"
    assert_file_is "$d/PidTagConversationTopic" "$(manifest matched 'm["props"]["0x0070001E"]')"
    assert_file_is "$d/PidTagImportance" "$(manifest matched 'm["props"]["0x00170003"]')"
    assert_file_is "$d/PSETID_Common/0x8580" "$(manifest matched 'm["props"]["PSETID_Common/0x8580"]')"
    assert_file_is "$d/PS_PUBLIC_STRINGS/x-tnef-test" \
        "$(manifest matched 'm["props"]["PS_PUBLIC_STRINGS/x-tnef-test"]')"
    assert_xattr_is "$d/PidTagTnefCorrelationKey" user.mapi.tag 0x007F0102
    # MS-OXRTFCP: the same RTF as `tnef --save-body` writes
    winmail matched
    mkdir "$BATS_TEST_TMPDIR/body"
    # tnef adds the extension of the body kind it saves
    (cd "$BATS_TEST_TMPDIR/body" && tnef --save-body=tnef-body --body-pref=R -f ../matched.dat) ||
        fail "tnef cannot save the body"
    assert_same_bytes "$d/body.rtf" "$BATS_TEST_TMPDIR/body/tnef-body.rtf"
    assert_equal "$(cat "$d/body.rtf")" "$(manifest matched 'm["rtf"]')"
    # attSubject and an old form's class (MS-OXTNEF attMessageClass)
    assert_file_is "$MNT/INBOX/string8/PidTagSubject" "$(manifest string8 'm["subject_attr"]')"
    assert_file_is "$MNT/INBOX/string8/PidTagMessageClass" IPM.Schedule.Meeting.Request
    # TNEF as the whole message
    assert_file_is "$MNT/INBOX/toplevel/PidTagSubject" "$(manifest toplevel 'm["subject"]')"
}

@test "a stream that is not the message's, or is broken, stays winmail.dat with its media type" {
    add mismatched badsum
    mount_mapifs "$MD" -o ro
    local n
    for n in mismatched badsum; do
        local d=$MNT/INBOX/$n
        winmail "$n"
        run rows_of "$d/attachments"
        assert_output 0
        assert_file_is "$d/attachments/0/PidTagAttachMimeTag" application/ms-tnef
        assert_file_is "$d/attachments/0/PidTagAttachLongFilename" winmail.dat
        assert_same_bytes "$d/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/$n.dat"
        assert_file_is "$d/PidTagSubject" "$(manifest "$n" 'm["mime_subject"]')"
    done
    # badsum: `tnef` refuses it too
    run tnef -t -f "$BATS_TEST_TMPDIR/badsum.dat"
    assert_failure
}

@test "edits keep the TNEF part byte for byte; what the stream holds is read-only" {
    add matched
    mount_mapifs "$MD"
    local d=$MNT/INBOX/matched f=$MD/cur/matched:2,S before
    winmail matched
    before=$(sha256sum <"$BATS_TEST_TMPDIR/matched.dat")
    echo 'Reviewed' >"$d/PS_INTERNET_HEADERS/X-Review"
    echo 2 >"$d/PidTagSensitivity"
    python3 "$BATS_TEST_DIRNAME/tnef.py" winmail "$f" "$BATS_TEST_TMPDIR/after.dat"
    assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/after.dat")" "$before"
    grep -q '^X-Review: Reviewed' "$f" || fail "the header edit is not in the message file"
    assert_file_is "$d/PidTagSensitivity" 2
    # read again from the file: still the stream's subject and attachments
    assert_file_is "$d/PidTagSubject" "$(manifest matched 'm["subject"]')"
    assert_equal "$(files_of_mount matched)" "$(files_of_tnef matched)"
    # the stream's values and attachments cannot change (EPERM, nothing lost)
    run bash -c "echo other >'$d/PidTagSubject'"
    assert_failure
    assert_output --partial 'Operation not permitted'
    run bash -c "echo x.pdf >'$d/attachments/0/PidTagAttachLongFilename'"
    assert_failure
    run rmdir "$d/attachments/1"
    assert_failure
    run bash -c "echo x >'$d/body.rtf'"
    assert_failure
    assert_file_is "$d/PidTagSubject" "$(manifest matched 'm["subject"]')"
    assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/after.dat")" "$before"
}
