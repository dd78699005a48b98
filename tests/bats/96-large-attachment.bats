#!/usr/bin/env bats
# A large attachment is read from the message file as it is read, not held
# in memory (issue 11; mapper_message_load_file, cache_read_deferred): its
# bytes are what Python's email package decodes, at any offset; the daemon
# does not grow by the attachment's size; a message replaced by another
# program reads as the new one; and an append to the attachment keeps
# what was there.

load common

setup() {
    SRC=$BATS_TEST_TMPDIR/src
    mkdir -p "$SRC/cur" "$SRC/new" "$SRC/tmp"
    UNIQ=1700000200.M1P1.large
    FILE=$SRC/cur/$UNIQ:2,S
    make_message "$FILE" 24 big.bin
}

# make_message FILE MIB NAME: a message with a random attachment of MIB MiB
make_message() {
    python3 - "$@" <<'PY'
import sys, os, email.message
path, mib, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = email.message.EmailMessage()
m["From"] = "a@example.org"; m["To"] = "b@example.org"; m["Subject"] = "large " + name
m.set_content("see the attachment\n")
m.add_attachment(os.urandom(mib * 1024 * 1024 + 12345), maintype="application",
                 subtype="octet-stream", filename=name)
tmp = path + ".tmp"
open(tmp, "wb").write(bytes(m))
os.rename(tmp, path)
PY
}

# decoded FILE OUT: the attachment as Python's email package decodes it
decoded() {
    python3 - "$1" "$2" <<'PY'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
open(sys.argv[2], 'wb').write([p for p in m.iter_attachments()][0].get_content())
PY
}

rss_kb() { awk "/^$2:/ { print \$2 }" "/proc/$1/status"; }

@test "a 24 MiB attachment reads as Python decodes it, whole and at any offset" {
    decoded "$FILE" "$BATS_TEST_TMPDIR/want"
    mount_mapifs "$SRC" -o ro
    local a=$MNT/INBOX/$UNIQ/attachments/0
    assert_equal "$(stat -c %s "$a/PidTagAttachDataBinary")" "$(stat -c %s "$BATS_TEST_TMPDIR/want")"
    assert_file_is "$a/PidTagAttachSize" "$(stat -c %s "$BATS_TEST_TMPDIR/want")"
    assert_file_is "$a/PidTagAttachLongFilename" big.bin
    cmp "$a/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/want"
    # random reads, backwards and forwards, with odd sizes
    python3 - "$a/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/want" <<'PY'
import sys, random
got, want = open(sys.argv[1], 'rb', buffering=0), open(sys.argv[2], 'rb').read()
r = random.Random(7)
for i in range(300):
    off = r.randrange(len(want) + 10)
    n = r.choice([1, 3, 4095, 4096, 70001, 131072, 1 << 20])
    os_got = __import__('os').pread(got.fileno(), n, off)
    if os_got != want[off:off + n]:
        sys.exit("pread of %d at %d differs" % (n, off))
PY
    cmp "$MNT/INBOX/$UNIQ/message.eml" "$FILE"
    # its file name (issue 13) reads the same bytes from the file
    cmp "$MNT/INBOX/$UNIQ/attachments/big.bin" "$BATS_TEST_TMPDIR/want"
}

@test "reading it does not grow the daemon by the attachment's size" {
    # ASan keeps freed memory in quarantine (256 MB): RSS says nothing there
    if nm -D "$MAPIFS" 2>/dev/null | grep -q __asan_init || ldd "$MAPIFS" | grep -q libasan; then
        skip "RSS is not the daemon's memory under AddressSanitizer"
    fi
    mount_mapifs "$SRC" -o ro
    ls "$MNT/INBOX/$UNIQ/attachments/0" >/dev/null
    local idle peak size
    idle=$(rss_kb "$MAPIFS_PID" VmRSS)
    cat "$MNT/INBOX/$UNIQ/attachments/0/PidTagAttachDataBinary" >/dev/null
    peak=$(rss_kb "$MAPIFS_PID" VmHWM)
    size=$(($(stat -c %s "$FILE") / 1024))
    # held in memory it took the file and the decoded bytes: 56 MB more
    (((peak - idle) * 4 < size)) || fail "RSS went from $idle kB to a peak of $peak kB for a $size kB message"
}

@test "a message replaced by another program reads as the new one" {
    mount_mapifs "$SRC"
    local a=$MNT/INBOX/$UNIQ/attachments/0
    head -c 1000 "$a/PidTagAttachDataBinary" >/dev/null
    make_message "$FILE" 6 other.bin
    decoded "$FILE" "$BATS_TEST_TMPDIR/want"
    wait_until "$CHANGE_TIMEOUT" cmp -s "$a/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/want" ||
        fail "the attachment still reads as the old one"
    assert_file_is "$a/PidTagAttachLongFilename" other.bin
}

@test "an append to the attachment keeps its bytes; a subject edit keeps the attachment" {
    decoded "$FILE" "$BATS_TEST_TMPDIR/want"
    mount_mapifs "$SRC"
    local m=$MNT/INBOX/$UNIQ
    printf 'appended' >>"$m/attachments/0/PidTagAttachDataBinary"
    printf 'appended' >>"$BATS_TEST_TMPDIR/want"
    local f
    f=$(ls "$SRC"/cur/"$UNIQ"*)
    decoded "$f" "$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
    cmp "$m/attachments/0/PidTagAttachDataBinary" "$BATS_TEST_TMPDIR/want"
    echo "a new subject" >"$m/PidTagSubject"
    assert_file_is "$m/PidTagSubject" "a new subject"
    f=$(ls "$SRC"/cur/"$UNIQ"*)
    decoded "$f" "$BATS_TEST_TMPDIR/got"
    cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}
