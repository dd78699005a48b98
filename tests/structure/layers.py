#!/usr/bin/env python3
"""The shape of the code, checked on the build (issue 10; docs/architecture.md).

  layers.py --layer NAME OBJDIR FILE.c... [--layer ...] [--sources FILE.c...]

For each layer (fs/, mapper/), FILE.c... is its source list in layer order,
bottom first, exactly as its meson.build lists it.  From the object files
in OBJDIR (read with nm), the graph "A uses a symbol defined in B" must
only point downward: B listed before A.  A call upward (and with it every
cycle) fails, naming the symbol.

--sources lists C files whose functions must not be longer than
MAX_LINES lines unless the comment just above says why ("Long because").

Prints TAP.
"""
import os
import re
import subprocess
import sys

MAX_LINES = 120


def object_symbols(path):
    """(defined, undefined) global symbols of an object file."""
    out = subprocess.run(["nm", "-g", path], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] not in ("U", "w", "v"):
            defined.add(parts[2])
    return defined, undefined


def upward_uses(order, symbols):
    """[(user, owner, symbol)] for every use of a symbol defined in a file
    not below the user in @order.  @symbols: file -> (defined, undefined)."""
    rank = {f: i for i, f in enumerate(order)}
    owner = {}
    for f, (defined, _) in symbols.items():
        for s in defined:
            owner[s] = f
    bad = []
    for f, (_, undefined) in sorted(symbols.items()):
        for s in sorted(undefined):
            o = owner.get(s)
            if o is not None and o != f and rank[o] > rank[f]:
                bad.append((f, o, s))
    return bad


def object_of(objdir, source):
    """meson names the object of dir/x.c "x.c.o" (or "dir_x.c.o")."""
    for name in os.listdir(objdir):
        if name == source + ".o" or name.endswith("_" + source + ".o"):
            return os.path.join(objdir, name)
    return None


def long_functions(path):
    """[(line, name, length)] of function bodies over MAX_LINES lines
    without a "Long because" in the comment above them.  Functions are
    written with "{" and "}" alone at column 0 (the project's style)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            start = i - 1
            while start > 0 and lines[start - 1].strip() and not lines[start - 1].endswith(
                    (";", "*/", "}")) and not lines[start - 1].startswith(("#", "/*", " *")):
                start -= 1
            end = i
            while end < len(lines) and lines[end] != "}":
                end += 1
            length = end - start + 1
            m = re.search(r"(\w+)\s*\(", " ".join(lines[start:i]))
            above = "\n".join(lines[max(0, start - 12):start])
            if length > MAX_LINES and "Long because" not in above:
                found.append((start + 1, m.group(1) if m else "?", length))
            i = end
        i += 1
    return found


def main(argv):
    layers, sources = [], []
    i = 1
    while i < len(argv):
        if argv[i] == "--layer":
            name, objdir = argv[i + 1], argv[i + 2]
            files = []
            i += 3
            while i < len(argv) and not argv[i].startswith("--"):
                files.append(argv[i])
                i += 1
            layers.append((name, objdir, files))
        elif argv[i] == "--sources":
            i += 1
            while i < len(argv) and not argv[i].startswith("--"):
                sources.append(argv[i])
                i += 1
        else:
            sys.exit("usage: layers.py --layer NAME OBJDIR FILE.c... [--sources FILE.c...]")

    results = []
    # the checker itself must be able to fail: a made-up upward call
    fake = {"low.c": ({"low_fn"}, {"high_fn"}), "high.c": ({"high_fn"}, {"low_fn"})}
    caught = upward_uses(["low.c", "high.c"], fake) == [("low.c", "high.c", "high_fn")]
    results.append((caught, "the check finds an upward call (low.c -> high.c) in a made-up graph", []))

    for name, objdir, files in layers:
        symbols, missing = {}, []
        for f in files:
            o = object_of(objdir, f)
            if o is None:
                missing.append(f)
            else:
                symbols[f] = object_symbols(o)
        extra = sorted(n for n in os.listdir(objdir) if n.endswith(".c.o") and
                       not any(n == f + ".o" or n.endswith("_" + f + ".o") for f in files))
        bad = upward_uses(files, symbols)
        notes = ["no object for %s in %s" % (f, objdir) for f in missing]
        notes += ["%s is built but not in the layer order" % e for e in extra]
        notes += ["%s uses %s of %s, which is above it" % (u, s, o) for u, o, s in bad]
        results.append((not notes, "%s: every file calls only files below it (%s)"
                        % (name, " < ".join(files)), notes))

    if sources:
        notes = []
        for path in sources:
            for line, fn, length in long_functions(path):
                notes.append("%s:%d: %s is %d lines (over %d, and no \"Long because\" above it)"
                             % (path, line, fn, length, MAX_LINES))
        results.append((not notes, "no function over %d lines without a reason (%d files)"
                        % (MAX_LINES, len(sources)), notes))

    print("1..%d" % len(results))
    failed = 0
    for n, (ok, what, notes) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
        for note in notes:
            print("#   " + note)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
