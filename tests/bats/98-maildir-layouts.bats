#!/usr/bin/env bats
# Maildir layouts (issue 12): the folders mbsync, offlineimap and notmuch
# users have.  Maildir++ ".Name" folders, Maildirs in plain directories
# ("work/", "lists/linux/", nested), and a notmuch root that is not itself a
# Maildir are all folders; what is not a Maildir (.notmuch, a directory of
# other files, a folder with only tmp/) is hidden.  The oracle is a walk of
# the source by Python: a Maildir is a directory with cur/ or new/.

load common

# mkmsg DIR SUBJECT: a message file in DIR (cur/ or new/), by Python's email.
mkmsg() {
    python3 - "$@" <<'PY'
import os, sys, time
from email.message import EmailMessage
d, subject = sys.argv[1], sys.argv[2]
os.makedirs(d, exist_ok=True)
m = EmailMessage()
m["From"] = "a@example.org"
m["Subject"] = subject
m.set_content(subject + "\n")
name = f"{int(time.time())}.{subject.replace(' ', '_').replace('/', '_')}.host"
if d.endswith("cur"):
    name += ":2,S"
with open(os.path.join(d, name), "wb") as f:
    f.write(bytes(m))
PY
}

# maildir DIR SUBJECT: a Maildir with one message.
maildir() {
    mkdir -p "$1/cur" "$1/new" "$1/tmp"
    mkmsg "$1/cur" "$2"
}

# oracle ROOT: the folders a reader should see, one mount path a line,
# sorted: every directory with cur/ or new/ below ROOT (Maildir++ ".X" at
# the root shown as "X"; nothing inside a dot directory; a Maildir root
# itself is INBOX).
oracle() {
    python3 - "$1" <<'PY'
import os, sys
root = sys.argv[1]
def is_md(p):
    return any(os.path.isdir(os.path.join(p, s)) and not os.path.islink(os.path.join(p, s))
               for s in ("cur", "new"))
out = set()
root_md = is_md(root)
if root_md:
    out.add("INBOX")
for dirpath, dirs, files in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    dirs[:] = [d for d in dirs if d not in ("cur", "new", "tmp") and not os.path.islink(os.path.join(dirpath, d))
               and (not d.startswith(".") or (rel == "." and root_md and is_md(os.path.join(dirpath, d))))]
    if rel == ".":
        continue
    if is_md(dirpath):
        parts = rel.split(os.sep)
        if parts[0].startswith("."):
            parts[0] = parts[0][1:]
        out.add("/".join(parts))
        # the directories on the way are folders too
        for i in range(1, len(parts)):
            out.add("/".join(parts[:i]))
print("\n".join(sorted(out)))
PY
}

# mounted_folders: the folders of the mount, found by find(1), one a line.
# (not the certificates/ and duplicates/ of the root, which are no folders)
mounted_folders() {
    (cd "$MNT" && find . -mindepth 1 \( -path ./certificates -o -path ./duplicates \) -prune -o -type d \
        -exec test -e '{}/PidTagMessageClass' \; -prune -o -type d -print) |
        sed 's,^\./,,' | LC_ALL=C sort
}

setup() {
    SRC=$BATS_TEST_TMPDIR/src
}

@test "a Maildir root: Maildir++ and plain sub-Maildirs, nested, are folders; the rest is hidden" {
    local md=$SRC/Maildir
    maildir "$md" "inbox one"
    maildir "$md/.Archive" "archived"
    maildir "$md/work" "work one"
    maildir "$md/lists/linux" "linux one"
    maildir "$md/lists/linux/kernel" "kernel one"
    maildir "$md/deep/a/b/c" "deep one"
    mkdir -p "$md/.notmuch/xapian" "$md/.Trash/tmp" "$md/files/more"
    echo data >"$md/.notmuch/xapian/flintlock"
    echo data >"$md/files/more/x.txt"
    find "$md" -printf '%P %s %T@ %m\n' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/before"

    mount_mapifs "$md" -o ro
    diff <(oracle "$md") <(mounted_folders) || fail "the mount's folders differ from the Maildirs in the source"
    assert_equal "$(oracle "$md" | tr '\n' ' ')" "Archive INBOX deep deep/a deep/a/b deep/a/b/c lists lists/linux lists/linux/kernel work "
    # each folder shows its own messages, and only them
    assert_equal "$(cat "$MNT"/work/*/PidTagSubject)" "work one"
    assert_equal "$(cat "$MNT"/lists/linux/*/PidTagSubject)" "linux one"
    assert_equal "$(cat "$MNT"/lists/linux/kernel/*/PidTagSubject)" "kernel one"
    assert_equal "$(cat "$MNT"/deep/a/b/c/*/PidTagSubject)" "deep one"
    assert_equal "$(cat "$MNT"/INBOX/*/PidTagSubject)" "inbox one"
    run ls -A "$MNT/lists"
    assert_output linux
    # a plain directory with Maildirs below holds no messages of its own
    run cp "$MNT/INBOX/"*/message.eml "$MNT/lists/"
    assert_failure
    # -o ro: reading everything changed nothing in the source
    find "$MNT" -type f ! -path '*/certificates/*' -exec cat {} + >/dev/null
    unmount_mapifs
    find "$md" -printf '%P %s %T@ %m\n' | LC_ALL=C sort >"$BATS_TEST_TMPDIR/after"
    diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" || fail "the source changed"
}

@test "a notmuch root (not a Maildir itself): its Maildirs are folders, .notmuch is hidden" {
    local root=$SRC/mail
    maildir "$root/personal/INBOX" "personal inbox"
    maildir "$root/personal/Sent" "personal sent"
    maildir "$root/work" "work mail"
    mkdir -p "$root/.notmuch/xapian"
    mount_mapifs "$root"
    diff <(oracle "$root") <(mounted_folders) || fail "the mount's folders differ from the Maildirs in the source"
    assert_equal "$(cat "$MNT"/personal/Sent/*/PidTagSubject)" "personal sent"
    assert_equal "$(cat "$MNT"/work/*/PidTagSubject)" "work mail"
    # a message delivered into a nested Maildir lands in its new/
    cp "$MNT"/work/*/message.eml "$BATS_TEST_TMPDIR/copy.eml"
    cp "$BATS_TEST_TMPDIR/copy.eml" "$MNT/personal/INBOX/"
    run ls "$root/personal/INBOX/new"
    assert_success
    assert_output --regexp '^[0-9]+\.M[0-9]+P[0-9]+\.'
    [[ -d $MNT/personal/INBOX/$output ]] || fail "the delivered message $output is not shown"
}

@test "writes in a plain sub-Maildir: an edit is stored in that folder's file" {
    local md=$SRC/Maildir
    maildir "$md" "inbox one"
    maildir "$md/lists/linux" "linux one"
    mount_mapifs "$md"
    local m
    m=$(ls "$MNT/lists/linux")
    echo 'linux, edited' >"$MNT/lists/linux/$m/PidTagSubject"
    run grep -h '^Subject:' "$md"/lists/linux/cur/*
    assert_output 'Subject: linux, edited'
    run grep -rh '^Subject:' "$md/cur"
    assert_output 'Subject: inbox one'
}
