#!/usr/bin/env bats
# Permissions (design.md section 8; issue 9 C).  Without options every node
# follows its source: a message directory has its file's owner and group and
# the file's rw bits with x added where r is set, group/other write removed;
# its files the file's bits minus x and minus group/other write; a folder its
# source directory's owner and bits minus group/other write; -o ro takes every
# write bit away.  -o uid=,gid= set every owner, -o umask= every mode.
# Decrypted content (under an encrypted message's smime/content/) is owned by
# the mounting user and owner-only, unless -o share_decrypted.  -o
# allow_other turns on default_permissions: a second user (nobody) reads what
# the modes let it read and changes nothing.

load common
load write_common

PLAIN=1700000001.M1P1.plain
ALT=1700000002.M2P1.alternative
ATT=1700000003.M3P1.attachments
SIGNED=1700000004.M4P1.signed
OPAQUE=1700000005.M5P1.opaque
ENC=1700000006.M6P1.encrypted
NESTED=1700000007.M7P1.nested
ARCHIVED=1704103200.M8P1.archived

setup() {
    SRC=$BATS_TEST_TMPDIR/src
    copy_sample "$SRC"
    MD=$SRC/Maildir
    ARCH=$MD/.Archive.2024
    EML=$SRC/eml-tree
    PKI=$SRC/pki
    KEY_OPTS=(--key "$PKI/bob.key" --cert "$PKI/bob.pem")
    ME=$(id -u)
}

# ---------------------------------------------------------------------------
# fixtures and checks

# set_node FILE MODE UID GID
set_node() {
    chown "$3:$4" "$1"
    chmod "$2" "$1"
}

# source_modes: owners and modes of every kind for the follow-the-source tests.
source_modes() {
    local d
    for d in "$MD" "$MD/cur" "$MD/new" "$MD/tmp"; do set_node "$d" 0770 1111 2222; done
    for d in "$ARCH" "$ARCH/cur" "$ARCH/new" "$ARCH/tmp"; do set_node "$d" 0775 3333 4444; done
    set_node "$(sample_file $PLAIN "$MD")" 0600 1234 2345
    set_node "$(sample_file $ALT "$MD")" 0644 1235 2346
    set_node "$(sample_file $ATT "$MD")" 0664 1236 2347
    set_node "$(sample_file $SIGNED "$MD")" 0640 1237 2348
    set_node "$(sample_file $OPAQUE "$MD")" 0444 1238 2349
    set_node "$(sample_file $ENC "$MD")" 0620 1239 2350
    set_node "$(sample_file $NESTED "$MD")" 0755 1240 2351
    set_node "$(sample_file $ARCHIVED "$ARCH")" 0604 1241 2352
}

# Expected modes (octal, as find's %m prints them) in a writable mount:
# message directory, then its files.
declare -gA DIR_MODE=([$PLAIN]=700 [$ALT]=755 [$ATT]=755 [$SIGNED]=750 [$OPAQUE]=555
    [$ENC]=700 [$NESTED]=755 [$ARCHIVED]=705)
declare -gA FILE_MODE=([$PLAIN]=600 [$ALT]=644 [$ATT]=644 [$SIGNED]=640 [$OPAQUE]=444
    [$ENC]=600 [$NESTED]=644 [$ARCHIVED]=604)
declare -gA OWNER=([$PLAIN]="1234 2345" [$ALT]="1235 2346" [$ATT]="1236 2347" [$SIGNED]="1237 2348"
    [$OPAQUE]="1238 2349" [$ENC]="1239 2350" [$NESTED]="1240 2351" [$ARCHIVED]="1241 2352")

# no_write MODE: MODE (octal digits) without any write bit
no_write() {
    printf '%o\n' $((8#$1 & ~8#222))
}

# node_modes DIR [FIND-ARGS...]: "TYPE MODE UID GID" of DIR and every node
# under it, each distinct line once; FIND-ARGS go before -printf (e.g.
# "-path P -prune -o" leaves P out).
node_modes() {
    local dir=$1
    shift
    find "$dir" "$@" -printf '%y %m %U %G\n' | LC_ALL=C sort -u
}

# assert_nodes DIR DMODE FMODE "UID GID" [FIND-ARGS...]: DIR and every
# directory under it have DMODE, every file FMODE, all the owner UID GID.
assert_nodes() {
    local dir=$1 dmode=$2 fmode=$3 owner=$4 want got
    shift 4
    want=$(printf 'd %s %s\nf %s %s\n' "$dmode" "$owner" "$fmode" "$owner" | LC_ALL=C sort)
    got=$(node_modes "$dir" "$@")
    if [[ $got != "$want" ]]; then
        fail "$(
            echo "$dir: modes and owners (type mode uid gid) differ from the expected ones:"
            echo "-- expected --"
            printf '%s\n' "$want"
            echo "-- actual --"
            printf '%s\n' "$got"
            echo "-- first nodes --"
            find "$dir" "$@" -printf '%y %m %U %G %P\n' | head -12
        )"
    fi
}

# assert_stat PATH "MODE UID GID"
assert_stat() {
    local got
    got=$(stat -c '%a %u %g' -- "$1") || fail "stat $1 failed"
    [[ $got == "$2" ]] || fail "$1: mode uid gid is '$got', expected '$2'"
}

# assert_owner_only PATH: PATH and everything under it belong to the mounting
# user and have no group or other bits, but the owner can read.
assert_owner_only() {
    local bad
    [[ -d $1 ]] || fail "$1: no such directory"
    bad=$(find "$1" \( ! -uid "$ME" -o -perm /077 -o ! -perm -400 \) -printf '%y %m %U %G %P\n' | head -10)
    [[ -z $bad ]] || fail "$(
        echo "$1: decrypted content must be owner-only and owned by uid $ME; not so:"
        printf '%s\n' "$bad"
    )"
}

# check_follow_source RO: the expectations of source_modes (RO=ro: with no
# write bits).
check_follow_source() {
    local ro=$1 u m dmode fmode
    for u in "${SAMPLE_INBOX_NAMES[@]}" "${SAMPLE_ARCHIVE_NAMES[@]}"; do
        m=$MNT/INBOX/$u
        [[ $u == "$ARCHIVED" ]] && m=$MNT/Archive.2024/$u
        dmode=${DIR_MODE[$u]} fmode=${FILE_MODE[$u]}
        if [[ $ro == ro ]]; then
            dmode=$(no_write "$dmode") fmode=$(no_write "$fmode")
        fi
        assert_nodes "$m" "$dmode" "$fmode" "${OWNER[$u]}"
    done
    if [[ $ro == ro ]]; then
        assert_stat "$MNT/INBOX" "550 1111 2222"
        assert_stat "$MNT/Archive.2024" "555 3333 4444"
    else
        assert_stat "$MNT/INBOX" "750 1111 2222"
        assert_stat "$MNT/Archive.2024" "755 3333 4444"
    fi
}

# ---------------------------------------------------------------------------
# following the source

@test "without options, messages, their files and folders follow their source's owner and bits" {
    source_modes
    mount_mapifs "$MD"
    check_follow_source rw
    echo "# mount root: $(stat -c '%a %u %g' "$MNT")" >&3
    unmount_mapifs
}

@test "-o ro: the same owners and bits, minus every write bit" {
    source_modes
    mount_mapifs "$MD" -o ro
    check_follow_source ro
    unmount_mapifs
}

@test "eml tree: folders and messages follow their directory and file" {
    set_node "$EML/inbox" 0770 5555 6666
    set_node "$EML/inbox/hello.eml" 0640 5555 6666
    set_node "$EML/inbox/signed.eml" 0666 5556 6667
    set_node "$EML/projects" 0700 5557 6668
    mount_mapifs "$EML"
    assert_stat "$MNT/inbox" "750 5555 6666"
    assert_stat "$MNT/projects" "700 5557 6668"
    assert_nodes "$MNT/inbox/hello" 750 640 "5555 6666"
    assert_nodes "$MNT/inbox/signed" 755 644 "5556 6667"
    unmount_mapifs
}

# ---------------------------------------------------------------------------
# -o uid=, gid=, umask=

@test "-o uid=,gid= set the owner and group of every node; modes still follow the source" {
    source_modes
    mount_mapifs "$MD" -o uid=4242,gid=4343
    run bash -c "find '$MNT' -printf '%U %G\n' | LC_ALL=C sort -u"
    assert_success
    assert_output '4242 4343'
    assert_nodes "$MNT/INBOX/$PLAIN" 700 600 "4242 4343"
    assert_nodes "$MNT/INBOX/$ALT" 755 644 "4242 4343"
    assert_stat "$MNT/INBOX" "750 4242 4343"
    unmount_mapifs
}

@test "-o umask= sets every mode (0777 and 0666 minus the mask) instead of following the source" {
    source_modes
    mount_mapifs "$MD" -o umask=027
    run bash -c "find '$MNT' -printf '%y %m\n' | LC_ALL=C sort -u"
    assert_success
    assert_output $'d 750\nf 640'
    # owners still follow the source
    assert_nodes "$MNT/INBOX/$PLAIN" 750 640 "1234 2345"
    assert_stat "$MNT/INBOX" "750 1111 2222"
    unmount_mapifs

    mount_mapifs "$MD" -o uid=4242,gid=4343,umask=077
    run bash -c "find '$MNT' -printf '%y %m %U %G\n' | LC_ALL=C sort -u"
    assert_success
    assert_output $'d 700 4242 4343\nf 600 4242 4343'
    unmount_mapifs
}

# ---------------------------------------------------------------------------
# decrypted content

@test "decrypted smime/content/ is owner-only and the mounting user's, whatever the source or -o uid/umask say" {
    set_node "$(sample_file $ENC "$MD")" 0644 1234 2345
    set_node "$(sample_file $OPAQUE "$MD")" 0644 1235 2346
    MNT=$BATS_TEST_TMPDIR/mnt
    local e=$MNT/INBOX/$ENC o=$MNT/INBOX/$OPAQUE

    mount_mapifs "$MD" "${KEY_OPTS[@]}"
    [[ -d $e/smime/content ]] || fail "$e/smime/content: not decrypted with bob's key (status: $(cat "$e/smime/status" 2>&1))"
    grep -q . "$e/smime/content/PidTagBody" || fail "$e/smime/content/PidTagBody is empty or unreadable"
    assert_owner_only "$e/smime/content"
    # the rest of the message follows the source
    assert_nodes "$e" 755 644 "1234 2345" -path "$e/smime/content" -prune -o
    # opaque-signed content is not decrypted: it follows the source
    [[ -d $o/smime/content ]] || fail "$o/smime/content is missing"
    assert_nodes "$o" 755 644 "1235 2346"
    unmount_mapifs

    mount_mapifs "$MD" "${KEY_OPTS[@]}" -o uid=4242,gid=4343,umask=000
    assert_owner_only "$e/smime/content"
    assert_nodes "$e" 777 666 "4242 4343" -path "$e/smime/content" -prune -o
    assert_nodes "$o" 777 666 "4242 4343"
    unmount_mapifs
}

@test "-o share_decrypted: decrypted content follows the same rules as the rest" {
    set_node "$(sample_file $ENC "$MD")" 0644 1234 2345
    MNT=$BATS_TEST_TMPDIR/mnt
    local e=$MNT/INBOX/$ENC
    mount_mapifs "$MD" "${KEY_OPTS[@]}" -o share_decrypted
    [[ -d $e/smime/content ]] || fail "$e/smime/content: not decrypted"
    assert_nodes "$e" 755 644 "1234 2345"
    unmount_mapifs

    mount_mapifs "$MD" "${KEY_OPTS[@]}" -o share_decrypted,umask=027,uid=4242,gid=4343
    assert_nodes "$e" 750 640 "4242 4343"
    unmount_mapifs
}

# ---------------------------------------------------------------------------
# a second user with -o allow_other

# setup_second_user: nobody can reach the mount point (MNT in a 0755 dir
# under /tmp), python3 (NPY), write_helper.py (NWH) and a message to
# deliver (NEML).
setup_second_user() {
    require_second_user
    shared_tmpdir
    MNT=$SHARED_DIR/mnt
    NWH=$(nobody_path "$WH" "$SHARED_DIR") || missing_prerequisite "nobody cannot read $WH"
    NPY=$(nobody_python) || missing_prerequisite "no python3 that uid $NOBODY_UID can run"
    NEML=$SHARED_DIR/deliver.eml
    make_eml "$NEML" 'Delivered by nobody'
    chmod 0644 "$NEML"
}

# assert_nobody_denied CMD...: CMD, run as nobody, fails with "Permission denied".
assert_nobody_denied() {
    local out
    if out=$(as_nobody "$@" 2>&1); then
        fail "$(
            echo "nobody could run: $* (expected Permission denied); it printed:"
            printf '%s\n' "$out" | head -8
        )"
    fi
    [[ $out == *'Permission denied'* ]] || fail "nobody: $*: expected 'Permission denied', got: $out"
}

# nobody_wh ARGS...: write_helper.py as nobody
nobody_wh() {
    as_nobody "$NPY" "$NWH" "$@"
}

# assert_kernel_options: the mount carries allow_other and default_permissions.
assert_kernel_options() {
    local o
    o=$(findmnt -n -o VFS-OPTIONS,FS-OPTIONS --mountpoint "$MNT" | tr ' ' ',')
    echo "# mount options: $o" >&3
    [[ ,$o, == *,allow_other,* ]] || fail "-o allow_other did not reach the kernel: $o"
    [[ ,$o, == *,default_permissions,* ]] || fail "-o allow_other without default_permissions: $o"
}

# assert_nobody_changes_nothing: every kind of change, as nobody, fails with
# EACCES or EPERM: "wh ..." through write_helper.py (it sees close()'s
# errno), "sh ..." with the shell tools of issue 9.  The destructive ones come
# last, so that when one wrongly succeeds the others still find their files.
assert_nobody_changes_nothing() {
    local I=$MNT/INBOX op out bad=()
    local ops=(
        "sh echo x > '$I/$PLAIN/PidTagSubject'"
        "sh mkdir '$I/new'"
        "sh cp '$NEML' '$I/'"
        "wh write $I/$PLAIN/PidTagSubject Hacked"
        "wh write-notrunc $I/$PLAIN/PidTagSubject Hacked"
        "wh truncate $I/$PLAIN/PidTagSubject"
        "wh write $I/$ENC/PidTagMessageFlags 1"
        "wh write $I/$ALT/PS_INTERNET_HEADERS/X-Foo v"
        "wh write-file $I/$PLAIN/message.eml $NEML"
        "wh write $I/$ENC/smime/content/PidTagSubject Hacked"
        "wh mkdir $I/$PLAIN/recipients/3"
        "wh rmdir $I/$ATT/attachments/1"
        "wh unlink $I/$PLAIN/PidTagSubject"
        "wh mkdir $I/1700000900.M900P1.new"
        "wh write-file $I/1700000500.M50P1.copied.eml $NEML"
        "wh setxattr $I/$PLAIN/PidTagSubject user.test 1"
        "wh chmod $I/$PLAIN/PidTagSubject 666"
        "wh utime $I/$PLAIN/PidTagSubject"
        "wh rename $I/$ALT $I/1700000901.M901P1.renamed"
        "wh rename $I/$ATT $MNT/Archive.2024/$ATT"
        "sh mv '$I/$SIGNED' '$MNT/Archive.2024/'"
        "wh rmdir $I/$NESTED"
        "sh rmdir '$I/$PLAIN'"
    )
    for op in "${ops[@]}"; do
        if [[ $op == 'sh '* ]]; then
            if out=$(as_nobody bash -c "${op#sh }" 2>&1); then
                bad+=("SUCCEEDED as nobody: ${op#sh }")
            elif [[ $out != *'Permission denied'* && $out != *'Operation not permitted'* ]]; then
                bad+=("${op#sh }: $out (expected Permission denied)")
            fi
        else
            # shellcheck disable=SC2086
            if out=$(nobody_wh ${op#wh } 2>&1); then
                bad+=("SUCCEEDED as nobody: ${op#wh }")
            elif [[ ! $out =~ \ (EACCES|EPERM)$ ]]; then
                bad+=("${op#wh }: $out (expected EACCES or EPERM)")
            fi
        fi
    done
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}")"
}

@test "allow_other, a 0700 Maildir of 0600 files: nobody gets EACCES on everything, nothing changes" {
    setup_second_user
    chmod -R go-rwx "$MD"
    find "$MD" -type f -exec chmod 0600 {} +
    find "$MD" -type d -exec chmod 0700 {} +
    local before
    before=$(tree_state "$MD")
    mount_mapifs "$MD" "${KEY_OPTS[@]}" -o allow_other
    local I=$MNT/INBOX
    # the owner (root) reads everything, decrypted content included
    assert_file_is "$I/$PLAIN/PidTagSubject" 'Grüße aus Köln'
    grep -q . "$I/$ENC/smime/content/PidTagBody" || fail "root cannot read the decrypted body"

    assert_nobody_denied ls "$I"
    assert_nobody_denied cat "$I/$PLAIN/PidTagSubject"
    assert_nobody_denied cat "$I/$PLAIN/message.eml"
    assert_nobody_denied cat "$I/$ENC/smime/content/PidTagBody"
    assert_nobody_changes_nothing
    # the mechanism: default_permissions comes with allow_other
    assert_kernel_options
    daemon_alive
    unmount_mapifs
    # every message file byte for byte, name for name, still there
    [[ $(tree_state "$MD") == "$before" ]] || fail "$(
        echo "the Maildir changed (< before, > after):"
        diff <(printf '%s\n' "$before") <(tree_state "$MD")
    )"
}

@test "allow_other, a 0755 Maildir of 0644 files: nobody reads messages but changes nothing, and cannot read decrypted content" {
    setup_second_user
    find "$MD" -type f -exec chmod 0644 {} +
    find "$MD" -type d -exec chmod 0755 {} +
    local before I=$MNT/INBOX u f
    before=$(tree_state "$MD")
    mount_mapifs "$MD" "${KEY_OPTS[@]}" -o allow_other

    run as_nobody ls "$I"
    assert_success
    assert_output "$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}")"
    run as_nobody ls "$MNT/Archive.2024"
    assert_success
    assert_output "$ARCHIVED"
    run as_nobody cat "$I/$PLAIN/PidTagSubject"
    assert_success
    assert_output 'Grüße aus Köln'
    for u in "${SAMPLE_INBOX_NAMES[@]}"; do
        f=$(sample_file "$u" "$MD")
        as_nobody cat "$I/$u/message.eml" >"$BATS_TEST_TMPDIR/nobody.eml" ||
            fail "nobody cannot read $u/message.eml"
        assert_same_bytes "$f" "$BATS_TEST_TMPDIR/nobody.eml"
    done
    run as_nobody cat "$I/$ENC/smime/status"
    assert_success
    # the whole tree but decrypted content reads for nobody as for root
    run as_nobody bash -c "cd '$MNT' && find . -path '*/smime/content' -prune -o -type f -print0 | xargs -0 cat >/dev/null"
    assert_success

    # decrypted content: root only
    grep -q . "$I/$ENC/smime/content/PidTagBody" || fail "root cannot read the decrypted body"
    assert_nobody_denied cat "$I/$ENC/smime/content/PidTagBody"
    assert_nobody_denied ls "$I/$ENC/smime/content"

    assert_nobody_changes_nothing
    # the mechanism: default_permissions comes with allow_other
    assert_kernel_options
    daemon_alive
    unmount_mapifs
    [[ $(tree_state "$MD") == "$before" ]] || fail "$(
        echo "the Maildir changed (< before, > after):"
        diff <(printf '%s\n' "$before") <(tree_state "$MD")
    )"

    # -o share_decrypted: nobody reads the decrypted content too
    mount_mapifs "$MD" "${KEY_OPTS[@]}" -o allow_other,share_decrypted
    cat "$I/$ENC/smime/content/PidTagBody" >"$BATS_TEST_TMPDIR/root.body"
    run as_nobody cat "$I/$ENC/smime/content/PidTagBody"
    assert_success
    as_nobody cat "$I/$ENC/smime/content/PidTagBody" >"$BATS_TEST_TMPDIR/nobody.body"
    assert_same_bytes "$BATS_TEST_TMPDIR/root.body" "$BATS_TEST_TMPDIR/nobody.body"
    # but still changes nothing
    assert_nobody_changes_nothing
    unmount_mapifs
    [[ $(tree_state "$MD") == "$before" ]] || fail "the Maildir changed under -o share_decrypted"
}
