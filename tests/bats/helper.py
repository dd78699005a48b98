#!/usr/bin/env python3
"""Independent cross-checks for the mapifs end-to-end tests (standard library only).

  helper.py attachment FILE NAME     write the decoded bytes of the attachment
                                     whose file name is NAME to stdout
  helper.py header-raw FILE NAME     the raw value of the LAST top-level NAME
                                     header field, unfolded, leading blanks
                                     removed, no line break
  helper.py header-field FILE NAME   the LAST top-level NAME header field as it
                                     is in the file (name, colon, folded value,
                                     line breaks), bytes for bytes
  helper.py body FILE                the bytes after the top-level header block
  helper.py addresses FILE HDR...    one "display name<TAB>address" line per
                                     mailbox in the given header fields, in order
  helper.py sizes DIR                walk DIR; for every regular file compare
                                     st_size with the number of bytes read;
                                     print each mismatch, exit 1 if any
  helper.py inotify DIR OUT READY    watch DIR recursively for any change
                                     (modify, attrib, close-after-write, create,
                                     delete, move) and append one line per event
                                     to OUT; touch READY once the watches are in
                                     place; stop on SIGTERM/SIGINT
  helper.py noatime-sha256 FILE...   sha256sum-style lines, reading with
                                     O_NOATIME so the check itself leaves atime
"""

import ctypes
import ctypes.util
import email
import email.policy
import email.utils
import hashlib
import os
import signal
import struct
import sys


def header_block(data):
    """Return (header bytes incl. the final line break of the last field, body bytes)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            cut = i + len(sep) // 2  # keep the line break of the last field
            return data[:cut], data[i + len(sep):]
    return data, b""


def raw_fields(data):
    """List of (name_lower, raw field bytes incl. line breaks)."""
    head, _body = header_block(data)
    lines = head.splitlines(keepends=True)
    fields = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += line
            continue
        name = line.split(b":", 1)[0].strip().lower()
        fields.append([name, line])
    return [(n, v) for n, v in fields]


def last_field(data, name):
    want = name.lower().encode()
    found = None
    for n, raw in raw_fields(data):
        if n == want:
            found = raw
    return found


def cmd_attachment(path, name):
    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_filename() == name:
            sys.stdout.buffer.write(part.get_payload(decode=True))
            return 0
    sys.stderr.write("no attachment named %r in %s\n" % (name, path))
    return 1


def cmd_header_raw(path, name):
    with open(path, "rb") as fh:
        data = fh.read()
    raw = last_field(data, name)
    if raw is None:
        sys.stderr.write("no %s header in %s\n" % (name, path))
        return 1
    value = raw.split(b":", 1)[1]
    value = value.replace(b"\r\n", b"").replace(b"\n", b"")
    sys.stdout.buffer.write(value.lstrip(b" \t"))
    return 0


def cmd_header_field(path, name):
    with open(path, "rb") as fh:
        data = fh.read()
    raw = last_field(data, name)
    if raw is None:
        sys.stderr.write("no %s header in %s\n" % (name, path))
        return 1
    sys.stdout.buffer.write(raw)
    return 0


def cmd_body(path):
    with open(path, "rb") as fh:
        data = fh.read()
    sys.stdout.buffer.write(header_block(data)[1])
    return 0


def cmd_addresses(path, *hdrs):
    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    for h in hdrs:
        for value in msg.get_all(h, []):
            for addr in value.addresses:
                print("%s\t%s" % (addr.display_name, addr.addr_spec))
    return 0


def cmd_sizes(root):
    bad = 0
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            if not os.path.isfile(p) or os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                n = len(fh.read())
            count += 1
            if n != st.st_size:
                bad += 1
                print("size mismatch: %s: st_size %d, read %d bytes" % (p, st.st_size, n))
    print("%d files checked, %d size mismatches" % (count, bad))
    return 1 if bad else 0


IN_MODIFY = 0x002
IN_ATTRIB = 0x004
IN_CLOSE_WRITE = 0x008
IN_MOVED_FROM = 0x040
IN_MOVED_TO = 0x080
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_ISDIR = 0x40000000
NAMES = {IN_MODIFY: "MODIFY", IN_ATTRIB: "ATTRIB", IN_CLOSE_WRITE: "CLOSE_WRITE",
         IN_MOVED_FROM: "MOVED_FROM", IN_MOVED_TO: "MOVED_TO", IN_CREATE: "CREATE",
         IN_DELETE: "DELETE", IN_DELETE_SELF: "DELETE_SELF", IN_MOVE_SELF: "MOVE_SELF"}


def cmd_inotify(root, out, ready):
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = libc.inotify_init1(0)
    if fd < 0:
        sys.stderr.write("inotify_init1 failed: errno %d\n" % ctypes.get_errno())
        return 1
    mask = 0
    for bit in NAMES:
        mask |= bit
    wds = {}
    for dirpath, _dirs, _files in os.walk(root):
        wd = libc.inotify_add_watch(fd, os.fsencode(dirpath), mask)
        if wd < 0:
            sys.stderr.write("inotify_add_watch %s failed: errno %d\n" % (dirpath, ctypes.get_errno()))
            return 1
        wds[wd] = dirpath
    stop = []

    def on_signal(_sig, _frame):
        stop.append(1)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with open(out, "a") as log:
        open(ready, "w").close()
        try:
            while not stop:
                buf = os.read(fd, 65536)
                i = 0
                while i + 16 <= len(buf):
                    wd, m, _cookie, ln = struct.unpack_from("iIII", buf, i)
                    name = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode("utf-8", "replace")
                    i += 16 + ln
                    what = "|".join(v for k, v in NAMES.items() if m & k) or hex(m)
                    log.write("%s %s\n" % (what, os.path.join(wds.get(wd, "?"), name)))
                    log.flush()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_noatime_sha256(*paths):
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NOATIME)
        except PermissionError:
            fd = os.open(p, os.O_RDONLY)
        h = hashlib.sha256()
        with os.fdopen(fd, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                h.update(chunk)
        print("%s  %s" % (h.hexdigest(), p))
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    table = {
        "attachment": cmd_attachment,
        "header-raw": cmd_header_raw,
        "header-field": cmd_header_field,
        "body": cmd_body,
        "addresses": cmd_addresses,
        "sizes": cmd_sizes,
        "inotify": cmd_inotify,
        "noatime-sha256": cmd_noatime_sha256,
    }
    if cmd not in table:
        sys.stderr.write(__doc__)
        return 2
    return table[cmd](*args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
