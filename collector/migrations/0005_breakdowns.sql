-- The breakdowns (breakdown.rs): the device class of the request that brought the event
-- (never the User-Agent itself), a page view's referrer host when it is another site, and
-- the campaign attribution the event carries. Rows stored before have NULL: "(none)".
ALTER TABLE events ADD COLUMN device TEXT;
ALTER TABLE events ADD COLUMN referrer_host TEXT;
ALTER TABLE events ADD COLUMN utm_source TEXT;
ALTER TABLE events ADD COLUMN utm_medium TEXT;
ALTER TABLE events ADD COLUMN utm_campaign TEXT;
