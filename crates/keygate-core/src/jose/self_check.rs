//! The self-check of a signed request (docs/design.md §5, "Self-check"): the gateway's own
//! steps ([`super::signed_request`]), every one recorded instead of stopping at the first
//! failure, so a developer sees every mistake of a request at once.
//!
//! A step that needs what an earlier one failed to give (the signature without an `alg`, the
//! claims without a readable payload) is reported as not run, naming that earlier check. The
//! claims are read even when the signature does not verify: the report grants nothing, and
//! names the signature's failure among the rest.

use super::client_key::ClientKey;
use super::signature_error::SignatureError;
use super::signed_request::{run_checks, RequestFacts, SignaturePolicy};
use super::steps::{Check, Found, Steps};

/// One check's outcome in a [`SignedRequestReport`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The check passed; what it compared.
    Passed(Found<String>),
    /// The check failed: the gateway's refusal for it, and what it compared.
    Failed(SignatureError, Found<String>),
    /// The check could not run because this earlier check failed.
    NotRun(Check),
}

impl Outcome {
    /// Did the check pass?
    #[must_use]
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed(_))
    }
}

/// Every check of one signed request, in [`Check::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequestReport {
    outcomes: [Outcome; 11],
    jti: Option<String>,
}

impl SignedRequestReport {
    /// Each check and its outcome, in report order.
    pub fn outcomes(&self) -> impl Iterator<Item = (Check, &Outcome)> {
        Check::ALL.into_iter().zip(self.outcomes.iter())
    }

    /// The outcome of one check.
    #[must_use]
    pub fn outcome(&self, check: Check) -> &Outcome {
        &self.outcomes[check.index()]
    }

    /// The `jti`, when its form passed (for the caller's freshness check; never recorded).
    #[must_use]
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }

    /// Did every check pass?
    #[must_use]
    pub fn all_passed(&self) -> bool {
        self.outcomes.iter().all(Outcome::passed)
    }
}

/// The recording observer: a slot per check, filled once with its first failure (a check
/// that runs in several steps, like `jws`, keeps a failure over a later pass).
struct Report {
    outcomes: [Option<Outcome>; 11],
    jti: Option<String>,
}

impl Steps for Report {
    fn step<T>(
        &mut self,
        check: Check,
        result: Result<T, SignatureError>,
        found: Found<&str>,
    ) -> Result<Option<T>, SignatureError> {
        let slot = &mut self.outcomes[check.index()];
        let failed_before = matches!(slot, Some(Outcome::Failed(..) | Outcome::NotRun(_)));
        match result {
            Ok(value) => {
                if !failed_before {
                    *slot = Some(Outcome::Passed(found.to_owned_found()));
                }
                Ok(Some(value))
            }
            Err(error) => {
                if !failed_before {
                    *slot = Some(Outcome::Failed(error, found.to_owned_found()));
                }
                Ok(None)
            }
        }
    }

    fn not_run(&mut self, check: Check, because: Check) {
        let slot = &mut self.outcomes[check.index()];
        if slot.is_none() {
            *slot = Some(Outcome::NotRun(because));
        }
    }

    fn jti(&mut self, jti: &str) {
        self.jti = Some(jti.to_owned());
    }
}

/// Runs every check of §5 on a signed request, as the gateway would with `key` as the caller's
/// active key, and reports each (see the module docs). The `jti` is checked for its form only:
/// its freshness is the caller's, and nothing is recorded.
#[must_use]
pub fn check_signed_request(
    jws: &str,
    key: &ClientKey,
    req: &RequestFacts<'_>,
    now: i64,
    policy: &SignaturePolicy,
) -> SignedRequestReport {
    let mut report = Report {
        outcomes: Default::default(),
        jti: None,
    };
    // A recording observer never stops the run, so there is no error to handle.
    let _ = run_checks(jws, key, req, now, policy, &mut report);
    let Report { outcomes, jti } = report;
    SignedRequestReport {
        // Every step records its slot; a slot left empty would be a bug, shown as not run.
        outcomes: outcomes.map(|o| o.unwrap_or(Outcome::NotRun(Check::Jws))),
        jti,
    }
}
