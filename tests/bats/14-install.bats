#!/usr/bin/env bats
# Issue 13, point 3: meson install puts the two programs, their manual pages
# (mapifs(1), mapper-tool(1)) and the contract (mapifs(7)) in place, and
# man(1) reads them; the pages and --help name the same options.

load common

setup_file() {
    DEST=$BATS_FILE_TMPDIR/dest
    export DEST
    meson install -C "$BUILD_DIR" --no-rebuild --quiet --destdir "$DEST" >/dev/null ||
        fail "meson install --destdir failed"
    PREFIX=$(meson introspect "$BUILD_DIR" --buildoptions |
        python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}["prefix"])')
    export PREFIX
}

setup() {
    command -v man >/dev/null || missing_prerequisite "man (man-db) is not installed"
    ROOT=$DEST$PREFIX
}

# page SECTION NAME: the installed page rendered as plain text, checked for
# warnings of man and groff on the way
page() {
    local f=$ROOT/share/man/man$1/$2.$1
    [[ -f $f ]] || fail "$f is not installed (installed: $(cd "$DEST" && find . -type f | tr '\n' ' '))"
    MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -l "$f" 2>"$BATS_TEST_TMPDIR/warn" | col -bx
    [[ ! -s $BATS_TEST_TMPDIR/warn ]] || fail "man -l $f warns: $(cat "$BATS_TEST_TMPDIR/warn")"
}

@test "meson install --destdir installs mapifs, mapper-tool, three manual pages and the README" {
    [[ -x $ROOT/bin/mapifs ]] || fail "no bin/mapifs under $ROOT"
    [[ -x $ROOT/bin/mapper-tool ]] || fail "no bin/mapper-tool under $ROOT"
    [[ -f $ROOT/share/doc/mapifs/README.md ]] || fail "no share/doc/mapifs/README.md"
    run "$ROOT/bin/mapifs" --version
    assert_success
}

@test "man -l mapifs.1: the command, every option of --help, exit status, fstab, logs" {
    run page 1 mapifs
    assert_success
    assert_line --regexp '^NAME'
    assert_line --regexp '^ +mapifs - mount a mailbox'
    local text=$output opt
    for section in SYNOPSIS OPTIONS 'EXIT STATUS' FSTAB LOGS 'SEE ALSO'; do
        [[ $text == *$'\n'"$section"* ]] || fail "no $section section"
    done
    # every option the program's --help names is in the page
    run "$MAPIFS" --help
    for opt in $(grep -oE -- '(-o [a-z_]+|--[a-z0-9-]+)' <<<"$output" | sed 's/^-o //' | sort -u); do
        [[ $text == *"${opt}"* ]] || fail "mapifs(1) does not mention $opt, which --help lists"
    done
    [[ $text == *"journalctl"* && $text == *"log="* ]] || fail "where the log goes is not said"
    [[ $text == *"fuse.mapifs"* ]] || fail "no fstab type"
}

@test "man -l mapifs.7: the contract of a mount" {
    run page 7 mapifs
    assert_success
    local text=$output word
    for word in PidTagSubject message.eml PidTagMessageFlags smime/status 'user.mapifs.error' EINVAL EPERM forensic; do
        [[ $text == *"$word"* ]] || fail "mapifs(7) does not mention $word"
    done
}

@test "man -l mapper-tool.1: every verb of its usage" {
    run page 1 mapper-tool
    assert_success
    local text=$output verb
    run "$MAPPER_TOOL" --help
    for verb in $(sed -nE 's/^(usage:)? +mapper-tool ([a-z]+).*/\2/p' <<<"$output$stderr"); do
        [[ $text == *"$verb"* ]] || fail "mapper-tool(1) does not document $verb"
    done
    [[ $text == *"verify"* && $text == *" 4"* ]] || fail "verify's exit status 4 is not documented"
}
