#!/usr/bin/env bats
# Forensic mode (design.md section 6) and the write refusal of this version:
# every write fails with EROFS, with or without -o ro, and a full traversal
# leaves every byte, name, inode, mtime, ctime and atime of the source as it was.

load common

setup() {
    copy_sample "$BATS_TEST_TMPDIR/src"
    SRC=$BATS_TEST_TMPDIR/src/Maildir
    # atimes far in the past (older than the mtimes): with relatime, any
    # ordinary read of a file now moves its atime
    find "$BATS_TEST_TMPDIR/src" -type f -exec touch -a -d '2001-02-03 04:05:06' {} +
}

teardown() {
    if [[ -n ${WATCH_PID:-} ]]; then
        kill -TERM "$WATCH_PID" 2>/dev/null || true
        wait "$WATCH_PID" 2>/dev/null || true
    fi
    mapifs_teardown
}

# snapshot DIR OUT: every entry's name, type, size, inode, mtime and ctime,
# the atime of every file, and the sha256 of every file (read with
# O_NOATIME, so taking the snapshot does not move atimes itself).
snapshot() {
    local dir=$1 out=$2
    (cd "$dir" && find . -mindepth 1 \( -type f -printf '%P %y %s %i mtime=%T@ ctime=%C@ atime=%A@\n' \) \
        -o -printf '%P %y %i mtime=%T@ ctime=%C@\n' | LC_ALL=C sort) >"$out.meta"
    (cd "$dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 python3 "$HELPER" noatime-sha256) >"$out.sha256"
}

assert_snapshots_equal() { # assert_snapshots_equal BEFORE AFTER
    local d
    if ! d=$(diff "$1.meta" "$2.meta"); then
        fail "source metadata changed (< before, > after):"$'\n'"$d"
    fi
    if ! d=$(diff "$1.sha256" "$2.sha256"); then
        fail "source contents changed (< before, > after):"$'\n'"$d"
    fi
}

# start_watch DIR: record every change inotify sees under DIR.
start_watch() {
    WATCH_LOG=$BATS_TEST_TMPDIR/inotify.log
    : >"$WATCH_LOG"
    python3 "$HELPER" inotify "$1" "$WATCH_LOG" "$BATS_TEST_TMPDIR/inotify.ready" 3>&- &
    WATCH_PID=$!
    wait_until 10 test -e "$BATS_TEST_TMPDIR/inotify.ready" || fail "inotify watcher did not start"
}

stop_watch() {
    kill -TERM "$WATCH_PID"
    wait "$WATCH_PID" || true
    WATCH_PID=
}

# traverse: what an examiner does with the mount.
traverse() {
    find "$MNT" >/dev/null
    ls -laR "$MNT" >/dev/null
    find "$MNT" -exec stat {} + >/dev/null
    find "$MNT" -type f -exec cat {} + >/dev/null
    getfattr -R -d -m - --absolute-names "$MNT" >/dev/null
    grep -r -q 'Grüße' "$MNT"
    find "$MNT" -type f -exec sha256sum {} + >/dev/null
}

# write_attempts: try every kind of write through the mount; print one line
# per attempt that did not fail with "Read-only file system".
write_attempts() {
    local m=$MNT/INBOX/1700000001.M1P1.plain a=$MNT/INBOX/1700000003.M3P1.attachments
    local alt=$MNT/INBOX/1700000002.M2P1.alternative src_msg
    src_msg=$(sample_file 1700000002.M2P1.alternative)
    local attempts=(
        "echo x > '$m/PidTagSubject'"
        "printf 'New subject\\n' > '$m/PidTagSubject'"
        "echo x >> '$m/message.eml'"
        "cat '$src_msg' > '$m/message.eml'"
        "dd if=/dev/zero of='$m/PidTagBody' bs=1 count=1 conv=notrunc status=none"
        "truncate -s 0 '$m/PidTagSubject'"
        "touch '$m/PidTagSubject'"
        "touch -d '2000-01-01' '$m'"
        "touch '$m/PidTagNewProperty'"
        "echo 1 > '$m/0x6E010003'"
        "echo y > '$alt/PS_INTERNET_HEADERS/X-Added'"
        "echo other > '$alt/PS_INTERNET_HEADERS/X-Mailer'"
        "echo 2 > '$a/attachments/0/PidTagAttachMethod'"
        "echo x > '$a/attachments/0/PidTagAttachDataBinary'"
        "mkdir '$MNT/INBOX/1700009999.M1P1.new'"
        "mkdir '$m/recipients/3'"
        "mkdir '$MNT/NewFolder'"
        "rm -f '$m/PidTagSubject'"
        "rmdir '$m/recipients/2'"
        "rm -rf '$a/attachments/2'"
        "rm -rf '$m'"
        "mv '$m' '$MNT/Archive.2024/'"
        "mv '$m' '$MNT/INBOX/renamed'"
        "mv '$m/PidTagSubject' '$m/PidTagSubject.bak'"
        "cp '$src_msg' '$MNT/INBOX/'"
        "ln -s target '$MNT/INBOX/link'"
        "ln '$m/PidTagSubject' '$m/hardlink'"
        "chmod 600 '$m/PidTagSubject'"
        "chmod 700 '$m'"
        "setfattr -n user.test -v 1 '$m/PidTagSubject'"
        "setfattr -n user.mapi.tag -v 0x00000000 '$m/PidTagSubject'"
        "setfattr -x user.mapi.type '$m/PidTagSubject'"
        "setfattr -n user.mapifs.source -v elsewhere '$m'"
    )
    local cmd out
    for cmd in "${attempts[@]}"; do
        if out=$(bash -c "$cmd" 2>&1); then
            echo "SUCCEEDED: $cmd"
        elif [[ $out != *'Read-only file system'* ]]; then
            echo "NOT EROFS: $cmd: $out"
        fi
    done
}

# forensic_check SOURCE OPTION...: snapshot, watch, mount, traverse, write
# attempts, unmount, snapshot again.
forensic_check() {
    local src=$1
    shift
    snapshot "$src" "$BATS_TEST_TMPDIR/before"
    start_watch "$src"
    mount_mapifs "$src" "$@"
    traverse
    local bad
    bad=$(write_attempts)
    traverse
    unmount_mapifs
    sleep 0.2  # let inotify deliver anything still in flight
    stop_watch
    snapshot "$src" "$BATS_TEST_TMPDIR/after"
    [[ -z $bad ]] || fail "writes not refused with EROFS:"$'\n'"$bad"
    if [[ -s $WATCH_LOG ]]; then
        fail "the source tree was changed while mounted (inotify):"$'\n'"$(cat "$WATCH_LOG")"
    fi
    assert_snapshots_equal "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "-o ro: traversal and refused writes leave the Maildir as it was" {
    forensic_check "$SRC" -o ro
}

@test "--forensic: traversal and refused writes leave the Maildir as it was" {
    forensic_check "$SRC" --forensic
}

@test "-o ro on an eml tree leaves it as it was" {
    SRC=$BATS_TEST_TMPDIR/src/eml-tree
    snapshot "$SRC" "$BATS_TEST_TMPDIR/before"
    mount_mapifs "$SRC" -o ro
    find "$MNT" -type f -exec cat {} + >/dev/null
    getfattr -R -d -m - --absolute-names "$MNT" >/dev/null
    run touch "$MNT/inbox/hello/PidTagSubject"
    assert_failure
    assert_output --partial 'Read-only file system'
    unmount_mapifs
    snapshot "$SRC" "$BATS_TEST_TMPDIR/after"
    assert_snapshots_equal "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "-o ro: atimes of the source files do not move (O_NOATIME)" {
    # probe: on this file system an ordinary read does move an old atime
    local probe=$BATS_TEST_TMPDIR/probe
    echo probe >"$probe"
    touch -a -d '2001-02-03 04:05:06' "$probe"
    local t0
    t0=$(stat -c %X "$probe")
    cat "$probe" >/dev/null
    if [[ $(stat -c %X "$probe") == "$t0" ]]; then
        skip "reads do not update atime on $(findmnt -n -o TARGET,OPTIONS -T "$probe"): the check would prove nothing"
    fi
    local f before=() after=() i=0
    mapfile -d '' files < <(find "$SRC" -type f -print0 | LC_ALL=C sort -z)
    for f in "${files[@]}"; do before+=("$(stat -c %X "$f")"); done
    mount_mapifs "$SRC" -o ro
    find "$MNT" -type f -exec cat {} + >/dev/null
    getfattr -R -d -m - --absolute-names "$MNT" >/dev/null
    unmount_mapifs
    for f in "${files[@]}"; do after+=("$(stat -c %X "$f")"); done
    local bad=()
    for ((i = 0; i < ${#files[@]}; i++)); do
        [[ ${before[i]} == "${after[i]}" ]] || bad+=("${files[i]#"$SRC"/}: ${before[i]} -> ${after[i]}")
    done
    ((${#bad[@]} == 0)) || fail "atime changed:"$'\n'"$(printf '%s\n' "${bad[@]}")"
}

@test "without -o ro, reading everything still changes nothing" {
    # a writable mount writes only when asked (issue 3): browsing, reading
    # every file and every xattr leave the source as it was
    snapshot "$SRC" "$BATS_TEST_TMPDIR/before"
    mount_mapifs "$SRC"
    find "$MNT" -type f -exec cat {} + >/dev/null
    getfattr -R -d -m - --absolute-names "$MNT" >/dev/null
    daemon_alive
    unmount_mapifs
    snapshot "$SRC" "$BATS_TEST_TMPDIR/after"
    # atimes may move without -o ro; compare everything else
    sed -i 's/ atime=.*//' "$BATS_TEST_TMPDIR/before.meta" "$BATS_TEST_TMPDIR/after.meta"
    assert_snapshots_equal "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

@test "-o ro: listings (names, order, types, modes, sizes, mtimes, xattrs) identical across mounts" {
    local i
    for i in 1 2; do
        mount_mapifs "$SRC" -o ro
        (cd "$MNT" && find . -printf '%p %y %m %s %T@ %n\n') >"$BATS_TEST_TMPDIR/listing.$i"
        (cd "$MNT" && getfattr -R -d -m - .) >"$BATS_TEST_TMPDIR/xattrs.$i"
        unmount_mapifs
    done
    [ "$(wc -l <"$BATS_TEST_TMPDIR/listing.1")" -gt 100 ] || fail "listing too short"
    run diff "$BATS_TEST_TMPDIR/listing.1" "$BATS_TEST_TMPDIR/listing.2"
    assert_success
    run diff "$BATS_TEST_TMPDIR/xattrs.1" "$BATS_TEST_TMPDIR/xattrs.2"
    assert_success
}
