#!/usr/bin/env bats
# An edit of a header field rewrites the header block and copies the body
# as it is (issue 11; write.c update_header): the body of the stored
# message is the original's byte for byte, also for a big message, and
# Python's email package reads the new header.  Messages the header block
# alone cannot change (S/MIME) still change, the whole way.

load common

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    MD=$BATS_TEST_TMPDIR/src/Maildir
}

# same_body ORIG NEW: everything after the header block is unchanged
same_body() {
    python3 - "$1" "$2" <<'PY'
import sys
a, b = (open(p, 'rb').read() for p in sys.argv[1:3])
def body(x):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = x.find(sep)
        if i >= 0:
            return x[i + len(sep):]
    return b""
sys.exit(0 if body(a) == body(b) and len(body(a)) > 0 else 1)
PY
}

# header_is FILE NAME VALUE: Python's email package reads NAME as VALUE
header_is() {
    python3 - "$@" <<'PY'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
got = m[sys.argv[2]]
sys.exit(0 if str(got) == sys.argv[3] else print(repr(got)) or 1)
PY
}

@test "a subject edit keeps the body of a message with attachments byte for byte" {
    local uniq=1700000003.M3P1.attachments orig=$BATS_TEST_TMPDIR/orig
    cp "$(sample_file "$uniq" "$MD")" "$orig"
    mount_mapifs "$MD"
    local m=$MNT/INBOX/$uniq
    echo "Ein neuer Betreff, äöü" >"$m/PidTagSubject"
    assert_file_is "$m/PidTagSubject" "Ein neuer Betreff, äöü"
    local f
    f=$(sample_file "$uniq" "$MD")
    same_body "$orig" "$f" || fail "the body changed"
    header_is "$f" Subject "Ein neuer Betreff, äöü"
    header_is "$f" Message-ID "<attachments.1700000003@example.org>"
    cmp -s "$m/message.eml" "$f"
}

@test "a header added to a 12 MB message: body kept, new field read back" {
    local src=$BATS_TEST_TMPDIR/big
    mkdir -p "$src/cur" "$src/new" "$src/tmp"
    python3 - "$src/cur/1700000100.M1P1.big:2,S" <<'PY'
import sys, os, email.message
m = email.message.EmailMessage()
m["From"] = "a@example.org"; m["To"] = "b@example.org"; m["Subject"] = "big"
m.set_content("see the attachment\n")
m.add_attachment(os.urandom(9 * 1024 * 1024), maintype="application", subtype="octet-stream",
                 filename="blob.bin")
open(sys.argv[1], "wb").write(bytes(m))
PY
    local f=$src/cur/1700000100.M1P1.big:2,S orig=$BATS_TEST_TMPDIR/orig
    cp "$f" "$orig"
    mount_mapifs "$src"
    local m=$MNT/INBOX/1700000100.M1P1.big
    echo yes >"$m/PS_INTERNET_HEADERS/X-Reviewed"
    assert_file_is "$m/PS_INTERNET_HEADERS/X-Reviewed" yes
    echo 2 >"$m/PidTagImportance"
    assert_file_is "$m/PidTagImportance" 2
    same_body "$orig" "$f" || fail "the body changed"
    header_is "$f" X-Reviewed yes
    header_is "$f" Subject big
    # the attachment reads as it was
    python3 - "$orig" "$m/attachments/0/PidTagAttachDataBinary" <<'PY'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
att = [p for p in m.iter_attachments()][0].get_content()
sys.exit(0 if open(sys.argv[2], 'rb').read() == att else 1)
PY
}

@test "a subject edit of a clear-signed message still works (the whole way)" {
    local uniq=1700000004.M4P1.signed
    mount_mapifs "$MD"
    local m=$MNT/INBOX/$uniq
    echo "Outer subject changed" >"$m/PidTagSubject"
    assert_file_is "$m/PidTagSubject" "Outer subject changed"
    header_is "$(sample_file "$uniq" "$MD")" Subject "Outer subject changed"
}

@test "setting a subject to what it is leaves the file alone" {
    local uniq=1700000003.M3P1.attachments
    mount_mapifs "$MD"
    local f before
    f=$(sample_file "$uniq" "$MD")
    before=$(stat -c '%i %Y' "$f")
    cat "$MNT/INBOX/$uniq/PidTagSubject" >"$BATS_TEST_TMPDIR/s"
    cp "$BATS_TEST_TMPDIR/s" "$MNT/INBOX/$uniq/PidTagSubject"
    assert_equal "$(stat -c '%i %Y' "$(sample_file "$uniq" "$MD")")" "$before"
}
