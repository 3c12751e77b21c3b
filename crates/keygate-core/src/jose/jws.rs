//! Compact JWS (RFC 7515) signature verification with RSA keys.
//!
//! Order of checks in [`verify_jws_signature`], the first failure answering:
//! 1. shape: three base64url parts, the header a JSON object;
//! 2. `alg`: present, one of the policy's allowed RSA algorithms (never `none`, never `HS*`);
//! 3. `kid`: if present, equal to the key's id;
//! 4. `crit`: refused when present (keygate understands no JWS extensions);
//! 5. the signature, with the [`ClientKey`]'s pre-parsed key for that `alg`.
//!
//! Only after all of these is the payload handed out, so no claim is trusted before the
//! signature is. Header members that point at keys (`jwk`, `jku`, `x5u`, `x5c`) are ignored: the
//! key is always the caller's registered [`ClientKey`]. Duplicate header members make the header
//! malformed rather than letting one of them win.
//!
//! Each step is its own function so that [`super::signed_request`] can run the same steps one
//! by one, either stopping at the first failure (the gateway) or reporting every step (the
//! self-check, docs/design.md §5 "Self-check").

use serde::Deserialize;

use super::alg::SigAlg;
use super::b64::b64url_decode;
use super::client_key::ClientKey;
use super::signature_error::{InvalidReason, SignatureError};

/// The protected header members keygate reads. Unknown members are ignored (RFC 7515 §4), but a
/// `crit` member is refused. Duplicate members make the header malformed.
#[derive(Debug, Clone, Deserialize)]
pub struct JwsHeader {
    /// `alg`, as sent.
    pub alg: Option<String>,
    /// `kid`, as sent.
    pub kid: Option<String>,
    /// `typ`, as sent (not checked).
    pub typ: Option<String>,
    /// `crit`, as sent; its presence is refused.
    pub crit: Option<serde_json::Value>,
}

/// A JWS whose signature verified: its algorithm, header and decoded payload.
#[derive(Debug, Clone)]
pub struct VerifiedJws {
    /// The algorithm the signature was checked with.
    pub alg: SigAlg,
    /// The protected header.
    pub header: JwsHeader,
    /// The decoded payload bytes (not yet interpreted).
    pub payload: Vec<u8>,
}

fn invalid(reason: InvalidReason) -> SignatureError {
    SignatureError::Invalid(reason)
}

/// A compact JWS split into its parts, its header read (step 1).
pub(crate) struct CompactJws<'a> {
    jws: &'a str,
    header_b64: &'a str,
    payload_b64: &'a str,
    sig_b64: &'a str,
    pub(crate) header: JwsHeader,
}

/// Step 1: three base64url parts, the header a JSON object without duplicate members.
pub(crate) fn parse_compact(jws: &str) -> Result<CompactJws<'_>, SignatureError> {
    let mut parts = jws.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid(InvalidReason::NotCompactJws));
    };
    let header_bytes = b64url_decode(header_b64).ok_or(invalid(InvalidReason::MalformedHeader))?;
    // UTF-8 checked first: serde_json skips an ignored member's string without looking at it.
    let header: JwsHeader = std::str::from_utf8(&header_bytes)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or(invalid(InvalidReason::MalformedHeader))?;
    Ok(CompactJws {
        jws,
        header_b64,
        payload_b64,
        sig_b64,
        header,
    })
}

/// The `kid` a compact JWS's header names, if the JWS splits and its header reads; nothing is
/// verified. The gateway counts a refused call against the key it names (docs/design.md §5,
/// "Usage").
pub fn jws_header_kid(jws: &str) -> Option<String> {
    parse_compact(jws).ok()?.header.kid
}

/// Step 2: `alg` present and allowed.
pub(crate) fn check_alg(
    header: &JwsHeader,
    allowed_algs: &[SigAlg],
) -> Result<SigAlg, SignatureError> {
    let alg_name = header
        .alg
        .as_deref()
        .ok_or(invalid(InvalidReason::AlgMissing))?;
    SigAlg::from_name(alg_name)
        .filter(|alg| allowed_algs.contains(alg))
        .ok_or(invalid(InvalidReason::AlgNotAllowed))
}

/// Step 3: `kid`, when present, names `key`.
pub(crate) fn check_kid(header: &JwsHeader, key: &ClientKey) -> Result<(), SignatureError> {
    match header.kid.as_deref() {
        // A UUID's hex digits may be sent in either case.
        Some(kid) if !kid.eq_ignore_ascii_case(key.kid()) => {
            Err(invalid(InvalidReason::KidMismatch))
        }
        _ => Ok(()),
    }
}

/// Step 4: no `crit`.
pub(crate) fn check_crit(header: &JwsHeader) -> Result<(), SignatureError> {
    match header.crit {
        Some(_) => Err(invalid(InvalidReason::CritUnsupported)),
        None => Ok(()),
    }
}

/// Step 5: the signature verifies with `key` for `alg`.
pub(crate) fn check_signature(
    compact: &CompactJws<'_>,
    key: &ClientKey,
    alg: SigAlg,
) -> Result<(), SignatureError> {
    let signature = b64url_decode(compact.sig_b64).ok_or(invalid(InvalidReason::BadSignature))?;
    // The signing input is the ASCII of the first two parts, exactly as received.
    let signing_input_len = compact.header_b64.len() + 1 + compact.payload_b64.len();
    let signing_input = compact
        .jws
        .as_bytes()
        .get(..signing_input_len)
        .ok_or(invalid(InvalidReason::NotCompactJws))?;
    key.verifier(alg)
        .ok_or(invalid(InvalidReason::BadSignature))?
        .verify_sig(signing_input, &signature)
        .map_err(|_| invalid(InvalidReason::BadSignature))
}

/// The payload's bytes (read only once the signature verified, or by the self-check).
pub(crate) fn decode_payload(compact: &CompactJws<'_>) -> Result<Vec<u8>, SignatureError> {
    b64url_decode(compact.payload_b64).ok_or(invalid(InvalidReason::MalformedClaims))
}

/// Verifies a compact JWS's signature with `key`, checking header, `alg`, `kid` and `crit` first
/// (see the module docs for the order). Claims are not looked at.
///
/// # Errors
/// [`SignatureError::Invalid`] naming the failed check.
pub fn verify_jws_signature(
    jws: &str,
    key: &ClientKey,
    allowed_algs: &[SigAlg],
) -> Result<VerifiedJws, SignatureError> {
    let compact = parse_compact(jws)?;
    let alg = check_alg(&compact.header, allowed_algs)?;
    check_kid(&compact.header, key)?;
    check_crit(&compact.header)?;
    check_signature(&compact, key, alg)?;
    let payload = decode_payload(&compact)?;
    Ok(VerifiedJws {
        alg,
        header: compact.header,
        payload,
    })
}
