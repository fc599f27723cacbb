//! audit.append and audit.verify over the `audit_events` table, chained by
//! [`crate::audit_chain`].

use spin_sdk::sqlite3::Value;

use crate::audit_chain::{
    decode_mac, event_mac, head_mac, Break, BreakKind, ChainVerifier, EventRecord, GENESIS,
};
use crate::clock;
use crate::db::{first_integer, first_text, with_db, Db};
use crate::error::VaultError;
use crate::keys;

/// Events are small; a bound keeps one caller from filling the table with one call.
const MAX_FIELD_LEN: usize = 16 * 1024;
/// Verification reads the table in pages of this many events.
const PAGE: i64 = 500;

/// The caller's half of an event: everything but `seq` and `at`.
pub struct NewEvent {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub decision: String,
    pub purpose: String,
    pub detail: String,
}

pub fn append(e: NewEvent) -> Result<i64, VaultError> {
    check_event(&e)?;
    let key = keys::audit_key()?;
    with_db(|db| db.transaction(|db| append_in(db, &key, e)))
}

/// Appends `e` inside the caller's open write transaction (`BEGIN IMMEDIATE`, which
/// keeps the chain head still until COMMIT), and moves the head to it.
pub fn append_in(db: &Db, key: &[u8; 32], e: NewEvent) -> Result<i64, VaultError> {
    // AUTOINCREMENT's high-water mark, not MAX(seq): a deleted last event then
    // leaves a gap that verify reports, instead of its number being reused.
    let head = db.run(
        "SELECT MAX(\
            COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'), 0), \
            COALESCE((SELECT MAX(seq) FROM audit_events), 0)), \
         (SELECT mac FROM audit_events ORDER BY seq DESC LIMIT 1)",
        &[],
    )?;
    let seq = first_integer(&head, 0)
        .unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| VaultError::io("audit sequence exhausted"))?;
    let prev_mac = match first_text(&head, 1) {
        None => GENESIS,
        Some(text) => decode_mac(text).ok_or_else(|| {
            eprintln!("edgesafe-core: the last audit event's mac is unreadable");
            VaultError::io("audit chain head is unreadable")
        })?,
    };
    let record = EventRecord {
        seq,
        at: clock::now_unix()?,
        actor: e.actor,
        action: e.action,
        target: e.target,
        decision: e.decision,
        purpose: e.purpose,
        detail: e.detail,
    };
    let mac = event_mac(key, &prev_mac, &record);
    db.run(
        "INSERT INTO audit_events \
         (seq, at, actor, action, target, decision, purpose, detail, mac) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            Value::Integer(record.seq),
            Value::Integer(record.at),
            Value::Text(record.actor),
            Value::Text(record.action),
            Value::Text(record.target),
            Value::Text(record.decision),
            Value::Text(record.purpose),
            Value::Text(record.detail),
            Value::Text(hex::encode(mac)),
        ],
    )?;
    db.run(
        "INSERT INTO audit_head (id, seq, mac) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, mac = excluded.mac",
        &[
            Value::Integer(seq),
            Value::Text(hex::encode(head_mac(key, seq, &mac))),
        ],
    )?;
    Ok(seq)
}

/// Checks events before any write, so a bad one refuses the whole transaction early.
pub fn check_all(events: &[NewEvent]) -> Result<(), VaultError> {
    events.iter().try_for_each(check_event)
}

fn check_event(e: &NewEvent) -> Result<(), VaultError> {
    if e.decision != "allow" && e.decision != "deny" {
        return Err(VaultError::invalid(
            "audit decision must be `allow` or `deny`",
        ));
    }
    for (name, value) in [
        ("actor", &e.actor),
        ("action", &e.action),
        ("target", &e.target),
        ("purpose", &e.purpose),
        ("detail", &e.detail),
    ] {
        if value.len() > MAX_FIELD_LEN {
            return Err(VaultError::invalid(format!(
                "audit {name} must be at most {MAX_FIELD_LEN} bytes"
            )));
        }
    }
    if e.actor.is_empty() || e.action.is_empty() {
        return Err(VaultError::invalid(
            "audit actor and action must not be empty",
        ));
    }
    Ok(())
}

/// Why [`check_chain`] failed: the chain is broken, or it could not be read at all (database
/// or keys unavailable; the reason is logged).
pub enum CheckFailure {
    Broken(Break),
    Unavailable,
}

/// Ok(number of events) when the whole chain and its head verify, else the first event
/// that does not.
pub fn check_chain() -> Result<i64, CheckFailure> {
    let unavailable = |what: &str, e: VaultError| {
        eprintln!("edgesafe-core: audit check cannot read {what}: {e}");
        CheckFailure::Unavailable
    };
    let key = keys::audit_key().map_err(|e| unavailable("the audit key", e))?;
    let mut verifier = ChainVerifier::new(&key);
    loop {
        let page = with_db(|db| {
            db.run(
                "SELECT seq, at, actor, action, target, decision, purpose, detail, mac \
                 FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
                &[Value::Integer(verifier.checked()), Value::Integer(PAGE)],
            )
        })
        .map_err(|e| unavailable("events", e))?;
        if page.rows.is_empty() {
            let head = with_db(|db| db.run("SELECT seq, mac FROM audit_head WHERE id = 1", &[]))
                .map_err(|e| unavailable("the chain head", e))?;
            let head =
                first_integer(&head, 0).map(|seq| (seq, first_text(&head, 1).unwrap_or("-")));
            verifier.check_head(head).map_err(CheckFailure::Broken)?;
            return Ok(verifier.checked());
        }
        for row in &page.rows {
            let (record, mac) = decode_row(&row.values).map_err(|seq| {
                CheckFailure::Broken(Break {
                    seq,
                    kind: BreakKind::Edited,
                })
            })?;
            verifier
                .check(&record, &mac)
                .map_err(CheckFailure::Broken)?;
        }
    }
}

/// [`check_chain`] as the WIT's `verify` has it: Err(seq of the first bad event), and Err(0),
/// which no event has, when the chain could not be read at all.
pub fn verify() -> Result<i64, i64> {
    check_chain().map_err(|failure| match failure {
        CheckFailure::Broken(b) => b.seq,
        CheckFailure::Unavailable => 0,
    })
}

/// What `read` selects; see the WIT's `event-filter`.
pub struct Filter {
    pub actors: Vec<String>,
    pub action_prefixes: Vec<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub after_seq: i64,
    pub offset: u32,
    pub limit: u32,
}

/// The most events one `read` answers.
pub const MAX_READ: u32 = 1000;

pub struct StoredEvent {
    pub record: EventRecord,
    pub mac: String,
}

/// Events matching `filter`, oldest first, and how many match in all. The SQL is made
/// of fixed fragments; every value is a bound parameter.
pub fn read(filter: &Filter) -> Result<(i64, Vec<StoredEvent>), VaultError> {
    let mut conditions = vec!["seq > ?".to_string()];
    let mut params = vec![Value::Integer(filter.after_seq)];
    if !filter.actors.is_empty() {
        conditions.push(format!(
            "actor IN ({})",
            vec!["?"; filter.actors.len()].join(", ")
        ));
        params.extend(filter.actors.iter().cloned().map(Value::Text));
    }
    if !filter.action_prefixes.is_empty() {
        // substr rather than LIKE: `_` and `%` in an action are not wildcards.
        let one = "substr(action, 1, length(?)) = ?";
        conditions.push(format!(
            "({})",
            vec![one; filter.action_prefixes.len()].join(" OR ")
        ));
        for prefix in &filter.action_prefixes {
            params.push(Value::Text(prefix.clone()));
            params.push(Value::Text(prefix.clone()));
        }
    }
    if let Some(since) = filter.since {
        conditions.push("at >= ?".into());
        params.push(Value::Integer(since));
    }
    if let Some(until) = filter.until {
        conditions.push("at <= ?".into());
        params.push(Value::Integer(until));
    }
    let clause = conditions.join(" AND ");
    let limit = filter.limit.min(MAX_READ);
    with_db(|db| {
        let total = db.run(
            &format!("SELECT COUNT(*) FROM audit_events WHERE {clause}"),
            &params,
        )?;
        let total = first_integer(&total, 0).unwrap_or(0);
        let mut page_params = params.clone();
        page_params.push(Value::Integer(i64::from(limit)));
        page_params.push(Value::Integer(i64::from(filter.offset)));
        let page = db.run(
            &format!(
                "SELECT seq, at, actor, action, target, decision, purpose, detail, mac \
                 FROM audit_events WHERE {clause} ORDER BY seq LIMIT ? OFFSET ?"
            ),
            &page_params,
        )?;
        let mut events = Vec::with_capacity(page.rows.len());
        for row in &page.rows {
            let (record, mac) = decode_row(&row.values)
                .map_err(|seq| VaultError::io(format!("audit event {seq} is unreadable")))?;
            events.push(StoredEvent { record, mac });
        }
        Ok((total, events))
    })
}

/// A stored event; a column of the wrong type makes the event bad (Err(seq)).
fn decode_row(values: &[Value]) -> Result<(EventRecord, String), i64> {
    let int = |i: usize| match values.get(i) {
        Some(Value::Integer(n)) => Some(*n),
        _ => None,
    };
    let seq = int(0).unwrap_or(0);
    let text = |i: usize| match values.get(i) {
        Some(Value::Text(s)) => Ok(s.clone()),
        _ => Err(seq),
    };
    Ok((
        EventRecord {
            seq,
            at: int(1).ok_or(seq)?,
            actor: text(2)?,
            action: text(3)?,
            target: text(4)?,
            decision: text(5)?,
            purpose: text(6)?,
            detail: text(7)?,
        },
        text(8)?,
    ))
}
