#!/usr/bin/env python3
"""Fixtures and oracle of 47-received.bats (issue 14, design.md 9: the
Received path, received/N/ of every message object).

  received.py corpus CORPUS_DIR MAILDIR   a Maildir (cur/) of the corpus's
                                          messages (tests/corpus/corpus.py list)
                                          with a Received field, and one in ten
                                          of the others
  received.py make MAILDIR                a Maildir of messages with hand-made
                                          hops: relays, clock skew, folding,
                                          CRLF, keywords in comments, IPv6,
                                          several "for" addresses, qmail, and
                                          hops that do not parse
  received.py check FOLDER SOURCE_ROOT    every message directory of the mounted
                                          FOLDER against its source file
                                          (SOURCE_ROOT/user.mapifs.source)

The oracle is Python's email package: the Received fields of
email.message_from_binary_file() (msg.raw_items(), what msg.get_all('Received')
gives before any decoding), reversed: the bottom-most field is the first hop, email.utils.parsedate_to_datetime
for the date-time after the last ';', and a clause split of its own that
follows the rules of mapper/received.c's comment (RFC 5321 4.4: from, by,
via, with, id, for, any case, outside comments, quoted strings, angle
addresses and domain literals; a clause runs to the next keyword).  Every
hop's raw, from, by, via, with, id, for, date, delay and note must be what
it says, files absent where it has no value.  Prints "checked M messages,
H hops (D dates, N notes)"; exit status 1 with one line per difference.
"""
import email
import email.utils
import os
import re
import subprocess
import sys
from datetime import timezone

WSP = " \t\r\n"
CLOSER = {"(": ")", '"': '"', "<": ">", "[": "]"}
KEYWORDS = ("from", "by", "via", "with", "id", "for")
UNCLOSED = [("(", "a comment is not closed (RFC 5322 3.2.2)"),
            ('"', "a quoted string is not closed (RFC 5322 3.2.4)"),
            ("<", "an angle address is not closed (RFC 5322 3.4)"),
            ("[", "a domain literal is not closed (RFC 5322 3.4.1)")]


def lex(text):
    """[(kind, start, end)], kind "word" or the opening character, and the
    set of openers left open."""
    out, unclosed, i, n = [], set(), 0, len(text)
    while True:
        while i < n and text[i] in WSP:
            i += 1
        if i >= n:
            return out, unclosed
        start, c = i, text[i]
        if c in CLOSER:
            depth, i, closed = 1, i + 1, False
            while i < n:
                ch = text[i]
                if ch == "\\" and c in '("':
                    i += 2
                    continue
                if c == "(" and ch == "(":
                    depth += 1
                elif ch == CLOSER[c]:
                    depth -= 1
                    if depth == 0:
                        i += 1
                        closed = True
                        break
                i += 1
            if not closed:
                unclosed.add(c)
                i = n
            out.append((c, start, i))
        else:
            while i < n and text[i] not in WSP and text[i] not in CLOSER:
                i += 1
            out.append(("word", start, i))


def one_line(s):
    return re.sub(r"[ \t\r\n]+", " ", s).strip(" ")


def expected_hop(value):
    """The files received/N/ should hold for a field value (after the colon),
    but raw and delay; and the date as an aware datetime or None."""
    toks, _ = lex(value)
    semi = -1
    for kind, a, b in toks:
        if kind == "word" and ";" in value[a:b]:
            semi = a + value[a:b].rindex(";")
    files, notes, when = {}, [], None
    if semi < 0:
        notes.append("no ';' and date-time end the field (RFC 5322 3.6.7)")
    else:
        text = one_line(value[semi + 1:])
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)   # "-0000": UTC, source unknown
        if when is None:
            notes.append("the date-time after the last ';' cannot be read (RFC 5322 3.3)")
        else:
            files["date"] = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    stamp = value if semi < 0 else value[:semi]
    toks, unclosed = lex(stamp)
    current, span, seen, empty, repeated, before = None, None, [], [], [], False
    for kind, a, b in toks + [("end", 0, 0)]:
        word = stamp[a:b].lower() if kind == "word" else None
        if kind != "end" and word not in KEYWORDS:
            if current is None:
                before = before or kind != "("
            else:
                span = (a, b) if span is None else (span[0], b)
            continue
        if current not in (None, "skip"):
            if span is None:
                empty.append(current)
            else:
                files[current] = one_line(stamp[span[0]:span[1]])
        if kind == "end":
            break
        span = None
        if word in seen:
            repeated.append(word)
            current = "skip"
        else:
            seen.append(word)
            current = word
    if before:
        notes.append("words before the first clause are none of from, by, via, with, id, "
                     "for (RFC 5321 4.4)")
    notes += [text for c, text in UNCLOSED if c in unclosed]
    notes += [f"clause '{k}' has no value" for k in KEYWORDS if k in empty]
    notes += [f"clause '{k}' appears again; the first is kept" for k in KEYWORDS if k in repeated]
    if notes:
        files["note"] = "; ".join(notes)
    return files, when


def read(path):
    with open(path, "rb") as f:
        return f.read()


def check_message(msgdir, source, counts):
    """Differences between msgdir/received/ and the Received fields of source."""
    with open(source, "rb") as f:
        msg = email.message_from_binary_file(f)
    source_bytes = read(source)
    try:
        source_bytes.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    # raw_items(): the values as parsed (folding kept), never Header objects
    fields = [v for k, v in msg.raw_items() if k.strip().lower() == "received"][::-1]
    rdir = os.path.join(msgdir, "received")
    if not fields:
        return [f"{msgdir}: received/ exists, the message has no Received field"] \
            if os.path.exists(rdir) else []
    if not os.path.isdir(rdir):
        return [f"{msgdir}: no received/ for {len(fields)} Received fields"]
    errors = []
    names = sorted(os.listdir(rdir), key=lambda s: int(s) if s.isdigit() else -1)
    if names != [str(i) for i in range(len(fields))]:
        errors.append(f"{rdir}: lists {names[:20]}, want 0..{len(fields) - 1}")
    previous = None
    for n, value in enumerate(fields):
        hop = os.path.join(rdir, str(n))
        want, when = expected_hop(value)
        if when is not None and previous is not None:
            want["delay"] = str(int((when - previous).total_seconds()))
        previous = when
        counts["hops"] += 1
        counts["dates"] += "date" in want
        counts["notes"] += "note" in want
        got = {}
        for name in sorted(os.listdir(hop)) if os.path.isdir(hop) else []:
            data = read(os.path.join(hop, name))
            if not data.endswith(b"\n"):
                errors.append(f"{hop}/{name}: does not end in a newline")
            got[name] = data
        # raw: the field as it stands in the file, CRLF kept (when the
        # header is UTF-8, as the property holding it is); Python's value
        # is the text after the colon's blanks, folding kept as LF, the
        # last line break dropped
        raw_b = got.pop("raw", b"")
        if utf8 and raw_b.rstrip(b"\r\n") not in source_bytes:
            errors.append(f"{hop}/raw: {raw_b!r} is not in {source}")
        raw = raw_b.rstrip(b"\r\n").decode("utf-8", "replace").replace("\r\n", "\n")
        name, _, rest = raw.partition(":")
        want_raw = value.encode("ascii", "surrogateescape").decode("utf-8", "replace")
        if name.strip().lower() != "received" or rest.lstrip(" \t") != want_raw:
            errors.append(f"{hop}/raw: {raw!r}, want Received: {want_raw!r}")
        got = {k: v.decode("utf-8", "replace")[:-1] for k, v in got.items()}
        want = {k: v.encode("ascii", "surrogateescape").decode("utf-8", "replace")
                for k, v in want.items()}
        for key in sorted(set(got) | set(want)):
            if got.get(key) != want.get(key):
                errors.append(f"{hop}/{key}: {got.get(key)!r}, want {want.get(key)!r}"
                              f" (field {value!r})")
    return errors


def check(folder, root):
    counts = {"messages": 0, "hops": 0, "dates": 0, "notes": 0}
    errors = []
    for entry in sorted(os.listdir(folder)):
        msgdir = os.path.join(folder, entry)
        source = os.getxattr(msgdir, "user.mapifs.source").decode()
        errors += check_message(msgdir, os.path.join(root, source), counts)
        counts["messages"] += 1
    for e in errors[:60]:
        print(e)
    print("checked {messages} messages, {hops} hops ({dates} dates, {notes} notes)".format(**counts))
    return 1 if errors else 0


def corpus(corpus_dir, maildir):
    """The corpus's messages (as corpus.py lists them) in maildir/cur."""
    here = os.path.dirname(os.path.abspath(__file__))
    listing = subprocess.run([sys.executable, os.path.join(here, "..", "corpus", "corpus.py"),
                              "list", corpus_dir], check=True, capture_output=True, text=True)
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, d), exist_ok=True)
    n = others = 0
    for line in listing.stdout.splitlines():
        rel = line.split("\t")[0]
        data = read(os.path.join(corpus_dir, rel))
        # every relayed message, and one in ten of the others (no received/)
        if not re.search(rb"(?im)^received[ \t]*:", data):
            others += 1
            if others % 10:
                continue
        n += 1
        with open(os.path.join(maildir, "cur", f"1700{n:06d}.M{n}P1.corpus:2,S"), "wb") as f:
            f.write(data)
    print(n)


DATE0 = "Wed, 01 May 2024 09:30:00 +0000"

HANDMADE = {
    # a relay chain as Postfix, Exim, sendmail and Exchange write it, top
    # (final delivery) first; the Exchange hop's clock is 2 minutes behind
    "chain": [
        "Received: from mx.example.net (mx.example.net [198.51.100.7])\n"
        "\tby mail.example.org (Postfix) with ESMTPS id 4VTb1x2yZ3z9sRk\n"
        "\tfor <bob@example.org>; Wed, 01 May 2024 11:31:05 +0200 (CEST)",
        "Received: from [192.0.2.10] (helo=relay.example.com)\n"
        "\tby mx.example.net with esmtpsa  (TLS1.3) tls TLS_AES_256_GCM_SHA384\n"
        "\t(Exim 4.96) (envelope-from <alice@example.com>) id 1s2AbC-000XyZ-1q;\n"
        "\tWed, 01 May 2024 09:31:01 +0000",
        "Received: from EX01.corp.example.com (2001:db8::10) by\n"
        " relay.example.com (2001:db8::11) with Microsoft SMTP Server\n"
        " (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\n"
        " 15.20.7544.29 via Frontend Transport; Wed, 1 May 2024 09:29:03 +0000",
        "Received: from laptop.example.com (laptop.example.com [192.0.2.55])\n"
        "\tby EX01.corp.example.com (8.17.1/8.17.1) with ESMTP id 441ATx1a012345\n"
        "\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\n"
        "\tfor <bob@example.org>; Wed, 1 May 2024 05:31:00 -0400 (EDT)",
    ],
    # keywords inside comments, quoted strings, angle addresses and literals;
    # nested comments; upper case keywords; an IPv6 literal; several "for"
    "tricky": [
        'Received: FROM a.example (using TLSv1.3 with cipher TLS_AES_128 (128/128 bits)\n'
        ' (from "by" (nested (with id) for x) by y)) BY b.example ("with" quoted) With "id for"\n'
        ' ID <for.id@by.example> FOR <x@example.org>, <y@example.org>,\n'
        '  "z by" <z@example.org>; Wed, 01 May 2024 09:32:00 +0000',
        "Received: from [IPv6:2001:db8::1] (unknown [IPv6:2001:db8:0:0:1::5])\n"
        " by [IPv6:2001:db8::2] (mx) via TCP with ESMTP id v6; " + DATE0,
    ],
    # hops that do not parse: shown raw, with a note, never dropped
    "broken": [
        "Received: this is not a received field at all",
        "Received: from a.example by b.example with SMTP",
        "Received: from a.example by b.example; not a date at all",
        "Received: (qmail 12345 invoked by uid 0); 1 May 2024 09:29:00 -0000",
        "Received: from a.example (unclosed comment by b.example; " + DATE0,
        "Received: from a.example from c.example by b.example by d.example; " + DATE0,
        "Received: from by b.example with; " + DATE0,
        "Received: garbage words from a.example by b.example; Wed, 31 Apr 2024 10:00:00 +0000",
        "Received: ",
    ],
}


def make(maildir):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, d), exist_ok=True)
    n = 0
    for name, hops in HANDMADE.items():
        for crlf in (False, True):
            n += 1
            head = "\n".join(hops) + "\n" + (
                "From: Alice <alice@example.com>\nTo: bob@example.org\n"
                f"Subject: {name}\nDate: {DATE0}\nMessage-ID: <{name}.{n}@example.com>\n\nbody\n")
            data = head.encode()
            if crlf:
                data = data.replace(b"\n", b"\r\n")
            with open(os.path.join(maildir, "cur", f"1714{n:06d}.M{n}P1.{name}:2,S"), "wb") as f:
                f.write(data)
    # one without any Received field: no received/
    with open(os.path.join(maildir, "cur", "1714999999.M99P1.none:2,S"), "wb") as f:
        f.write(b"From: a@example.com\nTo: b@example.org\nSubject: none\n\nbody\n")


def main(argv):
    if len(argv) == 4 and argv[1] == "corpus":
        corpus(argv[2], argv[3])
        return 0
    if len(argv) == 3 and argv[1] == "make":
        make(argv[2])
        return 0
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
