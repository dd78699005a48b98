#!/usr/bin/env bats
# Issue 14, hashes (design.md 9): every top-level message has a read-only
# file "hashes" with the MD5, SHA-1 and SHA-256 of its message.eml, and
# every attachment row that holds data one of its PidTagAttachDataBinary,
# in the lines md5sum/sha1sum/sha256sum --tag print (so "cksum -c hashes"
# checks them); the same values are the xattrs user.mapifs.md5, .sha1 and
# .sha256 of the message directory and of the attachment row.  coreutils
# are the oracle, on the bytes read from the mount and on the source.

load common

setup_file() {
    build_sample
}

setup() {
    require_mapifs
}

# tagged DIR FILE: the three --tag lines coreutils give for DIR/FILE
tagged() {
    (cd "$1" && md5sum --tag "$2" && sha1sum --tag "$2" && sha256sum --tag "$2")
}

# assert_hashes DIR FILE: DIR/hashes is what coreutils say of DIR/FILE,
# "cksum -c" agrees, and the xattrs XDIR (default DIR) carry the same values
assert_hashes() {
    local dir=$1 file=$2 xdir=${3:-$1} want
    want=$(tagged "$dir" "$file")
    assert_equal "$(cat "$dir/hashes")" "$want"
    (cd "$dir" && cksum -c --quiet hashes) || fail "cksum -c $dir/hashes failed"
    local alg sum
    for alg in md5 sha1 sha256; do
        sum=$(cd "$dir" && "${alg}sum" "$file" | cut -d' ' -f1)
        assert_equal "$(getfattr --absolute-names --only-values -n "user.mapifs.$alg" "$xdir")" "$sum"
    done
}

@test "every message and every attachment with data: hashes and xattrs are coreutils' values" {
    mount_mapifs "$SAMPLE_MD" -o ro
    local m a n=0 rows=0 embedded=0
    for m in "$MNT"/INBOX/*/ "$MNT"/Archive.2024/*/; do
        m=${m%/}
        assert_hashes "$m" message.eml
        # of the bytes in the Maildir too
        local src=$SAMPLE_MD/$(getfattr --absolute-names --only-values -n user.mapifs.source "$m")
        assert_equal "$(sha256sum <"$src" | cut -d' ' -f1)" \
            "$(getfattr --absolute-names --only-values -n user.mapifs.sha256 "$m")"
        for a in "$m"/attachments/[0-9]*; do
            [[ -d $a ]] || continue
            if [[ -f $a/PidTagAttachDataBinary ]]; then
                assert_hashes "$a" PidTagAttachDataBinary
                rows=$((rows + 1))
            elif [[ -d $a/PidTagAttachDataObject ]]; then
                # an embedded message: the hashes of its bytes
                assert_hashes "$a" PidTagAttachDataObject/message.eml
                embedded=$((embedded + 1))
            else
                [[ ! -e $a/hashes ]] || fail "$a has hashes but no data"
            fi
        done
        n=$((n + 1))
    done
    ((n == 8 && rows >= 5 && embedded >= 1)) || fail "checked $n messages, $rows attachments, $embedded embedded"
    run ls "$MNT/INBOX/1700000001.M1P1.plain"
    assert_line hashes
    unmount_mapifs
}

@test "hashes are read-only and follow an edit" {
    local src=$BATS_TEST_TMPDIR/src
    copy_sample "$src"
    mount_mapifs "$src/Maildir"
    local m=$MNT/INBOX/1700000001.M1P1.plain before
    before=$(cat "$m/hashes")
    run bash -c "echo x >'$m/hashes'"
    assert_failure
    run rm -f "$m/hashes"
    assert_failure
    assert_equal "$(cat "$m/hashes")" "$before"
    echo 'A new subject' >"$m/PidTagSubject"
    [[ $(cat "$m/hashes") != "$before" ]] || fail "the hashes did not change with the message"
    assert_hashes "$m" message.eml
    unmount_mapifs
}

@test "a 20 MiB attachment is hashed as it is read from the file, as Python decodes it" {
    local md=$BATS_TEST_TMPDIR/big u=1700000400.M1P1.big
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    python3 - "$md/cur/$u:2,S" "$BATS_TEST_TMPDIR/want.sha256" <<'PY'
import sys, os, hashlib, email.message
data = os.urandom(20 * 1024 * 1024 + 777)
m = email.message.EmailMessage()
m["From"] = "a@example.org"; m["To"] = "b@example.org"; m["Subject"] = "big"
m.set_content("see the attachment\n")
m.add_attachment(data, maintype="application", subtype="octet-stream", filename="big.bin")
open(sys.argv[1], "wb").write(bytes(m))
open(sys.argv[2], "w").write(hashlib.sha256(data).hexdigest() + "\n")
PY
    mount_mapifs "$md" -o ro
    local a=$MNT/INBOX/$u/attachments/0
    run getfattr --absolute-names --only-values -n user.mapifs.sha256 "$a"
    assert_output "$(cat "$BATS_TEST_TMPDIR/want.sha256")"
    assert_hashes "$a" PidTagAttachDataBinary
    unmount_mapifs
}

@test "an embedded message, and an attachment inside it, have hashes too" {
    local md=$BATS_TEST_TMPDIR/nested u=1700000500.M1P1.nested
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    python3 - "$md/cur/$u:2,S" "$BATS_TEST_TMPDIR/want" <<'PY'
import sys, hashlib, email.message
inner = email.message.EmailMessage()
inner["From"] = "c@example.org"; inner["To"] = "d@example.org"; inner["Subject"] = "inner"
inner.set_content("the forwarded one\n")
data = bytes(range(256)) * 40
inner.add_attachment(data, maintype="application", subtype="octet-stream", filename="inner.bin")
outer = email.message.EmailMessage()
outer["From"] = "a@example.org"; outer["To"] = "b@example.org"; outer["Subject"] = "outer"
outer.set_content("see the forwarded message\n")
outer.add_attachment(inner)
open(sys.argv[1], "wb").write(bytes(outer))
open(sys.argv[2], "w").write(hashlib.sha256(data).hexdigest() + "\n")
PY
    mount_mapifs "$md" -o ro
    local a=$MNT/INBOX/$u/attachments/0
    assert [ -d "$a/PidTagAttachDataObject" ]
    assert_hashes "$a" PidTagAttachDataObject/message.eml
    local inner=$a/PidTagAttachDataObject/attachments/0
    assert_hashes "$inner" PidTagAttachDataBinary
    run getfattr --absolute-names --only-values -n user.mapifs.sha256 "$inner"
    assert_output "$(cat "$BATS_TEST_TMPDIR/want")"
    unmount_mapifs
}

@test "-o ro: reading every hashes file and xattr changes nothing in the source" {
    local src=$BATS_TEST_TMPDIR/src
    copy_sample "$src"
    find "$src" -printf '%P %s %T@ %m\n' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/before"
    mount_mapifs "$src/Maildir" -o ro
    find "$MNT" -name hashes -exec cat {} + >/dev/null
    getfattr -R -d "$MNT/INBOX" >/dev/null 2>&1 || true
    unmount_mapifs
    find "$src" -printf '%P %s %T@ %m\n' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/after"
    diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" || fail "the source changed"
}
