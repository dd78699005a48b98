#!/usr/bin/env bats
# Issue 13, point 2: every mapifs option also has a "-o name=value" form, so
# that an fstab line and "mount -t fuse.mapifs" carry all of them, as sshfs's
# options do; df and findmnt show the mailbox as the source.
#
# mount(8) runs mount.fuse3, which runs "mapifs" from the fixed PATH that
# mount(8) gives its helpers (/usr/local/sbin first).  So that nothing on the
# machine changes, the fstab tests run in a private mount namespace in which
# a directory holding the built mapifs is bound over /usr/local/sbin.

load common

setup_file() {
    build_sample
}

setup() {
    require_mapifs
    local t
    for t in unshare mount.fuse3 findmnt; do
        command -v "$t" >/dev/null || missing_prerequisite "$t (util-linux, fuse3) is not installed"
    done
    MNT=$BATS_TEST_TMPDIR/mnt
    mkdir -p "$MNT" "$BATS_TEST_TMPDIR/sbin"
    ln -s "$MAPIFS" "$BATS_TEST_TMPDIR/sbin/mapifs"
    ENC=$MNT/INBOX/1700000006.M6P1.encrypted
}

# in_namespace SCRIPT: run the bash SCRIPT in a private mount namespace
# where mount(8) finds this build's mapifs; it must unmount what it mounts.
# In a chroot "/" is no mount point and cannot be made private; then, on a
# CI machine only (a throwaway one), a link in /usr/local/sbin stands in for
# the namespace for the time of the test.
in_namespace() {
    if unshare -m --propagation private true 2>/dev/null; then
        unshare -m --propagation private bash -euc "
            mount --bind '$BATS_TEST_TMPDIR/sbin' /usr/local/sbin
            $1"
        return
    fi
    [[ ${CI:-} == true && ! -e /usr/local/sbin/mapifs ]] ||
        missing_prerequisite "no private mount namespace here (a chroot?), and /usr/local/sbin is not ours to change"
    ln -s "$MAPIFS" /usr/local/sbin/mapifs
    LINKED=/usr/local/sbin/mapifs
    local rc=0
    bash -euc "$1" || rc=$?
    rm -f "$LINKED"
    LINKED=
    return "$rc"
}

teardown() {
    [[ -z ${LINKED:-} ]] || rm -f "$LINKED"
    mapifs_teardown
}

# mounted_with COMMAND: run the mount COMMAND in the namespace, then check
# the mount that got forensic, a key and ca through -o: the source and type
# findmnt shows, a message decrypted with the key ("no-key" without it), a
# write refused; and unmount.
mounted_with() {
    export MNT ENC SAMPLE_MD
    run in_namespace "
        $1
        findmnt -n -o SOURCE,FSTYPE \"\$MNT\"
        cat \"\$ENC/smime/status\"
        ls \"\$ENC/smime/content\"
        if touch \"\$MNT/INBOX/x\" 2>/dev/null; then echo 'touch: accepted'; else echo 'touch: refused'; fi
        fusermount3 -u \"\$MNT\""
    assert_success
    assert_line --index 0 "$SAMPLE_MD fuse.mapifs"
    assert_line --index 1 'not-signed'
    assert_line PidTagBody
    assert_line 'touch: refused'
}

@test "mount -t fuse.mapifs takes forensic, key=, cert=, ca= and log= as -o options" {
    local log=$BATS_TEST_TMPDIR/mount.log
    mounted_with "mount -t fuse.mapifs \"\$SAMPLE_MD\" \"\$MNT\" \
        -o forensic,key=$PKI/bob.key,cert=$PKI/bob.pem,ca=$PKI/ca.pem,log=$log"
    [[ -f $log ]] || fail "-o log=$log: not opened"
}

@test "an fstab line with mapifs options mounts with mount -a -T FSTAB -O" {
    local log=$BATS_TEST_TMPDIR/fstab.log fstab=$BATS_TEST_TMPDIR/fstab
    local p12=$BATS_TEST_TMPDIR/bob.p12 pass=$BATS_TEST_TMPDIR/bob.pass
    printf 'secret\n' >"$pass"
    chmod 600 "$pass"
    openssl pkcs12 -export -inkey "$PKI/bob.key" -in "$PKI/bob.pem" -passout "file:$pass" \
        -out "$p12" || fail "openssl pkcs12 -export failed"
    chmod 600 "$p12"
    # underscores as fstab writers use them, and a comma escaped in a value
    mkdir -p "$BATS_TEST_TMPDIR/a,b"
    cp "$PKI/ca.pem" "$BATS_TEST_TMPDIR/a,b/ca.pem"
    printf '%s %s fuse.mapifs x-mapifs-test,forensic,pkcs12=%s,pass_file=%s,ca=%s,log=%s 0 0\n' \
        "$SAMPLE_MD" "$MNT" "$p12" "$pass" \
        "${BATS_TEST_TMPDIR//,/\\,}/a\\,b/ca.pem" "$log" >"$fstab"
    printf '/nonexistent /nonexistent fuse.mapifs noauto 0 0\n' >>"$fstab"
    export fstab
    mounted_with 'mount -a -T "$fstab" -O x-mapifs-test'
}

@test "every crypto option is the same with -o: a missing value or a bad key is refused" {
    run --separate-stderr timeout 10 "$MAPIFS" -f -o ro,ca "$SAMPLE_MD" "$MNT"
    assert_failure 2
    [[ $stderr == "mapifs: -o ca needs a value (-o ca=...)" ]] || fail "stderr: $stderr"
    # the same refusal as "--key" alone (tests 12-crypto-options)
    run --separate-stderr timeout 10 "$MAPIFS" -f -o "key=$PKI/bob.key" "$SAMPLE_MD" "$MNT"
    assert_failure
    local o_form=$stderr
    run --separate-stderr timeout 10 "$MAPIFS" -f --key "$PKI/bob.key" "$SAMPLE_MD" "$MNT"
    assert_failure
    [[ -n $stderr && $stderr == "$o_form" ]] || fail "-o key= said: $o_form; --key said: $stderr"
    run mountpoint -q "$MNT"
    assert_failure
}

@test "-o options mixed with FUSE options mount as the long forms do" {
    mount_mapifs "$SAMPLE_MD" -o "ro,seal_order=encrypt-then-sign,key=$PKI/bob.key" \
        -o "cert=$PKI/bob.pem,verify-at=2024-01-01T00:00:00Z,max_inodes=500"
    assert_file_is "$ENC/smime/status" not-signed
    [[ -f $ENC/smime/content/PidTagBody ]] || fail "not decrypted with -o key=,cert="

    run findmnt -n -o SOURCE,FSTYPE,OPTIONS "$MNT"
    assert_output --regexp "^$SAMPLE_MD fuse.mapifs ro,"
    unmount_mapifs
}
