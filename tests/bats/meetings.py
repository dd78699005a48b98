#!/usr/bin/python3
"""Fixtures and oracle of 99-meetings.bats (issue 12: meeting requests,
MS-OXCMAIL 2.2.3.3.3 / MS-OXCICAL), with Python's icalendar package.

  meetings.py make DIR      invitations as Outlook, Google and Thunderbird
                            send them (and a cancel and a publish), in DIR
  meetings.py expect FILE   what the mount must show for FILE, one
                            "path<TAB>value" a line ("hex:" for binary)
"""
import os
import struct
import sys
from datetime import date, datetime, timezone
from email import policy
from email.parser import BytesParser

try:
    import icalendar
except ImportError:     # a Python of its own (pyenv) beside Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
    import icalendar

APPT = "PSETID_Appointment"
CLASS = {"REQUEST": "IPM.Schedule.Meeting.Request", "CANCEL": "IPM.Schedule.Meeting.Canceled",
         "PUBLISH": "IPM.Appointment", "COUNTER": "IPM.Schedule.Meeting.Resp.Tent"}
REPLY = {"ACCEPTED": "IPM.Schedule.Meeting.Resp.Pos", "DECLINED": "IPM.Schedule.Meeting.Resp.Neg"}


def goid(uid):
    """MS-OXCICAL 2.1.3.1.1.20.26, written from the spec's text."""
    prefix = bytes.fromhex("040000008200E00074C5B7101A82E008")
    if uid.upper().startswith(prefix.hex().upper()) and len(uid) >= 80:
        try:
            return bytes.fromhex(uid)
        except ValueError:
            pass
    data = b"vCal-Uid" + struct.pack("<I", 1) + uid.encode() + b"\0"
    return prefix + bytes(20) + struct.pack("<I", len(data)) + data


def meeting_class(msg):
    """The class the first text/calendar part of @msg (any Message) makes,
    or None when it has none or its calendar holds no event."""
    part = next((p for p in msg.walk() if p.get_content_type() in ("text/calendar", "application/ics")), None)
    if part is None:
        return None
    try:
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    except ValueError:
        return None
    events = cal.walk("VEVENT")
    if not events:
        return None
    method = str(cal.get("METHOD", "")).upper()
    if method == "REPLY":
        att = events[0].get("ATTENDEE", [])
        att = att if isinstance(att, list) else [att]
        ps = str(att[0].params.get("PARTSTAT", "")).upper() if att else ""
        return REPLY.get(ps, "IPM.Schedule.Meeting.Resp.Tent")
    return CLASS.get(method)


def utc(prop, zones):
    v = prop.dt
    if isinstance(v, date) and not isinstance(v, datetime):
        v = datetime(v.year, v.month, v.day)
    if v.tzinfo is None:
        tzid = prop.params.get("TZID")
        if tzid in zones:
            v = zones[tzid].localize(v)
        else:
            v = v.replace(tzinfo=timezone.utc)
    return v.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def expect(path):
    msg = BytesParser(policy=policy.default).parse(open(path, "rb"))
    part = next((p for p in msg.walk() if p.get_content_type() in ("text/calendar", "application/ics")), None)
    cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
    zones = {}
    for tz in cal.walk("VTIMEZONE"):
        zones[str(tz["TZID"])] = tz.to_tz()
    ev = cal.walk("VEVENT")[0]
    att = ev.get("ATTENDEE", [])
    att = att if isinstance(att, list) else [att]
    out = [("PidTagMessageClass", meeting_class(msg)),
           (f"{APPT}/0x820D", utc(ev["DTSTART"], zones)),
           (f"{APPT}/0x8223", "true" if "RRULE" in ev else "false"),
           ("PSETID_Meeting/0x0003", "hex:" + goid(str(ev["UID"])).hex()),
           ("PSETID_Meeting/0x0023", "hex:" + goid(str(ev["UID"])).hex())]
    if "DTEND" in ev:
        out.append((f"{APPT}/0x820E", utc(ev["DTEND"], zones)))
    if "LOCATION" in ev:
        out.append((f"{APPT}/0x8208", str(ev["LOCATION"])))
    req = [a for a in att if str(a.params.get("ROLE", "REQ-PARTICIPANT")).upper() in ("REQ-PARTICIPANT", "CHAIR")]
    opt = [a for a in att if a not in req]
    name = lambda a: str(a.params.get("CN") or str(a)[7:])
    if req:
        out.append((f"{APPT}/0x823B", "; ".join(name(a) for a in req)))
    if opt:
        out.append((f"{APPT}/0x823C", "; ".join(name(a) for a in opt)))
    org = ev.get("ORGANIZER")
    if org is not None:
        out.append(("PidTagSentRepresentingSmtpAddress", str(org)[7:]))
    for k, v in out:
        print(f"{k}\t{v}")


VTZ_BERLIN = """BEGIN:VTIMEZONE\r
TZID:W. Europe Standard Time\r
BEGIN:STANDARD\r
DTSTART:16010101T030000\r
TZOFFSETFROM:+0200\r
TZOFFSETTO:+0100\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010101T020000\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0200\r
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""


def vcal(method, event, tz=""):
    return (f"BEGIN:VCALENDAR\r\nPRODID:-//test//EN\r\nVERSION:2.0\r\nMETHOD:{method}\r\n{tz}"
            f"BEGIN:VEVENT\r\n{event}END:VEVENT\r\nEND:VCALENDAR\r\n")


def make(d):
    import base64
    os.makedirs(d, exist_ok=True)

    def write(name, headers, body):
        with open(os.path.join(d, name + ".eml"), "wb") as f:
            f.write((headers + "MIME-Version: 1.0\r\n").encode() + body.encode())

    # Outlook: its hex global object id as UID, a Windows time zone, base64
    outlook_uid = ("040000008200E00074C5B7101A82E00800000000D0A5C3B2A14ADB01000000000000000010000000"
                   "7A1F3C29B4E3F54B9C0E2A9A6B8D1E22")
    ics = vcal("REQUEST",
               f"ORGANIZER;CN=Alice Boss:mailto:alice@example.org\r\n"
               f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Bob Jones:mailto:bob@example.net\r\n"
               f"ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=Carol:mailto:carol@example.net\r\n"
               f"UID:{outlook_uid}\r\nSUMMARY;LANGUAGE=en-US:Budget review\r\n"
               f"DTSTART;TZID=W. Europe Standard Time:20241210T140000\r\n"
               f"DTEND;TZID=W. Europe Standard Time:20241210T153000\r\n"
               f"CLASS:PUBLIC\r\nPRIORITY:5\r\nDTSTAMP:20241202T090000Z\r\nTRANSP:OPAQUE\r\n"
               f"STATUS:CONFIRMED\r\nSEQUENCE:0\r\nLOCATION;LANGUAGE=en-US:Room 4.12\r\n", VTZ_BERLIN)
    b64 = "\r\n".join(base64.b64encode(ics.encode()).decode()[i:i + 76] for i in range(0, 10000, 76)).strip()
    write("outlook-request",
          "From: Alice Boss <alice@example.org>\r\nTo: Bob Jones <bob@example.net>\r\n"
          "Cc: Carol <carol@example.net>\r\nSubject: Budget review\r\n"
          "Date: Mon, 02 Dec 2024 09:00:00 +0000\r\nContent-Class: urn:content-classes:calendarmessage\r\n"
          "Content-Type: multipart/alternative; boundary=\"_000_\"\r\n",
          "\r\n--_000_\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\nBudget review.\r\n"
          "--_000_\r\nContent-Type: text/html; charset=\"us-ascii\"\r\n\r\n<p>Budget review.</p>\r\n"
          "--_000_\r\nContent-Type: text/calendar; charset=\"utf-8\"; method=REQUEST\r\n"
          f"Content-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--_000_--\r\n")
    # Google: UTC times, a weekly series, the invite.ics attachment too
    ics = vcal("REQUEST",
               "DTSTART:20241211T080000Z\r\nDTEND:20241211T083000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=WE\r\n"
               "DTSTAMP:20241202T090000Z\r\nORGANIZER;CN=bob@example.net:mailto:bob@example.net\r\n"
               "UID:5q1nm4ktk0m3o9p3u2lv0b2s5c@google.com\r\n"
               "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=bob@example.net;X-NUM-GUESTS=0:mailto:bob@example.net\r\n"
               "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=dave@example.org;X-NUM-GUESTS=0:mailto:dave@example.org\r\n"
               "LOCATION:https://meet.example.com/abc-defg-hij\r\nSEQUENCE:0\r\nSTATUS:CONFIRMED\r\n"
               "SUMMARY:Standup\r\nTRANSP:OPAQUE\r\n")
    write("google-request",
          "From: bob@example.net\r\nTo: dave@example.org\r\nSubject: Invitation: Standup\r\n"
          "Date: Mon, 02 Dec 2024 09:00:00 +0000\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n",
          "\r\n--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n"
          "--a\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\nStandup, Wednesdays\r\n"
          "--a\r\nContent-Type: text/calendar; charset=\"UTF-8\"; method=REQUEST\r\n\r\n" + ics +
          "--a--\r\n--m\r\nContent-Type: application/ics; name=\"invite.ics\"\r\n"
          "Content-Disposition: attachment; filename=\"invite.ics\"\r\n\r\n" + ics + "--m--\r\n")
    # Thunderbird's acceptance
    ics = vcal("REPLY",
               "CREATED:20241202T090000Z\r\nDTSTAMP:20241202T091000Z\r\nUID:abc-123@example.org\r\n"
               "SUMMARY:Planning\r\nORGANIZER;CN=Alice:mailto:alice@example.org\r\n"
               "ATTENDEE;RSVP=TRUE;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:bob@example.net\r\n"
               "DTSTART:20241212T150000Z\r\nDTEND:20241212T160000Z\r\n")
    write("thunderbird-reply",
          "From: bob@example.net\r\nTo: alice@example.org\r\nSubject: Accepted: Planning\r\n"
          "Date: Mon, 02 Dec 2024 09:10:00 +0000\r\nContent-Type: multipart/mixed; boundary=\"t\"\r\n",
          "\r\n--t\r\nContent-Type: multipart/alternative; boundary=\"u\"\r\n\r\n"
          "--u\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nBob has accepted.\r\n"
          "--u\r\nContent-Type: text/calendar; method=REPLY; charset=UTF-8\r\n\r\n" + ics +
          "--u--\r\n--t--\r\n")
    for method, name in (("CANCEL", "cancel"), ("PUBLISH", "publish")):
        ics = vcal(method, "UID:abc-123@example.org\r\nDTSTAMP:20241202T091000Z\r\n"
                           "DTSTART;VALUE=DATE:20241224\r\nDTEND;VALUE=DATE:20241225\r\nSUMMARY:Holiday\r\n")
        write(name, f"From: alice@example.org\r\nSubject: {name}\r\nDate: Mon, 02 Dec 2024 09:10:00 +0000\r\n"
                    f"Content-Type: text/calendar; method={method}; charset=utf-8\r\n", "\r\n" + ics)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "expect":
        expect(sys.argv[2])
    else:
        sys.exit(__doc__)
