//! The relay, on every node (docs/webhooks.md, "Delivery"): woken when an event a webhook may
//! want is appended (`Store::webhook_events_appended`: in-process on SQLite, PostgreSQL's
//! `NOTIFY` from any node), and every `webhook_poll_interval` anyway (a lost notification, an
//! event appended by `keygate admin` in another process on SQLite, a retry that came due), for
//! each webhook it fans the audit events past its cursor out into deliveries, takes the due ones
//! with a lease, posts them at once (each bounded by the webhook's `timeout`), and records each
//! outcome: delivered, retried later with exponential backoff (`backoff`), or dead after
//! `retry_for`. All its state is in the database, so a restart or another node carries on where
//! it stopped. Times come from the one clock (the lease, the backoff, `webhook-timestamp`); the
//! poll is a tokio timer.

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use keygate_registry::Clock;
use keygate_store::{DeliveryOutcome, Store, StoreError, TakenDelivery};
use uuid::Uuid;

use super::sender::{Attempt, Message};
use super::{backoff, payload, Webhook};

/// Deliveries one node takes per webhook per tick at most.
const TAKE: i64 = 32;
/// How long a lease outlasts the attempt's own bound: a node that stops mid-attempt leaves its
/// deliveries to others (or to its next start) this long after.
const LEASE_MARGIN: i64 = 60;
/// Delivered deliveries are kept this long (seconds), dead ones [`KEEP_DEAD`]: the audit trail
/// is the lasting record; these rows only steer the relay and `keygate admin webhooks failed`.
const KEEP_DELIVERED: i64 = 7 * 86_400;
const KEEP_DEAD: i64 = 30 * 86_400;
/// How often the delivered and dead deliveries are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// The relay of one node.
#[derive(Debug, Clone)]
pub struct Relay {
    store: Store,
    clock: Clock,
    webhooks: Arc<[Webhook]>,
    poll: Duration,
}

impl Relay {
    /// A relay of `webhooks` over `store`, reading *now* from `clock`, looking for work when
    /// woken and every `poll` (`webhook_poll_interval`).
    pub fn new(store: Store, clock: Clock, webhooks: Vec<Webhook>, poll: Duration) -> Relay {
        Relay {
            store,
            clock,
            webhooks: webhooks.into(),
            poll,
        }
    }

    /// Makes each webhook's cursor if it has none (at the newest event): before the node
    /// serves, so no event of this run is missed.
    pub async fn prepare(&self) -> Result<(), StoreError> {
        for webhook in self.webhooks.iter() {
            self.store.init_webhook_cursor(&webhook.id).await?;
        }
        Ok(())
    }

    /// Runs until the task is aborted (when the node stops).
    pub async fn run(self) {
        if self.webhooks.is_empty() {
            return;
        }
        let mut tick = tokio::time::interval(self.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        let mut last_purge = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.store.webhook_events_appended() => {}
            }
            let mut result = self.once().await;
            if last_purge.elapsed() >= PURGE_EVERY {
                last_purge = tokio::time::Instant::now();
                let now = self.clock.now();
                result = result.and(
                    self.store
                        .purge_webhook_deliveries(now - KEEP_DELIVERED, now - KEEP_DEAD)
                        .await
                        .map(drop),
                );
            }
            // One line when the database fails and one when it is back, not one a second.
            match result {
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "webhook relay: the database is unavailable; retrying at each poll");
                }
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("webhook relay: the database is back");
                }
                _ => {}
            }
        }
    }

    /// One pass over every webhook.
    pub async fn once(&self) -> Result<(), StoreError> {
        for webhook in self.webhooks.iter() {
            while self
                .store
                .fan_out_webhook(&webhook.id, &webhook.events, self.clock.now())
                .await?
                == usize::try_from(keygate_store::FAN_OUT_BATCH).unwrap_or(usize::MAX)
            {}
            let owner = Uuid::new_v4();
            let now = self.clock.now();
            let lease = i64::try_from(webhook.timeout.as_secs()).unwrap_or(60) + LEASE_MARGIN;
            let taken = self
                .store
                .take_webhook_deliveries(&webhook.id, now, now + lease, owner, TAKE)
                .await?;
            let attempts = taken
                .iter()
                .map(|delivery| self.attempt(webhook, owner, delivery));
            for result in futures::future::join_all(attempts).await {
                result?;
            }
        }
        Ok(())
    }

    /// One attempt at one delivery, and its outcome recorded.
    async fn attempt(
        &self,
        webhook: &Webhook,
        owner: Uuid,
        delivery: &TakenDelivery,
    ) -> Result<(), StoreError> {
        let attempt = match &delivery.event {
            Some(event) => {
                let body = payload::body(event);
                let message = Message {
                    id: &event.id,
                    body: &body,
                };
                webhook.sender.send(&message, self.clock.now()).await
            }
            None => Attempt::Failed("the event was pruned by audit_retention".into()),
        };
        let now = self.clock.now();
        let failures = delivery.attempts.saturating_add(1);
        let outcome = match attempt {
            Attempt::Delivered => DeliveryOutcome::Delivered,
            Attempt::Failed(error) if delivery.event.is_none() => DeliveryOutcome::Dead { error },
            Attempt::Failed(error) => {
                match backoff::next_attempt(
                    now,
                    failures,
                    delivery.retry_from,
                    webhook.retry_for,
                    jitter(),
                ) {
                    Some(next_attempt_at) => DeliveryOutcome::Retry {
                        next_attempt_at,
                        error,
                    },
                    None => DeliveryOutcome::Dead { error },
                }
            }
        };
        let event_type = delivery
            .event
            .as_ref()
            .map_or("", |e| e.event_type.as_str());
        let label = match &outcome {
            DeliveryOutcome::Delivered => {
                tracing::debug!(webhook = %webhook.display, delivery = %delivery.id, event_type, "webhook delivered");
                "delivered"
            }
            DeliveryOutcome::Retry {
                next_attempt_at,
                error,
            } => {
                tracing::warn!(webhook = %webhook.display, delivery = %delivery.id, event_type, attempt = failures, error = %error, retry_in_seconds = next_attempt_at - now, "webhook delivery failed; will retry");
                "failed"
            }
            DeliveryOutcome::Dead { error } => {
                tracing::warn!(webhook = %webhook.display, delivery = %delivery.id, event_type, attempt = failures, error = %error, "webhook delivery is dead (see keygate admin webhooks failed)");
                "dead"
            }
        };
        metrics::counter!("keygate_webhook_deliveries_total", "outcome" => label).increment(1);
        let recorded = self
            .store
            .finish_webhook_delivery(delivery.id, owner, now, &outcome)
            .await?;
        if !recorded {
            tracing::warn!(webhook = %webhook.display, delivery = %delivery.id, "webhook delivery: the lease ran out during the attempt; another node has it");
        }
        Ok(())
    }
}

/// A number in `[0, 1)` from the system's random source (0.5 if it fails: the jitter only
/// spreads retries).
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_be_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}
