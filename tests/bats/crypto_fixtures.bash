# crypto_fixtures.bash - test PKI and S/MIME Maildir for the crypto tests
# (90-94-*.bats).  Load after common:   load common; load crypto_fixtures
#
#   make_crypto_fixtures DIR     build everything below into DIR, once: a
#                                second call on a finished DIR does nothing.
#                                Call it from setup_file, e.g. with
#                                "$BATS_FILE_TMPDIR/crypto".  Sets CF, CF_PKI,
#                                CF_MD, CF_PLAIN, CF_PRELOAD (also set by
#                                cf_use DIR for an already built DIR).
#
# Only the openssl 3 CLI, coreutils and sed are used.  Every fixture is
# cross-checked with openssl while it is built (a good signature verifies, a
# bad one does not, an encrypted one decrypts only with the right key ...), so
# a broken fixture fails setup_file instead of making a test pass or fail for
# the wrong reason.
#
# DIR/pki/ (keys mode 600)
#   ca.pem ca.key          the test CA, RSA, valid 2015-01-01 .. 2045-01-01,
#                          subject "CN=mapifs Crypto Test CA,O=mapifs test\, Inc."
#   ca-dir/ca.pem          the CA alone in a directory (for --ca DIR)
#   alice.pem/.key         RSA, alice@example.org, serial 0A11CE01
#   alice2.pem/.key        RSA, a second certificate for alice@example.org, serial 0A11CE02
#   bob.pem/.key           RSA, bob@example.org, the usual recipient, serial 0B0B01
#   carol.pem/.key         EC P-256, carol@example.org, CN "Carol Müller" (UTF-8), serial 0CA201
#   dave.pem/.key          RSA, dave@example.org, valid 2020-01-01 .. 2021-01-01 only
#   mallory.pem/.key       RSA, mallory@example.org, self-signed (not from the CA)
#   erin.pem/.key          EC P-256, erin@example.org (only for --certs)
#   frank.pem/.der/.key    EC P-256, SAN frank.work@example.net and subject
#                          emailAddress Frank@Example.ORG (only for --certs)
#   bob.p12 + bob.pass     PKCS#12 of bob (key, certificate, CA); bob.pass: the
#                          password on line 1, a decoy on line 2
#   alice.p12 + alice.pass the same for alice
#   *.ski                  subjectKeyIdentifier of the certificate, lower-case
#                          hex without colons
# DIR/preload/             bob.pem (PEM), erin.crt (PEM), frank.der (DER)
# DIR/Maildir/cur/<epoch>.M<n>P1.<stem>:2,S   (see CF_STEMS; every file CRLF)
# DIR/plain/<stem>.eml     the innermost MIME entity that was signed/encrypted
# DIR/facts                "key=value" lines, read with cf_fact KEY:
#   signing_time.<stem>    the signature's signing time, ISO 8601 UTC (for
#                          nested-sign-enc: the inner signature's)
#   token.<stem>           a string that occurs only in that message's
#                          innermost text (for encrypted ones: never in clear)
#   epoch.<stem>           the epoch in the file name

CF_LIB=${BASH_SOURCE[0]}
CF_EPOCH0=1710000000

# Every message, in file-name order.  Unique name of stem number i (from 1):
# $((CF_EPOCH0 + i)).M<i>P1.<stem>
CF_STEMS=(
    signed-md5 signed-sha1 signed-sha256 signed-sha384 signed-sha512
    signed-ec opaque-sha256
    signed-expired signed-untrusted signed-bad signed-nocert signed-garbage
    enc-aes128 enc-aes192 enc-aes256 enc-des3 enc-rc2 enc-rc4 enc-aes128gcm enc-aes256gcm
    enc-to-alice
    nested-sign-enc nested-enc-sign nested-enc-clearsign
    map-old map-new
    plain-to-bob plain-to-nocert
)

# Signed messages: signer (pki/<name>.pem) and digest.
declare -gA CF_SIGNER=(
    [signed-md5]=alice [signed-sha1]=alice [signed-sha256]=alice [signed-sha384]=alice
    [signed-sha512]=alice [signed-ec]=carol [opaque-sha256]=alice
    [signed-expired]=dave [signed-untrusted]=mallory [signed-bad]=bob [signed-nocert]=bob
    [nested-enc-sign]=alice [nested-enc-clearsign]=alice
    [map-old]=alice [map-new]=alice2
)
declare -gA CF_DIGEST=(
    [signed-md5]=md5 [signed-sha1]=sha1 [signed-sha256]=sha256 [signed-sha384]=sha384
    [signed-sha512]=sha512 [signed-ec]=sha256 [opaque-sha256]=sha256
    [signed-expired]=sha256 [signed-untrusted]=sha256 [signed-bad]=sha256 [signed-nocert]=sha256
    [nested-enc-sign]=sha256 [nested-enc-clearsign]=sha256 [map-old]=sha256 [map-new]=sha256
)
# Encrypted messages: the cipher (the name smime/cipher shows) and the
# recipients (pki/<name>.pem; DER sorts the RecipientInfo SET, so the order
# in the message is not this one).
declare -gA CF_CIPHER=(
    [enc-aes128]=aes-128-cbc [enc-aes192]=aes-192-cbc [enc-aes256]=aes-256-cbc
    [enc-des3]=des-ede3-cbc [enc-rc2]=rc2-cbc [enc-rc4]=rc4
    [enc-aes128gcm]=aes-128-gcm [enc-aes256gcm]=aes-256-gcm
    [enc-to-alice]=aes-128-cbc [nested-sign-enc]=aes-128-cbc [nested-enc-sign]=aes-128-cbc
    [nested-enc-clearsign]=aes-128-cbc
)
declare -gA CF_RECIPS=(
    [enc-aes128]=bob [enc-aes192]=bob [enc-aes256]="bob mallory" [enc-des3]=bob
    [enc-rc2]=bob [enc-rc4]=bob [enc-aes128gcm]=bob [enc-aes256gcm]=bob
    [enc-to-alice]=alice [nested-sign-enc]=bob [nested-enc-sign]=bob [nested-enc-clearsign]=bob
)
# enc-aes192 names its recipient by subjectKeyIdentifier (openssl cms -keyid);
# every other RecipientInfo is issuerAndSerialNumber.
CF_KEYID_STEMS=(enc-aes192)

CF_ENC_STEMS=(enc-aes128 enc-aes192 enc-aes256 enc-des3 enc-rc2 enc-rc4 enc-aes128gcm enc-aes256gcm)
CF_DIGEST_STEMS=(signed-md5 signed-sha1 signed-sha256 signed-sha384 signed-sha512)

# openssl needs these for RC2 and RC4
CF_LEGACY=(-provider legacy -provider default)

# ---------------------------------------------------------------------------
# lookups

# cf_use DIR: set CF, CF_PKI, CF_MD, CF_PLAIN, CF_PRELOAD for a built DIR.
cf_use() {
    CF=$1
    CF_PKI=$CF/pki
    CF_MD=$CF/Maildir
    CF_PLAIN=$CF/plain
    CF_PRELOAD=$CF/preload
    export CF CF_PKI CF_MD CF_PLAIN CF_PRELOAD
}

# cf_index STEM: its number (1-based) in CF_STEMS.
cf_index() {
    local i
    for i in "${!CF_STEMS[@]}"; do
        if [[ ${CF_STEMS[$i]} == "$1" ]]; then
            echo $((i + 1))
            return 0
        fi
    done
    echo "cf_index: unknown fixture stem '$1'" >&2
    return 1
}

# cf_uniq STEM: the Maildir unique name (the message directory's name).
cf_uniq() {
    local n
    n=$(cf_index "$1") || return 1
    echo "$((CF_EPOCH0 + n)).M${n}P1.$1"
}

# cf_file STEM [MAILDIR]: the backing file.
cf_file() {
    local u
    u=$(cf_uniq "$1") || return 1
    echo "${2:-$CF_MD}/cur/$u:2,S"
}

# cf_fact KEY: a value from DIR/facts (fails when there is none).
cf_fact() {
    local v
    v=$(sed -n "s/^$(printf '%s' "$1" | sed 's/[].[*^$/\\]/\\&/g')=//p" "$CF/facts" | head -1)
    [[ -n $v ]] || { echo "cf_fact: no fact '$1' in $CF/facts" >&2; return 1; }
    printf '%s\n' "$v"
}

# cf_x509 CERT FIELD: what openssl says about a certificate, in the form the
# smime/signers/N/ files use:
#   subject issuer   RFC 2253 ("openssl x509 -noout -subject -nameopt RFC2253")
#   serial           upper-case hex ("openssl x509 -noout -serial")
#   not-before not-after   ISO 8601 UTC
#   der              the DER bytes (binary, to stdout)
#   san-emails       the rfc822Name entries of subjectAltName, one a line
cf_x509() {
    local cert=$1 field=$2 v
    case $field in
        subject | issuer)
            v=$(openssl x509 -in "$cert" -noout "-$field" -nameopt RFC2253) || return 1
            printf '%s\n' "${v#"$field"=}"
            ;;
        serial)
            v=$(openssl x509 -in "$cert" -noout -serial) || return 1
            printf '%s\n' "${v#serial=}"
            ;;
        not-before | not-after)
            local opt=-startdate key=notBefore
            [[ $field == not-after ]] && opt=-enddate key=notAfter
            v=$(openssl x509 -in "$cert" -noout "$opt") || return 1
            date -u -d "${v#"$key"=}" '+%Y-%m-%dT%H:%M:%SZ'
            ;;
        der)
            openssl x509 -in "$cert" -outform DER
            ;;
        san-emails)
            openssl x509 -in "$cert" -noout -ext subjectAltName | tr ',' '\n' |
                sed -n 's/^ *email:\(.*\)$/\1/p'
            ;;
        *)
            echo "cf_x509: unknown field $field" >&2
            return 1
            ;;
    esac
}

# cf_same_cert A B: A and B (PEM or DER files) hold the same certificate.
cf_same_cert() {
    local a b
    a=$(_cf_der_sha "$1") || return 1
    b=$(_cf_der_sha "$2") || return 1
    [[ $a == "$b" ]]
}

_cf_der_sha() {
    { openssl x509 -in "$1" -outform DER 2>/dev/null ||
        openssl x509 -inform DER -in "$1" -outform DER 2>/dev/null; } | sha256sum | cut -d' ' -f1
}

# cf_body_text FILE: the decoded text of a MIME entity / message (the first
# text/plain leaf), CRLF turned into LF; the reference for PidTagBody.
cf_body_text() {
    python3 - "$1" <<'EOF'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for part in m.walk():
    if part.get_content_type() == "text/plain" and not part.is_multipart():
        sys.stdout.buffer.write(part.get_content().replace("\r\n", "\n").encode("utf-8"))
        sys.exit(0)
sys.stderr.write("no text/plain part in %s\n" % sys.argv[1])
sys.exit(1)
EOF
}

# cf_cms_print FILE [FORMAT]: openssl cms -cmsout -print of an S/MIME message
# (default) or of DER ("DER").
cf_cms_print() {
    openssl cms -cmsout -print -inform "${2:-SMIME}" -in "$1"
}

# ---------------------------------------------------------------------------
# building

# make_crypto_fixtures DIR
make_crypto_fixtures() {
    local dir=${1:?make_crypto_fixtures DIR}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ ! -f $dir/.complete ]]; then
        # start from scratch: a half-built DIR (an earlier failure) is wiped
        find "$dir" -mindepth 1 -delete
        local log=$dir.build.log
        # a separate bash, so that errexit holds inside (it is ignored in a
        # subshell that is the left side of || or the condition of an if)
        if ! bash -euo pipefail -c 'source "$1"; _cf_build "$2"' _ "$CF_LIB" "$dir" >"$log" 2>&1; then
            echo "make_crypto_fixtures $dir failed:" >&2
            tail -40 "$log" >&2
            return 1
        fi
        touch "$dir/.complete"
    fi
    cf_use "$dir"
}

_cf_die() {
    echo "crypto_fixtures: $*" >&2
    exit 1
}

# _cf_crlf: stdin to stdout, every line end CRLF.
_cf_crlf() {
    sed -e 's/\r$//' -e 's/$/\r/'
}

_cf_rfcdate() {
    date -u -d "@$1" '+%a, %d %b %Y %H:%M:%S +0000'
}

_cf_fact() {
    printf '%s=%s\n' "$1" "$2" >>"$CF_B/facts"
}

# _cf_cert NAME KEYTYPE SUBJ SAN SERIAL [START END]: key + certificate signed by the CA.
_cf_cert() {
    local name=$1 ktype=$2 subj=$3 san=$4 serial=$5 start=${6:-$CF_B_START} end=${7:-$CF_B_END}
    local pki=$CF_B/pki ext=user_rsa_ext
    case $ktype in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/$name.key" ;;
        ec)
            openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$name.key"
            ext=user_ec_ext
            ;;
    esac
    chmod 600 "$pki/$name.key"
    openssl req -new -utf8 -config "$CF_B_CNF" -key "$pki/$name.key" -subj "$subj" \
        -out "$CF_B_WORK/$name.csr"
    echo "$serial" >"$CF_B_WORK/ca-db/serial"
    CF_SAN=$san openssl ca -batch -utf8 -config "$CF_B_CNF" -notext -preserveDN -md sha256 \
        -cert "$pki/ca.pem" -keyfile "$pki/ca.key" -startdate "$start" -enddate "$end" \
        -extensions "$ext" -in "$CF_B_WORK/$name.csr" -out "$pki/$name.pem"
    # openssl ca writes a text-free PEM with -notext; normalise anyway
    openssl x509 -in "$pki/$name.pem" -out "$pki/$name.pem.tmp"
    mv "$pki/$name.pem.tmp" "$pki/$name.pem"
    openssl x509 -in "$pki/$name.pem" -noout -ext subjectKeyIdentifier |
        sed -n '2p' | tr -d ' :\n' | tr 'A-F' 'a-f' >"$pki/$name.ski"
}

# _cf_entity STEM [TEXT]: the innermost entity of a message -> plain/STEM.eml
_cf_entity() {
    local stem=$1 text=${2:-"this is the $1 fixture of the mapifs crypto tests."}
    local token="secret-token-$stem-7c1e"
    _cf_fact "token.$stem" "$token"
    _cf_crlf >"$CF_B/plain/$stem.eml" <<EOF
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hello,

$text
$token

The amount is 100 EUR.
EOF
}

# _cf_message STEM FROM TO SUBJECT DATE-EPOCH ENTITY [EXTRA-HEADER...]: the
# Maildir file: RFC 5322 header block, then the entity (openssl output; its own
# MIME-Version line dropped), all CRLF.
_cf_message() {
    local stem=$1 from=$2 to=$3 subject=$4 epoch=$5 entity=$6
    shift 6
    local f u
    u=$(cf_uniq "$stem")
    f=$CF_B/Maildir/cur/$u:2,S
    _cf_fact "epoch.$stem" "$((CF_EPOCH0 + $(cf_index "$stem")))"
    {
        printf '%s\n' "From: $from" "To: $to"
        local h
        for h in "$@"; do printf '%s\n' "$h"; done
        printf '%s\n' "Subject: $subject" "Date: $(_cf_rfcdate "$epoch")" \
            "Message-ID: <$stem.$epoch@example.org>" "MIME-Version: 1.0"
        sed -e '1{/^MIME-Version:/d}' "$entity"
    } | _cf_crlf >"$f"
}

ALICE_A='Alice Example <alice@example.org>'
BOB_A='Bob Example <bob@example.org>'

# _cf_sign IN OUT SIGNER DIGEST [detached|opaque|nocerts]: openssl smime -sign.
_cf_sign() {
    local in=$1 out=$2 who=$3 md=$4 mode=${5:-detached} pki=$CF_B/pki
    local args=(-sign -md "$md" -signer "$pki/$who.pem" -inkey "$pki/$who.key" -crlfeol -in "$in" -out "$out")
    case $mode in
        detached) ;;
        opaque) args+=(-nodetach) ;;
        nocerts) args+=(-nodetach -nocerts) ;;
    esac
    openssl smime "${args[@]}"
}

# _cf_encrypt IN OUT CIPHER RECIP... (openssl cms -encrypt; -keyid when KEYID=1)
_cf_encrypt() {
    local in=$1 out=$2 cipher=$3 r
    shift 3
    local certs=()
    for r in "$@"; do certs+=("$CF_B/pki/$r.pem"); done
    local extra=()
    [[ ${KEYID:-0} == 1 ]] && extra+=(-keyid)
    openssl cms -encrypt "${CF_LEGACY[@]}" "-$cipher" "${extra[@]}" -in "$in" -out "$out" "${certs[@]}"
}

# _cf_signing_time FILE: the signingTime attribute of an S/MIME message, ISO.
_cf_signing_time() {
    local t
    t=$(openssl cms -cmsout -print -in "$1" | grep -A2 'object: signingTime' |
        sed -n 's/^ *UTCTIME:\(.*\)$/\1/p' | head -1)
    [[ -n $t ]] || _cf_die "no signingTime in $1"
    date -u -d "$t" '+%Y-%m-%dT%H:%M:%SZ'
}

# checks while building
_cf_verify_ok() { # FILE [extra openssl args]: verifies against the CA
    local f=$1
    shift
    openssl smime -verify -CAfile "$CF_B/pki/ca.pem" "$@" -in "$f" -out "$CF_B_WORK/verified" ||
        _cf_die "$f does not verify"
}
_cf_verify_fails() { # FILE [extra openssl args]
    local f=$1
    shift
    if openssl smime -verify "$@" -in "$f" -out /dev/null 2>"$CF_B_WORK/verify.err"; then
        _cf_die "$f verifies with $*, it must not"
    fi
}
_cf_decrypt_ok() { # FILE WHO OUT
    openssl cms -decrypt "${CF_LEGACY[@]}" -recip "$CF_B/pki/$2.pem" -inkey "$CF_B/pki/$2.key" \
        -in "$1" -out "$3" || _cf_die "$1 does not decrypt with $2's key"
}
_cf_decrypt_fails() { # FILE WHO
    if openssl cms -decrypt "${CF_LEGACY[@]}" -recip "$CF_B/pki/$2.pem" -inkey "$CF_B/pki/$2.key" \
        -in "$1" -out /dev/null 2>/dev/null; then
        _cf_die "$1 decrypts with $2's key, it must not"
    fi
}
_cf_same() { # A B
    cmp -s "$1" "$2" || _cf_die "$1 and $2 differ"
}

_cf_build() {
    CF_B=$1
    CF_B_WORK=$CF_B/work
    CF_B_CNF=$CF_B_WORK/openssl.cnf
    # users: valid from yesterday for ten years (inside the CA's validity)
    CF_B_START=$(date -u -d '-1 day' '+%Y%m%d%H%M%SZ')
    CF_B_END=$(date -u -d '+3650 days' '+%Y%m%d%H%M%SZ')
    export LC_ALL=C
    # openssl.cnf refers to it; each certificate sets its own
    export CF_SAN=email:unused@example.org
    local pki=$CF_B/pki
    mkdir -p "$pki/ca-dir" "$CF_B/Maildir/cur" "$CF_B/Maildir/new" "$CF_B/Maildir/tmp" \
        "$CF_B/plain" "$CF_B/preload" "$CF_B_WORK/ca-db/newcerts"
    : >"$CF_B/facts"
    : >"$CF_B_WORK/ca-db/index.txt"
    echo 'unique_subject = no' >"$CF_B_WORK/ca-db/index.txt.attr"

    cat >"$CF_B_CNF" <<EOF
[ ca ]
default_ca = cf_ca

[ cf_ca ]
database       = $CF_B_WORK/ca-db/index.txt
new_certs_dir  = $CF_B_WORK/ca-db/newcerts
serial         = $CF_B_WORK/ca-db/serial
default_md     = sha256
policy         = cf_policy
unique_subject = no
email_in_dn    = yes
copy_extensions = none

[ cf_policy ]
organizationName = optional
commonName       = supplied
emailAddress     = optional

[ req ]
distinguished_name = req_dn
prompt             = no
string_mask        = utf8only

[ req_dn ]
CN = placeholder

[ ca_ext ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[ user_rsa_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName         = \${ENV::CF_SAN}

[ user_ec_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyAgreement
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName         = \${ENV::CF_SAN}

[ self_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, keyEncipherment
extendedKeyUsage       = emailProtection
subjectKeyIdentifier   = hash
subjectAltName         = email:mallory@example.org
EOF

    # --- the CA: self-signed through openssl ca, so that it can be valid
    # long before today (dave's expired certificate must chain to it in 2020)
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/ca.key"
    chmod 600 "$pki/ca.key"
    openssl req -new -utf8 -config "$CF_B_CNF" -key "$pki/ca.key" \
        -subj "/O=mapifs test, Inc./CN=mapifs Crypto Test CA" -out "$CF_B_WORK/ca.csr"
    echo 0CA0 >"$CF_B_WORK/ca-db/serial"
    CF_SAN=email:unused@example.org openssl ca -batch -utf8 -config "$CF_B_CNF" -selfsign -notext \
        -preserveDN -md sha256 -keyfile "$pki/ca.key" -startdate 20150101000000Z \
        -enddate 20450101000000Z -extensions ca_ext -in "$CF_B_WORK/ca.csr" -out "$pki/ca.pem"
    openssl x509 -in "$pki/ca.pem" -out "$pki/ca.pem.tmp"
    mv "$pki/ca.pem.tmp" "$pki/ca.pem"
    cp "$pki/ca.pem" "$pki/ca-dir/ca.pem"

    # --- users
    local O='/O=mapifs test, Inc.'
    _cf_cert alice rsa "$O/CN=Alice Example" email:alice@example.org 0A11CE01
    _cf_cert alice2 rsa "$O/CN=Alice Example" email:alice@example.org 0A11CE02
    _cf_cert bob rsa "$O/CN=Bob Example" email:bob@example.org 0B0B01
    _cf_cert carol ec "$O/CN=Carol Müller" email:carol@example.org 0CA201
    _cf_cert dave rsa "$O/CN=Dave Example" email:dave@example.org 0DA7E1 \
        20200101000000Z 20210101000000Z
    _cf_cert erin ec "$O/CN=Erin Example" email:erin@example.org 0E4101
    _cf_cert frank ec "$O/CN=Frank Example/emailAddress=Frank@Example.ORG" \
        email:frank.work@example.net 0F4A01
    openssl x509 -in "$pki/frank.pem" -outform DER -out "$pki/frank.der"

    # mallory: self-signed, not from the CA
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/mallory.key"
    chmod 600 "$pki/mallory.key"
    openssl req -new -x509 -config "$CF_B_CNF" -extensions self_ext -key "$pki/mallory.key" \
        -sha256 -days 3650 -set_serial 0x0BADBAD1 -subj "/O=Mallory Ltd/CN=Mallory" -out "$pki/mallory.pem"

    local u
    for u in alice alice2 bob carol erin frank; do
        openssl verify -CAfile "$pki/ca.pem" -purpose smimesign "$pki/$u.pem" >/dev/null ||
            _cf_die "$u.pem does not verify against ca.pem"
    done
    openssl verify -CAfile "$pki/ca.pem" -attime "$(date -u -d 2020-06-01T00:00:00Z +%s)" \
        -purpose smimesign "$pki/dave.pem" >/dev/null || _cf_die "dave.pem is not valid in 2020"
    if openssl verify -CAfile "$pki/ca.pem" "$pki/dave.pem" >/dev/null 2>&1; then
        _cf_die "dave.pem is valid today"
    fi
    if openssl verify -CAfile "$pki/ca.pem" "$pki/mallory.pem" >/dev/null 2>&1; then
        _cf_die "mallory.pem verifies against ca.pem"
    fi

    # PKCS#12 identities; the pass file's first line is the password
    for u in bob alice; do
        printf '%s\n%s\n' "correct horse $u p12" 'this second line is not part of the password' \
            >"$pki/$u.pass"
        chmod 600 "$pki/$u.pass"
        openssl pkcs12 -export -inkey "$pki/$u.key" -in "$pki/$u.pem" -certfile "$pki/ca.pem" \
            -name "$u" -passout "file:$pki/$u.pass" -out "$pki/$u.p12"
        chmod 600 "$pki/$u.p12"
        openssl pkcs12 -in "$pki/$u.p12" -passin "pass:correct horse $u p12" -nokeys -clcerts \
            -out "$CF_B_WORK/$u.p12.pem"
        cf_same_cert "$CF_B_WORK/$u.p12.pem" "$pki/$u.pem" || _cf_die "$u.p12 holds the wrong certificate"
    done

    # --certs preload directory
    cp "$pki/bob.pem" "$CF_B/preload/bob.pem"
    cp "$pki/erin.pem" "$CF_B/preload/erin.crt"
    cp "$pki/frank.der" "$CF_B/preload/frank.der"

    # --- messages
    local W=$CF_B_WORK s md f
    local d0=1709000000 # Date header base (2024-02-27)

    # clear-signed by alice with each digest
    for md in md5 sha1 sha256 sha384 sha512; do
        s=signed-$md
        _cf_entity "$s" "this message is clear-signed by alice with $md."
        _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" alice $md
        _cf_message "$s" "$ALICE_A" "$BOB_A" "Clear-signed, $md" $((d0 + 1)) "$W/$s.smime"
        f=$(cf_file "$s" "$CF_B/Maildir")
        _cf_verify_ok "$f"
        _cf_same "$W/verified" "$CF_B/plain/$s.eml"
        grep -q "micalg=\"\?$md\"\?" "$f" || [[ $md != md5 ]] || _cf_die "$f: micalg is not md5"
    done
    # ECDSA (carol)
    s=signed-ec
    _cf_entity "$s" "this message is clear-signed by carol with ECDSA P-256 and sha256."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" carol sha256
    _cf_message "$s" 'Carol Example <carol@example.org>' "$BOB_A" 'Clear-signed, ECDSA' $((d0 + 2)) "$W/$s.smime"
    _cf_verify_ok "$(cf_file "$s" "$CF_B/Maildir")"
    cf_cms_print "$(cf_file "$s" "$CF_B/Maildir")" | grep -q 'ecdsa-with-SHA256\|id-ecPublicKey' ||
        _cf_die "signed-ec is not an ECDSA signature"
    # opaque by alice
    s=opaque-sha256
    _cf_entity "$s" "this message is opaque-signed by alice (signed-data, sha256)."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" alice sha256 opaque
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Opaque-signed' $((d0 + 3)) "$W/$s.smime"
    _cf_verify_ok "$(cf_file "$s" "$CF_B/Maildir")"
    _cf_same "$W/verified" "$CF_B/plain/$s.eml"
    grep -q 'smime-type=signed-data' "$(cf_file "$s" "$CF_B/Maildir")" || _cf_die "$s is not signed-data"

    # dave: signed now with a certificate that expired in 2021
    s=signed-expired
    _cf_entity "$s" "this message is signed by dave, whose certificate expired in 2021."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" dave sha256
    _cf_message "$s" 'Dave Example <dave@example.org>' "$BOB_A" 'Signed with an expired certificate' \
        $((d0 + 4)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_verify_fails "$f" -CAfile "$pki/ca.pem"
    grep -q 'expired' "$W/verify.err" || _cf_die "$s: openssl does not say expired: $(cat "$W/verify.err")"
    _cf_verify_ok "$f" -attime "$(date -u -d 2020-06-01T00:00:00Z +%s)"

    # mallory: self-signed
    s=signed-untrusted
    _cf_entity "$s" "this message is signed by mallory with a self-signed certificate."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" mallory sha256
    _cf_message "$s" 'Mallory <mallory@example.org>' "$BOB_A" 'Signed by a self-signed certificate' \
        $((d0 + 5)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_verify_fails "$f" -CAfile "$pki/ca.pem"
    openssl smime -verify -noverify -in "$f" -out /dev/null || _cf_die "$s: signature itself is not correct"

    # bad: signed text altered after signing (signed by bob, so that bob's
    # address has no good signature anywhere)
    s=signed-bad
    _cf_entity "$s" "this message was altered after bob signed it."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" bob sha256
    _cf_message "$s" "$BOB_A" "$ALICE_A" 'Signed, then altered' $((d0 + 6)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_verify_ok "$f"
    grep -c 'The amount is 100 EUR.' "$f" | grep -qx 1 || _cf_die "$s: the text to alter is not there once"
    sed -i 's/The amount is 100 EUR\./The amount is 900 EUR./' "$f"
    _cf_verify_fails "$f" -noverify
    grep -qi 'digest failure\|signature failure' "$W/verify.err" ||
        _cf_die "$s: unexpected openssl error: $(cat "$W/verify.err")"

    # nocert: opaque, -nocerts: the signer certificate is not in the message
    s=signed-nocert
    _cf_entity "$s" "this message is signed by bob, without his certificate."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" bob sha256 nocerts
    _cf_message "$s" "$BOB_A" "$ALICE_A" 'Signed without the signer certificate' $((d0 + 7)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_verify_fails "$f" -CAfile "$pki/ca.pem"
    grep -qi 'signer certificate not found' "$W/verify.err" ||
        _cf_die "$s: unexpected openssl error: $(cat "$W/verify.err")"
    cf_cms_print "$f" | grep -A1 '^ *certificates:' | grep -q '<ABSENT>' || _cf_die "$s carries certificates"
    _cf_verify_ok "$f" -certfile "$pki/bob.pem" # correct once the certificate is supplied

    # garbage: multipart/signed whose signature part is base64 of plain text
    s=signed-garbage
    _cf_entity "$s" "this message has a signature part that is not CMS."
    {
        printf '%s\n' 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="----GARBAGE-BOUNDARY-42"' \
            '' 'This is an S/MIME signed message' '' '------GARBAGE-BOUNDARY-42'
        cat "$CF_B/plain/$s.eml"
        printf '%s\n' '------GARBAGE-BOUNDARY-42' \
            'Content-Type: application/pkcs7-signature; name="smime.p7s"' \
            'Content-Transfer-Encoding: base64' \
            'Content-Disposition: attachment; filename="smime.p7s"' ''
        printf 'This is not a CMS SignedData structure at all, just some text. %.0s' 1 2 3 | base64 -w 64
        printf '%s\n' '' '------GARBAGE-BOUNDARY-42--'
    } | _cf_crlf >"$W/$s.smime"
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Signed with a garbage signature' $((d0 + 8)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    if openssl cms -cmsout -in "$f" -out /dev/null 2>/dev/null; then
        _cf_die "$s: openssl parses its signature"
    fi

    # encrypted to bob with each cipher
    local c
    for s in "${CF_ENC_STEMS[@]}" enc-to-alice; do
        c=${CF_CIPHER[$s]}
        _cf_entity "$s" "this message is encrypted with $c."
        local KEYID=0
        [[ " ${CF_KEYID_STEMS[*]} " == *" $s "* ]] && KEYID=1
        # shellcheck disable=SC2086
        KEYID=$KEYID _cf_encrypt "$CF_B/plain/$s.eml" "$W/$s.smime" "$c" ${CF_RECIPS[$s]}
        _cf_message "$s" "$ALICE_A" "$BOB_A" "Encrypted, $c" $((d0 + 10)) "$W/$s.smime"
        f=$(cf_file "$s" "$CF_B/Maildir")
        cf_cms_print "$f" | grep -q "algorithm: $c (" || _cf_die "$s is not encrypted with $c"
        if [[ $s == enc-to-alice ]]; then
            _cf_decrypt_ok "$f" alice "$W/decrypted"
            _cf_decrypt_fails "$f" bob
        else
            _cf_decrypt_ok "$f" bob "$W/decrypted"
            _cf_decrypt_fails "$f" alice
        fi
        _cf_same "$W/decrypted" "$CF_B/plain/$s.eml"
        if grep -qF "$(cf_fact_b "token.$s")" "$f"; then _cf_die "$s holds its plaintext"; fi
    done
    cf_cms_print "$(cf_file enc-aes192 "$CF_B/Maildir")" | grep -q 'd.subjectKeyIdentifier' ||
        _cf_die "enc-aes192 does not name its recipient by subjectKeyIdentifier"
    cf_cms_print "$(cf_file enc-aes128gcm "$CF_B/Maildir")" | grep -q 'authEnvelopedData' ||
        _cf_die "enc-aes128gcm is not authEnvelopedData"

    # nested: alice clear-signs, then encrypted to bob
    s=nested-sign-enc
    _cf_entity "$s" "this message was clear-signed by alice, then encrypted to bob."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.signed" alice sha256
    sed -e '1{/^MIME-Version:/d}' "$W/$s.signed" | _cf_crlf >"$W/$s.signed-entity"
    _cf_encrypt "$W/$s.signed-entity" "$W/$s.smime" aes-128-cbc bob
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Signed, then encrypted' $((d0 + 20)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_decrypt_ok "$f" bob "$W/$s.inner"
    _cf_same "$W/$s.inner" "$W/$s.signed-entity"
    _cf_verify_ok "$W/$s.inner"
    _cf_same "$W/verified" "$CF_B/plain/$s.eml"
    _cf_fact "signing_time.$s" "$(_cf_signing_time "$W/$s.inner")"

    # nested, the DRS order: encrypted to bob, then opaque-signed by alice
    s=nested-enc-sign
    _cf_entity "$s" "this message was encrypted to bob, then opaque-signed by alice."
    _cf_encrypt "$CF_B/plain/$s.eml" "$W/$s.enc" aes-128-cbc bob
    sed -e '1{/^MIME-Version:/d}' "$W/$s.enc" | _cf_crlf >"$W/$s.enc-entity"
    _cf_sign "$W/$s.enc-entity" "$W/$s.smime" alice sha256 opaque
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Encrypted, then signed (opaque)' $((d0 + 21)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_verify_ok "$f"
    _cf_same "$W/verified" "$W/$s.enc-entity"
    _cf_decrypt_ok "$W/verified" bob "$W/$s.inner"
    _cf_same "$W/$s.inner" "$CF_B/plain/$s.eml"

    # nested: encrypted to bob, then clear-signed by alice
    s=nested-enc-clearsign
    _cf_entity "$s" "this message was encrypted to bob, then clear-signed by alice."
    _cf_encrypt "$CF_B/plain/$s.eml" "$W/$s.enc" aes-128-cbc bob
    sed -e '1{/^MIME-Version:/d}' "$W/$s.enc" | _cf_crlf >"$W/$s.enc-entity"
    _cf_sign "$W/$s.enc-entity" "$W/$s.smime" alice sha256
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Encrypted, then clear-signed' $((d0 + 22)) "$W/$s.smime"
    f=$(cf_file "$s" "$CF_B/Maildir")
    _cf_verify_ok "$f"
    _cf_same "$W/verified" "$W/$s.enc-entity"
    _cf_decrypt_ok "$W/verified" bob "$W/$s.inner"
    _cf_same "$W/$s.inner" "$CF_B/plain/$s.eml"

    # plain messages to seal
    s=plain-to-bob
    _cf_entity "$s" "this plain message is to be sealed for bob."
    cp "$CF_B/plain/$s.eml" "$W/$s.entity"
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Plain message to seal' $((d0 + 30)) "$W/$s.entity"
    s=plain-to-nocert
    _cf_entity "$s" "this plain message has a recipient without a certificate."
    cp "$CF_B/plain/$s.eml" "$W/$s.entity"
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Plain message, one recipient without certificate' \
        $((d0 + 31)) "$W/$s.entity" 'Cc: Zed Nocert <zed@example.org>'

    # the certificate map's overwrite rule: map-old (alice.pem) signed first,
    # map-new (alice2.pem) in a later second than every other alice signature.
    # map-new's Date header and file mtime are the OLDER ones, so only the
    # signing time can tell which is later.
    s=map-old
    _cf_entity "$s" "this message is signed with alice's first certificate."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" alice sha256
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Signed with the first certificate' 1709900000 "$W/$s.smime"
    local t_old
    t_old=$(date +%s)
    while (($(date +%s) <= t_old)); do sleep 0.2; done
    s=map-new
    _cf_entity "$s" "this message is signed with alice's second certificate."
    _cf_sign "$CF_B/plain/$s.eml" "$W/$s.smime" alice2 sha256
    _cf_message "$s" "$ALICE_A" "$BOB_A" 'Signed with the second certificate' 1609900000 "$W/$s.smime"
    _cf_verify_ok "$(cf_file map-old "$CF_B/Maildir")"
    _cf_verify_ok "$(cf_file map-new "$CF_B/Maildir")"
    touch -d @1600000000 "$(cf_file map-new "$CF_B/Maildir")"
    touch -d @1700000000 "$(cf_file map-old "$CF_B/Maildir")"

    # signing times of every directly signed message
    for s in "${!CF_SIGNER[@]}"; do
        _cf_fact "signing_time.$s" "$(_cf_signing_time "$(cf_file "$s" "$CF_B/Maildir")")"
    done
    # map-new is strictly the latest alice@example.org signature
    local tn to
    tn=$(date -u -d "$(cf_fact_b signing_time.map-new)" +%s)
    for s in "${!CF_SIGNER[@]}" nested-sign-enc; do
        [[ $s == map-new ]] && continue
        case ${CF_SIGNER[$s]:-alice} in alice | alice2) ;; *) continue ;; esac
        to=$(date -u -d "$(cf_fact_b "signing_time.$s")" +%s)
        ((to < tn)) || _cf_die "signing time of $s is not before map-new's"
    done

    # every message is a valid header block + entity with CRLF line ends
    for f in "$CF_B"/Maildir/cur/*; do
        if grep -q $'[^\r]$' "$f" || grep -qx '' "$f"; then _cf_die "$f has a bare LF line end"; fi
    done
    python3 - "$CF_B"/Maildir/cur/* <<'EOF' || _cf_die "a message is not valid"
import email, email.policy, sys
for path in sys.argv[1:]:
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        assert len(m.get_all(h, [])) == 1, (path, h)
    assert not m.defects, (path, m.defects)
EOF
    [[ $(find "$CF_B/Maildir/cur" -type f | wc -l) == "${#CF_STEMS[@]}" ]] ||
        _cf_die "not every stem has a message"
    find "$pki" -name '*.key' -o -name '*.p12' -o -name '*.pass' | while read -r f; do
        [[ $(stat -c %a "$f") == 600 ]] || _cf_die "$f is not mode 600"
    done
}

# cf_fact_b KEY: cf_fact while building (CF is not set yet).
cf_fact_b() {
    local CF=$CF_B
    cf_fact "$1"
}

# ---------------------------------------------------------------------------
# helpers for the tests (they need common.bash)

# cf_setup_file: build (or reuse) the fixtures of this test file.
cf_setup_file() {
    make_crypto_fixtures "$BATS_FILE_TMPDIR/crypto"
}

# cf_mount [OPTION...]: mount the shared fixture Maildir (tests that may
# write mount a copy instead: cf_copy_maildir + mount_mapifs).  Sets INBOX.
cf_mount() {
    mount_mapifs "$CF_MD" "$@"
    INBOX=$MNT/INBOX
}

# cf_copy_maildir DEST: a private copy of the fixture Maildir (times kept).
cf_copy_maildir() {
    mkdir -p "$1"
    cp -a "$CF_MD/." "$1/"
}

# cf_dir STEM: the message directory in the mount.
cf_dir() {
    echo "$MNT/INBOX/$(cf_uniq "$1")"
}

# assert_cf_status STEM WANT: smime/status of the message is WANT.
assert_cf_status() {
    assert_file_is "$(cf_dir "$1")/smime/status" "$2"
}

# assert_no_entry PATH: PATH does not exist.
assert_no_entry() {
    if [[ -e $1 || -L $1 ]]; then
        fail "$1 exists, it must not (ls: $(ls -A "$1" 2>&1 | head -5 | tr '\n' ' '))"
    fi
}

# assert_is_dir PATH
assert_is_dir() {
    [[ -d $1 ]] || fail "$1 is not a directory (parent: $(ls -A "$(dirname "$1")" 2>&1 | tr '\n' ' '))"
}

# cf_recipient_line NAME: the smime/recipients line of pki/NAME.pem named by
# issuer and serial number.
cf_recipient_line() {
    printf 'issuer=%s; serial=%s\n' "$(cf_x509 "$CF_PKI/$1.pem" issuer)" "$(cf_x509 "$CF_PKI/$1.pem" serial)"
}

# cf_snapshot DIR: every entry's type, mode, size and path, then the sha256
# of every file (a mount-independent picture of a message directory).
cf_snapshot() {
    (cd "$1" && find . -mindepth 1 -printf '%y %m %s %P\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

# assert_same_body MOUNTED-PidTagBody ENTITY: the body property (CR removed)
# is the decoded text of ENTITY (CRLF -> LF).
assert_same_body() {
    local got=$1 ref=$2
    [[ -f $got ]] || fail "$got: no such file"
    cf_body_text "$ref" >"$BATS_TEST_TMPDIR/body.want" || fail "no text in $ref"
    tr -d '\r' <"$got" >"$BATS_TEST_TMPDIR/body.got"
    if ! cmp -s "$BATS_TEST_TMPDIR/body.want" "$BATS_TEST_TMPDIR/body.got"; then
        fail "$(
            echo "$got differs from the text of $ref:"
            diff "$BATS_TEST_TMPDIR/body.want" "$BATS_TEST_TMPDIR/body.got" | head -20
        )"
    fi
}

# assert_refused WH-ARGS...: the write_helper.py operation fails with EPERM,
# EROFS or EACCES (at whatever stage).
assert_refused() {
    run python3 "$BATS_TEST_DIRNAME/write_helper.py" "$@"
    if [[ $status == 0 || ! $output =~ ^[a-z-]+\ (EPERM|EROFS|EACCES)$ ]]; then
        fail "write_helper.py $*: expected a refusal (EPERM/EROFS/EACCES), got '$output' (status $status)"
    fi
}
