//! The JSON API's wire types (docs/design.md §4; docs/architecture.md, "The typed API"): what
//! keygate's answers and request bodies look like, as Rust types with serde.
//!
//! The server serializes them, `keygate-client` deserializes them, and `/openapi.json` is
//! derived from them (utoipa `ToSchema`), so the three cannot drift apart. This crate holds no
//! rules and no I/O: the server converts its domain records into these types in one place
//! (`keygate-server/src/api/view.rs`).
//!
//! Every answer is an envelope: [`Envelope`] on success, [`ErrorBody`] on failure, told apart by
//! `success`. `/.well-known/jwks.json` ([`JwkSet`]) and `/metrics` are the two exceptions.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod auth;
mod check;
mod envelope;
mod error;
mod health;
mod keys;
mod system;

pub use audit::{AuditEventRow, AuditPage, AuditQuery};
pub use auth::{ApiKeyRef, ClientRef, Credentials, LoginAnswer, LoginBody, LogoutAnswer};
pub use check::{
    ChallengeAnswerBody, ChallengeCiphertexts, ChallengeResult, CheckName, CheckResult,
    EncryptionChallenge, SignatureCheck,
};
pub use envelope::Envelope;
pub use error::{ErrorBody, ErrorSlug};
pub use health::{Liveness, Readiness};
pub use keys::{
    KeyAnswer, KeyData, KeyOwner, KeyRow, KeyStatus, KeyTable, KeyTableRow, KeyUsage, KeyView,
    KeyViewData, LastRefusal, RefusalCount, RevokeBody, UploadBody,
};
pub use system::{Jwk, JwkSet, SystemKey};
