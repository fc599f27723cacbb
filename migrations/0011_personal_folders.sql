-- Personal folders (issue 13): every user has one, a root folder of the tree that is
-- not a safe. It belongs to its user alone (no grants, no shares; administrators do
-- not see it), and the Workforce Passwords feature permission opens it.

ALTER TABLE folders ADD COLUMN personal_user_id INTEGER REFERENCES users (id);
CREATE UNIQUE INDEX folders_one_personal_per_user ON folders (personal_user_id)
    WHERE personal_user_id IS NOT NULL;

-- A personal folder is no safe: its name takes no safe name of its owner's.
DROP INDEX safes_unique_name_per_owner;
CREATE UNIQUE INDEX safes_unique_name_per_owner ON folders (owner_user_id, name COLLATE NOCASE)
    WHERE parent_id IS NULL AND personal_user_id IS NULL;

-- One per user, made with the user, in the same statement whoever inserts the user;
-- its id is a random version 4 GUID, lower case like every folder id, and a root is
-- its own safe_id.
CREATE TRIGGER users_insert_makes_a_personal_folder AFTER INSERT ON users
BEGIN
    INSERT INTO folders (id, parent_id, safe_id, name, description, owner_user_id,
                         personal_user_id, created_at, created_by, modified_at, modified_by)
    VALUES (
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
            || substr(lower(hex(randomblob(2))), 2) || '-'
            || substr('89ab', 1 + (random() & 3), 1)
            || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
        NULL, '', 'Personal Folder', '', NEW.id, NEW.id,
        NEW.created_at, NEW.id, NEW.created_at, NEW.id);
    UPDATE folders SET safe_id = id WHERE personal_user_id = NEW.id;
END;

-- The users there already.
INSERT INTO folders (id, parent_id, safe_id, name, description, owner_user_id,
                     personal_user_id, created_at, created_by, modified_at, modified_by)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
           || substr(lower(hex(randomblob(2))), 2) || '-'
           || substr('89ab', 1 + (random() & 3), 1)
           || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
       NULL, '', 'Personal Folder', '', id, id, created_at, id, created_at, id
  FROM users;
UPDATE folders SET safe_id = id WHERE personal_user_id IS NOT NULL AND safe_id = '';
