#!/usr/bin/env bats
# S/MIME messages as MS-OXOSMIME maps them (design.md section 2): the single
# attachment must be usable by openssl as it is.

load common

setup() {
    mount_mapifs "$SAMPLE_MD"
    M_SIGNED=$MNT/INBOX/1700000004.M4P1.signed
    M_OPAQUE=$MNT/INBOX/1700000005.M5P1.opaque
    M_ENC=$MNT/INBOX/1700000006.M6P1.encrypted
}

# ---------------------------------------------------------------------------
# clear-signed (multipart/signed)

@test "clear-signed: class IPM.Note.SMIME.MultipartSigned, exactly one attachment" {
    assert_file_is "$M_SIGNED/PidTagMessageClass" 'IPM.Note.SMIME.MultipartSigned'
    run rows_of "$M_SIGNED/attachments"
    assert_output 0
    assert_file_is "$M_SIGNED/PidTagHasAttachments" 'true'
}

@test "clear-signed: the attachment verifies with openssl smime -verify" {
    run openssl smime -verify -CAfile "$PKI/ca.pem" \
        -in "$M_SIGNED/attachments/0/PidTagAttachDataBinary" -out "$BATS_TEST_TMPDIR/content"
    assert_success
    # the signed content is what openssl recovers from the source file too
    openssl smime -verify -CAfile "$PKI/ca.pem" -in "$(sample_file 1700000004.M4P1.signed)" \
        -out "$BATS_TEST_TMPDIR/content.src" 2>/dev/null
    assert_same_bytes "$BATS_TEST_TMPDIR/content.src" "$BATS_TEST_TMPDIR/content"
}

@test "clear-signed: the attachment is the original Content-Type header and body, byte for byte" {
    local src
    src=$(sample_file 1700000004.M4P1.signed)
    {
        python3 "$HELPER" header-field "$src" Content-Type
        printf '\r\n'
        python3 "$HELPER" body "$src"
    } >"$BATS_TEST_TMPDIR/entity"
    assert_same_bytes "$BATS_TEST_TMPDIR/entity" "$M_SIGNED/attachments/0/PidTagAttachDataBinary"
}

@test "clear-signed: method 1, MIME tag multipart/signed, names SMIME.txt" {
    local a=$M_SIGNED/attachments/0
    assert_file_is "$a/PidTagAttachMethod" '1'
    assert_file_is "$a/PidTagAttachMimeTag" 'multipart/signed'
    assert_file_is "$a/PidTagAttachLongFilename" 'SMIME.txt'
    assert_file_is "$a/PidTagAttachFilename" 'SMIME.txt'
    assert_file_is "$a/PidTagDisplayName" 'SMIME.txt'
}

@test "clear-signed: body promoted from the first body part" {
    [ -f "$M_SIGNED/PidTagBody" ] || fail "no PidTagBody on the clear-signed message"
    grep -q 'this message is clear-signed with S/MIME' "$M_SIGNED/PidTagBody"
    grep -q 'Grüße, Alice' "$M_SIGNED/PidTagBody"
}

# ---------------------------------------------------------------------------
# opaque-signed (application/x-pkcs7-mime; smime-type=signed-data)

@test "opaque-signed: class IPM.Note.SMIME, one attachment, no body" {
    assert_file_is "$M_OPAQUE/PidTagMessageClass" 'IPM.Note.SMIME'
    run rows_of "$M_OPAQUE/attachments"
    assert_output 0
    run test -e "$M_OPAQUE/PidTagBody"
    assert_failure
    run test -e "$M_OPAQUE/PidTagHtml"
    assert_failure
}

@test "opaque-signed: the attachment is DER CMS that openssl cms -verify accepts" {
    run openssl cms -verify -inform DER -CAfile "$PKI/ca.pem" \
        -in "$M_OPAQUE/attachments/0/PidTagAttachDataBinary" -out "$BATS_TEST_TMPDIR/content"
    assert_success
    grep -q 'this message is opaque-signed with S/MIME' "$BATS_TEST_TMPDIR/content"
    openssl smime -verify -CAfile "$PKI/ca.pem" -in "$(sample_file 1700000005.M5P1.opaque)" \
        -out "$BATS_TEST_TMPDIR/content.src" 2>/dev/null
    assert_same_bytes "$BATS_TEST_TMPDIR/content.src" "$BATS_TEST_TMPDIR/content"
}

@test "opaque-signed: PS_INTERNET_HEADERS/Content-Type is the raw Content-Type value" {
    assert_file_is "$M_OPAQUE/PS_INTERNET_HEADERS/Content-Type" \
        "$(python3 "$HELPER" header-raw "$(sample_file 1700000005.M5P1.opaque)" Content-Type)"
    assert_file_is "$M_OPAQUE/PS_INTERNET_HEADERS/Content-Type" \
        'application/x-pkcs7-mime; smime-type=signed-data; name="smime.p7m"'
}

@test "opaque-signed: attachment MIME tag matches the entity's media type" {
    assert_file_is "$M_OPAQUE/attachments/0/PidTagAttachMimeTag" 'application/x-pkcs7-mime'
    assert_file_is "$M_OPAQUE/attachments/0/PidTagAttachMethod" '1'
}

# ---------------------------------------------------------------------------
# encrypted (application/x-pkcs7-mime; smime-type=enveloped-data)

@test "encrypted: class IPM.Note.SMIME, one attachment, no body, raw Content-Type kept" {
    assert_file_is "$M_ENC/PidTagMessageClass" 'IPM.Note.SMIME'
    run rows_of "$M_ENC/attachments"
    assert_output 0
    # the one attachment's file name is its data too
    run names_in "$M_ENC/attachments"
    assert_output smime.p7m
    cmp "$M_ENC/attachments/smime.p7m" "$M_ENC/attachments/0/PidTagAttachDataBinary"
    run test -e "$M_ENC/PidTagBody"
    assert_failure
    assert_file_is "$M_ENC/PS_INTERNET_HEADERS/Content-Type" \
        "$(python3 "$HELPER" header-raw "$(sample_file 1700000006.M6P1.encrypted)" Content-Type)"
    assert_file_is "$M_ENC/attachments/0/PidTagAttachMimeTag" 'application/x-pkcs7-mime'
}

@test "encrypted: the attachment decrypts with bob's key (openssl smime -decrypt -inform DER)" {
    run openssl smime -decrypt -inform DER -recip "$PKI/bob.pem" -inkey "$PKI/bob.key" \
        -in "$M_ENC/attachments/0/PidTagAttachDataBinary" -out "$BATS_TEST_TMPDIR/plain"
    assert_success
    grep -q 'this message is encrypted to you with S/MIME' "$BATS_TEST_TMPDIR/plain"
    openssl smime -decrypt -recip "$PKI/bob.pem" -inkey "$PKI/bob.key" \
        -in "$(sample_file 1700000006.M6P1.encrypted)" -out "$BATS_TEST_TMPDIR/plain.src" 2>/dev/null
    assert_same_bytes "$BATS_TEST_TMPDIR/plain.src" "$BATS_TEST_TMPDIR/plain"
    # openssl cms reads it as well
    run openssl cms -decrypt -inform DER -recip "$PKI/bob.pem" -inkey "$PKI/bob.key" \
        -in "$M_ENC/attachments/0/PidTagAttachDataBinary" -out /dev/null
    assert_success
}

@test "S/MIME message.eml files are the stored files byte for byte" {
    assert_same_bytes "$(sample_file 1700000004.M4P1.signed)" "$M_SIGNED/message.eml"
    assert_same_bytes "$(sample_file 1700000005.M5P1.opaque)" "$M_OPAQUE/message.eml"
    assert_same_bytes "$(sample_file 1700000006.M6P1.encrypted)" "$M_ENC/message.eml"
    # and the mounted copy still verifies
    run openssl smime -verify -CAfile "$PKI/ca.pem" -in "$M_SIGNED/message.eml" -out /dev/null
    assert_success
}
