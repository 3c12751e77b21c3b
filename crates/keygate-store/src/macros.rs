//! The macros every query goes through: one dispatch to the backend's pool or write
//! transaction, bounded by `database_timeout`, and the column lists the row types of
//! [`crate::rows`] read. Declared before the modules that use them (`#[macro_use]` in `lib.rs`).

/// Runs `$body` with `$pool` bound to the concrete pool of the store's backend. The body is
/// expanded once per backend, so the same SQL and row types serve both. The whole operation,
/// waiting for a connection included, is bounded by `database_timeout` (docs/operations.md):
/// inside the body `?` converts to [`StoreError`]; the macro's value is the body's value, and a
/// timeout or a failure leaves through the enclosing function's `?`.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        $store
            .bounded(async {
                Ok::<_, StoreError>(match &$store.backend {
                    Backend::Sqlite($pool) => $body,
                    Backend::Postgres($pool) => $body,
                })
            })
            .await?
    };
}

/// Runs `$body` with `$tx` bound to a fresh write transaction, bounded like [`on_pool`]. On
/// SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock up front (waiting up to
/// the busy timeout), so a writer never fails with `SQLITE_BUSY` when upgrading from a read.
macro_rules! in_write_tx {
    ($store:expr, |$tx:ident| $body:expr) => {
        $store
            .bounded(async {
                Ok::<_, StoreError>(match &$store.backend {
                    Backend::Sqlite(pool) => {
                        let _writer = $store.sqlite_writer.lock().await;
                        #[allow(unused_mut)]
                        let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                        $body
                    }
                    Backend::Postgres(pool) => {
                        #[allow(unused_mut)]
                        let mut $tx = pool.begin().await?;
                        $body
                    }
                })
            })
            .await?
    };
}

macro_rules! client_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".name, ",
            $t,
            ".alias, ",
            $t,
            ".created_at"
        )
    };
}

macro_rules! api_key_columns {
    ($t:literal) => {
        concat!(
            $t,
            ".id, ",
            $t,
            ".client_id, ",
            $t,
            ".alias, ",
            $t,
            ".api_key, ",
            $t,
            ".created_at"
        )
    };
}

macro_rules! key_columns {
    () => {
        "id, api_key_id, public_key_pem, fingerprint_sha256, jwk_thumbprint, bits, exponent, \
         issued_at, COALESCE(activates_at, issued_at), expires_at, revoked_at, revoke_reason, \
         withdrawn_at"
    };
}

/// The first steps of every write to an API key's keys, inside its write transaction `$tx`
/// (docs/design.md §2, "Rotation"):
///
/// 1. on PostgreSQL, the API key's transaction-scoped advisory lock (lock space 4; `sessions.rs`
///    uses 1 and 2, `gateway.rs` 3), so writes to one API key's keys run one after the other on
///    every node and each statement sees what the one before committed (SQLite's one writer
///    already queues them);
/// 2. the open key is closed once it is revoked or expired;
/// 3. a staged successor whose activation instant has come (it took over without a write) is
///    promoted: no longer staged, and open unless it has already expired too.
///
/// Statuses never depend on these flags (they are computed from the instants); the flags let
/// the partial unique indexes hold "one open key" and "one staged successor" per API key.
macro_rules! lock_and_settle_keys {
    ($store:expr, $tx:ident, $api_key_id:expr, $now:expr) => {{
        if let Backend::Postgres(_) = $store.backend {
            sqlx::query("SELECT pg_advisory_xact_lock(4, hashtext($1))")
                .bind($api_key_id)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query(
            "UPDATE public_keys SET open = 0 WHERE api_key_id = $1 AND open = 1 \
             AND ((revoked_at IS NOT NULL AND revoked_at <= $2) OR expires_at <= $2)",
        )
        .bind($api_key_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
        sqlx::query(
            "UPDATE public_keys SET staged = 0, \
               open = CASE WHEN expires_at > $2 THEN 1 ELSE 0 END \
             WHERE api_key_id = $1 AND staged = 1 AND activates_at <= $2",
        )
        .bind($api_key_id)
        .bind($now)
        .execute(&mut *$tx)
        .await?;
    }};
}

macro_rules! audit_columns {
    () => {
        "seq, id, at, event_type, client_id, api_key_id, key_id, actor, source, details, \
         prev_hash, hash"
    };
}

/// Appends `$events` (a `&[NewAuditEvent]`) to the audit chain inside the write transaction
/// `$tx`, as the transaction's **last** step (docs/design.md §11): on PostgreSQL it takes the
/// append lock (transaction-scoped advisory lock space 5, held to the commit; `sessions.rs` uses
/// 1 and 2, `gateway.rs` 3, `lock_and_settle_keys!` 4), so appends from every node run one after
/// the other; SQLite's one writer already does. Each event gets the previous seq + 1 and the
/// previous hash. Taking the lock last, after any other lock of the transaction, keeps the lock
/// order the same everywhere. An event a webhook may want wakes the relays (on PostgreSQL with a
/// NOTIFY sent before the lock is taken, so the lock is held for the append alone). The value is
/// the sealed events (`Vec<AuditEvent>`), for what must be written with them in the same
/// transaction.
macro_rules! append_audit {
    ($store:expr, $tx:ident, $events:expr, $now:expr) => {{
        let events: &[keygate_core::audit::NewAuditEvent] = $events;
        let mut appended: Vec<keygate_core::audit::AuditEvent> = Vec::with_capacity(events.len());
        if !events.is_empty() {
            // Wake the webhook relays for an event one may want (docs/webhooks.md, "Delivery").
            let wake = events
                .iter()
                .any(|e| keygate_core::audit::WEBHOOK_EVENTS.contains(&e.event_type));
            if let Backend::Postgres(_) = $store.backend {
                // On PostgreSQL a NOTIFY, sent to every node at the commit and only if it
                // commits, wherever it stands in the transaction: so it goes before the append
                // lock, not inside its hold (docs/audit.md, "Concurrent writers").
                if wake {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(crate::INVALIDATE_CHANNEL)
                        .bind(crate::WEBHOOK_EVENTS_PAYLOAD)
                        .execute(&mut *$tx)
                        .await?;
                }
                sqlx::query("SELECT pg_advisory_xact_lock(5, 0)")
                    .execute(&mut *$tx)
                    .await?;
            }
            let last: Option<(i64, Vec<u8>)> =
                sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                    .fetch_optional(&mut *$tx)
                    .await?;
            let (mut seq, mut prev) =
                last.unwrap_or((0, keygate_core::audit::GENESIS_HASH.to_vec()));
            for new in events {
                seq += 1;
                let event = keygate_core::audit::AuditEvent::seal(
                    new,
                    seq,
                    uuid::Uuid::new_v4(),
                    $now,
                    &prev,
                );
                sqlx::query(concat!(
                    "INSERT INTO audit_events (",
                    audit_columns!(),
                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                ))
                .bind(event.seq)
                .bind(&event.id)
                .bind(event.at)
                .bind(&event.event_type)
                .bind(&event.client_id)
                .bind(&event.api_key_id)
                .bind(&event.key_id)
                .bind(&event.actor)
                .bind(&event.source)
                .bind(&event.details)
                .bind(&event.prev_hash)
                .bind(&event.hash)
                .execute(&mut *$tx)
                .await?;
                prev.clone_from(&event.hash);
                appended.push(event);
            }
            // On SQLite (one node) this process's relay, which waits for this transaction to end
            // before it reads (`Store::webhook_events_appended`).
            if wake {
                if let Backend::Sqlite(_) = $store.backend {
                    $store.wake_webhooks();
                }
            }
        }
        appended
    }};
}

/// The end of a write transaction whose one statement's `$result` (a `Result` of sqlx) was kept
/// to map its constraint violations: on success, `$events` are appended (`append_audit!`) and
/// the transaction commits; on failure the error is the value (dropping the transaction rolls
/// it back).
macro_rules! commit_audited {
    ($store:expr, $tx:ident, $result:expr, $events:expr, $now:expr) => {
        match $result {
            Ok(_) => {
                append_audit!($store, $tx, $events, $now);
                $tx.commit().await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    };
}
