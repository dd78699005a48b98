#!/usr/bin/env bats
# A directory tree of .eml files as SOURCE (design.md section 2): directories
# are folders, each X.eml is the message directory X.

load common

setup() {
    mount_mapifs "$SAMPLE_EML"
}

@test "eml tree: directories are folders" {
    run ls -A "$MNT"
    assert_success
    assert_line inbox
    assert_line projects
    refute_line INBOX
    run bash -c 'ls -A "$1" | grep -vx -e inbox -e projects -e certificates -e duplicates -e timeline.body' _ "$MNT"
    assert_output ''
    run ls -A "$MNT/projects"
    assert_output x
    [ -d "$MNT/inbox" ] && [ -d "$MNT/projects/x" ]
}

@test "eml tree: each X.eml is a message directory X" {
    run ls -A "$MNT/inbox"
    assert_output "$(printf 'hello\nsigned')"
    run ls -A "$MNT/projects/x"
    assert_output report
    [ -d "$MNT/inbox/hello" ] && [ -d "$MNT/inbox/signed" ] && [ -d "$MNT/projects/x/report" ]
    run stat "$MNT/inbox/hello.eml"
    assert_failure
}

@test "eml tree: properties of the messages" {
    assert_file_is "$MNT/inbox/hello/PidTagSubject" 'Grüße aus Köln'
    assert_file_is "$MNT/inbox/hello/PidTagMessageClass" 'IPM.Note'
    assert_file_is "$MNT/inbox/signed/PidTagMessageClass" 'IPM.Note.SMIME.MultipartSigned'
    assert_file_is "$MNT/projects/x/report/PidTagSubject" 'Report with attachments'
    assert_file_is "$MNT/projects/x/report/attachments/0/PidTagAttachLongFilename" 'übersicht.pdf'
    assert_file_is "$MNT/projects/x/report/attachments/1/PidTagAttachLongFilename" 'Straße.png'
    python3 "$HELPER" attachment "$SAMPLE_EML/projects/x/report.eml" 'übersicht.pdf' >"$BATS_TEST_TMPDIR/pdf"
    assert_same_bytes "$BATS_TEST_TMPDIR/pdf" "$MNT/projects/x/report/attachments/0/PidTagAttachDataBinary"
    assert_file_is "$MNT/inbox/hello/recipients/2/PidTagSmtpAddress" 'carol@example.org'
}

@test "eml tree: the signed attachment verifies" {
    run openssl smime -verify -CAfile "$PKI/ca.pem" \
        -in "$MNT/inbox/signed/attachments/0/PidTagAttachDataBinary" -out /dev/null
    assert_success
}

@test "eml tree: message.eml is the .eml file byte for byte" {
    assert_same_bytes "$SAMPLE_EML/inbox/hello.eml" "$MNT/inbox/hello/message.eml"
    assert_same_bytes "$SAMPLE_EML/inbox/signed.eml" "$MNT/inbox/signed/message.eml"
    assert_same_bytes "$SAMPLE_EML/projects/x/report.eml" "$MNT/projects/x/report/message.eml"
}

@test "eml tree: user.mapifs.source is the path relative to SOURCE; sha256 matches" {
    local rel
    for rel in inbox/hello inbox/signed projects/x/report; do
        assert_xattr_is "$MNT/$rel" user.mapifs.source "$rel.eml"
        assert_xattr_is "$MNT/$rel" user.mapifs.sha256 \
            "$(sha256sum <"$SAMPLE_EML/$rel.eml" | cut -d' ' -f1)"
    done
    assert_xattr_is "$MNT/inbox/hello/PidTagSubject" user.mapi.tag 0x0037001F
    assert_xattr_is "$MNT/inbox/hello/PidTagSubject" user.mapi.type PtypString
}

@test "eml tree: sizes exact, mtimes are the .eml file's, everything readable" {
    run python3 "$HELPER" sizes "$MNT"
    assert_success
    local rel want f bad=()
    for rel in inbox/hello inbox/signed projects/x/report; do
        want=$(stat -c %Y "$SAMPLE_EML/$rel.eml")
        while IFS= read -r -d '' f; do
            [ "$(stat -c %Y "$f")" = "$want" ] || bad+=("$f")
        done < <(find "$MNT/$rel" -print0)
    done
    ((${#bad[@]} == 0)) || fail "mtime differs from the .eml file: $(printf '%s\n' "${bad[@]}" | head -20)"
    run find "$MNT" -type f -exec cat {} +
    assert_success
}

@test "eml tree: the same message gives the same properties as in the Maildir" {
    # hello.eml is a copy of Maildir message 1: compare what the mapper makes
    # of the file (no Maildir flags in a tree of .eml files, so leave the
    # flag-derived properties out)
    require_mapper_tool
    local f name bad=()
    for f in "$MNT/inbox/hello"/PidTag*; do
        name=${f##*/}
        case $name in
            PidTagMessageFlags | PidTagRead | PidTagFlagStatus | PidTagFollowupIcon | \
                PidTagMessageStatus | PidTagIconIndex | PidTagLastVerb* | PidTagMessageDeliveryTime) continue ;;
        esac
        cmp -s "$f" <("$MAPPER_TOOL" cat "$SAMPLE_EML/inbox/hello.eml" "$name") || bad+=("$name")
    done
    ((${#bad[@]} == 0)) || fail "differs from mapper-tool: ${bad[*]}"
}
