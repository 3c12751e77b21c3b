//! `keygate admin webhooks …`: the dead deliveries, and sending one again (docs/webhooks.md,
//! "When a receiver was down"). The running nodes' relays do the sending; this only reads and
//! resets the database.

use chrono::{DateTime, SecondsFormat};
use clap::Subcommand;
use keygate_core::model::UnixTime;
use keygate_server::config::Settings;
use keygate_store::{DeadDelivery, Store};
use serde_json::json;
use uuid::Uuid;

#[derive(Subcommand)]
pub enum WebhooksCommand {
    /// List dead deliveries (retried for the webhook's retry_for, then given up), newest first.
    Failed {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Send a dead delivery again: pending now, with a new retry window.
    Retry {
        /// The delivery's id (from `keygate admin webhooks failed`).
        id: Uuid,
        #[arg(long)]
        json: bool,
    },
}

/// The command's name and arguments for its `admin.command` audit event (docs/design.md §11).
pub fn described(command: &WebhooksCommand) -> (&'static str, serde_json::Value) {
    match command {
        WebhooksCommand::Failed { limit, .. } => ("webhooks failed", json!({ "limit": limit })),
        WebhooksCommand::Retry { id, .. } => ("webhooks retry", json!({ "id": id })),
    }
}

fn time(t: UnixTime) -> String {
    DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The webhook's URL (without its query) when the configuration still has it, else its id.
fn webhook_name(settings: &Settings, id: &str) -> String {
    settings
        .webhooks
        .iter()
        .find(|w| w.url.id() == id)
        .map_or_else(
            || format!("webhook {id} (no longer configured)"),
            |w| w.url.display(),
        )
}

fn delivery_json(settings: &Settings, d: &DeadDelivery) -> serde_json::Value {
    json!({
        "id": d.id,
        "webhook": webhook_name(settings, &d.webhook),
        "webhook_id": d.webhook,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "attempts": d.attempts,
        "created_at": time(d.created_at),
        "last_attempt_at": d.last_attempt_at.map(time),
        "last_error": d.last_error,
    })
}

pub async fn run(
    command: &WebhooksCommand,
    store: &Store,
    settings: &Settings,
    now: UnixTime,
) -> anyhow::Result<()> {
    match command {
        WebhooksCommand::Failed { limit, json } => {
            let dead = store.dead_webhook_deliveries(i64::from(*limit)).await?;
            if *json {
                let list: Vec<_> = dead.iter().map(|d| delivery_json(settings, d)).collect();
                println!("{}", json!({ "deliveries": list }));
            } else if dead.is_empty() {
                println!("no dead webhook deliveries");
            } else {
                for d in &dead {
                    println!(
                        "{}  {:<24} event {}  to {}\n    {} attempts, the last at {}: {}",
                        d.id,
                        d.event_type,
                        d.event_id,
                        webhook_name(settings, &d.webhook),
                        d.attempts,
                        d.last_attempt_at.map_or_else(|| "-".into(), time),
                        d.last_error.as_deref().unwrap_or("-"),
                    );
                }
            }
        }
        WebhooksCommand::Retry { id, json } => {
            if !store.retry_webhook_delivery(*id, now).await? {
                anyhow::bail!(
                    "no dead webhook delivery has the id {id}; see `keygate admin webhooks failed`"
                );
            }
            if *json {
                println!("{}", json!({ "id": id, "status": "pending" }));
            } else {
                println!("delivery {id} is pending again; a running keygate node sends it within seconds");
            }
        }
    }
    Ok(())
}
