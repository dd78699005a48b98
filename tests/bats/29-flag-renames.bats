#!/usr/bin/env bats
# A message renamed only for its flags by another program (a mail client:
# cur/NAME:2,S <-> cur/NAME:2,RS, and new/NAME -> cur/NAME:2,S) stays
# readable throughout (issue 9 E): 4 readers reading its PidTagSubject and
# message.eml and stat'ing it in a loop while thousands of renames go on for
# ~5 s get not a single error and always the right content.  Under the same
# load, a message delivered into new/ is listed within 2 s (the target is
# under 1 s; the old code took a median 6.7 s).  29-flag-renames.py drives the
# load and prints the counts and latencies.

load common

PLAIN=1700000001.M1P1.plain
ATT=1700000003.M3P1.attachments
DRIVER="$BATS_TEST_DIRNAME/29-flag-renames.py"
LOAD_SECONDS=${LOAD_SECONDS:-5}
DELIVERIES=5
MAX_LATENCY=2

setup() {
    SRC=$BATS_TEST_TMPDIR/src
    copy_sample "$SRC"
    MD=$SRC/Maildir
}

# value KEY: the value of "KEY VALUE" in the driver's output
value() {
    sed -n "s/^$1 //p" <<<"$output" | head -1
}

@test "flag renames by another program: 4 readers see no error and the right content; deliveries are listed within ${MAX_LATENCY}s" {
    mount_mapifs "$MD"
    local I=$MNT/INBOX
    # the starting point of the driver
    [[ -f $MD/cur/$PLAIN:2,S && -f $MD/new/$ATT ]] || fail "the sample changed: $(ls "$MD/cur" "$MD/new")"
    ls "$I" >/dev/null

    run timeout 180 python3 "$DRIVER" "$MNT" "$MD" "$LOAD_SECONDS" 4 "$DELIVERIES"
    printf '# %s\n' "${lines[@]}" >&3
    assert_success
    local reads errors wrong renames
    reads=$(value reads) errors=$(value errors) wrong=$(value wrong) renames=$(value renames)
    [[ -n $reads && -n $renames ]] || fail "the driver printed no counts: $output"
    ((renames >= 1000)) || fail "only $renames renames: the load was too light to prove anything"
    ((reads >= 200)) || fail "only $reads reads in ${LOAD_SECONDS}s: the mount is far too slow under renames"
    ((errors == 0 && wrong == 0)) || fail "$(
        echo "$errors read errors and $wrong wrong contents in $reads reads during $renames renames:"
        grep -E '^(error|wrong) ' <<<"$output"
    )"
    refute_line --regexp '^error '

    # every delivery was listed within MAX_LATENCY seconds
    local i lat bad=()
    for ((i = 0; i < DELIVERIES; i++)); do
        lat=$(value "latency $i")
        if [[ $lat == timeout || -z $lat ]]; then
            bad+=("delivery $i: not listed within 5 s")
        elif ! awk -v l="$lat" -v m="$MAX_LATENCY" 'BEGIN { exit !(l < m) }'; then
            bad+=("delivery $i: listed after ${lat}s (limit ${MAX_LATENCY}s)")
        fi
    done
    ((${#bad[@]} == 0)) || fail "$(printf '%s\n' "${bad[@]}")"

    # and once the renames stop, the folder shows every message once, the
    # flags of the final names, and the content
    local want
    want=$(printf '%s\n' "${SAMPLE_INBOX_NAMES[@]}" $(for ((i = 0; i < DELIVERIES; i++)); do
        printf '1800000900.M9%02dP1.delivered\n' "$i"
    done) | LC_ALL=C sort)
    wait_until 5 eval '[[ $(ls -A "$I") == "$want" ]]' || fail "$(
        echo "INBOX after the load (< expected, > listed):"
        diff <(printf '%s\n' "$want") <(ls -A "$I")
    )"
    local f
    f=$(sample_file $PLAIN "$MD")
    assert_same_bytes "$f" "$I/$PLAIN/message.eml"
    wait_until 5 eval '[[ $(xattr "$I/$PLAIN" user.mapifs.source) == "${f#"$MD"/}" ]]' ||
        fail "$PLAIN: user.mapifs.source is '$(xattr "$I/$PLAIN" user.mapifs.source)', the file is ${f#"$MD"/}"
    f=$(sample_file $ATT "$MD")
    assert_same_bytes "$f" "$I/$ATT/message.eml"
    wait_until 5 eval '[[ $(xattr "$I/$ATT" user.mapifs.source) == "${f#"$MD"/}" ]]' ||
        fail "$ATT: user.mapifs.source is '$(xattr "$I/$ATT" user.mapifs.source)', the file is ${f#"$MD"/}"
    assert_file_is "$I/1800000900.M900P1.delivered/PidTagSubject" 'Delivered under load 0'
    daemon_alive
    unmount_mapifs
}
