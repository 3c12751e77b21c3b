-- The webhook relay's state (docs/webhooks.md, docs/decisions.md "Webhooks"), PostgreSQL. Keep in
-- step with ../sqlite/0007_webhooks.sql.
--
-- The audit trail is the outbox: an event is appended in the same transaction as the change it
-- records, and the relay reads audit_events after each webhook's cursor. A webhook is known by
-- the SHA-256 of its URL (hex, first 16 bytes), never by the URL, whose query may hold a token.
-- Its cursor is made at the first start that has it, at the newest event then: a new webhook
-- gets the events from then on, not the whole history.
CREATE TABLE webhook_cursors (
    webhook   TEXT   NOT NULL PRIMARY KEY,
    last_seq  BIGINT NOT NULL
);

-- One delivery per (webhook, event), made by the fan-out under the cursor's lock. A node takes
-- due deliveries with a lease (lease_owner, lease_until), posts them, then marks each delivered,
-- pending again (next_attempt_at, exponential backoff) or dead (after the webhook's retry_for,
-- counted from retry_from). last_error is a status or a transport error, never a secret.
-- No foreign key to audit_events: audit_retention may prune an event a dead delivery names.
CREATE TABLE webhook_deliveries (
    id               TEXT   NOT NULL PRIMARY KEY,
    webhook          TEXT   NOT NULL,
    event_id         TEXT   NOT NULL,
    event_seq        BIGINT NOT NULL,
    event_type       TEXT   NOT NULL,
    status           TEXT   NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    retry_from       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_attempt_at  BIGINT,
    last_error       TEXT,
    delivered_at     BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    UNIQUE (webhook, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (webhook, status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_owner ON webhook_deliveries (lease_owner);
CREATE INDEX webhook_deliveries_by_status ON webhook_deliveries (status, last_attempt_at);
