-- PAM v2: checkouts of a secret by id (seed 001) and the access records they leave
-- (seed 000). The checkout settings themselves (`access_policy`, `checkout_exclusive`,
-- `checkout_time_limit`) are columns of `secrets` since 0002.
--
-- One row per checkout; rows are never deleted, so they outlive the secret, its safe
-- and the user (no foreign keys: `secret_removed` and friends are computed). Whether a
-- checkout is still active is decided on each read and write from `checked_in_at` and
-- `expires_at` (no background job runs on a serverless host).
CREATE TABLE secret_access (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL,
    secret_id         TEXT    NOT NULL,
    -- The version checked out, and its `secret_versions.history_id`.
    secret_version    INTEGER NOT NULL,
    secret_history_id TEXT    NOT NULL,
    -- The secret's safe at checkout time (the seed's `collection_id`).
    safe_id           TEXT    NOT NULL,
    exclusive         INTEGER NOT NULL CHECK (exclusive IN (0, 1)),
    forced            INTEGER NOT NULL DEFAULT 0 CHECK (forced IN (0, 1)),
    -- 1 while an exclusive checkout holds the secret. Cleared on checkin, and before
    -- the next checkout once `expires_at` has passed; the index below lets one row per
    -- secret hold it, so of two racing checkouts exactly one commits.
    locked            INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    source_ip         TEXT,
    source_port       INTEGER,
    accessed_at       INTEGER NOT NULL,
    expires_at        INTEGER,
    checked_in_at     INTEGER,
    marked_safe_by    INTEGER,
    marked_safe_at    INTEGER,
    created_at        INTEGER NOT NULL,
    modified_at       INTEGER NOT NULL
);
CREATE UNIQUE INDEX secret_access_one_lock ON secret_access (secret_id) WHERE locked = 1;
CREATE INDEX secret_access_by_secret ON secret_access (secret_id, checked_in_at);
CREATE INDEX secret_access_by_user ON secret_access (user_id, checked_in_at);
