//! Why a signed request is refused. Below [`super::jws`] and [`super::signed_request`], which
//! both answer with it, so neither imports the other's types back.

/// Which check of a signed request failed. The text is safe to show to the caller: it names the
/// check, never key material or the expected values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    /// Not three dot-separated parts.
    #[error("the signature is not a compact JWS (three base64url parts separated by dots)")]
    NotCompactJws,
    /// The header is not base64url of a JSON object (or has duplicate members).
    #[error("the JWS header is not base64url of a JSON object")]
    MalformedHeader,
    /// No `alg` in the header.
    #[error("the JWS header has no alg")]
    AlgMissing,
    /// `alg` is not one of the allowed RSA algorithms.
    #[error("the JWS alg is not allowed (RS256 or PS256 unless the operator allows more; never none or HMAC)")]
    AlgNotAllowed,
    /// `kid` is not the id of the caller's active key.
    #[error("the JWS kid is not the id of your active key")]
    KidMismatch,
    /// The header has `crit`.
    #[error("the JWS header has crit; no JWS extensions are supported")]
    CritUnsupported,
    /// The signature does not verify.
    #[error("the JWS signature does not verify with your active key")]
    BadSignature,
    /// The payload is not a JSON object of claims of the right types.
    #[error("the JWS payload is not a JSON object of claims with the expected types")]
    MalformedClaims,
    /// `iat` is missing.
    #[error("the iat claim is missing")]
    IatMissing,
    /// `jti` is missing.
    #[error("the jti claim is missing")]
    JtiMissing,
    /// `jti` is shorter than 16 or longer than 128 characters.
    #[error("the jti claim must be 16 to 128 characters")]
    JtiLength,
    /// `jti` holds a control character (NUL included): it could not be stored as text.
    #[error("the jti claim must not contain control characters")]
    JtiCharacters,
    /// `htm` is missing.
    #[error("the htm claim is missing")]
    HtmMissing,
    /// `htm` is not the request method.
    #[error("the htm claim does not match the request method")]
    HtmMismatch,
    /// `htu` is missing.
    #[error("the htu claim is missing")]
    HtuMissing,
    /// `htu` is not the request path and query.
    #[error("the htu claim does not match the request path and query")]
    HtuMismatch,
    /// `body_sha256` is missing.
    #[error("the body_sha256 claim is missing")]
    BodyHashMissing,
    /// `body_sha256` is not the SHA-256 of the body.
    #[error("the body_sha256 claim does not match the SHA-256 of the request body (base64url, no padding)")]
    BodyHashMismatch,
    /// `ath` is not the SHA-256 of the bearer token.
    #[error(
        "the ath claim does not match the SHA-256 of the bearer token (base64url, no padding)"
    )]
    AthMismatch,
}

/// Why a signature is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StaleReason {
    /// `iat` is further from the server's clock than the allowed skew.
    #[error("the iat claim is outside the allowed clock skew")]
    IatOutsideWindow,
    /// `exp` has passed.
    #[error("the exp claim has passed")]
    Expired,
    /// `nbf` is in the future (beyond the allowed skew).
    #[error("the nbf claim is in the future")]
    NotYetValid,
}

/// A refused signed request: `Invalid` maps to `signature_invalid`, `Stale` to
/// `signature_stale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Bad JWS, wrong key, wrong alg or claim mismatch.
    #[error("{0}")]
    Invalid(InvalidReason),
    /// Outside the time window.
    #[error("{0}")]
    Stale(StaleReason),
}
