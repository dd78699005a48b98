#!/usr/bin/env bats
# Issue 14, "export that scales out": mapper-tool export --jsonl SOURCE
# [FOLDER...] writes one JSON object a line per message object of a Maildir
# or a tree of .eml files.  The oracle is the mount of the same source with
# the same S/MIME options: export_jsonl.py parses every line with Python's
# json and compares each record with the mount's files (every property
# file's bytes and xattrs, recipient and attachment rows, attachment names,
# sizes, media types and hashes by hashlib, smime/, source and hashes of
# message.eml), and the records with the mount's message directories.
# Also: --list-folders and FOLDER arguments split the work without loss or
# overlap, symbolic links are not followed, a message that cannot be read
# is an "error" record (exit 3) and the others still come, the source is
# left as it was, and the usage errors and exit statuses of mapper-tool(1).

load common

CHECK="$BATS_TEST_DIRNAME/export_jsonl.py"

setup() {
    require_mapper_tool
}

# export_ok OUT ARG...: mapper-tool export --jsonl ARG... > OUT, exit 0
export_ok() {
    local out=$1
    shift
    "$MAPPER_TOOL" export --jsonl "$@" >"$out" 2>"$BATS_TEST_TMPDIR/export.err" \
        || fail "mapper-tool export --jsonl $* exited $?: $(cat "$BATS_TEST_TMPDIR/export.err")"
}

# check_against_mount JSONL [FOLDER...]: the oracle, against $MNT; its
# summary line in CHECKED
check_against_mount() {
    run python3 "$CHECK" check "$1" "$MNT" "${@:2}"
    if ((status != 0)); then
        fail "export_jsonl.py found differences:"$'\n'"$output"
    fi
    CHECKED=${lines[-1]}
}

# count NAME: the number after NAME in CHECKED
count() {
    local re="(^| )$1 ([0-9]+)"
    [[ $CHECKED =~ $re ]] || fail "no count $1 in '$CHECKED'"
    echo "${BASH_REMATCH[2]}"
}

sample_crypto=(--ca "$PKI/ca.pem" --key "$PKI/bob.key" --cert "$PKI/bob.pem")

@test "the sample Maildir: every line is JSON and agrees with the mount, S/MIME decrypted with bob's key" {
    local out=$BATS_TEST_TMPDIR/sample.jsonl
    mount_mapifs "$SAMPLE_MD" -o ro "${sample_crypto[@]}"
    export_ok "$out" "${sample_crypto[@]}" "$SAMPLE_MD"
    assert_equal "$(wc -l <"$out")" 8
    check_against_mount "$out"
    assert_equal "$(count messages)" 8
    (($(count attachments) >= 7 && $(count named) >= 6 && $(count embedded) >= 1)) \
        || fail "too little was compared: $CHECKED"
    # signed (good with the CA), opaque-signed and encrypted, which bob's key opens
    assert_equal "$(count smime)" 3
    python3 - "$out" <<'PY'
import json, sys
recs = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
assert recs["1700000004.M4P1.signed"]["smime"]["status"] == "good", recs["1700000004.M4P1.signed"]["smime"]
enc = recs["1700000006.M6P1.encrypted"]["smime"]
assert "content" in enc and enc["content"]["properties"]["PidTagBody"]["value"], enc.keys()
assert recs["1700000001.M1P1.plain"]["folder"] == "INBOX"
assert recs["1704103200.M8P1.archived"]["folder"] == "Archive.2024"
imp = recs["1700000001.M1P1.plain"]["properties"]["PidTagImportance"]
assert imp["type"] == "PtypInteger32" and isinstance(imp["value"], int), imp
PY
    unmount_mapifs
}

@test "a tree of .eml files agrees with its mount" {
    local out=$BATS_TEST_TMPDIR/eml.jsonl
    mount_mapifs "$SAMPLE_EML" -o ro
    export_ok "$out" "$SAMPLE_EML"
    check_against_mount "$out"
    assert_equal "$(count messages)" 3
    run python3 -c 'import json, sys; print(sorted(json.loads(l)["folder"] + "/" + json.loads(l)["name"] for l in open(sys.argv[1])))' "$out"
    assert_output "['inbox/hello', 'inbox/signed', 'projects/x/report']"
    unmount_mapifs
}

@test "attachments: one left in a 6 MiB message file, one name twice, an empty one, binary data, an embedded message; a name not in UTF-8" {
    local md=$BATS_TEST_TMPDIR/att out=$BATS_TEST_TMPDIR/att.jsonl
    mkdir -p "$md/cur" "$md/new" "$md/tmp"
    python3 - "$md" "$BATS_TEST_TMPDIR/big.sha256" <<'PY'
import sys, os, hashlib, email.message
md = sys.argv[1]
def msg(subject):
    m = email.message.EmailMessage()
    m["From"] = "Ann <ann@example.org>"; m["To"] = "Bo <bo@example.org>, cy@example.org"
    m["Cc"] = "Dee <dee@example.org>"; m["Subject"] = subject
    m["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"; m["Message-ID"] = "<%s@example.org>" % subject
    m["Received"] = "from mx.example.org by mail.example.org with ESMTP id 7; Mon, 01 Jan 2024 10:00:09 +0000"
    m.set_content("see the attachments\n")
    return m
big = os.urandom(6 * 1024 * 1024 + 123)
m = msg("big")
m.add_attachment(big, maintype="application", subtype="octet-stream", filename="big.bin")
open(md + "/cur/1700000100.M1P1.big:2,S", "wb").write(bytes(m))
open(sys.argv[2], "w").write(hashlib.sha256(big).hexdigest() + "\n")
m = msg("many")
m.add_attachment(b"first\n", maintype="text", subtype="plain", filename="a.txt")
m.add_attachment(b"second\n", maintype="text", subtype="plain", filename="a.txt")
m.add_attachment(b"", maintype="application", subtype="octet-stream", filename="empty.dat")
m.add_attachment(bytes(range(256)) * 4, maintype="image", subtype="png", filename="bytes.png")
inner = msg("inner")
inner.add_attachment(b"inner data\n", maintype="text", subtype="csv", filename="inner.csv")
m.add_attachment(inner)
open(md + "/cur/1700000101.M2P1.many,S=1234:2,RS", "wb").write(bytes(m))
# a file name that is not UTF-8
open(os.fsencode(md) + b"/new/1700000102.M3P1.caf\xe9", "wb").write(bytes(msg("latin1")))
PY
    mount_mapifs "$md" -o ro
    export_ok "$out" "$md"
    check_against_mount "$out"
    assert_equal "$(count messages)" 3
    (($(count attachments) >= 7 && $(count named) >= 6 && $(count embedded) == 1)) \
        || fail "too little was compared: $CHECKED"
    # the big attachment's hash, by Python from the bytes it attached
    python3 - "$out" "$(cat "$BATS_TEST_TMPDIR/big.sha256")" <<'PY'
import json, sys
recs = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
att = recs["1700000100.M1P1.big"]["attachments"][0]
assert att["sha256"] == sys.argv[2] and att["size"] == 6 * 1024 * 1024 + 123, att
# Dovecot's ,S= field is not part of the name, as in the mount
many = recs["1700000101.M2P1.many"]
assert many["flags"] == "RS" and many["source"] == "cur/1700000101.M2P1.many,S=1234:2,RS", many["source"]
assert [a.get("name") for a in many["attachments"][:3]] == ["a.txt", "a (2).txt", "empty.dat"], many["attachments"]
latin = recs["1700000102.M3P1.caf\ufffd"]
assert latin["name_base64"] == "MTcwMDAwMDEwMi5NM1AxLmNhZuk=" and latin["source"] == "new/1700000102.M3P1.caf\ufffd", latin
PY
    unmount_mapifs
}

# make_layout DIR: the sample Maildir plus nested Maildirs in plain
# directories (mbsync's layout), a directory that holds no mail, and a
# second Maildir++ folder
make_layout() {
    local md=$1
    copy_sample "$BATS_TEST_TMPDIR/layout"
    mv "$BATS_TEST_TMPDIR/layout/Maildir" "$md"
    mkdir -p "$md/lists/linux/cur" "$md/lists/linux/new" "$md/.notmuch/xapian" "$md/.Sent/cur" "$md/photos"
    cp "$(sample_file 1700000001.M1P1.plain "$md")" "$md/lists/linux/cur/1700000201.M1P1.list:2,S"
    cp "$(sample_file 1700000002.M2P1.alternative "$md")" "$md/.Sent/cur/1700000202.M2P1.sent:2,S"
    echo not mail >"$md/photos/cat.jpg"
}

@test "--list-folders and FOLDER arguments split the export into parts that make the whole" {
    local md=$BATS_TEST_TMPDIR/md all=$BATS_TEST_TMPDIR/all.jsonl parts=$BATS_TEST_TMPDIR/parts.jsonl
    make_layout "$md"
    run "$MAPPER_TOOL" export --jsonl --list-folders "$md"
    assert_success
    assert_equal "$(printf '%s\n' "${lines[@]}" | LC_ALL=C sort)" "$(printf '%s\n' Archive.2024 INBOX Sent lists/linux)"
    export_ok "$all" "$md"
    mount_mapifs "$md" -o ro
    check_against_mount "$all"
    assert_equal "$(count messages)" 10
    # two at a time, one folder each into a file of its own, as the README
    # has it for a pipeline
    mkdir "$BATS_TEST_TMPDIR/parts"
    "$MAPPER_TOOL" export --jsonl --list-folders "$md" \
        | xargs -d '\n' -P 2 -I{} sh -c 'exec "$1" export --jsonl "$2" "$3" >"$4/$(printf %s "$3" | tr / _).jsonl"' \
            sh "$MAPPER_TOOL" "$md" {} "$BATS_TEST_TMPDIR/parts" \
        || fail "the export by folders failed"
    cat "$BATS_TEST_TMPDIR"/parts/*.jsonl >"$parts"
    diff <(LC_ALL=C sort "$all" | cut -c1-300) <(LC_ALL=C sort "$parts" | cut -c1-300) \
        || fail "the parts are not the whole"
    cmp <(LC_ALL=C sort "$all") <(LC_ALL=C sort "$parts") || fail "the parts are not the whole"
    assert_equal "$(ls "$BATS_TEST_TMPDIR/parts")" "$(printf '%s\n' Archive.2024.jsonl INBOX.jsonl Sent.jsonl lists_linux.jsonl)"
    # some folders only, and only their own messages (not those below)
    export_ok "$parts" "$md" lists/linux Sent/
    check_against_mount "$parts" lists/linux Sent
    assert_equal "$(count messages)" 2
    run "$MAPPER_TOOL" export --jsonl "$md" lists
    assert_success
    assert_output ""
    unmount_mapifs
    run "$MAPPER_TOOL" export --jsonl "$md" INBOX Nope
    assert_failure 1
    assert_line --partial "no folder Nope"
    assert_line --partial '"folder":"INBOX"'
}

@test "symbolic links in the source are not followed, as the mount does not follow them" {
    local src=$BATS_TEST_TMPDIR/src out=$BATS_TEST_TMPDIR/links.jsonl outside=$BATS_TEST_TMPDIR/outside
    copy_sample "$src"
    mkdir -p "$outside/Maildir/cur" "$outside/Maildir/new" "$outside/eml"
    printf 'From: m@example.org\r\nSubject: SECRET-46\r\n\r\nSECRET-46 body\r\n' >"$outside/secret.eml"
    cp "$outside/secret.eml" "$outside/Maildir/cur/1800000001.M1P1.secret:2,S"
    cp "$outside/secret.eml" "$outside/eml/secret.eml"
    ln -s "$outside/secret.eml" "$src/Maildir/cur/1800000002.M2P1.link:2,S"
    ln -s "$outside/Maildir" "$src/Maildir/.Linked"
    ln -s "$outside/eml" "$src/eml-tree/linked"
    ln -s "$outside/secret.eml" "$src/eml-tree/inbox/link.eml"
    export_ok "$out" "$src/Maildir"
    grep -q "1800000002.M2P1.link:2,S: a symbolic link, not followed" "$BATS_TEST_TMPDIR/export.err" \
        || fail "no note on the symlinked message: $(cat "$BATS_TEST_TMPDIR/export.err")"
    grep -q "\.Linked: a symbolic link, not followed" "$BATS_TEST_TMPDIR/export.err" \
        || fail "no note on the symlinked folder: $(cat "$BATS_TEST_TMPDIR/export.err")"
    export_ok "$BATS_TEST_TMPDIR/eml.jsonl" "$src/eml-tree"
    ! grep -q SECRET-46 "$out" "$BATS_TEST_TMPDIR/eml.jsonl" || fail "a symlink's target was exported"
    assert_equal "$(wc -l <"$out")" 8
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/eml.jsonl")" 3
    mount_mapifs "$src/Maildir" -o ro
    check_against_mount "$out"
    unmount_mapifs
    mount_mapifs "$src/eml-tree" -o ro
    check_against_mount "$BATS_TEST_TMPDIR/eml.jsonl"
    unmount_mapifs
}

@test "a message that cannot be read is an error record and exit status 3; the others are exported" {
    require_second_user
    shared_tmpdir
    local d=$SHARED_DIR tool py out
    copy_sample "$d/s"
    chown -R "$NOBODY_UID:$NOBODY_GID" "$d/s"
    local secret
    secret=$(sample_file 1700000002.M2P1.alternative "$d/s/Maildir")
    chown root:root "$secret"
    chmod 600 "$secret"
    tool=$(nobody_path "$MAPPER_TOOL" "$d") || missing_prerequisite "nobody cannot run $MAPPER_TOOL"
    run --separate-stderr as_nobody "$tool" export --jsonl "$d/s/Maildir"
    assert_failure 3
    [[ $stderr == *"cur/${secret##*/}: Permission denied"* ]] || fail "no note on stderr: $stderr"
    out=$BATS_TEST_TMPDIR/errors.jsonl
    printf '%s\n' "$output" >"$out"
    python3 - "$out" "${secret##*/}" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
errors = [r for r in recs if "error" in r]
assert errors == [{"folder": "INBOX", "name": "1700000002.M2P1.alternative",
                   "source": "cur/" + sys.argv[2], "error": "Permission denied"}], errors
assert len(recs) == 8 and all("properties" in r for r in recs if "error" not in r), len(recs)
PY
}

@test "the export changes nothing in the source: names, bytes, modes, mtimes, and the files' atimes" {
    local src=$BATS_TEST_TMPDIR/src
    copy_sample "$src"
    make_layout "$src/md"
    find "$src" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >"$BATS_TEST_TMPDIR/sums"
    # times in the past, so that a read that touched them would show (the
    # directories' atimes are not compared: find itself reads them)
    find "$src" -exec touch -h -d '2020-01-01 00:00:00' {} +
    snapshot() {
        find "$src" -printf '%P %y %s %m %T@\n' | LC_ALL=C sort
        find "$src" -type f -printf '%P %A@\n' | LC_ALL=C sort
    }
    snapshot >"$BATS_TEST_TMPDIR/before"
    export_ok /dev/null "${sample_crypto[@]}" "$src/Maildir"
    export_ok /dev/null "$src/md"
    export_ok /dev/null "$src/eml-tree"
    "$MAPPER_TOOL" export --jsonl --list-folders "$src/md" >/dev/null
    snapshot >"$BATS_TEST_TMPDIR/after"
    diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after" || fail "the source changed"
    sha256sum --quiet -c "$BATS_TEST_TMPDIR/sums" || fail "a file's bytes changed"
}

@test "usage errors, an unreadable source, one .eml file, and export FILE DIR as before" {
    run "$MAPPER_TOOL" export --jsonl
    assert_failure 2
    run "$MAPPER_TOOL" export --jsonl --flags S "$SAMPLE_MD"
    assert_failure 2
    run "$MAPPER_TOOL" export --list-folders "$SAMPLE_MD"
    assert_failure 2
    run "$MAPPER_TOOL" export --jsonl "$BATS_TEST_TMPDIR/nothing-here"
    assert_failure 1
    assert_output --partial "nothing-here"
    run "$MAPPER_TOOL" export --jsonl --ca "$BATS_TEST_TMPDIR/no-ca.pem" "$SAMPLE_MD"
    assert_failure 1
    run "$MAPPER_TOOL" --help
    assert_output --partial "export --jsonl"
    # one file: one record, in folder "." under its stem
    run --separate-stderr "$MAPPER_TOOL" export --jsonl "$SAMPLE_EML/inbox/hello.eml"
    assert_success
    python3 -c 'import json, sys; r = json.loads(sys.argv[1]); assert (r["folder"], r["name"], r["source"]) == (".", "hello", "hello.eml"), r' "$output"
    # the one-message form is unchanged, and agrees with the record
    local f
    f=$(sample_file 1700000001.M1P1.plain)
    "$MAPPER_TOOL" export --flags S "$f" "$BATS_TEST_TMPDIR/one" || fail "export FILE DIR failed"
    run --separate-stderr "$MAPPER_TOOL" export --jsonl "$SAMPLE_MD" INBOX
    assert_success
    printf '%s\n' "$output" | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin if "M1P1.plain" in l][0]
want = open(sys.argv[1], encoding="utf-8").read()
assert r["properties"]["PidTagSubject"]["value"] + "\n" == want, (r["properties"]["PidTagSubject"], want)' \
        "$BATS_TEST_TMPDIR/one/PidTagSubject"
}
