#!/usr/bin/env bash
# keygate from the command line: openssl signs, curl sends.
#   KEYGATE_URL=http://127.0.0.1:8080 KEYGATE_TOKEN=... ./openssl_client.sh private.pem
set -euo pipefail
KEY=$1
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# sign METHOD PATH BODY -> the X-Request-Signature value (RS256)
sign() {
  local header payload input
  header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
  payload=$(printf '{"iat":%s,"jti":"%s","htm":"%s","htu":"%s","body_sha256":"%s"}' \
    "$(date +%s)" "$(openssl rand -hex 16)" "$1" "$2" \
    "$(printf '%s' "$3" | openssl dgst -sha256 -binary | b64url)" | b64url)
  input="$header.$payload"
  printf '%s.%s' "$input" "$(printf '%s' "$input" | openssl dgst -sha256 -sign "$KEY" -binary | b64url)"
}

call() { # METHOD PATH [BODY]
  local body=${3:-}
  curl -sS -X "$1" "$KEYGATE_URL$2" -H "Authorization: Bearer $KEYGATE_TOKEN" \
    -H "X-Request-Signature: $(sign "$1" "$2" "$body")" -H 'Content-Type: application/json' \
    ${body:+--data-binary "$body"}
}

# A card: number, pin and cvv arrive as JWEs (decrypt them with `keygate client decrypt`,
# or configure a route with scheme = "rsa-oaep-256" and use the pkeyutl line below).
call GET /demo/cards/42; echo
# Decrypting an rsa-oaep-256 field (standard base64):
#   echo "$FIELD" | openssl base64 -d -A | openssl pkeyutl -decrypt -inkey "$KEY" \
#     -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256
# ... and an rsa-pkcs1 one: -pkeyopt rsa_padding_mode:pkcs1

# A new PIN, encrypted to keygate's system key with OAEP-SHA256 (never PKCS#1 v1.5):
curl -sS "$KEYGATE_URL/system/public_key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["public_key"])' > system.pem
PIN=$(printf '3690' | openssl pkeyutl -encrypt -pubin -inkey system.pem \
  -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 | openssl base64 -A)
call POST /demo/cards/42/pin "{\"pin\":\"$PIN\"}"; echo
