#!/usr/bin/python3
"""Fixtures of the TNEF tests (winmail.dat, MS-OXTNEF; compressed RTF,
MS-OXRTFCP), written byte by byte from the specs with the stdlib only.

  tnef.py make DIR          the fixture messages in DIR (made if missing) and
                            DIR/manifest.json, the values put into each
  tnef.py winmail FILE OUT  the first application/ms-tnef part of message
                            FILE, decoded, into OUT; exit 1 when it has none
  tnef.py rtf DATA OUT      a PidTagRtfCompressed value (file DATA) inflated
                            into OUT: a cross-check of the compressor only

Every run writes the same bytes.  The Debian tools tnef and ytnef read the
output as independent oracles.
"""
import base64
import hashlib
import json
import os
import struct
import sys
import uuid
from datetime import datetime, timezone
from email import policy
from email.parser import BytesParser

# MS-OXTNEF 2.1.3: the stream's signature, then a legacy key (any nonzero
# 16-bit value), then attributes
TNEF_SIGNATURE = 0x223E9F78
LEGACY_KEY = 0x5E71
LVL_MESSAGE, LVL_ATTACHMENT = 1, 2

# attribute ids: the high word is the attribute's type (atpDate 3, atpString
# 1, atpWord 7, atpByte 6, atpDword 8), the low word its id
ATT_TNEF_VERSION = 0x00089006
ATT_OEM_CODEPAGE = 0x00069007
ATT_MESSAGE_CLASS = 0x00078008
ATT_SUBJECT = 0x00018004
ATT_DATE_SENT = 0x00038005
ATT_MSG_PROPS = 0x00069003
ATT_ATTACH_REND_DATA = 0x00069002
ATT_ATTACH_TITLE = 0x00018010
ATT_ATTACH_DATA = 0x0006800F
ATT_ATTACH_CREATE_DATE = 0x00038012
ATT_ATTACH_MODIFY_DATE = 0x00038013
ATT_ATTACHMENT = 0x00069005
ATT_NAMES = {ATT_TNEF_VERSION: "attTnefVersion", ATT_OEM_CODEPAGE: "attOemCodepage",
             ATT_MESSAGE_CLASS: "attMessageClass", ATT_SUBJECT: "attSubject",
             ATT_DATE_SENT: "attDateSent", ATT_MSG_PROPS: "attMsgProps",
             ATT_ATTACH_REND_DATA: "attAttachRendData", ATT_ATTACH_TITLE: "attAttachTitle",
             ATT_ATTACH_DATA: "attAttachData", ATT_ATTACH_CREATE_DATE: "attAttachCreateDate",
             ATT_ATTACH_MODIFY_DATE: "attAttachModifyDate", ATT_ATTACHMENT: "attAttachment"}

# property types (MS-OXCDATA 2.11.1) and how many bytes a value takes in a
# TNEF property list: 16-bit values and booleans take 4 (MAPI's attMAPIProps)
PT_I2, PT_I4, PT_R4, PT_R8, PT_CURRENCY, PT_APPTIME = 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007
PT_ERROR, PT_BOOLEAN, PT_OBJECT, PT_I8 = 0x000A, 0x000B, 0x000D, 0x0014
PT_STRING8, PT_UNICODE, PT_SYSTIME, PT_CLSID, PT_BINARY = 0x001E, 0x001F, 0x0040, 0x0048, 0x0102
MV_FLAG = 0x1000
FIXED = {PT_I2: "<h2x", PT_I4: "<i", PT_R4: "<f", PT_R8: "<d", PT_CURRENCY: "<q", PT_APPTIME: "<d",
         PT_ERROR: "<I", PT_BOOLEAN: "<H2x", PT_I8: "<q"}

PS = {"PSETID_Common": "{00062008-0000-0000-C000-000000000046}",
      "PS_PUBLIC_STRINGS": "{00020329-0000-0000-C000-000000000046}"}
IID_IMESSAGE = uuid.UUID("{00020307-0000-0000-C000-000000000046}").bytes_le

# the ANSI code page of the stream (attOemCodepage): STRING8 values are in it
CODEPAGE = "cp1252"

# MS-OXRTFCP 2.1.2.1: the 207 bytes every compressed RTF's dictionary starts
# with.  CR LF at 168/169 (3.1.1.3 lists the bytes); readers derived from
# jtnef (ytnef among them) have LF CR there and garble references to it.
RTF_PREBUF = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
              b"\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier"
              b"{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")
LZFU, MELA = 0x75465A4C, 0x414C454D
RING = 4096
MAX_MATCH = 17          # 4 bits of length, plus 2


# ---- compressed RTF (MS-OXRTFCP) ----

def _crc_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def rtf_crc(data):
    """The CRC of MS-OXRTFCP: CRC-32's table, but from 0 and not inverted
    at the end (so not zlib.crc32)."""
    crc = 0
    for b in data:
        crc = CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


class Ring:
    """The 4096-byte dictionary both directions share, preloaded with
    RTF_PREBUF (MS-OXRTFCP 3.1.1.3); pos is where the next byte goes."""

    def __init__(self):
        self.buf = bytearray(RING)
        self.buf[:len(RTF_PREBUF)] = RTF_PREBUF
        self.pos = len(RTF_PREBUF)
        self.wrapped = False

    def put(self, b):
        self.buf[self.pos] = b
        self.pos = (self.pos + 1) % RING
        self.wrapped = self.wrapped or self.pos == 0


def _match(ring, starts, data, i):
    """The longest match of data[i:] in @ring from any of @starts: (offset,
    length).  A match may run on into the bytes it writes itself (the reader
    copies one byte at a time), so those come from @data."""
    best, best_len = 0, 0
    limit = min(MAX_MATCH, len(data) - i)
    for p in reversed(starts):
        if p == ring.pos:           # that offset is the end marker
            continue
        n = 0
        while n < limit:
            q = (p + n) % RING
            d = (q - ring.pos) % RING
            b = data[i + d] if d < n else ring.buf[q]
            if b != data[i + n]:
                break
            n += 1
        if n > best_len:
            best, best_len = p, n
            if n == limit:
                break
    return best, best_len


def rtf_compress(raw):
    """PidTagRtfCompressed of @raw (bytes): a greedy LZ77 over the ring,
    each run a control byte (bit i set: token i is a reference, least
    significant first) and up to 8 tokens (MS-OXRTFCP 2.1.3.1.1)."""
    ring = Ring()
    chains = {}             # two bytes -> ring offsets they started at

    def note(p):
        key = bytes((ring.buf[p], ring.buf[(p + 1) % RING]))
        lst = chains.setdefault(key, [])
        lst.append(p)
        if len(lst) > 512:
            del lst[:256]

    for p in range(len(RTF_PREBUF) - 1):
        note(p)

    def write(b):
        ring.put(b)
        note((ring.pos - 2) % RING)

    tokens = []             # (is_reference, bytes)
    i = 0
    while i < len(raw):
        off, n = _match(ring, chains.get(bytes(raw[i:i + 2]), []), raw, i) if i + 1 < len(raw) else (0, 0)
        if n >= 2:
            tokens.append((True, struct.pack(">H", off << 4 | (n - 2))))
            for b in raw[i:i + n]:
                write(b)
            i += n
        else:
            tokens.append((False, raw[i:i + 1]))
            write(raw[i])
            i += 1
    # the end: a reference to the write position itself (2.1.3.1.1 ENDRUN)
    tokens.append((True, struct.pack(">H", ring.pos << 4)))
    out = bytearray()
    for k in range(0, len(tokens), 8):
        run = tokens[k:k + 8]
        out.append(sum(1 << j for j, (ref, _) in enumerate(run) if ref))
        for _, t in run:
            out += t
    return struct.pack("<IIII", len(out) + 12, len(raw), LZFU, rtf_crc(out)) + bytes(out)


def rtf_decompress(data):
    """The RTF in PidTagRtfCompressed @data (MS-OXRTFCP); raises
    ValueError on a bad header, CRC or RAWSIZE."""
    compsize, rawsize, comptype, crc = struct.unpack_from("<IIII", data)
    body = data[16:4 + compsize]
    if comptype == MELA:
        return bytes(body[:rawsize])
    if comptype != LZFU:
        raise ValueError("COMPTYPE %#x" % comptype)
    if rtf_crc(body) != crc:
        raise ValueError("CRC %#x, header says %#x" % (rtf_crc(body), crc))
    ring, out, i = Ring(), bytearray(), 0
    while i < len(body):
        control = body[i]
        i += 1
        for bit in range(8):
            if i >= len(body):
                break
            if not control & (1 << bit):
                out.append(body[i])
                ring.put(body[i])
                i += 1
                continue
            word, = struct.unpack_from(">H", body, i)
            i += 2
            off, n = word >> 4, (word & 0xF) + 2
            if off == ring.pos:
                if len(out) != rawsize:
                    raise ValueError("RAWSIZE %d, got %d" % (rawsize, len(out)))
                return bytes(out)
            for k in range(n):
                b = ring.buf[(off + k) % RING]
                out.append(b)
                ring.put(b)
    raise ValueError("no end marker")


# ---- TNEF encoding (MS-OXTNEF) ----

def pad4(b):
    return b + bytes(-len(b) % 4)


def atp_date(dt):
    """atpDate: year, month, day, hour, minute, second, weekday (0 is
    Sunday), 16 bits each (the attDateSent of MS-OXTNEF 3.1 sums so)."""
    return struct.pack("<7H", dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second,
                       (dt.weekday() + 1) % 7)


def filetime(dt):
    return int((dt - datetime(1601, 1, 1, tzinfo=timezone.utc)).total_seconds()) * 10_000_000


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def attribute(level, att, data, bad_sum=False):
    """One attribute (MS-OXTNEF 2.1.3): level, id, length, data, and the
    16-bit sum of the data bytes (made wrong by one when @bad_sum)."""
    checksum = (sum(data) + (1 if bad_sum else 0)) & 0xFFFF
    return struct.pack("<BII", level, att, len(data)) + data + struct.pack("<H", checksum)


def string8(s):
    return s.encode(CODEPAGE) + b"\0"


def one_value(ptype, v):
    """One value of base type @ptype: fixed ones bare, variable ones as
    length, bytes and padding to 4 (the padding not in the length).  A
    PT_OBJECT embedded message is IID_IMessage and the TNEF stream, the IID
    counted in the length (MAPI's attMAPIProps page)."""
    if ptype in FIXED:
        return struct.pack(FIXED[ptype], v)
    if ptype == PT_SYSTIME:
        return struct.pack("<Q", filetime(v))
    if ptype == PT_CLSID:
        return uuid.UUID(v).bytes_le
    raw = {PT_STRING8: lambda: string8(v), PT_UNICODE: lambda: v.encode("utf-16-le") + b"\0\0",
           PT_BINARY: lambda: bytes(v), PT_OBJECT: lambda: IID_IMESSAGE + v}[ptype]()
    return struct.pack("<I", len(raw)) + pad4(raw)


def prop_name(name):
    """The name after a named property's tag (id 0x8000 and up): set GUID,
    then kind 0 and a LID, or kind 1 and a UTF-16LE name with its NUL,
    length in bytes, padded to 4."""
    guid = uuid.UUID(PS.get(name[0], name[0])).bytes_le
    if isinstance(name[1], int):
        return guid + struct.pack("<II", 0, name[1])
    s = name[1].encode("utf-16-le") + b"\0\0"
    return guid + struct.pack("<II", 1, len(s)) + pad4(s)


def prop(tag, value, name=None):
    """One property of a property list (MAPI's attMAPIProps): tag, the name
    of a named one, then the value; variable and multi-valued ones counted."""
    ptype = tag & 0xFFFF
    out = struct.pack("<I", tag)
    if name is not None:
        out += prop_name(name)
    if ptype & MV_FLAG:
        out += struct.pack("<I", len(value))
        return out + b"".join(one_value(ptype & ~MV_FLAG, v) for v in value)
    if ptype in FIXED or ptype in (PT_SYSTIME, PT_CLSID):
        return out + one_value(ptype, value)
    return out + struct.pack("<I", 1) + one_value(ptype, value)


def prop_list(props):
    """attMsgProps / attAttachment data: a count, then the properties."""
    return struct.pack("<I", len(props)) + b"".join(prop(*p) for p in props)


def rend_data():
    """attAttachRendData: attach type 1 (file), position -1 (nowhere in the
    text), no rendering size, no flags (MS-OXTNEF 2.1.3.3.15)."""
    return struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0, 0, 0)


def tnef_stream(msg, key=LEGACY_KEY, bad_sum=None):
    """A whole TNEF stream of message @msg (a dict, see fixtures()):
    attTnefVersion and attOemCodepage first, the message attributes with
    attMsgProps last, then each attachment from attAttachRendData to
    attAttachment (MS-OXTNEF 2.1.3).  @bad_sum names the attribute whose
    checksum is made wrong (its first occurrence)."""
    bad = [bad_sum]

    def att(level, a, data):
        wrong = bad[0] == a
        if wrong:
            bad[0] = None
        return attribute(level, a, data, wrong)

    out = struct.pack("<IH", TNEF_SIGNATURE, key)
    out += att(LVL_MESSAGE, ATT_TNEF_VERSION, struct.pack("<I", 0x00010000))
    out += att(LVL_MESSAGE, ATT_OEM_CODEPAGE, struct.pack("<II", 1252, 0))
    out += att(LVL_MESSAGE, ATT_MESSAGE_CLASS, string8(msg["class_attr"]))
    if msg.get("subject_attr") is not None:
        out += att(LVL_MESSAGE, ATT_SUBJECT, string8(msg["subject_attr"]))
    if msg.get("date_sent") is not None:
        out += att(LVL_MESSAGE, ATT_DATE_SENT, atp_date(msg["date_sent"]))
    out += att(LVL_MESSAGE, ATT_MSG_PROPS, prop_list(msg["props"]))
    for a in msg.get("attachments", []):
        out += att(LVL_ATTACHMENT, ATT_ATTACH_REND_DATA, rend_data())
        out += att(LVL_ATTACHMENT, ATT_ATTACH_TITLE, string8(a["title"]))
        if a.get("created") is not None:
            out += att(LVL_ATTACHMENT, ATT_ATTACH_CREATE_DATE, atp_date(a["created"]))
        if a.get("modified") is not None:
            out += att(LVL_ATTACHMENT, ATT_ATTACH_MODIFY_DATE, atp_date(a["modified"]))
        if a.get("data") is not None:
            out += att(LVL_ATTACHMENT, ATT_ATTACH_DATA, a["data"])
        out += att(LVL_ATTACHMENT, ATT_ATTACHMENT, prop_list(a["props"]))
    return out


# ---- the fixtures ----

T_SENT = datetime(2026, 3, 2, 9, 58, 0, tzinfo=timezone.utc)
T_CREATED = datetime(2026, 2, 27, 16, 30, 5, tzinfo=timezone.utc)
T_MODIFIED = datetime(2026, 3, 1, 8, 15, 45, tzinfo=timezone.utc)

# repeats, so that the compressor writes references; \'fc is cp1252's u umlaut
RTF = ("{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}\r\n"
       "\\pard\\plain\\f0\\fs20 Quarterly report attached.\\par\r\n"
       + "\\pard The numbers went up again. " * 6 + "\\par\r\n"
       "\\pard\\b Please review the quarterly report before Friday.\\b0\\par\r\n"
       "\\pard Please review the quarterly report before Friday.\\par\r\n"
       "\\pard Gr\\'fc\\'dfe, Alice\\par\r\n}\r\n")


def pseudo_random(n, seed):
    """@n bytes of SHA-256 in counter mode: arbitrary, and the same each run."""
    out = b"".join(hashlib.sha256(seed + struct.pack("<I", k)).digest() for k in range(n // 32 + 1))
    return out[:n]


def att_pdf():
    data = pseudo_random(3001, b"tnef quarterly report")
    return {"title": "QUARTE~1.PDF", "data": data, "created": T_CREATED, "modified": T_MODIFIED,
            "props": [(0x3707001F, "Quarterly report 2026.pdf"),     # PidTagAttachLongFilename
                      (0x370E001F, "application/pdf"),               # PidTagAttachMimeTag
                      (0x37050003, 1),                               # PidTagAttachMethod: by value
                      (0x3703001F, ".pdf"),                          # PidTagAttachExtension
                      (0x3001001F, "Quarterly report 2026.pdf")]}    # PidTagDisplayName


def att_notes():
    # an 8-bit long name, in the stream's code page; no dates, no MIME tag
    return {"title": "NOTIZE~1.TXT", "data": b"some notes\r\n",
            "props": [(0x3707001E, "Notizen für März.txt"), (0x37050003, 1)]}


def att_empty():
    return {"title": "empty.bin", "data": b"",
            "props": [(0x3707001F, "empty.bin"), (0x37050003, 1)]}


def inner_message():
    return {"class_attr": "IPM.Note",
            "props": [(0x0037001F, "Inner subject"),        # PidTagSubject
                      (0x1000001F, "inner body")]}          # PidTagBody


def att_embedded():
    inner = tnef_stream(inner_message(), key=0x2C4D)
    return {"title": "Inner", "inner": inner_message(), "object": inner,
            "props": [(0x37050003, 5),                       # PidTagAttachMethod: embedded message
                      (0x3001001F, "Inner message"),
                      (0x3701000D, inner)]}                  # PidTagAttachDataObject


def key_prop(n):
    """PidTagTnefCorrelationKey: the Message-ID, its NUL included."""
    return (0x007F0102, f"<tnef-{n}@example.com>".encode() + b"\0")


def full_message(n):
    return {"class_attr": "IPM.Microsoft Mail.Note", "date_sent": T_SENT, "rtf": RTF,
            "props": [key_prop(n),
                      (0x0037001F, "TNEF subject ü"),                       # PidTagSubject
                      (0x10090102, rtf_compress(RTF.encode("ascii"))),      # PidTagRtfCompressed
                      (0x0070001E, "TNEF topic é"),                         # PidTagConversationTopic
                      (0x00170003, 2),                                      # PidTagImportance: high
                      (0x00390040, T_SENT),                                 # PidTagClientSubmitTime
                      (0x66660005, 3.25),
                      (0x6667101F, ["first value", "zweiter Wert ä"]),
                      (0x8000001F, "Work account", ("PSETID_Common", 0x8580)),
                      (0x8001001F, "named value", ("PS_PUBLIC_STRINGS", "x-tnef-test"))],
            "attachments": [att_pdf(), att_notes(), att_empty(), att_embedded()]}


def fixtures():
    """name -> (message dict, MIME facts)."""
    keyless = {"class_attr": "IPM.Microsoft Mail.Note",
               "props": [(0x0037001F, "Keyless subject")], "attachments": [att_pdf()]}
    return {
        "matched.eml": (full_message(1), {"n": 1}),
        "mismatched.eml": (full_message(2), {"n": 2, "correlator": "<other@example.com>"}),
        "keyless.eml": (keyless, {"n": 3}),
        "toplevel.eml": ({"class_attr": "IPM.Microsoft Mail.Note",
                          "props": [key_prop(4), (0x0037001F, "Top-level subject")],
                          "attachments": [att_notes()]}, {"n": 4, "toplevel": True}),
        "badsum.eml": (dict(keyless), {"n": 5, "bad_sum": ATT_ATTACH_DATA}),
        "string8.eml": ({"class_attr": "IPM.Microsoft Schedule.MtgReq",
                         "subject_attr": "Besprechung am Montag ö", "date_sent": T_SENT,
                         "props": [key_prop(6),
                                   (0x0070001E, "Besprechung am Montag ö"),  # PidTagConversationTopic
                                   (0x1000001E, "Treffen im Raum Süd"),      # PidTagBody
                                   (0x8000001E, "Büro", ("PSETID_Common", 0x8580))],
                         "attachments": [att_notes()]}, {"n": 6}),
    }


# ---- MIME ----

def b64_lines(data):
    s = base64.b64encode(data).decode()
    return "".join(s[i:i + 76] + "\r\n" for i in range(0, len(s), 76))


def eml(msg_id, correlator, tnef, toplevel):
    """The message around @tnef: a multipart/mixed of a text part and
    winmail.dat, or (@toplevel) winmail.dat as the whole body."""
    head = ("From: Alice Example <alice@example.com>\r\nTo: Bob Example <bob@example.com>\r\n"
            "Subject: MIME subject\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            f"Message-ID: {msg_id}\r\nX-MS-TNEF-Correlator: {correlator}\r\nMIME-Version: 1.0\r\n")
    tnef_head = ("Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\n"
                 "Content-Transfer-Encoding: base64\r\n"
                 "Content-Disposition: attachment; filename=\"winmail.dat\"\r\n")
    if toplevel:
        return (head + tnef_head + "\r\n" + b64_lines(tnef)).encode()
    return (head + "Content-Type: multipart/mixed; boundary=\"=_tnef_=\"\r\n\r\n"
            "--=_tnef_=\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n"
            "Content-Transfer-Encoding: 7bit\r\n\r\nplain body from MIME\r\n"
            "--=_tnef_=\r\n" + tnef_head + "\r\n" + b64_lines(tnef) + "--=_tnef_=--\r\n").encode()


# ---- the manifest ----

def named_key(tag, name):
    if name is None:
        return "0x%08X" % tag
    n = name[1] if isinstance(name[1], str) else "0x%04X" % name[1]
    return f"{name[0]}/{n}"


def value_json(ptype, v):
    """A value as the manifest shows it: binary as "hex:...", times in ISO
    UTC, a PT_OBJECT as the hex of its TNEF stream (the IID left out)."""
    if ptype & MV_FLAG:
        return [value_json(ptype & ~MV_FLAG, x) for x in v]
    if ptype in (PT_BINARY, PT_OBJECT):
        return "hex:" + bytes(v).hex()
    if ptype == PT_SYSTIME:
        return iso(v)
    return v


def props_json(props):
    return {named_key(p[0], p[2] if len(p) > 2 else None): value_json(p[0] & 0xFFFF, p[1])
            for p in props}


def pval(props, tag):
    return next((p[1] for p in props if p[0] == tag), None)


def attachment_json(a):
    props = a["props"]
    data = a.get("data") if a.get("data") is not None else a.get("object")
    out = {"long_name": pval(props, 0x3707001F) or pval(props, 0x3707001E),
           "title": a["title"], "mime": pval(props, 0x370E001F),
           "display_name": pval(props, 0x3001001F),
           "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
           "method": pval(props, 0x37050003),
           "created": iso(a["created"]) if a.get("created") else None,
           "modified": iso(a["modified"]) if a.get("modified") else None,
           "props": props_json(props)}
    if "inner" in a:
        # size and sha256 are of the nested TNEF stream
        out["embedded"] = message_json(a["inner"])
    return out


def message_json(msg):
    props = msg["props"]
    return {"class_attr": msg["class_attr"],
            "subject": pval(props, 0x0037001F),
            "subject_attr": msg.get("subject_attr"),
            "date_sent": iso(msg["date_sent"]) if msg.get("date_sent") else None,
            "key": (pval(props, 0x007F0102) or b"").rstrip(b"\0").decode() or None,
            "rtf": msg.get("rtf"),
            "attachments": [attachment_json(a) for a in msg.get("attachments", [])],
            "props": props_json(props)}


def make(d):
    os.makedirs(d, exist_ok=True)
    manifest = {}
    for name, (msg, mime) in fixtures().items():
        msg_id = f"<tnef-{mime['n']}@example.com>"
        correlator = mime.get("correlator", msg_id)
        bad = mime.get("bad_sum")
        data = tnef_stream(msg, bad_sum=bad)
        with open(os.path.join(d, name), "wb") as f:
            f.write(eml(msg_id, correlator, data, mime.get("toplevel", False)))
        m = {"message_id": msg_id, "correlator": correlator, "mime_subject": "MIME subject",
             "plain": None if mime.get("toplevel") else "plain body from MIME",
             "toplevel": bool(mime.get("toplevel")),
             "bad_checksum": ATT_NAMES[bad] if bad else None,
             "tnef_size": len(data), "tnef_sha256": hashlib.sha256(data).hexdigest()}
        m.update(message_json(msg))
        manifest[name] = m
    with open(os.path.join(d, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")


def winmail(path, out):
    with open(path, "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    part = next((p for p in msg.walk() if p.get_content_type() == "application/ms-tnef"), None)
    if part is None:
        sys.exit(1)
    with open(out, "wb") as f:
        f.write(part.get_payload(decode=True))


def rtf(path, out):
    with open(path, "rb") as f:
        data = f.read()
    with open(out, "wb") as f:
        f.write(rtf_decompress(data))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "winmail":
        winmail(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "rtf":
        rtf(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
