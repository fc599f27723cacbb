-- PAM v2, second part: checkout settings on the safe (seed 002's `login_reason` and
-- "require approval" with its confirmation timeout), the secret's overrides of them,
-- and checkout requests.
--
-- One safe's settings per row; a safe without a row has them all off. The secret's
-- columns are NULL where the safe's value applies.
CREATE TABLE safe_checkout_settings (
    safe_id              TEXT    PRIMARY KEY,
    login_reason         INTEGER NOT NULL CHECK (login_reason IN (0, 1)),
    require_approval     INTEGER NOT NULL CHECK (require_approval IN (0, 1)),
    -- Minutes an approver has to decide, and then the requester to use the approval;
    -- NULL for no limit.
    confirmation_timeout INTEGER,
    modified_at          INTEGER NOT NULL,
    modified_by          INTEGER NOT NULL
);
ALTER TABLE secrets ADD COLUMN login_reason INTEGER CHECK (login_reason IN (0, 1));
ALTER TABLE secrets ADD COLUMN require_approval INTEGER CHECK (require_approval IN (0, 1));
ALTER TABLE secrets ADD COLUMN confirmation_timeout INTEGER;

-- A request to check a secret out: the access request behind `view_on_request` and
-- require-approval, the checkout session of seed 002 (its id is the `session_id`), and
-- Password Safe's `Requests` (its id is the `RequestID`) are one and the same row.
-- Rows are never deleted. Expiry is decided on each read and write from `expires_at`
-- (no background job runs on a serverless host) and written down, with its audit
-- event, by the first call that sees it.
CREATE TABLE checkout_requests (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER NOT NULL,
    secret_id        TEXT    NOT NULL,
    -- The secret's safe when the request was made (who may approve it).
    safe_id          TEXT    NOT NULL,
    reason           TEXT,
    -- Seconds the checkout may last once revealed; NULL for the secret's time limit.
    duration         INTEGER,
    force            INTEGER NOT NULL DEFAULT 1 CHECK (force IN (0, 1)),
    status           TEXT    NOT NULL
        CHECK (status IN ('pending', 'approved', 'rejected', 'expired', 'closed')),
    -- Pending: when the approvers' window ends. Approved and not yet revealed: when
    -- the requester's window ends. NULL for no limit.
    expires_at       INTEGER,
    decided_by       INTEGER,
    decided_at       INTEGER,
    decision_reason  TEXT,
    -- The checkout (`secret_access.id`) the request revealed.
    access_id        INTEGER,
    closed_at        INTEGER,
    created_at       INTEGER NOT NULL,
    modified_at      INTEGER NOT NULL
);
CREATE INDEX checkout_requests_by_user ON checkout_requests (user_id, secret_id);
CREATE INDEX checkout_requests_by_safe ON checkout_requests (safe_id, status);
