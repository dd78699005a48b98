#!/usr/bin/env bats
# S/MIME decryption (design.md section 5): every content cipher with a key
# given as PEM (--key/--cert) or PKCS#12 (--pkcs12/--pass-file); smime/cipher
# and smime/recipients; no-key without (or with the wrong) key; nested layers
# in both orders; no plaintext ever reaches the source Maildir.
# Fixtures: crypto_fixtures.bash (built once per file).

load common
load write_common
load crypto_fixtures

setup_file() {
    cf_setup_file
}

BOB_PEM_ID=()
BOB_P12_ID=()

setup() {
    BOB_PEM_ID=(--key "$CF_PKI/bob.key" --cert "$CF_PKI/bob.pem")
    BOB_P12_ID=(--pkcs12 "$CF_PKI/bob.p12" --pass-file "$CF_PKI/bob.pass")
}

# decrypt_ref STEM OUT [FILE]: what openssl cms -decrypt makes of the message
# (bob's key; alice's for enc-to-alice).
decrypt_ref() {
    local stem=$1 out=$2 file=${3:-$(cf_file "$1")} who=bob
    [[ $stem == enc-to-alice ]] && who=alice
    openssl cms -decrypt "${CF_LEGACY[@]}" -recip "$CF_PKI/$who.pem" -inkey "$CF_PKI/$who.key" \
        -in "$file" -out "$out" 2>"$BATS_TEST_TMPDIR/decrypt.err" ||
        fail "openssl cms -decrypt $file: $(cat "$BATS_TEST_TMPDIR/decrypt.err")"
}

# assert_decrypted STEM: the encrypted message is shown decrypted: status
# not-signed, its cipher, content/ = the plaintext openssl gets.
assert_decrypted() {
    local stem=$1 m
    m=$(cf_dir "$stem")
    assert_file_is "$m/smime/status" not-signed
    assert_file_is "$m/smime/cipher" "${CF_CIPHER[$stem]}"
    assert_is_dir "$m/smime/content"
    decrypt_ref "$stem" "$BATS_TEST_TMPDIR/$stem.plain"
    assert_same_bytes "$BATS_TEST_TMPDIR/$stem.plain" "$m/smime/content/message.eml"
    assert_same_body "$m/smime/content/PidTagBody" "$BATS_TEST_TMPDIR/$stem.plain"
    grep -qF "$(cf_fact "token.$stem")" "$m/smime/content/PidTagBody" ||
        fail "$stem: the plaintext's token is not in content/PidTagBody"
    assert_file_is "$m/smime/content/PidTagMessageClass" IPM.Note
    assert_no_entry "$m/smime/content/smime"
}

# assert_not_decrypted STEM: no-key, no content/.
assert_not_decrypted() {
    local m
    m=$(cf_dir "$1")
    assert_file_is "$m/smime/status" no-key
    assert_no_entry "$m/smime/content"
    run ls -A "$m/smime"
    refute_line content
}

# norm_recipients: sort, and compare subjectKeyIdentifier values without case
# or colons (the contract says <hex>, not which case)
norm_recipients() {
    sed -e '/^subjectKeyIdentifier=/{s/://g;y/ABCDEF/abcdef/}' | LC_ALL=C sort
}

expected_recipients() { # STEM
    local r
    for r in ${CF_RECIPS[$1]}; do
        if [[ " ${CF_KEYID_STEMS[*]} " == *" $1 "* ]]; then
            echo "subjectKeyIdentifier=$(cat "$CF_PKI/$r.ski")"
        else
            cf_recipient_line "$r"
        fi
    done
}

# ---------------------------------------------------------------------------
# every cipher, both kinds of identity

@test "every cipher decrypts with --key/--cert: not-signed, cipher, content/ = openssl cms -decrypt" {
    cf_mount "${BOB_PEM_ID[@]}"
    local s
    for s in "${CF_ENC_STEMS[@]}"; do
        assert_decrypted "$s"
    done
}

@test "every cipher decrypts with --pkcs12/--pass-file" {
    cf_mount "${BOB_P12_ID[@]}"
    local s
    for s in "${CF_ENC_STEMS[@]}"; do
        assert_decrypted "$s"
    done
    # the pass file's first line is the password (openssl agrees)
    run openssl pkcs12 -in "$CF_PKI/bob.p12" -passin "file:$CF_PKI/bob.pass" -nokeys -clcerts -out /dev/null
    assert_success
}

@test "smime/cipher and smime/recipients name the algorithm and every RecipientInfo" {
    cf_mount
    local s m want got
    for s in "${CF_ENC_STEMS[@]}" enc-to-alice; do
        m=$(cf_dir "$s")
        assert_file_is "$m/smime/cipher" "${CF_CIPHER[$s]}"
        # the reference: openssl's own reading of the algorithm
        cf_cms_print "$(cf_file "$s")" | grep -A1 'contentEncryptionAlgorithm:' |
            grep -q "algorithm: ${CF_CIPHER[$s]} (" || fail "$s: openssl does not see ${CF_CIPHER[$s]}"
        [[ -f $m/smime/recipients ]] || fail "$m/smime/recipients: no such file"
        [[ $(tail -c1 "$m/smime/recipients") == '' ]] || fail "$m/smime/recipients does not end with a newline"
        want=$(expected_recipients "$s" | norm_recipients)
        got=$(norm_recipients <"$m/smime/recipients")
        [[ $got == "$want" ]] || fail "$(printf '%s: smime/recipients\n-- expected (any order) --\n%s\n-- got --\n%s' "$s" "$want" "$(cat "$m/smime/recipients")")"
    done
    # literal values: RFC 2253 issuer with its escaped comma, upper-case hex
    run cat "$(cf_dir enc-aes128)/smime/recipients"
    assert_output 'issuer=CN=mapifs Crypto Test CA,O=mapifs test\, Inc.; serial=0B0B01'
    run cat "$(cf_dir enc-aes256)/smime/recipients"
    assert_line 'issuer=CN=Mallory,O=Mallory Ltd; serial=0BADBAD1'
    assert_line 'issuer=CN=mapifs Crypto Test CA,O=mapifs test\, Inc.; serial=0B0B01'
    assert_equal "${#lines[@]}" 2
}

# ---------------------------------------------------------------------------
# no key, wrong key

@test "no key: status no-key and no content/ for every encrypted message" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local s
    for s in "${CF_ENC_STEMS[@]}" enc-to-alice nested-sign-enc; do
        assert_not_decrypted "$s"
        assert_file_is "$(cf_dir "$s")/smime/cipher" "${CF_CIPHER[$s]}"
        # the message object itself is there (MS-OXOSMIME: one attachment)
        assert_file_is "$(cf_dir "$s")/PidTagMessageClass" IPM.Note.SMIME
    done
}

@test "wrong key: no-key, no content/, the message looks exactly as without any key" {
    # reference: no key at all
    cf_mount
    cf_snapshot "$(cf_dir enc-to-alice)" >"$BATS_TEST_TMPDIR/to-alice.nokey"
    cf_snapshot "$(cf_dir enc-aes128)" >"$BATS_TEST_TMPDIR/aes128.nokey"
    grep -q ' smime/status$' "$BATS_TEST_TMPDIR/to-alice.nokey" || fail "no smime/status without a key"
    unmount_mapifs

    # bob's key: enc-to-alice is not for him
    cf_mount "${BOB_PEM_ID[@]}"
    assert_not_decrypted enc-to-alice
    cf_snapshot "$(cf_dir enc-to-alice)" >"$BATS_TEST_TMPDIR/to-alice.bob"
    diff "$BATS_TEST_TMPDIR/to-alice.nokey" "$BATS_TEST_TMPDIR/to-alice.bob" ||
        fail "enc-to-alice looks different with bob's (wrong) key"
    assert_decrypted enc-aes128 # control: bob's key is in effect
    unmount_mapifs

    # alice's key (PKCS#12): enc-aes128 is not for her
    cf_mount --pkcs12 "$CF_PKI/alice.p12" --pass-file "$CF_PKI/alice.pass"
    assert_not_decrypted enc-aes128
    cf_snapshot "$(cf_dir enc-aes128)" >"$BATS_TEST_TMPDIR/aes128.alice"
    diff "$BATS_TEST_TMPDIR/aes128.nokey" "$BATS_TEST_TMPDIR/aes128.alice" ||
        fail "enc-aes128 looks different with alice's (wrong) key"
    assert_decrypted enc-to-alice # control: alice's key is in effect
}

# ---------------------------------------------------------------------------
# nested layers

@test "nested sign-then-encrypt: content/smime/content/ is the innermost text" {
    cf_mount "${BOB_PEM_ID[@]}" --ca "$CF_PKI/ca.pem"
    local m c
    m=$(cf_dir nested-sign-enc)
    assert_file_is "$m/smime/status" not-signed
    assert_file_is "$m/smime/cipher" aes-128-cbc
    c=$m/smime/content
    assert_is_dir "$c"
    decrypt_ref nested-sign-enc "$BATS_TEST_TMPDIR/layer1"
    assert_same_bytes "$BATS_TEST_TMPDIR/layer1" "$c/message.eml"
    assert_file_is "$c/PidTagMessageClass" IPM.Note.SMIME.MultipartSigned
    assert_file_is "$c/smime/status" good
    assert_file_is "$c/smime/signers/0/status" good
    assert_file_is "$c/smime/signers/0/serial" "$(cf_x509 "$CF_PKI/alice.pem" serial)"
    assert_file_is "$c/smime/signers/0/signing-time" "$(cf_fact signing_time.nested-sign-enc)"
    assert_is_dir "$c/smime/content"
    assert_same_bytes "$CF_PLAIN/nested-sign-enc.eml" "$c/smime/content/message.eml"
    assert_same_body "$c/smime/content/PidTagBody" "$CF_PLAIN/nested-sign-enc.eml"
    grep -qF "$(cf_fact token.nested-sign-enc)" "$c/smime/content/PidTagBody" || fail "innermost token missing"
    assert_no_entry "$c/smime/content/smime"
}

@test "nested encrypt-then-sign (opaque, the DRS order): content/smime/content/ is the innermost text" {
    cf_mount "${BOB_PEM_ID[@]}" --ca "$CF_PKI/ca.pem"
    local m c
    m=$(cf_dir nested-enc-sign)
    assert_file_is "$m/smime/status" good
    assert_file_is "$m/smime/signers/0/serial" "$(cf_x509 "$CF_PKI/alice.pem" serial)"
    c=$m/smime/content
    assert_is_dir "$c"
    openssl smime -verify -CAfile "$CF_PKI/ca.pem" -in "$(cf_file nested-enc-sign)" -out "$BATS_TEST_TMPDIR/layer1" \
        2>/dev/null || fail "openssl cannot verify nested-enc-sign"
    assert_same_bytes "$BATS_TEST_TMPDIR/layer1" "$c/message.eml"
    assert_file_is "$c/PidTagMessageClass" IPM.Note.SMIME
    assert_file_is "$c/smime/status" not-signed
    assert_file_is "$c/smime/cipher" aes-128-cbc
    decrypt_ref nested-enc-sign "$BATS_TEST_TMPDIR/layer2" "$BATS_TEST_TMPDIR/layer1"
    assert_same_bytes "$BATS_TEST_TMPDIR/layer2" "$c/smime/content/message.eml"
    assert_same_body "$c/smime/content/PidTagBody" "$CF_PLAIN/nested-enc-sign.eml"
    grep -qF "$(cf_fact token.nested-enc-sign)" "$c/smime/content/PidTagBody" || fail "innermost token missing"
}

@test "nested encrypt-then-clear-sign: content/smime/content/ is the innermost text" {
    cf_mount "${BOB_PEM_ID[@]}" --ca "$CF_PKI/ca.pem"
    local m c
    m=$(cf_dir nested-enc-clearsign)
    assert_file_is "$m/PidTagMessageClass" IPM.Note.SMIME.MultipartSigned
    assert_file_is "$m/smime/status" good
    c=$m/smime/content
    assert_is_dir "$c"
    openssl smime -verify -CAfile "$CF_PKI/ca.pem" -in "$(cf_file nested-enc-clearsign)" \
        -out "$BATS_TEST_TMPDIR/layer1" 2>/dev/null || fail "openssl cannot verify nested-enc-clearsign"
    assert_same_bytes "$BATS_TEST_TMPDIR/layer1" "$c/message.eml"
    assert_file_is "$c/PidTagMessageClass" IPM.Note.SMIME
    assert_file_is "$c/smime/status" not-signed
    assert_file_is "$c/smime/cipher" aes-128-cbc
    assert_same_bytes "$CF_PLAIN/nested-enc-clearsign.eml" "$c/smime/content/message.eml"
    assert_same_body "$c/smime/content/PidTagBody" "$CF_PLAIN/nested-enc-clearsign.eml"
}

@test "nested without a key: signed outer layers unwrap, encrypted layers stop at no-key" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local s c
    for s in nested-enc-sign nested-enc-clearsign; do
        assert_cf_status "$s" good
        c=$(cf_dir "$s")/smime/content
        assert_is_dir "$c"
        assert_file_is "$c/smime/status" no-key
        assert_file_is "$c/smime/cipher" aes-128-cbc
        assert_no_entry "$c/smime/content"
    done
    assert_not_decrypted nested-sign-enc
}

# ---------------------------------------------------------------------------
# no plaintext on disk

@test "reading decrypted content writes no plaintext into the source Maildir" {
    local md=$BATS_TEST_TMPDIR/md before s m tok
    cf_copy_maildir "$md"
    before=$(tree_state "$md")
    mount_mapifs "$md" "${BOB_PEM_ID[@]}" --ca "$CF_PKI/ca.pem"
    # read every file of every message, decrypted layers included
    find "$MNT/INBOX" -type f -exec cat {} + >/dev/null
    for s in "${CF_ENC_STEMS[@]}" nested-sign-enc nested-enc-sign nested-enc-clearsign; do
        tok=$(cf_fact "token.$s")
        m=$MNT/INBOX/$(cf_uniq "$s")
        # control: the plaintext is visible through the mount ...
        grep -rqF "$tok" "$m/smime/content" || fail "$s: '$tok' not readable under smime/content"
        # ... and nowhere in the source
        if grep -rlF "$tok" "$md"; then
            fail "$s: plaintext '$tok' found in the source Maildir (files above)"
        fi
    done
    [[ $(tree_state "$md") == "$before" ]] || fail "the source Maildir changed by reading"
    run ls -A "$md/tmp"
    assert_output ''
    unmount_mapifs
    for s in "${CF_ENC_STEMS[@]}" nested-sign-enc nested-enc-sign nested-enc-clearsign; do
        if grep -rlF "$(cf_fact "token.$s")" "$md"; then
            fail "$s: plaintext found in the source Maildir after unmounting"
        fi
    done
    [[ $(tree_state "$md") == "$before" ]] || fail "the source Maildir changed"
}
