-- Versioned KV and Vault KV v2 (issue 9). A KV secret is a row of `secrets` (a text
-- secret holding the JSON map, or a credential); its versions are `secret_versions`
-- with their deleted/destroyed marks. What KV adds lives here.

-- Vault's per-secret settings, the seed's owner stamps and the custom metadata. A
-- secret without a row has Vault's defaults (no limit, no cas, no expiry).
CREATE TABLE kv_metadata (
    secret_id            TEXT    PRIMARY KEY REFERENCES secrets (id) ON DELETE CASCADE,
    -- 0: no limit. A write beyond it forgets the oldest versions.
    max_versions         INTEGER NOT NULL DEFAULT 0 CHECK (max_versions BETWEEN 0 AND 1000),
    cas_required         INTEGER NOT NULL DEFAULT 0 CHECK (cas_required IN (0, 1)),
    -- Seconds after which a version counts as deleted; 0: never.
    delete_version_after INTEGER NOT NULL DEFAULT 0 CHECK (delete_version_after >= 0),
    -- A JSON object of string values.
    custom_metadata      TEXT    NOT NULL DEFAULT '{}',
    -- The subject who owns the secret (mutable), `user:<id>` or a name.
    owner                TEXT    NOT NULL,
    -- How many times the metadata was written (Vault's `current_metadata_version`).
    metadata_version     INTEGER NOT NULL DEFAULT 0,
    updated_at           INTEGER NOT NULL
);

-- The recent changes the `/api/secrets/events` stream shows: bounded (the kv area
-- keeps the newest 1000), never a value.
CREATE TABLE kv_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    safe_id   TEXT    NOT NULL,
    uri       TEXT    NOT NULL,
    operation TEXT    NOT NULL,
    version   INTEGER,
    actor     TEXT    NOT NULL
);
CREATE INDEX kv_events_by_safe ON kv_events (safe_id, seq);

-- Requests per caller and minute, for the KV request rate limit; in the database so
-- that every instance counts the same.
CREATE TABLE kv_request_counts (
    caller       TEXT    NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (caller, window_start)
);
