//! The scope table: every route the gateway serves, per method, and the OAuth-style
//! scope its caller's credential must carry. One table for every protocol.
//!
//! It fails closed: a path the table does not list is not served (404) and a method it
//! does not list for a path is refused (405), before anything reaches an area. A route
//! added to an area therefore needs a row here before any client can reach it.
//!
//! The rules (README, "Scopes"):
//! - v3 Secrets Safe routes take `publicapi` (what Password Safe clients ask for) or the
//!   `secrets.*` scope of their purpose: value reads `secrets.read`; listings and
//!   metadata `secrets.read_metadata` (or `secrets.read`); creates, updates, moves
//!   `secrets.write`; deletes `secrets.delete`; safe permissions (who holds a safe)
//!   `secrets.set_owner`.
//! - Identity administration (users, groups, keys, feature permissions), vault
//!   administration and the audit trail (v3 `UserAudits`, v2 `audit/*`) take
//!   `publicapi` only.
//! - Routes about the caller's own credentials (sign-in, sign-out, version, v2 session,
//!   KV whoami) take any authenticated caller; the token endpoint is anonymous (the
//!   identity area checks the client secret).
//! - Versioned KV (`/api/secrets`) and Vault (`/v1/`) routes take the scope of their
//!   purpose as in seed 003 (`secrets.read`, `.write`, `.delete`, `.destroy`,
//!   `.rotate`, `.read_metadata`, `.set_owner`) or `publicapi`, as v3 does over the same
//!   vault. Routes whose purpose depends on the body (bulk) or on a query parameter
//!   (`destroy=true`) are checked again by the kv area for that purpose.

use edgesafe_api_common::principal::SCOPE_PUBLIC_API;
use edgesafe_api_common::{Principal, Protocol};

/// What a route needs of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Nobody is authenticated (the area checks a client secret itself).
    Anonymous,
    /// Any authenticated caller, whatever its scopes.
    Caller,
    /// A caller holding one of these scopes; the first names the purpose of the route
    /// (the audit event of a refusal carries it).
    AnyOf(&'static [&'static str]),
}

impl Needs {
    /// Whether `principal` satisfies this (an anonymous route needs no principal).
    pub fn allows(self, principal: Option<&Principal>) -> bool {
        match (self, principal) {
            (Needs::Anonymous, _) => true,
            (Needs::Caller, Some(_)) => true,
            (Needs::AnyOf(scopes), Some(p)) => scopes.iter().any(|s| p.has_scope(s)),
            (_, None) => false,
        }
    }

    /// What a KV or Vault route needs when `secrets_enforce_scopes` is off (seed 003's
    /// `SECRETS_ENFORCE_SCOPES=false`): any caller, whose grants the kv area still
    /// checks. Administration (`publicapi` only) and other protocols keep their scope.
    pub fn with_kv_scopes(self, protocol: Protocol, enforced: bool) -> Needs {
        match self {
            Needs::AnyOf(scopes)
                if !enforced
                    && matches!(protocol, Protocol::Kv | Protocol::Vault)
                    && scopes != [SCOPE_PUBLIC_API] =>
            {
                Needs::Caller
            }
            other => other,
        }
    }

    /// The scope that names the route's purpose, for the audit trail.
    pub fn purpose(self) -> &'static str {
        match self {
            Needs::Anonymous | Needs::Caller => "authenticated",
            Needs::AnyOf(scopes) => scopes.first().copied().unwrap_or("none"),
        }
    }
}

const READ: Needs = Needs::AnyOf(&["secrets.read", SCOPE_PUBLIC_API]);
const METADATA: Needs = Needs::AnyOf(&["secrets.read_metadata", "secrets.read", SCOPE_PUBLIC_API]);
const WRITE: Needs = Needs::AnyOf(&["secrets.write", SCOPE_PUBLIC_API]);
const DELETE: Needs = Needs::AnyOf(&["secrets.delete", SCOPE_PUBLIC_API]);
const SET_OWNER: Needs = Needs::AnyOf(&["secrets.set_owner", SCOPE_PUBLIC_API]);
const DESTROY: Needs = Needs::AnyOf(&["secrets.destroy", SCOPE_PUBLIC_API]);
const ROTATE: Needs = Needs::AnyOf(&["secrets.rotate", SCOPE_PUBLIC_API]);
const ADMIN: Needs = Needs::AnyOf(&[SCOPE_PUBLIC_API]);

struct Row {
    protocol: Protocol,
    method: &'static str,
    /// Canonical segments after the protocol's prefix, `*` for any one segment (an id).
    pattern: &'static str,
    needs: Needs,
}

const fn row(protocol: Protocol, method: &'static str, pattern: &'static str, needs: Needs) -> Row {
    Row {
        protocol,
        method,
        pattern,
        needs,
    }
}

use Protocol::{Kv, Vault, V2, V3};

/// Literal segments come before a `*` in the same position (`secrets/move` before
/// `secrets/*`): the first matching row for the method wins. `**` matches one or more
/// segments (a Vault secret path); the empty pattern is the protocol's root.
#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Sign-in and the caller's own session.
    row(V3, "POST", "auth/connect/token", Needs::Anonymous),
    row(V3, "POST", "auth/signappin", Needs::Caller),
    row(V3, "POST", "auth/signout", Needs::Caller),
    row(V3, "GET", "configuration/version", Needs::Caller),
    // Identity administration.
    row(V3, "GET", "users", ADMIN),
    row(V3, "POST", "users", ADMIN),
    row(V3, "GET", "users/*", ADMIN),
    row(V3, "PUT", "users/*", ADMIN),
    row(V3, "DELETE", "users/*", ADMIN),
    row(V3, "POST", "users/*/quarantine", ADMIN),
    row(V3, "POST", "users/*/unquarantine", ADMIN),
    row(V3, "GET", "users/*/usergroups", ADMIN),
    row(V3, "POST", "users/*/usergroups/*", ADMIN),
    row(V3, "DELETE", "users/*/usergroups/*", ADMIN),
    row(V3, "GET", "users/*/apikeys", ADMIN),
    row(V3, "POST", "users/*/apikeys", ADMIN),
    row(V3, "DELETE", "users/*/apikeys/*", ADMIN),
    row(V3, "GET", "usergroups", ADMIN),
    row(V3, "POST", "usergroups", ADMIN),
    row(V3, "GET", "usergroups/*", ADMIN),
    row(V3, "DELETE", "usergroups/*", ADMIN),
    row(V3, "GET", "usergroups/*/users", ADMIN),
    row(V3, "GET", "usergroups/*/permissions", ADMIN),
    row(V3, "POST", "usergroups/*/permissions", ADMIN),
    row(V3, "DELETE", "usergroups/*/permissions", ADMIN),
    row(V3, "GET", "permissions", ADMIN),
    // Folders.
    row(V3, "GET", "secrets-safe/folders", METADATA),
    row(V3, "POST", "secrets-safe/folders", WRITE),
    row(V3, "GET", "secrets-safe/folders/*", METADATA),
    row(V3, "PUT", "secrets-safe/folders/*", WRITE),
    row(V3, "DELETE", "secrets-safe/folders/*", DELETE),
    row(V3, "POST", "secrets-safe/folders/*", WRITE),
    row(V3, "PUT", "secrets-safe/folders/*/move", WRITE),
    row(V3, "PUT", "secrets-safe/folders/*/favorite", WRITE),
    row(V3, "POST", "secrets-safe/folders/*/upload", WRITE),
    // Secrets.
    row(V3, "GET", "secrets-safe/folders/*/secrets", METADATA),
    row(V3, "POST", "secrets-safe/folders/*/secrets", WRITE),
    row(V3, "POST", "secrets-safe/folders/*/secrets/text", WRITE),
    row(V3, "POST", "secrets-safe/folders/*/secrets/file", WRITE),
    row(V3, "GET", "secrets-safe/secrets", METADATA),
    row(V3, "PUT", "secrets-safe/secrets/move", WRITE),
    row(V3, "GET", "secrets-safe/secrets/*", READ),
    row(V3, "PUT", "secrets-safe/secrets/*", WRITE),
    row(V3, "DELETE", "secrets-safe/secrets/*", DELETE),
    row(V3, "GET", "secrets-safe/secrets/*/text", READ),
    row(V3, "PUT", "secrets-safe/secrets/*/text", WRITE),
    // The file secret's metadata; its content comes from `file/download`.
    row(V3, "GET", "secrets-safe/secrets/*/file", METADATA),
    row(V3, "PUT", "secrets-safe/secrets/*/file", WRITE),
    row(V3, "GET", "secrets-safe/secrets/*/file/download", READ),
    row(V3, "GET", "secrets-safe/secrets/*/shares", METADATA),
    row(V3, "DELETE", "secrets-safe/secrets/*/shares", DELETE),
    row(V3, "POST", "secrets-safe/secrets/*/shares/*", WRITE),
    row(V3, "DELETE", "secrets-safe/secrets/*/shares/*", DELETE),
    row(V3, "PUT", "secrets-safe/secrets/*/favorite", WRITE),
    // API 3.3: a version's value and a TOTP code are value reads; the history is metadata.
    row(V3, "GET", "secrets-safe/secrets/*/versions", METADATA),
    row(V3, "GET", "secrets-safe/secrets/password/*/versions/*", READ),
    row(V3, "GET", "secrets-safe/secrets/text/*/versions/*", READ),
    row(V3, "GET", "secrets-safe/secrets/file/*/versions/*", READ),
    row(V3, "POST", "secrets-safe/secrets/*/versions/*/rollback", WRITE),
    row(V3, "GET", "secrets-safe/secrets/*/totp/code", READ),
    // Safes and who holds them.
    row(V3, "GET", "secrets-safe/safes", METADATA),
    row(V3, "POST", "secrets-safe/safes", WRITE),
    row(V3, "GET", "secrets-safe/safes/safe-permissions", METADATA),
    row(V3, "GET", "secrets-safe/safes/*", METADATA),
    row(V3, "PUT", "secrets-safe/safes/*", WRITE),
    row(V3, "DELETE", "secrets-safe/safes/*", DELETE),
    row(V3, "GET", "secrets-safe/safes/*/safe-permissions", METADATA),
    row(V3, "PUT", "secrets-safe/safes/*/safe-permissions", SET_OWNER),
    row(V3, "DELETE", "secrets-safe/safes/*/safe-permissions", SET_OWNER),
    // The audit trail (the audit area lets administrators and auditors through).
    row(V3, "GET", "useraudits", ADMIN),
    row(V3, "GET", "useraudits/*/userauditdetails", ADMIN),
    // PAM v2.
    row(V2, "GET", "session", Needs::Caller),
    row(V2, "GET", "vault/keyring", ADMIN),
    row(V2, "POST", "vault/keyring/rotate", ADMIN),
    row(V2, "POST", "vault/keyring/reseal", ADMIN),
    row(V2, "GET", "audit/verify", ADMIN),
    row(V2, "GET", "audit/events", ADMIN),
    // Checkout by secret id and access records: a checkout hands out the value.
    row(V2, "GET", "secret/access", METADATA),
    row(V2, "POST", "secret/access/*/checkin", READ),
    row(V2, "GET", "secret/*", METADATA),
    row(V2, "PUT", "secret/*", WRITE),
    row(V2, "POST", "secret/*/checkout", READ),
    row(V2, "POST", "secret/*/checkin", READ),
    row(V2, "GET", "secret/*/access", METADATA),
    row(V2, "POST", "secret/*/mark_safe", WRITE),
    row(V2, "GET", "objspec/*", Needs::Caller),
    // Checkout by account in sessions, access requests, a safe's checkout settings.
    row(V2, "POST", "secret/checkout", READ),
    row(V2, "POST", "secret/checkin", READ),
    row(V2, "GET", "secret/request", METADATA),
    row(V2, "GET", "secret/request/*", METADATA),
    row(V2, "POST", "secret/request/*/approve", WRITE),
    row(V2, "POST", "secret/request/*/reject", WRITE),
    row(V2, "POST", "secret/*/request", READ),
    row(V2, "GET", "collection/*", METADATA),
    row(V2, "PUT", "collection/*", WRITE),
    // The same engine in Password Safe's words: a credential read is a value read.
    row(V3, "GET", "managedaccounts", METADATA),
    row(V3, "GET", "requests", METADATA),
    row(V3, "POST", "requests", READ),
    row(V3, "PUT", "requests/*/checkin", READ),
    row(V3, "PUT", "requests/*/approve", WRITE),
    row(V3, "PUT", "requests/*/deny", WRITE),
    row(V3, "GET", "credentials/*", READ),
    // Versioned KV.
    row(Kv, "GET", "whoami", Needs::Caller),
    row(Kv, "POST", "", WRITE),
    row(Kv, "GET", "", READ),
    // `destroy=true` needs secrets.destroy too, checked by the kv area.
    row(Kv, "DELETE", "", DELETE),
    row(Kv, "GET", "value", READ),
    row(Kv, "POST", "rotate", ROTATE),
    row(Kv, "GET", "metadata", METADATA),
    row(Kv, "GET", "keys", METADATA),
    row(Kv, "GET", "metadata/detail", METADATA),
    row(Kv, "POST", "metadata/owner", SET_OWNER),
    row(Kv, "GET", "versions", METADATA),
    row(Kv, "POST", "undelete", DELETE),
    row(Kv, "POST", "destroy-versions", DESTROY),
    // Each item is checked by the kv area for its own operation's scope.
    row(Kv, "POST", "bulk", Needs::Caller),
    // Read on the source is checked by the kv area (secrets.read), write here.
    row(Kv, "POST", "copy", WRITE),
    row(Kv, "POST", "move", WRITE),
    row(Kv, "GET", "search", METADATA),
    row(Kv, "GET", "events", METADATA),
    row(Kv, "GET", "audit", ADMIN),
    // Vault KV v2 (`/v1/`). Mount detection and the token's own lookup first: a safe
    // named `sys` or `auth` is not reachable here.
    row(Vault, "GET", "sys/mounts", Needs::Caller),
    row(Vault, "GET", "sys/internal/ui/mounts/**", Needs::Caller),
    row(Vault, "GET", "auth/token/lookup-self", Needs::Caller),
    row(Vault, "GET", "*/data/**", READ),
    row(Vault, "POST", "*/data/**", WRITE),
    row(Vault, "PUT", "*/data/**", WRITE),
    row(Vault, "PATCH", "*/data/**", WRITE),
    row(Vault, "DELETE", "*/data/**", DELETE),
    row(Vault, "GET", "*/metadata", METADATA),
    row(Vault, "LIST", "*/metadata", METADATA),
    row(Vault, "GET", "*/metadata/**", METADATA),
    row(Vault, "LIST", "*/metadata/**", METADATA),
    row(Vault, "POST", "*/metadata/**", WRITE),
    row(Vault, "PUT", "*/metadata/**", WRITE),
    row(Vault, "DELETE", "*/metadata/**", DESTROY),
    row(Vault, "POST", "*/delete/**", DELETE),
    row(Vault, "PUT", "*/delete/**", DELETE),
    row(Vault, "POST", "*/undelete/**", DELETE),
    row(Vault, "PUT", "*/undelete/**", DELETE),
    row(Vault, "POST", "*/destroy/**", DESTROY),
    row(Vault, "PUT", "*/destroy/**", DESTROY),
];

/// What the table says about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(Needs),
    /// The path is served, not with this method; the methods it takes, for `Allow`.
    MethodNotAllowed(String),
    NotFound,
}

fn matches(pattern: &str, segments: &[&str]) -> bool {
    if pattern.is_empty() {
        return segments.is_empty();
    }
    let mut parts = pattern.split('/');
    let mut given = segments.iter();
    loop {
        match (parts.next(), given.next()) {
            (None, None) => return true,
            (Some("**"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(part), Some(segment)) if part == *segment => {}
            _ => return false,
        }
    }
}

/// The row for `method` on `segments` (canonical, after the protocol's prefix).
pub fn lookup(protocol: Protocol, method: &str, segments: &[&str]) -> Lookup {
    let mut allowed: Vec<&str> = Vec::new();
    for row in ROWS
        .iter()
        .filter(|r| r.protocol == protocol && matches(r.pattern, segments))
    {
        if row.method == method {
            return Lookup::Found(row.needs);
        }
        if !allowed.contains(&row.method) {
            allowed.push(row.method);
        }
    }
    if allowed.is_empty() {
        Lookup::NotFound
    } else {
        Lookup::MethodNotAllowed(allowed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use edgesafe_api_common::AuthMethod;

    use super::*;
    use crate::routes::{route, AuthRule};

    const ID: &str = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

    /// Every method and path the area components serve, as their dispatch tables list
    /// them (with ids where they take one). A route added to an area goes here too.
    const SERVED: &[(Protocol, &str, &str)] = &[
        (V3, "POST", "auth/connect/token"),
        (V3, "POST", "auth/signappin"),
        (V3, "POST", "auth/signout"),
        (V3, "GET", "configuration/version"),
        (V3, "GET", "users"),
        (V3, "POST", "users"),
        (V3, "GET", "users/2"),
        (V3, "PUT", "users/2"),
        (V3, "DELETE", "users/2"),
        (V3, "POST", "users/2/quarantine"),
        (V3, "POST", "users/2/unquarantine"),
        (V3, "GET", "users/2/usergroups"),
        (V3, "POST", "users/2/usergroups/3"),
        (V3, "DELETE", "users/2/usergroups/3"),
        (V3, "GET", "users/2/apikeys"),
        (V3, "POST", "users/2/apikeys"),
        (V3, "DELETE", "users/2/apikeys/4"),
        (V3, "GET", "usergroups"),
        (V3, "POST", "usergroups"),
        (V3, "GET", "usergroups/3"),
        (V3, "DELETE", "usergroups/3"),
        (V3, "GET", "usergroups/3/users"),
        (V3, "GET", "usergroups/3/permissions"),
        (V3, "POST", "usergroups/3/permissions"),
        (V3, "DELETE", "usergroups/3/permissions"),
        (V3, "GET", "permissions"),
        (V3, "GET", "secrets-safe/folders"),
        (V3, "POST", "secrets-safe/folders"),
        (V3, "GET", "secrets-safe/folders/ID"),
        (V3, "PUT", "secrets-safe/folders/ID"),
        (V3, "DELETE", "secrets-safe/folders/ID"),
        (V3, "POST", "secrets-safe/folders/ID"),
        (V3, "PUT", "secrets-safe/folders/ID/move"),
        (V3, "PUT", "secrets-safe/folders/ID/favorite"),
        (V3, "POST", "secrets-safe/folders/ID/upload"),
        (V3, "GET", "secrets-safe/folders/ID/secrets"),
        (V3, "POST", "secrets-safe/folders/ID/secrets"),
        (V3, "POST", "secrets-safe/folders/ID/secrets/text"),
        (V3, "POST", "secrets-safe/folders/ID/secrets/file"),
        (V3, "GET", "secrets-safe/secrets"),
        (V3, "PUT", "secrets-safe/secrets/move"),
        (V3, "GET", "secrets-safe/secrets/ID"),
        (V3, "PUT", "secrets-safe/secrets/ID"),
        (V3, "DELETE", "secrets-safe/secrets/ID"),
        (V3, "GET", "secrets-safe/secrets/ID/text"),
        (V3, "PUT", "secrets-safe/secrets/ID/text"),
        (V3, "GET", "secrets-safe/secrets/ID/file"),
        (V3, "PUT", "secrets-safe/secrets/ID/file"),
        (V3, "GET", "secrets-safe/secrets/ID/file/download"),
        (V3, "GET", "secrets-safe/secrets/ID/shares"),
        (V3, "DELETE", "secrets-safe/secrets/ID/shares"),
        (V3, "POST", "secrets-safe/secrets/ID/shares/ID"),
        (V3, "DELETE", "secrets-safe/secrets/ID/shares/ID"),
        (V3, "PUT", "secrets-safe/secrets/ID/favorite"),
        (V3, "GET", "secrets-safe/secrets/ID/versions"),
        (V3, "GET", "secrets-safe/secrets/password/ID/versions/ID"),
        (V3, "GET", "secrets-safe/secrets/text/ID/versions/ID"),
        (V3, "GET", "secrets-safe/secrets/file/ID/versions/ID"),
        (V3, "POST", "secrets-safe/secrets/ID/versions/ID/rollback"),
        (V3, "GET", "secrets-safe/secrets/ID/totp/code"),
        (V3, "GET", "secrets-safe/safes"),
        (V3, "POST", "secrets-safe/safes"),
        (V3, "GET", "secrets-safe/safes/safe-permissions"),
        (V3, "GET", "secrets-safe/safes/ID"),
        (V3, "PUT", "secrets-safe/safes/ID"),
        (V3, "DELETE", "secrets-safe/safes/ID"),
        (V3, "GET", "secrets-safe/safes/ID/safe-permissions"),
        (V3, "PUT", "secrets-safe/safes/ID/safe-permissions"),
        (V3, "DELETE", "secrets-safe/safes/ID/safe-permissions"),
        (V2, "GET", "session"),
        (V2, "GET", "secret/access"),
        (V2, "POST", "secret/access/7/checkin"),
        (V2, "GET", "secret/ID"),
        (V2, "PUT", "secret/ID"),
        (V2, "POST", "secret/ID/checkout"),
        (V2, "POST", "secret/ID/checkin"),
        (V2, "GET", "secret/ID/access"),
        (V2, "POST", "secret/ID/mark_safe"),
        (V2, "GET", "objspec/secret_access"),
        (V2, "POST", "secret/checkout"),
        (V2, "POST", "secret/checkin"),
        (V2, "GET", "secret/request"),
        (V2, "GET", "secret/request/7"),
        (V2, "POST", "secret/request/7/approve"),
        (V2, "POST", "secret/request/7/reject"),
        (V2, "POST", "secret/ID/request"),
        (V2, "GET", "collection/ID"),
        (V2, "PUT", "collection/ID"),
        (V3, "GET", "managedaccounts"),
        (V3, "GET", "requests"),
        (V3, "POST", "requests"),
        (V3, "PUT", "requests/7/checkin"),
        (V3, "PUT", "requests/7/approve"),
        (V3, "PUT", "requests/7/deny"),
        (V3, "GET", "credentials/7"),
        (Kv, "GET", "whoami"),
        (Kv, "POST", ""),
        (Kv, "GET", ""),
        (Kv, "DELETE", ""),
        (Kv, "GET", "value"),
        (Kv, "POST", "rotate"),
        (Kv, "GET", "metadata"),
        (Kv, "GET", "keys"),
        (Kv, "GET", "metadata/detail"),
        (Kv, "POST", "metadata/owner"),
        (Kv, "GET", "versions"),
        (Kv, "POST", "undelete"),
        (Kv, "POST", "destroy-versions"),
        (Kv, "POST", "bulk"),
        (Kv, "POST", "copy"),
        (Kv, "POST", "move"),
        (Kv, "GET", "search"),
        (Kv, "GET", "events"),
        (Kv, "GET", "audit"),
        (Vault, "GET", "sys/mounts"),
        (Vault, "GET", "sys/internal/ui/mounts/secret/App"),
        (Vault, "GET", "auth/token/lookup-self"),
        (Vault, "GET", "secret/data/App/db"),
        (Vault, "POST", "secret/data/App/db"),
        (Vault, "PUT", "secret/data/App"),
        (Vault, "PATCH", "secret/data/App"),
        (Vault, "DELETE", "secret/data/App"),
        (Vault, "GET", "secret/metadata"),
        (Vault, "LIST", "secret/metadata"),
        (Vault, "GET", "secret/metadata/App"),
        (Vault, "LIST", "secret/metadata/App"),
        (Vault, "POST", "secret/metadata/App"),
        (Vault, "PUT", "secret/metadata/App"),
        (Vault, "DELETE", "secret/metadata/App"),
        (Vault, "POST", "secret/delete/App"),
        (Vault, "PUT", "secret/delete/App"),
        (Vault, "POST", "secret/undelete/App"),
        (Vault, "PUT", "secret/undelete/App"),
        (Vault, "POST", "secret/destroy/App"),
        (Vault, "PUT", "secret/destroy/App"),
    ];

    fn segments(path: &str) -> Vec<&str> {
        path.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| if s == "ID" { ID } else { s })
            .collect()
    }

    fn needs(protocol: Protocol, method: &str, path: &str) -> Option<Needs> {
        match lookup(protocol, method, &segments(path)) {
            Lookup::Found(needs) => Some(needs),
            _ => None,
        }
    }

    fn caller(scopes: &[&str]) -> Principal {
        Principal {
            user_id: 2,
            user_name: "bob".into(),
            admin: true,
            groups: vec![],
            features: BTreeMap::new(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            auth: AuthMethod::Bearer,
            session: None,
            credential: None,
            credential_owner: None,
        }
    }

    #[test]
    fn every_served_route_has_a_row_and_the_gateway_routes_it() {
        for (protocol, method, path) in SERVED {
            assert!(
                needs(*protocol, method, path).is_some(),
                "no scope row for {method} {path}"
            );
            assert!(
                route(*protocol, &segments(path)).is_some(),
                "the gateway does not route {path}"
            );
        }
    }

    #[test]
    fn only_the_token_endpoint_is_anonymous_and_it_agrees_with_the_auth_rule() {
        for (protocol, method, path) in SERVED {
            let anonymous = needs(*protocol, method, path) == Some(Needs::Anonymous);
            let rule = route(*protocol, &segments(path)).map(|(_, rule)| rule);
            assert_eq!(
                anonymous,
                rule == Some(AuthRule::Anonymous),
                "{method} {path}"
            );
        }
        assert_eq!(
            needs(V3, "POST", "auth/connect/token"),
            Some(Needs::Anonymous)
        );
    }

    #[test]
    fn paths_and_methods_without_a_row_are_refused() {
        assert_eq!(
            lookup(V3, "GET", &segments("secrets-safe/secrets/ID/other")),
            Lookup::NotFound
        );
        assert_eq!(lookup(V3, "GET", &["nosuchthing"]), Lookup::NotFound);
        assert_eq!(lookup(Kv, "GET", &["nosuchthing"]), Lookup::NotFound);
        assert_eq!(
            lookup(V3, "PATCH", &["users"]),
            Lookup::MethodNotAllowed("GET, POST".into())
        );
        assert_eq!(
            lookup(
                V3,
                "POST",
                &segments("secrets-safe/secrets/ID/file/download")
            ),
            Lookup::MethodNotAllowed("GET".into())
        );
    }

    #[test]
    fn a_read_scope_reads_but_cannot_write_delete_or_administer() {
        let reader = caller(&["secrets.read"]);
        let allows = |method: &str, path: &str| {
            needs(V3, method, path).is_some_and(|n| n.allows(Some(&reader)))
        };
        assert!(allows("GET", "secrets-safe/secrets/ID"));
        assert!(allows("GET", "secrets-safe/secrets"));
        assert!(allows("GET", "secrets-safe/safes"));
        assert!(allows("POST", "auth/signappin"));
        assert!(!allows("DELETE", "secrets-safe/secrets/ID"));
        assert!(!allows("PUT", "secrets-safe/secrets/ID"));
        assert!(!allows("POST", "users"));
        assert!(!allows("POST", "users/2/apikeys"));
        assert!(!allows("PUT", "secrets-safe/safes/ID/safe-permissions"));
    }

    #[test]
    fn metadata_scope_lists_but_reads_no_values() {
        let lister = caller(&["secrets.read_metadata"]);
        let allows = |method: &str, path: &str| {
            needs(V3, method, path).is_some_and(|n| n.allows(Some(&lister)))
        };
        assert!(allows("GET", "secrets-safe/secrets"));
        assert!(allows("GET", "secrets-safe/secrets/ID/file"));
        assert!(!allows("GET", "secrets-safe/secrets/ID"));
        assert!(!allows("GET", "secrets-safe/secrets/ID/text"));
        assert!(!allows("GET", "secrets-safe/secrets/ID/file/download"));
        assert!(allows("GET", "secrets-safe/secrets/ID/versions"));
        assert!(!allows(
            "GET",
            "secrets-safe/secrets/password/ID/versions/ID"
        ));
        assert!(!allows("GET", "secrets-safe/secrets/ID/totp/code"));
    }

    #[test]
    fn publicapi_covers_every_v3_route() {
        let client = caller(&[SCOPE_PUBLIC_API]);
        for (protocol, method, path) in SERVED {
            let allowed = needs(*protocol, method, path).is_some_and(|n| n.allows(Some(&client)));
            assert!(allowed, "{method} {path}");
        }
    }

    #[test]
    fn vault_paths_take_the_scope_of_their_purpose() {
        assert_eq!(
            needs(Vault, "GET", "secret/data/a/b/c").map(Needs::purpose),
            Some("secrets.read")
        );
        assert_eq!(
            needs(Vault, "LIST", "secret/metadata/a").map(Needs::purpose),
            Some("secrets.read_metadata")
        );
        assert_eq!(
            needs(Vault, "POST", "secret/destroy/a").map(Needs::purpose),
            Some("secrets.destroy")
        );
        assert_eq!(needs(Vault, "GET", "secret/data"), None);
        assert_eq!(
            lookup(Vault, "GET", &["secret", "other", "a"]),
            Lookup::NotFound
        );
        assert_eq!(
            lookup(Kv, "PUT", &["value"]),
            Lookup::MethodNotAllowed("GET".into())
        );
    }

    #[test]
    fn kv_scopes_can_be_turned_off_for_kv_routes_only() {
        let write = needs(Vault, "POST", "secret/data/a").unwrap_or(Needs::Anonymous);
        assert_eq!(write.with_kv_scopes(Vault, false), Needs::Caller);
        assert_eq!(write.with_kv_scopes(Vault, true), write);
        let v3 = needs(V3, "DELETE", "secrets-safe/secrets/ID").unwrap_or(Needs::Anonymous);
        assert_eq!(v3.with_kv_scopes(V3, false), v3);
        let audit = needs(Kv, "GET", "audit").unwrap_or(Needs::Anonymous);
        assert_eq!(audit.with_kv_scopes(Kv, false), audit);
    }

    #[test]
    fn purposes_name_the_specific_scope() {
        assert_eq!(
            needs(V3, "DELETE", "secrets-safe/secrets/ID").map(Needs::purpose),
            Some("secrets.delete")
        );
        assert_eq!(
            needs(V3, "POST", "users").map(Needs::purpose),
            Some("publicapi")
        );
        assert!(!Needs::Caller.allows(None));
        assert!(Needs::Anonymous.allows(None));
    }
}
