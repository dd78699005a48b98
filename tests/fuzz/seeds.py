#!/usr/bin/env python3
"""seeds.py OUTDIR [--unit DIR]... [DIR...]: the seed corpus of the fuzz targets.

Writes one file per distinct input into OUTDIR, named by its SHA-1 (as
libFuzzer names corpus files):
  --unit DIR   the messages of the C unit tests in DIR/*.c: every run of
               adjacent string literals that looks like a message (a header
               field and a line break), C escapes decoded;
  DIR          every file below DIR that looks like mail: a header field, an
               mbox "From " line or a MIME delimiter in its first bytes
               (Maildirs, .eml trees, ../shared/corpus), at most MAX_SIZE bytes.
Nothing is copied into the source tree: OUTDIR is a build directory.
"""
import hashlib
import os
import re
import sys

MAX_SIZE = 1 << 20

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
BETWEEN = re.compile(r'^(?:\s|/\*.*?\*/|//[^\n]*\n)*$', re.S)
HEADER = re.compile(rb'^(?:[!-9;-~]+:[ \t]?|From |--)', re.M)


def unescape(s):
    """C string literal body -> bytes."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != '\\':
            out += c.encode('utf-8')
            i += 1
            continue
        i += 1
        c = s[i]
        simple = {'n': 10, 'r': 13, 't': 9, '\\': 92, '"': 34, "'": 39, '?': 63,
                  'a': 7, 'b': 8, 'f': 12, 'v': 11}
        if c in simple:
            out.append(simple[c])
            i += 1
        elif c == 'x':
            j = i + 1
            while j < len(s) and s[j] in '0123456789abcdefABCDEF':
                j += 1
            out.append(int(s[i + 1:j], 16) & 0xff)
            i = j
        elif c in '01234567':
            j = i
            while j < len(s) and j < i + 3 and s[j] in '01234567':
                j += 1
            out.append(int(s[i:j], 8) & 0xff)
            i = j
        else:
            out += c.encode('utf-8')
            i += 1
    return bytes(out)


def unit_messages(directory):
    for name in sorted(os.listdir(directory)):
        if not name.endswith('.c'):
            continue
        with open(os.path.join(directory, name), encoding='utf-8', errors='replace') as f:
            text = f.read()
        run, end = [], None
        for m in LITERAL.finditer(text):
            if end is not None and BETWEEN.match(text[end:m.start()]):
                run.append(m.group(1))
            else:
                if run:
                    yield unescape(''.join(run))
                run = [m.group(1)]
            end = m.end()
        if run:
            yield unescape(''.join(run))


def looks_like_mail(data):
    head = data[:4096]
    return bool(HEADER.search(head)) and b'\n' in head


def tree_files(directory):
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                if os.path.getsize(path) > MAX_SIZE or not os.path.isfile(path):
                    continue
                with open(path, 'rb') as f:
                    data = f.read()
            except OSError:
                continue
            if looks_like_mail(data):
                yield data


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    counts = {}
    args = argv[2:]
    i = 0
    while i < len(args):
        if args[i] == '--unit':
            source, items = args[i + 1], unit_messages(args[i + 1])
            items = (m for m in items if len(m) >= 16 and b':' in m and b'\n' in m)
            i += 2
        else:
            source, items = args[i], tree_files(args[i])
            i += 1
        n = 0
        for data in items:
            name = hashlib.sha1(data).hexdigest()
            path = os.path.join(out, name)
            if not os.path.exists(path):
                with open(path, 'wb') as f:
                    f.write(data)
                n += 1
        counts[source] = n
    for source, n in counts.items():
        print(f'seeds: {n:5d} new from {source}')
    print(f'seeds: {len(os.listdir(out)):5d} in {out}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
