//! Per-key usage (docs/design.md §5, "Usage"): what each node counted in memory, added to the
//! totals in batches, and read back for the status table and "view key".
//!
//! Every write is additive (`accepted = accepted + n`, `count = count + n`) and the instants
//! take the later value, so nodes sharing one PostgreSQL merge their counts without
//! coordinating and a batch written twice only over-counts, never loses.

use std::collections::HashMap;

use keygate_core::model::{KeyUsage, UnixTime};
use uuid::Uuid;

use crate::rows::parse_uuid;
use crate::{Backend, Store, StoreError};

/// What one node counted for one key since its last flush.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageDelta {
    /// The public key's id (`public_keys.id`).
    pub key_id: Uuid,
    /// Signed calls accepted.
    pub accepted: u64,
    /// When the last of them was accepted.
    pub last_used_at: Option<UnixTime>,
    /// Refused signed calls by slug, each slug once.
    pub refusals: Vec<(&'static str, u64)>,
    /// The last refusal: its slug and when.
    pub last_refusal: Option<(&'static str, UnixTime)>,
}

/// The later of two optional instants, as SQL both backends run the same way (SQLite's `max()`
/// of a NULL is NULL; PostgreSQL's `GREATEST` skips it).
macro_rules! later {
    ($old:literal, $new:literal) => {
        concat!(
            "CASE WHEN ",
            $new,
            " IS NOT NULL AND (",
            $old,
            " IS NULL OR ",
            $new,
            " > ",
            $old,
            ") THEN ",
            $new,
            " ELSE ",
            $old,
            " END"
        )
    };
}

/// The conflict clause of [`UPSERT_USAGE`]: added counts, later instants.
macro_rules! usage_conflict {
    () => {
        concat!(
            " ON CONFLICT (key_id) DO UPDATE SET \
               accepted = key_usage.accepted + excluded.accepted, \
               last_used_at = ",
            later!("key_usage.last_used_at", "excluded.last_used_at"),
            ", last_refusal_slug = CASE WHEN excluded.last_refusal_at IS NOT NULL AND \
                 (key_usage.last_refusal_at IS NULL OR excluded.last_refusal_at > key_usage.last_refusal_at) \
                 THEN excluded.last_refusal_slug ELSE key_usage.last_refusal_slug END, \
               last_refusal_at = ",
            later!("key_usage.last_refusal_at", "excluded.last_refusal_at"),
        )
    };
}

const UPSERT_USAGE: &str = concat!(
    "INSERT INTO key_usage (key_id, accepted, last_used_at, last_refusal_slug, last_refusal_at) \
     VALUES ($1, $2, $3, $4, $5)",
    usage_conflict!(),
);

const UPSERT_REFUSALS: &str = "INSERT INTO key_refusals (key_id, slug, count) VALUES ($1, $2, $3) \
     ON CONFLICT (key_id, slug) DO UPDATE SET count = key_refusals.count + excluded.count";

/// [`UPSERT_USAGE`] for a whole batch (PostgreSQL): one row per array element, in key order.
const UPSERT_USAGE_PG: &str = concat!(
    "INSERT INTO key_usage (key_id, accepted, last_used_at, last_refusal_slug, last_refusal_at) \
     SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[]) \
     ORDER BY 1",
    usage_conflict!(),
);

/// [`UPSERT_REFUSALS`] for a whole batch (PostgreSQL), in (key, slug) order.
const UPSERT_REFUSALS_PG: &str = "INSERT INTO key_refusals (key_id, slug, count) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[]) ORDER BY 1, 2 \
     ON CONFLICT (key_id, slug) DO UPDATE SET count = key_refusals.count + excluded.count";

/// A merged batch as columns: what both backends bind, row by row or as arrays.
struct UsageColumns {
    key_ids: Vec<String>,
    accepted: Vec<i64>,
    last_used_at: Vec<Option<UnixTime>>,
    last_refusal_slug: Vec<Option<&'static str>>,
    last_refusal_at: Vec<Option<UnixTime>>,
}

impl UsageColumns {
    fn of(merged: &[UsageDelta]) -> Self {
        Self {
            key_ids: merged.iter().map(|d| d.key_id.to_string()).collect(),
            accepted: merged.iter().map(|d| count(d.accepted)).collect(),
            last_used_at: merged.iter().map(|d| d.last_used_at).collect(),
            last_refusal_slug: merged.iter().map(|d| d.last_refusal.map(|r| r.0)).collect(),
            last_refusal_at: merged.iter().map(|d| d.last_refusal.map(|r| r.1)).collect(),
        }
    }
}

/// The batch with each key once (its deltas added: counts summed, the later instants kept), in
/// key order, each key's refusals once per slug in slug order. A key twice in one PostgreSQL
/// `INSERT … ON CONFLICT DO UPDATE` would be an error, and the order is the lock order.
fn merge_by_key(batch: &[UsageDelta]) -> Vec<UsageDelta> {
    let mut by_key: std::collections::BTreeMap<Uuid, UsageDelta> =
        std::collections::BTreeMap::new();
    for delta in batch {
        let merged = by_key.entry(delta.key_id).or_insert_with(|| UsageDelta {
            key_id: delta.key_id,
            ..UsageDelta::default()
        });
        merged.accepted = merged.accepted.saturating_add(delta.accepted);
        merged.last_used_at = merged.last_used_at.max(delta.last_used_at);
        if delta.last_refusal.map(|r| r.1) > merged.last_refusal.map(|r| r.1) {
            merged.last_refusal = delta.last_refusal;
        }
        for (slug, n) in &delta.refusals {
            match merged.refusals.iter_mut().find(|(s, _)| s == slug) {
                Some((_, total)) => *total = total.saturating_add(*n),
                None => merged.refusals.push((slug, *n)),
            }
        }
    }
    by_key
        .into_values()
        .map(|mut d| {
            d.refusals.sort_unstable();
            d
        })
        .collect()
}

/// A key's totals with one of its per-slug counts (none for a key never refused).
type UsageDbRow = (
    String,
    i64,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

/// The totals and the per-slug counts in one statement, so a flush committing between two
/// reads can never show counts that disagree with the last refusal (one snapshot on both
/// backends). Every `key_refusals` row has its `key_usage` row: a flush writes both.
macro_rules! usage_select {
    () => {
        "SELECT u.key_id, u.accepted, u.last_used_at, u.last_refusal_slug, u.last_refusal_at, \
           r.slug, r.count FROM key_usage u LEFT JOIN key_refusals r ON r.key_id = u.key_id"
    };
}

impl Store {
    /// Adds a batch of counts to the totals, in one transaction. A key may appear more than
    /// once; its deltas are added together first. Rows are written in key order (then slug
    /// order), so two nodes flushing at once on PostgreSQL lock rows in the same order and never
    /// deadlock. PostgreSQL: two statements whatever the batch's size (`UNNEST` of arrays, as
    /// the replay record does), so a flush of 10,000 keys costs two round trips, not 10,000;
    /// SQLite: row by row in one local transaction.
    pub async fn record_usage(&self, batch: &[UsageDelta]) -> Result<(), StoreError> {
        let merged = merge_by_key(batch);
        if merged.is_empty() {
            return Ok(());
        }
        let usage = UsageColumns::of(&merged);
        let refusals: Vec<(String, &str, i64)> = merged
            .iter()
            .zip(&usage.key_ids)
            .flat_map(|(delta, key_id)| {
                delta
                    .refusals
                    .iter()
                    .map(move |(slug, n)| (key_id.clone(), *slug, count(*n)))
            })
            .collect();
        match &self.backend {
            Backend::Postgres(pool) => {
                self.bounded(async {
                    let mut tx = pool.begin().await?;
                    sqlx::query(UPSERT_USAGE_PG)
                        .bind(&usage.key_ids)
                        .bind(&usage.accepted)
                        .bind(&usage.last_used_at)
                        .bind(&usage.last_refusal_slug)
                        .bind(&usage.last_refusal_at)
                        .execute(&mut *tx)
                        .await?;
                    if !refusals.is_empty() {
                        let ids: Vec<&str> = refusals.iter().map(|r| r.0.as_str()).collect();
                        let slugs: Vec<&str> = refusals.iter().map(|r| r.1).collect();
                        let counts: Vec<i64> = refusals.iter().map(|r| r.2).collect();
                        sqlx::query(UPSERT_REFUSALS_PG)
                            .bind(&ids)
                            .bind(&slugs)
                            .bind(&counts)
                            .execute(&mut *tx)
                            .await?;
                    }
                    tx.commit().await?;
                    Ok(())
                })
                .await?;
            }
            Backend::Sqlite(_) => in_write_tx!(self, |tx| {
                for (delta, key_id) in merged.iter().zip(&usage.key_ids) {
                    sqlx::query(UPSERT_USAGE)
                        .bind(key_id)
                        .bind(count(delta.accepted))
                        .bind(delta.last_used_at)
                        .bind(delta.last_refusal.map(|r| r.0))
                        .bind(delta.last_refusal.map(|r| r.1))
                        .execute(&mut *tx)
                        .await?;
                }
                for (key_id, slug, n) in &refusals {
                    sqlx::query(UPSERT_REFUSALS)
                        .bind(key_id)
                        .bind(*slug)
                        .bind(*n)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
            }),
        }
        Ok(())
    }

    /// The usage of every key of an API key that was ever used, by key id.
    pub async fn usage_of_api_key(
        &self,
        api_key_id: Uuid,
    ) -> Result<HashMap<Uuid, KeyUsage>, StoreError> {
        let api_key_id = api_key_id.to_string();
        let rows: Vec<UsageDbRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                usage_select!(),
                " JOIN public_keys k ON k.id = u.key_id WHERE k.api_key_id = $1 \
                 ORDER BY u.key_id, r.slug"
            ))
            .bind(&api_key_id)
            .fetch_all(pool)
            .await?
        });
        usage_from_rows(rows)
    }

    /// The usage of one key (all zero when it was never used).
    pub async fn usage_of_key(&self, key_id: Uuid) -> Result<KeyUsage, StoreError> {
        let key_id = key_id.to_string();
        let rows: Vec<UsageDbRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                usage_select!(),
                " WHERE u.key_id = $1 ORDER BY r.slug"
            ))
            .bind(&key_id)
            .fetch_all(pool)
            .await?
        });
        Ok(usage_from_rows(rows)?
            .into_values()
            .next()
            .unwrap_or_default())
    }
}

/// Builds the usage of each key from its rows: one per (key, slug), or one without a slug for a
/// key never refused.
fn usage_from_rows(rows: Vec<UsageDbRow>) -> Result<HashMap<Uuid, KeyUsage>, StoreError> {
    let mut usage: HashMap<Uuid, KeyUsage> = HashMap::new();
    for (key_id, accepted, last_used_at, last_slug, last_at, slug, count) in rows {
        let key_id = parse_uuid(&key_id, "key_usage.key_id")?;
        let entry = usage.entry(key_id).or_insert_with(|| KeyUsage {
            accepted: u64::try_from(accepted).unwrap_or(0),
            last_used_at,
            refusals: Vec::new(),
            last_refusal: last_slug.zip(last_at),
        });
        if let (Some(slug), Some(count)) = (slug, count) {
            entry
                .refusals
                .push((slug, u64::try_from(count).unwrap_or(0)));
        }
    }
    Ok(usage)
}

/// A count as the BIGINT column holds it (a node cannot count past `i64::MAX` between flushes).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
