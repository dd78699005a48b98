#!/usr/bin/env bats
# The S/MIME options (design.md 5) are parsed by one piece of code
# (mapper/crypto-options.c) in mapifs and in mapper-tool: both take the same
# options in the same two forms ("--key FILE" and "--key=FILE"), refuse the
# same mistakes with the same message, and with a good key the tool decrypts
# what the mount decrypts.
# Fixtures: crypto_fixtures.bash (built once per file).

load common
load crypto_fixtures

setup_file() {
    cf_setup_file
}

setup() {
    require_mapifs
    [[ -x $MAPPER_TOOL ]] || fail "MAPPER_TOOL ($MAPPER_TOOL) is not built"
    KEYS=$BATS_TEST_TMPDIR/keys
    mkdir -p "$KEYS"
}

# same_refusal OPTION...: mapifs and mapper-tool both refuse OPTION... with
# a nonzero exit, without mounting, and with the same one-line message after
# their own name.
same_refusal() {
    local mnt=$BATS_TEST_TMPDIR/mnt daemon tool
    mkdir -p "$mnt"
    run --separate-stderr timeout 10 "$MAPIFS" -f "$@" "$CF_MD" "$mnt"
    if mountpoint -q "$mnt"; then
        fusermount3 -u "$mnt" || fusermount3 -uz "$mnt"
        fail "mapifs mounted with: $*"
    fi
    [[ $status != 0 && $status != 124 ]] || fail "mapifs exit status $status with: $*"
    daemon=$stderr
    run --separate-stderr timeout 10 "$MAPPER_TOOL" class "$@" "$(cf_file enc-aes128)"
    [[ $status != 0 && $status != 124 ]] || fail "mapper-tool exit status $status with: $*"
    tool=$(printf '%s\n' "$stderr" | head -1)
    [[ $daemon == "mapifs: "* ]] || fail "mapifs said: $daemon"
    [[ $tool == "mapper-tool: "* ]] || fail "mapper-tool said: $tool"
    [[ ${daemon#mapifs: } == "${tool#mapper-tool: }" ]] ||
        fail "different messages for: $*
mapifs:      $daemon
mapper-tool: $tool"
}

@test "both refuse a group-readable key, PKCS #12 file or pass file, naming it and chmod 600" {
    local k p pass
    k=$KEYS/bob.key
    cp "$CF_PKI/bob.key" "$k"
    chmod 644 "$k"
    same_refusal --key "$k" --cert "$CF_PKI/bob.pem"
    [[ $stderr == *"$k"*"chmod 600"* ]] || fail "mapper-tool: $stderr"
    p=$KEYS/bob.p12
    cp "$CF_PKI/bob.p12" "$p"
    chmod 660 "$p"
    same_refusal --pkcs12 "$p"
    chmod 600 "$p"
    pass=$KEYS/bob.pass
    cp "$CF_PKI/bob.pass" "$pass"
    chmod 640 "$pass"
    same_refusal --pkcs12 "$p" --pass-file "$pass"
}

@test "both refuse unpaired and malformed options the same way" {
    same_refusal --key "$CF_PKI/bob.key"
    same_refusal --pkcs12 "$CF_PKI/bob.p12" --pass-file "$CF_PKI/bob.pass" --pass-file "$CF_PKI/alice.pass"
    same_refusal --verify-at yesterday
    same_refusal --seal-order sideways
    same_refusal --ca "$BATS_TEST_TMPDIR/no-such-ca.pem"
}

@test "mapper-tool takes --key=FILE --cert=FILE as mapifs does, and decrypts what the mount decrypts" {
    local eml=$(cf_file enc-aes128)
    run "$MAPPER_TOOL" cat "--key=$CF_PKI/bob.key" "--cert=$CF_PKI/bob.pem" "$eml" smime/status
    assert_success
    local tool_status=$output
    run "$MAPPER_TOOL" ls "--key=$CF_PKI/bob.key" "--cert=$CF_PKI/bob.pem" "$eml" smime/content
    assert_success
    local tool_content=$output
    cf_mount "--key=$CF_PKI/bob.key" "--cert=$CF_PKI/bob.pem"
    assert_file_is "$(cf_dir enc-aes128)/smime/status" "$tool_status"
    [[ $(ls "$(cf_dir enc-aes128)/smime/content") == "$tool_content" ]] ||
        fail "the mount's smime/content differs from mapper-tool ls: $tool_content"
    [[ -n $tool_content ]] || fail "nothing decrypted"
}
