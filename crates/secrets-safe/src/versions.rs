//! A secret's versions as every area that writes values keeps them (the secrets area
//! for v3, the kv area for KV and Vault): where a version's value is sealed, and how a
//! new version number is reserved before its value is sealed, so that two writers never
//! seal to the same scope.

use edgesafe_api_common::vault::{statement, Db};
use edgesafe_api_common::Result;

/// The vault scope of one version of a secret's value.
pub fn value_scope(secret_id: &str, version: i64) -> String {
    format!("secret/{secret_id}/v/{version}")
}

fn size(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// Reserves the next version number of a secret for a value about to be sealed;
/// `None` when the secret is gone or, with `cas`, its newest version is not `cas`
/// (both checked in the same statement, so a delete cannot slip in between).
///
/// The row is inserted already marked destroyed, so that until the writer commits it,
/// nothing treats it as a readable version; if the request dies on the way, it stays
/// behind as what it is, a version without a value. The primary key on (secret,
/// version) hands each concurrent writer its own number.
pub fn reserve(
    secret_id: &str,
    history_id: &str,
    bytes: usize,
    user_id: i64,
    now: i64,
    cas: Option<i64>,
) -> Result<Option<i64>> {
    Db::execute(vec![statement(
        "INSERT INTO secret_versions (secret_id, version, history_id, size, created_at,
                                      created_by, destroyed_at)
         SELECT ?1, coalesce(max(version), 0) + 1, ?2, ?3, ?4, ?5, ?4
           FROM secret_versions WHERE secret_id = ?1
         HAVING EXISTS (SELECT 1 FROM secrets WHERE id = ?1)
            AND (?6 IS NULL OR coalesce(max(version), 0) = ?6)",
        vec![
            secret_id.into(),
            history_id.into(),
            size(bytes).into(),
            now.into(),
            user_id.into(),
            cas.into(),
        ],
    )])?;
    let rows = Db::query(
        "SELECT version FROM secret_versions WHERE history_id = ?1",
        &[history_id.into()],
    )?;
    rows.first().map(|r| r.i64("version")).transpose()
}

/// Drops a reserved version whose value never made it (best effort: the caller is
/// already failing, and a leftover row is marked destroyed anyway).
pub fn release(history_id: &str) {
    let released = Db::execute(vec![statement(
        "DELETE FROM secret_versions WHERE history_id = ?1 AND destroyed_at IS NOT NULL",
        vec![history_id.into()],
    )]);
    if let Err(e) = released {
        eprintln!("could not release a reserved secret version: {e}");
    }
}

/// The highest version number a secret has reserved, committed or not; 0 when the
/// secret has no version (or is gone).
pub fn max_version(secret_id: &str) -> Result<i64> {
    let rows = Db::query(
        "SELECT coalesce(max(version), 0) AS max FROM secret_versions WHERE secret_id = ?1",
        &[secret_id.into()],
    )?;
    rows.first().map_or(Ok(0), |r| r.i64("max"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_sealed_at_its_own_scope() {
        assert_eq!(value_scope("abc", 3), "secret/abc/v/3");
    }
}
