#!/usr/bin/env bats
# Browsing the sample Maildir with ordinary tools (design.md sections 2 and 3).

load common

setup() {
    mount_mapifs "$SAMPLE_MD"
    INBOX=$MNT/INBOX
    M_PLAIN=$INBOX/1700000001.M1P1.plain
    M_ALT=$INBOX/1700000002.M2P1.alternative
    M_ATT=$INBOX/1700000003.M3P1.attachments
    M_SIGNED=$INBOX/1700000004.M4P1.signed
    M_OPAQUE=$INBOX/1700000005.M5P1.opaque
    M_ENC=$INBOX/1700000006.M6P1.encrypted
    M_NESTED=$INBOX/1700000007.M7P1.nested
    M_ARCH=$MNT/Archive.2024/1704103200.M8P1.archived
}

# ---------------------------------------------------------------------------
# folders

@test "root shows INBOX and Archive.2024, nothing for cur/new/tmp or dot names" {
    run ls -A "$MNT"
    assert_success
    assert_line INBOX
    assert_line Archive.2024
    refute_line tmp
    refute_line cur
    refute_line new
    refute_line .Archive.2024
    # nothing else but the certificates/ folder of section 5 and the
    # examiner's timeline.body and duplicates/ of section 9
    run bash -c 'ls -A "$1" | grep -vx -e INBOX -e Archive.2024 -e certificates -e duplicates -e timeline.body' _ "$MNT"
    assert_output ''
    [ -d "$MNT/INBOX" ] && [ -d "$MNT/Archive.2024" ]
}

@test "INBOX lists exactly the 7 unique names (cur/ and new/ together)" {
    run ls -A "$MNT/INBOX"
    assert_success
    assert_output "$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}")"
}

@test "Archive.2024 lists its one message" {
    run ls -A "$MNT/Archive.2024"
    assert_success
    assert_output "$(printf '%s\n' "${SAMPLE_ARCHIVE_NAMES[@]}")"
    assert_file_is "$M_ARCH/PidTagSubject" 'Happy new year'
}

@test "every message directory is a directory; a missing one is ENOENT" {
    local n
    for n in "${SAMPLE_INBOX_NAMES[@]}"; do
        [ -d "$INBOX/$n" ] || fail "$INBOX/$n is not a directory"
    done
    run stat "$INBOX/1700000099.M99P1.nothere"
    assert_failure
    assert_output --partial 'No such file or directory'
    # the Maildir file name with its flags is not a second name for the message
    run stat "$INBOX/1700000001.M1P1.plain:2,S"
    assert_failure
}

# ---------------------------------------------------------------------------
# property values (design.md section 3)

@test "plain: RFC 2047 subject decoded, string value ends in one newline" {
    assert_file_is "$M_PLAIN/PidTagSubject" 'Grüße aus Köln'
    assert_file_is "$M_PLAIN/PidTagNormalizedSubject" 'Grüße aus Köln'
    run cat "$M_PLAIN/PidTagSubject"
    assert_output 'Grüße aus Köln'
}

@test "plain: sender, times, booleans and integers in their file formats" {
    assert_file_is "$M_PLAIN/PidTagSenderName" 'Alice Example'
    assert_file_is "$M_PLAIN/PidTagSenderEmailAddress" 'alice@example.org'
    assert_file_is "$M_PLAIN/PidTagSenderSmtpAddress" 'alice@example.org'
    assert_file_is "$M_PLAIN/PidTagInternetMessageId" '<plain.1700000001@example.org>'
    assert_file_is "$M_PLAIN/PidTagClientSubmitTime" "$(iso_time 1700000001)"
    assert_file_is "$M_PLAIN/PidTagClientSubmitTime" '2023-11-14T22:13:21Z'
    assert_file_is "$M_PLAIN/PidTagHasAttachments" 'false'
    assert_file_is "$M_PLAIN/PidTagRead" 'true'
    assert_file_is "$M_PLAIN/PidTagImportance" '1'
    assert_file_is "$M_PLAIN/PidTagInternetCodepage" '65001'
    assert_file_is "$M_PLAIN/PidTagDisplayTo" 'Bob Example; Jürgen Müller'
    assert_file_is "$M_PLAIN/PidTagDisplayCc" 'Carol Example'
    # the delivery time is the backing file's mtime
    assert_file_is "$M_PLAIN/PidTagMessageDeliveryTime" \
        "$(iso_time "$(stat -c %Y "$(sample_file 1700000001.M1P1.plain)")")"
}

@test "plain: PidTagBody is the decoded body exactly (multi-line, no extra newline)" {
    local src
    src=$(sample_file 1700000001.M1P1.plain)
    python3 -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
sys.stdout.buffer.write(m.get_content().replace("\r\n", "\n").encode())
' "$src" >"$BATS_TEST_TMPDIR/body.py"
    tr -d '\r' <"$M_PLAIN/PidTagBody" >"$BATS_TEST_TMPDIR/body.mnt"
    assert_same_bytes "$BATS_TEST_TMPDIR/body.py" "$BATS_TEST_TMPDIR/body.mnt"
    run grep -c 'Grüße aus Köln!' "$M_PLAIN/PidTagBody"
    assert_output 1
}

@test "alternative: headers mapped (importance, sensitivity, topic, in-reply-to, X-Mailer)" {
    assert_file_is "$M_ALT/PidTagSubject" 'Re: Quarterly planning'
    assert_file_is "$M_ALT/PidTagSubjectPrefix" 'Re: '
    assert_file_is "$M_ALT/PidTagNormalizedSubject" 'Quarterly planning'
    assert_file_is "$M_ALT/PidTagConversationTopic" 'Quarterly planning'
    assert_file_is "$M_ALT/PidTagImportance" '2'
    assert_file_is "$M_ALT/PidTagSensitivity" '2'
    assert_file_is "$M_ALT/PidTagInReplyToId" '<question.1699990000@example.org>'
    assert_file_is "$M_ALT/PS_INTERNET_HEADERS/X-Mailer" 'mapifs sample generator 1.0'
    assert_file_is "$M_ALT/PidTagReadReceiptRequested" 'true'
    [ -s "$M_ALT/PidTagHtml" ] || fail "no PidTagHtml on the multipart/alternative message"
    grep -q 'caf&eacute;' "$M_ALT/PidTagHtml"
}

@test "PidTagMessageClass for each kind of message" {
    assert_file_is "$M_PLAIN/PidTagMessageClass" 'IPM.Note'
    assert_file_is "$M_ALT/PidTagMessageClass" 'IPM.Note'
    assert_file_is "$M_ATT/PidTagMessageClass" 'IPM.Note'
    assert_file_is "$M_SIGNED/PidTagMessageClass" 'IPM.Note.SMIME.MultipartSigned'
    assert_file_is "$M_OPAQUE/PidTagMessageClass" 'IPM.Note.SMIME'
    assert_file_is "$M_ENC/PidTagMessageClass" 'IPM.Note.SMIME'
    assert_file_is "$M_NESTED/PidTagMessageClass" 'IPM.Note'
    assert_file_is "$M_ARCH/PidTagMessageClass" 'IPM.Note'
}

@test "PidTagMessageFlags and flag properties follow the Maildir flags" {
    # mfRead = 0x1 (S flag), mfHasAttach = 0x10
    assert_file_is "$M_PLAIN/PidTagMessageFlags" '1'     # :2,S
    assert_file_is "$M_PLAIN/PidTagRead" 'true'
    run test -e "$M_PLAIN/PidTagFlagStatus"
    assert_failure
    assert_file_is "$M_ALT/PidTagMessageFlags" '1'       # :2,FS
    assert_file_is "$M_ALT/PidTagFlagStatus" '2'         # followupFlagged
    assert_file_is "$M_ATT/PidTagMessageFlags" '16'      # new/, unread, attachments
    assert_file_is "$M_ATT/PidTagRead" 'false'
    assert_file_is "$M_SIGNED/PidTagMessageFlags" '17'   # :2,S + attachment
    assert_file_is "$M_ENC/PidTagMessageFlags" '16'      # :2, (no flags)
    assert_file_is "$M_ENC/PidTagRead" 'false'
    assert_file_is "$M_NESTED/PidTagMessageFlags" '17'
    assert_file_is "$M_ARCH/PidTagMessageFlags" '1'      # :2,RS
    assert_file_is "$M_ARCH/PidTagLastVerbExecuted" '102' # replied (R)
}

@test "recipients rows: To, To, Cc with names, addresses and types" {
    run ls "$M_PLAIN/recipients"
    assert_output "$(printf '0\n1\n2')"
    assert_file_is "$M_PLAIN/recipients/0/PidTagDisplayName" 'Bob Example'
    assert_file_is "$M_PLAIN/recipients/0/PidTagEmailAddress" 'bob@example.org'
    assert_file_is "$M_PLAIN/recipients/0/PidTagSmtpAddress" 'bob@example.org'
    assert_file_is "$M_PLAIN/recipients/0/PidTagAddressType" 'SMTP'
    assert_file_is "$M_PLAIN/recipients/0/PidTagRecipientType" '1'
    assert_file_is "$M_PLAIN/recipients/1/PidTagDisplayName" 'Jürgen Müller'
    assert_file_is "$M_PLAIN/recipients/1/PidTagSmtpAddress" 'juergen@example.org'
    assert_file_is "$M_PLAIN/recipients/1/PidTagRecipientType" '1'
    assert_file_is "$M_PLAIN/recipients/2/PidTagDisplayName" 'Carol Example'
    assert_file_is "$M_PLAIN/recipients/2/PidTagSmtpAddress" 'carol@example.org'
    assert_file_is "$M_PLAIN/recipients/2/PidTagRecipientType" '2'
}

@test "From/To/Cc agree with mblaze and with python's email package" {
    local src n i
    src=$(sample_file 1700000001.M1P1.plain)
    # sender
    assert_file_is "$M_PLAIN/PidTagSenderEmailAddress" "$(maddr -a -h from "$src")"
    assert_file_is "$M_PLAIN/PidTagSenderName" "$(maddr -d -h from "$src")"
    # recipients in header order, To before Cc
    mapfile -t addrs < <(maddr -a -h to:cc "$src")
    mapfile -t names < <(maddr -d -h to:cc "$src")
    n=$(ls "$M_PLAIN/recipients" | wc -l)
    [ "$n" -eq "${#addrs[@]}" ] || fail "mblaze sees ${#addrs[@]} recipients, the mount $n"
    for ((i = 0; i < n; i++)); do
        assert_file_is "$M_PLAIN/recipients/$i/PidTagSmtpAddress" "${addrs[i]}"
        assert_file_is "$M_PLAIN/recipients/$i/PidTagDisplayName" "${names[i]}"
    done
    # python agrees too
    run python3 "$HELPER" addresses "$src" to cc
    assert_line --index 0 "$(printf 'Bob Example\tbob@example.org')"
    assert_line --index 1 "$(printf 'Jürgen Müller\tjuergen@example.org')"
    assert_line --index 2 "$(printf 'Carol Example\tcarol@example.org')"
    # and mblaze reads the mounted message.eml like the source
    assert_equal "$(mhdr -d -h subject "$M_PLAIN/message.eml")" "$(cat "$M_PLAIN/PidTagSubject")"
    assert_equal "$(maddr -a -h to:cc "$M_PLAIN/message.eml")" "$(printf '%s\n' "${addrs[@]}")"
}

# ---------------------------------------------------------------------------
# attachments

@test "attachments: three, numbered in MIME order, with non-ASCII long file names" {
    run rows_of "$M_ATT/attachments"
    assert_output "$(printf '0\n1\n2')"
    # beside the rows, their file names (issue 13)
    run names_in "$M_ATT/attachments"
    assert_output "$(printf '%s\n' 'Straße.png' notes.txt 'übersicht.pdf' | LC_ALL=C sort)"
    assert_file_is "$M_ATT/PidTagHasAttachments" 'true'
    assert_file_is "$M_ATT/attachments/0/PidTagAttachLongFilename" 'übersicht.pdf'
    assert_file_is "$M_ATT/attachments/0/PidTagAttachMimeTag" 'application/pdf'
    assert_file_is "$M_ATT/attachments/0/PidTagAttachMethod" '1'
    assert_file_is "$M_ATT/attachments/1/PidTagAttachLongFilename" 'Straße.png'
    assert_file_is "$M_ATT/attachments/1/PidTagAttachMimeTag" 'image/png'
    assert_file_is "$M_ATT/attachments/1/PidTagAttachContentId" 'image1.attachments.1700000003@example.org'
    assert_file_is "$M_ATT/attachments/2/PidTagAttachLongFilename" 'notes.txt'
}

@test "attachment bytes equal what python's email package decodes" {
    local src name i
    src=$(sample_file 1700000003.M3P1.attachments)
    i=0
    for name in 'übersicht.pdf' 'Straße.png'; do   # base64: exact bytes
        python3 "$HELPER" attachment "$src" "$name" >"$BATS_TEST_TMPDIR/att.$i"
        assert_same_bytes "$BATS_TEST_TMPDIR/att.$i" "$M_ATT/attachments/$i/PidTagAttachDataBinary"
        assert_file_is "$M_ATT/attachments/$i/PidTagAttachSize" "$(wc -c <"$BATS_TEST_TMPDIR/att.$i")"
        i=$((i + 1))
    done
    # notes.txt is 7bit text: python's parser turns CRLF into LF, the
    # attachment keeps the bytes of the part (CRLF) as they are
    python3 "$HELPER" attachment "$src" notes.txt >"$BATS_TEST_TMPDIR/att.2"
    tr -d '\r' <"$M_ATT/attachments/2/PidTagAttachDataBinary" >"$BATS_TEST_TMPDIR/att.2.lf"
    assert_same_bytes "$BATS_TEST_TMPDIR/att.2" "$BATS_TEST_TMPDIR/att.2.lf"
    printf 'Notes\r\n=====\r\n- item one\r\n- item two\r\n' >"$BATS_TEST_TMPDIR/att.2.crlf"
    assert_same_bytes "$BATS_TEST_TMPDIR/att.2.crlf" "$M_ATT/attachments/2/PidTagAttachDataBinary"
    assert_file_is "$M_ATT/attachments/2/PidTagAttachSize" 38
    # the PDF holds every byte value: really binary, no newline conversion
    [ "$(wc -c <"$M_ATT/attachments/0/PidTagAttachDataBinary")" -eq 353 ]
    head -c 8 "$M_ATT/attachments/0/PidTagAttachDataBinary" | grep -q '^%PDF-1.4'
}

@test "nested message/rfc822: PidTagAttachDataObject is a message object" {
    assert_file_is "$M_NESTED/attachments/0/PidTagAttachMethod" '5'
    assert_file_is "$M_NESTED/attachments/0/PidTagAttachMimeTag" 'message/rfc822'
    [ -d "$M_NESTED/attachments/0/PidTagAttachDataObject" ]
    assert_file_is "$M_NESTED/attachments/0/PidTagAttachDataObject/PidTagSubject" 'Team lunch'
    assert_file_is "$M_NESTED/attachments/0/PidTagAttachDataObject/PidTagMessageClass" 'IPM.Note'
    assert_file_is "$M_NESTED/attachments/0/PidTagAttachDataObject/PidTagSenderEmailAddress" 'carol@example.org'
    grep -q 'Team lunch is on <b>Thursday</b>' "$M_NESTED/attachments/0/PidTagAttachDataObject/PidTagHtml"
    assert_file_is "$M_NESTED/PidTagSubject" 'Fwd: Team lunch'
}

# ---------------------------------------------------------------------------
# the whole tree

@test "every message directory matches mapper-tool export of its file" {
    local n
    for n in "${SAMPLE_INBOX_NAMES[@]}"; do
        compare_with_mapper "$(sample_file "$n")" "$INBOX/$n"
    done
    compare_with_mapper "$(sample_file 1704103200.M8P1.archived "$SAMPLE_MD/.Archive.2024")" "$M_ARCH"
}

@test "grep -r finds a subject across the mount" {
    run grep -rlF -- 'Report with attachments' "$MNT"
    assert_success
    assert_line "$M_ATT/PidTagSubject"
    run grep -rlF -- 'Happy new year' "$MNT"
    assert_line "$M_ARCH/PidTagSubject"
}

@test "find lists files and every file can be read" {
    local n
    n=$(find "$MNT" -type f | wc -l)
    [ "$n" -gt 100 ] || fail "only $n files under the mount"
    run find "$MNT" -type f -exec cat {} +
    assert_success
    daemon_alive
}

@test "st_size of every file equals the bytes read (stat vs wc -c)" {
    local f bad=() s w
    while IFS= read -r -d '' f; do
        s=$(stat -c %s "$f")
        w=$(wc -c <"$f")
        [ "$s" -eq "$w" ] || bad+=("$f: stat $s, wc $w")
    done < <(find "$MNT" -type f -print0)
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}")"
    run python3 "$HELPER" sizes "$MNT"
    assert_success
}

@test "message.eml is the backing file byte for byte" {
    local n
    for n in "${SAMPLE_INBOX_NAMES[@]}"; do
        assert_same_bytes "$(sample_file "$n")" "$INBOX/$n/message.eml"
    done
    assert_same_bytes "$(sample_file 1704103200.M8P1.archived "$SAMPLE_MD/.Archive.2024")" "$M_ARCH/message.eml"
}

@test "st_mtime of a message directory and all its files is the backing file's" {
    local n src want f bad=()
    for n in "${SAMPLE_INBOX_NAMES[@]}"; do
        src=$(sample_file "$n")
        want=$(stat -c %Y "$src")
        while IFS= read -r -d '' f; do
            [ "$(stat -c %Y "$f")" = "$want" ] || bad+=("$f: $(stat -c %Y "$f") != $want")
        done < <(find "$INBOX/$n" -print0)
    done
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}" | head -30)"
}

# ---------------------------------------------------------------------------
# extended attributes

@test "property files carry user.mapi.tag and user.mapi.type" {
    assert_xattr_is "$M_PLAIN/PidTagSubject" user.mapi.tag 0x0037001F
    assert_xattr_is "$M_PLAIN/PidTagSubject" user.mapi.type PtypString
    assert_xattr_is "$M_PLAIN/PidTagMessageFlags" user.mapi.tag 0x0E070003
    assert_xattr_is "$M_PLAIN/PidTagMessageFlags" user.mapi.type PtypInteger32
    assert_xattr_is "$M_PLAIN/PidTagHasAttachments" user.mapi.tag 0x0E1B000B
    assert_xattr_is "$M_PLAIN/PidTagHasAttachments" user.mapi.type PtypBoolean
    assert_xattr_is "$M_PLAIN/PidTagClientSubmitTime" user.mapi.tag 0x00390040
    assert_xattr_is "$M_PLAIN/PidTagClientSubmitTime" user.mapi.type PtypTime
    assert_xattr_is "$M_PLAIN/recipients/0/PidTagRecipientType" user.mapi.tag 0x0C150003
    assert_xattr_is "$M_ATT/attachments/0/PidTagAttachDataBinary" user.mapi.tag 0x37010102
    assert_xattr_is "$M_ATT/attachments/0/PidTagAttachDataBinary" user.mapi.type PtypBinary
    assert_xattr_is "$M_NESTED/attachments/0/PidTagAttachDataObject/PidTagSubject" user.mapi.tag 0x0037001F
    # a named property: PS_INTERNET_HEADERS string, tag in the named range
    assert_xattr_is "$M_ALT/PS_INTERNET_HEADERS/X-Mailer" user.mapi.type PtypString
    run xattr "$M_ALT/PS_INTERNET_HEADERS/X-Mailer" user.mapi.tag
    assert_success
    assert_output --regexp '^0x[89A-F][0-9A-F]{3}001F$'
}

@test "every property file has user.mapi.tag and user.mapi.type (listxattr too)" {
    local f bad=() names
    while IFS= read -r -d '' f; do
        # message.eml, info, body.rtf and hashes are the files that are no property
        [[ ${f##*/} == @(message.eml|info|body.rtf|hashes) ]] && continue
        names=$(getfattr -d -m - --absolute-names "$f" 2>/dev/null)
        [[ $names == *user.mapi.tag=* && $names == *user.mapi.type=* ]] || bad+=("$f")
    done < <(find "$M_PLAIN" "$M_ATT" "$M_NESTED" -type f -print0)
    ((${#bad[@]} == 0)) || fail "without user.mapi.tag/type in getfattr -d: $(printf '%s\n' "${bad[@]}" | head -20)"
}

@test "user.mapi.tag agrees with the file name (canonical name or 0xNNNNNNNN)" {
    local f name tag bad=()
    while IFS= read -r -d '' f; do
        name=${f##*/}
        [[ $name == @(message.eml|info|body.rtf|hashes) ]] && continue
        [[ $f == */PS_INTERNET_HEADERS/* ]] && continue
        tag=$(xattr "$f" user.mapi.tag 2>/dev/null) || { bad+=("$f: no user.mapi.tag"); continue; }
        [[ $tag =~ ^0x[0-9A-F]{8}$ ]] || bad+=("$f: malformed tag '$tag'")
        if [[ $name == 0x* ]]; then
            [[ $name == "$tag" ]] || bad+=("$f: tag $tag")
        fi
    done < <(find "$M_PLAIN" "$M_ALT" "$M_ATT" -type f -print0)
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}" | head -20)"
}

@test "message directories carry user.mapifs.source and user.mapifs.sha256" {
    local n src rel
    for n in "${SAMPLE_INBOX_NAMES[@]}"; do
        src=$(sample_file "$n")
        rel=${src#"$SAMPLE_MD"/}
        assert_xattr_is "$INBOX/$n" user.mapifs.source "$rel"
        assert_xattr_is "$INBOX/$n" user.mapifs.sha256 "$(sha256sum <"$src" | cut -d' ' -f1)"
    done
    assert_xattr_is "$M_PLAIN" user.mapifs.source 'cur/1700000001.M1P1.plain:2,S'
    assert_xattr_is "$M_ATT" user.mapifs.source 'new/1700000003.M3P1.attachments'
    src=$(sample_file 1704103200.M8P1.archived "$SAMPLE_MD/.Archive.2024")
    assert_xattr_is "$M_ARCH" user.mapifs.source '.Archive.2024/cur/1704103200.M8P1.archived:2,RS'
    assert_xattr_is "$M_ARCH" user.mapifs.sha256 "$(sha256sum <"$src" | cut -d' ' -f1)"
}

@test "a missing xattr is ENODATA, not an error of the mount" {
    run getfattr -n user.no.such.attr "$M_PLAIN/PidTagSubject"
    assert_failure
    assert_output --partial 'No such attribute'
    daemon_alive
}

@test "concurrent readers all get the same bytes" {
    local i pids=()
    (cd "$MNT" && find . -type f -exec sha256sum {} + | LC_ALL=C sort) >"$BATS_TEST_TMPDIR/sums.0"
    for i in 1 2 3 4; do
        (cd "$MNT" && find . -type f -exec sha256sum {} + | LC_ALL=C sort) >"$BATS_TEST_TMPDIR/sums.$i" 3>&- &
        pids+=($!)
    done
    # not a bare "wait": the daemon is a background job of this shell too
    for i in "${pids[@]}"; do
        wait "$i" || fail "a concurrent reader failed"
    done
    for i in 1 2 3 4; do
        run diff "$BATS_TEST_TMPDIR/sums.0" "$BATS_TEST_TMPDIR/sums.$i"
        assert_success
    done
    daemon_alive
}
