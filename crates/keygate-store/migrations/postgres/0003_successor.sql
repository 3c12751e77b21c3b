-- Staged successors and rotation (docs/design.md §2, "Rotation"), PostgreSQL.
-- Keep in step with ../sqlite/0003_successor.sql: same columns and index names.
--
-- activates_at: when the key is active from; NULL for a key uploaded directly (active from
--   issued_at). A staged successor gets the active key's expires_at, moved earlier by an
--   activation or a revocation in the transaction that ends its predecessor.
-- withdrawn_at: set when a staged successor is withdrawn (it stays registered).
-- staged: 1 for the one staged successor of an API key until it is promoted to the open key
--   (by the next write after it activated) or withdrawn; the partial unique index allows one.
--   A staged row is never open, so "one open key per API key" still holds.
ALTER TABLE public_keys ADD COLUMN activates_at BIGINT;
ALTER TABLE public_keys ADD COLUMN withdrawn_at BIGINT;
ALTER TABLE public_keys ADD COLUMN staged INTEGER NOT NULL DEFAULT 0 CHECK (staged IN (0, 1));
CREATE UNIQUE INDEX public_keys_one_staged_per_api_key ON public_keys (api_key_id) WHERE staged = 1;
