#!/usr/bin/env python3
"""Round-trip check of the mapifs writer (issue 3).

  roundtrip.py --tool MAPPER_TOOL [--labels TSV] [--jobs N] PATH...
  roundtrip.py --against DIR [--ignore FIELD]... [--expect FIELD=TEMPLATE]... PATH...

For every message under PATH (a message file, a Maildir -- cur/ and new/ of
it and of its Maildir++ subfolders -- or any directory tree of files), run
"MAPPER_TOOL rebuild FILE", which prints the Internet-format message rebuilt
from the unedited message object of FILE, and compare the rebuilt message
with FILE, both parsed by python3's email package (policy=email.policy.default):

  fields      the same multiset of top-level header field names
              (case-insensitive)
  values      the same decoded value for every top-level field, in order per
              name; whitespace runs count as one blank (folding); addresses and
              dates as python normalises them; Content-Type without its
              boundary parameter (a rebuild may choose a new one);
              Content-Transfer-Encoding values are not compared (a rebuild may
              pick another encoding -- the decoded content is what counts)
  structure   the same MIME tree (content types, message/rfc822 descended)
  content     the same decoded content in every leaf of that tree (text
              compared as text with LF line ends, the rest as bytes)
  protected   clear-signed (last Content-Type multipart/signed): the bytes
              after the top-level header block are identical; opaque-signed
              or encrypted (application/pkcs7-mime, application/x-pkcs7-mime,
              application/octet-stream named *.p7m): the decoded CMS bytes
              are identical

Edit mode: with --against DIR instead of --tool, every message under PATH is
compared with the message of the same Maildir unique name under DIR (for
instance the same Maildir after an edit through a mount): the same checks,
except that the values of the --ignore FIELD fields are not compared, and
every --expect FIELD=TEMPLATE must hold in the DIR message (TEMPLATE may name
{unique}); a failed expectation counts as a "values" failure, a message
missing from DIR as a "rebuild" failure.

--labels TSV: lines "unique-name<TAB>...<TAB>label" (the expected.tsv of
tests/corpus/corpus.py); failures are reported by label (the corpus path).

Prints one "FAIL label: reason; reason" line per failing message, then counts
of failures per message kind, then one summary line
  roundtrip: N messages, P round-trip, F fail (rebuild A, fields B, values C,
             structure D, content E, protected F); K with a known difference
Exit status: 0 when every message round-trips, 1 otherwise, 2 on bad usage.
"""

import argparse
import collections
import concurrent.futures
import email
import email.policy
import email.utils
import os
import re
import subprocess
import sys

POLICY = email.policy.default
CHECKS = ("rebuild", "fields", "values", "structure", "content", "protected")


def header_block_end(data):
    """Offset of the first byte after the header block (after the empty line)."""
    if data.startswith(b"\r\n"):
        return 2
    if data.startswith(b"\n"):
        return 1
    cands = [i + 4 for i in [data.find(b"\r\n\r\n")] if i >= 0]
    cands += [i + 2 for i in [data.find(b"\n\n")] if i >= 0]
    return min(cands) if cands else len(data)


def raw_last_content_type(msg):
    last = None
    for k, v in msg.raw_items():
        if k.strip().lower() == "content-type":
            last = v
    return last


def kind_of(msg):
    """clear-signed, opaque (signed or encrypted CMS) or plain, by the LAST
    top-level Content-Type (MS-OXOSMIME recognition)."""
    raw = raw_last_content_type(msg)
    if raw is None:
        return "plain"
    raw = " ".join(str(raw).split())
    h = POLICY.header_factory("content-type", raw)
    try:
        ctype = h.content_type.lower()
        params = {k.lower(): str(v) for k, v in h.params.items()}
    except Exception:
        ctype = raw.split(";")[0].strip().lower()
        params = {}
    if ctype == "multipart/signed":
        return "clear-signed"
    if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        return "opaque"
    if ctype == "application/octet-stream":
        names = [params.get("name", "")]
        cd = msg.get("content-disposition")
        try:
            names.append(str(cd.params.get("filename", "")) if cd is not None else "")
        except Exception:
            pass
        if any(n.lower().endswith(".p7m") for n in names):
            return "opaque"
    return "plain"


def norm_ws(s):
    return " ".join(s.split())


def content_type_key(value):
    h = POLICY.header_factory("content-type", norm_ws(value))
    try:
        params = []
        for k, v in h.params.items():
            k = k.lower()
            if k == "boundary":
                continue
            v = str(v)
            params.append("%s=%s" % (k, v.lower() if k == "charset" else v))
        return "; ".join([h.content_type.lower()] + sorted(params))
    except Exception:
        return re.sub(r'(?i)boundary=("[^"]*"|[^;\s]*)', "", norm_ws(str(value)))


def decoded_value(name, value):
    lname = name.strip().lower()
    if lname == "content-type":
        return content_type_key(value)
    try:
        return norm_ws(str(POLICY.header_fetch_parse(name, value)))
    except Exception:
        return norm_ws(str(value))


def fields_of(msg):
    """{lower name: [decoded values in order]}, and the Counter of names."""
    vals = collections.OrderedDict()
    for k, v in msg.raw_items():
        vals.setdefault(k.strip().lower(), []).append(decoded_value(k, v))
    return vals


def tree(part, depth=0, out=None):
    out = [] if out is None else out
    out.append("  " * depth + part.get_content_type())
    if part.is_multipart():
        for sub in part.iter_parts():
            tree(sub, depth + 1, out)
    elif part.get_content_type() == "message/rfc822":
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            tree(payload[0], depth + 1, out)
    return out


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart() and p.get_content_type() != "message/rfc822"]


def leaf_contents(msg):
    """The decoded content of every leaf: text as text (LF line ends, so a
    change of charset or transfer encoding is no difference), else bytes."""
    out = []
    for part in leaves(msg):
        try:
            if part.get_content_maintype() == "text":
                out.append(part.get_content().replace("\r\n", "\n"))
                continue
        except Exception:
            pass
        try:
            out.append(part.get_payload(decode=True) or b"")
        except Exception:
            out.append(str(part.get_payload()).encode("utf-8", "surrogateescape"))
    return out


def ta_leaf_type(msg, i):
    lv = leaves(msg)
    return lv[i].get_content_type() if i < len(lv) else "?"


def short(s, n=120):
    s = repr(s)
    return s if len(s) <= n else s[: n - 3] + "..."


FIELD_RE = re.compile(rb"^[!-9;-~]+[ \t]*:")
OBS_FIELD_RE = re.compile(rb"^([!-9;-~]+)[ \t]+:")


def parse(data):
    """python's parse of a message, after the leniency mapifs's reader and
    tests/corpus/corpus.py apply to real-world files, done the same way on
    both sides of a comparison: a leading UTF-8 BOM is dropped, a first line
    that is not a header field is dropped when the second one is (the HTTP
    request line of AS2 messages), and the obsolete "Name WSP :" form of a
    field (RFC 5322 4.5.3) is written "Name:" (python would end the header
    block there)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.split(b"\n")
    if (len(lines) > 1 and not FIELD_RE.match(lines[0]) and not lines[0].startswith(b"From ")
            and lines[0].strip() and FIELD_RE.match(lines[1])):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if not line.strip(b"\r"):
            break
        lines[i] = OBS_FIELD_RE.sub(rb"\1:", line)
    return email.message_from_bytes(b"\n".join(lines), policy=POLICY)


def compare(orig_bytes, new_bytes, ignore=(), expect=()):
    """List of (check, reason) for everything that differs.  ignore: field
    names (lower case) whose values are not compared; expect: (name, value)
    pairs the new message must have."""
    bad = []
    a = parse(orig_bytes)
    b = parse(new_bytes)

    fa, fb = fields_of(a), fields_of(b)
    ca = collections.Counter({k: len(v) for k, v in fa.items()})
    cb = collections.Counter({k: len(v) for k, v in fb.items()})
    if (kind_of(a) == "opaque" and ca["content-disposition"] == 0 and cb["content-disposition"] == 1
            and b.get_content_disposition() == "attachment" and b.get_filename()):
        # MS-OXOSMIME 3.1.5.2.4 step 5 adds "Content-Disposition: attachment;
        # filename=..." to every rebuilt opaque message: the one field a
        # rebuild may add.  Counted and listed as a known difference.
        del cb["content-disposition"]
        fb.pop("content-disposition", None)
        bad.append(("known", "Content-Disposition added (MS-OXOSMIME 3.1.5.2.4 step 5)"))
    for name, _ in expect:  # set by the edit: present in the new one (checked below)
        ca.pop(name, None)
        cb.pop(name, None)
    if ca != cb:
        missing = sorted((ca - cb).elements())
        extra = sorted((cb - ca).elements())
        bad.append(("fields", "header fields missing %s, extra %s" % (missing, extra)))
    for name, want in expect:
        got = fb.get(name, [])
        if got != [norm_ws(want)]:
            bad.append(("values", "%s: expected %s, got %s" % (name, short(want), short(got))))
    for name, va in fa.items():
        if name == "content-transfer-encoding" or name in ignore:
            continue
        vb = fb.get(name, [])
        if len(va) != len(vb):
            continue  # reported above
        for x, y in zip(va, vb):
            if x != y:
                bad.append(("values", "%s: %s != %s" % (name, short(x), short(y))))
                break

    ta, tb = tree(a), tree(b)
    if ta != tb:
        bad.append(("structure", "MIME tree %s != %s" % ("|".join(s.strip() for s in ta),
                                                          "|".join(s.strip() for s in tb))))

    la, lb = leaf_contents(a), leaf_contents(b)
    if ta == tb and la != lb:
        i = next(i for i, (x, y) in enumerate(zip(la, lb)) if x != y) if len(la) == len(lb) else 0
        bad.append(("content", "decoded content of MIME leaf %d (%s) differs" % (i, ta_leaf_type(a, i))))

    kind = kind_of(a)
    if kind == "clear-signed":
        ea = orig_bytes[header_block_end(orig_bytes):]
        eb = new_bytes[header_block_end(new_bytes):]
        if ea != eb:
            bad.append(("protected", "multipart/signed entity differs (%d vs %d bytes)" % (len(ea), len(eb))))
    elif kind == "opaque":
        try:
            pa = a.get_payload(decode=True) or b""
            pb = b.get_payload(decode=True) or b""
        except Exception as e:  # pragma: no cover
            pa, pb = b"", repr(e).encode()
        if not pa:
            bad.append(("protected", "no CMS payload in the original?"))
        elif pa != pb:
            bad.append(("protected", "decoded CMS payload differs (%d vs %d bytes)" % (len(pa), len(pb))))
    return kind, bad


def message_files(path):
    if os.path.isfile(path):
        return [path]
    out = []
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        if os.path.basename(dirpath) == "tmp" and os.path.isdir(os.path.join(os.path.dirname(dirpath), "cur")):
            continue  # Maildir tmp/: not messages
        for f in sorted(filenames):
            if f in ("expected.tsv",) or f.startswith("."):
                continue
            out.append(os.path.join(dirpath, f))
    return out


def unique_of(path):
    return os.path.basename(path).split(":2,")[0]


def check_one(tool, path, timeout):
    with open(path, "rb") as fh:
        orig = fh.read()
    try:
        kind = kind_of(parse(orig))
    except Exception:
        kind = "?"
    try:
        p = subprocess.run([tool, "rebuild", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return kind, [("rebuild", "rebuild timed out after %ds" % timeout)]
    if p.returncode != 0:
        err = p.stderr.decode("utf-8", "replace").strip().splitlines()
        return kind, [("rebuild", "rebuild exit status %d: %s" % (p.returncode, err[0] if err else ""))]
    if not p.stdout.strip():
        return kind, [("rebuild", "rebuild printed nothing")]
    try:
        return compare(orig, p.stdout)
    except Exception as e:
        return kind, [("rebuild", "cannot compare: %s: %s" % (type(e).__name__, e))]


def maildir_index(root):
    """{unique name: path} of every message file under root."""
    return {unique_of(f): f for f in message_files(root)}


def check_against(index, path, ignore, expect):
    with open(path, "rb") as fh:
        orig = fh.read()
    try:
        kind = kind_of(parse(orig))
    except Exception:
        kind = "?"
    u = unique_of(path)
    other = index.get(u)
    if other is None:
        return kind, [("rebuild", "no message %s in the edited tree" % u)]
    with open(other, "rb") as fh:
        new = fh.read()
    exp = [(n, t.replace("{unique}", u)) for n, t in expect]
    try:
        return compare(orig, new, ignore, exp)
    except Exception as e:
        return kind, [("rebuild", "cannot compare: %s: %s" % (type(e).__name__, e))]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool")
    ap.add_argument("--against")
    ap.add_argument("--ignore", action="append", default=[])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--labels")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args(argv)

    if bool(args.tool) == bool(args.against):
        ap.error("give exactly one of --tool and --against")
    ignore = {n.lower() for n in args.ignore}
    expect = []
    for e in args.expect:
        if "=" not in e:
            ap.error("--expect needs FIELD=TEMPLATE")
        n, t = e.split("=", 1)
        expect.append((n.strip().lower(), t))
    labels = {}
    if args.labels:
        with open(args.labels, encoding="utf-8") as fh:
            for line in fh:
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 2:
                    labels[cols[0]] = cols[-1]

    files = []
    for p in args.paths:
        if not os.path.exists(p):
            sys.stderr.write("roundtrip.py: %s: no such file or directory\n" % p)
            return 2
        files += message_files(p)
    if not files:
        sys.stderr.write("roundtrip.py: no messages found under %s\n" % " ".join(args.paths))
        return 2

    counts = collections.Counter()
    kinds_failed = collections.Counter()
    kinds_total = collections.Counter()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        if args.against:
            index = maildir_index(args.against)
            results = list(ex.map(lambda f: check_against(index, f, ignore, expect), files))
        else:
            results = list(ex.map(lambda f: check_one(args.tool, f, args.timeout), files))
    known = 0
    for f, (kind, bad) in zip(files, results):
        kinds_total[kind] += 1
        for c, r in bad:
            if c == "known":
                known += 1
                print("KNOWN %s [%s]: %s" % (labels.get(unique_of(f), f), kind, r))
        bad = [(c, r) for c, r in bad if c != "known"]
        if not bad:
            continue
        failed += 1
        kinds_failed[kind] += 1
        for c in {c for c, _ in bad}:
            counts[c] += 1
        label = labels.get(unique_of(f), f)
        print("FAIL %s [%s]: %s" % (label, kind, "; ".join(r for _, r in bad)))
    for kind in sorted(kinds_total):
        print("kind %s: %d messages, %d fail" % (kind, kinds_total[kind], kinds_failed[kind]))
    print("roundtrip: %d messages, %d round-trip, %d fail (%s); %d with a known difference" % (
        len(files), len(files) - failed, failed, ", ".join("%s %d" % (c, counts[c]) for c in CHECKS),
        known))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.stdout.reconfigure(errors="backslashreplace")
    sys.exit(main(sys.argv[1:]))
