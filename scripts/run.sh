#!/usr/bin/env bash
# Set up mapifs and run it.
#   scripts/run.sh                      mount a bundled sample mailbox at ./mnt and list it
#   scripts/run.sh MAILDIR MOUNTPOINT [mapifs options]   mount that mailbox
# Unmount with: fusermount3 -u MOUNTPOINT
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" "$root/build"
mapifs="$root/build/fs/mapifs"

if [ $# -eq 0 ]; then
  sample="$root/sample"
  if [ ! -d "$sample/Maildir" ]; then
    rm -rf "$sample"
    "$root/scripts/make-sample-mailbox.sh" "$sample" >/dev/null
  fi
  src="$sample/Maildir"
  mnt="$root/mnt"
  # the sample's own test CA and Bob's key: signatures verify, mail to Bob decrypts
  set -- --ca "$sample/pki/ca.pem" --key "$sample/pki/bob.key" --cert "$sample/pki/bob.pem"
else
  [ $# -ge 2 ] || { echo "usage: $0 [MAILDIR MOUNTPOINT [mapifs options]]" >&2; exit 2; }
  src=$1 mnt=$2
  shift 2
fi

mkdir -p "$mnt"
if mountpoint -q "$mnt"; then
  fusermount3 -u "$mnt"
fi
"$mapifs" "$@" "$src" "$mnt"
for _ in $(seq 50); do mountpoint -q "$mnt" && break; sleep 0.1; done

echo "mapifs: $src is mounted at $mnt (unmount with: fusermount3 -u $mnt)"
if [ "$src" = "${sample:-}/Maildir" ]; then
  m="$mnt/INBOX/1700000004.M4P1.signed"
  ( cd "$mnt" && ls -d */ */* )
  echo
  echo "== a clear-signed message: $m"
  ls "$m"
  printf 'PidTagMessageClass: %s' "$(cat "$m/PidTagMessageClass")"; echo
  printf 'PidTagSubject:      %s' "$(cat "$m/PidTagSubject")"; echo
  echo "attachments/0/PidTagAttachLongFilename: $(cat "$m/attachments/0/PidTagAttachLongFilename")"
  echo "smime/status:       $(cat "$m/smime/status")  (signer: $(cat "$m/smime/signers/0/email"))"
  e="$mnt/INBOX/1700000006.M6P1.encrypted"
  echo
  echo "== an encrypted message, decrypted with the sample's key for Bob: $e"
  echo "smime/cipher: $(cat "$e/smime/cipher")   smime/status: $(cat "$e/smime/status")"
  echo "smime/content/PidTagBody:"
  sed 's/^/  /' "$e/smime/content/PidTagBody"
  echo
  echo "certificates/: $(ls "$mnt/certificates")"
else
  ls "$mnt"
fi
