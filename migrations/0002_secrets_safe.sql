-- Secrets Safe: safes and folders (one tree), secrets with versioned values, owners,
-- URLs, shares, favourites, safe permissions and password rules.
-- Ids of folders and secrets are lower-case GUIDs; times are Unix seconds (UTC).

-- A folder without a parent is a safe. `safe_id` is the root of a folder's tree
-- (itself for a safe), kept so that permission checks need no recursion.
CREATE TABLE folders (
    id            TEXT    PRIMARY KEY,
    parent_id     TEXT    REFERENCES folders (id),
    safe_id       TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    description   TEXT    NOT NULL DEFAULT '',
    owner_user_id INTEGER REFERENCES users (id),
    user_group_id INTEGER REFERENCES user_groups (id),
    created_at    INTEGER NOT NULL,
    created_by    INTEGER,
    modified_at   INTEGER NOT NULL,
    modified_by   INTEGER
);
-- Names are unique among siblings (and among safes), whatever their case.
CREATE UNIQUE INDEX folders_unique_name ON folders (ifnull(parent_id, ''), name COLLATE NOCASE);
CREATE INDEX folders_by_parent ON folders (parent_id);
CREATE INDEX folders_by_safe ON folders (safe_id);

CREATE TABLE folder_favorites (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    folder_id TEXT    NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, folder_id)
);

CREATE TABLE secrets (
    id                TEXT    PRIMARY KEY,
    folder_id         TEXT    NOT NULL REFERENCES folders (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('credential', 'text', 'file')),
    title             TEXT    NOT NULL,
    description       TEXT    NOT NULL DEFAULT '',
    username          TEXT    NOT NULL DEFAULT '',
    notes             TEXT    NOT NULL DEFAULT '',
    file_name         TEXT,
    file_hash         TEXT,
    -- Password Safe 3.0 owner fields: 'User' or 'Group' and its id.
    owner_type        TEXT    NOT NULL DEFAULT 'User' CHECK (owner_type IN ('User', 'Group')),
    owner_id          INTEGER,
    password_rule_id  INTEGER,
    -- The version whose value GET answers; every update adds a version.
    current_version   INTEGER NOT NULL DEFAULT 1,
    -- PAM: who may see the value and how checkouts behave.
    access_policy     TEXT    NOT NULL DEFAULT 'full_edit'
                      CHECK (access_policy IN ('full_edit', 'view_on_request', 'none')),
    checkout_exclusive INTEGER NOT NULL DEFAULT 0 CHECK (checkout_exclusive IN (0, 1)),
    checkout_time_limit INTEGER,
    created_at        INTEGER NOT NULL,
    created_by        INTEGER,
    modified_at       INTEGER NOT NULL,
    modified_by       INTEGER,
    value_modified_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX secrets_unique_title ON secrets (folder_id, title COLLATE NOCASE);
CREATE INDEX secrets_by_modified ON secrets (modified_at);

-- One row per value a secret has had; the value itself is sealed in the vault at
-- scope `secret/<secret id>/v/<version>`. Rows are never updated in place but for
-- the deleted/destroyed marks.
CREATE TABLE secret_versions (
    secret_id    TEXT    NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    history_id   TEXT    NOT NULL UNIQUE,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   INTEGER,
    deleted_at   INTEGER,
    destroyed_at INTEGER,
    PRIMARY KEY (secret_id, version)
);

CREATE TABLE secret_owners (
    secret_id TEXT    NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    user_id   INTEGER,
    group_id  INTEGER,
    name      TEXT    NOT NULL DEFAULT '',
    email     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (secret_id, position)
);

CREATE TABLE secret_urls (
    id        TEXT    PRIMARY KEY,
    secret_id TEXT    NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    url       TEXT    NOT NULL
);
CREATE INDEX secret_urls_by_secret ON secret_urls (secret_id);

-- A secret linked into another folder; the target folder's safe permissions apply.
CREATE TABLE secret_shares (
    secret_id  TEXT    NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    folder_id  TEXT    NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    created_by INTEGER,
    PRIMARY KEY (secret_id, folder_id)
);
CREATE INDEX secret_shares_by_folder ON secret_shares (folder_id);

CREATE TABLE secret_favorites (
    user_id   INTEGER NOT NULL REFERENCES users (id),
    secret_id TEXT    NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, secret_id)
);

-- Grants on a safe to a user (principal_type 0) or a group (1). `flags` is a bit set:
-- 1 read, 2 create, 4 update, 8 delete, 16 share, 32 manage. An expired grant is none.
CREATE TABLE safe_permissions (
    id             TEXT    PRIMARY KEY,
    safe_id        TEXT    NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    principal_type INTEGER NOT NULL CHECK (principal_type IN (0, 1)),
    principal_id   INTEGER NOT NULL,
    flags          INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 63),
    expires_at     INTEGER,
    created_at     INTEGER NOT NULL,
    created_by     INTEGER,
    UNIQUE (safe_id, principal_type, principal_id)
);
CREATE INDEX safe_permissions_by_principal ON safe_permissions (principal_type, principal_id);

-- Rules that generate passwords for `PasswordRuleID`.
CREATE TABLE password_rules (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    length     INTEGER NOT NULL CHECK (length BETWEEN 4 AND 256),
    lowercase  INTEGER NOT NULL CHECK (lowercase IN (0, 1)),
    uppercase  INTEGER NOT NULL CHECK (uppercase IN (0, 1)),
    digits     INTEGER NOT NULL CHECK (digits IN (0, 1)),
    symbols    INTEGER NOT NULL CHECK (symbols IN (0, 1)),
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1))
);
INSERT INTO password_rules (id, name, length, lowercase, uppercase, digits, symbols, is_default) VALUES
    (1, 'Default: 24 characters, all classes', 24, 1, 1, 1, 1, 1),
    (2, 'Long: 64 characters, all classes', 64, 1, 1, 1, 1, 0),
    (3, 'Alphanumeric: 32 characters', 32, 1, 1, 1, 0, 0),
    (4, 'PIN: 8 digits', 8, 0, 0, 1, 0, 0);
