#!/usr/bin/env bats
# Delivery and read reports (issue 12; MS-OXCMAIL 2.2.3.7): a multipart/report
# becomes REPORT.IPM.Note.NDR/.DR/.Delayed.DR/... or .IPNRN/.IPNNRN, with a
# recipient row per reported recipient (status codes, remote MTA,
# supplementary info) and the report properties.  Expected values come from
# Python's email package (reports.py) for reports written by the tests as
# Postfix, Exim and Thunderbird write them, and for every multipart/report
# message of the corpus.

load common

setup() {
    MD=$BATS_TEST_TMPDIR/src/Maildir
    mkdir -p "$MD/cur" "$MD/new" "$MD/tmp"
    python3 "$BATS_TEST_DIRNAME/reports.py" make "$BATS_TEST_TMPDIR/made"
}

# add FILE NAME: FILE as message NAME of the Maildir.
add() {
    cp "$1" "$MD/cur/$2:2,S"
}

# check NAME FILE: the mount's message NAME shows what reports.py expects of
# FILE.  Rows "dsn/I/..." are the last rows of recipients/ (after those of
# the report's own To and Cc).
check() {
    local d=$MNT/INBOX/$1 file=$2 path want got nrows=0 total
    total=$(ls "$d/recipients" | wc -l)
    while IFS=$'\t' read -r path want; do
        [[ $path != '#oracle-failed' ]] || fail "$1: reports.py failed on $file"
        if [[ $path == '#dsn-rows' ]]; then
            nrows=$want
            ((total >= nrows)) || fail "$1: $total recipient rows, $nrows reported recipients expected"
            continue
        fi
        if [[ $path == dsn/* ]]; then
            local i=${path#dsn/}
            i=${i%%/*}
            path=recipients/$((total - nrows + i))/${path#dsn/*/}
        fi
        [[ -f $d/$path ]] || fail "$1: no $path (expected '$want')"
        got=$(cat "$d/$path")
        [[ $got == "$want" ]] || fail "$1: $path is '$got', Python's email package reads '$want'"
    done < <(python3 "$BATS_TEST_DIRNAME/reports.py" expect "$file" || echo "#oracle-failed")
    [[ $(python3 "$BATS_TEST_DIRNAME/reports.py" expect "$file" | wc -l) -ge 1 ]] ||
        fail "$1: reports.py has no expectations for $file"
}

@test "DSNs and an MDN as Postfix, Exim and Thunderbird write them" {
    local n
    for n in postfix-bounce exim-delay thunderbird-mdn; do
        add "$BATS_TEST_TMPDIR/made/$n.eml" "$n"
    done
    mount_mapifs "$MD" -o ro
    for n in postfix-bounce exim-delay thunderbird-mdn; do
        check "$n" "$BATS_TEST_TMPDIR/made/$n.eml"
    done
    local d=$MNT/INBOX/postfix-bounce
    # the delivered recipient is left out (2.2.3.7.1 step 3.1): alice (To) and two failed
    run ls "$d/recipients"
    assert_output "$(printf '0\n1\n2')"
    # 2.2.3.7.1.2: "<" remote-mta SP "#" status SP diagnostic-code ">", unfolded
    assert_file_is "$d/recipients/1/PidTagSupplementaryInfo" \
        "<mail.example.net #5.1.1 smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected:    User unknown in virtual mailbox table>"
    # 2.2.3.7.1.3: 5.1.1 -> diagnostic 35, reason 1; 5.2.2 -> 13, 0
    assert_file_is "$d/recipients/1/PidTagNonDeliveryReportDiagCode" 35
    assert_file_is "$d/recipients/1/PidTagNonDeliveryReportReasonCode" 1
    assert_file_is "$d/recipients/2/PidTagNonDeliveryReportDiagCode" 13
    # steps 3.5-3.6: the report's sent time; no delivery time for a failure
    assert_file_is "$d/recipients/1/PidTagReportTime" 2024-12-02T10:05:00Z
    [[ ! -e $d/recipients/1/PidTagDeliverTime ]] || fail "a failed recipient has PidTagDeliverTime"
    assert_file_is "$MNT/INBOX/exim-delay/recipients/1/PidTagDeliverTime" 2024-12-02T10:05:00Z
    # the human-readable part is the body, the original an embedded message,
    # and the status part is read, not attached
    grep -q 'This is the mail system' "$d/PidTagBody"
    run ls "$d/attachments"
    assert_output 0
    assert_file_is "$d/attachments/0/PidTagAttachDataObject/PidTagSubject" "Quarterly figures"
    assert_file_is "$d/PidTagOriginalSubmitTime" 2024-12-02T10:00:00Z
    assert_file_is "$MNT/INBOX/thunderbird-mdn/PidTagReportDispositionMode" manual-action/MDN-sent-manually
}

@test "every multipart/report message of the corpus reads as Python's email package reads it" {
    require_corpus
    local f n=0 names=()
    while IFS= read -r f; do
        n=$((n + 1))
        add "$f" "report$n"
        names+=("report$n:$f")
    done < <(python3 - "$CORPUS_DIR" <<'PY'
import os, sys
from email import policy
from email.parser import BytesParser
for dirpath, dirs, files in sorted(os.walk(sys.argv[1])):
    for name in sorted(files):
        p = os.path.join(dirpath, name)
        try:
            m = BytesParser(policy=policy.compat32).parse(open(p, "rb"))
        except Exception:
            continue
        parts = m.get_payload() if m.is_multipart() else []
        # reports Python can read: a status part with the fields it needs
        if m.get_content_type() != "multipart/report" or not any(
                isinstance(x, type(m)) and x.get_content_type() in
                ("message/delivery-status", "message/disposition-notification") for x in parts):
            continue
        print(p)
PY
    )
    ((n >= 10)) || fail "only $n multipart/report messages found in the corpus"
    mount_mapifs "$MD" -o ro
    local e
    for e in "${names[@]}"; do
        check "${e%%:*}" "${e#*:}"
    done
    echo "# $n reports of the corpus" >&3
}

@test "a report stays a report after an edit, its status part byte for byte" {
    add "$BATS_TEST_TMPDIR/made/postfix-bounce.eml" bounce
    mount_mapifs "$MD"
    local f=$MD/cur/bounce:2,S status_before
    status_before=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=d.index(b"Reporting-MTA"); print(d[i:d.index(b"--==", i)].hex())' "$f")
    echo 'Returned: quarterly figures' >"$MNT/INBOX/bounce/PidTagSubject"
    assert_equal "$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); i=d.index(b"Reporting-MTA"); print(d[i:d.index(b"--==", i)].hex())' "$f")" "$status_before"
    assert_file_is "$MNT/INBOX/bounce/PidTagSubject" 'Returned: quarterly figures'
    assert_file_is "$MNT/INBOX/bounce/PidTagMessageClass" REPORT.IPM.Note.NDR
    check bounce "$f"
}
