#!/usr/bin/env bats
# Meeting requests (issue 12; MS-OXCMAIL 2.2.3.3.3, MS-OXCICAL): a message
# with a text/calendar part is a meeting object: IPM.Schedule.Meeting.Request,
# .Resp.Pos/.Neg/.Tent, .Canceled or IPM.Appointment, with start, end,
# location, attendees, organizer, recurrence and the global object id; the
# iCalendar stream stays readable as the message's attachment.  Expected
# values come from Python's icalendar package (meetings.py) on invitations
# written as Outlook, Google and Thunderbird send them.

load common

setup() {
    # Debian's python3-icalendar lives in the system Python
    PY=/usr/bin/python3
    "$PY" -c 'import icalendar' 2>/dev/null || missing_prerequisite "python3-icalendar (Debian: python3-icalendar)"
    MD=$BATS_TEST_TMPDIR/src/Maildir
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
    "$PY" "$BATS_TEST_DIRNAME/meetings.py" make "$BATS_TEST_TMPDIR/made"
    local f
    for f in "$BATS_TEST_TMPDIR"/made/*.eml; do
        cp "$f" "$MD/cur/$(basename "$f" .eml):2,S"
    done
}

# check NAME: the mount's message NAME shows what icalendar reads.
check() {
    local d=$MNT/INBOX/$1 path want got
    while IFS=$'\t' read -r path want; do
        [[ $path != '#oracle-failed' ]] || fail "$1: meetings.py failed"
        [[ -f $d/$path ]] || fail "$1: no $path (expected '$want')"
        if [[ $want == hex:* ]]; then
            got=hex:$(od -An -v -tx1 "$d/$path" | tr -d ' \n')
        else
            got=$(cat "$d/$path")
        fi
        [[ $got == "$want" ]] || fail "$1: $path is '$got', icalendar reads '$want'"
    done < <("$PY" "$BATS_TEST_DIRNAME/meetings.py" expect "$BATS_TEST_TMPDIR/made/$1.eml" || echo "#oracle-failed")
    [[ $("$PY" "$BATS_TEST_DIRNAME/meetings.py" expect "$BATS_TEST_TMPDIR/made/$1.eml" | wc -l) -ge 5 ]] ||
        fail "$1: meetings.py has no expectations"
}

@test "invitations, a reply, a cancel and a publish read as icalendar reads them" {
    mount_mapifs "$MD" -o ro
    # the class of every message first, as `cat */PidTagMessageClass` reads
    # it on a fresh mount (the daemon would answer from the headers alone)
    run bash -c 'cd "$1/INBOX" && cat */PidTagMessageClass' _ "$MNT"
    assert_output "$(printf '%s\n' IPM.Schedule.Meeting.Canceled IPM.Schedule.Meeting.Request \
        IPM.Schedule.Meeting.Request IPM.Appointment IPM.Schedule.Meeting.Resp.Pos)"
    local n
    for n in outlook-request google-request thunderbird-reply cancel publish; do
        check "$n"
    done
    # the iCalendar stream itself, as it came (decoded)
    local d=$MNT/INBOX/outlook-request
    assert_file_is "$d/attachments/0/PidTagAttachMimeTag" text/calendar
    grep -q '^BEGIN:VCALENDAR' "$d/attachments/0/PidTagAttachDataBinary"
    # all-day and weekly
    assert_file_is "$MNT/INBOX/cancel/PSETID_Appointment/0x8215" true
    assert_file_is "$MNT/INBOX/google-request/PSETID_Appointment/0x8223" true
}

@test "an edit of a meeting keeps its calendar part byte for byte" {
    mount_mapifs "$MD"
    local f=$MD/cur/google-request:2,S before
    before=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=d.index(b"BEGIN:VCALENDAR"); print(d[i:].hex())' "$f")
    echo 'Invitation: Standup (moved)' >"$MNT/INBOX/google-request/PidTagSubject"
    assert_equal "$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=d.index(b"BEGIN:VCALENDAR"); print(d[i:].hex())' "$f")" "$before"
    check google-request
}
