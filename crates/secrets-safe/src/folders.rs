//! Reading the folder tree: one folder, and the `Safe/Folder/...` paths clients match on.

use crate::ids::{FolderId, SafeId};
use edgesafe_api_common::vault::{Db, Row, Value};
use edgesafe_api_common::Result;
use std::collections::HashMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub id: FolderId,
    pub parent_id: Option<FolderId>,
    pub safe_id: SafeId,
    pub name: String,
    pub description: String,
    pub owner_user_id: Option<i64>,
    pub user_group_id: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub modified_at: i64,
    pub modified_by: Option<i64>,
    /// The user whose personal folder this is (a root that is not a safe).
    pub personal_user_id: Option<i64>,
}

impl Folder {
    /// A folder without a parent is a safe, unless it is a user's personal folder.
    pub fn is_safe(&self) -> bool {
        self.is_root() && self.personal_user_id.is_none()
    }

    /// A safe or a personal folder: the root of a tree.
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    pub fn from_row(row: &Row<'_>) -> Result<Self> {
        Ok(Self {
            id: FolderId::new(row.string("id")?),
            parent_id: row.opt_str("parent_id")?.map(FolderId::new),
            safe_id: SafeId::new(row.string("safe_id")?),
            name: row.string("name")?,
            description: row.string("description")?,
            owner_user_id: row.opt_i64("owner_user_id")?,
            user_group_id: row.opt_i64("user_group_id")?,
            created_at: row.i64("created_at")?,
            created_by: row.opt_i64("created_by")?,
            modified_at: row.i64("modified_at")?,
            modified_by: row.opt_i64("modified_by")?,
            personal_user_id: row.opt_i64("personal_user_id")?,
        })
    }
}

/// The columns `Folder::from_row` reads, for `SELECT {COLUMNS} FROM folders ...`.
pub const COLUMNS: &str = "id, parent_id, safe_id, name, description, owner_user_id, \
    user_group_id, created_at, created_by, modified_at, modified_by, personal_user_id";

pub fn load(id: &str) -> Result<Option<Folder>> {
    let rows = Db::query(
        &format!("SELECT {COLUMNS} FROM folders WHERE id = ?1"),
        &[Value::Text(id.to_owned())],
    )?;
    rows.first().map(|r| Folder::from_row(&r)).transpose()
}

/// Whether `safe_id` (the root of a tree) is a user's personal folder.
pub fn is_personal(safe_id: &SafeId) -> Result<bool> {
    let rows = Db::query(
        "SELECT 1 AS personal FROM folders WHERE id = ?1 AND personal_user_id IS NOT NULL",
        &[Value::Text(safe_id.to_string())],
    )?;
    Ok(!rows.is_empty())
}

/// The path of every folder, `Safe/Folder/Sub`, by id.
pub fn all_paths() -> Result<HashMap<String, String>> {
    let rows = Db::query("SELECT id, parent_id, name FROM folders", &[])?;
    let mut parent = HashMap::new();
    let mut name = HashMap::new();
    for row in rows.iter() {
        let id = row.string("id")?;
        parent.insert(id.clone(), row.opt_str("parent_id")?.map(str::to_owned));
        name.insert(id, row.string("name")?);
    }
    let mut paths = HashMap::new();
    for id in name.keys() {
        let mut parts = Vec::new();
        let mut at = Some(id.clone());
        // The depth bound guards against a cycle in a damaged database.
        while let Some(current) = at.take() {
            if parts.len() > 64 {
                break;
            }
            if let Some(n) = name.get(&current) {
                parts.push(n.clone());
            }
            at = parent.get(&current).cloned().flatten();
        }
        parts.reverse();
        paths.insert(id.clone(), parts.join("/"));
    }
    Ok(paths)
}

/// The path of one folder.
pub fn path(id: &str) -> Result<String> {
    let rows = Db::query(
        "WITH RECURSIVE chain(id, parent_id, name, depth) AS (
             SELECT id, parent_id, name, 0 FROM folders WHERE id = ?1
             UNION ALL
             SELECT f.id, f.parent_id, f.name, c.depth + 1
             FROM folders f JOIN chain c ON f.id = c.parent_id
             WHERE c.depth < 64)
         SELECT name FROM chain ORDER BY depth DESC",
        &[Value::Text(id.to_owned())],
    )?;
    let names: Result<Vec<String>> = rows.iter().map(|r| r.string("name")).collect();
    Ok(names?.join("/"))
}

/// Ids of `id` and every folder below it.
pub fn subtree(id: &str) -> Result<Vec<String>> {
    let rows = Db::query(
        "WITH RECURSIVE below(id, depth) AS (
             SELECT id, 0 FROM folders WHERE id = ?1
             UNION ALL
             SELECT f.id, b.depth + 1 FROM folders f JOIN below b ON f.parent_id = b.id
             WHERE b.depth < 64)
         SELECT id FROM below",
        &[Value::Text(id.to_owned())],
    )?;
    rows.iter().map(|r| r.string("id")).collect()
}
