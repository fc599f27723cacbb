//! The checkout rules that need no storage: which settings apply (the secret's value
//! overriding its safe's), what state a checkout request is in at a moment, and how an
//! account's login splits into login and domain. Unit tested natively.

use serde::Serialize;

use crate::store::Policy;

/// Checkout settings of a safe (seed 002); a safe without any has them all off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SafeSettings {
    /// A reason is required to check out (`login_reason`).
    pub login_reason: bool,
    /// A checkout needs an approver's yes.
    pub require_approval: bool,
    /// Minutes to approve, and then to use the approval; `None` for no limit.
    pub confirmation_timeout: Option<i64>,
}

/// A secret's own values of the safe's settings; `None` where the safe's apply.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecretOverrides {
    pub login_reason: Option<bool>,
    pub require_approval: Option<bool>,
    pub confirmation_timeout: Option<i64>,
}

impl SecretOverrides {
    /// The settings that apply to the secret: its own values over its safe's.
    pub fn over(self, safe: SafeSettings) -> SafeSettings {
        SafeSettings {
            login_reason: self.login_reason.unwrap_or(safe.login_reason),
            require_approval: self.require_approval.unwrap_or(safe.require_approval),
            confirmation_timeout: self.confirmation_timeout.or(safe.confirmation_timeout),
        }
    }
}

/// Whether a checkout of a secret with this policy and these settings waits for an
/// approver: `view_on_request` always does, `full_edit` when the settings say so.
pub fn needs_approval(policy: Policy, settings: SafeSettings) -> bool {
    policy == Policy::ViewOnRequest || settings.require_approval
}

/// The state of a checkout request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for an approver.
    Pending,
    /// Approved (or needing no approval): the requester may reveal the value.
    Approved,
    Rejected,
    /// Not decided, or not used, in time.
    Expired,
    /// Checked in, cancelled, or its checkout has ended.
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Closed => "closed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Status::Pending,
            Status::Approved,
            Status::Rejected,
            Status::Expired,
            Status::Closed,
        ]
        .into_iter()
        .find(|s| s.as_str() == value)
    }
}

/// What a request's row says, for [`RequestState::at`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestState {
    pub stored: Status,
    pub expires_at: Option<i64>,
    /// Whether the request has revealed the value (then `expires_at` no longer counts).
    pub revealed: bool,
    /// Whether the checkout it revealed is still active.
    pub checkout_active: bool,
}

impl RequestState {
    /// The request's state at `now`, decided lazily: a pending request past its window
    /// and an approved one not used within its window have expired; an approved one
    /// whose checkout has ended (checked in or past its time limit) is closed.
    pub fn at(self, now: i64) -> Status {
        let past = self.expires_at.is_some_and(|at| at <= now);
        match self.stored {
            Status::Pending if past => Status::Expired,
            Status::Approved if self.revealed && !self.checkout_active => Status::Closed,
            Status::Approved if !self.revealed && past => Status::Expired,
            other => other,
        }
    }
}

/// When a window of `minutes` opened at `from` closes; `None` for no limit.
pub fn window_end(from: i64, minutes: Option<i64>) -> Option<i64> {
    minutes.map(|m| from + m * 60)
}

/// When a checkout made at `now` ends: the shorter of the secret's time limit and the
/// duration the request asked for (seconds); `None` when neither limits it.
pub fn checkout_end(now: i64, time_limit: Option<i64>, duration: Option<i64>) -> Option<i64> {
    match (time_limit, duration) {
        (Some(a), Some(b)) => Some(now + a.min(b)),
        (Some(s), None) | (None, Some(s)) => Some(now + s),
        (None, None) => None,
    }
}

/// An account's `Username` as seed 002's `login` and `domain`: `DOMAIN\login` and
/// `login@domain` carry a domain; any other user name is the login alone.
pub fn login_and_domain(username: &str) -> (&str, Option<&str>) {
    if let Some((domain, login)) = username.split_once('\\') {
        if !domain.is_empty() && !login.is_empty() {
            return (login, Some(domain));
        }
    }
    if let Some((login, domain)) = username.rsplit_once('@') {
        if !domain.is_empty() && !login.is_empty() {
            return (login, Some(domain));
        }
    }
    (username, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secrets_values_override_the_safes() {
        let safe = SafeSettings {
            login_reason: true,
            require_approval: false,
            confirmation_timeout: Some(30),
        };
        assert_eq!(SecretOverrides::default().over(safe), safe);
        let own = SecretOverrides {
            login_reason: Some(false),
            require_approval: Some(true),
            confirmation_timeout: Some(5),
        };
        assert_eq!(
            own.over(safe),
            SafeSettings {
                login_reason: false,
                require_approval: true,
                confirmation_timeout: Some(5)
            }
        );
    }

    #[test]
    fn view_on_request_always_needs_approval() {
        let off = SafeSettings::default();
        let on = SafeSettings {
            require_approval: true,
            ..off
        };
        assert!(needs_approval(Policy::ViewOnRequest, off));
        assert!(!needs_approval(Policy::FullEdit, off));
        assert!(needs_approval(Policy::FullEdit, on));
    }

    #[test]
    fn requests_expire_and_close_lazily() {
        let pending = RequestState {
            stored: Status::Pending,
            expires_at: Some(100),
            revealed: false,
            checkout_active: false,
        };
        assert_eq!(pending.at(99), Status::Pending);
        assert_eq!(pending.at(100), Status::Expired);
        let approved = RequestState {
            stored: Status::Approved,
            ..pending
        };
        assert_eq!(approved.at(99), Status::Approved);
        assert_eq!(approved.at(100), Status::Expired, "not used in time");
        let revealed = RequestState {
            revealed: true,
            checkout_active: true,
            ..approved
        };
        assert_eq!(revealed.at(500), Status::Approved, "in use: no window");
        let ended = RequestState {
            checkout_active: false,
            ..revealed
        };
        assert_eq!(ended.at(50), Status::Closed);
        let rejected = RequestState {
            stored: Status::Rejected,
            ..pending
        };
        assert_eq!(rejected.at(500), Status::Rejected);
        let unlimited = RequestState {
            expires_at: None,
            ..pending
        };
        assert_eq!(unlimited.at(i64::MAX), Status::Pending);
        assert_eq!(Status::parse("closed"), Some(Status::Closed));
        assert_eq!(Status::parse("other"), None);
    }

    #[test]
    fn windows_and_checkout_ends() {
        assert_eq!(window_end(1000, Some(2)), Some(1120));
        assert_eq!(window_end(1000, None), None);
        assert_eq!(checkout_end(10, Some(60), Some(30)), Some(40));
        assert_eq!(checkout_end(10, None, Some(30)), Some(40));
        assert_eq!(checkout_end(10, Some(60), None), Some(70));
        assert_eq!(checkout_end(10, None, None), None);
    }

    #[test]
    fn logins_split_off_their_domain() {
        assert_eq!(login_and_domain("CORP\\admin"), ("admin", Some("CORP")));
        assert_eq!(
            login_and_domain("admin@corp.example"),
            ("admin", Some("corp.example"))
        );
        assert_eq!(login_and_domain("Administrator"), ("Administrator", None));
        assert_eq!(login_and_domain("\\x"), ("\\x", None));
        assert_eq!(login_and_domain(""), ("", None));
    }
}
