-- The audit chain's head: the last event's sequence number and a MAC over it and the
-- event's own MAC, written in the same transaction as each event. Deleting events at
-- the tail leaves a head that names a missing event, and a head cannot be rewritten
-- without the audit key, so `verify` finds the deletion.
CREATE TABLE audit_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    -- Lower-case hex; empty for a trail that predates this table, until its next event.
    mac TEXT    NOT NULL
);

INSERT INTO audit_head (id, seq, mac)
SELECT 1, MAX(seq), '' FROM audit_events HAVING COUNT(*) > 0;
