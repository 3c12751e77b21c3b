#!/usr/bin/env bash
# Writes the seeds of the `public_key` fuzz target with openssl: PEM uploads (mode byte 0 or 1
# followed by the text) and raw DER (mode byte 128 + 2*label + policy bit, see
# fuzz_targets/public_key.rs). Run from anywhere; needs openssl 3.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/public_key
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
text() { { printf '\001'; cat "$2"; } > "$out/seed-$1"; }   # mode 1: 2048/3072/4096 allowed
der() { { printf "\\$(printf '%03o' "$2")"; cat "$3"; } > "$out/seed-$1"; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa2048.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$tmp/rsa3072.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$tmp/rsa1024.pem" 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_keygen_pubexp:3 -out "$tmp/rsa-e3.pem" 2>/dev/null
openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -out "$tmp/pss.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.pem" 2>/dev/null
openssl genpkey -algorithm ED25519 -out "$tmp/ed25519.pem" 2>/dev/null

openssl pkey -in "$tmp/rsa2048.pem" -pubout -out "$tmp/spki.pem"
openssl pkey -in "$tmp/rsa2048.pem" -pubout -outform DER -out "$tmp/spki.der"
openssl rsa -in "$tmp/rsa2048.pem" -RSAPublicKey_out -out "$tmp/pkcs1.pem" 2>/dev/null
openssl rsa -in "$tmp/rsa2048.pem" -RSAPublicKey_out -outform DER -out "$tmp/pkcs1.der" 2>/dev/null
openssl req -x509 -new -key "$tmp/rsa2048.pem" -subj /CN=keygate-fuzz -days 365 -out "$tmp/cert.pem"
openssl x509 -in "$tmp/cert.pem" -outform DER -out "$tmp/cert.der"
openssl pkey -in "$tmp/rsa3072.pem" -pubout -out "$tmp/spki3072.pem"
openssl pkey -in "$tmp/rsa1024.pem" -pubout -out "$tmp/spki1024.pem"
openssl pkey -in "$tmp/rsa-e3.pem" -pubout -out "$tmp/spki-e3.pem"
openssl pkey -in "$tmp/pss.pem" -pubout -out "$tmp/spki-pss.pem"
openssl pkey -in "$tmp/ec.pem" -pubout -out "$tmp/spki-ec.pem"
openssl pkey -in "$tmp/ed25519.pem" -pubout -out "$tmp/spki-ed25519.pem"
# A paste with CRLF line ends and the newlines double-escaped, as JSON clients send it.
tr -d '\r' < "$tmp/spki.pem" | sed 's/$/\\r\\n/' | tr -d '\n' > "$tmp/escaped.pem"

text spki "$tmp/spki.pem"
text pkcs1 "$tmp/pkcs1.pem"
text cert "$tmp/cert.pem"
text spki-3072 "$tmp/spki3072.pem"
text spki-1024 "$tmp/spki1024.pem"
text spki-e3 "$tmp/spki-e3.pem"
text spki-pss "$tmp/spki-pss.pem"
text spki-ec "$tmp/spki-ec.pem"
text spki-ed25519 "$tmp/spki-ed25519.pem"
text escaped "$tmp/escaped.pem"
text private-pkcs8 <(printf '%s\n' '-----BEGIN PRIVATE KEY-----' 'MIIB' '-----END PRIVATE KEY-----')
der der-spki 128 "$tmp/spki.der"             # label PUBLIC KEY
der der-pkcs1 130 "$tmp/pkcs1.der"           # label RSA PUBLIC KEY
der der-cert 132 "$tmp/cert.der"             # label CERTIFICATE
