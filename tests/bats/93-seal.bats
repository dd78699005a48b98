#!/usr/bin/env bats
# Composing S/MIME (design.md section 5): writing PR_SECURITY_FLAGS
# (0x6E010003: 1 encrypt, 2 sign, 3 both) on a plain message seals it with
# the local identity (alice) for the recipients found in certificates/ (bob,
# preloaded with --certs).  Every result is opened with the openssl CLI.
# Fixtures: crypto_fixtures.bash (built once per file).

load common
load write_common
load crypto_fixtures

setup_file() {
    cf_setup_file
}

FLAGS=0x6E010003

# seal_mount [OPTION...]: a private copy of the fixture Maildir, mounted with
# alice as the local identity, bob's certificate preloaded, the test CA.
# Sets MD, INBOX, U (plain-to-bob's unique name), M (its directory), F (its
# backing file) and ORIG (a copy of that file before any change).
seal_mount() {
    MD=$BATS_TEST_TMPDIR/md
    cf_copy_maildir "$MD"
    mount_mapifs "$MD" "$@"
    INBOX=$MNT/INBOX
    U=$(cf_uniq plain-to-bob)
    M=$INBOX/$U
    F=$MD/cur/$U:2,S
    ORIG=$BATS_TEST_TMPDIR/orig.eml
    cp -p "$F" "$ORIG"
    # bob must be in the map, from --certs
    [[ -f $MNT/certificates/bob@example.org.pem ]] || [[ " $* " != *" --certs "* ]] ||
        fail "bob@example.org is not in certificates/ although --certs was given"
}

ALICE_ID=()
setup() {
    ALICE_ID=(--key "$CF_PKI/alice.key" --cert "$CF_PKI/alice.pem")
}

# top_type FILE: "<media type> <smime-type>" of the top-level entity.
top_type() {
    python3 - "$1" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m.get_content_type(), (m.get_param("smime-type") or "").lower())
EOF
}

assert_enveloped() { # FILE
    run top_type "$1"
    assert_output --regexp '^application/(x-)?pkcs7-mime enveloped-data$'
}

assert_signed_data() { # FILE
    run top_type "$1"
    assert_output --regexp '^application/(x-)?pkcs7-mime signed-data$'
}

# cipher_of FILE: the contentEncryptionAlgorithm openssl reads.
cipher_of() {
    cf_cms_print "$1" | grep -A1 'contentEncryptionAlgorithm:' | sed -n 's/^ *algorithm: \([^ ]*\) (.*/\1/p'
}

# digests_of FILE: every digest algorithm of the signed data, sorted, unique.
digests_of() {
    cf_cms_print "$1" | grep -A1 -E 'digestAlgorithms?:' | sed -n 's/^ *algorithm: \([^ ]*\) (.*/\1/p' | sort -u
}

# recipient_count FILE: how many RecipientInfos.
recipient_count() {
    cf_cms_print "$1" | grep -cE '^ *d\.(ktri|kari|kekri|pwri|ori):'
}

# open_enveloped FILE WHO OUT: decrypt with WHO's key (openssl smime).
open_enveloped() {
    openssl smime -decrypt "${CF_LEGACY[@]}" -recip "$CF_PKI/$2.pem" -inkey "$CF_PKI/$2.key" \
        -in "$1" -out "$3" 2>"$BATS_TEST_TMPDIR/openssl.err" ||
        fail "openssl smime -decrypt $1 with $2's key failed: $(cat "$BATS_TEST_TMPDIR/openssl.err")"
}

# open_signed FILE OUT: verify against the CA; the signer must be alice
# (her certificate comes from the message itself).
open_signed() {
    openssl smime -verify -CAfile "$CF_PKI/ca.pem" -in "$1" -out "$2" -signer "$BATS_TEST_TMPDIR/signer.pem" \
        2>"$BATS_TEST_TMPDIR/openssl.err" ||
        fail "openssl smime -verify $1 failed: $(cat "$BATS_TEST_TMPDIR/openssl.err")"
    cf_same_cert "$BATS_TEST_TMPDIR/signer.pem" "$CF_PKI/alice.pem" ||
        fail "$1 is not signed with alice's certificate"
}

# assert_same_text ENTITY: ENTITY carries the text of the original message.
assert_same_text() {
    local want got
    want=$(cf_body_text "$ORIG") || fail "no text in $ORIG"
    got=$(cf_body_text "$1") || fail "no text/plain in $1: $(head -c 300 "$1")"
    [[ $got == "$want" ]] || fail "$(printf 'text of %s:\n%s\n-- expected --\n%s' "$1" "$got" "$want")"
}

# assert_headers_kept: From, To, Subject of the sealed file are the original's.
assert_headers_kept() {
    local h
    for h in From To Subject; do
        assert_header "$F" "$h" "$(wh header "$ORIG" "$h")"
    done
}

# assert_no_plaintext: the original text is nowhere in the Maildir any more.
assert_no_plaintext() {
    local tok
    tok=$(cf_fact token.plain-to-bob)
    if grep -rlF "$tok" "$MD"; then
        fail "the plaintext ('$tok') is still in the Maildir (files above)"
    fi
}

# ---------------------------------------------------------------------------

@test "seal 3 (default): sign-then-encrypt, sha256, aes-128-cbc, to bob and to alice" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    assert_file_is "$M/PidTagMessageClass" IPM.Note
    assert_op_ok write "$M/$FLAGS" 3
    assert_backing_is "$U" "cur/$U:2,S"
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    assert_headers_kept
    # outer layer: enveloped, aes-128-cbc, for bob and the local identity
    assert_enveloped "$F"
    assert_equal "$(cipher_of "$F")" aes-128-cbc
    assert_equal "$(recipient_count "$F")" 2
    open_enveloped "$F" bob "$BATS_TEST_TMPDIR/inner.bob"
    open_enveloped "$F" alice "$BATS_TEST_TMPDIR/inner.alice"
    assert_same_bytes "$BATS_TEST_TMPDIR/inner.bob" "$BATS_TEST_TMPDIR/inner.alice"
    # inner layer: opaque signed-data by alice, sha256
    assert_signed_data "$BATS_TEST_TMPDIR/inner.bob"
    assert_equal "$(digests_of "$BATS_TEST_TMPDIR/inner.bob")" sha256
    open_signed "$BATS_TEST_TMPDIR/inner.bob" "$BATS_TEST_TMPDIR/content"
    assert_same_text "$BATS_TEST_TMPDIR/content"
    assert_no_plaintext
    # the mount reads its own work: decrypted with alice's key, signature good
    assert_file_is "$M/smime/status" not-signed
    assert_file_is "$M/smime/cipher" aes-128-cbc
    assert_file_is "$M/smime/content/smime/status" good
    assert_same_body "$M/smime/content/smime/content/PidTagBody" "$ORIG"
}

@test "seal 3 with --digest md5" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem" --digest md5
    assert_op_ok write "$M/$FLAGS" 3
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    assert_headers_kept
    assert_enveloped "$F"
    assert_equal "$(cipher_of "$F")" aes-128-cbc
    open_enveloped "$F" bob "$BATS_TEST_TMPDIR/inner"
    assert_signed_data "$BATS_TEST_TMPDIR/inner"
    assert_equal "$(digests_of "$BATS_TEST_TMPDIR/inner")" md5
    open_signed "$BATS_TEST_TMPDIR/inner" "$BATS_TEST_TMPDIR/content"
    assert_same_text "$BATS_TEST_TMPDIR/content"
    assert_file_is "$M/smime/content/smime/signers/0/digest" md5
}

@test "seal 3 with --cipher rc4" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem" --cipher rc4
    assert_op_ok write "$M/$FLAGS" 3
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    assert_headers_kept
    assert_enveloped "$F"
    assert_equal "$(cipher_of "$F")" rc4
    open_enveloped "$F" bob "$BATS_TEST_TMPDIR/inner"
    assert_equal "$(digests_of "$BATS_TEST_TMPDIR/inner")" sha256
    open_signed "$BATS_TEST_TMPDIR/inner" "$BATS_TEST_TMPDIR/content"
    assert_same_text "$BATS_TEST_TMPDIR/content"
    assert_no_plaintext
    assert_file_is "$M/smime/cipher" rc4
}

@test "seal 3 with --seal-order encrypt-then-sign: outer signed-data, inner enveloped" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem" --seal-order encrypt-then-sign
    assert_op_ok write "$M/$FLAGS" 3
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    assert_headers_kept
    assert_signed_data "$F"
    assert_equal "$(digests_of "$F")" sha256
    open_signed "$F" "$BATS_TEST_TMPDIR/inner"
    assert_enveloped "$BATS_TEST_TMPDIR/inner"
    assert_equal "$(cipher_of "$BATS_TEST_TMPDIR/inner")" aes-128-cbc
    assert_equal "$(recipient_count "$BATS_TEST_TMPDIR/inner")" 2
    open_enveloped "$BATS_TEST_TMPDIR/inner" bob "$BATS_TEST_TMPDIR/content"
    open_enveloped "$BATS_TEST_TMPDIR/inner" alice "$BATS_TEST_TMPDIR/content.alice"
    assert_same_text "$BATS_TEST_TMPDIR/content"
    assert_no_plaintext
    assert_file_is "$M/smime/status" good
    assert_file_is "$M/smime/content/smime/status" not-signed
    assert_same_body "$M/smime/content/smime/content/PidTagBody" "$ORIG"
}

@test "seal 2: sign only (opaque signed-data with alice's certificate)" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    assert_op_ok write "$M/$FLAGS" 2
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    assert_headers_kept
    assert_signed_data "$F"
    assert_equal "$(digests_of "$F")" sha256
    # the certificate travels with the message: no -certfile needed
    open_signed "$F" "$BATS_TEST_TMPDIR/content"
    run top_type "$BATS_TEST_TMPDIR/content"
    assert_output --regexp '^text/plain '
    assert_same_text "$BATS_TEST_TMPDIR/content"
    assert_file_is "$M/smime/status" good
    assert_same_body "$M/smime/content/PidTagBody" "$ORIG"
}

@test "seal 1: encrypt only (enveloped, for bob and alice, no signature inside)" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    assert_op_ok write "$M/$FLAGS" 1
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    assert_headers_kept
    assert_enveloped "$F"
    assert_equal "$(cipher_of "$F")" aes-128-cbc
    assert_equal "$(recipient_count "$F")" 2
    open_enveloped "$F" bob "$BATS_TEST_TMPDIR/content"
    open_enveloped "$F" alice "$BATS_TEST_TMPDIR/content.alice"
    run top_type "$BATS_TEST_TMPDIR/content"
    assert_output --regexp '^text/plain '
    assert_same_text "$BATS_TEST_TMPDIR/content"
    assert_no_plaintext
    assert_file_is "$M/smime/status" not-signed
    assert_same_body "$M/smime/content/PidTagBody" "$ORIG"
    assert_no_entry "$M/smime/content/smime"
}

@test "seal 3 on a message composed through the mount (mkdir, subject, body, recipient)" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    local u=1720000100.M100P1.composed m f
    m=$INBOX/$u
    assert_op_ok mkdir "$m"
    echo 'Composed, then sealed' >"$m/PidTagSubject"
    printf 'Hello Bob,\n\ncomposed through mapifs: composed-token-93f1.\n' >"$m/PidTagBody"
    assert_op_ok mkdir "$m/recipients/0"
    echo bob@example.org >"$m/recipients/0/PidTagEmailAddress"
    f=$(backing "$u")
    run wh addresses "$f" To
    assert_output --partial bob@example.org
    assert_op_ok write "$m/$FLAGS" 3
    f=$(backing "$u")
    assert_file_is "$m/PidTagMessageClass" IPM.Note.SMIME
    assert_header "$f" Subject 'Composed, then sealed'
    run wh addresses "$f" To
    assert_output --partial bob@example.org
    assert_enveloped "$f"
    assert_equal "$(recipient_count "$f")" 2
    open_enveloped "$f" bob "$BATS_TEST_TMPDIR/inner"
    open_signed "$BATS_TEST_TMPDIR/inner" "$BATS_TEST_TMPDIR/content"
    assert_equal "$(cf_body_text "$BATS_TEST_TMPDIR/content")" \
        "$(printf 'Hello Bob,\n\ncomposed through mapifs: composed-token-93f1.')"
    if grep -rlF composed-token-93f1 "$MD"; then
        fail "the composed plaintext is still in the Maildir"
    fi
}

# ---------------------------------------------------------------------------
# refusals

@test "a recipient without a certificate: close() fails EINVAL, one log line names it, nothing changes" {
    seal_mount "${ALICE_ID[@]}" --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    local u m f sum v
    u=$(cf_uniq plain-to-nocert)
    m=$INBOX/$u
    f=$MD/cur/$u:2,S
    sum=$(sha "$f")
    assert_no_entry "$MNT/certificates/zed@example.org.pem"
    for v in 3 1; do
        log_mark
        assert_errno 'close EINVAL' write "$m/$FLAGS" "$v"
        assert_log_line zed@example.org
        assert_backing_is "$u" "cur/$u:2,S"
        assert_equal "$(sha "$f")" "$sum"
        assert_file_is "$m/PidTagMessageClass" IPM.Note
        assert_no_entry "$m/smime"
    done
    # control: the same mount seals a message whose recipients all have one
    assert_op_ok write "$M/$FLAGS" 3
    assert_file_is "$M/PidTagMessageClass" IPM.Note.SMIME
    daemon_alive
}

@test "no local identity: sealing (3 or 2) fails EINVAL, nothing changes" {
    seal_mount --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    local sum v
    sum=$(sha "$F")
    for v in 3 2; do
        assert_errno 'close EINVAL' write "$M/$FLAGS" "$v"
        assert_backing_is "$U" "cur/$U:2,S"
        assert_equal "$(sha "$F")" "$sum"
        assert_file_is "$M/PidTagMessageClass" IPM.Note
    done
    daemon_alive
}
