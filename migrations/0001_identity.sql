-- Identity: users, groups, membership, feature permissions, credentials, sessions, audit.
-- Times are Unix seconds (UTC) from the guest's wall clock.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_name   TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    first_name  TEXT    NOT NULL DEFAULT '',
    last_name   TEXT    NOT NULL DEFAULT '',
    email       TEXT    NOT NULL DEFAULT '',
    is_admin    INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    -- blocked: may not sign in, existing sessions stop working; can be lifted.
    blocked     INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    -- removed: deleted through the API; the row stays so audit records keep a name.
    removed     INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);

CREATE TABLE user_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at  INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id);

-- Feature permissions per group, e.g. ('secrets_safe', 1 = read, 2 = read/write).
CREATE TABLE group_features (
    group_id     INTEGER NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    feature      TEXT    NOT NULL,
    access_level INTEGER NOT NULL CHECK (access_level IN (1, 2)),
    PRIMARY KEY (group_id, feature)
);

-- API keys and OAuth clients. Only the HMAC digest of the key or client secret is kept.
CREATE TABLE credentials (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('api_key', 'oauth_client')),
    client_id   TEXT    UNIQUE,
    digest      TEXT    NOT NULL UNIQUE,
    label       TEXT    NOT NULL DEFAULT '',
    -- Space-separated OAuth-style scopes granted to tokens issued from this credential.
    scopes      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX credentials_by_user ON credentials (user_id);

-- Sign-in sessions (cookie) and access tokens (bearer), by digest.
CREATE TABLE sessions (
    digest        TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    credential_id INTEGER REFERENCES credentials (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('cookie', 'bearer')),
    scopes        TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Audit trail; `mac` chains each event to the one before (see the core's audit module).
CREATE TABLE audit_events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    decision TEXT    NOT NULL,
    purpose  TEXT    NOT NULL,
    detail   TEXT    NOT NULL,
    mac      TEXT    NOT NULL
);
