//! What each area component may touch through the storage interface: the tables it
//! reads, the tables it writes and the sealed scopes it owns (DESIGN.md section 3).
//!
//! The core is composed into every component with `inherit_configuration`, so it sees
//! that component's Spin variables; `area` (set per component in spin.toml, beyond the
//! reach of the component's code) names the grant. No `area`, or an unknown one, grants
//! nothing. The core's own tables (audit trail, keyring, schema) are in no grant, so no
//! area can name them, and neither can it name SQLite's internals (`sqlite_*`,
//! `pragma_*`) or any table through a quoted identifier.

use std::cell::OnceCell;

use crate::error::VaultError;
use crate::{keys, sql_script};

thread_local! {
    static CURRENT: OnceCell<&'static Grant> = const { OnceCell::new() };
}

/// The grant of the component this instance of the core is composed into, read once.
pub fn current() -> Result<&'static Grant, VaultError> {
    CURRENT.with(|cell| {
        if let Some(grant) = cell.get() {
            return Ok(*grant);
        }
        let name = keys::variable("area")?;
        let Some(grant) = name.as_deref().and_then(|n| grant_named(n.trim())) else {
            eprintln!("edgesafe-core: this component's variable `area` names no area");
            return Err(VaultError::invalid(
                "variable `area` of this component must name an area (see spin.toml)",
            ));
        };
        Ok(*cell.get_or_init(|| grant))
    })
}

/// One area's grant.
#[derive(Debug)]
pub struct Grant {
    pub name: &'static str,
    /// Table lists read (the written tables are read too).
    read: &'static [&'static [&'static str]],
    write: &'static [&'static str],
    /// Prefixes of the sealed scopes the area may seal, unseal and forget.
    scopes: &'static [&'static str],
    /// Whether the area may read and check the audit trail (every area appends).
    reads_audit: bool,
}

const USERS: &str = "users";
const USER_GROUPS: &str = "user_groups";
const GROUP_MEMBERS: &str = "group_members";
const GROUP_FEATURES: &str = "group_features";
const CREDENTIALS: &str = "credentials";
const SESSIONS: &str = "sessions";
const AUTH_FAILURES: &str = "auth_failures";
const FOLDERS: &str = "folders";
const FOLDER_FAVORITES: &str = "folder_favorites";
const SECRETS: &str = "secrets";
const SECRET_VERSIONS: &str = "secret_versions";
const SECRET_OWNERS: &str = "secret_owners";
const SECRET_URLS: &str = "secret_urls";
const SECRET_SHARES: &str = "secret_shares";
const SECRET_FAVORITES: &str = "secret_favorites";
const SAFE_PERMISSIONS: &str = "safe_permissions";
const PASSWORD_RULES: &str = "password_rules";
const SECRET_ACCESS: &str = "secret_access";
const SAFE_CHECKOUT_SETTINGS: &str = "safe_checkout_settings";
const CHECKOUT_REQUESTS: &str = "checkout_requests";
const KV_METADATA: &str = "kv_metadata";
const KV_EVENTS: &str = "kv_events";
const KV_REQUEST_COUNTS: &str = "kv_request_counts";

/// Tables only the core reaches, listed so that [`check_sql`] knows them as tables.
const CORE_ONLY: &[&str] = &[
    "audit_events",
    "audit_head",
    "schema_migrations",
    "vault_keyring",
    "vault_sealed",
];

const IDENTITY: &[&str] = &[
    USERS,
    USER_GROUPS,
    GROUP_MEMBERS,
    GROUP_FEATURES,
    CREDENTIALS,
    SESSIONS,
    AUTH_FAILURES,
];

/// Who is who, as the Secrets Safe areas need it to resolve grants and owners.
const DIRECTORY: &[&str] = &[USERS, USER_GROUPS, GROUP_MEMBERS];

const SECRETS_SAFE: &[&str] = &[
    FOLDERS,
    FOLDER_FAVORITES,
    SECRETS,
    SECRET_VERSIONS,
    SECRET_OWNERS,
    SECRET_URLS,
    SECRET_SHARES,
    SECRET_FAVORITES,
    SAFE_PERMISSIONS,
    PASSWORD_RULES,
];

const fn grant(
    name: &'static str,
    read: &'static [&'static [&'static str]],
    write: &'static [&'static str],
    scopes: &'static [&'static str],
) -> Grant {
    Grant {
        name,
        read,
        write,
        scopes,
        reads_audit: false,
    }
}

/// Every grant. Reads include the written tables.
static GRANTS: &[Grant] = &[
    // Authenticates every request: credentials, sessions and who the user is; counts
    // failed sign-ins per source.
    grant("gateway", &[IDENTITY], &[AUTH_FAILURES], &[]),
    // Users, groups, keys, sessions; reads safes and grants to refuse deleting a group
    // that still holds them.
    grant(
        "identity",
        &[&[FOLDERS, SAFE_PERMISSIONS, SECRET_OWNERS]],
        IDENTITY,
        &[],
    ),
    grant(
        "folders",
        &[DIRECTORY, SECRETS_SAFE],
        &[FOLDERS, FOLDER_FAVORITES, SECRETS, SECRET_SHARES],
        &[],
    ),
    grant(
        "secrets",
        &[DIRECTORY, SECRETS_SAFE],
        &[
            SECRETS,
            SECRET_VERSIONS,
            SECRET_OWNERS,
            SECRET_URLS,
            SECRET_SHARES,
            SECRET_FAVORITES,
        ],
        &["secret/"],
    ),
    grant(
        "safes",
        &[DIRECTORY, SECRETS_SAFE],
        &[FOLDERS, SAFE_PERMISSIONS],
        &[],
    ),
    // PAM v2 checkouts: reads the Secrets Safe and the directory to authorise and to
    // compute exposure, writes the access records and a secret's checkout settings,
    // and unseals the values it hands out.
    grant(
        "checkout",
        &[DIRECTORY, SECRETS_SAFE],
        &[
            SECRET_ACCESS,
            SAFE_CHECKOUT_SETTINGS,
            CHECKOUT_REQUESTS,
            SECRETS,
        ],
        &["secret/"],
    ),
    // Versioned KV and Vault KV v2: the same secrets as the secrets area, addressed by
    // path, so it creates the folders of a path, writes secrets and their versions
    // and seals their values; its own settings, events and rate counts; reads the
    // trail for `/api/secrets/audit` (administrators).
    Grant {
        reads_audit: true,
        ..grant(
            "kv",
            &[DIRECTORY, SECRETS_SAFE],
            &[
                FOLDERS,
                SECRETS,
                SECRET_VERSIONS,
                SECRET_OWNERS,
                KV_METADATA,
                KV_EVENTS,
                KV_REQUEST_COUNTS,
            ],
            &["secret/"],
        )
    },
    // Reads the audit trail for auditors; resolves user names.
    Grant {
        reads_audit: true,
        ..grant("audit", &[DIRECTORY], &[], &[])
    },
    // The test fixture that exercises the core directly.
    Grant {
        reads_audit: true,
        ..grant(
            "probe",
            &[&["schema_migrations"]],
            &[PASSWORD_RULES],
            &["secret/", "probe/"],
        )
    },
];

/// Every table of the schema that some grant or the core names.
fn is_table(word: &str) -> bool {
    CORE_ONLY.contains(&word)
        || IDENTITY.contains(&word)
        || SECRETS_SAFE.contains(&word)
        || GRANTS.iter().any(|g| g.write.contains(&word))
}

pub fn grant_named(name: &str) -> Option<&'static Grant> {
    GRANTS.iter().find(|g| g.name == name)
}

impl Grant {
    fn reads(&self, table: &str) -> bool {
        self.read.iter().any(|tables| tables.contains(&table)) || self.write.contains(&table)
    }

    /// Whether `sql` names only tables this grant reads, and writes only tables it
    /// writes.
    pub fn check_sql(&self, sql: &str) -> Result<(), VaultError> {
        let names = sql_script::names(sql);
        if names.quoted_names {
            return Err(refused(self, "quoted identifiers are not allowed"));
        }
        for word in &names.words {
            if word.starts_with("sqlite_") || word.starts_with("pragma_") {
                return Err(refused(self, &format!("`{word}` is the core's")));
            }
            if is_table(word) && !self.reads(word) {
                return Err(refused(self, &format!("table `{word}` is not this area's")));
            }
        }
        for table in &names.written {
            if !self.write.contains(&table.as_str()) {
                return Err(refused(
                    self,
                    &format!("table `{table}` is not written by this area"),
                ));
            }
        }
        Ok(())
    }

    /// Whether the area may see and rotate the keyring (identity, for administrators).
    pub fn check_keyring_keeper(&self) -> Result<(), VaultError> {
        if self.name == "identity" {
            Ok(())
        } else {
            Err(refused(self, "the keyring is not this area's"))
        }
    }

    /// Whether the area may read the audit trail.
    pub fn check_audit_reader(&self) -> Result<(), VaultError> {
        if self.reads_audit {
            Ok(())
        } else {
            Err(refused(self, "the audit trail is not this area's to read"))
        }
    }

    /// Whether the area owns the sealed `scope`.
    pub fn check_scope(&self, scope: &str) -> Result<(), VaultError> {
        if self.scopes.iter().any(|p| scope.starts_with(p)) {
            Ok(())
        } else {
            Err(refused(self, "sealed scope is not this area's"))
        }
    }
}

fn refused(grant: &Grant, why: &str) -> VaultError {
    eprintln!(
        "edgesafe-core: refused a call of area `{}`: {why}",
        grant.name
    );
    VaultError::invalid(format!("area `{}`: {why}", grant.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(name: &str) -> &'static Grant {
        grant_named(name).expect("a grant")
    }

    #[test]
    fn an_area_reaches_its_own_tables() {
        assert!(g("secrets")
            .check_sql("UPDATE secrets SET title = ?1 WHERE id IN (SELECT id FROM folders)")
            .is_ok());
        assert!(g("identity")
            .check_sql("DELETE FROM sessions WHERE user_id = ?")
            .is_ok());
        assert!(g("gateway")
            .check_sql("SELECT u.id FROM users u JOIN credentials c ON c.user_id = u.id")
            .is_ok());
    }

    #[test]
    fn no_area_reaches_the_audit_trail_or_sqlite_internals() {
        for name in [
            "gateway", "identity", "folders", "secrets", "safes", "checkout", "kv", "probe",
        ] {
            for sql in [
                "DELETE FROM audit_events WHERE seq > 3",
                "SELECT mac FROM main.audit_events",
                "UPDATE audit_head SET seq = 1",
                "UPDATE sqlite_sequence SET seq = 1",
                "SELECT * FROM sqlite_master",
                "SELECT * FROM pragma_table_info('users')",
                "SELECT * FROM \"audit_events\"",
                "INSERT INTO schema_migrations VALUES (9, 'x', 0)",
            ] {
                assert!(g(name).check_sql(sql).is_err(), "{name}: {sql}");
            }
        }
    }

    #[test]
    fn an_area_cannot_write_what_it_only_reads() {
        assert!(g("secrets")
            .check_sql("UPDATE users SET is_admin = 1")
            .is_err());
        assert!(g("gateway")
            .check_sql("UPDATE users SET is_admin = 1")
            .is_err());
        assert!(g("folders")
            .check_sql("INSERT INTO credentials (user_id) VALUES (1)")
            .is_err());
        assert!(g("safes")
            .check_sql("INSERT INTO secret_versions (secret_id) VALUES (1)")
            .is_err());
        assert!(g("checkout")
            .check_sql("DELETE FROM safe_permissions")
            .is_err());
        assert!(g("secrets")
            .check_sql("UPDATE secret_access SET locked = 0")
            .is_err());
    }

    #[test]
    fn only_the_audit_area_reads_the_trail() {
        assert!(g("audit").check_audit_reader().is_ok());
        for name in ["gateway", "identity", "folders", "secrets", "safes"] {
            assert!(g(name).check_audit_reader().is_err(), "{name}");
        }
    }

    #[test]
    fn scopes_belong_to_their_area() {
        assert!(g("secrets").check_scope("secret/1/v/2").is_ok());
        assert!(g("identity").check_scope("secret/1/v/2").is_err());
        assert!(g("folders").check_scope("secret/1/v/2").is_err());
        assert!(g("checkout").check_scope("secret/1/v/2").is_ok());
        assert!(g("checkout").check_scope("system/keyring").is_err());
        assert!(g("kv").check_scope("secret/1/v/2").is_ok());
        assert!(g("kv").check_scope("system/keyring").is_err());
        assert!(g("kv").check_sql("UPDATE users SET is_admin = 1").is_err());
        assert!(g("kv").check_sql("DELETE FROM safe_permissions").is_err());
    }

    #[test]
    fn every_table_of_the_migrations_is_known() {
        for m in crate::migrate::MIGRATIONS {
            for s in m.statements {
                let names = sql_script::names(s);
                let words = &names.words;
                if words.len() > 2 && words[0] == "create" && words[1] == "table" {
                    let table = if words[2] == "if" {
                        &words[5]
                    } else {
                        &words[2]
                    };
                    assert!(is_table(table), "table `{table}` is in no grant");
                }
            }
        }
    }
}
