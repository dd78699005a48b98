#!/usr/bin/env bats
# Symlinks inside the mailbox are never followed (design.md section 8; issue
# 9 B), with and without -o ro: a symlinked message file (cur/, new/, a
# Maildir++ folder, an .eml of a tree), a symlinked Maildir++ folder, a
# symlinked eml subdirectory, a Maildir whose cur/ or new/ is a symlink to
# another Maildir's: none of them shows, each skipped entry is one log line
# (not error level) naming it, and the messages beside them still work.  A
# message file replaced by a symlink after it was listed never shows the
# target's bytes, through any file or xattr.

load common

PLAIN=1700000001.M1P1.plain
ATT=1700000003.M3P1.attachments

# the first bytes of /etc/passwd ("root:x:0:0:"), and a token carried by
# the secret message outside the mailbox: neither may ever be read through
# the mount
PASSWD_MARK=root:x:0:0
SECRET_MARK=SECRET-26-symlinks-f3a9c1

setup() {
    SRC=$BATS_TEST_TMPDIR/src
    copy_sample "$SRC"
    MD=$SRC/Maildir
    EML=$SRC/eml-tree
    # outside the mount source: a message file, a Maildir, an eml directory
    OUT=$BATS_TEST_TMPDIR/outside
    mkdir -p "$OUT/Maildir/cur" "$OUT/Maildir/new" "$OUT/Maildir/tmp" "$OUT/eml"
    SECRET=$OUT/secret.eml
    # the token opens the file: even a read of a few bytes would show it
    printf '%s\r\n' "X-Secret: $SECRET_MARK" "From: Mallory <mallory@example.org>" \
        "To: Bob Example <bob@example.org>" "Subject: $SECRET_MARK subject" \
        "Date: Wed, 15 Nov 2023 10:00:00 +0000" "Message-ID: <secret@example.org>" \
        "" "$SECRET_MARK body" >"$SECRET"
    cp "$SECRET" "$OUT/Maildir/cur/1800000100.M100P1.outside:2,S"
    cp "$SECRET" "$OUT/Maildir/new/1800000101.M101P1.outsidenew"
    cp "$SECRET" "$OUT/eml/outside.eml"
    grep -q "^$PASSWD_MARK" /etc/passwd || fail "/etc/passwd does not start with $PASSWD_MARK"
}

# ---------------------------------------------------------------------------
# helpers

log_mark() {
    LOG_MARK=0
    if [[ -f $BATS_TEST_TMPDIR/mapifs.log ]]; then
        LOG_MARK=$(wc -l <"$BATS_TEST_TMPDIR/mapifs.log")
    fi
}

new_log() {
    tail -n +"$((LOG_MARK + 1))" "$BATS_TEST_TMPDIR/mapifs.log" 2>/dev/null
}

# mount_marked SOURCE OPTION...: log_mark, then mount.
mount_marked() {
    log_mark
    mount_mapifs "$@"
}

# assert_skip_logged WORD: since the mount, exactly one log line mentions
# WORD (the skipped entry), and it is not an error-level line.
assert_skip_logged() {
    local word=$1 n lines
    lines=$(new_log | grep -F -- "$word")
    n=$(grep -c . <<<"$lines")
    if [[ $n != 1 ]]; then
        fail "$(
            echo "expected exactly one log line naming the skipped symlink '$word', found $n; log of this mount:"
            new_log | head -30
        )"
    fi
    if [[ $lines == 'mapifs: error: '* ]]; then
        fail "a skipped symlink is not an error, but it was logged as one: $lines"
    fi
}

# assert_enoent PATH: PATH does not exist in the mount.
assert_enoent() {
    run stat -- "$1"
    assert_failure
    assert_output --partial 'No such file or directory'
}

# assert_listing DIR NAME...: ls -A DIR shows exactly NAME...
assert_listing() {
    local dir=$1
    shift
    run ls -A "$dir"
    assert_success
    assert_output "$(printf '%s\n' "$@" | LC_ALL=C sort)"
}

# assert_nothing_leaked: no file or xattr under the mount holds a byte of
# the symlink targets (only names are printed, never contents).
assert_nothing_leaked() {
    local hits
    hits=$(grep -rlaF -e "$PASSWD_MARK" -e "$SECRET_MARK" "$MNT" 2>/dev/null || true)
    [[ -z $hits ]] || fail "bytes of a symlink target are readable through: $hits"
    hits=$(getfattr -R -d -m - --absolute-names "$MNT" 2>/dev/null |
        grep -aF -e "$PASSWD_MARK" -e "$SECRET_MARK" -e "$(sha256sum <"$SECRET" | cut -d' ' -f1)" \
            -e "$(sha256sum </etc/passwd | cut -d' ' -f1)" || true)
    [[ -z $hits ]] || fail "xattrs carry data of a symlink target: $hits"
}

# assert_sample_messages_work: the sample's own messages are all there and
# read as stored.
assert_sample_messages_work() {
    local u f
    for u in "${SAMPLE_INBOX_NAMES[@]}"; do
        f=$(sample_file "$u" "$MD")
        assert_same_bytes "$f" "$MNT/INBOX/$u/message.eml"
    done
    assert_file_is "$MNT/INBOX/$PLAIN/PidTagSubject" 'Grüße aus Köln'
    assert_listing "$MNT/Archive.2024" "${SAMPLE_ARCHIVE_NAMES[@]}"
}

# ---------------------------------------------------------------------------

@test "symlinked message files in cur/ and new/ are not shown (rw and -o ro)" {
    ln -s /etc/shadow "$MD/cur/1800000001.M1P1.shadow:2,S"
    ln -s /etc/passwd "$MD/new/1800000002.M2P1.passwd"
    ln -s "$SECRET" "$MD/cur/1800000003.M3P1.secret:2,S"
    # even a link to a message of the same Maildir is not followed
    ln -s "../cur/$PLAIN:2,S" "$MD/new/1800000004.M4P1.inside"
    ln -s "$SECRET" "$MD/.Archive.2024/cur/1800000005.M5P1.archlink:2,RS"
    local links=(1800000001.M1P1.shadow 1800000002.M2P1.passwd 1800000003.M3P1.secret
        1800000004.M4P1.inside) opts l
    for opts in rw ro; do
        if [[ $opts == ro ]]; then mount_marked "$MD" -o ro; else mount_marked "$MD"; fi
        assert_listing "$MNT/INBOX" "${SAMPLE_INBOX_NAMES[@]}"
        assert_listing "$MNT/Archive.2024" "${SAMPLE_ARCHIVE_NAMES[@]}"
        for l in "${links[@]}"; do
            assert_enoent "$MNT/INBOX/$l"
            assert_enoent "$MNT/INBOX/$l/message.eml"
            assert_enoent "$MNT/INBOX/$l/PidTagSubject"
        done
        assert_enoent "$MNT/Archive.2024/1800000005.M5P1.archlink"
        # a second listing: still not there, still one log line each
        assert_listing "$MNT/INBOX" "${SAMPLE_INBOX_NAMES[@]}"
        assert_sample_messages_work
        assert_nothing_leaked
        for l in "${links[@]}" 1800000005.M5P1.archlink; do
            assert_skip_logged "$l"
        done
        unmount_mapifs
    done
}

@test "a symlinked Maildir++ folder is not shown (rw and -o ro)" {
    ln -s "$OUT/Maildir" "$MD/.Evil"
    ln -s "$OUT/Maildir" "$MD/.Archive.Bad"
    local opts
    for opts in rw ro; do
        if [[ $opts == ro ]]; then mount_marked "$MD" -o ro; else mount_marked "$MD"; fi
        run ls -A "$MNT"
        assert_success
        refute_output --partial Evil
        refute_output --partial Bad
        assert_line INBOX
        assert_line Archive.2024
        assert_enoent "$MNT/Evil"
        assert_enoent "$MNT/Evil/1800000100.M100P1.outside"
        assert_enoent "$MNT/Archive.Bad"
        assert_enoent "$MNT/Archive/Bad"
        run find "$MNT" -maxdepth 2 \( -name '*Evil*' -o -name '*Bad*' \)
        assert_output ''
        run find "$MNT" -maxdepth 3 -name '18000001*'
        assert_output ''
        assert_sample_messages_work
        assert_nothing_leaked
        assert_skip_logged .Evil
        assert_skip_logged .Archive.Bad
        unmount_mapifs
    done
}

@test "eml tree: a symlinked .eml and a symlinked subdirectory are not shown (rw and -o ro)" {
    ln -s /etc/passwd "$EML/inbox/passwd.eml"
    ln -s "$SECRET" "$EML/inbox/secret.eml"
    ln -s ../../inbox/hello.eml "$EML/projects/x/inside.eml"
    ln -s "$OUT/eml" "$EML/linkedtop"
    ln -s "$OUT/eml" "$EML/projects/subdirlink"
    local opts
    for opts in rw ro; do
        if [[ $opts == ro ]]; then mount_marked "$EML" -o ro; else mount_marked "$EML"; fi
        assert_listing "$MNT/inbox" hello signed
        assert_enoent "$MNT/inbox/passwd"
        assert_enoent "$MNT/inbox/secret"
        assert_enoent "$MNT/projects/x/inside"
        assert_enoent "$MNT/linkedtop"
        assert_enoent "$MNT/linkedtop/outside"
        assert_enoent "$MNT/projects/subdirlink"
        run ls -A "$MNT"
        refute_line linkedtop
        run ls -A "$MNT/projects"
        assert_line x
        refute_line subdirlink
        run find "$MNT" -name outside
        assert_output ''
        assert_same_bytes "$EML/inbox/hello.eml" "$MNT/inbox/hello/message.eml"
        assert_same_bytes "$EML/projects/x/report.eml" "$MNT/projects/x/report/message.eml"
        assert_file_is "$MNT/inbox/hello/PidTagSubject" 'Grüße aus Köln'
        assert_nothing_leaked
        assert_skip_logged passwd.eml
        assert_skip_logged secret.eml
        assert_skip_logged inside.eml
        assert_skip_logged linkedtop
        assert_skip_logged subdirlink
        unmount_mapifs
    done
}

@test "a Maildir whose cur/ or new/ is a symlink to another Maildir's shows nothing from it (rw and -o ro)" {
    # cur/ is a link; new/ is real and holds one message of its own
    local md2=$BATS_TEST_TMPDIR/md2 md3=$BATS_TEST_TMPDIR/md3 opts
    mkdir -p "$md2/new" "$md2/tmp"
    ln -s "$OUT/Maildir/cur" "$md2/cur"
    cp "$SAMPLE_MD/cur/$PLAIN:2,S" "$md2/new/1800000200.M200P1.own"
    # new/ is a link; cur/ is real
    mkdir -p "$md3/cur" "$md3/tmp"
    ln -s "$OUT/Maildir/new" "$md3/new"
    cp "$SAMPLE_MD/cur/$PLAIN:2,S" "$md3/cur/1800000300.M300P1.own:2,S"
    for opts in rw ro; do
        if [[ $opts == ro ]]; then mount_marked "$md2" -o ro; else mount_marked "$md2"; fi
        assert_listing "$MNT/INBOX" 1800000200.M200P1.own
        assert_enoent "$MNT/INBOX/1800000100.M100P1.outside"
        assert_file_is "$MNT/INBOX/1800000200.M200P1.own/PidTagSubject" 'Grüße aus Köln'
        assert_nothing_leaked
        # the log names the skipped cur/ (the only line about it)
        run bash -c "tail -n +$((LOG_MARK + 1)) '$BATS_TEST_TMPDIR/mapifs.log' | grep -cwE 'cur'"
        [[ $output == 1 ]] || fail "expected one log line naming the symlinked cur/, found $output: $(new_log | head -20)"
        refute_log_error 'cur'
        unmount_mapifs

        if [[ $opts == ro ]]; then mount_marked "$md3" -o ro; else mount_marked "$md3"; fi
        assert_listing "$MNT/INBOX" 1800000300.M300P1.own
        assert_enoent "$MNT/INBOX/1800000101.M101P1.outsidenew"
        assert_file_is "$MNT/INBOX/1800000300.M300P1.own/PidTagSubject" 'Grüße aus Köln'
        assert_nothing_leaked
        run bash -c "tail -n +$((LOG_MARK + 1)) '$BATS_TEST_TMPDIR/mapifs.log' | grep -cwE 'new'"
        [[ $output == 1 ]] || fail "expected one log line naming the symlinked new/, found $output: $(new_log | head -20)"
        refute_log_error 'new'
        unmount_mapifs
    done
}

# swap_and_check OPTION...: mount, list and read two messages (one open
# handle kept on each message.eml), replace their files by symlinks under
# the same names (cur/: the secret message, new/: /etc/passwd), then read
# everything of them right away, after 1 s and after 3 s: no read, xattr
# or open handle may give a byte of the targets.  Reads may fail, and the
# messages may disappear.
swap_and_check() {
    mount_mapifs "$MD" "$@"
    local I=$MNT/INBOX
    ls "$I" >/dev/null
    local u
    for u in $PLAIN $ATT; do
        cat "$I/$u/PidTagSubject" "$I/$u/message.eml" >/dev/null
        find "$I/$u" -type f -exec cat {} + >/dev/null
    done
    # handles opened before the swap, read after it
    python3 - "$I/$PLAIN/message.eml" "$I/$ATT/message.eml" "$BATS_TEST_TMPDIR/swap.go" \
        "$BATS_TEST_TMPDIR/held" 3>&- <<'EOF' &
import os, sys, time
fds = [os.open(p, os.O_RDONLY) for p in sys.argv[1:3]]
go, out = sys.argv[3], sys.argv[4]
open(out + ".ready", "w").close()
while not os.path.exists(go):
    time.sleep(0.02)
with open(out, "wb") as fh:
    for fd in fds:
        try:
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                fh.write(b)
        except OSError as e:
            fh.write(b"[read error %d]" % e.errno)
EOF
    local held=$!
    wait_until 10 test -e "$BATS_TEST_TMPDIR/held.ready" || fail "the reader holding handles did not start"

    rm "$MD/cur/$PLAIN:2,S"
    ln -s "$SECRET" "$MD/cur/$PLAIN:2,S"
    rm "$MD/new/$ATT"
    ln -s /etc/passwd "$MD/new/$ATT"
    touch "$BATS_TEST_TMPDIR/swap.go"

    local round out=$BATS_TEST_TMPDIR/swapped.out
    for round in 0 1 3; do
        sleep "$round"
        : >"$out"
        for u in $PLAIN $ATT; do
            # every way in: the files, message.eml, the listing, the xattrs
            cat "$I/$u/message.eml" >>"$out" 2>/dev/null || true
            cat "$I/$u/PidTagSubject" >>"$out" 2>/dev/null || true
            cat "$I/$u/PidTagBody" >>"$out" 2>/dev/null || true
            find "$I/$u" -type f -exec cat {} + >>"$out" 2>/dev/null || true
            getfattr -d -m - --absolute-names "$I/$u" >>"$out" 2>/dev/null || true
            ls -A "$I/$u" >>"$out" 2>/dev/null || true
        done
        if grep -qaF -e "$PASSWD_MARK" -e "$SECRET_MARK" "$out"; then
            fail "$((round))s after the swap, a symlink target's bytes were read through the mount (in $out)"
        fi
        if grep -qaF -e "$(sha256sum <"$SECRET" | cut -d' ' -f1)" -e "$(sha256sum </etc/passwd | cut -d' ' -f1)" "$out"; then
            fail "${round}s after the swap, user.mapifs.sha256 is the hash of a symlink target"
        fi
        assert_nothing_leaked
    done
    _wait_exit "$held" 10 || fail "the reader holding handles hangs"
    if grep -qaF -e "$PASSWD_MARK" -e "$SECRET_MARK" "$BATS_TEST_TMPDIR/held"; then
        fail "a handle opened before the swap read the symlink target's bytes"
    fi
    # the other messages still work; the swapped ones are gone or unreadable
    for u in 1700000002.M2P1.alternative 1700000004.M4P1.signed 1700000007.M7P1.nested; do
        assert_same_bytes "$(sample_file "$u" "$MD")" "$I/$u/message.eml"
    done
    ls -A "$I" | sed 's/^/# listed after the swap: /' >&3
    daemon_alive || fail "the daemon died"
    unmount_mapifs
}

@test "a message file replaced by a symlink after it was listed never shows the target (rw)" {
    # a read that fails here may say why at error level; nothing else may
    expect_log_error "$PLAIN|$ATT"
    swap_and_check
}

@test "a message file replaced by a symlink after it was listed never shows the target (-o ro)" {
    # a read that fails here may say why at error level; nothing else may
    expect_log_error "$PLAIN|$ATT"
    swap_and_check -o ro
}
