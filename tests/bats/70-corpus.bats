#!/usr/bin/env bats
# The external corpus (../shared/corpus, ~500 real-world messages) as a
# Maildir built by tests/corpus/corpus.py: everything appears, everything
# reads, the classes are the expected ones, message.eml is exact, and the
# daemon survives it all.  Skipped when the corpus is not there (a failure
# with CI=true: require_corpus).

load common

setup_file() {
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

setup() {
    require_corpus
    EXPECTED=$CORPUS_MD/expected.tsv
    mount_mapifs "$CORPUS_MD"
    INBOX=$MNT/INBOX
}

@test "corpus: every expected message appears as a directory, and nothing else" {
    cut -f1 "$EXPECTED" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/want"
    ls -A "$INBOX" | LC_ALL=C sort >"$BATS_TEST_TMPDIR/got"
    local missing extra
    missing=$(LC_ALL=C comm -23 "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got")
    extra=$(LC_ALL=C comm -13 "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got")
    [[ -z $missing && -z $extra ]] \
        || fail "$(printf 'missing from INBOX (%d):\n%s\nnot expected (%d):\n%s' \
            "$(grep -c . <<<"$missing")" "$missing" "$(grep -c . <<<"$extra")" "$extra")"
    local u bad=()
    while IFS=$'\t' read -r u _; do
        [[ -d $INBOX/$u ]] || bad+=("$u")
    done <"$EXPECTED"
    ((${#bad[@]} == 0)) || fail "not a directory: ${bad[*]}"
}

@test "corpus: every file under the mount can be read; the daemon survives" {
    # the content goes to /dev/null: captured by run, some 100 MB made
    # bash take minutes (under meson's MALLOC_PERTURB_); errors stay
    run timeout 600 bash -c 'find "$1" -type f -exec cat {} + >/dev/null' _ "$MNT"
    if ((status != 0)); then
        echo "find/cat exit status $status (124 = timeout after 600s)"
        grep -v '^mapifs: ' <<<"$output" | head -50 || true
        echo "$output" | head -50
        daemon_alive || echo "the daemon is gone"
        show_log | tail -50
        fail "reading every file failed"
    fi
    daemon_alive || { show_log | tail -50; fail "the daemon died or stopped answering"; }
    local n
    n=$(find "$MNT" -type f | wc -l)
    echo "# $n files read" >&3
    unmount_mapifs
}

@test "corpus: st_size of every file equals the bytes read" {
    run timeout 600 python3 "$HELPER" sizes "$MNT"
    echo "$output" | tail -1 | sed 's/^/# /' >&3
    if ((status != 0)); then
        fail "$(echo "$output" | head -60)"
    fi
    daemon_alive
}

@test "corpus: PidTagMessageClass of every message is the expected class" {
    local u cls rel got bad=() n=0
    while IFS=$'\t' read -r u cls rel; do
        n=$((n + 1))
        if ! got=$(cat "$INBOX/$u/PidTagMessageClass" 2>&1); then
            bad+=("$rel: expected $cls, cannot read: $got")
        elif [[ $got != "$cls" ]] || ! cmp -s "$INBOX/$u/PidTagMessageClass" <(printf '%s\n' "$cls"); then
            bad+=("$rel: expected $cls, got $got")
        fi
    done <"$EXPECTED"
    ((${#bad[@]} == 0)) \
        || fail "$(printf '%d of %d messages have the wrong class:\n' "${#bad[@]}" "$n"; printf '  %s\n' "${bad[@]}")"
}

@test "corpus: message.eml is the source file byte for byte, for every message" {
    local u rel bad=()
    while IFS=$'\t' read -r u _ rel; do
        cmp -s "$CORPUS_MD/cur/$u:2," "$INBOX/$u/message.eml" || bad+=("$rel")
    done <"$EXPECTED"
    ((${#bad[@]} == 0)) \
        || fail "$(printf 'message.eml differs for %d messages:\n' "${#bad[@]}"; printf '  %s\n' "${bad[@]}")"
}

@test "corpus: user.mapifs.sha256 of every message matches its file" {
    local u rel want bad=()
    while IFS=$'\t' read -r u _ rel; do
        want=$(sha256sum <"$CORPUS_MD/cur/$u:2," | cut -d' ' -f1)
        [[ $(xattr "$INBOX/$u" user.mapifs.sha256 2>/dev/null) == "$want" ]] || bad+=("$rel")
    done <"$EXPECTED"
    ((${#bad[@]} == 0)) \
        || fail "$(printf 'wrong user.mapifs.sha256 on %d messages:\n' "${#bad[@]}"; printf '  %s\n' "${bad[@]}")"
}

@test "corpus: no sanitizer report and no crash after a full traversal with xattrs" {
    timeout 600 getfattr -R -d -m - --absolute-names "$MNT" >/dev/null
    daemon_alive
    unmount_mapifs
    check_sanitizers "$BATS_TEST_TMPDIR/mapifs.log"
}
