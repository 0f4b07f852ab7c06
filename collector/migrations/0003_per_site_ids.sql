-- Event ids are unique per site, not across sites: an id stored for one site must not keep
-- the same id of another site out. SQLite cannot change a primary key in place, so the
-- table is rebuilt; the same statements run on PostgreSQL.
--
-- The rebuilt table also carries what the metrics read, in typed columns filled at ingest
-- (db::Measures), so the stats are aggregated in the database without reading props.
-- Rows stored before have measured = 0; the collector fills them at start.
CREATE TABLE events_by_site (
    id TEXT NOT NULL,
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
    -- Before props, so that reading them never walks a large props value's overflow pages.
    -- The URL's path, without origin, query or fragment.
    path TEXT NOT NULL DEFAULT '',
    -- page_engagement: engaged_ms (0 to 24 h).
    engaged_ms BIGINT,
    -- page_engagement: scroll_max; scroll_milestone: depth (0-100).
    scroll_depth BIGINT,
    -- feedback_submitted: score and type.
    score BIGINT,
    feedback_type TEXT,
    -- 1 when props carry a referral_code.
    referred BIGINT NOT NULL DEFAULT 0,
    -- 1 once the columns above are filled.
    measured BIGINT NOT NULL DEFAULT 0,
    props TEXT NOT NULL,
    PRIMARY KEY (site, id)
);
INSERT INTO events_by_site (id, site, name, ts, client_ts, received_at, visitor_id,
    session_id, pageview_id, is_returning, url, referrer, props)
SELECT id, site, name, ts, client_ts, received_at, visitor_id, session_id, pageview_id,
    is_returning, url, referrer, props FROM events;
DROP TABLE events;
ALTER TABLE events_by_site RENAME TO events;
CREATE INDEX events_site_ts ON events (site, ts);
CREATE INDEX events_unmeasured ON events (measured) WHERE measured = 0;

-- Redemption keys were `redeem:{customer}:{key}`, where two customers could meet
-- (`a` + `b:c` and `a:b` + `c`). They now carry the customer's length in characters:
-- `redeem:{length}:{customer}:{key}` (loyalty::redeem_key).
UPDATE ledger SET idem_key = 'redeem:' || LENGTH(customer) || ':' || SUBSTR(idem_key, 8)
WHERE reason = 'redeem';
