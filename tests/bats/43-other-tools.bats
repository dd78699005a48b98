#!/usr/bin/env bats
# Issue 13, point 7: other mail tools see what the mount changed.
#  - Dovecot keeps the size of a message in its file name (",S=<size>" and
#    ",W=<size with CRLF line ends>"); a rewrite updates both, and the
#    message keeps its name in the mount, which is the file's without them.
#  - notmuch sees an edit after "notmuch new" and "notmuch reindex", as the
#    README says.

load common
load write_common

setup() {
    require_mapifs
    MD=$BATS_TEST_TMPDIR/Maildir
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
}

# dovecot_file UNIQUE SUBJECT FLAGS: a message with LF line ends whose file
# name carries Dovecot's S= and W=, as Dovecot's own deliveries have them.
dovecot_file() {
    local tmp=$BATS_TEST_TMPDIR/$1.tmp size vsize
    printf '%s\n' "From: Dave Example <dave@example.org>" "To: bob@example.org" \
        "Subject: $2" "Date: Wed, 15 Nov 2023 10:00:00 +0000" "Message-ID: <$1@example.org>" \
        "" "Line one." "Line two." >"$tmp"
    size=$(stat -c %s "$tmp")
    vsize=$((size + $(wc -l <"$tmp")))
    mv "$tmp" "$MD/cur/$1,S=$size,W=$vsize:2,$3"
}

# assert_dovecot_sizes UNIQUE: one file for UNIQUE, whose S= and W= are its
# size and its size with CRLF line ends, counted here by Python.
assert_dovecot_sizes() {
    local files
    mapfile -t files < <(find "$MD/cur" "$MD/new" -name "$1,*")
    [[ ${#files[@]} == 1 ]] || fail "files of $1: ${files[*]}"
    run python3 - "${files[0]}" <<'PY'
import os, re, sys
path = sys.argv[1]
data = open(path, "rb").read()
m = re.search(r",S=(\d+),W=(\d+)(:2,|$)", os.path.basename(path))
want_w = len(data) + len(re.findall(rb"(?<!\r)\n", data))
print("ok" if m and int(m.group(1)) == len(data) and int(m.group(2)) == want_w
      else "%s: size %d, crlf size %d" % (os.path.basename(path), len(data), want_w))
PY
    assert_output ok
}

@test "Dovecot ,S= and ,W= follow a rewrite; the message keeps its name in the mount" {
    local u=1700000001.M1P1.dove
    dovecot_file $u 'Sizes in the name' S
    mount_mapifs "$MD"
    run ls "$MNT/INBOX"
    assert_output $u
    assert_dovecot_sizes $u
    echo 'A much longer subject than the one before' >"$MNT/INBOX/$u/PidTagSubject"
    assert_dovecot_sizes $u
    run grep -c '^Subject: A much longer subject than the one before' "$MD"/cur/$u,*
    assert_output 1
    # the same directory, right away and after the listing is read again
    assert_file_is "$MNT/INBOX/$u/PidTagSubject" 'A much longer subject than the one before'
    run ls "$MNT/INBOX"
    assert_output $u
    # a body edit (the whole message rewritten), then a flag change: the
    # rename keeps the sizes, which still hold
    printf 'Short.\n' >"$MNT/INBOX/$u/PidTagBody"
    assert_dovecot_sizes $u
    printf 0 >"$MNT/INBOX/$u/PidTagMessageFlags"
    assert_dovecot_sizes $u
    [[ -f $(ls -d "$MD"/cur/$u,S=*:2,) ]] || fail "S not dropped: $(ls "$MD/cur")"
    # mv to another name keeps them too
    mv "$MNT/INBOX/$u" "$MNT/INBOX/renamed"
    run ls "$MD/cur"
    assert_output --regexp '^renamed,S=[0-9]+,W=[0-9]+:2,$'
    unmount_mapifs
}

@test "notmuch finds an edit after notmuch new and notmuch reindex (the README's advice)" {
    command -v notmuch >/dev/null || missing_prerequisite "notmuch is not installed"
    export NOTMUCH_CONFIG=$BATS_TEST_TMPDIR/notmuch-config
    printf '[database]\npath=%s\nmail_root=%s\n[new]\ntags=inbox\n' \
        "$BATS_TEST_TMPDIR/db" "$MD" >"$NOTMUCH_CONFIG"
    mkdir -p "$BATS_TEST_TMPDIR/db"
    make_eml "$MD/cur/1700000002.M2P1.nm:2,S" 'Before the edit' nm.1
    notmuch new --quiet
    run notmuch count subject:Before
    assert_output 1
    mount_mapifs "$MD"
    echo 'After the edit' >"$MNT/INBOX/1700000002.M2P1.nm/PidTagSubject"
    # a delivery through the mount as well
    make_eml "$BATS_TEST_TMPDIR/x.eml" 'Delivered through the mount' nm.2
    cp "$BATS_TEST_TMPDIR/x.eml" "$MNT/INBOX/"
    notmuch new --quiet
    notmuch reindex id:nm.1@example.org
    run notmuch count subject:After
    assert_output 1
    run notmuch count subject:Before
    assert_output 0
    run notmuch search --output=files subject:Delivered
    assert_output --regexp "^$MD/new/[0-9]+\.M[0-9]+P[0-9]+\."
    unmount_mapifs
}
