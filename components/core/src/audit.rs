//! audit.append and audit.verify over the `audit_events` table, chained by
//! [`crate::audit_chain`].

use spin_sdk::sqlite3::Value;

use crate::audit_chain::{decode_mac, event_mac, head_mac, ChainVerifier, EventRecord, GENESIS};
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
    check(&e)?;
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
    events.iter().try_for_each(check)
}

fn check(e: &NewEvent) -> Result<(), VaultError> {
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

/// Ok(number of events) when the whole chain verifies, else Err(seq of the first
/// event that does not). The WIT result has no room for "could not check at all"
/// (database or keys unavailable); that is reported as Err(0), which no event has.
pub fn verify() -> Result<i64, i64> {
    let key = keys::audit_key().map_err(|e| {
        eprintln!("edgesafe-core: audit verify cannot read the audit key: {e}");
        0
    })?;
    let mut verifier = ChainVerifier::new(&key);
    loop {
        let page = with_db(|db| {
            db.run(
                "SELECT seq, at, actor, action, target, decision, purpose, detail, mac \
                 FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?",
                &[Value::Integer(verifier.checked()), Value::Integer(PAGE)],
            )
        })
        .map_err(|e| {
            eprintln!("edgesafe-core: audit verify cannot read events: {e}");
            0
        })?;
        if page.rows.is_empty() {
            let head = with_db(|db| db.run("SELECT seq, mac FROM audit_head WHERE id = 1", &[]))
                .map_err(|e| {
                    eprintln!("edgesafe-core: audit verify cannot read the chain head: {e}");
                    0
                })?;
            let head =
                first_integer(&head, 0).map(|seq| (seq, first_text(&head, 1).unwrap_or("-")));
            verifier.check_head(head)?;
            return Ok(verifier.checked());
        }
        for row in &page.rows {
            let (record, mac) = decode_row(&row.values)?;
            verifier.check(&record, &mac)?;
        }
    }
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
