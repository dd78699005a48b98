#!/usr/bin/env bats
# Write path (issue 3, design.md section 4): property edits through a
# writable mount end in a rebuilt, complete message in the Maildir; bad values,
# unknown names and derived properties are refused; nothing can be stripped.
# Stored files are checked with python3's email package (write_helper.py).

load common
load write_common

PLAIN=1700000001.M1P1.plain
ALT=1700000002.M2P1.alternative
ATT=1700000003.M3P1.attachments
NESTED=1700000007.M7P1.nested

setup() {
    setup_rw_mount
}

# ---------------------------------------------------------------------------
# property edits

@test "write PidTagSubject: stored Subject changes, same name/flags/dir, mount shows it" {
    local before
    before=$(backing $PLAIN)
    echo 'New subject' >"$INBOX/$PLAIN/PidTagSubject"
    assert_backing_is $PLAIN "cur/$PLAIN:2,S"
    assert_header "$MD/cur/$PLAIN:2,S" Subject 'New subject'
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'New subject'
    # the rest of the message is still there
    assert_header "$MD/cur/$PLAIN:2,S" Message-ID '<plain.1700000001@example.org>'
    run wh addresses "$MD/cur/$PLAIN:2,S" To Cc
    assert_output "$(printf '%s\t%s\n' 'Bob Example' bob@example.org 'Jürgen Müller' juergen@example.org 'Carol Example' carol@example.org)"
    run wh text "$MD/cur/$PLAIN:2,S"
    assert_output --partial 'Grüße aus Köln!'
    assert_output --partial 'an equals sign is encoded as = and a euro sign as €.'
    # message.eml and the sha256 xattr follow the stored file
    assert_same_bytes "$MD/cur/$PLAIN:2,S" "$INBOX/$PLAIN/message.eml"
    assert_xattr_is "$INBOX/$PLAIN" user.mapifs.sha256 "$(sha "$MD/cur/$PLAIN:2,S")"
    # a message in new/ stays in new/
    echo 'Report, edited' >"$INBOX/$ATT/PidTagSubject"
    assert_backing_is $ATT "new/$ATT"
    assert_header "$MD/new/$ATT" Subject 'Report, edited'
    assert_file_is "$INBOX/$ATT/PidTagSubject" 'Report, edited'
}

@test "write PidTagSubject with non-ASCII text and a trailing CRLF" {
    printf 'Über café – 東京\r\n' >"$INBOX/$PLAIN/PidTagSubject"
    assert_header "$MD/cur/$PLAIN:2,S" Subject 'Über café – 東京'
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'Über café – 東京'
}

@test "PidTagImportance 2/0/1 -> Importance High/Low/Normal" {
    local f=$MD/cur/$PLAIN:2,S
    assert_no_header "$f" Importance
    printf 2 >"$INBOX/$PLAIN/PidTagImportance"
    assert_header_ci "$f" Importance High
    assert_file_is "$INBOX/$PLAIN/PidTagImportance" 2
    printf 0 >"$INBOX/$PLAIN/PidTagImportance"
    assert_header_ci "$f" Importance Low
    assert_file_is "$INBOX/$PLAIN/PidTagImportance" 0
    echo 1 >"$INBOX/$PLAIN/PidTagImportance"
    assert_file_is "$INBOX/$PLAIN/PidTagImportance" 1
    # normal importance: "Normal" or no field at all
    run wh header "$f" Importance
    if ((status == 0)); then
        [[ ${output,,} == normal ]] || fail "Importance is '$output' after writing 1"
    fi
    assert_header "$f" Subject 'Grüße aus Köln'
}

@test "PidTagBody edit replaces the text of a plain message" {
    printf 'Line one\nLine two, with ü\n' >"$INBOX/$PLAIN/PidTagBody"
    run wh text "$MD/cur/$PLAIN:2,S"
    assert_success
    assert_output "$(printf 'Line one\nLine two, with ü')"
    run wh structure "$MD/cur/$PLAIN:2,S"
    assert_output text/plain
    run cat "$INBOX/$PLAIN/PidTagBody"
    assert_output "$(printf 'Line one\nLine two, with ü')"
}

# ---------------------------------------------------------------------------
# recipients

@test "recipients/0: address, display name and type (-> Cc) edits" {
    local f=$MD/cur/$PLAIN:2,S r=$INBOX/$PLAIN/recipients/0
    echo bob@example.net >"$r/PidTagEmailAddress"
    run wh addresses "$f" To
    assert_line --index 0 "$(printf 'Bob Example\tbob@example.net')"
    refute_output --partial 'bob@example.org'
    assert_file_is "$r/PidTagEmailAddress" bob@example.net

    echo 'Bob B' >"$r/PidTagDisplayName"
    run wh addresses "$f" To
    assert_line --index 0 "$(printf 'Bob B\tbob@example.net')"
    assert_line --index 1 "$(printf 'Jürgen Müller\tjuergen@example.org')"

    printf 2 >"$r/PidTagRecipientType"
    run wh addresses "$f" To
    assert_output "$(printf 'Jürgen Müller\tjuergen@example.org')"
    run wh addresses "$f" Cc
    assert_line "$(printf 'Bob B\tbob@example.net')"
    assert_line "$(printf 'Carol Example\tcarol@example.org')"
    assert_equal "$(wh count "$f" To)" 1
    assert_equal "$(wh count "$f" Cc)" 1
}

@test "mkdir recipients/N adds an address-less To row (empty group), writes fill it, rmdir removes it" {
    local f=$MD/cur/$ALT:2,FS r=$INBOX/$ALT/recipients
    run ls "$r"
    assert_output 0
    assert_op_ok mkdir "$r/1"
    run ls "$r"
    assert_output "$(printf '0\n1')"
    assert_file_is "$r/1/PidTagRecipientType" 1
    run wh addresses "$f" To
    assert_output "$(printf 'Bob Example\tbob@example.org\nGROUP\tundisclosed-recipients\t0')"
    echo dave@example.org >"$r/1/PidTagEmailAddress"
    echo 'Dave Example' >"$r/1/PidTagDisplayName"
    run wh addresses "$f" To
    assert_output "$(printf '%s\t%s\n' 'Bob Example' bob@example.org 'Dave Example' dave@example.org)"
    assert_file_is "$r/1/PidTagSmtpAddress" dave@example.org
    # PidTagRecipientType moves it to Cc
    printf 2 >"$r/1/PidTagRecipientType"
    run wh addresses "$f" To
    assert_output "$(printf 'Bob Example\tbob@example.org')"
    run wh addresses "$f" Cc
    assert_output "$(printf 'Dave Example\tdave@example.org')"
    # and away again
    assert_op_ok rmdir "$r/1"
    run wh addresses "$f" To Cc
    assert_output "$(printf 'Bob Example\tbob@example.org')"
    assert_equal "$(wh count "$f" Cc)" 0
    run ls "$r"
    assert_output 0
    assert_header "$f" Subject 'Re: Quarterly planning'
}

@test "a row added by mkdir after Cc rows is a Cc row, so recipients/N keeps naming it" {
    # rows are numbered in header order (To before Cc here); a To row made
    # after Cc rows would come back from the file with another number
    local f=$MD/cur/$PLAIN:2,S r=$INBOX/$PLAIN/recipients
    assert_op_ok mkdir "$r/3"
    assert_file_is "$r/3/PidTagRecipientType" 2
    echo erin@example.org >"$r/3/PidTagEmailAddress"
    assert_file_is "$r/3/PidTagSmtpAddress" erin@example.org
    run wh addresses "$f" Cc
    assert_line "$(printf 'Carol Example\tcarol@example.org')"
}

@test "rmdir recipients/1 removes that recipient from the header" {
    local f=$MD/cur/$PLAIN:2,S
    assert_op_ok rmdir "$INBOX/$PLAIN/recipients/1"
    run wh addresses "$f" To Cc
    assert_output "$(printf '%s\t%s\n' 'Bob Example' bob@example.org 'Carol Example' carol@example.org)"
}

@test "mkdir recipients/N with the wrong N -> EINVAL, nothing changes" {
    local h
    h=$(sha "$MD/cur/$PLAIN:2,S")
    assert_errno 'mkdir EINVAL' mkdir "$INBOX/$PLAIN/recipients/7"
    assert_errno 'mkdir EINVAL' mkdir "$INBOX/$PLAIN/recipients/x"
    assert_equal "$(sha "$MD/cur/$PLAIN:2,S")" "$h"
    run ls "$INBOX/$PLAIN/recipients"
    assert_output "$(printf '0\n1\n2')"
}

# ---------------------------------------------------------------------------
# dates

@test "PidTagClientSubmitTime: ISO Z, ISO with offset and RFC 5322 dates set Date" {
    local f=$MD/cur/$PLAIN:2,S p=$INBOX/$PLAIN/PidTagClientSubmitTime
    echo 2024-05-01T09:30:00Z >"$p"
    run wh date "$f"
    assert_output 2024-05-01T09:30:00Z
    assert_file_is "$p" 2024-05-01T09:30:00Z

    echo '2024-05-01T11:45:10+02:00' >"$p"
    run wh date "$f"
    assert_output 2024-05-01T09:45:10Z
    assert_file_is "$p" 2024-05-01T09:45:10Z

    echo 'Thu, 02 May 2024 08:00:00 -0500' >"$p"
    run wh date "$f"
    assert_output 2024-05-02T13:00:00Z
    assert_file_is "$p" 2024-05-02T13:00:00Z
    assert_equal "$(wh count "$f" Date)" 1
}

# ---------------------------------------------------------------------------
# named properties: PS_INTERNET_HEADERS

@test "PS_INTERNET_HEADERS: a new file adds a header, writing changes it, truncating removes it" {
    local f=$MD/cur/$ALT:2,FS h=$INBOX/$ALT/PS_INTERNET_HEADERS
    echo v >"$h/X-Foo"
    assert_header "$f" X-Foo v
    assert_file_is "$h/X-Foo" v
    run ls "$h"
    assert_line X-Foo

    echo 'other mailer 2.0' >"$h/X-Mailer"
    assert_header "$f" X-Mailer 'other mailer 2.0'
    assert_file_is "$h/X-Mailer" 'other mailer 2.0'

    : >"$h/X-Mailer"
    assert_no_header "$f" X-Mailer
    assert_header "$f" X-Foo v
    run ls "$h"
    refute_output --partial X-Mailer

    truncate -s0 "$h/X-Foo"
    assert_no_header "$f" X-Foo
    run ls "$h"
    refute_output --partial X-Foo
    # the rest is intact
    assert_header "$f" Subject 'Re: Quarterly planning'
    run wh structure "$f"
    assert_output "$(printf 'multipart/alternative\n  text/plain\n  text/html')"
}

@test "truncating a property removes it (PidTagImportance -> no Importance field)" {
    local f=$MD/cur/$ALT:2,FS
    assert_header_ci "$f" Importance high
    : >"$INBOX/$ALT/PidTagImportance"
    run wh header "$f" Importance
    if ((status == 0)); then
        [[ ${output,,} == normal ]] || fail "Importance still '$output' after truncating PidTagImportance"
    fi
    assert_header "$f" Subject 'Re: Quarterly planning'
}

# ---------------------------------------------------------------------------
# invalid values: EINVAL at write (when the bytes can already be judged:
# issue 13, a shell's echo reports only that) or at close, file
# byte-identical, one log line

# bad_value MSG PROP VALUE GOOD [STAGE]: STAGE (write or close) fails with
# EINVAL, nothing changes; then the good value GOOD is taken (so the
# refusal was about the value).
bad_value() {
    local u=$1 prop=$2 value=$3 good=$4 stage=${5:-write} f h view
    f=$(backing "$u")
    h=$(sha "$f")
    view=$(cat "$INBOX/$u/$prop" 2>/dev/null || true)
    log_mark
    assert_errno "$stage EINVAL" write "$INBOX/$u/$prop" "$value"
    assert_equal "$(sha "$f")" "$h"
    assert_equal "$(backing "$u")" "$f"
    assert_log_line "${prop##*/}"
    assert_equal "$(cat "$INBOX/$u/$prop" 2>/dev/null || true)" "$view"
    daemon_alive
    assert_op_ok write "$INBOX/$u/$prop" "$good"
    [[ $(sha "$(backing "$u")") != "$h" ]] || fail "the good value '$good' did not change the file"
    assert_file_is "$INBOX/$u/$prop" "$good"
}

@test "text in PidTagImportance -> EINVAL at write, file unchanged, one log line" {
    bad_value $PLAIN PidTagImportance 'very high' 2
}

@test "a newline inside PidTagSubject -> EINVAL at write, file unchanged, one log line" {
    bad_value $PLAIN PidTagSubject $'a\nb\n' 'a b'
}

@test "bad date 'yesterday' in PidTagClientSubmitTime -> EINVAL at close, file unchanged, one log line" {
    # no line break yet: a date is judged when the writer is done
    bad_value $PLAIN PidTagClientSubmitTime yesterday 2024-05-01T09:30:00Z close
}

@test "'maybe' in a PtypBoolean -> EINVAL at write, file unchanged, one log line" {
    run xattr "$INBOX/$ALT/PidTagReadReceiptRequested" user.mapi.type
    assert_output PtypBoolean
    local f h
    f=$(backing "$ALT")
    h=$(sha "$f")
    log_mark
    assert_errno 'write EINVAL' write "$INBOX/$ALT/PidTagReadReceiptRequested" maybe
    assert_equal "$(sha "$f")" "$h"
    assert_log_line PidTagReadReceiptRequested
    assert_file_is "$INBOX/$ALT/PidTagReadReceiptRequested" true
    # false is taken: MS-OXCMAIL 2.1.3.1.6 writes no Disposition-Notification-To
    # then, and a FALSE flag reads back as no property at all
    assert_op_ok write "$INBOX/$ALT/PidTagReadReceiptRequested" false
    assert_no_header "$(backing "$ALT")" Disposition-Notification-To
    [[ ! -e $INBOX/$ALT/PidTagReadReceiptRequested ]] || fail "PidTagReadReceiptRequested still there"
}

@test "a value refused with dd conv=notrunc is refused too; the next good write works" {
    local f=$MD/cur/$PLAIN:2,S h
    h=$(sha "$f")
    assert_errno 'write EINVAL' write-notrunc "$INBOX/$PLAIN/PidTagImportance" 'x'
    assert_equal "$(sha "$f")" "$h"
    printf 2 >"$INBOX/$PLAIN/PidTagImportance"
    assert_header_ci "$f" Importance High
}

# ---------------------------------------------------------------------------
# unknown names, read-only properties, unlink

@test "creating an unknown property name -> EINVAL at open, nothing changes" {
    local f=$MD/cur/$PLAIN:2,S h
    h=$(sha "$f")
    assert_errno 'open EINVAL' write "$INBOX/$PLAIN/PidTagNoSuchThing" x
    assert_errno 'open EINVAL' create "$INBOX/$PLAIN/NoSuchThing.txt"
    assert_errno 'open EINVAL' create "$INBOX/$PLAIN/recipients/0/PidTagNoSuchThing"
    assert_equal "$(sha "$f")" "$h"
    run ls "$INBOX/$PLAIN"
    refute_line PidTagNoSuchThing
    refute_line NoSuchThing.txt
}

@test "read-only (derived) properties -> EPERM at open for writing" {
    local f=$MD/cur/$PLAIN:2,S h p
    h=$(sha "$f")
    for p in PidTagMessageClass PidTagTransportMessageHeaders PidTagHasAttachments \
        PidTagDisplayTo PidTagSenderSearchKey recipients/0/PidTagSearchKey; do
        [[ -e $INBOX/$PLAIN/$p ]] || fail "$p is not shown"
        assert_errno 'open EPERM' open-write "$INBOX/$PLAIN/$p"
        assert_errno 'open EPERM' write "$INBOX/$PLAIN/$p" x
    done
    assert_equal "$(sha "$f")" "$h"
    # message.eml of an embedded message
    f=$MD/cur/$NESTED:2,S
    h=$(sha "$f")
    p=$INBOX/$NESTED/attachments/0/PidTagAttachDataObject/message.eml
    [[ -f $p ]] || fail "$p is not shown"
    assert_errno 'open EPERM' write "$p" "$(cat "$MD/cur/$PLAIN:2,S")"
    assert_errno 'open EPERM' write "${p%/message.eml}/PidTagSubject" x
    assert_equal "$(sha "$f")" "$h"
}

@test "rm of a property file -> EPERM; the property stays" {
    local f=$MD/cur/$PLAIN:2,S h
    h=$(sha "$f")
    assert_errno 'unlink EPERM' unlink "$INBOX/$PLAIN/PidTagSubject"
    run -1 rm "$INBOX/$PLAIN/PidTagSubject"
    assert_output --partial 'Operation not permitted'
    run -1 rm -f "$INBOX/$PLAIN/recipients/0/PidTagEmailAddress"
    assert_output --partial 'Operation not permitted'
    assert_file_is "$INBOX/$PLAIN/PidTagSubject" 'Grüße aus Köln'
    assert_equal "$(sha "$f")" "$h"
}

@test "rm -r on a message fails and strips nothing" {
    local u f h
    for u in $PLAIN $ATT $NESTED; do
        f=$(backing $u)
        h=$(sha "$f")
        run ! rm -rf "$INBOX/$u"
        assert_equal "$(backing $u)" "$f"
        assert_equal "$(sha "$f")" "$h"
        [[ -d $INBOX/$u ]] || fail "$INBOX/$u is gone"
        assert_same_bytes "$f" "$INBOX/$u/message.eml"
    done
    run ls "$INBOX/$PLAIN/recipients"
    assert_output "$(printf '0\n1\n2')"
    run rows_of "$INBOX/$ATT/attachments"
    assert_output "$(printf '0\n1\n2')"
    run names_in "$INBOX/$ATT/attachments"
    assert_output "$(printf '%s\n' 'Straße.png' notes.txt 'übersicht.pdf' | LC_ALL=C sort)"
}

# ---------------------------------------------------------------------------
# attachments

@test "mkdir attachments/0 on a single-part message adds an attachment (becomes multipart/mixed)" {
    local f=$MD/cur/$PLAIN:2,S a=$INBOX/$PLAIN/attachments/0 pdf=$BATS_TEST_TMPDIR/report.pdf
    head -c 3000 /dev/urandom >"$pdf"
    printf '%%PDF-1.4\r\n\0\377' >>"$pdf"
    assert_op_ok mkdir "$a"
    cp "$pdf" "$a/PidTagAttachDataBinary"
    echo report.pdf >"$a/PidTagAttachLongFilename"
    echo application/pdf >"$a/PidTagAttachMimeTag"
    run wh structure "$f"
    assert_line --index 0 multipart/mixed
    assert_line '  text/plain'
    assert_line '  application/pdf'
    run wh parts "$f"
    assert_line --regexp "^application/pdf	[a-z]*	report\.pdf	$(sha "$pdf")\$"
    wh attachment "$f" report.pdf >"$BATS_TEST_TMPDIR/got"
    assert_same_bytes "$pdf" "$BATS_TEST_TMPDIR/got"
    run wh text "$f"
    assert_output --partial 'Grüße aus Köln!'
    assert_file_is "$INBOX/$PLAIN/PidTagHasAttachments" true
    assert_same_bytes "$pdf" "$a/PidTagAttachDataBinary"
    assert_header "$f" Subject 'Grüße aus Köln'
}

@test "mkdir attachments/3 on a multipart message adds a 4th part; rmdir attachments/1 removes the picture" {
    local f=$MD/new/$ATT a=$INBOX/$ATT/attachments data=$BATS_TEST_TMPDIR/data.bin
    head -c 777 /dev/urandom >"$data"
    assert_op_ok mkdir "$a/3"
    cp "$data" "$a/3/PidTagAttachDataBinary"
    echo 'extra data.bin' >"$a/3/PidTagAttachLongFilename"
    echo application/octet-stream >"$a/3/PidTagAttachMimeTag"
    wh attachment "$f" 'extra data.bin' >"$BATS_TEST_TMPDIR/got" || fail "no part 'extra data.bin'"
    assert_same_bytes "$data" "$BATS_TEST_TMPDIR/got"
    run wh parts "$f"
    assert_line --regexp "^application/octet-stream	[a-z]*	extra data\.bin	"
    assert_line --regexp "^application/pdf	attachment	übersicht\.pdf	"
    assert_line --regexp "^image/png	.*	Straße\.png	"

    assert_op_ok rmdir "$a/1"
    run wh parts "$f"
    refute_output --partial 'Straße.png'
    refute_output --partial 'image/png'
    assert_line --regexp "^application/pdf	attachment	übersicht\.pdf	"
    assert_line --regexp "^text/plain	attachment	notes\.txt	"
    assert_line --regexp "^application/octet-stream	[a-z]*	extra data\.bin	"
    assert_equal "$(rows_of "$a" | wc -l)" 3
    # the file names follow: the picture's is gone, the new one's is there
    run names_in "$a"
    assert_output "$(printf '%s\n' 'extra data.bin' notes.txt 'übersicht.pdf' | LC_ALL=C sort)"
    assert_backing_is $ATT "new/$ATT"
}

# ---------------------------------------------------------------------------
# reading and writing back

@test "writing back what was read changes no value" {
    local u p files=(
        "$PLAIN/PidTagSubject" "$PLAIN/PidTagBody" "$PLAIN/PidTagImportance"
        "$PLAIN/PidTagClientSubmitTime" "$PLAIN/recipients/1/PidTagDisplayName"
        "$PLAIN/recipients/1/PidTagEmailAddress" "$ALT/PS_INTERNET_HEADERS/X-Mailer"
        "$ALT/PidTagHtml" "$ATT/attachments/0/PidTagAttachDataBinary"
        "$ATT/attachments/1/PidTagAttachLongFilename"
    )
    mkdir "$BATS_TEST_TMPDIR/read"
    for p in "${files[@]}"; do
        [[ -f $INBOX/$p ]] || fail "$INBOX/$p is not shown"
        cat "$INBOX/$p" >"$BATS_TEST_TMPDIR/read/${p//\//_}"
    done
    for u in $PLAIN $ALT $ATT; do
        wh digest "$(backing $u)" >"$BATS_TEST_TMPDIR/digest.$u.before"
    done
    for p in "${files[@]}"; do
        cat "$BATS_TEST_TMPDIR/read/${p//\//_}" >"$INBOX/$p"
    done
    for p in "${files[@]}"; do
        cmp "$BATS_TEST_TMPDIR/read/${p//\//_}" "$INBOX/$p" || fail "$p reads differently after writing it back"
    done
    for u in $PLAIN $ALT $ATT; do
        wh digest "$(backing $u)" >"$BATS_TEST_TMPDIR/digest.$u.after"
        run diff "$BATS_TEST_TMPDIR/digest.$u.before" "$BATS_TEST_TMPDIR/digest.$u.after"
        assert_success
    done
}
