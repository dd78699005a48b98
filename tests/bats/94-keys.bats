#!/usr/bin/env bats
# Key safety (design.md section 5 options): a --key, --pkcs12 or --pass-file
# file with any group/other permission bit makes mapifs exit 1 before
# mounting, with one line on stderr naming the file and "chmod 600"; safe
# modes are accepted, identities are repeatable; no key material and no
# PKCS#12 password ever appears in the log.
# Fixtures: crypto_fixtures.bash (built once per file).

load common
load crypto_fixtures

setup_file() {
    cf_setup_file
}

setup() {
    require_mapifs
    KEYS=$BATS_TEST_TMPDIR/keys
    mkdir -p "$KEYS"
}

# keycopy SRC MODE: a copy of SRC with MODE, named after both; prints the path.
keycopy() {
    local src=$1 mode=$2 base dst
    base=${src##*/}
    dst=$KEYS/${base%.*}-$mode.${base##*.}
    cp "$src" "$dst"
    chmod "$mode" "$dst"
    [[ $(stat -c %a "$dst") == "$mode" ]] || fail "chmod $mode $dst did not take"
    printf '%s\n' "$dst"
}

# key_body_lines KEYFILE: the base64 lines of a PEM private key.
key_body_lines() {
    sed -e '/^-----/d' -e 's/\r$//' "$1" | awk 'length($0) >= 32'
}

# assert_no_secrets TEXTFILE: no PEM key, no base64 line of the test keys, no
# private exponent, no PKCS#12 password in TEXTFILE.
assert_no_secrets() {
    local text=$1 k hex
    if grep -a 'PRIVATE KEY' "$text"; then
        fail "'PRIVATE KEY' appears in $text"
    fi
    for k in bob alice; do
        if grep -aF -f <(key_body_lines "$CF_PKI/$k.key") "$text"; then
            fail "a line of $k.key appears in $text"
        fi
        # the first 16 bytes of the private exponent, with and without colons
        hex=$(openssl pkey -in "$CF_PKI/$k.key" -noout -text | sed -n '/^privateExponent:/,/^prime1:/p' |
            sed '1d;$d' | tr -d ' \n' | sed 's/^00://' | cut -c1-47)
        [[ ${#hex} == 47 ]] || fail "could not read the private exponent of $k.key"
        if grep -aiF -e "$hex" -e "${hex//:/}" "$text"; then
            fail "$k's private exponent appears in $text"
        fi
        if grep -aF "correct horse $k p12" "$text"; then
            fail "$k's PKCS#12 password appears in $text"
        fi
    done
}

# assert_refused_start FILE OPTION...: "mapifs -f OPTION... SOURCE MNT" exits 1
# without mounting and prints one line naming FILE and "chmod 600".
assert_refused_start() {
    local file=$1 mnt=$BATS_TEST_TMPDIR/mnt
    shift
    mkdir -p "$mnt"
    run --separate-stderr timeout 10 "$MAPIFS" -f "$@" "$CF_MD" "$mnt"
    if mountpoint -q "$mnt"; then
        fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
        fail "mapifs mounted although $file is mode $(stat -c %a "$file")"
    fi
    [[ $status != 124 ]] || fail "mapifs did not exit within 10 s ($file is mode $(stat -c %a "$file"))"
    [[ $status == 1 ]] || fail "exit status $status, expected 1 (stderr: $stderr)"
    [[ -n $stderr ]] || fail "nothing on stderr"
    [[ $(printf '%s\n' "$stderr" | wc -l) == 1 ]] || fail "expected exactly one line on stderr, got: $stderr"
    [[ $stderr == *"$file"* ]] || fail "stderr does not name $file: $stderr"
    [[ $stderr == *"chmod 600"* ]] || fail "stderr does not say 'chmod 600': $stderr"
    [[ -z $output ]] || fail "output on stdout: $output"
    printf '%s\n' "$stderr" >"$BATS_TEST_TMPDIR/stderr"
    assert_no_secrets "$BATS_TEST_TMPDIR/stderr"
}

# ---------------------------------------------------------------------------

@test "--key with a group/other bit (640 604 620 660 644): exit 1, one line with the path and chmod 600, no mount" {
    local mode k
    for mode in 640 604 620 660 644; do
        k=$(keycopy "$CF_PKI/bob.key" "$mode")
        assert_refused_start "$k" --key "$k" --cert "$CF_PKI/bob.pem"
    done
    # also when it is the second of two identities
    k=$(keycopy "$CF_PKI/alice.key" 640)
    assert_refused_start "$k" --key "$CF_PKI/bob.key" --cert "$CF_PKI/bob.pem" --key "$k" --cert "$CF_PKI/alice.pem"
}

@test "--pkcs12 with a group/other bit (644 660): refused the same way" {
    local mode p pass
    pass=$(keycopy "$CF_PKI/bob.pass" 600)
    for mode in 644 660; do
        p=$(keycopy "$CF_PKI/bob.p12" "$mode")
        assert_refused_start "$p" --pkcs12 "$p" --pass-file "$pass"
    done
}

@test "--pass-file with a group/other bit (640 604): refused the same way" {
    local mode p pass
    p=$(keycopy "$CF_PKI/bob.p12" 600)
    for mode in 640 604; do
        pass=$(keycopy "$CF_PKI/bob.pass" "$mode")
        assert_refused_start "$pass" --pkcs12 "$p" --pass-file "$pass"
    done
}

@test "modes 600 and 400 are accepted; a PEM and a PKCS#12 identity together" {
    local k c p pass
    k=$(keycopy "$CF_PKI/bob.key" 400)
    # certificates are public: a 644 --cert is fine
    c=$(keycopy "$CF_PKI/bob.pem" 644)
    p=$(keycopy "$CF_PKI/alice.p12" 600)
    pass=$(keycopy "$CF_PKI/alice.pass" 400)
    cf_mount --key "$k" --cert "$c" --pkcs12 "$p" --pass-file "$pass"
    assert_cf_status enc-aes128 not-signed
    assert_cf_status enc-to-alice not-signed
    [[ -d $(cf_dir enc-to-alice)/smime/content ]] || fail "enc-to-alice not decrypted"
}

@test "two --key/--cert pairs: both identities decrypt" {
    cf_mount --key "$CF_PKI/alice.key" --cert "$CF_PKI/alice.pem" --key "$CF_PKI/bob.key" --cert "$CF_PKI/bob.pem"
    assert_cf_status enc-aes128 not-signed
    assert_cf_status enc-to-alice not-signed
    assert_cf_status enc-aes256gcm not-signed
}

@test "no key material and no PKCS#12 password in the log, even with -d" {
    cf_mount -d --key "$CF_PKI/bob.key" --cert "$CF_PKI/bob.pem" \
        --pkcs12 "$CF_PKI/alice.p12" --pass-file "$CF_PKI/alice.pass" --ca "$CF_PKI/ca.pem"
    # use both keys
    local s
    for s in "${CF_ENC_STEMS[@]}" enc-to-alice nested-sign-enc nested-enc-sign; do
        find "$(cf_dir "$s")" -type f -exec cat {} + >/dev/null
    done
    assert_cf_status enc-aes128 not-signed
    assert_cf_status enc-to-alice not-signed
    unmount_mapifs
    [[ -s $MAPIFS_LOG ]] || fail "the daemon wrote no log at all with -d (is -d passed on?)"
    assert_no_secrets "$MAPIFS_LOG"
}
