//! edgesafe's public edge.
//!
//! Spin routes every public path here (`route = "/..."`). The gateway canonicalises the
//! path, picks the protocol, enforces the body limit, authenticates the caller once and
//! forwards the request to the private area component, adding the principal. Area
//! components are private routes, so the principal header can only come from here.

pub mod authn;
pub mod forward;
pub mod path;
pub mod routes;
pub mod scopes;

use std::time::Instant;

use edgesafe_api_common::error::OVERLOADED_HEADER;
use edgesafe_api_common::vault::{audit, AuditEvent, Decision};
use edgesafe_api_common::{failed_sign_ins, time, ApiError, Principal, Protocol};
use spin_sdk::http::{Headers, IncomingRequest, Method, OutgoingResponse, ResponseOutparam};

use crate::authn::{Failure, Presented};
use crate::forward::{Outbound, Reply};
use crate::routes::AuthRule;
use crate::scopes::{Lookup, Needs};

/// The default of spin.toml's `max_body_bytes`, used when the variable is unreadable.
const DEFAULT_MAX_BODY_BYTES: u64 = 6 * 1024 * 1024;

#[spin_sdk::http_component]
async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    // A monotonic clock for the duration only; the time of day comes from
    // `time::now_unix`, which the host controls.
    let started = Instant::now();
    let method = request.method();
    let path_with_query = request.path_with_query().unwrap_or_default();
    let (raw_path, query) = path::split_query(&path_with_query);
    let canonical = path::canonicalize(raw_path);
    let (reply, user) = match &canonical {
        Some(canonical) => serve(request, method.clone(), canonical, query).await,
        None => (not_found(), None),
    };
    // Never the query string (it can carry secrets), headers or bodies.
    eprintln!(
        "{method} {path} {status} user={user} {ms}ms",
        path = canonical.as_deref().unwrap_or("(not canonical)"),
        status = reply.status,
        user = user.map_or_else(|| "-".to_owned(), |id| id.to_string()),
        ms = started.elapsed().as_millis(),
    );
    respond(response_out, reply).await;
}

/// The plain 404 for paths outside every protocol.
fn not_found() -> Reply {
    Reply {
        status: 404,
        headers: vec![("content-type".to_owned(), b"application/json".to_vec())],
        body: br#"{"error":"not found"}"#.to_vec(),
    }
}

async fn serve(
    request: IncomingRequest,
    method: Method,
    canonical: &str,
    query: Option<&str>,
) -> (Reply, Option<i64>) {
    let Some((protocol, segments)) = Protocol::split(canonical) else {
        return (not_found(), None);
    };
    let mut user = None;
    let result = async {
        if let Some(retry_after) = overloaded(&request) {
            return Err(ApiError::overloaded(retry_after));
        }
        let (area, rule) = routes::route(protocol, &segments).ok_or_else(ApiError::not_found)?;
        let needs = match scopes::lookup(protocol, &method.to_string(), &segments) {
            Lookup::Found(needs) => needs.with_kv_scopes(protocol, kv_scopes_enforced()),
            Lookup::NotFound => return Err(ApiError::not_found()),
            Lookup::MethodNotAllowed(allow) => return Ok(method_not_allowed(protocol, &allow)),
        };
        let limit = max_body_bytes();
        let headers = request.headers();
        let header = |name: &str| -> Vec<String> {
            headers
                .get(name)
                .into_iter()
                .filter_map(|v| String::from_utf8(v).ok())
                .collect()
        };
        let declared = header("content-length")
            .first()
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::payload_too_large(limit));
        }
        let presented = Presented {
            authorization: header("authorization").into_iter().next(),
            session_cookie: authn::session_cookie(header("cookie").iter().map(String::as_str)),
            vault_token: header("x-vault-token").into_iter().next(),
        };
        let client_addr = header("spin-client-addr").into_iter().next();
        let now = time::now_unix();
        let sign_in_limit = failed_sign_ins::Limit::from_settings();
        let source = failed_sign_ins::source(client_addr.as_deref());
        failed_sign_ins::check(sign_in_limit, &source, now)?;
        let principal = match authn::authenticate(rule, &presented, now) {
            Ok(principal) => principal,
            Err(failure) => {
                if let Failure::Denied { reason, .. } = &failure {
                    eprintln!("authentication failed on {canonical}: {reason}");
                    // A request that costs a digest lookup or an audit event counts.
                    if presented.presents_credentials() || rule == AuthRule::V3Header {
                        if let Err(e) = failed_sign_ins::record(sign_in_limit, &source, now) {
                            eprintln!("could not count a failed sign-in: {e}");
                        }
                    }
                }
                if rule == AuthRule::V3Header {
                    audit_denied_sign_in(&failure, client_addr.as_deref());
                }
                return Err(failure.into_api_error());
            }
        };
        user = principal.as_ref().map(|p| p.user_id);
        if !needs.allows(principal.as_ref()) {
            audit_missing_scope(
                principal.as_ref(),
                &method,
                canonical,
                needs,
                client_addr.as_deref(),
            );
            return Err(ApiError::forbidden());
        }
        let content_type = header("content-type").into_iter().next();
        let accept = header("accept").into_iter().next();
        drop(headers);
        let body = forward::read_body(request, limit).await?;
        forward::forward(
            area,
            Outbound {
                method,
                path: canonical,
                query,
                content_type,
                accept,
                client_addr,
                principal: principal.as_ref(),
                body,
            },
        )
        .await
    }
    .await;
    let reply = result.unwrap_or_else(|e| Reply::from(e.to_response(protocol)));
    (reply, user)
}

/// The seconds to ask the client to wait when the host admitted this request only to
/// turn it away (every instance busy); the answer then costs no storage and no hop.
fn overloaded(request: &IncomingRequest) -> Option<u64> {
    let value = request
        .headers()
        .get(OVERLOADED_HEADER)
        .into_iter()
        .next()?;
    std::str::from_utf8(&value).ok()?.trim().parse().ok()
}

/// 405 in the protocol's shape, with the methods the path takes.
fn method_not_allowed(protocol: Protocol, allow: &str) -> Reply {
    let mut reply = Reply::from(ApiError::method_not_allowed().to_response(protocol));
    reply
        .headers
        .push(("allow".to_owned(), allow.as_bytes().to_vec()));
    reply
}

/// Whether KV and Vault routes enforce token scopes (`secrets_enforce_scopes`).
fn kv_scopes_enforced() -> bool {
    edgesafe_api_common::vault::setting("secrets_enforce_scopes", true, |_| true)
}

/// The body limit from the `max_body_bytes` setting.
fn max_body_bytes() -> u64 {
    edgesafe_api_common::vault::setting("max_body_bytes", DEFAULT_MAX_BODY_BYTES, |_| true)
}

/// A credential without the scope a route needs is refused here, before any area sees
/// the request, and recorded with the scope as the purpose. A failure to record is
/// logged, and the 403 stands.
fn audit_missing_scope(
    principal: Option<&Principal>,
    method: &Method,
    canonical: &str,
    needs: Needs,
    client_addr: Option<&str>,
) {
    let actor = principal.map_or_else(|| "anonymous".to_owned(), Principal::actor);
    let credential = principal.map_or_else(String::new, |p| format!("; {}", p.credential_detail()));
    let detail = format!("client={}{credential}", client_addr.unwrap_or("-"));
    let target = format!("route:{method} {canonical}");
    let event = AuditEvent {
        actor: &actor,
        action: "gateway.scope",
        target: &target,
        decision: Decision::Deny,
        purpose: needs.purpose(),
        detail: &detail,
    };
    if let Err(e) = audit(event) {
        eprintln!("could not record a missing scope: {e}");
    }
}

/// A refused `Auth/SignAppIn` is a denied sign-in, and the area never sees it, so the
/// gateway records it. A failure to record is logged, and the 401 stands.
fn audit_denied_sign_in(failure: &Failure, client_addr: Option<&str>) {
    let Failure::Denied { reason, user } = failure else {
        return;
    };
    let actor = user.map_or_else(|| "anonymous".to_owned(), |id| format!("user:{id}"));
    let detail = format!("reason={reason}; client={}", client_addr.unwrap_or("-"));
    let event = AuditEvent {
        actor: &actor,
        action: "identity.sign-in",
        target: &actor,
        decision: Decision::Deny,
        purpose: "sign-in",
        detail: &detail,
    };
    if let Err(e) = audit(event) {
        eprintln!("could not record a denied sign-in: {e}");
    }
}

async fn respond(response_out: ResponseOutparam, reply: Reply) {
    let (response, body) = match outgoing(&reply) {
        Ok(response) => (response, reply.body),
        Err(reason) => {
            eprintln!("could not build the response: {reason}");
            let fallback = OutgoingResponse::new(Headers::new());
            // 500 is always a valid status.
            let _ = fallback.set_status_code(500);
            (fallback, Vec::new())
        }
    };
    if let Err(e) = response_out.set_with_body(response, body).await {
        eprintln!("could not send the response: {e}");
    }
}

fn outgoing(reply: &Reply) -> Result<OutgoingResponse, String> {
    let headers = Headers::from_list(&reply.headers).map_err(|e| format!("headers: {e:?}"))?;
    let response = OutgoingResponse::new(headers);
    response
        .set_status_code(reply.status)
        .map_err(|()| format!("status {}", reply.status))?;
    Ok(response)
}
