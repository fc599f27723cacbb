//! Who may do what to which safe, folder and secret, in one place: the feature
//! permission, then the grants on the safe (user grants and the grants of the user's
//! active groups combine; expired grants count as none; administrators may do
//! everything). One guard per concern: seeing a safe, acting on it, moving things
//! between safes, naming principals.
//!
//! Moves. A secret lives under the grants of its safe, so moving it to another safe
//! is taking it out of one safe (Delete there) and putting it into another (Create
//! there): [`SECRET_MOVE`]. A folder carries its secrets, so moving a folder to
//! another safe needs the same, plus Update on the folder's safe ([`folder_move`]).
//! A share links a secret into a folder of another safe by the decision of a Share
//! holder on the secret's safe; a move that would make a share link a secret into a
//! safe nobody with Share approved needs Share on the secret's safe from the mover
//! ([`Access::require_shares_follow`]).

use crate::folders::{self, Folder};
use crate::ids::{FolderId, SafeId};
use crate::permissions::Flags;
use crate::required::Endpoint;
use edgesafe_api_common::area::Ctx;
use edgesafe_api_common::principal::{LEVEL_READ, LEVEL_WRITE};
use edgesafe_api_common::vault::{Db, Decision, Value};
use edgesafe_api_common::{ApiError, ErrorCode, Principal, Result};
use std::collections::HashMap;

/// The feature permission key of Secrets Safe (PermissionID 1).
pub const FEATURE: &str = "secrets_safe";
/// The feature permission key of Workforce Passwords (PermissionID 3): a user's own
/// personal folder.
pub const WORKFORCE: &str = "workforce_passwords";

/// What the owner of a personal folder may do in it: everything but grant (Manage) and
/// share, so that nothing in it ever reaches anyone else.
pub const PERSONAL: Flags = Flags::READ
    .union(Flags::CREATE)
    .union(Flags::UPDATE)
    .union(Flags::DELETE);

/// The grants that count for a user at a moment, as a SQL query of `safe_id, flags`:
/// unexpired ones, the user's own and those of the user's active groups. `now` and
/// `user` are SQL expressions (a parameter, or a column of an outer query), so that the
/// same rule serves the caller's view here and, for other users, the checkout area's
/// `user_lost_access`.
pub fn effective_grants_sql(now: &str, user: &str) -> String {
    format!(
        "SELECT safe_id, flags FROM safe_permissions
         WHERE (expires_at IS NULL OR expires_at > {now})
           AND ((principal_type = 0 AND principal_id = {user})
             OR (principal_type = 1 AND principal_id IN (
                   SELECT m.group_id FROM group_members m
                   JOIN user_groups g ON g.id = m.group_id AND g.is_active = 1
                   WHERE m.user_id = {user})))"
    )
}

/// The stored flag bits that let a principal see a safe's objects: Read, or Manage
/// (which implies it), as [`Access::can_see`] decides on parsed flags.
pub const SEES_SAFE_BITS: i64 = Flags::READ.union(Flags::MANAGE).bits() as i64;

/// How far a feature permission reaches at the level at hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// No access to the place at all.
    None,
    /// The feature is held at read level only: the place is seen, its flags end at Read.
    Read,
    /// The feature is held at the level at hand.
    Full,
}

impl Reach {
    fn of(principal: &Principal, feature: &str, level: u8) -> Reach {
        if principal.can(feature, level) {
            Reach::Full
        } else if principal.can(feature, LEVEL_READ) {
            Reach::Read
        } else {
            Reach::None
        }
    }

    /// `flags` as far as this reach lets them count.
    fn limit(self, flags: Flags) -> Flags {
        match self {
            Reach::None => Flags::NONE,
            Reach::Read if flags.contains(Flags::READ) => Flags::READ,
            Reach::Read => Flags::NONE,
            Reach::Full => flags,
        }
    }
}

/// A principal's view of the safes at one moment: the safes (team safes) as far as his
/// Secrets-Safe feature reaches at the level at hand, his personal folder as far as
/// his Workforce Passwords feature does.
pub struct Access<'a> {
    pub principal: &'a Principal,
    now: i64,
    team: Reach,
    personal: Reach,
}

impl<'a> Access<'a> {
    /// The view at read level.
    pub fn new(principal: &'a Principal, now: i64) -> Self {
        Self::at_level(principal, now, LEVEL_READ)
    }

    fn at_level(principal: &'a Principal, now: i64, level: u8) -> Self {
        Self {
            principal,
            now,
            team: Reach::of(principal, FEATURE, level),
            personal: Reach::of(principal, WORKFORCE, level),
        }
    }

    /// The caller's view of the safes at the request's moment, at the feature level
    /// `endpoint` needs (see [`Endpoint::required`]): 403 when neither Secrets-Safe
    /// (team safes) nor Workforce Passwords (his personal folder, where the endpoint
    /// serves one) reaches it, or when the endpoint needs Workforce Passwords itself
    /// (the CSV import) and he lacks it.
    pub fn for_endpoint(ctx: &'a Ctx, endpoint: Endpoint) -> Result<Self> {
        let required = endpoint.required();
        let access = Self::at_level(ctx.principal()?, ctx.now, required.feature);
        let workforce =
            required.workforce == 0 || access.principal.can(WORKFORCE, required.workforce);
        let personal = required.personal && access.personal == Reach::Full;
        if !(access.team == Reach::Full || personal) || !workforce {
            return Err(ApiError::forbidden());
        }
        Ok(access)
    }

    pub fn now(&self) -> i64 {
        self.now
    }

    /// Secrets-Safe (Read) for reads, (Read/Write) for writes: 403 without it. (PAM v2
    /// routes; the v3 endpoints take their level from [`Endpoint::required`].)
    pub fn require_feature(&self, write: bool) -> Result<()> {
        let level = if write { LEVEL_WRITE } else { LEVEL_READ };
        if self.principal.can(FEATURE, level) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// Effective permissions on every safe the principal has any grant on, and on his
    /// personal folder.
    pub fn all_grants(&self) -> Result<HashMap<SafeId, Flags>> {
        let mut grants: HashMap<SafeId, Flags> = HashMap::new();
        if self.personal != Reach::None {
            let rows = Db::query(
                "SELECT id FROM folders WHERE personal_user_id = ?1",
                &[Value::Integer(self.principal.user_id)],
            )?;
            for row in rows.iter() {
                grants.insert(
                    SafeId::new(row.string("id")?),
                    self.personal.limit(PERSONAL),
                );
            }
        }
        if self.team == Reach::None {
            return Ok(grants);
        }
        let rows = Db::query(
            &effective_grants_sql("?1", "?2"),
            &[
                Value::Integer(self.now),
                Value::Integer(self.principal.user_id),
            ],
        )?;
        for row in rows.iter() {
            let flags = self.team.limit(Flags::from_bits(row.i64("flags")?));
            let entry = grants
                .entry(SafeId::new(row.string("safe_id")?))
                .or_default();
            *entry = entry.union(flags);
        }
        Ok(grants)
    }

    /// Effective permissions on one safe. Administrators hold every flag on every
    /// safe, but no personal folder of another user.
    pub fn flags_on(&self, safe_id: &SafeId) -> Result<Flags> {
        if self.principal.admin && self.team == Reach::Full && !folders::is_personal(safe_id)? {
            return Ok(Flags::ALL);
        }
        Ok(self.all_grants()?.remove(safe_id).unwrap_or_default())
    }

    /// Whether the principal may see objects of a safe with these flags.
    pub fn can_see(&self, flags: Flags) -> bool {
        flags.contains(Flags::READ)
    }

    /// Checks `need` on a safe: without Read the object does not exist for the caller
    /// (404); with Read but not `need`, 403.
    pub fn require_on_safe(&self, safe_id: &SafeId, need: Flags) -> Result<Flags> {
        let flags = self.flags_on(safe_id)?;
        if !self.can_see(flags) {
            return Err(ApiError::not_found());
        }
        if !flags.contains(need) {
            return Err(ApiError::forbidden());
        }
        Ok(flags)
    }

    /// The folder `id` (a safe or a folder), when the principal holds `need` on its safe.
    pub fn folder(&self, id: &FolderId, need: Flags) -> Result<Folder> {
        let folder = folders::load(id)?.ok_or_else(ApiError::not_found)?;
        self.require_on_safe(&folder.safe_id, need)?;
        Ok(folder)
    }

    /// Safe ids the principal may read, with their flags (every safe for an admin),
    /// his personal folder included.
    pub fn readable_safes(&self) -> Result<HashMap<SafeId, Flags>> {
        let mut safes = self.all_grants()?;
        if self.principal.admin && self.team == Reach::Full {
            let rows = Db::query(
                "SELECT id FROM folders WHERE parent_id IS NULL AND personal_user_id IS NULL",
                &[],
            )?;
            for row in rows.iter() {
                safes.insert(SafeId::new(row.string("id")?), Flags::ALL);
            }
        }
        safes.retain(|_, flags| self.can_see(*flags));
        Ok(safes)
    }
}

/// The caller's flags on every safe he may read, read once per request for routes
/// that look at many objects (lists, moves, a secret seen through its shares).
pub struct SafeView {
    safes: HashMap<SafeId, Flags>,
}

impl SafeView {
    pub fn flags(&self, safe: &SafeId) -> Flags {
        self.safes.get(safe).copied().unwrap_or_default()
    }

    pub fn can_read(&self, safe: &SafeId) -> bool {
        self.flags(safe).contains(Flags::READ)
    }

    /// A secret is visible through its own safe or any safe it is shared into.
    pub fn can_see_secret<'s>(
        &self,
        own: &SafeId,
        shared_into: impl IntoIterator<Item = &'s SafeId>,
    ) -> bool {
        self.can_read(own) || shared_into.into_iter().any(|safe| self.can_read(safe))
    }

    /// The ids of the safes the caller may read.
    pub fn safe_ids(&self) -> Vec<String> {
        self.safes.keys().map(SafeId::to_string).collect()
    }
}

impl Access<'_> {
    pub fn safe_view(&self) -> Result<SafeView> {
        Ok(SafeView {
            safes: self.readable_safes()?,
        })
    }

    /// The secret of `safe` shared into `shared_into` when the caller may read it:
    /// Read on its own safe or on any safe it is shared into. The caller's flags on
    /// the secret's own safe otherwise; `None` when the secret does not exist for him.
    pub fn secret_flags(&self, safe: &SafeId, shared_into: &[SafeId]) -> Result<Option<Flags>> {
        let view = self.safe_view()?;
        Ok(view
            .can_see_secret(safe, shared_into)
            .then(|| view.flags(safe)))
    }

    /// Moving `folder` below `destination` (both already visible to the caller): the
    /// flags of [`folder_move`] on the two safes, 403 without them.
    pub fn require_folder_move(&self, folder: &Folder, destination: &Folder) -> Result<()> {
        let needs = folder_move(folder.safe_id != destination.safe_id);
        self.require_on_safe(&folder.safe_id, needs.leaving)?;
        self.require_on_safe(&destination.safe_id, needs.entering)?;
        Ok(())
    }

    /// The safes on which the caller holds Share, for a move to re-check in its own
    /// statement; `None` when he holds it everywhere (an administrator).
    pub fn share_approved(&self) -> Result<Option<Vec<SafeId>>> {
        if self.principal.admin {
            return Ok(None);
        }
        Ok(Some(
            self.readable_safes()?
                .into_iter()
                .filter(|(_, flags)| flags.contains(Flags::SHARE))
                .map(|(safe, _)| safe)
                .collect(),
        ))
    }

    /// A move is about to make shares link secrets of `secret_safes` into folders of
    /// other safes than before: the caller needs Share on each of those safes, as for
    /// making the share (403).
    pub fn require_shares_follow(&self, secret_safes: &[SafeId]) -> Result<()> {
        for safe in secret_safes {
            if !self.flags_on(safe)?.contains(Flags::SHARE) {
                return Err(ApiError::forbidden());
            }
        }
        Ok(())
    }
}

/// Naming principals (a secret's owners, a folder's group, a grant on a safe). A
/// non-administrator learns nothing about users and groups he cannot see, so he may
/// name only himself, the active groups he is in and their members, and principals
/// holding a grant on a safe he can read (he sees those in its permissions already);
/// anyone else is added through an administrator. Any other id,
/// existing or not, must get one and the same answer from the caller of these guards.
/// An administrator may name any user that has not been removed and any group.
impl Access<'_> {
    pub fn may_name_user(&self, user_id: i64) -> Result<bool> {
        if !self.principal.admin
            && user_id != self.principal.user_id
            && !self.shares_a_group_with(user_id)?
            && !self.granted_where_seen(0, user_id)?
        {
            return Ok(false);
        }
        let rows = Db::query(
            "SELECT 1 AS found FROM users WHERE id = ?1 AND removed = 0",
            &[Value::Integer(user_id)],
        )?;
        Ok(!rows.is_empty())
    }

    pub fn may_name_group(&self, group_id: i64) -> Result<bool> {
        if !self.principal.admin
            && !self.principal.groups.contains(&group_id)
            && !self.granted_where_seen(1, group_id)?
        {
            return Ok(false);
        }
        let rows = Db::query(
            "SELECT 1 AS found FROM user_groups WHERE id = ?1",
            &[Value::Integer(group_id)],
        )?;
        Ok(!rows.is_empty())
    }

    /// Whether `user_id` is a member of one of the caller's active groups.
    fn shares_a_group_with(&self, user_id: i64) -> Result<bool> {
        let groups = serde_json::to_string(&self.principal.groups)
            .map_err(|_| ApiError::internal("serializing group ids"))?;
        let rows = Db::query(
            "SELECT 1 AS found FROM group_members
              WHERE user_id = ?1 AND group_id IN (SELECT value FROM json_each(?2))
              LIMIT 1",
            &[Value::Integer(user_id), Value::Text(groups)],
        )?;
        Ok(!rows.is_empty())
    }

    /// Whether the principal (type 0 user, 1 group) holds a grant, expired or not, on
    /// a safe the caller can read.
    fn granted_where_seen(&self, principal_type: i64, id: i64) -> Result<bool> {
        let seen: Vec<String> = self
            .readable_safes()?
            .into_keys()
            .map(|s| s.to_string())
            .collect();
        let seen =
            serde_json::to_string(&seen).map_err(|_| ApiError::internal("serializing safe ids"))?;
        let rows = Db::query(
            "SELECT 1 AS found FROM safe_permissions
              WHERE principal_type = ?1 AND principal_id = ?2
                AND safe_id IN (SELECT value FROM json_each(?3))
              LIMIT 1",
            &[
                Value::Integer(principal_type),
                Value::Integer(id),
                Value::Text(seen),
            ],
        )?;
        Ok(!rows.is_empty())
    }
}

/// No share leads into a personal folder, which is its owner's alone (and none leads
/// out of one: its owner holds no Share there, [`PERSONAL`]). 400 naming `field` when
/// the safe `target` is a personal folder.
pub fn refuse_share_into_personal(target: &SafeId, field: &str) -> Result<()> {
    if folders::is_personal(target)? {
        return Err(ApiError::bad_request(
            field,
            "is in a personal folder, which takes no shares",
        ));
    }
    Ok(())
}

/// What a move needs on the safe it leaves and on the safe it enters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MoveNeeds {
    pub leaving: Flags,
    pub entering: Flags,
}

/// A secret: Delete where it lives and Create where it goes, also within one safe.
pub const SECRET_MOVE: MoveNeeds = MoveNeeds {
    leaving: Flags::DELETE,
    entering: Flags::CREATE,
};

/// Moving a secret from the safe `from` into the safe `to` leaves its shares where
/// they are: a share into a folder of a third safe would then link a secret of `to`
/// there, which needs Share on `to` from the mover (`flags_on_to`), as making that
/// share would. Within one safe, or with shares only into `to`, nothing crosses.
pub fn shares_follow_secret<'s>(
    from: &SafeId,
    to: &SafeId,
    flags_on_to: Flags,
    share_safes: impl IntoIterator<Item = &'s SafeId>,
) -> bool {
    from == to || flags_on_to.contains(Flags::SHARE) || share_safes.into_iter().all(|s| s == to)
}

/// A folder: Update on its safe; to another safe, also what moving each of its secrets
/// needs ([`SECRET_MOVE`]), whether it holds secrets now or not (one may be created in
/// it while it moves, and an empty folder leaving a safe is still taken out of it).
pub const fn folder_move(across_safes: bool) -> MoveNeeds {
    if across_safes {
        MoveNeeds {
            leaving: Endpoint::FolderMove.safe_flag().union(SECRET_MOVE.leaving),
            entering: SECRET_MOVE.entering,
        }
    } else {
        MoveNeeds {
            leaving: Endpoint::FolderMove.safe_flag(),
            entering: Flags::READ,
        }
    }
}

/// [`Access::for_endpoint`], with a refused feature permission recorded in the audit
/// trail against `action` and `target`.
pub fn feature_access<'a>(
    ctx: &'a Ctx,
    endpoint: Endpoint,
    action: &str,
    target: &str,
) -> Result<Access<'a>> {
    Access::for_endpoint(ctx, endpoint).inspect_err(|e| {
        if e.code() == ErrorCode::Forbidden {
            ctx.audit(
                action,
                target,
                Decision::Deny,
                Some("no feature permission at the level the endpoint needs"),
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feature_held_at_read_level_leaves_read_of_the_flags() {
        let all = Flags::ALL;
        assert_eq!(Reach::Full.limit(all), all);
        assert_eq!(Reach::Read.limit(all), Flags::READ);
        assert_eq!(Reach::Read.limit(Flags::NONE), Flags::NONE);
        assert_eq!(Reach::None.limit(all), Flags::NONE);
        assert!(!PERSONAL.contains(Flags::SHARE) && !PERSONAL.contains(Flags::MANAGE));
    }

    #[test]
    fn moving_to_another_safe_needs_what_moving_each_secret_needs() {
        let across = folder_move(true);
        assert!(across.leaving.contains(SECRET_MOVE.leaving));
        assert!(across.leaving.contains(Flags::UPDATE));
        assert!(across.entering.contains(SECRET_MOVE.entering));
        let within = folder_move(false);
        assert_eq!(within.leaving, Flags::UPDATE);
        assert!(!within.leaving.contains(Flags::DELETE));
    }

    #[test]
    fn a_secret_takes_its_shares_to_another_safe_only_with_share_there() {
        let [a, b, c] = ["a", "b", "c"].map(SafeId::new);
        let create = Flags::READ.union(Flags::CREATE);
        assert!(shares_follow_secret(&a, &b, create, []));
        assert!(shares_follow_secret(&a, &b, create, [&b]));
        assert!(!shares_follow_secret(&a, &b, create, [&c]));
        assert!(shares_follow_secret(
            &a,
            &b,
            create.union(Flags::SHARE),
            [&c]
        ));
        assert!(
            shares_follow_secret(&b, &b, create, [&c]),
            "no safe changes"
        );
    }
}
