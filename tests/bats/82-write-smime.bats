#!/usr/bin/env bats
# Write path (issue 3) on S/MIME messages: outer properties can be edited and
# the signature still verifies / the message still decrypts (openssl);
# properties derived from protected content are read-only; the stored file is
# rebuilt per MS-OXOSMIME 3.1.5.1.4 (clear-signed) and 3.1.5.2.4 (opaque,
# encrypted); the single attachment can be replaced by a new well-formed
# entity of the same kind, never by garbage.

load common
load write_common

SIGNED=1700000004.M4P1.signed
OPAQUE=1700000005.M5P1.opaque
ENC=1700000006.M6P1.encrypted

setup() {
    setup_rw_mount
    SIGNED_F=$MD/cur/$SIGNED:2,S
    OPAQUE_F=$MD/cur/$OPAQUE:2,S
    ENC_F=$MD/cur/$ENC:2,
    ORIG=$BATS_TEST_TMPDIR/orig
    mkdir -p "$ORIG"
    cp -p "$SIGNED_F" "$ORIG/signed"
    cp -p "$OPAQUE_F" "$ORIG/opaque"
    cp -p "$ENC_F" "$ORIG/encrypted"
}

# verify FILE OUT: openssl smime -verify against the test CA; content to OUT.
verify() {
    openssl smime -verify -CAfile "$PKI/ca.pem" -in "$1" -out "$2" 2>"$BATS_TEST_TMPDIR/verify.err" \
        || fail "openssl smime -verify $1 failed: $(cat "$BATS_TEST_TMPDIR/verify.err")"
}

decrypt() { # decrypt FILE OUT
    openssl smime -decrypt -inkey "$PKI/bob.key" -recip "$PKI/bob.pem" -in "$1" -out "$2" \
        2>"$BATS_TEST_TMPDIR/decrypt.err" \
        || fail "openssl smime -decrypt $1 failed: $(cat "$BATS_TEST_TMPDIR/decrypt.err")"
}

# same_signed_content ORIGFILE NEWFILE: both verify, to the same content.
same_signed_content() {
    verify "$1" "$BATS_TEST_TMPDIR/content.orig"
    verify "$2" "$BATS_TEST_TMPDIR/content.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/content.orig" "$BATS_TEST_TMPDIR/content.new"
}

# assert_clear_signed_shape ORIG NEW: 3.1.5.1.4: one Content-Type at the top,
# multipart/signed with the same boundary, the entity's bytes unchanged.
assert_clear_signed_shape() {
    local orig=$1 new=$2
    assert_equal "$(wh count "$new" Content-Type)" 1
    run wh structure "$new"
    assert_output "$(wh structure "$orig")"
    python3 - "$orig" "$new" <<'EOF' || fail "top Content-Type of $new differs from $orig"
import email, email.policy, sys
a, b = (email.message_from_binary_file(open(p, "rb"), policy=email.policy.default) for p in sys.argv[1:])
assert b.get_content_type() == "multipart/signed", b.get_content_type()
for p in ("boundary", "protocol", "micalg"):
    assert a.get_param(p) == b.get_param(p), (p, a.get_param(p), b.get_param(p))
EOF
    wh body "$orig" >"$BATS_TEST_TMPDIR/body.orig"
    wh body "$new" >"$BATS_TEST_TMPDIR/body.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/body.orig" "$BATS_TEST_TMPDIR/body.new"
}

# assert_opaque_shape ORIG NEW: 3.1.5.2.4: the Content-Type from
# PS_INTERNET_HEADERS/Content-Type, Content-Disposition attachment with the
# file name, base64, and the same decoded CMS bytes.
assert_opaque_shape() {
    local orig=$1 new=$2
    assert_equal "$(wh count "$new" Content-Type)" 1
    assert_header "$new" Content-Type "$(wh header "$orig" Content-Type)"
    assert_header_ci "$new" Content-Transfer-Encoding base64
    python3 - "$new" <<'EOF' || fail "Content-Disposition of $new is not 'attachment; filename=smime.p7m'"
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
assert m.get_content_disposition() == "attachment", m.get("Content-Disposition")
assert m.get_param("filename", header="content-disposition") == "smime.p7m", m.get("Content-Disposition")
EOF
    wh payload "$orig" >"$BATS_TEST_TMPDIR/cms.orig"
    wh payload "$new" >"$BATS_TEST_TMPDIR/cms.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/cms.orig" "$BATS_TEST_TMPDIR/cms.new"
}

# ---------------------------------------------------------------------------
# edits of outer properties

@test "clear-signed: Subject, Importance and recipient edits keep the signature valid" {
    local m=$INBOX/$SIGNED
    echo 'Signed, new subject' >"$m/PidTagSubject"
    printf 2 >"$m/PidTagImportance"
    echo bob@example.net >"$m/recipients/0/PidTagEmailAddress"
    assert_backing_is $SIGNED "cur/$SIGNED:2,S"
    assert_header "$SIGNED_F" Subject 'Signed, new subject'
    assert_header_ci "$SIGNED_F" Importance High
    run wh addresses "$SIGNED_F" To
    assert_output "$(printf 'Bob Example\tbob@example.net')"
    assert_header "$SIGNED_F" Message-ID '<signed.1700000004@example.org>'
    same_signed_content "$ORIG/signed" "$SIGNED_F"
}

@test "clear-signed: the stored file is rebuilt per MS-OXOSMIME 3.1.5.1.4" {
    echo 'Shape check' >"$INBOX/$SIGNED/PidTagSubject"
    assert_header "$SIGNED_F" Subject 'Shape check'
    assert_clear_signed_shape "$ORIG/signed" "$SIGNED_F"
    assert_header "$SIGNED_F" From 'Alice Example <alice@example.org>'
    assert_header "$SIGNED_F" Date "$(wh header "$ORIG/signed" Date)"
}

@test "opaque-signed: Subject, Importance and recipient edits keep the signature valid" {
    local m=$INBOX/$OPAQUE
    echo 'Opaque, new subject' >"$m/PidTagSubject"
    printf 0 >"$m/PidTagImportance"
    echo 'Robert Example' >"$m/recipients/0/PidTagDisplayName"
    assert_backing_is $OPAQUE "cur/$OPAQUE:2,S"
    assert_header "$OPAQUE_F" Subject 'Opaque, new subject'
    assert_header_ci "$OPAQUE_F" Importance Low
    run wh addresses "$OPAQUE_F" To
    assert_output "$(printf 'Robert Example\tbob@example.org')"
    same_signed_content "$ORIG/opaque" "$OPAQUE_F"
}

@test "opaque-signed: the stored file is rebuilt per MS-OXOSMIME 3.1.5.2.4" {
    echo 'Shape check' >"$INBOX/$OPAQUE/PidTagSubject"
    assert_header "$OPAQUE_F" Subject 'Shape check'
    assert_opaque_shape "$ORIG/opaque" "$OPAQUE_F"
    # the top Content-Type is the named property's value
    assert_header "$OPAQUE_F" Content-Type \
        "$(wh decode-header Content-Type "$(cat "$INBOX/$OPAQUE/PS_INTERNET_HEADERS/Content-Type")")"
}

@test "encrypted: a Subject edit keeps it decryptable to the same content; shape per 3.1.5.2.4" {
    echo 'Encrypted, new subject' >"$INBOX/$ENC/PidTagSubject"
    echo 'Bob B' >"$INBOX/$ENC/recipients/0/PidTagDisplayName"
    assert_backing_is $ENC "cur/$ENC:2,"
    assert_header "$ENC_F" Subject 'Encrypted, new subject'
    run wh addresses "$ENC_F" To
    assert_output "$(printf 'Bob B\tbob@example.org')"
    decrypt "$ORIG/encrypted" "$BATS_TEST_TMPDIR/plain.orig"
    decrypt "$ENC_F" "$BATS_TEST_TMPDIR/plain.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/plain.orig" "$BATS_TEST_TMPDIR/plain.new"
    assert_opaque_shape "$ORIG/encrypted" "$ENC_F"
}

# ---------------------------------------------------------------------------
# protected properties

@test "clear-signed: body, html and attachment properties are read-only (EPERM)" {
    local p a=$INBOX/$SIGNED/attachments/0
    for p in "$INBOX/$SIGNED/PidTagBody" "$INBOX/$SIGNED/PidTagHtml" \
        "$a/PidTagAttachMimeTag" "$a/PidTagAttachLongFilename" "$a/PidTagAttachFilename" \
        "$a/PidTagAttachMethod" "$a/PidTagDisplayName" "$a/PidTagAttachExtension"; do
        assert_errno 'open EPERM' write "$p" x
    done
    assert_errno 'mkdir EPERM' mkdir "$INBOX/$SIGNED/attachments/1"
    run ! rmdir "$a"
    assert_same_bytes "$ORIG/signed" "$SIGNED_F"
    assert_file_is "$a/PidTagAttachMimeTag" multipart/signed
}

@test "opaque and encrypted: no attachment can be added or removed (EPERM / refused)" {
    local u
    for u in $OPAQUE $ENC; do
        assert_errno 'mkdir EPERM' mkdir "$INBOX/$u/attachments/1"
        run ! rmdir "$INBOX/$u/attachments/0"
    done
    assert_same_bytes "$ORIG/opaque" "$OPAQUE_F"
    assert_same_bytes "$ORIG/encrypted" "$ENC_F"
}

# ---------------------------------------------------------------------------
# replacing the protected entity

@test "clear-signed: a new multipart/signed entity made by openssl replaces the attachment and verifies" {
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nA freshly signed text.\r\n' >"$BATS_TEST_TMPDIR/inner"
    openssl smime -sign -md sha256 -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
        -certfile "$PKI/ca.pem" -crlfeol -in "$BATS_TEST_TMPDIR/inner" -out "$BATS_TEST_TMPDIR/new.smime"
    # the entity: its Content-Type header and body (openssl's MIME-Version line dropped)
    head -n1 "$BATS_TEST_TMPDIR/new.smime" | grep -q '^MIME-Version' \
        || fail "unexpected openssl output: $(head -3 "$BATS_TEST_TMPDIR/new.smime")"
    tail -n +2 "$BATS_TEST_TMPDIR/new.smime" >"$BATS_TEST_TMPDIR/entity"
    head -n1 "$BATS_TEST_TMPDIR/entity" | grep -q '^Content-Type: multipart/signed' \
        || fail "unexpected openssl output: $(head -3 "$BATS_TEST_TMPDIR/new.smime")"
    assert_op_ok write-file "$INBOX/$SIGNED/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/entity"
    verify "$SIGNED_F" "$BATS_TEST_TMPDIR/content.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/inner" "$BATS_TEST_TMPDIR/content.new"
    assert_header "$SIGNED_F" Subject 'Signed message (S/MIME clear-signed)'
    assert_equal "$(wh count "$SIGNED_F" Content-Type)" 1
    wh body "$SIGNED_F" >"$BATS_TEST_TMPDIR/body.new"
    wh body "$BATS_TEST_TMPDIR/entity" >"$BATS_TEST_TMPDIR/body.want"
    assert_same_bytes "$BATS_TEST_TMPDIR/body.want" "$BATS_TEST_TMPDIR/body.new"
    assert_backing_is $SIGNED "cur/$SIGNED:2,S"
}

@test "opaque-signed: a new DER CMS blob made by openssl replaces the attachment and verifies" {
    printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nA new opaque text.\r\n' >"$BATS_TEST_TMPDIR/inner"
    openssl smime -sign -nodetach -md sha256 -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
        -certfile "$PKI/ca.pem" -crlfeol -in "$BATS_TEST_TMPDIR/inner" -outform DER \
        -out "$BATS_TEST_TMPDIR/new.der"
    assert_op_ok write-file "$INBOX/$OPAQUE/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/new.der"
    verify "$OPAQUE_F" "$BATS_TEST_TMPDIR/content.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/inner" "$BATS_TEST_TMPDIR/content.new"
    wh payload "$OPAQUE_F" >"$BATS_TEST_TMPDIR/cms.new"
    assert_same_bytes "$BATS_TEST_TMPDIR/new.der" "$BATS_TEST_TMPDIR/cms.new"
    assert_header "$OPAQUE_F" Subject 'Signed message (S/MIME opaque)'
    assert_same_bytes "$BATS_TEST_TMPDIR/new.der" "$INBOX/$OPAQUE/attachments/0/PidTagAttachDataBinary"
}

@test "garbage in the protected attachment -> EINVAL at close, nothing changes" {
    local u
    head -c 2000 /dev/urandom >"$BATS_TEST_TMPDIR/garbage"
    printf 'Content-Type: text/plain\r\n\r\nnot signed at all\r\n' >"$BATS_TEST_TMPDIR/text"
    for u in $SIGNED $OPAQUE $ENC; do
        log_mark
        assert_errno 'close EINVAL' write-file "$INBOX/$u/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/garbage"
        assert_log_line PidTagAttachDataBinary
        assert_errno 'close EINVAL' write-file "$INBOX/$u/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/text"
    done
    # an opaque CMS blob is not a clear-signed entity
    openssl smime -sign -nodetach -signer "$PKI/alice.pem" -inkey "$PKI/alice.key" \
        -in "$BATS_TEST_TMPDIR/text" -outform DER -out "$BATS_TEST_TMPDIR/other.der"
    assert_errno 'close EINVAL' write-file "$INBOX/$SIGNED/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/other.der"
    assert_same_bytes "$ORIG/signed" "$SIGNED_F"
    assert_same_bytes "$ORIG/opaque" "$OPAQUE_F"
    assert_same_bytes "$ORIG/encrypted" "$ENC_F"
    verify "$SIGNED_F" /dev/null
    verify "$OPAQUE_F" /dev/null
    daemon_alive
    # the messages are still editable: the refusals were about the data
    assert_op_ok write "$INBOX/$SIGNED/PidTagSubject" 'After the garbage'
    assert_header "$SIGNED_F" Subject 'After the garbage'
    verify "$SIGNED_F" /dev/null
}
