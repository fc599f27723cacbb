//! Canonical secret URIs and Vault paths: where a KV secret lives.
//!
//! `<provider>+kv2://<mount>/<path>[#<fragment>]`, the provider `openbao` (the seed's)
//! or `edgesafe`. The mount is a safe (by name), the path's last segment the secret's
//! title and the segments before it folders, so `openbao+kv2://secret/app/db#password`
//! is the key `password` of secret `db` in folder `app` of safe `secret`. A Vault path
//! (`/v1/secret/data/app/db`) names the same place without a scheme.
//!
//! Parsing is strict: no empty, `.` or `..` segments, no control characters, no `?`,
//! bounded lengths and depth (Password Safe's: 6 folders below the safe). Errors name
//! the part of the URI that is wrong and never repeat it (a path can be sensitive).

use edgesafe_api_common::{ApiError, Result};
use percent_encoding::percent_decode_str;

/// The schemes a URI may use; the first is what answers carry.
pub const SCHEMES: &[&str] = &["openbao+kv2", "edgesafe+kv2"];
/// The longest URI accepted, in characters.
pub const URI_MAX: usize = 1024;
/// The longest mount, folder, title or fragment (folder and secret names are 256).
pub const SEGMENT_MAX: usize = 256;
/// Folders below the safe, as the folders area allows (7 levels, the safe included).
pub const FOLDERS_MAX: usize = 6;

/// A place in the vault: a safe, folders below it, and maybe a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvPath {
    pub mount: String,
    /// The path below the mount, the secret's title last; empty for the mount itself.
    pub segments: Vec<String>,
}

/// A parsed URI: the path, and the key of a map value it addresses, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretUri {
    pub path: KvPath,
    pub fragment: Option<String>,
}

impl KvPath {
    /// The secret's title (the last segment); `None` for the mount itself.
    pub fn name(&self) -> Option<&str> {
        self.segments.last().map(String::as_str)
    }

    /// The folder names between the safe and the secret.
    pub fn folders(&self) -> &[String] {
        match self.segments.split_last() {
            Some((_, folders)) => folders,
            None => &[],
        }
    }

    /// The canonical URI of this path (`openbao+kv2://mount/a/b`).
    pub fn uri(&self) -> String {
        let mut uri = format!("{}://{}", SCHEMES[0], self.mount);
        for segment in &self.segments {
            uri.push('/');
            uri.push_str(segment);
        }
        uri
    }

    /// `a/b` below the mount, as Vault shows it.
    pub fn relative(&self) -> String {
        self.segments.join("/")
    }

    /// The same path one segment down.
    pub fn child(&self, name: &str) -> KvPath {
        let mut segments = self.segments.clone();
        segments.push(name.to_owned());
        KvPath {
            mount: self.mount.clone(),
            segments,
        }
    }
}

/// Checks one segment: `what` names it in the error (`mount`, `path segment 2`).
fn segment(what: &str, value: &str) -> Result<String> {
    let rule = |rule: &str| Err(ApiError::bad_request("uri", &format!("{what} {rule}")));
    if value.is_empty() {
        return rule("is empty");
    }
    if value == "." || value == ".." {
        return rule("must not be . or ..");
    }
    if value.chars().any(char::is_control) {
        return rule("must not contain control characters");
    }
    if value.contains(['?', '#', '\\']) {
        return rule("must not contain ?, # or \\");
    }
    if value.chars().count() > SEGMENT_MAX {
        return rule(&format!("is longer than {SEGMENT_MAX} characters"));
    }
    if value.trim() != value {
        return rule("must not begin or end with spaces");
    }
    Ok(value.to_owned())
}

/// The segments of `rest` (`a/b/c`), each checked; a trailing `/` is allowed only for
/// a prefix.
fn segments(rest: &str, prefix: bool) -> Result<Vec<String>> {
    let rest = match rest.strip_suffix('/') {
        Some(trimmed) if prefix => trimmed,
        _ => rest,
    };
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let segments = rest
        .split('/')
        .enumerate()
        .map(|(i, s)| segment(&format!("path segment {}", i + 1), s))
        .collect::<Result<Vec<_>>>()?;
    if segments.len() > FOLDERS_MAX + 1 {
        return Err(ApiError::bad_request(
            "uri",
            &format!("path has more than {FOLDERS_MAX} folders below the mount"),
        ));
    }
    Ok(segments)
}

fn split_scheme(uri: &str) -> Result<&str> {
    if uri.chars().count() > URI_MAX {
        return Err(ApiError::bad_request(
            "uri",
            &format!("longer than {URI_MAX} characters"),
        ));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Err(ApiError::bad_request(
            "uri",
            "must be <provider>+kv2://<mount>/<path>",
        ));
    };
    // In a query string an unencoded `+` arrives as a space (`?uri=openbao+kv2://...`,
    // as the seed writes it): the scheme has no other use for one.
    let scheme = scheme.replace(' ', "+");
    if !SCHEMES.contains(&scheme.as_str()) {
        return Err(ApiError::bad_request(
            "uri",
            "scheme must be openbao+kv2 or edgesafe+kv2",
        ));
    }
    Ok(rest)
}

fn mount_and_rest(rest: &str) -> Result<(String, &str)> {
    let (mount, rest) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((segment("mount", mount)?, rest))
}

/// A URI naming one secret (at least one path segment), maybe with a fragment.
pub fn parse(uri: &str) -> Result<SecretUri> {
    let rest = split_scheme(uri)?;
    let (rest, fragment) = match rest.split_once('#') {
        Some((rest, fragment)) => (rest, Some(segment("fragment", fragment)?)),
        None => (rest, None),
    };
    let (mount, rest) = mount_and_rest(rest)?;
    let segments = segments(rest, false)?;
    if segments.is_empty() {
        return Err(ApiError::bad_request("uri", "path is empty: name a secret"));
    }
    Ok(SecretUri {
        path: KvPath { mount, segments },
        fragment,
    })
}

/// A URI naming one secret, without a fragment (undelete, versions, owner...).
pub fn parse_secret(uri: &str) -> Result<KvPath> {
    let parsed = parse(uri)?;
    if parsed.fragment.is_some() {
        return Err(ApiError::bad_request(
            "uri",
            "fragment is not allowed here: name the whole secret",
        ));
    }
    Ok(parsed.path)
}

/// A prefix: a mount, maybe with folders, maybe ending in `/`; no fragment.
pub fn parse_prefix(uri: &str) -> Result<KvPath> {
    let rest = split_scheme(uri)?;
    if rest.contains('#') {
        return Err(ApiError::bad_request(
            "prefix",
            "fragment is not allowed in a prefix",
        ));
    }
    let (mount, rest) = mount_and_rest(rest)?;
    Ok(KvPath {
        mount,
        segments: segments(rest, true)?,
    })
}

/// A Vault path below `/v1/<mount>/<operation>/`, as raw (percent-encoded) URL
/// segments; `prefix` allows none (a listing of the mount).
pub fn vault_path(mount: &str, raw: &[&str], prefix: bool) -> Result<KvPath> {
    let decoded = raw
        .iter()
        .map(|s| {
            percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| ApiError::bad_request("uri", "path is not valid UTF-8"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mount = percent_decode_str(mount)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("uri", "mount is not valid UTF-8"))?;
    let joined = decoded.join("/");
    let segments = segments(&joined, prefix)?;
    if segments.is_empty() && !prefix {
        return Err(ApiError::bad_request("uri", "path is empty: name a secret"));
    }
    Ok(KvPath {
        mount: segment("mount", &mount)?,
        segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => e.message().to_owned(),
        }
    }

    #[test]
    fn parses_mount_folders_title_and_fragment() {
        let uri = parse("openbao+kv2://secret/app/api#token").unwrap();
        assert_eq!(uri.path.mount, "secret");
        assert_eq!(uri.path.segments, vec!["app", "api"]);
        assert_eq!(uri.path.folders(), ["app"]);
        assert_eq!(uri.path.name(), Some("api"));
        assert_eq!(uri.fragment.as_deref(), Some("token"));
        assert_eq!(uri.path.uri(), "openbao+kv2://secret/app/api");
        let own = parse("edgesafe+kv2://Team Safe/db").unwrap();
        assert_eq!(own.path.mount, "Team Safe");
        assert_eq!(own.path.folders(), [] as [String; 0]);
        assert_eq!(own.fragment, None);
    }

    #[test]
    fn errors_name_the_wrong_part() {
        assert_eq!(
            err(parse("vault://secret/a")),
            "uri: scheme must be openbao+kv2 or edgesafe+kv2"
        );
        assert_eq!(
            err(parse("secret/a")),
            "uri: must be <provider>+kv2://<mount>/<path>"
        );
        assert_eq!(err(parse("openbao+kv2:///a")), "uri: mount is empty");
        assert_eq!(
            err(parse("openbao+kv2://secret")),
            "uri: path is empty: name a secret"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/")),
            "uri: path is empty: name a secret"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a//b")),
            "uri: path segment 2 is empty"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a/")),
            "uri: path segment 2 is empty"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a/../b")),
            "uri: path segment 2 must not be . or .."
        );
        assert_eq!(
            err(parse("openbao+kv2://../b")),
            "uri: mount must not be . or .."
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a\u{7}b")),
            "uri: path segment 1 must not contain control characters"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a?b")),
            "uri: path segment 1 must not contain ?, # or \\"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a#")),
            "uri: fragment is empty"
        );
        assert_eq!(
            err(parse("openbao+kv2://secret/a#b#c")),
            "uri: fragment must not contain ?, # or \\"
        );
        let long = format!("openbao+kv2://secret/{}", "x".repeat(257));
        assert_eq!(
            err(parse(&long)),
            "uri: path segment 1 is longer than 256 characters"
        );
        let huge = format!("openbao+kv2://secret/{}", "x/".repeat(600));
        assert_eq!(err(parse(&huge)), "uri: longer than 1024 characters");
        assert_eq!(
            err(parse("openbao+kv2://s/1/2/3/4/5/6/7/x")),
            "uri: path has more than 6 folders below the mount"
        );
        assert!(parse("openbao+kv2://s/1/2/3/4/5/6/x").is_ok());
        assert_eq!(
            err(parse_secret("openbao+kv2://s/a#k")),
            "uri: fragment is not allowed here: name the whole secret"
        );
    }

    #[test]
    fn a_plus_decoded_as_a_space_in_a_query_still_names_the_scheme() {
        assert_eq!(
            parse("openbao kv2://secret/a").unwrap().path.uri(),
            "openbao+kv2://secret/a"
        );
        assert!(parse("openbao  kv2://secret/a").is_err());
    }

    #[test]
    fn prefixes_may_end_in_a_slash_or_stop_at_the_mount() {
        assert_eq!(
            parse_prefix("openbao+kv2://secret").unwrap().segments,
            Vec::<String>::new()
        );
        assert_eq!(
            parse_prefix("openbao+kv2://secret/").unwrap().segments,
            Vec::<String>::new()
        );
        assert_eq!(
            parse_prefix("openbao+kv2://secret/app/").unwrap().segments,
            vec!["app"]
        );
        assert_eq!(
            err(parse_prefix("openbao+kv2://secret/app//")),
            "uri: path segment 2 is empty"
        );
        assert_eq!(
            err(parse_prefix("openbao+kv2://secret/a#x")),
            "prefix: fragment is not allowed in a prefix"
        );
    }

    #[test]
    fn vault_paths_are_decoded_then_checked() {
        let p = vault_path("secret", &["my%20app", "DB"], false).unwrap();
        assert_eq!(p.segments, vec!["my app", "DB"]);
        assert_eq!(p.relative(), "my app/DB");
        assert_eq!(
            err(vault_path("secret", &[], false)),
            "uri: path is empty: name a secret"
        );
        assert!(vault_path("secret", &[], true).unwrap().segments.is_empty());
        assert_eq!(
            err(vault_path("secret", &["%2E%2E"], false)),
            "uri: path segment 1 must not be . or .."
        );
        assert_eq!(
            err(vault_path("secret", &["a%2F%2Fb"], false)),
            "uri: path segment 2 is empty"
        );
        assert_eq!(
            err(vault_path("secret", &["%FF"], false)),
            "uri: path is not valid UTF-8"
        );
        assert_eq!(
            vault_path("secret", &["a"], false)
                .unwrap()
                .child("b")
                .uri(),
            "openbao+kv2://secret/a/b"
        );
    }
}
