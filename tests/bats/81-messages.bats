#!/usr/bin/env bats
# Write path (issue 3), whole messages: mkdir creates one, cp delivers one,
# writing message.eml replaces one, rmdir deletes, mv moves and renames, and
# PidTagMessageFlags and the Maildir flags follow each other both ways.

load common
load write_common

PLAIN=1700000001.M1P1.plain
ALT=1700000002.M2P1.alternative
ATT=1700000003.M3P1.attachments
ENC=1700000006.M6P1.encrypted
ARCHIVED=1704103200.M8P1.archived

setup() {
    setup_rw_mount
}

# ---------------------------------------------------------------------------
# new messages

@test "mkdir INBOX/name creates an unseen draft cur/name:2,D at once; it takes a From: first" {
    local u=1700000900.M90P1.draft f
    f=$MD/cur/$u:2,D
    run mkdir "$INBOX/$u"
    assert_success
    [[ -f $f ]] || fail "no $f right after mkdir (cur/: $(ls "$MD/cur" | tr '\n' ' '))"
    assert_backing_is $u "cur/$u:2,D"
    run wh check "$f"
    assert_success
    run wh header "$f" MIME-Version
    assert_output 1.0
    run wh header "$f" Message-ID
    assert_output --regexp '^<[^<>@ ]+@[^<> ]+>$'
    run wh date "$f"
    assert_success
    run wh structure "$f"
    assert_output text/plain
    run ls "$INBOX"
    assert_line $u
    [[ -d $INBOX/$u ]] || fail "$INBOX/$u is not a directory"
    assert_file_is "$INBOX/$u/PidTagMessageClass" IPM.Note
    # unseen, unsent (mfUnsent 0x8, no mfRead 0x1)
    assert_file_is "$INBOX/$u/PidTagMessageFlags" 8

    # no identity was given: the draft must get a From: before anything else
    assert_errno 'close EINVAL' write "$INBOX/$u/PidTagSubject" 'A new draft'
    run getfattr --absolute-names --only-values -n user.mapifs.error "$INBOX/$u"
    assert_output --partial 'no From: (RFC 5322 3.6.2); write PidTagSentRepresentingEmailAddress first'
    assert_output --partial 'key= and cert='
    expect_log_error 'no From:'
    echo ann@example.org >"$INBOX/$u/PidTagSentRepresentingEmailAddress"
    echo 'Ann Example' >"$INBOX/$u/PidTagSentRepresentingName"

    # fill it
    echo 'A new draft' >"$INBOX/$u/PidTagSubject"
    printf 'Hello Erin,\n\nthis was written through mapifs.\n' >"$INBOX/$u/PidTagBody"
    assert_op_ok mkdir "$INBOX/$u/recipients/0"
    echo erin@example.org >"$INBOX/$u/recipients/0/PidTagEmailAddress"
    echo 'Erin Example' >"$INBOX/$u/recipients/0/PidTagDisplayName"

    assert_backing_is $u "cur/$u:2,D"
    assert_header "$f" Subject 'A new draft'
    run wh addresses "$f" From
    assert_output "$(printf 'Ann Example\tann@example.org')"
    run wh addresses "$f" To
    assert_output "$(printf 'Erin Example\terin@example.org')"
    run wh text "$f"
    assert_output "$(printf 'Hello Erin,\n\nthis was written through mapifs.')"
    run wh check "$f"
    assert_success
    assert_same_bytes "$f" "$INBOX/$u/message.eml"
    # mblaze sees an unseen draft with its subject
    run --separate-stderr bash -c "mlist -D -s '$MD' | mscan -f '%s'"
    assert_output 'A new draft'
}

@test "cp x.eml INBOX/ twice delivers two messages to new/ under maildir(5) unique names" {
    local eml=$BATS_TEST_TMPDIR/x.eml host
    make_eml "$eml" 'Copied in'
    run cp "$eml" "$INBOX/"
    assert_success
    run cp "$eml" "$INBOX/"
    assert_success
    # maildir(5): time.MusecPpid.host, '/' and ':' of the host as \057 and \072
    host=$(hostname)
    host=${host//\//\\057}
    host=${host//:/\\072}
    local names=("$MD"/new/[0-9]*.M[0-9]*P[0-9]*."$host")
    [[ ${#names[@]} == 2 ]] || fail "new/ holds: $(ls "$MD/new")"
    local n u
    for n in "${names[@]}"; do
        u=${n##*/}
        [[ $u =~ ^[0-9]+\.M[0-9]+P[0-9]+\.(.*)$ && ${BASH_REMATCH[1]} == "$host" ]] ||
            fail "$u is not a maildir(5) unique name for host $host"
        assert_same_bytes "$eml" "$n"
        [[ -d $INBOX/$u ]] || fail "$INBOX/$u is not a message directory: $(ls -la "$INBOX")"
        assert_file_is "$INBOX/$u/PidTagSubject" 'Copied in'
        # delivered mail is not seen
        assert_file_is "$INBOX/$u/PidTagMessageFlags" 0
    done
    [[ ${names[0]##*/} != "${names[1]##*/}" ]] || fail "one name twice"
    run ls -A "$INBOX"
    refute_line x.eml
    run stat "$INBOX/x.eml"
    assert_failure
    run ls -A "$MD/tmp"
    assert_output ''
    # other programs read both: mblaze's mlist and mscan, and Python's mailbox
    run bash -c "mlist '$MD' | mscan -f '%s' 2>&1 | grep -c 'Copied in'"
    assert_output 2
    run python3 -c '
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], create=False)
print(sum(1 for m in md if m["Subject"] == "Copied in"))' "$MD"
    assert_output 2
}

@test "with a local identity, a composed message has its From: from the certificate at once" {
    unmount_mapifs
    mount_mapifs "$MD" --key "$PKI/bob.key" --cert "$PKI/bob.pem"
    local u=1700000901.M91P1.draft f
    f=$MD/cur/$u:2,D
    mkdir "$INBOX/$u"
    # the certificate says CN=Bob Example, emailAddress=bob@example.org
    run wh addresses "$f" From
    assert_output "$(printf 'Bob Example\tbob@example.org')"
    assert_op_ok write "$INBOX/$u/PidTagSubject" 'From Bob'
    assert_header "$f" Subject 'From Bob'
    assert_backing_is $u "cur/$u:2,D"
}

@test "cp x.eml into a tree of .eml files: x.eml, then a fresh unique name for the next copy" {
    unmount_mapifs
    local tree=$BATS_TEST_TMPDIR/tree eml=$BATS_TEST_TMPDIR/x.eml
    mkdir -p "$tree"
    make_eml "$eml" 'Into a tree'
    mount_mapifs "$tree"
    run cp "$eml" "$MNT/"
    assert_success
    run cp "$eml" "$MNT/"
    assert_success
    [[ -f $tree/x.eml ]] || fail "no x.eml in the tree: $(ls "$tree")"
    run find "$tree" -name '*.eml' ! -name x.eml -printf '%f\n'
    assert_output --regexp '^[0-9]+\.M[0-9]+P[0-9]+\..+\.eml$'
    local second=$output
    cmp "$eml" "$tree/$second" || fail "the second copy differs"
    run ls "$MNT"
    assert_line x
    assert_line "${second%.eml}"
}

@test "writing message.eml replaces the message (same name and flags)" {
    local other=$BATS_TEST_TMPDIR/other.eml
    make_eml "$other" 'Replaced entirely' replaced.1
    cp "$other" "$INBOX/$PLAIN/message.eml"
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    assert_same_bytes "$other" "$MD/cur/$PLAIN:2,S"
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'Replaced entirely'
    assert_same_bytes "$other" "$INBOX/$PLAIN/message.eml"
    run ls "$INBOX/$PLAIN/recipients"
    assert_output 0
    # and with a shell redirection, on a message in new/
    make_eml "$other" 'Replaced again' replaced.2
    cat "$other" >"$INBOX/$ATT/message.eml"
    assert_backing_is $ATT "new/$ATT"
    assert_same_bytes "$other" "$MD/new/$ATT"
    assert_file_is "$INBOX/$ATT/PidTagSubject" 'Replaced again'
    run ls -A "$INBOX/$ATT/attachments"
    assert_output ''
    run ls -A "$MD/tmp"
    assert_output ''
}

@test "message names with ':' or a leading '.' are refused (EINVAL), existing names give EEXIST" {
    local eml=$BATS_TEST_TMPDIR/x.eml
    make_eml "$eml" 'Bad name'
    tree_state "$MD" >"$BATS_TEST_TMPDIR/before"
    assert_errno 'mkdir EINVAL' mkdir "$INBOX/1700000901.M91P1.bad:2,S"
    assert_errno 'mkdir EINVAL' mkdir "$INBOX/.hidden"
    assert_errno 'mkdir EINVAL' mkdir "$MNT/Archive.2024/a:b"
    # a dot file is an editor's or a tool's, never mail to deliver
    assert_errno 'open EINVAL' write-file "$INBOX/.hidden.eml" "$eml"
    assert_errno 'mkdir EEXIST' mkdir "$INBOX/$PLAIN"
    assert_errno 'mkdir EEXIST' mkdir "$MNT/Archive.2024/$ARCHIVED"
    run -1 mkdir "$INBOX/$ALT"
    assert_output --partial 'File exists'
    tree_state "$MD" >"$BATS_TEST_TMPDIR/after"
    run diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
    assert_success
    run ls -A "$INBOX"
    assert_output "$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}")"
}

# ---------------------------------------------------------------------------
# delete, move, rename

@test "rmdir INBOX/<u> deletes the backing file" {
    run rmdir "$INBOX/$PLAIN"
    assert_success
    assert_equal "$(backing_count $PLAIN)" 0
    run ls -A "$INBOX"
    refute_line $PLAIN
    run stat "$INBOX/$PLAIN"
    assert_failure
    assert_op_ok rmdir "$INBOX/$ATT"
    [[ ! -e $MD/new/$ATT ]] || fail "new/$ATT still there"
    assert_op_ok rmdir "$MNT/Archive.2024/$ARCHIVED"
    run ls -A "$ARCH/cur" "$ARCH/new"
    refute_output --partial $ARCHIVED
    # the others are untouched
    run ls -A "$INBOX"
    assert_equal "$(wc -l <<<"$output")" 5
}

@test "mv INBOX/<u> Archive.2024/ moves the file, flags and cur/new kept" {
    local h1 h2
    h1=$(sha "$MD/cur/$PLAIN:2,S")
    h2=$(sha "$MD/new/$ATT")
    run mv "$INBOX/$PLAIN" "$MNT/Archive.2024/"
    assert_success
    assert_backing_is $PLAIN "cur/$PLAIN:2,S" "$ARCH"
    assert_equal "$(backing_count $PLAIN)" 0
    assert_equal "$(sha "$ARCH/cur/$PLAIN:2,S")" "$h1"
    run ls -A "$INBOX"
    refute_line $PLAIN
    run ls -A "$MNT/Archive.2024"
    assert_line $PLAIN
    assert_file_is "$MNT/Archive.2024/$PLAIN/PidTagSubject" 'Grüße aus Köln'
    assert_xattr_is "$MNT/Archive.2024/$PLAIN" user.mapifs.source ".Archive.2024/cur/$PLAIN:2,S"

    run mv "$INBOX/$ATT" "$MNT/Archive.2024/"
    assert_success
    assert_backing_is $ATT "new/$ATT" "$ARCH"
    assert_equal "$(sha "$ARCH/new/$ATT")" "$h2"

    # and back
    run mv "$MNT/Archive.2024/$ARCHIVED" "$INBOX/"
    assert_success
    assert_backing_is $ARCHIVED "cur/$ARCHIVED:2,RS"
    assert_file_is "$INBOX/$ARCHIVED/PidTagSubject" 'Happy new year'
}

@test "mv INBOX/<u> INBOX/newname renames the unique name, flags kept" {
    local new=1700000901.M91P1.renamed h
    h=$(sha "$MD/cur/$ALT:2,FS")
    run mv "$INBOX/$ALT" "$INBOX/$new"
    assert_success
    assert_backing_is $new "cur/$new:2,FS"
    assert_equal "$(backing_count $ALT)" 0
    assert_equal "$(sha "$MD/cur/$new:2,FS")" "$h"
    run ls -A "$INBOX"
    assert_line $new
    refute_line $ALT
    assert_file_is "$INBOX/$new/PidTagSubject" 'Re: Quarterly planning'
    assert_file_is "$INBOX/$new/PidTagFlagStatus" 2
}

@test "renaming property files or rows -> EPERM" {
    local m=$INBOX/$PLAIN
    tree_state "$MD" >"$BATS_TEST_TMPDIR/before"
    assert_errno 'rename EPERM' rename "$m/PidTagSubject" "$m/PidTagSubject.bak"
    assert_errno 'rename EPERM' rename "$m/PidTagSubject" "$m/PidTagBody"
    assert_errno 'rename EPERM' rename "$m/recipients/0/PidTagDisplayName" "$m/recipients/0/PidTagSmtpAddress"
    run -1 mv "$m/PidTagSubject" "$m/PidTagNormalizedSubject"
    assert_output --partial 'Operation not permitted'
    tree_state "$MD" >"$BATS_TEST_TMPDIR/after"
    run diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
    assert_success
    assert_file_is "$m/PidTagSubject" 'Grüße aus Köln'
}

# ---------------------------------------------------------------------------
# flags

@test "PidTagMessageFlags 0 drops S; 1 adds S and moves a new/ message to cur/" {
    local h
    h=$(wh digest "$MD/cur/$PLAIN:2,S")
    printf 0 >"$INBOX/$PLAIN/PidTagMessageFlags"
    assert_backing_is $PLAIN "cur/$PLAIN:2,"
    assert_file_is "$INBOX/$PLAIN/PidTagRead" false
    assert_equal "$(wh digest "$MD/cur/$PLAIN:2,")" "$h"

    printf 1 >"$INBOX/$ATT/PidTagMessageFlags"
    assert_backing_is $ATT "cur/$ATT:2,S"
    [[ ! -e $MD/new/$ATT ]] || fail "new/$ATT still there"
    assert_file_is "$INBOX/$ATT/PidTagRead" true
    run cat "$INBOX/$ATT/PidTagMessageFlags"
    (($(cat "$INBOX/$ATT/PidTagMessageFlags") & 1)) || fail "mfRead not set: $output"

    printf 1 >"$INBOX/$PLAIN/PidTagMessageFlags"
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
}

@test "PidTagMessageFlags mfUnsent (0x8) <-> D; PidTagFlagStatus 2 <-> F (oxcmail-mapping 7.2)" {
    printf 9 >"$INBOX/$PLAIN/PidTagMessageFlags"
    assert_backing_is $PLAIN "cur/$PLAIN:2,DS"
    printf 1 >"$INBOX/$PLAIN/PidTagMessageFlags"
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    printf 2 >"$INBOX/$PLAIN/PidTagFlagStatus"
    assert_backing_is $PLAIN "cur/$PLAIN:2,FS"
    : >"$INBOX/$ALT/PidTagFlagStatus"
    assert_backing_is $ALT "cur/$ALT:2,S"
}

@test "an external flag rename shows in PidTagMessageFlags and does not break an open write" {
    local m=$INBOX/$ENC
    assert_file_is "$m/PidTagRead" false
    ((($(cat "$m/PidTagMessageFlags") & 1) == 0)) || fail "mfRead set on an unread message"
    mv "$MD/cur/$ENC:2," "$MD/cur/$ENC:2,S"
    wait_until 5 eval '(($(cat "$m/PidTagMessageFlags") & 1))' \
        || fail "PidTagMessageFlags is $(cat "$m/PidTagMessageFlags") 5s after :2, -> :2,S"
    assert_file_is "$m/PidTagRead" true

    # a write open across a rename by another program
    run wh write-during "$INBOX/$PLAIN/PidTagSubject" 'Edited across a rename' \
        "mv '$MD/cur/$PLAIN:2,S' '$MD/cur/$PLAIN:2,FS'"
    assert_output ok
    assert_backing_is $PLAIN "cur/$PLAIN:2,FS"
    assert_header "$MD/cur/$PLAIN:2,FS" Subject 'Edited across a rename'
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'Edited across a rename'
    assert_file_is "$INBOX/$PLAIN/PidTagFlagStatus" 2
}
