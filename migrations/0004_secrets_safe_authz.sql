-- Secrets Safe authorization fixes (issue 6).

-- Safe names no longer form one global namespace: a taken name answered 409 even for
-- a safe the caller cannot see, which told him it exists. The safes area now refuses
-- a name only when the caller sees a safe of that name (an administrator sees them
-- all); this index keeps one creator from making two safes of one name at once.
-- Folder names stay unique among siblings.
DROP INDEX folders_unique_name;
CREATE UNIQUE INDEX folders_unique_name ON folders (parent_id, name COLLATE NOCASE)
    WHERE parent_id IS NOT NULL;
CREATE UNIQUE INDEX safes_unique_name_per_owner ON folders (owner_user_id, name COLLATE NOCASE)
    WHERE parent_id IS NULL;

-- A folder's (deprecated) UserGroupId must not keep an administrator from deleting
-- the group: the folder forgets it.
CREATE TRIGGER user_groups_delete_clears_folders BEFORE DELETE ON user_groups
BEGIN
    UPDATE folders SET user_group_id = NULL WHERE user_group_id = OLD.id;
END;
