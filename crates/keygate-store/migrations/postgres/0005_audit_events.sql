-- The audit trail (docs/design.md §11, docs/audit.md), PostgreSQL. Keep in step with
-- ../sqlite/0005_audit_events.sql: same columns and index names.
--
-- Append-only. `seq` is the chain's order: each event is appended as the previous seq + 1
-- under the append lock (PostgreSQL advisory lock space 5; SQLite's one writer), in the same
-- write transaction as the change it records. `hash` is SHA-256 over the event's fields and
-- `prev_hash` (the previous event's `hash`; 32 zero bytes for the first), so a row changed,
-- removed or inserted afterwards breaks the chain (`keygate admin audit verify`). No foreign
-- keys: an event outlives what it names, and pruning (`audit_retention`) deletes from the
-- oldest end only. `details` is JSON text and never holds a secret.
CREATE TABLE audit_events (
    seq         BIGINT  NOT NULL PRIMARY KEY,
    id          TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    event_type  TEXT    NOT NULL,
    client_id   TEXT,
    api_key_id  TEXT,
    key_id      TEXT,
    actor       TEXT    NOT NULL,
    source      TEXT,
    details     TEXT    NOT NULL,
    prev_hash   BYTEA   NOT NULL,
    hash        BYTEA   NOT NULL,
    CONSTRAINT audit_events_id_key UNIQUE (id)
);
CREATE INDEX audit_events_by_client ON audit_events (client_id, seq);
CREATE INDEX audit_events_by_api_key ON audit_events (api_key_id, seq);
CREATE INDEX audit_events_by_time ON audit_events (at);
-- Time-driven events are recorded once per key (the sweep checks under the append lock; this
-- index makes a second one fail even so).
CREATE UNIQUE INDEX audit_events_once_per_key ON audit_events (key_id, event_type)
    WHERE event_type IN ('key.expiring', 'key.expired', 'key.retired');
