#!/usr/bin/env python3
"""Oracle and fixtures of 99-reports.bats (issue 12: delivery and read
reports, MS-OXCMAIL 2.2.3.7), by Python's email package.

  reports.py make DIR           DSNs and an MDN as MTAs write them, in DIR
  reports.py expect FILE        what the mount must show for FILE, one
                                "path<TAB>value" a line (paths relative to the
                                message directory; recipient rows by number)
"""
import os
import re
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser, HeaderParser

SEVERITY = ["delivered", "expanded", "relayed", "delayed", "failed"]
SUFFIX = [".DR", ".Expanded.DR", ".Relayed.DR", ".Delayed.DR", ".NDR"]


def groups(part):
    """The field groups of a delivery-status or disposition-notification
    part, as Python's email package reads them."""
    payload = part.get_payload()
    if isinstance(payload, list):     # message/delivery-status
        return payload
    raw = part.get_payload(decode=True) or b""
    blocks = re.split(rb"\r?\n[ \t]*\r?\n", raw.strip())
    return [HeaderParser().parsestr(b.decode("utf-8", "replace") + "\n") for b in blocks if b.strip()]


def report_class(msg):
    """The class of report @msg (a compat32 Message), or None when it is
    none: by the most severe Action of a DSN, the disposition of an MDN."""
    if msg.get_content_type() != "multipart/report" or not msg.is_multipart():
        return None
    # the first status part that says something (one bounce in the corpus
    # has prose in a first message/delivery-status part, the fields in a
    # second)
    for status in msg.get_payload():
        if status.get_content_type() in ("message/delivery-status", "message/disposition-notification"):
            cls = status_class(status)
            if cls:
                return cls
    return None


def status_class(status):
    g = groups(status)
    if status.get_content_type() == "message/delivery-status":
        sev = [SEVERITY.index(r["Action"].strip().lower()) for r in g[1:]
               if r["Action"] and r["Action"].strip().lower() in SEVERITY]
        return "REPORT.IPM.Note" + SUFFIX[max(sev)] if sev else None
    disp = " ".join((g[0]["Disposition"] or "").split()) if g else ""
    kind = disp.split(";", 1)[1].strip().split("/")[0].lower() if ";" in disp else ""
    if kind in ("displayed", "dispatched", "processed"):
        return "REPORT.IPM.Note.IPNRN"
    if kind in ("deleted", "denied", "failed"):
        return "REPORT.IPM.Note.IPNNRN"
    return None


def after_type(v):
    v = " ".join(v.split())
    return v.split(";", 1)[1].strip() if ";" in v else v


def expect(path):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.compat32).parse(f)
    out = []
    parts = msg.get_payload() if msg.is_multipart() else []
    status = next((p for p in parts if p.get_content_type() in
                   ("message/delivery-status", "message/disposition-notification")
                   and status_class(p)), None)
    if status is None:
        print("PidTagMessageClass\tIPM.Note")
        return
    g = groups(status)
    if status.get_content_type() == "message/delivery-status":
        sev = [SEVERITY.index(r["Action"].strip().lower()) for r in g[1:]
               if r["Action"] and r["Action"].strip().lower() in SEVERITY]
        best = max(sev)
        out.append(("PidTagMessageClass", report_class(msg)))
        if g[0]["Reporting-MTA"]:
            out.append(("PidTagReportingMessageTransferAgent", " ".join(g[0]["Reporting-MTA"].split())))
        rows = [r for r in g[1:] if r["Action"] and r["Action"].strip().lower() == SEVERITY[best]]
        out.append(("#dsn-rows", str(len(rows))))
        for i, r in enumerate(rows):
            out.append((f"dsn/{i}/PidTagSmtpAddress", after_type(r["Final-Recipient"])))
            if r["Status"]:
                k, s, d = (int(x) for x in r["Status"].split()[0].split(".")[:3])
                out.append((f"dsn/{i}/PidTagNonDeliveryReportStatusCode", str(k * 100 + s * 10 + d)))
            if r["Remote-MTA"]:
                out.append((f"dsn/{i}/PidTagRemoteMessageTransferAgent", after_type(r["Remote-MTA"])))
    else:
        disp = " ".join(g[0]["Disposition"].split())
        kind = disp.split(";", 1)[1].strip().split("/")[0].lower()
        out.append(("PidTagMessageClass", report_class(msg)))
        out.append(("PidTagReportDisposition", kind))
        if g[0]["Original-Message-ID"]:
            out.append(("PidTagOriginalMessageId", g[0]["Original-Message-ID"].strip()))
    inner = next((p for p in parts if p.get_content_type() == "message/rfc822"), None)
    if inner is not None and inner.get_payload() and inner.get_payload()[0]["Subject"]:
        from email.header import decode_header, make_header
        out.append(("PidTagOriginalSubject",
                    str(make_header(decode_header(inner.get_payload()[0]["Subject"])))))
    for k, v in out:
        print(f"{k}\t{v}")


def make(d):
    os.makedirs(d, exist_ok=True)
    original = EmailMessage()
    original["From"] = "Alice <alice@example.org>"
    original["To"] = "bob@example.net, carol@example.net, dave@example.net"
    original["Subject"] = "Quarterly figures"
    original["Date"] = "Mon, 02 Dec 2024 10:00:00 +0000"
    original["Message-ID"] = "<q4@example.org>"
    original.set_content("The figures.\n")

    def report(name, status_text, subtype="delivery-status", report_type="delivery-status"):
        # written out as an MTA writes it: text, status, the original
        b = f"=={name}=="
        text = (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
                f"To: alice@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n"
                f"Date: Mon, 02 Dec 2024 10:05:00 +0000\r\nMessage-ID: <{name}@mx.example.org>\r\n"
                f"MIME-Version: 1.0\r\n"
                f"Content-Type: multipart/report; report-type={report_type};\r\n boundary=\"{b}\"\r\n\r\n"
                f"This is a MIME-encapsulated message.\r\n\r\n--{b}\r\n"
                f"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
                f"This is the mail system at host mx.example.org.\r\n\r\n--{b}\r\n"
                f"Content-Type: message/{subtype}\r\n\r\n{status_text}\r\n--{b}\r\n"
                f"Content-Type: message/rfc822\r\n\r\n")
        data = text.encode() + original.as_bytes(policy=policy.SMTP) + f"\r\n--{b}--\r\n".encode()
        with open(os.path.join(d, name + ".eml"), "wb") as f:
            f.write(data)

    # Postfix's bounce: one failed, one delivered (skipped: SHOULD, 2.2.3.7.1 step 3.1)
    report("postfix-bounce",
           "Reporting-MTA: dns; mx.example.org\r\nX-Postfix-Queue-ID: 4ABC\r\n"
           "Arrival-Date: Mon,  2 Dec 2024 10:00:01 +0000 (UTC)\r\n\r\n"
           "Final-Recipient: rfc822; bob@example.net\r\nOriginal-Recipient: rfc822;bob@example.net\r\n"
           "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mail.example.net\r\n"
           "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected:\r\n"
           "    User unknown in virtual mailbox table\r\n\r\n"
           "Final-Recipient: rfc822; carol@example.net\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\n"
           "Final-Recipient: rfc822; dave@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\n"
           "Remote-MTA: dns; mail.example.net\r\nDiagnostic-Code: smtp; 552 mailbox full\r\n")
    # Exim's delay warning
    report("exim-delay",
           "Reporting-MTA: dns; mx.example.org\r\n\r\n"
           "Action: delayed\r\nFinal-Recipient: rfc822;bob@example.net\r\nStatus: 4.0.0\r\n"
           "Remote-MTA: dns; mail.example.net\r\nWill-Retry-Until: Mon, 09 Dec 2024 10:00:00 +0000\r\n")
    # a read receipt as Thunderbird sends it
    report("thunderbird-mdn",
           "Reporting-UA: bob.example.net; Thunderbird 115.0\r\n"
           "Final-Recipient: rfc822;bob@example.net\r\nOriginal-Message-ID: <q4@example.org>\r\n"
           "Disposition: manual-action/MDN-sent-manually; displayed\r\n",
           subtype="disposition-notification", report_type="disposition-notification")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "expect":
        expect(sys.argv[2])
    else:
        sys.exit(__doc__)
