#!/usr/bin/env python3
"""The oracle of 48-examiner.bats (issue 14): what timeline.body and
duplicates/ should show for a Maildir, worked out with Python's email
package from the files themselves, without mapifs.

  examiner.py make MAILDIR              write the test mailbox
  examiner.py timeline MAILDIR BODY     check the body file against it
  examiner.py mactime BODY CSV          check mactime -d's output of BODY
  examiner.py duplicates MAILDIR MOUNT  check duplicates/ against it

Folders: the Maildir's own cur/ and new/ are INBOX, ".Name" is Name (the
only layouts made here).  Exits 1 with the differences on a mismatch.
"""
import email
import email.policy
import email.utils
import hashlib
import os
import sys
import time
from urllib.parse import unquote


def messages(maildir):
    """(mount folder, message name, path) of every message file."""
    folders = [("INBOX", maildir)]
    for entry in sorted(os.listdir(maildir)):
        if entry.startswith(".") and entry not in (".", ".."):
            folders.append((entry[1:], os.path.join(maildir, entry)))
    for folder, path in folders:
        for sub in ("cur", "new"):
            d = os.path.join(path, sub)
            if not os.path.isdir(d):
                continue
            for f in sorted(os.listdir(d)):
                if f.startswith("."):
                    continue
                yield folder, f.split(":2,")[0], os.path.join(d, f)


def parse(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=email.policy.compat32)


def epoch(date_text):
    try:
        dt = email.utils.parsedate_to_datetime(date_text)
    except (TypeError, ValueError, IndexError):
        return None
    if dt is None or dt.tzinfo is None:
        return None
    return int(dt.timestamp())


def hop_dates(msg):
    """The date of each Received field, first hop first (None: unreadable)."""
    out = []
    for value in reversed(msg.get_all("Received") or []):
        value = " ".join(str(value).split())
        out.append(epoch(value.rsplit(";", 1)[1]) if ";" in value else None)
    return out


def make(maildir):
    """Messages with hops, an unreadable hop date, and no Date at all,
    written as an MTA leaves them (folded Received fields, CRLF-free)."""
    for d in ("cur", "new", "tmp", ".Archive/cur", ".Archive/new", ".Archive/tmp"):
        os.makedirs(os.path.join(maildir, d), exist_ok=True)

    def write(folder, name, text):
        with open(os.path.join(maildir, folder, "cur", name + ":2,S"), "wb") as f:
            f.write(text.encode("utf-8"))

    write("", "1700000100.M1P1.hops", """\
Received: from relay.example.net (relay.example.net [192.0.2.7])
\tby mx.example.org (Postfix) with ESMTPS id 4AB12
\tfor <bob@example.org>; Tue, 14 Nov 2023 22:15:00 +0000
Received: from laptop.example.com ([198.51.100.3]) by relay.example.net
 with ESMTPSA id x1; Tue, 14 Nov 2023 23:14:10 +0100
Received: from client by laptop.example.com; not a date at all
From: Alice <alice@example.com>
To: bob@example.org
Subject: Three hops | one bad
Date: Tue, 14 Nov 2023 23:13:20 +0100
Message-ID: <hops.1@example.com>

hops
""")
    write("", "1700000200.M2P1.nodate", """\
From: carol@example.com
Subject: No date
Message-ID: <nodate.2@example.com>

none
""")
    write(".Archive", "1700000300.M3P1.archived", """\
Received: by mx.example.org with LMTP id 77; Wed, 15 Nov 2023 08:00:00 -0500
From: dave@example.com
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe=2C_archived?=
Date: Wed, 15 Nov 2023 13:59:00 +0100
Message-ID: <archived.3@example.com>

archived
""")


def fail(problems):
    if problems:
        print("\n".join(problems[:40]))
        sys.exit(1)


def body_lines(body):
    rows = []
    with open(body, "rb") as f:
        for n, line in enumerate(f.read().decode("ascii").splitlines(), 1):
            fields = line.split("|")
            if len(fields) != 11:
                fail([f"line {n}: {len(fields)} fields, not 11: {line}"])
            rows.append(fields)
    return rows


def timeline(maildir, body):
    rows = body_lines(body)
    problems = []
    # name -> list of (what, times, inode, size)
    seen = {}
    for f in rows:
        name = unquote(f[1])
        seen.setdefault(name.split(" (")[0], []).append((name, f))
    want_events = 0
    for folder, name, path in messages(maildir):
        where = f"{folder}/{name}"
        st = os.stat(path)   # before reading it moves its atime
        msg = parse(path)
        got = seen.pop(where, [])
        file_rows = seen.pop(f"{where}/message.eml", [])
        expect = []
        sent = epoch(msg["Date"]) if msg["Date"] else None
        if sent:
            expect.append(("(sent, Date)", sent))
        for i, t in enumerate(hop_dates(msg)):
            if t is not None:
                expect.append((f"(received, hop {i}", t))
        expect.append(("(delivered, Maildir name)", int(name.split(".")[0])))
        want_events += len(expect)
        for label, t in expect:
            hits = [f for n, f in got if label in n]
            if len(hits) != 1:
                problems.append(f"{where}: {len(hits)} events {label}, want 1 at {t}")
                continue
            f = hits[0]
            if [int(x) for x in f[7:11]] != [t] * 4:
                problems.append(f"{where} {label}: times {f[7:11]}, want {t} in all four")
            if int(f[2]) != st.st_ino or int(f[6]) != st.st_size:
                problems.append(f"{where} {label}: inode/size {f[2]}/{f[6]}, want {st.st_ino}/{st.st_size}")
        if len(got) != len(expect):
            problems.append(f"{where}: {len(got)} events, want {len(expect)}: {[n for n, _ in got]}")
        if len(file_rows) != 1:
            problems.append(f"{where}/message.eml: {len(file_rows)} file lines, want 1")
        else:
            f = file_rows[0][1]
            want = [int(st.st_atime), int(st.st_mtime), int(st.st_ctime)]
            if [int(x) for x in f[7:10]] != want:
                problems.append(f"{where}/message.eml: a/m/c {f[7:10]}, want {want}")
            if int(f[6]) != st.st_size or int(f[2]) != st.st_ino:
                problems.append(f"{where}/message.eml: size/inode {f[6]}/{f[2]}")
            if f[3] != "r/r" + "".join(c if st.st_mode & (0o400 >> i) else "-"
                                       for i, c in enumerate("rwxrwxrwx")):
                problems.append(f"{where}/message.eml: mode {f[3]}")
    if seen:
        problems.append(f"lines of no message: {sorted(seen)}")
    fail(problems)
    print(f"{len(rows)} lines, {want_events} events")


def mactime(body, csv):
    """Every event of BODY is one macb line of mactime -d -z UTC at its time."""
    rows = [f for f in body_lines(body) if "/message.eml (" not in unquote(f[1])]
    out = open(csv, encoding="utf-8", errors="replace").read().splitlines()
    if not out or not out[0].startswith("Date,Size,Type,Mode"):
        fail([f"no mactime header: {out[:1]}"])
    problems = []
    for f in rows:
        when = time.strftime("%a %b %d %Y %H:%M:%S", time.gmtime(int(f[8])))
        want = f"{when},{f[6]},macb,{f[3]},{f[4]},{f[5]},{f[2]},"
        if not any(line.startswith(want) for line in out):
            problems.append(f"no mactime line {want}... for {f[1]}")
    fail(problems)
    print(f"{len(rows)} events in mactime's timeline")


def duplicates(maildir, mount):
    by = {"message-id": {}, "sha256": {}}
    for folder, name, path in messages(maildir):
        where = f"{folder}/{name}"
        msg = parse(path)
        mid = (msg["Message-ID"] or "").strip()
        if mid:
            by["message-id"].setdefault(mid.strip("<>"), set()).add(where)
        data = open(path, "rb").read()
        by["sha256"].setdefault(hashlib.sha256(data).hexdigest(), set()).add(where)
    problems = []
    for kind, groups in by.items():
        want = {k: v for k, v in groups.items() if len(v) > 1}
        top = os.path.join(mount, "duplicates", kind)
        got = {}
        for g in os.listdir(top):
            members = set()
            for link in os.listdir(os.path.join(top, g)):
                p = os.path.join(top, g, link)
                target = os.readlink(p)
                rel = os.path.normpath(os.path.join("duplicates", kind, g, target))
                if unquote(link) != rel:
                    problems.append(f"{kind}/{g}/{link} points at {target}")
                if not os.path.isfile(os.path.join(p, "message.eml")):
                    problems.append(f"{kind}/{g}/{link} leads to no message")
                members.add(rel)
            got[unquote(g)] = members
        if got != want:
            problems.append(f"{kind}: got {got}, want {want}")
    fail(problems)
    print(f"{sum(len(v) for v in by['sha256'].values())} messages checked")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"make": make, "timeline": timeline, "mactime": mactime, "duplicates": duplicates}[cmd](*args)
