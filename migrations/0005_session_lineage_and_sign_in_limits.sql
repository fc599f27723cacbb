-- Sessions that end with the session they were made from, and failed sign-ins counted
-- per source address (shared by every instance on the same database).

-- A cookie session made by `Auth/SignAppIn` from a bearer token names that token's
-- session: when the token signs out or expires, the cookie stops working too.
ALTER TABLE sessions ADD COLUMN parent_digest TEXT REFERENCES sessions (digest);
CREATE INDEX sessions_by_parent ON sessions (parent_digest);

-- Failed authentications per source address in a fixed window that starts at the
-- window's first failure. `summarized` marks the window whose limit was reached and
-- recorded in the audit trail, so that happens once per window.
CREATE TABLE auth_failures (
    source       TEXT    PRIMARY KEY,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    summarized   INTEGER NOT NULL DEFAULT 0 CHECK (summarized IN (0, 1))
);
