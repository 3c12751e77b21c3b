//! `keygate admin audit …` (docs/audit.md): verify the hash chain, list or export events as
//! JSON lines for a SIEM.

use clap::Subcommand;
use keygate_core::audit::AuditEvent;
use keygate_registry::{Registry, MAX_AUDIT_PAGE};
use keygate_store::AuditFilter;
use serde_json::json;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the chain and report the first event changed, removed or inserted (exit status 1).
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Events, newest first; `--json`: one JSON object a line (for a SIEM).
    List {
        /// Only events of this client (alias or id).
        #[arg(long)]
        client: Option<String>,
        /// Only events of this API key (its id).
        #[arg(long)]
        api_key: Option<Uuid>,
        /// Only events at or after TIME: RFC 3339 (`2026-01-31T00:00:00Z`), a date
        /// (`2026-01-31`, UTC), unix seconds, or a duration ago (`24h`, `7d`).
        #[arg(long)]
        since: Option<String>,
        /// At most this many events (default: all that match).
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long)]
        json: bool,
    },
}

/// The command's name and arguments for `admin.command`.
pub fn described(command: &AuditCommand) -> (&'static str, serde_json::Value) {
    match command {
        AuditCommand::Verify { .. } => ("audit verify", json!({})),
        AuditCommand::List {
            client,
            api_key,
            since,
            limit,
            ..
        } => (
            "audit list",
            json!({"client": client, "api_key": api_key, "since": since, "limit": limit}),
        ),
    }
}

/// `--since`'s forms, as unix seconds, at `now`.
fn parse_since(text: &str, now: i64) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().timestamp());
        }
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(secs);
    }
    if let Ok(ago) = keygate_server::config::parse_duration(text) {
        let ago = i64::try_from(ago.as_secs()).unwrap_or(i64::MAX);
        return Ok(now.saturating_sub(ago));
    }
    anyhow::bail!(
        "--since `{text}` is not a time: use RFC 3339 (2026-01-31T00:00:00Z), a date \
         (2026-01-31), unix seconds, or a duration ago (24h, 7d)"
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// One event as a JSON line: every stored column, the details as an object, the hashes in
/// hex (so a SIEM can check the chain's links too).
fn event_json(e: &AuditEvent) -> serde_json::Value {
    let details: serde_json::Value =
        serde_json::from_str(&e.details).unwrap_or(serde_json::Value::String(e.details.clone()));
    json!({
        "seq": e.seq,
        "id": e.id,
        "at": rfc3339(e.at),
        "event_type": e.event_type,
        "client_id": e.client_id,
        "api_key_id": e.api_key_id,
        "key_id": e.key_id,
        "actor": e.actor,
        "source": e.source,
        "details": details,
        "prev_hash": hex(&e.prev_hash),
        "hash": hex(&e.hash),
    })
}

pub async fn run(command: &AuditCommand, registry: &Registry) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { json } => {
            let report = registry.verify_audit().await?;
            let (head_seq, head_hash) = (report.head.0, hex(&report.head.1));
            if *json {
                println!(
                    "{}",
                    json!({
                        "valid": report.broken.is_none(),
                        "checked": report.checked,
                        "head_seq": head_seq,
                        "head_hash": head_hash,
                        "broken": report.broken.as_ref().map(ToString::to_string),
                    })
                );
            }
            match report.broken {
                None => {
                    if !*json {
                        println!(
                            "audit chain verified: {} events, up to event #{head_seq} (hash {head_hash})",
                            report.checked
                        );
                    }
                    Ok(())
                }
                Some(broken) => anyhow::bail!(
                    "the audit chain is broken: {broken} ({} events before it verified)",
                    report.checked
                ),
            }
        }
        AuditCommand::List {
            client,
            api_key,
            since,
            limit,
            json,
        } => {
            let client_id = match client {
                Some(c) => Some(registry.client(c).await?.id),
                None => None,
            };
            let since = since
                .as_deref()
                .map(|s| parse_since(s, registry.now()))
                .transpose()?;
            let mut filter = AuditFilter {
                client_id,
                api_key_id: *api_key,
                since,
                before_seq: None,
            };
            let mut left = limit.unwrap_or(u64::MAX);
            while left > 0 {
                let page_size =
                    u32::try_from(left.min(u64::from(MAX_AUDIT_PAGE))).unwrap_or(MAX_AUDIT_PAGE);
                let page = registry.audit_events(&filter, page_size).await?;
                for e in &page {
                    if *json {
                        println!("{}", event_json(e));
                    } else {
                        println!(
                            "#{:<6} {}  {:<24} {:<44} {:<15} {}",
                            e.seq,
                            rfc3339(e.at),
                            e.event_type,
                            e.actor,
                            e.source.as_deref().unwrap_or("-"),
                            e.details
                        );
                    }
                }
                left = left.saturating_sub(page.len() as u64);
                match page.last() {
                    Some(last) if page.len() == page_size as usize => {
                        filter.before_seq = Some(last.seq);
                    }
                    _ => break,
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_a_date_seconds_or_a_duration_ago() {
        let now = 1_800_000_000;
        assert_eq!(parse_since("1970-01-01T01:00:00Z", now).ok(), Some(3600));
        assert_eq!(parse_since("1970-01-01T01:00:00+01:00", now).ok(), Some(0));
        assert_eq!(parse_since("1970-01-02", now).ok(), Some(86_400));
        assert_eq!(parse_since("12345", now).ok(), Some(12_345));
        assert_eq!(parse_since("7d", now).ok(), Some(now - 7 * 86_400));
        assert!(parse_since("yesterday", now).is_err());
    }
}
