//! `GET /healthz` and `GET /readyz`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `data` of `/healthz`: the process answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Liveness {
    /// Always `alive`.
    #[schema(example = "alive")]
    pub status: String,
}

/// `data` of `/readyz`: the database answers, is migrated and (SQLite) writable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Readiness {
    /// Always `ready` (a node that is not answers 503 `not_ready`).
    #[schema(example = "ready")]
    pub status: String,
    /// The backend: `sqlite` or `postgres`.
    #[schema(example = "postgres")]
    pub database: String,
}
