//! What the audit area reads: the trail through the core's `audit` interface, and user
//! names from the directory. All SQL of this area is here.

use std::collections::BTreeMap;

use edgesafe_api_common::vault::wit_audit::{self, ChainBreak, EventFilter, EventPage};
use edgesafe_api_common::vault::Db;
use edgesafe_api_common::Result;

/// Events matching `filter`, oldest first, and how many match in all.
pub fn read(filter: &EventFilter) -> Result<EventPage> {
    Ok(wit_audit::read(filter)?)
}

/// The chain from the first event: Ok(events checked) or the first break.
pub fn check() -> Result<std::result::Result<i64, ChainBreak>> {
    Ok(wit_audit::check()?)
}

/// The event numbered `seq`, if there is one.
pub fn event(seq: i64) -> Result<Option<wit_audit::StoredEvent>> {
    let page = read(&EventFilter {
        actors: vec![],
        action_prefixes: vec![],
        since: None,
        until: None,
        after_seq: seq - 1,
        offset: 0,
        limit: 1,
    })?;
    Ok(page.events.into_iter().next().filter(|e| e.seq == seq))
}

/// The id of the user named `name` (in any case), removed users included: their events
/// stay in the trail.
pub fn user_id_named(name: &str) -> Result<Option<i64>> {
    let rows = Db::query("SELECT id FROM users WHERE user_name = ?1", &[name.into()])?;
    rows.first().map(|r| r.i64("id")).transpose()
}

/// The names of the users `ids`; ids without a user are left out.
pub fn user_names(ids: impl IntoIterator<Item = i64>) -> Result<BTreeMap<i64, String>> {
    let mut names = BTreeMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        let rows = Db::query("SELECT user_name FROM users WHERE id = ?1", &[id.into()])?;
        if let Some(row) = rows.first() {
            names.insert(id, row.string("user_name")?);
        }
    }
    Ok(names)
}
