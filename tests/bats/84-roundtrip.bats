#!/usr/bin/env bats
# Round trip of the writer (issue 3): "mapper-tool rebuild FILE" (the
# Internet format rebuilt from the unedited object of FILE) has the same
# header fields with the same decoded values, the same MIME structure and
# byte-identical protected content, for every message of the sample and of
# the external corpus.  roundtrip.py does the comparison with python3's email
# package; its own checks are tested first with rebuilders that cheat.
# The "edit round trip" tests then write a Subject to every message through
# a mount and check that nothing else of it changed (a rebuild of an unedited
# object can be a plain copy; an edited one cannot).

load common
load write_common

setup_file() {
    build_sample
    CORPUS_MD=$BATS_FILE_TMPDIR/corpus-maildir
    export CORPUS_MD
    # without the corpus, require_corpus skips its tests (fails them with CI=true)
    corpus_present || return 0
    local rc=0
    python3 "$SOURCE_ROOT/tests/corpus/corpus.py" maildir "$CORPUS_DIR" "$CORPUS_MD" \
        >"$BATS_FILE_TMPDIR/corpus.out" 2>"$BATS_FILE_TMPDIR/corpus.err" || rc=$?
    if ((rc != 0)); then
        cat "$BATS_FILE_TMPDIR/corpus.out" "$BATS_FILE_TMPDIR/corpus.err" >&2
        fail "tests/corpus/corpus.py maildir $CORPUS_DIR failed with status $rc"
    elif [[ ! -s $CORPUS_MD/expected.tsv ]]; then
        fail "corpus.py wrote no $CORPUS_MD/expected.tsv"
    fi
}

RT="$BATS_TEST_DIRNAME/roundtrip.py"

# fake_tool NAME PYTHON-EXPR: a "mapper-tool" whose rebuild prints
# PYTHON-EXPR applied to the bytes d of the file.
fake_tool() {
    local t=$BATS_TEST_TMPDIR/$1
    cat >"$t" <<EOF
#!/usr/bin/env python3
import re, sys
assert sys.argv[1] == "rebuild"
d = open(sys.argv[2], "rb").read()
sys.stdout.buffer.write($2)
EOF
    chmod +x "$t"
    printf '%s\n' "$t"
}

@test "roundtrip.py: an exact rebuild passes, every kind of damage is reported" {
    local t
    t=$(fake_tool same 'd')
    run python3 "$RT" --tool "$t" "$SAMPLE_MD" "$SAMPLE_EML"
    assert_success
    assert_line 'roundtrip: 11 messages, 11 round-trip, 0 fail (rebuild 0, fields 0, values 0, structure 0, content 0, protected 0); 0 with a known difference'

    # a different folding and new boundaries are not differences
    t=$(fake_tool refold 'd.replace(b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus", b"Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n aus").replace(b"mixed-boundary-3", b"xyz-4")')
    run python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_success

    t=$(fake_tool subject 're.sub(rb"(?m)^Subject: Report with attachments", b"Subject: Report", d)')
    run -1 python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_line --regexp "^FAIL .*1700000003\.M3P1\.attachments \[plain\]: subject: 'Report with attachments' != 'Report'\$"
    assert_line --partial '8 messages, 7 round-trip, 1 fail (rebuild 0, fields 0, values 1,'

    t=$(fake_tool dropid 're.sub(rb"(?m)^Message-ID: .*\r\n", b"", d)')
    run -1 python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_line --regexp "^FAIL .*1700000001\.M1P1\.plain[^ ]* \[plain\]: header fields missing \['message-id'\], extra \[\]\$"
    assert_line --partial '8 messages, 0 round-trip, 8 fail (rebuild 0, fields 8,'

    t=$(fake_tool tree 'd.replace(b"multipart/alternative;", b"multipart/related;")')
    run -1 python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_line --regexp "^FAIL .*alternative[^ ]* \[plain\]: .*MIME tree multipart/alternative\|text/plain\|text/html != multipart/related"

    # one byte of the signed entity (in its preamble), one of the CMS blob
    t=$(fake_tool smime 'd.replace(b"This is an S/MIME signed message", b"This is an S/MIME signed messagE").replace(b"\r\nMIIK", b"\r\nMIIL", 1)')
    run -1 python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_line --regexp "^FAIL .*signed[^ ]* \[clear-signed\]: multipart/signed entity differs"
    assert_line --regexp "^FAIL .*opaque[^ ]* \[opaque\]: .*decoded CMS payload differs"
    assert_line --partial 'protected 2)'

    t=$(fake_tool body 'd.replace(b"Hallo Bob", b"Hello Bob")')
    run -1 python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_line --regexp "^FAIL .*plain[^ ]* \[plain\]: decoded content of MIME leaf 0 \(text/plain\) differs\$"
    assert_line --partial 'content 1,'

    t=$(fake_tool broken 'sys.exit(3)')
    run -1 python3 "$RT" --tool "$t" "$SAMPLE_MD"
    assert_line --partial 'rebuild exit status 3'
    assert_line --partial '8 messages, 0 round-trip, 8 fail (rebuild 8,'
}

@test "round trip: every message of the sample Maildir and eml tree" {
    require_mapper_tool
    run python3 "$RT" --tool "$MAPPER_TOOL" "$SAMPLE_MD" "$SAMPLE_EML"
    echo "$output" | tail -1 | sed 's/^/# /' >&3
    ((status == 0)) || fail "$output"
    assert_line 'roundtrip: 11 messages, 11 round-trip, 0 fail (rebuild 0, fields 0, values 0, structure 0, content 0, protected 0); 0 with a known difference'
}

@test "round trip: every message of the corpus (../shared/corpus)" {
    require_corpus
    require_mapper_tool
    local n
    n=$(wc -l <"$CORPUS_MD/expected.tsv")
    run timeout 600 python3 "$RT" --tool "$MAPPER_TOOL" --labels "$CORPUS_MD/expected.tsv" "$CORPUS_MD"
    echo "$output" | tail -1 | sed 's/^/# /' >&3
    ((status == 0)) || fail "$(
        echo "$output" | grep -c '^FAIL' | sed 's/$/ messages do not round-trip:/'
        echo "$output" | head -80
        echo ...
        echo "$output" | grep -v '^FAIL'
    )"
    assert_line --regexp "^roundtrip: $n messages, $n round-trip, 0 fail \\(rebuild 0, fields 0, values 0, structure 0, content 0, protected 0\\); [0-9]+ with a known difference\$"
    # the only known difference: opaque messages sent without a
    # Content-Disposition gain one (MS-OXOSMIME 3.1.5.2.4 step 5)
    grep '^KNOWN' <<<"$output" | sed 's/^/# /' >&3
    local others
    others=$(grep '^KNOWN' <<<"$output" |
        grep -vc 'Content-Disposition added (MS-OXOSMIME 3.1.5.2.4 step 5)$' || true)
    assert_equal "$others" 0
}

# edit_all MAILDIR LIST: mount MAILDIR, write "Round trip <unique>" to the
# PidTagSubject of every message named in LIST (one "folder/unique" a line),
# unmount.
edit_all() {
    local md=$1 list=$2
    mount_mapifs "$md"
    awk -v m="$MNT" '{ u = $0; sub(/.*\//, "", u); printf "%s/%s/PidTagSubject\tRound trip %s\n", m, $0, u }' \
        "$list" >"$BATS_TEST_TMPDIR/writes"
    run python3 "$WH" write-each "$BATS_TEST_TMPDIR/writes"
    echo "# ${lines[-1]}" >&3
    ((status == 0)) || { show_log | tail -30; fail "$(echo "$output" | head -40)"; }
    unmount_mapifs
}

@test "edit round trip: a Subject written to every sample message changes nothing else" {
    copy_sample "$BATS_TEST_TMPDIR/src"
    { printf 'INBOX/%s\n' "${SAMPLE_INBOX_NAMES[@]}"; printf 'Archive.2024/%s\n' "${SAMPLE_ARCHIVE_NAMES[@]}"; } \
        >"$BATS_TEST_TMPDIR/list"
    edit_all "$BATS_TEST_TMPDIR/src/Maildir" "$BATS_TEST_TMPDIR/list"
    run python3 "$RT" --against "$BATS_TEST_TMPDIR/src/Maildir" --ignore Subject \
        --expect 'Subject=Round trip {unique}' "$SAMPLE_MD"
    echo "$output" | tail -1 | sed 's/^/# /' >&3
    ((status == 0)) || fail "$output"
    assert_line --regexp '^roundtrip: 8 messages, 8 round-trip, 0 fail '
    # and the signatures still verify, the encrypted one still decrypts
    local pki=$BATS_TEST_TMPDIR/src/pki md=$BATS_TEST_TMPDIR/src/Maildir
    openssl smime -verify -CAfile "$pki/ca.pem" -in "$md/cur/1700000004.M4P1.signed:2,S" -out /dev/null
    openssl smime -verify -CAfile "$pki/ca.pem" -in "$md/cur/1700000005.M5P1.opaque:2,S" -out /dev/null
    openssl smime -decrypt -inkey "$pki/bob.key" -recip "$pki/bob.pem" -in "$md/cur/1700000006.M6P1.encrypted:2," -out /dev/null
}

@test "edit round trip: a Subject written to every corpus message changes nothing else" {
    require_corpus
    local md=$BATS_TEST_TMPDIR/corpus-edit n
    cp -a "$CORPUS_MD" "$md"
    cut -f1 "$CORPUS_MD/expected.tsv" | sed 's|^|INBOX/|' >"$BATS_TEST_TMPDIR/list"
    n=$(wc -l <"$BATS_TEST_TMPDIR/list")
    edit_all "$md" "$BATS_TEST_TMPDIR/list"
    run timeout 600 python3 "$RT" --against "$md" --ignore Subject --expect 'Subject=Round trip {unique}' \
        --labels "$CORPUS_MD/expected.tsv" "$CORPUS_MD"
    echo "$output" | tail -1 | sed 's/^/# /' >&3
    ((status == 0)) || fail "$(
        echo "$output" | grep -c '^FAIL' | sed 's/$/ messages changed more than their Subject:/'
        echo "$output" | grep -v '^KNOWN' | head -80
    )"
    assert_line --regexp "^roundtrip: $n messages, $n round-trip, 0 fail "
}
