//! All of the secrets area's SQL. Parameters are always bound, never formatted in;
//! sets of ids travel as one JSON array parameter read with `json_each`, so no SQL
//! text depends on the input. Writes that touch several rows go through one
//! `Db::execute` (one transaction).
//!
//! Values never pass through here: they are sealed in the vault at
//! [`value_scope`]`(secret, version)`; `secret_versions` only records that a version
//! exists, its size and who wrote it.

use std::collections::{HashMap, HashSet};

use edgesafe_api_common::vault::crypto::PasswordRule;
use edgesafe_api_common::vault::{statement, Db, Row, Statement, Value};
use edgesafe_api_common::{ApiError, ErrorCode, Result};
use edgesafe_secrets_safe::ids::{FolderId, SafeId, SecretId};
use edgesafe_secrets_safe::versions;

use crate::totp;

// ---------------------------------------------------------------- types

pub use edgesafe_secrets_safe::Kind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    User,
    Group,
}

impl OwnerKind {
    pub fn as_db(self) -> &'static str {
        match self {
            OwnerKind::User => "User",
            OwnerKind::Group => "Group",
        }
    }

    fn from_db(value: &str) -> Result<Self> {
        match value {
            "User" => Ok(OwnerKind::User),
            "Group" => Ok(OwnerKind::Group),
            _ => Err(ApiError::internal(
                "secrets.owner_type holds an unknown type",
            )),
        }
    }
}

pub use edgesafe_secrets_safe::versions::{max_version, value_scope};

/// A secret's row, with its folder and the names its answer shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretRecord {
    pub id: String,
    pub folder_id: String,
    pub safe_id: SafeId,
    pub folder_name: String,
    pub kind: Kind,
    pub title: String,
    pub description: String,
    pub username: String,
    pub notes: String,
    pub file_name: Option<String>,
    pub file_hash: Option<String>,
    pub owner_type: OwnerKind,
    pub owner_id: Option<i64>,
    /// The user or group name of `owner_id`.
    pub owner_name: Option<String>,
    pub password_rule_id: Option<i64>,
    pub current_version: i64,
    pub created_at: i64,
    pub created_by_name: Option<String>,
    pub modified_at: i64,
    pub modified_by_name: Option<String>,
    pub value_modified_at: i64,
    /// TOTP on a credential secret, when it is on.
    pub totp: Option<TotpState>,
}

const SECRET_SELECT: &str = "SELECT s.id, s.folder_id, f.safe_id, f.name AS folder_name, s.kind,
        s.title, s.description, s.username, s.notes, s.file_name, s.file_hash,
        s.owner_type, s.owner_id,
        CASE s.owner_type WHEN 'Group' THEN og.name ELSE ou.user_name END AS owner_name,
        s.password_rule_id, s.current_version, s.created_at, cu.user_name AS created_by_name,
        s.modified_at, mu.user_name AS modified_by_name, s.value_modified_at,
        s.totp_seed_id, s.totp_algorithm, s.totp_digits, s.totp_period
    FROM secrets s
    JOIN folders f ON f.id = s.folder_id
    LEFT JOIN users cu ON cu.id = s.created_by
    LEFT JOIN users mu ON mu.id = s.modified_by
    LEFT JOIN users ou ON ou.id = s.owner_id
    LEFT JOIN user_groups og ON og.id = s.owner_id";

impl SecretRecord {
    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(SecretRecord {
            id: row.string("id")?,
            folder_id: row.string("folder_id")?,
            safe_id: SafeId::new(row.string("safe_id")?),
            folder_name: row.string("folder_name")?,
            kind: Kind::from_db(row.str("kind")?)?,
            title: row.string("title")?,
            description: row.string("description")?,
            username: row.string("username")?,
            notes: row.string("notes")?,
            file_name: row.opt_str("file_name")?.map(str::to_owned),
            file_hash: row.opt_str("file_hash")?.map(str::to_owned),
            owner_type: OwnerKind::from_db(row.str("owner_type")?)?,
            owner_id: row.opt_i64("owner_id")?,
            owner_name: row.opt_str("owner_name")?.map(str::to_owned),
            password_rule_id: row.opt_i64("password_rule_id")?,
            current_version: row.i64("current_version")?,
            created_at: row.i64("created_at")?,
            created_by_name: row.opt_str("created_by_name")?.map(str::to_owned),
            modified_at: row.i64("modified_at")?,
            modified_by_name: row.opt_str("modified_by_name")?.map(str::to_owned),
            value_modified_at: row.i64("value_modified_at")?,
            totp: TotpState::read(row)?,
        })
    }
}

// ---------------------------------------------------------------- TOTP

/// A credential secret's TOTP: where its seed is sealed, and how codes are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpState {
    pub seed_id: String,
    pub parameters: totp::Parameters,
}

impl TotpState {
    fn read(row: &Row<'_>) -> Result<Option<Self>> {
        let Some(seed_id) = row.opt_str("totp_seed_id")? else {
            return Ok(None);
        };
        let algorithm = row
            .opt_str("totp_algorithm")?
            .and_then(totp::Algorithm::from_name);
        let number = |column: &str| -> Result<Option<u32>> {
            Ok(row.opt_i64(column)?.and_then(|v| u32::try_from(v).ok()))
        };
        match (algorithm, number("totp_digits")?, number("totp_period")?) {
            (Some(algorithm), Some(digits), Some(period)) => Ok(Some(TotpState {
                seed_id: seed_id.to_owned(),
                parameters: totp::Parameters {
                    algorithm,
                    digits,
                    period,
                },
            })),
            _ => Err(ApiError::internal(
                "secrets.totp_* holds a seed without its parameters",
            )),
        }
    }
}

/// The vault scope of a TOTP seed.
pub fn totp_scope(secret_id: &str, seed_id: &str) -> String {
    format!("secret/{secret_id}/totp/{seed_id}")
}

/// What a write does to a secret's TOTP. An update applies it only while the secret
/// still has the seed the request read (`SecretChanges::totp_read`), so that of two
/// concurrent changes one wins and the other's seed is left to its request to forget.
#[derive(Clone, Copy, Debug)]
pub enum TotpChange<'a> {
    /// On, with the seed sealed at `totp_scope(secret, seed_id)`.
    Set {
        seed_id: &'a str,
        parameters: totp::Parameters,
    },
    Off,
}

/// `change`, applied while the secret's seed is still `read` (`None`: TOTP was off).
fn set_totp(secret_id: &str, change: TotpChange<'_>, read: Option<&str>) -> Statement {
    let (seed_id, algorithm, digits, period) = match change {
        TotpChange::Set {
            seed_id,
            parameters,
        } => (
            Some(seed_id),
            Some(parameters.algorithm.name()),
            Some(i64::from(parameters.digits)),
            Some(i64::from(parameters.period)),
        ),
        TotpChange::Off => (None, None, None, None),
    };
    statement(
        "UPDATE secrets SET totp_seed_id = ?2, totp_algorithm = ?3, totp_digits = ?4,
                            totp_period = ?5
          WHERE id = ?1 AND totp_seed_id IS ?6",
        vec![
            secret_id.into(),
            seed_id.into(),
            algorithm.into(),
            digits.into(),
            period.into(),
            read.into(),
        ],
    )
}

// ---------------------------------------------------------------- versions

/// One version of a secret's value, as its history lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRecord {
    pub history_id: String,
    pub version: i64,
    pub created_at: i64,
    pub created_by_name: Option<String>,
    pub file_name: Option<String>,
}

/// Versions with a value to read: committed (a reserved version is marked destroyed
/// until its update commits), neither deleted nor destroyed.
const VERSION_SELECT: &str = "SELECT v.history_id, v.version, v.created_at, v.file_name,
        u.user_name AS created_by_name
    FROM secret_versions v LEFT JOIN users u ON u.id = v.created_by
    WHERE v.secret_id = ?1 AND v.deleted_at IS NULL AND v.destroyed_at IS NULL";

fn versions(sql: &str, params: &[Value]) -> Result<Vec<VersionRecord>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| {
            Ok(VersionRecord {
                history_id: r.string("history_id")?,
                version: r.i64("version")?,
                created_at: r.i64("created_at")?,
                created_by_name: r.opt_str("created_by_name")?.map(str::to_owned),
                file_name: r.opt_str("file_name")?.map(str::to_owned),
            })
        })
        .collect()
}

/// A secret's readable versions, newest first.
pub fn list_versions(secret_id: &str) -> Result<Vec<VersionRecord>> {
    versions(
        &format!("{VERSION_SELECT} ORDER BY v.version DESC"),
        &[secret_id.into()],
    )
}

/// One readable version of a secret, by its id (`history_id`).
pub fn find_version(secret_id: &str, history_id: &str) -> Result<Option<VersionRecord>> {
    Ok(versions(
        &format!("{VERSION_SELECT} AND v.history_id = ?2"),
        &[secret_id.into(), history_id.into()],
    )?
    .into_iter()
    .next())
}

fn secrets(sql: &str, params: &[Value]) -> Result<Vec<SecretRecord>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| SecretRecord::read(&r))
        .collect()
}

/// A JSON array of strings, for `json_each(?n)`.
fn id_list(ids: &[String]) -> Result<Value> {
    serde_json::to_string(ids)
        .map(Value::Text)
        .map_err(|_| ApiError::internal("id list serialization"))
}

// ---------------------------------------------------------------- reading secrets

pub fn find_secret(id: &str) -> Result<Option<SecretRecord>> {
    Ok(
        secrets(&format!("{SECRET_SELECT} WHERE s.id = ?1"), &[id.into()])?
            .into_iter()
            .next(),
    )
}

/// What a list asks the store for; the handler filters by path and pages.
pub struct ListFilter<'a> {
    /// Safes the caller may read; `None` for every safe (administrators).
    pub readable_safes: Option<&'a [String]>,
    /// Only this folder's secrets and those shared into it.
    pub folder_id: Option<&'a str>,
    pub title: Option<&'a str>,
    pub modified_from: Option<i64>,
    /// Only the favourites of this user.
    pub favorites_of: Option<i64>,
}

/// Secrets the filter selects that live in, or are shared into, a readable safe,
/// ordered by title then id.
pub fn list_secrets(filter: &ListFilter<'_>) -> Result<Vec<SecretRecord>> {
    let readable = match filter.readable_safes {
        Some(safes) => id_list(safes)?,
        None => Value::Null,
    };
    secrets(
        &format!(
            "{SECRET_SELECT}
             WHERE (?1 IS NULL
                    OR f.safe_id IN (SELECT value FROM json_each(?1))
                    OR s.id IN (SELECT sh.secret_id FROM secret_shares sh
                                JOIN folders sf ON sf.id = sh.folder_id
                                WHERE sf.safe_id IN (SELECT value FROM json_each(?1))))
               AND (?2 IS NULL OR s.folder_id = ?2
                    OR s.id IN (SELECT secret_id FROM secret_shares WHERE folder_id = ?2))
               AND (?3 IS NULL OR s.title = ?3 COLLATE NOCASE)
               AND (?4 IS NULL OR s.modified_at >= ?4)
               AND (?5 IS NULL OR s.id IN (SELECT secret_id FROM secret_favorites
                                           WHERE user_id = ?5))
             ORDER BY s.title COLLATE NOCASE, s.id"
        ),
        &[
            readable,
            filter.folder_id.into(),
            filter.title.into(),
            filter.modified_from.into(),
            filter.favorites_of.into(),
        ],
    )
}

/// One owner of a secret, with the names its answer shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerRecord {
    pub user_id: Option<i64>,
    pub group_id: Option<i64>,
    pub name: String,
    pub email: String,
}

/// Owners by secret id, in their order. Names and emails are read live, so a renamed
/// user shows under the new name; the stored copy covers a user since removed.
pub fn owners_of(secret_ids: &[String]) -> Result<HashMap<String, Vec<OwnerRecord>>> {
    let rows = Db::query(
        "SELECT o.secret_id, o.user_id, o.group_id,
                coalesce(u.user_name, g.name, o.name) AS name,
                coalesce(u.email, o.email) AS email
           FROM secret_owners o
           LEFT JOIN users u ON u.id = o.user_id
           LEFT JOIN user_groups g ON g.id = o.group_id AND o.user_id IS NULL
          WHERE o.secret_id IN (SELECT value FROM json_each(?1))
          ORDER BY o.secret_id, o.position",
        &[id_list(secret_ids)?],
    )?;
    let mut out: HashMap<String, Vec<OwnerRecord>> = HashMap::new();
    for row in rows.iter() {
        out.entry(row.string("secret_id")?)
            .or_default()
            .push(OwnerRecord {
                user_id: row.opt_i64("user_id")?,
                group_id: row.opt_i64("group_id")?,
                name: row.string("name")?,
                email: row.string("email")?,
            });
    }
    Ok(out)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlRecord {
    pub id: String,
    pub url: String,
}

/// URLs by secret id, in their order.
pub fn urls_of(secret_ids: &[String]) -> Result<HashMap<String, Vec<UrlRecord>>> {
    let rows = Db::query(
        "SELECT secret_id, id, url FROM secret_urls
          WHERE secret_id IN (SELECT value FROM json_each(?1))
          ORDER BY secret_id, position",
        &[id_list(secret_ids)?],
    )?;
    let mut out: HashMap<String, Vec<UrlRecord>> = HashMap::new();
    for row in rows.iter() {
        out.entry(row.string("secret_id")?)
            .or_default()
            .push(UrlRecord {
                id: row.string("id")?,
                url: row.string("url")?,
            });
    }
    Ok(out)
}

/// Which of these secrets `user_id` has marked as favourite.
pub fn favorites_among(user_id: i64, secret_ids: &[String]) -> Result<HashSet<String>> {
    let rows = Db::query(
        "SELECT secret_id FROM secret_favorites
          WHERE user_id = ?1 AND secret_id IN (SELECT value FROM json_each(?2))",
        &[user_id.into(), id_list(secret_ids)?],
    )?;
    rows.iter().map(|r| r.string("secret_id")).collect()
}

/// A folder a secret is shared into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareRecord {
    pub secret_id: String,
    pub folder_id: String,
    pub safe_id: SafeId,
}

/// The shares of these secrets, by secret id.
pub fn shares_of(secret_ids: &[String]) -> Result<HashMap<String, Vec<ShareRecord>>> {
    let rows = Db::query(
        "SELECT sh.secret_id, sh.folder_id, f.safe_id
           FROM secret_shares sh JOIN folders f ON f.id = sh.folder_id
          WHERE sh.secret_id IN (SELECT value FROM json_each(?1))
          ORDER BY sh.secret_id, sh.created_at, sh.folder_id",
        &[id_list(secret_ids)?],
    )?;
    let mut out: HashMap<String, Vec<ShareRecord>> = HashMap::new();
    for row in rows.iter() {
        let share = ShareRecord {
            secret_id: row.string("secret_id")?,
            folder_id: row.string("folder_id")?,
            safe_id: SafeId::new(row.string("safe_id")?),
        };
        out.entry(share.secret_id.clone()).or_default().push(share);
    }
    Ok(out)
}

/// The shares of one secret.
pub fn shares_of_secret(secret_id: &str) -> Result<Vec<ShareRecord>> {
    Ok(shares_of(&[secret_id.to_owned()])?
        .remove(secret_id)
        .unwrap_or_default())
}

/// Whether another secret in `folder_id` has this title, in any case.
pub fn title_taken(folder_id: &str, title: &str, except: Option<&str>) -> Result<bool> {
    let rows = Db::query(
        "SELECT 1 AS taken FROM secrets
          WHERE folder_id = ?1 AND title = ?2 COLLATE NOCASE AND (?3 IS NULL OR id <> ?3)",
        &[folder_id.into(), title.into(), except.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Titles in `folder_id`, lower-cased (to find a free one when renaming on a move).
pub fn titles_in(folder_id: &str) -> Result<HashSet<String>> {
    let rows = Db::query(
        "SELECT title FROM secrets WHERE folder_id = ?1",
        &[folder_id.into()],
    )?;
    rows.iter()
        .map(|r| r.str("title").map(str::to_lowercase))
        .collect()
}

// ---------------------------------------------------------------- people and rules

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub email: String,
}

/// A user that has not been removed.
pub fn find_user(id: i64) -> Result<Option<UserRecord>> {
    let rows = Db::query(
        "SELECT user_name, email FROM users WHERE id = ?1 AND removed = 0",
        &[id.into()],
    )?;
    rows.first()
        .map(|r| {
            Ok(UserRecord {
                name: r.string("user_name")?,
                email: r.string("email")?,
            })
        })
        .transpose()
}

/// A group's name.
pub fn find_group(id: i64) -> Result<Option<String>> {
    let rows = Db::query("SELECT name FROM user_groups WHERE id = ?1", &[id.into()])?;
    rows.first().map(|r| r.string("name")).transpose()
}

/// A password rule, in the shape the vault's generator takes.
pub fn find_password_rule(id: i64) -> Result<Option<PasswordRule>> {
    let rows = Db::query(
        "SELECT length, lowercase, uppercase, digits, symbols FROM password_rules WHERE id = ?1",
        &[id.into()],
    )?;
    rows.first()
        .map(|r| {
            Ok(PasswordRule {
                length: u32::try_from(r.i64("length")?)
                    .map_err(|_| ApiError::internal("password_rules.length out of range"))?,
                lowercase: r.bool("lowercase")?,
                uppercase: r.bool("uppercase")?,
                digits: r.bool("digits")?,
                symbols: r.bool("symbols")?,
            })
        })
        .transpose()
}

/// The secret a URL id belongs to, if any.
pub fn url_owner(url_id: &str) -> Result<Option<String>> {
    let rows = Db::query(
        "SELECT secret_id FROM secret_urls WHERE id = ?1",
        &[url_id.into()],
    )?;
    rows.first().map(|r| r.string("secret_id")).transpose()
}

// ---------------------------------------------------------------- writing secrets

/// A uniqueness conflict on a write that can only break one rule gets that rule's
/// message; anything else passes through.
fn conflict_as(e: ApiError, what: &str) -> ApiError {
    if e.code() == ErrorCode::Conflict {
        ApiError::conflict(what)
    } else {
        e
    }
}

pub const TITLE_TAKEN: &str = "Title: a secret with this title already exists in the folder";

/// Owners and URLs as they will be stored.
pub struct Links<'a> {
    pub owners: &'a [OwnerRecord],
    pub urls: &'a [UrlRecord],
}

fn replace_links(secret_id: &str, links: &Links<'_>, out: &mut Vec<Statement>) {
    replace_owners(secret_id, links.owners, out);
    replace_urls(secret_id, links.urls, out);
}

fn replace_owners(secret_id: &str, owners: &[OwnerRecord], out: &mut Vec<Statement>) {
    out.push(statement(
        "DELETE FROM secret_owners WHERE secret_id = ?1",
        vec![secret_id.into()],
    ));
    for (position, owner) in (0_i64..).zip(owners) {
        out.push(statement(
            "INSERT INTO secret_owners (secret_id, position, user_id, group_id, name, email)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            vec![
                secret_id.into(),
                position.into(),
                owner.user_id.into(),
                owner.group_id.into(),
                owner.name.as_str().into(),
                owner.email.as_str().into(),
            ],
        ));
    }
}

fn replace_urls(secret_id: &str, urls: &[UrlRecord], out: &mut Vec<Statement>) {
    out.push(statement(
        "DELETE FROM secret_urls WHERE secret_id = ?1",
        vec![secret_id.into()],
    ));
    for (position, url) in (0_i64..).zip(urls) {
        out.push(statement(
            "INSERT INTO secret_urls (id, secret_id, position, url) VALUES (?1, ?2, ?3, ?4)",
            vec![
                url.id.as_str().into(),
                secret_id.into(),
                position.into(),
                url.url.as_str().into(),
            ],
        ));
    }
}

/// The columns a secret's create and update both set.
pub struct SecretFields<'a> {
    pub folder_id: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub username: &'a str,
    pub notes: &'a str,
    pub file_name: Option<&'a str>,
    pub file_hash: Option<&'a str>,
    pub owner_type: OwnerKind,
    pub owner_id: Option<i64>,
    pub password_rule_id: Option<i64>,
}

/// A new secret and its first version, whose value is already sealed at
/// `value_scope(id, 1)`.
pub struct NewSecret<'a> {
    pub id: &'a str,
    pub kind: Kind,
    pub fields: SecretFields<'a>,
    pub links: Links<'a>,
    pub history_id: &'a str,
    pub size: usize,
    pub user_id: i64,
    pub now: i64,
    /// TOTP, for a credential created with it on.
    pub totp: Option<TotpChange<'a>>,
}

/// Inserts the secret, its first version, owners and URLs in one transaction.
pub fn insert_secret(new: &NewSecret<'_>) -> Result<()> {
    let f = &new.fields;
    let mut statements = vec![
        statement(
            "INSERT INTO secrets (id, folder_id, kind, title, description, username, notes,
                                  file_name, file_hash, owner_type, owner_id, password_rule_id,
                                  current_version, created_at, created_by, modified_at,
                                  modified_by, value_modified_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1, ?13, ?14, ?13, ?14, ?13)",
            vec![
                new.id.into(),
                f.folder_id.into(),
                new.kind.as_db().into(),
                f.title.into(),
                f.description.into(),
                f.username.into(),
                f.notes.into(),
                f.file_name.into(),
                f.file_hash.into(),
                f.owner_type.as_db().into(),
                f.owner_id.into(),
                f.password_rule_id.into(),
                new.now.into(),
                new.user_id.into(),
            ],
        ),
        statement(
            "INSERT INTO secret_versions (secret_id, version, history_id, size, created_at,
                                          created_by, file_name)
             VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)",
            vec![
                new.id.into(),
                new.history_id.into(),
                size(new.size).into(),
                new.now.into(),
                new.user_id.into(),
                f.file_name.into(),
            ],
        ),
    ];
    if let Some(change) = new.totp {
        statements.push(set_totp(new.id, change, None));
    }
    replace_links(new.id, &new.links, &mut statements);
    Db::execute(statements).map_err(|e| conflict_as(e, TITLE_TAKEN))?;
    Ok(())
}

fn size(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// Reserves the next version number of a secret (see
/// [`edgesafe_secrets_safe::versions::reserve`]); [`update_secret`] commits it.
pub fn reserve_version(
    secret_id: &str,
    history_id: &str,
    bytes: usize,
    user_id: i64,
    now: i64,
) -> Result<Option<i64>> {
    versions::reserve(secret_id, history_id, bytes, user_id, now, None)
}

pub use edgesafe_secrets_safe::versions::release as release_version;

/// What an update changes; `None` leaves a column as it is in the database at commit
/// time (not as the request read it, so a concurrent change of another field stays).
#[derive(Default)]
pub struct SecretChanges<'a> {
    pub folder_id: Option<&'a str>,
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub username: Option<&'a str>,
    pub notes: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub file_hash: Option<&'a str>,
    /// The owner type and primary owner, set together when owners are sent.
    pub owner: Option<(OwnerKind, Option<i64>)>,
    pub password_rule_id: Option<i64>,
    /// Owners to store instead of the current ones.
    pub owners: Option<&'a [OwnerRecord]>,
    /// URLs to store instead of the current ones.
    pub urls: Option<&'a [UrlRecord]>,
    /// TOTP to turn on, replace or turn off, and the seed id the request read.
    pub totp: Option<TotpChange<'a>>,
    pub totp_read: Option<&'a str>,
}

/// An update of a secret; `new_version` is a reserved version whose value is sealed.
pub struct SecretUpdate<'a> {
    pub id: &'a str,
    pub changes: SecretChanges<'a>,
    pub new_version: Option<(i64, &'a str)>,
    pub user_id: i64,
    pub now: i64,
}

/// Applies an update in one transaction: the columns that change, the new version
/// committed, owners and URLs when sent; a share into the folder the secret moves to
/// is dropped (a secret is never shared into its own folder). The current version is
/// the highest committed one, so a version reserved earlier but committed later does
/// not hide a newer value. Returns false when the secret is gone (a deleted secret
/// takes no new version: its rows and the reservation went with it).
pub fn update_secret(update: &SecretUpdate<'_>) -> Result<bool> {
    let c = &update.changes;
    let (owner_type, owner_id) = match c.owner {
        Some((kind, id)) => (Some(kind.as_db()), id),
        None => (None, None),
    };
    let history_id = update.new_version.map(|(_, h)| h);
    let mut statements = Vec::new();
    if let Some(history_id) = history_id {
        statements.push(statement(
            "UPDATE secret_versions SET destroyed_at = NULL
              WHERE history_id = ?1 AND secret_id = ?2",
            vec![history_id.into(), update.id.into()],
        ));
    }
    statements.push(statement(
        "UPDATE secrets SET folder_id = coalesce(?2, folder_id), title = coalesce(?3, title),
                            description = coalesce(?4, description),
                            username = coalesce(?5, username), notes = coalesce(?6, notes),
                            file_name = coalesce(?7, file_name),
                            file_hash = coalesce(?8, file_hash),
                            owner_id = CASE WHEN ?9 IS NULL THEN owner_id ELSE ?10 END,
                            owner_type = coalesce(?9, owner_type),
                            password_rule_id = coalesce(?11, password_rule_id),
                            current_version = (SELECT coalesce(max(version), current_version)
                                                 FROM secret_versions
                                                WHERE secret_id = ?1 AND destroyed_at IS NULL),
                            value_modified_at = CASE WHEN ?12 IS NULL
                                                     THEN value_modified_at ELSE ?13 END,
                            modified_at = ?13, modified_by = ?14
          WHERE id = ?1",
        vec![
            update.id.into(),
            c.folder_id.into(),
            c.title.into(),
            c.description.into(),
            c.username.into(),
            c.notes.into(),
            c.file_name.into(),
            c.file_hash.into(),
            owner_type.into(),
            owner_id.into(),
            c.password_rule_id.into(),
            history_id.into(),
            update.now.into(),
            update.user_id.into(),
        ],
    ));
    let secret_statement = statements.len() - 1;
    if let Some(history_id) = history_id {
        // The file name the new content comes with, for a later rollback.
        statements.push(statement(
            "UPDATE secret_versions SET file_name = (SELECT file_name FROM secrets WHERE id = ?2)
              WHERE history_id = ?1",
            vec![history_id.into(), update.id.into()],
        ));
    }
    if let Some(change) = c.totp {
        statements.push(set_totp(update.id, change, c.totp_read));
    }
    statements.push(statement(
        "DELETE FROM secret_shares
          WHERE secret_id = ?1 AND folder_id = (SELECT folder_id FROM secrets WHERE id = ?1)",
        vec![update.id.into()],
    ));
    if let Some(owners) = c.owners {
        replace_owners(update.id, owners, &mut statements);
    }
    if let Some(urls) = c.urls {
        replace_urls(update.id, urls, &mut statements);
    }
    let outcomes = Db::execute(statements).map_err(|e| conflict_as(e, TITLE_TAKEN))?;
    Ok(outcomes
        .get(secret_statement)
        .is_some_and(|o| o.changes > 0))
}

/// Deletes a secret, provided its highest reserved version is still `max_version`
/// and its TOTP seed still `totp_seed` (so the caller forgets the right one);
/// its versions, owners, URLs, shares and favourite marks go with it (foreign keys
/// cascade). Once it is gone no version can be reserved for it (the reservation's
/// foreign key fails), so every sealed value it can have is at a version up to
/// `max_version`. Returns false when nothing was deleted: the secret is gone, or a
/// version was reserved since `max_version` was read.
pub fn delete_secret(id: &str, max_version: i64, totp_seed: Option<&str>) -> Result<bool> {
    let outcomes = Db::execute(vec![statement(
        "DELETE FROM secrets WHERE id = ?1 AND totp_seed_id IS ?3
            AND (SELECT coalesce(max(version), 0) FROM secret_versions WHERE secret_id = ?1) = ?2",
        vec![id.into(), max_version.into(), totp_seed.into()],
    )])?;
    Ok(outcomes.first().is_some_and(|o| o.changes > 0))
}

// ---------------------------------------------------------------- shares, favourites

pub fn insert_share(
    secret_id: &SecretId,
    folder_id: &FolderId,
    user_id: i64,
    now: i64,
) -> Result<()> {
    Db::execute(vec![statement(
        "INSERT INTO secret_shares (secret_id, folder_id, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4)",
        vec![
            secret_id.into(),
            folder_id.into(),
            now.into(),
            user_id.into(),
        ],
    )])
    .map_err(|e| conflict_as(e, "folder: the secret is already shared there"))?;
    Ok(())
}

/// Removes one share; false when there was none.
pub fn delete_share(secret_id: &SecretId, folder_id: &FolderId) -> Result<bool> {
    let outcomes = Db::execute(vec![statement(
        "DELETE FROM secret_shares WHERE secret_id = ?1 AND folder_id = ?2",
        vec![secret_id.into(), folder_id.into()],
    )])?;
    Ok(outcomes.first().is_some_and(|o| o.changes > 0))
}

/// Removes every share of a secret; returns how many there were.
pub fn delete_shares(secret_id: &str) -> Result<u64> {
    let outcomes = Db::execute(vec![statement(
        "DELETE FROM secret_shares WHERE secret_id = ?1",
        vec![secret_id.into()],
    )])?;
    Ok(outcomes.first().map_or(0, |o| o.changes))
}

pub fn set_favorite(user_id: i64, secret_id: &str, favorite: bool) -> Result<()> {
    let sql = if favorite {
        "INSERT OR IGNORE INTO secret_favorites (user_id, secret_id) VALUES (?1, ?2)"
    } else {
        "DELETE FROM secret_favorites WHERE user_id = ?1 AND secret_id = ?2"
    };
    Db::execute(vec![statement(sql, vec![user_id.into(), secret_id.into()])])?;
    Ok(())
}

// ---------------------------------------------------------------- moves

/// One secret moving to another folder, maybe under a new title.
pub struct SecretMove<'a> {
    pub id: &'a str,
    pub title: &'a str,
}

/// One share moving from one folder to another of the same safe, or, when the secret
/// itself is or lands in the destination, removed.
pub struct ShareMove<'a> {
    pub secret_id: &'a str,
    pub from_folder: &'a str,
    pub remove: bool,
}

/// Applies a move in one transaction: secrets change folder (and title when renamed),
/// their shares into the destination go, shares move; and a share that lands where
/// the secret already is, or already has a share, is dropped.
pub fn apply_move(
    destination: &str,
    secrets: &[SecretMove<'_>],
    shares: &[ShareMove<'_>],
    user_id: i64,
    now: i64,
) -> Result<()> {
    let mut statements = Vec::new();
    for m in secrets {
        statements.push(statement(
            "UPDATE secrets SET folder_id = ?2, title = ?3, modified_at = ?4, modified_by = ?5
              WHERE id = ?1",
            vec![
                m.id.into(),
                destination.into(),
                m.title.into(),
                now.into(),
                user_id.into(),
            ],
        ));
        statements.push(statement(
            "DELETE FROM secret_shares WHERE secret_id = ?1 AND folder_id = ?2",
            vec![m.id.into(), destination.into()],
        ));
    }
    for s in shares {
        if s.remove {
            statements.push(statement(
                "DELETE FROM secret_shares WHERE secret_id = ?1 AND folder_id = ?2",
                vec![s.secret_id.into(), s.from_folder.into()],
            ));
            continue;
        }
        // OR IGNORE plus the DELETE: moving onto an existing share merges the two.
        statements.push(statement(
            "UPDATE OR IGNORE secret_shares SET folder_id = ?3, created_at = ?4, created_by = ?5
              WHERE secret_id = ?1 AND folder_id = ?2",
            vec![
                s.secret_id.into(),
                s.from_folder.into(),
                destination.into(),
                now.into(),
                user_id.into(),
            ],
        ));
        statements.push(statement(
            "DELETE FROM secret_shares WHERE secret_id = ?1 AND folder_id = ?2",
            vec![s.secret_id.into(), s.from_folder.into()],
        ));
    }
    if statements.is_empty() {
        return Ok(());
    }
    Db::execute(statements).map_err(|e| conflict_as(e, TITLE_TAKEN))?;
    Ok(())
}
