//! The migration trees, embedded in the binary and applied through sqlx's [`Migrator`], so
//! `_sqlx_migrations` records them exactly as `sqlx migrate run` would.

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// `(version, description, sql)`; the description is the file name's part after `NNNN_`.
type Embedded = &'static [(i64, &'static str, &'static str)];

pub(crate) const SQLITE: Embedded = &[
    (
        1,
        "init",
        include_str!("../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "gateway",
        include_str!("../migrations/sqlite/0002_gateway.sql"),
    ),
    (
        3,
        "successor",
        include_str!("../migrations/sqlite/0003_successor.sql"),
    ),
    (
        4,
        "check_challenges",
        include_str!("../migrations/sqlite/0004_check_challenges.sql"),
    ),
    (
        5,
        "audit_events",
        include_str!("../migrations/sqlite/0005_audit_events.sql"),
    ),
    (
        6,
        "key_usage",
        include_str!("../migrations/sqlite/0006_key_usage.sql"),
    ),
    (
        7,
        "webhooks",
        include_str!("../migrations/sqlite/0007_webhooks.sql"),
    ),
];

pub(crate) const POSTGRES: Embedded = &[
    (
        1,
        "init",
        include_str!("../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "gateway",
        include_str!("../migrations/postgres/0002_gateway.sql"),
    ),
    (
        3,
        "successor",
        include_str!("../migrations/postgres/0003_successor.sql"),
    ),
    (
        4,
        "check_challenges",
        include_str!("../migrations/postgres/0004_check_challenges.sql"),
    ),
    (
        5,
        "audit_events",
        include_str!("../migrations/postgres/0005_audit_events.sql"),
    ),
    (
        6,
        "key_usage",
        include_str!("../migrations/postgres/0006_key_usage.sql"),
    ),
    (
        7,
        "webhooks",
        include_str!("../migrations/postgres/0007_webhooks.sql"),
    ),
];

#[derive(Debug)]
struct EmbeddedSource(Embedded);

impl<'s> MigrationSource<'s> for EmbeddedSource {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        Cow::Borrowed(description),
                        MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

pub(crate) async fn migrator(tree: Embedded) -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(EmbeddedSource(tree)).await
}
