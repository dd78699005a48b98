#!/usr/bin/env bats
# Issue 13, point 4: every attachment that holds data has its file name in
# attachments/ beside its row, an alias of PidTagAttachDataBinary, so that
# file(1), xdg-open and tab completion see a name and an extension; names
# are made safe and unique within the message; and "cp report.pdf
# attachments/" adds an attachment.  Python's email package is the oracle.

load common
load write_common

setup_file() {
    build_sample
}

setup() {
    require_mapifs
    SRC=$BATS_TEST_TMPDIR/src
    mkdir -p "$SRC/cur" "$SRC/new" "$SRC/tmp"
}

# names_of FILE: "NAME<TAB>MEDIA-TYPE<TAB>SHA256" of every attachment of the
# message FILE, as Python's email package decodes them
names_of() {
    python3 - "$1" <<'PY'
import sys, email, email.policy, hashlib
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for p in m.iter_attachments():
    data = p.get_payload(decode=True)   # the bytes, line ends as sent
    print("%s\t%s\t%s" % (p.get_filename(), p.get_content_type(), hashlib.sha256(data).hexdigest()))
PY
}

@test "the sample's attachments have their names: file(1) knows them, the bytes are the data's" {
    mount_mapifs "$SAMPLE_MD"
    local dir=$MNT/INBOX/1700000003.M3P1.attachments/attachments n name
    run ls "$dir"
    assert_line 'übersicht.pdf'
    assert_line 'notes.txt'
    assert_line 'Straße.png'
    run file -b "$dir/übersicht.pdf"
    assert_output --partial 'PDF document'
    run file -b "$dir/Straße.png"
    assert_output --partial 'PNG image'
    # each name is the data of the row that has that PidTagAttachLongFilename
    for n in $(ls "$dir" | grep -E '^[0-9]+$'); do
        name=$(cat "$dir/$n/PidTagAttachLongFilename")
        cmp "$dir/$name" "$dir/$n/PidTagAttachDataBinary" || fail "$name is not row $n's data"
        [[ $(stat -c %s "$dir/$name") == $(stat -c %s "$dir/$n/PidTagAttachDataBinary") ]] ||
            fail "$name: size differs"
    done
    # and Python's email package decodes the same bytes under the same names
    run names_of "$(sample_file 1700000003.M3P1.attachments)"
    local type sum mine
    while IFS=$'\t' read -r name type sum; do
        # Python hands text parts over with LF line ends
        if [[ $type == text/* ]]; then
            mine=$(tr -d '\r' <"$dir/$name" | sha256sum | cut -d' ' -f1)
        else
            mine=$(sha256sum <"$dir/$name" | cut -d' ' -f1)
        fi
        [[ $mine == "$sum" ]] || fail "$name differs from Python's"
    done <<<"$output"
    [[ $(wc -l <<<"$output") == 3 ]] || fail "Python found: $output"
    # the aliases are read-only copies' names, not new files: rm is refused
    run rm "$dir/notes.txt"
    assert_failure
    unmount_mapifs
}

@test "names are made safe and unique: paths, dots, row numbers, control bytes, length" {
    python3 - "$SRC/cur/1700000300.M1P1.names:2,S" <<'PY'
import sys, email.message
m = email.message.EmailMessage()
m["From"] = "a@example.org"; m["To"] = "b@example.org"; m["Subject"] = "names"
m.set_content("see the attachments\n")
names = ["a.txt", "a.txt", "a (2).txt", "../../etc/passwd", ".bashrc", "0", "x\x01y.bin",
         "C:\\Users\\eve\\report.doc", "é" * 200 + ".pdf"]
for i, n in enumerate(names):
    m.add_attachment(("data %d\n" % i).encode(), maintype="application",
                     subtype="octet-stream", filename=n)
open(sys.argv[1], "wb").write(bytes(m))
PY
    mount_mapifs "$SRC"
    local dir=$MNT/INBOX/1700000300.M1P1.names/attachments
    run bash -c "ls '$dir' | grep -vE '^[0-9]+$'"
    local long
    long=$(python3 -c 'n = "é" * 200 + ".pdf"; b = n.encode()[:255 - 4]; print(b.decode("utf-8", "ignore") + ".pdf")')
    # the names are PidTagAttachLongFilename's, in which MS-OXCMAIL
    # 2.2.3.4.1.1 already made '/', '\\' and ':' into '_'
    assert_output "$(printf '%s\n' 'a (2) (2).txt' 'a (2).txt' 'a.txt' '0 (2)' '_._.._etc_passwd' \
        '_bashrc' 'C__Users_eve_report.doc' 'x_y.bin' "$long" | LC_ALL=C sort)"
    # every one is its own attachment's data
    local n name
    for n in 0 1 2 3 4 5 6 7 8; do
        [[ $(cat "$dir/$n/PidTagAttachDataBinary") == "data $n" ]] || fail "row $n"
    done
    assert_file_is "$dir/a.txt" 'data 0'
    assert_file_is "$dir/a (2).txt" 'data 1'
    assert_file_is "$dir/a (2) (2).txt" 'data 2'
    assert_file_is "$dir/_._.._etc_passwd" 'data 3'
    assert_file_is "$dir/0 (2)" 'data 5'
    [[ ${#long} -gt 0 && $(printf %s "$long" | wc -c) -le 255 ]] || fail "long name: $(printf %s "$long" | wc -c) bytes"
    unmount_mapifs
}

@test "cp report.pdf attachments/ adds an attachment; cp again replaces its data" {
    copy_sample "$SRC"
    mount_mapifs "$SRC/Maildir"
    local m=$MNT/INBOX/1700000001.M1P1.plain f pdf=$BATS_TEST_TMPDIR/report.pdf
    f=$(sample_file 1700000001.M1P1.plain "$SRC/Maildir")
    printf '%%PDF-1.4\n%% a test\n1 0 obj << >> endobj\n%%%%EOF\n' >"$pdf"
    run ls "$m/attachments"
    assert_output ''
    run cp "$pdf" "$m/attachments/"
    assert_success
    run ls "$m/attachments"
    assert_output "$(printf '0\nreport.pdf')"
    cmp "$pdf" "$m/attachments/report.pdf" || fail "the bytes differ"
    assert_file_is "$m/attachments/0/PidTagAttachMimeTag" application/pdf
    run names_of "$f"
    assert_output "$(printf 'report.pdf\tapplication/pdf\t%s' "$(sha256sum <"$pdf" | cut -d' ' -f1)")"
    # the same name again: the data is replaced, no second attachment
    printf '%%PDF-1.4\n%% another\n%%%%EOF\n' >"$pdf"
    cp "$pdf" "$m/attachments/"
    run names_of "$f"
    assert_output "$(printf 'report.pdf\tapplication/pdf\t%s' "$(sha256sum <"$pdf" | cut -d' ' -f1)")"
    # a row number or a hidden name cannot be one, and S/MIME has one attachment
    run cp "$pdf" "$m/attachments/7"
    assert_failure
    run cp "$pdf" "$m/attachments/.x.pdf"
    assert_failure
    run cp "$pdf" "$MNT/INBOX/1700000004.M4P1.signed/attachments/"
    assert_failure
    assert_output --partial 'Operation not permitted'
    expect_log_error 'S/MIME message has exactly one attachment'
    unmount_mapifs
}
