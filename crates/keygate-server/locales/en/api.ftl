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
invalid_page-limit = limit must be a whole number from 1 to { $max }
invalid_page-cursor = cursor is not one this server gave: pass the previous page's next_cursor, or leave it out for the newest page
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

