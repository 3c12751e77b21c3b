-- Gateway tables, PostgreSQL. Keep in step with ../sqlite/0002_gateway.sql.

-- keygate's own RSA key pairs (DESIGN §6 "System key"). The private half is sealed
-- (AES-256-GCM) with the master key; `current` = 1 for the one key that encrypts, enforced by a
-- partial unique index so concurrent first starts cannot make two.
CREATE TABLE system_keys (
    kid                 TEXT    NOT NULL PRIMARY KEY,
    sealed_private_key  BYTEA   NOT NULL,
    created_at          BIGINT  NOT NULL,
    retired_at          BIGINT,
    current             INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1))
);
CREATE UNIQUE INDEX system_keys_one_current ON system_keys (current) WHERE current = 1;

-- Seen `jti`s of signed requests, shared by every node: one INSERT ... ON CONFLICT DO NOTHING
-- per signed call. UNLOGGED: no WAL, so the write is cheap; after a crash the table is emptied,
-- which forgets at most one skew window of jtis (documented in docs/gateway.md).
CREATE UNLOGGED TABLE seen_jtis (
    api_key_id  TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    CONSTRAINT seen_jtis_pkey PRIMARY KEY (api_key_id, jti)
);
CREATE INDEX seen_jtis_by_expiry ON seen_jtis (expires_at);

-- Cache invalidation across nodes (DESIGN §10): every change to a key, a session or the system
-- keys is announced on the channel `keygate_invalidate`, whichever code path or process made it
-- (the API, the web page, `keygate admin`). Notifications are delivered at commit.
CREATE FUNCTION keygate_notify_public_key() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('keygate_invalidate', 'key:' || NEW.api_key_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER public_keys_notify AFTER INSERT OR UPDATE ON public_keys
    FOR EACH ROW EXECUTE FUNCTION keygate_notify_public_key();

CREATE FUNCTION keygate_notify_session() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('keygate_invalidate', 'session:' || OLD.token_hash);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER sessions_notify AFTER DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION keygate_notify_session();

CREATE FUNCTION keygate_notify_system_key() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('keygate_invalidate', 'system_keys');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER system_keys_notify AFTER INSERT OR UPDATE ON system_keys
    FOR EACH STATEMENT EXECUTE FUNCTION keygate_notify_system_key();
