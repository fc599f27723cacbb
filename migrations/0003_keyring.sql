-- The vault's key hierarchy (DESIGN.md section 5): the keyring, wrapped by the
-- key-encryption key, and which keyring term seals each value. Only the core touches
-- these tables; no area may read or write them.

-- One row. It is made here, empty, so that the keyring is created exactly once: by the
-- first run (or the upgrade of a vault made before keyrings) in the same transaction as
-- this migration. A missing row later is an error, never a reason to make a new keyring.
CREATE TABLE vault_keyring (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    -- Hex id of the KEK that wraps `wrapped` (first 8 bytes of its SHA-256).
    kek_id     TEXT,
    -- Nonce, then the AES-256-GCM ciphertext of the keyring, with the KEK id as AAD.
    wrapped    BLOB,
    updated_at INTEGER
);
INSERT INTO vault_keyring (id) VALUES (1);

-- Every sealed value and the keyring term it is sealed under (0: a record of format 1,
-- sealed directly under a KEK before the keyring existed). Status counts and re-seals
-- read it, so neither has to scan the key-value store.
CREATE TABLE vault_sealed (
    scope TEXT    PRIMARY KEY,
    term  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX vault_sealed_by_term ON vault_sealed (term);
