#!/bin/sh
# A development CA and certificates for the broker's TLS listener, in one command (openssl CLI):
#   broker/dev-ca.sh DIR [DEVICE_ID ...]
# writes DIR/ca.crt, DIR/server.crt + server.key (valid for localhost and 127.0.0.1) and, per device
# id, DIR/DEVICE_ID.crt + DEVICE_ID.key with the device id as the certificate's CN (what the broker
# maps to the device with --tls-ca). For development only: keys are unencrypted, the CA lives 30 days.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 DIR [DEVICE_ID ...]" >&2; exit 2; }
dir=$1; shift
# Before the folder exists: it and every key in it are owner-only from the first byte.
umask 077
mkdir -p "$dir"
days=30

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
  -subj "/CN=brewtel dev CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null

issue() { # name subject extensions
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
    -keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null
  printf '%s\n' "$3" > "$dir/$1.ext"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$days" -extfile "$dir/$1.ext" -out "$dir/$1.crt" 2>/dev/null
  rm -f "$dir/$1.csr" "$dir/$1.ext"
}

issue server "/CN=localhost" "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
for device in "$@"; do
  case $device in */*|.*) echo "not a device id: $device" >&2; exit 2 ;; esac
  issue "$device" "/CN=$device" "extendedKeyUsage=clientAuth"
done
rm -f "$dir/ca.srl"
echo "$dir: ca.crt server.crt server.key${*:+ and a certificate per device}"
