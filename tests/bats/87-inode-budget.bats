#!/usr/bin/env bats
# -o max_inodes=N (issue 11): the daemon's memory does not grow with all
# that was ever looked up.  Beyond about N inodes it asks the kernel to
# forget the least recently looked up entries (the kernel answers with
# FORGET), and whatever is read again afterwards is the same.

load common

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    MD=$BATS_TEST_TMPDIR/src/Maildir
}

# all_files_digest: one digest of the names and contents of every file.
all_files_digest() {
    (cd "$MNT" && find . -type f ! -path './certificates/*' | LC_ALL=C sort |
        xargs -d '\n' md5sum | md5sum)
}

@test "-o max_inodes=50: the kernel is asked to forget, and every file reads the same again" {
    mount_mapifs "$MD" -d -o max_inodes=50
    local first second third forgets
    first=$(all_files_digest)
    second=$(all_files_digest)
    assert_equal "$second" "$first"
    forgets=$(grep -cE 'opcode: (BATCH_)?FORGET' "$MAPIFS_LOG" || true)
    ((forgets > 50)) || fail "only $forgets FORGET requests after reading every file twice"
    # an entry forgotten and looked up again keeps its inode number
    local m=$MNT/INBOX/1700000001.M1P1.plain ino
    ino=$(stat -c %i "$m/PidTagSubject")
    third=$(all_files_digest)
    assert_equal "$third" "$first"
    assert_equal "$(stat -c %i "$m/PidTagSubject")" "$ino"
}

@test "-o max_inodes=0 turns the limit off; a value that is not a number is refused" {
    mount_mapifs "$MD" -d -o max_inodes=0
    all_files_digest >/dev/null
    all_files_digest >/dev/null
    local forgets
    forgets=$(grep -cE 'opcode: (BATCH_)?FORGET' "$MAPIFS_LOG" || true)
    assert_equal "$forgets" 0
    unmount_mapifs
    mkdir -p "$BATS_TEST_TMPDIR/mnt2"
    run --separate-stderr timeout 10 "$MAPIFS" -f -o max_inodes=lots "$MD" "$BATS_TEST_TMPDIR/mnt2"
    assert_failure
    [[ $stderr == *max_inodes* ]] || fail "stderr: $stderr"
}

# big_bodies DIR N: a Maildir of N messages with a 600 KB text body each
# (Python's email package), so that a full object weighs about a megabyte.
big_bodies() {
    python3 - "$1" "$2" <<'PY'
import os, random, sys
from email.message import EmailMessage
md, n = sys.argv[1], int(sys.argv[2])
for d in ("cur", "new", "tmp"):
    os.makedirs(os.path.join(md, d), exist_ok=True)
rnd = random.Random(11)
words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"]
for i in range(n):
    m = EmailMessage()
    m["From"] = "a@example.org"
    m["To"] = "b@example.org"
    m["Subject"] = f"big {i}"
    lines = (" ".join(rnd.choice(words) for _ in range(10)) for _ in range(10000))
    m.set_content("\n".join(lines) + "\n", cte="8bit")
    with open(os.path.join(md, "cur", f"{1700000000 + i}.big{i}.host:2,S"), "wb") as f:
        f.write(bytes(m))
PY
}

# rss_after_bodies [OPTIONS...]: the daemon's VmRSS (kB) after reading
# every PidTagBody twice; the bodies' digest in $BATS_TEST_TMPDIR/bodies.
rss_after_bodies() {
    # ASan keeps freed memory in quarantine (256 MiB): keep it small, so
    # that what the cache gives back counts here as in a normal build.
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1 mount_mapifs "$BIG" "$@"
    local i
    for i in 1 2; do
        (cd "$MNT/INBOX" && cat ./*/PidTagBody | md5sum) >"$BATS_TEST_TMPDIR/bodies"
    done
    awk '/^VmRSS:/ { print $2 }' "/proc/$MAPIFS_PID/status"
    unmount_mapifs
}

@test "-o cache_mb=N bounds the memory of parsed messages, and evicted ones read the same" {
    BIG=$BATS_TEST_TMPDIR/big
    big_bodies "$BIG" 40
    local small large want
    large=$(rss_after_bodies)
    want=$(cat "$BATS_TEST_TMPDIR/bodies")
    small=$(rss_after_bodies -o cache_mb=1)
    assert_equal "$(cat "$BATS_TEST_TMPDIR/bodies")" "$want"
    assert_equal "$want" "$(cd "$BIG/cur" && for f in *; do
        python3 -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); sys.stdout.buffer.write(m.get_payload(decode=True))' "$f"
    done | md5sum)"
    # the default 64 MiB keeps all 40 (some 40 MB); 1 MiB keeps one or two
    echo "# rss: $large kB by default, $small kB with cache_mb=1" >&3
    ((large - small > 16384)) || fail "RSS $small kB with -o cache_mb=1, $large kB by default"

    mkdir -p "$BATS_TEST_TMPDIR/mnt2"
    run --separate-stderr timeout 10 "$MAPIFS" -f -o cache_mb=0 "$BIG" "$BATS_TEST_TMPDIR/mnt2"
    assert_failure
    [[ $stderr == *cache_mb* ]] || fail "stderr: $stderr"
}
