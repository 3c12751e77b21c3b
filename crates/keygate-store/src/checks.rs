//! The self-check's encryption challenges (docs/design.md §5, "Self-check"): kept in the
//! database so that a challenge made on one node can be answered on another.

use keygate_core::model::UnixTime;
use uuid::Uuid;

use crate::{Backend, Store, StoreError};

/// What taking a challenge to answer it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeTaken {
    /// It was open and is now used: the SHA-256 of its answer and when it expires (the caller
    /// checks the time; an expired challenge is used up all the same).
    Open {
        /// SHA-256 of the expected plaintext.
        answer_sha256: Vec<u8>,
        /// When it stops being answerable.
        expires_at: UnixTime,
    },
    /// It was answered before.
    Used {
        /// When it expires (or expired).
        expires_at: UnixTime,
    },
    /// No such challenge for this API key (never made, another API key's, or purged).
    Unknown,
}

impl Store {
    /// Stores a new challenge for `api_key_id`, in one write transaction that first drops the
    /// API key's expired challenges and all but its `keep - 1` newest others, so an API key holds
    /// at most about `keep` (concurrent inserts on several nodes may pass it by one each).
    pub async fn insert_check_challenge(
        &self,
        id: Uuid,
        api_key_id: Uuid,
        answer_sha256: &[u8],
        now: UnixTime,
        expires_at: UnixTime,
        keep: i64,
    ) -> Result<(), StoreError> {
        let (id, api_key_id) = (id.to_string(), api_key_id.to_string());
        in_write_tx!(self, |tx| {
            sqlx::query(
                "DELETE FROM check_challenges WHERE api_key_id = $1 AND (expires_at <= $2 \
                 OR id NOT IN (SELECT id FROM check_challenges WHERE api_key_id = $1 \
                 ORDER BY created_at DESC, id DESC LIMIT $3))",
            )
            .bind(&api_key_id)
            .bind(now)
            .bind(keep.saturating_sub(1).max(0))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO check_challenges \
                 (id, api_key_id, answer_sha256, created_at, expires_at, used) \
                 VALUES ($1, $2, $3, $4, $5, 0)",
            )
            .bind(&id)
            .bind(&api_key_id)
            .bind(answer_sha256)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks the challenge used and gives what it holds, when it is `api_key_id`'s and still
    /// open: one conditional `UPDATE`, so of two concurrent answers (on any nodes) one wins.
    pub async fn take_check_challenge(
        &self,
        id: Uuid,
        api_key_id: Uuid,
    ) -> Result<ChallengeTaken, StoreError> {
        let (id, api_key_id) = (id.to_string(), api_key_id.to_string());
        let taken: Option<(Vec<u8>, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE check_challenges SET used = 1 \
                 WHERE id = $1 AND api_key_id = $2 AND used = 0 \
                 RETURNING answer_sha256, expires_at",
            )
            .bind(&id)
            .bind(&api_key_id)
            .fetch_optional(pool)
            .await?
        });
        if let Some((answer_sha256, expires_at)) = taken {
            return Ok(ChallengeTaken::Open {
                answer_sha256,
                expires_at,
            });
        }
        let used: Option<(i64,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT expires_at FROM check_challenges WHERE id = $1 AND api_key_id = $2",
            )
            .bind(&id)
            .bind(&api_key_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(match used {
            Some((expires_at,)) => ChallengeTaken::Used { expires_at },
            None => ChallengeTaken::Unknown,
        })
    }

    /// Deletes challenges expired at `now`; returns how many.
    pub async fn purge_check_challenges(&self, now: UnixTime) -> Result<u64, StoreError> {
        let done = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM check_challenges WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(done)
    }
}
