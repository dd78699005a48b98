#!/usr/bin/env bats
# info (issue 13, point 5): a per-message summary, one field a line (Date,
# From, To, Cc, Subject, Class, Attachments, S/MIME), so that
# `cat */info | grep` and `head */info` work.  Subject, From and To are
# compared with what Python's email package reads from the message file.

load common

@test "every message has an info file that agrees with Python's email package" {
    mount_mapifs "$SAMPLE_MD" -o ro --ca "$SAMPLE/pki/ca.pem"
    local d n=0
    for d in "$MNT"/INBOX/*/; do
        d=${d%/}
        n=$((n + 1))
        local src
        src=$SAMPLE_MD/$(getfattr --absolute-names --only-values -n user.mapifs.source "$d")
        run python3 - "$src" "$d/info" <<'PY'
import sys
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
msg = BytesParser(policy=policy.default).parse(open(sys.argv[1], "rb"))
info = {}
for line in open(sys.argv[2], encoding="utf-8").read().splitlines():
    key, _, value = line.partition(": ")
    info[key] = value
bad = []
if info.get("Subject", "") != (msg["subject"] or ""):
    bad.append("Subject %r, email reads %r" % (info.get("Subject"), msg["subject"]))
want_from = [a for _, a in getaddresses([str(msg["from"] or "")])]
if want_from and not any(a in info.get("From", "") for a in want_from):
    bad.append("From %r, email reads %r" % (info.get("From"), want_from))
for a in [a for _, a in getaddresses([str(msg["to"] or "")]) if a]:
    if a not in info.get("To", ""):
        bad.append("To %r lacks %r" % (info.get("To"), a))
print("\n".join(bad) or "ok")
PY
        assert_output ok
    done
    ((n >= 5)) || fail "only $n messages"
    # at a glance, with the usual tools
    run bash -c "grep -l '^Class: IPM.Note.SMIME.MultipartSigned' '$MNT'/INBOX/*/info"
    assert_success
    local signed=${output%/info}
    run grep '^S/MIME: ' "$signed/info"
    assert_output 'S/MIME: good'
    run bash -c "head -q -n 1 '$MNT'/INBOX/*/info | grep -c '^Date: '"
    assert_output "$n"
    run bash -c "grep -h '^Attachments: ' '$MNT'/INBOX/*/info"
    assert_success
}

@test "info follows an edit and cannot be written" {
    copy_sample "$BATS_TEST_TMPDIR/s"
    mount_mapifs "$BATS_TEST_TMPDIR/s/Maildir"
    local d=$MNT/INBOX/1700000001.M1P1.plain
    echo 'Quarterly plan' >"$d/PidTagSubject"
    run grep '^Subject: ' "$d/info"
    assert_output 'Subject: Quarterly plan'
    run bash -c "echo x >'$d/info'"
    assert_failure
}
