//! Clients and their API keys.

use keygate_core::audit::NewAuditEvent;
use keygate_core::model::{ApiKey, Client, UnixTime};
use uuid::Uuid;

use crate::error::{is_foreign_key_violation, is_unique_violation};
use crate::rows::{api_key_client_from_row, api_key_from_row, client_from_row};
use crate::rows::{ApiKeyClientRow, ApiKeyRow, ClientRow};
use crate::{Backend, Store, StoreError};

impl Store {
    // ----- clients -------------------------------------------------------------------------

    /// Creates a client, appending `audit(&client)` in the same transaction. A duplicate alias
    /// gives `StoreError::Conflict("client alias")`.
    pub async fn create_client(
        &self,
        name: &str,
        alias: &str,
        now: UnixTime,
        audit: impl FnOnce(&Client) -> Vec<NewAuditEvent> + Send,
    ) -> Result<Client, StoreError> {
        let client = Client {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            alias: alias.to_owned(),
            created_at: now,
        };
        let id = client.id.to_string();
        let events = audit(&client);
        let result: Result<(), sqlx::Error> = in_write_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO clients (id, name, alias, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&id)
            .bind(name)
            .bind(alias)
            .bind(now)
            .execute(&mut *tx)
            .await;
            commit_audited!(self, tx, inserted, &events, now)
        });
        match result {
            Ok(_) => Ok(client),
            Err(e) if is_unique_violation(&e) => Err(StoreError::Conflict("client alias".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Every client, by alias in byte order (the same on both backends).
    pub async fn list_clients(&self) -> Result<Vec<Client>, StoreError> {
        let select = concat!("SELECT ", client_columns!("c"), " FROM clients c");
        let sql = format!("{select} ORDER BY c.alias{}", self.byte_order());
        let rows: Vec<ClientRow> =
            on_pool!(self, |pool| { sqlx::query_as(&sql).fetch_all(pool).await? });
        rows.into_iter().map(client_from_row).collect()
    }

    /// The client whose id or alias is `alias_or_id` (an id match wins).
    pub async fn find_client(&self, alias_or_id: &str) -> Result<Option<Client>, StoreError> {
        let row: Option<ClientRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                client_columns!("c"),
                " FROM clients c WHERE c.id = $1 OR c.alias = $1",
                " ORDER BY CASE WHEN c.id = $1 THEN 0 ELSE 1 END LIMIT 1"
            ))
            .bind(alias_or_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(client_from_row).transpose()
    }

    // ----- API keys ------------------------------------------------------------------------

    /// Creates an API key for a client. A duplicate alias within the client gives
    /// `Conflict("api key alias")`, a login identifier already in use gives
    /// `Conflict("api key login")`, an unknown client `NotFound("client")`. `audit(&api_key)`
    /// is appended in the same transaction.
    pub async fn create_api_key(
        &self,
        client_id: Uuid,
        alias: &str,
        api_key_login: &str,
        password_hash: &str,
        now: UnixTime,
        audit: impl FnOnce(&ApiKey) -> Vec<NewAuditEvent> + Send,
    ) -> Result<ApiKey, StoreError> {
        let api_key = ApiKey {
            id: Uuid::new_v4(),
            client_id,
            alias: alias.to_owned(),
            api_key: api_key_login.to_owned(),
            created_at: now,
        };
        let id = api_key.id.to_string();
        let client = client_id.to_string();
        let events = audit(&api_key);
        let result: Result<(), sqlx::Error> = in_write_tx!(self, |tx| {
            let inserted = sqlx::query(
                "INSERT INTO api_keys (id, client_id, alias, api_key, password_hash, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&id)
            .bind(&client)
            .bind(alias)
            .bind(api_key_login)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await;
            commit_audited!(self, tx, inserted, &events, now)
        });
        match result {
            Ok(_) => Ok(api_key),
            Err(e) if is_unique_violation(&e) => {
                let login_taken = on_pool!(self, |pool| {
                    sqlx::query("SELECT 1 FROM api_keys WHERE api_key = $1")
                        .bind(api_key_login)
                        .fetch_optional(pool)
                        .await?
                        .is_some()
                });
                Err(StoreError::Conflict(
                    if login_taken {
                        "api key login"
                    } else {
                        "api key alias"
                    }
                    .into(),
                ))
            }
            Err(e) if is_foreign_key_violation(&e) => Err(StoreError::NotFound("client".into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames a client, appending `audit` in the same transaction. `false`: no such client.
    pub async fn rename_client(
        &self,
        client_id: Uuid,
        name: &str,
        now: UnixTime,
        audit: &[NewAuditEvent],
    ) -> Result<bool, StoreError> {
        let id = client_id.to_string();
        let done = in_write_tx!(self, |tx| {
            let done = sqlx::query("UPDATE clients SET name = $2 WHERE id = $1")
                .bind(&id)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done > 0 {
                append_audit!(self, tx, audit, now);
                tx.commit().await?;
            }
            done
        });
        Ok(done > 0)
    }

    /// Replaces an API key's password hash and ends its sessions (every node refuses their
    /// tokens), appending `audit` in the same transaction. `None`: no such API key; else how
    /// many sessions ended.
    pub async fn set_api_key_password(
        &self,
        api_key_id: Uuid,
        password_hash: &str,
        now: UnixTime,
        audit: impl FnOnce(u64) -> Vec<NewAuditEvent> + Send,
    ) -> Result<Option<u64>, StoreError> {
        let id = api_key_id.to_string();
        let ended = in_write_tx!(self, |tx| {
            let done = sqlx::query("UPDATE api_keys SET password_hash = $2 WHERE id = $1")
                .bind(&id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if done == 0 {
                None
            } else {
                let ended = sqlx::query("DELETE FROM sessions WHERE api_key_id = $1")
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                let events = audit(ended);
                append_audit!(self, tx, &events, now);
                tx.commit().await?;
                Some(ended)
            }
        });
        Ok(ended)
    }

    /// A client's API keys, by alias in byte order (the same on both backends).
    pub async fn list_api_keys(&self, client_id: Uuid) -> Result<Vec<ApiKey>, StoreError> {
        let client = client_id.to_string();
        let select = concat!(
            "SELECT ",
            api_key_columns!("a"),
            " FROM api_keys a WHERE a.client_id = $1"
        );
        let sql = format!("{select} ORDER BY a.alias{}", self.byte_order());
        let rows: Vec<ApiKeyRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql).bind(&client).fetch_all(pool).await?
        });
        rows.into_iter().map(api_key_from_row).collect()
    }

    /// For login: the API key with this login identifier, its client and its password hash.
    pub async fn find_login(
        &self,
        api_key_login: &str,
    ) -> Result<Option<(ApiKey, Client, String)>, StoreError> {
        let row: Option<ApiKeyClientRow<String>> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!("a"),
                ", ",
                client_columns!("c"),
                ", a.password_hash FROM api_keys a JOIN clients c ON c.id = a.client_id",
                " WHERE a.api_key = $1"
            ))
            .bind(api_key_login)
            .fetch_optional(pool)
            .await?
        });
        row.map(api_key_client_from_row).transpose()
    }

    /// The API key with this id, and its client.
    pub async fn find_api_key(&self, id: Uuid) -> Result<Option<(ApiKey, Client)>, StoreError> {
        let id = id.to_string();
        let row: Option<ApiKeyClientRow<i64>> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                api_key_columns!("a"),
                ", ",
                client_columns!("c"),
                ", a.created_at FROM api_keys a JOIN clients c ON c.id = a.client_id",
                " WHERE a.id = $1"
            ))
            .bind(&id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row
            .map(api_key_client_from_row)
            .transpose()?
            .map(|(api_key, client, _)| (api_key, client)))
    }

    /// The collation to add after a text column in `ORDER BY` so that both backends sort by
    /// bytes: SQLite's default (BINARY) already does; PostgreSQL's default follows the
    /// database's locale (case and punctuation weigh little there), so it needs `"C"`.
    fn byte_order(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "",
            Backend::Postgres(_) => " COLLATE \"C\"",
        }
    }
}
