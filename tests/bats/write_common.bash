# write_common.bash - helpers for the write-path tests (80-84-*.bats).
# Load after common:   load common; load write_common
#
# Every check of a stored message goes through write_helper.py (python3's
# email package, policy=email.policy.default) or openssl; errno checks of
# close() go through write_helper.py as well, because the shell cannot see them.

WH="$BATS_TEST_DIRNAME/write_helper.py"
export WH

wh() {
    python3 "$WH" "$@"
}

# setup_rw_mount: a private copy of the sample, mounted writable.  Sets SRC
# (the copy), MD (its Maildir), ARCH (the .Archive.2024 folder), INBOX.
setup_rw_mount() {
    SRC=$BATS_TEST_TMPDIR/src
    copy_sample "$SRC"
    MD=$SRC/Maildir
    ARCH=$MD/.Archive.2024
    PKI=$SRC/pki
    mount_mapifs "$MD" "$@"
    INBOX=$MNT/INBOX
}

# backing UNIQUE [MAILDIR]: the backing file of a message of the copy.
backing() {
    sample_file "$1" "${2:-$MD}"
}

# backing_count UNIQUE [MAILDIR]: how many files in cur/ and new/ carry UNIQUE.
backing_count() {
    local md=${2:-$MD}
    find "$md/cur" "$md/new" -maxdepth 1 -type f \( -name "$1" -o -name "$1:*" \) | wc -l
}

sha() {
    sha256sum <"$1" | cut -d' ' -f1
}

# assert_backing_is UNIQUE RELPATH [MAILDIR]: the message's only backing file
# is MAILDIR/RELPATH (e.g. "cur/1700000001.M1P1.plain:2,S").
assert_backing_is() {
    local u=$1 rel=$2 md=${3:-$MD} n
    n=$(backing_count "$u" "$md")
    [[ -f $md/$rel ]] || fail "expected backing file $rel, found: $(cd "$md" && ls cur new | grep -F "$u" | tr '\n' ' ')"
    [[ $n == 1 ]] || fail "$n backing files for $u: $(cd "$md" && ls -R cur new | grep -F "$u" | tr '\n' ' ')"
}

# assert_header FILE NAME VALUE: the stored message has exactly one NAME field
# and its decoded value is VALUE.
assert_header() {
    local file=$1 name=$2 want=$3 got
    got=$(wh header "$file" "$name") || fail "$file: no $name field (headers: $(wh headers "$file" | cut -d: -f1 | tr '\n' ' '))"
    [[ $got == "$want" ]] || fail "$file: $name is '$got', expected '$want'"
}

# assert_header_ci FILE NAME VALUE: the same, compared case-insensitively.
assert_header_ci() {
    local file=$1 name=$2 want=$3 got
    got=$(wh header "$file" "$name") || fail "$file: no $name field"
    [[ ${got,,} == "${want,,}" ]] || fail "$file: $name is '$got', expected '$want' (any case)"
}

assert_no_header() {
    local file=$1 name=$2 got
    if got=$(wh header "$file" "$name"); then
        fail "$file: unexpected $name field: '$got'"
    fi
}

# assert_errno EXPECTED WH-ARGS...: the write_helper.py operation fails and
# prints EXPECTED (e.g. "close EINVAL", "open EPERM", "mkdir EEXIST").
assert_errno() {
    local want=$1
    shift
    run -1 wh "$@"
    [[ $output == "$want" ]] || fail "wh $*: expected '$want', got '$output' (status $status)"
}

# assert_op_ok WH-ARGS...: the operation succeeds.
assert_op_ok() {
    run wh "$@"
    if [[ $status != 0 || $output != ok ]]; then
        show_log | tail -20
        fail "wh $*: expected success, got '$output' (status $status)"
    fi
}

# log_mark: remember how long the daemon log is now (for assert_log_line).
log_mark() {
    LOG_MARK=$(wc -l <"$MAPIFS_LOG" 2>/dev/null || echo 0)
}

# assert_log_line WORD: since log_mark the daemon logged exactly one line
# that mentions WORD (the file that was refused).
assert_log_line() {
    local word=$1 new n
    new=$(tail -n +"$((LOG_MARK + 1))" "$MAPIFS_LOG" 2>/dev/null)
    n=$(grep -cF -- "$word" <<<"$new" || true)
    [[ $n == 1 ]] || fail "$(
        echo "expected exactly one new log line mentioning '$word', found $n; new log lines:"
        printf '%s\n' "$new" | head -20
    )"
}

# wait_file_is FILE TEXT: poll (5 s) until FILE holds TEXT + "\n".
file_is() {
    cmp -s "$1" <(printf '%s\n' "$2")
}

listed() { # listed DIR NAME
    ls -A "$1" 2>/dev/null | grep -qxF -- "$2"
}

# tree_state DIR: every file's relative path, size, mtime and sha256, sorted
# (to prove a refused operation changed nothing).
tree_state() {
    (cd "$1" && find . -mindepth 1 -printf '%P %y %s %T@\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# make_eml FILE SUBJECT [MESSAGE-ID-LOCAL]: a small valid message.
make_eml() {
    local file=$1 subject=$2 id=${3:-made.$RANDOM}
    printf '%s\r\n' \
        "From: Dave Example <dave@example.org>" \
        "To: Bob Example <bob@example.org>" \
        "Subject: $subject" \
        "Date: Wed, 15 Nov 2023 10:00:00 +0000" \
        "Message-ID: <$id@example.org>" \
        "MIME-Version: 1.0" \
        "Content-Type: text/plain; charset=us-ascii" \
        "" \
        "Body of $subject." >"$file"
}
