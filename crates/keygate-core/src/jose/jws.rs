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

    let alg_name = header
        .alg
        .as_deref()
        .ok_or(invalid(InvalidReason::AlgMissing))?;
    let alg = SigAlg::from_name(alg_name)
        .filter(|alg| allowed_algs.contains(alg))
        .ok_or(invalid(InvalidReason::AlgNotAllowed))?;

    if let Some(kid) = header.kid.as_deref() {
        // A UUID's hex digits may be sent in either case.
        if !kid.eq_ignore_ascii_case(key.kid()) {
            return Err(invalid(InvalidReason::KidMismatch));
        }
    }
    if header.crit.is_some() {
        return Err(invalid(InvalidReason::CritUnsupported));
    }

    let signature = b64url_decode(sig_b64).ok_or(invalid(InvalidReason::BadSignature))?;
    // The signing input is the ASCII of the first two parts, exactly as received.
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    let signing_input = jws
        .as_bytes()
        .get(..signing_input_len)
        .ok_or(invalid(InvalidReason::NotCompactJws))?;
    key.verifier(alg)
        .ok_or(invalid(InvalidReason::BadSignature))?
        .verify_sig(signing_input, &signature)
        .map_err(|_| invalid(InvalidReason::BadSignature))?;

    let payload = b64url_decode(payload_b64).ok_or(invalid(InvalidReason::MalformedClaims))?;
    Ok(VerifiedJws {
        alg,
        header,
        payload,
    })
}
