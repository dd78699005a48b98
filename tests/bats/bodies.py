#!/usr/bin/env python3
"""Fixtures and oracle of 97-bodies.bats (issue 12: every message with a text
body shows PidTagBody; MS-OXCMAIL 2.2.3.3.2).

  bodies.py make MAILDIR        a Maildir of HTML, alternative, related,
                                enriched and embedded messages (cur/), and
                                inner.eml files for the S/MIME ones
  bodies.py expect FILE DIR     from FILE, by Python's email package:
                                DIR/plain.txt (the text/plain alternative, if
                                any), DIR/html.bin and DIR/charset (the HTML
                                part's decoded bytes and charset, if any)
"""
import os
import sys
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

HTML = {
    "paragraphs": "<html><head><title>Not shown</title><style>p { color: red }</style>"
                  "<script>var x = '<p>no</p>';</script></head><body>"
                  "<h1>Quarterly &amp; yearly</h1><p>Dear   team,<br>the figures are "
                  "<b>in</b>.&nbsp;See <a href='https://example.org/r'>the report</a>.</p>"
                  "<!-- a comment --><p>Caf&eacute; at 3&nbsp;pm &euro;5 &lt;ok&gt;</p></body></html>",
    "lists": "<p>Agenda:</p><ul><li>one</li><li>two<ol><li>first</li><li>second</li></ol></li>"
             "<li>three</li></ul><ol start=4><li>four</li><li>five</li></ol><div>end</div>",
    "tables": "<table><tr><th>Name</th><th>Qty</th></tr><tr><td>apples</td><td>3</td></tr>"
              "<tr><td>pears</td><td>12</td></tr></table><blockquote>quoted text</blockquote>"
              "<pre>  keep   these\n    spaces</pre><div>after</div>",
    "unclosed": "<p>first<p>second <i>italic <b>both</i> bold</b><div>div<br><br>two breaks</div>"
                "Text at the end &#x263A; &#9731;",
}


def html_message(subject, html, charset="utf-8"):
    m = EmailMessage()
    m["From"] = "Alice <alice@example.org>"
    m["To"] = "bob@example.org"
    m["Subject"] = subject
    m["Message-ID"] = f"<{subject.replace(' ', '.')}@example.org>"
    m.set_content(html.encode(charset), maintype="text", subtype="html",
                  cte="quoted-printable", params={"charset": charset})
    return m


def alternative(subject, plain, html):
    m = EmailMessage()
    m["From"] = "Alice <alice@example.org>"
    m["To"] = "bob@example.org"
    m["Subject"] = subject
    m.set_content(plain)
    m.add_alternative(html, subtype="html")
    return m


def make(md):
    for d in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(md, d), exist_ok=True)
    msgs = {}
    for name, html in HTML.items():
        msgs[f"html-{name}"] = html_message(f"html {name}", html)
    msgs["alt"] = alternative("alternative", "Plain rendition, Grüße\nsecond line\n",
                              HTML["paragraphs"])
    rel = alternative("related", "The plain text of a related body\n",
                      "<p>See the <img src='cid:logo@x'> logo</p>")
    rel.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\nfake", maintype="image",
                                     subtype="png", cid="<logo@x>")
    msgs["related"] = rel
    msgs["cp1252"] = html_message("cp1252", "<p>Caf\u00e9 \u2013 na\u00efve \u20ac</p>",
                                  charset="windows-1252")
    enr = EmailMessage()
    enr["From"] = "a@example.org"
    enr["Subject"] = "enriched"
    enr.set_content("Some <bold>bold</bold> text\n\nand a second paragraph\n",
                    subtype="enriched")
    msgs["enriched"] = enr
    outer = EmailMessage()
    outer["From"] = "a@example.org"
    outer["Subject"] = "with an embedded message"
    outer.set_content("See the attached message.\n")
    outer.add_attachment(html_message("html inside", HTML["lists"]))
    msgs["embedded"] = outer
    for i, (name, m) in enumerate(sorted(msgs.items())):
        with open(os.path.join(md, "cur", f"{1700000100 + i}.M{i}P1.{name}:2,S"), "wb") as f:
            f.write(m.as_bytes(policy=policy.default))
    # the content of the S/MIME messages the test signs with openssl
    inner = alternative("signed", "Signed plain text\n", HTML["lists"])
    del inner["From"], inner["To"], inner["Subject"]
    with open(os.path.join(md, "..", "inner-alt.eml"), "wb") as f:
        f.write(inner.as_bytes(policy=policy.SMTP))
    inner = html_message("x", HTML["tables"])
    for h in ("From", "To", "Subject", "Message-ID"):
        del inner[h]
    with open(os.path.join(md, "..", "inner-html.eml"), "wb") as f:
        f.write(inner.as_bytes(policy=policy.SMTP))


def expect(path, out):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    # the first part of a clear-signed message, the content of an opaque one
    if msg.get_content_type() == "multipart/signed":
        msg = msg.get_payload()[0]
    os.makedirs(out, exist_ok=True)
    plain = msg.get_body(preferencelist=("plain",))
    if plain is not None and plain.get_content_type() == "text/plain":
        with open(os.path.join(out, "plain.txt"), "w", encoding="utf-8") as f:
            f.write(plain.get_content())
    html = msg.get_body(preferencelist=("html",))
    if html is not None and html.get_content_type() == "text/html":
        with open(os.path.join(out, "html.bin"), "wb") as f:
            f.write(html.get_payload(decode=True))
        with open(os.path.join(out, "charset"), "w") as f:
            f.write(html.get_content_charset() or "utf-8")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "expect":
        expect(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
