#!/usr/bin/env python3
"""Make the benchmark's mailboxes with Python's email package, an independent
tool.  Deterministic: message i of a seed is the same whatever N is.

  make-mailbox.py maildir OUT N [--seed S]   N realistic messages
  make-mailbox.py big OUT BYTES              one message with a BYTES attachment
  make-mailbox.py signed OUT N               N S/MIME signed messages (openssl cms)
  make-mailbox.py native SHAPE.tsv DIR       DIR/INBOX/NAME/PidTagSubject per line

OUT is written as OUT.part and renamed when complete, so a cached OUT is
always whole.  `maildir` and `signed` also write OUT/shape.tsv ("NAME<TAB>
Subject" per message, NAME the Maildir unique name); `big` writes
OUT/part.b64, the attachment's base64 text as stored; `signed` writes its
throwaway CA and signer to OUT/pki/.

The mix of `maildir`: plain text, multipart/alternative (text + HTML), small
attachments (PDF-like, PNG-like, CSV), replies with In-Reply-To/References,
non-ASCII names, RFC 2047 subjects and UTF-8 bodies in about one message in
eight, Received chains; about 2% in new/.  The word "quasar" is in about one
body in a hundred (for grep).
"""
import base64
import concurrent.futures
import datetime
import email.charset
import email.encoders
import email.policy
import email.utils
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText

POLICY = email.policy.compat32
GREP_WORD = "quasar"

FIRST = ("Anna Ben Carla David Emma Felix Grace Henry Ines Jonas Karen Liam Maria Noah Olga Paul "
         "Quinn Rosa Sam Tina Uwe Vera Will Xenia Yusuf Zoe Alice Bob Chen Dmitri Fatima Hiro "
         "Laura Marco Nina Omar Priya Raj Sofia Tom").split()
LAST = ("Smith Jones Becker Rossi Dubois Novak Garcia Kim Tanaka Olsen Meyer Fischer Costa Silva "
        "Kowalski Nguyen Brown Wilson Clarke Lambert Moreau Weber Schulz Patel Singh Haddad "
        "Ivanova Larsen Berg Walsh").split()
NON_ASCII_NAMES = ["Jürgen Müller", "Zoë Brontë", "José Álvarez", "Søren Kierkegård",
                   "Łukasz Wróbel", "François Lefèvre", "田中 太郎", "Ирина Петрова",
                   "Ångström Öberg", "Çağla Yılmaz"]
DOMAINS = ["example.org", "example.com", "mail.example.net", "corp.example", "lists.example.org",
           "uni-example.de", "example.co.uk"]
TOPICS = ["quarterly report", "project kickoff", "budget review", "server migration",
          "team offsite", "release 2.4 planning", "contract renewal", "travel expenses",
          "hiring update", "security audit", "customer feedback", "roadmap draft",
          "weekly sync", "invoice question", "design review", "on-call schedule",
          "database backup", "conference talk", "board meeting", "lunch on Friday"]
NON_ASCII_SUBJECTS = ["Réunion du {d} — ordre du jour", "Besprechung: Änderungen am Vertrag ({d})",
                      "会議の議題について {d}", "Счёт № {n} за услуги", "Überweisung {n} bestätigt",
                      "Café et croissants ☕ {d}", "Año nuevo: planificación {n}"]
WORDS = ("the a of to and in for on with as by at from this that we will can should would please "
         "report data team meeting project time week plan review update change server budget "
         "customer issue release version draft numbers figures contract deadline schedule "
         "question answer note detail result test build deploy backup office travel invoice "
         "attached document summary agenda action item follow up thanks regards discuss "
         "tomorrow today next last monday friday morning afternoon quickly carefully again "
         "new old first final open closed pending approved rejected important minor major "
         "system network storage account access policy process support request ticket").split()
NON_ASCII_WORDS = "über größe café naïve déjà façade Ärger Straße señor piñata fjörð".split()
MAILERS = ["Mozilla Thunderbird 115.6", "Apple Mail (2.3731)", "Microsoft Outlook 16.0",
           "mutt/2.2.9", "Roundcube Webmail/1.6.5", "K-9 Mail for Android"]


def person(rng, non_ascii=False):
    if non_ascii and rng.random() < 0.5:
        name = rng.choice(NON_ASCII_NAMES)
        local = "user%d" % rng.randrange(1000)
    else:
        f, l = rng.choice(FIRST), rng.choice(LAST)
        name = "%s %s" % (f, l)
        local = "%s.%s" % (f.lower(), l.lower())
    return email.utils.formataddr((name, "%s@%s" % (local, rng.choice(DOMAINS))))


def sentence(rng, non_ascii):
    n = rng.randint(6, 18)
    words = [rng.choice(NON_ASCII_WORDS if non_ascii and rng.random() < 0.15 else WORDS)
             for _ in range(n)]
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"])


def body_paragraphs(rng, non_ascii, grep_word):
    paras = []
    for _ in range(rng.randint(1, 6)):
        paras.append(" ".join(sentence(rng, non_ascii) for _ in range(rng.randint(1, 5))))
    if grep_word:
        paras.insert(rng.randrange(len(paras) + 1),
                     "The %s numbers are in the shared folder." % GREP_WORD)
    return paras


def wrap(text, width=72):
    out, line = [], ""
    for w in text.split():
        if line and len(line) + 1 + len(w) > width:
            out.append(line)
            line = w
        else:
            line = "%s %s" % (line, w) if line else w
    if line:
        out.append(line)
    return "\n".join(out)


def msgid(rng, domain):
    return "<%016x.%06x@%s>" % (rng.getrandbits(64), rng.getrandbits(24), domain)


def attachment(rng):
    kind = rng.random()
    size = int(rng.lognormvariate(9.5, 0.8))  # median ~13 KB
    size = max(800, min(size, 200_000))
    if kind < 0.6:
        data = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
                + rng.randbytes(size) + b"\n%%EOF\n")
        return data, "application", "pdf", "%s-%d.pdf" % (rng.choice(["invoice", "report", "scan", "minutes"]), rng.randrange(10000))
    if kind < 0.85:
        data = b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)
        return data, "image", "png", "image%03d.png" % rng.randrange(1000)
    rows = ["date,account,amount"] + ["2024-%02d-%02d,%d,%.2f" % (rng.randint(1, 12), rng.randint(1, 28), rng.randrange(9999), rng.random() * 1000) for _ in range(size // 30)]
    return "\n".join(rows) + "\n", "text", "csv", "export-%d.csv" % rng.randrange(100)


def header_text(value):
    """value as a header: RFC 2047 encoded when it is not ASCII"""
    return Header(value, "utf-8") if not value.isascii() else value


def addr(value):
    name, address = email.utils.parseaddr(value)
    return email.utils.formataddr((name, address), charset="utf-8")


def text_part(text, subtype, rng):
    if text.isascii():
        return MIMEText(text, subtype, "us-ascii")
    cs = email.charset.Charset("utf-8")
    cs.body_encoding = email.charset.QP if rng.random() < 0.6 else email.charset.BASE64
    return MIMEText(text, subtype, cs)


def boundary(rng):
    return "----=_Part_%d_%d.%d" % (rng.randrange(10**6), rng.randrange(10**9), rng.randrange(10**12))


def make_message(rng, i, sender=None, attach_ok=True, extra=None):
    """an email.message.Message (compat32 API: the modern one is ~5x slower),
    its subject and its date"""
    non_ascii = rng.random() < 0.125
    date = datetime.datetime(2023, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=i * 1800 + rng.randrange(1800))
    date = date.astimezone(datetime.timezone(datetime.timedelta(hours=rng.choice([-5, 0, 1, 2, 9]))))
    frm = sender or person(rng, non_ascii)
    domain = frm.rsplit("@", 1)[1].rstrip(">")
    topic = rng.choice(TOPICS)
    if non_ascii and rng.random() < 0.6:
        subject = rng.choice(NON_ASCII_SUBJECTS).format(d=date.strftime("%d.%m."), n=rng.randrange(1000, 9999))
    else:
        subject = rng.choice(["{t}", "Re: {t}", "Re: {t}", "Fwd: {t}", "{T} — next steps",
                              "Question about the {t}", "[team] {T}", "Meeting notes: {t}",
                              "Invoice {n}", "Re: Re: {t}"]).format(t=topic, T=topic.capitalize(), n=rng.randrange(10000, 99999))

    paras = body_paragraphs(rng, non_ascii, rng.random() < 0.01)
    first = email.utils.parseaddr(frm)[0].split(" ")[0] or "me"
    text = "Hi,\n\n" + "\n\n".join(wrap(p) for p in paras) + "\n\nBest regards,\n%s\n" % first
    if subject.startswith("Re:") and rng.random() < 0.7:
        quoted = "\n".join("> " + line for line in wrap(sentence(rng, False) + " " + sentence(rng, False)).split("\n"))
        text += "\nOn %s, someone wrote:\n%s\n" % (email.utils.format_datetime(date - datetime.timedelta(days=1)), quoted)
    m = text_part(text, "plain", rng)
    if rng.random() < 0.3:
        html = "<html><body>" + "".join("<p>%s</p>" % p.replace("&", "&amp;") for p in paras) + "</body></html>\n"
        m = MIMEMultipart("alternative", boundary(rng), [m, text_part(html, "html", rng)])
    if attach_ok and rng.random() < 0.15:
        parts = [m]
        for _ in range(rng.choice([1, 1, 1, 2])):
            data, maintype, subtype, name = attachment(rng)
            if isinstance(data, str):
                a = MIMEText(data, subtype, "us-ascii")
            else:
                a = MIMENonMultipart(maintype, subtype, name=name)
                a.set_payload(data)
                email.encoders.encode_base64(a)
            a.add_header("Content-Disposition", "attachment", filename=name)
            parts.append(a)
        m = MIMEMultipart("mixed", boundary(rng), parts)
    if extra is not None:
        data, name = extra
        a = MIMENonMultipart("application", "octet-stream", name=name)
        a.set_payload(base64.encodebytes(data).decode("ascii"))
        a["Content-Transfer-Encoding"] = "base64"
        a.add_header("Content-Disposition", "attachment", filename=name)
        m = MIMEMultipart("mixed", boundary(rng), [m, a])

    for part in m.walk():
        if part is not m:
            del part["MIME-Version"]
    # header fields first, in the order a delivered message has them
    fields = [("Return-Path", "<%s>" % email.utils.parseaddr(frm)[1])]
    mx = "mx%d.%s" % (rng.randrange(1, 4), rng.choice(DOMAINS))
    for hop in range(2):
        t = date + datetime.timedelta(seconds=2 + hop * 3)
        fields.append(("Received", "from %s (%s [192.0.2.%d])\n\tby %s with ESMTPS id %08X;\n\t%s" % (
            "smtp%d.%s" % (hop + 1, domain), "smtp%d.%s" % (hop + 1, domain), rng.randrange(1, 255),
            mx, rng.getrandbits(32), email.utils.format_datetime(t))))
    fields.append(("Date", email.utils.format_datetime(date)))
    fields.append(("From", addr(frm)))
    fields.append(("To", ", ".join(addr(person(rng, non_ascii)) for _ in range(rng.choice([1, 1, 1, 2, 3])))))
    if rng.random() < 0.3:
        fields.append(("Cc", ", ".join(addr(person(rng, non_ascii)) for _ in range(rng.randint(1, 3)))))
    fields.append(("Subject", header_text(subject)))
    fields.append(("Message-ID", msgid(rng, domain)))
    if subject.startswith("Re:"):
        ref = msgid(rng, rng.choice(DOMAINS))
        fields.append(("In-Reply-To", ref))
        fields.append(("References", "%s %s" % (msgid(rng, rng.choice(DOMAINS)), ref)))
    if rng.random() < 0.6:
        fields.append(("X-Mailer", rng.choice(MAILERS)))
    if rng.random() < 0.1:
        fields.append(("List-Id", "Team discussion <team.lists.example.org>"))
    fields.append(("MIME-Version", "1.0"))
    own = list(m.items())
    for k in list(m.keys()):
        del m[k]
    for k, v in fields + [kv for kv in own if kv[0] != "MIME-Version"]:
        m[k] = v
    return m, subject, date


def maildir_name(rng, i, date):
    return "%d.M%06dP%d.bench-host" % (int(date.timestamp()), rng.randrange(1000000), 1000 + rng.randrange(30000))


def write_message(out, rng, i, m, date):
    name = maildir_name(rng, i, date)
    if rng.random() < 0.02:
        path = os.path.join(out, "new", name)
    else:
        path = os.path.join(out, "cur", name + ":2," + rng.choice(["S", "S", "S", "S", "RS", "FS", ""]))
    with open(path, "wb") as f:
        f.write(m.as_bytes(policy=POLICY))
    ts = date.timestamp()
    os.utime(path, (ts, ts))
    return name


def gen_range(args):
    out, seed, lo, hi = args
    lines = []
    for i in range(lo, hi):
        rng = random.Random(seed * 10_000_019 + i)
        m, subject, date = make_message(rng, i)
        name = write_message(out, rng, i, m, date)
        lines.append("%s\t%s\n" % (name, subject))
    return lines


def new_maildir(out):
    part = out + ".part"
    shutil.rmtree(part, ignore_errors=True)
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(part, d))
    return part


def cmd_maildir(out, n, seed=1):
    part = new_maildir(out)
    step = 2000
    jobs = [(part, seed, lo, min(lo + step, n)) for lo in range(0, n, step)]
    with multiprocessing.Pool(os.cpu_count()) as pool, open(os.path.join(part, "shape.tsv"), "w") as shape:
        for lines in pool.imap(gen_range, jobs):
            shape.writelines(lines)
    os.rename(part, out)


def cmd_big(out, size):
    part = new_maildir(out)
    rng = random.Random(size)
    m, subject, date = make_message(rng, 0, attach_ok=False,
                                    extra=(rng.randbytes(size), "data-%d.bin" % size))
    with open(os.path.join(part, "part.b64"), "w") as f:
        f.write(m.get_payload()[-1].get_payload())
    name = write_message(part, rng, 0, m, date)
    with open(os.path.join(part, "shape.tsv"), "w") as f:
        f.write("%s\t%s\n" % (name, subject))
    os.rename(part, out)


def openssl(*args, **kw):
    return subprocess.run(("openssl",) + args, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, **kw).stdout


def make_pki(pki):
    os.makedirs(pki)
    p = lambda f: os.path.join(pki, f)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p("ca.key"), "-out", p("ca.pem"),
            "-days", "3650", "-subj", "/O=mapifs bench/CN=Bench CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", p("signer.key"), "-out", p("signer.csr"),
            "-subj", "/O=mapifs bench/CN=Alice Signer/emailAddress=alice@example.org")
    with open(p("signer.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=emailProtection\nsubjectAltName=email:alice@example.org\n")
    openssl("x509", "-req", "-in", p("signer.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-days", "3650", "-extfile", p("signer.ext"), "-out", p("signer.pem"))
    os.chmod(p("signer.key"), 0o600)
    os.chmod(p("ca.key"), 0o600)


def sign_one(args):
    part, pki, i = args
    rng = random.Random(7_000_003 + i)
    m, subject, date = make_message(rng, i, sender="Alice Signer <alice@example.org>")
    raw = m.as_bytes(policy=POLICY)
    head, body = raw.split(b"\n\n", 1)
    outer, inner, field = [], [], None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            field.append(line)
            continue
        lname = line.split(b":", 1)[0].lower()
        field = inner if lname.startswith(b"content-") else None if lname == b"mime-version" else outer
        if field is None:
            field = []  # dropped: openssl writes its own MIME-Version
        field.append(line)
    entity = b"\n".join(inner) + b"\n\n" + body
    opaque = rng.random() < 0.2
    signed = openssl("cms", "-sign", "-signer", os.path.join(pki, "signer.pem"),
                     "-inkey", os.path.join(pki, "signer.key"), *(["-nodetach"] if opaque else []),
                     input=entity)
    m2 = b"\n".join(outer) + b"\n" + signed
    name = maildir_name(rng, i, date)
    path = os.path.join(part, "cur", name + ":2,S")
    with open(path, "wb") as f:
        f.write(m2)
    return "%s\t%s\n" % (name, subject)


def cmd_signed(out, n):
    part = new_maildir(out)
    pki = os.path.join(part, "pki")
    make_pki(pki)
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() + 1) as ex, \
            open(os.path.join(part, "shape.tsv"), "w") as shape:
        shape.writelines(ex.map(sign_one, [(part, pki, i) for i in range(n)]))
    os.rename(part, out)


def cmd_native(shape, out):
    part = out + ".part"
    shutil.rmtree(part, ignore_errors=True)
    inbox = os.path.join(part, "INBOX")
    os.makedirs(inbox)
    with open(shape) as f:
        for line in f:
            name, subject = line.rstrip("\n").split("\t", 1)
            os.mkdir(os.path.join(inbox, name))
            with open(os.path.join(inbox, name, "PidTagSubject"), "w") as g:
                g.write(subject + "\n")
    os.rename(part, out)


def main(argv):
    if len(argv) >= 3 and argv[0] == "maildir":
        seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
        cmd_maildir(argv[1], int(argv[2]), seed)
    elif len(argv) == 3 and argv[0] == "big":
        cmd_big(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "signed":
        cmd_signed(argv[1], int(argv[2]))
    elif len(argv) == 3 and argv[0] == "native":
        cmd_native(argv[1], argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
