//! The route table: which area component serves a path, and how its caller must
//! authenticate. One match on protocol and first segment; areas added by later issues
//! get a row here and an `allowed_outbound_hosts` entry in spin.toml.

use edgesafe_api_common::Protocol;

/// A private component reached through Spin's local service chaining.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Identity,
    Folders,
    Secrets,
    Safes,
    Audit,
    Checkout,
    Kv,
}

impl Area {
    /// The component's host name for local service chaining.
    pub fn host(self) -> &'static str {
        match self {
            Area::Identity => "identity.spin.internal",
            Area::Folders => "folders.spin.internal",
            Area::Secrets => "secrets.spin.internal",
            Area::Safes => "safes.spin.internal",
            Area::Audit => "audit.spin.internal",
            Area::Checkout => "checkout.spin.internal",
            Area::Kv => "kv.spin.internal",
        }
    }
}

/// How a route's caller proves who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthRule {
    /// Nobody is authenticated here (the area checks a client secret itself).
    Anonymous,
    /// v3 `Auth/SignAppIn`: the Authorization header only (`PS-Auth` or `Bearer`). A
    /// cookie is ignored: clients resend a stale one after signing out.
    V3Header,
    /// Other v3 routes: the session cookie, or the same Authorization header as
    /// SignAppIn (some clients send only one of them).
    V3CookieOrHeader,
    /// v2: `Authorization: <token>` (an API key or a session/bearer token; `Bearer `
    /// prefix optional).
    V2Token,
    /// KV: `Authorization: Bearer <token>` (an access token or an API key).
    KvBearer,
    /// Vault: `X-Vault-Token: <token>` (an access token or an API key), or the KV
    /// bearer header.
    VaultToken,
}

/// Where a request goes and how it authenticates; `None` is a 404.
pub fn route(protocol: Protocol, segments: &[&str]) -> Option<(Area, AuthRule)> {
    // `/api/secrets` itself is the KV collection; the other roots name nothing.
    let first = match (protocol, segments.first()) {
        (Protocol::Kv, None) => "",
        (_, first) => *first?,
    };
    let area = match (protocol, first) {
        (Protocol::V3, "auth" | "users" | "usergroups" | "permissions" | "configuration") => {
            Area::Identity
        }
        (Protocol::V3, "secrets-safe") => match segments.get(1).copied() {
            // Secrets are created and listed under their folder.
            Some("folders") if segments.get(3) == Some(&"secrets") => Area::Secrets,
            Some("folders") => Area::Folders,
            Some("secrets") => Area::Secrets,
            Some("safes") => Area::Safes,
            _ => return None,
        },
        (Protocol::V3, "useraudits") => Area::Audit,
        (Protocol::V2, "session") => Area::Identity,
        (Protocol::V2, "vault") => Area::Identity,
        (Protocol::V2, "audit") => Area::Audit,
        (Protocol::V2, "secret" | "objspec" | "collection") => Area::Checkout,
        // Password Safe's managed-account checkout, on the same engine.
        (Protocol::V3, "managedaccounts" | "requests" | "credentials") => Area::Checkout,
        (Protocol::Kv, "whoami") => Area::Identity,
        (Protocol::Kv | Protocol::Vault, _) => Area::Kv,
        _ => return None,
    };
    let rule = match protocol {
        Protocol::V3 => match segments {
            ["auth", "connect", "token"] => AuthRule::Anonymous,
            ["auth", "signappin"] => AuthRule::V3Header,
            _ => AuthRule::V3CookieOrHeader,
        },
        Protocol::V2 => AuthRule::V2Token,
        Protocol::Kv => AuthRule::KvBearer,
        Protocol::Vault => AuthRule::VaultToken,
    };
    Some((area, rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_identity_paths() {
        assert_eq!(
            route(Protocol::V3, &["auth", "signappin"]),
            Some((Area::Identity, AuthRule::V3Header))
        );
        assert_eq!(
            route(Protocol::V3, &["auth", "connect", "token"]),
            Some((Area::Identity, AuthRule::Anonymous))
        );
        assert_eq!(
            route(Protocol::V3, &["auth", "signout"]),
            Some((Area::Identity, AuthRule::V3CookieOrHeader))
        );
        assert_eq!(
            route(Protocol::V3, &["users", "3", "usergroups"]),
            Some((Area::Identity, AuthRule::V3CookieOrHeader))
        );
        assert_eq!(
            route(Protocol::V2, &["session"]),
            Some((Area::Identity, AuthRule::V2Token))
        );
        assert_eq!(
            route(Protocol::Kv, &["whoami"]),
            Some((Area::Identity, AuthRule::KvBearer))
        );
        assert_eq!(
            route(Protocol::V2, &["vault", "keyring", "reseal"]),
            Some((Area::Identity, AuthRule::V2Token))
        );
        assert_eq!(
            route(Protocol::V2, &["secret", "s", "checkout"]),
            Some((Area::Checkout, AuthRule::V2Token))
        );
        assert_eq!(
            route(Protocol::V2, &["objspec", "secret_access"]),
            Some((Area::Checkout, AuthRule::V2Token))
        );
    }

    #[test]
    fn routes_secrets_safe_paths() {
        let area = |segments: &[&str]| route(Protocol::V3, segments).map(|(a, _)| a);
        assert_eq!(area(&["secrets-safe", "folders"]), Some(Area::Folders));
        assert_eq!(
            area(&["secrets-safe", "folders", "f", "move"]),
            Some(Area::Folders)
        );
        assert_eq!(
            area(&["secrets-safe", "folders", "f", "upload"]),
            Some(Area::Folders)
        );
        assert_eq!(
            area(&["secrets-safe", "folders", "f", "secrets"]),
            Some(Area::Secrets)
        );
        assert_eq!(
            area(&["secrets-safe", "folders", "f", "secrets", "file"]),
            Some(Area::Secrets)
        );
        assert_eq!(
            area(&["secrets-safe", "secrets", "s", "shares"]),
            Some(Area::Secrets)
        );
        assert_eq!(
            area(&["secrets-safe", "safes", "safe-permissions"]),
            Some(Area::Safes)
        );
    }

    #[test]
    fn routes_audit_paths() {
        assert_eq!(
            route(Protocol::V3, &["useraudits", "3", "userauditdetails"]),
            Some((Area::Audit, AuthRule::V3CookieOrHeader))
        );
        assert_eq!(
            route(Protocol::V2, &["audit", "events"]),
            Some((Area::Audit, AuthRule::V2Token))
        );
    }

    #[test]
    fn routes_checkout_paths() {
        let area = |p: Protocol, segments: &[&str]| route(p, segments).map(|(a, _)| a);
        assert_eq!(
            area(Protocol::V2, &["collection", "c"]),
            Some(Area::Checkout)
        );
        assert_eq!(
            area(Protocol::V3, &["managedaccounts"]),
            Some(Area::Checkout)
        );
        assert_eq!(
            area(Protocol::V3, &["requests", "1", "checkin"]),
            Some(Area::Checkout)
        );
        assert_eq!(
            area(Protocol::V3, &["credentials", "1"]),
            Some(Area::Checkout)
        );
    }

    #[test]
    fn routes_kv_and_vault_paths() {
        assert_eq!(
            route(Protocol::Kv, &["value"]),
            Some((Area::Kv, AuthRule::KvBearer))
        );
        assert_eq!(
            route(Protocol::Vault, &["secret", "data", "App"]),
            Some((Area::Kv, AuthRule::VaultToken))
        );
        assert_eq!(
            route(Protocol::Vault, &["sys", "mounts"]),
            Some((Area::Kv, AuthRule::VaultToken))
        );
    }

    #[test]
    fn unknown_paths_have_no_route() {
        assert_eq!(route(Protocol::V3, &[]), None);
        assert_eq!(route(Protocol::V3, &["secrets-safe"]), None);
        assert_eq!(route(Protocol::V3, &["secrets-safe", "other"]), None);
        assert_eq!(route(Protocol::V2, &["users"]), None);
        assert_eq!(route(Protocol::V2, &[]), None);
        assert_eq!(route(Protocol::Vault, &[]), None);
    }
}
