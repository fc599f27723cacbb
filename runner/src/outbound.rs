//! Outbound HTTP from guests. Requests to `http://<component>.spin.internal` are Spin's
//! local service chaining: dispatched in-process to that component, no socket, and
//! only when the caller's `allowed_outbound_hosts` lists the host, within the caller's
//! chain (its admission and deadline). The runner serves
//! no other outbound destinations (edgesafe needs none); they are denied.

use crate::admission::Chain;
use crate::app::App;
use std::sync::Arc;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

pub const INTERNAL_SUFFIX: &str = ".spin.internal";

/// One entry of `allowed_outbound_hosts`, e.g. `http://identity.spin.internal` or
/// `http://*.spin.internal`.
#[derive(Debug, Clone)]
pub struct AllowedHost {
    scheme: String,
    host: String,
}

impl AllowedHost {
    pub fn parse(entry: &str) -> anyhow::Result<Self> {
        let (scheme, rest) = entry.split_once("://").ok_or_else(|| {
            anyhow::anyhow!("allowed host `{entry}` needs a scheme, e.g. http://")
        })?;
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        if host.is_empty() {
            anyhow::bail!("allowed host `{entry}` has no host");
        }
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            host: host.to_ascii_lowercase(),
        })
    }

    pub fn allows(&self, scheme: &str, host: &str) -> bool {
        let scheme_ok = self.scheme == "*" || self.scheme == scheme;
        let host_ok = self.host == "*"
            || self.host == host
            || self
                .host
                .strip_prefix("*.")
                .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")));
        scheme_ok && host_ok
    }
}

pub struct OutboundHooks {
    pub app: Arc<App>,
    pub allowed: Arc<Vec<AllowedHost>>,
    /// The chain the calling store belongs to.
    pub chain: Chain,
}

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> ResponseFuture {
        let app = self.app.clone();
        let allowed = self.allowed.clone();
        let chain = self.chain.clone();
        Box::new(async move {
            let scheme = request
                .uri()
                .scheme_str()
                .unwrap_or("http")
                .to_ascii_lowercase();
            let host = request
                .uri()
                .host()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !allowed.iter().any(|a| a.allows(&scheme, &host)) {
                return Err(Error::HttpRequestDenied);
            }
            let Some(component) = host.strip_suffix(INTERNAL_SUFFIX) else {
                return Err(Error::HttpRequestDenied);
            };
            if !app.has_component(component) {
                return Err(Error::DestinationNotFound);
            }
            // A request being turned away holds no instances for a second hop.
            if chain.turning_away {
                return Err(Error::ConnectionRefused);
            }
            let response = app
                .handle_chained(component, request, chain)
                .await
                .map_err(|e| Error::InternalError(Some(e.to_string())))?;
            let done: Box<dyn std::future::Future<Output = Result<(), Error>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, done))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_hosts_match_like_spin() {
        let exact = AllowedHost::parse("http://identity.spin.internal").unwrap();
        assert!(exact.allows("http", "identity.spin.internal"));
        assert!(!exact.allows("https", "identity.spin.internal"));
        assert!(!exact.allows("http", "folders.spin.internal"));
        let wild = AllowedHost::parse("http://*.spin.internal").unwrap();
        assert!(wild.allows("http", "folders.spin.internal"));
        assert!(!wild.allows("http", "example.com"));
        assert!(AllowedHost::parse("identity.spin.internal").is_err());
    }
}
