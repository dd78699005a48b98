#!/usr/bin/env bats
# Issue 14, the Received path (design.md 9): received/N/ of every message
# object with a Received field, N = 0 for the first hop (the bottom-most
# field), with the files raw, from, by, via, with, id, for, date, delay and
# note (mapper/received.c).  The oracle is Python's email package
# (tests/bats/received.py): the same fields of the same files, read by
# email.message_from_binary_file and email.utils.parsedate_to_datetime, on
# the messages real MTAs wrote (the corpus) and on hand-made ones.

load common

RECEIVED_PY=$BATS_TEST_DIRNAME/received.py

# assert_file_is FILE TEXT: FILE holds TEXT and a newline
assert_file_is() {
    [[ -f $1 ]] || fail "$1: no such file"
    assert_equal "$(cat "$1"; echo .)" "$2"$'\n.'
}

make_handmade() {
    python3 "$RECEIVED_PY" make "$1" || fail "received.py make $1 failed"
}

@test "corpus: every hop of every message is what Python's email package reads" {
    require_corpus
    local md=$BATS_TEST_TMPDIR/corpus/Maildir
    run python3 "$RECEIVED_PY" corpus "$CORPUS_DIR" "$md"
    assert_success
    mount_mapifs "$md" -o ro
    run python3 "$RECEIVED_PY" check "$MNT/INBOX" "$md"
    echo "$output"
    assert_success
    # the corpus holds ~75 relayed messages, ~250 hops: a floor, so that a
    # mount that shows no received/ at all cannot pass
    [[ $output =~ checked\ ([0-9]+)\ messages,\ ([0-9]+)\ hops\ \(([0-9]+)\ dates ]] \
        || fail "no summary line"
    ((BASH_REMATCH[2] >= 200 && BASH_REMATCH[3] >= 200)) \
        || fail "only ${BASH_REMATCH[2]} hops and ${BASH_REMATCH[3]} dates checked"
    unmount_mapifs
}

@test "hand-made hops, LF and CRLF: Python's reading, hops that do not parse raw with a note" {
    local md=$BATS_TEST_TMPDIR/made/Maildir
    make_handmade "$md"
    mount_mapifs "$md"
    run python3 "$RECEIVED_PY" check "$MNT/INBOX" "$md"
    echo "$output"
    assert_success
    assert_output --partial "checked 7 messages, 30 hops"

    # the relay chain, by hand: hop 0 is the bottom-most field
    local m=$MNT/INBOX/1714000002.M2P1.chain
    run ls "$m"
    assert_line received
    run ls "$m/received"
    assert_output "$(printf '0\n1\n2\n3')"
    run ls "$m/received/3"
    assert_output "$(printf 'by\ndate\ndelay\nfor\nfrom\nid\nraw\nwith')"
    assert_file_is "$m/received/3/from" "mx.example.net (mx.example.net [198.51.100.7])"
    assert_file_is "$m/received/3/by" "mail.example.org (Postfix)"
    assert_file_is "$m/received/3/with" "ESMTPS"
    assert_file_is "$m/received/3/id" "4VTb1x2yZ3z9sRk"
    assert_file_is "$m/received/3/for" "<bob@example.org>"
    assert_file_is "$m/received/3/date" "2024-05-01T09:31:05Z"
    assert_file_is "$m/received/0/date" "2024-05-01T09:31:00Z"
    [[ ! -e $m/received/0/delay ]] || fail "hop 0 has a delay"
    # the Exchange hop's clock is behind: a negative delay, then back
    assert_file_is "$m/received/1/delay" "-117"
    assert_file_is "$m/received/2/delay" "118"
    assert_file_is "$m/received/3/delay" "4"
    assert_file_is "$m/received/1/via" "Frontend Transport"
    assert_file_is "$m/received/1/with" \
        "Microsoft SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)"
    # raw keeps the folding and the CRLF of the file
    cmp <(head -c "$(stat -c %s "$m/received/3/raw")" "$(sample_file 1714000002.M2P1.chain "$md")") \
        "$m/received/3/raw" || fail "raw is not the first field byte for byte"

    # keywords inside comments, quoted strings and angle addresses are none
    local t=$MNT/INBOX/1714000003.M3P1.tricky
    assert_file_is "$t/received/1/by" 'b.example ("with" quoted)'
    assert_file_is "$t/received/1/with" '"id for"'
    assert_file_is "$t/received/1/id" '<for.id@by.example>'
    assert_file_is "$t/received/1/for" '<x@example.org>, <y@example.org>, "z by" <z@example.org>'
    assert_file_is "$t/received/0/from" '[IPv6:2001:db8::1] (unknown [IPv6:2001:db8:0:0:1::5])'
    [[ ! -e $t/received/1/note ]] || fail "a well-formed hop has a note: $(cat "$t/received/1/note")"

    # hops that do not parse are there, raw, with a note
    local b=$MNT/INBOX/1714000005.M5P1.broken
    run ls "$b/received"
    assert_output "$(printf '%s\n' 0 1 2 3 4 5 6 7 8)"
    assert_file_is "$b/received/8/raw" "Received: this is not a received field at all"
    run ls "$b/received/8"
    assert_output "$(printf 'note\nraw')"
    run cat "$b/received/8/note"
    assert_output --partial "no ';'"
    run cat "$b/received/6/note"
    assert_output --partial "cannot be read"
    [[ ! -e $b/received/6/date ]] || fail "an unreadable date has a date file"
    # qmail's lone comment is well-formed: a date, no note
    assert_file_is "$b/received/5/date" "2024-05-01T09:29:00Z"
    [[ ! -e $b/received/5/note ]] || fail "qmail's hop has a note"

    # no Received field, no received/
    run ls "$MNT/INBOX/1714999999.M99P1.none"
    refute_line received
    [[ ! -e $MNT/INBOX/1714999999.M99P1.none/received ]] || fail "received/ without a Received field"
    unmount_mapifs
}

@test "received/ is read-only, the same under -o ro, and an edit leaves it right" {
    local md=$BATS_TEST_TMPDIR/ro/Maildir
    make_handmade "$md"
    local u=1714000001.M1P1.chain before
    mount_mapifs "$md"
    local m=$MNT/INBOX/$u
    before=$(cd "$m/received" && grep -r . | sort)
    run bash -c "echo x >'$m/received/0/from'"
    assert_failure
    assert_output --partial 'Operation not permitted'
    run bash -c "echo x >'$m/received/0/new'"
    assert_failure
    run mkdir "$m/received/9"
    assert_failure
    run rm -rf "$m/received/0"
    assert_failure
    run mv "$m/received/0/by" "$m/received/0/to"
    assert_failure
    # an edit rewrites the message: received/ is read again, unchanged
    echo 'A new subject' >"$m/PidTagSubject"
    assert_equal "$(cd "$m/received" && grep -r . | sort)" "$before"
    unmount_mapifs

    mount_mapifs "$md" -o ro
    m=$MNT/INBOX/$u
    assert_equal "$(cd "$m/received" && grep -r . | sort)" "$before"
    run bash -c "echo x >'$m/received/0/from'"
    assert_failure
    assert_output --partial 'Read-only file system'
    run python3 "$RECEIVED_PY" check "$MNT/INBOX" "$md"
    assert_success
    unmount_mapifs
}

@test "an embedded message has its own received/" {
    local md=$BATS_TEST_TMPDIR/nested/Maildir u=1714000600.M1P1.nested
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    python3 - "$md/cur/$u:2,S" <<'PY'
import sys, email.message
inner = email.message.EmailMessage()
inner["Received"] = "from a.example by b.example with SMTP id inner; Wed, 01 May 2024 09:30:00 +0000"
inner["From"] = "c@example.org"; inner["To"] = "d@example.org"; inner["Subject"] = "inner"
inner.set_content("the forwarded one\n")
outer = email.message.EmailMessage()
outer["From"] = "a@example.org"; outer["To"] = "b@example.org"; outer["Subject"] = "outer"
outer.set_content("see the forwarded message\n")
outer.add_attachment(inner)
open(sys.argv[1], "wb").write(bytes(outer))
PY
    mount_mapifs "$md" -o ro
    local m=$MNT/INBOX/$u
    [[ ! -e $m/received ]] || fail "the outer message has no Received field"
    assert_file_is "$m/attachments/0/PidTagAttachDataObject/received/0/id" "inner"
    assert_file_is "$m/attachments/0/PidTagAttachDataObject/received/0/date" "2024-05-01T09:30:00Z"
    unmount_mapifs
}
