#!/usr/bin/env python3
"""Byte-exact S/MIME entity splitting for 95-smime-corpus.bats (standard library only).

The test compares what mapifs shows under smime/content/ with what openssl
recovers from the same entity.  openssl's own S/MIME reader cannot be used
for that: it rewrites every line ending of a multipart/signed part to CRLF
and gives up on base64 lines longer than it expects (several real-world
corpus messages have one 1689- or 3480-character line), so this helper
takes the entities apart on the raw bytes.

  smime_corpus.py der FILE          the body of the top-level entity of FILE
                                    with its Content-Transfer-Encoding
                                    (base64 or none) removed: the DER CMS of
                                    an application/(x-)pkcs7-mime entity
  smime_corpus.py signed-part FILE  the first body part of the top-level
                                    multipart/signed entity of FILE exactly
                                    as stored: from the byte after the line
                                    break of the first delimiter line up to,
                                    not including, the line break before the
                                    next delimiter line (RFC 2046 5.1.1)
  smime_corpus.py signature FILE    the DER of the second body part (the
                                    detached signature) of that entity

Exit status 2 with a message on stderr when FILE is not such an entity.
"""

import base64
import re
import sys


def header_block(data):
    """(header bytes, body bytes) split at the first empty line (CRLF or LF)."""
    if data.startswith(b"\r\n"):
        return b"", data[2:]
    if data.startswith(b"\n"):
        return b"", data[1:]
    m = re.search(rb"\r?\n\r?\n", data)
    if not m:
        return data, b""
    return data[:m.start()], data[m.end():]


def last_field(head, name):
    """Unfolded value of the LAST header field NAME (bytes) or None."""
    value = None
    cur = None
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur[1] += b" " + line.strip()
            continue
        if b":" in line:
            n, v = line.split(b":", 1)
            cur = [n.strip().lower(), v.strip()]
            if cur[0] == name:
                value = cur
    return value[1] if value else None


def param(value, name):
    m = re.search(rb'(?i)(?:^|;)\s*' + re.escape(name) + rb'\s*=\s*(?:"([^"]*)"|([^;\s]+))', value)
    if not m:
        return None
    return m.group(1) if m.group(1) is not None else m.group(2)


def decode(head, body):
    cte = (last_field(head, b"content-transfer-encoding") or b"").strip().lower()
    if cte == b"base64":
        return base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", body))
    return body


def die(msg):
    sys.stderr.write("smime_corpus.py: %s\n" % msg)
    sys.exit(2)


def signed_parts(data):
    """(first part bytes, second part bytes) of a top-level multipart/signed entity."""
    head, body = header_block(data)
    ct = last_field(head, b"content-type") or b""
    if not ct.lower().startswith(b"multipart/signed"):
        die("not a multipart/signed entity (Content-Type: %r)" % ct[:80])
    boundary = param(ct, b"boundary")
    if not boundary:
        die("multipart/signed without boundary")
    delim = re.compile(rb"(?m)^--" + re.escape(boundary) + rb"(--)?[ \t]*\r?$")
    found = []
    for m in delim.finditer(body):
        found.append(m)
        if len(found) == 3:
            break
    if len(found) < 3:
        die("fewer than two body parts")

    def part(a, b):
        start = a.end()
        # the line break that ends the delimiter line
        if body[start:start + 2] == b"\r\n":
            start += 2
        elif body[start:start + 1] == b"\n":
            start += 1
        end = b.start()
        # the line break before the next delimiter belongs to the delimiter
        if body[end - 2:end] == b"\r\n":
            end -= 2
        elif body[end - 1:end] == b"\n":
            end -= 1
        return body[start:max(start, end)]

    return part(found[0], found[1]), part(found[1], found[2])


def main(argv):
    if len(argv) != 3:
        die("usage: smime_corpus.py der|signed-part|signature FILE")
    cmd, path = argv[1], argv[2]
    data = open(path, "rb").read()
    if cmd == "der":
        head, body = header_block(data)
        out = decode(head, body)
    elif cmd == "signed-part":
        out = signed_parts(data)[0]
    elif cmd == "signature":
        sig = signed_parts(data)[1]
        h, b = header_block(sig)
        out = decode(h, b)
    else:
        die("unknown command %r" % cmd)
    sys.stdout.buffer.write(out)


if __name__ == "__main__":
    main(sys.argv)
