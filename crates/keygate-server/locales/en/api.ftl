# The JSON API's `message` texts (English only: the API speaks to developers), keyed by the
# answer's slug (docs/architecture.md, "Texts for people"). Each text lives here once; the web
# page's words for people are in keygate.ftl, in every language. Arguments are plain text.
#
# A slug whose answer names its own detail (invalid_request, not_found, unauthorized) has no
# entry: the detail is the message.

unsupported_media_type = this endpoint takes a JSON body: send Content-Type: application/json
payload_too_large = the request body is larger than this server accepts (max_body_bytes); send a smaller body
request_timeout = the request body did not arrive in time (body_read_timeout); send the whole body with the request
method_not_allowed = this method is not allowed on this path
rate_limited = too many failed attempts; try again after { $retry_after } seconds
rate_limited-signed = this API key has too many signed calls still inside their signature window; try again after { $retry_after } seconds
invalid_credentials = the API key or the password is wrong

public_key_malformed = This is not a PEM public key: { $reason }. Paste the whole public key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY----- (for example the output of `openssl rsa -in private.pem -pubout`).
private_key_submitted = You submitted a PRIVATE key. It was not stored, but it must now be treated as compromised: generate a new key pair, keep the private key secret, and upload only the public key (`openssl rsa -in private.pem -pubout`).
public_key_not_rsa = This is an { $kind } key; keygate accepts RSA keys only. Generate one with `openssl genrsa -out private.pem 2048`, then upload its public key.
# $count: "one" or "other", the number of allowed sizes.
public_key_wrong_size = This RSA key has { $found } bits; the allowed { $count ->
        [one] size is
       *[other] sizes are
    } { $allowed }. Generate a key of an allowed size (e.g. `openssl genrsa -out private.pem { $example }`).
public_key_weak = This RSA key is weak: { $reason }. Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key.
# A weak key whose modulus shows it is broken (even, or a small factor).
public_key_weak-broken = This RSA key is weak: { $reason }. The key is broken or was not generated correctly. Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key.
public_key_reused = this public key was registered before; a key can be registered only once, so generate a new key pair and upload its public key
active_key_exists = this API key already has an active public key; revoke it first, or wait until it expires, then upload the new one
no_active_key = this API key has no active public key; upload one
# A successor staged without an active key (409).
no_active_key-successor = this API key has no active public key for a successor to replace; upload the key directly at POST /clients/api_key/public_key
successor_exists = this API key already has a staged successor; withdraw it (DELETE /clients/api_key/public_key/successor) before staging another
no_successor = this API key has no staged successor; stage one at PUT /clients/api_key/public_key/successor

signature_missing = this route needs a signed request: send X-Request-Signature with a JWS made with the private key of your active key (see GET /system/public_key and the docs)
signature_invalid = the request signature is invalid: { $detail }
signature_stale = the request signature is stale: { $detail }; sign each request when you send it, with iat the current time
signature_replayed = this jti was already used; every signed request needs a new, unique jti
public_key_required = this API key has no public key yet; upload one at POST /clients/api_key/public_key before calling protected APIs
public_key_expired = this API key's public key has expired; upload a new public key before calling protected APIs
public_key_revoked = this API key's public key was revoked; upload a new public key before calling protected APIs
encrypted_field_invalid = an encrypted field could not be decrypted; encrypt confidential fields to the key of GET /system/public_key as a compact JWE (RSA-OAEP-256, A256GCM) or base64 RSA-OAEP-SHA256
challenge_unknown = no encryption challenge with this id belongs to this API key; get a new one with GET /clients/api_key/public_key/check/encryption
challenge_used = this encryption challenge was already answered; each is answered once: get a new one with GET /clients/api_key/public_key/check/encryption
challenge_expired = this encryption challenge has expired (a challenge can be answered for { $minutes } minutes); get a new one with GET /clients/api_key/public_key/check/encryption

upstream_unavailable = the upstream service is unavailable; try again later
upstream_timeout = the upstream service did not answer in time; try again later
login_busy = too many logins are being checked at once; try again in { $retry_after } s
not_ready = the service is not ready: { $detail }
service_unavailable = the service is temporarily unavailable: its database cannot be reached; try again in a few seconds
internal_error = an internal error occurred; it has been logged

# The self-check's details (POST /clients/api_key/public_key/check, docs/design.md §5
# "Self-check"): one text per check and outcome, saying what was expected and what was found.
# Claims are repeated as sent (cut at 200 characters); key material never is. Times are
# "<unix seconds> (<RFC 3339>)".
check-not-run = could not be run because the { $because } check failed
check-key_state-ok = your active key { $kid }, which expires at { $expires_at }, is the key these checks use
check-key_state-public_key_required = this API key has no public key yet: upload one (POST /clients/api_key/public_key), then sign with its private key
check-key_state-public_key_expired = this API key's public key has expired: upload a new public key, then sign with its private key
check-key_state-public_key_revoked = this API key's public key was revoked: upload a new public key, then sign with its private key
check-jws-ok = X-Request-Signature is a compact JWS: three base64url parts, a JSON header without crit, a JSON object of claims
check-jws-missing = the request has no X-Request-Signature header: send the compact JWS made for this method, path and body in X-Request-Signature
check-jws-not-ascii = the X-Request-Signature header is not ASCII: send the compact JWS exactly as made (three base64url parts separated by dots)
check-jws-failed = { $reason }
check-alg-ok = alg { $alg } is allowed (allowed: { $allowed })
check-alg-missing = the JWS header has no alg: expected one of { $allowed }
check-alg-not-allowed = alg { $alg } is not allowed: expected one of { $allowed } (never none, never an HMAC algorithm)
check-kid-ok = kid { $kid } is the id of your active key
check-kid-absent = no kid was sent, so your active key { $expected } is used (sending it as kid is recommended)
check-kid-mismatch = kid { $kid } is not the id of your active key, { $expected }: sign with the active key's private key and send its id as kid
check-signature-ok = the { $alg } signature verifies with your active key { $kid }
check-signature-bad = the { $alg } signature does not verify with your active key { $kid }: sign with the private key whose public key is active (GET /clients/api_key/public_key), over the JWS header and payload exactly as sent
check-iat-ok = iat { $iat } is { $seconds } s { $direction ->
        [behind] behind
        [ahead] ahead of
       *[same] away from
    } the server's time { $now }; at most { $skew } s either way is allowed
check-iat-missing = the iat claim is missing or not a number: set iat to the time of signing in seconds since 1970 (the server's time is { $now })
check-iat-stale = iat { $iat } is { $seconds } s { $direction ->
        [behind] behind
        [ahead] ahead of
       *[same] away from
    } the server's time { $now }; at most { $skew } s either way is allowed: sign each request when you send it, and check your clock
check-exp-none = no exp and no nbf claim (both are optional)
check-exp-ok = exp { $exp } is after the server's time { $now }
check-exp-nbf-ok = nbf { $nbf } is not more than { $skew } s after the server's time { $now }
check-exp-expired = exp { $exp } is not after the server's time { $now }: the signature has expired; sign each request when you send it, with exp (if any) later than that
check-exp-not-yet-valid = nbf { $nbf } is more than { $skew } s after the server's time { $now }: the signature is not valid yet; check your clock
check-jti-ok = jti has { $chars } characters (16 to 128 are allowed) and was not used before; the self-check does not record it
check-jti-missing = the jti claim is missing: send a new random jti of 16 to 128 characters with every request (a UUID will do)
check-jti-length = jti has { $chars } characters; 16 to 128 are allowed (a UUID will do)
check-jti-characters = jti contains a control character: use printable characters only (a UUID will do)
check-jti-used = this jti was already used by a signed call within the last { $skew } s, so the gateway would refuse it (signature_replayed): use a new jti for every request
check-htm-ok = htm { $sent } is this request's method
check-htm-missing = the htm claim is missing: set htm to the request's method, { $expected }
check-htm-mismatch = htm { $sent } is not this request's method, { $expected }: sign the method you send
check-htu-ok = htu { $sent } matches this request's path and query, { $expected }
check-htu-missing = the htu claim is missing: set htu to this request's path and query, { $expected }
check-htu-mismatch = htu { $sent } does not match this request's path and query, { $expected }: sign the exact path and query you send (an absolute URL is compared by its path and query)
check-body_sha256-ok = body_sha256 is the SHA-256 of the { $bytes }-byte body received
check-body_sha256-missing = the body_sha256 claim is missing: set it to the base64url (no padding) SHA-256 of the exact body bytes; for the { $bytes }-byte body received that is { $expected }
check-body_sha256-mismatch = body_sha256 { $sent } is not the SHA-256 of the { $bytes }-byte body received, which is { $expected } (base64url, no padding): hash exactly the bytes you send, after serializing
check-ath-ok = ath is the SHA-256 of this request's bearer token
check-ath-none = no ath claim (optional; when sent, it must be the base64url SHA-256 of the bearer token)
check-ath-mismatch = ath is not the SHA-256 of this request's bearer token (base64url, no padding): hash the token you send in Authorization
