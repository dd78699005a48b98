#!/usr/bin/env python3
"""Oracle of e2e-46-export-jsonl: the records of "mapper-tool export --jsonl"
against the files of a mount of the same source.

  export_jsonl.py check JSONL MOUNT [FOLDER...]

Every line of JSONL must be one JSON object (Python's json, strict), and
each record must agree with the mount, file by file: the message directory
MOUNT/folder/name exists and its user.mapifs.source, .md5, .sha1, .sha256
xattrs are the record's; message.eml has the record's size and hashes;
every property file of the message, of each recipient and attachment row,
of embedded messages and of smime/content is in the record with the tag,
type and set of its xattrs and a value that turns back into the file's
bytes (and the record has no property the mount lacks); recipient and
attachment rows are the mount's; an attachment's name, size, media type
and hashes are those of attachments/<name> and N/PidTagAttachDataBinary
(hashlib as the oracle); smime/ and the message's other folders of plain
files (received/) are the mount's, file by file.  Without
FOLDER, every message directory of the mount has exactly one record; with
FOLDER..., exactly those of these folders.

Prints "messages N attachments A named N2 embedded E smime S errors X" and
exits 0 when all agree; otherwise prints each difference and exits 1.
"""
import base64
import hashlib
import json
import os
import sys

problems = []
counts = {"messages": 0, "attachments": 0, "named": 0, "embedded": 0, "smime": 0, "errors": 0}
SKIP_ROOT = {"message.eml", "hashes", "info", "body.rtf"}
ROW_TABLES = {"recipients", "attachments"}
# views of the mount root that are not folders
ROOT_VIEWS = {"certificates", "duplicates"}


def bad(where, what):
    problems.append("%s: %s" % (where, what))


def xattr(path, name):
    try:
        return os.getxattr(path, name).decode("utf-8", "surrogateescape")
    except OSError:
        return None


def read(path):
    with open(path, "rb") as f:
        return f.read()


def value_bytes(rec):
    """The file bytes a property record stands for (mapper-tool(1))."""
    v = rec["value"]
    if rec.get("encoding") == "base64":
        return base64.b64decode(v, validate=True)
    if isinstance(v, bool):
        return b"true\n" if v else b"false\n"
    if isinstance(v, int):
        return b"%d\n" % v
    if not isinstance(v, str):
        raise ValueError("value of type %s" % type(v).__name__)
    return v.encode() + (b"" if rec.get("newline") is False else b"\n")


def is_set(d):
    """A named-property set holds property files (smime/, received/ hold
    plain files)."""
    names = os.listdir(d)
    return bool(names) and xattr(os.path.join(d, names[0]), "user.mapi.tag") is not None


def mount_trees(d):
    """The folders of message @d that are neither row tables nor sets."""
    return sorted(n for n in os.listdir(d) if n not in ROW_TABLES and n != "PidTagAttachDataObject"
                  and os.path.isdir(os.path.join(d, n)) and not is_set(os.path.join(d, n)))


def mount_properties(d, top):
    """{key: path} of the property files of bag directory @d."""
    out = {}
    for name in os.listdir(d):
        p = os.path.join(d, name)
        if os.path.isdir(p):
            if (top and name in ROW_TABLES) or name == "PidTagAttachDataObject" or not is_set(p):
                continue
            for f in os.listdir(p):
                out[name + "/" + f] = os.path.join(p, f)
        elif xattr(p, "user.mapi.tag") is not None:
            out[name] = p
        elif not (top and name in SKIP_ROOT) and name != "hashes":
            bad(p, "a file without user.mapi.tag")
    return out


def check_bag(d, props, top):
    want = mount_properties(d, top)
    if set(want) != set(props):
        bad(d, "properties differ: only in the mount %s, only in the record %s"
            % (sorted(set(want) - set(props)), sorted(set(props) - set(want))))
    for key in sorted(set(want) & set(props)):
        p, rec = want[key], props[key]
        for field, name in (("tag", "user.mapi.tag"), ("type", "user.mapi.type"), ("set", "user.mapi.guid")):
            if rec.get(field) != xattr(p, name):
                bad(p, "%s %r, xattr %s %r" % (field, rec.get(field), name, xattr(p, name)))
        if "value" not in rec:
            if key != "PidTagAttachDataBinary" or rec.get("size") != os.path.getsize(p):
                bad(p, "no value (size %r, file %d bytes)" % (rec.get("size"), os.path.getsize(p)))
            continue
        try:
            got = value_bytes(rec)
        except (ValueError, TypeError) as e:
            bad(p, "value does not decode: %s" % e)
            continue
        if got != read(p):
            bad(p, "value %r is not the file's %r" % (got[:80], read(p)[:80]))


def rows(d):
    return sorted((int(n) for n in os.listdir(d) if n.isdigit()), key=int) if os.path.isdir(d) else []


def check_hashes(where, rec, data):
    for alg in ("md5", "sha1", "sha256"):
        if rec.get(alg) != hashlib.new(alg, data).hexdigest():
            bad(where, "%s %r is not hashlib's" % (alg, rec.get(alg)))


def check_attachment(d, rec):
    counts["attachments"] += 1
    check_bag(d, rec.get("properties", {}), False)
    data_file = os.path.join(d, "PidTagAttachDataBinary")
    if os.path.isfile(data_file):
        data = read(data_file)
        if rec.get("size") != len(data):
            bad(d, "size %r, data %d bytes" % (rec.get("size"), len(data)))
        check_hashes(d, rec, data)
        mime = os.path.join(d, "PidTagAttachMimeTag")
        want = read(mime).decode().rstrip("\n") if os.path.isfile(mime) else None
        if rec.get("media_type") != want:
            bad(d, "media_type %r, PidTagAttachMimeTag %r" % (rec.get("media_type"), want))
        name = rec.get("name")
        if name is None:
            bad(d, "no name")
        elif not os.path.isfile(os.path.join(os.path.dirname(d), name)) or \
                read(os.path.join(os.path.dirname(d), name)) != data:
            bad(d, "attachments/%s is not its data" % name)
        else:
            counts["named"] += 1
    elif any(k in rec for k in ("name", "size", "md5")):
        bad(d, "no data in the mount, but the record has some")
    inner = os.path.join(d, "PidTagAttachDataObject")
    if os.path.isdir(inner) != ("message" in rec):
        bad(d, "embedded message: mount %s, record %s" % (os.path.isdir(inner), "message" in rec))
    elif os.path.isdir(inner):
        counts["embedded"] += 1
        check_message(inner, rec["message"])


def check_tree(d, rec):
    names = os.listdir(d)
    if names and all(n.isdigit() for n in names):
        if not isinstance(rec, list) or len(rec) != len(names):
            bad(d, "rows %s, record %r" % (sorted(names), rec))
            return
        for i, r in enumerate(rec):
            check_tree(os.path.join(d, str(i)), r)
        return
    if not isinstance(rec, dict) or set(rec) != set(names):
        bad(d, "entries %s, record %s" % (sorted(names), sorted(rec) if isinstance(rec, dict) else rec))
        return
    for n in names:
        p = os.path.join(d, n)
        if os.path.isdir(p) and xattr(p, "user.mapi.tag") is None and not os.path.exists(
                os.path.join(p, "PidTagMessageClass")):
            check_tree(p, rec[n])
        elif os.path.isdir(p):
            check_message(p, rec[n])
        else:
            text = read(p)
            want = text[:-1] if text.endswith(b"\n") else text
            if not isinstance(rec[n], str) or rec[n].encode() != want:
                bad(p, "%r, file %r" % (rec[n], text[:80]))


def check_message(d, rec):
    check_bag(d, rec.get("properties", {}), True)
    cls = read(os.path.join(d, "PidTagMessageClass")).decode().rstrip("\n")
    if rec.get("class") != cls:
        bad(d, "class %r, PidTagMessageClass %r" % (rec.get("class"), cls))
    for table in ("recipients", "attachments"):
        want = rows(os.path.join(d, table))
        got = [r.get("row") for r in rec.get(table, [])]
        if want != got:
            bad(d, "%s rows %s, record %s" % (table, want, got))
            continue
        for r in rec[table]:
            rd = os.path.join(d, table, str(r["row"]))
            if table == "recipients":
                check_bag(rd, r.get("properties", {}), False)
            else:
                check_attachment(rd, r)
    att = os.path.join(d, "attachments")
    if os.path.isdir(att):
        names = sorted(n for n in os.listdir(att) if not n.isdigit())
        got = sorted(r["name"] for r in rec.get("attachments", []) if "name" in r)
        if names != got:
            bad(att, "file names %s, record %s" % (names, got))
    known = {"class", "properties", "recipients", "attachments", "folder", "name", "source", "flags",
             "size", "mtime", "md5", "sha1", "sha256", "warning"}
    trees = mount_trees(d)
    if set(trees) != set(rec) - known:
        bad(d, "folders %s, record %s" % (trees, sorted(set(rec) - known)))
    for t in set(trees) & set(rec):
        counts["smime"] += t == "smime"
        check_tree(os.path.join(d, t), rec[t])


def exact(rec, key):
    """A path member as the file system has it: a name that is not UTF-8
    is exact in KEY_base64 (the str form of such bytes, as os.listdir
    gives them)."""
    if key + "_base64" in rec:
        raw = base64.b64decode(rec.pop(key + "_base64"))
        if rec[key] != raw.decode("utf-8", "replace"):
            bad(rec[key], "%s is not %s_base64 made valid" % (key, key))
        return raw.decode("utf-8", "surrogateescape")
    return rec.get(key)


def check_record(mnt, rec):
    where = "%s/%s" % (rec.get("folder"), rec.get("name"))
    folder = rec["folder"]
    d = os.path.join(mnt, rec["name"]) if folder == "." else os.path.join(mnt, folder, rec["name"])
    if not os.path.isdir(d):
        bad(where, "no such message directory in the mount")
        return
    if rec.get("source") != xattr(d, "user.mapifs.source"):
        bad(where, "source %r, user.mapifs.source %r" % (rec.get("source"), xattr(d, "user.mapifs.source")))
    base = os.path.basename(rec["source"])
    want_flags = base.split(":2,", 1)[1] if ":2," in base else ""
    if rec.get("flags") != want_flags:
        bad(where, "flags %r, file name %r" % (rec.get("flags"), base))
    eml = read(os.path.join(d, "message.eml"))
    if rec.get("size") != len(eml):
        bad(where, "size %r, message.eml %d bytes" % (rec.get("size"), len(eml)))
    check_hashes(where, rec, eml)
    for alg in ("md5", "sha1", "sha256"):
        if rec.get(alg) != xattr(d, "user.mapifs." + alg):
            bad(where, "%s is not user.mapifs.%s" % (alg, alg))
    check_message(d, rec)


def mount_messages(mnt, top=""):
    """(folder, name) of every message directory below @mnt."""
    out = set()
    for name in os.listdir(os.path.join(mnt, top) if top else mnt):
        if not top and name in ROOT_VIEWS:
            continue
        rel = top + "/" + name if top else name
        p = os.path.join(mnt, rel)
        if not os.path.isdir(p):
            continue
        if xattr(p, "user.mapifs.source") is not None:
            out.add((top or ".", name))
        else:
            out |= mount_messages(mnt, rel)
    return out


def check(jsonl, mnt, folders):
    seen = set()
    with open(jsonl, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                rec = json.loads(line.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                bad("line %d" % n, "not JSON: %s" % e)
                continue
            if not isinstance(rec, dict):
                bad("line %d" % n, "not an object")
                continue
            for key in ("folder", "name", "source"):
                if key in rec:
                    rec[key] = exact(rec, key)
            if "error" in rec:
                counts["errors"] += 1
                continue
            key = (rec.get("folder"), rec.get("name"))
            if key in seen:
                bad("line %d" % n, "%s/%s twice" % key)
            seen.add(key)
            counts["messages"] += 1
            check_record(mnt, rec)
    want = mount_messages(mnt)
    if folders:
        want = {m for m in want if m[0] in folders}
    errors = counts["errors"]
    if not errors and want != seen:
        bad(jsonl, "records differ from the mount: only in the mount %s, only in the export %s"
            % (sorted(want - seen)[:10], sorted(seen - want)[:10]))
    elif errors and not seen <= want:
        bad(jsonl, "records the mount does not have: %s" % sorted(seen - want)[:10])


def main(argv):
    if len(argv) < 4 or argv[1] != "check":
        sys.exit(__doc__)
    check(argv[2], argv[3], set(argv[4:]))
    for p in problems[:60]:
        print(p)
    print(" ".join("%s %d" % kv for kv in counts.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
