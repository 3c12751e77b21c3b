//! The JSON API's texts: `locales/en/api.ftl` and the self-check's `locales/en/checks.ftl`, embedded at build time and keyed by slug, so
//! each text lives once (docs/architecture.md, "Texts for people"). The web page's texts are in
//! `locales/*/keygate.ftl` (`web::i18n`).

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

static CATALOG: LazyLock<FluentBundle<FluentResource>> = LazyLock::new(|| {
    let en: unic_langid::LanguageIdentifier = "en".parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![en]);
    // Plain text for JSON: no Unicode isolation marks around arguments.
    bundle.set_use_isolating(false);
    // The refusals, and the self-check's details (shared with the page: `web::i18n`).
    for source in [
        include_str!("../locales/en/api.ftl"),
        include_str!("../locales/en/checks.ftl"),
    ] {
        let resource =
            FluentResource::try_new(source.to_string()).unwrap_or_else(|(resource, errors)| {
                tracing::error!(?errors, "the API catalog has syntax errors");
                resource
            });
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(?errors, "the API catalog has duplicate messages");
        }
    }
    bundle
});

/// The API's text for `id` (a slug, or a slug and a variant) with its arguments, or `None`
/// when the catalog lacks it.
pub fn try_message(id: &str, args: &[(&str, &str)]) -> Option<String> {
    let pattern = CATALOG.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, FluentValue::from(*value));
    }
    let mut errors = Vec::new();
    let text = CATALOG
        .format_pattern(pattern, Some(&fluent_args), &mut errors)
        .into_owned();
    if !errors.is_empty() {
        tracing::warn!(id, ?errors, "API message formatted with errors");
    }
    Some(text)
}

/// The API's text for `id`; a missing id shows the id (and the catalog test fails).
pub fn message(id: &str, args: &[(&str, &str)]) -> String {
    try_message(id, args).unwrap_or_else(|| {
        tracing::warn!(id, "missing API message");
        id.to_string()
    })
}

#[cfg(test)]
mod tests {
    use keygate_core::public_key::{KeyRejection, MalformedReason, WeakReason};

    use crate::error::ApiError;

    /// Every answer's `message`, byte for byte: moving the texts into the catalogue
    /// (`locales/en/api.ftl`) must not change one.
    #[test]
    fn messages_are_unchanged() {
        let cases: Vec<(ApiError, &str)> = vec![
            (ApiError::InvalidRequest("a detail".into()), "a detail"),
            (ApiError::UnsupportedMediaType, "this endpoint takes a JSON body: send Content-Type: application/json"),
            (ApiError::PayloadTooLarge, "the request body is larger than this server accepts (max_body_bytes); send a smaller body"),
            (ApiError::RequestTimeout, "the request body did not arrive in time (body_read_timeout); send the whole body with the request"),
            (ApiError::NotFound("nothing here"), "nothing here"),
            (ApiError::MethodNotAllowed, "this method is not allowed on this path"),
            (ApiError::RateLimited { retry_after: 900 }, "too many failed attempts; try again after 900 seconds"),
            (ApiError::SignedCallsLimited { retry_after: 1 }, "this API key has too many signed calls still inside their signature window; try again after 1 seconds"),
            (ApiError::Unauthorized("log in"), "log in"),
            (ApiError::InvalidCredentials, "the API key or the password is wrong"),
            (ApiError::PublicKeyReused, "this public key was registered before; a key can be registered only once, so generate a new key pair and upload its public key"),
            (ApiError::ActiveKeyExists, "this API key already has an active public key; revoke it first, or wait until it expires, then upload the new one"),
            (ApiError::NoActiveKey, "this API key has no active public key; upload one"),
            (ApiError::NoActiveKeyToSucceed, "this API key has no active public key for a successor to replace; upload the key directly at POST /clients/api_key/public_key"),
            (ApiError::SuccessorExists, "this API key already has a staged successor; withdraw it (DELETE /clients/api_key/public_key/successor) before staging another"),
            (ApiError::NoSuccessor, "this API key has no staged successor; stage one at PUT /clients/api_key/public_key/successor"),
            (ApiError::SignatureMissing, "this route needs a signed request: send X-Request-Signature with a JWS made with the private key of your active key (see GET /system/public_key and the docs)"),
            (ApiError::SignatureInvalid("bad alg".into()), "the request signature is invalid: bad alg"),
            (ApiError::SignatureStale("iat is 400 s old".into()), "the request signature is stale: iat is 400 s old; sign each request when you send it, with iat the current time"),
            (ApiError::SignatureReplayed, "this jti was already used; every signed request needs a new, unique jti"),
            (ApiError::PublicKeyRequired, "this API key has no public key yet; upload one at POST /clients/api_key/public_key before calling protected APIs"),
            (ApiError::PublicKeyExpired, "this API key's public key has expired; upload a new public key before calling protected APIs"),
            (ApiError::PublicKeyRevoked, "this API key's public key was revoked; upload a new public key before calling protected APIs"),
            (ApiError::EncryptedFieldInvalid, "an encrypted field could not be decrypted; encrypt confidential fields to the key of GET /system/public_key as a compact JWE (RSA-OAEP-256, A256GCM) or base64 RSA-OAEP-SHA256"),
            (ApiError::UpstreamUnavailable, "the upstream service is unavailable; try again later"),
            (ApiError::UpstreamTimeout, "the upstream service did not answer in time; try again later"),
            (ApiError::LoginBusy { retry_after: 1 }, "too many logins are being checked at once; try again in 1 s"),
            (ApiError::NotReady("the database cannot be written"), "the service is not ready: the database cannot be written"),
            (ApiError::ServiceUnavailable("cause".into()), "the service is temporarily unavailable: its database cannot be reached; try again in a few seconds"),
            (ApiError::Internal("cause".into()), "an internal error occurred; it has been logged"),
            (ApiError::Key(KeyRejection::Malformed(MalformedReason::Empty)), "This is not a PEM public key: the text is empty. Paste the whole public key, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY----- (for example the output of `openssl rsa -in private.pem -pubout`)."),
            (ApiError::Key(KeyRejection::PrivateKeySubmitted), "You submitted a PRIVATE key. It was not stored, but it must now be treated as compromised: generate a new key pair, keep the private key secret, and upload only the public key (`openssl rsa -in private.pem -pubout`)."),
            (ApiError::Key(KeyRejection::NotRsa("EC")), "This is an EC key; keygate accepts RSA keys only. Generate one with `openssl genrsa -out private.pem 2048`, then upload its public key."),
            (ApiError::Key(KeyRejection::WrongSize { found: 1024, allowed: vec![2048] }), "This RSA key has 1024 bits; the allowed size is 2048. Generate a key of an allowed size (e.g. `openssl genrsa -out private.pem 2048`)."),
            (ApiError::Key(KeyRejection::WrongSize { found: 1024, allowed: vec![3072, 4096] }), "This RSA key has 1024 bits; the allowed sizes are 3072, 4096. Generate a key of an allowed size (e.g. `openssl genrsa -out private.pem 3072`)."),
            (ApiError::Key(KeyRejection::Weak(WeakReason::Exponent(3))), "This RSA key is weak: the public exponent is 3; only 65537 is accepted. Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key."),
            (ApiError::Key(KeyRejection::Weak(WeakReason::SmallFactor(7))), "This RSA key is weak: the modulus has the small prime factor 7. The key is broken or was not generated correctly. Generate a new key pair with `openssl genrsa -out private.pem 2048` and upload its public key."),
        ];
        for (error, expected) in cases {
            assert_eq!(error.message(), expected, "{error:?}");
            assert_eq!(error.envelope().message, expected, "{error:?}");
        }
    }
}
