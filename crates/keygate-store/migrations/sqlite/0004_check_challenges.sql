-- Self-check encryption challenges (docs/design.md §5, "Self-check"), SQLite. Keep in step with
-- ../postgres/0004_check_challenges.sql.
--
-- A challenge is a random text encrypted to the API key's active key; the client proves it can
-- decrypt by sending the text back. Only the text's SHA-256 is kept, so the table alone cannot
-- answer a challenge. Kept in the database so that the answer may reach another node than the
-- one that made the challenge. Single use: answering sets `used` (one conditional UPDATE, so
-- two concurrent answers cannot both count). Bounded: a few per API key (the registry drops the
-- oldest), and expired rows are purged with expired sessions.
CREATE TABLE check_challenges (
    id             TEXT    NOT NULL PRIMARY KEY,
    api_key_id     TEXT    NOT NULL REFERENCES api_keys (id),
    answer_sha256  BLOB    NOT NULL,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used           INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
);
CREATE INDEX check_challenges_by_api_key ON check_challenges (api_key_id, created_at);
CREATE INDEX check_challenges_by_expiry ON check_challenges (expires_at);
