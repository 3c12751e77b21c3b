-- Gateway tables, SQLite. Keep in step with ../postgres/0002_gateway.sql.

-- keygate's own RSA key pairs (DESIGN §6 "System key"). The private half is sealed
-- (AES-256-GCM) with the master key; `current` = 1 for the one key that encrypts, enforced by a
-- partial unique index so concurrent first starts cannot make two.
CREATE TABLE system_keys (
    kid                 TEXT    NOT NULL PRIMARY KEY,
    sealed_private_key  BLOB    NOT NULL,
    created_at          BIGINT  NOT NULL,
    retired_at          BIGINT,
    current             INTEGER NOT NULL DEFAULT 1 CHECK (current IN (0, 1))
);
CREATE UNIQUE INDEX system_keys_one_current ON system_keys (current) WHERE current = 1;

-- Seen `jti`s of signed requests. With SQLite (one node) replay detection lives in memory and
-- this table stays empty; it exists so that both trees hold the same tables.
CREATE TABLE seen_jtis (
    api_key_id  TEXT    NOT NULL,
    jti         TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    CONSTRAINT seen_jtis_pkey PRIMARY KEY (api_key_id, jti)
);
CREATE INDEX seen_jtis_by_expiry ON seen_jtis (expires_at);
