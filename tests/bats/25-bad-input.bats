#!/usr/bin/env bats
# Bad input (design.md section 7): a message that does not parse still
# appears, with message.eml and whatever properties could be derived; the
# daemon never crashes or hangs.

load common

# make_bad_maildir DIR: a Maildir of malformed messages (deterministic).
make_bad_maildir() {
    local md=$1
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    python3 - "$md" <<'EOF'
import os, random, sys
md = sys.argv[1]
rnd = random.Random(20231114)
def put(name, data):
    with open(os.path.join(md, "cur", name + ":2,S"), "wb") as fh:
        fh.write(data)
crlf = lambda s: s.replace(b"\n", b"\r\n")
put("1800000001.M1P1.empty", b"")
put("1800000002.M2P1.garbage", bytes(rnd.randrange(256) for _ in range(4096)))
put("1800000003.M3P1.nuls", b"\0" * 1000)
put("1800000004.M4P1.noblank", crlf(b"From: a@example.org\nSubject: no blank line"))
put("1800000005.M5P1.bodyonly", crlf(b"\nthis has no header at all\n"))
put("1800000006.M6P1.unterminated", crlf(
    b"From: a@example.org\nSubject: unterminated multipart\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain\n\nbody\n"
    b"--b1\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
    b"Content-Disposition: attachment; filename=\"x.bin\"\n\nAAECAwQF!!!not base64***\n"))
put("1800000007.M7P1.badsmime", crlf(
    b"From: a@example.org\nSubject: broken S/MIME\nMIME-Version: 1.0\n"
    b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\n"
    b"Content-Transfer-Encoding: base64\n\nTm90IGEgQ01TIGJsb2IgYXQgYWxs\n"))
put("1800000008.M8P1.badsigned", crlf(
    b"From: a@example.org\nSubject: broken signed\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256\n\n"
    b"no boundary parameter at all\n"))
deep = b"From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n"
for i in range(300):
    deep += b"Content-Type: multipart/mixed; boundary=\"d%d\"\n\n--d%d\n" % (i, i)
deep += b"Content-Type: text/plain\n\ninnermost\n"
for i in reversed(range(300)):
    deep += b"--d%d--\n" % i
put("1800000009.M9P1.deep", crlf(deep))
put("1800000010.M10P1.longheader", crlf(b"From: a@example.org\nSubject: " + b"x" * 200000 + b"\n\nbody\n"))
put("1800000011.M11P1.badcharset", crlf(
    b"From: =?x-unknown?Q?=FF=FE?= <a@example.org>\nSubject: =?utf-8?B?////?= bad\n"
    b"MIME-Version: 1.0\nContent-Type: text/plain; charset=x-no-such-charset\n\n\xff\xfe\x80 body\n"))
put("1800000012.M12P1.crlines", b"From: a@example.org\rSubject: CR only\r\rbody\r")
put("1800000013.M13P1.badrfc822", crlf(
    b"From: a@example.org\nSubject: broken embedded\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"o\"\n\n--o\nContent-Type: text/plain\n\nouter\n"
    b"--o\nContent-Type: message/rfc822\n\n\x00\x01garbage inside\n--o--\n"))
# a header line that opens with terminal escape sequences (title, clear screen)
put("1800000014.M14P1.escape", b"\x1b]0;pwned\x07\x1b[2J\x1b[31mEvil header\r\nSubject: esc\r\n\r\nbody\r\n")
EOF
}

setup_file() {
    make_bad_maildir "$BATS_FILE_TMPDIR/bad"
}

setup() {
    BAD=$BATS_FILE_TMPDIR/bad
    mount_mapifs "$BAD"
    INBOX=$MNT/INBOX
}

@test "bad input: every message appears as a directory" {
    run ls -A "$INBOX"
    assert_success
    assert_output "$(cd "$BAD/cur" && ls | sed 's/:2,.*//' | LC_ALL=C sort)"
}

@test "bad input: message.eml is there and byte-identical for every message" {
    local f u bad=()
    for f in "$BAD"/cur/*; do
        u=${f##*/}
        u=${u%%:2,*}
        cmp -s "$f" "$INBOX/$u/message.eml" || bad+=("$u")
    done
    ((${#bad[@]} == 0)) || fail "message.eml missing or different: ${bad[*]}"
}

@test "bad input: every message has a PidTagMessageClass and the source xattrs" {
    local f u bad=()
    for f in "$BAD"/cur/*; do
        u=${f##*/}
        u=${u%%:2,*}
        [[ -s $INBOX/$u/PidTagMessageClass ]] || bad+=("$u: no PidTagMessageClass")
        [[ $(xattr "$INBOX/$u" user.mapifs.source 2>/dev/null) == "cur/${f##*/}" ]] || bad+=("$u: user.mapifs.source")
    done
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}")"
    assert_file_is "$INBOX/1800000004.M4P1.noblank/PidTagSubject" 'no blank line'
    assert_file_is "$INBOX/1800000006.M6P1.unterminated/PidTagSubject" 'unterminated multipart'
    assert_file_is "$INBOX/1800000007.M7P1.badsmime/PidTagMessageClass" 'IPM.Note.SMIME'
    assert_file_is "$INBOX/1800000008.M8P1.badsigned/PidTagMessageClass" 'IPM.Note.SMIME.MultipartSigned'
}

@test "bad input: every file reads, sizes are exact, the daemon survives" {
    run timeout 120 find "$MNT" -type f -exec cat {} +
    assert_success
    run timeout 120 python3 "$HELPER" sizes "$MNT"
    assert_success
    run timeout 120 getfattr -R -d -m - --absolute-names "$MNT"
    assert_success
    daemon_alive
    unmount_mapifs
}

@test "bad input: the daemon logs why a message did not parse" {
    find "$MNT" -type f -exec cat {} + >/dev/null
    unmount_mapifs
    run grep -c '^mapifs: ' "$BATS_TEST_TMPDIR/mapifs.log"
    assert_success
}

@test "bad input: each log line is one clear line (prefixed, no control characters)" {
    find "$MNT" -type f -exec cat {} + >/dev/null
    unmount_mapifs
    run grep -avn '^mapifs: ' "$BATS_TEST_TMPDIR/mapifs.log"
    assert_output ''
    # bytes of a message must not reach the examiner's terminal raw
    run env LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/mapifs.log"
    if [[ -n $output ]]; then
        fail "log lines with control characters:"$'\n'"$(env LC_ALL=C grep -naP '[\x00-\x08\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/mapifs.log" | cat -v | cut -c1-200)"
    fi
}
