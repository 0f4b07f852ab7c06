-- The dashboard's live count and event lists filter or sort on the arrival time: without
-- an index each of them read all of a site's events. In the lists' own order (newest
-- first), so a page of them reads just its rows.
CREATE INDEX events_site_received ON events (site, received_at DESC, ts DESC, id);
-- The feedback list: one event name, newest first.
CREATE INDEX events_site_name_received ON events (site, name, received_at DESC, ts DESC, id);
-- The referral code an event arrived with (props.referral_code), filled at ingest, so the
-- referral panel counts a code's visitors through an index instead of matching every
-- event's props text.
ALTER TABLE events ADD COLUMN referral_code TEXT;
CREATE INDEX events_referral_code ON events (site, referral_code)
    WHERE referral_code IS NOT NULL;
-- Rows stored before that carry a code are measured again when the collector starts,
-- which fills the column (db::Db::measure_old_rows).
UPDATE events SET measured = 0 WHERE referred = 1;
