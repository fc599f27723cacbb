//! The checkout area's SQL: the secrets it checks out and their access records.
//!
//! A checkout is "active" while it is neither checked in nor past `expires_at`; that is
//! decided here, at the moment of each query (`now`), never by a background job.

use edgesafe_api_common::vault::{statement, Db, Row, Statement, Value};
use edgesafe_api_common::{ApiError, Result};

/// Who may see a secret's value (seed 001).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Check out without approval.
    FullEdit,
    /// Check out only with an approved access request.
    ViewOnRequest,
    /// Nobody checks out.
    None,
}

impl Policy {
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::FullEdit => "full_edit",
            Policy::ViewOnRequest => "view_on_request",
            Policy::None => "none",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "full_edit" => Some(Policy::FullEdit),
            "view_on_request" => Some(Policy::ViewOnRequest),
            "none" => Some(Policy::None),
            _ => None,
        }
    }
}

/// A secret with its checkout settings and where it lives.
#[derive(Clone, Debug)]
pub struct SecretRow {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub safe_id: String,
    pub current_version: i64,
    /// `secret_versions.history_id` of the current version.
    pub history_id: Option<String>,
    pub policy: Policy,
    pub exclusive: bool,
    /// Seconds a checkout lasts; `None` for no limit.
    pub time_limit: Option<i64>,
}

pub fn find_secret(id: &str) -> Result<Option<SecretRow>> {
    let rows = Db::query(
        "SELECT s.id, s.title, s.kind, f.safe_id, s.current_version, v.history_id,
                s.access_policy, s.checkout_exclusive, s.checkout_time_limit
         FROM secrets s
         JOIN folders f ON f.id = s.folder_id
         LEFT JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version
         WHERE s.id = ?1",
        &[id.into()],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(SecretRow {
        id: row.string("id")?,
        title: row.string("title")?,
        kind: row.string("kind")?,
        safe_id: row.string("safe_id")?,
        current_version: row.i64("current_version")?,
        history_id: row.opt_str("history_id")?.map(str::to_owned),
        policy: Policy::parse(row.str("access_policy")?)
            .ok_or_else(|| ApiError::internal("secrets.access_policy holds an unknown policy"))?,
        exclusive: row.bool("checkout_exclusive")?,
        time_limit: row.opt_i64("checkout_time_limit")?,
    }))
}

/// The safes a secret is shared into (their Read lets a caller see it too).
pub fn shared_into_safes(secret_id: &str) -> Result<Vec<String>> {
    Db::query(
        "SELECT f.safe_id FROM secret_shares sh JOIN folders f ON f.id = sh.folder_id
         WHERE sh.secret_id = ?1",
        &[secret_id.into()],
    )?
    .iter()
    .map(|r| r.string("safe_id"))
    .collect()
}

/// New checkout settings of a secret.
pub fn update_settings(
    secret_id: &str,
    policy: Policy,
    exclusive: bool,
    time_limit: Option<i64>,
    user_id: i64,
    now: i64,
) -> Statement {
    statement(
        "UPDATE secrets SET access_policy = ?2, checkout_exclusive = ?3,
             checkout_time_limit = ?4, modified_at = ?5, modified_by = ?6
         WHERE id = ?1",
        vec![
            secret_id.into(),
            policy.as_str().into(),
            exclusive.into(),
            time_limit.into(),
            now.into(),
            user_id.into(),
        ],
    )
}

// ---------------------------------------------------------------- checkouts

/// An active checkout, as the checkout rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveCheckout {
    pub id: i64,
    pub user_id: i64,
    pub exclusive: bool,
    pub expires_at: Option<i64>,
}

const ACTIVE: &str = "checked_in_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)";

fn active_checkouts(sql: &str, params: &[Value]) -> Result<Vec<ActiveCheckout>> {
    Db::query(sql, params)?
        .iter()
        .map(|r| {
            Ok(ActiveCheckout {
                id: r.i64("id")?,
                user_id: r.i64("user_id")?,
                exclusive: r.bool("exclusive")?,
                expires_at: r.opt_i64("expires_at")?,
            })
        })
        .collect()
}

/// The caller's newest active checkout of the secret.
pub fn my_checkout(secret_id: &str, user_id: i64, now: i64) -> Result<Option<ActiveCheckout>> {
    let sql = format!(
        "SELECT id, user_id, exclusive, expires_at FROM secret_access
         WHERE secret_id = ?1 AND user_id = ?3 AND {ACTIVE} ORDER BY id DESC LIMIT 1"
    );
    Ok(
        active_checkouts(&sql, &[secret_id.into(), now.into(), user_id.into()])?
            .into_iter()
            .next(),
    )
}

/// The row holding the secret's exclusive lock, and whether it has expired (then the
/// next checkout releases it).
pub fn lock_holder(secret_id: &str, now: i64) -> Result<Option<(ActiveCheckout, bool)>> {
    let rows = active_checkouts(
        "SELECT id, user_id, exclusive, expires_at FROM secret_access
         WHERE secret_id = ?1 AND locked = 1",
        &[secret_id.into()],
    )?;
    Ok(rows.into_iter().next().map(|lock| {
        let expired = lock.expires_at.is_some_and(|at| at <= now);
        (lock, expired)
    }))
}

/// Releases an expired lock on the secret, so that the unique index lets the next
/// exclusive checkout take it.
pub fn release_expired_lock(secret_id: &str, now: i64) -> Statement {
    statement(
        "UPDATE secret_access SET locked = 0, modified_at = ?2
         WHERE secret_id = ?1 AND locked = 1 AND expires_at IS NOT NULL AND expires_at <= ?2",
        vec![secret_id.into(), now.into()],
    )
}

/// A new checkout of `secret` by `user_id`.
pub struct NewCheckout<'a> {
    pub secret: &'a SecretRow,
    pub history_id: &'a str,
    pub user_id: i64,
    pub source_ip: Option<&'a str>,
    pub source_port: Option<i64>,
    pub now: i64,
    pub expires_at: Option<i64>,
}

/// The insert of a checkout. An exclusive one takes the lock: when another row holds
/// it, the unique index `secret_access_one_lock` refuses the insert (a conflict), so of
/// two racing checkouts exactly one commits, on every instance sharing the database.
pub fn insert_checkout(new: &NewCheckout<'_>) -> Statement {
    let exclusive = new.secret.exclusive;
    statement(
        "INSERT INTO secret_access (user_id, secret_id, secret_version, secret_history_id,
             safe_id, exclusive, locked, source_ip, source_port, accessed_at, expires_at,
             created_at, modified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?9, ?9)",
        vec![
            new.user_id.into(),
            new.secret.id.as_str().into(),
            new.secret.current_version.into(),
            new.history_id.into(),
            new.secret.safe_id.as_str().into(),
            exclusive.into(),
            new.source_ip.into(),
            new.source_port.into(),
            new.now.into(),
            new.expires_at.into(),
        ],
    )
}

/// Checks in an active checkout (and releases its lock).
pub fn checkin(access_id: i64, now: i64) -> Statement {
    statement(
        &format!(
            "UPDATE secret_access SET checked_in_at = ?2, locked = 0, modified_at = ?2
             WHERE id = ?1 AND {ACTIVE}"
        ),
        vec![access_id.into(), now.into()],
    )
}

/// Marks every record of the secret not yet marked as safe.
pub fn mark_safe(secret_id: &str, user_id: i64, now: i64) -> Statement {
    statement(
        "UPDATE secret_access SET marked_safe_by = ?2, marked_safe_at = ?3, modified_at = ?3
         WHERE secret_id = ?1 AND marked_safe_at IS NULL",
        vec![secret_id.into(), user_id.into(), now.into()],
    )
}

// ---------------------------------------------------------------- access records

/// One access record with what the seed computes from elsewhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRecord {
    pub id: i64,
    pub user_id: i64,
    pub secret_id: String,
    pub secret_name: Option<String>,
    pub secret_removed: bool,
    pub secret_history_id: String,
    pub safe_id: String,
    pub safe_name: Option<String>,
    pub safe_removed: bool,
    pub source_ip: Option<String>,
    pub source_port: Option<i64>,
    pub accessed_at: i64,
    pub checked_in_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub exclusive: bool,
    pub forced: bool,
    pub user_name: Option<String>,
    pub marked_safe_by: Option<i64>,
    pub marked_safe_by_name: Option<String>,
    pub marked_safe_at: Option<i64>,
    pub user_blocked: bool,
    pub user_removed: bool,
    pub user_lost_access: bool,
    pub created_at: i64,
    pub modified_at: i64,
}

impl AccessRecord {
    /// Neither checked in nor expired at `now`.
    pub fn active(&self, now: i64) -> bool {
        self.checked_in_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    /// Someone who no longer should know the value saw it, and nobody has reviewed it.
    pub fn exposed(&self) -> bool {
        self.marked_safe_at.is_none()
            && (self.user_blocked || self.user_removed || self.user_lost_access)
    }

    fn read(row: &Row<'_>) -> Result<Self> {
        Ok(AccessRecord {
            id: row.i64("id")?,
            user_id: row.i64("user_id")?,
            secret_id: row.string("secret_id")?,
            secret_name: row.opt_str("secret_name")?.map(str::to_owned),
            secret_removed: row.bool("secret_removed")?,
            secret_history_id: row.string("secret_history_id")?,
            safe_id: row.string("safe_id")?,
            safe_name: row.opt_str("safe_name")?.map(str::to_owned),
            safe_removed: row.bool("safe_removed")?,
            source_ip: row.opt_str("source_ip")?.map(str::to_owned),
            source_port: row.opt_i64("source_port")?,
            accessed_at: row.i64("accessed_at")?,
            checked_in_at: row.opt_i64("checked_in_at")?,
            expires_at: row.opt_i64("expires_at")?,
            exclusive: row.bool("exclusive")?,
            forced: row.bool("forced")?,
            user_name: row.opt_str("user_name")?.map(str::to_owned),
            marked_safe_by: row.opt_i64("marked_safe_by")?,
            marked_safe_by_name: row.opt_str("marked_safe_by_name")?.map(str::to_owned),
            marked_safe_at: row.opt_i64("marked_safe_at")?,
            user_blocked: row.bool("user_blocked")?,
            user_removed: row.bool("user_removed")?,
            user_lost_access: row.bool("user_lost_access")?,
            created_at: row.i64("created_at")?,
            modified_at: row.i64("modified_at")?,
        })
    }
}

/// Which records a list shows.
pub struct RecordFilter<'a> {
    /// Every record (administrators; a secret's managers for that secret).
    pub all: bool,
    /// Otherwise the caller's own records ...
    pub user_id: i64,
    /// ... and those of the safes the caller manages.
    pub managed_safes: &'a [String],
    pub secret_id: Option<&'a str>,
    /// Only this user's records.
    pub of_user: Option<i64>,
    /// Only active (or only inactive) records.
    pub active: Option<bool>,
    pub limit: i64,
    pub offset: i64,
    pub now: i64,
}

/// `user_lost_access`: the user is no administrator and holds no unexpired Read (or
/// Manage, which includes it) on the record's safe, neither directly nor through an
/// active group. The same rule as `edgesafe_secrets_safe::Access`, for another user.
const RECORD_SELECT: &str = "SELECT a.*,
        s.title AS secret_name, s.id IS NULL AS secret_removed,
        f.name AS safe_name, f.id IS NULL AS safe_removed,
        u.user_name, ifnull(u.blocked, 0) AS user_blocked,
        ifnull(u.removed, 1) AS user_removed,
        mu.user_name AS marked_safe_by_name,
        CASE WHEN ifnull(u.is_admin, 0) = 1 THEN 0 ELSE NOT EXISTS (
            SELECT 1 FROM safe_permissions p
            WHERE p.safe_id = a.safe_id AND (p.flags & 33) != 0
              AND (p.expires_at IS NULL OR p.expires_at > ?1)
              AND ((p.principal_type = 0 AND p.principal_id = a.user_id)
                OR (p.principal_type = 1 AND p.principal_id IN (
                      SELECT m.group_id FROM group_members m
                      JOIN user_groups g ON g.id = m.group_id AND g.is_active = 1
                      WHERE m.user_id = a.user_id)))) END AS user_lost_access
    FROM secret_access a
    LEFT JOIN secrets s ON s.id = a.secret_id
    LEFT JOIN folders f ON f.id = a.safe_id
    LEFT JOIN users u ON u.id = a.user_id
    LEFT JOIN users mu ON mu.id = a.marked_safe_by";

pub fn records(filter: &RecordFilter<'_>) -> Result<Vec<AccessRecord>> {
    let managed = serde_json::to_string(filter.managed_safes)
        .map_err(|_| ApiError::internal("safe id list serialization"))?;
    let sql = format!(
        "{RECORD_SELECT}
         WHERE (?2 = 1 OR a.user_id = ?3 OR a.safe_id IN (SELECT value FROM json_each(?4)))
           AND (?5 IS NULL OR a.secret_id = ?5)
           AND (?8 IS NULL OR a.user_id = ?8)
           AND (?9 IS NULL OR (a.checked_in_at IS NULL
                               AND (a.expires_at IS NULL OR a.expires_at > ?1)) = ?9)
         ORDER BY a.id LIMIT ?6 OFFSET ?7"
    );
    Db::query(
        &sql,
        &[
            filter.now.into(),
            filter.all.into(),
            filter.user_id.into(),
            managed.into(),
            filter.secret_id.into(),
            filter.limit.into(),
            filter.offset.into(),
            filter.of_user.into(),
            filter.active.into(),
        ],
    )?
    .iter()
    .map(|r| AccessRecord::read(&r))
    .collect()
}

pub fn record(id: i64, now: i64) -> Result<Option<AccessRecord>> {
    let sql = format!("{RECORD_SELECT} WHERE a.id = ?2");
    Db::query(&sql, &[now.into(), id.into()])?
        .first()
        .map(|r| AccessRecord::read(&r))
        .transpose()
}
