//! The `X-Request-Signature` check of docs/design.md §5.
//!
//! [`verify_signed_request`] runs, the first failure answering:
//! 1. header, `alg`, `kid`, `crit` and the signature ([`verify_jws_signature`]);
//! 2. the payload is a JSON object of claims;
//! 3. `iat` present and a number, within `max_skew_secs` of `now` either way → else `Stale`;
//! 4. `exp`, if present, not passed; `nbf`, if present, not beyond `now + max_skew_secs`
//!    → else `Stale`;
//! 5. `jti` present, a string of 16 to 128 characters, none a control character;
//! 6. `htm` equals the request method;
//! 7. `htu` equals the request path and query (an absolute URL is compared by its path and
//!    query);
//! 8. `body_sha256` equals base64url(SHA-256(body));
//! 9. `ath`, if present, equals base64url(SHA-256(bearer token)).
//!
//! Replay detection is not here: the caller records the returned `jti`.
//!
//! The steps are written once ([`run_checks`]): the gateway runs them fail-fast
//! ([`verify_signed_request`]), the self-check records every one
//! ([`super::self_check::check_signed_request`], docs/design.md §5 "Self-check").

use serde::Deserialize;

use super::alg::SigAlg;
use super::b64::sha256_b64url;
use super::client_key::ClientKey;
use super::jws::{
    check_alg, check_crit, check_kid, check_signature, decode_payload, parse_compact,
};
use super::signature_error::{InvalidReason, SignatureError, StaleReason};
use super::steps::{Check, Found, Steps};

/// What the server knows about the request being checked.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    /// The HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The path and query exactly as received, e.g. `/cards/42?full=1`.
    pub path_and_query: &'a str,
    /// The exact request body bytes (empty for none).
    pub body: &'a [u8],
    /// The bearer token of the `Authorization` header.
    pub bearer_token: &'a str,
}

/// Operator settings for signature checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignaturePolicy {
    /// Algorithms accepted in `alg`. Default: RS256 and PS256.
    pub allowed_algs: Vec<SigAlg>,
    /// How far `iat` may be from `now`, either way, in seconds. Default: 300.
    pub max_skew_secs: i64,
}

impl Default for SignaturePolicy {
    fn default() -> Self {
        Self {
            allowed_algs: vec![SigAlg::RS256, SigAlg::PS256],
            max_skew_secs: 300,
        }
    }
}

/// A signature that passed every check: what the caller needs for replay detection and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The `jti` claim; the caller must refuse it if seen before for this API key.
    pub jti: String,
    /// The `iat` claim, in unix seconds.
    pub iat: i64,
    /// The `exp` claim, if sent.
    pub exp: Option<i64>,
    /// The algorithm the signature was made with.
    pub alg: SigAlg,
}

/// A JWT NumericDate: an integer or a finite number of seconds (fractions are truncated).
#[derive(Debug, Clone, Copy)]
struct NumericDate(i64);

impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        if let Some(i) = n.as_i64() {
            return Ok(NumericDate(i));
        }
        match n.as_f64() {
            // The range check keeps the cast exact enough and free of saturation surprises.
            #[allow(clippy::cast_possible_truncation)]
            Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(NumericDate(f.trunc() as i64)),
            _ => Err(serde::de::Error::custom("not a NumericDate")),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    iat: Option<NumericDate>,
    exp: Option<NumericDate>,
    nbf: Option<NumericDate>,
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    body_sha256: Option<String>,
    ath: Option<String>,
}

/// The path and query of an `htu`: itself when it is not an absolute `http(s)` URL; otherwise
/// everything from the first `/` or `?` after the authority (`/` when there is no path), with
/// any fragment dropped.
fn htu_path_and_query(htu: &str) -> std::borrow::Cow<'_, str> {
    let lower_prefix = htu
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let rest = if lower_prefix.starts_with("https://") {
        htu.get(8..)
    } else if lower_prefix.starts_with("http://") {
        htu.get(7..)
    } else {
        None
    };
    let Some(rest) = rest else {
        return std::borrow::Cow::Borrowed(htu);
    };
    let rest = rest.split('#').next().unwrap_or_default();
    match rest.find(['/', '?']) {
        Some(i) if rest[i..].starts_with('/') => std::borrow::Cow::Borrowed(&rest[i..]),
        Some(i) => std::borrow::Cow::Owned(format!("/{}", &rest[i..])),
        None => std::borrow::Cow::Borrowed("/"),
    }
}

/// Verifies a signed request (docs/design.md §5) in the order documented on this module.
///
/// # Errors
/// [`SignatureError::Invalid`] or [`SignatureError::Stale`] for the first check that fails.
pub fn verify_signed_request(
    jws: &str,
    key: &ClientKey,
    req: &RequestFacts<'_>,
    now: i64,
    policy: &SignaturePolicy,
) -> Result<VerifiedSignature, SignatureError> {
    // `FailFast` stops at the first failed step, so a finished run has every value.
    run_checks(jws, key, req, now, policy, &mut FailFast)?
        .ok_or(SignatureError::Invalid(InvalidReason::MalformedClaims))
}

/// The gateway's observer: the first failure is the answer; nothing is recorded.
struct FailFast;

impl Steps for FailFast {
    #[inline(always)]
    fn step<T>(
        &mut self,
        _: Check,
        result: Result<T, SignatureError>,
        _: Found<&str>,
    ) -> Result<Option<T>, SignatureError> {
        result.map(Some)
    }

    #[inline(always)]
    fn not_run(&mut self, _: Check, _: Check) {}
}

/// The steps of §5, run once in the order documented on this module, each reported to `steps`
/// ([`super::steps`]). With a fail-fast observer the first failure returns; with a recording
/// one the run goes on wherever a step's inputs exist (the claims are then read even when the
/// signature failed: a report grants nothing). `Some` when every value-bearing step passed.
#[inline(always)]
pub(crate) fn run_checks<S: Steps>(
    jws: &str,
    key: &ClientKey,
    req: &RequestFacts<'_>,
    now: i64,
    policy: &SignaturePolicy,
    steps: &mut S,
) -> Result<Option<VerifiedSignature>, SignatureError> {
    use Check as C;
    use InvalidReason as R;
    let invalid = SignatureError::Invalid;
    let stale = SignatureError::Stale;

    // 1. The JWS and its header, alg, kid, crit and signature.
    let Some(compact) = steps.step(C::Jws, parse_compact(jws), Found::Nothing)? else {
        steps.not_run_from(C::Alg, C::Jws);
        return Ok(None);
    };
    let header = &compact.header;
    let alg = steps.step(
        C::Alg,
        check_alg(header, &policy.allowed_algs),
        Found::Alg(header.alg.as_deref()),
    )?;
    let kid = Found::Kid {
        sent: header.kid.as_deref(),
        expected: key.kid(),
    };
    steps.step(C::Kid, check_kid(header, key), kid)?;
    steps.step(C::Jws, check_crit(header), Found::Nothing)?;
    match alg {
        Some(alg) => {
            let found = Found::Signature { alg: alg.name() };
            steps.step(C::Signature, check_signature(&compact, key, alg), found)?;
        }
        None => steps.not_run(C::Signature, C::Alg),
    }

    // 2. The payload is a JSON object of claims. JSON text is UTF-8 (RFC 8259 §8.1): checked
    //    first, since serde_json skips an ignored member's string without looking at its bytes.
    let claims = decode_payload(&compact).and_then(|payload| {
        std::str::from_utf8(&payload)
            .ok()
            .and_then(|text| serde_json::from_str::<Claims>(text).ok())
            .ok_or(invalid(R::MalformedClaims))
    });
    let Some(claims) = steps.step(C::Jws, claims, Found::Nothing)? else {
        steps.not_run_from(C::Iat, C::Jws);
        return Ok(None);
    };

    // 3. iat within the skew.
    let skew = policy.max_skew_secs;
    let sent_iat = claims.iat.map(|d| d.0);
    let iat = match sent_iat {
        None => Err(invalid(R::IatMissing)),
        Some(iat) if iat < now.saturating_sub(skew) || iat > now.saturating_add(skew) => {
            Err(stale(StaleReason::IatOutsideWindow))
        }
        Some(iat) => Ok(iat),
    };
    let found = Found::Iat {
        iat: sent_iat,
        now,
        skew,
    };
    let iat = steps.step(C::Iat, iat, found)?;

    // 4. exp not passed, nbf not in the future.
    let exp = claims.exp.map(|d| d.0);
    let nbf = claims.nbf.map(|d| d.0);
    let window = if exp.is_some_and(|exp| exp <= now) {
        Err(stale(StaleReason::Expired))
    } else if nbf.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
        Err(stale(StaleReason::NotYetValid))
    } else {
        Ok(())
    };
    let found = Found::Exp {
        exp,
        nbf,
        now,
        skew,
    };
    steps.step(C::Exp, window, found)?;

    // 5. jti's form (its freshness is the caller's replay record).
    let jti_chars = claims.jti.as_deref().map(|jti| jti.chars().count());
    let jti_form = match (claims.jti.as_deref(), jti_chars) {
        (Some(_), Some(n)) if !(16..=128).contains(&n) => Err(invalid(R::JtiLength)),
        (Some(jti), Some(_)) if jti.chars().any(char::is_control) => Err(invalid(R::JtiCharacters)),
        (Some(jti), Some(_)) => Ok(jti),
        _ => Err(invalid(R::JtiMissing)),
    };
    let found = Found::Jti { chars: jti_chars };
    if let Some(jti) = steps.step(C::Jti, jti_form, found)? {
        steps.jti(jti);
    }

    // 6.–9. htm, htu, body_sha256, ath.
    let htm = match claims.htm.as_deref() {
        None => Err(invalid(R::HtmMissing)),
        Some(htm) if htm != req.method => Err(invalid(R::HtmMismatch)),
        Some(_) => Ok(()),
    };
    let found = Found::Text {
        sent: claims.htm.as_deref(),
        expected: req.method,
    };
    steps.step(C::Htm, htm, found)?;

    let htu = match claims.htu.as_deref() {
        None => Err(invalid(R::HtuMissing)),
        Some(htu) if htu_path_and_query(htu) != req.path_and_query => Err(invalid(R::HtuMismatch)),
        Some(_) => Ok(()),
    };
    let found = Found::Text {
        sent: claims.htu.as_deref(),
        expected: req.path_and_query,
    };
    steps.step(C::Htu, htu, found)?;

    let body_sha256 = sha256_b64url(req.body);
    let body = match claims.body_sha256.as_deref() {
        None => Err(invalid(R::BodyHashMissing)),
        Some(sent) if sent != body_sha256 => Err(invalid(R::BodyHashMismatch)),
        Some(_) => Ok(()),
    };
    let found = Found::Text {
        sent: claims.body_sha256.as_deref(),
        expected: body_sha256.as_str(),
    };
    steps.step(C::BodySha256, body, found)?;

    let ath = match claims.ath.as_deref() {
        Some(ath) if ath != sha256_b64url(req.bearer_token.as_bytes()) => {
            Err(invalid(R::AthMismatch))
        }
        _ => Ok(()),
    };
    let found = Found::Ath {
        sent: claims.ath.is_some(),
    };
    steps.step(C::Ath, ath, found)?;

    Ok(match (alg, iat, claims.jti) {
        (Some(alg), Some(iat), Some(jti)) => Some(VerifiedSignature { jti, iat, exp, alg }),
        _ => None,
    })
}

/// Verifies a signed request against the first of `keys` it was made with (docs/design.md §2,
/// "Rotation"): `keys[0]` is the active key, the others (the retiring key during a rotation's
/// overlap) are tried only when the one before refused the JWS as made with another key (its
/// `kid` names another key, or its signature does not verify). So a `kid` picks the key, and
/// without a `kid` the active key is tried first, then the retiring one. Returns the check's
/// result and the index of the key that verified, to encrypt the answer to that key.
///
/// # Errors
/// The first key's refusal, unless a later key verified the signature and then refused a
/// claim: that refusal is the one that describes the request.
pub fn verify_signed_request_by_any(
    jws: &str,
    keys: &[&ClientKey],
    req: &RequestFacts<'_>,
    now: i64,
    policy: &SignaturePolicy,
) -> Result<(VerifiedSignature, usize), SignatureError> {
    let wrong_key = |e: &SignatureError| {
        matches!(
            e,
            SignatureError::Invalid(InvalidReason::KidMismatch | InvalidReason::BadSignature)
        )
    };
    let mut first_error = None;
    for (index, key) in keys.iter().enumerate() {
        match verify_signed_request(jws, key, req, now, policy) {
            Ok(verified) => return Ok((verified, index)),
            Err(e) if wrong_key(&e) => {
                first_error.get_or_insert(e);
            }
            // Made with this key, refused for a claim: that is the answer.
            Err(e) => return Err(e),
        }
    }
    Err(first_error.unwrap_or(SignatureError::Invalid(InvalidReason::BadSignature)))
}

#[cfg(test)]
mod htu_tests {
    use super::htu_path_and_query;

    #[test]
    fn absolute_urls_reduce_to_path_and_query() {
        assert_eq!(htu_path_and_query("/cards/42?full=1"), "/cards/42?full=1");
        assert_eq!(
            htu_path_and_query("https://api.example.com/cards/42?full=1"),
            "/cards/42?full=1"
        );
        assert_eq!(
            htu_path_and_query("HTTP://api.example.com:8080/a#frag"),
            "/a"
        );
        assert_eq!(htu_path_and_query("https://api.example.com"), "/");
        assert_eq!(htu_path_and_query("https://api.example.com?x=1"), "/?x=1");
        assert_eq!(htu_path_and_query("cards/42"), "cards/42");
    }
}
