-- keygate schema, PostgreSQL. Instants are BIGINT unix seconds (UTC); UUIDs are TEXT, so that
-- both backends hold identical values.
-- Keep in step with ../sqlite/0001_init.sql: same tables, columns and index names.

CREATE TABLE clients (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    alias       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    CONSTRAINT clients_alias_key UNIQUE (alias)
);

CREATE TABLE api_keys (
    id             TEXT    NOT NULL PRIMARY KEY,
    client_id      TEXT    NOT NULL REFERENCES clients (id),
    alias          TEXT    NOT NULL,
    api_key        TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    CONSTRAINT api_keys_client_alias_key UNIQUE (client_id, alias),
    CONSTRAINT api_keys_api_key_key UNIQUE (api_key)
);

CREATE TABLE login_failures (
    seq            BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    api_key_login  TEXT    NOT NULL,
    address        TEXT    NOT NULL,
    failed_at      BIGINT  NOT NULL
);
CREATE INDEX login_failures_by_key ON login_failures (api_key_login, failed_at);
CREATE INDEX login_failures_by_address ON login_failures (address, failed_at);
CREATE INDEX login_failures_by_time ON login_failures (failed_at);

CREATE TABLE sessions (
    token_hash  TEXT    NOT NULL PRIMARY KEY,
    api_key_id  TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- One row per key ever registered. `open` = 1 while the key is neither revoked nor superseded;
-- the partial unique index lets the database itself hold at most one open key per API key.
CREATE TABLE public_keys (
    seq                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                  TEXT    NOT NULL,
    api_key_id          TEXT    NOT NULL REFERENCES api_keys (id),
    public_key_pem      TEXT    NOT NULL,
    fingerprint_sha256  TEXT    NOT NULL,
    jwk_thumbprint      TEXT    NOT NULL,
    bits                BIGINT  NOT NULL,
    exponent            BIGINT  NOT NULL,
    issued_at           BIGINT  NOT NULL,
    expires_at          BIGINT  NOT NULL,
    revoked_at          BIGINT,
    revoke_reason       TEXT,
    open                INTEGER NOT NULL DEFAULT 1 CHECK (open IN (0, 1)),
    CONSTRAINT public_keys_id_key UNIQUE (id),
    CONSTRAINT public_keys_fingerprint_key UNIQUE (fingerprint_sha256)
);
CREATE UNIQUE INDEX public_keys_one_open_per_api_key ON public_keys (api_key_id) WHERE open = 1;
CREATE INDEX public_keys_by_api_key ON public_keys (api_key_id, issued_at DESC, seq DESC);
