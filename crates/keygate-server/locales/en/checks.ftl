# The self-check's details (POST /clients/api_key/public_key/check and the page's /self-check,
# docs/design.md §5 "Self-check"): one text per check and outcome, saying what was expected and
# what was found. Loaded by the JSON API (English) and by the page (its language). Claims are
# repeated as sent (cut at 200 characters); key material never is. Times are
# "<unix seconds> (<RFC 3339>)". Claim and header names stay as they are on the wire.
check-not-run = could not be run because the { $because } check failed
check-key_state-ok = your active key { $kid }, which expires at { $expires_at }, is the key these checks use
check-key_state-public_key_required = this API key has no public key yet: upload one (POST /clients/api_key/public_key), then sign with its private key
check-key_state-public_key_expired = this API key's public key has expired: upload a new public key, then sign with its private key
check-key_state-public_key_revoked = this API key's public key was revoked: upload a new public key, then sign with its private key
check-jws-ok = X-Request-Signature is a compact JWS: three base64url parts, a JSON header without crit, a JSON object of claims
check-jws-missing = the request has no X-Request-Signature header: send the compact JWS made for this method, path and body in X-Request-Signature
check-jws-not-ascii = the X-Request-Signature header is not ASCII: send the compact JWS exactly as made (three base64url parts separated by dots)
check-jws-several = the request has more than one X-Request-Signature header, so neither is used: send exactly one, the compact JWS made for this method, path and body
check-jws-not-compact = X-Request-Signature is not a compact JWS: send its three base64url parts separated by dots (header.payload.signature), exactly as your JOSE library made them
check-jws-malformed-header = the JWS header (the first part) is not the base64url of a JSON object with alg, kid and typ as strings and each member once: let your JOSE library make the header
check-jws-crit = the JWS header has crit, but keygate supports no JWS extensions: sign without crit
check-jws-malformed-claims = the JWS payload (the second part) is not the base64url of a UTF-8 JSON object of claims of the expected types (iat, exp and nbf numbers; jti, htm, htu, body_sha256 and ath strings): sign a JSON object of claims
check-jws-invalid = X-Request-Signature is not a valid compact JWS: send the JWS made for this method, path and body, exactly as made
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
check-ath-no-token = ath was signed, but no access token was given to compare it with: paste the token you send in Authorization (it is not stored or shown)
