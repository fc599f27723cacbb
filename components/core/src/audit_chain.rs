//! The audit chain's MAC, free of Spin calls.
//!
//! mac(n) = HMAC-SHA256(audit key, domain || mac(n-1) || seq || at || actor || action
//! || target || decision || purpose || detail), with mac(0) = [`GENESIS`]. Every field
//! is length-prefixed (u64, big-endian) so no two different events encode alike (e.g.
//! actor "ab" + action "c" vs actor "a" + action "bc"). Chaining makes an edited,
//! reordered or deleted event break every MAC after it; sequence numbers must also run
//! 1, 2, 3, ... so that a gap is reported at the event after it.

use hmac::Mac;

use crate::digests::{hmac_sha256, HmacSha256};

const DOMAIN: &[u8] = b"edgesafe:audit-event:v1";
const HEAD_DOMAIN: &[u8] = b"edgesafe:audit-head:v1";

/// The MAC the first event chains to.
pub const GENESIS: [u8; 32] = [0; 32];

/// One event as it is stored, `mac` aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub decision: String,
    pub purpose: String,
    pub detail: String,
}

fn keyed(key: &[u8; 32], prev_mac: &[u8; 32], event: &EventRecord) -> HmacSha256 {
    let mut mac = hmac_sha256(key);
    let mut field = |bytes: &[u8]| {
        mac.update(&(bytes.len() as u64).to_be_bytes());
        mac.update(bytes);
    };
    field(DOMAIN);
    field(prev_mac);
    field(&event.seq.to_be_bytes());
    field(&event.at.to_be_bytes());
    field(event.actor.as_bytes());
    field(event.action.as_bytes());
    field(event.target.as_bytes());
    field(event.decision.as_bytes());
    field(event.purpose.as_bytes());
    field(event.detail.as_bytes());
    mac
}

/// The MAC of `event` chained to `prev_mac`.
pub fn event_mac(key: &[u8; 32], prev_mac: &[u8; 32], event: &EventRecord) -> [u8; 32] {
    keyed(key, prev_mac, event).finalize().into_bytes().into()
}

/// The MAC of the chain's head: the last event's `seq` and MAC, under the audit key.
pub fn head_mac(key: &[u8; 32], seq: i64, event_mac: &[u8; 32]) -> [u8; 32] {
    keyed_head(key, seq, event_mac)
        .finalize()
        .into_bytes()
        .into()
}

fn keyed_head(key: &[u8; 32], seq: i64, event_mac: &[u8; 32]) -> HmacSha256 {
    let mut mac = hmac_sha256(key);
    for field in [HEAD_DOMAIN, &seq.to_be_bytes()[..], event_mac] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    mac
}

/// Stored MACs are lower-case hex; anything else cannot match.
pub fn decode_mac(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// Why the chain does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakKind {
    /// An event's content or MAC is not what was written (or its order was changed
    /// and the numbers rewritten to hide it).
    Edited,
    /// Events are gone: a gap in the numbers, or the head names events that are not there.
    Missing,
    /// An event is out of order: its number is not above the one before.
    Reordered,
}

/// The first event that does not verify, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Break {
    pub seq: i64,
    pub kind: BreakKind,
}

impl Break {
    fn at(seq: i64, kind: BreakKind) -> Self {
        Break { seq, kind }
    }
}

/// Checks events one at a time, in `seq` order, so the caller can page through them.
pub struct ChainVerifier<'k> {
    key: &'k [u8; 32],
    prev_mac: [u8; 32],
    checked: i64,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(key: &'k [u8; 32]) -> Self {
        ChainVerifier {
            key,
            prev_mac: GENESIS,
            checked: 0,
        }
    }

    /// Err names the first event that does not verify: for a gap, the first missing
    /// number; for a wrong or unreadable MAC, or a number out of order, the event's own.
    pub fn check(&mut self, event: &EventRecord, stored_mac: &str) -> Result<(), Break> {
        let expected = self.checked.saturating_add(1);
        if event.seq > expected {
            return Err(Break::at(expected, BreakKind::Missing));
        }
        if event.seq < expected {
            return Err(Break::at(event.seq, BreakKind::Reordered));
        }
        let edited = Break::at(event.seq, BreakKind::Edited);
        let stored = decode_mac(stored_mac).ok_or(edited)?;
        keyed(self.key, &self.prev_mac, event)
            .verify_slice(&stored)
            .map_err(|_| edited)?;
        self.prev_mac = stored;
        self.checked = event.seq;
        Ok(())
    }

    pub fn checked(&self) -> i64 {
        self.checked
    }

    /// Checks the stored head against the events checked so far: it must name the last
    /// one, with a MAC made by the audit key. `head` is `(seq, mac)`, `None` when there is
    /// no head row; an empty MAC marks a trail from before heads existed, valid until
    /// its next event. Err carries the first sequence number that is missing or wrong.
    pub fn check_head(&self, head: Option<(i64, &str)>) -> Result<(), Break> {
        let Some((seq, stored)) = head else {
            return if self.checked == 0 {
                Ok(())
            } else {
                Err(Break::at(self.checked, BreakKind::Edited))
            };
        };
        if seq > self.checked {
            // Events after the last one checked were removed.
            return Err(Break::at(self.checked + 1, BreakKind::Missing));
        }
        if seq < self.checked {
            // The head was rolled back over events that are still there.
            return Err(Break::at(seq + 1, BreakKind::Edited));
        }
        if stored.is_empty() {
            return Ok(());
        }
        let edited = Break::at(seq, BreakKind::Edited);
        let stored = decode_mac(stored).ok_or(edited)?;
        keyed_head(self.key, seq, &self.prev_mac)
            .verify_slice(&stored)
            .map_err(|_| edited)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [9; 32];

    fn event(seq: i64, action: &str) -> EventRecord {
        EventRecord {
            seq,
            at: 1_700_000_000 + seq,
            actor: "user:1".into(),
            action: action.into(),
            target: format!("secret:{seq}"),
            decision: "allow".into(),
            purpose: "read".into(),
            detail: String::new(),
        }
    }

    /// Builds a chain of `n` events as (event, stored mac) pairs.
    fn chain(n: i64) -> Vec<(EventRecord, String)> {
        let mut prev = GENESIS;
        (1..=n)
            .map(|seq| {
                let e = event(seq, "secret.read");
                prev = event_mac(&KEY, &prev, &e);
                (e, hex::encode(prev))
            })
            .collect()
    }

    fn verify(events: &[(EventRecord, String)]) -> Result<i64, i64> {
        verify_kind(events).map_err(|b| b.seq)
    }

    fn verify_kind(events: &[(EventRecord, String)]) -> Result<i64, Break> {
        let mut v = ChainVerifier::new(&KEY);
        for (e, mac) in events {
            v.check(e, mac)?;
        }
        Ok(v.checked())
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn an_edit_is_found_at_the_edited_event() {
        let fields: [fn(&mut EventRecord); 7] = [
            |e| e.at += 1,
            |e| e.actor.push('x'),
            |e| e.action = "secret.write".into(),
            |e| e.target.clear(),
            |e| e.decision = "deny".into(),
            |e| e.purpose.push(' '),
            |e| e.detail = "x".into(),
        ];
        for edit in fields {
            let mut events = chain(4);
            edit(&mut events[2].0);
            assert_eq!(verify(&events), Err(3));
        }
    }

    #[test]
    fn a_replaced_mac_breaks_the_next_event() {
        // Re-MACing an edited event without the key is impossible; with a different
        // key, the event itself fails.
        let mut events = chain(3);
        events[1].0.action = "forged".into();
        let prev = decode_mac(&events[0].1).unwrap();
        events[1].1 = hex::encode(event_mac(&[1; 32], &prev, &events[1].0));
        assert_eq!(verify(&events), Err(2));
    }

    #[test]
    fn reordering_is_found() {
        let mut events = chain(4);
        events.swap(1, 2);
        assert_eq!(verify(&events), Err(2));
        // Swapping the sequence numbers too does not help: the MACs chain.
        let mut events = chain(4);
        events.swap(1, 2);
        events[1].0.seq = 2;
        events[2].0.seq = 3;
        assert_eq!(verify(&events), Err(2));
    }

    #[test]
    fn a_gap_is_found_at_the_first_missing_number() {
        let mut events = chain(5);
        events.remove(2);
        assert_eq!(verify_kind(&events), Err(Break::at(3, BreakKind::Missing)));
        let mut events = chain(5);
        events.remove(0);
        assert_eq!(verify_kind(&events), Err(Break::at(1, BreakKind::Missing)));
    }

    #[test]
    fn kinds_of_break_are_told_apart() {
        let mut events = chain(4);
        events[1].0.target = "edited".into();
        assert_eq!(verify_kind(&events), Err(Break::at(2, BreakKind::Edited)));
        // Read in order of seq, as verify reads them, a swap shows as a gap first.
        let mut events = chain(4);
        events.swap(1, 2);
        assert_eq!(verify_kind(&events), Err(Break::at(2, BreakKind::Missing)));
        let mut events = chain(4);
        let second = events[1].clone();
        events.insert(2, second);
        assert_eq!(
            verify_kind(&events),
            Err(Break::at(2, BreakKind::Reordered))
        );
    }

    #[test]
    fn renumbering_after_a_deletion_is_found() {
        let mut events = chain(4);
        events.remove(1);
        for (i, (e, _)) in events.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify(&events), Err(2));
    }

    #[test]
    fn fields_cannot_shift_between_each_other() {
        let mut a = event(1, "ab");
        a.actor = "x".into();
        let mut b = event(1, "b");
        b.actor = "xa".into();
        assert_ne!(event_mac(&KEY, &GENESIS, &a), event_mac(&KEY, &GENESIS, &b));
    }

    fn head_of(events: &[(EventRecord, String)]) -> Option<(i64, String)> {
        events.last().map(|(e, mac)| {
            let mac = decode_mac(mac).unwrap();
            (e.seq, hex::encode(head_mac(&KEY, e.seq, &mac)))
        })
    }

    fn verify_with_head(
        events: &[(EventRecord, String)],
        head: Option<(i64, String)>,
    ) -> Result<i64, i64> {
        let mut v = ChainVerifier::new(&KEY);
        for (e, mac) in events {
            v.check(e, mac).map_err(|b| b.seq)?;
        }
        v.check_head(head.as_ref().map(|(s, m)| (*s, m.as_str())))
            .map_err(|b| b.seq)?;
        Ok(v.checked())
    }

    #[test]
    fn a_tail_deletion_is_found_by_the_head() {
        let events = chain(5);
        let head = head_of(&events);
        assert_eq!(verify_with_head(&events, head.clone()), Ok(5));
        assert_eq!(verify_with_head(&events[..3], head.clone()), Err(4));
        assert_eq!(verify_with_head(&[], head), Err(1));
        assert_eq!(verify_with_head(&events, None), Err(5));
        assert_eq!(verify_with_head(&[], None), Ok(0));
    }

    #[test]
    fn a_forged_or_stale_head_is_found() {
        let events = chain(5);
        // A head rebuilt for the shorter trail without the key.
        let forged = Some((3, hex::encode([7u8; 32])));
        assert_eq!(verify_with_head(&events[..3], forged), Err(3));
        // A head rolled back to an earlier, genuine state.
        let stale = head_of(&events[..3]);
        assert_eq!(verify_with_head(&events, stale), Err(4));
        // The pre-head placeholder is accepted only at the last event.
        assert_eq!(verify_with_head(&events, Some((5, String::new()))), Ok(5));
        assert_eq!(
            verify_with_head(&events[..4], Some((5, String::new()))),
            Err(5)
        );
    }

    #[test]
    fn a_malformed_mac_is_a_bad_event() {
        let mut events = chain(2);
        events[1].1 = "not hex".into();
        assert_eq!(verify(&events), Err(2));
        events[1].1 = events[0].1[..10].to_string();
        assert_eq!(verify(&events), Err(2));
    }
}
