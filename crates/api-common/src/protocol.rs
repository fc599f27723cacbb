//! The three public protocols and the path prefixes that select them.
//!
//! Paths here are canonical (see the gateway): lowercase, no repeated or trailing slash.

/// Which wire conventions a request follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Password Safe v3: `/BeyondTrust/api/public/v3/...`, PascalCase JSON.
    V3,
    /// PAM v2: `/api/v2/...`, `"result"` envelopes, snake_case.
    V2,
    /// Versioned KV: `/api/secrets...`.
    Kv,
    /// Vault KV v2 compatibility: `/v1/...`, Vault's JSON shapes and `{"errors": [...]}`.
    Vault,
}

pub const V3_PREFIX: &str = "/beyondtrust/api/public/v3";
pub const V2_PREFIX: &str = "/api/v2";
pub const KV_PREFIX: &str = "/api/secrets";
pub const VAULT_PREFIX: &str = "/v1";

impl Protocol {
    /// The canonical prefix of the protocol's routes.
    pub const fn prefix(self) -> &'static str {
        match self {
            Protocol::V3 => V3_PREFIX,
            Protocol::V2 => V2_PREFIX,
            Protocol::Kv => KV_PREFIX,
            Protocol::Vault => VAULT_PREFIX,
        }
    }

    /// Splits a canonical path into its protocol and the segments after the prefix.
    ///
    /// `/api/secrets` itself belongs to Kv (its collection root); the other two
    /// prefixes need a segment after them to name anything, but still select the
    /// protocol so that the 404 comes in the right shape.
    pub fn split(path: &str) -> Option<(Protocol, Vec<&str>)> {
        [Protocol::V3, Protocol::V2, Protocol::Kv, Protocol::Vault]
            .into_iter()
            .find_map(|protocol| {
                let rest = path.strip_prefix(protocol.prefix())?;
                if !(rest.is_empty() || rest.starts_with('/')) {
                    return None;
                }
                let segments = rest.split('/').filter(|s| !s.is_empty()).collect();
                Some((protocol, segments))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_each_prefix() {
        assert_eq!(
            Protocol::split("/beyondtrust/api/public/v3/auth/signappin"),
            Some((Protocol::V3, vec!["auth", "signappin"]))
        );
        assert_eq!(
            Protocol::split("/api/v2/session"),
            Some((Protocol::V2, vec!["session"]))
        );
        assert_eq!(
            Protocol::split("/api/secrets"),
            Some((Protocol::Kv, vec![]))
        );
        assert_eq!(
            Protocol::split("/api/secrets/whoami"),
            Some((Protocol::Kv, vec!["whoami"]))
        );
        assert_eq!(
            Protocol::split("/v1/secret/data/App/DB"),
            Some((Protocol::Vault, vec!["secret", "data", "App", "DB"]))
        );
    }

    #[test]
    fn rejects_lookalike_prefixes() {
        assert_eq!(Protocol::split("/api/secretsx"), None);
        assert_eq!(Protocol::split("/api/v22/session"), None);
        assert_eq!(Protocol::split("/beyondtrust/api/public/v31"), None);
        assert_eq!(Protocol::split("/"), None);
        assert_eq!(Protocol::split("/api"), None);
        assert_eq!(Protocol::split("/v10/secret"), None);
    }
}
