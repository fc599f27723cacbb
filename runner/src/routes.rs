//! Spin's HTTP route matching: exact paths, `:name` segments and a trailing `/...`
//! wildcard; the most specific route wins; private routes take no public path.

use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Exact(String),
    Param(String),
}

/// A public route of one component.
#[derive(Debug, Clone)]
pub struct Route {
    /// The route as written in the manifest, e.g. `/api/...`.
    pub raw: String,
    segments: Vec<Segment>,
    wildcard: bool,
    pub component: String,
}

/// What a request path matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub component: String,
    /// The route as written (`spin-matched-route`, `spin-raw-component-route`).
    pub raw: String,
    /// The route without its wildcard (`spin-component-route`).
    pub base: String,
    /// What the wildcard matched, with a leading slash, or "" (`spin-path-info`).
    pub path_info: String,
    /// Values of `:name` segments (`spin-path-match-<name>`).
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Route {
    pub fn parse(raw: &str, component: &str) -> Result<Self> {
        if !raw.starts_with('/') {
            bail!("route `{raw}` must start with `/`");
        }
        let (body, wildcard) = match raw.strip_suffix("/...") {
            Some(body) => (body, true),
            None if raw == "/..." => ("", true),
            None => (raw, false),
        };
        let mut segments = Vec::new();
        for seg in body.split('/').filter(|s| !s.is_empty()) {
            if seg == "..." {
                bail!("route `{raw}`: `...` is only allowed as the last segment");
            }
            match seg.strip_prefix(':') {
                Some(name) if !name.is_empty() => segments.push(Segment::Param(name.to_string())),
                Some(_) => bail!("route `{raw}`: a `:` segment needs a name"),
                None => segments.push(Segment::Exact(seg.to_string())),
            }
        }
        Ok(Self {
            raw: raw.to_string(),
            segments,
            wildcard,
            component: component.to_string(),
        })
    }

    fn base(&self) -> String {
        let mut base = String::new();
        for seg in &self.segments {
            base.push('/');
            match seg {
                Segment::Exact(s) => base.push_str(s),
                Segment::Param(name) => {
                    base.push(':');
                    base.push_str(name);
                }
            }
        }
        base
    }

    fn matches(&self, path: &str) -> Option<RouteMatch> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < self.segments.len()
            || (!self.wildcard && parts.len() != self.segments.len())
        {
            return None;
        }
        let mut params = Vec::new();
        for (seg, part) in self.segments.iter().zip(&parts) {
            match seg {
                Segment::Exact(s) if s == part => {}
                Segment::Exact(_) => return None,
                Segment::Param(name) => params.push((name.clone(), (*part).to_string())),
            }
        }
        let rest = &parts[self.segments.len()..];
        let mut path_info = String::new();
        for part in rest {
            path_info.push('/');
            path_info.push_str(part);
        }
        if self.wildcard && path_info.is_empty() && path.ends_with('/') && path.len() > 1 {
            path_info.push('/');
        }
        Some(RouteMatch {
            component: self.component.clone(),
            raw: self.raw.clone(),
            base: self.base(),
            path_info,
            params,
        })
    }

    /// Orders routes by specificity: segment by segment, exact beats a parameter,
    /// any segment beats the wildcard; with an equal prefix the longer route wins
    /// and a route without wildcard beats one with.
    fn specificity(&self) -> (Vec<u8>, u8) {
        let ranks = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Exact(_) => 2,
                Segment::Param(_) => 1,
            })
            .collect();
        (ranks, u8::from(!self.wildcard))
    }
}

impl Router {
    pub fn add(&mut self, route: Route) -> Result<()> {
        if let Some(dup) = self
            .routes
            .iter()
            .find(|r| r.segments == route.segments && r.wildcard == route.wildcard)
        {
            bail!(
                "route `{}` of component `{}` duplicates route `{}` of component `{}`",
                route.raw,
                route.component,
                dup.raw,
                dup.component
            );
        }
        self.routes.push(route);
        Ok(())
    }

    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        self.routes
            .iter()
            .filter_map(|r| r.matches(path).map(|m| (r.specificity(), m)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, m)| m)
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let mut r = Router::default();
        for (route, component) in routes {
            r.add(Route::parse(route, component).unwrap()).unwrap();
        }
        r
    }

    #[test]
    fn exact_beats_wildcard_and_longer_prefix_wins() {
        let r = router(&[
            ("/...", "any"),
            ("/api/...", "api"),
            ("/api/health", "health"),
        ]);
        assert_eq!(r.route("/api/health").unwrap().component, "health");
        assert_eq!(r.route("/api/health/x").unwrap().component, "api");
        assert_eq!(r.route("/api").unwrap().component, "api");
        assert_eq!(r.route("/other").unwrap().component, "any");
        assert_eq!(r.route("/").unwrap().component, "any");
    }

    #[test]
    fn wildcard_path_info_and_base() {
        let r = router(&[("/api/...", "api")]);
        let m = r.route("/api/users/7").unwrap();
        assert_eq!(m.path_info, "/users/7");
        assert_eq!(m.base, "/api");
        assert_eq!(m.raw, "/api/...");
        assert_eq!(r.route("/api").unwrap().path_info, "");
        assert!(r.route("/apix").is_none());
    }

    #[test]
    fn params_are_captured_and_rank_below_exact() {
        let r = router(&[
            ("/users/:id", "one"),
            ("/users/me", "me"),
            ("/users/:id/...", "sub"),
        ]);
        let m = r.route("/users/42").unwrap();
        assert_eq!(m.component, "one");
        assert_eq!(m.params, vec![("id".to_string(), "42".to_string())]);
        assert_eq!(r.route("/users/me").unwrap().component, "me");
        assert_eq!(r.route("/users/42/keys").unwrap().component, "sub");
    }

    #[test]
    fn exact_routes_are_case_sensitive_like_spin() {
        let r = router(&[("/Api/x", "x")]);
        assert!(r.route("/api/x").is_none());
        assert!(r.route("/Api/x").is_some());
    }

    #[test]
    fn duplicates_and_bad_routes_are_refused() {
        let mut r = router(&[("/a/...", "one")]);
        assert!(r.add(Route::parse("/a/...", "two").unwrap()).is_err());
        assert!(Route::parse("a", "x").is_err());
        assert!(Route::parse("/a/.../b", "x").is_err());
        assert!(Route::parse("/a/:", "x").is_err());
    }
}
