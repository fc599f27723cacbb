//! All of the folders area's SQL. Parameters are always bound, never formatted in;
//! every change is one `Db::execute` (one transaction), so nothing is half done.
//!
//! Tree walks are recursive CTEs bounded at 64 levels, like the shared helpers in
//! `edgesafe_secrets_safe::folders`, so a damaged tree cannot loop forever.

use edgesafe_api_common::vault::{statement, Db, Row, Value};
use edgesafe_api_common::{ApiError, ErrorCode, Result};
use edgesafe_secrets_safe::ids::{FolderId, SafeId};
use edgesafe_secrets_safe::Folder;
use std::collections::HashSet;

// ---------------------------------------------------------------- reading

/// A folder with what its wire shape adds: the names of the users who created and
/// last changed it, and whether it is the reader's favourite.
#[derive(Clone, Debug)]
pub struct FolderView {
    pub folder: Folder,
    pub created_by_name: Option<String>,
    pub modified_by_name: Option<String>,
    pub is_favorite: bool,
}

impl FolderView {
    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(FolderView {
            folder: Folder::from_row(row)?,
            created_by_name: row.opt_str("created_by_name")?.map(str::to_owned),
            modified_by_name: row.opt_str("modified_by_name")?.map(str::to_owned),
            is_favorite: row.bool("is_favorite")?,
        })
    }
}

/// `?1` is the reader's user id.
const VIEW_SELECT: &str = "SELECT f.id AS id, f.parent_id AS parent_id, f.safe_id AS safe_id,
        f.name AS name, f.description AS description, f.owner_user_id AS owner_user_id,
        f.user_group_id AS user_group_id, f.created_at AS created_at,
        f.created_by AS created_by, f.modified_at AS modified_at,
        f.modified_by AS modified_by, f.personal_user_id AS personal_user_id,
        cu.user_name AS created_by_name, mu.user_name AS modified_by_name,
        EXISTS (SELECT 1 FROM folder_favorites ff
                 WHERE ff.folder_id = f.id AND ff.user_id = ?1) AS is_favorite
    FROM folders f
    LEFT JOIN users cu ON cu.id = f.created_by
    LEFT JOIN users mu ON mu.id = f.modified_by";

fn views(sql: &str, params: &[Value]) -> Result<Vec<FolderView>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| FolderView::read(&r))
        .collect()
}

/// One folder (or safe) as `reader` sees it.
pub fn view(id: &str, reader: i64) -> Result<Option<FolderView>> {
    Ok(views(
        &format!("{VIEW_SELECT} WHERE f.id = ?2"),
        &[reader.into(), id.into()],
    )?
    .into_iter()
    .next())
}

/// Every folder and safe of the given safes, as `reader` sees them.
pub fn views_in_safes(safe_ids: &[String], reader: i64) -> Result<Vec<FolderView>> {
    if safe_ids.is_empty() {
        return Ok(Vec::new());
    }
    // The ids travel as one JSON array parameter, so the statement is the same
    // whatever their number and nothing is formatted into it.
    let ids =
        serde_json::to_string(safe_ids).map_err(|_| ApiError::internal("serializing safe ids"))?;
    views(
        &format!("{VIEW_SELECT} WHERE f.safe_id IN (SELECT value FROM json_each(?2))"),
        &[reader.into(), ids.into()],
    )
}

/// How many names the path of `id` has: 1 for a safe.
pub fn depth(id: &str) -> Result<i64> {
    let rows = Db::query(
        "WITH RECURSIVE up(id, parent_id, depth) AS (
             SELECT id, parent_id, 1 FROM folders WHERE id = ?1
             UNION ALL
             SELECT f.id, f.parent_id, u.depth + 1 FROM folders f JOIN up u ON f.id = u.parent_id
             WHERE u.depth < 64)
         SELECT ifnull(max(depth), 0) AS depth FROM up",
        &[id.into()],
    )?;
    rows.first().map_or(Ok(0), |r| r.i64("depth"))
}

/// What lives in the subtree of a folder (the folder included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Subtree {
    /// Levels: 1 for a folder without subfolders.
    pub height: i64,
    pub folders: i64,
    /// Secrets whose home is in the subtree.
    pub secrets: i64,
    /// Shares of (other) secrets into folders of the subtree.
    pub shares: i64,
}

const BELOW: &str = "WITH RECURSIVE below(id, level) AS (
        SELECT id, 1 FROM folders WHERE id = ?1
        UNION ALL
        SELECT f.id, b.level + 1 FROM folders f JOIN below b ON f.parent_id = b.id
        WHERE b.level < 64)";

pub fn subtree(id: &str) -> Result<Subtree> {
    let rows = Db::query(
        &format!(
            "{BELOW}
             SELECT ifnull((SELECT max(level) FROM below), 0) AS height,
                    (SELECT count(*) FROM below) AS folders,
                    (SELECT count(*) FROM secrets WHERE folder_id IN (SELECT id FROM below)) AS secrets,
                    (SELECT count(*) FROM secret_shares WHERE folder_id IN (SELECT id FROM below)) AS shares"
        ),
        &[id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(Subtree::default());
    };
    Ok(Subtree {
        height: row.i64("height")?,
        folders: row.i64("folders")?,
        secrets: row.i64("secrets")?,
        shares: row.i64("shares")?,
    })
}

/// The safes on which moving the subtree in `below` into the safe `dest` (an SQL
/// expression) needs Share (see `edgesafe_secrets_safe::access`): the own safe of
/// each secret shared into the subtree from outside it, unless that is the
/// destination (the share then stays within one safe); and the destination itself
/// when a secret of the subtree is shared into a folder outside it and outside the
/// destination (the share would then link a secret of the destination into another
/// safe). Used by the check before a move and again inside the move's statement.
fn crossing_shares_sql(dest: &str) -> String {
    format!(
        "SELECT f.safe_id AS safe_id
           FROM secret_shares sh
           JOIN secrets s ON s.id = sh.secret_id
           JOIN folders f ON f.id = s.folder_id
          WHERE sh.folder_id IN (SELECT id FROM below)
            AND s.folder_id NOT IN (SELECT id FROM below)
            AND f.safe_id <> {dest}
         UNION
         SELECT {dest} AS safe_id
           FROM secret_shares sh
           JOIN secrets s ON s.id = sh.secret_id
           JOIN folders t ON t.id = sh.folder_id
          WHERE s.folder_id IN (SELECT id FROM below)
            AND sh.folder_id NOT IN (SELECT id FROM below)
            AND t.safe_id <> {dest}"
    )
}

/// The safes on which moving the subtree of `id` into the safe `destination` needs
/// Share ([`crossing_shares_sql`]).
pub fn shares_crossing(id: &FolderId, destination: &SafeId) -> Result<Vec<SafeId>> {
    let rows = Db::query(
        &format!("{BELOW} {}", crossing_shares_sql("?2")),
        &[id.into(), destination.into()],
    )?;
    rows.iter()
        .map(|r| r.string("safe_id").map(SafeId::new))
        .collect()
}

/// Whether `id` is `ancestor` or lies below it.
pub fn is_within(id: &str, ancestor: &str) -> Result<bool> {
    let rows = Db::query(
        &format!("{BELOW} SELECT 1 AS found FROM below WHERE id = ?2"),
        &[ancestor.into(), id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Whether a child of `parent` other than `except` is called `name`, in any case
/// (the case rule of the `folders_unique_name` index).
pub fn name_taken(parent: &str, name: &str, except: Option<&str>) -> Result<bool> {
    let rows = Db::query(
        "SELECT 1 AS taken FROM folders
          WHERE parent_id = ?1 AND name = ?2 COLLATE NOCASE AND (?3 IS NULL OR id <> ?3)
          LIMIT 1",
        &[parent.into(), name.into(), except.into()],
    )?;
    Ok(!rows.is_empty())
}

/// The first of `name (1)`, `name (2)`, ... that no child of `parent` has. The name
/// is shortened first when the suffix would take it past `max_chars`.
pub fn free_name(parent: &str, name: &str, max_chars: usize) -> Result<String> {
    let rows = Db::query(
        "SELECT lower(name) AS name FROM folders WHERE parent_id = ?1",
        &[parent.into()],
    )?;
    // SQLite's lower() and NOCASE fold ASCII only; so does this comparison.
    let taken: HashSet<String> = rows
        .iter()
        .map(|r| r.string("name"))
        .collect::<Result<_>>()?;
    let mut n: u64 = 1;
    loop {
        let suffix = format!(" ({n})");
        let room = max_chars.saturating_sub(suffix.chars().count());
        let base: String = name.chars().take(room).collect();
        let candidate = format!("{}{suffix}", base.trim_end());
        if !taken.contains(&candidate.to_ascii_lowercase()) {
            return Ok(candidate);
        }
        n += 1;
    }
}

// ---------------------------------------------------------------- writing

/// The message for a sibling with the same name.
pub const NAME_TAKEN: &str = "Name: a folder of that name already exists there";

/// A uniqueness conflict on a write that can only break one rule gets that rule's
/// message; anything else passes through.
fn conflict_as(e: ApiError, what: &str) -> ApiError {
    if e.code() == ErrorCode::Conflict {
        ApiError::conflict(what)
    } else {
        e
    }
}

pub struct NewFolderRow<'a> {
    pub id: &'a str,
    pub parent_id: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub owner: i64,
    pub user_group_id: Option<i64>,
}

/// Inserts a folder below `parent_id`, taking its safe from the parent in the same
/// statement. `false` when the parent is gone.
pub fn insert_folder(row: &NewFolderRow<'_>, now: i64) -> Result<bool> {
    let outcomes = Db::execute(vec![statement(
        "INSERT INTO folders (id, parent_id, safe_id, name, description, owner_user_id,
                              user_group_id, created_at, created_by, modified_at, modified_by)
         SELECT ?1, p.id, p.safe_id, ?3, ?4, ?5, ?6, ?7, ?5, ?7, ?5
           FROM folders p WHERE p.id = ?2",
        vec![
            row.id.into(),
            row.parent_id.into(),
            row.name.into(),
            row.description.into(),
            row.owner.into(),
            row.user_group_id.into(),
            now.into(),
        ],
    )])
    .map_err(|e| conflict_as(e, NAME_TAKEN))?;
    Ok(outcomes.first().is_some_and(|o| o.changes == 1))
}

pub struct FolderFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub user_group_id: Option<i64>,
}

/// Changes a folder's own fields in place.
pub fn update_folder(id: &str, fields: &FolderFields<'_>, by: i64, now: i64) -> Result<()> {
    Db::execute(vec![statement(
        "UPDATE folders SET name = ?2, description = ?3, user_group_id = ?4,
                            modified_at = ?5, modified_by = ?6
          WHERE id = ?1",
        vec![
            id.into(),
            fields.name.into(),
            fields.description.into(),
            fields.user_group_id.into(),
            now.into(),
            by.into(),
        ],
    )])
    .map_err(|e| conflict_as(e, NAME_TAKEN))?;
    Ok(())
}

/// Moves folder `id` below `destination` with `fields`, and gives the whole subtree
/// the destination's safe, in one transaction. The parent change re-checks in the
/// same statement that the destination is not inside the folder (a concurrent move
/// could have put it there) and, with `share_approved` (the safes on which the mover
/// holds Share; `None` when no check is due), that no share crossing safes came in
/// since the caller's check; `false` when either refused it, and then the subtree's
/// safe is recomputed from the unchanged parent, which changes nothing.
pub fn relocate_folder(
    id: &str,
    destination: &str,
    fields: &FolderFields<'_>,
    share_approved: Option<&[SafeId]>,
    by: i64,
    now: i64,
) -> Result<bool> {
    let approved = share_approved
        .map(|safes| {
            let ids: Vec<&str> = safes.iter().map(SafeId::as_str).collect();
            serde_json::to_string(&ids).map_err(|_| ApiError::internal("serializing safe ids"))
        })
        .transpose()?;
    let crossing = crossing_shares_sql("(SELECT safe_id FROM folders WHERE id = ?2)");
    let outcomes = Db::execute(vec![
        statement(
            &format!(
                "WITH RECURSIVE up(id, depth) AS (
                     SELECT ?2, 0
                     UNION ALL
                     SELECT f.parent_id, u.depth + 1 FROM folders f JOIN up u ON f.id = u.id
                     WHERE f.parent_id IS NOT NULL AND u.depth < 64),
                 below(id, level) AS (
                     SELECT id, 1 FROM folders WHERE id = ?1
                     UNION ALL
                     SELECT f.id, b.level + 1 FROM folders f JOIN below b ON f.parent_id = b.id
                     WHERE b.level < 64)
                 UPDATE folders SET parent_id = ?2, name = ?3, description = ?4,
                                    user_group_id = ?5, modified_at = ?6, modified_by = ?7
                  WHERE id = ?1 AND ?1 NOT IN (SELECT id FROM up)
                    AND (?8 IS NULL OR NOT EXISTS (
                         SELECT 1 FROM ({crossing}) c
                          WHERE c.safe_id NOT IN (SELECT value FROM json_each(?8))))"
            ),
            vec![
                id.into(),
                destination.into(),
                fields.name.into(),
                fields.description.into(),
                fields.user_group_id.into(),
                now.into(),
                by.into(),
                approved.into(),
            ],
        ),
        statement(
            &format!(
                "{BELOW}
                 UPDATE folders SET safe_id = (
                     SELECT p.safe_id FROM folders m JOIN folders p ON p.id = m.parent_id
                      WHERE m.id = ?1)
                  WHERE id IN (SELECT id FROM below)"
            ),
            vec![id.into()],
        ),
    ])
    .map_err(|e| conflict_as(e, NAME_TAKEN))?;
    Ok(outcomes.first().is_some_and(|o| o.changes == 1))
}

/// What deleting a subtree removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Deleted {
    pub folders: u64,
    pub shares: u64,
}

/// The message when secrets live in the subtree.
pub const HOLDS_SECRETS: &str =
    "Id: the folder or a folder below it holds secrets; delete or move them first";

/// Deletes folder `id` and every folder below it, with the favourites of those
/// folders and the shares into them, in one transaction. Secrets keep their folder by
/// a foreign key without cascade, so a secret created meanwhile makes the whole
/// delete fail (409) instead of orphaning it.
pub fn delete_subtree(id: &str) -> Result<Deleted> {
    let outcomes = Db::execute(vec![
        statement(
            &format!(
                "{BELOW} DELETE FROM folder_favorites WHERE folder_id IN (SELECT id FROM below)"
            ),
            vec![id.into()],
        ),
        statement(
            &format!("{BELOW} DELETE FROM secret_shares WHERE folder_id IN (SELECT id FROM below)"),
            vec![id.into()],
        ),
        statement(
            &format!("{BELOW} DELETE FROM folders WHERE id IN (SELECT id FROM below)"),
            vec![id.into()],
        ),
    ])
    .map_err(|e| conflict_as(e, HOLDS_SECRETS))?;
    let changes = |i: usize| outcomes.get(i).map_or(0, |o| o.changes);
    Ok(Deleted {
        shares: changes(1),
        folders: changes(2),
    })
}

/// Marks or unmarks a folder as one of `user`'s favourites; either is idempotent.
pub fn set_favorite(user: i64, folder: &str, favorite: bool) -> Result<()> {
    let sql = if favorite {
        "INSERT OR IGNORE INTO folder_favorites (user_id, folder_id) VALUES (?1, ?2)"
    } else {
        "DELETE FROM folder_favorites WHERE user_id = ?1 AND folder_id = ?2"
    };
    Db::execute(vec![statement(sql, vec![user.into(), folder.into()])])?;
    Ok(())
}
