//! Canonical request paths.
//!
//! Clients differ in case (`/Auth/SignAppIn`, `/auth/signappin`), add trailing slashes
//! (`PUT secrets/{id}/`) and double them (a base URL ending in `/`), while Spin
//! matches routes case-sensitively. Every segment of our paths is a fixed word, a
//! GUID or an integer, so lowercasing loses nothing. The one exception is Vault's
//! `/v1/`, whose paths name secrets (`/v1/secret/data/App/DB`): they keep their case
//! (Vault clients expect their key names back as they wrote them).

/// The canonical form of `raw` (a path without query): lowercase (but for what follows
/// `/v1`), no empty segments, no trailing slash. `None` for `.` and `..` segments,
/// which no client sends legitimately and which must not reach an area component.
pub fn canonicalize(raw: &str) -> Option<String> {
    let mut canonical = String::with_capacity(raw.len());
    let mut keep_case = false;
    for (i, segment) in raw.split('/').filter(|s| !s.is_empty()).enumerate() {
        if segment == "." || segment == ".." {
            return None;
        }
        canonical.push('/');
        if keep_case {
            canonical.push_str(segment);
        } else {
            canonical.push_str(&segment.to_lowercase());
        }
        keep_case = keep_case || (i == 0 && segment.eq_ignore_ascii_case("v1"));
    }
    if canonical.is_empty() {
        canonical.push('/');
    }
    Some(canonical)
}

/// Splits `path?query` (the query may be absent).
pub fn split_query(path_with_query: &str) -> (&str, Option<&str>) {
    match path_with_query.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path_with_query, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_slashes_and_case() {
        assert_eq!(
            canonicalize("/BeyondTrust/api/public/v3//Auth/SignAppIn/").as_deref(),
            Some("/beyondtrust/api/public/v3/auth/signappin")
        );
        assert_eq!(
            canonicalize("//api///secrets").as_deref(),
            Some("/api/secrets")
        );
        assert_eq!(canonicalize("/").as_deref(), Some("/"));
        assert_eq!(canonicalize("").as_deref(), Some("/"));
    }

    #[test]
    fn vault_paths_keep_their_case() {
        assert_eq!(
            canonicalize("/v1//secret/data/App/DB/").as_deref(),
            Some("/v1/secret/data/App/DB")
        );
        assert_eq!(canonicalize("/V1/Secret").as_deref(), Some("/v1/Secret"));
        assert_eq!(canonicalize("/v1/secret/data/../x"), None);
        assert_eq!(canonicalize("/API/V2/X").as_deref(), Some("/api/v2/x"));
    }

    #[test]
    fn refuses_dot_segments() {
        assert_eq!(canonicalize("/api/v2/../secrets"), None);
        assert_eq!(canonicalize("/api/./v2"), None);
        assert_eq!(
            canonicalize("/api/v2/a..b").as_deref(),
            Some("/api/v2/a..b")
        );
    }

    #[test]
    fn splits_the_query_untouched() {
        assert_eq!(
            split_query("/a/b?FolderName=X&x=%2F"),
            ("/a/b", Some("FolderName=X&x=%2F"))
        );
        assert_eq!(split_query("/a"), ("/a", None));
    }
}
