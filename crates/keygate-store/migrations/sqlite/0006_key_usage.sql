-- Per-key usage (docs/design.md §5, "Usage"), SQLite. Keep in step with
-- ../postgres/0006_key_usage.sql.
--
-- Counted in each node's memory on the gateway's hot path and added here in batches every
-- `usage_flush_interval` (docs/gateway.md, "Usage"): every write adds to the counts, and
-- `last_used_at` / the last refusal take the later instant, so nodes sharing the database merge
-- without coordinating. One row per key that was ever used; keys are never deleted.
CREATE TABLE key_usage (
    key_id             TEXT    NOT NULL PRIMARY KEY REFERENCES public_keys (id),
    accepted           BIGINT  NOT NULL DEFAULT 0,
    last_used_at       BIGINT,
    last_refusal_slug  TEXT,
    last_refusal_at    BIGINT
);

-- Refused signed calls per key and slug (a bounded set: the gateway's refusal slugs).
CREATE TABLE key_refusals (
    key_id  TEXT    NOT NULL REFERENCES public_keys (id),
    slug    TEXT    NOT NULL,
    count   BIGINT  NOT NULL,
    CONSTRAINT key_refusals_pkey PRIMARY KEY (key_id, slug)
);
