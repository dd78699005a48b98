#!/usr/bin/env python3
"""System-call probes and message checks for the mapifs write-path tests
(standard library only; independent of the code under test).

File-system operations -- each prints "ok" and exits 0 on success, or prints
"<stage> <ERRNO>" (e.g. "close EINVAL", "open EPERM", "mkdir EROFS") and
exits 1.  The shell cannot see errors of close(), these can.

  write PATH VALUE            open(O_WRONLY|O_CREAT|O_TRUNC), write VALUE, close
  write-file PATH SRC         the same with the bytes of the file SRC
  write-notrunc PATH VALUE    open(O_WRONLY) without O_TRUNC/O_CREAT, write, close
  open-write PATH             open(O_WRONLY) and close without writing
  create PATH                 open(O_WRONLY|O_CREAT), close (like touch)
  truncate PATH               open(O_WRONLY|O_TRUNC), close (like ": > PATH")
  ftruncate PATH              open(O_WRONLY|O_CREAT), ftruncate(0), close
                              (like "truncate -s0 PATH")
  mkdir PATH | rmdir PATH | unlink PATH
  rename OLD NEW
  setxattr PATH NAME VALUE | chmod PATH MODE(octal) | utime PATH
  symlink TARGET PATH | link OLD NEW
  write-during PATH VALUE CMD open PATH for writing, write VALUE, run the
                              shell command CMD (must succeed), then close
  write-each LIST             LIST has lines "PATH<TAB>VALUE": write VALUE
                              plus a newline to each PATH; prints each failure as
                              "PATH: stage ERRNO", then "N written, F failed"
  two-writers P1 V1 P2 V2     open P1 and P2 for writing, write V1 and V2,
                              close P1, then close P2; prints "first RES" and
                              "second RES"; exit 0 (the lines tell)

Message checks (python3 email, policy=email.policy.default):

  header FILE NAME            every decoded value of the top-level field NAME,
                              one a line; exit 1 when there is none
  decode-header NAME VALUE    VALUE decoded as a NAME field would be
  count FILE NAME             how many top-level NAME fields there are
  headers FILE                "Name: decoded value" for every top-level field
  date FILE                   the Date field as ISO 8601 UTC
  addresses FILE NAME...      per mailbox "display name<TAB>address"; a named
                              group prints "GROUP<TAB>name<TAB>member count"
                              before its members
  structure FILE              the MIME tree: one content type a line, indented
                              two blanks per level (message/rfc822 descended)
  parts FILE                  every leaf: "type<TAB>disposition<TAB>filename
                              <TAB>sha256 of the decoded bytes"
  attachment FILE NAME        the decoded bytes of the leaf named NAME
  text FILE [SUBTYPE]         the decoded text of the first text/SUBTYPE leaf
                              (default plain), CRLF turned into LF
  payload FILE                the decoded bytes of a single-part message
  body FILE                   the raw bytes after the top-level header block
  check FILE                  parses without a structural defect (header
                              value defects are not counted) and has a Date
                              and a Message-ID or a Subject; prints the
                              problems, exit 1
  digest FILE [SKIP...]       top-level headers (minus SKIP names and
                              Content-Transfer-Encoding; Content-Type without
                              its boundary) + structure + a hash of every
                              leaf's decoded content (text: as text, LF line
                              ends): equal digests = same message
"""

import email
import email.policy
import email.utils
import errno
import hashlib
import os
import subprocess
import sys

POLICY = email.policy.default


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def report(stage, e):
    print("%s %s" % (stage, ename(e)))
    return 1


def tobytes(value):
    return value.encode("utf-8", "surrogateescape")


def do_write(path, data, flags):
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        return report("open", e)
    try:
        view = memoryview(data)
        while len(view):
            n = os.write(fd, view)
            view = view[n:]
    except OSError as e:
        try:
            os.close(fd)
        except OSError:
            pass
        return report("write", e)
    try:
        os.close(fd)
    except OSError as e:
        return report("close", e)
    print("ok")
    return 0


def simple(stage, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return report(stage, e)
    print("ok")
    return 0


def cmd_open_close(path, flags):
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        return report("open", e)
    try:
        os.close(fd)
    except OSError as e:
        return report("close", e)
    print("ok")
    return 0


def cmd_ftruncate(path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError as e:
        return report("open", e)
    try:
        os.ftruncate(fd, 0)
    except OSError as e:
        os.close(fd)
        return report("ftruncate", e)
    try:
        os.close(fd)
    except OSError as e:
        return report("close", e)
    print("ok")
    return 0


def cmd_write_during(path, value, cmd):
    # The command runs in a process started BEFORE the file is opened: a
    # process forked while the handle is open would close its copy of the
    # descriptor at exec or exit, and FUSE sends a FLUSH for that close.
    child = subprocess.Popen(["sh", "-c", "read _ || exit 3; " + cmd], stdin=subprocess.PIPE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    except OSError as e:
        child.stdin.close()
        child.wait()
        return report("open", e)
    try:
        os.write(fd, tobytes(value))
    except OSError as e:
        os.close(fd)
        child.stdin.close()
        child.wait()
        return report("write", e)
    child.stdin.write(b"go\n")
    child.stdin.close()
    rc = child.wait()
    if rc != 0:
        os.close(fd)
        print("command failed with status %d: %s" % (rc, cmd))
        return 2
    try:
        os.close(fd)
    except OSError as e:
        return report("close", e)
    print("ok")
    return 0


def cmd_write_each(listfile):
    """Lines "PATH<TAB>VALUE": write each like "write"; print the failures and
    a count; exit 1 when any failed."""
    n = bad = 0
    with open(listfile, encoding="utf-8", errors="surrogateescape") as fh:
        for line in fh:
            path, _, value = line.rstrip("\n").partition("\t")
            n += 1
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except OSError as e:
                bad += 1
                print("%s: open %s" % (path, ename(e)))
                continue
            try:
                os.write(fd, tobytes(value + "\n"))
            except OSError as e:
                bad += 1
                print("%s: write %s" % (path, ename(e)))
                os.close(fd)
                continue
            try:
                os.close(fd)
            except OSError as e:
                bad += 1
                print("%s: close %s" % (path, ename(e)))
    print("%d written, %d failed" % (n - bad, bad))
    return 1 if bad else 0


def cmd_two_writers(p1, v1, p2, v2):
    fds = []
    for p in (p1, p2):
        try:
            fds.append(os.open(p, os.O_WRONLY | os.O_TRUNC))
        except OSError as e:
            print("open %s %s" % (p, ename(e)))
            return 2
    for fd, v in zip(fds, (v1, v2)):
        os.write(fd, tobytes(v))
    for label, fd in zip(("first", "second"), fds):
        try:
            os.close(fd)
            print("%s ok" % label)
        except OSError as e:
            print("%s close %s" % (label, ename(e)))
    return 0


# ---------------------------------------------------------------------------
# message checks


def load(path):
    with open(path, "rb") as fh:
        return email.message_from_binary_file(fh, policy=POLICY)


def decoded(value):
    try:
        return str(value)
    except Exception:  # a header the parser cannot decode: keep it raw
        return value if isinstance(value, str) else repr(value)


def header_values(msg, name):
    try:
        vals = msg.get_all(name, [])
    except Exception:
        vals = [v for k, v in msg.raw_items() if k.lower() == name.lower()]
    return [decoded(v) for v in vals]


def cmd_header(path, name):
    vals = header_values(load(path), name)
    for v in vals:
        print(v)
    return 0 if vals else 1


def cmd_decode_header(name, value):
    print(decoded(POLICY.header_factory(name, value.strip())))
    return 0


def cmd_count(path, name):
    msg = load(path)
    print(sum(1 for k in msg.keys() if k.lower() == name.lower()))
    return 0


def cmd_headers(path):
    msg = load(path)
    for k, v in msg.raw_items():
        h = POLICY.header_fetch_parse(k, v)
        print("%s: %s" % (k, decoded(h)))
    return 0


def cmd_date(path):
    msg = load(path)
    v = msg.get("Date")
    if v is None:
        sys.stderr.write("no Date in %s\n" % path)
        return 1
    dt = email.utils.parsedate_to_datetime(str(v))
    if dt.tzinfo is None:
        sys.stderr.write("Date without a zone in %s: %s\n" % (path, v))
        return 1
    ts = dt.timestamp()
    import datetime
    print(datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return 0


def cmd_addresses(path, *names):
    msg = load(path)
    for name in names:
        for h in msg.get_all(name, []):
            for g in h.groups:
                if g.display_name is not None:
                    print("GROUP\t%s\t%d" % (g.display_name, len(g.addresses)))
                for a in g.addresses:
                    print("%s\t%s" % (a.display_name, a.addr_spec))
    return 0


def walk_tree(part, depth, out):
    out.append("  " * depth + part.get_content_type())
    if part.is_multipart():
        for sub in part.iter_parts():
            walk_tree(sub, depth + 1, out)
    elif part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if inner is not None:
            walk_tree(inner, depth + 1, out)


def structure_lines(msg):
    out = []
    walk_tree(msg, 0, out)
    return out


def cmd_structure(path):
    for line in structure_lines(load(path)):
        print(line)
    return 0


def leaves(msg):
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        yield part


def leaf_bytes(part):
    data = part.get_payload(decode=True)
    return data if data is not None else b""


def leaf_digest(part):
    if part.get_content_maintype() == "text":
        try:
            text = part.get_content()
        except Exception:
            text = leaf_bytes(part).decode("latin-1")
        data = text.replace("\r\n", "\n").encode("utf-8", "surrogateescape")
    else:
        data = leaf_bytes(part)
    return hashlib.sha256(data).hexdigest()


def cmd_parts(path):
    for part in leaves(load(path)):
        print("%s\t%s\t%s\t%s" % (part.get_content_type(), part.get_content_disposition() or "",
                                  part.get_filename() or "", hashlib.sha256(leaf_bytes(part)).hexdigest()))
    return 0


def cmd_attachment(path, name):
    for part in leaves(load(path)):
        if part.get_filename() == name:
            sys.stdout.buffer.write(leaf_bytes(part))
            return 0
    sys.stderr.write("no part named %r in %s\n" % (name, path))
    return 1


def cmd_text(path, subtype="plain"):
    for part in leaves(load(path)):
        if part.get_content_type() == "text/" + subtype:
            sys.stdout.write(part.get_content().replace("\r\n", "\n"))
            return 0
    sys.stderr.write("no text/%s part in %s\n" % (subtype, path))
    return 1


def cmd_payload(path):
    msg = load(path)
    if msg.is_multipart():
        sys.stderr.write("%s is multipart\n" % path)
        return 1
    sys.stdout.buffer.write(leaf_bytes(msg))
    return 0


def header_block_end(data):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            return i + len(sep)
    return len(data)


def cmd_body(path):
    with open(path, "rb") as fh:
        data = fh.read()
    sys.stdout.buffer.write(data[header_block_end(data):])
    return 0


def all_defects(msg):
    """Structural defects (missing boundaries, bad header block, ...) of every
    part.  Defects inside single header values (an encoded-word in a quoted
    string, say) are not counted: the sample has such on purpose."""
    out = []
    for part in msg.walk():
        for d in part.defects:
            out.append("%s: %s" % (part.get_content_type(), type(d).__name__))
    return out


def cmd_check(path):
    with open(path, "rb") as fh:
        data = fh.read()
    if not data.strip():
        print("%s: empty file" % path)
        return 1
    msg = email.message_from_bytes(data, policy=POLICY)
    bad = all_defects(msg)
    if msg.get("Date") is None:
        bad.append("no Date field")
    if msg.get("Message-ID") is None and msg.get("Subject") is None:
        bad.append("neither Message-ID nor Subject")
    for b in bad:
        print("%s: %s" % (path, b))
    return 1 if bad else 0


def content_type_key(part):
    """Media type plus every parameter but the boundary (which a rebuild may
    choose anew), names lower-case, charset value lower-case."""
    params = []
    for k, v in part.get_params(header="content-type", failobj=[])[1:]:
        k = k.lower()
        if k == "boundary":
            continue
        v = email.utils.collapse_rfc2231_value(v)
        params.append("%s=%s" % (k, v.lower() if k == "charset" else v))
    return "; ".join([part.get_content_type()] + sorted(params))


def cmd_digest(path, *skip):
    msg = load(path)
    skip = {s.lower() for s in skip}
    for k, v in msg.raw_items():
        if k.lower() in skip or k.lower() == "content-transfer-encoding":
            continue  # the transfer encoding may change with a rebuild
        if k.lower() == "content-type":
            print("H content-type: %s" % content_type_key(msg))
            continue
        print("H %s: %s" % (k.lower(), " ".join(decoded(POLICY.header_fetch_parse(k, v)).split())))
    for line in structure_lines(msg):
        print("S " + line)
    for part in leaves(msg):
        print("L %s %s" % (part.get_content_type(), leaf_digest(part)))
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    W, C, T = os.O_WRONLY, os.O_CREAT, os.O_TRUNC
    table = {
        "write": lambda p, v: do_write(p, tobytes(v), W | C | T),
        "write-file": lambda p, s: do_write(p, open(s, "rb").read(), W | C | T),
        "write-notrunc": lambda p, v: do_write(p, tobytes(v), W),
        "open-write": lambda p: cmd_open_close(p, W),
        "create": lambda p: cmd_open_close(p, W | C),
        "truncate": lambda p: cmd_open_close(p, W | T),
        "ftruncate": cmd_ftruncate,
        "mkdir": lambda p: simple("mkdir", os.mkdir, p),
        "rmdir": lambda p: simple("rmdir", os.rmdir, p),
        "unlink": lambda p: simple("unlink", os.unlink, p),
        "rename": lambda a, b: simple("rename", os.rename, a, b),
        "setxattr": lambda p, n, v: simple("setxattr", os.setxattr, p, n, tobytes(v)),
        "chmod": lambda p, m: simple("chmod", os.chmod, p, int(m, 8)),
        "utime": lambda p: simple("utime", os.utime, p, (0, 0)),
        "symlink": lambda t, p: simple("symlink", os.symlink, t, p),
        "link": lambda a, b: simple("link", os.link, a, b),
        "write-during": cmd_write_during,
        "two-writers": cmd_two_writers,
        "write-each": cmd_write_each,
        "header": cmd_header,
        "count": cmd_count,
        "decode-header": cmd_decode_header,
        "headers": cmd_headers,
        "date": cmd_date,
        "addresses": cmd_addresses,
        "structure": cmd_structure,
        "parts": cmd_parts,
        "attachment": cmd_attachment,
        "text": cmd_text,
        "payload": cmd_payload,
        "body": cmd_body,
        "check": cmd_check,
        "digest": cmd_digest,
    }
    if cmd not in table:
        sys.stderr.write("unknown command %r\n%s" % (cmd, __doc__))
        return 2
    return table[cmd](*args)


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="surrogateescape")
    sys.exit(main(sys.argv))
