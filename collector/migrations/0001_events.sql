-- Types are chosen to mean the same on SQLite and PostgreSQL.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    name TEXT NOT NULL,
    -- Event time corrected for client clock skew, ms since the Unix epoch.
    ts BIGINT NOT NULL,
    client_ts BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    visitor_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    pageview_id TEXT NOT NULL,
    -- 0 or 1; sqlx's Any driver cannot decode SQLite booleans.
    is_returning BIGINT NOT NULL,
    url TEXT NOT NULL,
    referrer TEXT,
    props TEXT NOT NULL
);

CREATE INDEX events_site_ts ON events (site, ts);
