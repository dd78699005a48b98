#!/usr/bin/env bats
# Bodies (issue 12; MS-OXCMAIL 2.2.3.3.2, MS-OXBBODY 2.1.3): every message
# with a text body shows PidTagBody.  Beside an HTML body it is the
# text/plain alternative (as Python's email package reads it); without one
# it is the HTML's text, which must read as `w3m -dump` renders the same HTML
# (compared with white space normalised).  The same holds in smime/content/
# and in embedded messages, and edits keep the two forms in step.

load common

setup() {
    command -v w3m >/dev/null || missing_prerequisite "w3m (Debian: w3m)"
    SRC=$BATS_TEST_TMPDIR/src
    MD=$SRC/Maildir
    python3 "$BATS_TEST_DIRNAME/bodies.py" make "$MD"
}

# msg NAME: the message directory of fixture NAME in the mount.
msg() {
    local d
    d=$(cd "$MNT/INBOX" && ls -d ./*."$1") || fail "no message $1 in the mount"
    printf '%s\n' "$MNT/INBOX/${d#./}"
}

# file_of NAME: the fixture's file in the Maildir.
file_of() {
    ls "$MD"/cur/*."$1":2,*
}

# same_html EXPECTED DIR: DIR/PidTagHtml holds the HTML bytes of the part,
# line ends aside (Python's email package reads 7bit and 8bit parts with
# LF line ends; the mount keeps the message's CRLF of signed content).
same_html() {
    cmp <(tr -d '\r' <"$1") <(tr -d '\r' <"$2/PidTagHtml") || fail "$2: PidTagHtml differs from the HTML part"
}

# norm < TEXT: white space runs as one space, none at the ends.
norm() {
    tr -s ' \t\r\n' ' ' | sed 's/^ //; s/ $//'
}

# w3m_text HTMLFILE CHARSET: what w3m renders, normalised.
w3m_text() {
    w3m -dump -cols 1000 -T text/html -I "$2" -O UTF-8 "$1" | norm
}

# expect FILE: Python's view of FILE in $BATS_TEST_TMPDIR/expect/.
expect() {
    rm -rf "$BATS_TEST_TMPDIR/expect"
    python3 "$BATS_TEST_DIRNAME/bodies.py" expect "$1" "$BATS_TEST_TMPDIR/expect"
    E=$BATS_TEST_TMPDIR/expect
}

# assert_html_body DIR: DIR's PidTagHtml holds the HTML bytes of $E, and its
# PidTagBody reads as w3m renders them; PidTagNativeBody is 3 (HTML).
assert_html_body() {
    local d=$1
    same_html "$E/html.bin" "$d"
    [[ -f $d/PidTagBody ]] || fail "$d: no PidTagBody beside PidTagHtml"
    local want got
    want=$(w3m_text "$E/html.bin" "$(cat "$E/charset")")
    got=$(norm <"$d/PidTagBody")
    [[ $got == "$want" ]] || fail "$d: PidTagBody '$got', w3m renders '$want'"
    assert_file_is "$d/PidTagNativeBody" 3
}

@test "HTML-only messages: PidTagBody is the HTML's text as w3m renders it" {
    mount_mapifs "$MD" -o ro
    local n
    for n in html-paragraphs html-lists html-tables html-unclosed cp1252; do
        expect "$(file_of "$n")"
        assert_html_body "$(msg "$n")"
    done
    # what a reader sees: the words, without markup, script, style or title
    local d
    d=$(msg html-paragraphs)
    grep -q 'Café at 3 pm €5 <ok>' "$d/PidTagBody" || fail "$(cat "$d/PidTagBody")"
    run grep -E 'Not shown|var x|color: red|<p>' "$d/PidTagBody"
    assert_failure
    grep -q 'Café – naïve €' "$(msg cp1252)/PidTagBody"
    # grep over the bodies now finds HTML mail
    run grep -rl --include=PidTagBody quarterly -i "$MNT/INBOX"
    assert_output --partial html-paragraphs
}

@test "multipart/alternative: PidTagBody is the plain alternative, PidTagHtml the HTML" {
    mount_mapifs "$MD" -o ro
    local n d
    for n in alt related; do
        d=$(msg "$n")
        expect "$(file_of "$n")"
        [[ -f $E/plain.txt ]] || fail "fixture $n has no plain part"
        diff <(cat "$E/plain.txt") <(tr -d '\r' <"$d/PidTagBody") || fail "$n: PidTagBody is not the plain alternative"
        same_html "$E/html.bin" "$d"
        assert_file_is "$d/PidTagNativeBody" 3
    done
    # as Outlook does on every message: the raw Content-Type (as Python's
    # compat32 parser reads it, unfolded) and the conversation topic
    local ct
    ct=$(python3 -c 'import email, re, sys; print(re.sub(r"\r?\n", "", email.message_from_binary_file(open(sys.argv[1], "rb"))["Content-Type"]).strip())' "$(file_of alt)")
    assert_file_is "$(msg alt)/PS_INTERNET_HEADERS/Content-Type" "$ct"
    assert_file_is "$(msg alt)/PidTagConversationTopic" alternative
    # the related image is still an attachment, hidden as rendered in the body
    assert_file_is "$(msg related)/attachments/0/PidTagAttachMimeTag" image/png
    # a plain message keeps PidTagNativeBody 1 and has no PidTagHtml
    d=$(msg embedded)
    assert_file_is "$d/PidTagNativeBody" 1
    [[ ! -e $d/PidTagHtml ]] || fail "a plain message shows PidTagHtml"
}

@test "text/enriched: PidTagHtml is its HTML, PidTagBody that HTML's text" {
    mount_mapifs "$MD" -o ro
    local d
    d=$(msg enriched)
    local want
    want=$(w3m_text "$d/PidTagHtml" UTF-8)
    assert_equal "$(norm <"$d/PidTagBody")" "$want"
    grep -q 'Some bold text' "$d/PidTagBody"
}

@test "embedded messages and S/MIME content show PidTagBody the same way" {
    # clear-signed and opaque-signed copies of an alternative and of an
    # HTML-only entity, signed by openssl with a throw-away key
    local pki=$BATS_TEST_TMPDIR/pki
    mkdir -p "$pki"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/key.pem" -out "$pki/cert.pem" \
        -days 2 -subj "/CN=Alice/emailAddress=alice@example.org" 2>/dev/null
    openssl cms -sign -in "$SRC/inner-alt.eml" -signer "$pki/cert.pem" -inkey "$pki/key.pem" \
        -from alice@example.org -to bob@example.org -subject "clear-signed" \
        -out "$MD/cur/1700000200.M1P2.clear:2,S"
    openssl cms -sign -nodetach -in "$SRC/inner-html.eml" -signer "$pki/cert.pem" \
        -inkey "$pki/key.pem" -from alice@example.org -subject "opaque" \
        -out "$MD/cur/1700000201.M2P2.opaque:2,S"
    mount_mapifs "$MD" -o ro

    local d
    d=$(msg clear)
    assert_file_is "$d/PidTagMessageClass" IPM.Note.SMIME.MultipartSigned
    expect "$(file_of clear)"
    diff <(cat "$E/plain.txt") <(tr -d '\r' <"$d/PidTagBody") || fail "clear-signed: PidTagBody"
    same_html "$E/html.bin" "$d"

    d=$(msg opaque)
    [[ ! -e $d/PidTagBody ]] || fail "opaque S/MIME shows a body (MS-OXOSMIME 2.2.2 item 2)"
    expect "$SRC/inner-html.eml"
    assert_html_body "$d/smime/content"

    d=$(msg embedded)/attachments/0/PidTagAttachDataObject
    python3 - "$(file_of embedded)" "$BATS_TEST_TMPDIR/inner.eml" <<'PY'
import sys
from email import policy
from email.parser import BytesParser
m = BytesParser(policy=policy.default).parse(open(sys.argv[1], "rb"))
inner = [p for p in m.iter_attachments()][0].get_content()
open(sys.argv[2], "wb").write(inner.as_bytes())
PY
    expect "$BATS_TEST_TMPDIR/inner.eml"
    assert_html_body "$d"
}

@test "edits: new HTML renews the plain alternative; new text adds one to HTML-only mail" {
    mount_mapifs "$MD"
    local d f
    d=$(msg alt)
    printf '<p>Entirely <b>new</b> words</p><ul><li>and a list</li></ul>' >"$d/PidTagHtml"
    f=$(file_of alt)
    expect "$f"
    assert_equal "$(norm <"$E/plain.txt")" "$(w3m_text "$E/html.bin" "$(cat "$E/charset")")"
    assert_equal "$(norm <"$E/plain.txt")" "Entirely new words • and a list"
    assert_equal "$(norm <"$d/PidTagBody")" "Entirely new words • and a list"

    d=$(msg html-tables)
    f=$(file_of html-tables)
    expect "$f"
    cp "$E/html.bin" "$BATS_TEST_TMPDIR/html.before"
    printf 'My own plain text\n' >"$d/PidTagBody"
    expect "$f"
    assert_equal "$(cat "$E/plain.txt")" "My own plain text"
    cmp "$BATS_TEST_TMPDIR/html.before" "$E/html.bin" || fail "the HTML changed with the text"
    assert_file_is "$d/PidTagBody" "My own plain text"
    assert_file_is "$d/PidTagNativeBody" 3

    # the topic taken from the subject is not written as a Thread-Topic
    # field, and follows a new subject
    echo 'RE: A new subject' >"$d/PidTagSubject"
    run grep -ci '^Thread-Topic:' "$f"
    assert_output 0
    assert_file_is "$d/PidTagConversationTopic" 'A new subject'
}
