#!/usr/bin/env python3
"""Corpus tooling for the mapifs tests: list the external test corpus, derive the
message class mapifs is expected to give every message, and build a Maildir from it.

The corpus is NOT part of this repository.  It lives in ``../shared/corpus``
relative to the project root and is described row by row in its SOURCES.md.
When the corpus directory is missing every subcommand prints a SKIP message and
exits with status 77 (the "skipped" code of meson and automake test harnesses);
with CI=true in the environment it prints an ERROR and exits with status 1.

Subcommands
-----------
  corpus.py list    CORPUS_DIR          one line per message: relpath TAB class
  corpus.py maildir CORPUS_DIR OUTDIR   Maildir (cur/ new/ tmp/) + OUTDIR/expected.tsv
  corpus.py summary CORPUS_DIR          counts per class and what was excluded

Which files are messages
------------------------
* SOURCES.md has one section per source directory (``## thunderbird``); each
  section has a table ``| `relative/path` | What it is |``.  A row whose text
  contains ``MIME: <structure>`` describes an Internet message (its MIME tree was
  produced by a byte-exact splitter); such files are messages.
* Rows without a "MIME:" description are certificates, keys, PKCS#12 files,
  CRLs, licence texts, upstream READMEs/notes, bare CMS/PKCS#7 blobs and Outlook
  .msg files.  Such a row is still taken as a message when it *clearly* is one:
  its name ends in .eml/.msg/.message/.txt/.raw or it sits in a *messages*/*msgs*
  directory, AND it is not an Outlook .msg Compound File Binary (magic
  D0 CF 11 E0: those are MAPI property stores, not Internet messages), AND its
  description does not call it documentation/licence/CMS blob, AND its content
  passes the header test below.  On the corpus this was written for, no row
  qualifies: the six Outlook .msg files are CFB and messages/msgSig.txt is a
  bare base64 SignedData, so all of them are excluded.
* Header test: after an optional UTF-8 BOM and mbox "From " line the file has
  a header block (see below) holding typical message fields (From, To,
  Subject, Date, Message-ID, MIME-Version, Content-Type, Received): one if the
  first line is a header field, two otherwise (AS2 files open with an HTTP
  request line, one Direct Project file with a stray continuation line).
* Files present on disk but missing from SOURCES.md are judged by the header
  test alone (with a warning on stderr); SOURCES.md itself is never listed.
  Without SOURCES.md every file is judged that way; on the reference corpus
  this finds 493 of the 496 messages (not the 3 deliberately header-less ones)
  and nothing else.

Expected class (MS-OXOSMIME recognition, by the top-level media type only)
-------------------------------------------------------------------------
  multipart/signed (S/MIME *or* PGP)                  IPM.Note.SMIME.MultipartSigned
  application/pkcs7-mime, application/x-pkcs7-mime   IPM.Note.SMIME
  application/octet-stream with name= or filename=
      ending in .p7m (Content-Type / Content-Disposition) IPM.Note.SMIME
  any of the two S/MIME cases with smime-type=signed-receipt
                                                      IPM.Note.Receipt.SMIME
  anything else, or no Content-Type at all            IPM.Note

The media type is taken from SOURCES.md (first media type of its "MIME:" tree)
AND from the raw file; the raw file wins.  Raw header parsing, all on bytes:
strip a leading UTF-8 BOM, skip a leading mbox "From " line, take the lines up
to the first empty line (LF or CRLF endings, mixed allowed; a lone CR is not a
line break), unfold continuation lines (leading SP/HTAB), and use the LAST
Content-Type field (field names case-insensitive, blanks before the colon
tolerated).  Lines inside the block that are neither a field nor a continuation
(an HTTP request line, body text of a message lacking the blank separator line,
a continuation line with nothing to continue) are ignored; ``-v`` reports them,
because parsers that end the header block at such a line can see a different
Content-Type.  Media type: in the value, with RFC 822 comments removed, the
leading "type/subtype" (blanks around "/" tolerated; whatever follows it before
the first ";" is ignored, e.g. a "boundary=" that lost its semicolon); a value
without "/" keeps its first word as is; an empty value gives "".  Lowercased
(ASCII only).  For comparing with SOURCES.md a missing Content-Type counts as
text/plain (the RFC 2045 default, which is what SOURCES.md writes).  Every
disagreement between SOURCES.md and the raw header is printed on stderr as
"DISAGREE<TAB>path<TAB>SOURCES.md=...<TAB>raw last Content-Type=...".  On the
reference corpus there are four, none of which changes the class: two files
with two top-level Content-Type fields (SOURCES.md used the first one), one
whose header block runs into the body without a blank line, and one with an
empty Content-Type value that SOURCES.md reports as 'name=""'.

Maildir (subcommand maildir)
----------------------------
OUTDIR/cur/<unique>:2, is a byte-exact copy (written to tmp/, then renamed).
<unique> is the relative path with "/" turned into "__" and every other
character outside [A-Za-z0-9._-] into "_"; a name already taken gets "-2",
"-3", ... appended.  OUTDIR/expected.tsv has one line per message:
<unique> TAB <expected class> TAB <relative path>.  An OUTDIR that already holds
a Maildir is refused unless --force is given.

Python 3.11, standard library only.
"""

import argparse
import email.header
import hashlib
import os
import re
import shutil
import sys
import urllib.parse
from collections import Counter, OrderedDict

SKIP_STATUS = 77

CLASS_NOTE = "IPM.Note"
CLASS_SIGNED = "IPM.Note.SMIME.MultipartSigned"
CLASS_SMIME = "IPM.Note.SMIME"
CLASS_RECEIPT = "IPM.Note.Receipt.SMIME"
ALL_CLASSES = (CLASS_NOTE, CLASS_SIGNED, CLASS_SMIME, CLASS_RECEIPT,
               "REPORT.IPM.Note.NDR", "REPORT.IPM.Note.Delayed.DR", "REPORT.IPM.Note.DR",
               "REPORT.IPM.Note.IPNRN", "REPORT.IPM.Note.IPNNRN", "IPM.Schedule.Meeting.Request")

CFB_MAGIC = b"\xd0\xcf\x11\xe0"
UTF8_BOM = b"\xef\xbb\xbf"
MESSAGE_EXTS = (".eml", ".msg", ".message", ".txt", ".raw")
TYPICAL_FIELDS = {b"from", b"to", b"subject", b"date", b"message-id",
                  b"mime-version", b"content-type", b"received"}
# RFC 5322 field name: printable US-ASCII except ":"; obsolete syntax allows
# blanks between the name and the colon.
FIELD_RE = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)\Z", re.S)
ROW_RE = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*(.*?)\s*\|\s*$")
MEDIA_TYPE_RE = re.compile(rb"^([^\s/;]+)[ \t\r\n]*/[ \t\r\n]*([^\s;]+)")
SECTION_RE = re.compile(r"^##\s+(\S.*?)\s*$")
MIME_DESC_RE = re.compile(r"\bMIME:\s*([^\[;]*)")
NOT_MESSAGE_DESC_RE = re.compile(
    r"licen[cs]e text|upstream documentation|CMS blob|not a (mail )?message|"
    r"Outlook \.msg|PKCS#12|private key|X\.509 CRL|^cert ", re.I)


# --------------------------------------------------------------------------
# raw header parsing (bytes only)

def split_lines(data):
    """Yield lines without their terminator; LF ends a line, a CR before it is dropped."""
    start = 0
    n = len(data)
    while start < n:
        end = data.find(b"\n", start)
        if end < 0:
            line, start = data[start:], n
        else:
            line, start = data[start:end], end + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        yield line


def parse_header_block(data):
    """Return (fields, anomalies, has_from_line, has_bom).

    fields: list of (name_lower, raw_name, unfolded_value) in file order.
    anomalies: list of (kind, line) for lines that are neither a field nor a
    continuation of one; kind is "non-field" or "orphan-continuation".
    """
    has_bom = data.startswith(UTF8_BOM)
    if has_bom:
        data = data[len(UTF8_BOM):]
    fields = []
    anomalies = []
    has_from = False
    current = None  # [name_lower, raw_name, value]
    first = True
    for line in split_lines(data):
        if first:
            first = False
            if line.startswith(b"From "):
                has_from = True
                continue
        if line == b"":
            break
        if line[:1] in (b" ", b"\t"):
            if current is not None:
                current[2] += line          # unfolding removes only the line break
            else:
                anomalies.append(("orphan-continuation", line))
            continue
        m = FIELD_RE.match(line)
        if m:
            current = [m.group(1).lower(), m.group(1), m.group(2)]
            fields.append(current)
        else:
            anomalies.append(("non-field", line))
            current = None
    return [tuple(f) for f in fields], anomalies, has_from, has_bom


def strict_header_fields(data):
    """Fields as seen by a parser that ends the header block at the first line
    that is neither a header field nor a continuation (for -v diagnostics)."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    fields = []
    current = None
    first = True
    for line in split_lines(data):
        if first:
            first = False
            if line.startswith(b"From "):
                continue
        if line == b"":
            break
        if line[:1] in (b" ", b"\t"):
            if current is None:
                break
            current[2] += line
            continue
        m = FIELD_RE.match(line)
        if not m:
            break
        current = [m.group(1).lower(), m.group(1), m.group(2)]
        fields.append(current)
    return [tuple(f) for f in fields]


def strip_comments(value):
    """Remove RFC 822 comments (nested parentheses) outside quoted strings."""
    out = bytearray()
    depth = 0
    in_quote = False
    i = 0
    while i < len(value):
        c = value[i:i + 1]
        if in_quote:
            out += c
            if c == b"\\" and i + 1 < len(value):
                out += value[i + 1:i + 2]
                i += 1
            elif c == b'"':
                in_quote = False
        elif depth:
            if c == b"\\":
                i += 1
            elif c == b"(":
                depth += 1
            elif c == b")":
                depth -= 1
        elif c == b"(":
            depth = 1
        else:
            out += c
            if c == b'"':
                in_quote = True
        i += 1
    return bytes(out)


def split_params(value):
    """Split a structured value on ';' outside quoted strings."""
    parts = []
    cur = bytearray()
    in_quote = False
    i = 0
    while i < len(value):
        c = value[i:i + 1]
        if in_quote:
            cur += c
            if c == b"\\" and i + 1 < len(value):
                cur += value[i + 1:i + 2]
                i += 1
            elif c == b'"':
                in_quote = False
        elif c == b'"':
            in_quote = True
            cur += c
        elif c == b";":
            parts.append(bytes(cur))
            cur = bytearray()
        else:
            cur += c
        i += 1
    parts.append(bytes(cur))
    return parts


def unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[:1] == b'"' and v[-1:] == b'"':
        v = re.sub(rb"\\(.)", rb"\1", v[1:-1], flags=re.S)
    return v


def decode_param_text(raw):
    """Bytes -> str; RFC 2047 encoded-words (common in name=) are decoded."""
    text = raw.decode("latin-1")
    if "=?" in text:
        try:
            chunks = email.header.decode_header(text)
            text = "".join(c.decode(cs or "latin-1", "replace") if isinstance(c, bytes) else c
                           for c, cs in chunks)
        except Exception:  # malformed encoded-word: keep the raw text
            pass
    return text


def parse_params(parts):
    """RFC 2045 parameters with RFC 2231 continuations/charsets -> {name: str}."""
    simple = {}
    ext = {}  # name -> {index: (encoded, value)}
    for p in parts:
        if b"=" not in p:
            continue
        k, v = p.split(b"=", 1)
        k = k.strip().lower().decode("latin-1")
        if not k:
            continue
        m = re.match(r"^(.*?)(?:\*(\d+))?(\*)?$", k)
        if m and (m.group(2) is not None or m.group(3)):
            idx = int(m.group(2)) if m.group(2) is not None else 0
            ext.setdefault(m.group(1), {})[idx] = (bool(m.group(3)), unquote(v))
        else:
            simple.setdefault(k, decode_param_text(unquote(v)))
    for name, pieces in ext.items():
        charset = "latin-1"
        buf = b""
        for i in sorted(pieces):
            encoded, v = pieces[i]
            if encoded:
                if i == 0 and v.count(b"'") >= 2:
                    cs, _lang, v = v.split(b"'", 2)
                    charset = cs.decode("latin-1") or "latin-1"
                buf += urllib.parse.unquote_to_bytes(v)
            else:
                buf += v
        try:
            simple[name] = buf.decode(charset, "replace")
        except LookupError:
            simple[name] = buf.decode("latin-1")
    return simple


def parse_structured(value):
    """Content-Type / Content-Disposition value -> (token lowercased bytes, params)."""
    parts = split_params(strip_comments(value))
    head = parts[0].strip()
    m = MEDIA_TYPE_RE.match(head)
    if m:                       # "type/subtype", blanks around "/" tolerated;
        token = m.group(1) + b"/" + m.group(2)   # anything after it is ignored
    else:                       # no slash: keep the first word as it is
        token = head.split(None, 1)[0] if head else b""
    return token.lower(), parse_params(parts[1:])


def last_field(fields, name):
    value = None
    for lname, _raw, v in fields:
        if lname == name:
            value = v
    return value


def classify_headers(fields):
    """Return (media_type or None, class) from parsed top-level fields."""
    ct = last_field(fields, b"content-type")
    if ct is None:
        return None, CLASS_NOTE
    mtype, params = parse_structured(ct)
    media = mtype.decode("latin-1")
    receipt = params.get("smime-type", "").strip().lower() == "signed-receipt"
    if media == "multipart/signed":
        return media, CLASS_SIGNED
    if media in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        return media, CLASS_RECEIPT if receipt else CLASS_SMIME
    if media == "application/octet-stream":
        names = [params.get("name", "")]
        cd = last_field(fields, b"content-disposition")
        if cd is not None:
            names.append(parse_structured(cd)[1].get("filename", ""))
        if any(n.strip().lower().endswith(".p7m") for n in names):
            return media, CLASS_RECEIPT if receipt else CLASS_SMIME
    return media, CLASS_NOTE


def content_class(data):
    """The class a message's content gives beyond the S/MIME recognition
    (issue 12): a report's (MS-OXCMAIL 2.2.3.7) or a meeting's (2.2.3.3.3,
    MS-OXCICAL), as the bats helpers reports.py and meetings.py read them
    with Python's email and icalendar packages; None for a plain note."""
    import email
    from email import policy
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bats")
    if here not in sys.path:
        sys.path.insert(0, here)
    import meetings
    import reports
    body = data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data
    msg = email.message_from_bytes(body, policy=policy.compat32)
    try:
        return reports.report_class(msg) or meetings.meeting_class(msg)
    except Exception:   # what Python's packages cannot read is judged by headers alone
        return None


def class_for_media_type(media):
    """Class from a bare media type (SOURCES.md side; no parameters known)."""
    if media == "multipart/signed":
        return CLASS_SIGNED
    if media in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        return CLASS_SMIME
    return CLASS_NOTE


def looks_like_message(data):
    if data.startswith(CFB_MAGIC):
        return False
    fields, anomalies, _f, _b = parse_header_block(data)
    if not fields:
        return False
    body = data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data
    first = next(split_lines(body), b"")
    if first.startswith(b"From "):
        lines = split_lines(body)
        next(lines, None)
        first = next(lines, b"")
    typical = {f[0] for f in fields} & TYPICAL_FIELDS
    # A header field on the first line and one typical field, or (for files
    # that open with an HTTP request line or a stray continuation line) two.
    return bool(typical) and (FIELD_RE.match(first) is not None or len(typical) >= 2)


# --------------------------------------------------------------------------
# SOURCES.md

def parse_sources(corpus):
    """{relpath: description} for every table row of a source-directory section."""
    path = os.path.join(corpus, "SOURCES.md")
    rows = OrderedDict()
    section = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = SECTION_RE.match(line)
            if m:
                name = m.group(1)
                section = name if os.path.isdir(os.path.join(corpus, name)) else None
                continue
            if section is None:
                continue
            m = ROW_RE.match(line)
            if m:
                rows[section + "/" + m.group(1)] = m.group(2)
    return rows


def sources_media_type(desc):
    m = MIME_DESC_RE.search(desc)
    if not m:
        return None
    return m.group(1).strip().lower()


# --------------------------------------------------------------------------
# corpus scan

class Entry:
    __slots__ = ("rel", "cls", "raw_media", "src_media", "reason", "notes")

    def __init__(self, rel):
        self.rel = rel
        self.cls = None
        self.raw_media = None
        self.src_media = None
        self.reason = None     # exclusion reason when not a message
        self.notes = []


def walk_files(corpus):
    out = []
    for d, dirs, files in os.walk(corpus):
        dirs.sort()
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), corpus)
            out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def excluded_reason(rel, desc, data):
    """Why a file without a MIME: description is not a message (None = message)."""
    if data.startswith(CFB_MAGIC):
        return "Outlook .msg (CFB binary, not an Internet message)"
    base = rel.rsplit("/", 1)[-1].lower()
    in_msg_dir = re.search(r"(^|/)[^/]*(messages|msgs)[^/]*/", rel, re.I) is not None
    if desc is not None and NOT_MESSAGE_DESC_RE.search(desc):
        d = desc.lower()
        if "licen" in d:
            return "licence text"
        if "documentation" in d:
            return "documentation / notes"
        if "cms" in d or "pkcs#7" in d:
            return "bare CMS / PKCS#7 blob"
        return "certificate / key / PKCS#12 / CRL"
    if desc is not None and not (base.endswith(MESSAGE_EXTS) or in_msg_dir):
        return _kind_by_name(base, desc)
    if not looks_like_message(data):
        return "no RFC 5322 header block (not a message)"
    return None


def _kind_by_name(base, desc):
    d = (desc or "").lower()
    if re.search(r"signeddata|envelopeddata|signedandenvelopeddata|cms blob", d) or \
            re.search(r"\.(cms|p7m|p7s)$", base):
        return "bare CMS / PKCS#7 blob"
    if re.search(r"\.(p12|pfx|pkcs12|pem|crt|der|key|pub|crl|p7b)$", base) or \
            re.search(r"\bcert\b|private key|public key|pkcs#12|crl|certificate|parameters", d):
        return "certificate / key / PKCS#12 / CRL"
    if "licen" in base or base in ("copying", "notice") or "licen" in d:
        return "licence text"
    if base.startswith("readme") or "documentation" in d:
        return "documentation / notes"
    return "not a message (no MIME description, not a message file name)"


def scan(corpus, verbose=False, warn=None):
    """Return (messages, excluded, disagreements) lists of Entry."""
    if warn is None:
        def warn(msg):
            sys.stderr.write(msg + "\n")
    have_sources = os.path.isfile(os.path.join(corpus, "SOURCES.md"))
    rows = parse_sources(corpus) if have_sources else {}
    if not have_sources:
        warn("warning: %s has no SOURCES.md; judging every file by its content"
             % corpus)
    files = walk_files(corpus)
    on_disk = set(files)
    for rel in rows:
        if rel not in on_disk:
            warn("warning: SOURCES.md lists %s but the file is missing" % rel)
    messages, excluded, disagreements = [], [], []
    for rel in files:
        if rel == "SOURCES.md":
            continue
        e = Entry(rel)
        with open(os.path.join(corpus, rel), "rb") as fh:
            data = fh.read()
        desc = rows.get(rel)
        e.src_media = sources_media_type(desc) if desc is not None else None
        if e.src_media is None:
            if desc is None and have_sources:
                warn("warning: %s is not described in SOURCES.md" % rel)
            e.reason = excluded_reason(rel, desc, data)
            if e.reason is not None:
                excluded.append(e)
                continue
            if have_sources:
                warn("note: %s has no MIME: description but is a message; included"
                     % rel)
        elif data.startswith(CFB_MAGIC):
            e.reason = "Outlook .msg (CFB binary, not an Internet message)"
            warn("warning: %s has a MIME: description but is a CFB file; excluded"
                 % rel)
            excluded.append(e)
            continue
        fields, anomalies, _has_from, _has_bom = parse_header_block(data)
        e.raw_media, e.cls = classify_headers(fields)
        if e.cls == CLASS_NOTE:
            e.cls = content_class(data) or e.cls
        for kind, line in anomalies:
            e.notes.append("%s line in header block: %s" % (kind, show(line[:100])))
        if anomalies:
            smedia, _scls = classify_headers(strict_header_fields(data))
            if smedia != e.raw_media:
                e.notes.append(
                    "a parser ending the header block at the first such line would "
                    "see Content-Type %s instead of %s"
                    % (fmt_media(smedia), fmt_media(e.raw_media)))
        if e.src_media is not None:
            raw_cmp = e.raw_media if e.raw_media is not None else "text/plain"
            if raw_cmp != e.src_media:
                disagreements.append(e)
                warn("DISAGREE\t%s\tSOURCES.md=%s (%s)\traw last Content-Type=%s (%s)"
                     "\tusing raw" % (
                         rel, e.src_media, class_for_media_type(e.src_media),
                         fmt_media(e.raw_media), e.cls))
        if verbose:
            for n in e.notes:
                warn("note: %s: %s" % (rel, n))
        messages.append(e)
    return messages, excluded, disagreements


def fmt_media(m):
    return "(none)" if m is None else ("(empty)" if m == "" else m)


def show(b):
    return b.decode("ascii", "backslashreplace")


# --------------------------------------------------------------------------
# subcommands

def require_corpus(corpus):
    """A missing corpus skips (status 77) on a developer's machine; with
    CI=true it is an error (status 1), like require_corpus in
    tests/bats/common.bash: CI must not pass on silent skips."""
    if not os.path.isdir(corpus):
        where = ("test corpus not found at %s (expected ../shared/corpus relative to "
                 "the project root; it is not part of the repository)" % corpus)
        if os.environ.get("CI") == "true":
            sys.stderr.write("ERROR: %s; CI=true: a missing corpus is a failure\n" % where)
            sys.exit(1)
        sys.stderr.write("SKIP: %s\n" % where)
        sys.exit(SKIP_STATUS)


def out_line(*cols):
    sys.stdout.buffer.write(b"\t".join(
        c if isinstance(c, bytes) else os.fsencode(c) for c in cols) + b"\n")


def cmd_list(args):
    require_corpus(args.corpus)
    messages, _exc, _dis = scan(args.corpus, args.verbose)
    for e in messages:
        out_line(e.rel, e.cls)
    return 0


def maildir_names(rels):
    """relpath -> unique Maildir base name (chars [A-Za-z0-9._-] only)."""
    def natural(rel):
        s = re.sub(r"[^A-Za-z0-9._-]", "_", rel.replace("/", "__"))
        if s.startswith("."):
            s = "_" + s
        if len(s.encode()) > 200:          # stay well below NAME_MAX with ":2,"
            s = s[:180] + "-" + hashlib.sha1(rel.encode("utf-8", "surrogateescape")
                                             ).hexdigest()[:12]
        return s
    nat = {rel: natural(rel) for rel in rels}
    reserved = set(nat.values())
    used = set()
    out = {}
    for rel in rels:
        name = nat[rel]
        if name in used:
            n = 2
            while "%s-%d" % (name, n) in reserved or "%s-%d" % (name, n) in used:
                n += 1
            name = "%s-%d" % (name, n)
        used.add(name)
        out[rel] = name
    return out


def cmd_maildir(args):
    require_corpus(args.corpus)
    messages, _exc, _dis = scan(args.corpus, args.verbose)
    out = args.outdir
    subdirs = [os.path.join(out, d) for d in ("cur", "new", "tmp")]
    expected = os.path.join(out, "expected.tsv")
    existing = [os.path.join(d, f) for d in subdirs if os.path.isdir(d)
                for f in os.listdir(d)]
    if existing:
        if not args.force:
            sys.stderr.write("error: %s already holds a Maildir with %d entries; "
                             "use --force to replace it\n" % (out, len(existing)))
            return 1
        for p in existing:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
    for d in subdirs:
        os.makedirs(d, exist_ok=True)
    names = maildir_names([e.rel for e in messages])
    lines = []
    for e in messages:
        if "\t" in e.rel or "\n" in e.rel:
            sys.stderr.write("error: cannot represent path %r in expected.tsv\n" % e.rel)
            return 1
        uniq = names[e.rel]
        tmp = os.path.join(out, "tmp", uniq)
        shutil.copy2(os.path.join(args.corpus, e.rel), tmp)
        os.replace(tmp, os.path.join(out, "cur", uniq + ":2,"))
        lines.append(b"\t".join((uniq.encode(), e.cls.encode(), os.fsencode(e.rel))))
    with open(expected + ".tmp", "wb") as fh:
        fh.write(b"".join(l + b"\n" for l in lines))
    os.replace(expected + ".tmp", expected)
    sys.stderr.write("%d messages written to %s\n" % (len(messages), out))
    return 0


def sources_crypto(desc):
    """Crypto layers SOURCES.md names for a file: set of clear/opaque/enveloped."""
    m = re.search(r"crypto:(.*?)(?: — MIME:|$)", desc or "")
    layers = set()
    if m:
        c = m.group(1)
        if "clear-signed" in c:
            layers.add("clear-signed")
        if "opaque-signed" in c:
            layers.add("opaque-signed")
        if "enveloped" in c:
            layers.add("enveloped")
    return layers


def cmd_summary(args):
    require_corpus(args.corpus)
    def warn(msg):   # disagreements and notes are part of this report already
        if not msg.startswith(("DISAGREE", "note:")):
            sys.stderr.write(msg + "\n")
    messages, excluded, disagreements = scan(args.corpus, False, warn)
    rows = {}
    if os.path.isfile(os.path.join(args.corpus, "SOURCES.md")):
        rows = parse_sources(args.corpus)
    p = print
    p("corpus: %s" % args.corpus)
    p("message files: %d   excluded files: %d   SOURCES.md/raw disagreements: %d"
      % (len(messages), len(excluded), len(disagreements)))
    p("")
    p("expected class (from the raw top-level header):")
    cnt = Counter(e.cls for e in messages)
    for c in ALL_CLASSES:
        p("  %-32s %4d" % (c, cnt.get(c, 0)))
    p("")
    p("top-level media types (raw last Content-Type; '(none)' = no Content-Type):")
    mt = Counter(fmt_media(e.raw_media) for e in messages)
    for k, v in sorted(mt.items(), key=lambda kv: (-kv[1], kv[0])):
        p("  %-40s %4d" % (k, v))
    p("")
    p("per source directory:")
    per = {}
    for e in messages:
        per.setdefault(e.rel.split("/", 1)[0], Counter())[e.cls] += 1
    for src in sorted(per):
        c = per[src]
        p("  %-18s %s" % (src, ", ".join("%s %d" % (k, c[k]) for k in ALL_CLASSES if c[k])))
    if rows:
        p("")
        p("SOURCES.md crypto layers (any nesting level) vs expected class:")
        for layer in ("clear-signed", "opaque-signed", "enveloped"):
            sel = [e for e in messages if layer in sources_crypto(rows.get(e.rel))]
            c = Counter(e.cls for e in sel)
            p("  %-14s %3d files: %s" % (layer, len(sel), ", ".join(
                "%s %d" % (k, c[k]) for k in ALL_CLASSES if c[k])))
        pgp = [e for e in messages if e.cls == CLASS_SIGNED and
               not sources_crypto(rows.get(e.rel))]
        if pgp:
            p("  multipart/signed without an S/MIME layer in SOURCES.md (PGP, bogus "
              "protocol, or CMS that does not parse): %d" % len(pgp))
            for e in pgp:
                p("    %s" % e.rel)
    p("")
    p("excluded (not Internet messages):")
    ex = Counter(e.reason for e in excluded)
    for k, v in sorted(ex.items(), key=lambda kv: (-kv[1], kv[0])):
        p("  %-60s %4d" % (k, v))
    if args.verbose:
        for e in excluded:
            p("    %s: %s" % (e.reason, e.rel))
    if disagreements:
        p("")
        p("SOURCES.md vs raw header disagreements (raw value used):")
        for e in disagreements:
            p("  %s: SOURCES.md %s, raw %s -> %s" % (
                e.rel, e.src_media, fmt_media(e.raw_media), e.cls))
    noted = [e for e in messages if e.notes]
    if noted:
        p("")
        p("header-block anomalies (lines neither field nor continuation): %d files%s"
          % (len(noted), "" if args.verbose else " (-v for details)"))
        if args.verbose:
            for e in noted:
                for n in e.notes:
                    p("  %s: %s" % (e.rel, n))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="mapifs test-corpus tooling (see the module docstring)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("list", help="relpath TAB expected class, one line per message")
    a.add_argument("corpus", metavar="CORPUS_DIR")
    a.set_defaults(func=cmd_list)
    a = sub.add_parser("maildir", help="build a Maildir and OUTDIR/expected.tsv")
    a.add_argument("corpus", metavar="CORPUS_DIR")
    a.add_argument("outdir", metavar="OUTDIR")
    a.add_argument("--force", action="store_true",
                   help="empty OUTDIR/cur, new and tmp first if they hold entries")
    a.set_defaults(func=cmd_maildir)
    a = sub.add_parser("summary", help="counts per expected class")
    a.add_argument("corpus", metavar="CORPUS_DIR")
    a.set_defaults(func=cmd_summary)
    for s in sub.choices.values():
        s.add_argument("-v", "--verbose", action="store_true",
                       help="also report header-block anomalies and excluded files")
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
