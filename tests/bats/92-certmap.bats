#!/usr/bin/env bats
# The address -> certificate map at MOUNT/certificates/ (design.md section 5,
# SMTP-ADDR-DC-CERT-MAP): filled from good signatures only, the later signing
# time wins whatever the reading order, listed without opening any message,
# preloaded with --certs DIR.
# Fixtures: crypto_fixtures.bash (built once per file).

load common
load write_common
load crypto_fixtures

setup_file() {
    cf_setup_file
}

# cert_list: the names in MOUNT/certificates/, sorted, one a line.
cert_list() {
    ls -A "$MNT/certificates" | LC_ALL=C sort
}

# assert_map_is NAME...: certificates/ holds exactly these entries.
assert_map_is() {
    local want got
    want=$(printf '%s\n' "$@" | sed '/^$/d' | LC_ALL=C sort)
    [[ -d $MNT/certificates ]] || fail "$MNT/certificates is not a directory"
    got=$(cert_list)
    [[ $got == "$want" ]] || fail "$(printf 'certificates/ holds\n%s\n-- expected --\n%s' "$got" "$want")"
}

# assert_map_cert ADDRESS CERT: certificates/ADDRESS.pem is a PEM file with
# the certificate CERT.
assert_map_cert() {
    local f=$MNT/certificates/$1.pem
    [[ -f $f ]] || fail "$f: no such file (certificates/: $(cert_list | tr '\n' ' '))"
    head -1 "$f" | grep -qx -e '-----BEGIN CERTIFICATE-----' || fail "$f is not PEM"
    cf_same_cert "$f" "$2" || fail "$f holds $(cf_x509 "$f" subject) serial $(cf_x509 "$f" serial), expected $(cf_x509 "$2" subject) serial $(cf_x509 "$2" serial)"
}

# read_status STEM...: read smime/status of each message, in this order.
read_status() {
    local s
    for s in "$@"; do
        cat "$(cf_dir "$s")/smime/status" >/dev/null
    done
}

# two_message_maildir DEST FIRST SECOND: a Maildir with only these two
# fixture messages; FIRST gets the smaller (earlier) file name.
two_message_maildir() {
    local dest=$1
    mkdir -p "$dest/cur" "$dest/new" "$dest/tmp"
    cp -p "$(cf_file "$2")" "$dest/cur/1720000001.M1P1.$2:2,S"
    cp -p "$(cf_file "$3")" "$dest/cur/1720000002.M2P1.$3:2,S"
}

@test "ls certificates/ right after mounting lists every good signer and nothing else" {
    cf_mount --ca "$CF_PKI/ca.pem"
    # the very first operation: no message has been opened
    assert_map_is alice@example.org.pem carol@example.org.pem
    assert_map_cert carol@example.org "$CF_PKI/carol.pem"
    # alice: map-new (alice2.pem) carries the latest signing time of all
    # alice@example.org signatures
    assert_map_cert alice@example.org "$CF_PKI/alice2.pem"
    # not entered: dave (expired), mallory (untrusted), bob (bad, no certificate)
    assert_no_entry "$MNT/certificates/dave@example.org.pem"
    assert_no_entry "$MNT/certificates/mallory@example.org.pem"
    assert_no_entry "$MNT/certificates/bob@example.org.pem"
    # reading every status changes nothing
    read_status "${!CF_SIGNER[@]}" signed-garbage
    assert_cf_status signed-expired expired
    assert_cf_status signed-untrusted untrusted
    assert_cf_status signed-bad bad
    assert_map_is alice@example.org.pem carol@example.org.pem
    assert_map_cert alice@example.org "$CF_PKI/alice2.pem"
}

@test "without --ca (all untrusted) certificates/ stays empty" {
    cf_mount
    assert_map_is
    read_status "${!CF_SIGNER[@]}"
    assert_cf_status signed-sha256 untrusted
    assert_map_is
}

@test "--verify-at decides what is good, and so what enters: only dave in 2020" {
    cf_mount --ca "$CF_PKI/ca.pem" --verify-at 2020-06-01T00:00:00Z
    assert_map_is dave@example.org.pem
    assert_map_cert dave@example.org "$CF_PKI/dave.pem"
    assert_cf_status signed-expired good
    assert_cf_status signed-sha256 expired
    assert_map_is dave@example.org.pem
}

@test "the later signing time wins, whichever message is listed or read first" {
    # map-new is signed later than map-old, but its Date header and file
    # mtime are the older ones: only the signing time can decide
    [[ $(cf_fact signing_time.map-old) < $(cf_fact signing_time.map-new) ]] ||
        fail "fixture: map-old is not signed before map-new"
    local a=$BATS_TEST_TMPDIR/old-first b=$BATS_TEST_TMPDIR/new-first c=$BATS_TEST_TMPDIR/old-only

    two_message_maildir "$a" map-old map-new
    mount_mapifs "$a" --ca "$CF_PKI/ca.pem"
    cat "$MNT/INBOX/1720000001.M1P1.map-old/smime/status" >/dev/null
    cat "$MNT/INBOX/1720000002.M2P1.map-new/smime/status" >/dev/null
    assert_map_is alice@example.org.pem
    assert_map_cert alice@example.org "$CF_PKI/alice2.pem"
    unmount_mapifs

    two_message_maildir "$b" map-new map-old
    mount_mapifs "$b" --ca "$CF_PKI/ca.pem"
    cat "$MNT/INBOX/1720000001.M1P1.map-new/smime/status" >/dev/null
    cat "$MNT/INBOX/1720000002.M2P1.map-old/smime/status" >/dev/null
    assert_map_is alice@example.org.pem
    assert_map_cert alice@example.org "$CF_PKI/alice2.pem"
    unmount_mapifs

    # the map's file first, before any message: still the later one
    mount_mapifs "$b" --ca "$CF_PKI/ca.pem"
    assert_map_cert alice@example.org "$CF_PKI/alice2.pem"
    unmount_mapifs

    # control: map-old alone does enter
    mkdir -p "$c/cur" "$c/new" "$c/tmp"
    cp -p "$(cf_file map-old)" "$c/cur/"
    mount_mapifs "$c" --ca "$CF_PKI/ca.pem"
    assert_map_is alice@example.org.pem
    assert_map_cert alice@example.org "$CF_PKI/alice.pem"
}

@test "--certs DIR preloads every address of every certificate (.pem, .crt, .der)" {
    cf_mount --certs "$CF_PRELOAD"
    # frank's certificate holds two addresses: SAN frank.work@example.net and
    # subject emailAddress Frank@Example.ORG (file names are lower-case)
    assert_map_is bob@example.org.pem erin@example.org.pem frank@example.org.pem frank.work@example.net.pem
    assert_map_cert bob@example.org "$CF_PKI/bob.pem"
    assert_map_cert erin@example.org "$CF_PKI/erin.pem"
    assert_map_cert frank@example.org "$CF_PKI/frank.pem"
    assert_map_cert frank.work@example.net "$CF_PKI/frank.pem"
}

@test "--certs and good signatures together" {
    cf_mount --certs "$CF_PRELOAD" --ca "$CF_PKI/ca.pem"
    assert_map_is alice@example.org.pem bob@example.org.pem carol@example.org.pem \
        erin@example.org.pem frank@example.org.pem frank.work@example.net.pem
    assert_map_cert alice@example.org "$CF_PKI/alice2.pem"
    assert_map_cert carol@example.org "$CF_PKI/carol.pem"
    assert_map_cert bob@example.org "$CF_PKI/bob.pem"
    # a preloaded address that also signed badly keeps its preloaded certificate
    assert_cf_status signed-bad bad
    assert_map_cert bob@example.org "$CF_PKI/bob.pem"
}
