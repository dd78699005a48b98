#!/usr/bin/env python3
"""Load driver of 29-flag-renames.bats (standard library only).

  29-flag-renames.py MNT MAILDIR SECONDS READERS DELIVERIES

While one process renames two messages for their flags as a mail client
does -- cur/PLAIN:2,S <-> cur/PLAIN:2,RS, and new/ATT -> cur/ATT:2,S (then
back to new/, to go on) -- READERS processes read INBOX/NAME/PidTagSubject,
INBOX/NAME/message.eml and stat INBOX/NAME of both in a loop and compare
what they get with what the mount showed before the load (the Subject) and
with the stored bytes (message.eml).  Meanwhile DELIVERIES new messages are
delivered the Maildir way (written in tmp/, renamed into new/), one at a
time, and the time until os.listdir(INBOX) shows each is measured.  The
load runs for SECONDS, or longer until the deliveries are done.

Prints, then exits 0 (the test judges):
  reads N              operations by the readers (stat, Subject, message.eml)
  errors E             operations that failed (OSError)
  wrong W              reads that returned other content
  renames R
  latency I SECONDS    delivery I (0-based) was listed after SECONDS
                       ("timeout" when not within 5 s)
  error TEXT / wrong TEXT   the first few of each
"""

import multiprocessing as mp
import os
import sys
import time

PLAIN = "1700000001.M1P1.plain"
ATT = "1700000003.M3P1.attachments"
LIST_TIMEOUT = 5.0


def read_all(path):
    with open(path, "rb") as fh:
        return fh.read()


def reader(inbox, expected, stop, out):
    reads = errors = wrong = 0
    samples = []
    while not stop.is_set():
        for name, (subject, eml) in expected.items():
            d = os.path.join(inbox, name)
            for what in ("stat", "PidTagSubject", "message.eml"):
                reads += 1
                try:
                    if what == "stat":
                        st = os.stat(d)
                        if not (st.st_mode & 0o170000) == 0o040000:
                            wrong += 1
                            if len(samples) < 10:
                                samples.append("wrong %s: not a directory (mode %o)" % (name, st.st_mode))
                        continue
                    got = read_all(os.path.join(d, what))
                    want = subject if what == "PidTagSubject" else eml
                    if got != want:
                        wrong += 1
                        if len(samples) < 10:
                            samples.append("wrong %s/%s: %d bytes %r, expected %d bytes %r"
                                           % (name, what, len(got), got[:60], len(want), want[:60]))
                except OSError as e:
                    errors += 1
                    if len(samples) < 10:
                        samples.append("error %s/%s: %s" % (name, what, e))
    out.put((reads, errors, wrong, samples))


def renamer(md, stop, out):
    n = 0
    plain = [os.path.join(md, "cur", PLAIN + ":2,S"), os.path.join(md, "cur", PLAIN + ":2,RS")]
    att = [os.path.join(md, "new", ATT), os.path.join(md, "cur", ATT + ":2,S")]
    p = a = 0
    while not stop.is_set():
        os.rename(plain[p], plain[1 - p])
        p = 1 - p
        n += 1
        time.sleep(0.0005)
        os.rename(att[a], att[1 - a])
        a = 1 - a
        n += 1
        time.sleep(0.0005)
    out.put(n)


def deliver(md, inbox, i):
    name = "1800000900.M9%02dP1.delivered" % i
    data = ("From: Dave Example <dave@example.org>\r\nTo: Bob Example <bob@example.org>\r\n"
            "Subject: Delivered under load %d\r\nDate: Wed, 15 Nov 2023 10:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n\r\nDelivered while flags change.\r\n" % (i, name)).encode()
    tmp = os.path.join(md, "tmp", name)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    t0 = time.monotonic()
    os.rename(tmp, os.path.join(md, "new", name))
    while time.monotonic() - t0 < LIST_TIMEOUT:
        try:
            if name in os.listdir(inbox):
                return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.02)
    return None


def main(argv):
    mnt, md, seconds, nreaders, ndeliveries = argv[1], argv[2], float(argv[3]), int(argv[4]), int(argv[5])
    inbox = os.path.join(mnt, "INBOX")
    expected = {}
    with open(os.path.join(md, "cur", PLAIN + ":2,S"), "rb") as fh:
        expected[PLAIN] = [None, fh.read()]
    with open(os.path.join(md, "new", ATT), "rb") as fh:
        expected[ATT] = [None, fh.read()]
    for name in expected:
        expected[name][0] = read_all(os.path.join(inbox, name, "PidTagSubject"))
        if read_all(os.path.join(inbox, name, "message.eml")) != expected[name][1]:
            print("error %s/message.eml differs from the stored file before the load" % name)
    expected = {k: tuple(v) for k, v in expected.items()}

    ctx = mp.get_context("fork")
    stop = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=reader, args=(inbox, expected, stop, out)) for _ in range(nreaders)]
    procs.append(ctx.Process(target=renamer, args=(md, stop, out)))
    start = time.monotonic()
    for p in procs:
        p.start()
    time.sleep(min(1.0, seconds / 4))
    latencies = []
    for i in range(ndeliveries):
        latencies.append(deliver(md, inbox, i))
        time.sleep(0.3)
    rest = seconds - (time.monotonic() - start)
    if rest > 0:
        time.sleep(rest)
    stop.set()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
    reads = errors = wrong = renames = 0
    samples = []
    for r in results:
        if isinstance(r, int):
            renames += r
        else:
            reads += r[0]
            errors += r[1]
            wrong += r[2]
            samples += r[3]
    print("seconds %.1f" % (time.monotonic() - start))
    print("reads %d" % reads)
    print("errors %d" % errors)
    print("wrong %d" % wrong)
    print("renames %d" % renames)
    for i, lat in enumerate(latencies):
        print("latency %d %s" % (i, "timeout" if lat is None else "%.3f" % lat))
    for s in samples[:20]:
        print(s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
