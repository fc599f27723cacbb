//! The checkout area's SQL: the secrets it checks out and their access records.
//!
//! A checkout is "active" while it is neither checked in nor past `expires_at`; that is
//! decided here, at the moment of each query (`now`), never by a background job.

use edgesafe_api_common::vault::{statement, Db, Row, Statement, Value};
use edgesafe_api_common::{ApiError, Result};
use edgesafe_secrets_safe::access::{effective_grants_sql, SEES_SAFE_BITS};
use edgesafe_secrets_safe::ids::SafeId;

use crate::rules::{RequestState, SafeSettings, SecretOverrides, Status};

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
    pub folder_id: String,
    /// A credential's `Username` (empty for other kinds).
    pub username: String,
    pub current_version: i64,
    /// `secret_versions.history_id` of the current version.
    pub history_id: Option<String>,
    pub policy: Policy,
    pub exclusive: bool,
    /// Seconds a checkout lasts; `None` for no limit.
    pub time_limit: Option<i64>,
    pub overrides: SecretOverrides,
    /// The settings of the secret's safe.
    pub safe_settings: SafeSettings,
}

impl SecretRow {
    /// The settings that apply: the secret's own over its safe's.
    pub fn settings(&self) -> SafeSettings {
        self.overrides.over(self.safe_settings)
    }
}

fn safe_settings_of(row: &Row<'_>) -> Result<SafeSettings> {
    Ok(SafeSettings {
        login_reason: row.opt_i64("safe_login_reason")?.unwrap_or(0) != 0,
        require_approval: row.opt_i64("safe_require_approval")?.unwrap_or(0) != 0,
        confirmation_timeout: row.opt_i64("safe_confirmation_timeout")?,
    })
}

pub fn find_secret(id: &str) -> Result<Option<SecretRow>> {
    let rows = Db::query(
        "SELECT s.id, s.title, s.kind, f.safe_id, s.folder_id, s.username, s.current_version,
                v.history_id, s.access_policy, s.checkout_exclusive, s.checkout_time_limit,
                s.login_reason, s.require_approval, s.confirmation_timeout,
                c.login_reason AS safe_login_reason,
                c.require_approval AS safe_require_approval,
                c.confirmation_timeout AS safe_confirmation_timeout
         FROM secrets s
         JOIN folders f ON f.id = s.folder_id
         LEFT JOIN secret_versions v ON v.secret_id = s.id AND v.version = s.current_version
         LEFT JOIN safe_checkout_settings c ON c.safe_id = f.safe_id
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
        folder_id: row.string("folder_id")?,
        username: row.string("username")?,
        current_version: row.i64("current_version")?,
        history_id: row.opt_str("history_id")?.map(str::to_owned),
        policy: Policy::parse(row.str("access_policy")?)
            .ok_or_else(|| ApiError::internal("secrets.access_policy holds an unknown policy"))?,
        exclusive: row.bool("checkout_exclusive")?,
        time_limit: row.opt_i64("checkout_time_limit")?,
        overrides: SecretOverrides {
            login_reason: row.opt_i64("login_reason")?.map(|v| v != 0),
            require_approval: row.opt_i64("require_approval")?.map(|v| v != 0),
            confirmation_timeout: row.opt_i64("confirmation_timeout")?,
        },
        safe_settings: safe_settings_of(&row)?,
    }))
}

/// The safes a secret is shared into (their Read lets a caller see it too).
pub fn shared_into_safes(secret_id: &str) -> Result<Vec<SafeId>> {
    Db::query(
        "SELECT f.safe_id FROM secret_shares sh JOIN folders f ON f.id = sh.folder_id
         WHERE sh.secret_id = ?1",
        &[secret_id.into()],
    )?
    .iter()
    .map(|r| Ok(SafeId::new(r.string("safe_id")?)))
    .collect()
}

/// New checkout settings of a secret.
pub fn update_settings(
    secret_id: &str,
    settings: &crate::dto::Settings,
    user_id: i64,
    now: i64,
) -> Statement {
    let o = settings.overrides;
    statement(
        "UPDATE secrets SET access_policy = ?2, checkout_exclusive = ?3,
             checkout_time_limit = ?4, login_reason = ?5, require_approval = ?6,
             confirmation_timeout = ?7, modified_at = ?8, modified_by = ?9
         WHERE id = ?1",
        vec![
            secret_id.into(),
            settings.policy.as_str().into(),
            settings.exclusive.into(),
            settings.time_limit.into(),
            o.login_reason.into(),
            o.require_approval.into(),
            o.confirmation_timeout.into(),
            now.into(),
            user_id.into(),
        ],
    )
}

// ---------------------------------------------------------------- safe settings

/// A safe (a root folder) by id: its name, or `None` when there is no such safe.
pub fn safe_name(safe_id: &str) -> Result<Option<String>> {
    Db::query(
        "SELECT name FROM folders WHERE id = ?1 AND parent_id IS NULL",
        &[safe_id.into()],
    )?
    .first()
    .map(|r| r.string("name"))
    .transpose()
}

pub fn safe_settings(safe_id: &str) -> Result<SafeSettings> {
    let rows = Db::query(
        "SELECT login_reason AS safe_login_reason, require_approval AS safe_require_approval,
                confirmation_timeout AS safe_confirmation_timeout
         FROM safe_checkout_settings WHERE safe_id = ?1",
        &[safe_id.into()],
    )?;
    match rows.first() {
        Some(row) => safe_settings_of(&row),
        None => Ok(SafeSettings::default()),
    }
}

pub fn put_safe_settings(
    safe_id: &str,
    settings: SafeSettings,
    user_id: i64,
    now: i64,
) -> Statement {
    statement(
        "INSERT INTO safe_checkout_settings (safe_id, login_reason, require_approval,
             confirmation_timeout, modified_at, modified_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (safe_id) DO UPDATE SET login_reason = ?2, require_approval = ?3,
             confirmation_timeout = ?4, modified_at = ?5, modified_by = ?6",
        vec![
            safe_id.into(),
            settings.login_reason.into(),
            settings.require_approval.into(),
            settings.confirmation_timeout.into(),
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
    /// Taken over from another user's exclusive checkout.
    pub forced: bool,
}

/// The insert of a checkout. An exclusive one takes the lock: when another row holds
/// it, the unique index `secret_access_one_lock` refuses the insert (a conflict), so of
/// two racing checkouts exactly one commits, on every instance sharing the database.
pub fn insert_checkout(new: &NewCheckout<'_>) -> Statement {
    let exclusive = new.secret.exclusive;
    statement(
        "INSERT INTO secret_access (user_id, secret_id, secret_version, secret_history_id,
             safe_id, exclusive, locked, source_ip, source_port, accessed_at, expires_at,
             forced, created_at, modified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?9, ?9)",
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
            new.forced.into(),
        ],
    )
}

/// Takes the exclusive lock away from another user's checkout (a forced checkout);
/// the checkout itself stays active: its user has seen the value.
pub fn release_lock(access_id: i64, now: i64) -> Statement {
    statement(
        "UPDATE secret_access SET locked = 0, modified_at = ?2 WHERE id = ?1 AND locked = 1",
        vec![access_id.into(), now.into()],
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

/// The records with what is computed from elsewhere. `user_lost_access`: the user is
/// no administrator and none of the grants that count for him (the rule of
/// `edgesafe_secrets_safe::access`, here for another user) lets him see the record's
/// safe. `?1` is the moment.
fn record_select() -> String {
    let grants = effective_grants_sql("?1", "a.user_id");
    format!(
        "SELECT a.*,
            s.title AS secret_name, s.id IS NULL AS secret_removed,
            f.name AS safe_name, f.id IS NULL AS safe_removed,
            u.user_name, ifnull(u.blocked, 0) AS user_blocked,
            ifnull(u.removed, 1) AS user_removed,
            mu.user_name AS marked_safe_by_name,
            CASE WHEN ifnull(u.is_admin, 0) = 1 THEN 0 ELSE NOT EXISTS (
                SELECT 1 FROM ({grants}) g
                WHERE g.safe_id = a.safe_id AND (g.flags & {SEES_SAFE_BITS}) != 0) END
              AS user_lost_access
        FROM secret_access a
        LEFT JOIN secrets s ON s.id = a.secret_id
        LEFT JOIN folders f ON f.id = a.safe_id
        LEFT JOIN users u ON u.id = a.user_id
        LEFT JOIN users mu ON mu.id = a.marked_safe_by"
    )
}

pub fn records(filter: &RecordFilter<'_>) -> Result<Vec<AccessRecord>> {
    let managed = serde_json::to_string(filter.managed_safes)
        .map_err(|_| ApiError::internal("safe id list serialization"))?;
    let sql = format!(
        "{}
         WHERE (?2 = 1 OR a.user_id = ?3 OR a.safe_id IN (SELECT value FROM json_each(?4)))
           AND (?5 IS NULL OR a.secret_id = ?5)
           AND (?8 IS NULL OR a.user_id = ?8)
           AND (?9 IS NULL OR (a.checked_in_at IS NULL
                               AND (a.expires_at IS NULL OR a.expires_at > ?1)) = ?9)
         ORDER BY a.id LIMIT ?6 OFFSET ?7",
        record_select()
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
    let sql = format!("{} WHERE a.id = ?2", record_select());
    Db::query(&sql, &[now.into(), id.into()])?
        .first()
        .map(|r| AccessRecord::read(&r))
        .transpose()
}

// ---------------------------------------------------------------- checkout requests

/// A checkout request (an access request, a checkout session, a Password Safe request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRow {
    pub id: i64,
    pub user_id: i64,
    pub user_name: Option<String>,
    pub secret_id: String,
    pub secret_name: Option<String>,
    pub safe_id: String,
    pub reason: Option<String>,
    /// Seconds the checkout may last; `None` for the secret's time limit.
    pub duration: Option<i64>,
    pub force: bool,
    pub stored: Status,
    pub expires_at: Option<i64>,
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
    pub decision_reason: Option<String>,
    pub access_id: Option<i64>,
    /// Whether the checkout it revealed is still active.
    pub checkout_active: bool,
    pub closed_at: Option<i64>,
    pub created_at: i64,
}

impl RequestRow {
    /// The request's state at `now` (`rules::RequestState`).
    pub fn status(&self, now: i64) -> Status {
        RequestState {
            stored: self.stored,
            expires_at: self.expires_at,
            revealed: self.access_id.is_some(),
            checkout_active: self.checkout_active,
        }
        .at(now)
    }

    fn read(row: &Row<'_>) -> Result<Self> {
        let opt = |c: &str| row.opt_str(c).map(|v| v.map(str::to_owned));
        Ok(RequestRow {
            id: row.i64("id")?,
            user_id: row.i64("user_id")?,
            user_name: opt("user_name")?,
            secret_id: row.string("secret_id")?,
            secret_name: opt("secret_name")?,
            safe_id: row.string("safe_id")?,
            reason: opt("reason")?,
            duration: row.opt_i64("duration")?,
            force: row.bool("force")?,
            stored: Status::parse(row.str("status")?)
                .ok_or_else(|| ApiError::internal("checkout_requests.status is unknown"))?,
            expires_at: row.opt_i64("expires_at")?,
            decided_by: row.opt_i64("decided_by")?,
            decided_by_name: opt("decided_by_name")?,
            decided_at: row.opt_i64("decided_at")?,
            decision_reason: opt("decision_reason")?,
            access_id: row.opt_i64("access_id")?,
            checkout_active: row.bool("checkout_active")?,
            closed_at: row.opt_i64("closed_at")?,
            created_at: row.i64("created_at")?,
        })
    }
}

/// Requests with their names and whether their checkout is active at `?1`.
const REQUEST_SELECT: &str = "SELECT r.*, u.user_name, s.title AS secret_name,
        d.user_name AS decided_by_name,
        ifnull(a.checked_in_at IS NULL AND (a.expires_at IS NULL OR a.expires_at > ?1), 0)
          AS checkout_active
    FROM checkout_requests r
    LEFT JOIN users u ON u.id = r.user_id
    LEFT JOIN users d ON d.id = r.decided_by
    LEFT JOIN secrets s ON s.id = r.secret_id
    LEFT JOIN secret_access a ON a.id = r.access_id";

pub fn request(id: i64, now: i64) -> Result<Option<RequestRow>> {
    Db::query(
        &format!("{REQUEST_SELECT} WHERE r.id = ?2"),
        &[now.into(), id.into()],
    )?
    .first()
    .map(|r| RequestRow::read(&r))
    .transpose()
}

/// Which requests a list shows.
pub struct RequestFilter<'a> {
    /// The caller's own requests; otherwise those the caller may decide: every one
    /// (`all`, administrators) or those of `safes`, never the caller's own.
    pub mine: bool,
    pub user_id: i64,
    pub all: bool,
    pub safes: &'a [String],
    pub secret_id: Option<&'a str>,
    pub now: i64,
}

/// Every request the filter shows, oldest first (the caller pages them once their
/// state at `now` is known).
pub fn requests(filter: &RequestFilter<'_>) -> Result<Vec<RequestRow>> {
    let safes = serde_json::to_string(filter.safes)
        .map_err(|_| ApiError::internal("safe id list serialization"))?;
    let sql = format!(
        "{REQUEST_SELECT}
         WHERE CASE WHEN ?2 = 1 THEN r.user_id = ?3
               ELSE r.user_id != ?3
                    AND (?4 = 1 OR r.safe_id IN (SELECT value FROM json_each(?5))) END
           AND (?6 IS NULL OR r.secret_id = ?6)
         ORDER BY r.id"
    );
    Db::query(
        &sql,
        &[
            filter.now.into(),
            filter.mine.into(),
            filter.user_id.into(),
            filter.all.into(),
            safes.into(),
            filter.secret_id.into(),
        ],
    )?
    .iter()
    .map(|r| RequestRow::read(&r))
    .collect()
}

/// The caller's newest request of the secret in `status` at `now` that has not
/// revealed anything yet, or that is in use (`Approved` and revealed).
pub fn latest_request(
    secret_id: &str,
    user_id: i64,
    status: Status,
    now: i64,
) -> Result<Option<RequestRow>> {
    let rows = Db::query(
        &format!(
            "{REQUEST_SELECT} WHERE r.secret_id = ?2 AND r.user_id = ?3
               AND r.status IN ('pending', 'approved') ORDER BY r.id DESC"
        ),
        &[now.into(), secret_id.into(), user_id.into()],
    )?;
    for row in rows.iter() {
        let request = RequestRow::read(&row)?;
        if request.status(now) == status {
            return Ok(Some(request));
        }
    }
    Ok(None)
}

/// A new request.
pub struct NewRequest<'a> {
    pub user_id: i64,
    pub secret: &'a SecretRow,
    pub reason: Option<&'a str>,
    pub duration: Option<i64>,
    pub force: bool,
    pub status: Status,
    pub expires_at: Option<i64>,
    pub now: i64,
}

pub fn insert_request(new: &NewRequest<'_>) -> Statement {
    statement(
        "INSERT INTO checkout_requests (user_id, secret_id, safe_id, reason, duration, force,
             status, expires_at, created_at, modified_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
        vec![
            new.user_id.into(),
            new.secret.id.as_str().into(),
            new.secret.safe_id.as_str().into(),
            new.reason.into(),
            new.duration.into(),
            new.force.into(),
            new.status.as_str().into(),
            new.expires_at.into(),
            new.now.into(),
        ],
    )
}

/// Approves or rejects a pending request still in its window; `expires_at` becomes
/// the end of the requester's window (approved) or stays as it was.
pub fn decide(
    id: i64,
    status: Status,
    by: i64,
    reason: Option<&str>,
    expires_at: Option<i64>,
    now: i64,
) -> Statement {
    statement(
        "UPDATE checkout_requests SET status = ?2, decided_by = ?3, decided_at = ?6,
             decision_reason = ?4, expires_at = ?5, modified_at = ?6
         WHERE id = ?1 AND status = 'pending' AND (expires_at IS NULL OR expires_at > ?6)",
        vec![
            id.into(),
            status.as_str().into(),
            by.into(),
            reason.into(),
            expires_at.into(),
            now.into(),
        ],
    )
}

/// Writes down that a request found past its window has expired.
pub fn expire_request(id: i64, now: i64) -> Statement {
    statement(
        "UPDATE checkout_requests SET status = 'expired', modified_at = ?2
         WHERE id = ?1 AND status IN ('pending', 'approved') AND access_id IS NULL
           AND expires_at IS NOT NULL AND expires_at <= ?2",
        vec![id.into(), now.into()],
    )
}

/// Closes a request (checked in or cancelled).
pub fn close_request(id: i64, now: i64) -> Statement {
    statement(
        "UPDATE checkout_requests SET status = 'closed', closed_at = ?2, modified_at = ?2
         WHERE id = ?1 AND status IN ('pending', 'approved')",
        vec![id.into(), now.into()],
    )
}

/// Links a request to the checkout inserted just before in the same transaction (the
/// newest record of that user and secret). A request already linked to another
/// checkout fails the transaction as a conflict (migration 0012).
pub fn link_checkout(id: i64, secret_id: &str, user_id: i64, now: i64) -> Statement {
    statement(
        "UPDATE checkout_requests SET modified_at = ?4, access_id = (
             SELECT max(id) FROM secret_access WHERE secret_id = ?2 AND user_id = ?3)
         WHERE id = ?1",
        vec![id.into(), secret_id.into(), user_id.into(), now.into()],
    )
}

// ---------------------------------------------------------------- managed accounts

/// A credential secret as Password Safe's managed account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    pub secret_id: String,
    pub title: String,
    pub username: String,
    pub folder_id: String,
    pub safe_id: String,
}

/// Credential secrets titled `title` (any case), or all of them.
pub fn accounts(title: Option<&str>) -> Result<Vec<AccountRow>> {
    Db::query(
        "SELECT s.id, s.title, s.username, s.folder_id, f.safe_id FROM secrets s
         JOIN folders f ON f.id = s.folder_id
         WHERE s.kind = 'credential' AND (?1 IS NULL OR lower(s.title) = lower(?1))
         ORDER BY s.title, s.id",
        &[title.into()],
    )?
    .iter()
    .map(|r| {
        Ok(AccountRow {
            secret_id: r.string("id")?,
            title: r.string("title")?,
            username: r.string("username")?,
            folder_id: r.string("folder_id")?,
            safe_id: r.string("safe_id")?,
        })
    })
    .collect()
}
