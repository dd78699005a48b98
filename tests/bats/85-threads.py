#!/usr/bin/env python3
"""Helpers of 85-threads.bats (standard library only).

  85-threads.py make-big FILE MIB
      FILE: a message with a text body and an embedded message with a MIB
      MiB attachment (base64, CRLF lines), so that listing its message
      object means parsing it all in memory.

  85-threads.py slow-vs-fast SLOWDIR FASTFILE FOLDER
      Start "ls SLOWDIR" (the slow request: the first listing of the big
      message), wait 0.3 s, then time "cat FASTFILE" and "ls FOLDER" (each
      run by itself), note whether the slow ls is still running when they
      are done, then wait for it.  Prints
        slow SECONDS            how long the slow ls took
        fast cat SECONDS / fast ls SECONDS
        slow-running-after-fast yes|no
        too-fast                (only) when the slow ls ended before the
                                fast ones began: nothing was proven
      and exits 0 (the test judges), 1 when a command failed.

  85-threads.py read-all ROOT LIST READERS
      READERS processes read every file of LIST (relative to ROOT, one a
      line) in their own shuffled order and hash it; prints
        reads N / errors E
        sha256 PATH  (one line per file, from the first reader)
        differ PATH  (a reader got other bytes than another)
        error TEXT   (the first few)
"""

import base64
import hashlib
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time


def make_big(path, mib):
    head = (b"From: Alice Example <alice@example.org>\r\n"
            b"To: Bob Example <bob@example.org>\r\n"
            b"Subject: A very big attachment\r\n"
            b"Date: Wed, 15 Nov 2023 10:00:00 +0000\r\n"
            b"Message-ID: <big.85@example.org>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"=-big-85-=\"\r\n\r\n"
            b"--=-big-85-=\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            b"The attachment is big.\r\n"
            # inside an embedded message: an attachment of the message itself
            # would be left in the file and not parsed (cache.c DEFER_MIN)
            b"--=-big-85-=\r\nContent-Type: message/rfc822\r\n"
            b"Content-Disposition: attachment; filename=\"big.eml\"\r\n\r\n"
            b"From: Alice Example <alice@example.org>\r\nSubject: inner\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n")
    rnd = random.Random(85)
    chunk = bytes(rnd.getrandbits(8) for _ in range(57 * 1024))
    lines = base64.encodebytes(chunk).replace(b"\n", b"\r\n")
    n = mib * 1024 * 1024 // len(chunk)
    tmp = path + ".part"
    with open(tmp, "wb") as fh:
        fh.write(head)
        for _ in range(n):
            fh.write(lines)
        fh.write(b"--=-big-85-=--\r\n")
    os.rename(tmp, path)


def timed(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.monotonic() - t0, r


def slow_vs_fast(slowdir, fastfile, folder):
    t0 = time.monotonic()
    slow = subprocess.Popen(["ls", slowdir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.3)
    if slow.poll() is not None:
        print("slow %.3f" % (time.monotonic() - t0))
        print("too-fast")
        return 0
    rc = 0
    for name, cmd in (("cat", ["cat", fastfile]), ("ls", ["ls", folder])):
        dt, r = timed(cmd)
        print("fast %s %.3f" % (name, dt))
        if r.returncode != 0:
            print("error %s: %s" % (" ".join(cmd), r.stderr.decode(errors="replace").strip()))
            rc = 1
    running = slow.poll() is None
    print("slow-running-after-fast %s" % ("yes" if running else "no"))
    _, err = slow.communicate(timeout=600)
    print("slow %.3f" % (time.monotonic() - t0))
    if slow.returncode != 0:
        print("error ls %s: %s" % (slowdir, err.decode(errors="replace").strip()))
        rc = 1
    sys.stdout.flush()
    return rc


def reader(root, files, seed, out):
    order = list(files)
    random.Random(seed).shuffle(order)
    sums = {}
    errors = []
    for rel in order:
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                sums[rel] = hashlib.sha256(fh.read()).hexdigest()
        except OSError as e:
            errors.append("%s: %s" % (rel, e))
    out.put((sums, errors))


def read_all(root, listfile, nreaders):
    with open(listfile, encoding="utf-8", errors="surrogateescape") as fh:
        files = [line.rstrip("\n") for line in fh if line.strip()]
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=reader, args=(root, files, seed, out)) for seed in range(nreaders)]
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
    errors = [e for _, errs in results for e in errs]
    print("reads %d" % sum(len(s) for s, _ in results))
    print("errors %d" % len(errors))
    first = results[0][0]
    for rel in files:
        if rel in first:
            print("sha256 %s %s" % (first[rel], rel))
    for rel in files:
        seen = {s[rel] for s, _ in results if rel in s}
        if len(seen) > 1:
            print("differ %s" % rel)
    for e in errors[:20]:
        print("error %s" % e)
    return 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "make-big":
        make_big(argv[2], int(argv[3]))
        return 0
    if len(argv) == 5 and argv[1] == "slow-vs-fast":
        return slow_vs_fast(argv[2], argv[3], argv[4])
    if len(argv) == 5 and argv[1] == "read-all":
        return read_all(argv[2], argv[3], int(argv[4]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
