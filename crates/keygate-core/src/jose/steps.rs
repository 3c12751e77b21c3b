//! The steps of a signed-request check (docs/design.md §5), named, and how a run of them is
//! observed. [`super::signed_request`] runs the steps once, in the gateway's order; what
//! happens after each step is the observer's choice:
//!
//! * the gateway stops at the first failure (`FailFast`, in `signed_request`): every method
//!   here is inlined away, so the hot path does what it did before the self-check existed, with
//!   no allocation of its own;
//! * the self-check ([`super::self_check`]) records every step and goes on where it can, so one
//!   answer names every mistake.

use super::signature_error::SignatureError;

/// One check of a signed request, in the order the self-check reports them
/// (docs/design.md §5). The key state, checked before any of these, is the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// The compact JWS: three base64url parts, a JSON header without `crit`, a JSON payload
    /// of claims of the right types.
    Jws,
    /// `alg` present and allowed.
    Alg,
    /// `kid`, if present, the id of the key checked against.
    Kid,
    /// The signature verifies with the key.
    Signature,
    /// `iat` present and within the allowed skew.
    Iat,
    /// `exp`, if present, not passed; `nbf`, if present, not in the future.
    Exp,
    /// `jti` present, 16 to 128 characters, no control character (its freshness is the
    /// caller's: the replay record).
    Jti,
    /// `htm` is the request's method.
    Htm,
    /// `htu` is the request's path and query.
    Htu,
    /// `body_sha256` is the SHA-256 of the body.
    BodySha256,
    /// `ath`, if present, is the SHA-256 of the bearer token.
    Ath,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: [Check; 11] = [
        Check::Jws,
        Check::Alg,
        Check::Kid,
        Check::Signature,
        Check::Iat,
        Check::Exp,
        Check::Jti,
        Check::Htm,
        Check::Htu,
        Check::BodySha256,
        Check::Ath,
    ];

    /// The check's name on the wire (`body_sha256`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Check::Jws => "jws",
            Check::Alg => "alg",
            Check::Kid => "kid",
            Check::Signature => "signature",
            Check::Iat => "iat",
            Check::Exp => "exp",
            Check::Jti => "jti",
            Check::Htm => "htm",
            Check::Htu => "htu",
            Check::BodySha256 => "body_sha256",
            Check::Ath => "ath",
        }
    }

    /// Its place in [`Check::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What a step compared, for a report's words: the value sent and what it was compared with.
/// Never key material: a `kid` is a key's id, and hashes are of the caller's own body.
/// `S` is `&str` while the steps run (nothing copied) and `String` in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<S> {
    /// Nothing worth naming.
    Nothing,
    /// The `alg` sent.
    Alg(Option<S>),
    /// The `kid` sent and the id of the key checked against.
    Kid {
        /// The `kid` of the header, if any.
        sent: Option<S>,
        /// The key's id.
        expected: S,
    },
    /// The algorithm the signature was checked with.
    Signature {
        /// `RS256`, `PS256`, …
        alg: S,
    },
    /// `iat` and the server's time.
    Iat {
        /// The claim, if present and a number.
        iat: Option<i64>,
        /// The server's time.
        now: i64,
        /// The allowed skew, in seconds.
        skew: i64,
    },
    /// `exp`, `nbf` and the server's time.
    Exp {
        /// `exp`, if present.
        exp: Option<i64>,
        /// `nbf`, if present.
        nbf: Option<i64>,
        /// The server's time.
        now: i64,
        /// The allowed skew, in seconds.
        skew: i64,
    },
    /// The length of `jti`, in characters.
    Jti {
        /// `None` when there is no `jti`.
        chars: Option<usize>,
    },
    /// A claim and what it must equal (`htm`, `htu`, `body_sha256`).
    Text {
        /// The claim, if present.
        sent: Option<S>,
        /// What it is compared with: the method, the path and query, the body's hash.
        expected: S,
    },
    /// Whether an `ath` was sent (its value is a hash of the token: never repeated).
    Ath {
        /// `true` when the claim is present.
        sent: bool,
    },
}

/// The longest claim text a report repeats (a longer one is cut, with `…`).
const MAX_ECHO_CHARS: usize = 200;

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl Found<&str> {
    /// The owned copy a report keeps (long texts cut).
    #[must_use]
    pub fn to_owned_found(&self) -> Found<String> {
        let own = |s: &Option<&str>| s.map(clip);
        match self {
            Found::Nothing => Found::Nothing,
            Found::Alg(alg) => Found::Alg(own(alg)),
            Found::Kid { sent, expected } => Found::Kid {
                sent: own(sent),
                expected: clip(expected),
            },
            Found::Signature { alg } => Found::Signature { alg: clip(alg) },
            Found::Iat { iat, now, skew } => Found::Iat {
                iat: *iat,
                now: *now,
                skew: *skew,
            },
            Found::Exp {
                exp,
                nbf,
                now,
                skew,
            } => Found::Exp {
                exp: *exp,
                nbf: *nbf,
                now: *now,
                skew: *skew,
            },
            Found::Jti { chars } => Found::Jti { chars: *chars },
            Found::Text { sent, expected } => Found::Text {
                sent: own(sent),
                expected: clip(expected),
            },
            Found::Ath { sent } => Found::Ath { sent: *sent },
        }
    }
}

/// Watches the steps of one check run (see the module docs).
pub(crate) trait Steps {
    /// One step's result and what it compared. `Err` stops the run with that refusal;
    /// `Ok(None)` goes on without the step's value (the step failed, and was recorded).
    fn step<T>(
        &mut self,
        check: Check,
        result: Result<T, SignatureError>,
        found: Found<&str>,
    ) -> Result<Option<T>, SignatureError>;

    /// `check` could not run because `because` failed.
    fn not_run(&mut self, check: Check, because: Check);

    /// Every check from `first` on that has no result yet could not run because `because`
    /// failed.
    fn not_run_from(&mut self, first: Check, because: Check) {
        for check in Check::ALL.into_iter().skip(first.index()) {
            self.not_run(check, because);
        }
    }

    /// The `jti`, once its format passed.
    fn jti(&mut self, _jti: &str) {}
}
