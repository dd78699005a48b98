#!/usr/bin/env bats
# S/MIME signature verification (design.md section 5): smime/status and
# smime/signers/N/ of signed messages, cross-checked with the openssl CLI;
# --ca, --verify-at; content/ of signed layers; smime/ is read-only.
# Fixtures: crypto_fixtures.bash (built once per file).

load common
load write_common
load crypto_fixtures

setup_file() {
    cf_setup_file
}

# messages whose signature is correct and chains to the CA (at signing time)
GOOD_STEMS=(signed-md5 signed-sha1 signed-sha256 signed-sha384 signed-sha512 signed-ec opaque-sha256)

# assert_signer_files STEM [N] [MSGDIR]: smime/signers/N/ of the message shows
# the signer certificate exactly as openssl sees it.
assert_signer_files() {
    local stem=$1 n=${2:-0} m=${3:-$(cf_dir "$1")} cert d field
    cert=$CF_PKI/${CF_SIGNER[$stem]}.pem
    d=$m/smime/signers/$n
    assert_is_dir "$d"
    [[ -f $d/certificate.pem ]] || fail "$d/certificate.pem: no such file"
    head -1 "$d/certificate.pem" | grep -qx -e '-----BEGIN CERTIFICATE-----' ||
        fail "$d/certificate.pem is not PEM: $(head -c 80 "$d/certificate.pem" | od -c | head -3)"
    cf_same_cert "$d/certificate.pem" "$cert" || fail "$d/certificate.pem is not $cert"
    assert_file_is "$d/email" "$(cf_x509 "$cert" san-emails)"
    for field in subject issuer serial not-before not-after; do
        assert_file_is "$d/$field" "$(cf_x509 "$cert" $field)"
    done
    assert_file_is "$d/signing-time" "$(cf_fact "signing_time.$stem")"
    assert_file_is "$d/digest" "${CF_DIGEST[$stem]}"
}

# ---------------------------------------------------------------------------
# good

@test "good: md5, sha1, sha256, sha384, sha512 (RSA), ECDSA P-256 and opaque, with --ca" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local s m
    for s in "${GOOD_STEMS[@]}"; do
        m=$(cf_dir "$s")
        assert_cf_status "$s" good
        run ls -A "$m/smime/signers"
        assert_output 0
        assert_file_is "$m/smime/signers/0/status" good
        assert_file_is "$m/smime/signers/0/digest" "${CF_DIGEST[$s]}"
    done
    # the class decides what is S/MIME: a plain message has no smime/
    assert_file_is "$(cf_dir plain-to-bob)/PidTagMessageClass" IPM.Note
    assert_no_entry "$(cf_dir plain-to-bob)/smime"
}

@test "signers/0/ files are the signer certificate as openssl x509 prints it" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local s
    for s in "${GOOD_STEMS[@]}" signed-expired signed-untrusted signed-bad map-old map-new \
        nested-enc-sign nested-enc-clearsign; do
        assert_signer_files "$s"
    done
    # a few literal values, so that a wrong openssl call above cannot hide a
    # wrong format (RFC 2253 escaping, UTF-8 as \XX, upper-case hex, ISO times)
    local m
    m=$(cf_dir signed-ec)
    assert_file_is "$m/smime/signers/0/subject" 'CN=Carol M\C3\BCller,O=mapifs test\, Inc.'
    assert_file_is "$m/smime/signers/0/issuer" 'CN=mapifs Crypto Test CA,O=mapifs test\, Inc.'
    assert_file_is "$m/smime/signers/0/serial" 0CA201
    assert_file_is "$m/smime/signers/0/email" carol@example.org
    m=$(cf_dir signed-expired)
    assert_file_is "$m/smime/signers/0/not-before" 2020-01-01T00:00:00Z
    assert_file_is "$m/smime/signers/0/not-after" 2021-01-01T00:00:00Z
    assert_file_is "$(cf_dir signed-sha256)/smime/signers/0/serial" 0A11CE01
    assert_file_is "$(cf_dir map-new)/smime/signers/0/serial" 0A11CE02
}

# ---------------------------------------------------------------------------
# untrusted

@test "untrusted: without --ca no correct signature is trusted" {
    cf_mount
    local s
    for s in "${GOOD_STEMS[@]}" signed-untrusted map-old map-new nested-enc-sign nested-enc-clearsign; do
        assert_cf_status "$s" untrusted
        assert_file_is "$(cf_dir "$s")/smime/signers/0/status" untrusted
    done
    # expired applies only to a trusted chain
    assert_cf_status signed-expired untrusted
    # broken signatures stay broken
    assert_cf_status signed-bad bad
    assert_cf_status signed-nocert bad
    run cat "$(cf_dir signed-garbage)/smime/status"
    assert_output --regexp '^error: .+'
}

@test "untrusted: a self-signed signer certificate, even with --ca" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local m
    m=$(cf_dir signed-untrusted)
    assert_cf_status signed-untrusted untrusted
    assert_file_is "$m/smime/signers/0/status" untrusted
    assert_signer_files signed-untrusted
    # self-signed: issuer = subject
    assert_file_is "$m/smime/signers/0/issuer" "$(cat "$m/smime/signers/0/subject")"
    # control: the CA is in effect in this mount
    assert_cf_status signed-sha256 good
}

# ---------------------------------------------------------------------------
# expired

@test "expired: signed today with a certificate that ran out in 2021" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local m
    m=$(cf_dir signed-expired)
    assert_cf_status signed-expired expired
    assert_file_is "$m/smime/signers/0/status" expired
    # the signing time lies after not-after (that is why)
    local st na
    st=$(date -u -d "$(cat "$m/smime/signers/0/signing-time")" +%s)
    na=$(date -u -d "$(cat "$m/smime/signers/0/not-after")" +%s)
    ((st > na)) || fail "signing time $(cat "$m/smime/signers/0/signing-time") is not after not-after"
    # openssl agrees
    run openssl smime -verify -CAfile "$CF_PKI/ca.pem" -in "$m/message.eml" -out /dev/null
    assert_failure
    assert_output --partial 'expired'
}

@test "--verify-at inside the validity: the expired signature is good (ISO 8601)" {
    cf_mount --ca "$CF_PKI/ca.pem" --verify-at 2020-06-01T00:00:00Z
    assert_cf_status signed-expired good
    assert_file_is "$(cf_dir signed-expired)/smime/signers/0/status" good
    # the signing time is still the signature's own
    assert_file_is "$(cf_dir signed-expired)/smime/signers/0/signing-time" "$(cf_fact signing_time.signed-expired)"
    # alice's certificate was not valid yet in 2020: outside validity
    assert_cf_status signed-sha256 expired
    # openssl agrees on both
    run openssl smime -verify -CAfile "$CF_PKI/ca.pem" -attime "$(date -u -d 2020-06-01T00:00:00Z +%s)" \
        -in "$(cf_file signed-expired)" -out /dev/null
    assert_success
    run openssl smime -verify -CAfile "$CF_PKI/ca.pem" -attime "$(date -u -d 2020-06-01T00:00:00Z +%s)" \
        -in "$(cf_file signed-sha256)" -out /dev/null
    assert_failure
}

@test "--verify-at after not-after: good signatures become expired (RFC 5322 date)" {
    local na at
    na=$(date -u -d "$(cf_x509 "$CF_PKI/alice.pem" not-after)" +%s)
    # one day after alice's (and carol's) certificates ran out; the CA still holds
    at=$(date -u -d "@$((na + 86400))" '+%a, %d %b %Y %H:%M:%S +0000')
    cf_mount --ca "$CF_PKI/ca.pem" --verify-at "$at"
    local s
    for s in signed-sha256 signed-ec opaque-sha256; do
        assert_cf_status "$s" expired
        assert_file_is "$(cf_dir "$s")/smime/signers/0/status" expired
    done
    assert_cf_status signed-expired expired
    run openssl smime -verify -CAfile "$CF_PKI/ca.pem" -attime "$((na + 86400))" \
        -in "$(cf_file signed-sha256)" -out /dev/null
    assert_failure
    assert_output --partial 'expired'
}

# ---------------------------------------------------------------------------
# bad, error

@test "bad: signed text altered after signing" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local m
    m=$(cf_dir signed-bad)
    assert_cf_status signed-bad bad
    assert_file_is "$m/smime/signers/0/status" bad
    assert_file_is "$m/smime/signers/0/serial" "$(cf_x509 "$CF_PKI/bob.pem" serial)"
    # a clear-signed layer always shows its content: here the altered text
    assert_is_dir "$m/smime/content"
    grep -q 'The amount is 900 EUR\.' "$m/smime/content/PidTagBody" ||
        fail "content/PidTagBody does not show the (altered) signed text"
    run openssl smime -verify -noverify -in "$m/message.eml" -out /dev/null
    assert_failure
}

@test "bad: the signer certificate is not in the message (-nocerts)" {
    cf_mount --ca "$CF_PKI/ca.pem"
    assert_cf_status signed-nocert bad
    run openssl smime -verify -CAfile "$CF_PKI/ca.pem" -in "$(cf_dir signed-nocert)/message.eml" -out /dev/null
    assert_failure
    # opaque: the content is there all the same
    assert_same_body "$(cf_dir signed-nocert)/smime/content/PidTagBody" "$CF_PLAIN/signed-nocert.eml"
}

@test "error: a signature part that is not CMS" {
    cf_mount --ca "$CF_PKI/ca.pem"
    local f
    f=$(cf_dir signed-garbage)/smime/status
    [[ -f $f ]] || fail "$f: no such file"
    run cat "$f"
    assert_output --regexp '^error: [^[:space:]].*$'
    assert_equal "$(wc -l <"$f")" 1
    [[ $(tail -c1 "$f" | od -An -c | tr -d ' ') == '\n' ]] || fail "$f does not end with a newline"
    # its neighbours are unaffected
    assert_cf_status signed-sha256 good
}

# ---------------------------------------------------------------------------
# trust anchors

@test "--ca DIR (a directory of PEM files) and --ca system, repeated" {
    cf_mount --ca system --ca "$CF_PKI/ca-dir"
    assert_cf_status signed-sha256 good
    assert_cf_status signed-ec good
    assert_cf_status signed-untrusted untrusted
    assert_cf_status signed-expired expired
}

# ---------------------------------------------------------------------------
# content/ of signed layers

@test "content/ of signed layers without any option: the signed entity, byte for byte" {
    cf_mount
    local m s
    # opaque: content/ exists although nothing is trusted and no key is given
    m=$(cf_dir opaque-sha256)
    assert_cf_status opaque-sha256 untrusted
    assert_is_dir "$m/smime/content"
    assert_same_bytes "$CF_PLAIN/opaque-sha256.eml" "$m/smime/content/message.eml"
    assert_same_body "$m/smime/content/PidTagBody" "$CF_PLAIN/opaque-sha256.eml"
    assert_file_is "$m/smime/content/PidTagMessageClass" IPM.Note
    assert_no_entry "$m/smime/content/smime"
    # clear-signed: the first part, as openssl recovers it
    for s in signed-sha256 signed-ec; do
        m=$(cf_dir "$s")
        openssl smime -verify -noverify -in "$m/message.eml" -out "$BATS_TEST_TMPDIR/$s.content" 2>/dev/null ||
            fail "openssl cannot read $s"
        assert_same_bytes "$BATS_TEST_TMPDIR/$s.content" "$m/smime/content/message.eml"
        assert_same_bytes "$CF_PLAIN/$s.eml" "$m/smime/content/message.eml"
        assert_same_body "$m/smime/content/PidTagBody" "$CF_PLAIN/$s.eml"
        grep -qF "$(cf_fact "token.$s")" "$m/smime/content/PidTagBody" || fail "$s: token not in content/PidTagBody"
    done
}

# ---------------------------------------------------------------------------
# read-only

@test "nothing under smime/ can be written, created or removed; the source is unchanged" {
    local md=$BATS_TEST_TMPDIR/md
    cf_copy_maildir "$md"
    mount_mapifs "$md" --ca "$CF_PKI/ca.pem"
    local m o before f
    m=$MNT/INBOX/$(cf_uniq signed-sha256)
    o=$MNT/INBOX/$(cf_uniq opaque-sha256)
    assert_file_is "$m/smime/status" good
    before=$(tree_state "$md")
    for f in "$m/smime/status" "$m/smime/signers/0/email" "$m/smime/signers/0/status" \
        "$m/smime/signers/0/certificate.pem" "$m/smime/signers/0/serial" \
        "$m/smime/content/PidTagMessageClass" "$m/smime/content/PidTagBody" "$m/smime/content/message.eml" \
        "$o/smime/status" "$o/smime/content/PidTagBody"; do
        [[ -f $f ]] || fail "$f: no such file"
        assert_refused write "$f" 'tampered'
        assert_refused truncate "$f"
    done
    assert_refused create "$m/smime/new-file"
    assert_refused create "$m/smime/signers/0/new-file"
    assert_refused mkdir "$m/smime/signers/1"
    assert_refused mkdir "$m/smime/new-dir"
    assert_refused unlink "$m/smime/status"
    assert_refused unlink "$m/smime/signers/0/email"
    assert_refused rmdir "$m/smime/signers/0"
    assert_refused rename "$m/smime/status" "$m/smime/status2"
    assert_file_is "$m/smime/status" good
    assert_file_is "$m/smime/signers/0/email" alice@example.org
    assert_file_is "$o/smime/status" good
    assert_same_body "$o/smime/content/PidTagBody" "$CF_PLAIN/opaque-sha256.eml"
    assert_same_bytes "$(cf_file signed-sha256)" "$(cf_file signed-sha256 "$md")"
    assert_same_bytes "$(cf_file opaque-sha256)" "$(cf_file opaque-sha256 "$md")"
    [[ $(tree_state "$md") == "$before" ]] || fail "the source Maildir changed"
    daemon_alive
}
