//! The audit area's handlers, one per route.
//!
//! Each one checks, in this order: that the caller may read the trail (an
//! administrator, or a user whose groups hold the Auditor feature permission; 403
//! otherwise, recorded), the input (400), then records the read (no record, no answer)
//! and reads. Reading the trail is itself an event in it.

use edgesafe_api_common::principal::LEVEL_READ;
use edgesafe_api_common::response::{json, Response};
use edgesafe_api_common::vault::wit_audit::{EventFilter, StoredEvent};
use edgesafe_api_common::vault::Decision;
use edgesafe_api_common::{ApiError, Result};
use http::{header, HeaderValue, StatusCode};

use crate::dto::{
    self, ActionMatch, ExportedEvent, PageOut, Paging, UserAuditOut, UserAuditQuery, VerifyOut,
};
use crate::store;
use crate::Ctx;

/// The feature permission of auditors: identity's feature table lists it as
/// `Auditor`. It grants reading the trail and nothing else.
pub const AUDIT_FEATURE: &str = "audit";

const AUDIT_READ: &str = "audit.read";
const AUDIT_VERIFY: &str = "audit.verify";
const TRAIL: &str = "audit";

/// Refuses (403, recorded) a caller who is neither an administrator nor an auditor.
fn authorize(ctx: &Ctx, action: &str, target: &str) -> Result<()> {
    if ctx.principal()?.can(AUDIT_FEATURE, LEVEL_READ) {
        return Ok(());
    }
    ctx.audit(action, target, Decision::Deny, Some("not an auditor"));
    Err(ApiError::forbidden())
}

/// Records a permitted read; without the record there is no answer.
fn record(ctx: &Ctx, action: &str, target: &str, note: Option<&str>) -> Result<()> {
    ctx.try_audit(action, target, Decision::Allow, note)
        .map(|_| ())
}

fn no_filter() -> EventFilter {
    EventFilter {
        actors: vec![],
        action_prefixes: vec![],
        since: None,
        until: None,
        after_seq: 0,
        offset: 0,
        limit: 0,
    }
}

/// `GET UserAudits`: events as Password Safe user audits, filtered and paged.
pub fn get_user_audits(ctx: &Ctx) -> Result<Response> {
    authorize(ctx, AUDIT_READ, TRAIL)?;
    let query = UserAuditQuery::from_query(&ctx.query)?;
    record(ctx, AUDIT_READ, TRAIL, None)?;
    let empty = || {
        json(
            StatusCode::OK,
            &PageOut::<UserAuditOut> {
                total_count: 0,
                data: vec![],
            },
        )
    };
    let actors = match &query.username {
        None => vec![],
        Some(name) => match store::user_id_named(name)? {
            Some(id) => vec![format!("user:{id}")],
            None => return empty(),
        },
    };
    let action_prefixes = match query.action {
        ActionMatch::Any => vec![],
        ActionMatch::Prefix(prefix) => vec![prefix],
        ActionMatch::Nothing => return empty(),
    };
    let Paging { limit, offset } = query.paging;
    let page = store::read(&EventFilter {
        actors,
        action_prefixes,
        since: query.since,
        until: query.until,
        limit,
        offset,
        ..no_filter()
    })?;
    let names = store::user_names(
        page.events
            .iter()
            .filter_map(|e| dto::actor_user_id(&e.actor)),
    )?;
    let data = page
        .events
        .iter()
        .map(|e| {
            let name = dto::actor_user_id(&e.actor)
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| e.actor.clone());
            UserAuditOut::new(e, name)
        })
        .collect();
    json(
        StatusCode::OK,
        &PageOut {
            total_count: page.total,
            data,
        },
    )
}

/// `GET UserAudits/{auditId}/UserAuditDetails`: one event's fields as detail rows,
/// paged.
pub fn get_user_audit_details(ctx: &Ctx, id: i64) -> Result<Response> {
    let target = format!("audit:{id}");
    authorize(ctx, AUDIT_READ, &target)?;
    let Paging { limit, offset } = Paging::from_query(&ctx.query)?;
    record(ctx, AUDIT_READ, &target, None)?;
    let event = store::event(id)?.ok_or_else(ApiError::not_found)?;
    let rows = dto::detail_rows(&event);
    let total_count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let data = rows
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    json(StatusCode::OK, &PageOut { total_count, data })
}

/// `GET /api/v2/audit/verify`: checks the whole chain; says how many events verified,
/// or the first that does not and why.
pub fn get_verify(ctx: &Ctx) -> Result<Response> {
    authorize(ctx, AUDIT_VERIFY, TRAIL)?;
    record(ctx, AUDIT_VERIFY, TRAIL, None)?;
    let verdict = match store::check()? {
        Ok(verified) => VerifyOut::intact(verified),
        Err(b) => VerifyOut::broken(b.seq, b.kind),
    };
    json(StatusCode::OK, &verdict)
}

/// `GET /api/v2/audit/events?after=N&limit=M`: the events after sequence number N in
/// order, one JSON object a line with its chain MAC. The next page starts after the
/// last line's `seq`; `X-Total-Count` says how many events follow N.
pub fn get_events(ctx: &Ctx) -> Result<Response> {
    authorize(ctx, AUDIT_READ, TRAIL)?;
    let (after, limit) = dto::export_query(&ctx.query)?;
    record(
        ctx,
        AUDIT_READ,
        TRAIL,
        Some(&format!("export after={after}")),
    )?;
    let page = store::read(&EventFilter {
        after_seq: after,
        limit,
        ..no_filter()
    })?;
    let body = json_lines(&page.events)?;
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    headers.insert("x-total-count", HeaderValue::from(page.total));
    Ok(response)
}

fn json_lines(events: &[StoredEvent]) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    for event in events {
        serde_json::to_writer(&mut body, &ExportedEvent::from(event))
            .map_err(|_| ApiError::internal("audit export serialization"))?;
        body.push(b'\n');
    }
    Ok(body)
}
