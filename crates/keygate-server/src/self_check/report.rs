//! The self-check's words (docs/design.md §5, "Self-check"): each check's outcome, as keygate-core
//! reports it, becomes `{check, ok, detail}` with a text of `locales/*/checks.ftl` saying what
//! was expected and what was found. The texts come through [`Words`]: the JSON API's English
//! catalogue, or the page's catalogue in the page's language. Claims are repeated as the core
//! cut them; key material never appears (the `kid` is the key's id).

use chrono::{DateTime, SecondsFormat};
use keygate_api::{CheckName, CheckResult};
use keygate_core::jose::{
    Check, Found, InvalidReason, Outcome, SignatureError, SignedRequestReport, StaleReason,
};
use keygate_core::model::UnixTime;
use keygate_registry::RegistryError;

use crate::bearer::SignatureHeader;

/// A catalogue's text for a message id and its arguments.
pub type Words<'w> = &'w (dyn Fn(&str, &[(&str, &str)]) -> String + Sync);

/// What the words need beside the report.
pub struct Context<'a> {
    /// The id of the key the checks used.
    pub kid: &'a str,
    /// The body's length in bytes.
    pub body_len: usize,
    /// The allowed algorithms, e.g. `RS256, PS256`.
    pub allowed_algs: &'a str,
    /// `signature_max_skew` in seconds (how long a `jti` is remembered).
    pub skew: i64,
    /// Whether a bearer token came with the request (the page may check without one).
    pub token_given: bool,
}

/// The wire name of a core check.
fn name(check: Check) -> CheckName {
    match check {
        Check::Jws => CheckName::Jws,
        Check::Alg => CheckName::Alg,
        Check::Kid => CheckName::Kid,
        Check::Signature => CheckName::Signature,
        Check::Iat => CheckName::Iat,
        Check::Exp => CheckName::Exp,
        Check::Jti => CheckName::Jti,
        Check::Htm => CheckName::Htm,
        Check::Htu => CheckName::Htu,
        Check::BodySha256 => CheckName::BodySha256,
        Check::Ath => CheckName::Ath,
    }
}

fn result(
    words: Words<'_>,
    check: CheckName,
    ok: bool,
    id: &str,
    args: &[(&str, &str)],
) -> CheckResult {
    CheckResult {
        check,
        ok,
        detail: words(id, args),
    }
}

/// An instant as `<unix seconds> (<RFC 3339>)`.
fn when(t: UnixTime) -> String {
    format!(
        "{t} ({})",
        DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// `key_state` passed: the active key.
pub fn key_state_ok(words: Words<'_>, kid: &str, expires_at: UnixTime) -> CheckResult {
    let expires_at = when(expires_at);
    result(
        words,
        CheckName::KeyState,
        true,
        "check-key_state-ok",
        &[("kid", kid), ("expires_at", &expires_at)],
    )
}

/// `key_state` failed: no active key (the refusal the gateway would answer says why).
pub fn key_state_failed(words: Words<'_>, error: &RegistryError) -> CheckResult {
    let id = match error {
        RegistryError::PublicKeyExpired => "check-key_state-public_key_expired",
        RegistryError::PublicKeyRevoked => "check-key_state-public_key_revoked",
        _ => "check-key_state-public_key_required",
    };
    result(words, CheckName::KeyState, false, id, &[])
}

/// Every check from `first` on, not run because `because` failed.
pub fn not_run_from(
    words: Words<'_>,
    first: Check,
    because: CheckName,
) -> impl Iterator<Item = CheckResult> + '_ {
    Check::ALL
        .into_iter()
        .skip_while(move |c| *c != first)
        .map(move |c| not_run(words, name(c), because))
}

fn not_run(words: Words<'_>, check: CheckName, because: CheckName) -> CheckResult {
    result(
        words,
        check,
        false,
        "check-not-run",
        &[("because", because.as_str())],
    )
}

/// `jws` failed before any JWS was seen: no header, several, or one that is not ASCII.
pub fn jws_header_unusable(words: Words<'_>, header: SignatureHeader<'_>) -> CheckResult {
    let id = match header {
        SignatureHeader::Several => "check-jws-several",
        SignatureHeader::NotAscii => "check-jws-not-ascii",
        SignatureHeader::Missing | SignatureHeader::Jws(_) => "check-jws-missing",
    };
    result(words, CheckName::Jws, false, id, &[])
}

/// The text of a `jws` failure: one per way the JWS itself can be malformed, so the page says
/// it in its own language (the core's `Display` is English, for the gateway's refusals). The
/// match lists every reason, so a new one must be given its words here.
fn jws_failed(error: SignatureError) -> &'static str {
    use InvalidReason as R;
    match error {
        SignatureError::Invalid(R::NotCompactJws) => "check-jws-not-compact",
        SignatureError::Invalid(R::MalformedHeader) => "check-jws-malformed-header",
        SignatureError::Invalid(R::CritUnsupported) => "check-jws-crit",
        SignatureError::Invalid(R::MalformedClaims) => "check-jws-malformed-claims",
        // The other checks report these under their own names, never under `jws`.
        SignatureError::Invalid(
            R::AlgMissing
            | R::AlgNotAllowed
            | R::KidMismatch
            | R::BadSignature
            | R::IatMissing
            | R::JtiMissing
            | R::JtiLength
            | R::JtiCharacters
            | R::HtmMissing
            | R::HtmMismatch
            | R::HtuMissing
            | R::HtuMismatch
            | R::BodyHashMissing
            | R::BodyHashMismatch
            | R::AthMismatch,
        )
        | SignatureError::Stale(_) => "check-jws-invalid",
    }
}

/// Every check of the report, in order, in words. `jti_used`: the `jti` is in the replay
/// record, so the gateway would refuse it.
pub fn render(
    words: Words<'_>,
    report: &SignedRequestReport,
    ctx: &Context<'_>,
    jti_used: bool,
) -> Vec<CheckResult> {
    report
        .outcomes()
        .map(|(check, outcome)| match outcome {
            Outcome::NotRun(because) => not_run(words, name(check), name(*because)),
            Outcome::Passed(found) => say_one(words, check, None, found, ctx, jti_used),
            Outcome::Failed(error, found) => {
                say_one(words, check, Some(*error), found, ctx, jti_used)
            }
        })
        .collect()
}

/// One check's words; `error` is `None` when it passed.
fn say_one(
    words: Words<'_>,
    check: Check,
    error: Option<SignatureError>,
    found: &Found<String>,
    ctx: &Context<'_>,
    jti_used: bool,
) -> CheckResult {
    use InvalidReason as R;
    let ok = error.is_none();
    let wire = name(check);
    let say = |ok: bool, id: &str, args: &[(&str, &str)]| result(words, wire, ok, id, args);
    let text = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
    match (check, found) {
        (Check::Jws, _) => match error {
            None => say(true, "check-jws-ok", &[]),
            Some(e) => say(false, jws_failed(e), &[]),
        },
        (Check::Alg, Found::Alg(alg)) => {
            let args = [("alg", text(alg)), ("allowed", ctx.allowed_algs.to_owned())];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            match error {
                None => say(true, "check-alg-ok", &args),
                Some(SignatureError::Invalid(R::AlgMissing)) => {
                    say(false, "check-alg-missing", &args)
                }
                Some(_) => say(false, "check-alg-not-allowed", &args),
            }
        }
        (Check::Kid, Found::Kid { sent, expected }) => {
            let sent = text(sent);
            let args = [("kid", sent.as_str()), ("expected", expected.as_str())];
            match (error, found) {
                (Some(_), _) => say(false, "check-kid-mismatch", &args),
                (None, Found::Kid { sent: None, .. }) => say(true, "check-kid-absent", &args),
                (None, _) => say(true, "check-kid-ok", &args),
            }
        }
        (Check::Signature, Found::Signature { alg }) => {
            let args = [("alg", alg.as_str()), ("kid", ctx.kid)];
            let id = if ok {
                "check-signature-ok"
            } else {
                "check-signature-bad"
            };
            say(ok, id, &args)
        }
        (Check::Iat, Found::Iat { iat, now, skew }) => {
            let now_text = when(*now);
            let Some(iat) = iat else {
                return say(false, "check-iat-missing", &[("now", &now_text)]);
            };
            let offset = iat.saturating_sub(*now);
            let direction = match offset {
                o if o < 0 => "behind",
                o if o > 0 => "ahead",
                _ => "same",
            };
            let args = [
                ("iat", when(*iat)),
                ("seconds", offset.unsigned_abs().to_string()),
                ("direction", direction.to_owned()),
                ("now", now_text),
                ("skew", skew.to_string()),
            ];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let id = if ok {
                "check-iat-ok"
            } else {
                "check-iat-stale"
            };
            say(ok, id, &args)
        }
        (
            Check::Exp,
            Found::Exp {
                exp,
                nbf,
                now,
                skew,
            },
        ) => {
            let args = [
                ("exp", exp.map(when).unwrap_or_default()),
                ("nbf", nbf.map(when).unwrap_or_default()),
                ("now", when(*now)),
                ("skew", skew.to_string()),
            ];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let id = match (error, exp, nbf) {
                (Some(SignatureError::Stale(StaleReason::NotYetValid)), _, _) => {
                    "check-exp-not-yet-valid"
                }
                (Some(_), _, _) => "check-exp-expired",
                (None, Some(_), _) => "check-exp-ok",
                (None, None, Some(_)) => "check-exp-nbf-ok",
                (None, None, None) => "check-exp-none",
            };
            say(ok, id, &args)
        }
        (Check::Jti, Found::Jti { chars }) => {
            let chars = chars.unwrap_or_default().to_string();
            let skew = ctx.skew.to_string();
            let args = [("chars", chars.as_str()), ("skew", skew.as_str())];
            match error {
                None if jti_used => say(false, "check-jti-used", &args),
                None => say(true, "check-jti-ok", &args),
                Some(SignatureError::Invalid(R::JtiMissing)) => {
                    say(false, "check-jti-missing", &args)
                }
                Some(SignatureError::Invalid(R::JtiLength)) => {
                    say(false, "check-jti-length", &args)
                }
                Some(_) => say(false, "check-jti-characters", &args),
            }
        }
        (Check::Htm | Check::Htu | Check::BodySha256, Found::Text { sent, expected }) => {
            let bytes = ctx.body_len.to_string();
            let args = [
                ("sent", text(sent)),
                ("expected", expected.clone()),
                ("bytes", bytes),
            ];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let outcome = match (ok, sent) {
                (true, _) => "ok",
                (false, None) => "missing",
                (false, Some(_)) => "mismatch",
            };
            say(ok, &format!("check-{}-{outcome}", check.name()), &args)
        }
        (Check::Ath, Found::Ath { sent }) => {
            let id = match (ok, sent) {
                // The page checks a request that is not sent: without the token there is
                // nothing to compare the ath with.
                (false, _) if !ctx.token_given => "check-ath-no-token",
                (false, _) => "check-ath-mismatch",
                (true, true) => "check-ath-ok",
                (true, false) => "check-ath-none",
            };
            say(ok, id, &[])
        }
        // A check always reports its own kind of finding; should one not, its refusal's text
        // still says what failed.
        (_, _) => CheckResult {
            check: wire,
            ok,
            detail: error.map_or_else(|| String::from("passed"), |e| e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::web::i18n::{Lang, Tr};

    /// Every text the self-check can name is in the API's catalogue and in the page's, in
    /// every language.
    #[test]
    fn every_check_text_is_in_every_catalogue() {
        let source = include_str!("report.rs");
        let mut ids: Vec<String> = source
            .split('"')
            .filter(|s| s.starts_with("check-") && !s.ends_with('-') && !s.contains('{'))
            .map(str::to_owned)
            .collect();
        assert!(ids.len() > 30, "{ids:?}");
        for check in ["htm", "htu", "body_sha256"] {
            for outcome in ["ok", "missing", "mismatch"] {
                ids.push(format!("check-{check}-{outcome}"));
            }
        }
        for id in &ids {
            assert!(
                crate::messages::try_message(id, &[]).is_some(),
                "{id} is missing from the API's catalogue"
            );
            for lang in Lang::ALL {
                assert!(
                    Tr::new(lang).try_format(id, &[]).is_some(),
                    "{id} is missing in {}",
                    lang.code()
                );
            }
        }
    }
}
