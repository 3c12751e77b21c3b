# keygate web page — English. Every message id here must exist in el and es too (a unit test checks).

app-name = keygate · API Certificate
skip-to-content = Skip to content
lang-switcher = Language
logout = Log out
footer = Your public key is used to check your signed API requests and to encrypt confidential data sent to you.
who = { $client } · API key “{ $apikey }”

## Dates (UTC)
date = { $day } { $monthname } { $year }
date-time = { $date }, { $time } UTC
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

## Login
login-title = Log in
login-intro = Log in with your API key and its password to manage its public key.
login-api-key = API key
login-password = Password
login-submit = Log in

## The page
page-title = API Certificate
page-intro = Register the RSA public key of this API key. Your API calls are signed with the matching private key, which never leaves your systems.
notice-uploaded = Your public key was uploaded and is now active.
notice-revoked = Your public key was revoked. Your API calls are refused until you upload a new key.
notice-staged = Your successor key was staged. It becomes active when the current key expires or is revoked, or when you activate it.
notice-withdrawn = The staged successor was withdrawn. It can never be registered again: stage the public key of a new key pair when you are ready.
notice-activated = Your successor key is now active.
current-heading = Current key
active-summary = Active key { $fingerprint }, issued on { $issued }, valid until { $expires }.
expiry-banner = Your public key expires on { $date } (in { $days } days). Generate a new key pair now and stage its public key as the successor: it takes over when this key expires, with no interruption.
expiry-banner-link = Stage the successor
no-active-key = No active key: your API calls are refused until you upload one.
no-key-yet = No public key has been uploaded for this API key yet.
last-key-revoked = Your last key was revoked on { $when }.
last-key-expired = Your last key expired on { $date }.
revoke = Revoke key

upload-heading = Upload a public key
upload-while-active = This API key already has an active key. To replace it without interruption, stage its successor above; to upload here, revoke the active key first.
upload-paste-label = Public key (PEM)
upload-paste-hint = Paste the whole public key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----. Never paste a private key.
upload-file-label = Or choose a .pem file
upload-submit = Upload

history-heading = Your keys
history-caption = Every public key of this API key, newest first
history-empty = No keys yet.
col-public-key = Public key
col-issued = Issue date
col-expires = Expiry date
col-status = Status
view-key = View key

activity-heading = Activity
activity-caption = What was done with this API key, newest first
activity-empty = Nothing yet.
col-when = When
col-event = What
col-actor = Who
col-source = From
actor-you = You
actor-operator = The bank's operator
actor-keygate = keygate (automatic)
actor-other = Someone else
event-key-uploaded = Public key uploaded
event-key-revoked = Public key revoked
event-key-expiring = Public key about to expire
event-key-expired = Public key expired
event-key-successor_activated = Successor key became active
event-login-locked = Logins locked after too many failures
event-client-created = Client created
event-client-updated = Client changed
event-api_key-created = API key created
event-api_key-updated = API key changed
event-key-successor_staged = Successor key staged
event-key-successor_withdrawn = Successor key withdrawn
event-key-retired = Previous key retired
event-login-succeeded = Logged in
event-login-failed = Failed login
event-logout = Logged out
event-system_key-created = System key made
event-system_key-rotated = System key rotated
event-admin-command = Operator command
event-audit-checkpoint = Old activity removed (retention)
status-active = ACTIVE
status-expired = EXPIRED
status-revoked = REVOKED
status-pending = PENDING
status-retiring = RETIRING
status-withdrawn = WITHDRAWN
pending-activates = Becomes active on { $when }
retiring-until = Still accepted until { $when }
withdrawn-on = Withdrawn on { $when }
revoked-on = Revoked on { $when }
revoked-on-because = Revoked on { $when }: { $reason }
col-usage = Usage
usage-never = Never used
usage-last-used = Last used { $ago }
usage-counts = { $accepted ->
        [one] 1 call accepted
       *[other] { $accepted } calls accepted
    }, { $refused } refused
usage-last-refusal = Last refusal: { $slug }, { $ago }
ago-seconds = { $n ->
        [0] just now
        [one] 1 second ago
       *[other] { $n } seconds ago
    }
ago-minutes = { $n ->
        [one] 1 minute ago
       *[other] { $n } minutes ago
    }
ago-hours = { $n ->
        [one] 1 hour ago
       *[other] { $n } hours ago
    }
ago-days = { $n ->
        [one] 1 day ago
       *[other] { $n } days ago
    }

## Key view
key-title = Public key
back-to-page = Back to API Certificate
key-id = Key id
key-fingerprint = Fingerprint (SHA-256)
key-thumbprint = JWK thumbprint (RFC 7638)
key-algorithm = Algorithm
key-bits = Size (bits)
key-exponent = Public exponent
key-pem = Public key (PEM)
key-copy = Copy
key-copied = Copied
key-copy-hint = Select the text to copy it.

## Revoke
revoke-title = Revoke the public key
revoke-question = Revoke the active key { $fingerprint }, issued on { $issued }?
revoke-consequence = Revocation takes effect at once and cannot be undone: your API calls are refused until you upload a new public key, and a revoked key can never be uploaded again.
revoke-reason = Reason (optional)
revoke-confirm = Yes, revoke the key
revoke-cancel = Cancel

## Successor
successor-heading = Successor key
successor-hint = Stage the public key of your next key pair while the current one is still active. It becomes active the moment the current key expires or is revoked, or when you activate it, and its validity counts from then.
successor-submit = Stage successor
successor-summary = Staged successor { $fingerprint }: it becomes active on { $when }, unless you activate it earlier.
successor-activate = Activate now
successor-withdraw = Withdraw
activate-title = Activate the successor key
activate-question = Activate the staged key { $fingerprint } now, in place of the active key { $active }?
activate-consequence = The current key is revoked at once: calls signed with it are refused from now on. Make sure every server that signs calls holds the new private key.
activate-consequence-overlap = The current key is still accepted until { $when }, then revoked. Make sure every server that signs calls holds the new private key by then.
activate-confirm = Yes, activate it now
activate-cancel = Cancel

## Errors
error-title = Something went wrong
err-csrf = This form has expired or did not come from this page. Go back, reload the page and try again.
err-login-missing = Enter both the API key and the password.
err-reason-invalid = The reason may have at most 500 characters and no control characters.
err-invalid_request = The request could not be understood. Go back and try again.
err-invalid_page = A list was asked for with a wrong page size or position. Go back and try again.
err-payload_too_large = The file or text is too large. A public key is a few hundred characters long.
err-not_found = This page or key does not exist.
err-unauthorized = Your session has ended. Log in again.
err-invalid_credentials = The API key or the password is wrong.
err-rate_limited = Too many failed attempts. Try again in { $minutes } minutes.
err-login_busy = Many logins are being checked right now. Try again in a few seconds.
err-internal_error = An internal error occurred; it has been logged. Try again later.
err-service_unavailable = The service cannot reach its database right now. Nothing was changed; try again in a few seconds.
err-public_key_reused = This public key was registered before. A key can be registered only once: generate a new key pair and upload its public key.
err-active_key_exists = This API key already has an active public key. Revoke it first, or wait until it expires, then upload the new one.
err-no_active_key = This API key has no active public key.
err-no_active_key-successor = This API key has no active public key, so there is nothing for a successor to replace: upload your new public key directly with the upload form.
err-successor_exists = This API key already has a staged successor. Withdraw it before staging another.
err-no_successor = This API key has no staged successor.
err-private_key_submitted = You submitted a PRIVATE key. It was not stored, but it must now be treated as compromised: generate a new key pair, keep the private key secret, and upload only the public key (openssl rsa -in private.pem -pubout).
err-public_key_malformed = This is not a PEM public key: { $reason }. Paste the whole public key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY----- (for example the output of openssl rsa -in private.pem -pubout).
err-public_key_not_rsa = This is an { $kind } key; only RSA keys are accepted. Generate one with openssl genrsa -out private.pem 2048, then upload its public key.
err-public_key_wrong_size = This RSA key has { $found } bits; the allowed size is { $allowed } bits. Generate a key of an allowed size (for example openssl genrsa -out private.pem { $example }).
err-public_key_weak = This RSA key is weak: { $reason }. Generate a new key pair with openssl genrsa -out private.pem 2048 and upload its public key.
malformed-empty = the text is empty
malformed-no-pem-block = no PEM block (-----BEGIN PUBLIC KEY-----) was found
malformed-several-blocks = more than one PEM block was found
malformed-trailing-data = there is text before the BEGIN line or after the END line
malformed-bad-envelope = the END line is missing or does not match the BEGIN line
malformed-headers = the PEM block carries headers
malformed-bad-base64 = the base64 inside the PEM block is invalid
malformed-unknown-label = the PEM label is not PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE
malformed-bad-der = the key data inside the PEM block cannot be parsed
weak-exponent = the public exponent is { $value }; only 65537 is accepted
weak-exponent-too-large = the public exponent is too large; only 65537 is accepted
weak-even-modulus = the modulus is even, so the key is broken
weak-small-factor = the modulus has the small prime factor { $value }, so the key is broken

## Self-check (/self-check, /self-check/encryption)
selfcheck-heading = Self-check
selfcheck-hint = Prove your integration before going live: check a signed request your program made, and check that your private key reads what keygate encrypts.
selfcheck-signature-link = Check a signed request
selfcheck-encryption-link = Check decryption
selfcheck-title = Check a signed request
selfcheck-intro = Paste the parts of a protected call as your program sends it. keygate runs the gateway's checks on it, as it would judge it now, and says for each what it expected and what it found. Nothing is sent anywhere and the jti is not recorded. To check a call exactly as your program sends it, use POST /clients/api_key/public_key/check or keygate client check.
selfcheck-request-heading = The request
selfcheck-method = Method
selfcheck-path = Path and query
selfcheck-path-hint = As your program sends it, starting with /, for example /cards/42?expand=pin.
selfcheck-body = Body
selfcheck-body-hint = The exact bytes your program sends; empty for none.
selfcheck-newlines = Line breaks in the body
selfcheck-newlines-lf = LF (\n), as most programs send JSON
selfcheck-newlines-crlf = CRLF (\r\n)
selfcheck-signature-hint = The compact JWS your program made for this method, path and body.
selfcheck-token = Access token (optional)
selfcheck-token-hint = Needed only to check a signed ath. It is compared and forgotten: never stored, logged or shown again.
selfcheck-submit = Run the checks
selfcheck-results = Results
selfcheck-all-ok = Every check passed: the gateway would accept this request now.
selfcheck-some-failed = Some checks failed: the gateway would refuse this request. The first failure is the refusal it would answer.
selfcheck-col-check = Check
selfcheck-col-result = Result
selfcheck-col-detail = What was expected and found
selfcheck-passed = passed
selfcheck-failed = failed
selfcheck-bad-method = Choose one of the methods offered.
selfcheck-bad-path = The path must start with / and hold only visible ASCII characters (percent-encode the rest), at most 2048 of them.
selfcheck-bad-token = This is not a live access token of the API key you are logged in with. Leave the field empty to check without it.
selfcheck-body-too-large = The form is larger than { $bytes } bytes, the most a request may carry: a body this large cannot be signed for the gateway either.
selfcheck-encryption-title = Check decryption
selfcheck-encryption-intro = keygate encrypted one random text to your active key { $kid } in each scheme it uses for confidential fields. Decrypt any of them with its private key and enter the text: if it is right, your program can read the card numbers and PINs it receives. The challenge can be answered once, until { $when }.
selfcheck-challenge-heading = The challenge
selfcheck-scheme-jwe = jwe: compact JWE (RSA-OAEP-256, A256GCM), for your JOSE library
selfcheck-scheme-oaep = rsa-oaep-256: RSA-OAEP with SHA-256, base64
selfcheck-scheme-pkcs1 = rsa-pkcs1: RSA PKCS#1 v1.5, base64
selfcheck-openssl = With openssl, where private.pem is your private key:
selfcheck-answer = The decrypted text
selfcheck-answer-submit = Check the text
selfcheck-answer-ok = Right: your private key reads what keygate encrypts to your active key.
selfcheck-answer-wrong = That is not the text that was encrypted. Is the private key the one of your active key? This challenge is used up; start a new one.
selfcheck-new-challenge = New challenge
err-challenge_unknown = There is no such challenge for this API key. Start a new one.
err-challenge_used = This challenge was already answered. Start a new one.
err-challenge_expired = This challenge has expired: it can be answered for five minutes. Start a new one.
