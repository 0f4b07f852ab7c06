-- Shared links an owner made from the dashboard (POST /v1/sites/{site}/shared-links): each
-- reads one site's stats, as a link of `[[site]] shared` does. Only the SHA-256 of the
-- token is kept (64 lowercase hex digits), so the table gives nobody a working link. A
-- revoked link keeps its row, with the time it was revoked, and reads nothing.
CREATE TABLE shared_links (
    id TEXT NOT NULL PRIMARY KEY,
    site TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
-- A site's links as the dashboard lists them, newest first.
CREATE INDEX shared_links_site ON shared_links (site, created_at DESC, id);
