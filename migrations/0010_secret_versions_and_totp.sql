-- Secrets Safe API 3.3: version history with rollback, and TOTP on credential secrets.

-- The file name a file secret's content had when that version was written, so that a
-- rollback restores the name with the content. Versions written before this migration
-- take the secret's current name, the best there is.
ALTER TABLE secret_versions ADD COLUMN file_name TEXT;
UPDATE secret_versions
   SET file_name = (SELECT s.file_name FROM secrets s WHERE s.id = secret_versions.secret_id);

-- TOTP (RFC 6238) on a credential secret. The seed is sealed in the vault at
-- `secret/<secret id>/totp/<totp_seed_id>`, a fresh id each time it is set, so a new
-- seed is sealed before the row that points at it commits and the old one is forgotten
-- only after. `totp_seed_id` NULL means TOTP is off; the parameters go with it.
ALTER TABLE secrets ADD COLUMN totp_seed_id TEXT;
ALTER TABLE secrets ADD COLUMN totp_algorithm TEXT
    CHECK (totp_algorithm IS NULL OR totp_algorithm IN ('SHA1', 'SHA256', 'SHA512'));
ALTER TABLE secrets ADD COLUMN totp_digits INTEGER
    CHECK (totp_digits IS NULL OR totp_digits BETWEEN 6 AND 8);
ALTER TABLE secrets ADD COLUMN totp_period INTEGER
    CHECK (totp_period IS NULL OR totp_period BETWEEN 1 AND 3600);
